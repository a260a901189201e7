/* Audio that is not AAC transcoded to AAC-LC for HLS.
 *
 * Invariants: decoder output is re-chunked through a FIFO into the encoder's frame size (MP3
 * frames hold 1152 samples, AAC frames 1024); output timestamps count samples from the first
 * input packet, so they stay exact whatever the input frame size. */
#include "relay/media/audio.h"

#include <errno.h>
#include <libavutil/audio_fifo.h>
#include <stdio.h>
#include <stdlib.h>

struct rl_audio_s {
    AVCodecContext *dec, *enc;
    AVCodecParameters *par;
    AVAudioFifo *fifo;
    AVFrame *in, *out;
    AVPacket *pkt;
    int64_t start_ms, samples, out_samples; /* start_ms: INT64_MIN until the first packet */
};

int rl_aac_open(AVCodecContext **out, const AVCodecParameters *like, int bit_rate)
{
    const AVCodec *aac = avcodec_find_encoder(AV_CODEC_ID_AAC);
    AVCodecContext *c;
    int rc;

    if (!aac || !(*out = c = avcodec_alloc_context3(aac)))
        return AVERROR(ENOMEM);
    c->sample_rate = like->sample_rate;
    c->sample_fmt = AV_SAMPLE_FMT_FLTP;
    c->time_base = (AVRational){ 1, c->sample_rate };
    c->bit_rate = bit_rate;
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER; /* the AudioSpecificConfig for the init segment */
    if ((rc = av_channel_layout_copy(&c->ch_layout, &like->ch_layout)) < 0)
        return rc;
    return avcodec_open2(c, aac, NULL);
}

int rl_aac_encode(AVCodecContext *c, const AVFrame *frame, AVPacket *pkt, int64_t start_ms,
                  int64_t *out_samples, void (*out)(void *, AVPacket *), void *opaque)
{
    int rc = avcodec_send_frame(c, frame);

    if (rc < 0)
        return rc;
    while (avcodec_receive_packet(c, pkt) >= 0) {
        pkt->pts = pkt->dts = start_ms + *out_samples * 1000 / c->sample_rate;
        pkt->duration = c->frame_size * 1000 / c->sample_rate;
        *out_samples += c->frame_size;
        if (out)
            out(opaque, pkt);
        av_packet_unref(pkt);
    }
    return 0;
}

/* Opened from the FLV header's rate and channels, so the init segment can describe the audio
 * before the first frame is decoded. */
static int open_encoder(rl_audio_t *a, const AVCodecParameters *src)
{
    int rc = rl_aac_open(&a->enc, src, 128000);

    if (rc < 0)
        return rc;
    a->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, a->enc->ch_layout.nb_channels, 4096);
    if (!a->fifo || !(a->par = avcodec_parameters_alloc()))
        return AVERROR(ENOMEM);
    return avcodec_parameters_from_context(a->par, a->enc);
}

rl_audio_t *rl_audio_open(const AVCodecParameters *src, char *err, size_t errlen)
{
    rl_audio_t *a = calloc(1, sizeof(*a));
    const AVCodec *codec = avcodec_find_decoder(src->codec_id);
    int rc = AVERROR(ENOMEM);

    if (!a || !codec || !(a->dec = avcodec_alloc_context3(codec)) ||
        (rc = avcodec_parameters_to_context(a->dec, src)) < 0 ||
        (rc = avcodec_open2(a->dec, codec, NULL)) < 0 || (rc = open_encoder(a, src)) < 0)
        goto fail;
    a->start_ms = INT64_MIN;
    if (!(a->in = av_frame_alloc()) || !(a->out = av_frame_alloc()) ||
        !(a->pkt = av_packet_alloc()))
        goto fail;
    return a;
fail:
    snprintf(err, errlen, "cannot decode %s audio: %s", avcodec_get_name(src->codec_id),
             codec ? av_err2str(rc) : "no decoder");
    rl_audio_free(&a);
    return NULL;
}

const AVCodecParameters *rl_audio_params(const rl_audio_t *a)
{
    return a->par;
}

