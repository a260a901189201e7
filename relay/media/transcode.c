/* Video transcoding for one stream: decode, compose, scale to each rung, encode with libx264.
 *
 * Invariants: encoders exist only for a known source size (t->src_w/h); every rung's encoder sees
 * the same frames with the same pts, and a forced keyframe in one is forced in all; pts handed to
 * the encoders only increase. Time base everywhere: milliseconds.
 *
 * Threads: the first rung encodes on the caller's thread (the stream's worker); every other rung
 * has a thread of its own that scales and encodes the same frame meanwhile, one frame at a time,
 * and hands its packets back: on_packet is only ever called on the caller's thread, in rung
 * order, as if the rungs had been encoded one after the other. So a frame takes as long as its
 * slowest rung, and each encoder can run on one thread (x264's sliced threads cost a 720p stream
 * about a sixth more CPU for about 1 ms less per frame). */
#include "relay/media/transcode.h"

#include <errno.h>
#include <stddef.h>
#include <libavutil/avstring.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/core/clock.h"
#include "relay/core/log.h"

#define RUNG_OUT_MAX 8 /* packets a rung's thread hands back per frame (libx264 here makes 1) */

typedef struct rung_state_s {
    rl_rung_t rung;
    int width, height;
    AVCodecContext *enc;
    /* NULL when the rung takes the source's picture as it is, or halves it (halve()) */
    struct SwsContext *sws;
    AVFrame *frame; /* scaled picture, reused; NULL when the rung takes the source's */
    /* A rung after the first: its thread, and one job at a time. The worker posts a frame and
     * sets busy; the rung's thread encodes it, leaves the packets in out[] and clears busy. */
    int threaded;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    int busy, quit, rc;
    AVFrame *job; /* a reference to the frame to encode, while busy */
    AVPacket *out[RUNG_OUT_MAX];
    int nout;
    double seconds; /* wall time of the last job */
} rung_state_t;

struct rl_transcode_s {
    rl_transcode_opts_t o;
    rl_rung_t ladder[RL_MAX_RUNGS];
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    rung_state_t rungs[RL_MAX_RUNGS];
    int nrungs; /* opened rungs; 0 until the first frame */
    int src_w, src_h, src_fmt;
    int work_fmt;            /* what compose and the rungs take: src_fmt, or yuv420p */
    struct SwsContext *conv; /* src_fmt to yuv420p, when src_fmt is not 8-bit 4:2:0 */
    AVFrame *conv_frame;     /* the converted picture, reused */
    int need_key;
    int64_t next_key, last_pts;
    AVRational fps;
    rl_transcode_stats_t stats;
};

static const AVRational MS = { 1, 1000 };

static int parse_rate(const char *s, int *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || v <= 0)
        return -EINVAL;
    if (*end == 'k' || *end == 'K')
        v *= 1e3, end++;
    else if (*end == 'M' || *end == 'm')
        v *= 1e6, end++;
    if (*end || v > 1e9)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

/* One "720p:2500k" item. */
static int parse_rung(const char *item, rl_rung_t *r)
{
    char name[32], rate[32];
    const char *colon = strchr(item, ':');
    char *end;
    size_t n = colon ? (size_t)(colon - item) : 0;
    long h;

    if (!colon || !n || n >= sizeof(name) || strlen(colon + 1) >= sizeof(rate))
        return -EINVAL;
    memcpy(name, item, n);
    name[n] = '\0';
    strcpy(rate, colon + 1);
    h = strtol(name, &end, 10);
    if ((*end != 'p' && *end != 'P') || end[1] || h < 72 || h > 4320 || h % 2)
        return -EINVAL;
    snprintf(r->name, sizeof(r->name), "%ldp", h);
    r->height = (int)h;
    return parse_rate(rate, &r->bitrate);
}

static int taller_first(const void *a, const void *b)
{
    return ((const rl_rung_t *)b)->height - ((const rl_rung_t *)a)->height;
}

