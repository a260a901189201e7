/* Flash sales: started and stopped by the operator, one at a time per stream.
 *
 * While one runs for the pinned product the card shows its price, the regular price struck
 * through and a countdown. The library refuses a flash price that is not below the product's
 * price: a "sale" that charges more is an operator's slip (a price in major units, say). */
#include "relay/routes/routes.h"

#include <jansson.h>
#include <stdio.h>

#include "relay/commerce/catalog_body.h"

/* The reply: [seq, flash id, ends_ms, cap]. */
static void on_started(void *owner, uint64_t token, int rc, redisReply *reply)
{
    rl_http_req_t *r = rl__route_fcall_reply(owner, token, reply);
    rl_flash_body_t b;
    char err[160];

    (void)rc;
    if (!r)
        return;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 4 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER ||
        reply->element[1]->type != REDIS_REPLY_STRING ||
        reply->element[2]->type != REDIS_REPLY_INTEGER ||
        reply->element[3]->type != REDIS_REPLY_INTEGER ||
        rl_catalog_flash_body(r->body, r->body_len, &b, err, sizeof(err)) < 0) {
        rl__route_bad_reply(r, "shopcast_flash_start");
        return;
    }
    rl_http_respond_json(
        r, 201,
        json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "id", reply->element[1]->str, "product",
                  b.product, "price", (json_int_t)b.price, "ends_ms",
                  (json_int_t)reply->element[2]->integer, "cap",
                  (json_int_t)reply->element[3]->integer, "limit", (json_int_t)b.limit, "seq",
                  (json_int_t)reply->element[0]->integer));
}

void rl_route_flash_start(rl_http_req_t *r, const char *id)
{
    rl_flash_body_t b;
    char err[256], num[4][24];
    const char *args[5] = { b.product, num[0], num[1], num[2], num[3] };

    if (rl_catalog_flash_body(r->body, r->body_len, &b, err, sizeof(err)) < 0) {
        rl_http_error(r, 400, err);
        return;
    }
    snprintf(num[0], sizeof(num[0]), "%lld", (long long)b.price);
    snprintf(num[1], sizeof(num[1]), "%lld", (long long)b.duration_s * 1000);
    snprintf(num[2], sizeof(num[2]), "%lld", (long long)b.cap);
    snprintf(num[3], sizeof(num[3]), "%lld", (long long)b.limit);
    rl__route_fcall(r, r->srv, "shopcast_flash_start", 0, id, 5, args, NULL, on_started);
}

void rl_route_flash_stop(rl_http_req_t *r, const char *id)
{
    rl__route_fcall(r, r->srv, "shopcast_flash_stop", 0, id, 0, NULL, NULL, rl__route_on_done);
}
