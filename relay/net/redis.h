/* Redis on the network thread's loop: hiredis async through its libuv adapter, reconnecting.
 *
 * Replies come back as (token, reply) so a caller whose object may vanish while the command is in
 * flight (an RTMP session, an HTTP request) passes an id, not a pointer, and looks it up again. */
#ifndef RELAY_REDIS_H
#define RELAY_REDIS_H

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <uv.h>

typedef struct rl_redis_s rl_redis_t;

/* reply is NULL (rc < 0) when Redis is down or the command failed to send; borrowed. */
typedef void (*rl_redis_cb)(void *owner, uint64_t token, int rc, redisReply *reply);

/* url: redis://HOST:PORT[/DB] or unix:/PATH[?db=N]. Connects in the background and keeps
 * reconnecting once a second. Returns NULL with err filled if the URL is invalid. */
rl_redis_t *rl_redis_new(uv_loop_t *loop, const char *url, char *err, size_t errlen);
void rl_redis_free(rl_redis_t **r);

/* Called once each time the connection becomes ready (after SELECT). */
void rl_redis_on_ready(rl_redis_t *r, void (*fn)(void *owner), void *owner);
int rl_redis_ready(const rl_redis_t *r);
const char *rl_redis_describe(const rl_redis_t *r); /* "127.0.0.1:6379" for logs */

/* Sends a command built from argv (binary safe). Returns 0, or -ENOTCONN at once when not
 * connected (cb is then not called). */
int rl_redis_cmd(rl_redis_t *r, rl_redis_cb cb, void *owner, uint64_t token, int argc,
                 const char **argv);

/* Parses a Redis URL; exposed for tests. Returns 0 or -EINVAL. */
int rl_redis_parse_url(const char *url, char *host, size_t hostlen, int *port, char *path,
                       size_t pathlen, int *db);

#endif
