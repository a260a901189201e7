/* Files over HTTP (pages, their scripts, recorded sessions' playlists and segments), read on
 * libuv's thread pool, never on the network thread, which must not wait for a disk while it
 * carries live media.
 *
 * The request waits on the pending list and is found again by id when the read is done (it may
 * have gone meanwhile); a read outlives its request and cleans up after itself. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "relay/http/http.h"

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = { { ".html", "text/html; charset=utf-8" },
                  { ".js", "text/javascript; charset=utf-8" },
                  { ".css", "text/css; charset=utf-8" },
                  { ".svg", "image/svg+xml" },
                  { ".png", "image/png" },
                  { ".json", "application/json" },
                  { ".m3u8", "application/vnd.apple.mpegurl" },
                  { ".m4s", "video/mp4" },
                  { ".mp4", "video/mp4" } };
    const char *dot = strrchr(path, '.');

    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

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
    rl_http_req_t *r = rl_http_take_pending(f->srv, f->req_id);

    if (r && status) {
        rl_http_error(r, status, status == 404 ? "not found" : "cannot read the file");
    } else if (r) {
        r->cache = f->cache;
        rl_http_respond(r, 200, f->ctype, f->blob);
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

void rl_http_respond_file(rl_http_req_t *r, const char *path, const char *cache)
{
    file_read_t *f = calloc(1, sizeof(*f));

    if (!f) {
        rl_http_error(r, 500, "out of memory");
        return;
    }
    *f = (file_read_t){
        .srv = r->srv, .req_id = r->id, .ctype = content_type(path), .cache = cache, .fd = -1
    };
    f->fs.data = f;
    if (uv_fs_open(&r->srv->loop, &f->fs, path, O_RDONLY | O_CLOEXEC, 0, file_open_done) < 0) {
        free(f);
        rl_http_error(r, 404, "not found");
        return;
    }
    rl_http_wait_reply(r);
}
