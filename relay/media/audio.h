/* Audio that is not AAC (MP3 from older encoders) transcoded to AAC-LC for HLS.
 *
 * Worker thread only. AAC from the publisher never comes here: it is copied, never re-encoded. */
#ifndef RELAY_AUDIO_H
#define RELAY_AUDIO_H

#include <libavcodec/avcodec.h>

typedef struct rl_audio_s rl_audio_t;

/* Opens a decoder for src and an AAC encoder at the same rate and channels. NULL with err set. */
rl_audio_t *rl_audio_open(const AVCodecParameters *src, char *err, size_t errlen);

/* The AAC output's parameters (with its AudioSpecificConfig) for the packager. */
const AVCodecParameters *rl_audio_params(const rl_audio_t *a);

/* One source packet (ms); each AAC packet made is passed to out (ms, borrowed). Returns 0, 1 when
 * the output parameters changed (the init segment must be rebuilt), or a negative error. */
int rl_audio_packet(rl_audio_t *a, const AVPacket *pkt, void (*out)(void *, AVPacket *),
                    void *opaque);

void rl_audio_free(rl_audio_t **a);

/* Opens an AAC-LC encoder with like's sample rate and channel layout into *out (which the caller
 * frees, also on failure). Returns 0 or an AVERROR. */
int rl_aac_open(AVCodecContext **out, const AVCodecParameters *like, int bit_rate);

/* Encodes frame (NULL: drains) with the AAC encoder c, passing each packet to out (NULL: drops
 * it). Packets are stamped in ms from start_ms by the count of samples already out, kept in
 * *out_samples, not by the encoder: its stamps start negative (its priming), which would put
 * audio before the first video frame. Returns 0 or an AVERROR. */
int rl_aac_encode(AVCodecContext *c, const AVFrame *frame, AVPacket *pkt, int64_t start_ms,
                  int64_t *out_samples, void (*out)(void *, AVPacket *), void *opaque);

#endif