int rl_ladder_parse(const char *s, rl_rung_t *out, int max, char *err, size_t errlen)
{
    char buf[512], *save = NULL, *item;
    int n = 0;

    if (!strcmp(s, "off"))
        return 0; /* ingest (and recording) only: no transcoding, no HLS */
    if (strlen(s) >= sizeof(buf))
        return snprintf(err, errlen, "ladder: too long"), -EINVAL;
    strcpy(buf, s);
    for (item = strtok_r(buf, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
        if (n == max)
            return snprintf(err, errlen, "ladder: at most %d rungs", max), -EINVAL;
        if (parse_rung(item, &out[n]) < 0)
            return snprintf(err, errlen, "ladder: '%s' is not HEIGHTp:BITRATE (e.g. 720p:2500k)",
                            item),
                   -EINVAL;
        for (int i = 0; i < n; i++)
            if (out[i].height == out[n].height)
                return snprintf(err, errlen, "ladder: %s given twice", out[n].name), -EINVAL;
        n++;
    }
    if (!n)
        return snprintf(err, errlen, "ladder: no rungs"), -EINVAL;
    qsort(out, (size_t)n, sizeof(*out), taller_first);
    return n;
}

rl_transcode_t *rl_transcode_open(const rl_transcode_opts_t *o, char *err, size_t errlen)
{
    rl_transcode_t *t = calloc(1, sizeof(*t));
    const AVCodec *codec = avcodec_find_decoder(o->src->codec_id);
    int rc;

    if (!t)
        return snprintf(err, errlen, "out of memory"), NULL;
    t->o = *o;
    memcpy(t->ladder, o->rungs, (size_t)o->nrungs * sizeof(*o->rungs));
    t->o.rungs = t->ladder;
    t->last_pts = INT64_MIN;
    t->need_key = 1;
    if (!codec) {
        snprintf(err, errlen, "no decoder for %s", avcodec_get_name(o->src->codec_id));
        goto fail;
    }
    if (!(t->dec = avcodec_alloc_context3(codec)) || !(t->pkt = av_packet_alloc()) ||
        !(t->frame = av_frame_alloc()) ||
        (rc = avcodec_parameters_to_context(t->dec, o->src)) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    t->dec->pkt_timebase = MS;
    /* Slice threads only: frame threads would hold frames back, adding latency. */
    t->dec->thread_type = FF_THREAD_SLICE;
    if ((rc = avcodec_open2(t->dec, codec, NULL)) < 0) {
        snprintf(err, errlen, "cannot open %s decoder: %s", codec->name, av_err2str(rc));
        goto fail;
    }
    return t;
fail:
    rl_transcode_free(&t);
    return NULL;
}

/* Fits a rung to the source's aspect ratio: even dimensions, never above the source. */
static void rung_size(const rl_transcode_t *t, const rl_rung_t *r, int *w, int *h)
{
    *h = r->height < t->src_h ? r->height : t->src_h & ~1;
    *w = (int)((int64_t)t->src_w * *h / t->src_h) & ~1;
}

static int open_encoder(rl_transcode_t *t, rung_state_t *rs)
{
    const AVCodec *x264 = avcodec_find_encoder_by_name("libx264");
    AVCodecContext *c;
    AVDictionary *opts = NULL;
    char params[128];
    int rc;

    if (!x264 || !(rs->enc = c = avcodec_alloc_context3(x264)))
        return AVERROR_ENCODER_NOT_FOUND;
    c->width = rs->width;
    c->height = rs->height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = MS;
    c->framerate = t->fps;
    c->sample_aspect_ratio = (AVRational){ 1, 1 };
    c->bit_rate = rs->rung.bitrate;
    c->rc_max_rate = rs->rung.bitrate; /* HLS BANDWIDTH is a peak: keep the encoder under it */
    c->rc_buffer_size = rs->rung.bitrate;
    c->max_b_frames = 0;
    c->gop_size = (int)(av_q2d(t->fps) * t->o.segment_ms / 1000 * 10); /* forced keys rule */
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    /* One thread per encoder up to 720p: each rung has a thread of its own already. Above, one
     * core may not keep a 1080p encode in real time: libx264 chooses (sliced threads). */
    c->thread_count = t->o.threads ? t->o.threads : rs->height <= 720 ? 1 : 0;
    av_dict_set(&opts, "preset", t->o.preset, 0);
    av_dict_set(&opts, "tune", "zerolatency", 0);
    av_dict_set(&opts, "forced-idr", "1", 0);
    av_dict_set(&opts, "udu_sei", "1", 0); /* the card's stamps: compose's SEI side data */
    snprintf(params, sizeof(params), "scenecut=0:open-gop=0:rc-lookahead=0");
    av_dict_set(&opts, "x264-params", params, 0);
    rc = avcodec_open2(c, x264, &opts);
    av_dict_free(&opts);
    return rc;
}

/* A yuv420p picture of w x h with its own buffers, in *out. */
static int new_picture(AVFrame **out, int w, int h)
{
    AVFrame *f = *out = av_frame_alloc();

    if (!f)
        return AVERROR(ENOMEM);
    f->format = AV_PIX_FMT_YUV420P;
    f->width = w;
    f->height = h;
    return av_frame_get_buffer(f, 0);
}

static void *rung_main(void *arg);

/* A rung after the first gets its thread, its job frame and its packets. */
static int start_rung_thread(rung_state_t *rs)
{
    char name[16];

    if (!(rs->job = av_frame_alloc()))
        return AVERROR(ENOMEM);
    for (int k = 0; k < RUNG_OUT_MAX; k++)
        if (!(rs->out[k] = av_packet_alloc()))
            return AVERROR(ENOMEM);
    pthread_mutex_init(&rs->mu, NULL);
    pthread_cond_init(&rs->go, NULL);
    pthread_cond_init(&rs->done, NULL);
    if (pthread_create(&rs->thread, NULL, rung_main, rs)) {
        pthread_cond_destroy(&rs->done);
        pthread_cond_destroy(&rs->go);
        pthread_mutex_destroy(&rs->mu);
        return AVERROR(EAGAIN);
    }
    rs->threaded = 1;
    snprintf(name, sizeof(name), "enc %s", rs->rung.name);
    pthread_setname_np(rs->thread, name);
    return 0;
}

static void stop_rung_thread(rung_state_t *rs)
{
    if (rs->threaded) {
        pthread_mutex_lock(&rs->mu);
        rs->quit = 1;
        pthread_cond_signal(&rs->go);
        pthread_mutex_unlock(&rs->mu);
        pthread_join(rs->thread, NULL);
        pthread_cond_destroy(&rs->done);
        pthread_cond_destroy(&rs->go);
        pthread_mutex_destroy(&rs->mu);
        rs->threaded = 0;
    }
    av_frame_free(&rs->job);
    for (int k = 0; k < RUNG_OUT_MAX; k++)
        av_packet_free(&rs->out[k]);
}

static int open_rung(rl_transcode_t *t, rung_state_t *rs, const rl_rung_t *r, int threaded)
{
    int rc, half;

    rs->rung = *r;
    rung_size(t, r, &rs->width, &rs->height);
    if ((rc = open_encoder(t, rs)) < 0)
        return rc;
    /* yuvj420p's full range must become limited: libswscale does that, halve() does not */
    half = t->work_fmt == AV_PIX_FMT_YUV420P && rs->width * 2 == t->src_w &&
           rs->height * 2 == t->src_h;
    if (rs->width != t->src_w || rs->height != t->src_h || t->work_fmt != AV_PIX_FMT_YUV420P) {
        if (!half &&
            !(rs->sws = sws_getContext(t->src_w, t->src_h, t->work_fmt, rs->width, rs->height,
                                       AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL)))
            return AVERROR(ENOMEM);
        if ((rc = new_picture(&rs->frame, rs->width, rs->height)) < 0)
            return rc;
    }
    return threaded ? start_rung_thread(rs) : 0;
}

static void close_rungs(rl_transcode_t *t)
{
    for (int i = 0; i < t->nrungs; i++) {
        stop_rung_thread(&t->rungs[i]);
        avcodec_free_context(&t->rungs[i].enc);
        sws_freeContext(t->rungs[i].sws);
        av_frame_free(&t->rungs[i].frame);
    }
    memset(t->rungs, 0, sizeof(t->rungs));
    t->nrungs = 0;
    sws_freeContext(t->conv);
    t->conv = NULL;
    av_frame_free(&t->conv_frame);
}

/* The card is drawn on 8-bit 4:2:0 only. */
static int is_420(int fmt)
{
    return fmt == AV_PIX_FMT_YUV420P || fmt == AV_PIX_FMT_YUVJ420P;
}

/* Any other source (4:2:2, 4:4:4, 10-bit, NV12...) is converted once, at its own size, before
 * compose, so every source gets the card; the rungs then scale from the converted picture. */
static int open_conversion(rl_transcode_t *t)
{
    t->work_fmt = is_420(t->src_fmt) ? t->src_fmt : AV_PIX_FMT_YUV420P;
    if (t->work_fmt == t->src_fmt)
        return 0;
    t->conv = sws_getContext(t->src_w, t->src_h, t->src_fmt, t->src_w, t->src_h, AV_PIX_FMT_YUV420P,
                             SWS_BILINEAR, NULL, NULL, NULL);
    return t->conv ? new_picture(&t->conv_frame, t->src_w, t->src_h) : AVERROR(ENOMEM);
}

/* The ladder for this source: configured rungs at or below its height, and at least one. */
static int open_rungs(rl_transcode_t *t, const AVFrame *f)
{
    int rc, n = 0;

    t->src_w = f->width;
    t->src_h = f->height;
    t->src_fmt = f->format;
    t->fps = t->dec->framerate.num ? t->dec->framerate : (AVRational){ 30, 1 };
    if ((rc = open_conversion(t)) < 0)
        return rc;
    for (int i = 0; i < t->o.nrungs; i++) {
        if (t->ladder[i].height > f->height && !(i == t->o.nrungs - 1 && !n))
            continue; /* never scaled above the source; the smallest rung always stays */
        if ((rc = open_rung(t, &t->rungs[n], &t->ladder[i], n > 0)) < 0) {
            t->nrungs = n + 1;
            return rc;
        }
        n++;
    }
    t->nrungs = n;
    t->stats.generation++;
    rl_info("transcode_open", "source=%dx%d rungs=%d fps=%.2f", f->width, f->height, n,
            av_q2d(t->fps));
    return 0;
}

static int drain(rl_transcode_t *t, int i)
{
    AVCodecContext *c = t->rungs[i].enc;
    int rc;

    while ((rc = avcodec_receive_packet(c, t->pkt)) >= 0) {
        t->stats.frames_out++;
        t->o.on_packet(t->o.opaque, i, t->pkt);
        av_packet_unref(t->pkt);
    }
    return rc == AVERROR(EAGAIN) || rc == AVERROR_EOF ? 0 : rc;
}

/* The stamps in compose's SEI side data go to every rung (the same buffer, referenced). */
static int copy_sei(AVFrame *dst, const AVFrame *src)
{
    av_frame_remove_side_data(dst, AV_FRAME_DATA_SEI_UNREGISTERED);
    for (int k = 0; k < src->nb_side_data; k++) {
        const AVFrameSideData *sd = src->side_data[k];
        AVBufferRef *ref;
        if (sd->type != AV_FRAME_DATA_SEI_UNREGISTERED)
            continue;
        if (!(ref = av_buffer_ref(sd->buf)))
            return AVERROR(ENOMEM);
        if (!av_frame_new_side_data_from_buf(dst, sd->type, ref)) {
            av_buffer_unref(&ref);
            return AVERROR(ENOMEM);
        }
    }
    return 0;
}

/* One plane at exactly half the size: each pixel the rounded mean of its 2 x 2 (an area filter,
 * which is what a 2:1 reduction should be). Written so that the compiler vectorizes it (-O3):
 * a fifth of libswscale's bilinear time at 720p to 360p, the default ladder's second rung. */
static void halve_plane(const uint8_t *restrict s, int ss, uint8_t *restrict d, int ds, int w,
                        int h)
{
    for (int y = 0; y < h; y++) {
        const uint8_t *a = s + (ptrdiff_t)2 * y * ss, *b = a + ss;
        uint8_t *o = d + (ptrdiff_t)y * ds;
        for (int x = 0; x < w; x++)
            o[x] = (uint8_t)((a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1] + 2) >> 2);
    }
}

/* yuv420p to yuv420p at half the width and height (both even, so every plane halves exactly). */
static void halve(AVFrame *dst, const AVFrame *src)
{
    for (int p = 0; p < 3; p++)
        halve_plane(src->data[p], src->linesize[p], dst->data[p], dst->linesize[p],
                    p ? dst->width / 2 : dst->width, p ? dst->height / 2 : dst->height);
}

/* A picture made here from src (scaled, halved when sws is NULL, or converted) goes on in its
 * place, with its timing. */
static int scale_into(struct SwsContext *sws, AVFrame *dst, const AVFrame *src)
{
    int rc;

    if ((rc = av_frame_make_writable(dst)) < 0)
        return rc;
    if (sws)
        sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst->data,
                  dst->linesize);
    else
        halve(dst, src);
    dst->pts = src->pts;
    dst->pict_type = src->pict_type;
    dst->key_frame = src->key_frame;
    return 0;
}

