/* CMAF packager: one fragmented-MP4 muxer per rung, writing into memory, cut into parts.
 *
 * Invariants: a rung's muxer only exists after configure; a part is never empty; every segment
 * starts with a keyframe part (INDEPENDENT) and ends before the next keyframe; all rungs number
 * their segments alike, because their keyframes are forced on the same source frames. */
#include "relay/media/packager.h"

#include <errno.h>
#include <libavformat/avformat.h>
#include <stdlib.h>
#include <string.h>

#include "relay/core/clock.h"
#include "relay/core/log.h"
#include "relay/media/transcode.h"

typedef struct rung_mux_s {
    AVFormatContext *oc;
    uint8_t *buf; /* what the muxer wrote since the last take */
    size_t len, cap;
    int vst, ast; /* stream indexes; ast -1 without audio */
    double frame_ms;
    int frames_per_part, part_frames, part_index, in_segment, discontinuity;
    int64_t part_start;   /* pts (ms) of the current part's first frame */
    int64_t last_arrival; /* arrival (us) of the source packet of its latest frame */
    int64_t first_dts;    /* of the muxer's first video frame: no audio may come before it */
    int64_t last_audio_dts;
    double seg_dur;
    uint64_t msn;
    AVPacket *tmp;
} rung_mux_t;

struct rl_packager_s {
    int part_ms;
    rl_packager_cb_t cb;
    rung_mux_t r[RL_MAX_RUNGS];
    int nrungs;
    uint64_t next_msn;
    int init_id, next_init_id, configured;
    int64_t anchor_pts, anchor_wall; /* program date time = anchor_wall + (pts - anchor_pts) */
    int anchored;
    int64_t origin; /* pts of the first keyframe of the current muxers: media time 0 */
    int origin_due;
};

static int write_cb(void *opaque, uint8_t *data, int size)
{
    rung_mux_t *rm = opaque;
    size_t need = rm->len + (size_t)size, cap = rm->cap ? rm->cap : 65536;
    uint8_t *p;

    while (cap < need)
        cap *= 2;
    if (cap != rm->cap) {
        if (!(p = realloc(rm->buf, cap)))
            return AVERROR(ENOMEM);
        rm->buf = p;
        rm->cap = cap;
    }
    memcpy(rm->buf + rm->len, data, (size_t)size);
    rm->len += (size_t)size;
    return size;
}

/* Hands out what the muxer wrote, as a blob the receiver owns. */
static rl_blob_t *take(rung_mux_t *rm)
{
    rl_blob_t *out;

    avio_flush(rm->oc->pb);
    out = rl_blob_copy(rm->buf, rm->len);
    rm->len = 0;
    return out;
}

rl_packager_t *rl_packager_new(int part_ms, uint64_t next_msn, int next_init_id,
                               const rl_packager_cb_t *cb)
{
    rl_packager_t *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->part_ms = part_ms > 0 ? part_ms : 333;
    p->cb = *cb;
    p->next_msn = next_msn;
    p->next_init_id = next_init_id;
    return p;
}

static void close_rung(rung_mux_t *rm)
{
    if (rm->oc) {
        if (rm->oc->pb) /* a custom AVIOContext does not free its buffer */
            av_freep(&rm->oc->pb->buffer);
        avio_context_free(&rm->oc->pb);
        avformat_free_context(rm->oc);
    }
    av_packet_free(&rm->tmp);
    free(rm->buf);
    memset(rm, 0, sizeof(*rm));
}

static int add_streams(rung_mux_t *rm, const AVCodecContext *enc, const AVCodecParameters *audio)
{
    AVStream *v = avformat_new_stream(rm->oc, NULL), *a;
    int rc;

    if (!v || (rc = avcodec_parameters_from_context(v->codecpar, enc)) < 0)
        return v ? rc : AVERROR(ENOMEM);
    v->time_base = (AVRational){ 1, 90000 };
    rm->vst = v->index;
    rm->ast = -1;
    if (!audio)
        return 0;
    if (!(a = avformat_new_stream(rm->oc, NULL)))
        return AVERROR(ENOMEM);
    if ((rc = avcodec_parameters_copy(a->codecpar, audio)) < 0)
        return rc;
    a->codecpar->codec_tag = 0;
    a->time_base = (AVRational){ 1, audio->sample_rate > 0 ? audio->sample_rate : 48000 };
    rm->ast = a->index;
    return 0;
}

