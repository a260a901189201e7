/* Settings: one table of {name, type, offset, default, help}; defaults, then INI file, then argv.
 *
 * The INI file uses the same names as the command line ("rtmp-listen" or "rtmp_listen"); sections
 * only group settings for the reader and are otherwise ignored. Unknown names are errors, so a
 * typo never silently falls back to a default. */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/core/config.h"

typedef enum { OPT_STR, OPT_INT, OPT_BOOL } opt_type_t;

typedef struct opt_s {
    const char *name;
    opt_type_t type;
    size_t offset;
    size_t size; /* for strings */
    const char *def;
    const char *help;
} opt_t;

#define STR(field)  OPT_STR, offsetof(rl_config_t, field), sizeof(((rl_config_t *)0)->field)
#define INT(field)  OPT_INT, offsetof(rl_config_t, field), 0
#define BOOL(field) OPT_BOOL, offsetof(rl_config_t, field), 0

static const opt_t options[] = {
    { "rtmp-listen", STR(rtmp_listen), "0.0.0.0:1935", "RTMP ingest address, HOST:PORT" },
    { "rtmps-listen", STR(rtmps_listen), "0.0.0.0:1936",
      "RTMPS ingest address; used only when tls-cert and tls-key are set" },
    { "tls-cert", STR(tls_cert), "", "PEM certificate for RTMPS" },
    { "tls-key", STR(tls_key), "", "PEM private key for RTMPS" },
    { "http-listen", STR(http_listen), "0.0.0.0:8080", "HTTP address (API, HLS, pages)" },
    { "public-host", STR(public_host), "",
      "host name sellers and viewers use; empty: the Host header of each API request" },
    { "redis", STR(redis), "redis://127.0.0.1:6379", "redis://HOST:PORT[/DB] or unix:/PATH" },
    { "redis-prefix", STR(redis_prefix), "shopcast:", "prefix of every Redis key" },
    { "redis-timeout-ms", INT(redis_timeout_ms), "1500",
      "longest wait for Redis: a request still waiting gets 503 with Retry-After; a connection that"
      " answers nothing (not even its heartbeat PING) for twice as long is dropped and remade" },
    { "data-dir", STR(data_dir), "data", "directory for recordings and the generated token" },
    { "operator-token", STR(operator_token), "",
      "bearer token for the operator API; empty: generated once into DATA_DIR/operator-token" },
    { "log-level", STR(log_level), "info", "error, warn, info or debug" },
    { "record", BOOL(record), "off", "on: write every publish session to DATA_DIR as MP4" },
    { "rtmp-max-connections", INT(rtmp_max_connections), "256",
      "RTMP connections at once; when full, one that has not published gives way (the least "
      "advanced, then the oldest); a new one is refused only when all of them publish" },
    { "rtmp-max-pending-per-ip", INT(rtmp_max_pending_per_ip), "8",
      "connections that have not published yet, per source address (IPv6: per /64); over it, "
      "that source's own gives way the same way; 0: no limit" },
    { "rtmp-max-message-kb", INT(rtmp_max_message_kb), "4096",
      "largest RTMP message accepted, KiB (bounds memory per connection)" },
    { "rtmp-max-chunk-streams", INT(rtmp_max_chunk_streams), "32",
      "chunk streams one connection may use" },
    { "rtmp-timeout", INT(rtmp_timeout), "10",
      "seconds to finish handshake and publish, and longest gap between messages" },
    { "stale-after", INT(stale_after), "5",
      "seconds without media after which a publisher may be replaced by another" },
    { "media-queue", INT(media_queue), "512", "packets queued per stream for the media worker" },
    { "web-dir", STR(web_dir), "web", "folder of the viewer page, its static files and hls.js" },
    { "ladder", STR(ladder), "720p:2500k,360p:800k",
      "renditions, HEIGHTp:BITRATE,...; none taller than the source is made; off: no HLS" },
    { "x264-preset", STR(x264_preset), "veryfast", "libx264 preset for every rendition" },
    { "x264-threads", INT(x264_threads), "0",
      "threads per encoder (each rendition encodes on a thread of its own already); 0: one up to "
      "720p, libx264's choice (sliced threads) above" },
    { "hls-segment-ms", INT(hls_segment_ms), "1000",
      "segment length: a keyframe is forced this often in every rendition" },
    { "hls-part-ms", INT(hls_part_ms), "200", "target length of LL-HLS partial segments" },
    { "hls-window", INT(hls_window), "30", "seconds of media kept in RAM per rendition" },
    { "hls-ended-keep", INT(hls_ended_keep), "60",
      "seconds an ended stream's playlists and media stay served before their RAM is freed" },
    { "grace", INT(grace), "60",
      "seconds a stream stays on air after its publisher left, waiting for it to return" },
    { "order-dedup-s", INT(order_dedup_s), "86400",
      "seconds an order_id is remembered: a retry within it gets the original result (200), "
      "never a second count; at least 1" },
    { "order-log-max", INT(order_log_max), "100000",
      "about how many orders each stream's order log (a Redis stream) keeps: XADD MAXLEN ~" },
    { "order-rate", INT(order_rate), "10",
      "orders per second each client address (IPv6: its /64) may send without a signature or "
      "the operator token; over it, 429 with Retry-After; 0: no limit" },
    { "order-burst", INT(order_burst), "20", "orders a client address may send at once" },
    { "webhook-secret", STR(webhook_secret), "",
      "key of the HMAC-SHA256 signature (X-Shopcast-Signature) a shop platform puts on the "
      "orders it posts; empty: webhook orders are refused (401)" },
    { "ws-max-clients", INT(ws_max_clients), "20000",
      "WebSocket clients (/ws) at once; more are closed with 4503" },
    { "ws-ping-s", INT(ws_ping_s), "20", "seconds between the relay's pings to a quiet client" },
    { "ws-idle-s", INT(ws_idle_s), "60",
      "seconds without a message or pong after which a WebSocket client is closed (4408)" },
    { "ws-ring", INT(ws_ring), "1024",
      "messages each stream keeps for resuming clients (and how far one may fall behind)" },
    { "ws-origins", STR(ws_origins), "",
      "Origins allowed to open /ws, comma separated (https://shop.example); empty: the page's "
      "own host only (Origin's host equals Host) and clients that send no Origin" },
};