/* Scales src for the rung, when it needs that, and gives it to the rung's encoder. Reads src
 * only: the rungs do this at the same time. */
static int send_rung(rung_state_t *rs, AVFrame *src)
{
    AVFrame *f = src;
    int rc;

    if (rs->frame) {
        if ((rc = scale_into(rs->sws, rs->frame, src)) < 0 || (rc = copy_sei(rs->frame, src)) < 0)
            return rc;
        f = rs->frame;
    }
    return avcodec_send_frame(rs->enc, f);
}

/* A rung's thread: each job is one frame, scaled and encoded; its packets wait in out[] for the
 * worker (what does not fit stays in the encoder until the next job). */
static void *rung_main(void *arg)
{
    rung_state_t *rs = arg;
    double t0;
    int rc;

    pthread_mutex_lock(&rs->mu);
    for (;;) {
        while (!rs->busy && !rs->quit)
            pthread_cond_wait(&rs->go, &rs->mu);
        if (rs->quit)
            break;
        pthread_mutex_unlock(&rs->mu);
        t0 = rl_now();
        rc = send_rung(rs, rs->job);
        av_frame_unref(rs->job);
        while (rc >= 0 && rs->nout < RUNG_OUT_MAX)
            if ((rc = avcodec_receive_packet(rs->enc, rs->out[rs->nout])) >= 0)
                rs->nout++;
        rs->seconds = rl_now() - t0;
        pthread_mutex_lock(&rs->mu);
        rs->rc = rc >= 0 || rc == AVERROR(EAGAIN) || rc == AVERROR_EOF ? 0 : rc;
        rs->busy = 0;
        pthread_cond_signal(&rs->done);
    }
    pthread_mutex_unlock(&rs->mu);
    return NULL;
}

