/* A stream's sales, for the operator: per product sold, revenue and stock, and orders per
 * minute (shopcast_sales, read only), passed on as the library wrote them. */
#include "relay/routes/routes.h"

#include "relay/core/blob.h"

static void on_sales(void *owner, uint64_t token, int rc, redisReply *reply)
{
    rl_http_req_t *r = rl__route_fcall_reply(owner, token, reply);
    rl_blob_t *b;

    (void)rc;
    if (!r)
        return;
    if (reply->type != REDIS_REPLY_STRING) {
        rl__route_bad_reply(r, "shopcast_sales");
        return;
    }
    b = rl_blob_copy(reply->str, reply->len);
    rl_http_respond(r, b ? 200 : 500, "application/json", b);
}

void rl_route_sales(rl_http_req_t *r, const char *id)
{
    rl__route_fcall(r, r->srv, "shopcast_sales", 1, id, 0, NULL, NULL, on_sales);
}
