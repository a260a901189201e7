/* Unit tests for relay/commerce/image.c: uploads made into SCI1 thumbnails, and uploads refused.
 *
 * The pictures are made here with libavcodec's own PNG and MJPEG encoders, in every pixel
 * format they write, except a CMYK JPEG (which FFmpeg cannot write), made by a tiny baseline
 * encoder below. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <stdlib.h>
#include <string.h>

#include "relay/commerce/image.h"

typedef struct thumb_s {
    int rc, w, h;
    uint8_t *px; /* RGBA */
    uint8_t *sci;
    size_t len;
    char err[160];
} thumb_t;

static thumb_t make_thumb(const uint8_t *b, size_t len, int side_max)
{
    thumb_t t = { 0 };

    t.rc =
        rl_image_thumbnail(b, len, side_max, 256, &t.sci, &t.len, &t.w, &t.h, t.err, sizeof(t.err));
    t.px = t.sci ? t.sci + RL_IMAGE_THUMB_HDR : NULL;
    return t;
}

static const uint8_t *px_at(const thumb_t *t, int x, int y)
{
    return t->px + ((size_t)y * t->w + x) * 4;
}

/* Every pixel of t is (r, g, b, a) within tol. */
static void assert_flat(const thumb_t *t, int r, int g, int b, int a, int tol)
{
    const int want[4] = { r, g, b, a };

    for (int y = 0; y < t->h; y++)
        for (int x = 0; x < t->w; x++)
            for (int c = 0; c < 4; c++)
                cr_assert(abs(px_at(t, x, y)[c] - want[c]) <= tol,
                          "pixel %d,%d channel %d is %d, want %d", x, y, c, px_at(t, x, y)[c],
                          want[c]);
}

static AVFrame *picture(enum AVPixelFormat fmt, int w, int h)
{
    AVFrame *f = av_frame_alloc();

    cr_assert(f);
    f->format = fmt;
    f->width = w;
    f->height = h;
    cr_assert_eq(av_frame_get_buffer(f, 0), 0);
    return f;
}

/* Encodes f (freed) with libavcodec's PNG or MJPEG encoder; *len bytes, malloc'ed. */
static uint8_t *encode(enum AVCodecID id, AVFrame *f, size_t *len)
{
    const AVCodec *c = avcodec_find_encoder(id);
    AVCodecContext *ctx = avcodec_alloc_context3(c);
    AVPacket *pkt = av_packet_alloc();
    uint8_t *out;

    cr_assert(c && ctx && pkt);
    ctx->width = f->width;
    ctx->height = f->height;
    ctx->pix_fmt = f->format;
    ctx->time_base = (AVRational){ 1, 25 };
    ctx->flags |= AV_CODEC_FLAG_QSCALE;
    ctx->global_quality = FF_QP2LAMBDA * 2; /* JPEG: close to lossless */
    cr_assert_eq(avcodec_open2(ctx, c, NULL), 0);
    cr_assert_eq(avcodec_send_frame(ctx, f), 0);
    cr_assert_eq(avcodec_receive_packet(ctx, pkt), 0);
    out = malloc(pkt->size);
    memcpy(out, pkt->data, pkt->size);
    *len = pkt->size;
    av_packet_free(&pkt);
    avcodec_free_context(&ctx);
    av_frame_free(&f);
    return out;
}

static void fill_plane(AVFrame *f, int plane, int bytes_per_px, const uint8_t *v, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(f->data[plane] + (size_t)y * f->linesize[plane] + x * bytes_per_px, v,
                   bytes_per_px);
}

/* A PNG of one colour in a packed format (bytes_per_px bytes of v per pixel). */
static uint8_t *flat_png(enum AVPixelFormat fmt, int w, int h, const uint8_t *v, int bpp,
                         size_t *len)
{
    AVFrame *f = picture(fmt, w, h);

    fill_plane(f, 0, bpp, v, w, h);
    return encode(AV_CODEC_ID_PNG, f, len);
}

