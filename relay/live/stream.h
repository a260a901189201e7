/* Stream registry: every known stream by public id, its live state and what the ingest measures.
 *
 * Network thread only. A stream exists from its creation (POST /api/v1/streams, or loaded from
 * Redis at start) on; it is live while one ingest session publishes to it. The secret key lives in
 * Redis and is checked there; the copy kept here is only for going live while Redis is down. */
#ifndef RELAY_STREAM_H
#define RELAY_STREAM_H

#include <jansson.h>
#include <libavcodec/avcodec.h>
#include <stdint.h>

#include "overlay/state.h"
#include "relay/media/hls_live.h"
#include "relay/media/media.h"
#include "proto/flv.h"
#include "relay/net/server.h"

#define RL_RATE_WINDOW 5 /* seconds over which bitrate and frame rate are measured */

typedef struct rl_stream_s {
    char id[32];
    char title[256];
    char key[64];         /* secret: as Redis last gave it; "" unknown or revoked; never shown */
    rl_ingest_t *ingest;  /* the publisher, NULL while offline */
    rl_media_t *media;    /* its worker, while on air (live, or within the grace time) */
    rl_hls_t *hls;        /* its HLS window, from the first publish until it is deleted */
    double offline_since; /* rl_now() when the last publisher left */
    double live_since;    /* rl_now() */
    double last_media;    /* rl_now() of the last audio or video message */
    uint64_t sessions;    /* publishes so far */
    int forward;          /* packets go to the worker: recording or transcoding is on */
    char peer[64];        /* publisher's address */
    /* formats, as announced by the sequence headers */
    flv_codec_t vcodec, acodec;
    int width, height, profile, level;
    int sample_rate, channels;
    AVCodecParameters *par[RL_MEDIA_NB];
    double meta_fps; /* onMetaData framerate, shown until one is measured */
    char encoder[128];
    /* timestamps: RTMP's 32-bit milliseconds, extended to 64 bits per track */
    uint32_t last_ts[RL_MEDIA_NB];
    int64_t ts_high[RL_MEDIA_NB];
    int ts_seen[RL_MEDIA_NB];
    int64_t last_key_ts, key_interval_ms;
    /* rates: totals, and their values at each of the last RL_RATE_WINDOW ticks */
    uint64_t bytes, vframes, unsupported;
    uint64_t bytes_hist[RL_RATE_WINDOW + 1], frames_hist[RL_RATE_WINDOW + 1];
    int hist_n;
    double kbps, fps;
    ov_state_t *overlay; /* what the card shows, as Redis last confirmed it; NULL: not loaded */
} rl_stream_t;

rl_stream_t *rl_stream_find(rl_server_t *srv, const char *id);
/* Adds a stream, or returns the one with that id (updating the title if one is given). */
rl_stream_t *rl_stream_add(rl_server_t *srv, const char *id, const char *title);
void rl_stream_remove(rl_server_t *srv, rl_stream_t *st);
void rl_stream_free_all(rl_server_t *srv);
/* Joins the workers that went off air and have exited; with wait set, all of them. */
void rl_stream_reap_workers(rl_server_t *srv, int wait);
/* Shutting down: every worker ends its playlists and exits. */
void rl_stream_off_air_all(rl_server_t *srv);

/* Network thread: the product card's new state, as Redis confirmed it; takes over the caller's
 * reference. Replaces st->overlay and hands a reference to the worker if one runs; a worker
 * started later gets the current state as it starts. NULL (nothing known) leaves a running
 * worker's card as it was. */
void rl_stream_set_overlay(rl_server_t *srv, rl_stream_t *st, ov_state_t *s);

/* Network thread: a publisher takes the stream over / leaves it. */
int rl_stream_go_live(rl_server_t *srv, rl_stream_t *st, rl_ingest_t *in, const char *peer);
void rl_stream_go_offline(rl_server_t *srv, rl_stream_t *st, const char *reason);

/* One FLV audio or video tag body from the publisher. Returns 0, or a negative error for input
 * that the stream ignores (counted, never fatal to the connection). */
int rl_stream_media(rl_stream_t *st, int kind, uint32_t ts, const uint8_t *data, size_t len);
void rl_stream_metadata(rl_stream_t *st, double fps, const char *encoder);

/* Once a second: rolls the rate windows. */
void rl_stream_tick(rl_server_t *srv);

/* Public view of a stream (never the key). New reference. */
json_t *rl_stream_json(const rl_stream_t *st);

#endif
