/* Unit tests for overlay/card.c: the layout at 360p, 720p and 1080p (inside the title-safe area,
 * scaling with the height, no text overflowing), the countdown's ticks, the slide-in, when a
 * redraw happens, prices, and names drawn literally (Chinese, markup, control characters). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/card.h"
#include "overlay/card_int.h"

#define T0 1764633600000LL /* some wall clock, ms */

static ov_card_t *card(int w, int h)
{
    char err[128] = "";
    ov_card_t *c = ov_card_new(w, h, AV_PIX_FMT_YUV420P, AVCOL_SPC_UNSPECIFIED,
                               AVCOL_RANGE_UNSPECIFIED, err, sizeof(err));

    cr_assert(c, "ov_card_new %dx%d: %s", w, h, err);
    return c;
}

static ov_state_t *product(const char *id, const char *name, uint64_t version)
{
    ov_state_t *st = ov_state_new();

    cr_assert(st);
    st->version = version;
    st->pinned = 1;
    snprintf(st->product_id, sizeof(st->product_id), "%s", id);
    cr_assert_eq(ov_state_set_name(st, name), 0);
    strcpy(st->currency, "CNY");
    st->price = st->regular_price = 1980;
    st->sold = 128;
    st->stock = 72;
    return st;
}

static void flash(ov_state_t *st, int64_t price, int64_t ends_ms)
{
    st->flash = 1;
    st->price = price;
    st->flash_ends_ms = ends_ms;
}

/* Shows st from T0 and lets the slide-in end. */
static void settle(ov_card_t *c, const ov_state_t *st)
{
    cr_assert_eq(ov_card_update(c, st, T0), 1);
    cr_assert_geq(ov_card_update(c, st, T0 + 1000), 0);
}

static const char *text(ov_card_t *c, int i)
{
    int x, y;
    PangoLayout *l = ov__card_text(c, i, &x, &y);

    return l ? pango_layout_get_text(l) : NULL;
}

/* ---- layout ---- */

typedef struct box_s {
    int x, y, w, h;
} box_t;

static box_t text_box(ov_card_t *c, int i, int *shown)
{
    int x, y;
    PangoRectangle ink, logical;
    PangoLayout *l = ov__card_text(c, i, &x, &y);

    *shown = l != NULL;
    if (!l)
        return (box_t){ 0, 0, 0, 0 };
    pango_layout_get_pixel_extents(l, &ink, &logical);
    return (box_t){ x + logical.x, y + logical.y, logical.width, logical.height };
}

