/* Straight-alpha YUVA pictures: made from cairo's premultiplied ARGB once per redraw, blended
 * into 8-bit planar 4:2:0 frames on every frame.
 *
 * Compiled with -O3 (overlay/meson.build): GCC 12 at -O2 uses its "very cheap" cost model and
 * leaves ov__blend_row scalar (310 us per 720p card against 48 at -O3 with SSE2 and 27 with the
 * AVX2 clone: bench/RESULTS.md); at -O3 it runs 16 pixels per SSE2 iteration (punpcklbw, pmullw,
 * psrlw, packuswb), 32 per AVX2 one. The conversion's loops vectorise too (-fopt-info-vec).
 * tests/unit/overlay/check_vectorised.sh fails the tests if the blend ever stops vectorising.
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

/* The reciprocal of an alpha (or a sum of alphas) for un-premultiplying, 255/65536 folded in
 * (the coefficients are 16.16); 0 counts as 1: its premultiplied colour is 0 anyway. Written
 * without a branch so that the loops around it vectorise (divps). */
static inline float unpremultiply(uint32_t a)
{
    return (255.0f / 65536.0f) / (float)(a | (a == 0));
}

/* Luma straight from premultiplied R'G'B': Y = off + (K . RGBp) * 255 / a, one rounding. The
 * float division is within 1 of the exact result (unit test) and vectorises where an integer
 * division or a table lookup does not. */
static void luma_row(ov__yuva_t *p, const uint32_t *restrict row, const ov__matrix_t *m, int j,
                     int x0, int x1)
{
    uint8_t *restrict y = p->y + (size_t)j * p->w, *restrict al = p->a + (size_t)j * p->w;
    const int32_t yr = m->yr, yg = m->yg, yb = m->yb, lo = m->yoff, hi = m->ymax;

    for (int i = x0; i < x1; i++) {
        uint32_t px = row[i], a = px >> 24;
        int32_t yl = yr * (int32_t)((px >> 16) & 255) + yg * (int32_t)((px >> 8) & 255) +
                     yb * (int32_t)(px & 255);
        int32_t v = lo + (int32_t)((float)yl * unpremultiply(a) + 0.5f);

        y[i] = (uint8_t)clamp(v, lo, hi);
        al[i] = (uint8_t)a;
    }
}

/* Chroma's coefficients and range, copied out of the matrix so that the loop's stores cannot
 * alias them. */
typedef struct cmat_s {
    int32_t ur, ug, ub, vr, vg, vb, lo, hi;
} cmat_t;

/* 128 + (k . rgb) * 255 / a, rounded (the sum is >= -0.5 whenever it is not clamped to 0). */
static inline uint8_t chroma(int32_t k, uint32_t a, const cmat_t *m)
{
    return (uint8_t)clamp((int32_t)(128.5f + (float)k * unpremultiply(a)), m->lo, m->hi);
}

/* One sample from the four pixels it covers: their alpha-weighted colour (summing premultiplied
 * values weights them by alpha) and their mean alpha. */
static inline void sample(uint8_t *u, uint8_t *v, uint8_t *ca, const cmat_t *m, uint32_t p0,
                          uint32_t p1, uint32_t p2, uint32_t p3)
{
    int32_t r = (int32_t)(((p0 >> 16) & 255) + ((p1 >> 16) & 255) + ((p2 >> 16) & 255) +
                          ((p3 >> 16) & 255));
    int32_t g =
        (int32_t)(((p0 >> 8) & 255) + ((p1 >> 8) & 255) + ((p2 >> 8) & 255) + ((p3 >> 8) & 255));
    int32_t b = (int32_t)((p0 & 255) + (p1 & 255) + (p2 & 255) + (p3 & 255));
    uint32_t a = (p0 >> 24) + (p1 >> 24) + (p2 >> 24) + (p3 >> 24);

    *ca = (uint8_t)((a + 2) / 4);
    *u = chroma(m->ur * r + m->ug * g + m->ub * b, a, m);
    *v = chroma(m->vr * r + m->vg * g + m->vb * b, a, m);
}

/* One chroma row. At an odd edge the last column or row counts twice, which keeps both means
 * exact. */
static void chroma_row(ov__yuva_t *p, const uint8_t *argb, int stride, const ov__matrix_t *mx,
                       int cj, int c0, int c1)
{
    const uint32_t *restrict r0 = (const uint32_t *)(argb + (size_t)(2 * cj) * stride);
    const uint32_t *restrict r1 = 2 * cj + 1 < p->h ? r0 + stride / 4 : r0;
    size_t at = (size_t)cj * p->cw;
    uint8_t *restrict u = p->u + at, *restrict v = p->v + at, *restrict ca = p->ca + at;
    const cmat_t m = { mx->ur, mx->ug, mx->ub, mx->vr, mx->vg, mx->vb, mx->cmin, mx->cmax };
    int pairs = c1 < p->w / 2 ? c1 : p->w / 2; /* samples with two columns */

    for (int ci = c0; ci < pairs; ci++)
        sample(u + ci, v + ci, ca + ci, &m, r0[2 * ci], r0[2 * ci + 1], r1[2 * ci], r1[2 * ci + 1]);
    for (int ci = pairs > c0 ? pairs : c0; ci < c1; ci++) /* the odd last column */
        sample(u + ci, v + ci, ca + ci, &m, r0[2 * ci], r0[2 * ci], r1[2 * ci], r1[2 * ci]);
}

void ov__yuva_convert(ov__yuva_t *p, const uint8_t *argb, int stride, const ov__matrix_t *m, int x,
                      int y, int w, int h)
{
    int x1 = x + w < p->w ? x + w : p->w, y1 = y + h < p->h ? y + h : p->h;

    x = x > 0 ? x & ~1 : 0;
    y = y > 0 ? y & ~1 : 0;
    for (int j = y; j < y1; j++) /* cairo's rows are 4-byte aligned */
        luma_row(p, (const uint32_t *)(argb + (size_t)j * stride), m, j, x, x1);
    for (int cj = y / 2; cj < (y1 + 1) / 2; cj++)
        chroma_row(p, argb, stride, m, cj, x / 2, (x1 + 1) / 2);
}

void ov__yuva_from_argb(ov__yuva_t *p, const uint8_t *argb, int stride, const ov__matrix_t *m)
{
    ov__yuva_convert(p, argb, stride, m, 0, 0, p->w, p->h);
}

/* Every intermediate fits in 16 bits (s*a + d*(255-a) + 128 <= 65153, and t + (t >> 8) <=
 * 65407), and saying so with uint16_t lets GCC use 16-bit lanes: 8 pixels per pmullw instead of
 * 4 with 32-bit ints. (t + (t >> 8)) >> 8 with t = v + 128 is round(v / 255) for every
 * v in 0..65025 (checked exhaustively by the unit test against a double reference). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/* SSE2 is all x86-64 promises; where the CPU has AVX2 (checked once, at load, through an
 * ifunc) the same loop runs 32 pixels at a time. */
__attribute__((target_clones("avx2", "default")))
#endif
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
