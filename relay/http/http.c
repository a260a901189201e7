/* HTTP transport on the libwebsockets loop: a request's life, dispatch, responses in one send.
 *
 * Every response body is a blob (relay/core/blob.h). A GET answered at once is written from
 * inside the request callback; headers go in the blob's headroom, so status line, headers and
 * body leave in one send and the body is never copied by us (HLS media and playlists are shared
 * blobs). The resources themselves live in relay/routes/, one file each. */
#include "relay/http/http.h"

#include <errno.h>
#include <libavutil/avstring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/core/clock.h"
#include "relay/core/log.h"
#include "relay/core/secret.h"
#include "relay/net/redis.h"
#include "relay/net/tcpinfo.h"

static int write_response(rl_http_req_t *r);

/* An answer made outside lws's callbacks (a Redis reply, a deadline) to a request marked direct
 * is written at once on HTTP/1: the client is waiting, its socket has room, and a writeable round
 * trip would cost an epoll_wait and two epoll_ctl more (lws on libuv). What the socket does not
 * take, lws keeps and sends later; a connection that cannot go on is closed from the loop. */
static void write_now(rl_http_req_t *r)
{
    if (write_response(r) < 0)
        lws_set_timeout(r->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

/* Takes over the reference to body (NULL: none). */
void rl_http_respond(rl_http_req_t *r, int status, const char *ctype, rl_blob_t *body)
{
    rl_blob_unref(&r->resp);
    r->status = status;
    r->ctype = ctype;
    if (!r->cache)
        r->cache = "no-store";
    r->resp = body;
    r->ready = 1;
    if (r->in_callback)
        return;
    if (r->direct && lws_get_network_wsi(r->wsi) == r->wsi)
        write_now(r);
    else
        lws_callback_on_writable(r->wsi);
}

/* Takes ownership of the malloc'ed text s (NULL when out of memory: 500, no body). */
void rl_http_respond_text(rl_http_req_t *r, int status, const char *ctype, char *s, size_t len)
{
    rl_blob_t *b = s ? rl_blob_copy(s, len) : NULL;

    free(s);
    rl_http_respond(r, b ? status : 500, ctype, b);
}

/* Takes ownership of j. */
void rl_http_respond_json(rl_http_req_t *r, int status, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);

    json_decref(j);
    rl_http_respond_text(r, status, "application/json", s, s ? strlen(s) : 0);
}

void rl_http_error(rl_http_req_t *r, int status, const char *msg)
{
    rl_http_respond_json(r, status, json_pack("{s:s}", "error", msg));
}

rl_http_req_t *rl_http_take_pending(rl_server_t *srv, uint64_t id)
{
    for (rl_http_req_t **pp = &srv->http_pending; *pp; pp = &(*pp)->next)
        if ((*pp)->id == id) {
            rl_http_req_t *r = *pp;
            *pp = r->next;
            r->next = NULL;
            return r;
        }
    return NULL;
}

/* Parks r until a reply (Redis, or a file read) comes back with its id. */
void rl_http_wait_reply(rl_http_req_t *r)
{
    r->next = r->srv->http_pending;
    r->srv->http_pending = r;
}

/* ---- Redis faults: deadlines and 503 with Retry-After ---- */

void rl_http_wait_redis(rl_http_req_t *r)
{
    r->redis_deadline = rl_now() + rl_redis_timeout_s(r->srv->redis);
    rl_http_wait_reply(r);
    rl_server_deadline_set(r->srv);
}

void rl_http_unavailable(rl_http_req_t *r, const char *msg)
{
    r->retry_after = rl_redis_retry_after_s(r->srv->redis);
    rl_http_error(r, 503, msg);
}

int rl_http_expire_redis(rl_server_t *srv)
{
    double now = rl_now();
    rl_http_req_t *r = srv->http_pending, *next;
    int waiting = 0;

    for (; r; r = next) {
        next = r->next;
        if (!r->redis_deadline)
            continue;
        if (now < r->redis_deadline) {
            waiting++;
            continue;
        }
        rl_http_take_pending(srv, r->id);
        rl_redis_count_timeout(srv->redis);
        rl_http_unavailable(r, "key store did not answer in time");
    }
    return waiting;
}

/* Constant time, so the token cannot be guessed byte by byte from response times. */
int rl_http_is_operator(rl_http_req_t *r)
{
    char hdr[256];

    if (lws_hdr_copy(r->wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) <= 7 ||
        strncasecmp(hdr, "Bearer ", 7))
        return 0;
    return rl_secret_eq(hdr + 7, strlen(hdr + 7), r->srv->operator_token);
}

/* An id is short, lowercase letters and digits: anything else cannot be one of ours. */
int rl_http_valid_id(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789");

    return n > 0 && n < 32 && !s[n];
}

/* A {sub} segment: letters, digits and "._-:", 1 to 63 of them, up to the next '/' or the end. */
static size_t segment_len(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:");

    return n < 64 && (s[n] == '/' || !s[n]) ? n : 0;
}

/* Whether path fits a template "A{id}B" or "A{id}B{sub}C" (A, B, C literal); the id goes to id
 * (a valid stream id), the segment to sub. */
static int template_fits(const char *tpl, const char *path, char *id, char *sub, size_t subsize)
{
    const char *hole = strstr(tpl, "{id}"), *b = hole + 4, *shole = strstr(b, "{sub}");
    size_t pre = hole - tpl, blen = shole ? (size_t)(shole - b) : strlen(b), idlen, sublen;
    const char *p = path + pre;

    if (strncmp(path, tpl, pre))
        return 0;
    idlen = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789");
    if (idlen == 0 || idlen >= 32 || strncmp(p + idlen, b, blen))
        return 0;
    memcpy(id, p, idlen);
    id[idlen] = '\0';
    p += idlen + blen;
    sub[0] = '\0';
    if (!shole)
        return !*p;
    if (!(sublen = segment_len(p)) || sublen >= subsize || strcmp(p + sublen, shole + 5))
        return 0;
    memcpy(sub, p, sublen);
    sub[sublen] = '\0';
    return 1;
}

/* Whether the path fits the route: exactly, or the prefix followed by an id or by anything. */
static int path_fits(const rl_route_t *rt, const char *path, size_t n, char *id, char *sub,
                     size_t subsize)
{
    if (rt->arg == RL_ROUTE_EXACT)
        return !strcmp(path, rt->path);
    if (rt->arg == RL_ROUTE_SUB)
        return template_fits(rt->path, path, id, sub, subsize);
    return !strncmp(path, rt->path, n) && (rt->arg != RL_ROUTE_ID || rl_http_valid_id(path + n));
}

/* The route for r's method and path (its id and r->sub filled), or NULL; *path_matched says
 * whether the path is some route's under another method. */
static const rl_route_t *find_route(rl_http_req_t *r, char *id, int *path_matched)
{
    const rl_route_t *rt;

    *path_matched = 0;
    for (size_t i = 0; i < r->srv->nroutes; i++) {
        rt = &r->srv->routes[i];
        if (!path_fits(rt, r->path, strlen(rt->path), id, r->sub, sizeof(r->sub)))
            continue;
        *path_matched = 1;
        if (rt->method == r->method)
            return rt;
    }
    return NULL;
}

static void dispatch(rl_http_req_t *r)
{
    int path_matched;
    char id[32], msg[64];
    const rl_route_t *rt = find_route(r, id, &path_matched);
    size_t n;

    r->open = 1;
    if (!rt) {
        rl_http_error(r, path_matched ? 405 : 404,
                      path_matched ? "method not allowed" : "not found");
        return;
    }
    if (rt->operator_only && !rl_http_is_operator(r)) {
        rl_http_error(r, 401, "operator bearer token required");
        return;
    }
    if (r->too_big) {
        snprintf(msg, sizeof(msg), "request body too large: at most %zu bytes", r->body_max);
        rl_http_error(r, 413, msg);
        return;
    }
    n = strlen(rt->path);
    rt->fn(r, rt->arg == RL_ROUTE_SUB     ? id
              : rt->arg != RL_ROUTE_EXACT ? r->path + n
                                          : r->path + strlen(r->path));
}

/* A body is kept up to its route's limit (an image upload's is larger than any JSON body's),
 * in one allocation when its length is announced. A request its route will refuse anyway (no
 * operator token) keeps none of it. */
static void expect_body(rl_http_req_t *r, size_t len)
{
    int path_matched;
    char id[32];
    const rl_route_t *rt = find_route(r, id, &path_matched);

    r->body_max = rt && rt->body_max ? rt->body_max : RL_HTTP_BODY_MAX;
    if (rt && rt->operator_only && !rl_http_is_operator(r))
        r->body_max = 0;
    if (len > r->body_max)
        r->too_big = 1;
    else if ((r->body = malloc(len + 1)))
        r->body_cap = len + 1;
}

_Static_assert(RL_BLOB_HEADROOM >= LWS_PRE + 512, "blob headroom too small for our headers");

/* Retry-After on a 503 that Redis caused; nothing otherwise. Returns nonzero when out of room. */
static int add_retry_after(rl_http_req_t *r, uint8_t **p, uint8_t *end)
{
    char v[16];
    int n;

    if (!r->retry_after)
        return 0;
    n = snprintf(v, sizeof(v), "%d", r->retry_after);
    return lws_add_http_header_by_token(r->wsi, WSI_TOKEN_HTTP_RETRY_AFTER, (const uint8_t *)v, n,
                                        p, end);
}

/* An HLS response says how long shopcast held it before the media existed (0: not held;
 * relay/routes/hls.c), as Server-Timing "hold;dur=MS", and a media response adds the
 * connection's least round trip as the kernel measured it (TCP_INFO): ", rtt;dur=MS". A part of a
 * still picture is a few kB that often arrives in one read, so a player cannot time its transfer
 * from first byte to last; with these it times request to last byte, less the hold and the round
 * trip, from the browser's Resource Timing (web/static/watch.js), which pages of other origins
 * see too (timing-allow-origin), as they see the media (access-control-allow-origin). The
 * getsockopt is one system call per media response (lws 4.1.6 gives each HTTP/1 transaction a
 * fresh per-session struct, so nothing per connection can be kept there): ~1 us against the
 * ~70 us a 134 kB part costs, and playlists, at ~28 us, do without it. */
static int add_server_timing(rl_http_req_t *r, uint8_t **p, uint8_t *end)
{
    char v[64];
    double rtt;
    int n;

    if (r->timed == RL_TIMED_NONE)
        return 0;
    n = snprintf(v, sizeof(v), "hold;dur=%.1f",
                 r->held_since ? (rl_now() - r->held_since) * 1e3 : 0.0);
    if (r->timed == RL_TIMED_HOLD_RTT &&
        (rtt = rl_tcp_min_rtt_ms(lws_get_socket_fd(lws_get_network_wsi(r->wsi)))) >= 0)
        n += snprintf(v + n, sizeof(v) - (size_t)n, ", rtt;dur=%.1f", rtt);
    return lws_add_http_header_by_name(
               r->wsi, (const uint8_t *)"server-timing:", (const uint8_t *)v, n, p, end) ||
           lws_add_http_header_by_name(
               r->wsi, (const uint8_t *)"timing-allow-origin:", (const uint8_t *)"*", 1, p, end);
}

/* One send for headers and body on HTTP/1: the header block is placed in the body blob's headroom,
 * right before the body. The blob may be shared with other responses, but the headroom is only
 * scratch for the duration of this lws_write (one thread; lws copies whatever the socket did not
 * take). Under a multiplexing role (h2) headers and body go as lws wants them, in two writes;
 * the blob's headroom still provides the LWS_PRE lws needs in front of the body. */
static int write_response(rl_http_req_t *r)
{
    uint8_t hdr[RL_BLOB_HEADROOM], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;
    size_t hlen, blen = r->resp ? r->resp->len : 0;
    int h1 = lws_get_network_wsi(r->wsi) == r->wsi;

    r->ready = r->open = 0;
    r->srv->counters.http_status[r->status >= 100 && r->status < 600 ? r->status / 100 : 0]++;
    if (lws_add_http_common_headers(r->wsi, (unsigned)r->status, r->ctype, blen, &p, end) ||
        lws_add_http_header_by_name(r->wsi, (const uint8_t *)"access-control-allow-origin:",
                                    (const uint8_t *)"*", 1, &p, end) ||
        lws_add_http_header_by_token(r->wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const uint8_t *)r->cache, (int)strlen(r->cache), &p, end) ||
        add_retry_after(r, &p, end) || add_server_timing(r, &p, end))
        return -1;
    if (h1 && blen) {
        if (lws_finalize_http_header(r->wsi, &p, end))
            return -1;
        hlen = (size_t)(p - start);
        memcpy(r->resp->data - hlen, start, hlen);
        if (lws_write(r->wsi, r->resp->data - hlen, hlen + blen, LWS_WRITE_HTTP_FINAL) <
            (int)(hlen + blen))
            return -1;
    } else {
        if (lws_finalize_write_http_header(r->wsi, start, &p, end))
            return -1;
        if (blen && lws_write(r->wsi, r->resp->data, blen, LWS_WRITE_HTTP_FINAL) < (int)blen)
            return -1;
    }
    rl_blob_unref(&r->resp);
    return lws_http_transaction_completed(r->wsi) ? -1 : 0;
}

