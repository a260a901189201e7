/* Stream registry: every known stream by public id, its live state and what the ingest measures.
 *
 * Invariants: st->media is non-NULL exactly while st->ingest is; codec parameters are pushed to
 * the worker before any packet of their kind; timestamps handed on are in milliseconds. */
#include "relay/live/stream.h"

#include <errno.h>
#include <libavutil/avstring.h>
#include <libavutil/channel_layout.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "relay/media/hls_live.h"
#include "relay/core/log.h"
#include "relay/core/mem.h"
#include "relay/media/transcode.h"
#include "proto/nal.h"

rl_stream_t *rl_stream_find(rl_server_t *srv, const char *id)
{
    for (int i = 0; i < srv->nstreams; i++)
        if (!strcmp(srv->streams[i]->id, id))
            return srv->streams[i];
    return NULL;
}

rl_stream_t *rl_stream_add(rl_server_t *srv, const char *id, const char *title)
{
    rl_stream_t *st = rl_stream_find(srv, id), **grown;

    if (st) {
        if (title)
            av_strlcpy(st->title, title, sizeof(st->title));
        return st;
    }
    if (srv->nstreams == srv->streams_cap) {
        int cap = srv->streams_cap ? srv->streams_cap * 2 : 16;
        if (!(grown = realloc(srv->streams, (size_t)cap * sizeof(*grown))))
            return NULL;
        srv->streams = grown;
        srv->streams_cap = cap;
    }
    if (!(st = calloc(1, sizeof(*st))))
        return NULL;
    av_strlcpy(st->id, id, sizeof(st->id));
    av_strlcpy(st->title, title ? title : "", sizeof(st->title));
    srv->streams[srv->nstreams++] = st;
    return st;
}

static void reset_formats(rl_stream_t *st)
{
    for (int k = 0; k < RL_MEDIA_NB; k++) {
        avcodec_parameters_free(&st->par[k]);
        st->ts_seen[k] = 0;
        st->ts_high[k] = 0;
    }
    st->vcodec = st->acodec = FLV_CODEC_UNKNOWN;
    st->width = st->height = st->profile = st->level = 0;
    st->sample_rate = st->channels = 0;
    st->meta_fps = st->kbps = st->fps = 0;
    st->encoder[0] = '\0';
    st->last_key_ts = INT64_MIN;
    st->key_interval_ms = 0;
    st->bytes = st->vframes = st->unsupported = 0;
    st->hist_n = 0;
}

/* Hands a worker that is finishing over to be joined once its thread exits. */
static void retire_media(rl_server_t *srv, rl_media_t *m)
{
    rl_media_t **grown;

    if (srv->nretired == srv->retired_cap) {
        int cap = srv->retired_cap ? srv->retired_cap * 2 : 8;
        if (!(grown = realloc(srv->retired, (size_t)cap * sizeof(*grown)))) {
            rl_media_free(&m); /* joins now: slower, never leaks a thread */
            return;
        }
        srv->retired = grown;
        srv->retired_cap = cap;
    }
    srv->retired[srv->nretired++] = m;
}

/* Joins the workers that have exited; with wait set, all of them. What a worker freed goes back
 * to the system: its heap pages would otherwise stay with the process. */
void rl_stream_reap_workers(rl_server_t *srv, int wait)
{
    int joined = 0;

    for (int i = 0; i < srv->nretired;) {
        if (!wait && !rl_media_exited(srv->retired[i])) {
            i++;
            continue;
        }
        rl_media_free(&srv->retired[i]);
        srv->retired[i] = srv->retired[--srv->nretired];
        joined++;
    }
    if (joined)
        rl_mem_trim();
}

/* Off air: the worker ends the playlists and exits; it is joined once it has. */
static void stop_media(rl_server_t *srv, rl_stream_t *st)
{
    if (!st->media)
        return;
    rl_media_finish(st->media);
    retire_media(srv, st->media);
    st->media = NULL;
    rl_info("stream_off_air", "stream=%s", st->id);
}

