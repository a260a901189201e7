/* TEMPORARY stub of the product card (overlay/card.h), so that the worker side compiles and runs
 * before the real card lands: drop this commit when merging the card's branch.
 *
 * It draws a flat box in the lower left: the left half in the colour of the thumbnail's centre
 * pixel, the right half in a grey that changes with the sold count. */
#include "overlay/card.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ov_card_s {
    int w, h, shown, x, y, cw, ch;
    uint8_t thumb_yuv[3], grey;
    uint64_t version;
};

ov_card_t *ov_card_new(int width, int height, enum AVPixelFormat pix_fmt,
                       enum AVColorSpace colorspace, enum AVColorRange range, char *err,
                       size_t errlen)
{
    ov_card_t *c;

    (void)colorspace;
    (void)range;
    if (pix_fmt != AV_PIX_FMT_YUV420P && pix_fmt != AV_PIX_FMT_YUVJ420P) {
        snprintf(err, errlen, "card: not 8-bit 4:2:0");
        return NULL;
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->w = width;
    c->h = height;
    c->cw = width / 4 & ~1;
    c->ch = height / 6 & ~1;
    c->x = width / 20 & ~1;
    c->y = (height * 7 / 10) & ~1;
    return c;
}

void ov_card_free(ov_card_t **c)
{
    free(*c);
    *c = NULL;
}

/* BT.601 limited range, enough for a stub. */
static void thumb_colour(ov_card_t *c, const ov_state_t *st)
{
    const uint8_t *p;
    uint32_t px;
    int r = 128, g = 128, b = 128, a;

    if (st->thumb && st->thumb_w > 0 && st->thumb_h > 0) {
        p = st->thumb->data + ((size_t)(st->thumb_h / 2) * st->thumb_w + st->thumb_w / 2) * 4;
        memcpy(&px, p, 4);
        a = px >> 24;
        if (a) {
            r = (int)((px >> 16 & 255) * 255 / a);
            g = (int)((px >> 8 & 255) * 255 / a);
            b = (int)((px & 255) * 255 / a);
        }
    }
    c->thumb_yuv[0] = (uint8_t)(16 + (66 * r + 129 * g + 25 * b + 128) / 256);
    c->thumb_yuv[1] = (uint8_t)(128 + (-38 * r - 74 * g + 112 * b + 128) / 256);
    c->thumb_yuv[2] = (uint8_t)(128 + (112 * r - 94 * g - 18 * b + 128) / 256);
}

int ov_card_update(ov_card_t *c, const ov_state_t *st, int64_t now_ms)
{
    int shown = st && st->pinned;

    (void)now_ms;
    if (shown == c->shown && (!shown || st->version == c->version))
        return 0;
    c->shown = shown;
    if (!shown)
        return 1;
    c->version = st->version;
    thumb_colour(c, st);
    c->grey = (uint8_t)(40 + (st->sold * 37) % 180);
    return 1;
}

static void fill(AVFrame *f, int x0, int x1, int y0, int y1, const uint8_t yuv[3])
{
    for (int y = y0; y < y1; y++)
        memset(f->data[0] + (size_t)y * f->linesize[0] + x0, yuv[0], (size_t)(x1 - x0));
    for (int y = y0 / 2; y < y1 / 2; y++) {
        memset(f->data[1] + (size_t)y * f->linesize[1] + x0 / 2, yuv[1], (size_t)(x1 - x0) / 2);
        memset(f->data[2] + (size_t)y * f->linesize[2] + x0 / 2, yuv[2], (size_t)(x1 - x0) / 2);
    }
}

void ov_card_blend(const ov_card_t *c, AVFrame *frame)
{
    uint8_t grey[3] = { c->grey, 128, 128 };
    int mid = (c->x + c->cw / 2) & ~1;

    if (!c->shown)
        return;
    fill(frame, c->x, mid, c->y, c->y + c->ch, c->thumb_yuv);
    fill(frame, mid, c->x + c->cw, c->y, c->y + c->ch, grey);
}

int ov_card_rect(const ov_card_t *c, int *x, int *y, int *w, int *h)
{
    *x = c->x;
    *y = c->y;
    *w = c->cw;
    *h = c->ch;
    return c->shown;
}

int ov_format_price(char *buf, size_t len, const char *currency, int64_t minor)
{
    return snprintf(buf, len, "%" PRId64 ".%02d %s", minor / 100, (int)(minor % 100), currency);
}

int ov_format_countdown(char *buf, size_t len, int64_t ms_left)
{
    int64_t s = ms_left > 0 ? (ms_left + 999) / 1000 : 0;

    return snprintf(buf, len, "%02" PRId64 ":%02d", s / 60, (int)(s % 60));
}
