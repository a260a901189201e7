/* Unit tests for overlay/blend.c: the straight-alpha blend against a scalar double reference (odd
 * sizes, frame edges, every value), and cairo's premultiplied ARGB turned into straight YUVA
 * without dark fringes. */
#include <cairo.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/blend.h"

static int ref_mix(int s, int d, int a)
{
    return (int)floor((s * a + d * (255 - a)) / 255.0 + 0.5);
}

Test(blend, row_is_rounded_mix_for_every_value)
{
    uint8_t src[256], dst[256], a[256];
    int bad = 0;

    for (int s = 0; s < 256; s++) {
        for (int al = 0; al < 256; al++) {
            for (int d = 0; d < 256; d++) {
                src[d] = (uint8_t)s;
                a[d] = (uint8_t)al;
                dst[d] = (uint8_t)d;
            }
            ov__blend_row(dst, src, a, 256);
            for (int d = 0; d < 256; d++)
                bad += dst[d] != ref_mix(s, d, al);
        }
    }
    cr_expect_eq(bad, 0, "%d of 2^24 mixes differ from round((s*a + d*(255-a)) / 255)", bad);
}

/* The vectorised loop peels and has an epilogue: every length and misalignment goes through. */
Test(blend, row_of_any_length_and_alignment_touches_only_its_pixels)
{
    uint8_t src[96], a[96], dst[96], want[96];

    srand(7);
    for (int n = 0; n <= 67; n++) {
        for (int off = 0; off < 16; off++) {
            for (int i = 0; i < 96; i++) {
                src[i] = (uint8_t)rand();
                a[i] = (uint8_t)rand();
                dst[i] = want[i] = (uint8_t)rand();
            }
            for (int i = off; i < off + n; i++)
                want[i] = (uint8_t)ref_mix(src[i], want[i], a[i]);
            ov__blend_row(dst + off, src + off, a + off, n);
            cr_assert_arr_eq(dst, want, sizeof(dst), "n %d offset %d", n, off);
        }
    }
}

/* ---- the picture into a frame ---- */

typedef struct frame_s {
    int w, h, ls[3];
    uint8_t *p[3];
} frame_t;

static void frame_init(frame_t *f, int w, int h)
{
    f->w = w;
    f->h = h;
    f->ls[0] = w + 13; /* padding past the width must stay untouched */
    f->ls[1] = f->ls[2] = (w + 1) / 2 + 7;
    for (int k = 0; k < 3; k++) {
        size_t n = (size_t)f->ls[k] * (k ? (h + 1) / 2 : h);
        f->p[k] = malloc(n);
        for (size_t i = 0; i < n; i++)
            f->p[k][i] = (uint8_t)rand();
    }
}

static void frame_copy(frame_t *dst, const frame_t *src)
{
    *dst = *src;
    for (int k = 0; k < 3; k++) {
        size_t n = (size_t)src->ls[k] * (k ? (src->h + 1) / 2 : src->h);
        dst->p[k] = malloc(n);
        memcpy(dst->p[k], src->p[k], n);
    }
}

static void frame_free(frame_t *f)
{
    for (int k = 0; k < 3; k++)
        free(f->p[k]);
}

static void random_picture(ov__yuva_t *p, int w, int h)
{
    cr_assert_eq(ov__yuva_alloc(p, w, h), 0);
    for (int i = 0; i < w * h; i++) {
        p->y[i] = (uint8_t)rand();
        p->a[i] = (uint8_t)(i % 5 ? rand() : i % 2 ? 255 : 0); /* opaque and clear ones too */
    }
    for (int i = 0; i < p->cw * p->ch; i++) {
        p->u[i] = (uint8_t)rand();
        p->v[i] = (uint8_t)rand();
        p->ca[i] = (uint8_t)rand();
    }
}

