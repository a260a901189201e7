/* The shopcast server: the one network thread's loop, and what lives on it.
 *
 * Everything here belongs to the network thread: the libuv loop that libwebsockets and hiredis
 * share, the stream registry, the ingest sessions. Media workers reach it only through
 * uv_async_send on `wake`. */
#ifndef RELAY_SERVER_H
#define RELAY_SERVER_H

#include <libwebsockets.h>
#include <stdint.h>
#include <uv.h>

#include "clock.h"
#include "config.h"
#include "transcode.h"

typedef struct rl_redis_s rl_redis_t;
typedef struct rl_stream_s rl_stream_t;
typedef struct rl_ingest_s rl_ingest_t;
typedef struct rl_media_s rl_media_t;

/* Why an RTMP connection was shed: closed to admit a newer one, or refused. */
typedef enum rl_shed_e {
    RL_SHED_TABLE_FULL, /* evicted: rtmp-max-connections reached */
    RL_SHED_PER_IP,     /* evicted: rtmp-max-pending-per-ip reached for its source */
    RL_SHED_REFUSED,    /* refused: the table is full of publishers */
    RL_SHED_KINDS
} rl_shed_t;

typedef struct rl_counters_s {
    uint64_t rtmp_accepted;
    uint64_t rtmp_shed[RL_SHED_KINDS];
    uint64_t rtmp_hung_up; /* closing connections whose socket never drained, shut down */
    uint64_t rtmp_closed_error;
    uint64_t publish_ok;
    uint64_t publish_rejected;
    uint64_t publish_replaced;
    uint64_t http_requests;
} rl_counters_t;

typedef struct rl_server_s {
    rl_config_t *cfg;
    char operator_token[128];
    uv_loop_t loop;
    uv_signal_t sig_term, sig_int;
    uv_timer_t tick; /* 1 Hz: timeouts and rates */
    uv_async_t wake; /* media workers that finished */
    struct lws_context *ctx;
    rl_redis_t *redis;
    rl_stream_t **streams;
    int nstreams, streams_cap;
    rl_ingest_t *ingests; /* linked list of RTMP connections */
    rl_ingest_t *pending; /* of those, the ones that may give way to a new one (ingest.c) */
    int ningests;
    int ningests_closing;                /* of those, closing: their slot is free already */
    uint64_t shed_logged[RL_SHED_KINDS]; /* counters.rtmp_shed as last logged */
    char shed_peer[RL_SHED_KINDS][64];   /* the last connection shed, of each kind */
    uint64_t next_ingest_id;
    rl_media_t **retired; /* workers finishing after their stream went offline */
    int nretired, retired_cap;
    struct rl_http_req_s *http_pending; /* HTTP requests waiting for Redis */
    struct rl_http_req_s *hls_waiting;  /* HLS requests waiting for media */
    uint64_t next_http_id;
    rl_rung_t rungs[RL_MAX_RUNGS]; /* the ladder, parsed from the config */
    int nrungs;
    rl_counters_t counters;
    int stopping;
} rl_server_t;

/* Builds the loop, the lws context with its vhosts, and the Redis connection.
 * Returns 0 or a negative error with err filled. */
int rl_server_init(rl_server_t *srv, rl_config_t *cfg, char *err, size_t errlen);
/* Runs until SIGTERM or SIGINT, then tears everything down. */
int rl_server_run(rl_server_t *srv);
/* Tears down what a failed rl_server_init built. */
void rl_server_abort(rl_server_t *srv);

rl_server_t *rl_server_from_wsi(struct lws *wsi);

/* Hands a media worker over to be joined once its thread exits. */
void rl_server_retire_media(rl_server_t *srv, rl_media_t *m);

#endif
