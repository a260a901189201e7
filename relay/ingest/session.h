/* Inside relay/ingest/: an RTMP connection's state, shared by the session logic (ingest.c) and
 * the transport of plain RTMP (tcp.c). RTMPS connections are lws raw sockets (wsi set, tcp NULL);
 * plain ones are libuv TCP handles of our own (tcp set, wsi NULL). */
#ifndef RELAY_INGEST_SESSION_H
#define RELAY_INGEST_SESSION_H

#include <libwebsockets.h>
#include <stdint.h>

#include "proto/rtmp_session.h"
#include "relay/net/peer.h"
#include "relay/net/server.h"

typedef struct rl_tcp_conn_s rl_tcp_conn_t;

struct rl_ingest_s {
    /* what make_room reads of each pending connection, together at the front */
    rl_ingest_t *pending_next, **pending_pprev; /* on srv->pending, or NULL */
    uint64_t id;
    rl_peer_key_t source;
    rtmp_session_t rtmp;
    rl_ingest_t *next, **pprev; /* on srv->ingests */
    int closing;                /* close once its replies are sent */
    int published;              /* has published at least once */
    rl_server_t *srv;
    struct lws *wsi;    /* RTMPS */
    rl_tcp_conn_t *tcp; /* plain RTMP */
    char peer[64];
    double created, last_media, closing_since;
    double lookup_deadline; /* while the key lookup waits on Redis; 0 otherwise */
    rl_stream_t *stream;    /* publishing on, or NULL */
    const char *close_reason;
    int evicted; /* shed for a newer connection: nothing more is read or written */
    int hung_up; /* closing took too long: its socket was shut down */
    int ended;   /* rl_ingest_ending has run */
    char key[RTMP_MAX_NAME + 1];
};

/* ingest.c, for a transport */

/* A new connection from peer (a numeric address): NULL when it is refused (counted, and logged
 * once a second) or there is no memory; the caller then closes it. */
rl_ingest_t *rl_ingest_admit(rl_server_t *srv, const char *peer);
/* Feeds what was read; returns -1 when the connection must close now (in->close_reason says why,
 * NULL for a peer that hung up). */
int rl_ingest_rx(rl_ingest_t *in, const uint8_t *buf, size_t len);
/* Its socket is about to close: it holds no slot any more (nothing accepted after it, even in
 * the same turn of the loop, evicts it), its stream goes offline and the close is logged, before
 * the descriptor goes, so that whoever sees the connection end finds why in the log. Once only. */
void rl_ingest_ending(rl_ingest_t *in);
/* The connection is gone (rl_ingest_ending, if it was not called yet); in is freed. */
void rl_ingest_closed(rl_ingest_t *in);

/* tcp.c, for ingest.c */

/* Sends what the session has to send, then closes if it is closing. */
void rl_tcp_flush(rl_ingest_t *in);
/* Closes at once, dropping whatever could not be sent. */
void rl_tcp_close_now(rl_ingest_t *in);
/* Closes the listening socket. */
void rl_tcp_unlisten(rl_server_t *srv);

#endif