/* The obvious version: every pixel of the plane, in doubles, chroma at floor(x / 2). */
static void ref_plane(uint8_t *dst, int ls, int dw, int dh, const uint8_t *src, const uint8_t *a,
                      int sw, int sh, int x, int y)
{
    for (int j = 0; j < dh; j++) {
        for (int i = 0; i < dw; i++) {
            int si = i - x, sj = j - y;
            if (si < 0 || sj < 0 || si >= sw || sj >= sh)
                continue;
            dst[j * ls + i] = (uint8_t)ref_mix(src[sj * sw + si], dst[j * ls + i], a[sj * sw + si]);
        }
    }
}

static void ref_blend(const ov__yuva_t *p, int x, int y, frame_t *f)
{
    int cx = (int)floor(x / 2.0), cy = (int)floor(y / 2.0);

    ref_plane(f->p[0], f->ls[0], f->w, f->h, p->y, p->a, p->w, p->h, x, y);
    ref_plane(f->p[1], f->ls[1], (f->w + 1) / 2, (f->h + 1) / 2, p->u, p->ca, p->cw, p->ch, cx, cy);
    ref_plane(f->p[2], f->ls[2], (f->w + 1) / 2, (f->h + 1) / 2, p->v, p->ca, p->cw, p->ch, cx, cy);
}

static void check_at(const ov__yuva_t *p, int fw, int fh, int x, int y)
{
    frame_t got, want;

    frame_init(&got, fw, fh);
    frame_copy(&want, &got);
    ov__yuva_blend(p, x, y, got.p, got.ls, fw, fh);
    ref_blend(p, x, y, &want);
    for (int k = 0; k < 3; k++) {
        size_t n = (size_t)got.ls[k] * (k ? (fh + 1) / 2 : fh);
        cr_expect_arr_eq(got.p[k], want.p[k], n, "%dx%d at (%d, %d) in %dx%d: plane %d differs",
                         p->w, p->h, x, y, fw, fh, k);
    }
    frame_free(&got);
    frame_free(&want);
}

Test(blend, picture_matches_reference_inside_and_at_every_edge)
{
    static const int sizes[][2] = { { 37, 23 }, { 1, 1 }, { 2, 3 }, { 64, 16 }, { 101, 77 } };
    static const int frames[][2] = { { 101, 77 }, { 128, 72 }, { 33, 9 } };

    srand(11);
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        ov__yuva_t p;
        random_picture(&p, sizes[s][0], sizes[s][1]);
        for (size_t f = 0; f < sizeof(frames) / sizeof(frames[0]); f++) {
            int fw = frames[f][0], fh = frames[f][1], w = p.w, h = p.h;
            int xs[] = { 0, 3, -5, -w + 1, -w, fw - w, fw - 10, fw - 1, fw, -w - 3 };
            int ys[] = { 0, 1, -2, -h + 1, fh - h, fh - 7, fh - 1, fh };
            for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++)
                for (size_t j = 0; j < sizeof(ys) / sizeof(ys[0]); j++)
                    check_at(&p, fw, fh, xs[i], ys[j]);
        }
        ov__yuva_free(&p);
    }
}

/* ---- cairo's premultiplied ARGB to straight YUVA ---- */

typedef struct argb_s {
    cairo_surface_t *s;
    ov__yuva_t p;
} argb_t;

static void argb_new(argb_t *t, int w, int h)
{
    t->s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    cr_assert_eq(ov__yuva_alloc(&t->p, w, h), 0);
}

static void argb_convert(argb_t *t, const ov__matrix_t *m)
{
    cairo_surface_flush(t->s);
    ov__yuva_from_argb(&t->p, cairo_image_surface_get_data(t->s),
                       cairo_image_surface_get_stride(t->s), m);
}

static void argb_free(argb_t *t)
{
    cairo_surface_destroy(t->s);
    ov__yuva_free(&t->p);
}

static void paint(argb_t *t, double r, double g, double b, double a)
{
    cairo_t *cr = cairo_create(t->s);

    cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE);
    cairo_set_source_rgba(cr, r, g, b, a);
    cairo_paint(cr);
    cairo_destroy(cr);
}

