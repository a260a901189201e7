/* Benchmark of the product card (issue 8, performance 1): what the card costs per 720p frame
 * against FFmpeg's drawtext with a box of the same size, run through libavfilter on the same
 * frames in the same process; the blend alone, a redraw, and a first render against a reused
 * layout. Prints Markdown. Run by bench/overlay_cost.sh.
 *
 * Every figure is this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), the median of REPEAT runs,
 * shopcast and drawtext runs interleaved: the machine is shared, and CPU time is what a worker
 * spends. Frames rotate through NFRAMES pictures (12 MB at 720p), more than the L2 holds, so the
 * blend meets memory as it would with a decoder's fresh pictures. */
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/opt.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "overlay/card.h"
#include "overlay/card_int.h"

#define W       1280
#define H       720
#define NFRAMES 8
#define FRAMES  900 /* 30 s at 30 fps per run */
#define REPEAT  5
#define T0      1764633600000LL
#define CJK     "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

static const char name[] = "柞水木耳 Zhashui black fungus, sun-dried, 250 g bag";
/* drawtext's lines: the name in two, as the card wraps it, the prices, the sold row */
static const char lines[] = "柞水木耳 Zhashui black\nfungus, sun-dried, 250 g%*s\n¥12.80  ¥19.80\n"
                            "128 sold · 872 left  09:59";

typedef struct bench_s {
    ov_card_t *card;
    ov_state_t *orders[FRAMES / 10 + 1]; /* version i: i orders since the start */
    AVFrame *frames[NFRAMES];
    AVFilterGraph *graph;
    AVFilterContext *src, *sink;
    int cx, cy, cw, ch; /* the card at rest */
    int box_w, box_h;   /* drawtext's box as measured */
    int copies;         /* frames libavfilter copied instead of drawing in place */
} bench_t;

static int64_t cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what)
{
    fprintf(stderr, "overlay_bench: %s\n", what);
    exit(1);
}

/* ---- inputs ---- */

static ov_state_t *order_state(int orders)
{
    ov_state_t *st = ov_state_new();

    if (!st || ov_state_set_name(st, name) < 0)
        die("out of memory");
    st->version = 100 + (uint64_t)orders;
    st->pinned = 1;
    strcpy(st->product_id, "p1");
    strcpy(st->currency, "CNY");
    st->price = 1280;
    st->regular_price = 1980;
    st->sold = 128 + orders;
    st->stock = 872 - orders;
    st->flash = 1;
    st->flash_ends_ms = T0 + 10 * 60 * 1000;
    return st;
}

/* A thumbnail like a product photo: 256x256 premultiplied ARGB, a gradient and a disc. */
static void add_thumb(ov_state_t *st)
{
    cairo_surface_t *s;
    cairo_t *cr;
    cairo_pattern_t *p = cairo_pattern_create_linear(0, 0, 256, 256);

    st->thumb = av_buffer_alloc(256 * 256 * 4);
    if (!st->thumb)
        die("out of memory");
    st->thumb_w = st->thumb_h = 256;
    s = cairo_image_surface_create_for_data(st->thumb->data, CAIRO_FORMAT_ARGB32, 256, 256,
                                            256 * 4);
    cr = cairo_create(s);
    cairo_pattern_add_color_stop_rgb(p, 0, 0.8, 0.3, 0.1);
    cairo_pattern_add_color_stop_rgb(p, 1, 0.1, 0.2, 0.6);
    cairo_set_source(cr, p);
    cairo_paint(cr);
    cairo_set_source_rgba(cr, 0.1, 0.1, 0.1, 0.9);
    cairo_arc(cr, 128, 128, 80, 0, 6.3);
    cairo_fill(cr);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    cairo_pattern_destroy(p);
}

