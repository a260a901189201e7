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

void rl_route_recordings(rl_http_req_t *r, const char *arg)
{
    char id[40], dir[700], master[1000];
    const char *slash = strchr(arg, '/');
    json_t *arr;
    DIR *d;
    struct dirent *e;

    if (!slash || strcmp(slash, "/recordings") || (size_t)(slash - arg) >= sizeof(id)) {
        rl_http_error(r, 404, "not found");
        return;
    }
    memcpy(id, arg, (size_t)(slash - arg));
    id[slash - arg] = '\0';
    if (!rl_http_valid_id(id) || !rl_stream_find(r->srv, id)) {
        rl_http_error(r, 404, "no such stream");
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
    rl_http_respond_json(r, 200, json_pack("{s:o}", "recordings", arr));
}
