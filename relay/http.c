/* HTTP on the libwebsockets loop: route table, JSON REST API, /healthz and /metrics, HLS.
 *
 * A request is answered either at once or, when it needs Redis or waits for media, later: the
 * pending request is found again by its id when the reply comes, because the client may have gone
 * meanwhile. Request bodies are capped at BODY_MAX; more is refused with 413 and nothing is parsed.
 *
 * Every response body is a blob (blob.h). A GET answered at once is written from inside the
 * request callback; headers go in the blob's headroom, so status line, headers and body leave in
 * one send and the body is never copied by us (HLS media and playlists are shared blobs). */
#include "http.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libavutil/avstring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"
#include "hls_live.h"
#include "ingest.h"
#include "keys.h"
#include "log.h"
#include "proto/status.h"
#include "redis.h"
#include "stream.h"

#define BODY_MAX  16384
#define TITLE_MAX 200

typedef enum { M_GET, M_POST, M_DELETE, M_OTHER } method_t;

typedef struct rl_http_req_s {
    struct rl_http_req_s *next; /* on the pending list while waiting for Redis */
    struct lws *wsi;
    rl_server_t *srv;
    uint64_t id;
    method_t method;
    char path[256];
    char *body;
    size_t body_len;
    int too_big;
    /* HLS requests that wait for media (blocking playlist reload, preload hints) */
    struct rl_http_req_s *wnext;
    int waiting;
    double deadline;
    char query[256];
    /* response */
    int ready, status;
    int in_callback; /* inside LWS_CALLBACK_HTTP: write on return, no writeable round trip */
    const char *ctype;
    const char *cache; /* Cache-Control */
    rl_blob_t *resp;   /* NULL: no body */
} req_t;

typedef void (*route_fn)(req_t *r, const char *arg);

/* Takes over the reference to body (NULL: none). */
static void respond(req_t *r, int status, const char *ctype, rl_blob_t *body)
{
    rl_blob_unref(&r->resp);
    r->status = status;
    r->ctype = ctype;
    if (!r->cache)
        r->cache = "no-store";
    r->resp = body;
    r->ready = 1;
    if (!r->in_callback)
        lws_callback_on_writable(r->wsi);
}

/* Takes ownership of the malloc'ed text s (NULL when out of memory: 500, no body). */
static void respond_text(req_t *r, int status, const char *ctype, char *s, size_t len)
{
    rl_blob_t *b = s ? rl_blob_copy(s, len) : NULL;

    free(s);
    respond(r, b ? status : 500, ctype, b);
}

/* Takes ownership of j. */
static void respond_json(req_t *r, int status, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);

    json_decref(j);
    respond_text(r, status, "application/json", s, s ? strlen(s) : 0);
}

static void respond_error(req_t *r, int status, const char *msg)
{
    respond_json(r, status, json_pack("{s:s}", "error", msg));
}

static req_t *take_pending(rl_server_t *srv, uint64_t id)
{
    for (req_t **pp = &srv->http_pending; *pp; pp = &(*pp)->next)
        if ((*pp)->id == id) {
            req_t *r = *pp;
            *pp = r->next;
            r->next = NULL;
            return r;
        }
    return NULL;
}

/* Parks r until a reply (Redis, or a file read) comes back with its id. */
static void wait_reply(req_t *r)
{
    r->next = r->srv->http_pending;
    r->srv->http_pending = r;
}

/* Constant time, so the token cannot be guessed byte by byte from response times. */
static int token_ok(req_t *r)
{
    char hdr[256];
    const char *want = r->srv->operator_token;
    size_t n = strlen(want), i;
    unsigned diff = 0;

    if (lws_hdr_copy(r->wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) <= 7 ||
        strncasecmp(hdr, "Bearer ", 7) || strlen(hdr + 7) != n)
        return 0;
    for (i = 0; i < n; i++)
        diff |= (unsigned)(hdr[7 + i] ^ want[i]);
    return !diff;
}

static void list_streams(req_t *r, const char *arg)
{
    json_t *arr = json_array();

    (void)arg;
    for (int i = 0; i < r->srv->nstreams; i++)
        json_array_append_new(arr, rl_stream_json(r->srv->streams[i]));
    respond_json(r, 200, json_pack("{s:o}", "streams", arr));
}

static void get_stream(req_t *r, const char *id)
{
    rl_stream_t *st = rl_stream_find(r->srv, id);

    if (!st) {
        respond_error(r, 404, "no such stream");
        return;
    }
    respond_json(r, 200, rl_stream_json(st));
}

