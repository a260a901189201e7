/* Redis on the network thread's loop: hiredis async through our own libuv adapter, reconnecting.
 *
 * Replies come back as (token, reply) so a caller whose object may vanish while the command is in
 * flight (an RTMP session, an HTTP request) passes an id, not a pointer, and looks it up again.
 *
 * Whatever ends a connection (shutdown, kill -9, reset, a server not up yet, a hung server or
 * link found by the heartbeat PING), it is remade with backoff (100 ms doubling to 5 s, jittered),
 * and on_ready runs again. hiredis 0.14 has no command timeouts: callers that wait for a reply
 * give their own request a deadline of rl_redis_timeout_s and count it when it passes. */
#ifndef RELAY_REDIS_H
#define RELAY_REDIS_H

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <uv.h>

typedef struct rl_redis_s rl_redis_t;

/* reply is NULL (rc < 0) when Redis is down or the command failed to send; borrowed. */
typedef void (*rl_redis_cb)(void *owner, uint64_t token, int rc, redisReply *reply);

/* url: redis://HOST:PORT[/DB] or unix:/PATH[?db=N]. Connects in the background and keeps
 * reconnecting. A connection that does not finish its handshake, or answer its heartbeat PING,
 * within twice timeout_ms is dropped and remade. Returns NULL with err filled if the URL or the
 * timeout is invalid. */
rl_redis_t *rl_redis_new(uv_loop_t *loop, const char *url, int timeout_ms, char *err,
                         size_t errlen);
void rl_redis_free(rl_redis_t **r);

/* Called once each time the connection becomes ready (after SELECT). */
void rl_redis_on_ready(rl_redis_t *r, void (*fn)(void *owner), void *owner);
int rl_redis_ready(const rl_redis_t *r);
const char *rl_redis_describe(const rl_redis_t *r); /* "127.0.0.1:6379" for logs */

/* The deadline, in seconds, for a request that waits on a reply (redis-timeout-ms). */
double rl_redis_timeout_s(const rl_redis_t *r);
/* Seconds a client refused for want of Redis should wait before trying again (Retry-After). */
int rl_redis_retry_after_s(const rl_redis_t *r);
/* A caller's request passed its deadline (counted in /metrics). */
void rl_redis_count_timeout(rl_redis_t *r);

/* Sends a command built from argv (binary safe). Returns 0, or -ENOTCONN at once when not
 * connected (cb is then not called). */
int rl_redis_cmd(rl_redis_t *r, rl_redis_cb cb, void *owner, uint64_t token, int argc,
                 const char **argv);
/* The same with each argument's length (argvlen NULL: strlen), for bytes that may hold NULs. */
int rl_redis_cmd_len(rl_redis_t *r, rl_redis_cb cb, void *owner, uint64_t token, int argc,
                     const char **argv, const size_t *argvlen);

/* A message on a channel the connection subscribed to; channel and payload are borrowed. */
typedef void (*rl_redis_msg_cb)(void *owner, const char *channel, const char *payload, size_t len);
/* Makes r a subscriber connection (call it right after rl_redis_new): on every (re)connect it
 * subscribes to pattern, and becomes ready (on_ready) once Redis confirmed it. It then takes no
 * commands (rl_redis_cmd). Returns 0 or -ENOMEM. */
int rl_redis_psubscribe(rl_redis_t *r, const char *pattern, rl_redis_msg_cb cb, void *owner);
/* Parses a Redis URL; exposed for tests. Returns 0 or -EINVAL. */
int rl_redis_parse_url(const char *url, char *host, size_t hostlen, int *port, char *path,
                       size_t pathlen, int *db);

/* What /metrics reports of the connection: up now, reconnects after an outage, requests and
 * connections that passed their deadline, seconds spent down (the current outage included). */
typedef struct rl_redis_stats_s {
    int up;
    uint64_t reconnects, req_timeouts, conn_timeouts;
    double outage_s;
} rl_redis_stats_t;
void rl_redis_stats(const rl_redis_t *r, rl_redis_stats_t *st);

#endif