#define NOPTS (sizeof(options) / sizeof(options[0]))

/* "rtmp_listen" and "rtmp-listen" name the same setting. */
static int name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
            return 0;
    return *a == *b;
}

static const opt_t *find_opt(const char *name)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (name_eq(options[i].name, name))
            return &options[i];
    return NULL;
}

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = { "on", "yes", "true", "1" }, *const no[] = { "off", "no",
                                                                                   "false", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i]))
            return *out = 1, 0;
        if (!strcasecmp(v, no[i]))
            return *out = 0, 0;
    }
    return -EINVAL;
}

static int parse_int(const char *v, int *out)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 0 || n > INT_MAX)
        return -EINVAL;
    *out = (int)n;
    return 0;
}

static int apply(rl_config_t *cfg, const opt_t *o, const char *value, char *err, size_t errlen)
{
    char *field = (char *)cfg + o->offset;

    switch (o->type) {
    case OPT_STR:
        if (strlen(value) >= o->size)
            return snprintf(err, errlen, "%s: value longer than %zu bytes", o->name, o->size - 1),
                   -EINVAL;
        memcpy(field, value, strlen(value) + 1);
        return 0;
    case OPT_INT:
        if (parse_int(value, (int *)field) < 0)
            return snprintf(err, errlen, "%s: '%s' is not a whole number", o->name, value), -EINVAL;
        return 0;
    case OPT_BOOL:
        if (parse_bool(value, (int *)field) < 0)
            return snprintf(err, errlen, "%s: '%s' is not on or off", o->name, value), -EINVAL;
        return 0;
    }
    return -EINVAL;
}

int rl_config_set(rl_config_t *cfg, const char *name, const char *value, char *err, size_t errlen)
{
    const opt_t *o = find_opt(name);

    if (!o) {
        snprintf(err, errlen, "unknown setting '%s' (see --help)", name);
        return -EINVAL;
    }
    return apply(cfg, o, value, err, errlen);
}

void rl_config_defaults(rl_config_t *cfg)
{
    char err[64];

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NOPTS; i++)
        apply(cfg, &options[i], options[i].def, err, sizeof(err));
}

typedef struct ini_ctx_s {
    rl_config_t *cfg;
    char *err;
    size_t errlen;
    int failed;
} ini_ctx_t;