/* The host sellers type into OBS: the configured public host, else the one the operator used. */
static void public_host(req_t *r, char *host, size_t size)
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

static void on_created(rl_server_t *srv, uint64_t token, int rc, const char *id, const char *key)
{
    req_t *r = take_pending(srv, token);
    char host[256], h[128], url[700];
    int port = 1935;

    if (!r)
        return;
    if (rc < 0) {
        respond_error(r, 503, "key store unavailable");
        return;
    }
    public_host(r, host, sizeof(host));
    rl_parse_hostport(srv->cfg->rtmp_listen, h, sizeof(h), &port);
    snprintf(url, sizeof(url), "rtmp://%s:%d/live", host, port);
    rl_info("stream_created", "stream=%s", id);
    respond_json(r, 201,
                 json_pack("{s:s, s:s, s:s, s:s++}", "id", id, "key", key, "rtmp_server", url,
                           "rtmp_url", url, "/", key));
}

static void create_stream(req_t *r, const char *arg)
{
    json_error_t jerr;
    json_t *j = r->body ? json_loadb(r->body, r->body_len, 0, &jerr) : NULL;
    const char *title = NULL;
    int rc;

    (void)arg;
    if (!j || json_unpack(j, "{s:s}", "title", &title) < 0 || !title[0] ||
        strlen(title) > TITLE_MAX) {
        json_decref(j);
        respond_error(r, 400, "body must be {\"title\": \"...\"} with 1 to 200 bytes");
        return;
    }
    rc = rl_keys_create(r->srv, title, on_created, r->id);
    json_decref(j);
    if (rc < 0) {
        respond_error(r, 503, "key store unavailable");
        return;
    }
    wait_reply(r);
}

static void on_deleted(rl_server_t *srv, uint64_t token, int rc, int found)
{
    req_t *r = take_pending(srv, token);

    (void)srv;
    if (!r)
        return;
    if (rc < 0) {
        respond_error(r, 503, "key store unavailable");
        return;
    }
    if (!found) {
        respond_error(r, 404, "no such stream");
        return;
    }
    respond(r, 204, "application/json", NULL);
}

static void delete_stream(req_t *r, const char *id)
{
    rl_stream_t *st = rl_stream_find(r->srv, id);

    if (st)
        rl_ingest_close_stream(r->srv, st, "stream deleted by operator");
    if (rl_keys_delete(r->srv, id, on_deleted, r->id) < 0) {
        respond_error(r, 503, "key store unavailable");
        return;
    }
    rl_info("stream_deleted", "stream=%s", id);
    wait_reply(r);
}

static void healthz(req_t *r, const char *arg)
{
    int ok = rl_redis_ready(r->srv->redis);

    (void)arg;
    respond_json(r, ok ? 200 : 503,
                 json_pack("{s:s, s:b}", "status", ok ? "ok" : "degraded", "redis", ok));
}

static void metrics(req_t *r, const char *arg)
{
    rl_counters_t *c = &r->srv->counters;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int live = 0;

    (void)arg;
    if (!f) {
        respond_error(r, 500, "out of memory");
        return;
    }
    for (int i = 0; i < r->srv->nstreams; i++)
        live += r->srv->streams[i]->ingest != NULL;
    fprintf(f,
            "# TYPE shopcast_rtmp_connections gauge\nshopcast_rtmp_connections %d\n"
            "# TYPE shopcast_rtmp_accepted_total counter\nshopcast_rtmp_accepted_total %llu\n"
            "# TYPE shopcast_rtmp_refused_total counter\nshopcast_rtmp_refused_total %llu\n"
            "# TYPE shopcast_rtmp_protocol_errors_total counter\n"
            "shopcast_rtmp_protocol_errors_total %llu\n"
            "# TYPE shopcast_publish_total counter\nshopcast_publish_total{result=\"ok\"} %llu\n"
            "shopcast_publish_total{result=\"rejected\"} %llu\n"
            "shopcast_publish_total{result=\"replaced\"} %llu\n"
            "# TYPE shopcast_streams_live gauge\nshopcast_streams_live %d\n"
            "# TYPE shopcast_redis_up gauge\nshopcast_redis_up %d\n",
            r->srv->ningests, (unsigned long long)c->rtmp_accepted,
            (unsigned long long)c->rtmp_refused, (unsigned long long)c->rtmp_closed_error,
            (unsigned long long)c->publish_ok, (unsigned long long)c->publish_rejected,
            (unsigned long long)c->publish_replaced, live, rl_redis_ready(r->srv->redis));
    fclose(f);
    respond_text(r, 200, "text/plain; version=0.0.4", buf, len);
}

