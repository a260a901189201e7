/* HTTP resources, one file each, and the route table that maps requests to them.
 *
 * A new resource is a new file here and one row in routes.c. Handlers run on the network thread
 * and answer through relay/http/http.h, at once or later. */
#ifndef RELAY_ROUTES_H
#define RELAY_ROUTES_H

#include <stddef.h>

#include "relay/http/http.h"
#include "relay/live/stream.h"

extern const rl_route_t rl_routes[];
extern const size_t rl_nroutes;

/* streams.c: the streams API */
void rl_route_streams_list(rl_http_req_t *r, const char *arg);
void rl_route_streams_create(rl_http_req_t *r, const char *arg);
void rl_route_stream_get(rl_http_req_t *r, const char *id);
void rl_route_stream_delete(rl_http_req_t *r, const char *id);
/* recordings.c: recorded sessions, listed and as VOD HLS */
void rl_route_recordings(rl_http_req_t *r, const char *arg);
void rl_route_vod(rl_http_req_t *r, const char *arg);
/* hls.c: live HLS */
void rl_route_hls(rl_http_req_t *r, const char *arg);
/* The HLS window of st changed: answer the requests that waited for it. */
void rl_route_hls_changed(rl_server_t *srv, rl_stream_t *st);
/* Once a second: requests that waited too long get 503 (RFC 8216bis 6.2.5.2). */
void rl_route_hls_tick(rl_server_t *srv);
/* pages.c: the viewer page and its files */
void rl_route_watch(rl_http_req_t *r, const char *id);
void rl_route_static(rl_http_req_t *r, const char *name);
/* orders.c: orders from viewers, the operator and shop platforms (the webhook, signed) */
void rl_route_orders(rl_http_req_t *r, const char *id);
void rl_route_orders_webhook(rl_http_req_t *r, const char *id);
/* health.c, metrics.c */
void rl_route_healthz(rl_http_req_t *r, const char *arg);
void rl_route_metrics(rl_http_req_t *r, const char *arg);

#endif
