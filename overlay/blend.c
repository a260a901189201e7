/* Straight-alpha YUVA pictures: made from cairo's premultiplied ARGB once per redraw, blended
 * into 8-bit planar 4:2:0 frames on every frame.
 *
 * Compiled with -O3 (overlay/meson.build): GCC 12 at -O2 uses its "very cheap" cost model and
 * leaves ov__blend_row scalar; at -O3 it runs 16 pixels per SSE2 iteration (punpcklbw, pmullw,
 * psrlw, packuswb). tests/unit/overlay/check_vectorised.sh fails the tests if that ever stops.
 *
 * Un-premultiplying happens here, once per redraw: the blend then is a plain straight-alpha
 * mix, and a half-covered white pixel at a glyph's edge stays white instead of turning grey. */
#include "overlay/blend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Kr and Kb of each matrix we know (ITU-R BT.601, BT.709, BT.2020, SMPTE 240M, FCC). */
static const struct {
    enum AVColorSpace cs;
    double kr, kb;
} matrices[] = {
    { AVCOL_SPC_BT709, 0.2126, 0.0722 },     { AVCOL_SPC_BT470BG, 0.299, 0.114 },
    { AVCOL_SPC_SMPTE170M, 0.299, 0.114 },   { AVCOL_SPC_FCC, 0.30, 0.11 },
    { AVCOL_SPC_SMPTE240M, 0.212, 0.087 },   { AVCOL_SPC_BT2020_NCL, 0.2627, 0.0593 },
    { AVCOL_SPC_BT2020_CL, 0.2627, 0.0593 },
};

static int32_t fix(double v)
{
    return (int32_t)(v * 65536.0 + (v < 0 ? -0.5 : 0.5));
}

static void pick_matrix(enum AVColorSpace cs, int height, double *kr, double *kb)
{
    *kr = height > 576 ? 0.2126 : 0.299; /* unspecified: HD is BT.709, SD is BT.601 */
    *kb = height > 576 ? 0.0722 : 0.114;
    for (size_t i = 0; i < sizeof(matrices) / sizeof(matrices[0]); i++) {
        if (matrices[i].cs == cs) {
            *kr = matrices[i].kr;
            *kb = matrices[i].kb;
        }
    }
}

void ov__matrix_init(ov__matrix_t *m, enum AVColorSpace cs, enum AVColorRange range,
                     enum AVPixelFormat fmt, int height)
{
    int full =
        range == AVCOL_RANGE_JPEG || (range != AVCOL_RANGE_MPEG && fmt == AV_PIX_FMT_YUVJ420P);
    double kr, kb, kg, ys = full ? 1.0 : 219.0 / 255, cs_ = full ? 1.0 : 224.0 / 255;

    pick_matrix(cs, height, &kr, &kb);
    kg = 1 - kr - kb;
    m->yr = fix(kr * ys);
    m->yb = fix(kb * ys);
    m->yg = fix(ys) - m->yr - m->yb; /* white comes out exactly at the top of the range */
    m->ur = fix(-kr / (2 * (1 - kb)) * cs_);
    m->ub = fix(0.5 * cs_);
    m->ug = -m->ur - m->ub; /* greys come out exactly at 128 */
    m->vr = fix(0.5 * cs_);
    m->vg = fix(-kg / (2 * (1 - kr)) * cs_);
    m->vb = -m->vr - m->vg;
    m->yoff = full ? 0 : 16;
    m->ymax = full ? 255 : 235;
    m->cmin = full ? 0 : 16;
    m->cmax = full ? 255 : 240;
}

int ov__yuva_alloc(ov__yuva_t *p, int w, int h)
{
    size_t luma = (size_t)w * h, chroma = (size_t)((w + 1) / 2) * ((h + 1) / 2);
    uint8_t *buf = calloc(1, 2 * luma + 3 * chroma);

    if (!buf)
        return -ENOMEM;
    p->w = w;
    p->h = h;
    p->cw = (w + 1) / 2;
    p->ch = (h + 1) / 2;
    p->y = buf;
    p->a = buf + luma;
    p->u = p->a + luma;
    p->v = p->u + chroma;
    p->ca = p->v + chroma;
    return 0;
}

void ov__yuva_free(ov__yuva_t *p)
{
    free(p->y);
    memset(p, 0, sizeof(*p));
}

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static uint32_t pixel(const uint8_t *argb, int stride, int x, int y)
{
    uint32_t px;

    memcpy(&px, argb + (size_t)y * stride + (size_t)x * 4, 4);
    return px;
}

/* 255 * 2^24 / a, rounded: un-premultiplies with a multiply instead of a division per pixel. */
static void make_recip(uint32_t recip[256])
{
    recip[0] = 0;
    for (uint32_t a = 1; a < 256; a++)
        recip[a] = (uint32_t)((((uint64_t)255 << 24) + a / 2) / a);
}

