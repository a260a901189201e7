/* Redis on the network thread's loop: hiredis async through our own libuv adapter, reconnecting.
 *
 * Invariants: r->ac is the one live context (connecting, handshaking or ready), or NULL while we
 * wait to retry. A context stops being r->ac the moment we give up on it (lost), before hiredis
 * frees it, so its late callbacks (connect, disconnect, PING replies) recognise it as stale and do
 * nothing. Every way a connection can end (refused, reset, closed, hung, SELECT refused) goes
 * through lost(), which logs once per outage and schedules the next attempt with backoff. */
#include "relay/net/redis.h"

#include <errno.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "relay/core/backoff.h"
#include "relay/core/clock.h"
#include "relay/core/log.h"

/* Deadlines are checked once a second: every 1 s timer made before the loop first runs fires with
 * the node's 1 Hz tick, so an idle node wakes once a second for all of them. A heartbeat PING
 * goes on a connection that has said nothing for HEARTBEAT_MS (one that answers commands is
 * plainly alive): each costs a wake-up of Redis and one of ours for the pong, and at 1 s the two
 * connections' heartbeats were most of an idle node's CPU. A hung connection is found within
 * HEARTBEAT_MS + a second of going CONN_TIMEOUTS x redis-timeout-ms without an answer. */
#define WATCH_MS     1000
#define HEARTBEAT_MS 2000
#define TIMEOUT_MIN  100 /* ms: below this a loaded Redis would flap */
/* A connection is given twice a request's time: the request gives up first (503), and the
 * connection is remade only once it is clearly stuck, so a brief stall costs no reconnect. */
#define CONN_TIMEOUTS 2
/* The subscriber's outages have events of their own: one outage of Redis is one redis_down. */
#define EV_DOWN(r)  ((r)->sub_pattern ? "redis_subscriber_down" : "redis_down")
#define EV_READY(r) ((r)->sub_pattern ? "redis_subscriber_ready" : "redis_ready")

struct rl_redis_s {
    uv_loop_t *loop;
    redisAsyncContext *ac;
    uv_timer_t retry, watch;
    int handles_open;
    char host[256], path[256];
    int port, db;
    double timeout_s;
    int ready, closing;
    double conn_started; /* rl_now() when the current context was made */
    double ping_sent;    /* of the heartbeat in flight; 0: none */
    uint64_t heard_ms;   /* uv_now() when the socket last had something to read */
    unsigned beats;      /* watch ticks so far: heartbeats go on every HEARTBEAT_MS/WATCH_MS-th */
    unsigned tries;      /* connections attempted since the last time it was ready */
    double down_since;   /* 0 while no outage is going on */
    double next_retry;
    double outage_total; /* seconds, outages that ended */
    uint64_t reconnects, conn_timeouts, req_timeouts;
    void (*on_ready)(void *);
    void *owner;
    char desc[300];
    /* A subscriber connection (rl_redis_psubscribe): its pattern and where messages go. */
    char *sub_pattern;
    rl_redis_msg_cb on_msg;
    void *msg_owner;
};

typedef struct req_s {
    rl_redis_cb cb;
    void *owner;
    uint64_t token;
} req_t;

static void connect_now(rl_redis_t *r);

/* ---- the libuv adapter: hiredis's event hooks on one uv_poll_t ----
 *
 * hiredis 0.14's own adapter returns without a word when libuv reports a poll error. libuv
 * reports EPOLLERR (a refused connect, a reset connection) exactly that way, and has already
 * stopped the handle: hiredis never looks at the socket again, neither the connect callback nor
 * the disconnect callback ever comes, and the client waits for good. Here a poll error makes
 * hiredis read, so it sees the error (SO_ERROR while connecting, read(2) after) and gives up on the
 * context, as it would on any other error. */

typedef struct sock_s {
    uv_poll_t poll;
    redisAsyncContext *ac; /* NULL once hiredis has cleaned up */
    int events;
} sock_t;

static void drop(rl_redis_t *r, redisAsyncContext *ac, const char *why);