/* A JPEG of one colour, given as full-range BT.601 Y, Cb, Cr. */
static uint8_t *flat_jpeg(enum AVPixelFormat fmt, int w, int h, int y, int cb, int cr, size_t *len)
{
    AVFrame *f = picture(fmt, w, h);
    const uint8_t v[3] = { (uint8_t)y, (uint8_t)cb, (uint8_t)cr };
    int cw = fmt == AV_PIX_FMT_YUVJ444P ? w : (w + 1) / 2;
    int ch = fmt == AV_PIX_FMT_YUVJ420P ? (h + 1) / 2 : h;

    fill_plane(f, 0, 1, &v[0], w, h);
    fill_plane(f, 1, 1, &v[1], cw, ch);
    fill_plane(f, 2, 1, &v[2], cw, ch);
    return encode(AV_CODEC_ID_MJPEG, f, len);
}

Test(image, a_png_becomes_an_sci1_thumbnail_of_its_own_size)
{
    const uint8_t red[3] = { 255, 0, 0 };
    size_t len;
    uint8_t *png = flat_png(AV_PIX_FMT_RGB24, 64, 48, red, 3, &len);
    thumb_t t = make_thumb(png, len, RL_IMAGE_SIDE_MAX);

    cr_assert_eq(t.rc, 0, "%s", t.err);
    cr_assert_eq(t.w, 64); /* small pictures are never enlarged */
    cr_assert_eq(t.h, 48);
    cr_assert_eq(t.len, RL_IMAGE_THUMB_HDR + 64 * 48 * 4);
    cr_assert_eq(memcmp(t.sci, "SCI1\x00\x40\x00\x30", 8), 0);
    assert_flat(&t, 255, 0, 0, 255, 0);
    free(t.sci);
    free(png);
}

Test(image, a_jpeg_is_decoded_in_full_range)
{
    /* RGB (200, 60, 40) in full-range BT.601 */
    const enum AVPixelFormat fmts[] = { AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P,
                                        AV_PIX_FMT_YUVJ444P };

    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        size_t len;
        uint8_t *jpg = flat_jpeg(fmts[i], 80, 60, 100, 94, 200, &len);
        thumb_t t = make_thumb(jpg, len, RL_IMAGE_SIDE_MAX);

        cr_assert_eq(t.rc, 0, "%s", t.err);
        cr_assert_eq(t.w, 80);
        cr_assert_eq(t.h, 60);
        assert_flat(&t, 200, 60, 40, 255, 4);
        free(t.sci);
        free(jpg);
    }
}

Test(image, a_large_picture_is_shrunk_to_fit_keeping_its_aspect)
{
    const uint8_t grey[3] = { 90, 90, 90 };
    const struct {
        int w, h, tw, th;
    } cases[] = {
        { 1000, 500, 256, 128 }, { 100, 1000, 26, 256 }, { 257, 257, 256, 256 }, { 4096, 1, 256, 1 }
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len;
        uint8_t *png = flat_png(AV_PIX_FMT_RGB24, cases[i].w, cases[i].h, grey, 3, &len);
        thumb_t t = make_thumb(png, len, RL_IMAGE_SIDE_MAX);

        cr_assert_eq(t.rc, 0, "%s", t.err);
        cr_assert_eq(t.w, cases[i].tw, "%dx%d → %dx%d", cases[i].w, cases[i].h, t.w, t.h);
        cr_assert_eq(t.h, cases[i].th, "%dx%d → %dx%d", cases[i].w, cases[i].h, t.w, t.h);
        assert_flat(&t, 90, 90, 90, 255, 1);
        free(t.sci);
        free(png);
    }
}

/* A flat w × h PNG of the packed pixel v (bpp bytes) comes out as RGBA want, within tol, at
 * size tw × th. */
static void png_comes_out_as(enum AVPixelFormat fmt, int w, int h, const uint8_t *v, int bpp,
                             const int want[4], int tol, int tw, int th)
{
    size_t len;
    uint8_t *png = flat_png(fmt, w, h, v, bpp, &len);
    thumb_t t = make_thumb(png, len, RL_IMAGE_SIDE_MAX);

    cr_assert_eq(t.rc, 0, "%s", t.err);
    cr_assert_eq(t.w, tw);
    cr_assert_eq(t.h, th);
    assert_flat(&t, want[0], want[1], want[2], want[3], tol);
    free(t.sci);
    free(png);
}