void rl_stream_remove(rl_server_t *srv, rl_stream_t *st)
{
    for (int i = 0; i < srv->nstreams; i++) {
        if (srv->streams[i] != st)
            continue;
        srv->streams[i] = srv->streams[--srv->nstreams];
        break;
    }
    if (st->ingest)
        rl_stream_go_offline(srv, st, "stream deleted");
    stop_media(srv, st);
    rl_hls_unref(&st->hls);
    ov_state_unref(&st->overlay);
    reset_formats(st);
    free(st);
}

void rl_stream_off_air_all(rl_server_t *srv)
{
    for (int i = 0; i < srv->nstreams; i++)
        stop_media(srv, srv->streams[i]);
}

void rl_stream_free_all(rl_server_t *srv)
{
    while (srv->nstreams)
        rl_stream_remove(srv, srv->streams[0]);
    free(srv->streams);
    srv->streams = NULL;
    srv->streams_cap = 0;
}

/* DATA_DIR/recordings/<id>/<UTC start>.mp4; creates the folders. */
static int record_path(rl_server_t *srv, const rl_stream_t *st, char *path, size_t size)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(path, size, "%s/recordings", srv->cfg->data_dir);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    snprintf(path, size, "%s/recordings/%s", srv->cfg->data_dir, st->id);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    snprintf(path, size, "%s/recordings/%s/%s-%llu.mp4", srv->cfg->data_dir, st->id, stamp,
             (unsigned long long)st->sessions);
    return 0;
}

static void media_done(void *opaque)
{
    uv_async_send(opaque);
}

/* The worker that carries the stream while it is on air, started at its first publish. */
static int start_media(rl_server_t *srv, rl_stream_t *st)
{
    char err[256] = "";
    rl_media_opts_t o = { .stream_id = st->id,
                          .capacity = srv->cfg->media_queue,
                          .rungs = srv->rungs,
                          .nrungs = srv->nrungs,
                          .preset = srv->cfg->x264_preset,
                          .segment_ms = srv->cfg->hls_segment_ms,
                          .part_ms = srv->cfg->hls_part_ms,
                          .threads = srv->cfg->x264_threads,
                          .on_done = media_done,
                          .opaque = &srv->wake };

    if (srv->nrungs && !st->hls &&
        !(st->hls = rl_hls_new(st->id, srv->cfg->hls_window, srv->cfg->hls_segment_ms)))
        return -ENOMEM;
    if (st->hls)
        rl_hls_drain(st->hls); /* numbering continues after whatever an earlier worker posted */
    o.hls = st->hls;
    if (!(st->media = rl_media_start(&o, err, sizeof(err)))) {
        rl_err("media_start", "stream=%s error=\"%s\"", st->id, err);
        return -ENOMEM;
    }
    if (st->overlay) /* before its first frame: the card is there from the start */
        rl_media_set_overlay(st->media, ov_state_ref(st->overlay));
    return 0;
}

void rl_stream_set_overlay(rl_server_t *srv, rl_stream_t *st, ov_state_t *s)
{
    (void)srv;
    ov_state_unref(&st->overlay);
    st->overlay = s;
    if (st->media && s)
        rl_media_set_overlay(st->media, ov_state_ref(s));
}

int rl_stream_go_live(rl_server_t *srv, rl_stream_t *st, rl_ingest_t *in, const char *peer)
{
    char path[1024];
    const char *rec = NULL;
    int rc;

    reset_formats(st);
    st->sessions++;
    if (srv->cfg->record) {
        if ((rc = record_path(srv, st, path, sizeof(path))) < 0)
            rl_err("record_dir", "stream=%s error=\"%s\"", st->id, strerror(-rc));
        else
            rec = path;
    }
    if (!st->media && (rc = start_media(srv, st)) < 0)
        return rc;
    st->forward = rec || srv->nrungs;
    if ((rc = rl_media_session(st->media, rec)) < 0)
        return rc;
    st->ingest = in;
    st->live_since = st->last_media = rl_now();
    av_strlcpy(st->peer, peer, sizeof(st->peer));
    return 0;
}