static void on_poll(uv_poll_t *h, int status, int events)
{
    sock_t *s = h->data;

    if (!s->ac)
        return;
    if (status < 0) {
        s->events = 0; /* libuv stopped the handle */
        redisAsyncHandleRead(s->ac);
        if (s->ac) /* hiredis found nothing wrong, but the kernel said so: do not wait on it */
            drop(s->ac->data, s->ac, uv_strerror(status));
        return;
    }
    if (events & UV_READABLE) {
        ((rl_redis_t *)s->ac->data)->heard_ms = uv_now(h->loop);
        redisAsyncHandleRead(s->ac);
    }
    if (s->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(s->ac);
}

/* hiredis asks again for what it has: reads after every read, writes with every command. Only
 * changes reach libuv (relay/net/uvpoll.c makes a change one epoll_ctl at the next poll). */
static void sock_update(sock_t *s, int add, int del)
{
    int events = (s->events | add) & ~del;

    if (events == s->events)
        return;
    s->events = events;
    if (s->events)
        uv_poll_start(&s->poll, s->events, on_poll);
    else
        uv_poll_stop(&s->poll);
}

static void ev_add_read(void *p)
{
    sock_update(p, UV_READABLE, 0);
}

static void ev_del_read(void *p)
{
    sock_update(p, 0, UV_READABLE);
}

static void ev_add_write(void *p)
{
    sock_update(p, UV_WRITABLE, 0);
}

static void ev_del_write(void *p)
{
    sock_update(p, 0, UV_WRITABLE);
}

static void sock_closed(uv_handle_t *h)
{
    free(h->data);
}

/* hiredis is about to free the context (and close its fd). */
static void ev_cleanup(void *p)
{
    sock_t *s = p;

    s->ac = NULL;
    uv_close((uv_handle_t *)&s->poll, sock_closed);
}

static int attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    sock_t *s = calloc(1, sizeof(*s));

    if (!s)
        return -ENOMEM;
    if (uv_poll_init(loop, &s->poll, ac->c.fd) < 0) {
        free(s);
        return -EIO;
    }
    s->poll.data = s;
    s->ac = ac;
    ac->ev.data = s;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    return 0;
}

/* ---- connection lifecycle ---- */

static uint32_t random32(void)
{
    uint32_t v;

    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
        v = (uint32_t)rl_now_us();
    return v;
}

static void retry_cb(uv_timer_t *t)
{
    connect_now(t->data);
}

/* The current connection is gone or given up on: log it once per outage, retry with backoff.
 * Whoever frees the context does so after this returns. */
static void lost(rl_redis_t *r, const char *why)
{
    char q[300];
    int delay;

    r->ac = NULL;
    r->ready = 0;
    r->ping_sent = 0;
    if (r->closing)
        return;
    rl_log_quote(q, sizeof(q), why);
    if (!r->down_since) {
        r->down_since = rl_now();
        rl_warn(EV_DOWN(r), "redis=%s error=%s", r->desc, q);
    } else {
        rl_dbg("redis_retry_failed", "redis=%s attempt=%u error=%s", r->desc, r->tries, q);
    }
    delay = rl_backoff_ms(r->tries, RL_BACKOFF_BASE_MS, RL_BACKOFF_CAP_MS, random32());
    r->next_retry = rl_now() + delay / 1000.0;
    uv_timer_start(&r->retry, retry_cb, (uint64_t)delay, 0);
}

/* Gives up on a context from our side (a deadline, a poll error, SELECT refused). Safe inside a
 * hiredis callback too: hiredis then frees the context once the callback returns. Commands still
 * waiting are answered with a NULL reply either way. */
static void drop(rl_redis_t *r, redisAsyncContext *ac, const char *why)
{
    if (!ac)
        return;
    if (ac == r->ac)
        lost(r, why);
    redisAsyncFree(ac);
}

static void became_ready(rl_redis_t *r)
{
    double now = rl_now();

    r->ready = 1;
    if (r->down_since) {
        r->outage_total += now - r->down_since;
        r->reconnects++;
        rl_info(EV_READY(r), "redis=%s db=%d outage_s=%.1f attempts=%u", r->desc, r->db,
                now - r->down_since, r->tries);
        r->down_since = 0;
    } else {
        rl_info(EV_READY(r), "redis=%s db=%d", r->desc, r->db);
    }
    r->tries = 0;
    if (r->on_ready)
        r->on_ready(r->owner);
}

