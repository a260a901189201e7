/* Orders: one call of shopcast_order per order, its reply as an HTTP status and a JSON body.
 *
 * The function's own reply is [status, JSON] and passes through as it is. A Redis error reply is
 * mapped by its first word: transient conditions (loading, busy, out of memory, a replica, the
 * library missing) become 503, so the client retries with the same order_id; the function checks
 * before it writes, so an error never leaves half an order behind. */
#include "relay/commerce/orders.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/commerce/commerce.h"
#include "relay/commerce/shop.h"
#include "relay/core/clock.h"
#include "relay/core/log.h"
#include "relay/net/peer.h"
#include "relay/net/ratelimit.h"
#include "relay/net/redis.h"

#define UNAVAILABLE "order store unavailable; retry with the same order_id"

typedef struct call_s {
    rl_server_t *srv;
    rl_order_cb cb;
} call_t;

/* Redis error codes (the first word of an error reply) and what they mean to the client. */
static const struct {
    const char *code;
    int status;
} redis_errors[] = {
    { "NOSTREAM", 404 }, { "NOPRODUCT", 404 },  { "BADFIELD", 400 },    { "LOADING", 503 },
    { "BUSY", 503 },     { "OOM", 503 },        { "READONLY", 503 },    { "MASTERDOWN", 503 },
    { "TRYAGAIN", 503 }, { "NOREPLICAS", 503 }, { "CLUSTERDOWN", 503 },
};

/* What a 409 refused the order for: its body's "error" (the library's key order is cjson's). */
static rl_order_result_t refusal(const char *json, size_t len)
{
    json_t *j = json_loadb(json, len, 0, NULL);
    const char *why = json_string_value(json_object_get(j, "error"));
    rl_order_result_t res = RL_ORDER_REFUSED;

    if (why && !strcmp(why, "sold_out"))
        res = RL_ORDER_SOLD_OUT;
    else if (why && !strcmp(why, "price_changed"))
        res = RL_ORDER_PRICE_CHANGED;
    json_decref(j);
    return res;
}

static rl_order_result_t result_of(int status, const char *json, size_t len)
{
    switch (status) {
    case 201: return RL_ORDER_COUNTED;
    case 200: return RL_ORDER_DUPLICATE;
    case 409: return refusal(json, len);
    case 503: return RL_ORDER_UNAVAILABLE;
    case 500: return RL_ORDER_FAILED;
    default: return RL_ORDER_REFUSED;
    }
}

/* Every answer goes through here, so that /metrics counts each order once. */
static void finish(call_t *call, uint64_t token, int status, const char *json, size_t len)
{
    if (call->srv->commerce)
        call->srv->commerce->norders[result_of(status, json, len)]++;
    call->cb(call->srv, token, status, json, len);
}

static void answer_error(call_t *call, uint64_t token, int status, const char *msg)
{
    json_t *j = json_pack("{s:s}", "error", msg);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    finish(call, token, s ? status : 500, s ? s : "", s ? strlen(s) : 0);
    free(s);
}

static int error_status(rl_server_t *srv, const char *msg)
{
    size_t n = strcspn(msg, " ");

    for (size_t i = 0; i < sizeof(redis_errors) / sizeof(redis_errors[0]); i++)
        if (strlen(redis_errors[i].code) == n && !strncmp(msg, redis_errors[i].code, n))
            return redis_errors[i].status;
    if (strstr(msg, "Function not found")) {
        /* flushed or never loaded on this server: load it again (rl_commerce_tick) */
        if (srv->commerce)
            srv->commerce->lib_ready = 0;
        return 503;
    }
    return 500;
}

static void redis_error(call_t *call, uint64_t token, const char *msg)
{
    int status = error_status(call->srv, msg);
    char why[300];
    size_t n;

    if (status == 503) {
        answer_error(call, token, 503, UNAVAILABLE);
        return;
    }
    if (status == 500)
        rl_warn("order_error", "error=%s", rl_log_quote(why, sizeof(why), msg));
    /* a code the client can act on: what follows it says what was wrong */
    if (status != 500 && msg[n = strcspn(msg, " ")])
        msg += n + 1;
    answer_error(call, token, status, msg);
}

static int is_result(const redisReply *rep)
{
    return rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
           rep->element[0]->type == REDIS_REPLY_INTEGER &&
           rep->element[1]->type == REDIS_REPLY_STRING;
}

static void on_reply(void *owner, uint64_t token, int rc, redisReply *rep)
{
    call_t *call = owner;
    long long status;

    if (rc == -EPROTO && rep)
        redis_error(call, token, rep->str ? rep->str : "");
    else if (rc < 0 || !rep) /* the connection was lost: counted or not, a retry is safe */
        answer_error(call, token, 503, UNAVAILABLE);
    else if (!is_result(rep) || (status = rep->element[0]->integer) < 200 || status > 499)
        answer_error(call, token, 500, "unexpected reply from shopcast_order");
    else
        finish(call, token, (int)status, rep->element[1]->str, rep->element[1]->len);
    free(call);
}

int rl_orders_submit(rl_server_t *srv, const char *id, const rl_order_t *o, rl_order_cb cb,
                     uint64_t token)
{
    char key[256], qty[16], price[24], dedup[16], maxlen[16];
    const char *argv[] = { "FCALL", "shopcast_order", "1",   key,   o->order_id, o->product,
                           qty,     o->buyer,         price, dedup, maxlen };
    call_t *call;
    int rc;

    if (!rl_commerce_ready(srv))
        return -ENOTCONN;
    if (!(call = malloc(sizeof(*call))))
        return -ENOMEM;
    *call = (call_t){ srv, cb };
    rl_commerce_key(srv, id, key, sizeof(key));
    snprintf(qty, sizeof(qty), "%d", o->qty);
    if (o->price >= 0)
        snprintf(price, sizeof(price), "%lld", o->price);
    else
        price[0] = '\0';
    snprintf(dedup, sizeof(dedup), "%d", srv->cfg->order_dedup_s);
    snprintf(maxlen, sizeof(maxlen), "%d", srv->cfg->order_log_max);
    if ((rc = rl_redis_cmd(srv->redis, on_reply, call, token, 11, argv)) < 0)
        free(call);
    return rc;
}

int rl_orders_admit(rl_server_t *srv, const char *peer)
{
    rl_peer_key_t k;

    if (!srv->commerce || !srv->commerce->order_limit)
        return 0;
    rl_peer_key(peer, &k);
    return rl_ratelimit_take(srv->commerce->order_limit, &k, rl_now());
}

int rl__orders_init(rl_server_t *srv, char *err, size_t errlen)
{
    const rl_config_t *cfg = srv->cfg;

    /* SET EX 0 is an error, and it comes after the counting in the function */
    if (cfg->order_dedup_s < 1)
        return snprintf(err, errlen, "order-dedup-s must be at least 1"), -EINVAL;
    if (cfg->order_rate > 0 && cfg->order_burst < 1)
        return snprintf(err, errlen, "order-burst must be at least 1"), -EINVAL;
    if (!(srv->commerce->order_limit = rl_ratelimit_new(cfg->order_rate, cfg->order_burst)))
        return snprintf(err, errlen, "out of memory"), -ENOMEM;
    return 0;
}

void rl__orders_free(rl_server_t *srv)
{
    rl_ratelimit_free(&srv->commerce->order_limit);
}