/* Y of an opaque colour by the book: BT.601 or BT.709, limited or full range. */
static double ref_luma(double r, double g, double b, double kr, double kb, int full)
{
    double y = kr * r + (1 - kr - kb) * g + kb * b;

    return full ? 255 * y : 16 + 219 * y;
}

static const struct {
    enum AVColorSpace cs;
    enum AVColorRange range;
    enum AVPixelFormat fmt;
    int height;
    double kr, kb;
    int full;
} matrices[] = {
    { AVCOL_SPC_BT709, AVCOL_RANGE_MPEG, AV_PIX_FMT_YUV420P, 720, 0.2126, 0.0722, 0 },
    { AVCOL_SPC_BT470BG, AVCOL_RANGE_MPEG, AV_PIX_FMT_YUV420P, 480, 0.299, 0.114, 0 },
    { AVCOL_SPC_UNSPECIFIED, AVCOL_RANGE_UNSPECIFIED, AV_PIX_FMT_YUV420P, 1080, 0.2126, 0.0722, 0 },
    { AVCOL_SPC_UNSPECIFIED, AVCOL_RANGE_UNSPECIFIED, AV_PIX_FMT_YUV420P, 360, 0.299, 0.114, 0 },
    { AVCOL_SPC_UNSPECIFIED, AVCOL_RANGE_UNSPECIFIED, AV_PIX_FMT_YUVJ420P, 720, 0.2126, 0.0722, 1 },
    { AVCOL_SPC_SMPTE170M, AVCOL_RANGE_JPEG, AV_PIX_FMT_YUV420P, 720, 0.299, 0.114, 1 },
};

Test(alpha, half_transparent_colour_over_grey_gives_the_expected_luma)
{
    static const double colours[][3] = { { 1, 0, 0 }, { 0, 1, 0 },       { 0, 0, 1 },
                                         { 1, 1, 1 }, { 1, 0.82, 0.25 }, { 0.2, 0.6, 0.9 } };

    for (size_t m = 0; m < sizeof(matrices) / sizeof(matrices[0]); m++) {
        ov__matrix_t mx;
        ov__matrix_init(&mx, matrices[m].cs, matrices[m].range, matrices[m].fmt,
                        matrices[m].height);
        for (size_t c = 0; c < sizeof(colours) / sizeof(colours[0]); c++) {
            const double *rgb = colours[c];
            double ycol =
                ref_luma(rgb[0], rgb[1], rgb[2], matrices[m].kr, matrices[m].kb, matrices[m].full);
            double want, alpha;
            uint8_t grey[3][8 * 8];
            uint8_t *planes[3] = { grey[0], grey[1], grey[2] };
            int ls[3] = { 8, 4, 4 };
            argb_t t;

            argb_new(&t, 8, 8);
            paint(&t, rgb[0], rgb[1], rgb[2], 0.5);
            argb_convert(&t, &mx);
            alpha = t.p.a[0] / 255.0; /* cairo stores 0.5 as 127 or 128 */
            want = alpha * ycol + (1 - alpha) * 128;
            memset(grey, 128, sizeof(grey));
            ov__yuva_blend(&t.p, 0, 0, planes, ls, 8, 8);
            cr_expect(fabs(grey[0][27] - want) <= 1, "matrix %zu colour %zu: Y %d, want %.2f", m, c,
                      grey[0][27], want);
            /* blending cairo's bytes as if straight would be darker: the test can tell */
            if (ycol > 60)
                cr_assert(fabs(alpha * ref_luma(alpha * rgb[0], alpha * rgb[1], alpha * rgb[2],
                                                matrices[m].kr, matrices[m].kb, matrices[m].full) +
                               (1 - alpha) * 128 - want) > 1);
            argb_free(&t);
        }
    }
}

/* Every alpha, colours across each one's range: straight Y, U and V within 1 of the book's
 * formula on the un-premultiplied colour. */
