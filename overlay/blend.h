/* Straight-alpha YUVA pictures: made from cairo's premultiplied ARGB once per redraw, blended
 * into 8-bit planar 4:2:0 frames on every frame. Internal to overlay/ (the card and its tests).
 *
 * A picture of w x h has luma and alpha planes of w x h and chroma and chroma-alpha planes of
 * ceil(w/2) x ceil(h/2), each plane's stride its width. Placed at (x, y) in a frame, its chroma
 * sample (i, j) lands on the frame's chroma sample (floor(x/2) + i, floor(y/2) + j). */
#ifndef OVERLAY_BLEND_H
#define OVERLAY_BLEND_H

#include <libavutil/pixfmt.h>
#include <stdint.h>

typedef struct ov__yuva_s {
    int w, h;   /* luma */
    int cw, ch; /* chroma: (w + 1) / 2, (h + 1) / 2 */
    uint8_t *y, *a;
    uint8_t *u, *v, *ca; /* ca: the mean of the (up to) four luma alphas each sample covers */
} ov__yuva_t;

/* RGB (0..255, straight) to Y'CbCr in 16.16 fixed point: out = off + (r*R + g*G + b*B) >> 16. */
typedef struct ov__matrix_s {
    int32_t yr, yg, yb, ur, ug, ub, vr, vg, vb;
    int32_t yoff, ymax, cmin, cmax;
} ov__matrix_t;

/* The matrix for frames of the given colourspace, range, pix_fmt and height (unspecified:
 * BT.601 up to 576 lines, BT.709 above; limited range unless full is said or pix_fmt is
 * yuvj420p). */
void ov__matrix_init(ov__matrix_t *m, enum AVColorSpace cs, enum AVColorRange range,
                     enum AVPixelFormat fmt, int height);

/* 0 or -ENOMEM; planes zeroed (transparent). ov__yuva_free accepts a zeroed or freed one. */
int ov__yuva_alloc(ov__yuva_t *p, int w, int h);
void ov__yuva_free(ov__yuva_t *p);

/* Fills p from a premultiplied ARGB32 picture of p's size (cairo's native-endian pixels). */
void ov__yuva_from_argb(ov__yuva_t *p, const uint8_t *argb, int stride, const ov__matrix_t *m);
/* The same for the part x, y, w, h only (x and y even; clipped to the picture). */
void ov__yuva_convert(ov__yuva_t *p, const uint8_t *argb, int stride, const ov__matrix_t *m, int x,
                      int y, int w, int h);

/* dst = (src * a + dst * (255 - a)) / 255, rounded, for n pixels: the loop that must vectorise. */
void ov__blend_row(uint8_t *restrict dst, const uint8_t *restrict src, const uint8_t *restrict a,
                   int n);

/* Blends p at (x, y) into a 4:2:0 frame of fw x fh (planes data[0..2], strides linesize[0..2]),
 * touching only the rectangle it covers, clipped at the frame's edges. */
void ov__yuva_blend(const ov__yuva_t *p, int x, int y, uint8_t *const data[3],
                    const int linesize[3], int fw, int fh);

#endif
