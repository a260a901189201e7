/* The WebSocket hub (/ws, shopcast.v1): one ring of messages per stream, a tail per client.
 *
 * Network thread only. Every stream that has subscribers, or events, has a channel: its epoch,
 * its last offset and a ring of encoded messages (relay/signal/ring.h), each encoded once and
 * shared by reference. A client is a position in its channel's ring; each writeable callback
 * sends one message (one lws_write). A client that falls too far behind is closed (4008) before
 * the ring overwrites what it has not sent, so its resume still finds it, and no per-client queue
 * exists to grow. The hub learns of media and card changes after each drain of a stream's HLS
 * window, of orders from the commerce subscriber, and of the rest on the 1 Hz tick. */
#ifndef RELAY_SIGNAL_HUB_H
#define RELAY_SIGNAL_HUB_H

#include <libwebsockets.h>
#include <stdint.h>

#include "relay/live/stream.h"
#include "relay/net/server.h"

typedef struct rl_hub_s rl_hub_t;

int rl_hub_init(rl_server_t *srv, char *err, size_t errlen);
/* Shutting down: closes every client with 1001 (before lws_context_destroy). */
void rl_hub_close_all(rl_server_t *srv);
void rl_hub_free(rl_server_t *srv);

/* The lws protocol of the HTTP vhost for shopcast.v1 (rl_hub_protocol: one entry, not
 * terminated: relay.c lists it after the HTTP protocol). */
int rl_hub_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);
extern const struct lws_protocols rl_hub_protocol;

/* After a drain of st's HLS window changed it: new parts, segments, card stamps, the state. */
void rl_hub_media_changed(rl_server_t *srv, rl_stream_t *st);
/* An order Redis counted for stream id (the commerce subscriber's event). */
void rl_hub_order(rl_server_t *srv, const char *id, const char *product, int64_t qty);
/* Once a second: stream states, viewers, operators' health, pings and idle clients, and channels
 * of streams that were deleted. */
void rl_hub_tick(rl_server_t *srv);

/* An HLS request of st from a client (peer address, User-Agent): counted among the viewers for
 * the next 10 s unless it is also a WebSocket viewer. Counters, not lists: a bitmap per window
 * (linear counting), so many viewers behind one address with the same browser count once. */
void rl_hub_hls_seen(rl_server_t *srv, rl_stream_t *st, const char *peer, const char *ua);
/* Viewers of st now: WebSocket viewers plus HLS-only sessions. */
int64_t rl_hub_viewers(rl_server_t *srv, const rl_stream_t *st);

/* What /metrics reports of the hub. */
typedef struct rl_hub_stats_s {
    uint64_t clients, operators, channels;
    uint64_t accepted, refused_origin, refused_full;
    uint64_t messages_in, messages_out, bytes_out;
    uint64_t closed_slow, closed_flood, closed_idle, closed_too_big, closed_forbidden,
        closed_unknown;
    uint64_t errors, resumes_recovered, resumes_failed;
} rl_hub_stats_t;
void rl_hub_stats(const rl_server_t *srv, rl_hub_stats_t *out);

#endif