static void post_rung(rung_state_t *rs, AVFrame *f)
{
    pthread_mutex_lock(&rs->mu);
    if ((rs->rc = av_frame_ref(rs->job, f)) >= 0) {
        rs->busy = 1;
        pthread_cond_signal(&rs->go);
    }
    pthread_mutex_unlock(&rs->mu);
}

/* Waits for rung i's job and hands its packets on, on the caller's thread. */
static int collect_rung(rl_transcode_t *t, int i)
{
    rung_state_t *rs = &t->rungs[i];

    pthread_mutex_lock(&rs->mu);
    while (rs->busy)
        pthread_cond_wait(&rs->done, &rs->mu);
    pthread_mutex_unlock(&rs->mu);
    for (int k = 0; k < rs->nout; k++) {
        t->stats.frames_out++;
        t->o.on_packet(t->o.opaque, i, rs->out[k]);
        av_packet_unref(rs->out[k]);
    }
    rs->nout = 0;
    t->stats.rung_seconds[i] += rs->seconds;
    t->stats.rung_frames[i]++;
    return rs->rc;
}

/* Every rung encodes f: the first here, the others on their threads meanwhile. */
static int encode_rungs(rl_transcode_t *t, AVFrame *f)
{
    double t0 = rl_now();
    int rc, rc2;

    for (int i = 1; i < t->nrungs; i++)
        post_rung(&t->rungs[i], f);
    if ((rc = send_rung(&t->rungs[0], f)) >= 0)
        rc = drain(t, 0);
    t->stats.rung_seconds[0] += rl_now() - t0;
    t->stats.rung_frames[0]++;
    for (int i = 1; i < t->nrungs; i++)
        if ((rc2 = collect_rung(t, i)) < 0 && rc >= 0)
            rc = rc2;
    t->stats.encode_seconds += rl_now() - t0;
    return rc;
}

