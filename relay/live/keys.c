/* Stream keys in Redis: create a stream and its secret key, look a key up, revoke it.
 *
 * Each operation carries a small heap context through the Redis callback; the context is freed
 * in the last callback of its operation, whatever the outcome. */
#include "relay/live/keys.h"

#include <errno.h>
#include <libavutil/avstring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "relay/core/log.h"
#include "relay/net/redis.h"
#include "relay/live/stream.h"

#define ID_LEN  12 /* public stream id: 62 bits of randomness, short enough for a URL */
#define KEY_LEN 32 /* secret key: about 165 bits */

typedef struct op_s {
    rl_server_t *srv;
    void *cb;
    uint64_t token;
    char id[ID_LEN + 8];
    char key[256];
    char title[256];
    char old_key[256]; /* a rotation's: the key it revokes */
} op_t;

int rl_random_token(char *out, size_t len)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t rnd[64];

    if (len >= sizeof(rnd) || getrandom(rnd, len, 0) != (ssize_t)len)
        return -EIO;
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[rnd[i] % 36]; /* bias of 256 % 36 is negligible for tokens */
    out[len] = '\0';
    return 0;
}

static void name(char *dst, size_t size, rl_server_t *srv, const char *kind, const char *v)
{
    if (!strcmp(kind, "stream"))
        snprintf(dst, size, "%sstream:{%s}", srv->cfg->redis_prefix, v);
    else if (!strcmp(kind, "key"))
        snprintf(dst, size, "%skey:%s", srv->cfg->redis_prefix, v);
    else
        snprintf(dst, size, "%sstreams", srv->cfg->redis_prefix);
}

static op_t *new_op(rl_server_t *srv, void *cb, uint64_t token)
{
    op_t *op = calloc(1, sizeof(*op));

    if (op)
        *op = (op_t){ .srv = srv, .cb = cb, .token = token };
    return op;
}

static int op_send(op_t *op, rl_redis_cb cb, int argc, const char **argv)
{
    return rl_redis_cmd(op->srv->redis, cb, op, op->token, argc, argv);
}

/* ---- what this node knows of the keys, for when Redis is down ---- */

/* Redis said key belongs to id: remember it on the stream (adding the stream if need be). */
static void learn(rl_server_t *srv, const char *id, const char *key)
{
    rl_stream_t *st = rl_stream_add(srv, id, NULL);

    if (st && strlen(key) < sizeof(st->key))
        av_strlcpy(st->key, key, sizeof(st->key));
}

/* Redis no longer knows key: it was revoked, perhaps by another node. */
static void forget(rl_server_t *srv, const char *key)
{
    for (int i = 0; i < srv->nstreams; i++)
        if (!strcmp(srv->streams[i]->key, key))
            srv->streams[i]->key[0] = '\0';
}

rl_stream_t *rl_keys_known(rl_server_t *srv, const char *key)
{
    for (int i = 0; key[0] && i < srv->nstreams; i++)
        if (!strcmp(srv->streams[i]->key, key))
            return srv->streams[i];
    return NULL;
}

static void on_lookup(void *owner, uint64_t token, int rc, redisReply *rep)
{
    op_t *op = owner;
    const char *id = !rc && rep->type == REDIS_REPLY_STRING ? rep->str : NULL;

    if (id)
        learn(op->srv, id, op->key);
    else if (!rc)
        forget(op->srv, op->key);
    ((rl_key_cb)op->cb)(op->srv, token, rc, id);
    free(op);
}

int rl_keys_lookup(rl_server_t *srv, const char *key, rl_key_cb cb, uint64_t token)
{
    op_t *op = new_op(srv, (void *)cb, token);
    char k[512];
    int rc;

    if (!op)
        return -ENOMEM;
    av_strlcpy(op->key, key, sizeof(op->key));
    name(k, sizeof(k), srv, "key", key);
    if ((rc = op_send(op, on_lookup, 2, (const char *[]){ "GET", k })) < 0)
        free(op);
    return rc;
}

static void on_created(void *owner, uint64_t token, int rc, redisReply *rep)
{
    op_t *op = owner;

    /* EXEC answers an array, or nil when the transaction was aborted. */
    if (!rc && rep->type != REDIS_REPLY_ARRAY)
        rc = -EIO;
    if (!rc && rl_stream_add(op->srv, op->id, op->title))
        learn(op->srv, op->id, op->key);
    ((rl_create_cb)op->cb)(op->srv, token, rc, op->id, op->key);
    free(op);
}

