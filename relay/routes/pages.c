/* The viewer page (/watch/<id>) and its static files (/static/<name>), from web-dir. */
#include "relay/routes/routes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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

void rl_route_watch(rl_http_req_t *r, const char *id)
{
    char path[600];

    (void)id; /* the page reads its stream id from the URL */
    snprintf(path, sizeof(path), "%s/watch.html", r->srv->cfg->web_dir);
    rl_http_respond_file(r, path, "public, max-age=300");
}

void rl_route_static(rl_http_req_t *r, const char *name)
{
    char path[700];

    if (static_path(r->srv->cfg->web_dir, name, path, sizeof(path)) < 0) {
        rl_http_error(r, 404, "not found");
        return;
    }
    rl_http_respond_file(r, path, "public, max-age=300");
}
