/* Compose: the product card burned into each source frame, and the stamp of each change.
 *
 * Invariants: only the slot is shared with the network thread; cur is the state the card shows
 * and stamped what the latest stamp describes (its state owned); a frame is stamped exactly when
 * what cur shows at its date differs from stamped, or it is the first; stamp seqs only increase.
 * What a state shows depends on the date: a flash sale ends by its clock (ov_state_t), and the
 * frame where it ends is a change even before the relay publishes the state without it. A card
 * that slides in shows its product from the first frame where any of it is in the picture, and
 * that frame is the one stamped. */
#include "relay/media/compose.h"

#include <libavutil/avstring.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/card.h"
#include "proto/sei.h"
#include "relay/core/log.h"

/* What a state shows at a given date. */
typedef struct view_s {
    ov_state_t *s; /* NULL or not pinned: no card */
    int flash;     /* the sale still runs */
    int64_t price; /* the price charged then */
} view_t;

struct rl_compose_s {
    char stream_id[64];
    ov_slot_t slot;
    /* worker thread only below */
    ov_state_t *cur;
    view_t stamped; /* holds a reference to its state */
    int first;
    rl_stamp_t last; /* the latest stamp */
    uint64_t next_seq;
    ov_card_t *card; /* for the picture below; NULL if it could not be made */
    int card_w, card_h, card_fmt, card_cs, card_range;
    int blend_failed, update_failed;
    AVFrame *copy; /* the picture the card is drawn on when the decoder still holds its own */
};

rl_compose_t *rl_compose_new(const char *stream_id, uint64_t first_seq)
{
    rl_compose_t *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    av_strlcpy(c->stream_id, stream_id, sizeof(c->stream_id));
    atomic_init(&c->slot.next, NULL);
    c->next_seq = first_seq;
    c->first = 1; /* the first frame says what the card shows */
    return c;
}

void rl_compose_free(rl_compose_t **pc)
{
    rl_compose_t *c = *pc;

    if (!c)
        return;
    ov_slot_clear(&c->slot);
    ov_state_unref(&c->cur);
    ov_state_unref(&c->stamped.s);
    ov_card_free(&c->card);
    av_frame_free(&c->copy);
    free(c);
    *pc = NULL;
}

void rl_compose_publish(rl_compose_t *c, ov_state_t *s)
{
    ov_slot_publish(&c->slot, s);
}

/* At or after flash_ends_ms Redis charges product_price, and the card shows no sale. */
static view_t view_at(ov_state_t *s, int64_t now_ms)
{
    view_t v = { s, 0, 0 };

    if (!s || !s->pinned)
        return (view_t){ 0 };
    v.flash = s->flash && now_ms < s->flash_ends_ms;
    v.price = s->flash && !v.flash ? s->product_price : s->price;
    return v;
}

/* Does the card show a and b alike? Nothing pinned shows nothing, whatever else differs. */
static int shows_alike(const view_t *a, const view_t *b)
{
    const ov_state_t *x = a->s, *y = b->s;

    if (!x || !y)
        return x == y;
    return ov_state_same_goods(x, y) && a->price == b->price && a->flash == b->flash &&
           (!a->flash || (x->flash_ends_ms == y->flash_ends_ms && x->flash_left == y->flash_left));
}

/* The newest published state, if any, becomes what the card shows. */
static void take_state(rl_compose_t *c)
{
    ov_state_t *s = ov_slot_take(&c->slot);

    if (!s)
        return;
    ov_state_unref(&c->cur);
    c->cur = s;
}

/* Does the card made for the last picture fit f? Frames that leave their colours unspecified
 * (the slate) take the card of the frames before them. */
static int card_fits(const rl_compose_t *c, const AVFrame *f)
{
    return c->card_w == f->width && c->card_h == f->height && c->card_fmt == f->format &&
           (f->colorspace == AVCOL_SPC_UNSPECIFIED || (int)f->colorspace == c->card_cs) &&
           (f->color_range == AVCOL_RANGE_UNSPECIFIED || (int)f->color_range == c->card_range);
}

/* One card per picture: made again only when the size, format or colours change. */
static void fit_card(rl_compose_t *c, const AVFrame *f)
{
    char err[256] = "";

    if (card_fits(c, f))
        return;
    ov_card_free(&c->card);
    c->card_w = f->width;
    c->card_h = f->height;
    c->card_fmt = f->format;
    c->card_cs = f->colorspace;
    c->card_range = f->color_range;
    c->card = ov_card_new(f->width, f->height, f->format, f->colorspace, f->color_range, err,
                          sizeof(err));
    if (!c->card)
        rl_err("card_new", "stream=%s width=%d height=%d error=\"%s\"", c->stream_id, f->width,
               f->height, err);
}

/* Makes f's picture ours to draw on. The decoder keeps each picture as a reference for the next
 * ones, so it is copied first, into a buffer kept from one frame to the next: by the time the
 * next frame comes, the encoders and the scalers are done with it. av_frame_make_writable would
 * allocate a new picture every frame instead, and one of 1.4 MB (720p) is an mmap of its own:
 * 340 page faults, zeroed pages and an munmap per frame, a tenth of a 720p stream's CPU. */
