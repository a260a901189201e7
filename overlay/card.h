/* The product card: laid out and drawn with cairo/pango, converted once per redraw to straight-
 * alpha YUVA at the source resolution, and blended into each source frame before scaling.
 *
 * One card per worker and picture size: the Pango font map, context and layouts are made once
 * and reused. A redraw happens only when the state's version changes, when the countdown ticks
 * over a second, or while the card slides in; every other frame only blends the prepared
 * rectangle. No network, no globals, no locks. */
#ifndef OVERLAY_CARD_H
#define OVERLAY_CARD_H

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/state.h"

typedef struct ov_card_s ov_card_t;

/* A card for frames of width x height in pix_fmt (8-bit planar 4:2:0: yuv420p or yuvj420p),
 * converted with the given matrix and range (the source frame's; unspecified means BT.601 for SD
 * and BT.709 for HD, limited range unless yuvj420p). NULL with err filled on failure. */
ov_card_t *ov_card_new(int width, int height, enum AVPixelFormat pix_fmt,
                       enum AVColorSpace colorspace, enum AVColorRange range, char *err,
                       size_t errlen);
void ov_card_free(ov_card_t **c);

/* Brings the card up to date for a frame shown at now_ms (wall clock, ms since the epoch; the
 * countdown and the slide-in follow it). st is borrowed for the call; NULL or !st->pinned hides
 * the card. Returns 1 when the picture of the card changed (a redraw, a new position, shown or
 * hidden), 0 when nothing changed, or a negative error (the card then stays as it was). */
int ov_card_update(ov_card_t *c, const ov_state_t *st, int64_t now_ms);

/* Blends the card into frame (the size and format given to ov_card_new), in place: only the
 * card's rectangle is touched, clipped at the frame's edges. Does nothing while hidden. */
void ov_card_blend(const ov_card_t *c, AVFrame *frame);

/* Where the card is in the frame now: x, y, width, height in pixels (x may be negative while it
 * slides in). Returns 0 while the card is hidden, 1 otherwise. */
int ov_card_rect(const ov_card_t *c, int *x, int *y, int *w, int *h);

/* Formats a price in minor units for the card: "¥12.80" for CNY, "$3.50", "¥1200" for JPY, or
 * "12.80 XYZ" for a currency without a symbol. Returns the length as snprintf does. */
int ov_format_price(char *buf, size_t len, const char *currency, int64_t minor);

/* The countdown's text for ms left: "mm:ss" (minutes past 99 keep counting: "125:07"); a
 * partial second counts as a whole one, so it shows 00:01 until the sale ends and 00:00 only at
 * or after the end. */
int ov_format_countdown(char *buf, size_t len, int64_t ms_left);

#endif
