/* The operator API's calls of the shopcast library: each waits for Redis with the request's
 * deadline, and the library's refusals become 4xx answers.
 *
 * The library checks what only Redis knows (the stream, the product, its prices now) before it
 * writes anything, and refuses with an error whose first word is its code (docs/COMMERCE.md);
 * a refused call has changed nothing. Any other Redis error (the library gone after a FUNCTION
 * FLUSH, a busy script, out of memory) is Redis being unable to serve: 503 with Retry-After. */
#include "relay/routes/routes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "relay/commerce/commerce.h"
#include "relay/core/log.h"

int rl__route_fcall(rl_http_req_t *r, void *owner, const char *fn, int ro, const char *id, int argc,
                    const char **args, const size_t *lens, rl_redis_cb cb)
{
    if (rl_commerce_call(r->srv, fn, ro, id, argc, args, lens, cb, owner, r->id) < 0) {
        rl_http_unavailable(r, "Redis unavailable");
        return -ENOTCONN;
    }
    rl_http_wait_redis(r);
    return 0;
}

static const struct {
    const char *code;
    int status;
    const char *msg; /* NULL: the library's own sentence */
} refusals[] = {
    { "NOSTREAM", 404, "no such stream" },
    { "NOPRODUCT", 404, "no such product" },
    { "BADFIELD", 400, NULL },
    { "EXISTS", 409, NULL },
};

static void refused(rl_http_req_t *r, const char *err)
{
    size_t n = strcspn(err, " ");
    const char *why = err[n] ? err + n + 1 : err;
    char quoted[300];

    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
        if (strlen(refusals[i].code) == n && !strncmp(err, refusals[i].code, n)) {
            rl_http_error(r, refusals[i].status, refusals[i].msg ? refusals[i].msg : why);
            return;
        }
    rl_warn("commerce_call", "msg=\"Redis refused a call\" error=%s",
            rl_log_quote(quoted, sizeof(quoted), err));
    rl_http_unavailable(r, "Redis cannot serve the call now");
}

rl_http_req_t *rl__route_fcall_reply(rl_server_t *srv, uint64_t token, const redisReply *reply)
{
    rl_http_req_t *r = rl_http_take_pending(srv, token);

    if (!r)
        return NULL; /* answered 503 at its deadline, or the client went */
    if (!reply) {
        rl_http_unavailable(r, "Redis unavailable");
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        refused(r, reply->str ? reply->str : "");
        return NULL;
    }
    return r;
}

/* A reply that is not what the library promises: a library of another version, say. */
void rl__route_bad_reply(rl_http_req_t *r, const char *fn)
{
    rl_err("commerce_call", "function=%s msg=\"unexpected reply\"", fn);
    rl_http_error(r, 500, "unexpected reply from Redis");
}

/* The reply of a change whose answer has no body (a deletion, an unpin, a stop). */
void rl__route_on_done(void *owner, uint64_t token, int rc, redisReply *reply)
{
    rl_http_req_t *r = rl__route_fcall_reply(owner, token, reply);

    (void)rc;
    if (r)
        rl_http_respond(r, 204, "application/json", NULL);
}
