/* Video transcoding for one stream: decode, compose, scale to each rung, encode with libx264.
 *
 * Worker thread only. Keyframes are forced on the same source frame in every rung, at most every
 * segment_ms, so segments line up across the ladder (RFC 8216bis 6.2.4: a client switching
 * renditions needs aligned segment boundaries). No encoder looks ahead (tune=zerolatency): each
 * frame leaves the encoder as soon as it went in. */
#ifndef RELAY_TRANSCODE_H
#define RELAY_TRANSCODE_H

#include <libavcodec/avcodec.h>
#include <stddef.h>

#define RL_MAX_RUNGS 6

typedef struct rl_rung_s {
    char name[16]; /* "720p" */
    int height;
    int bitrate; /* bits per second */
} rl_rung_t;

/* Parses "720p:2500k,360p:800k" (bitrates in k or M, or plain bits), or "off". Returns the
 * number of rungs, tallest first (0 for "off"), or -EINVAL with err filled. */
int rl_ladder_parse(const char *s, rl_rung_t *out, int max, char *err, size_t errlen);

typedef struct rl_transcode_opts_s {
    const AVCodecParameters *src; /* source video: codec, extradata, size */
    const rl_rung_t *rungs;       /* the configured ladder; rungs above the source are dropped */
    int nrungs;
    const char *preset; /* x264 preset, "veryfast" */
    int segment_ms;     /* forced keyframe interval */
    int threads;        /* per encoder; 0: 1 up to 720p, libx264's choice above */
    /* Called for each source frame before scaling, on the full-resolution picture in 8-bit 4:2:0
     * (yuv420p or yuvj420p: any other source is converted first), after the keyframes are
     * decided (pict_type AV_PICTURE_TYPE_I opens a segment): the hook the product card is burned
     * in through. The frame may share its buffers with the decoder: make it writable
     * (av_frame_make_writable) before changing pixels. Its AV_FRAME_DATA_SEI_UNREGISTERED side
     * data reaches every rung's encoder (libx264 udu_sei), and nothing else's does. May be
     * NULL. */
    void (*compose)(void *opaque, AVFrame *frame);
    /* Called for each encoded packet, pts/dts in milliseconds; the packet is borrowed. */
    void (*on_packet)(void *opaque, int rung, AVPacket *pkt);
    void *opaque;
} rl_transcode_opts_t;

typedef struct rl_transcode_s rl_transcode_t;

typedef struct rl_rung_out_s {
    const rl_rung_t *rung;
    int width, height;
    const AVCodecContext *enc; /* codec parameters and extradata for the packager */
} rl_rung_out_t;

typedef struct rl_transcode_stats_s {
    uint64_t frames_in, frames_out, decode_errors, dropped_no_key;
    int generation; /* increments each time the encoders are (re)opened: a new init segment */
    double encode_seconds;              /* wall time spent encoding, all rungs */
    double rung_seconds[RL_MAX_RUNGS];  /* per rung: scaling and encoding */
    uint64_t rung_frames[RL_MAX_RUNGS]; /* per rung: frames encoded */
    /* The other stages of a frame, for the time budget (bench/glass_to_glass.sh): wall time in
     * the decoder (its send and receive calls) over frames_decoded; converting a source that
     * is not 8-bit 4:2:0 and composing the card, over frames (decoded or not: the slate). */
    double decode_seconds, convert_seconds, compose_seconds;
    uint64_t frames_decoded, frames;
} rl_transcode_stats_t;

/* Opens the decoder; encoders open on the first decoded frame, when the real size is known.
 * Returns NULL with err filled. */
rl_transcode_t *rl_transcode_open(const rl_transcode_opts_t *o, char *err, size_t errlen);

/* One source packet (milliseconds). Broken input is counted and skipped until the next keyframe;
 * it never fails the stream. Returns 0 or a negative error from an encoder. */
int rl_transcode_packet(rl_transcode_t *t, const AVPacket *pkt);

/* Encodes a picture that did not come from the decoder (the "back soon" slate), pts in ms. */
int rl_transcode_frame(rl_transcode_t *t, AVFrame *frame);

/* The publisher left: the frames the decoder still holds (reordering delay) are encoded, and the
 * encoders stay open for the slate. */
int rl_transcode_end_input(rl_transcode_t *t);

/* The next frame opens a segment in every rung. */
void rl_transcode_force_key(rl_transcode_t *t);

/* Drains the encoders. */
int rl_transcode_flush(rl_transcode_t *t);

int rl_transcode_rungs(const rl_transcode_t *t, rl_rung_out_t *out, int max);
/* The picture the encoders take; -ENOENT before the first frame opened them. */
int rl_transcode_source(const rl_transcode_t *t, int *width, int *height, int *pix_fmt,
                        AVRational *fps);
const rl_transcode_stats_t *rl_transcode_stats(const rl_transcode_t *t);
void rl_transcode_free(rl_transcode_t **t);

#endif
