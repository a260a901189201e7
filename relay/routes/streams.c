/* The streams API: list, describe, create (with its secret key), give a new key (revoking the old
 * one), delete (revoking the key).
 *
 * Creating and deleting go through Redis (relay/live/keys.c); the request waits for the reply on
 * the pending list. The key is returned only to the operator who created the stream (or gave it a
 * new key), and never appears in any other reply. */
#include "relay/routes/routes.h"

#include <errno.h>
#include <jansson.h>
#include <libavutil/avstring.h>
#include <stdio.h>
#include <string.h>

#include "relay/core/log.h"
#include "relay/ingest/ingest.h"
#include "relay/live/keys.h"
#include "relay/live/stream.h"

#define TITLE_MAX 200

void rl_route_streams_list(rl_http_req_t *r, const char *arg)
{
    json_t *arr = json_array();

    (void)arg;
    for (int i = 0; i < r->srv->nstreams; i++)
        json_array_append_new(arr, rl_stream_json(r->srv->streams[i]));
    rl_http_respond_json(r, 200, json_pack("{s:o}", "streams", arr));
}

void rl_route_stream_get(rl_http_req_t *r, const char *id)
{
    rl_stream_t *st = rl_stream_find(r->srv, id);

    if (!st) {
        rl_http_error(r, 404, "no such stream");
        return;
    }
    rl_http_respond_json(r, 200, rl_stream_json(st));
}

/* The host sellers type into OBS: the configured public host, else the one the operator used. */
static void public_host(rl_http_req_t *r, char *host, size_t size)
{
    char hdr[256];
    char *colon;

    if (r->srv->cfg->public_host[0]) {
        av_strlcpy(host, r->srv->cfg->public_host, size);
        return;
    }
    if (lws_hdr_copy(r->wsi, hdr, sizeof(hdr), WSI_TOKEN_HOST) <= 0)
        av_strlcpy(hdr, "localhost", sizeof(hdr));
    if (hdr[0] != '[' && (colon = strrchr(hdr, ':')))
        *colon = '\0';
    else if (hdr[0] == '[' && (colon = strstr(hdr, "]:")))
        colon[1] = '\0';
    av_strlcpy(host, hdr, size);
}

static void on_undone(rl_server_t *srv, uint64_t token, int rc, int found)
{
    (void)srv, (void)token, (void)rc, (void)found;
}

/* A creation that was answered 503 at its deadline went through after all: nobody was given its
 * key, so the stream is deleted again rather than left behind. */
static void undo_late_create(rl_server_t *srv, const char *id)
{
    rl_info("stream_create_undone", "stream=%s reason=\"its client had been answered 503\"", id);
    rl_keys_delete(srv, id, on_undone, 0);
}

/* The stream's key, with what OBS needs to use it (the only replies that carry a key). */
static void respond_key(rl_http_req_t *r, int status, const char *id, const char *key)
{
    char host[256], h[128], url[700];
    int port = 1935;

    public_host(r, host, sizeof(host));
    rl_parse_hostport(r->srv->cfg->rtmp_listen, h, sizeof(h), &port);
    snprintf(url, sizeof(url), "rtmp://%s:%d/live", host, port);
    rl_http_respond_json(r, status,
                         json_pack("{s:s, s:s, s:s, s:i, s:s++}", "id", id, "key", key,
                                   "rtmp_server", url, "rtmp_port", port, "rtmp_url", url, "/",
                                   key));
}

static void on_created(rl_server_t *srv, uint64_t token, int rc, const char *id, const char *key)
{
    rl_http_req_t *r = rl_http_take_pending(srv, token);

    if (!r) {
        if (!rc)
            undo_late_create(srv, id);
        return;
    }
    if (rc < 0) {
        rl_http_unavailable(r, "key store unavailable");
        return;
    }
    rl_info("stream_created", "stream=%s", id);
    respond_key(r, 201, id, key);
}

void rl_route_streams_create(rl_http_req_t *r, const char *arg)
{
    json_error_t jerr;
    json_t *j = r->body ? json_loadb(r->body, r->body_len, 0, &jerr) : NULL;
    const char *title = NULL;
    int rc;

    (void)arg;
    if (!j || json_unpack(j, "{s:s}", "title", &title) < 0 || !title[0] ||
        strlen(title) > TITLE_MAX) {
        json_decref(j);
        rl_http_error(r, 400, "body must be {\"title\": \"...\"} with 1 to 200 bytes");
        return;
    }
    rc = rl_keys_create(r->srv, title, on_created, r->id);
    json_decref(j);
    if (rc < 0) {
        rl_http_unavailable(r, "key store unavailable");
        return;
    }
    rl_http_wait_redis(r);
}

static void on_deleted(rl_server_t *srv, uint64_t token, int rc, int found)
{
    rl_http_req_t *r = rl_http_take_pending(srv, token);

    (void)srv;
    if (!r)
        return;
    if (rc < 0) {
        rl_http_unavailable(r, "key store unavailable");
        return;
    }
    if (!found) {
        rl_http_error(r, 404, "no such stream");
        return;
    }
    rl_http_respond(r, 204, "application/json", NULL);
}

void rl_route_stream_delete(rl_http_req_t *r, const char *id)
{
    rl_stream_t *st = rl_stream_find(r->srv, id);

    if (st)
        rl_ingest_close_stream(r->srv, st, "stream deleted by operator");
    if (rl_keys_delete(r->srv, id, on_deleted, r->id) < 0) {
        rl_http_unavailable(r, "key store unavailable");
        return;
    }
    rl_info("stream_deleted", "stream=%s", id);
    rl_http_wait_redis(r);
}

/* The old key is revoked in Redis by the time of the reply; a publisher using it is cut off
 * then, so that whoever holds a leaked key is out at once. A rotation answered 503 at its
 * deadline may still have happened: the operator rotates again to get a key they know. */
static void on_rotated(rl_server_t *srv, uint64_t token, int rc, const char *id, const char *key)
{
    rl_http_req_t *r = rl_http_take_pending(srv, token);
    rl_stream_t *st;

    if (!rc && (st = rl_stream_find(srv, id)) && st->ingest)
        rl_ingest_close_stream(srv, st, "stream key revoked by operator");
    if (!r)
        return;
    if (rc == -ENOENT)
        rl_http_error(r, 404, "no such stream");
    else if (rc < 0)
        rl_http_unavailable(r, "key store unavailable");
    else {
        rl_info("stream_key_rotated", "stream=%s", id);
        respond_key(r, 200, id, key);
    }
}

void rl_route_stream_key(rl_http_req_t *r, const char *id)
{
    if (rl_keys_rotate(r->srv, id, on_rotated, r->id) < 0) {
        rl_http_unavailable(r, "key store unavailable");
        return;
    }
    rl_http_wait_redis(r);
}
