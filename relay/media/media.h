/* Media worker: one thread per stream that is on air, fed through a bounded queue from the
 * network thread.
 *
 * The worker lives from the first publish until the stream goes off air (the publisher has been
 * gone for the grace time, or the stream was deleted); publish sessions come and go inside it, so
 * the HLS output continues across reconnects with one timeline. Per session it records to MP4 if
 * asked; throughout, it transcodes the video into the ladder and packages it as CMAF for HLS.
 * The queue holds at most `capacity` packets. When it is full the network thread drops, and the
 * drop is deliberate: audio packets are dropped one by one, video drops until the next keyframe
 * so that nothing downstream decodes a frame whose references were lost. Every drop is counted. */
#ifndef RELAY_MEDIA_H
#define RELAY_MEDIA_H

#include <libavcodec/avcodec.h>
#include <stdatomic.h>
#include <stddef.h>

#include "overlay/state.h"
#include "relay/media/transcode.h"

enum { RL_MEDIA_VIDEO = 0, RL_MEDIA_AUDIO = 1, RL_MEDIA_NB };

typedef struct rl_media_s rl_media_t;
typedef struct rl_hls_s rl_hls_t;
typedef struct rl_rung_s rl_rung_t;

typedef struct rl_media_opts_s {
    const char *stream_id;
    int capacity;           /* packets */
    rl_hls_t *hls;          /* where packaged media goes; the worker takes its own reference */
    const rl_rung_t *rungs; /* the ladder; 0 rungs: no transcoding, no HLS */
    int nrungs;
    const char *preset;
    int segment_ms, part_ms, threads;
    /* Wakes the network thread: called on the worker thread when it posted media to the HLS
     * window and when it exits. Must only wake (uv_async_send). */
    void (*on_done)(void *opaque);
    void *opaque;
} rl_media_opts_t;

typedef struct rl_media_stats_s {
    atomic_uint_fast64_t packets_in;
    atomic_uint_fast64_t dropped;
    atomic_uint_fast64_t frames_encoded; /* per rung, summed */
    atomic_uint_fast64_t decode_errors;
    atomic_uint_fast64_t media_ms;       /* source media time transcoded */
    atomic_uint_fast64_t dropped_no_key; /* video skipped by the decoder until a keyframe */
    /* per rung, in ladder order: encoder speed in thousandths of real time */
    atomic_uint_fast32_t rung_speed_milli[RL_MAX_RUNGS];
    /* mean wall time per frame, in µs, over the session: in the decoder, converting, composing
     * the card, and per rung scaling and encoding (the time budget's server pieces) */
    atomic_uint_fast32_t decode_us, convert_us, compose_us, rung_us[RL_MAX_RUNGS];
} rl_media_stats_t;

/* Starts the worker thread. Returns NULL with err filled on failure. */
rl_media_t *rl_media_start(const rl_media_opts_t *o, char *err, size_t errlen);

/* Network thread only, all of them. A publish session begins (record_path NULL: not recorded)
 * or ends. Never dropped. */
int rl_media_session(rl_media_t *m, const char *record_path);
int rl_media_session_end(rl_media_t *m);

/* A codec configuration for kind; par is copied. Never dropped. */
int rl_media_push_params(rl_media_t *m, int kind, const AVCodecParameters *par);

/* Takes ownership of *pkt (set to NULL) whether queued or dropped.
 * Returns 0, or -ENOBUFS when the packet was dropped (queue full or waiting for a keyframe). */
int rl_media_push_packet(rl_media_t *m, int kind, AVPacket **pkt);

/* Network thread: the newest Redis-confirmed overlay state for the product card; takes over the
 * caller's reference (s may be NULL). The worker takes it at its next frame, without a lock;
 * one published before a frame took the previous one replaces it unseen. */
void rl_media_set_overlay(rl_media_t *m, ov_state_t *s);

/* Off air: the worker drains, closes everything, ends the playlists and exits. */
void rl_media_finish(rl_media_t *m);

int rl_media_exited(rl_media_t *m);
rl_media_stats_t *rl_media_stats(rl_media_t *m);

/* Joins the thread (waiting for it if it has not exited) and frees everything; NULLs *m. */
void rl_media_free(rl_media_t **m);

#endif