static void make_frames(bench_t *b)
{
    for (int i = 0; i < NFRAMES; i++) {
        AVFrame *f = b->frames[i] = av_frame_alloc();
        if (!f)
            die("out of memory");
        f->width = W;
        f->height = H;
        f->format = AV_PIX_FMT_YUV420P;
        if (av_frame_get_buffer(f, 0) < 0)
            die("out of memory");
        for (int j = 0; j < H; j++)
            for (int k = 0; k < W; k++)
                f->data[0][j * f->linesize[0] + k] = (uint8_t)(16 + (j * 3 + k + i * 7) % 220);
        memset(f->data[1], 120, (size_t)f->linesize[1] * H / 2);
        memset(f->data[2], 136, (size_t)f->linesize[2] * H / 2);
    }
}

/* ---- drawtext through libavfilter ---- */

static AVFilterContext *drawtext_filter(AVFilterGraph *g, const char *text, int size, int border,
                                        const char *boxcolor)
{
    AVFilterContext *dt = avfilter_graph_alloc_filter(g, avfilter_get_by_name("drawtext"), "dt");
    char num[16];

    if (!dt)
        die("no drawtext filter (libavfilter built without libfreetype?)");
    av_opt_set(dt, "fontfile", CJK, AV_OPT_SEARCH_CHILDREN);
    av_opt_set(dt, "text", text, AV_OPT_SEARCH_CHILDREN);
    snprintf(num, sizeof(num), "%d", size);
    av_opt_set(dt, "fontsize", num, AV_OPT_SEARCH_CHILDREN);
    av_opt_set(dt, "fontcolor", "white", AV_OPT_SEARCH_CHILDREN);
    av_opt_set_int(dt, "box", 1, AV_OPT_SEARCH_CHILDREN);
    av_opt_set(dt, "boxcolor", boxcolor, AV_OPT_SEARCH_CHILDREN);
    av_opt_set_int(dt, "boxborderw", border, AV_OPT_SEARCH_CHILDREN);
    av_opt_set_int(dt, "line_spacing", size / 5, AV_OPT_SEARCH_CHILDREN);
    av_opt_set(dt, "x", "64+14", AV_OPT_SEARCH_CHILDREN);
    av_opt_set(dt, "y", "h-36-th-14", AV_OPT_SEARCH_CHILDREN);
    if (avfilter_init_str(dt, NULL) < 0)
        die("drawtext did not initialise");
    return dt;
}

/* buffer -> [drawtext] -> buffersink; text NULL: no filter in between (the graph's own cost). */
static void graph_new(bench_t *b, const char *text, int size, int border, const char *boxcolor)
{
    char args[128];
    AVFilterContext *mid;

    avfilter_graph_free(&b->graph);
    if (!(b->graph = avfilter_graph_alloc()))
        die("out of memory");
    snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=1/30:pixel_aspect=1/1", W,
             H, AV_PIX_FMT_YUV420P);
    if (avfilter_graph_create_filter(&b->src, avfilter_get_by_name("buffer"), "in", args, NULL,
                                     b->graph) < 0 ||
        avfilter_graph_create_filter(&b->sink, avfilter_get_by_name("buffersink"), "out", NULL,
                                     NULL, b->graph) < 0)
        die("buffer/buffersink");
    mid = text ? drawtext_filter(b->graph, text, size, border, boxcolor) : b->src;
    if ((text && avfilter_link(b->src, 0, mid, 0) < 0) || avfilter_link(mid, 0, b->sink, 0) < 0 ||
        avfilter_graph_config(b->graph, NULL) < 0)
        die("the filter graph did not configure");
}

/* One frame through the graph, drawn in place: the frame goes in with its only reference (so
 * it is writable and drawtext draws into it) and comes back out. */
static void graph_frame(bench_t *b, AVFrame *f, int64_t pts)
{
    uint8_t *before = f->data[0];

    f->pts = pts;
    if (av_buffersrc_add_frame_flags(b->src, f, 0) < 0 || av_buffersink_get_frame(b->sink, f) < 0)
        die("the filter graph dropped a frame");
    b->copies += f->data[0] != before;
}