static void not_found(req_t *r, const char *arg)
{
    (void)arg;
    respond_error(r, 404, "not found");
}

/* An id is short, lowercase letters and digits: anything else cannot be one of ours. */
static int valid_id(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789");

    return n > 0 && n < 32 && !s[n];
}

/* ---- HLS ---- */

static void unwait(req_t *r)
{
    for (req_t **pp = &r->srv->hls_waiting; *pp; pp = &(*pp)->wnext)
        if (*pp == r) {
            *pp = r->wnext;
            break;
        }
    r->waiting = 0;
    r->wnext = NULL;
}

/* Holds the request until the media it asks for exists (RFC 8216bis 6.2.5.2), at most three
 * target durations; rl_http_hls_changed and rl_http_tick answer it. Nothing is sent meanwhile, not
 * even the headers: the response starts whole, headers and body in one send, so the wait shows
 * as time to first byte and a player timing first byte to last (web/static/watch.js) times only
 * the link. */
static void hold(req_t *r, int target_duration)
{
    if (r->waiting)
        return;
    r->waiting = 1;
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
    return valid_id(*id) && !strchr(*name, '/') ? 0 : -EINVAL;
}

/* Serves, or holds, one HLS request; returns 1 once it has been answered. */
static int hls_try(req_t *r)
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
        respond_error(r, 400, "bad HLS request");
        return 1;
    }
    if (!(st = rl_stream_find(r->srv, id)) || !st->hls) {
        respond_error(r, 404, "no such stream");
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
        respond_error(r,
                      rc == -EINVAL   ? 400
                      : rc == -ENOENT ? 404
                                      : 500,
                      rc == -EINVAL   ? "request too far ahead of the live edge"
                      : rc == -ENOENT ? "not found"
                                      : "out of memory");
    } else if (n.type == HLS_NAME_MASTER || n.type == HLS_NAME_MEDIA) {
        respond(r, 200, "application/vnd.apple.mpegurl", body);
    } else {
        /* Every name is used once (numbering follows the wall clock), so caches may keep it. */
        r->cache = "public, max-age=86400, immutable";
        respond(r, 200, "video/mp4", body);
    }
    return 1;
}

