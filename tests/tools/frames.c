/* What the integration tests read out of shopcast's video, with libavformat and libavcodec: one
 * JSON line per decoded video frame (in presentation order: the ladder has no B-frames).
 *
 *   frames FILE [--colour RRGGBB] [--tolerance N] [--changes LEVELS]
 *
 * FILE is anything libavformat opens (an init segment and media segments concatenated). Each line:
 *   {"pts": ms, "key": 0|1, "sei": [{"seq": N, "v": V}...], "other_sei": n,
 *    "match": pixels within tolerance of the colour, "match_bbox": [x0, y0, x1, y1] or null,
 *    "changed": pixels whose luma moved more than LEVELS since the frame before,
 *    "changed_bbox": [x0, y0, x1, y1] or null}
 * "sei" lists shopcast's user-data-unregistered SEI (proto/sei.h) on that frame, "other_sei" counts
 * anyone else's. Colours are compared in RGB, converted with the frame's matrix (unspecified:
 * BT.709 from 720 lines up, BT.601 below, as the card converts them). */
#include <errno.h>
#include <inttypes.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sei.h"

typedef struct opts_s {
    const char *path;
    int rgb[3], has_colour, tolerance, levels;
} opts_t;

typedef struct reader_s {
    opts_t o;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    int stream;
    AVRational tb;
    struct SwsContext *sws;
    AVFrame *rgb;
    AVFrame *prev; /* the frame before, for what changed */
} reader_t;

static int parse_args(int argc, char **argv, opts_t *o)
{
    *o = (opts_t){ .tolerance = 40, .levels = 24 };
    for (int i = 1; i < argc; i++) {
        unsigned c;
        if (!strcmp(argv[i], "--colour") && i + 1 < argc && sscanf(argv[++i], "%6x", &c) == 1) {
            o->rgb[0] = (int)(c >> 16 & 255), o->rgb[1] = (int)(c >> 8 & 255);
            o->rgb[2] = (int)(c & 255), o->has_colour = 1;
        } else if (!strcmp(argv[i], "--tolerance") && i + 1 < argc) {
            o->tolerance = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--changes") && i + 1 < argc) {
            o->levels = atoi(argv[++i]);
        } else if (!o->path && argv[i][0] != '-') {
            o->path = argv[i];
        } else {
            return -EINVAL;
        }
    }
    return o->path ? 0 : -EINVAL;
}

static int open_input(reader_t *r)
{
    const AVCodec *codec;
    int rc;

    if ((rc = avformat_open_input(&r->fmt, r->o.path, NULL, NULL)) < 0 ||
        (rc = avformat_find_stream_info(r->fmt, NULL)) < 0)
        return rc;
    if ((rc = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0)) < 0)
        return rc;
    r->stream = rc;
    r->tb = r->fmt->streams[rc]->time_base;
    if (!(r->dec = avcodec_alloc_context3(codec)))
        return AVERROR(ENOMEM);
    if ((rc = avcodec_parameters_to_context(r->dec, r->fmt->streams[r->stream]->codecpar)) < 0)
        return rc;
    r->dec->pkt_timebase = r->tb;
    return avcodec_open2(r->dec, codec, NULL);
}

static int to_rgb(reader_t *r, const AVFrame *f)
{
    int cs = f->colorspace, full = f->color_range == AVCOL_RANGE_JPEG;
    const int *coef;

    if (!r->sws) {
        r->sws = sws_getContext(f->width, f->height, f->format, f->width, f->height,
                                AV_PIX_FMT_RGB24, SWS_POINT, NULL, NULL, NULL);
        if (!r->sws || !(r->rgb = av_frame_alloc()))
            return AVERROR(ENOMEM);
        r->rgb->format = AV_PIX_FMT_RGB24;
        r->rgb->width = f->width;
        r->rgb->height = f->height;
        if (av_frame_get_buffer(r->rgb, 0) < 0)
            return AVERROR(ENOMEM);
        if (cs == AVCOL_SPC_UNSPECIFIED)
            cs = f->height >= 720 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
        /* libswscale's table is indexed by AVColorSpace's values, up to BT.2020 */
        coef = sws_getCoefficients(cs <= AVCOL_SPC_BT2020_CL ? cs : SWS_CS_DEFAULT);
        sws_setColorspaceDetails(r->sws, coef, full, coef, 1, 0, 1 << 16, 1 << 16);
    }
    sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, r->rgb->data,
              r->rgb->linesize);
    return 0;
}

/* Pixels counted, and the box around them. */
typedef struct box_s {
    long n;
    int x0, y0, x1, y1;
} box_t;

