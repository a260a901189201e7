/* Media worker: one thread per stream on air, fed through a bounded queue from the network thread.
 *
 * Invariants: the queue never holds more than capacity packets, plus control items that are never
 * dropped (bounded by ring_cap); only the worker touches the recorder, transcoder and packager;
 * only the network thread pushes. Timestamps arrive in milliseconds; on the HLS path they are
 * shifted per session so that the output timeline only moves forward across reconnects. */
#include "relay/media/media.h"

#include <errno.h>
#include <libavutil/avstring.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay/media/audio.h"
#include "relay/media/compose.h"
#include "relay/media/filler.h"
#include "relay/media/hls_live.h"
#include "relay/core/clock.h"
#include "relay/core/log.h"
#include "relay/media/packager.h"
#include "relay/media/recorder.h"
#include "relay/media/transcode.h"
#include "relay/media/vod.h"

#define CONTROL_SLOTS 64 /* control items that may wait in the queue besides packets */

typedef enum { ITEM_PACKET, ITEM_PARAMS, ITEM_SESSION, ITEM_SESSION_END, ITEM_END } item_type_t;

typedef struct item_s {
    item_type_t type;
    int kind;
    AVPacket *pkt;
    AVCodecParameters *par;
    char *path; /* ITEM_SESSION: where to record, or NULL */
} item_t;

#define ARRIVALS 64

typedef struct arrival_s {
    int64_t pts, us, dequeued_us; /* the source packet's arrival, and the worker's taking it */
} arrival_t;

typedef struct session_s {
    int active, first_seen;
    int64_t ts_offset; /* added to this session's timestamps on the HLS path */
} session_t;

struct rl_media_s {
    rl_media_opts_t o;
    /* At debug level, the frame of the latest stamp, until the last rung has encoded it
     * (bench/order_to_frame.sh times an order to it): its pts, Redis's seq; pts -1: none. */
    int64_t timed_pts, timed_us; /* timed_us: when it was composed */
    uint64_t timed_seq;
    char stream_id[64];
    rl_rung_t rungs[RL_MAX_RUNGS];
    char preset[32];
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    item_t *ring;
    int ring_cap, head, count, packets;
    int need_key; /* network thread only: video is dropped until the next keyframe */
    atomic_int exited;
    rl_media_stats_t stats;
    rl_compose_t *compose; /* its state slot is shared; the rest is the worker's */
    /* worker thread only below */
    AVCodecParameters *par[RL_MEDIA_NB];
    rl_recorder_t *rec;
    rl_transcode_t *tc;
    rl_packager_t *pk;
    rl_filler_t *filler; /* while the publisher is away */
    rl_audio_t *audio;   /* non-AAC audio transcoded to AAC */
    rl_vod_t *vod;       /* the recorded session as VOD HLS */
    rl_hls_t *hls;
    int pk_generation, pk_stale;  /* packager set up for this transcoder generation? */
    int64_t last_ms;              /* latest timestamp handed to the HLS path */
    int64_t video_end, audio_end; /* where each track's latest frame ends, ms */
    int64_t first_video_ms;       /* for the encoder speed: media time transcoded */
    arrival_t arrivals[ARRIVALS];
    unsigned narr;
    session_t ses;
    int sessions;
};

static void item_clear(item_t *it)
{
    av_packet_free(&it->pkt);
    avcodec_parameters_free(&it->par);
    free(it->path);
    it->path = NULL;
}

/* Appends under the lock; control items have their own reserve of slots. */
static int enqueue(rl_media_t *m, item_t *it, int droppable)
{
    int ok;

    pthread_mutex_lock(&m->lock);
    ok = m->count < m->ring_cap && (!droppable || m->packets < m->o.capacity);
    if (ok) {
        m->ring[(m->head + m->count) % m->ring_cap] = *it;
        m->count++;
        m->packets += droppable;
        pthread_cond_signal(&m->cond);
    }
    pthread_mutex_unlock(&m->lock);
    return ok ? 0 : -ENOBUFS;
}