static int make_writable(rl_compose_t *c, AVFrame *f)
{
    AVFrame *k = c->copy;
    int rc;

    if (av_frame_is_writable(f))
        return 0;
    if (k && (k->width != f->width || k->height != f->height || k->format != f->format ||
              !av_frame_is_writable(k))) /* another size, or someone still holds the last one */
        av_frame_free(&c->copy);
    if (!c->copy) {
        if (!(k = c->copy = av_frame_alloc()))
            return AVERROR(ENOMEM);
        k->width = f->width;
        k->height = f->height;
        k->format = f->format;
        if ((rc = av_frame_get_buffer(k, 0)) < 0) {
            av_frame_free(&c->copy);
            return rc;
        }
    }
    if ((rc = av_frame_copy(k, f)) < 0)
        return rc;
    /* f keeps its timing, colours and side data; only its picture is swapped for the copy */
    for (int i = 0; i < AV_NUM_DATA_POINTERS; i++)
        av_buffer_unref(&f->buf[i]);
    for (int i = 0; i < f->nb_extended_buf; i++)
        av_buffer_unref(&f->extended_buf[i]);
    av_freep(&f->extended_buf);
    f->nb_extended_buf = 0;
    if (!(f->buf[0] = av_buffer_ref(k->buf[0])))
        return AVERROR(ENOMEM);
    memcpy(f->data, k->data, sizeof(f->data));
    memcpy(f->linesize, k->linesize, sizeof(f->linesize));
    f->extended_data = f->data;
    return 0;
}

static void draw_card(rl_compose_t *c, AVFrame *f, int64_t pdt_ms)
{
    int x, y, w, h, rc;

    fit_card(c, f);
    if (!c->card)
        return;
    if ((rc = ov_card_update(c->card, c->cur, pdt_ms)) < 0 && !c->update_failed++)
        rl_warn("card_update", "stream=%s error=\"%s\"", c->stream_id, av_err2str(rc));
    if (!ov_card_rect(c->card, &x, &y, &w, &h))
        return;
    if ((rc = make_writable(c, f)) < 0) {
        if (!c->blend_failed++)
            rl_warn("card_blend", "stream=%s error=\"%s\"", c->stream_id, av_err2str(rc));
        return;
    }
    ov_card_blend(c->card, f);
}

/* A product id goes into a quoted-string of the playlists (RFC 8216bis 4.2): no '"', no control
 * characters. */
static void copy_product(char *dst, size_t size, const char *src)
{
    av_strlcpy(dst, src, size);
    for (char *p = dst; *p; p++)
        if (*p == '"' || (unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '_';
}

static void make_stamp(rl_compose_t *c, const view_t *v, int64_t pdt_ms, int64_t media_ms,
                       rl_stamp_t *out)
{
    const ov_state_t *s = v->s;

    *out = (rl_stamp_t){ .seq = c->next_seq++,
                         .version = c->cur ? c->cur->version : 0,
                         .state_seq = c->cur ? c->cur->seq : 0,
                         .pts_ms = media_ms,
                         .pdt_ms = pdt_ms,
                         .pinned = s != NULL,
                         .price = v->price,
                         .sold = s ? s->sold : 0,
                         .stock = s ? s->stock : 0,
                         .flash = v->flash };
    if (s) {
        copy_product(out->product, sizeof(out->product), s->product_id);
        av_strlcpy(out->name, s->name ? s->name : "", sizeof(out->name));
        av_strlcpy(out->currency, s->currency, sizeof(out->currency));
        out->regular_price = s->regular_price;
        out->flash_ends_ms = v->flash ? s->flash_ends_ms : 0;
        out->flash_left = v->flash ? s->flash_left : 0;
    }
    c->last = *out;
    ov_state_unref(&c->stamped.s);
    c->stamped = *v;
    ov_state_ref(v->s);
    c->first = 0;
}

/* shopcast's stamp as the frame's only user-data-unregistered SEI. */
static void put_sei(rl_compose_t *c, AVFrame *f)
{
    uint8_t buf[SEI_PAYLOAD_MAX];
    sei_stamp_t s = { c->last.seq, c->last.version };
    int n = sei_encode(buf, sizeof(buf), &s);
    AVFrameSideData *sd;

    if (n > 0 && (sd = av_frame_new_side_data(f, AV_FRAME_DATA_SEI_UNREGISTERED, (size_t)n)))
        memcpy(sd->data, buf, (size_t)n);
}

/* Is any of the card in f? Without a card (it could not be made) there is nothing to wait for. */
static int on_screen(const rl_compose_t *c, const AVFrame *f)
{
    int x, y, w, h;

    if (!c->card)
        return 1;
    return ov_card_rect(c->card, &x, &y, &w, &h) && x + w > 0 && x < f->width && y + h > 0 &&
           y < f->height;
}

int rl_compose_frame(rl_compose_t *c, AVFrame *f, int64_t pdt_ms, int64_t media_ms,
                     rl_stamp_t *stamp)
{
    view_t v;
    int fresh;

    take_state(c);
    draw_card(c, f, pdt_ms);
    av_frame_remove_side_data(f, AV_FRAME_DATA_SEI_UNREGISTERED); /* the publisher's */
    v = view_at(c->cur, pdt_ms);
    fresh = (c->first || !shows_alike(&v, &c->stamped)) && (!v.s || on_screen(c, f));
    if (fresh)
        make_stamp(c, &v, pdt_ms, media_ms, stamp);
    /* A player that joins at a keyframe learns what the card shows from it. */
    if (fresh || f->pict_type == AV_PICTURE_TYPE_I)
        put_sei(c, f);
    return fresh;
}

int rl_compose_last(const rl_compose_t *c, rl_stamp_t *stamp)
{
    if (c->first)
        return 0;
    *stamp = c->last;
    return 1;
}
