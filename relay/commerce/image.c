/* Product images: an upload (PNG or JPEG) decoded with libavcodec and made into the card's
 * thumbnail (SCI1, docs/COMMERCE.md) with libswscale.
 *
 * Invariants: nothing is decoded before the header's size passed the limit; a JPEG counts as
 * whole only if an EOI marker follows its first scan (libavcodec's MJPEG decoder would otherwise
 * make up the missing rows in grey and say so only in a warning); a picture with alpha is scaled
 * premultiplied, so the colour of transparent pixels never bleeds into the edges. */
#include "relay/commerce/image.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

rl_image_kind_t rl_image_sniff(const uint8_t *b, size_t len)
{
    if (len >= sizeof(png_magic) && !memcmp(b, png_magic, sizeof(png_magic)))
        return RL_IMAGE_PNG;
    if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        return RL_IMAGE_JPEG;
    return RL_IMAGE_NONE;
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* The IHDR chunk comes first (PNG spec 5.6): length 13, "IHDR", width, height. */
static int png_size(const uint8_t *b, size_t len, uint32_t *w, uint32_t *h)
{
    if (len < 8 + 8 + 13 + 4 || be32(b + 8) != 13 || memcmp(b + 12, "IHDR", 4))
        return -EINVAL;
    *w = be32(b + 16);
    *h = be32(b + 20);
    return 0;
}

static int is_sof(uint8_t m)
{
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/* Walks the marker segments up to the first scan (ITU T.81 B.1): the frame header (SOFn) gives
 * the size; *sos is where the first scan starts. */
static int jpeg_walk(const uint8_t *b, size_t len, uint32_t *w, uint32_t *h, size_t *sos)
{
    size_t i = 2, seg;
    int sof = 0;

    while (i + 4 <= len) {
        if (b[i] != 0xFF)
            return -EINVAL;
        if (b[i + 1] == 0xFF) { /* fill byte */
            i++;
            continue;
        }
        if (b[i + 1] == 0xDA) {
            *sos = i;
            return sof && *w && *h ? 0 : -EINVAL; /* height 0 (DNL) is not supported */
        }
        seg = (size_t)b[i + 2] << 8 | b[i + 3];
        if (seg < 2)
            return -EINVAL;
        if (is_sof(b[i + 1]) && !sof && seg >= 7 && i + 9 <= len) {
            *h = (uint32_t)b[i + 5] << 8 | b[i + 6];
            *w = (uint32_t)b[i + 7] << 8 | b[i + 8];
            sof = 1;
        }
        i += 2 + seg;
    }
    return -EINVAL;
}

int rl_image_probe(const uint8_t *b, size_t len, int side_max, rl_image_kind_t *kind, int *w,
                   int *h)
{
    uint32_t pw = 0, ph = 0;
    size_t sos;
    int rc;

    *kind = rl_image_sniff(b, len);
    if (*kind == RL_IMAGE_NONE)
        return -ENOTSUP;
    rc = *kind == RL_IMAGE_PNG ? png_size(b, len, &pw, &ph) : jpeg_walk(b, len, &pw, &ph, &sos);
    if (rc < 0 || !pw || !ph)
        return -EINVAL;
    *w = pw > INT32_MAX ? INT32_MAX : (int)pw; /* PNG's limit is 2^31 - 1 (spec 11.2.2) */
    *h = ph > INT32_MAX ? INT32_MAX : (int)ph;
    return pw > (uint32_t)side_max || ph > (uint32_t)side_max ? -EFBIG : 0;
}

/* A JPEG is whole when an EOI follows the first scan: entropy-coded data never holds FF D9
 * (a data FF is stuffed as FF 00, ITU T.81 F.1.2.3). */
static int jpeg_whole(const uint8_t *b, size_t len)
{
    uint32_t w = 0, h = 0;
    size_t sos;

    return jpeg_walk(b, len, &w, &h, &sos) == 0 && memmem(b + sos, len - sos, "\xFF\xD9", 2);
}

static int say(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int say(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

/* One packet in, one picture out. */
static int decode(const uint8_t *b, size_t len, rl_image_kind_t kind, int side_max, AVFrame *f)
{
    const AVCodec *codec =
        avcodec_find_decoder(kind == RL_IMAGE_PNG ? AV_CODEC_ID_PNG : AV_CODEC_ID_MJPEG);
    AVCodecContext *ctx = codec ? avcodec_alloc_context3(codec) : NULL;
    AVPacket *pkt = av_packet_alloc();
    int rc = codec ? AVERROR(ENOMEM) : AVERROR_DECODER_NOT_FOUND;

    if (!ctx || !pkt)
        goto fail;
    ctx->max_pixels = (int64_t)side_max * side_max;
    ctx->thread_count = 1;
    /* refuse what the decoders would otherwise conceal: bad CRCs, damaged data */
    ctx->err_recognition = AV_EF_CRCCHECK | AV_EF_BITSTREAM | AV_EF_BUFFER | AV_EF_EXPLODE;
    if ((rc = avcodec_open2(ctx, codec, NULL)) < 0 || (rc = av_new_packet(pkt, (int)len)) < 0)
        goto fail;
    memcpy(pkt->data, b, len); /* av_new_packet zeroed the padding the decoders read past */
    if ((rc = avcodec_send_packet(ctx, pkt)) >= 0 &&
        (rc = avcodec_receive_frame(ctx, f)) == AVERROR(EAGAIN) &&
        (rc = avcodec_send_packet(ctx, NULL)) >= 0)
        rc = avcodec_receive_frame(ctx, f);
    if (rc >= 0 && (f->flags & AV_FRAME_FLAG_CORRUPT || f->decode_error_flags))
        rc = AVERROR_INVALIDDATA;
fail:
    av_packet_free(&pkt);
    avcodec_free_context(&ctx);
    return rc;
}

/* The thumbnail's size: the picture's, or shrunk to fit max × max keeping the aspect. */
static void fit(int w, int h, int max, int *tw, int *th)
{
    *tw = w;
    *th = h;
    if (w <= max && h <= max)
        return;
    if (w >= h) {
        *tw = max;
        *th = (int)(((int64_t)h * max + w / 2) / w);
    } else {
        *th = max;
        *tw = (int)(((int64_t)w * max + h / 2) / h);
    }
    *tw = *tw < 1 ? 1 : *tw;
    *th = *th < 1 ? 1 : *th;
}

/* FFmpeg's deprecated full-range YUV formats, as their plain twins and a range. */
static enum AVPixelFormat plain_format(enum AVPixelFormat f, int *full)
{
    static const enum AVPixelFormat twins[][2] = {
        { AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUV420P }, { AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUV422P },
        { AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUV444P }, { AV_PIX_FMT_YUVJ440P, AV_PIX_FMT_YUV440P },
        { AV_PIX_FMT_YUVJ411P, AV_PIX_FMT_YUV411P },
    };

    for (size_t i = 0; i < sizeof(twins) / sizeof(twins[0]); i++)
        if (f == twins[i][0]) {
            *full = 1;
            return twins[i][1];
        }
    return f;
}

typedef struct pic_s {
    const uint8_t *const *data;
    const int *stride;
    int w, h;
    enum AVPixelFormat fmt;
    int full_range;
} pic_t;

/* src → RGBA of dw × dh at dst (rows of dw * 4 bytes). */
static int convert(const pic_t *src, uint8_t *dst, int dw, int dh)
{
    struct SwsContext *sws = sws_alloc_context();
    int full = src->full_range, stride = dw * 4, rc = AVERROR(ENOMEM);
    enum AVPixelFormat fmt = plain_format(src->fmt, &full);

    if (!sws)
        return rc;
    if ((rc = av_opt_set_int(sws, "srcw", src->w, 0)) < 0 ||
        (rc = av_opt_set_int(sws, "srch", src->h, 0)) < 0 ||
        (rc = av_opt_set_int(sws, "src_format", fmt, 0)) < 0 ||
        (rc = av_opt_set_int(sws, "src_range", full, 0)) < 0 ||
        (rc = av_opt_set_int(sws, "dstw", dw, 0)) < 0 ||
        (rc = av_opt_set_int(sws, "dsth", dh, 0)) < 0 ||
        (rc = av_opt_set_int(sws, "dst_format", AV_PIX_FMT_RGBA, 0)) < 0 ||
        (rc = av_opt_set_int(sws, "dst_range", 1, 0)) < 0 ||
        (rc = av_opt_set_int(
             sws, "sws_flags",
             SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP, 0)) < 0 ||
        (rc = sws_init_context(sws, NULL, NULL)) < 0)
        goto fail;
    rc = sws_scale(sws, src->data, src->stride, 0, src->h, &dst, &stride) == dh ? 0
                                                                                : AVERROR(EINVAL);
fail:
    sws_freeContext(sws);
    return rc;
}

static void premultiply(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++, p += 4)
        for (int c = 0; c < 3; c++)
            p[c] = (uint8_t)((p[c] * p[3] + 127) / 255);
}

static void unpremultiply(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++, p += 4)
        for (int c = 0; c < 3; c++) {
            unsigned v = p[3] ? (p[c] * 255u + p[3] / 2u) / p[3] : 0;
            p[c] = (uint8_t)(v > 255 ? 255 : v);
        }
}

static int has_alpha(enum AVPixelFormat fmt)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);

    return d && d->flags & (AV_PIX_FMT_FLAG_ALPHA | AV_PIX_FMT_FLAG_PAL);
}