static int overlap(box_t a, box_t b)
{
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

static const char long_name[] =
    "柞水木耳 Zhashui black fungus from the Qinling mountains, sun-dried, hand-picked, "
    "the big family bag of 500 grams with a recipe booklet and a very long name indeed";

/* Every text fits in the card less its padding, none covers another, the name has at most two
 * lines; returns the card's height. */
static int check_layout(int fw, int fh)
{
    ov_card_t *c = card(fw, fh);
    ov_state_t *st = product("p1", long_name, 1);
    int x, y, w, h, pad = fh * 10 / 720;
    box_t b[OV__T_COUNT];
    int on[OV__T_COUNT];

    flash(st, 1280, T0 + 3600 * 1000 * 1000LL); /* every text shown, the widest countdown */
    settle(c, st);
    cr_assert_eq(ov_card_rect(c, &x, &y, &w, &h), 1);
    cr_expect(x >= fw * 0.05 && y >= fh * 0.05 && x + w <= fw * 0.95 && y + h <= fh * 0.95,
              "%dx%d: card %d,%d %dx%d outside the title-safe area", fw, fh, x, y, w, h);
    cr_expect(x <= fw * 0.05 + 2 && y + h >= fh * 0.95 - 2, "%dx%d: not at the bottom left", fw,
              fh);
    for (int i = 0; i < OV__T_COUNT; i++) {
        b[i] = text_box(c, i, &on[i]);
        cr_expect(on[i], "%dx%d: text %d not drawn", fw, fh, i);
        cr_expect(b[i].x >= pad && b[i].y >= pad && b[i].x + b[i].w <= w - pad &&
                      b[i].y + b[i].h <= h - pad,
                  "%dx%d: text %d (%d,%d %dx%d) overflows the %dx%d card", fw, fh, i, b[i].x,
                  b[i].y, b[i].w, b[i].h, w, h);
        for (int j = 0; j < i; j++)
            cr_expect(!overlap(b[i], b[j]), "%dx%d: texts %d and %d overlap", fw, fh, i, j);
    }
    {
        PangoLayout *name = ov__card_text(c, OV__T_NAME, &x, &y);
        cr_expect_eq(pango_layout_get_line_count(name), 2, "%dx%d: name lines", fw, fh);
        cr_expect(pango_layout_is_ellipsized(name), "%dx%d: long name not ellipsized", fw, fh);
    }
    ov_state_unref(&st);
    ov_card_free(&c);
    return h;
}

Test(layout, inside_title_safe_area_at_360p_720p_1080p)
{
    check_layout(640, 360);
    check_layout(1280, 720);
    check_layout(1920, 1080);
}

Test(layout, vertical_and_odd_frames_fit_too)
{
    check_layout(720, 1280);
    check_layout(854, 480);
    check_layout(1279, 719);
}

Test(layout, scales_with_the_frame_height)
{
    int sizes[][2] = { { 640, 360 }, { 1280, 720 }, { 1920, 1080 } }, rect[3][4];

    for (int k = 0; k < 3; k++) {
        ov_card_t *c = card(sizes[k][0], sizes[k][1]);
        ov_state_t *st = product("p1", "柞水木耳", 1);
        settle(c, st);
        ov_card_rect(c, &rect[k][0], &rect[k][1], &rect[k][2], &rect[k][3]);
        ov_state_unref(&st);
        ov_card_free(&c);
    }
    for (int k = 0; k < 3; k++) {
        double s = sizes[k][1] / 720.0;
        for (int i = 0; i < 4; i++)
            cr_expect(abs(rect[k][i] - (int)(rect[1][i] * s + 0.5)) <= 2 + rect[1][i] * s / 50,
                      "%dp: rect[%d] = %d, 720p's scaled %.1f", sizes[k][1], i, rect[k][i],
                      rect[1][i] * s);
    }
}

Test(layout, refuses_other_pixel_formats_and_tiny_frames)
{
    char err[128] = "";

    cr_expect_null(ov_card_new(1280, 720, AV_PIX_FMT_NV12, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG, err,
                               sizeof(err)));
    cr_expect(strstr(err, "pixel format"), "%s", err);
    cr_expect_null(ov_card_new(32, 18, AV_PIX_FMT_YUV420P, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG, err,
                               sizeof(err)));
    cr_expect(strstr(err, "size"), "%s", err);
}

/* ---- countdown and redraws ---- */

Test(countdown, ticks_once_a_second_and_ends_exactly_at_the_end)
{
    ov_card_t *c = card(1280, 720);
    ov_state_t *st = product("p1", "木耳", 1);
    int64_t end = T0 + 65 * 1000;

    flash(st, 1280, end);
    settle(c, st); /* at T0 + 1000: 64 s left */
    cr_expect_str_eq(text(c, OV__T_COUNTDOWN), "01:04");
    cr_expect_eq(ov_card_update(c, st, T0 + 1500), 0, "63.5 s left is still 01:04");
    cr_expect_eq(ov_card_update(c, st, T0 + 1999), 0);
    cr_expect_eq(ov_card_update(c, st, T0 + 2000), 1, "63 s left: the second ticks over");
    cr_expect_str_eq(text(c, OV__T_COUNTDOWN), "01:03");
    cr_expect_eq(ov_card_update(c, st, T0 + 2001), 0);
    cr_expect_eq(ov_card_update(c, st, end - 1001), 1); /* 1.001 s left: 00:02 */
    cr_expect_str_eq(text(c, OV__T_COUNTDOWN), "00:02");
    cr_expect_eq(ov_card_update(c, st, end - 1000), 1);
    cr_expect_str_eq(text(c, OV__T_COUNTDOWN), "00:01");
    cr_expect_eq(ov_card_update(c, st, end - 1), 0, "1 ms left still shows 00:01");
    cr_expect_eq(ov_card_update(c, st, end), 1, "00:00 exactly at the end");
    cr_expect_str_eq(text(c, OV__T_COUNTDOWN), "00:00");
    cr_expect_eq(ov_card_update(c, st, end + 5000), 0, "stays 00:00 until the sale is over");
    ov_state_unref(&st);
    ov_card_free(&c);
}

Test(countdown, format)
{
    static const struct {
        int64_t ms;
        const char *want;
    } cases[] = {
        { 0, "00:00" },
        { -5000, "00:00" },
        { 1, "00:01" },
        { 999, "00:01" },
        { 1000, "00:01" },
        { 1001, "00:02" },
        { 59999, "01:00" },
        { 60000, "01:00" },
        { 7507000, "125:07" },
        { 99 * 60000 + 59000, "99:59" },
        { INT64_MAX, "153722867280912:56" },
    };
    char buf[32];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int n = ov_format_countdown(buf, sizeof(buf), cases[i].ms);
        cr_expect_str_eq(buf, cases[i].want, "%lld ms", (long long)cases[i].ms);
        cr_expect_eq(n, (int)strlen(cases[i].want));
    }
}

