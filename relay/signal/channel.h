/* A stream's channel in the WebSocket hub: its history (epoch, offsets, ring) and its clients.
 *
 * Internal to relay/signal: hub.c runs the connections, channel.c turns what the stream does
 * (media notices, the card's stamps, its state, orders, viewers, health) into messages, each
 * encoded once and pushed on the ring; pushing wakes every client that has caught up. */
#ifndef RELAY_SIGNAL_CHANNEL_H
#define RELAY_SIGNAL_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto/signal.h"
#include "relay/live/stream.h"
#include "relay/media/hls_live.h"
#include "relay/net/server.h"
#include "relay/signal/hub.h"
#include "relay/signal/ring.h"

#define RL_VIEWER_BITS 4096 /* linear counting: about 1% error up to a few thousand sessions */
#define RL_DIRECT_MAX  4    /* hello, resumed, pong, error waiting for one client */

typedef struct rl_channel_s rl_channel_t;

typedef struct rl_client_s {
    struct rl_client_s *next, *prev; /* in its channel's list, or the hub's lobby */
    struct lws *wsi;
    rl_channel_t *ch; /* NULL until subscribed */
    sig_role_t role;
    uint64_t pos;        /* the ring position it sends next */
    uint64_t replay_end; /* transient messages before it are not replayed after a resume */
    rl_blob_t *direct[RL_DIRECT_MAX];
    int ndirect;
    char *rx; /* a message arriving in fragments */
    size_t rx_len;
    int armed; /* a writeable callback is asked for */
    int close_code;
    double close_at; /* rl_now() when the close was decided; 0: none */
    double last_rx, last_ping;
    int ping_due;
    double ping_spread;       /* in [0, 1): how much later than ws-ping-s this client is pinged */
    double tokens, tokens_at; /* messages it may still send (flood bucket) */
    uint32_t key;             /* hash of its address and User-Agent, for counting viewers */
    int in_lobby;
    int flooded; /* asked for more than it reads: closed at the end of its receive callback */
    int gone;    /* lws is closing it (a receive callback returned -1, or the peer closed) */
    int placed;  /* its hello or resumed is queued and pos set: the ring may be sent at once */
} rl_client_t;

struct rl_channel_s {
    rl_channel_t *next;
    char id[SIG_ID_MAX];
    char epoch[SIG_EPOCH_MAX];
    uint64_t offset; /* the last event's */
    rl_ring_t ring;
    rl_client_t *clients;
    int nviewers, noperators;
    /* the stream as last announced */
    sig_state_t state;
    int64_t since_ms;
    int state_known;
    rl_stamp_t stamp; /* the card's last stamp announced */
    int has_stamp;
    sig_merge_t sold_merge, viewers_merge;
    int64_t viewers_sent;
    rl_hls_news_t last_part, last_seg;
    int has_part, has_seg;
    /* viewers: HLS sessions seen in the current and the last 10 s window, WebSocket viewers */
    uint64_t hls_bits[2][RL_VIEWER_BITS / 64];
    uint16_t ws_keys[RL_VIEWER_BITS]; /* WebSocket viewers per key bit, kept as they come and go */
    int64_t hls_window;               /* which 10 s window hls_bits[0] is */
    /* orders counted in each of the last 60 seconds */
    uint32_t orders_sec[60];
    int64_t orders_sec_at;
};

struct rl_hub_s {
    rl_channel_t *channels;
    int nchannels;
    rl_client_t *lobby; /* connected, not subscribed yet */
    int nclients, noperators;
    uv_timer_t merge_timer; /* merged figures (sold, viewers) due */
    int merge_armed;
    int64_t merge_due;
    int closing; /* shutting down: the timer is closed */
    rl_hub_stats_t stats;
    uint8_t *batch; /* LWS_PRE + the frames of one write to one client */
    size_t batch_size;
};

rl_channel_t *rl__channel_get(rl_server_t *srv, const char *id, int create);
void rl__channel_free(rl_server_t *srv, rl_channel_t **ch);
/* Pushes msg (takes the caller's reference) and wakes the clients that had caught up. event: a
 * stream event (gets the next offset: the caller encoded it with rl__channel_next). */
void rl__channel_push(rl_server_t *srv, rl_channel_t *ch, int event, unsigned flags,
                      rl_blob_t *msg);
/* The head of the next stream event. */
sig_head_t rl__channel_next(const rl_channel_t *ch);
/* A blob holding a message text (frees text), framed (rl_ring_frame). NULL: out of memory. */
rl_blob_t *rl__blob_text(char *text, size_t len);
/* The hello for a client of ch. */
rl_blob_t *rl__channel_hello(rl_server_t *srv, rl_channel_t *ch, sig_role_t role,
                             int recovered_false);
int64_t rl__channel_viewers(rl_server_t *srv, const rl_channel_t *ch);
/* A WebSocket viewer with key joins (+1) or leaves (-1) ch: counted, and the figure offered. */
void rl__channel_viewer(rl_server_t *srv, rl_channel_t *ch, uint32_t key, int delta);
void rl__channel_offer_viewers(rl_server_t *srv, rl_channel_t *ch);
/* hub.c: wakes c if it has something to send; closes it (code) at its next writeable. */
void rl__client_wake(rl_client_t *c);
/* hub.c: c's channel has just pushed a message; c sends it at once when it was waiting for
 * nothing else, or is woken. */
void rl__client_push(rl_hub_t *hub, rl_client_t *c);
void rl__client_close(rl_client_t *c, int code);
void rl__hub_arm_merge(rl_server_t *srv, int64_t due_ms);
/* channel.c, for hub.c: the merged figures now due (returns when the next is due, 0: none); the
 * once-a-second work of a channel; a viewer's key (its address and User-Agent hashed). */
int64_t rl__hub_flush_merges(rl_server_t *srv);
void rl__channel_tick(rl_server_t *srv, rl_channel_t *ch, const rl_stream_t *st);
uint32_t rl__viewer_key(const char *peer, const char *ua);

#endif