/* The query string, with lws's fragments joined by '&' again. */
static void copy_query(req_t *r)
{
    char frag[128];
    size_t o = 0;

    r->query[0] = '\0';
    for (int i = 0;
         lws_hdr_copy_fragment(r->wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++)
        o += (size_t)snprintf(r->query + o, o < sizeof(r->query) ? sizeof(r->query) - o : 0, "%s%s",
                              i ? "&" : "", frag);
}

static void hls_route(req_t *r, const char *arg)
{
    (void)arg;
    copy_query(r);
    hls_try(r);
}

void rl_http_hls_changed(rl_server_t *srv, rl_stream_t *st)
{
    req_t *r = srv->hls_waiting, *next;
    size_t n = strlen(st->id);

    for (; r; r = next) {
        next = r->wnext;
        if (!strncmp(r->path + 5, st->id, n) && r->path[5 + n] == '/' && hls_try(r))
            unwait(r);
    }
}

void rl_http_tick(rl_server_t *srv)
{
    double now = rl_now();
    req_t *r = srv->hls_waiting, *next;

    for (; r; r = next) {
        next = r->wnext;
        if (now < r->deadline)
            continue;
        unwait(r);
        respond_error(r, 503, "media did not arrive in time");
    }
}

/* ---- pages and their static files ---- */

/* Only plain names from our own folders: no path separators, no leading dot, so nothing outside
 * web-dir is ever opened. hls.js comes from the npm install in web-dir. */
static int static_path(const char *dir, const char *name, char *path, size_t size)
{
    size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-");

    if (!n || name[n] || name[0] == '.' || n > 64)
        return -EINVAL;
    if (!strcmp(name, "hls.min.js"))
        snprintf(path, size, "%s/node_modules/hls.js/dist/hls.min.js", dir);
    else
        snprintf(path, size, "%s/static/%s", dir, name);
    return 0;
}

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = { { ".html", "text/html; charset=utf-8" },
                  { ".js", "text/javascript; charset=utf-8" },
                  { ".css", "text/css; charset=utf-8" },
                  { ".svg", "image/svg+xml" },
                  { ".png", "image/png" },
                  { ".m3u8", "application/vnd.apple.mpegurl" },
                  { ".m4s", "video/mp4" },
                  { ".mp4", "video/mp4" } };
    const char *dot = strrchr(path, '.');

    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

/* Files (pages, VOD playlists and segments) are read on libuv's thread pool, never on the network
 * thread, which must not wait for a disk while it carries live media. The request waits on the
 * pending list and is found again by id when the read is done (it may have gone meanwhile). */
#define FILE_MAX (8 << 20)

typedef struct file_read_s {
    uv_fs_t fs;
    rl_server_t *srv;
    uint64_t req_id;
    const char *ctype, *cache;
    uv_file fd;
    rl_blob_t *blob;
    size_t done;
    uv_buf_t buf;
} file_read_t;

static void file_read_next(file_read_t *f);

static void file_closed(uv_fs_t *fs)
{
    file_read_t *f = fs->data;

    uv_fs_req_cleanup(fs);
    rl_blob_unref(&f->blob);
    free(f);
}

/* Answers the request (if it is still there) and closes the file; status 0 means the blob. */
static void file_finish(file_read_t *f, int status)
{
    req_t *r = take_pending(f->srv, f->req_id);

    if (r && status) {
        respond_error(r, status, status == 404 ? "not found" : "cannot read the file");
    } else if (r) {
        r->cache = f->cache;
        respond(r, 200, f->ctype, f->blob);
        f->blob = NULL;
    }
    if (f->fd < 0 || uv_fs_close(&f->srv->loop, &f->fs, f->fd, file_closed) < 0) {
        rl_blob_unref(&f->blob);
        free(f);
    }
}

static void file_read_done(uv_fs_t *fs)
{
    file_read_t *f = fs->data;
    ssize_t n = fs->result;

    uv_fs_req_cleanup(fs);
    if (n <= 0) { /* an error, or the file shrank under us */
        file_finish(f, n == 0 ? 404 : 500);
        return;
    }
    f->done += (size_t)n;
    file_read_next(f);
}

static void file_read_next(file_read_t *f)
{
    if (f->done == f->blob->len) {
        file_finish(f, 0);
        return;
    }
    f->buf = uv_buf_init((char *)f->blob->data + f->done, (unsigned)(f->blob->len - f->done));
    if (uv_fs_read(&f->srv->loop, &f->fs, f->fd, &f->buf, 1, (int64_t)f->done, file_read_done) < 0)
        file_finish(f, 500);
}

static void file_stat_done(uv_fs_t *fs)
{
    file_read_t *f = fs->data;
    int ok = fs->result == 0 && S_ISREG(fs->statbuf.st_mode) && fs->statbuf.st_size <= FILE_MAX;
    size_t size = ok ? (size_t)fs->statbuf.st_size : 0;

    uv_fs_req_cleanup(fs);
    if (!ok) {
        file_finish(f, 404);
        return;
    }
    if (!(f->blob = rl_blob_new(size))) {
        file_finish(f, 500);
        return;
    }
    file_read_next(f);
}

static void file_open_done(uv_fs_t *fs)
{
    file_read_t *f = fs->data;

    f->fd = (uv_file)fs->result;
    uv_fs_req_cleanup(fs);
    if (f->fd < 0 || uv_fs_fstat(&f->srv->loop, fs, f->fd, file_stat_done) < 0)
        file_finish(f, 404);
}

static void respond_file(req_t *r, const char *path, const char *cache)
{
    file_read_t *f = calloc(1, sizeof(*f));

    if (!f) {
        respond_error(r, 500, "out of memory");
        return;
    }
    *f = (file_read_t){
        .srv = r->srv, .req_id = r->id, .ctype = content_type(path), .cache = cache, .fd = -1
    };
    f->fs.data = f;
    if (uv_fs_open(&r->srv->loop, &f->fs, path, O_RDONLY | O_CLOEXEC, 0, file_open_done) < 0) {
        free(f);
        respond_error(r, 404, "not found");
        return;
    }
    wait_reply(r);
}

static void watch_page(req_t *r, const char *id)
{
    char path[600];

    (void)id; /* the page reads its stream id from the URL */
    snprintf(path, sizeof(path), "%s/watch.html", r->srv->cfg->web_dir);
    respond_file(r, path, "public, max-age=300");
}

static void static_file(req_t *r, const char *name)
{
    char path[700];

    if (static_path(r->srv->cfg->web_dir, name, path, sizeof(path)) < 0) {
        respond_error(r, 404, "not found");
        return;
    }
    respond_file(r, path, "public, max-age=300");
}

/* ---- recordings as VOD HLS ---- */

/* A session folder name as the recorder makes them: "20261129T144602Z-1". */
static int valid_session(const char *s)
{
    size_t n = strspn(s, "0123456789TZ-");

    return n > 0 && n < 40 && !s[n];
}

/* /vod/<id>/<session>/master.m3u8 or /vod/<id>/<session>/<rung>/<name>: files under
 * DATA_DIR/recordings, reached only through names that parse. */
static void vod_route(req_t *r, const char *arg)
{
    char buf[256], path[900], *id = buf, *ses, *rest, *name;
    hls_name_t n;
    size_t k;

    av_strlcpy(buf, arg, sizeof(buf));
    if (!(ses = strchr(id, '/')) || !(rest = strchr(ses + 1, '/')))
        goto bad;
    *ses++ = '\0';
    *rest++ = '\0';
    name = strrchr(rest, '/') ? strrchr(rest, '/') + 1 : rest;
    k = strspn(rest, "0123456789");
    if (!valid_id(id) || !valid_session(ses) || hls_parse_name(name, &n) < 0 ||
        (name == rest) != (n.type == HLS_NAME_MASTER) ||
        (name != rest && (rest[k] != 'p' || rest + k + 2 != name || n.type == HLS_NAME_PART)))
        goto bad;
    snprintf(path, sizeof(path), "%s/recordings/%s/%s/%s", r->srv->cfg->data_dir, id, ses, rest);
    /* A session still recording rewrites its playlists as segments complete. */
    respond_file(r, path,
                 n.type == HLS_NAME_MASTER || n.type == HLS_NAME_MEDIA ? "no-cache"
                                                                       : "public, max-age=300");
    return;
bad:
    respond_error(r, 404, "not found");
}

static void list_recordings(req_t *r, const char *arg)
{
    char id[40], dir[700], master[1000];
    const char *slash = strchr(arg, '/');
    json_t *arr;
    DIR *d;
    struct dirent *e;

    if (!slash || strcmp(slash, "/recordings") || (size_t)(slash - arg) >= sizeof(id)) {
        respond_error(r, 404, "not found");
        return;
    }
    memcpy(id, arg, (size_t)(slash - arg));
    id[slash - arg] = '\0';
    if (!valid_id(id) || !rl_stream_find(r->srv, id)) {
        respond_error(r, 404, "no such stream");
        return;
    }
    arr = json_array();
    snprintf(dir, sizeof(dir), "%s/recordings/%s", r->srv->cfg->data_dir, id);
    for (d = opendir(dir); d && (e = readdir(d));) {
        snprintf(master, sizeof(master), "%s/%s/master.m3u8", dir, e->d_name);
        if (valid_session(e->d_name) && access(master, R_OK) == 0)
            json_array_append_new(arr, json_pack("{s:s, s:s++++, s:s+}", "session", e->d_name,
                                                 "vod_url", "/vod/", id, "/", e->d_name,
                                                 "/master.m3u8", "mp4", e->d_name, ".mp4"));
    }
    if (d)
        closedir(d);
    respond_json(r, 200, json_pack("{s:o}", "recordings", arr));
}

/* Route table: method, path prefix, what follows it (0 nothing, 1 an {id}, 2 anything), operator
 * only, handler. */
static const struct route_s {
    method_t method;
    const char *path;
    int has_arg, operator_only;
    route_fn fn;
} routes[] = {
    { M_GET, "/healthz", 0, 0, healthz },
    { M_GET, "/metrics", 0, 0, metrics },
    { M_GET, "/api/v1/streams", 0, 0, list_streams },
    { M_POST, "/api/v1/streams", 0, 1, create_stream },
    { M_GET, "/api/v1/streams/", 1, 0, get_stream },
    { M_DELETE, "/api/v1/streams/", 1, 1, delete_stream },
    { M_GET, "/hls/", 2, 0, hls_route },
    { M_GET, "/watch/", 1, 0, watch_page },
    { M_GET, "/vod/", 2, 0, vod_route },
    { M_GET, "/api/v1/streams/", 2, 0, list_recordings },
    { M_GET, "/static/", 2, 0, static_file },
};

static void dispatch(req_t *r)
{
    const struct route_s *rt;
    size_t n;
    int path_matched = 0;

    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        rt = &routes[i];
        n = strlen(rt->path);
        if (rt->has_arg
                ? strncmp(r->path, rt->path, n) || (rt->has_arg == 1 && !valid_id(r->path + n))
                : strcmp(r->path, rt->path))
            continue;
        path_matched = 1;
        if (rt->method != r->method)
            continue;
        if (rt->operator_only && !token_ok(r)) {
            respond_error(r, 401, "operator bearer token required");
            return;
        }
        rt->fn(r, r->path + (rt->has_arg ? n : 0));
        return;
    }
    if (path_matched) {
        respond_error(r, 405, "method not allowed");
        return;
    }
    not_found(r, NULL);
}