void rl_stream_go_offline(rl_server_t *srv, rl_stream_t *st, const char *reason)
{
    (void)srv;
    if (!st->ingest)
        return;
    rl_info("stream_offline", "stream=%s reason=\"%s\" uptime_s=%.1f", st->id, reason,
            rl_now() - st->live_since);
    st->ingest = NULL;
    st->offline_since = rl_now();
    rl_media_session_end(st->media);
}

/* RTMP timestamps are 32-bit milliseconds; a jump back by more than half the range is a wrap. */
static int64_t extend_ts(rl_stream_t *st, int kind, uint32_t ts)
{
    if (st->ts_seen[kind] && ts < st->last_ts[kind] && st->last_ts[kind] - ts > 0x80000000u)
        st->ts_high[kind] += INT64_C(1) << 32;
    st->ts_seen[kind] = 1;
    st->last_ts[kind] = ts;
    return st->ts_high[kind] + ts;
}

static const enum AVCodecID codec_ids[] = {
    [FLV_CODEC_H264] = AV_CODEC_ID_H264, [FLV_CODEC_HEVC] = AV_CODEC_ID_HEVC,
    [FLV_CODEC_AV1] = AV_CODEC_ID_AV1,   [FLV_CODEC_VP9] = AV_CODEC_ID_VP9,
    [FLV_CODEC_AAC] = AV_CODEC_ID_AAC,   [FLV_CODEC_MP3] = AV_CODEC_ID_MP3,
};

static AVCodecParameters *new_params(const flv_tag_t *t, int kind)
{
    AVCodecParameters *par = avcodec_parameters_alloc();

    if (!par)
        return NULL;
    par->codec_type = kind == RL_MEDIA_VIDEO ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO;
    par->codec_id = codec_ids[t->codec];
    if (t->kind != FLV_CONFIG || !t->len)
        return par;
    par->extradata = av_mallocz(t->len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!par->extradata) {
        avcodec_parameters_free(&par);
        return NULL;
    }
    memcpy(par->extradata, t->data, t->len);
    par->extradata_size = (int)t->len;
    return par;
}

static void describe_video(rl_stream_t *st, const flv_tag_t *t, AVCodecParameters *par)
{
    nal_video_info_t vi = { 0 };
    int rc = -ENOTSUP;

    if (t->codec == FLV_CODEC_H264)
        rc = nal_parse_avcc(t->data, t->len, &vi);
    else if (t->codec == FLV_CODEC_HEVC)
        rc = nal_parse_hvcc(t->data, t->len, &vi);
    if (rc < 0 && rc != -ENOTSUP)
        rl_warn("video_config", "stream=%s codec=%s error=\"unreadable parameter sets\"", st->id,
                flv_codec_name(t->codec));
    st->vcodec = t->codec;
    st->width = par->width = vi.width;
    st->height = par->height = vi.height;
    st->profile = par->profile = rc < 0 ? FF_PROFILE_UNKNOWN : vi.profile;
    st->level = par->level = rc < 0 ? FF_LEVEL_UNKNOWN : vi.level;
}

static void describe_audio(rl_stream_t *st, const flv_tag_t *t, AVCodecParameters *par)
{
    nal_audio_info_t ai = { .sample_rate = t->sound_rate, .channels = t->sound_channels };

    if (t->codec == FLV_CODEC_AAC && nal_parse_asc(t->data, t->len, &ai) < 0)
        rl_warn("audio_config", "stream=%s error=\"unreadable AudioSpecificConfig\"", st->id);
    st->acodec = t->codec;
    st->sample_rate = par->sample_rate = ai.sample_rate;
    st->channels = ai.channels;
    av_channel_layout_default(&par->ch_layout, ai.channels > 0 ? ai.channels : 2);
    if (t->codec == FLV_CODEC_AAC) {
        par->profile = ai.object_type - 1; /* FF_PROFILE_AAC_* count from object type 1 */
        par->frame_size = 1024;            /* samples per AAC frame, ISO/IEC 14496-3 4.5.1.1 */
    }
}

