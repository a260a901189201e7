/* The "back soon" slate: a still picture shown while a stream's publisher is away.
 *
 * Rendered once per picture size with cairo and pango (so any script, Chinese included, comes out
 * right), then converted to the encoders' YUV 4:2:0. No network, no globals. */
#ifndef OVERLAY_SLATE_H
#define OVERLAY_SLATE_H

#include <libavutil/frame.h>

/* Returns a new frame of width x height in pix_fmt (a YUV format) showing title and subtitle, or
 * NULL when out of memory. The caller owns it (av_frame_free). */
AVFrame *ov_slate_render(int width, int height, int pix_fmt, const char *title,
                         const char *subtitle);

#endif
