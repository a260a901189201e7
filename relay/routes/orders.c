/* Orders: POST /api/v1/streams/{id}/orders, and .../orders/webhook for shop platforms.
 *
 * Who may order how often. A request signed with webhook-secret (X-Shopcast-Signature:
 * sha256=<hex HMAC-SHA256 of the raw body>) comes from a shop platform, and one with the operator
 * token from the operator's own systems: neither is rate-limited. Any other is a viewer's, limited
 * per client address (order-rate, order-burst; 429 with Retry-After). A signature, when present,
 * must be right, on either route (401 otherwise); the webhook route requires one. Checks run
 * cheapest first, and none of them touches Redis: a refused order changes nothing there. */
#include "relay/routes/routes.h"

#include <errno.h>
#include <string.h>

#include "relay/commerce/order_body.h"
#include "relay/commerce/orders.h"
#include "relay/net/redis.h"

#define SIG_HEADER "x-shopcast-signature:"

/* 1: signed and right; 0: no signature, and none required; -1: refused (answered 401). */
static int signature(rl_http_req_t *r, int required)
{
    const char *secret = r->srv->cfg->webhook_secret;
    char sig[80];
    int n = lws_hdr_custom_length(r->wsi, SIG_HEADER, (int)strlen(SIG_HEADER));

    if (n < 0 && !required)
        return 0;
    if (n < 0)
        rl_http_error(r, 401,
                      "X-Shopcast-Signature required: sha256=<hex HMAC-SHA256 of the body>");
    else if (!secret[0])
        rl_http_error(r, 401, "signed orders are refused: no webhook-secret is configured");
    else if (n >= (int)sizeof(sig) ||
             lws_hdr_custom_copy(r->wsi, sig, sizeof(sig), SIG_HEADER, (int)strlen(SIG_HEADER)) <
                 0 ||
             !rl_order_signed(secret, r->body, r->body_len, sig))
        rl_http_error(r, 401, "X-Shopcast-Signature does not match the body");
    else
        return 1;
    return -1;
}

/* 0 when a viewer may order now; else answered 429. */
static int admit(rl_http_req_t *r)
{
    char peer[64];
    int wait;

    lws_get_peer_simple(r->wsi, peer, sizeof(peer));
    if (!(wait = rl_orders_admit(r->srv, peer)))
        return 0;
    r->retry_after = wait;
    rl_http_error(r, 429, "too many orders from this address; retry after Retry-After seconds");
    return -1;
}

static void on_order(rl_server_t *srv, uint64_t token, int status, const char *json, size_t len)
{
    rl_http_req_t *r = rl_http_take_pending(srv, token);
    rl_blob_t *b;

    if (!r) /* answered 503 at its deadline, or gone: a retry with its order_id gets the result */
        return;
    if (status == 503)
        r->retry_after = rl_redis_retry_after_s(srv->redis);
    b = rl_blob_copy(json, len);
    rl_http_respond(r, b ? status : 500, "application/json", b);
}

static void take_order(rl_http_req_t *r, const char *id, int webhook)
{
    rl_order_t o;
    char err[200];
    int trusted, rc;

    if ((trusted = signature(r, webhook)) < 0)
        return;
    if (!trusted && !rl_http_is_operator(r) && admit(r) < 0)
        return;
    if ((rc = rl_order_parse(r->body, r->body_len, &o, err, sizeof(err))) < 0) {
        rl_http_error(r, rc == -EMSGSIZE ? 413 : 400, err);
        return;
    }
    if (rl_orders_submit(r->srv, id, &o, on_order, r->id) < 0) {
        rl_http_unavailable(r, "order store unavailable; retry with the same order_id");
        return;
    }
    r->direct = 1; /* small answers, many of them: no writeable round trip */
    rl_http_wait_redis(r);
}

void rl_route_orders(rl_http_req_t *r, const char *id)
{
    take_order(r, id, 0);
}

void rl_route_orders_webhook(rl_http_req_t *r, const char *id)
{
    take_order(r, id, 1);
}