int rl_keys_create(rl_server_t *srv, const char *title, rl_create_cb cb, uint64_t token)
{
    op_t *op = new_op(srv, (void *)cb, token);
    char st[512], k[512], set[512], created[32];
    int rc;

    if (!op)
        return -ENOMEM;
    if (rl_random_token(op->id, ID_LEN) < 0 || rl_random_token(op->key, KEY_LEN) < 0) {
        free(op);
        return -EIO;
    }
    av_strlcpy(op->title, title, sizeof(op->title));
    name(st, sizeof(st), srv, "stream", op->id);
    name(k, sizeof(k), srv, "key", op->key);
    name(set, sizeof(set), srv, "streams", NULL);
    snprintf(created, sizeof(created), "%lld", (long long)time(NULL));
    /* One transaction: a stream never exists without its key, nor a key without its stream. */
    if ((rc = rl_redis_cmd(srv->redis, NULL, NULL, 0, 1, (const char *[]){ "MULTI" })) < 0)
        goto fail;
    rl_redis_cmd(
        srv->redis, NULL, NULL, 0, 8,
        (const char *[]){ "HSET", st, "title", title, "key", op->key, "created", created });
    rl_redis_cmd(srv->redis, NULL, NULL, 0, 3, (const char *[]){ "SET", k, op->id });
    rl_redis_cmd(srv->redis, NULL, NULL, 0, 3, (const char *[]){ "SADD", set, op->id });
    if ((rc = op_send(op, on_created, 1, (const char *[]){ "EXEC" })) < 0)
        goto fail;
    return 0;
fail:
    free(op);
    return rc;
}

static void on_rotated(void *owner, uint64_t token, int rc, redisReply *rep)
{
    op_t *op = owner;

    if (!rc && rep->type != REDIS_REPLY_ARRAY)
        rc = -EIO;
    if (!rc) {
        forget(op->srv, op->old_key);
        learn(op->srv, op->id, op->key);
    }
    ((rl_create_cb)op->cb)(op->srv, token, rc, op->id, op->key);
    free(op);
}

/* Second step of a rotation: the old key is known; swap it for a new one at once. */
static void on_old_key(void *owner, uint64_t token, int rc, redisReply *rep)
{
    op_t *op = owner;
    char st[512], old[512], k[512];

    if (!rc && (rep->type != REDIS_REPLY_STRING || strlen(rep->str) >= sizeof(op->old_key)))
        rc = -ENOENT;
    if (rc < 0 || (rc = rl_random_token(op->key, KEY_LEN)) < 0)
        goto fail;
    av_strlcpy(op->old_key, rep->str, sizeof(op->old_key));
    name(st, sizeof(st), op->srv, "stream", op->id);
    name(old, sizeof(old), op->srv, "key", op->old_key);
    name(k, sizeof(k), op->srv, "key", op->key);
    /* One transaction: at no moment do both keys, or neither, lead to the stream. */
    if ((rc = rl_redis_cmd(op->srv->redis, NULL, NULL, 0, 1, (const char *[]){ "MULTI" })) < 0)
        goto fail;
    rl_redis_cmd(op->srv->redis, NULL, NULL, 0, 4, (const char *[]){ "HSET", st, "key", op->key });
    rl_redis_cmd(op->srv->redis, NULL, NULL, 0, 2, (const char *[]){ "DEL", old });
    rl_redis_cmd(op->srv->redis, NULL, NULL, 0, 3, (const char *[]){ "SET", k, op->id });
    if ((rc = op_send(op, on_rotated, 1, (const char *[]){ "EXEC" })) < 0)
        goto fail;
    return;
fail:
    ((rl_create_cb)op->cb)(op->srv, token, rc, op->id, NULL);
    free(op);
}

/* The first step of a rotation and of a delete: the stream's current key, to next. */
static int ask_key(rl_server_t *srv, const char *id, void *cb, uint64_t token, rl_redis_cb next)
{
    op_t *op = new_op(srv, cb, token);
    char st[512];
    int rc;

    if (!op)
        return -ENOMEM;
    av_strlcpy(op->id, id, sizeof(op->id));
    name(st, sizeof(st), srv, "stream", id);
    if ((rc = op_send(op, next, 3, (const char *[]){ "HGET", st, "key" })) < 0)
        free(op);
    return rc;
}

int rl_keys_rotate(rl_server_t *srv, const char *id, rl_create_cb cb, uint64_t token)
{
    return ask_key(srv, id, (void *)cb, token, on_old_key);
}

