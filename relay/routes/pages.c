/* The pages, viewers' (/watch/<id>) and operators' (/dashboard), and their static files
 * (/static/<name>), from web-dir. */
#include "relay/routes/routes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Files of the npm packages in web-dir, by the plain name the pages use. */
static const struct {
    const char *name, *path;
} npm_files[] = {
    { "hls.min.js", "node_modules/hls.js/dist/hls.min.js" },
    { "uplot.min.js", "node_modules/uplot/dist/uPlot.iife.min.js" },
    { "uplot.min.css", "node_modules/uplot/dist/uPlot.min.css" },
};

/* Only plain names from our own folders: no path separators, no leading dot, so nothing outside
 * web-dir is ever opened. hls.js and uPlot come from the npm install in web-dir. */
static int static_path(const char *dir, const char *name, char *path, size_t size)
{
    size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-");

    if (!n || name[n] || name[0] == '.' || n > 64)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(npm_files) / sizeof(npm_files[0]); i++)
        if (!strcmp(name, npm_files[i].name))
            return snprintf(path, size, "%s/%s", dir, npm_files[i].path), 0;
    snprintf(path, size, "%s/static/%s", dir, name);
    return 0;
}

static void page(rl_http_req_t *r, const char *file)
{
    char path[600];

    snprintf(path, sizeof(path), "%s/%s", r->srv->cfg->web_dir, file);
    rl_http_respond_file(r, path, "public, max-age=300");
}

void rl_route_watch(rl_http_req_t *r, const char *id)
{
    (void)id; /* the page reads its stream id from the URL */
    page(r, "watch.html");
}

/* The operator dashboard: the page itself is public; everything it shows comes through the API
 * and the WebSocket with the operator token the operator types in. */
void rl_route_dashboard(rl_http_req_t *r, const char *arg)
{
    (void)arg;
    page(r, "dashboard.html");
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