Test(image, grey_pngs_become_rgba)
{
    const uint8_t g8[1] = { 77 }, g16[2] = { 77, 0 }, ya8[2] = { 77, 200 };

    png_comes_out_as(AV_PIX_FMT_GRAY8, 33, 17, g8, 1, (int[]){ 77, 77, 77, 255 }, 0, 33, 17);
    png_comes_out_as(AV_PIX_FMT_GRAY16BE, 33, 17, g16, 2, (int[]){ 77, 77, 77, 255 }, 1, 33, 17);
    png_comes_out_as(AV_PIX_FMT_YA8, 33, 17, ya8, 2, (int[]){ 77, 77, 77, 200 }, 0, 33, 17);
}

Test(image, alpha_stays_straight)
{
    const uint8_t rgba[4] = { 0, 0, 255, 64 }, rgba64[8] = { 0, 0, 0, 0, 255, 255, 64, 64 };

    /* shrunk through premultiplied pixels, and back */
    png_comes_out_as(AV_PIX_FMT_RGBA, 300, 300, rgba, 4, (int[]){ 0, 0, 255, 64 }, 1, 256, 256);
    png_comes_out_as(AV_PIX_FMT_RGBA64BE, 40, 30, rgba64, 8, (int[]){ 0, 0, 255, 64 }, 1, 40, 30);
}

Test(image, a_palette_png_keeps_its_transparency)
{
    AVFrame *f = picture(AV_PIX_FMT_PAL8, 50, 20);
    uint32_t *pal = (uint32_t *)f->data[1];
    size_t len;
    uint8_t *png;
    thumb_t t;

    memset(pal, 0, AVPALETTE_SIZE);
    pal[3] = 0x80FF2000; /* AARRGGBB, native endian: half-transparent orange */
    for (int y = 0; y < 20; y++)
        memset(f->data[0] + y * f->linesize[0], 3, 50);
    png = encode(AV_CODEC_ID_PNG, f, &len);
    t = make_thumb(png, len, RL_IMAGE_SIDE_MAX);
    cr_assert_eq(t.rc, 0, "%s", t.err);
    assert_flat(&t, 255, 32, 0, 128, 0);
    free(t.sci);
    free(png);
}

/* Left half transparent black, right half opaque red: shrunk straight, the edge would come out
 * dark red (the transparent pixels' black mixed in); premultiplied, every visible pixel stays
 * red and only its coverage changes. */
Test(image, shrinking_never_bleeds_transparent_colour_into_edges)
{
    AVFrame *f = picture(AV_PIX_FMT_RGBA, 517, 300);
    const uint8_t clear[4] = { 0, 0, 0, 0 }, red[4] = { 255, 0, 0, 255 };
    size_t len;
    uint8_t *png;
    thumb_t t;
    int partial = 0;

    for (int y = 0; y < 300; y++)
        for (int x = 0; x < 517; x++)
            memcpy(f->data[0] + y * f->linesize[0] + x * 4, x < 259 ? clear : red, 4);
    png = encode(AV_CODEC_ID_PNG, f, &len);
    t = make_thumb(png, len, RL_IMAGE_SIDE_MAX);
    cr_assert_eq(t.rc, 0, "%s", t.err);
    for (int y = 0; y < t.h; y++)
        for (int x = 0; x < t.w; x++) {
            const uint8_t *p = px_at(&t, x, y);
            if (p[3] < 8) /* all but invisible: its colour carries too few bits to test */
                continue;
            partial += p[3] < 250;
            cr_assert(p[0] >= 245 && p[1] <= 8 && p[2] <= 8, "pixel %d,%d is %d,%d,%d,%d", x, y,
                      p[0], p[1], p[2], p[3]);
        }
    cr_assert_gt(partial, 0, "no pixel on the edge was partly covered: the test tests nothing");
    free(t.sci);
    free(png);
}

/* ---- a CMYK JPEG (Adobe APP14, transform 0, inverted values as Photoshop writes them): one
 * flat 8x8 block per component, quantiser 1, so the decoded values are exact ---- */

typedef struct bits_s {
    uint8_t *p;
    uint32_t acc;
    int n;
} bits_t;

static void put_bits(bits_t *b, uint32_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        b->acc = b->acc << 1 | ((v >> i) & 1);
        if (++b->n == 8) {
            *b->p++ = (uint8_t)b->acc;
            if ((uint8_t)b->acc == 0xFF)
                *b->p++ = 0; /* byte stuffing, ITU T.81 F.1.2.3 */
            b->acc = 0;
            b->n = 0;
        }
    }
}

