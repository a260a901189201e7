/* Media worker: one thread per live stream, fed through a bounded queue from the network thread.
 *
 * Invariants: the queue never holds more than capacity packets plus RL_MEDIA_NB parameter items
 * and one end marker (those are never dropped); only the worker touches the recorder; only the
 * network thread pushes. Timestamps arrive in milliseconds (time base 1/1000). */
#include "media.h"

#include <errno.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef enum { ITEM_PACKET, ITEM_PARAMS, ITEM_END } item_type_t;

typedef struct item_s {
    item_type_t type;
    int kind;
    AVPacket *pkt;
    AVCodecParameters *par;
} item_t;

typedef struct recorder_s {
    AVFormatContext *oc;
    int st_index[RL_MEDIA_NB]; /* output stream per kind, -1 if none */
    int64_t last_dts[RL_MEDIA_NB];
    AVPacket *held[RL_MEDIA_NB]; /* written once the next packet gives its duration */
    int failed;
} recorder_t;

struct rl_media_s {
    char stream_id[64];
    char *record_path;
    void (*on_done)(void *);
    void *opaque;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    item_t *ring;
    int ring_cap, head, count, packets, capacity;
    int need_key; /* network thread only: video is dropped until the next keyframe */
    atomic_int exited;
    rl_media_stats_t stats;
    /* worker thread only below */
    AVCodecParameters *par[RL_MEDIA_NB];
    recorder_t rec;
};

static void item_clear(item_t *it)
{
    av_packet_free(&it->pkt);
    avcodec_parameters_free(&it->par);
}

/* Appends under the lock; the ring has room for every non-droppable item by construction. */
static int enqueue(rl_media_t *m, item_t *it, int droppable)
{
    int ok;

    pthread_mutex_lock(&m->lock);
    ok = m->count < m->ring_cap && (!droppable || m->packets < m->capacity);
    if (ok) {
        m->ring[(m->head + m->count) % m->ring_cap] = *it;
        m->count++;
        m->packets += droppable;
        pthread_cond_signal(&m->cond);
    }
    pthread_mutex_unlock(&m->lock);
    return ok ? 0 : -ENOBUFS;
}

static void dequeue(rl_media_t *m, item_t *it)
{
    pthread_mutex_lock(&m->lock);
    while (!m->count)
        pthread_cond_wait(&m->cond, &m->lock);
    *it = m->ring[m->head];
    m->head = (m->head + 1) % m->ring_cap;
    m->count--;
    m->packets -= it->type == ITEM_PACKET;
    pthread_mutex_unlock(&m->lock);
}

int rl_media_push_params(rl_media_t *m, int kind, const AVCodecParameters *par)
{
    item_t it = { .type = ITEM_PARAMS, .kind = kind };
    int rc;

    if (!(it.par = avcodec_parameters_alloc()))
        return -ENOMEM;
    if ((rc = avcodec_parameters_copy(it.par, par)) < 0 || (rc = enqueue(m, &it, 0)) < 0)
        item_clear(&it);
    return rc;
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

    enqueue(m, &it, 0);
}

/* ---- recorder (worker thread) ---- */

static int rec_add_stream(recorder_t *r, int kind, const AVCodecParameters *par)
{
    AVStream *st = avformat_new_stream(r->oc, NULL);
    int rc;

    if (!st)
        return AVERROR(ENOMEM);
    if ((rc = avcodec_parameters_copy(st->codecpar, par)) < 0)
        return rc;
    /* hvc1 (parameter sets in the sample entry only) is what Apple players require. */
    st->codecpar->codec_tag = par->codec_id == AV_CODEC_ID_HEVC ? MKTAG('h', 'v', 'c', '1') : 0;
    st->time_base = (AVRational){ 1, 1000 };
    r->st_index[kind] = st->index;
    return 0;
}

/* Opens the file once video (or, for an audio-only stream, audio) can be described.
 * Fragmented MP4: a power cut or crash loses at most the last fragment, never the recording. */