/* Parts hold a whole number of frames and never exceed the announced part target. */
static int frames_per_part(int part_ms, double frame_ms)
{
    int n = (int)(part_ms / frame_ms + 0.5);

    return n < 1 ? 1 : n;
}

static double frame_ms_of(const AVCodecContext *enc)
{
    return 1000.0 / (enc->framerate.num ? av_q2d(enc->framerate) : 30);
}

double rl_packager_part_target(int part_ms, const AVCodecContext *const *enc, int nrungs)
{
    double worst = 0, ms;

    for (int i = 0; i < nrungs; i++) {
        ms = frames_per_part(part_ms, frame_ms_of(enc[i])) * frame_ms_of(enc[i]);
        worst = ms > worst ? ms : worst;
    }
    return (worst > 0 ? worst : part_ms) / 1000;
}

static void part_geometry(rl_packager_t *p, rung_mux_t *rm, const AVCodecContext *enc)
{
    rm->frame_ms = frame_ms_of(enc);
    rm->frames_per_part = frames_per_part(p->part_ms, rm->frame_ms);
}

static int open_rung(rl_packager_t *p, int i, const AVCodecContext *enc,
                     const AVCodecParameters *audio)
{
    rung_mux_t *rm = &p->r[i];
    AVDictionary *opts = NULL;
    uint8_t *iobuf = av_malloc(16384);
    rl_blob_t *init;
    int rc;

    if (!iobuf || (rc = avformat_alloc_output_context2(&rm->oc, NULL, "mp4", NULL)) < 0)
        return av_free(iobuf), AVERROR(ENOMEM);
    if (!(rm->oc->pb = avio_alloc_context(iobuf, 16384, 1, rm, NULL, write_cb, NULL)))
        return av_free(iobuf), AVERROR(ENOMEM);
    rm->oc->flags |= AVFMT_FLAG_CUSTOM_IO;
    if (!(rm->tmp = av_packet_alloc()) || (rc = add_streams(rm, enc, audio)) < 0)
        return rm->tmp ? rc : AVERROR(ENOMEM);
    av_dict_set(&opts, "movflags", "frag_custom+empty_moov+default_base_moof+skip_trailer", 0);
    rc = avformat_write_header(rm->oc, &opts);
    av_dict_free(&opts);
    if (rc < 0)
        return rc;
    part_geometry(p, rm, enc);
    rm->first_dts = rm->last_audio_dts = INT64_MIN;
    rm->msn = p->next_msn;
    rm->discontinuity = p->configured;
    if (!(init = take(rm)))
        return AVERROR(ENOMEM);
    p->cb.on_init(p->cb.opaque, i, p->init_id, init); /* hands over init */
    return 0;
}

int rl_packager_configure(rl_packager_t *p, const AVCodecContext *const *enc, int nrungs,
                          const AVCodecParameters *audio)
{
    int rc;

    if (p->configured && (rc = rl_packager_finish(p)) < 0)
        return rc;
    for (int i = 0; i < p->nrungs; i++)
        close_rung(&p->r[i]);
    p->init_id = p->next_init_id++;
    p->nrungs = nrungs;
    for (int i = 0; i < nrungs; i++)
        if ((rc = open_rung(p, i, enc[i], audio)) < 0) {
            rl_err("packager", "rung=%d error=\"%s\"", i, av_err2str(rc));
            return rc;
        }
    p->configured = 1;
    return 0;
}

/* ago_ms: how long before now the frame with this pts was made. */
static int64_t pdt_of(rl_packager_t *p, int64_t pts, int64_t ago_ms)
{
    if (!p->anchored) {
        p->anchor_pts = pts;
        p->anchor_wall = rl_wall_ms() - ago_ms;
        p->anchored = 1;
    }
    return p->anchor_wall + (pts - p->anchor_pts);
}

void rl_packager_frame_times(rl_packager_t *p, int64_t pts, int key, int64_t *pdt_ms,
                             int64_t *media_ms)
{
    if (p->origin_due && key) {
        p->origin = pts;
        p->origin_due = 0;
    }
    *pdt_ms = pdt_of(p, pts, 0);
    *media_ms = pts - p->origin;
}

void rl_packager_restart_due(rl_packager_t *p)
{
    p->anchored = 0;
    p->origin_due = 1;
}

