/* Filler: a "back soon" slate and silent audio while a stream's publisher is away.
 *
 * Media time follows the wall clock from the moment the filler starts, so the playlists advance
 * in real time: due(now) = start_ms + (now - start_wall). The slate stays clean: each frame is a
 * fresh copy of it, so the card burnt into one frame never stays in the next, and the card over
 * the slate keeps changing as orders come in. */
#include "relay/media/filler.h"

#include <errno.h>
#include <libavutil/channel_layout.h>
#include <stdlib.h>
#include <string.h>

#include "relay/media/audio.h"
#include "relay/core/clock.h"
#include "relay/core/log.h"
#include "overlay/slate.h"

struct rl_filler_s {
    rl_transcode_t *tc;   /* borrowed */
    rl_packager_t *pk;    /* borrowed */
    AVFrame *slate;       /* the clean picture, never composed on */
    AVFrame *canvas;      /* this frame's copy of it */
    AVCodecContext *aenc; /* silent AAC; NULL without audio */
    AVFrame *silence;
    AVPacket *pkt;
    double frame_ms;
    int64_t start_ms, audio_ms, last_ms, next_video_ms, samples, out_samples, frames;
    double start_wall;
};

/* An AAC-LC encoder matching the publisher's rate and channels, and one silent frame for it. */
static int open_silence(rl_filler_t *f, const AVCodecParameters *a)
{
    AVCodecContext *c;
    int rc;

    if ((rc = rl_aac_open(&f->aenc, a, 32000)) < 0)
        return rc;
    c = f->aenc;
    if (!(f->silence = av_frame_alloc()))
        return AVERROR(ENOMEM);
    f->silence->format = AV_SAMPLE_FMT_FLTP;
    f->silence->nb_samples = c->frame_size;
    f->silence->sample_rate = c->sample_rate;
    if ((rc = av_channel_layout_copy(&f->silence->ch_layout, &c->ch_layout)) < 0 ||
        (rc = av_frame_get_buffer(f->silence, 0)) < 0)
        return rc;
    return av_samples_set_silence(f->silence->data, 0, f->silence->nb_samples,
                                  c->ch_layout.nb_channels, AV_SAMPLE_FMT_FLTP);
}

rl_filler_t *rl_filler_new(rl_transcode_t *tc, rl_packager_t *pk, const AVCodecParameters *audio,
                           int64_t video_ms, int64_t audio_ms)
{
    rl_filler_t *f = calloc(1, sizeof(*f));
    int w, h, fmt, rc;
    AVRational fps;

    if (!f || rl_transcode_source(tc, &w, &h, &fmt, &fps) < 0)
        goto fail;
    *f = (rl_filler_t){ .tc = tc,
                        .pk = pk,
                        .frame_ms = 1000 / av_q2d(fps),
                        .start_ms = video_ms,
                        .audio_ms = audio_ms,
                        .last_ms = video_ms,
                        .next_video_ms = video_ms,
                        .start_wall = rl_now() * 1000 };
    if (!(f->pkt = av_packet_alloc()) ||
        !(f->slate = ov_slate_render(w, h, fmt, "Back soon",
                                     "马上回来 · The live sale resumes shortly")) ||
        !(f->canvas = av_frame_alloc()) || av_frame_ref(f->canvas, f->slate) < 0)
        goto fail;
    if (audio && audio->codec_id == AV_CODEC_ID_AAC && audio->sample_rate > 0 &&
        (rc = open_silence(f, audio)) < 0) {
        rl_warn("filler_audio", "error=\"%s\"", av_err2str(rc));
        avcodec_free_context(&f->aenc);
    }
    return f;
fail:
    rl_filler_free(&f);
    return NULL;
}

static void to_packager(void *pk, AVPacket *pkt)
{
    rl_packager_audio(pk, pkt);
}

static void send_audio_until(rl_filler_t *f, int64_t due)
{
    AVCodecContext *c = f->aenc;

    while (c && f->audio_ms + f->samples * 1000 / c->sample_rate <= due) {
        f->silence->pts = f->samples;
        f->samples += f->silence->nb_samples;
        if (rl_aac_encode(c, f->silence, f->pkt, f->audio_ms, &f->out_samples, to_packager, f->pk) <
            0)
            return;
    }
}

/* The clean slate in the canvas's own buffers (new ones when the encoders still hold the last). */
static int fresh_canvas(rl_filler_t *f)
{
    int rc;

    av_frame_remove_side_data(f->canvas, AV_FRAME_DATA_SEI_UNREGISTERED);
    if ((rc = av_frame_make_writable(f->canvas)) < 0 ||
        (rc = av_frame_copy(f->canvas, f->slate)) < 0) {
        rl_warn("filler_frame", "error=\"%s\"", av_err2str(rc));
        return rc;
    }
    return 0;
}

int rl_filler_run(rl_filler_t *f)
{
    int64_t due = f->start_ms + (int64_t)(rl_now() * 1000 - f->start_wall);

    while (f->next_video_ms <= due) {
        if (fresh_canvas(f) == 0) { /* else the frame is skipped, and time goes on */
            f->canvas->pts = f->next_video_ms;
            rl_transcode_frame(f->tc, f->canvas);
        }
        f->last_ms = f->next_video_ms;
        f->next_video_ms = f->start_ms + (int64_t)(++f->frames * f->frame_ms + 0.5);
    }
    send_audio_until(f, due);
    return (int)(f->next_video_ms - due);
}

int64_t rl_filler_last_ms(const rl_filler_t *f)
{
    return f->last_ms;
}

void rl_filler_free(rl_filler_t **pf)
{
    rl_filler_t *f = *pf;

    if (!f)
        return;
    av_frame_free(&f->canvas);
    av_frame_free(&f->slate);
    av_frame_free(&f->silence);
    if (f->aenc) /* drain, so nothing is left queued */
        rl_aac_encode(f->aenc, NULL, f->pkt, 0, &f->out_samples, NULL, NULL);
    avcodec_free_context(&f->aenc);
    av_packet_free(&f->pkt);
    free(f);
    *pf = NULL;
}