Test(redraw, only_when_a_new_version_changes_the_picture)
{
    ov_card_t *c = card(1280, 720);
    ov_state_t *st = product("p1", "木耳", 7), *same, *newer;

    settle(c, st);
    cr_expect_eq(ov_card_update(c, st, T0 + 2000), 0, "nothing changed");
    same = ov_state_copy(st);
    same->sold = 999; /* a state is never changed without a new version: it is not redrawn */
    cr_expect_eq(ov_card_update(c, same, T0 + 2100), 0);
    cr_expect_str_eq(text(c, OV__T_SOLD), "128 sold · 72 left");
    newer = ov_state_copy(st);
    newer->version = 8;
    newer->sold = 129;
    newer->stock = 71;
    cr_expect_eq(ov_card_update(c, newer, T0 + 2200), 1, "a new version");
    cr_expect_str_eq(text(c, OV__T_SOLD), "129 sold · 71 left");
    cr_expect_eq(ov_card_update(c, newer, T0 + 2300), 0);
    newer->version = 9;
    newer->flash_left = 5; /* a new version, but nothing the card shows changed */
    cr_expect_eq(ov_card_update(c, newer, T0 + 2400), 0, "the picture is the same");
    newer->version = 10;
    newer->stock = 0;
    cr_expect_eq(ov_card_update(c, newer, T0 + 2500), 1);
    ov_state_unref(&st);
    ov_state_unref(&same);
    ov_state_unref(&newer);
    ov_card_free(&c);
}