static void on_deleted(void *owner, uint64_t token, int rc, redisReply *rep)
{
    op_t *op = owner;
    rl_stream_t *s;

    (void)rep;
    if (!rc && (s = rl_stream_find(op->srv, op->id)))
        rl_stream_remove(op->srv, s);
    ((rl_delete_cb)op->cb)(op->srv, token, rc, 1);
    free(op);
}

/* Second step of a delete: the stream's key is known, remove all three records at once. */
static void on_key_of(void *owner, uint64_t token, int rc, redisReply *rep)
{
    op_t *op = owner;
    char st[512], k[512], set[512];

    if (rc < 0 || rep->type != REDIS_REPLY_STRING) {
        ((rl_delete_cb)op->cb)(op->srv, token, rc, 0);
        free(op);
        return;
    }
    name(st, sizeof(st), op->srv, "stream", op->id);
    name(k, sizeof(k), op->srv, "key", rep->str);
    name(set, sizeof(set), op->srv, "streams", NULL);
    rl_redis_cmd(op->srv->redis, NULL, NULL, 0, 1, (const char *[]){ "MULTI" });
    rl_redis_cmd(op->srv->redis, NULL, NULL, 0, 3, (const char *[]){ "DEL", k, st });
    rl_redis_cmd(op->srv->redis, NULL, NULL, 0, 3, (const char *[]){ "SREM", set, op->id });
    if ((rc = op_send(op, on_deleted, 1, (const char *[]){ "EXEC" })) < 0) {
        ((rl_delete_cb)op->cb)(op->srv, token, rc, 0);
        free(op);
    }
}

int rl_keys_delete(rl_server_t *srv, const char *id, rl_delete_cb cb, uint64_t token)
{
    return ask_key(srv, id, (void *)cb, token, on_key_of);
}

/* HMGET title key of one stream: a stream whose hash is gone is not (re)loaded. */
static void on_fields(void *owner, uint64_t token, int rc, redisReply *rep)
{
    op_t *op = owner;
    redisReply *title, *key;
    rl_stream_t *st;

    (void)token;
    if (rc || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2)
        goto done;
    title = rep->element[0];
    key = rep->element[1];
    if (title->type != REDIS_REPLY_STRING || !(st = rl_stream_add(op->srv, op->id, title->str)))
        goto done;
    if (key->type == REDIS_REPLY_STRING)
        learn(op->srv, op->id, key->str);
    else
        st->key[0] = '\0';
done:
    free(op);
}

static int listed(const redisReply *set, const char *id)
{
    for (size_t i = 0; i < set->elements; i++)
        if (set->element[i]->type == REDIS_REPLY_STRING && !strcmp(set->element[i]->str, id))
            return 1;
    return 0;
}

/* Streams Redis no longer lists were deleted while we were away from it (by another node, or a
 * Redis that came back empty): forget them. A live one keeps playing, since its viewers did
 * nothing wrong, but its key is forgotten, so it cannot go live again without Redis. */
static void prune(rl_server_t *srv, const redisReply *set)
{
    for (int i = srv->nstreams - 1; i >= 0; i--) {
        rl_stream_t *st = srv->streams[i];
        if (listed(set, st->id))
            continue;
        st->key[0] = '\0';
        if (st->ingest)
            continue;
        rl_info("stream_forgotten", "stream=%s reason=\"no longer in Redis\"", st->id);
        rl_stream_remove(srv, st);
    }
}

static void on_members(void *owner, uint64_t token, int rc, redisReply *rep)
{
    op_t *list = owner, *op;
    char st[512];

    (void)token;
    if (rc || rep->type != REDIS_REPLY_ARRAY)
        goto done;
    prune(list->srv, rep);
    for (size_t i = 0; i < rep->elements; i++) {
        if (rep->element[i]->type != REDIS_REPLY_STRING || !(op = new_op(list->srv, NULL, 0)))
            continue;
        av_strlcpy(op->id, rep->element[i]->str, sizeof(op->id));
        name(st, sizeof(st), list->srv, "stream", op->id);
        if (op_send(op, on_fields, 4, (const char *[]){ "HMGET", st, "title", "key" }) < 0)
            free(op);
    }
    rl_info("streams_loaded", "count=%zu", rep->elements);
done:
    free(list);
}

void rl_keys_load_all(rl_server_t *srv)
{
    op_t *op = new_op(srv, NULL, 0);
    char set[512];

    if (!op)
        return;
    name(set, sizeof(set), srv, "streams", NULL);
    if (op_send(op, on_members, 2, (const char *[]){ "SMEMBERS", set }) < 0)
        free(op);
}