/* A picture with alpha that must shrink goes through RGBA at its own size, premultiplied, so
 * that scaling weighs each colour by its coverage; the rest is converted and scaled at once. */
static int to_rgba(const AVFrame *f, uint8_t *dst, int dw, int dh)
{
    pic_t src = { (const uint8_t *const *)f->data,   f->linesize, f->width, f->height, f->format,
                  f->color_range == AVCOL_RANGE_JPEG };
    uint8_t *tmp;
    int rc, stride[4] = { f->width * 4 };

    if (!has_alpha(f->format) || (dw == f->width && dh == f->height))
        return convert(&src, dst, dw, dh);
    if (!(tmp = malloc((size_t)f->width * f->height * 4)))
        return AVERROR(ENOMEM);
    if ((rc = convert(&src, tmp, f->width, f->height)) == 0) {
        premultiply(tmp, (size_t)f->width * f->height);
        src = (pic_t){
            (const uint8_t *const *)&tmp, stride, f->width, f->height, AV_PIX_FMT_RGBA, 1
        };
        if ((rc = convert(&src, dst, dw, dh)) == 0)
            unpremultiply(dst, (size_t)dw * dh);
    }
    free(tmp);
    return rc;
}

static uint8_t *thumb_new(int w, int h, size_t *len)
{
    uint8_t *t;

    *len = RL_IMAGE_THUMB_HDR + (size_t)w * h * 4;
    if (!(t = malloc(*len)))
        return NULL;
    memcpy(t, "SCI1", 4);
    t[4] = (uint8_t)(w >> 8);
    t[5] = (uint8_t)w;
    t[6] = (uint8_t)(h >> 8);
    t[7] = (uint8_t)h;
    return t;
}