static void send_psubscribe(rl_redis_t *r);

static void on_select(redisAsyncContext *ac, void *reply, void *priv)
{
    rl_redis_t *r = priv;
    redisReply *rep = reply;
    char why[300];

    if (ac != r->ac || !rep) /* stale, or freed: lost() already ran for it */
        return;
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof(why), "SELECT %d: %s", r->db, rep->str);
        drop(r, ac, why);
        return;
    }
    if (r->sub_pattern)
        send_psubscribe(r); /* ready once Redis confirms the subscription */
    else
        became_ready(r);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    rl_redis_t *r = ac->data;
    char db[16];

    if (ac != r->ac)
        return;
    if (status != REDIS_OK) {
        lost(r, ac->errstr); /* hiredis frees a context whose connect failed */
        return;
    }
    snprintf(db, sizeof(db), "%d", r->db);
    redisAsyncCommand(r->ac, on_select, r, "SELECT %s", db);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    rl_redis_t *r = ac->data;

    if (ac == r->ac)
        lost(r, status == REDIS_OK ? "closed" : ac->errstr);
}

static void connect_now(rl_redis_t *r)
{
    redisAsyncContext *ac =
        r->path[0] ? redisAsyncConnectUnix(r->path) : redisAsyncConnect(r->host, r->port);
    char why[300];

    r->tries++;
    r->conn_started = rl_now();
    if (!ac || ac->err || attach(ac, r->loop) < 0) {
        snprintf(why, sizeof(why), "%s",
                 !ac       ? "out of memory"
                 : ac->err ? ac->errstr
                           : "cannot watch the socket");
        if (ac)
            redisAsyncFree(ac);
        lost(r, why);
        return;
    }
    ac->data = r;
    r->ac = ac;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

/* ---- deadlines: hiredis 0.14 has none, so a hung server or a dead link is found here ---- */

static void on_pong(redisAsyncContext *ac, void *reply, void *priv)
{
    rl_redis_t *r = priv;

    if (ac == r->ac && reply)
        r->ping_sent = 0;
}

static void timed_out(rl_redis_t *r, const char *why)
{
    r->conn_timeouts++;
    drop(r, r->ac, why);
}

static void watch_cb(uv_timer_t *t)
{
    rl_redis_t *r = t->data;
    double now = rl_now();
    double limit = CONN_TIMEOUTS * r->timeout_s;

    r->beats++;
    if (!r->ac)
        return;
    if (!r->ready) {
        if (now - r->conn_started > limit)
            timed_out(r, "no answer while connecting");
    } else if (r->ping_sent) {
        if (now - r->ping_sent > limit)
            timed_out(r, "heartbeat PING not answered");
    } else if (!(r->beats % (HEARTBEAT_MS / WATCH_MS)) && /* in step with the node's others */
               uv_now(r->loop) - r->heard_ms >= HEARTBEAT_MS - WATCH_MS / 2) {
        if (r->sub_pattern)
            send_psubscribe(r);
        else if (redisAsyncCommand(r->ac, on_pong, r, "PING") == REDIS_OK)
            r->ping_sent = now;
        /* written now, not when the next poll finds the socket writable: the write interest
         * hiredis adds is taken back in this turn, so epoll is not touched (relay/net/uvpoll.c) */
        if (r->ac && r->ping_sent)
            redisAsyncHandleWrite(r->ac);
    }
}

/* ---- a subscriber connection ----
 *
 * A subscribed connection accepts no PING in RESP2 that hiredis 0.14 could match to its
 * callback, so the heartbeat subscribes to the same pattern again: Redis confirms it, changing
 * nothing, and the confirmation is the pong. The first confirmation makes the connection ready,
 * so whoever reloads state on ready cannot miss an event published after the reload. */

static void on_sub(redisAsyncContext *ac, void *reply, void *priv)
{
    rl_redis_t *r = priv;
    redisReply *rep = reply;

    if (ac != r->ac || !rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 ||
        rep->element[0]->type != REDIS_REPLY_STRING)
        return; /* stale, freed, or a confirmation hiredis already handled */
    if (!strcasecmp(rep->element[0]->str, "psubscribe")) {
        r->ping_sent = 0;
        if (!r->ready)
            became_ready(r);
    } else if (!strcasecmp(rep->element[0]->str, "pmessage") && rep->elements == 4 &&
               rep->element[2]->type == REDIS_REPLY_STRING &&
               rep->element[3]->type == REDIS_REPLY_STRING) {
        r->on_msg(r->msg_owner, rep->element[2]->str, rep->element[3]->str, rep->element[3]->len);
    }
}

static void send_psubscribe(rl_redis_t *r)
{
    if (redisAsyncCommand(r->ac, on_sub, r, "PSUBSCRIBE %s", r->sub_pattern) == REDIS_OK)
        r->ping_sent = rl_now();
}

int rl_redis_psubscribe(rl_redis_t *r, const char *pattern, rl_redis_msg_cb cb, void *owner)
{
    free(r->sub_pattern);
    if (!(r->sub_pattern = strdup(pattern)))
        return -ENOMEM;
    r->on_msg = cb;
    r->msg_owner = owner;
    return 0;
}

/* ---- public ---- */

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

rl_redis_t *rl_redis_new(uv_loop_t *loop, const char *url, int timeout_ms, char *err, size_t errlen)
{
    rl_redis_t *r;

    if (timeout_ms < TIMEOUT_MIN)
        return snprintf(err, errlen, "redis-timeout-ms: %d is below %d", timeout_ms, TIMEOUT_MIN),
               NULL;
    if (!(r = calloc(1, sizeof(*r))))
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
    r->timeout_s = timeout_ms / 1000.0;
    uv_timer_init(loop, &r->retry);
    uv_timer_init(loop, &r->watch);
    r->retry.data = r->watch.data = r;
    r->handles_open = 2;
    uv_timer_start(&r->watch, watch_cb, WATCH_MS, WATCH_MS);
    connect_now(r);
    return r;
}

static void timer_closed(uv_handle_t *h)
{
    rl_redis_t *r = h->data;

    if (!--r->handles_open) {
        free(r->sub_pattern);
        free(r);
    }
}

void rl_redis_free(rl_redis_t **pr)
{
    rl_redis_t *r = *pr;

    if (!r)
        return;
    r->closing = 1;
    drop(r, r->ac, "shutting down"); /* pending callbacks run with a NULL reply */
    uv_timer_stop(&r->retry);
    uv_timer_stop(&r->watch);
    uv_close((uv_handle_t *)&r->retry, timer_closed);
    uv_close((uv_handle_t *)&r->watch, timer_closed);
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

double rl_redis_timeout_s(const rl_redis_t *r)
{
    return r->timeout_s;
}

int rl_redis_retry_after_s(const rl_redis_t *r)
{
    double wait = r->ready || r->ac ? 0 : r->next_retry - rl_now();

    return wait > 1 ? (int)(wait + 0.999) : 1;
}

void rl_redis_count_timeout(rl_redis_t *r)
{
    r->req_timeouts++;
}

void rl_redis_stats(const rl_redis_t *r, rl_redis_stats_t *st)
{
    st->up = r->ready;
    st->reconnects = r->reconnects;
    st->req_timeouts = r->req_timeouts;
    st->conn_timeouts = r->conn_timeouts;
    st->outage_s = r->outage_total + (r->down_since ? rl_now() - r->down_since : 0);
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
    return rl_redis_cmd_len(r, cb, owner, token, argc, argv, NULL);
}

int rl_redis_cmd_len(rl_redis_t *r, rl_redis_cb cb, void *owner, uint64_t token, int argc,
                     const char **argv, const size_t *argvlen)
{
    req_t *q;

    if (!r->ready || !r->ac)
        return -ENOTCONN;
    if (!cb) /* fire and forget: the reply that matters comes later in the same pipeline */
        return redisAsyncCommandArgv(r->ac, NULL, NULL, argc, argv, argvlen) == REDIS_OK ? 0 : -EIO;
    if (!(q = malloc(sizeof(*q))))
        return -ENOMEM;
    *q = (req_t){ cb, owner, token };
    if (redisAsyncCommandArgv(r->ac, on_reply, q, argc, argv, argvlen) != REDIS_OK) {
        free(q);
        return -EIO;
    }
    return 0;
}