Test(alpha, conversion_is_within_one_of_the_formula_for_every_alpha)
{
    ov__matrix_t mx;
    argb_t t;
    uint32_t *px;
    int stride;

    ov__matrix_init(&mx, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG, AV_PIX_FMT_YUV420P, 720);
    argb_new(&t, 2, 2);
    cairo_surface_flush(t.s);
    px = (uint32_t *)cairo_image_surface_get_data(t.s);
    stride = cairo_image_surface_get_stride(t.s) / 4;
    for (uint32_t a = 1; a < 256; a++) {
        for (uint32_t r = 0; r <= a; r += 1 + a / 16) {
            for (uint32_t g = 0; g <= a; g += 1 + a / 16) {
                uint32_t b = (r * 7 + g * 3) % (a + 1), p = a << 24 | r << 16 | g << 8 | b;
                double R = r / (double)a, G = g / (double)a, B = b / (double)a;
                double y = 16 + 219 * (0.2126 * R + 0.7152 * G + 0.0722 * B);
                double u = 128 + 224 * (B - (0.2126 * R + 0.7152 * G + 0.0722 * B)) / 1.8556;
                double v = 128 + 224 * (R - (0.2126 * R + 0.7152 * G + 0.0722 * B)) / 1.5748;
                int dy, du, dv;
                px[0] = px[1] = px[stride] = px[stride + 1] = p; /* one uniform 2x2 block */
                cairo_surface_mark_dirty(t.s);
                argb_convert(&t, &mx);
                dy = abs(t.p.y[3] - (int)floor(y + 0.5));
                du = abs(t.p.u[0] - (int)floor(u + 0.5));
                dv = abs(t.p.v[0] - (int)floor(v + 0.5));
                cr_expect(dy <= 1 && du <= 1 && dv <= 1 && t.p.ca[0] == a,
                          "%08x: Y %d U %d V %d, want %.2f %.2f %.2f", p, t.p.y[3], t.p.u[0],
                          t.p.v[0], y, u, v);
            }
        }
    }
    argb_free(&t);
}

/* Antialiased white edges over a white picture must stay white: premultiplied pixels blended
 * as straight ones would draw a grey outline around every glyph. */
Test(alpha, antialiased_white_edges_leave_no_dark_fringe)
{
    ov__matrix_t mx;
    uint8_t white[3][64 * 64];
    uint8_t *planes[3] = { white[0], white[1], white[2] };
    int ls[3] = { 64, 32, 32 }, partial = 0;
    argb_t t;
    cairo_t *cr;

    ov__matrix_init(&mx, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG, AV_PIX_FMT_YUV420P, 720);
    argb_new(&t, 64, 64);
    cr = cairo_create(t.s);
    cairo_set_source_rgba(cr, 1, 1, 1, 1);
    cairo_arc(cr, 31.3, 32.7, 20.4, 0, 2 * M_PI);
    cairo_fill(cr);
    cairo_destroy(cr);
    argb_convert(&t, &mx);
    memset(white[0], 235, sizeof(white[0]));
    memset(white[1], 128, sizeof(white[1]) * 2);
    ov__yuva_blend(&t.p, 0, 0, planes, ls, 64, 64);
    for (int i = 0; i < 64 * 64; i++) {
        partial += t.p.a[i] > 0 && t.p.a[i] < 255;
        cr_expect_geq(white[0][i], 234, "pixel %d (alpha %d): Y %d", i, t.p.a[i], white[0][i]);
    }
    for (int i = 0; i < 32 * 32; i++)
        cr_expect(abs(white[1][i] - 128) <= 1 && abs(white[2][i] - 128) <= 1, "chroma %d", i);
    cr_assert_gt(partial, 50, "the circle's edge must have antialiased pixels");
    argb_free(&t);
}

/* The chroma alpha is the mean of the luma alphas each sample covers, computed once at
 * conversion; a sample's colour is the covered pixels' colour weighted by their alpha. */