static int check(const uint8_t *b, size_t len, int side_max, rl_image_kind_t *kind, int *w, int *h,
                 char *err, size_t errlen)
{
    int rc = rl_image_probe(b, len, side_max, kind, w, h);

    if (rc == -ENOTSUP)
        return say(err, errlen, rc, "not a PNG or JPEG image");
    if (rc == -EFBIG)
        return say(err, errlen, rc, "image is %dx%d pixels: at most %dx%d", *w, *h, side_max,
                   side_max);
    if (rc < 0)
        return say(err, errlen, rc, "corrupt image: no valid %s header",
                   *kind == RL_IMAGE_PNG ? "PNG (IHDR)" : "JPEG (SOF)");
    if (*kind == RL_IMAGE_JPEG && !jpeg_whole(b, len))
        return say(err, errlen, -EINVAL, "truncated JPEG: no end of image (EOI) after the scan");
    return 0;
}

int rl_image_check(const uint8_t *b, size_t len, int side_max, char *err, size_t errlen)
{
    rl_image_kind_t kind;
    int w, h;

    return check(b, len, side_max, &kind, &w, &h, err, errlen);
}

int rl_image_thumbnail(const uint8_t *b, size_t len, int side_max, int thumb_max, uint8_t **out,
                       size_t *outlen, int *w, int *h, char *err, size_t errlen)
{
    AVFrame *f = NULL;
    rl_image_kind_t kind;
    int rc, hw = 0, hh = 0; /* set by check(); gcc -O3 cannot see it */
    char why[AV_ERROR_MAX_STRING_SIZE];

    *out = NULL;
    if ((rc = check(b, len, side_max, &kind, &hw, &hh, err, errlen)) < 0)
        return rc;
    if (!(f = av_frame_alloc()))
        return say(err, errlen, -ENOMEM, "out of memory");
    if ((rc = decode(b, len, kind, side_max, f)) < 0) {
        av_make_error_string(why, sizeof(why), rc);
        rc = say(err, errlen, rc == AVERROR(ENOMEM) ? -ENOMEM : -EINVAL,
                 "corrupt or truncated image (%s)", why);
        goto fail;
    }
    if (f->width != hw || f->height != hh) {
        rc = say(err, errlen, -EINVAL, "corrupt image: decoded %dx%d, header says %dx%d", f->width,
                 f->height, hw, hh);
        goto fail;
    }
    fit(f->width, f->height, thumb_max, w, h);
    if (!(*out = thumb_new(*w, *h, outlen))) {
        rc = say(err, errlen, -ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = to_rgba(f, *out + RL_IMAGE_THUMB_HDR, *w, *h)) < 0) {
        rc = say(err, errlen, rc == AVERROR(ENOMEM) ? -ENOMEM : -EINVAL,
                 "cannot convert the image's pixels (%s)", av_get_pix_fmt_name(f->format));
        free(*out);
        *out = NULL;
    }
fail:
    av_frame_free(&f);
    return rc;
}