/* Forces the keyframe that opens a segment, on the same frame in every rung. */
static void mark_keyframe(rl_transcode_t *t, AVFrame *f)
{
    f->pict_type = AV_PICTURE_TYPE_NONE;
    f->key_frame = 0;
    if (f->pts < t->next_key && t->next_key - f->pts <= 10 * t->o.segment_ms)
        return;
    f->pict_type = AV_PICTURE_TYPE_I;
    t->next_key = f->pts + t->o.segment_ms;
}

/* libswscale takes the yuvj formats as full range and writes yuv420p as limited. */
static int is_yuvj(int fmt)
{
    return fmt == AV_PIX_FMT_YUVJ420P || fmt == AV_PIX_FMT_YUVJ422P || fmt == AV_PIX_FMT_YUVJ444P ||
           fmt == AV_PIX_FMT_YUVJ440P || fmt == AV_PIX_FMT_YUVJ411P;
}

/* The converted picture takes the source's place, with its colours (a yuvj format's full range
 * becomes limited in the conversion). The source's side data stays behind. */
static int convert(rl_transcode_t *t, AVFrame **f)
{
    AVFrame *src = *f, *dst = t->conv_frame;
    int rc;

    if ((rc = scale_into(t->conv, dst, src)) < 0)
        return rc;
    dst->colorspace = src->colorspace;
    dst->color_range = is_yuvj(src->format) ? AVCOL_RANGE_MPEG : src->color_range;
    *f = dst;
    return 0;
}

