/* HTTP transport on the libwebsockets loop: a request's life, dispatch, responses in one send.
 *
 * The transport knows nothing of resources: it matches each request against the route table it
 * is given (srv->routes, relay/routes/routes.c) and hands the request to the route's handler,
 * which answers through rl_http_respond* at once or later. A request that waits (for Redis, a
 * file read, media) is found again by its id, never by pointer, because the client may have gone
 * meanwhile. Request bodies are capped at RL_HTTP_BODY_MAX, or at their route's own limit (an
 * image upload's); more is refused with 413, and kept nowhere meanwhile. */
#ifndef RELAY_HTTP_H
#define RELAY_HTTP_H

#include <jansson.h>
#include <libwebsockets.h>
#include <stdint.h>

#include "relay/core/blob.h"
#include "relay/net/server.h"

#define RL_HTTP_BODY_MAX 16384

typedef enum { RL_GET, RL_POST, RL_PUT, RL_PATCH, RL_DELETE, RL_OTHER } rl_method_t;

typedef struct rl_http_req_s rl_http_req_t;

/* arg: what follows the route's path (an {id}, the rest of the path, or "" for exact routes). */
typedef void (*rl_route_fn)(rl_http_req_t *r, const char *arg);

/* One row of the route table: method, path prefix, what may follow it (RL_ROUTE_EXACT nothing,
 * RL_ROUTE_ID a stream id, RL_ROUTE_REST anything), whether the operator token is required, and
 * the largest body it takes (0: RL_HTTP_BODY_MAX).
 * RL_ROUTE_SUB paths are templates of a stream's sub-resource, "/api/v1/streams/{id}/orders" or
 * "/api/v1/streams/{id}/products/{sub}/image": the handler's arg is the id, and {sub} (one path
 * segment of letters, digits and "._-:", a product id say) is copied into r->sub. */
enum { RL_ROUTE_EXACT, RL_ROUTE_ID, RL_ROUTE_REST, RL_ROUTE_SUB };
struct rl_route_s {
    rl_method_t method;
    const char *path;
    int arg, operator_only;
    rl_route_fn fn;
    size_t body_max;
};

/* Per-connection request state (lws per-session data), reset at each new request. */
struct rl_http_req_s {
    struct rl_http_req_s *next; /* on srv->http_pending while waiting for a reply */
    struct lws *wsi;
    rl_server_t *srv;
    uint64_t id;
    rl_method_t method;
    char path[256];
    char sub[64]; /* RL_ROUTE_SUB: the segment {sub} matched */
    char *body;
    size_t body_len, body_cap;
    size_t body_max; /* the route's, decided when the headers are in */
    int too_big;
    /* A route that parks the request on a list of its own (HLS waiting for media) sets these;
     * on_reset unlinks it when the request ends for any reason. */
    struct rl_http_req_s *wnext;
    int waiting;
    double deadline;
    int timed;         /* RL_TIMED_*: what the response's Server-Timing says (http.c) */
    double held_since; /* when a route first held it (0: never) */
    char query[256];
    void (*on_reset)(rl_http_req_t *r);
    double redis_deadline; /* waiting on Redis: rl_http_expire_redis answers 503 after it */
    /* response */
    int ready, status;
    int retry_after; /* seconds for a Retry-After header; 0: none */
    int in_callback; /* inside LWS_CALLBACK_HTTP: write on return, no writeable round trip */
    int direct;      /* answered from outside lws's callbacks: write at once (HTTP/1), see http.c */
    int open;        /* dispatched and not answered yet: see pipelined() in http.c */
    const char *ctype;
    const char *cache; /* Cache-Control */
    rl_blob_t *resp;   /* NULL: no body */
};

/* Server-Timing on a response: none; how long a route held it; that and the round trip. */
enum { RL_TIMED_NONE, RL_TIMED_HOLD, RL_TIMED_HOLD_RTT };

/* lws protocol callback for the HTTP vhost, and its protocol (one entry, not terminated: the
 * vhost's first, the one lws falls back to). */
int rl_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);
extern const struct lws_protocols rl_http_protocol;

/* Answering. Each may be called once per request, at once or later from a reply. */
void rl_http_respond(rl_http_req_t *r, int status, const char *ctype,
                     rl_blob_t *body); /* takes over the reference to body (NULL: none) */
void rl_http_respond_text(rl_http_req_t *r, int status, const char *ctype, char *s,
                          size_t len); /* takes ownership of malloc'ed s */
void rl_http_respond_json(rl_http_req_t *r, int status, json_t *j); /* takes ownership of j */
void rl_http_error(rl_http_req_t *r, int status, const char *msg);

/* Parks r until a reply (Redis, a file read) comes back carrying its id; take_pending finds it
 * again, or returns NULL when the client has gone. */
void rl_http_wait_reply(rl_http_req_t *r);
rl_http_req_t *rl_http_take_pending(rl_server_t *srv, uint64_t id);

/* Parks r for a Redis reply, with a deadline of redis-timeout-ms: hiredis 0.14 has no command
 * timeouts. rl_http_expire_redis answers the late ones 503; their reply then finds no one. */
void rl_http_wait_redis(rl_http_req_t *r);
/* Returns how many requests still wait on Redis with a deadline. */
int rl_http_expire_redis(rl_server_t *srv);
/* 503 with Retry-After: Redis is down or did not answer in time (RFC 9110 10.2.3). */
void rl_http_unavailable(rl_http_req_t *r, const char *msg);

/* Answers r with the file at path, read on libuv's thread pool (relay/http/file.c). */
void rl_http_respond_file(rl_http_req_t *r, const char *path, const char *cache);

/* Whether the request carries the operator bearer token (compared in constant time). */
int rl_http_is_operator(rl_http_req_t *r);
/* An id is short, lowercase letters and digits: anything else cannot be one of ours. */
int rl_http_valid_id(const char *s);

#endif
