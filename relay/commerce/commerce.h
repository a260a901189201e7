/* Commerce on the relay's side: the shopcast FUNCTION library in Redis, and the card's state.
 *
 * Network thread only. The catalog, the pinned product, flash sales and orders live in Redis
 * (docs/COMMERCE.md); every change is one call of the library, which shopcast loads on each
 * connect. A second Redis connection subscribes to every stream's events; each event carries
 * the snapshot of what the card shows, which becomes a new immutable ov_state_t for the stream's
 * worker. After every (re)subscription each stream's snapshot is reloaded, so an event lost
 * while Redis was away never leaves a stale card; while Redis is down the card keeps the last
 * state Redis confirmed. */
#ifndef RELAY_COMMERCE_H
#define RELAY_COMMERCE_H

#include <jansson.h>
#include <stddef.h>

#include "relay/net/redis.h"
#include "relay/net/server.h"

typedef struct rl_commerce_s rl_commerce_t;

/* Opens the subscriber connection. Returns 0, or a negative error with err filled. */
int rl_commerce_init(rl_server_t *srv, char *err, size_t errlen);
void rl_commerce_free(rl_server_t *srv);
/* The main Redis connection is (again) ready: loads the library, checks durability. */
void rl_commerce_on_ready(rl_server_t *srv);
/* Once a second: loads the snapshot of streams not yet loaded, and of flash sales that ended by
 * their clock; forgets streams that were deleted. */
void rl_commerce_tick(rl_server_t *srv);
/* The library loaded on the current connection: functions may be called. */
int rl_commerce_ready(const rl_server_t *srv);

/* How the orders sent to Redis came out (relay/commerce/orders.c), for /metrics: counted,
 * replayed (the same order_id again), refused as sold out or for a price that changed, refused
 * otherwise (a buyer's limit, an order_id reused, no such product...), not answered (503), or
 * an unexpected reply (500). */
typedef enum rl_order_result_e {
    RL_ORDER_COUNTED,
    RL_ORDER_DUPLICATE,
    RL_ORDER_SOLD_OUT,
    RL_ORDER_PRICE_CHANGED,
    RL_ORDER_REFUSED,
    RL_ORDER_UNAVAILABLE,
    RL_ORDER_FAILED,
    RL_ORDER_RESULTS
} rl_order_result_t;

/* What /metrics reports of commerce. */
typedef struct rl_commerce_stats_s {
    int library_loaded, subscriber_up;
    uint64_t events, reloads, states, images, bad_images;
    uint64_t orders[RL_ORDER_RESULTS];
} rl_commerce_stats_t;
void rl_commerce_stats(const rl_server_t *srv, rl_commerce_stats_t *st);

/* The stream's own hash, "<prefix>stream:{<id>}": the one key every function takes. */
void rl_commerce_key(const rl_server_t *srv, const char *id, char *dst, size_t size);

/* Calls the library's function fn ("shopcast_pin") for stream id with args (lens: their
 * lengths, for bytes; NULL: strings), as FCALL, or FCALL_RO when ro. At most 16 args. Returns
 * 0, or -ENOTCONN when Redis is down or the library is not loaded on this connection yet (cb is
 * then not called). The reply carries token. */
#define RL_COMMERCE_ARGS_MAX 16
int rl_commerce_call(rl_server_t *srv, const char *fn, int ro, const char *id, int argc,
                     const char **args, const size_t *lens, rl_redis_cb cb, void *owner,
                     uint64_t token);

/* The snapshot Redis confirmed last for a stream (docs/COMMERCE.md), borrowed; NULL if none yet. */
const json_t *rl_commerce_snapshot(const rl_server_t *srv, const char *id);

#endif