/* The box drawtext draws, in opaque white on black: its bounding box. */
static void measure_box(bench_t *b, const char *text, int size, int border, int *w, int *h)
{
    AVFrame *f = av_frame_alloc();
    int x0 = W, y0 = H, x1 = -1, y1 = -1;

    f->width = W;
    f->height = H;
    f->format = AV_PIX_FMT_YUV420P;
    if (av_frame_get_buffer(f, 0) < 0)
        die("out of memory");
    memset(f->data[0], 0, (size_t)f->linesize[0] * H);
    memset(f->data[1], 128, (size_t)f->linesize[1] * H / 2);
    memset(f->data[2], 128, (size_t)f->linesize[2] * H / 2);
    graph_new(b, text, size, border, "white");
    graph_frame(b, f, 0);
    for (int j = 0; j < H; j++) {
        for (int i = 0; i < W; i++) {
            if (f->data[0][j * f->linesize[0] + i] <= 128)
                continue;
            x0 = i < x0 ? i : x0;
            x1 = i > x1 ? i : x1;
            y0 = j < y0 ? j : y0;
            y1 = j > y1 ? j : y1;
        }
    }
    *w = x1 - x0 + 1;
    *h = y1 - y0 + 1;
    av_frame_free(&f);
}

/* The card's texts as four lines, at the font size that makes the box as tall as the card,
 * padded with spaces until it is as wide. */
static void drawtext_like_card(bench_t *b, char *text, size_t len, int *size)
{
    int best = 0, bw, bh, pad = 0;

    snprintf(text, len, lines, 0, "");
    for (int s = 16; s <= 48; s++) {
        measure_box(b, text, s, 14, &bw, &bh);
        if (!best || abs(bh - b->ch) < abs(b->box_h - b->ch)) {
            best = s;
            b->box_h = bh;
        }
    }
    *size = best;
    do {
        snprintf(text, len, lines, pad++, "");
        measure_box(b, text, best, 14, &b->box_w, &b->box_h);
    } while (b->box_w < b->cw && pad < 200);
    graph_new(b, text, best, 14, "black@0.82");
}

/* ---- runs: each returns ns per frame ---- */

static double run_drawtext(bench_t *b)
{
    int64_t t = cpu_ns();

    for (int n = 0; n < FRAMES; n++)
        graph_frame(b, b->frames[n % NFRAMES], n);
    return (double)(cpu_ns() - t) / FRAMES;
}

/* The worker's per-frame work: bring the card up to date, blend it. orders_every 0: none, the
 * countdown alone changes the card (once a second). */
static double run_card(bench_t *b, int orders_every)
{
    int64_t t = cpu_ns();

    for (int n = 0; n < FRAMES; n++) {
        const ov_state_t *st = b->orders[orders_every ? n / orders_every : 0];
        if (ov_card_update(b->card, st, T0 + 10000 + n * 1000LL / 30) < 0)
            die("ov_card_update failed");
        ov_card_blend(b->card, b->frames[n % NFRAMES]);
    }
    return (double)(cpu_ns() - t) / FRAMES;
}

static double run_blend(bench_t *b, int rotate)
{
    int64_t t = cpu_ns();

    for (int n = 0; n < FRAMES; n++)
        ov_card_blend(b->card, b->frames[rotate ? n % NFRAMES : 0]);
    return (double)(cpu_ns() - t) / FRAMES;
}

/* kind 0: a full redraw (a new product); 1: an order (the sold row and the bar); 2: the
 * countdown's second (its pill); 3: a new product with a new image (scaled into its slot). */
static double run_redraw(bench_t *b, int kind)
{
    int64_t t = cpu_ns();
    int n = 200;

    for (int i = 0; i < n; i++) {
        const ov_state_t *st = b->orders[kind == 1 ? i % 2 : kind == 3 ? i % 2 * FRAMES / 10 : 0];
        if (ov__card_redraw(b->card, st, T0 + 10000 + (kind == 2 ? i % 2 * 1000 : 0), !kind) < 0)
            die("redraw failed");
    }
    return (double)(cpu_ns() - t) / n;
}

/* ---- pango alone: a reused layout against a new one per text ---- */

static const char *const texts[2] = { "柞水木耳 Zhashui black fungus, sun-dried, 250 g bag",
                                      "香菇 Shiitake mushrooms from Suizhou, 500 g box" };