_Static_assert(RL_BLOB_HEADROOM >= LWS_PRE + 512, "blob headroom too small for our headers");

/* One send for headers and body on HTTP/1: the header block is placed in the body blob's headroom,
 * right before the body. The blob may be shared with other responses, but the headroom is only
 * scratch for the duration of this lws_write (one thread; lws copies whatever the socket did not
 * take). Under a multiplexing role (h2) headers and body go as lws wants them, in two writes;
 * the blob's headroom still provides the LWS_PRE lws needs in front of the body. */
static int write_response(req_t *r)
{
    uint8_t hdr[RL_BLOB_HEADROOM], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;
    size_t hlen, blen = r->resp ? r->resp->len : 0;
    int h1 = lws_get_network_wsi(r->wsi) == r->wsi;

    r->ready = 0;
    if (lws_add_http_common_headers(r->wsi, (unsigned)r->status, r->ctype, blen, &p, end) ||
        lws_add_http_header_by_name(r->wsi, (const uint8_t *)"access-control-allow-origin:",
                                    (const uint8_t *)"*", 1, &p, end) ||
        lws_add_http_header_by_token(r->wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const uint8_t *)r->cache, (int)strlen(r->cache), &p, end))
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

static method_t method_of(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
        return M_GET;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
        return M_POST;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI))
        return M_DELETE;
    return M_OTHER;
}