Test(redraw, regular_price_struck_only_while_a_flash_sale_undercuts_it)
{
    ov_card_t *c = card(1280, 720);
    ov_state_t *st = product("p1", "木耳", 1);
    PangoAttrIterator *it;

    settle(c, st);
    cr_expect_null(text(c, OV__T_REGULAR), "no sale");
    cr_expect_null(text(c, OV__T_COUNTDOWN));
    st->version++;
    flash(st, 1980, T0 + 60000); /* a sale at the regular price undercuts nothing */
    ov_card_update(c, st, T0 + 2000);
    cr_expect_null(text(c, OV__T_REGULAR));
    cr_expect_str_eq(text(c, OV__T_COUNTDOWN), "00:58");
    st->version++;
    st->price = 1280;
    ov_card_update(c, st, T0 + 2000);
    cr_expect_str_eq(text(c, OV__T_PRICE), "¥12.80");
    cr_expect_str_eq(text(c, OV__T_REGULAR), "¥19.80");
    it = pango_attr_list_get_iterator(
        pango_layout_get_attributes(ov__card_text(c, OV__T_REGULAR, &(int){ 0 }, &(int){ 0 })));
    cr_expect(pango_attr_iterator_get(it, PANGO_ATTR_STRIKETHROUGH), "struck through");
    pango_attr_iterator_destroy(it);
    st->version++;
    st->flash = 0; /* the sale ended: the price is the regular one again */
    st->price = 1980;
    ov_card_update(c, st, T0 + 3000);
    cr_expect_null(text(c, OV__T_REGULAR));
    cr_expect_null(text(c, OV__T_COUNTDOWN));
    ov_state_unref(&st);
    ov_card_free(&c);
}

/* An opaque test image: a gradient with a hard edge, premultiplied ARGB as the state holds it. */
static AVBufferRef *thumb(int w, int h)
{
    AVBufferRef *b = av_buffer_alloc((size_t)w * h * 4);

    cr_assert(b);
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++)
            ((uint32_t *)b->data)[j * w + i] =
                0xff000000u | (uint32_t)(i * 255 / w) << 16 | (uint32_t)(i < w / 2 ? 200 : 30) << 8;
    return b;
}

/* The first pixel of a plane where two pictures differ, -1 when none does. */
static long first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return (long)i;
    return -1;
}

static void same_picture(ov_card_t *a, ov_card_t *b, int step)
{
    const ov__yuva_t *p = ov__card_picture(a), *q = ov__card_picture(b);
    size_t luma = (size_t)p->w * p->h, chroma = (size_t)p->cw * p->ch;
    const uint8_t *pp[5] = { p->y, p->a, p->u, p->v, p->ca },
                  *qq[5] = { q->y, q->a, q->u, q->v, q->ca };

    cr_assert(p->w == q->w && p->h == q->h);
    for (int k = 0; k < 5; k++) {
        int w = k < 2 ? p->w : p->cw;
        long d = first_diff(pp[k], qq[k], k < 2 ? luma : chroma);
        cr_expect_eq(d, -1, "step %d: plane %d differs first at (%ld, %ld): %d, full %d", step, k,
                     d % w, d / w, d >= 0 ? pp[k][d] : 0, d >= 0 ? qq[k][d] : 0);
    }
}

/* A redraw repaints only the rows of the card that changed: what it makes must be, byte for
 * byte, the picture a full redraw of the same state makes. */
Test(redraw, partial_redraws_make_the_full_picture)
{
    ov_card_t *c = card(1280, 720), *full = card(1280, 720);
    ov_state_t *st = product("p1", "柞水木耳 Zhashui black fungus", 1);
    int64_t t = T0;

    st->thumb = thumb(64, 48);
    st->thumb_w = 64;
    st->thumb_h = 48;
    for (int step = 0; step < 13; step++) {
        switch (step) {
        case 1: st->sold++, st->stock--; break;                /* an order */
        case 2: flash(st, 1280, T0 + 600 * 1000 + 300); break; /* a sale: 10:00 left */
        case 3: t += 1000; break;                              /* 09:59 */
        case 4: st->sold += 1000, st->stock = 3; break;
        case 5: ov_state_set_name(st, "香菇 <i>shiitake</i>"); break;
        case 6: st->price = 99; break; /* a narrower price */
        case 7: st->stock = 0; break;  /* sold out: no bar */
        case 8: st->flash = 0, st->price = st->regular_price; break;
        case 9: av_buffer_unref(&st->thumb); break; /* no image */
        case 10: st->thumb = thumb(40, 90), st->thumb_w = 40, st->thumb_h = 90; break;
        case 11: /* another image: the text column stays where it is */
            av_buffer_unref(&st->thumb);
            st->thumb = thumb(90, 40), st->thumb_w = 90, st->thumb_h = 40;
            break;
        case 12: t += 5000; break; /* nothing changes */
        }
        st->version += step != 3 && step != 12;
        cr_assert_geq(ov_card_update(c, st, t), 0);
        cr_assert_geq(ov__card_redraw(full, st, t, 1), 0);
        same_picture(c, full, step);
    }
    ov_state_unref(&st);
    ov_card_free(&c);
    ov_card_free(&full);
}