static size_t cmyk_jpeg(uint8_t *out, const uint8_t v[4])
{
    /* ITU T.81 K.3 table K.3 (luminance DC); an AC table holding only EOB, as "0" */
    static const uint8_t dc_bits[16] = { 0, 1, 5, 1, 1, 1, 1, 1, 1 };
    static const uint16_t dc_code[12] = { 0x0, 0x2,  0x3,  0x4,  0x5,  0x6,
                                          0xE, 0x1E, 0x3E, 0x7E, 0xFE, 0x1FE };
    static const uint8_t dc_len[12] = { 2, 3, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9 };
    static const uint8_t
        head[] = {
            0xFF, 0xD8, 0xFF, 0xEE, 0, 14, 'A',  'd', 'o', 'b',  'e',
            0,    100,  0,    0,    0, 0,  0, /* APP14 */
            0xFF, 0xC0, 0,    20,   8, 0,  8,    0,   8,   4,    1,
            0x11, 0,    2,    0x11, 0, 3,  0x11, 0,   4,   0x11, 0,
        };
    uint8_t *p = out;
    bits_t b;

    memcpy(p, head, sizeof(head));
    p += sizeof(head);
    memcpy(p, "\xFF\xDB\x00\x43\x00", 5); /* DQT: table 0, all ones */
    memset(p + 5, 1, 64);
    p += 69;
    memcpy(p, "\xFF\xC4\x00\x1F\x00", 5); /* DHT: DC table 0 */
    memcpy(p + 5, dc_bits, 16);
    for (int i = 0; i < 12; i++)
        p[21 + i] = (uint8_t)i;
    p += 33;
    memcpy(p, "\xFF\xC4\x00\x14\x10\x01", 6); /* DHT: AC table 0, one code of length 1 */
    memset(p + 6, 0, 16); /* no codes of lengths 2 to 16; the one value: EOB (0x00) */
    p += 22;
    memcpy(p, "\xFF\xDA\x00\x0E\x04\x01\x00\x02\x00\x03\x00\x04\x00\x00\x3F\x00", 16);
    p += 16;
    b = (bits_t){ p, 0, 0 };
    for (int c = 0; c < 4; c++) {
        int dc = 8 * (v[c] - 128), mag = abs(dc), cat = 0;
        while (mag >> cat)
            cat++;
        put_bits(&b, dc_code[cat], dc_len[cat]);
        put_bits(&b, dc < 0 ? (uint32_t)(dc + (1 << cat) - 1) : (uint32_t)dc, cat);
        put_bits(&b, 0, 1); /* EOB */
    }
    while (b.n)
        put_bits(&b, 1, 1);
    p = b.p;
    memcpy(p, "\xFF\xD9", 2);
    return (size_t)(p + 2 - out);
}

Test(image, a_cmyk_jpeg_becomes_rgb)
{
    /* stored inverted: C' = 255 - C; R = C' K' / 255 */
    const uint8_t v[4] = { 200, 100, 50, 128 };
    uint8_t jpg[512];
    size_t len = cmyk_jpeg(jpg, v);
    thumb_t t = make_thumb(jpg, len, RL_IMAGE_SIDE_MAX);

    cr_assert_eq(t.rc, 0, "%s", t.err);
    cr_assert_eq(t.w, 8);
    cr_assert_eq(t.h, 8);
    assert_flat(&t, 200 * 128 / 255, 100 * 128 / 255, 50 * 128 / 255, 255, 2);
    free(t.sci);
}

/* ---- refusals ---- */

/* Refused with rc, saying so; before decoding (rl_image_check refuses it too) when early. */
static void refused_as(const uint8_t *b, size_t len, int side_max, int rc, const char *says,
                       int early)
{
    thumb_t t = make_thumb(b, len, side_max);
    char err[160];

    cr_assert_eq(t.rc, rc, "rc %d (%s), want %d", t.rc, t.err, rc);
    cr_assert_null(t.sci);
    cr_assert(strstr(t.err, says), "\"%s\" does not say \"%s\"", t.err, says);
    cr_assert_eq(rl_image_check(b, len, side_max, err, sizeof(err)), early ? rc : 0, "%s", err);
}

static void assert_refused(const uint8_t *b, size_t len, int side_max, int rc, const char *says)
{
    refused_as(b, len, side_max, rc, says, 1);
}