static rl_method_t method_of(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
        return RL_GET;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
        return RL_POST;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI))
        return RL_PUT;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI))
        return RL_PATCH;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI))
        return RL_DELETE;
    return RL_OTHER;
}

static void req_reset(rl_http_req_t *r)
{
    if (r->srv)
        rl_http_take_pending(r->srv, r->id);
    if (r->on_reset)
        r->on_reset(r);
    free(r->body);
    rl_blob_unref(&r->resp);
    memset(r, 0, sizeof(*r));
}

/* lws 4.1.6 mishandles requests a client pipelines behind one that is not answered yet: it
 * parses the next one at once (whose headers would reset this one's state), and it hands a POST
 * behind another wrong bytes as its body, then calls BODY_COMPLETION again and again from its idle
 * handler, consuming nothing (a loop at full CPU). Such a client is disconnected: browsers never
 * pipeline, and a request it loses that way is one it may retry. */
static int pipelined(rl_http_req_t *r)
{
    rl_dbg("http_pipelined", "path=%s msg=\"request pipelined behind an open one: closing\"",
           r->path);
    return -1;
}

static int on_http(rl_http_req_t *r, struct lws *wsi, const char *path)
{
    char cl[32];
    long len;

    if (r->open)
        return pipelined(r);
    req_reset(r);
    r->wsi = wsi;
    r->srv = rl_server_from_wsi(wsi);
    r->id = ++r->srv->next_http_id;
    r->method = method_of(wsi);
    r->srv->counters.http_requests++;
    if (strlen(path) >= sizeof(r->path)) {
        rl_http_error(r, 400, "path too long");
        return 0;
    }
    av_strlcpy(r->path, path, sizeof(r->path));
    /* A request with a body is dispatched once the body is complete; lws 4.1.6 also completes
     * the empty body of a POST with "Content-Length: 0" (not of a PUT or PATCH). */
    if ((r->method == RL_POST || r->method == RL_PUT || r->method == RL_PATCH) &&
        lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
        ((len = atol(cl)) > 0 || r->method == RL_POST)) {
        expect_body(r, len > 0 ? (size_t)len : 0);
        return 0;
    }
    /* A GET answered at once is written before returning (lws allows writing from the HTTP
     * callback on HTTP/1), saving a POLLOUT round trip through the loop. */
    r->in_callback = r->method == RL_GET;
    dispatch(r);
    r->in_callback = 0;
    return r->ready && r->method == RL_GET ? write_response(r) : 0;
}