static void req_reset(req_t *r)
{
    if (r->srv)
        take_pending(r->srv, r->id);
    if (r->waiting)
        unwait(r);
    free(r->body);
    rl_blob_unref(&r->resp);
    memset(r, 0, sizeof(*r));
}

static int on_http(req_t *r, struct lws *wsi, const char *path)
{
    char cl[32];

    req_reset(r);
    r->wsi = wsi;
    r->srv = rl_server_from_wsi(wsi);
    r->id = ++r->srv->next_http_id;
    r->method = method_of(wsi);
    r->srv->counters.http_requests++;
    if (strlen(path) >= sizeof(r->path)) {
        respond_error(r, 400, "path too long");
        return 0;
    }
    av_strlcpy(r->path, path, sizeof(r->path));
    /* A POST with a body is dispatched once the body is complete. */
    if (r->method == M_POST &&
        lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 && atol(cl) > 0)
        return 0;
    /* A GET answered at once is written before returning (lws allows writing from the HTTP
     * callback on HTTP/1), saving a POLLOUT round trip through the loop. */
    r->in_callback = r->method == M_GET;
    dispatch(r);
    r->in_callback = 0;
    return r->ready && r->method == M_GET ? write_response(r) : 0;
}

static int on_body(req_t *r, const void *in, size_t len)
{
    char *grown;

    if (r->too_big || r->body_len + len > BODY_MAX) {
        r->too_big = 1;
        return 0;
    }
    if (!(grown = realloc(r->body, r->body_len + len + 1)))
        return -1;
    r->body = grown;
    memcpy(r->body + r->body_len, in, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

int rl_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    req_t *r = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP: return on_http(r, wsi, in);
    case LWS_CALLBACK_HTTP_BODY: return on_body(r, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (r->too_big)
            respond_error(r, 413, "request body too large");
        else
            dispatch(r);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE: return r && r->ready ? write_response(r) : 0;
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
const struct lws_protocols rl_http_protocols[] = {
    { "http", rl_http_callback, sizeof(req_t), 0, 0, NULL, 16 << 20 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};