static void assert_undecodable(const uint8_t *b, size_t len, const char *says)
{
    refused_as(b, len, RL_IMAGE_SIDE_MAX, -EINVAL, says, 0);
}

Test(image, truncated_uploads_are_refused)
{
    const uint8_t c[3] = { 10, 200, 30 };
    size_t plen, jlen;
    uint8_t *png = flat_png(AV_PIX_FMT_RGB24, 120, 90, c, 3, &plen);
    uint8_t *jpg = flat_jpeg(AV_PIX_FMT_YUVJ420P, 120, 90, 100, 94, 200, &jlen);

    assert_undecodable(png, plen / 2, "corrupt or truncated");
    assert_undecodable(png, 40, "corrupt or truncated");
    assert_refused(png, 20, RL_IMAGE_SIDE_MAX, -EINVAL, "no valid PNG");
    assert_refused(jpg, jlen - 10, RL_IMAGE_SIDE_MAX, -EINVAL, "truncated JPEG");
    assert_refused(jpg, jlen - 2, RL_IMAGE_SIDE_MAX, -EINVAL, "truncated JPEG"); /* no EOI */
    assert_refused(jpg, 100, RL_IMAGE_SIDE_MAX, -EINVAL, "no valid JPEG");
    free(png);
    free(jpg);
}

Test(image, corrupt_bytes_are_refused)
{
    const uint8_t c[3] = { 10, 200, 30 };
    size_t plen;
    uint8_t *png = flat_png(AV_PIX_FMT_RGB24, 120, 90, c, 3, &plen);

    png[plen / 2] ^= 0x5A; /* in the image data: its CRC no longer matches */
    assert_undecodable(png, plen, "corrupt or truncated");
    free(png);
}

Test(image, pictures_over_the_pixel_limit_are_refused_from_their_header)
{
    const uint8_t c[3] = { 1, 2, 3 };
    size_t plen, jlen;
    uint8_t *png = flat_png(AV_PIX_FMT_RGB24, 101, 50, c, 3, &plen);
    uint8_t *jpg = flat_jpeg(AV_PIX_FMT_YUVJ444P, 40, 101, 100, 128, 128, &jlen);
    /* a header claiming 100000 x 100000 and nothing after it: never decoded */
    static const uint8_t huge[33] = { 0x89, 'P', 'N',  'G',  '\r', '\n', 0x1a, '\n', 0,    0,
                                      0,    13,  'I',  'H',  'D',  'R',  0,    1,    0x86, 0xA0,
                                      0,    1,   0x86, 0xA0, 8,    2,    0,    0,    0 };

    assert_refused(png, plen, 100, -EFBIG, "image is 101x50 pixels: at most 100x100");
    assert_refused(jpg, jlen, 100, -EFBIG, "image is 40x101 pixels");
    assert_refused(huge, sizeof(huge), RL_IMAGE_SIDE_MAX, -EFBIG,
                   "image is 100000x100000 pixels: at most 4096x4096");
    free(png);
    free(jpg);
}

Test(image, what_is_not_a_png_or_jpeg_is_refused)
{
    static const char *const not_images[] = { "GIF89a\x01\x00\x01\x00", "{\"name\":\"x\"}",
                                              "\x89PNX\r\n\x1a\n", "\xFF\xD8", "" };

    for (size_t i = 0; i < sizeof(not_images) / sizeof(not_images[0]); i++)
        assert_refused((const uint8_t *)not_images[i], strlen(not_images[i]), RL_IMAGE_SIDE_MAX,
                       -ENOTSUP, "not a PNG or JPEG");
    assert_refused(NULL, 0, RL_IMAGE_SIDE_MAX, -ENOTSUP, "not a PNG or JPEG");
}

Test(image, the_kind_comes_from_the_magic_bytes)
{
    cr_assert_eq(rl_image_sniff((const uint8_t *)"\x89PNG\r\n\x1a\n", 8), RL_IMAGE_PNG);
    cr_assert_eq(rl_image_sniff((const uint8_t *)"\xFF\xD8\xFF\xE0", 4), RL_IMAGE_JPEG);
    cr_assert_eq(rl_image_sniff((const uint8_t *)"\x89PNG\r\n\x1a", 7), RL_IMAGE_NONE);
    cr_assert_eq(rl_image_sniff((const uint8_t *)"BM", 2), RL_IMAGE_NONE);
}