static double reused_layout(PangoLayout *l)
{
    PangoRectangle ink, logical;
    int64_t t = cpu_ns();

    for (int i = 0; i < 2000; i++) {
        pango_layout_set_text(l, texts[i % 2], -1);
        pango_layout_get_pixel_extents(l, &ink, &logical);
    }
    return (double)(cpu_ns() - t) / 2000;
}

/* The same text again: set_text is skipped as a redraw does, the extents are pango's cache. */
static double unchanged_layout(PangoLayout *l)
{
    PangoRectangle ink, logical;
    int64_t t = cpu_ns();

    pango_layout_set_text(l, texts[0], -1);
    for (int i = 0; i < 2000; i++) {
        if (strcmp(pango_layout_get_text(l), texts[0]))
            pango_layout_set_text(l, texts[0], -1);
        pango_layout_get_pixel_extents(l, &ink, &logical);
    }
    return (double)(cpu_ns() - t) / 2000;
}

static double new_layout(PangoLayout *model)
{
    PangoRectangle ink, logical;
    int64_t t = cpu_ns();

    for (int i = 0; i < 2000; i++) {
        PangoLayout *l = pango_layout_new(pango_layout_get_context(model));
        pango_layout_set_font_description(l, pango_layout_get_font_description(model));
        pango_layout_set_width(l, pango_layout_get_width(model));
        pango_layout_set_height(l, pango_layout_get_height(model));
        pango_layout_set_wrap(l, pango_layout_get_wrap(model));
        pango_layout_set_ellipsize(l, pango_layout_get_ellipsize(model));
        pango_layout_set_text(l, texts[i % 2], -1);
        pango_layout_get_pixel_extents(l, &ink, &logical);
        g_object_unref(l);
    }
    return (double)(cpu_ns() - t) / 2000;
}

/* A new card and its first picture: font map, fontconfig (the first time in the process), the
 * fonts' faces and the first shaping. */
static double first_render(ov_card_t **c, const ov_state_t *st)
{
    char err[128];
    int64_t t = cpu_ns();

    *c = ov_card_new(W, H, AV_PIX_FMT_YUV420P, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG, err, sizeof(err));
    if (!*c)
        die(err);
    if (ov_card_update(*c, st, T0) < 0)
        die("first update failed");
    return (double)(cpu_ns() - t);
}

/* ---- report ---- */

static void report_first(bench_t *b)
{
    ov_card_t *other;
    int x, y;
    double first = first_render(&b->card, b->orders[0]),
           second = first_render(&other, b->orders[0]);
    PangoLayout *l = ov__card_text(other, OV__T_NAME, &x, &y);
    double reused[REPEAT], fresh[REPEAT], same[REPEAT];

    for (int r = 0; r < REPEAT; r++) {
        reused[r] = reused_layout(l);
        fresh[r] = new_layout(l);
        same[r] = unchanged_layout(l);
    }
    printf("| first render in the process (ov_card_new + first ov_card_update: fontconfig, "
           "font map, faces, shaping) | %.2f ms |\n",
           first / 1e6);
    printf("| first render of a second card (new font map, fontconfig warm) | %.2f ms |\n",
           second / 1e6);
    printf("| the name laid out again in a new PangoLayout (new + set_text + extents) | %.1f µs "
           "|\n",
           median(fresh, REPEAT) / 1e3);
    printf("| the name laid out again in the reused layout (set_text + extents) | %.1f µs |\n",
           median(reused, REPEAT) / 1e3);
    printf("| an unchanged name in the reused layout (what a redraw costs it) | %.2f µs |\n",
           median(same, REPEAT) / 1e3);
    ov_card_free(&other);
}

#define NRUNS 9

