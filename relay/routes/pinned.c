/* The pinned product: the one the card shows, pinned and unpinned by the operator.
 *
 * The library pins only a product that exists, checked in the same atomic call. */
#include "relay/routes/routes.h"

#include <jansson.h>

#include "relay/commerce/catalog_body.h"

static void on_pinned(void *owner, uint64_t token, int rc, redisReply *reply)
{
    rl_http_req_t *r = rl__route_fcall_reply(owner, token, reply);
    char pid[RL_PID_MAX + 1], err[160];

    (void)rc;
    if (!r)
        return;
    if (reply->type != REDIS_REPLY_INTEGER ||
        rl_catalog_pin_body(r->body, r->body_len, pid, sizeof(pid), err, sizeof(err)) < 0) {
        rl__route_bad_reply(r, "shopcast_pin");
        return;
    }
    rl_http_respond_json(
        r, 200, json_pack("{s:s, s:I}", "product", pid, "seq", (json_int_t)reply->integer));
}

void rl_route_pinned_put(rl_http_req_t *r, const char *id)
{
    char pid[RL_PID_MAX + 1], err[160];
    const char *args[1] = { pid };

    if (rl_catalog_pin_body(r->body, r->body_len, pid, sizeof(pid), err, sizeof(err)) < 0) {
        rl_http_error(r, 400, err);
        return;
    }
    rl__route_fcall(r, r->srv, "shopcast_pin", 0, id, 1, args, NULL, on_pinned);
}

void rl_route_pinned_delete(rl_http_req_t *r, const char *id)
{
    const char *args[1] = { "" };

    rl__route_fcall(r, r->srv, "shopcast_pin", 0, id, 1, args, NULL, rl__route_on_done);
}