/* ---- showing, hiding, sliding in ---- */

Test(show, hidden_while_nothing_is_pinned)
{
    ov_card_t *c = card(640, 360);
    ov_state_t *st = product("p1", "木耳", 1), *none = ov_state_new();
    int x, y, w, h;

    cr_expect_eq(ov_card_update(c, NULL, T0), 0, "hidden from the start");
    cr_expect_eq(ov_card_rect(c, &x, &y, &w, &h), 0);
    settle(c, st);
    cr_expect_eq(ov_card_rect(c, &x, &y, &w, &h), 1);
    none->version = 2;
    cr_expect_eq(ov_card_update(c, none, T0 + 2000), 1, "unpinned: hidden");
    cr_expect_eq(ov_card_rect(c, &x, &y, &w, &h), 0);
    cr_expect_eq(ov_card_update(c, none, T0 + 2100), 0);
    cr_expect_eq(ov_card_update(c, NULL, T0 + 2200), 0);
    ov_state_unref(&st);
    ov_state_unref(&none);
    ov_card_free(&c);
}

Test(show, slides_in_from_the_left_when_the_product_changes)
{
    ov_card_t *c = card(1280, 720);
    ov_state_t *a = product("p1", "木耳", 1), *a2 = product("p1", "木耳", 2),
               *b = product("p2", "香菇", 3);
    int x, y, w, h, last, rest;

    a2->sold = 129; /* an order */
    cr_expect_eq(ov_card_update(c, a, T0), 1);
    ov_card_rect(c, &x, &y, &w, &h);
    cr_expect_leq(x + w, 0, "starts off the left edge: x %d w %d", x, w);
    last = x;
    for (int t = 20; t <= 280; t += 20) {
        cr_expect_eq(ov_card_update(c, a, T0 + t), 1, "moving at %d ms", t);
        ov_card_rect(c, &x, &y, &w, &h);
        cr_expect_gt(x, last, "moves right at %d ms", t);
        cr_expect_eq(x & 1, 0, "even x: chroma lines up");
        last = x;
    }
    ov_card_update(c, a, T0 + 300);
    ov_card_rect(c, &rest, &y, &w, &h);
    cr_expect_eq(ov_card_update(c, a, T0 + 400), 0, "at rest after 300 ms");
    cr_expect_eq(ov_card_update(c, a2, T0 + 500), 1);
    ov_card_rect(c, &x, &y, &w, &h);
    cr_expect_eq(x, rest, "a new version of the same product does not slide");
    cr_expect_eq(ov_card_update(c, b, T0 + 600), 1);
    ov_card_rect(c, &x, &y, &w, &h);
    cr_expect_leq(x + w, 0, "another product slides in again");
    ov_card_update(c, b, T0 + 900);
    ov_card_rect(c, &x, &y, &w, &h);
    cr_expect_eq(x, rest);
    ov_state_unref(&a);
    ov_state_unref(&a2);
    ov_state_unref(&b);
    ov_card_free(&c);
}

static AVFrame *grey_frame(int w, int h)
{
    AVFrame *f = av_frame_alloc();

    f->width = w;
    f->height = h;
    f->format = AV_PIX_FMT_YUV420P;
    cr_assert_geq(av_frame_get_buffer(f, 0), 0);
    for (int k = 0; k < 3; k++)
        memset(f->data[k], k ? 128 : 100, (size_t)f->linesize[k] * (k ? (h + 1) / 2 : h));
    return f;
}