static void report_costs(bench_t *b, double *m, double *null_ns)
{
    double v[NRUNS][REPEAT];

    for (int r = 0; r < REPEAT; r++) {
        v[0][r] = run_card(b, 0);
        v[1][r] = run_drawtext(b);
        v[2][r] = run_card(b, 10);
        v[3][r] = run_blend(b, 1);
        v[4][r] = run_blend(b, 0);
        v[5][r] = run_redraw(b, 0);
        v[6][r] = run_redraw(b, 1);
        v[7][r] = run_redraw(b, 2);
        v[8][r] = run_redraw(b, 3);
    }
    for (int k = 0; k < NRUNS; k++)
        m[k] = median(v[k], REPEAT);
    graph_new(b, NULL, 0, 0, NULL);
    for (int r = 0; r < REPEAT; r++)
        v[0][r] = run_drawtext(b);
    *null_ns = median(v[0], REPEAT);
}

static void report(bench_t *b)
{
    double m[NRUNS], null_ns, dt;

    report_costs(b, m, &null_ns);
    dt = m[1] - null_ns;
    printf("| shopcast card per frame (update + blend; the countdown redraws once a second) | "
           "%.1f µs |\n",
           m[0] / 1e3);
    printf("| drawtext per frame (libavfilter graph, boxed text %dx%d, static text) | %.1f µs |\n",
           b->box_w, b->box_h, m[1] / 1e3);
    printf("| the graph alone (buffer -> buffersink, no filter), taken off drawtext's figure | "
           "%.1f µs |\n",
           null_ns / 1e3);
    printf("| **shopcast / drawtext** (goal <= 0.1) | **%.3f** |\n", m[0] / dt);
    printf("| shopcast card per frame with an order every 10 frames (3/s: 90 more redraws) | "
           "%.1f µs |\n",
           m[2] / 1e3);
    printf("| ... / drawtext | %.3f |\n", m[2] / dt);
    printf("| blend alone per frame, %d frames rotated (goal <= 50 µs) | %.1f µs |\n", NFRAMES,
           m[3] / 1e3);
    printf("| blend alone per frame, the same frame (cache warm) | %.1f µs |\n", m[4] / 1e3);
    printf("| full redraw (a new product: every text, the cached thumbnail, the whole card "
           "converted; goal <= 5 ms) | %.0f µs |\n",
           m[5] / 1e3);
    printf("| full redraw with a new image (scaled 256x256 -> its slot, then as above) | %.0f µs "
           "|\n",
           m[8] / 1e3);
    printf("| redraw for an order (the sold row and the bar repainted and converted) | %.0f µs "
           "|\n",
           m[6] / 1e3);
    printf("| redraw for the countdown's second (its row) | %.0f µs |\n", m[7] / 1e3);
}

int main(void)
{
    bench_t b = { 0 };
    char text[512];
    int size;

    for (int i = 0; i <= FRAMES / 10; i++) {
        b.orders[i] = order_state(i);
        if (!i || i == FRAMES / 10) /* the last one is another product's image */
            add_thumb(b.orders[i]);
        else if (!(b.orders[i]->thumb = av_buffer_ref(b.orders[0]->thumb)))
            die("out of memory");
        b.orders[i]->thumb_w = b.orders[i]->thumb_h = 256;
    }
    make_frames(&b);
    printf("| what (720p yuv420p, card %s) | CPU time |\n|---|---|\n", "visible, at rest");
    report_first(&b);
    ov_card_update(b.card, b.orders[0], T0 + 10000); /* at rest: the slide-in is over */
    ov_card_rect(b.card, &b.cx, &b.cy, &b.cw, &b.ch);
    drawtext_like_card(&b, text, sizeof(text), &size);
    report(&b);
    printf("\ncard %dx%d at (%d, %d); drawtext box %dx%d, fontsize %d, WenQuanYi Micro Hei; "
           "frames libavfilter copied: %d\n",
           b.cw, b.ch, b.cx, b.cy, b.box_w, b.box_h, size, b.copies);
    avfilter_graph_free(&b.graph);
    for (int i = 0; i < NFRAMES; i++)
        av_frame_free(&b.frames[i]);
    for (int i = 0; i <= FRAMES / 10; i++)
        ov_state_unref(&b.orders[i]);
    ov_card_free(&b.card);
    return 0;
}