static void box_add(box_t *b, int x, int y)
{
    if (!b->n++) {
        b->x0 = b->x1 = x, b->y0 = b->y1 = y;
        return;
    }
    b->x0 = x < b->x0 ? x : b->x0, b->y0 = y < b->y0 ? y : b->y0;
    b->x1 = x > b->x1 ? x : b->x1, b->y1 = y > b->y1 ? y : b->y1;
}

/* ", "<name>": n, "<name>_bbox": [...]" */
static void print_box(const char *name, const box_t *b)
{
    if (b->n)
        printf(", \"%s\": %ld, \"%s_bbox\": [%d, %d, %d, %d]", name, b->n, name, b->x0, b->y0,
               b->x1, b->y1);
    else
        printf(", \"%s\": 0, \"%s_bbox\": null", name, name);
}

static void print_colour(reader_t *r, const AVFrame *f)
{
    box_t b = { 0 };

    if (to_rgb(r, f) < 0)
        return;
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width; x++) {
            const uint8_t *p = r->rgb->data[0] + (size_t)y * r->rgb->linesize[0] + 3 * x;
            if (abs(p[0] - r->o.rgb[0]) <= r->o.tolerance &&
                abs(p[1] - r->o.rgb[1]) <= r->o.tolerance &&
                abs(p[2] - r->o.rgb[2]) <= r->o.tolerance)
                box_add(&b, x, y);
        }
    print_box("match", &b);
}

/* Luma that moved since the frame before (a still picture only changes where the card does). */
static void print_changes(reader_t *r, const AVFrame *f)
{
    box_t b = { 0 };

    if (r->prev && r->prev->width == f->width && r->prev->height == f->height)
        for (int y = 0; y < f->height; y++)
            for (int x = 0; x < f->width; x++)
                if (abs(f->data[0][(size_t)y * f->linesize[0] + x] -
                        r->prev->data[0][(size_t)y * r->prev->linesize[0] + x]) > r->o.levels)
                    box_add(&b, x, y);
    print_box("changed", &b);
    av_frame_unref(r->prev);
    av_frame_ref(r->prev, f);
}

static void print_sei(const AVFrame *f)
{
    int other = 0, n = 0;
    sei_stamp_t s;

    printf(", \"sei\": [");
    for (int i = 0; i < f->nb_side_data; i++) {
        const AVFrameSideData *sd = f->side_data[i];
        if (sd->type != AV_FRAME_DATA_SEI_UNREGISTERED)
            continue;
        if (sei_decode(sd->data, sd->size, &s) == 0)
            printf("%s{\"seq\": %" PRIu64 ", \"v\": %" PRIu64 "}", n++ ? ", " : "", s.seq,
                   s.version);
        else
            other++;
    }
    printf("], \"other_sei\": %d", other);
}

static void print_frame(reader_t *r, const AVFrame *f)
{
    int64_t pts = f->best_effort_timestamp;

    printf("{\"pts\": %" PRId64 ", \"key\": %d",
           pts == AV_NOPTS_VALUE ? -1 : av_rescale_q(pts, r->tb, (AVRational){ 1, 1000 }),
           f->key_frame);
    print_sei(f);
    if (r->o.has_colour)
        print_colour(r, f);
    print_changes(r, f);
    printf("}\n");
}

static int decode(reader_t *r, const AVPacket *pkt, AVFrame *f)
{
    int rc = avcodec_send_packet(r->dec, pkt);

    if (rc < 0 && rc != AVERROR_EOF)
        return rc;
    while ((rc = avcodec_receive_frame(r->dec, f)) >= 0) {
        print_frame(r, f);
        av_frame_unref(f);
    }
    return rc == AVERROR(EAGAIN) || rc == AVERROR_EOF ? 0 : rc;
}

static int run(reader_t *r)
{
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    int rc = pkt && f && (r->prev = av_frame_alloc()) ? open_input(r) : AVERROR(ENOMEM);

    while (rc >= 0 && (rc = av_read_frame(r->fmt, pkt)) >= 0) {
        if (pkt->stream_index == r->stream)
            rc = decode(r, pkt, f);
        av_packet_unref(pkt);
    }
    if (rc == AVERROR_EOF)
        rc = decode(r, NULL, f);
    av_packet_free(&pkt);
    av_frame_free(&f);
    return rc;
}

int main(int argc, char **argv)
{
    reader_t r = { 0 };
    int rc;

    if (parse_args(argc, argv, &r.o) < 0) {
        fprintf(stderr, "usage: frames FILE [--colour RRGGBB] [--tolerance N] [--changes N]\n");
        return 2;
    }
    rc = run(&r);
    sws_freeContext(r.sws);
    av_frame_free(&r.rgb);
    av_frame_free(&r.prev);
    avcodec_free_context(&r.dec);
    avformat_close_input(&r.fmt);
    if (rc < 0) {
        fprintf(stderr, "frames: %s: %s\n", r.o.path, av_err2str(rc));
        return 1;
    }
    return 0;
}
