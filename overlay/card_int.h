/* The product card's insides that its tests and benchmark look at: the texts' layouts, where
 * they are drawn, and the prepared picture. Not for the relay: it uses overlay/card.h. */
#ifndef OVERLAY_CARD_INT_H
#define OVERLAY_CARD_INT_H

#include <pango/pango.h>

#include "overlay/blend.h"
#include "overlay/card.h"

enum ov__text {
    OV__T_NAME,
    OV__T_PRICE,
    OV__T_REGULAR, /* the regular price, struck through while a flash sale undercuts it */
    OV__T_SOLD,
    OV__T_COUNTDOWN,
    OV__T_COUNT
};

/* Text i's layout as last drawn and its top-left in the card; NULL when the last redraw did not
 * draw it. The layout stays the card's. */
PangoLayout *ov__card_text(const ov_card_t *c, int i, int *x, int *y);

/* The card's picture as last drawn: straight-alpha YUVA of the card's size. */
const ov__yuva_t *ov__card_picture(const ov_card_t *c);

/* Redraws the card for st now even if its version is the one drawn: the parts that differ from
 * the last picture, or (full) all of it. What a redraw costs, for the benchmark; the picture a
 * partial redraw makes must be the one a full redraw makes, for the tests. 1 when it drew, 0
 * when nothing differed, -ENOMEM. */
int ov__card_redraw(ov_card_t *c, const ov_state_t *st, int64_t now_ms, int full);

#endif
