/* Recorded sessions: the list of a stream's recordings, and each one as VOD HLS (/vod/...).
 *
 * Everything is a file under DATA_DIR/recordings, reached only through names that parse, so no
 * request can name a path outside it. */
#include "relay/routes/routes.h"

#include <dirent.h>
#include <jansson.h>
#include <libavutil/avstring.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "relay/live/stream.h"
#include "proto/hls.h"

/* A session folder name as the recorder makes them: "20261129T144602Z-1". */
static int valid_session(const char *s)
{
    size_t n = strspn(s, "0123456789TZ-");

    return n > 0 && n < 40 && !s[n];
}

/* /vod/<id>/<session>/master.m3u8 or /vod/<id>/<session>/<rung>/<name>: files under
 * DATA_DIR/recordings, reached only through names that parse. */
void rl_route_vod(rl_http_req_t *r, const char *arg)
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
    if (!rl_http_valid_id(id) || !valid_session(ses) || hls_parse_name(name, &n) < 0 ||
        (name == rest) != (n.type == HLS_NAME_MASTER) ||
        (name != rest && (rest[k] != 'p' || rest + k + 2 != name || n.type == HLS_NAME_PART)))
        goto bad;
    snprintf(path, sizeof(path), "%s/recordings/%s/%s/%s", r->srv->cfg->data_dir, id, ses, rest);
    /* A session still recording rewrites its playlists as segments complete. */
    rl_http_respond_file(
        r, path,
        n.type == HLS_NAME_MASTER || n.type == HLS_NAME_MEDIA ? "no-cache" : "public, max-age=300");
    return;
bad:
    rl_http_error(r, 404, "not found");
}

/* GET /api/v1/streams/<id>/recordings/<session>/chapters: the session's chapters.json, as the
 * VOD writer keeps it (relay/media/vod.c), from the disk through the thread pool. */
static void chapters(rl_http_req_t *r, const char *id, const char *ses)
{
    char path[900];

    if (!valid_session(ses)) {
        rl_http_error(r, 404, "not found");
        return;
    }
    snprintf(path, sizeof(path), "%s/recordings/%s/%s/chapters.json", r->srv->cfg->data_dir, id,
             ses);
    /* rewritten as the session goes, final once it ended */
    rl_http_respond_file(r, path, "no-cache");
}

static json_t *recording(const char *dir, const char *id, const char *ses)
{
    char path[1000];
    json_t *j;

    snprintf(path, sizeof(path), "%s/%s/master.m3u8", dir, ses);
    if (!valid_session(ses) || access(path, R_OK) != 0)
        return NULL;
    j = json_pack("{s:s, s:s++++, s:s+}", "session", ses, "vod_url", "/vod/", id, "/", ses,
                  "/master.m3u8", "mp4", ses, ".mp4");
    snprintf(path, sizeof(path), "%s/%s/chapters.json", dir, ses);
    if (j && access(path, R_OK) == 0)
        json_object_set_new(
            j, "chapters_url",
            json_pack("s++++", "/api/v1/streams/", id, "/recordings/", ses, "/chapters"));
    return j;
}

/* <id>/recordings, or <id>/recordings/<session>/chapters */
static int split(const char *arg, char *id, size_t idlen, const char **ses)
{
    const char *slash = strchr(arg, '/'), *rest;
    size_t n;

    if (!slash || (size_t)(slash - arg) >= idlen || strncmp(slash, "/recordings", 11))
        return -1;
    memcpy(id, arg, (size_t)(slash - arg));
    id[slash - arg] = '\0';
    rest = slash + 11;
    *ses = NULL;
    if (!*rest)
        return 0;
    n = strlen(rest);
    if (rest[0] != '/' || n < 11 || n > 60 || strcmp(rest + n - 9, "/chapters"))
        return -1;
    *ses = rest + 1; /* "<session>/chapters": cut below */
    return 0;
}

void rl_route_recordings(rl_http_req_t *r, const char *arg)
{
    char id[40], dir[700], ses[64];
    const char *rest;
    json_t *arr, *j;
    DIR *d;
    struct dirent *e;

    if (split(arg, id, sizeof(id), &rest) < 0) {
        rl_http_error(r, 404, "not found");
        return;
    }
    if (!rl_http_valid_id(id) || !rl_stream_find(r->srv, id)) {
        rl_http_error(r, 404, "no such stream");
        return;
    }
    if (rest) {
        av_strlcpy(ses, rest, sizeof(ses));
        ses[strlen(ses) - 9] = '\0';
        chapters(r, id, ses);
        return;
    }
    arr = json_array();
    snprintf(dir, sizeof(dir), "%s/recordings/%s", r->srv->cfg->data_dir, id);
    for (d = opendir(dir); d && (e = readdir(d));)
        if ((j = recording(dir, id, e->d_name)))
            json_array_append_new(arr, j);
    if (d)
        closedir(d);
    rl_http_respond_json(r, 200, json_pack("{s:o}", "recordings", arr));
}