Test(alpha, chroma_alpha_is_the_mean_of_the_luma_alphas)
{
    ov__matrix_t mx;
    argb_t t;
    uint32_t *px;
    int w = 7, h = 5, stride;

    ov__matrix_init(&mx, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG, AV_PIX_FMT_YUV420P, 720);
    argb_new(&t, w, h);
    cairo_surface_flush(t.s);
    px = (uint32_t *)cairo_image_surface_get_data(t.s);
    stride = cairo_image_surface_get_stride(t.s) / 4;
    srand(3);
    for (int j = 0; j < h; j++) {
        for (int i = 0; i < w; i++) {
            uint32_t a = (uint32_t)rand() % 256, r = a * (uint32_t)(rand() % 256) / 255;
            px[j * stride + i] = a << 24 | r << 16; /* premultiplied red, any alpha */
        }
    }
    cairo_surface_mark_dirty(t.s);
    argb_convert(&t, &mx);
    for (int cj = 0; cj < t.p.ch; cj++) {
        for (int ci = 0; ci < t.p.cw; ci++) {
            double sum = 0;
            int n = 0;
            for (int j = 2 * cj; j < 2 * cj + 2 && j < h; j++)
                for (int i = 2 * ci; i < 2 * ci + 2 && i < w; i++, n++)
                    sum += t.p.a[j * w + i];
            cr_expect(fabs(t.p.ca[cj * t.p.cw + ci] - sum / n) <= 0.5,
                      "sample %d,%d: %d, mean %.2f", ci, cj, t.p.ca[cj * t.p.cw + ci], sum / n);
        }
    }
    argb_free(&t);
}

Test(alpha, a_lone_opaque_pixel_keeps_its_colour_in_chroma)
{
    ov__matrix_t mx;
    argb_t full, lone;
    cairo_t *cr;

    ov__matrix_init(&mx, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG, AV_PIX_FMT_YUV420P, 720);
    argb_new(&full, 2, 2);
    argb_new(&lone, 2, 2);
    paint(&full, 0.9, 0.1, 0.2, 1);
    cr = cairo_create(lone.s);
    cairo_set_source_rgba(cr, 0.9, 0.1, 0.2, 1);
    cairo_rectangle(cr, 1, 0, 1, 1);
    cairo_fill(cr);
    cairo_destroy(cr);
    argb_convert(&full, &mx);
    argb_convert(&lone, &mx);
    cr_expect(abs(lone.p.u[0] - full.p.u[0]) <= 1 && abs(lone.p.v[0] - full.p.v[0]) <= 1,
              "U/V %d/%d, the colour's %d/%d", lone.p.u[0], lone.p.v[0], full.p.u[0], full.p.v[0]);
    cr_expect(abs(lone.p.ca[0] - 64) <= 1, "chroma alpha %d: a quarter", lone.p.ca[0]);
    argb_free(&full);
    argb_free(&lone);
}

Test(alpha, white_and_black_land_on_the_range_ends)
{
    static const struct {
        enum AVPixelFormat fmt;
        int lo, hi;
    } ranges[] = { { AV_PIX_FMT_YUV420P, 16, 235 }, { AV_PIX_FMT_YUVJ420P, 0, 255 } };

    for (size_t r = 0; r < 2; r++) {
        ov__matrix_t mx;
        argb_t t;
        ov__matrix_init(&mx, AVCOL_SPC_UNSPECIFIED, AVCOL_RANGE_UNSPECIFIED, ranges[r].fmt, 720);
        argb_new(&t, 2, 2);
        paint(&t, 1, 1, 1, 1);
        argb_convert(&t, &mx);
        cr_expect_eq(t.p.y[0], ranges[r].hi);
        cr_expect(t.p.u[0] == 128 && t.p.v[0] == 128, "white U/V %d/%d", t.p.u[0], t.p.v[0]);
        paint(&t, 0, 0, 0, 1);
        argb_convert(&t, &mx);
        cr_expect_eq(t.p.y[0], ranges[r].lo);
        argb_free(&t);
    }
}
