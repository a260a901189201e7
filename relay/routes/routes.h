/* HTTP resources, one file each, and the route table that maps requests to them.
 *
 * A new resource is a new file here and one row in routes.c. Handlers run on the network thread
 * and answer through relay/http/http.h, at once or later. */
#ifndef RELAY_ROUTES_H
#define RELAY_ROUTES_H

#include <stddef.h>

#include "relay/http/http.h"
#include "relay/live/stream.h"
#include "relay/net/redis.h"

extern const rl_route_t rl_routes[];
extern const size_t rl_nroutes;

/* streams.c: the streams API */
void rl_route_streams_list(rl_http_req_t *r, const char *arg);
void rl_route_streams_create(rl_http_req_t *r, const char *arg);
void rl_route_stream_get(rl_http_req_t *r, const char *id);
void rl_route_stream_delete(rl_http_req_t *r, const char *id);
void rl_route_stream_key(rl_http_req_t *r, const char *id);
/* recordings.c: recorded sessions, listed and as VOD HLS */
void rl_route_recordings(rl_http_req_t *r, const char *arg);
void rl_route_vod(rl_http_req_t *r, const char *arg);
/* hls.c: live HLS */
void rl_route_hls(rl_http_req_t *r, const char *arg);
/* The HLS window of st changed: answer the requests that waited for it. */
void rl_route_hls_changed(rl_server_t *srv, rl_stream_t *st);
/* Once a second: requests that waited too long get 503 (RFC 8216bis 6.2.5.2). */
void rl_route_hls_tick(rl_server_t *srv);
/* pages.c: the viewer page, the operator dashboard and their files */
void rl_route_watch(rl_http_req_t *r, const char *id);
void rl_route_dashboard(rl_http_req_t *r, const char *arg);
void rl_route_static(rl_http_req_t *r, const char *name);
/* products.c: a stream's catalog; the product's id is r->sub */
void rl_route_products_create(rl_http_req_t *r, const char *id);
void rl_route_products_list(rl_http_req_t *r, const char *id);
void rl_route_product_get(rl_http_req_t *r, const char *id);
void rl_route_product_patch(rl_http_req_t *r, const char *id);
void rl_route_product_delete(rl_http_req_t *r, const char *id);
/* product_image.c: a product's picture, uploaded or removed */
void rl_route_product_image_put(rl_http_req_t *r, const char *id);
void rl_route_product_image_delete(rl_http_req_t *r, const char *id);
/* pinned.c, flash.c, sales.c: what the card shows, flash sales, the operator's figures */
void rl_route_pinned_put(rl_http_req_t *r, const char *id);
void rl_route_pinned_delete(rl_http_req_t *r, const char *id);
void rl_route_flash_start(rl_http_req_t *r, const char *id);
void rl_route_flash_stop(rl_http_req_t *r, const char *id);
void rl_route_sales(rl_http_req_t *r, const char *id);
/* fcall.c: calls of the shopcast library for the routes above. rl__route_fcall sends one with
 * the request's deadline (answering 503 itself when Redis cannot take it: returns -ENOTCONN,
 * and cb is not called); cb gets owner and the request's id. rl__route_fcall_reply, in cb,
 * gives the request back, or NULL when it is gone or was answered there (Redis down: 503; the
 * library refused: 404 NOSTREAM/NOPRODUCT, 400 BADFIELD, 409 EXISTS, with its sentence). */
int rl__route_fcall(rl_http_req_t *r, void *owner, const char *fn, int ro, const char *id, int argc,
                    const char **args, const size_t *lens, rl_redis_cb cb);
rl_http_req_t *rl__route_fcall_reply(rl_server_t *srv, uint64_t token, const redisReply *reply);
void rl__route_on_done(void *owner, uint64_t token, int rc, redisReply *reply); /* 204 */
void rl__route_bad_reply(rl_http_req_t *r, const char *fn);                     /* 500 */
/* orders.c: orders from viewers, the operator and shop platforms (the webhook, signed) */
void rl_route_orders(rl_http_req_t *r, const char *id);
void rl_route_orders_webhook(rl_http_req_t *r, const char *id);
/* health.c, metrics.c */
void rl_route_healthz(rl_http_req_t *r, const char *arg);
void rl_route_metrics(rl_http_req_t *r, const char *arg);

#endif