static int on_ini_line(void *user, const char *section, const char *name, const char *value)
{
    ini_ctx_t *c = user;

    (void)section;
    if (c->failed)
        return 0;
    if (rl_config_set(c->cfg, name, value, c->err, c->errlen) < 0)
        c->failed = 1;
    return !c->failed;
}

static int load_file(rl_config_t *cfg, const char *path, char *err, size_t errlen)
{
    char why[256] = "";
    ini_ctx_t c = { cfg, why, sizeof(why), 0 };
    int line = ini_parse(path, on_ini_line, &c);

    if (line == -1)
        return snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno)),
               -ENOENT;
    if (line != 0)
        return snprintf(err, errlen, "%s:%d: %s", path, line, why[0] ? why : "syntax error"),
               -EINVAL;
    return 0;
}

/* Finds "--name value" or "--name=value" at argv[*i]; advances *i past the value. */
static int split_arg(int argc, char **argv, int *i, char *name, size_t namelen, const char **val)
{
    const char *a = argv[*i] + 2, *eq = strchr(a, '=');
    size_t n = eq ? (size_t)(eq - a) : strlen(a);

    if (n >= namelen)
        return -EINVAL;
    memcpy(name, a, n);
    name[n] = '\0';
    if (eq)
        *val = eq + 1;
    else if (*i + 1 < argc)
        *val = argv[++*i];
    else
        return -EINVAL;
    return 0;
}

static int find_config_arg(int argc, char **argv, rl_config_t *cfg, char *err, size_t errlen)
{
    char name[64];
    const char *val;

    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--config", 8) || (argv[i][8] && argv[i][8] != '='))
            continue;
        if (split_arg(argc, argv, &i, name, sizeof(name), &val) < 0)
            return snprintf(err, errlen, "--config needs a file name"), -EINVAL;
        snprintf(cfg->config_file, sizeof(cfg->config_file), "%s", val);
    }
    return 0;
}

static int apply_args(rl_config_t *cfg, int argc, char **argv, char *err, size_t errlen)
{
    char name[64];
    const char *val;

    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2))
            return snprintf(err, errlen, "unexpected argument '%s' (see --help)", argv[i]), -EINVAL;
        if (split_arg(argc, argv, &i, name, sizeof(name), &val) < 0)
            return snprintf(err, errlen, "%s needs a value", argv[i]), -EINVAL;
        if (!strcmp(name, "config"))
            continue;
        if (rl_config_set(cfg, name, val, err, errlen) < 0)
            return -EINVAL;
    }
    return 0;
}

void rl_config_usage(FILE *f)
{
    fprintf(f, "usage: shopcast [--config FILE] [--SETTING VALUE]...\n\n"
               "Every setting can be given in the INI file (same name) or on the command line;\n"
               "the command line wins.\n\n  --config FILE\n      INI file to read\n");
    for (size_t i = 0; i < NOPTS; i++)
        fprintf(f, "  --%s %s\n      %s (default: %s)\n", options[i].name,
                options[i].type == OPT_INT    ? "N"
                : options[i].type == OPT_BOOL ? "on|off"
                                              : "VALUE",
                options[i].help, options[i].def[0] ? options[i].def : "empty");
}

int rl_config_load(rl_config_t *cfg, int argc, char **argv, char *err, size_t errlen)
{
    int rc;

    rl_config_defaults(cfg);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return rl_config_usage(stdout), 1;
        if (!strcmp(argv[i], "--version"))
            return printf("shopcast %s\n", SHOPCAST_VERSION), 1;
    }
    if ((rc = find_config_arg(argc, argv, cfg, err, errlen)) < 0)
        return rc;
    if (cfg->config_file[0] && (rc = load_file(cfg, cfg->config_file, err, errlen)) < 0)
        return rc;
    return apply_args(cfg, argc, argv, err, errlen);
}

int rl_parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(s, ':'), *h = s;
    size_t n;

    if (!colon || parse_int(colon + 1, port) < 0 || *port < 1 || *port > 65535)
        return -EINVAL;
    n = (size_t)(colon - s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
        h++, n -= 2;
    if (n >= hostlen)
        return -EINVAL;
    memcpy(host, h, n);
    host[n] = '\0';
    return 0;
}