/* Luma straight from premultiplied R'G'B': Y = off + (K . RGBp) * 255 / a, one rounding. */
static void luma_rows(ov__yuva_t *p, const uint8_t *argb, int stride, const ov__matrix_t *m)
{
    uint32_t recip[256];

    make_recip(recip);
    for (int j = 0; j < p->h; j++) {
        for (int i = 0; i < p->w; i++) {
            uint32_t px = pixel(argb, stride, i, j), a = px >> 24;
            uint64_t yl = (uint64_t)(m->yr * ((px >> 16) & 255) + m->yg * ((px >> 8) & 255) +
                                     m->yb * (px & 255));
            int y = m->yoff + (int)((yl * recip[a] + ((uint64_t)1 << 39)) >> 40);

            p->y[(size_t)j * p->w + i] = (uint8_t)clamp(y, m->yoff, m->ymax);
            p->a[(size_t)j * p->w + i] = (uint8_t)a;
        }
    }
}

/* off + num * 255 / (den * 65536), rounded half away from zero, clamped; den > 0. */
static uint8_t chroma_of(int64_t num, int64_t den, const ov__matrix_t *m)
{
    int64_t n = num * 255, d = den * 65536;
    int64_t q = (n >= 0 ? n + d / 2 : n - d / 2) / d;

    return (uint8_t)clamp(128 + (int)q, m->cmin, m->cmax);
}

/* One chroma sample: the alpha-weighted colour of the up-to-four pixels it covers (summing
 * premultiplied values weights them by alpha), and their mean alpha. */
static void chroma_sample(ov__yuva_t *p, const uint8_t *argb, int stride, const ov__matrix_t *m,
                          int ci, int cj)
{
    int64_t r = 0, g = 0, b = 0, a = 0, n = 0;
    size_t at = (size_t)cj * p->cw + ci;

    for (int j = 2 * cj; j < 2 * cj + 2 && j < p->h; j++) {
        for (int i = 2 * ci; i < 2 * ci + 2 && i < p->w; i++) {
            uint32_t px = pixel(argb, stride, i, j);
            a += px >> 24;
            r += (px >> 16) & 255;
            g += (px >> 8) & 255;
            b += px & 255;
            n++;
        }
    }
    p->ca[at] = (uint8_t)((a + n / 2) / n);
    p->u[at] = a ? chroma_of(m->ur * r + m->ug * g + m->ub * b, a, m) : 128;
    p->v[at] = a ? chroma_of(m->vr * r + m->vg * g + m->vb * b, a, m) : 128;
}

void ov__yuva_from_argb(ov__yuva_t *p, const uint8_t *argb, int stride, const ov__matrix_t *m)
{
    luma_rows(p, argb, stride, m);
    for (int cj = 0; cj < p->ch; cj++)
        for (int ci = 0; ci < p->cw; ci++)
            chroma_sample(p, argb, stride, m, ci, cj);
}

/* Every intermediate fits in 16 bits (s*a + d*(255-a) + 128 <= 65153, and t + (t >> 8) <=
 * 65407), and saying so with uint16_t lets GCC use 16-bit lanes: 8 pixels per pmullw instead of
 * 4 with 32-bit ints. (t + (t >> 8)) >> 8 with t = v + 128 is round(v / 255) for every
 * v in 0..65025 (checked exhaustively by the unit test against a double reference). */
void ov__blend_row(uint8_t *restrict dst, const uint8_t *restrict src, const uint8_t *restrict a,
                   int n)
{
    for (int i = 0; i < n; i++) {
        uint16_t t = (uint16_t)(src[i] * a[i]) + (uint16_t)(dst[i] * (255 - a[i])) + 128;
        dst[i] = (uint8_t)((uint16_t)(t + (t >> 8)) >> 8);
    }
}

static void blend_plane(uint8_t *dst, int dstride, int dw, int dh, const uint8_t *src,
                        const uint8_t *a, int sw, int sh, int x, int y)
{
    int x0 = x > 0 ? x : 0, y0 = y > 0 ? y : 0;
    int x1 = x + sw < dw ? x + sw : dw, y1 = y + sh < dh ? y + sh : dh;

    for (int j = y0; j < y1 && x0 < x1; j++) {
        size_t so = (size_t)(j - y) * sw + (size_t)(x0 - x);
        ov__blend_row(dst + (size_t)j * dstride + x0, src + so, a + so, x1 - x0);
    }
}

static int floor_half(int v)
{
    return v >= 0 ? v / 2 : (v - 1) / 2;
}

void ov__yuva_blend(const ov__yuva_t *p, int x, int y, uint8_t *const data[3],
                    const int linesize[3], int fw, int fh)
{
    int cx = floor_half(x), cy = floor_half(y), cfw = (fw + 1) / 2, cfh = (fh + 1) / 2;

    blend_plane(data[0], linesize[0], fw, fh, p->y, p->a, p->w, p->h, x, y);
    blend_plane(data[1], linesize[1], cfw, cfh, p->u, p->ca, p->cw, p->ch, cx, cy);
    blend_plane(data[2], linesize[2], cfw, cfh, p->v, p->ca, p->cw, p->ch, cx, cy);
}