int rl_transcode_frame(rl_transcode_t *t, AVFrame *f)
{
    double t0;
    int rc = 0;

    if (f->width != t->src_w || f->height != t->src_h || f->format != t->src_fmt || !t->nrungs) {
        if (t->nrungs && (rc = rl_transcode_flush(t)) < 0)
            return rc;
        close_rungs(t);
        memset(t->stats.rung_seconds, 0, sizeof(t->stats.rung_seconds));
        memset(t->stats.rung_frames, 0, sizeof(t->stats.rung_frames));
        if ((rc = open_rungs(t, f)) < 0)
            return rc;
        t->next_key = INT64_MIN;
    }
    if (f->pts <= t->last_pts) /* a publisher's clock went back: keep output increasing */
        f->pts = t->last_pts + 1;
    t->last_pts = f->pts;
    mark_keyframe(t, f);
    if (t->conv) {
        t0 = rl_now();
        if ((rc = convert(t, &f)) < 0)
            return rc;
        t->stats.convert_seconds += rl_now() - t0;
    }
    if (t->o.compose) {
        t0 = rl_now();
        t->o.compose(t->o.opaque, f);
        t->stats.compose_seconds += rl_now() - t0;
    }
    t->stats.frames++;
    return encode_rungs(t, f);
}

/* One call into the decoder, timed (decode_seconds). */
static int timed_receive(rl_transcode_t *t)
{
    double t0 = rl_now();
    int rc = avcodec_receive_frame(t->dec, t->frame);

    t->stats.decode_seconds += rl_now() - t0;
    t->stats.frames_decoded += rc >= 0;
    return rc;
}