/* A sequence header, or (for codecs without one, such as MP3) the first frame. */
static int configure(rl_stream_t *st, int kind, const flv_tag_t *t)
{
    AVCodecParameters *par = new_params(t, kind);
    int rc;

    if (!par)
        return -ENOMEM;
    if (kind == RL_MEDIA_VIDEO)
        describe_video(st, t, par);
    else
        describe_audio(st, t, par);
    avcodec_parameters_free(&st->par[kind]);
    st->par[kind] = par;
    rc = st->forward ? rl_media_push_params(st->media, kind, par) : 0;
    rl_info("stream_format", "stream=%s track=%s codec=%s width=%d height=%d rate=%d channels=%d",
            st->id, kind == RL_MEDIA_VIDEO ? "video" : "audio", flv_codec_name(t->codec), st->width,
            st->height, st->sample_rate, st->channels);
    return rc;
}

static int push_frame(rl_stream_t *st, int kind, int64_t dts, const flv_tag_t *t)
{
    AVPacket *pkt = av_packet_alloc();
    int rc;

    if (!pkt || (rc = av_new_packet(pkt, (int)t->len)) < 0) {
        av_packet_free(&pkt);
        return -ENOMEM;
    }
    memcpy(pkt->data, t->data, t->len);
    pkt->dts = dts;
    pkt->pts = dts + t->cts;
    pkt->time_base = (AVRational){ 1, 1000 };
    pkt->opaque = (void *)(intptr_t)rl_now_us(); /* for part-ready latency */
    if (kind == RL_MEDIA_AUDIO && st->sample_rate > 0 && t->codec == FLV_CODEC_AAC)
        pkt->duration = 1024 * 1000 / st->sample_rate;
    if (kind == RL_MEDIA_AUDIO || t->keyframe)
        pkt->flags |= AV_PKT_FLAG_KEY;
    return rl_media_push_packet(st->media, kind, &pkt); /* takes ownership of pkt */
}

static void count_video(rl_stream_t *st, int64_t dts, const flv_tag_t *t)
{
    st->vframes++;
    if (!t->keyframe)
        return;
    if (st->last_key_ts != INT64_MIN && dts > st->last_key_ts)
        st->key_interval_ms = dts - st->last_key_ts;
    st->last_key_ts = dts;
}

int rl_stream_media(rl_stream_t *st, int kind, uint32_t ts, const uint8_t *data, size_t len)
{
    flv_tag_t t;
    int64_t dts;
    int rc;

    st->last_media = rl_now();
    st->bytes += len;
    rc = kind == RL_MEDIA_VIDEO ? flv_parse_video(data, len, &t) : flv_parse_audio(data, len, &t);
    if (rc < 0 || t.kind == FLV_SKIP || t.kind == FLV_EOS) {
        if (rc < 0 && !st->unsupported++)
            rl_warn("media_unsupported", "stream=%s track=%s codec=%s error=\"%s\"", st->id,
                    kind == RL_MEDIA_VIDEO ? "video" : "audio", flv_codec_name(t.codec),
                    strerror(-rc));
        return rc;
    }
    dts = extend_ts(st, kind, ts);
    if (t.kind == FLV_CONFIG || (!st->par[kind] && t.codec == FLV_CODEC_MP3))
        if ((rc = configure(st, kind, &t)) < 0 || t.kind == FLV_CONFIG)
            return rc;
    if (!st->par[kind] || codec_ids[t.codec] != st->par[kind]->codec_id)
        return -EAGAIN; /* a frame without its decoder configuration cannot be used */
    if (kind == RL_MEDIA_VIDEO)
        count_video(st, dts, &t);
    /* With nothing to record or transcode the worker has no use for packets: don't wake it. */
    return st->forward ? push_frame(st, kind, dts, &t) : 0;
}

