/* HTTP on the libwebsockets loop: route table, JSON REST API, /healthz and /metrics. */
#ifndef RELAY_HTTP_H
#define RELAY_HTTP_H

#include <libwebsockets.h>

#include "server.h"

/* lws protocol callback for the HTTP vhost. */
int rl_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);
/* The HTTP vhost's protocol list, terminated. */
extern const struct lws_protocols rl_http_protocols[];

/* The HLS window of st changed: answer the requests that waited for it. */
void rl_http_hls_changed(rl_server_t *srv, rl_stream_t *st);
/* Once a second: requests that waited too long get 503 (RFC 8216bis 6.2.5.2). */
void rl_http_tick(rl_server_t *srv);
/* Requests whose Redis reply is later than redis-timeout-ms get 503 with Retry-After. */
void rl_http_expire_redis(rl_server_t *srv);

#endif
