/* Redis on the network thread's loop: hiredis async through its libuv adapter, reconnecting.
 *
 * Invariant: r->ac is non-NULL exactly while a connection exists or is being made; hiredis frees
 * the context itself after the disconnect callback, so r->ac is cleared there and nowhere else. */
#include "relay/net/redis.h"

#include <errno.h>
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/core/log.h"

struct rl_redis_s {
    uv_loop_t *loop;
    redisAsyncContext *ac;
    uv_timer_t retry;
    char host[256], path[256];
    int port, db;
    int ready, closing, logged_down;
    void (*on_ready)(void *);
    void *owner;
    char desc[300];
};

typedef struct req_s {
    rl_redis_cb cb;
    void *owner;
    uint64_t token;
} req_t;

static void connect_now(rl_redis_t *r);

static void retry_cb(uv_timer_t *t)
{
    connect_now(t->data);
}

int rl_redis_parse_url(const char *url, char *host, size_t hostlen, int *port, char *path,
                       size_t pathlen, int *db)
{
    char rest[512];
    char *slash, *colon;

    *db = 0, *port = 0, host[0] = path[0] = '\0';
    if (!strncmp(url, "unix:", 5)) {
        const char *q = strstr(url, "?db=");
        size_t n = q ? (size_t)(q - url - 5) : strlen(url + 5);
        if (!n || n >= pathlen)
            return -EINVAL;
        memcpy(path, url + 5, n);
        path[n] = '\0';
        *db = q ? atoi(q + 4) : 0;
        return 0;
    }
    if (strncmp(url, "redis://", 8) || strlen(url + 8) >= sizeof(rest))
        return -EINVAL;
    strcpy(rest, url + 8);
    if ((slash = strchr(rest, '/'))) {
        *slash = '\0';
        *db = atoi(slash + 1);
    }
    colon = strrchr(rest, ':');
    *port = colon ? atoi(colon + 1) : 6379;
    if (colon)
        *colon = '\0';
    if (!rest[0] || strlen(rest) >= hostlen || *port <= 0 || *port > 65535 || *db < 0)
        return -EINVAL;
    strcpy(host, rest);
    return 0;
}

static void on_select(redisAsyncContext *ac, void *reply, void *priv)
{
    rl_redis_t *r = priv;
    redisReply *rep = reply;

    (void)ac;
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        rl_err("redis_select", "redis=%s db=%d error=\"%s\"", r->desc, r->db,
               rep ? rep->str : "no reply");
        return;
    }
    r->ready = 1;
    r->logged_down = 0;
    rl_info("redis_ready", "redis=%s db=%d", r->desc, r->db);
    if (r->on_ready)
        r->on_ready(r->owner);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    rl_redis_t *r = ac->data;
    char db[16];

    if (status != REDIS_OK) {
        if (!r->logged_down++)
            rl_warn("redis_down", "redis=%s error=\"%s\" retry_s=1", r->desc, ac->errstr);
        r->ac = NULL; /* hiredis frees a context whose connect failed */
        if (!r->closing)
            uv_timer_start(&r->retry, retry_cb, 1000, 0);
        return;
    }
    snprintf(db, sizeof(db), "%d", r->db);
    redisAsyncCommand(r->ac, on_select, r, "SELECT %s", db);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    rl_redis_t *r = ac->data;

    r->ac = NULL;
    r->ready = 0;
    if (r->closing)
        return;
    rl_warn("redis_down", "redis=%s error=\"%s\" retry_s=1", r->desc,
            status == REDIS_OK ? "closed" : ac->errstr);
    r->logged_down = 1;
    uv_timer_start(&r->retry, retry_cb, 1000, 0);
}

static void connect_now(rl_redis_t *r)
{
    redisAsyncContext *ac =
        r->path[0] ? redisAsyncConnectUnix(r->path) : redisAsyncConnect(r->host, r->port);

    if (!ac || ac->err) {
        if (!r->logged_down++)
            rl_warn("redis_down", "redis=%s error=\"%s\" retry_s=1", r->desc,
                    ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        uv_timer_start(&r->retry, retry_cb, 1000, 0);
        return;
    }
    ac->data = r;
    r->ac = ac;
    redisLibuvAttach(ac, r->loop);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

rl_redis_t *rl_redis_new(uv_loop_t *loop, const char *url, char *err, size_t errlen)
{
    rl_redis_t *r = calloc(1, sizeof(*r));

    if (!r)
        return snprintf(err, errlen, "out of memory"), NULL;
    if (rl_redis_parse_url(url, r->host, sizeof(r->host), &r->port, r->path, sizeof(r->path),
                           &r->db) < 0) {
        snprintf(err, errlen, "redis: '%s' is not redis://HOST:PORT[/DB] or unix:/PATH", url);
        free(r);
        return NULL;
    }
    if (r->path[0])
        snprintf(r->desc, sizeof(r->desc), "unix:%s", r->path);
    else
        snprintf(r->desc, sizeof(r->desc), "%s:%d", r->host, r->port);
    r->loop = loop;
    uv_timer_init(loop, &r->retry);
    r->retry.data = r;
    connect_now(r);
    return r;
}

static void free_after_close(uv_handle_t *h)
{
    free(h->data);
}

void rl_redis_free(rl_redis_t **pr)
{
    rl_redis_t *r = *pr;

    if (!r)
        return;
    r->closing = 1;
    if (r->ac)
        redisAsyncFree(r->ac); /* pending callbacks run with a NULL reply */
    uv_timer_stop(&r->retry);
    uv_close((uv_handle_t *)&r->retry, free_after_close);
    *pr = NULL;
}

void rl_redis_on_ready(rl_redis_t *r, void (*fn)(void *owner), void *owner)
{
    r->on_ready = fn;
    r->owner = owner;
}

int rl_redis_ready(const rl_redis_t *r)
{
    return r && r->ready;
}

const char *rl_redis_describe(const rl_redis_t *r)
{
    return r->desc;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    req_t *q = priv;
    redisReply *rep = reply;

    (void)ac;
    if (!rep)
        q->cb(q->owner, q->token, -EIO, NULL);
    else
        q->cb(q->owner, q->token, rep->type == REDIS_REPLY_ERROR ? -EPROTO : 0, rep);
    free(q);
}

int rl_redis_cmd(rl_redis_t *r, rl_redis_cb cb, void *owner, uint64_t token, int argc,
                 const char **argv)
{
    req_t *q;

    if (!r->ready || !r->ac)
        return -ENOTCONN;
    if (!cb) /* fire and forget: the reply that matters comes later in the same pipeline */
        return redisAsyncCommandArgv(r->ac, NULL, NULL, argc, argv, NULL) == REDIS_OK ? 0 : -EIO;
    if (!(q = malloc(sizeof(*q))))
        return -ENOMEM;
    *q = (req_t){ cb, owner, token };
    if (redisAsyncCommandArgv(r->ac, on_reply, q, argc, argv, NULL) != REDIS_OK) {
        free(q);
        return -EIO;
    }
    return 0;
}