static int on_body(rl_http_req_t *r, const void *in, size_t len)
{
    size_t need = r->body_len + len + 1, cap = need > 2 * r->body_cap ? need : 2 * r->body_cap;
    char *grown;

    if (r->too_big || r->body_len + len > r->body_max) {
        r->too_big = 1; /* the rest is read and dropped: 413 once it is all in */
        free(r->body);
        r->body = NULL;
        r->body_len = r->body_cap = 0;
        return 0;
    }
    if (need > r->body_cap) {
        if (!(grown = realloc(r->body, cap)))
            return -1;
        r->body = grown;
        r->body_cap = cap;
    }
    if (len) /* lws also calls with no bytes (in NULL) */
        memcpy(r->body + r->body_len, in, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

int rl_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    rl_http_req_t *r = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP: return on_http(r, wsi, in);
    case LWS_CALLBACK_HTTP_BODY: return on_body(r, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (r->open) /* lws calls it again: see pipelined() */
            return pipelined(r);
        dispatch(r);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE: return r && r->ready ? write_response(r) : 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return -1; /* a WebSocket that offered no subprotocol we speak (lws binds it here) */
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (r)
            req_reset(r);
        return 0;
    default: return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* tx_packet_size: lws would otherwise cut every send at pt_serv_buf_size and copy the rest of a
 * part or segment into its own buffer, to send over further trips through the loop. Offered in
 * one send, the kernel takes all of it when the socket has room; only what it refuses is copied. */
const struct lws_protocols rl_http_protocol = {
    "http", rl_http_callback, sizeof(rl_http_req_t), 0, 0, NULL, 16 << 20
};