static int rec_open(rl_media_t *m)
{
    recorder_t *r = &m->rec;
    AVDictionary *opts = NULL;
    int rc;

    r->st_index[0] = r->st_index[1] = -1;
    r->last_dts[0] = r->last_dts[1] = INT64_MIN;
    if ((rc = avformat_alloc_output_context2(&r->oc, NULL, "mp4", m->record_path)) < 0)
        goto fail;
    for (int k = 0; k < RL_MEDIA_NB; k++)
        if (m->par[k] && (rc = rec_add_stream(r, k, m->par[k])) < 0)
            goto fail;
    if ((rc = avio_open(&r->oc->pb, m->record_path, AVIO_FLAG_WRITE)) < 0)
        goto fail;
    av_dict_set(&opts, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
    rc = avformat_write_header(r->oc, &opts);
    av_dict_free(&opts);
    if (rc < 0)
        goto fail;
    rl_info("record_start", "stream=%s path=%s", m->stream_id, m->record_path);
    return 0;
fail:
    rl_err("record_failed", "stream=%s path=%s error=\"%s\"", m->stream_id, m->record_path,
           av_err2str(rc));
    if (r->oc)
        avio_closep(&r->oc->pb);
    avformat_free_context(r->oc);
    r->oc = NULL;
    r->failed = 1;
    return rc;
}

/* The muxer refuses DTS that do not increase; a publisher's clock can jump back, so mend it. */
static void mend_timestamps(rl_media_t *m, int kind, AVPacket *pkt)
{
    int64_t *last = &m->rec.last_dts[kind];

    if (*last != INT64_MIN && pkt->dts <= *last) {
        int64_t shift = *last + 1 - pkt->dts;
        pkt->dts += shift;
        pkt->pts += shift;
        atomic_fetch_add(&m->stats.ts_fixed, 1);
    }
    *last = pkt->dts;
}

static void rec_write(rl_media_t *m, AVPacket *pkt)
{
    recorder_t *r = &m->rec;
    int rc;

    av_packet_rescale_ts(pkt, (AVRational){ 1, 1000 },
                         r->oc->streams[pkt->stream_index]->time_base);
    if ((rc = av_write_frame(r->oc, pkt)) < 0) {
        rl_err("record_write", "stream=%s error=\"%s\"", m->stream_id, av_err2str(rc));
        r->failed = 1;
    }
}

/* Each packet is held until the next one of its track arrives, which gives its duration; the
 * muxer would otherwise guess the duration of every fragment's last sample. */
static void rec_hold(rl_media_t *m, int kind, AVPacket *pkt)
{
    recorder_t *r = &m->rec;
    AVPacket *prev = r->held[kind];

    if (prev) {
        prev->duration = pkt->dts - prev->dts;
        rec_write(m, prev);
        av_packet_free(&r->held[kind]);
    }
    if (!r->failed)
        r->held[kind] = av_packet_clone(pkt);
}

static void rec_packet(rl_media_t *m, int kind, AVPacket *pkt)
{
    recorder_t *r = &m->rec;

    if (!m->record_path || r->failed)
        return;
    if (!r->oc) {
        int can_open = m->par[RL_MEDIA_VIDEO]
                           ? kind == RL_MEDIA_VIDEO && (pkt->flags & AV_PKT_FLAG_KEY)
                           : kind == RL_MEDIA_AUDIO;
        if (!can_open || rec_open(m) < 0)
            return;
    }
    if (r->st_index[kind] < 0)
        return; /* a track that was configured after the file was opened */
    mend_timestamps(m, kind, pkt);
    pkt->stream_index = r->st_index[kind];
    rec_hold(m, kind, pkt);
}

static void rec_close(rl_media_t *m)
{
    recorder_t *r = &m->rec;

    if (!r->oc)
        return;
    for (int k = 0; k < RL_MEDIA_NB; k++) {
        if (r->held[k] && !r->failed)
            rec_write(m, r->held[k]); /* the last sample keeps its publisher-given duration */
        av_packet_free(&r->held[k]);
    }
    av_write_trailer(r->oc);
    atomic_store(&m->stats.bytes_written, (uint64_t)avio_size(r->oc->pb));
    avio_closep(&r->oc->pb);
    avformat_free_context(r->oc);
    r->oc = NULL;
    rl_info("record_end", "stream=%s path=%s bytes=%llu", m->stream_id, m->record_path,
            (unsigned long long)atomic_load(&m->stats.bytes_written));
}

/* A new configuration mid-stream (a new resolution, say) starts a new file: MP4 cannot change
 * its sample description half way. */
static void on_params(rl_media_t *m, item_t *it)
{
    AVCodecParameters *old = m->par[it->kind];
    int same = old && old->codec_id == it->par->codec_id &&
               old->extradata_size == it->par->extradata_size &&
               (!old->extradata_size ||
                !memcmp(old->extradata, it->par->extradata, (size_t)old->extradata_size));

    avcodec_parameters_free(&m->par[it->kind]);
    m->par[it->kind] = it->par;
    it->par = NULL;
    if (!same && m->rec.oc) {
        rec_close(m);
        m->rec.failed = 1; /* one file per session; the next publish gets a new one */
        rl_warn("record_stop", "stream=%s reason=\"codec configuration changed\"", m->stream_id);
    }
}

static void *worker_main(void *arg)
{
    rl_media_t *m = arg;
    item_t it;

    for (;;) {
        dequeue(m, &it);
        if (it.type == ITEM_END)
            break;
        if (it.type == ITEM_PARAMS)
            on_params(m, &it);
        else
            rec_packet(m, it.kind, it.pkt);
        item_clear(&it);
    }
    rec_close(m);
    atomic_store(&m->exited, 1);
    if (m->on_done)
        m->on_done(m->opaque);
    return NULL;
}

rl_media_t *rl_media_start(const rl_media_opts_t *o, char *err, size_t errlen)
{
    rl_media_t *m = calloc(1, sizeof(*m));
    int rc;

    if (errlen)
        err[0] = '\0';
    if (!m)
        return snprintf(err, errlen, "out of memory"), NULL;
    av_strlcpy(m->stream_id, o->stream_id, sizeof(m->stream_id));
    m->capacity = o->capacity > 0 ? o->capacity : 1;
    m->ring_cap = m->capacity + RL_MEDIA_NB * 4 + 1;
    m->on_done = o->on_done;
    m->opaque = o->opaque;
    m->ring = calloc((size_t)m->ring_cap, sizeof(*m->ring));
    m->record_path = o->record_path ? strdup(o->record_path) : NULL;
    if (!m->ring || (o->record_path && !m->record_path))
        goto fail;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->cond, NULL);
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
    free(m->ring);
    free(m->record_path);
    free(m);
    return NULL;
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
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    free(m->ring);
    free(m->record_path);
    free(m);
    *pm = NULL;
}