/* Whether any pixel of the luma plane differs from the grey, in and out of the rectangle. */
static void changed_pixels(const AVFrame *f, int x, int y, int w, int h, int *in, int *out)
{
    *in = *out = 0;
    for (int j = 0; j < f->height; j++) {
        for (int i = 0; i < f->width; i++) {
            int inside = i >= x && i < x + w && j >= y && j < y + h;
            int d = f->data[0][j * f->linesize[0] + i] != 100;
            *in += inside && d;
            *out += !inside && d;
        }
    }
}

Test(show, blend_touches_only_the_visible_part_of_the_card)
{
    ov_card_t *c = card(640, 360);
    ov_state_t *st = product("p1", "木耳", 1);
    AVFrame *f = grey_frame(640, 360);
    int x, y, w, h, in, out;

    cr_expect_eq(ov_card_update(c, st, T0), 1);
    ov_card_update(c, st, T0 + 60); /* sliding in: partly off the left edge */
    ov_card_rect(c, &x, &y, &w, &h);
    cr_assert_lt(x, 0);
    cr_assert_gt(x + w, 0);
    ov_card_blend(c, f);
    changed_pixels(f, x, y, w, h, &in, &out);
    cr_expect_gt(in, (x + w) * h / 2, "the visible part is drawn (%d pixels)", in);
    cr_expect_eq(out, 0, "%d pixels outside the card changed", out);
    av_frame_free(&f);
    f = grey_frame(640, 360);
    ov_card_update(c, NULL, T0 + 1000);
    ov_card_blend(c, f);
    changed_pixels(f, 0, 0, 0, 0, &in, &out);
    cr_expect_eq(out, 0, "hidden: the frame is untouched");
    av_frame_free(&f);
    ov_state_unref(&st);
    ov_card_free(&c);
}

/* ---- names ---- */

static int bright_pixels(ov_card_t *c, int i)
{
    int x, y, n = 0;
    PangoRectangle ink, logical;
    PangoLayout *l = ov__card_text(c, i, &x, &y);
    const ov__yuva_t *p = ov__card_picture(c);

    if (!l)
        return 0;
    pango_layout_get_pixel_extents(l, &ink, &logical);
    for (int j = y + logical.y; j < y + logical.y + logical.height; j++)
        for (int k = x + logical.x; k < x + logical.x + logical.width; k++)
            n += p->y[j * p->w + k] > 180 && p->a[j * p->w + k] > 200;
    return n;
}

Test(names, chinese_is_drawn_with_real_simplified_chinese_glyphs)
{
    ov_card_t *c = card(1280, 720);
    ov_state_t *st = product("p1", "柞水木耳", 1);
    PangoLayout *l;
    PangoLayoutIter *it;
    int x, y, runs = 0;

    settle(c, st);
    l = ov__card_text(c, OV__T_NAME, &x, &y);
    cr_assert(l);
    cr_expect_str_eq(pango_layout_get_text(l), "柞水木耳");
    cr_expect_eq(pango_layout_get_unknown_glyphs_count(l), 0, "a font has every character");
    cr_expect_gt(bright_pixels(c, OV__T_NAME), 200, "the glyphs are drawn");
    it = pango_layout_get_iter(l);
    do {
        PangoLayoutRun *run = pango_layout_iter_get_run_readonly(it);
        PangoLanguage **langs;
        int zh_cn = 0;
        if (!run)
            continue;
        runs++;
        cr_expect_str_eq(pango_language_to_string(run->item->analysis.language), "zh-cn");
        langs = pango_font_get_languages(run->item->analysis.font);
        for (int k = 0; langs && langs[k]; k++)
            zh_cn |= !strcmp(pango_language_to_string(langs[k]), "zh-cn");
        cr_expect(zh_cn, "the font chosen covers zh-cn");
    } while (pango_layout_iter_next_run(it));
    pango_layout_iter_free(it);
    cr_expect_gt(runs, 0);
    ov_state_unref(&st);
    ov_card_free(&c);
}

