/* Live HLS: master and media playlists (blocking reload, delta updates), init segments, segments
 * and parts, from each stream's RAM window (relay/media/hls_live.c).
 *
 * A request for something that does not exist yet but will soon (a blocking playlist reload, a
 * preload-hinted part) is held on srv->hls_waiting until the window has it, at most three target
 * durations (RFC 8216bis 6.2.5.2), then answered 503. */
#include "relay/routes/routes.h"

#include <errno.h>
#include <libavutil/avstring.h>
#include <stdio.h>
#include <string.h>

#include "relay/live/stream.h"
#include "relay/media/hls_live.h"
#include "relay/signal/hub.h"
#include "proto/status.h"

static void unwait(rl_http_req_t *r)
{
    for (rl_http_req_t **pp = &r->srv->hls_waiting; *pp; pp = &(*pp)->wnext)
        if (*pp == r) {
            *pp = r->wnext;
            break;
        }
    r->waiting = 0;
    r->wnext = NULL;
    r->on_reset = NULL;
}

/* Holds the request until the media it asks for exists (RFC 8216bis 6.2.5.2), at most three
 * target durations; rl_route_hls_changed and rl_route_hls_tick answer it. Nothing is sent
 * meanwhile, not even the headers: the response starts whole, headers and body in one send, so the
 * wait shows as time to first byte and a player timing first byte to last (web/static/watch.js)
 * times only the link; and the response says how long it was held (Server-Timing), for a
 * response that arrives in one read and so has no first-to-last span to time. */
static void hold(rl_http_req_t *r, int target_duration)
{
    if (r->waiting)
        return;
    r->waiting = 1;
    r->held_since = rl_now(); /* the response's Server-Timing: relay/http/http.c */
    r->on_reset = unwait;     /* the client may leave first */
    r->deadline = rl_now() + 3.0 * target_duration;
    r->wnext = r->srv->hls_waiting;
    r->srv->hls_waiting = r;
}

/* Splits "ID/master.m3u8" or "ID/RUNG/NAME"; the parts point into buf. */
static int split_hls_path(char *buf, char **id, char **rung, char **name)
{
    char *a = strchr(buf, '/'), *b;

    if (!a)
        return -EINVAL;
    *a++ = '\0';
    *id = buf;
    if ((b = strchr(a, '/'))) {
        *b++ = '\0';
        *rung = a;
        *name = b;
    } else {
        *rung = NULL;
        *name = a;
    }
    return rl_http_valid_id(*id) && !strchr(*name, '/') ? 0 : -EINVAL;
}

/* Serves, or holds, one HLS request; returns 1 once it has been answered. */
static int hls_try(rl_http_req_t *r)
{
    char buf[256], *id, *rung, *name;
    rl_stream_t *st;
    hls_name_t n;
    hls_query_t q;
    rl_blob_t *body = NULL;
    int rc;

    av_strlcpy(buf, r->path + 5, sizeof(buf)); /* after "/hls/" */
    if (split_hls_path(buf, &id, &rung, &name) < 0 || hls_parse_name(name, &n) < 0 ||
        (n.type == HLS_NAME_MASTER) != !rung || hls_parse_query(r->query, &q) < 0) {
        rl_http_error(r, 400, "bad HLS request");
        return 1;
    }
    if (!(st = rl_stream_find(r->srv, id)) || !st->hls) {
        rl_http_error(r, 404, "no such stream");
        return 1;
    }
    if (n.type == HLS_NAME_MASTER)
        rc = rl_hls_master(st->hls, &body);
    else if (n.type == HLS_NAME_MEDIA)
        rc = rl_hls_playlist(st->hls, rung, &q, &body);
    else
        rc = rl_hls_file(st->hls, rung, &n, &body);
    if (rc == RL_EAGAIN) {
        hold(r, rl_hls_target_duration(st->hls));
        return 0;
    }
    if (rc < 0) {
        rl_http_error(r,
                      rc == -EINVAL   ? 400
                      : rc == -ENOENT ? 404
                                      : 500,
                      rc == -EINVAL   ? "request too far ahead of the live edge"
                      : rc == -ENOENT ? "not found"
                                      : "out of memory");
    } else if (n.type == HLS_NAME_MASTER || n.type == HLS_NAME_MEDIA) {
        rl_http_respond(r, 200, "application/vnd.apple.mpegurl", body);
    } else {
        /* Every name is used once (numbering follows the wall clock), so caches may keep it. */
        r->cache = "public, max-age=86400, immutable";
        r->timed = RL_TIMED_HOLD_RTT;
        rl_http_respond(r, 200, "video/mp4", body);
    }
    return 1;
}

/* The query string, with lws's fragments joined by '&' again. */
static void copy_query(rl_http_req_t *r)
{
    char frag[128];
    size_t o = 0;

    r->query[0] = '\0';
    for (int i = 0;
         lws_hdr_copy_fragment(r->wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++)
        o += (size_t)snprintf(r->query + o, o < sizeof(r->query) ? sizeof(r->query) - o : 0, "%s%s",
                              i ? "&" : "", frag);
}

/* A player reloads its media playlist every part: each reload says a session still watches. */
static void count_viewer(rl_http_req_t *r)
{
    char id[32], peer[64] = "", ua[256] = "";
    const char *p = r->path + 5;
    size_t n = strcspn(p, "/");
    rl_stream_t *st;

    if (n >= sizeof(id) || !strstr(p + n, "/media.m3u8"))
        return;
    memcpy(id, p, n);
    id[n] = '\0';
    if (!(st = rl_stream_find(r->srv, id)))
        return;
    lws_get_peer_simple(r->wsi, peer, sizeof(peer));
    if (lws_hdr_copy(r->wsi, ua, sizeof(ua), WSI_TOKEN_HTTP_USER_AGENT) < 0)
        ua[0] = '\0';
    rl_hub_hls_seen(r->srv, st, peer, ua);
}

void rl_route_hls(rl_http_req_t *r, const char *arg)
{
    (void)arg;
    r->timed = RL_TIMED_HOLD; /* Server-Timing: relay/http/http.c; media adds the round trip */
    copy_query(r);
    count_viewer(r);
    hls_try(r);
}

void rl_route_hls_changed(rl_server_t *srv, rl_stream_t *st)
{
    rl_http_req_t *r = srv->hls_waiting, *next;
    size_t n = strlen(st->id);

    for (; r; r = next) {
        next = r->wnext;
        if (!strncmp(r->path + 5, st->id, n) && r->path[5 + n] == '/' && hls_try(r))
            unwait(r);
    }
}

void rl_route_hls_tick(rl_server_t *srv)
{
    double now = rl_now();
    rl_http_req_t *r = srv->hls_waiting, *next;

    for (; r; r = next) {
        next = r->wnext;
        if (now < r->deadline)
            continue;
        unwait(r);
        rl_http_error(r, 503, "media did not arrive in time");
    }
}
