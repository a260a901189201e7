/* The network thread's shared state: its loop, the lws context, Redis, the registries, counters.
 *
 * Everything here belongs to the network thread: the libuv loop that libwebsockets and hiredis
 * share, the stream registry, the ingest sessions, the requests in flight. Media workers reach it
 * only through uv_async_send on `wake`. Modules of the network thread include this header for the
 * state; what builds and runs it is relay/relay.c, which nothing includes. */
#ifndef RELAY_SERVER_H
#define RELAY_SERVER_H

#include <libwebsockets.h>
#include <stdint.h>
#include <uv.h>

#include "relay/core/clock.h"
#include "relay/core/config.h"
#include "relay/media/transcode.h"

typedef struct rl_redis_s rl_redis_t;
typedef struct rl_stream_s rl_stream_t;
typedef struct rl_ingest_s rl_ingest_t;
typedef struct rl_media_s rl_media_t;
typedef struct rl_route_s rl_route_t;

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
    uint64_t publish_offline; /* accepted on a key known to this node while Redis was down */
    uint64_t http_requests;
    uint64_t http_status[6]; /* responses written, by status class: [2] is 2xx; [0] other */
} rl_counters_t;

typedef struct rl_server_s {
    rl_config_t *cfg;
    char operator_token[128];
    uv_loop_t loop;
    uv_signal_t sig_term, sig_int;
    uv_timer_t tick; /* 1 Hz: timeouts and rates */
    /* 4 Hz while anything waits on Redis (hiredis 0.14 has no timeouts); stopped when nothing
     * does, so that an idle node wakes only for its tick: see rl_server_deadline_set */
    uv_timer_t deadlines;
    uv_timer_cb deadlines_cb; /* relay.c's */
    uv_async_t wake;          /* media workers that finished */
    struct lws_context *ctx;
    rl_redis_t *redis;
    struct rl_commerce_s *commerce; /* relay/commerce: the library, the subscriber, card states */
    struct rl_hub_s *hub;           /* relay/signal: the WebSocket hub */
    /* An order Redis counted (the commerce subscriber's event), for the pages' ticker: relay.c
     * points it at the hub, which commerce does not know. */
    void (*on_order)(struct rl_server_s *srv, const char *id, const char *product, int64_t qty);
    rl_stream_t **streams;
    int nstreams, streams_cap;
    rl_ingest_t *ingests; /* linked list of RTMP connections */
    rl_ingest_t *pending; /* of those, the ones that may give way to a new one (ingest.c) */
    int ningests;
    int ningests_closing;                /* of those, closing: their slot is free already */
    uint64_t shed_logged[RL_SHED_KINDS]; /* counters.rtmp_shed as last logged */
    char shed_peer[RL_SHED_KINDS][64];   /* the last connection shed, of each kind */
    uint64_t next_ingest_id;
    struct rl_rtmp_listener_s *rtmp_listener; /* plain RTMP's own listening socket (ingest/tcp.c) */
    rl_media_t **retired; /* workers finishing after their stream went offline */
    int nretired, retired_cap;
    struct rl_http_req_s *http_pending; /* HTTP requests waiting for Redis */
    struct rl_http_req_s *hls_waiting;  /* HLS requests waiting for media */
    const rl_route_t *routes;           /* the HTTP route table (relay/routes/routes.c) */
    size_t nroutes;
    uint64_t next_http_id;
    rl_rung_t rungs[RL_MAX_RUNGS]; /* the ladder, parsed from the config */
    int nrungs;
    rl_counters_t counters;
    struct lws_protocols http_protocols[3]; /* the HTTP vhost's: HTTP, shopcast.v1, end */
    int stopping;
} rl_server_t;

static inline rl_server_t *rl_server_from_wsi(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

#define RL_DEADLINES_MS 250

/* Something now waits on Redis with a deadline: the deadline timer runs until nothing does. */
static inline void rl_server_deadline_set(rl_server_t *srv)
{
    if (!srv->stopping && srv->deadlines_cb && !uv_is_active((uv_handle_t *)&srv->deadlines))
        uv_timer_start(&srv->deadlines, srv->deadlines_cb, RL_DEADLINES_MS, RL_DEADLINES_MS);
}

#endif
