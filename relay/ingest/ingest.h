/* RTMP ingest: plain RTMP on libuv TCP handles of our own, RTMPS on libwebsockets raw sockets,
 * both glued to the pure proto/rtmp_session state machine.
 *
 * Memory per connection is bounded by: rtmp-max-message-kb + 64 KiB of partial messages across
 * all chunk streams, one whole message of at most rtmp-max-message-kb being handled, 256 KiB of
 * pending replies (and on a plain connection as much again in the one write the socket could not
 * take: reading stops until it has), and about 12 KiB of state (handshake buffers included). */
#ifndef RELAY_INGEST_H
#define RELAY_INGEST_H

#include <libwebsockets.h>

#include "relay/net/server.h"

/* Listens for plain RTMP on listen (HOST:PORT; 0.0.0.0 or :: is every address, IPv4 and IPv6). */
int rl_ingest_listen(rl_server_t *srv, const char *listen, char *err, size_t errlen);
/* The server stops: publishers go offline at once, plain connections and the listener close. */
void rl_ingest_stop(rl_server_t *srv);

/* lws protocol callback for the RTMPS raw vhost; per-session data is one pointer. */
int rl_ingest_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);

void rl_ingest_tick(rl_server_t *srv);
/* Key lookups that Redis did not answer within redis-timeout-ms are decided without it; returns
 * how many still wait. */
int rl_ingest_expire_lookups(rl_server_t *srv);
void rl_ingest_close(rl_ingest_t *in, const char *reason);
/* Disconnects whoever publishes to st (the stream was deleted or its key revoked). */
void rl_ingest_close_stream(rl_server_t *srv, rl_stream_t *st, const char *reason);

#endif