/* Decoded audio must match what the encoder was opened for; MP3 decoders give planar float. */
static int matches(const rl_audio_t *a, const AVFrame *f)
{
    return f->format == AV_SAMPLE_FMT_FLTP && f->sample_rate == a->enc->sample_rate &&
           f->ch_layout.nb_channels == a->enc->ch_layout.nb_channels;
}

static int encode_ready(rl_audio_t *a, void (*out)(void *, AVPacket *), void *opaque)
{
    int n = a->enc->frame_size, rc;

    while (av_audio_fifo_size(a->fifo) >= n) {
        av_frame_unref(a->out);
        a->out->nb_samples = n;
        a->out->format = AV_SAMPLE_FMT_FLTP;
        a->out->sample_rate = a->enc->sample_rate;
        if ((rc = av_channel_layout_copy(&a->out->ch_layout, &a->enc->ch_layout)) < 0 ||
            (rc = av_frame_get_buffer(a->out, 0)) < 0)
            return rc;
        av_audio_fifo_read(a->fifo, (void **)a->out->data, n);
        a->out->pts = a->samples;
        a->samples += n;
        if ((rc = rl_aac_encode(a->enc, a->out, a->pkt, a->start_ms, &a->out_samples, out,
                                opaque)) < 0)
            return rc;
    }
    return 0;
}

/* The FLV header cannot say 48 kHz (its rate field stops at 44), so the decoded audio is the
 * truth: the encoder follows it. Returns 1 when it had to change, < 0 on error. */
static int reopen(rl_audio_t *a, const AVFrame *f)
{
    AVCodecParameters *p = avcodec_parameters_alloc();
    int rc;

    if (!p)
        return AVERROR(ENOMEM);
    if (f->format != AV_SAMPLE_FMT_FLTP) {
        avcodec_parameters_free(&p);
        return AVERROR(ENOTSUP); /* FFmpeg's MP3 decoders give planar float */
    }
    p->sample_rate = f->sample_rate;
    if ((rc = av_channel_layout_copy(&p->ch_layout, &f->ch_layout)) >= 0) {
        avcodec_free_context(&a->enc);
        avcodec_parameters_free(&a->par);
        av_audio_fifo_free(a->fifo);
        a->fifo = NULL;
        a->samples = a->out_samples = 0;
        a->start_ms = INT64_MIN;
        rc = open_encoder(a, p);
    }
    avcodec_parameters_free(&p);
    return rc < 0 ? rc : 1;
}

int rl_audio_packet(rl_audio_t *a, const AVPacket *pkt, void (*out)(void *, AVPacket *),
                    void *opaque)
{
    int rc, changed = 0;

    if ((rc = avcodec_send_packet(a->dec, pkt)) < 0)
        return 0; /* a broken frame is skipped; the next one decodes on its own */
    while (avcodec_receive_frame(a->dec, a->in) >= 0) {
        if (!matches(a, a->in) && (rc = reopen(a, a->in)) < 0)
            return rc;
        changed |= rc > 0;
        if (a->start_ms == INT64_MIN)
            a->start_ms = pkt->pts;
        if ((rc = av_audio_fifo_write(a->fifo, (void **)a->in->data, a->in->nb_samples)) < 0)
            return rc;
        av_frame_unref(a->in);
        /* After a change the samples wait in the FIFO until the caller has rebuilt the init
         * segment for the new format. */
        if (!changed && (rc = encode_ready(a, out, opaque)) < 0)
            return rc;
    }
    return changed;
}

void rl_audio_free(rl_audio_t **pa)
{
    rl_audio_t *a = *pa;

    if (!a)
        return;
    if (a->enc && a->pkt) /* leave nothing queued */
        rl_aac_encode(a->enc, NULL, a->pkt, 0, &a->out_samples, NULL, NULL);
    avcodec_free_context(&a->dec);
    avcodec_free_context(&a->enc);
    avcodec_parameters_free(&a->par);
    if (a->fifo)
        av_audio_fifo_free(a->fifo);
    av_frame_free(&a->in);
    av_frame_free(&a->out);
    av_packet_free(&a->pkt);
    free(a);
    *pa = NULL;
}