/* Waits for an item, at most timeout_ms when that is >= 0. Returns 0, or ETIMEDOUT. */
static int dequeue(rl_media_t *m, item_t *it, int timeout_ms)
{
    struct timespec until;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += (long)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;
    until.tv_sec += until.tv_nsec / 1000000000;
    until.tv_nsec %= 1000000000;
    pthread_mutex_lock(&m->lock);
    while (!m->count) {
        if (timeout_ms < 0)
            pthread_cond_wait(&m->cond, &m->lock);
        else if (pthread_cond_timedwait(&m->cond, &m->lock, &until) == ETIMEDOUT) {
            pthread_mutex_unlock(&m->lock);
            return ETIMEDOUT;
        }
    }
    *it = m->ring[m->head];
    m->head = (m->head + 1) % m->ring_cap;
    m->count--;
    m->packets -= it->type == ITEM_PACKET;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static int push_control(rl_media_t *m, item_t *it)
{
    int rc = enqueue(m, it, 0);

    if (rc < 0)
        item_clear(it);
    return rc;
}

int rl_media_push_params(rl_media_t *m, int kind, const AVCodecParameters *par)
{
    item_t it = { .type = ITEM_PARAMS, .kind = kind };
    int rc;

    if (!(it.par = avcodec_parameters_alloc()))
        return -ENOMEM;
    if ((rc = avcodec_parameters_copy(it.par, par)) < 0) {
        item_clear(&it);
        return rc;
    }
    return push_control(m, &it);
}

int rl_media_session(rl_media_t *m, const char *record_path)
{
    item_t it = { .type = ITEM_SESSION };

    if (record_path && !(it.path = strdup(record_path)))
        return -ENOMEM;
    m->need_key = 1; /* a new publisher starts with a keyframe or not at all */
    return push_control(m, &it);
}

int rl_media_session_end(rl_media_t *m)
{
    item_t it = { .type = ITEM_SESSION_END };

    return push_control(m, &it);
}

int rl_media_push_packet(rl_media_t *m, int kind, AVPacket **pkt)
{
    item_t it = { .type = ITEM_PACKET, .kind = kind, .pkt = *pkt };
    int key = (*pkt)->flags & AV_PKT_FLAG_KEY;

    *pkt = NULL;
    atomic_fetch_add(&m->stats.packets_in, 1);
    if (kind == RL_MEDIA_VIDEO && m->need_key && !key)
        goto drop;
    if (enqueue(m, &it, 1) < 0) {
        m->need_key |= kind == RL_MEDIA_VIDEO;
        goto drop;
    }
    if (kind == RL_MEDIA_VIDEO)
        m->need_key = 0;
    return 0;
drop:
    atomic_fetch_add(&m->stats.dropped, 1);
    item_clear(&it);
    return -ENOBUFS;
}

void rl_media_finish(rl_media_t *m)
{
    item_t it = { .type = ITEM_END };

    /* The end marker must get through: wait for room rather than lose it. */
    while (enqueue(m, &it, 0) < 0)
        sched_yield();
}

/* ---- HLS path (worker thread) ---- */

/* Whatever the packager makes is posted to the HLS window, and the network thread woken to
 * serve it (uv_async_send coalesces, so a burst of posts costs one wake-up). */
static void wake(rl_media_t *m)
{
    if (m->o.on_done)
        m->o.on_done(m->o.opaque);
}

static void on_init(void *opaque, int rung, int init_id, rl_blob_t *data)
{
    rl_media_t *m = opaque;

    if (m->vod)
        rl_vod_init(m->vod, rung, init_id, data->data, data->len);
    rl_hls_post_init(m->hls, rung, init_id, data);
}

static int64_t dequeued_at(const rl_media_t *m, int64_t arrival_us);

static void on_part(void *opaque, const rl_part_info_t *info, rl_blob_t *data)
{
    rl_media_t *m = opaque;
    rl_part_info_t timed = *info;

    timed.dequeued_us = dequeued_at(m, info->arrival_us);
    timed.cut_us = rl_now_us();
    if (m->vod)
        rl_vod_part(m->vod, info, data->data, data->len);
    rl_hls_post_part(m->hls, &timed, data);
    wake(m);
}

static void on_segment(void *opaque, int rung, uint64_t msn, double duration)
{
    rl_media_t *m = opaque;

    if (m->vod)
        rl_vod_segment(m->vod, rung, msn, duration);
    rl_hls_post_segment(m->hls, rung, msn, duration);
    wake(m);
}

/* RFC 6381 names: avc1.PPCCLL from the SPS, mp4a.40.<audio object type>. */
static void codecs_string(const AVCodecContext *enc, const AVCodecParameters *audio, char *out,
                          size_t size)
{
    const uint8_t *x = enc->extradata;
    int n = enc->extradata_size, i;

    snprintf(out, size, "avc1.640028");
    for (i = 0; i + 7 < n; i++)
        if (x[i] == 0 && x[i + 1] == 0 && x[i + 2] == 1 && (x[i + 3] & 0x1f) == 7) {
            snprintf(out, size, "avc1.%02x%02x%02x", x[i + 4], x[i + 5], x[i + 6]);
            break;
        }
    if (audio)
        av_strlcatf(out, size, ",mp4a.40.%d", audio->profile >= 0 ? audio->profile + 1 : 2);
}

static void post_rungs(rl_media_t *m, const rl_rung_out_t *ro, const AVCodecContext *const *enc,
                       int n, const AVCodecParameters *a)
{
    rl_hls_rung_t d[RL_MAX_RUNGS];
    int audio_bps = a ? (a->bit_rate > 0 ? (int)a->bit_rate : 128000) : 0;

    for (int i = 0; i < n; i++) {
        d[i] = (rl_hls_rung_t){ .width = ro[i].width,
                                .height = ro[i].height,
                                .avg_bandwidth = ro[i].rung->bitrate + audio_bps,
                                .frame_rate = av_q2d(ro[i].enc->framerate) };
        /* Peak: the encoder's VBV cap plus audio, plus ~10% for the fMP4 boxes. */
        d[i].bandwidth = (int)((ro[i].rung->bitrate + audio_bps) * 1.1);
        av_strlcpy(d[i].name, ro[i].rung->name, sizeof(d[i].name));
        codecs_string(ro[i].enc, a, d[i].codecs, sizeof(d[i].codecs));
    }
    rl_hls_post_rungs(m->hls, d, n, rl_packager_part_target(m->o.part_ms, enc, n));
    if (m->vod)
        rl_vod_rungs(m->vod, d, n);
}

/* The audio that goes into the HLS output: the publisher's AAC as is, or our AAC of anything
 * else. */
static const AVCodecParameters *hls_audio_params(const rl_media_t *m)
{
    const AVCodecParameters *a = m->par[RL_MEDIA_AUDIO];

    if (a && a->codec_id == AV_CODEC_ID_AAC)
        return a;
    return m->audio ? rl_audio_params(m->audio) : NULL;
}

static void package_audio(void *opaque, AVPacket *pkt)
{
    rl_packager_audio(((rl_media_t *)opaque)->pk, pkt);
}

/* (Re)starts the packager for the transcoder's current encoders. */
static int setup_packager(rl_media_t *m)
{
    rl_rung_out_t ro[RL_MAX_RUNGS];
    const AVCodecContext *enc[RL_MAX_RUNGS];
    const AVCodecParameters *audio = hls_audio_params(m);
    int n = rl_transcode_rungs(m->tc, ro, RL_MAX_RUNGS), rc;

    for (int i = 0; i < n; i++)
        enc[i] = ro[i].enc;
    post_rungs(m, ro, enc, n, audio); /* before the init segments, which belong to the rungs */
    if ((rc = rl_packager_configure(m->pk, enc, n, audio)) < 0)
        return rc;
    m->pk_generation = rl_transcode_stats(m->tc)->generation;
    m->pk_stale = 0;
    return 0;
}

/* Arrival time of recent video packets by pts, so each encoded frame (same pts: the encoders do
 * not reorder) can carry it to the packager, which measures part-ready latency with it. */
static void remember_arrival(rl_media_t *m, const AVPacket *pkt)
{
    m->arrivals[m->narr % ARRIVALS] =
        (arrival_t){ pkt->pts, (int64_t)(intptr_t)pkt->opaque, rl_now_us() };
    m->narr++;
}

static const arrival_t *arrival_of(const rl_media_t *m, int64_t pts)
{
    for (int i = 0; i < ARRIVALS; i++)
        if (m->arrivals[i].pts == pts)
            return &m->arrivals[i];
    return NULL;
}

/* When the worker took the source packet that arrived at arrival_us (0: not known). */
static int64_t dequeued_at(const rl_media_t *m, int64_t arrival_us)
{
    for (int i = 0; arrival_us && i < ARRIVALS; i++)
        if (m->arrivals[i].us == arrival_us)
            return m->arrivals[i].dequeued_us;
    return 0;
}

/* Must the packager be set up anew before it takes the next frame? */
static int packager_due(const rl_media_t *m)
{
    return m->pk_stale || m->pk_generation != rl_transcode_stats(m->tc)->generation;
}

static void on_encoded(void *opaque, int rung, AVPacket *pkt)
{
    rl_media_t *m = opaque;
    const arrival_t *a;
    int rc;

    if (packager_due(m) && setup_packager(m) < 0)
        return;
    a = arrival_of(m, pkt->pts);
    pkt->opaque = a ? (void *)(intptr_t)a->us : NULL;
    if (pkt->pts == m->timed_pts) {
        rl_dbg("card_encoded",
               "stream=%s redis_seq=%llu rung=%d last=%d pts=%lld composed_us=%lld mono_us=%lld",
               m->stream_id, (unsigned long long)m->timed_seq, rung, rung == m->o.nrungs - 1,
               (long long)pkt->pts, (long long)m->timed_us, (long long)rl_now_us());
        if (rung == m->o.nrungs - 1)
            m->timed_pts = -1;
    }
    if ((rc = rl_packager_video(m->pk, rung, pkt)) < 0)
        rl_err("package_video", "stream=%s error=\"%s\"", m->stream_id, av_err2str(rc));
    atomic_fetch_add(&m->stats.frames_encoded, 1);
}

/* Every source frame, the slate's included, before scaling: the card, and the stamp of a change,
 * dated with the frame's PROGRAM-DATE-TIME so that the countdown burnt in agrees with it. The
 * stamp reaches the window before the part that holds the frame. */
static void compose(void *opaque, AVFrame *f)
{
    rl_media_t *m = opaque;
    int64_t pdt, media;
    rl_stamp_t s;

    if (packager_due(m)) /* this frame starts new muxers */
        rl_packager_restart_due(m->pk);
    rl_packager_frame_times(m->pk, f->pts, f->pict_type == AV_PICTURE_TYPE_I, &pdt, &media);
    if (rl_compose_frame(m->compose, f, pdt, media, &s) <= 0)
        return;
    rl_hls_post_stamp(m->hls, &s);
    if (m->vod)
        rl_vod_stamp(m->vod, &s);
    if (rl_log_level >= RL_LOG_DEBUG) {
        m->timed_pts = f->pts;
        m->timed_seq = s.state_seq;
        m->timed_us = rl_now_us();
    }
}

static void open_transcoder(rl_media_t *m)
{
    rl_transcode_opts_t o = { .src = m->par[RL_MEDIA_VIDEO],
                              .rungs = m->rungs,
                              .nrungs = m->o.nrungs,
                              .preset = m->preset,
                              .segment_ms = m->o.segment_ms,
                              .threads = m->o.threads,
                              .compose = compose,
                              .on_packet = on_encoded,
                              .opaque = m };
    char err[256] = "";

    if (m->tc)
        rl_transcode_flush(m->tc);
    rl_transcode_free(&m->tc);
    if (!(m->tc = rl_transcode_open(&o, err, sizeof(err))))
        rl_err("transcode_open", "stream=%s error=\"%s\"", m->stream_id, err);
}

static uint32_t per_frame_us(double seconds, uint64_t frames)
{
    return frames ? (uint32_t)(seconds * 1e6 / (double)frames) : 0;
}

static void publish_speed(rl_media_t *m, const AVPacket *pkt)
{
    const rl_transcode_stats_t *ts = rl_transcode_stats(m->tc);
    rl_rung_out_t ro[RL_MAX_RUNGS];
    int n = rl_transcode_rungs(m->tc, ro, RL_MAX_RUNGS);

    if (m->first_video_ms == INT64_MIN)
        m->first_video_ms = pkt->dts;
    atomic_store(&m->stats.media_ms, (uint64_t)(pkt->dts - m->first_video_ms));
    atomic_store(&m->stats.decode_errors, ts->decode_errors);
    atomic_store(&m->stats.dropped_no_key, ts->dropped_no_key);
    for (int i = 0; i < n; i++) {
        double fps = av_q2d(ro[i].enc->framerate), media = ts->rung_frames[i] / (fps ? fps : 30);
        if (ts->rung_seconds[i] > 0)
            atomic_store(&m->stats.rung_speed_milli[i],
                         (uint32_t)(media / ts->rung_seconds[i] * 1000));
        atomic_store(&m->stats.rung_us[i], per_frame_us(ts->rung_seconds[i], ts->rung_frames[i]));
    }
    atomic_store(&m->stats.decode_us, per_frame_us(ts->decode_seconds, ts->frames_decoded));
    atomic_store(&m->stats.convert_us, per_frame_us(ts->convert_seconds, ts->frames));
    atomic_store(&m->stats.compose_us, per_frame_us(ts->compose_seconds, ts->frames));
}

/* Per session, timestamps restart wherever the publisher's clock is: shift them to continue just
 * after the last one already packaged. */
static void shift_ts(rl_media_t *m, AVPacket *pkt)
{
    if (!m->ses.first_seen) {
        m->ses.ts_offset = m->sessions > 1 ? m->last_ms + 40 - pkt->dts : 0;
        m->ses.first_seen = 1;
    }
    pkt->pts += m->ses.ts_offset;
    pkt->dts += m->ses.ts_offset;
    if (pkt->dts > m->last_ms)
        m->last_ms = pkt->dts;
}

/* Where a track leaves off: the filler continues each one from there, without a gap. */
static void track_end(rl_media_t *m, int kind, const AVPacket *pkt)
{
    AVRational fps;
    int w, h, fmt;
    int64_t dur = pkt->duration;
    int64_t *end = kind == RL_MEDIA_VIDEO ? &m->video_end : &m->audio_end;

    if (kind == RL_MEDIA_VIDEO && m->tc && rl_transcode_source(m->tc, &w, &h, &fmt, &fps) == 0)
        dur = (int64_t)(1000 / av_q2d(fps) + 0.5);
    if (pkt->pts + dur > *end)
        *end = pkt->pts + dur;
}

static void hls_packet(rl_media_t *m, int kind, AVPacket *pkt)
{
    int64_t pts = pkt->pts, dts = pkt->dts;

    if (!m->pk || (kind == RL_MEDIA_VIDEO && !m->tc))
        return;
    shift_ts(m, pkt);
    track_end(m, kind, pkt);
    if (kind == RL_MEDIA_VIDEO) {
        remember_arrival(m, pkt);
        rl_transcode_packet(m->tc, pkt);
        publish_speed(m, pkt);
    } else if (m->par[RL_MEDIA_AUDIO]->codec_id == AV_CODEC_ID_AAC) {
        rl_packager_audio(m->pk, pkt);
    } else if (m->audio && rl_audio_packet(m->audio, pkt, package_audio, m) > 0) {
        m->pk_stale = 1;
    }
    pkt->pts = pts; /* the recorder keeps the session's own timeline */
    pkt->dts = dts;
}

/* ---- items (worker thread) ---- */

static void on_params(rl_media_t *m, item_t *it)
{
    avcodec_parameters_free(&m->par[it->kind]);
    m->par[it->kind] = it->par;
    it->par = NULL;
    if (m->rec)
        rl_recorder_params(m->rec, it->kind, m->par[it->kind]);
    if (!m->pk)
        return;
    if (it->kind == RL_MEDIA_VIDEO) {
        open_transcoder(m);
        return;
    }
    rl_audio_free(&m->audio);
    if (m->par[RL_MEDIA_AUDIO]->codec_id != AV_CODEC_ID_AAC) {
        char err[256] = "";
        if (!(m->audio = rl_audio_open(m->par[RL_MEDIA_AUDIO], err, sizeof(err))))
            rl_warn("audio_transcode", "stream=%s error=\"%s\"", m->stream_id, err);
    }
    m->pk_stale = 1; /* the init segments describe the audio too */
}

/* The VOD of a recorded session sits beside its MP4: <stamp>-<n>.mp4 and <stamp>-<n>/. Its
 * chapters start from what the card shows already (over the slate, between two sessions). */
static void open_vod(rl_media_t *m, const char *mp4)
{
    char dir[600];
    size_t n = strlen(mp4);
    rl_stamp_t s;

    av_strlcpy(dir, mp4, sizeof(dir));
    if (n > 4 && n < sizeof(dir) && !strcmp(dir + n - 4, ".mp4"))
        dir[n - 4] = '\0';
    m->vod = rl_vod_open(m->stream_id, dir, (m->o.segment_ms + 999) / 1000);
    if (m->vod && rl_compose_last(m->compose, &s))
        rl_vod_stamp(m->vod, &s);
}

static void stop_filler(rl_media_t *m)
{
    if (!m->filler)
        return;
    if (rl_filler_last_ms(m->filler) > m->last_ms)
        m->last_ms = rl_filler_last_ms(m->filler);
    m->video_end = m->audio_end = 0;
    rl_filler_free(&m->filler);
}

static void on_session(rl_media_t *m, item_t *it)
{
    stop_filler(m);
    rl_recorder_free(&m->rec);
    if (it->path && !(m->rec = rl_recorder_new(m->stream_id, it->path)))
        rl_err("record_failed", "stream=%s error=\"out of memory\"", m->stream_id);
    rl_vod_close(&m->vod);
    if (it->path && m->pk)
        open_vod(m, it->path);
    for (int k = 0; k < RL_MEDIA_NB; k++)
        avcodec_parameters_free(&m->par[k]);
    m->ses = (session_t){ .active = 1 };
    m->sessions++;
    if (m->pk && m->sessions > 1)
        m->pk_stale = 1; /* a new publisher: new init, and a discontinuity in the playlists */
}

/* The publisher left: the recording ends; the HLS output carries on with the slate, through the
 * same encoders, until the publisher returns or the stream goes off air. */
static void on_session_end(rl_media_t *m)
{
    rl_recorder_free(&m->rec);
    m->ses.active = 0;
    if (m->tc)
        rl_transcode_end_input(m->tc);
    /* The session's last segment ends with it, so the VOD holds all of it; the slate opens a
     * new segment with a keyframe of its own. */
    if (m->tc && m->pk) {
        rl_packager_finish(m->pk);
        rl_transcode_force_key(m->tc);
    }
    rl_vod_close(&m->vod);
    if (m->tc && m->pk && !m->filler)
        m->filler = rl_filler_new(m->tc, m->pk, hls_audio_params(m), m->video_end,
                                  m->audio_end > 0 ? m->audio_end : m->video_end);
}

static void off_air(rl_media_t *m)
{
    stop_filler(m);
    rl_audio_free(&m->audio);
    rl_recorder_free(&m->rec);
    if (m->tc && m->ses.active)
        rl_transcode_end_input(m->tc);
    if (m->tc)
        rl_transcode_flush(m->tc);
    rl_transcode_free(&m->tc);
    if (m->pk)
        rl_packager_finish(m->pk);
    rl_vod_close(&m->vod);
    if (m->hls)
        rl_hls_post_end(m->hls);
}

static void on_packet(rl_media_t *m, item_t *it)
{
    if (!m->par[it->kind])
        return;
    hls_packet(m, it->kind, it->pkt);
    if (m->rec)
        rl_recorder_packet(m->rec, it->kind, it->pkt);
}

static void *worker_main(void *arg)
{
    rl_media_t *m = arg;
    item_t it;

    for (;;) {
        if (dequeue(m, &it, m->filler ? rl_filler_run(m->filler) : -1) == ETIMEDOUT)
            continue;
        if (it.type == ITEM_END)
            break;
        switch (it.type) {
        case ITEM_PARAMS: on_params(m, &it); break;
        case ITEM_SESSION: on_session(m, &it); break;
        case ITEM_SESSION_END: on_session_end(m); break;
        default: on_packet(m, &it); break;
        }
        item_clear(&it);
    }
    off_air(m);
    atomic_store(&m->exited, 1);
    if (m->o.on_done)
        m->o.on_done(m->o.opaque);
    return NULL;
}

/* Timed waits measure on the monotonic clock: a wall-clock jump must not stall the slate. */
static void init_cond(pthread_cond_t *c)
{
    pthread_condattr_t a;

    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

/* Stamps continue the window's numbering, or the wall clock's if that is ahead (an earlier
 * worker may still be finishing its last frames). */
static uint64_t first_stamp_seq(const rl_hls_t *h)
{
    uint64_t wall = (uint64_t)rl_wall_ms();

    return h && rl_hls_next_stamp_seq(h) > wall ? rl_hls_next_stamp_seq(h) : wall;
}

static int init_outputs(rl_media_t *m, char *err, size_t errlen)
{
    rl_packager_cb_t cb = { on_init, on_part, on_segment, m };

    if (!(m->compose = rl_compose_new(m->stream_id, first_stamp_seq(m->o.hls))))
        return snprintf(err, errlen, "out of memory"), -ENOMEM;
    if (!m->o.hls || !m->o.nrungs)
        return 0;
    m->hls = rl_hls_ref(m->o.hls);
    m->pk =
        rl_packager_new(m->o.part_ms, rl_hls_next_msn(m->hls), rl_hls_next_init_id(m->hls), &cb);
    if (!m->pk)
        return snprintf(err, errlen, "out of memory"), -ENOMEM;
    return 0;
}

rl_media_t *rl_media_start(const rl_media_opts_t *o, char *err, size_t errlen)
{
    rl_media_t *m = calloc(1, sizeof(*m));
    int rc;

    if (errlen)
        err[0] = '\0';
    if (!m)
        return snprintf(err, errlen, "out of memory"), NULL;
    m->o = *o;
    m->timed_pts = -1;
    av_strlcpy(m->stream_id, o->stream_id, sizeof(m->stream_id));
    av_strlcpy(m->preset, o->preset ? o->preset : "veryfast", sizeof(m->preset));
    memcpy(m->rungs, o->rungs, (size_t)o->nrungs * sizeof(*o->rungs));
    m->o.capacity = o->capacity > 0 ? o->capacity : 1;
    m->ring_cap = m->o.capacity + CONTROL_SLOTS;
    m->last_ms = 0;
    m->first_video_ms = INT64_MIN;
    if (!(m->ring = calloc((size_t)m->ring_cap, sizeof(*m->ring))) ||
        init_outputs(m, err, errlen) < 0)
        goto fail;
    pthread_mutex_init(&m->lock, NULL);
    init_cond(&m->cond);
    if ((rc = pthread_create(&m->thread, NULL, worker_main, m)) != 0) {
        snprintf(err, errlen, "cannot start media thread: %s", strerror(rc));
        pthread_mutex_destroy(&m->lock);
        pthread_cond_destroy(&m->cond);
        goto fail;
    }
    return m;
fail:
    if (!err[0])
        snprintf(err, errlen, "out of memory");
    rl_packager_free(&m->pk);
    rl_compose_free(&m->compose);
    rl_hls_unref(&m->hls);
    free(m->ring);
    free(m);
    return NULL;
}

void rl_media_set_overlay(rl_media_t *m, ov_state_t *s)
{
    rl_compose_publish(m->compose, s);
}

int rl_media_exited(rl_media_t *m)
{
    return atomic_load(&m->exited);
}

rl_media_stats_t *rl_media_stats(rl_media_t *m)
{
    return &m->stats;
}

void rl_media_free(rl_media_t **pm)
{
    rl_media_t *m = *pm;
    item_t it;

    if (!m)
        return;
    pthread_join(m->thread, NULL);
    while (m->count) { /* items pushed after the end marker */
        it = m->ring[m->head];
        m->head = (m->head + 1) % m->ring_cap;
        m->count--;
        item_clear(&it);
    }
    for (int k = 0; k < RL_MEDIA_NB; k++)
        avcodec_parameters_free(&m->par[k]);
    rl_filler_free(&m->filler);
    rl_audio_free(&m->audio);
    rl_vod_close(&m->vod);
    rl_transcode_free(&m->tc);
    rl_packager_free(&m->pk);
    rl_recorder_free(&m->rec);
    rl_compose_free(&m->compose);
    rl_hls_unref(&m->hls);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    free(m->ring);
    free(m);
    *pm = NULL;
}