Test(names, empty_name_draws_nothing_there)
{
    ov_card_t *c = card(1280, 720);
    ov_state_t *st = product("p1", "", 1);

    settle(c, st);
    cr_expect_null(text(c, OV__T_NAME));
    ov_state_unref(&st);
    ov_card_free(&c);
}

Test(names, markup_and_control_characters_are_drawn_literally)
{
    static const struct {
        const char *name, *want;
    } cases[] = {
        { "<b>&amp;\n\x01", "<b>&amp; \xEF\xBF\xBD" },
        { "<span foreground=\"red\">x</span>", "<span foreground=\"red\">x</span>" },
        { "a\tb\r\nc\x7f"
          "d\xC2\x85"
          "e",
          "a b  c\xEF\xBF\xBD"
          "d\xEF\xBF\xBD"
          "e" },
        { "bad \xff\xfe utf-8 \xE6\x9C",
          "bad \xEF\xBF\xBD\xEF\xBF\xBD utf-8 \xEF\xBF\xBD\xEF\xBF\xBD" },
        { "line\xE2\x80\xA8sep", "line sep" },
    };
    ov_card_t *c = card(1280, 720);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ov_state_t *st = product("p1", cases[i].name, i + 1);
        ov_card_update(c, st, T0 + 1000 * (int64_t)i);
        cr_expect_str_eq(text(c, OV__T_NAME), cases[i].want, "case %zu", i);
        ov_state_unref(&st);
    }
    ov_card_free(&c);
}

Test(names, a_huge_name_is_cut_at_a_character)
{
    size_t n = 100000;
    char *name = malloc(n + 1);
    ov_card_t *c = card(1280, 720);
    ov_state_t *st;
    const char *got;

    for (size_t i = 0; i + 3 <= n; i += 3)
        memcpy(name + i, "木", 3);
    name[n - n % 3] = '\0';
    st = product("p1", name, 1);
    settle(c, st);
    got = text(c, OV__T_NAME);
    cr_expect(strlen(got) < 1024 && strlen(got) % 3 == 0, "%zu bytes", strlen(got));
    cr_expect(g_utf8_validate(got, -1, NULL));
    ov_state_unref(&st);
    ov_card_free(&c);
    free(name);
}

/* ---- prices ---- */

Test(price, format)
{
    static const struct {
        const char *currency;
        int64_t minor;
        const char *want;
    } cases[] = {
        { "CNY", 1280, "¥12.80" },
        { "CNY", 5, "¥0.05" },
        { "CNY", 0, "¥0.00" },
        { "USD", 350, "$3.50" },
        { "EUR", 199, "€1.99" },
        { "JPY", 1200, "¥1200" },
        { "KRW", 15000, "₩15000" },
        { "XYZ", 1280, "12.80 XYZ" },
        { "CNY", -1280, "-¥12.80" },
        { "usd", 350, "3.50" },
        { "\n<b", 350, "3.50" },
        { "", 350, "3.50" },
        { "CNY", INT64_MIN, "-¥92233720368547758.08" },
        { "CNY", INT64_MAX, "¥92233720368547758.07" },
    };
    char buf[64];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int n = ov_format_price(buf, sizeof(buf), cases[i].currency, cases[i].minor);
        cr_expect_str_eq(buf, cases[i].want, "case %zu", i);
        cr_expect_eq(n, (int)strlen(cases[i].want), "case %zu", i);
    }
    cr_expect_eq(ov_format_price(buf, 4, "CNY", 1280), (int)strlen("¥12.80"), "as snprintf");
    cr_expect_eq(ov_format_price(NULL, 0, NULL, 1280), 5, "12.80");
}