static int flush_part(rl_packager_t *p, int i)
{
    rung_mux_t *rm = &p->r[i];
    rl_part_info_t info;
    rl_blob_t *data;
    int rc;

    if (!rm->part_frames)
        return 0;
    if ((rc = av_write_frame(rm->oc, NULL)) < 0) /* frag_custom: cut the fragment here */
        return rc;
    if (!(data = take(rm)))
        return AVERROR(ENOMEM);
    info = (rl_part_info_t){ .rung = i,
                             .msn = rm->msn,
                             .index = rm->part_index++,
                             .duration = rm->part_frames * rm->frame_ms / 1000,
                             .independent = rm->part_index == 1,
                             .pdt_ms = pdt_of(p, rm->part_start,
                                              (int64_t)(rm->part_frames * rm->frame_ms)),
                             .init_id = p->init_id,
                             .discontinuity = rm->discontinuity && rm->part_index == 1,
                             .arrival_us = rm->last_arrival };
    rm->discontinuity = 0;
    rm->seg_dur += info.duration;
    rm->part_frames = 0;
    p->cb.on_part(p->cb.opaque, &info, data); /* hands over data */
    return 0;
}

static int end_segment(rl_packager_t *p, int i)
{
    rung_mux_t *rm = &p->r[i];
    int rc = flush_part(p, i);

    if (rc < 0 || !rm->in_segment)
        return rc;
    p->cb.on_segment(p->cb.opaque, i, rm->msn, rm->seg_dur);
    rm->msn++;
    rm->in_segment = 0;
    if (rm->msn > p->next_msn)
        p->next_msn = rm->msn;
    return 0;
}

static int write_packet(rung_mux_t *rm, int st, AVPacket *pkt, int64_t duration_ms)
{
    AVStream *s = rm->oc->streams[st];
    int rc;

    if ((rc = av_packet_ref(rm->tmp, pkt)) < 0)
        return rc;
    rm->tmp->stream_index = st;
    if (duration_ms > 0)
        rm->tmp->duration = duration_ms;
    av_packet_rescale_ts(rm->tmp, (AVRational){ 1, 1000 }, s->time_base);
    rc = av_write_frame(rm->oc, rm->tmp);
    av_packet_unref(rm->tmp);
    return rc;
}

int rl_packager_video(rl_packager_t *p, int i, AVPacket *pkt)
{
    rung_mux_t *rm = &p->r[i];
    int rc;

    if (i >= p->nrungs || !rm->oc)
        return AVERROR(EINVAL);
    if (pkt->flags & AV_PKT_FLAG_KEY) {
        if ((rc = end_segment(p, i)) < 0)
            return rc;
        rm->in_segment = 1;
        rm->part_index = 0;
        rm->seg_dur = 0;
    } else if (!rm->in_segment) {
        return 0; /* nothing is playable before the first keyframe */
    }
    if (rm->first_dts == INT64_MIN)
        rm->first_dts = pkt->dts;
    if (!rm->part_frames)
        rm->part_start = pkt->pts;
    rm->last_arrival = (int64_t)(intptr_t)pkt->opaque;
    if ((rc = write_packet(rm, rm->vst, pkt, (int64_t)(rm->frame_ms + 0.5))) < 0)
        return rc;
    if (++rm->part_frames >= rm->frames_per_part)
        return flush_part(p, i);
    return 0;
}

int rl_packager_audio(rl_packager_t *p, AVPacket *pkt)
{
    int rc;

    for (int i = 0; i < p->nrungs; i++) {
        rung_mux_t *rm = &p->r[i];
        /* Audio from before the muxer's first video frame would give the track a negative start,
         * which fMP4 fragments cannot express without an edit list. */
        if (rm->ast < 0 || !rm->in_segment || pkt->dts < rm->first_dts)
            continue;
        if (pkt->dts <= rm->last_audio_dts)
            continue; /* a publisher's clock went back: the muxer takes no earlier audio */
        rm->last_audio_dts = pkt->dts;
        if ((rc = write_packet(rm, rm->ast, pkt, 0)) < 0)
            return rc;
    }
    return 0;
}

int rl_packager_finish(rl_packager_t *p)
{
    int rc;

    for (int i = 0; i < p->nrungs; i++)
        if ((rc = end_segment(p, i)) < 0)
            return rc;
    return 0;
}

uint64_t rl_packager_next_msn(const rl_packager_t *p)
{
    return p->next_msn;
}

int rl_packager_next_init_id(const rl_packager_t *p)
{
    return p->next_init_id;
}

void rl_packager_free(rl_packager_t **pp)
{
    rl_packager_t *p = *pp;

    if (!p)
        return;
    for (int i = 0; i < p->nrungs; i++)
        close_rung(&p->r[i]);
    free(p);
    *pp = NULL;
}
