/* The "back soon" slate: a still picture shown while a stream's publisher is away.
 *
 * Drawn in ARGB with cairo/pango, then converted with libswscale; sizes scale with the picture
 * height so 360p and 1080p slates look alike. */
#include "slate.h"

#include <cairo.h>
#include <libswscale/swscale.h>
#include <pango/pangocairo.h>
#include <stdio.h>

static void draw_text(cairo_t *cr, const char *text, int px, int width, double y, double alpha)
{
    PangoLayout *layout = pango_cairo_create_layout(cr);
    PangoFontDescription *font = pango_font_description_new();
    int tw, th;

    pango_font_description_set_family(font, "Sans");
    pango_font_description_set_weight(font, PANGO_WEIGHT_BOLD);
    pango_font_description_set_absolute_size(font, px * PANGO_SCALE);
    pango_layout_set_font_description(layout, font);
    pango_layout_set_text(layout, text, -1);
    pango_layout_get_pixel_size(layout, &tw, &th);
    cairo_set_source_rgba(cr, 1, 1, 1, alpha);
    cairo_move_to(cr, (width - tw) / 2.0, y - th / 2.0);
    pango_cairo_show_layout(cr, layout);
    pango_font_description_free(font);
    g_object_unref(layout);
}

static void draw(cairo_surface_t *s, int w, int h, const char *title, const char *subtitle)
{
    cairo_t *cr = cairo_create(s);
    cairo_pattern_t *bg = cairo_pattern_create_linear(0, 0, 0, h);

    cairo_pattern_add_color_stop_rgb(bg, 0, 0.11, 0.13, 0.17);
    cairo_pattern_add_color_stop_rgb(bg, 1, 0.05, 0.06, 0.08);
    cairo_set_source(cr, bg);
    cairo_paint(cr);
    draw_text(cr, title, h / 9, w, h * 0.45, 1.0);
    if (subtitle && *subtitle)
        draw_text(cr, subtitle, h / 22, w, h * 0.58, 0.7);
    cairo_pattern_destroy(bg);
    cairo_destroy(cr);
}

/* cairo's ARGB32 is native-endian 32-bit: BGRA in memory on little-endian machines. */
static int to_yuv(cairo_surface_t *s, AVFrame *f)
{
    struct SwsContext *sws = sws_getContext(f->width, f->height, AV_PIX_FMT_BGRA, f->width,
                                            f->height, f->format, SWS_BILINEAR, NULL, NULL, NULL);
    const uint8_t *src[1] = { cairo_image_surface_get_data(s) };
    int stride[1] = { cairo_image_surface_get_stride(s) };

    if (!sws)
        return -1;
    sws_scale(sws, src, stride, 0, f->height, f->data, f->linesize);
    sws_freeContext(sws);
    return 0;
}

AVFrame *ov_slate_render(int width, int height, int pix_fmt, const char *title,
                         const char *subtitle)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
    AVFrame *f = av_frame_alloc();

    if (!f || cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        goto fail;
    f->format = pix_fmt;
    f->width = width;
    f->height = height;
    if (av_frame_get_buffer(f, 0) < 0)
        goto fail;
    draw(s, width, height, title, subtitle);
    cairo_surface_flush(s);
    if (to_yuv(s, f) < 0)
        goto fail;
    cairo_surface_destroy(s);
    return f;
fail:
    av_frame_free(&f);
    cairo_surface_destroy(s);
    return NULL;
}