static int decode_frames(rl_transcode_t *t)
{
    int rc;

    while ((rc = timed_receive(t)) >= 0) {
        t->frame->pts = t->frame->best_effort_timestamp;
        rc = rl_transcode_frame(t, t->frame);
        av_frame_unref(t->frame);
        if (rc < 0)
            return rc;
    }
    if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
        t->stats.decode_errors++;
        t->need_key = 1;
    }
    return 0;
}

int rl_transcode_packet(rl_transcode_t *t, const AVPacket *pkt)
{
    double t0;
    int rc;

    t->stats.frames_in++;
    if (t->need_key && !(pkt->flags & AV_PKT_FLAG_KEY)) {
        t->stats.dropped_no_key++;
        return 0;
    }
    t->need_key = 0;
    t0 = rl_now();
    rc = avcodec_send_packet(t->dec, pkt);
    t->stats.decode_seconds += rl_now() - t0;
    if (rc < 0 && rc != AVERROR(EAGAIN)) {
        /* Corrupt or unusable input: wait for the next keyframe rather than feed the decoder
         * frames whose references are gone. */
        t->stats.decode_errors++;
        t->need_key = 1;
        return 0;
    }
    return decode_frames(t);
}

int rl_transcode_end_input(rl_transcode_t *t)
{
    int rc;

    if (avcodec_send_packet(t->dec, NULL) < 0)
        return 0;
    rc = decode_frames(t);
    avcodec_flush_buffers(t->dec); /* ready for more input, should any come */
    t->need_key = 1;
    return rc;
}

void rl_transcode_force_key(rl_transcode_t *t)
{
    t->next_key = INT64_MIN;
}

int rl_transcode_flush(rl_transcode_t *t)
{
    int rc = 0;

    for (int i = 0; i < t->nrungs; i++) {
        avcodec_send_frame(t->rungs[i].enc, NULL);
        if ((rc = drain(t, i)) < 0)
            break;
    }
    return rc;
}

int rl_transcode_rungs(const rl_transcode_t *t, rl_rung_out_t *out, int max)
{
    int n = t->nrungs < max ? t->nrungs : max;

    for (int i = 0; i < n; i++)
        out[i] = (rl_rung_out_t){ &t->rungs[i].rung, t->rungs[i].width, t->rungs[i].height,
                                  t->rungs[i].enc };
    return n;
}

int rl_transcode_source(const rl_transcode_t *t, int *width, int *height, int *pix_fmt,
                        AVRational *fps)
{
    if (!t->nrungs)
        return -ENOENT;
    *width = t->src_w;
    *height = t->src_h;
    *pix_fmt = t->src_fmt;
    *fps = t->fps;
    return 0;
}

const rl_transcode_stats_t *rl_transcode_stats(const rl_transcode_t *t)
{
    return &t->stats;
}

void rl_transcode_free(rl_transcode_t **pt)
{
    rl_transcode_t *t = *pt;

    if (!t)
        return;
    close_rungs(t);
    avcodec_free_context(&t->dec);
    av_packet_free(&t->pkt);
    av_frame_free(&t->frame);
    free(t);
    *pt = NULL;
}
