/* Commerce on the relay's side: the shopcast FUNCTION library in Redis, and the card's state.
 *
 * Invariants: a stream's card state only moves forward (a snapshot older than the one applied,
 * by Redis's seq, is ignored), and only snapshots Redis sent become states. A snapshot whose
 * product image is not cached yet is held until the image arrives, so a card never shows a
 * product without its picture and then with it. */
#include "relay/commerce/commerce.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay/commerce/shop.h"
#include "relay/core/log.h"
#include "relay/live/stream.h"
#include "relay/net/redis.h"

extern const char rl_shopcast_lua[];
extern const size_t rl_shopcast_lua_len;

static void on_loaded(void *owner, uint64_t token, int rc, redisReply *reply)
{
    rl_server_t *srv = owner;
    rl_commerce_t *c = srv->commerce;

    if (!c || token != c->connects)
        return; /* an answer from a connection since lost */
    c->lib_loading = 0;
    if (rc < 0) { /* a Redis still loading its data, say: rl_commerce_tick tries again */
        if (!c->lib_failures++)
            rl_err("redis_functions",
                   "msg=\"cannot load the shopcast library; trying again every second\" "
                   "error=\"%s\"",
                   reply && reply->str ? reply->str : "no reply");
        return;
    }
    c->lib_ready = 1;
    rl_info("redis_functions", "library=shopcast bytes=%zu attempts=%u", rl_shopcast_lua_len,
            c->lib_failures + 1);
    c->lib_failures = 0;
}

/* Says once per setting what a crash of Redis would cost: acknowledged orders are only as
 * durable as Redis's appendfsync. */
static void on_durability(void *owner, uint64_t token, int rc, redisReply *reply)
{
    rl_commerce_t *c = ((rl_server_t *)owner)->commerce;
    const char *aof = "?", *fsync = "?";

    (void)token;
    if (!c || rc < 0 || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 4) {
        rl_warn("redis_durability", "msg=\"cannot read appendonly/appendfsync (CONFIG GET)\"");
        return;
    }
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const redisReply *k = reply->element[i], *v = reply->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || !v->str)
            continue;
        if (!strcmp(k->str, "appendonly"))
            aof = v->str;
        else if (!strcmp(k->str, "appendfsync"))
            fsync = v->str;
    }
    rl__shop_durability(c, aof, fsync);
}

void rl__commerce_load(rl_server_t *srv)
{
    rl_commerce_t *c = srv->commerce;
    const char *load[] = { "FUNCTION", "LOAD", "REPLACE", rl_shopcast_lua };

    c->lib_ready = 0;
    c->lib_loading = rl_redis_cmd(srv->redis, on_loaded, srv, c->connects, 4, load) == 0;
}

void rl_commerce_on_ready(rl_server_t *srv)
{
    rl_commerce_t *c = srv->commerce;
    const char *conf[] = { "CONFIG", "GET", "append*" };

    if (!c)
        return;
    c->connects++;
    rl__commerce_load(srv);
    if (!c->lib_loading || rl_redis_cmd(srv->redis, on_durability, srv, 0, 3, conf) < 0)
        rl_warn("redis_functions", "msg=\"connection lost before the library was sent\"");
    /* Snapshots come after the library on the same connection, so they find it loaded. */
    rl__shop_reload_all(srv);
}

int rl_commerce_ready(const rl_server_t *srv)
{
    return srv->commerce && srv->commerce->lib_ready && rl_redis_ready(srv->redis);
}

void rl_commerce_stats(const rl_server_t *srv, rl_commerce_stats_t *st)
{
    const rl_commerce_t *c = srv->commerce;

    memset(st, 0, sizeof(*st));
    if (!c)
        return;
    *st = (rl_commerce_stats_t){ .library_loaded = rl_commerce_ready(srv),
                                 .subscriber_up = rl_redis_ready(c->sub),
                                 .events = c->nevents,
                                 .reloads = c->nreloads,
                                 .states = c->nstates,
                                 .images = c->nimages,
                                 .bad_images = c->nbad_images };
    memcpy(st->orders, c->norders, sizeof(st->orders));
}

void rl_commerce_key(const rl_server_t *srv, const char *id, char *dst, size_t size)
{
    snprintf(dst, size, "%sstream:{%s}", srv->cfg->redis_prefix, id);
}

int rl_commerce_call(rl_server_t *srv, const char *fn, int ro, const char *id, int argc,
                     const char **args, const size_t *lens, rl_redis_cb cb, void *owner,
                     uint64_t token)
{
    const char *argv[4 + RL_COMMERCE_ARGS_MAX];
    size_t argvlen[4 + RL_COMMERCE_ARGS_MAX];
    char key[512];

    if (argc < 0 || argc > RL_COMMERCE_ARGS_MAX)
        return -EINVAL;
    if (!rl_commerce_ready(srv))
        return -ENOTCONN;
    rl_commerce_key(srv, id, key, sizeof(key));
    argv[0] = ro ? "FCALL_RO" : "FCALL";
    argv[1] = fn;
    argv[2] = "1";
    argv[3] = key;
    for (int i = 0; i < 4 + argc; i++) {
        if (i >= 4)
            argv[i] = args[i - 4];
        argvlen[i] = i >= 4 && lens ? lens[i - 4] : strlen(argv[i]);
    }
    return rl_redis_cmd_len(srv->redis, cb, owner, token, 4 + argc, argv, argvlen);
}

static void on_sub_ready(void *owner)
{
    rl__shop_reload_all(owner);
}

int rl_commerce_init(rl_server_t *srv, char *err, size_t errlen)
{
    rl_commerce_t *c = calloc(1, sizeof(*c));
    char pattern[512];

    if (!c)
        return snprintf(err, errlen, "out of memory"), -ENOMEM;
    srv->commerce = c;
    /* one increasing count for every state published, whichever the stream: versions of one
     * stream increase too, across restarts of the relay (they start from the clock) */
    c->version = (uint64_t)time(NULL) * 1000;
    c->sub = rl_redis_new(&srv->loop, srv->cfg->redis, srv->cfg->redis_timeout_ms, err, errlen);
    if (!c->sub || rl__orders_init(srv, err, errlen) < 0)
        return -EINVAL;
    snprintf(pattern, sizeof(pattern), "%sstream:{*}:events", srv->cfg->redis_prefix);
    if (rl_redis_psubscribe(c->sub, pattern, rl__shop_on_event, srv) < 0)
        return snprintf(err, errlen, "out of memory"), -ENOMEM;
    rl_redis_on_ready(c->sub, on_sub_ready, srv);
    return 0;
}

void rl_commerce_free(rl_server_t *srv)
{
    rl_commerce_t *c = srv->commerce;

    if (!c)
        return;
    rl_redis_free(&c->sub);
    rl__orders_free(srv);
    for (int i = 0; i < c->nshops; i++)
        rl__shop_free(&c->shops[i]);
    free(c->shops);
    free(c);
    srv->commerce = NULL;
}