void rl_stream_metadata(rl_stream_t *st, double fps, const char *encoder)
{
    st->meta_fps = fps;
    av_strlcpy(st->encoder, encoder, sizeof(st->encoder));
}

static void roll_rates(rl_stream_t *st)
{
    int n = st->hist_n < RL_RATE_WINDOW + 1 ? st->hist_n : RL_RATE_WINDOW + 1;

    memmove(st->bytes_hist + 1, st->bytes_hist, RL_RATE_WINDOW * sizeof(st->bytes_hist[0]));
    memmove(st->frames_hist + 1, st->frames_hist, RL_RATE_WINDOW * sizeof(st->frames_hist[0]));
    st->bytes_hist[0] = st->bytes;
    st->frames_hist[0] = st->vframes;
    st->hist_n++;
    if (n < 2)
        return;
    st->kbps = (double)(st->bytes - st->bytes_hist[n - 1]) * 8 / 1000 / (n - 1);
    st->fps = (double)(st->vframes - st->frames_hist[n - 1]) / (n - 1);
}

/* An ended stream's window serves late viewers for hls-ended-keep seconds, then its media is
 * freed (the stream itself, and its numbering, stay). */
static void expire_window(rl_server_t *srv, rl_stream_t *st)
{
    if (!st->hls || !rl_hls_expire(st->hls, srv->cfg->hls_ended_keep))
        return;
    rl_info("hls_released", "stream=%s", st->id);
    rl_mem_trim();
}

void rl_stream_tick(rl_server_t *srv)
{
    for (int i = 0; i < srv->nstreams; i++) {
        rl_stream_t *st = srv->streams[i];
        if (st->ingest)
            roll_rates(st);
        else if (st->media && rl_now() - st->offline_since >= srv->cfg->grace)
            stop_media(srv, st);
        else if (!st->media)
            expire_window(srv, st);
    }
}

static json_t *video_json(const rl_stream_t *st)
{
    if (st->vcodec == FLV_CODEC_UNKNOWN)
        return json_null();
    return json_pack("{s:s, s:i, s:i, s:f, s:f, s:f}", "codec", flv_codec_name(st->vcodec), "width",
                     st->width, "height", st->height, "fps", st->fps > 0 ? st->fps : st->meta_fps,
                     "bitrate_kbps", st->kbps, "keyframe_interval_s",
                     (double)st->key_interval_ms / 1000);
}

static json_t *audio_json(const rl_stream_t *st)
{
    if (st->acodec == FLV_CODEC_UNKNOWN)
        return json_null();
    return json_pack("{s:s, s:i, s:i}", "codec", flv_codec_name(st->acodec), "sample_rate",
                     st->sample_rate, "channels", st->channels);
}

/* How long a rung's parts take from the source packet's arrival to being downloadable, p50
 * and p95 (ms), and the same for each stage of that time (rl_hls_rung_stages). */
static json_t *part_ready_json(const rl_hls_t *h, int i, double p50, double p95)
{
    json_t *j = json_pack("{s:f, s:f}", "p50", p50, "p95", p95);
    double s50[RL_HLS_STAGES], s95[RL_HLS_STAGES];

    if (j && rl_hls_rung_stages(h, i, s50, s95) == 0)
        for (int k = 0; k < RL_HLS_STAGES; k++)
            json_object_set_new(j, rl_hls_stage_names[k],
                                json_pack("{s:f, s:f}", "p50", s50[k], "p95", s95[k]));
    return j;
}

/* What a frame of rung i costs the worker, mean ms over the session: decode, convert and compose
 * are the source's (the same in every rung), scale_encode the rung's own. */
