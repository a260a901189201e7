/* Recorder: one publish session written to an MP4 file through libavformat.
 *
 * Invariants: the output opens once, with every track known at that moment; a track configured
 * later is not recorded; DTS handed to the muxer strictly increase per track. */
#include "relay/media/recorder.h"

#include <errno.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <stdlib.h>
#include <string.h>

#include "relay/core/log.h"
#include "relay/media/media.h"

struct rl_recorder_s {
    char stream_id[64];
    char *path;
    AVCodecParameters *par[RL_MEDIA_NB];
    AVFormatContext *oc;
    int st_index[RL_MEDIA_NB]; /* output stream per kind, -1 if none */
    int64_t last_dts[RL_MEDIA_NB];
    AVPacket *held[RL_MEDIA_NB]; /* written once the next packet gives its duration */
    int failed;
    uint64_t ts_fixed, bytes;
};

rl_recorder_t *rl_recorder_new(const char *stream_id, const char *path)
{
    rl_recorder_t *r = calloc(1, sizeof(*r));

    if (!r || !(r->path = strdup(path))) {
        free(r);
        return NULL;
    }
    av_strlcpy(r->stream_id, stream_id, sizeof(r->stream_id));
    return r;
}

static int rec_add_stream(rl_recorder_t *r, int kind, const AVCodecParameters *par)
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
static int rec_open(rl_recorder_t *r)
{
    AVDictionary *opts = NULL;
    int rc;

    r->st_index[0] = r->st_index[1] = -1;
    r->last_dts[0] = r->last_dts[1] = INT64_MIN;
    if ((rc = avformat_alloc_output_context2(&r->oc, NULL, "mp4", r->path)) < 0)
        goto fail;
    for (int k = 0; k < RL_MEDIA_NB; k++)
        if (r->par[k] && (rc = rec_add_stream(r, k, r->par[k])) < 0)
            goto fail;
    if ((rc = avio_open(&r->oc->pb, r->path, AVIO_FLAG_WRITE)) < 0)
        goto fail;
    av_dict_set(&opts, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
    rc = avformat_write_header(r->oc, &opts);
    av_dict_free(&opts);
    if (rc < 0)
        goto fail;
    rl_info("record_start", "stream=%s path=%s", r->stream_id, r->path);
    return 0;
fail:
    rl_err("record_failed", "stream=%s path=%s error=\"%s\"", r->stream_id, r->path,
           av_err2str(rc));
    if (r->oc)
        avio_closep(&r->oc->pb);
    avformat_free_context(r->oc);
    r->oc = NULL;
    r->failed = 1;
    return rc;
}

/* The muxer refuses DTS that do not increase; a publisher's clock can jump back, so mend it. */
static void mend_timestamps(rl_recorder_t *r, int kind, AVPacket *pkt)
{
    int64_t *last = &r->last_dts[kind];

    if (*last != INT64_MIN && pkt->dts <= *last) {
        int64_t shift = *last + 1 - pkt->dts;
        pkt->dts += shift;
        pkt->pts += shift;
        r->ts_fixed++;
    }
    *last = pkt->dts;
}

static void rec_write(rl_recorder_t *r, AVPacket *pkt)
{
    int rc;

    av_packet_rescale_ts(pkt, (AVRational){ 1, 1000 },
                         r->oc->streams[pkt->stream_index]->time_base);
    if ((rc = av_write_frame(r->oc, pkt)) < 0) {
        rl_err("record_write", "stream=%s error=\"%s\"", r->stream_id, av_err2str(rc));
        r->failed = 1;
    }
}

/* Each packet is held until the next one of its track arrives, which gives its duration; the
 * muxer would otherwise guess the duration of every fragment's last sample. */
static void rec_hold(rl_recorder_t *r, int kind, AVPacket *pkt)
{
    AVPacket *prev = r->held[kind];

    if (prev) {
        prev->duration = pkt->dts - prev->dts;
        rec_write(r, prev);
        av_packet_free(&r->held[kind]);
    }
    if (!r->failed)
        r->held[kind] = av_packet_clone(pkt);
}

void rl_recorder_packet(rl_recorder_t *r, int kind, AVPacket *pkt)
{
    if (r->failed)
        return;
    if (!r->oc) {
        int can_open = r->par[RL_MEDIA_VIDEO]
                           ? kind == RL_MEDIA_VIDEO && (pkt->flags & AV_PKT_FLAG_KEY)
                           : kind == RL_MEDIA_AUDIO;
        if (!can_open || rec_open(r) < 0)
            return;
    }
    if (r->st_index[kind] < 0)
        return; /* a track that was configured after the file was opened */
    mend_timestamps(r, kind, pkt);
    pkt->stream_index = r->st_index[kind];
    rec_hold(r, kind, pkt);
}

static void rec_close(rl_recorder_t *r)
{

    if (!r->oc)
        return;
    for (int k = 0; k < RL_MEDIA_NB; k++) {
        if (r->held[k] && !r->failed)
            rec_write(r, r->held[k]); /* the last sample keeps its publisher-given duration */
        av_packet_free(&r->held[k]);
    }
    av_write_trailer(r->oc);
    r->bytes = (uint64_t)avio_size(r->oc->pb);
    avio_closep(&r->oc->pb);
    avformat_free_context(r->oc);
    r->oc = NULL;
    rl_info("record_end", "stream=%s path=%s bytes=%llu", r->stream_id, r->path,
            (unsigned long long)r->bytes);
}

/* A new configuration mid-session ends the file; the next session starts a new one. */
void rl_recorder_params(rl_recorder_t *r, int kind, const AVCodecParameters *par)
{
    AVCodecParameters *old = r->par[kind];
    int same = old && old->codec_id == par->codec_id &&
               old->extradata_size == par->extradata_size &&
               (!old->extradata_size ||
                !memcmp(old->extradata, par->extradata, (size_t)old->extradata_size));

    if (!same && r->oc) {
        rec_close(r);
        r->failed = 1;
        rl_warn("record_stop", "stream=%s reason=\"codec configuration changed\"", r->stream_id);
    }
    avcodec_parameters_free(&r->par[kind]);
    if ((r->par[kind] = avcodec_parameters_alloc()))
        avcodec_parameters_copy(r->par[kind], par);
}

uint64_t rl_recorder_ts_fixed(const rl_recorder_t *r)
{
    return r->ts_fixed;
}

void rl_recorder_free(rl_recorder_t **pr)
{
    rl_recorder_t *r = *pr;

    if (!r)
        return;
    rec_close(r);
    for (int k = 0; k < RL_MEDIA_NB; k++) {
        avcodec_parameters_free(&r->par[k]);
        av_packet_free(&r->held[k]);
    }
    free(r->path);
    free(r);
    *pr = NULL;
}
