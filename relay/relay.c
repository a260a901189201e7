/* Assembles the relay: the network thread's loop, Redis, the lws vhosts, ticks and wake-ups.
 *
 * This is the composition root: it knows every module of the network thread and wires them
 * together (protocols, route table, ticks); no module includes it back.
 * Start-up order: loop, then Redis (it only needs the loop), then libwebsockets on that loop with
 * explicit vhosts for HTTP and RTMPS, then plain RTMP's own listener (relay/ingest/tcp.c).
 * Shut-down runs the other way and joins every media worker before the wake-up handle they use is
 * closed. */
#include "relay/relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libavutil/avstring.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relay/http/http.h"
#include "relay/routes/routes.h"
#include "relay/ingest/ingest.h"
#include "relay/commerce/commerce.h"
#include "relay/live/keys.h"
#include "relay/core/log.h"
#include "relay/media/media.h"
#include "relay/net/redis.h"
#include "relay/live/stream.h"
#include "relay/signal/hub.h"

static const struct lws_protocols rtmp_protocols[] = {
    { "rtmp", rl_ingest_callback, sizeof(rl_ingest_t *), 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* A worker posted media or exited: apply what it posted, answer whoever waited for it. */
static void on_wake(uv_async_t *h)
{
    rl_server_t *srv = h->data;

    for (int i = 0; i < srv->nstreams; i++)
        if (srv->streams[i]->hls && rl_hls_drain(srv->streams[i]->hls)) {
            rl_route_hls_changed(srv, srv->streams[i]);
            rl_hub_media_changed(srv, srv->streams[i]);
        }
    rl_stream_reap_workers(srv, 0);
}

static void on_tick(uv_timer_t *t)
{
    rl_server_t *srv = t->data;

    rl_ingest_tick(srv);
    rl_stream_tick(srv);
    rl_commerce_tick(srv);
    rl_route_hls_tick(srv);
    rl_hub_tick(srv);
}

/* Redis deadlines are short (redis-timeout-ms), so they are checked more often than the tick,
 * but only while something waits: each wake-up of an idle node costs it CPU. */
static void on_deadlines(uv_timer_t *t)
{
    rl_server_t *srv = t->data;
    int waiting = rl_ingest_expire_lookups(srv);

    waiting += rl_http_expire_redis(srv);
    if (!waiting)
        uv_timer_stop(t);
}

static void stop(rl_server_t *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = 1;
    rl_info("shutdown", "streams_live=%d", srv->ningests);
    rl_hub_close_all(srv);
    rl_ingest_stop(srv);
    if (srv->ctx)
        lws_context_destroy(srv->ctx); /* closes every connection: streams go offline */
    rl_stream_off_air_all(srv);
    rl_stream_reap_workers(srv, 1);
    rl_commerce_free(srv);
    rl_redis_free(&srv->redis);
    uv_timer_stop(&srv->tick);
    uv_timer_stop(&srv->deadlines);
    uv_signal_stop(&srv->sig_term);
    uv_signal_stop(&srv->sig_int);
    uv_close((uv_handle_t *)&srv->tick, NULL);
    uv_close((uv_handle_t *)&srv->deadlines, NULL);
    uv_close((uv_handle_t *)&srv->sig_term, NULL);
    uv_close((uv_handle_t *)&srv->sig_int, NULL);
    uv_close((uv_handle_t *)&srv->wake, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    rl_info("signal", "signal=%s", signum == SIGTERM ? "TERM" : "INT");
    stop(h->data);
}

static void lws_log_emit(int level, const char *line)
{
    char msg[512];
    size_t n = strlen(line);

    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    av_strlcpy(msg, line, n + 1 < sizeof(msg) ? n + 1 : sizeof(msg));
    rl_log(level == LLL_ERR ? RL_LOG_ERROR : RL_LOG_WARN, "lws", "msg=%s",
           rl_log_quote((char[600]){ 0 }, 600, msg));
}

/* Reads DATA_DIR/operator-token, or writes a new random one there (mode 0600). */
static int load_operator_token(rl_server_t *srv, char *err, size_t errlen)
{
    char path[600], tok[64];
    ssize_t n;
    int fd;

    if (srv->cfg->operator_token[0]) {
        av_strlcpy(srv->operator_token, srv->cfg->operator_token, sizeof(srv->operator_token));
        return 0;
    }
    snprintf(path, sizeof(path), "%s/operator-token", srv->cfg->data_dir);
    if ((fd = open(path, O_RDONLY)) >= 0) {
        n = read(fd, srv->operator_token, sizeof(srv->operator_token) - 1);
        close(fd);
        srv->operator_token[n > 0 ? n : 0] = '\0';
        srv->operator_token[strcspn(srv->operator_token, "\r\n")] = '\0';
        if (srv->operator_token[0])
            return 0;
    }
    if (rl_random_token(tok, 40) < 0 || (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
        write(fd, tok, strlen(tok)) != (ssize_t)strlen(tok) || close(fd) < 0)
        return snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno)), -EIO;
    av_strlcpy(srv->operator_token, tok, sizeof(srv->operator_token));
    rl_info("operator_token_created", "path=%s", path);
    return 0;
}

static int make_dirs(const char *dir, char *err, size_t errlen)
{
    char p[512];

    av_strlcpy(p, dir, sizeof(p));
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        return snprintf(err, errlen, "cannot create data-dir %s: %s", dir, strerror(errno)), -errno;
    return 0;
}

typedef struct vhost_spec_s {
    const char *name;
    const char *listen;
    const struct lws_protocols *protocols;
    int raw, tls;
} vhost_spec_t;

/* lws 4.1 puts an IPv4 iface address into an IPv6 socket's sockaddr as if it were IPv4, so the
 * socket binds "::": every address of both families, not the one configured. An IPv4 address
 * therefore gets an IPv4-only vhost. */
static int is_ipv4_address(const char *host)
{
    struct in_addr a;

    return inet_pton(AF_INET, host, &a) == 1;
}

/* No lws "validity" pings: the hub pings its own clients (ws-ping-s) and closes idle ones. lws
 * 4.1.6 would otherwise re-insert each WebSocket's validity timer into one sorted list of every
 * connection's timers on each pong it receives, a walk over all of them (at 10,000 clients a
 * third of the relay's CPU, and stalls of the loop that held events back by up to a second). */
static const lws_retry_bo_t no_validity = { .secs_since_valid_ping = 0,
                                            .secs_since_valid_hangup = 0 };

static int add_vhost(rl_server_t *srv, const vhost_spec_t *v, char *err, size_t errlen)
{
    struct lws_context_creation_info info;
    char host[128];
    int port;

    if (rl_parse_hostport(v->listen, host, sizeof(host), &port) < 0)
        return snprintf(err, errlen, "%s-listen: '%s' is not HOST:PORT", v->name, v->listen),
               -EINVAL;
    memset(&info, 0, sizeof(info));
    info.vhost_name = v->name;
    info.port = port;
    info.iface = strcmp(host, "0.0.0.0") && strcmp(host, "::") && host[0] ? host : NULL;
    info.protocols = v->protocols;
    info.retry_and_idle_policy = &no_validity;
    info.options = v->raw ? LWS_SERVER_OPTION_ONLY_RAW : 0;
    if (info.iface && is_ipv4_address(host))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (v->tls) {
        /* lws decides per vhost whether it speaks TLS, from this flag in the vhost's own info */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = srv->cfg->tls_cert;
        info.ssl_private_key_filepath = srv->cfg->tls_key;
    }
    if (!lws_create_vhost(srv->ctx, &info))
        return snprintf(err, errlen, "cannot listen on %s for %s (in use, or bad certificate?)",
                        v->listen, v->name),
               -EADDRINUSE;
    rl_info("listen", "service=%s address=%s", v->name, v->listen);
    return 0;
}

static int create_lws(rl_server_t *srv, char *err, size_t errlen)
{
    struct lws_context_creation_info info;
    void *foreign[1] = { &srv->loop };
    int tls = srv->cfg->tls_cert[0] && srv->cfg->tls_key[0];
    const vhost_spec_t vhosts[] = {
        { "http", srv->cfg->http_listen, srv->http_protocols, 0, 0 },
        { "rtmps", srv->cfg->rtmps_listen, rtmp_protocols, 1, 1 },
    };
    int rc;

    srv->http_protocols[0] = rl_http_protocol;
    srv->http_protocols[1] = rl_hub_protocol;
    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_LIBUV;
    if (tls)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = foreign;
    /* RTMP video arrives in bursts of tens of KiB: read it in few large pieces. */
    info.pt_serv_buf_size = 65536;
    info.user = srv;
    info.pcontext = &srv->ctx;
    if (!(srv->ctx = lws_create_context(&info)))
        return snprintf(err, errlen, "libwebsockets: cannot create context"), -ENOMEM;
    for (size_t i = 0; i < sizeof(vhosts) / sizeof(vhosts[0]); i++)
        if ((!vhosts[i].tls || tls) && (rc = add_vhost(srv, &vhosts[i], err, errlen)) < 0)
            return rc;
    return rl_ingest_listen(srv, srv->cfg->rtmp_listen, err, errlen); /* plain RTMP is ours */
}

static void on_redis_ready(void *owner)
{
    rl_keys_load_all(owner);
    rl_commerce_on_ready(owner);
}

static void init_handles(rl_server_t *srv)
{
    uv_signal_init(&srv->loop, &srv->sig_term);
    uv_signal_init(&srv->loop, &srv->sig_int);
    uv_timer_init(&srv->loop, &srv->tick);
    uv_timer_init(&srv->loop, &srv->deadlines);
    uv_async_init(&srv->loop, &srv->wake, on_wake);
    srv->sig_term.data = srv->sig_int.data = srv->tick.data = srv->wake.data = srv;
    srv->deadlines.data = srv;
    srv->deadlines_cb = on_deadlines;
    uv_signal_start(&srv->sig_term, on_signal, SIGTERM);
    uv_signal_start(&srv->sig_int, on_signal, SIGINT);
    uv_timer_start(&srv->tick, on_tick, 1000, 1000);
}

int rl_relay_init(rl_server_t *srv, rl_config_t *cfg, char *err, size_t errlen)
{
    int rc;

    memset(srv, 0, sizeof(*srv));
    srv->cfg = cfg;
    srv->routes = rl_routes;
    srv->nroutes = rl_nroutes;
    if ((rc = rl_ladder_parse(cfg->ladder, srv->rungs, RL_MAX_RUNGS, err, errlen)) < 0)
        return rc;
    srv->nrungs = rc;
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    if ((rc = make_dirs(cfg->data_dir, err, errlen)) < 0 ||
        (rc = load_operator_token(srv, err, errlen)) < 0)
        return rc;
    if ((rc = uv_loop_init(&srv->loop)) < 0)
        return snprintf(err, errlen, "libuv: %s", uv_strerror(rc)), rc;
    init_handles(srv);
    if (!(srv->redis = rl_redis_new(&srv->loop, cfg->redis, cfg->redis_timeout_ms, err, errlen)))
        return -EINVAL;
    rl_redis_on_ready(srv->redis, on_redis_ready, srv);
    if ((rc = rl_commerce_init(srv, err, errlen)) < 0 || (rc = rl_hub_init(srv, err, errlen)) < 0)
        return rc;
    srv->on_order = rl_hub_order;
    return create_lws(srv, err, errlen);
}

int rl_relay_run(rl_server_t *srv)
{
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    if (srv->ctx) /* a foreign-loop context finishes its destruction on a second call */
        lws_context_destroy(srv->ctx);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    rl_stream_reap_workers(srv, 1);
    rl_hub_free(srv); /* every WebSocket has gone through its close by now */
    rl_stream_free_all(srv);
    free(srv->retired);
    if (uv_loop_close(&srv->loop) == UV_EBUSY)
        rl_warn("shutdown", "msg=\"event loop still had handles\"");
    rl_info("stopped", "ok=1");
    return 0;
}

/* For a failed rl_relay_init: tears down whatever was built. */
void rl_relay_abort(rl_server_t *srv)
{
    stop(srv);
    rl_relay_run(srv);
}