static json_t *frame_ms_json(rl_media_stats_t *ms, int i)
{
    if (!ms || i >= RL_MAX_RUNGS)
        return json_null();
    return json_pack("{s:f, s:f, s:f, s:f}", "decode", atomic_load(&ms->decode_us) / 1000.0,
                     "convert", atomic_load(&ms->convert_us) / 1000.0, "compose",
                     atomic_load(&ms->compose_us) / 1000.0, "scale_encode",
                     atomic_load(&ms->rung_us[i]) / 1000.0);
}

/* The ladder as it is being made: size, bitrate, encoder speed (x real time), drops, how long a
 * part takes from the source packet's arrival to being downloadable, and a frame's cost. */
static json_t *renditions_json(const rl_stream_t *st)
{
    json_t *arr = json_array();
    rl_media_stats_t *ms = st->media ? rl_media_stats(st->media) : NULL;
    uint64_t dropped = ms ? atomic_load(&ms->dropped) + atomic_load(&ms->dropped_no_key) : 0;
    rl_hls_rung_t d;
    double p50, p95;

    for (int i = 0; st->hls && rl_hls_rung_info(st->hls, i, &d, &p50, &p95) == 0; i++)
        json_array_append_new(
            arr,
            json_pack("{s:s, s:i, s:i, s:i, s:f, s:I, s:o, s:o}", "name", d.name, "width", d.width,
                      "height", d.height, "bitrate_kbps", d.avg_bandwidth / 1000, "encoder_speed",
                      ms && i < RL_MAX_RUNGS ? atomic_load(&ms->rung_speed_milli[i]) / 1000.0 : 0.0,
                      "dropped_frames", (json_int_t)dropped, "part_ready_ms",
                      part_ready_json(st->hls, i, p50, p95), "frame_ms", frame_ms_json(ms, i)));
    return arr;
}

/* What the card shows now, as Redis last confirmed it; null before the first snapshot. */
static json_t *card_json(const ov_state_t *s)
{
    if (!s)
        return json_null();
    if (!s->pinned)
        return json_pack("{s:I, s:I, s:b}", "version", (json_int_t)s->version, "seq",
                         (json_int_t)s->seq, "pinned", 0);
    return json_pack("{s:I, s:I, s:b, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:o}", "version",
                     (json_int_t)s->version, "seq", (json_int_t)s->seq, "pinned", 1, "product",
                     s->product_id, "name", s->name ? s->name : "", "currency", s->currency,
                     "price", (json_int_t)s->price, "regular_price", (json_int_t)s->regular_price,
                     "sold", (json_int_t)s->sold, "stock", (json_int_t)s->stock, "image",
                     s->thumb != NULL, "flash",
                     s->flash ? json_pack("{s:I, s:I}", "ends_ms", (json_int_t)s->flash_ends_ms,
                                          "left", (json_int_t)s->flash_left)
                              : json_null());
}

json_t *rl_stream_json(const rl_stream_t *st)
{
    int live = st->ingest != NULL;
    rl_media_stats_t *ms = st->media ? rl_media_stats(st->media) : NULL;
    char hls[64];

    snprintf(hls, sizeof(hls), "/hls/%s/master.m3u8", st->id);
    return json_pack("{s:s, s:s, s:b, s:b, s:f, s:I, s:o, s:o, s:I, s:s, s:o, s:o}", "id", st->id,
                     "title", st->title, "live", live, "on_air", st->media != NULL, "uptime_s",
                     live ? rl_now() - st->live_since : 0.0, "sessions", (json_int_t)st->sessions,
                     "video", live ? video_json(st) : json_null(), "audio",
                     live ? audio_json(st) : json_null(), "dropped_packets",
                     (json_int_t)(ms ? atomic_load(&ms->dropped) : 0), "hls_url", hls, "renditions",
                     renditions_json(st), "card", card_json(st->overlay));
}
