/* Orders: one call of shopcast_order per order, its reply as an HTTP status and a JSON body.
 *
 * Network thread only. The FUNCTION does the whole job atomically (docs/COMMERCE.md): this side
 * passes a checked order (relay/commerce/order_body.h) with the configured dedup time and order
 * log length, and maps what comes back. An order is acknowledged only with Redis's reply; when
 * there is none (Redis down, the library not loaded, the connection lost while it was in flight)
 * the status is 503, and a retry with the same order_id is safe: the function counts an order_id
 * once. Viewer orders are rate-limited per client address (order-rate, order-burst). */
#ifndef RELAY_COMMERCE_ORDERS_H
#define RELAY_COMMERCE_ORDERS_H

#include <stddef.h>
#include <stdint.h>

#include "relay/commerce/order_body.h"
#include "relay/net/server.h"

/* status: 201 counted, 200 replayed, 422, 409, 404, 400, 500, or 503 (try again later); json is
 * the body, borrowed until the callback returns. */
typedef void (*rl_order_cb)(rl_server_t *srv, uint64_t token, int status, const char *json,
                            size_t len);

/* Sends o for the stream id. Returns 0 (cb will be called once, unless the process stops), or
 * -ENOTCONN when Redis or the library is not ready, -ENOMEM: the caller answers 503 at once. */
int rl_orders_submit(rl_server_t *srv, const char *id, const rl_order_t *o, rl_order_cb cb,
                     uint64_t token);

/* A viewer order from the source address peer (numeric text): 0 if admitted, else the seconds
 * to wait (Retry-After). */
int rl_orders_admit(rl_server_t *srv, const char *peer);

#endif
