/* /metrics: counters and gauges in the Prometheus text exposition format (version 0.0.4).
 *
 * Every family has its # HELP and # TYPE lines before its samples, and appears once. Label
 * values are escaped as the format says (backslash, double quote, newline), whatever they hold.
 * Per-stream families list the streams that have the figure now (ingest: live ones; encoders:
 * those on air); a series that disappears is a stream that went away. */
#include "relay/routes/routes.h"

#include <stdio.h>

#include "relay/commerce/commerce.h"
#include "relay/live/stream.h"
#include "relay/net/redis.h"
#include "relay/signal/hub.h"

typedef struct label_s {
    const char *name, *value;
} label_t;

/* One sample of a family given as {labels, value} (NULL labels: a single sample). */
typedef struct sample_s {
    const char *labels; /* already in the format: name="value",... */
    double value;       /* exact for counts below 2^53 */
} sample_t;

static void head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the exposition format 0.0.4 requires. */
static void label_value(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', f);
        if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

static void sample(FILE *f, const char *name, const label_t *l, int nl, double v)
{
    fputs(name, f);
    for (int i = 0; i < nl; i++) {
        fprintf(f, "%s%s=\"", i ? "," : "{", l[i].name);
        label_value(f, l[i].value);
        fputc('"', f);
    }
    fprintf(f, "%s %.15g\n", nl ? "}" : "", v);
}

static void family(FILE *f, const char *name, const char *type, const char *help, const sample_t *s,
                   int n)
{
    head(f, name, type, help);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%s%s%s %.15g\n", name, s[i].labels ? "{" : "", s[i].labels ? s[i].labels : "",
                s[i].labels ? "}" : "", s[i].value);
}

#define ONE(v) (sample_t[]){ { NULL, (double)(v) } }, 1

static void rtmp_families(FILE *f, const rl_server_t *srv)
{
    const rl_counters_t *c = &srv->counters;

    family(f, "shopcast_rtmp_connections", "gauge", "RTMP(S) connections open now",
           ONE(srv->ningests));
    family(f, "shopcast_rtmp_connections_closing", "gauge",
           "RTMP(S) connections being closed (they hold no place in the table)",
           ONE(srv->ningests_closing));
    family(f, "shopcast_rtmp_accepted_total", "counter", "RTMP(S) connections accepted",
           ONE(c->rtmp_accepted));
    family(f, "shopcast_rtmp_refused_total", "counter",
           "RTMP(S) connections refused: the table was full of publishers",
           ONE(c->rtmp_shed[RL_SHED_REFUSED]));
    family(f, "shopcast_rtmp_evicted_total", "counter",
           "RTMP(S) connections that had not published, closed to admit a newer one",
           (sample_t[]){ { "reason=\"table_full\"", c->rtmp_shed[RL_SHED_TABLE_FULL] },
                         { "reason=\"per_ip\"", c->rtmp_shed[RL_SHED_PER_IP] } },
           2);
    family(f, "shopcast_rtmp_hung_up_total", "counter",
           "closing RTMP(S) connections shut down because their peer did not read",
           ONE(c->rtmp_hung_up));
    family(f, "shopcast_rtmp_protocol_errors_total", "counter",
           "RTMP(S) connections closed for bytes that broke the protocol",
           ONE(c->rtmp_closed_error));
    family(f, "shopcast_publish_total", "counter", "publish attempts, by outcome",
           (sample_t[]){ { "result=\"ok\"", c->publish_ok },
                         { "result=\"rejected\"", c->publish_rejected },
                         { "result=\"replaced\"", c->publish_replaced },
                         { "result=\"accepted_offline\"", c->publish_offline } },
           4);
}

static void http_families(FILE *f, const rl_server_t *srv)
{
    static const char *const cls[] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };
    const char *name = "shopcast_http_requests_total";

    head(f, name, "counter", "HTTP responses written, by status class");
    for (int i = 0; i < 6; i++)
        sample(f, name, (label_t[]){ { "code", cls[i] } }, 1, srv->counters.http_status[i]);
    family(f, "shopcast_http_requests_received_total", "counter",
           "HTTP requests received (answered or not)", ONE(srv->counters.http_requests));
}

/* The WebSocket hub's figures (relay/signal/hub.h). */
static void ws_families(FILE *f, const rl_server_t *srv)
{
    rl_hub_stats_t h;

    rl_hub_stats(srv, &h);
    family(f, "shopcast_ws_clients", "gauge", "WebSocket clients connected now",
           (sample_t[]){ { "role=\"viewer\"", (double)(h.clients - h.operators) },
                         { "role=\"operator\"", (double)h.operators } },
           2);
    family(f, "shopcast_ws_channels", "gauge", "streams with a channel (subscribers or events)",
           ONE(h.channels));
    family(f, "shopcast_ws_connections_total", "counter",
           "WebSocket upgrades, by outcome (refused: Origin not allowed, or the relay full)",
           (sample_t[]){ { "result=\"accepted\"", (double)h.accepted },
                         { "result=\"refused_origin\"", (double)h.refused_origin },
                         { "result=\"refused_full\"", (double)h.refused_full } },
           3);
    family(f, "shopcast_ws_messages_total", "counter", "WebSocket messages, by direction",
           (sample_t[]){ { "direction=\"in\"", (double)h.messages_in },
                         { "direction=\"out\"", (double)h.messages_out } },
           2);
    family(f, "shopcast_ws_sent_bytes_total", "counter", "bytes of WebSocket messages sent",
           ONE(h.bytes_out));
    family(f, "shopcast_ws_closed_total", "counter",
           "WebSocket clients closed by the relay, by reason (SIGNAL.md's close codes)",
           (sample_t[]){ { "reason=\"slow\"", (double)h.closed_slow },
                         { "reason=\"flood\"", (double)h.closed_flood },
                         { "reason=\"idle\"", (double)h.closed_idle },
                         { "reason=\"too_big\"", (double)h.closed_too_big },
                         { "reason=\"forbidden\"", (double)h.closed_forbidden },
                         { "reason=\"unknown_stream\"", (double)h.closed_unknown } },
           6);
    family(f, "shopcast_ws_errors_total", "counter", "error messages sent to WebSocket clients",
           ONE(h.errors));
    family(f, "shopcast_ws_resumes_total", "counter",
           "resumes, by outcome (failed: answered with a fresh hello)",
           (sample_t[]){ { "result=\"recovered\"", (double)h.resumes_recovered },
                         { "result=\"failed\"", (double)h.resumes_failed } },
           2);
}

static void redis_families(FILE *f, const rl_redis_t *redis)
{
    rl_redis_stats_t st;

    rl_redis_stats(redis, &st);
    family(f, "shopcast_redis_up", "gauge", "1 while the Redis connection is ready", ONE(st.up));
    family(f, "shopcast_redis_reconnects_total", "counter", "Redis connections made again",
           ONE(st.reconnects));
    family(f, "shopcast_redis_timeouts_total", "counter",
           "requests answered 503 at their deadline, and connections dropped for not answering",
           (sample_t[]){ { "what=\"request\"", (double)st.req_timeouts },
                         { "what=\"connection\"", (double)st.conn_timeouts } },
           2);
    family(f, "shopcast_redis_outage_seconds_total", "counter",
           "seconds the Redis connection was not ready", ONE(st.outage_s));
}

static void order_families(FILE *f, const rl_commerce_stats_t *st)
{
    static const char *const res[RL_ORDER_RESULTS] = {
        [RL_ORDER_COUNTED] = "counted",   [RL_ORDER_DUPLICATE] = "duplicate",
        [RL_ORDER_SOLD_OUT] = "sold_out", [RL_ORDER_PRICE_CHANGED] = "price_changed",
        [RL_ORDER_REFUSED] = "refused",   [RL_ORDER_UNAVAILABLE] = "unavailable",
        [RL_ORDER_FAILED] = "error",
    };
    const char *name = "shopcast_orders_total";

    head(f, name, "counter",
         "orders sent to Redis, by outcome (duplicate: the same order_id again; price_changed: "
         "the shown price was not the price now; refused: any other refusal)");
    for (int i = 0; i < RL_ORDER_RESULTS; i++)
        sample(f, name, (label_t[]){ { "result", res[i] } }, 1, st->orders[i]);
}

static void commerce_families(FILE *f, const rl_server_t *srv)
{
    rl_commerce_stats_t st;

    rl_commerce_stats(srv, &st);
    family(f, "shopcast_commerce_library_loaded", "gauge",
           "1 while the shopcast function library is loaded on the Redis connection",
           ONE(st.library_loaded));
    family(f, "shopcast_commerce_subscriber_up", "gauge",
           "1 while the connection subscribed to the streams' events is ready",
           ONE(st.subscriber_up));
    family(f, "shopcast_commerce_events_total", "counter", "commerce events received from Redis",
           ONE(st.events));
    family(f, "shopcast_commerce_reloads_total", "counter", "stream snapshots asked of Redis",
           ONE(st.reloads));
    family(f, "shopcast_card_states_total", "counter", "product card states handed to workers",
           ONE(st.states));
    family(f, "shopcast_card_images_total", "counter", "product thumbnails loaded, by outcome",
           (sample_t[]){ { "result=\"ok\"", (double)(st.images - st.bad_images) },
                         { "result=\"bad\"", (double)st.bad_images } },
           2);
    order_families(f, &st);
}

static void stream_counts(FILE *f, const rl_server_t *srv)
{
    int live = 0, on_air = 0;

    for (int i = 0; i < srv->nstreams; i++) {
        live += srv->streams[i]->ingest != NULL;
        on_air += srv->streams[i]->media != NULL;
    }
    family(f, "shopcast_streams", "gauge", "streams known to this relay", ONE(srv->nstreams));
    family(f, "shopcast_streams_live", "gauge", "streams with a publisher now", ONE(live));
    family(f, "shopcast_streams_on_air", "gauge",
           "streams whose worker runs: live, or showing the slate in their grace time",
           ONE(on_air));
}

/* One gauge per live stream: what the ingest measures (which = 0 kbps, 1 fps, 2 keyframes). */
static void ingest_family(FILE *f, const rl_server_t *srv, const char *name, const char *help,
                          int which)
{
    head(f, name, "gauge", help);
    for (int i = 0; i < srv->nstreams; i++) {
        const rl_stream_t *st = srv->streams[i];
        double v = which == 0   ? st->kbps
                   : which == 1 ? (st->fps > 0 ? st->fps : st->meta_fps)
                                : (double)st->key_interval_ms / 1000;
        if (st->ingest)
            sample(f, name, (label_t[]){ { "stream", st->id } }, 1, v);
    }
}

static void viewers_family(FILE *f, rl_server_t *srv)
{
    const char *name = "shopcast_stream_viewers";

    head(f, name, "gauge", "viewers of a stream: WebSocket viewers plus HLS-only sessions");
    for (int i = 0; i < srv->nstreams; i++)
        sample(f, name, (label_t[]){ { "stream", srv->streams[i]->id } }, 1,
               (double)rl_hub_viewers(srv, srv->streams[i]));
}

static void dropped_family(FILE *f, const rl_server_t *srv)
{
    const char *name = "shopcast_stream_dropped_total";

    head(f, name, "counter",
         "packets dropped by the stream's worker since it started: its queue was full "
         "(queue_full), or video until the next keyframe (no_keyframe)");
    for (int i = 0; i < srv->nstreams; i++) {
        const rl_stream_t *st = srv->streams[i];
        rl_media_stats_t *ms = st->media ? rl_media_stats(st->media) : NULL;
        if (!ms)
            continue;
        sample(f, name, (label_t[]){ { "stream", st->id }, { "reason", "queue_full" } }, 2,
               (double)atomic_load(&ms->dropped));
        sample(f, name, (label_t[]){ { "stream", st->id }, { "reason", "no_keyframe" } }, 2,
               (double)atomic_load(&ms->dropped_no_key));
    }
}

static void speed_family(FILE *f, const rl_server_t *srv)
{
    const char *name = "shopcast_encoder_speed";
    rl_hls_rung_t d;
    double p50, p95;

    head(f, name, "gauge", "encoding speed per rendition (1 = real time; below 1 falls behind)");
    for (int i = 0; i < srv->nstreams; i++) {
        const rl_stream_t *st = srv->streams[i];
        rl_media_stats_t *ms = st->media ? rl_media_stats(st->media) : NULL;
        for (int k = 0;
             ms && st->hls && k < RL_MAX_RUNGS && rl_hls_rung_info(st->hls, k, &d, &p50, &p95) == 0;
             k++)
            sample(f, name, (label_t[]){ { "stream", st->id }, { "rung", d.name } }, 2,
                   atomic_load(&ms->rung_speed_milli[k]) / 1000.0);
    }
}

/* The histogram of one rung: cumulative buckets in seconds, then +Inf, _sum and _count. */
static void ready_rung(FILE *f, const char *id, const char *rung, const rl_hls_ready_t *h)
{
    char le[16];

    for (int k = 0; k <= RL_HLS_READY_BUCKETS; k++) {
        if (k < RL_HLS_READY_BUCKETS)
            snprintf(le, sizeof(le), "%g", rl_hls_ready_le_ms[k] / 1000);
        sample(f, "shopcast_part_ready_seconds_bucket",
               (label_t[]){ { "stream", id },
                            { "rung", rung },
                            { "le", k < RL_HLS_READY_BUCKETS ? le : "+Inf" } },
               3, (double)(k < RL_HLS_READY_BUCKETS ? h->bucket[k] : h->count));
    }
    sample(f, "shopcast_part_ready_seconds_sum", (label_t[]){ { "stream", id }, { "rung", rung } },
           2, h->sum_ms / 1000);
    sample(f, "shopcast_part_ready_seconds_count",
           (label_t[]){ { "stream", id }, { "rung", rung } }, 2, (double)h->count);
}

static void ready_family(FILE *f, const rl_server_t *srv)
{
    rl_hls_rung_t d;
    rl_hls_ready_t h;
    double p50, p95;

    head(f, "shopcast_part_ready_seconds", "histogram",
         "from the arrival of a part's first source packet to the part being servable");
    for (int i = 0; i < srv->nstreams; i++) {
        const rl_stream_t *st = srv->streams[i];
        for (int k = 0; st->hls && rl_hls_rung_info(st->hls, k, &d, &p50, &p95) == 0 &&
                        rl_hls_rung_ready(st->hls, k, &h) == 0;
             k++)
            ready_rung(f, st->id, d.name, &h);
    }
}

static void stream_families(FILE *f, rl_server_t *srv)
{
    stream_counts(f, srv);
    viewers_family(f, srv);
    ingest_family(f, srv, "shopcast_ingest_kbps", "ingest bitrate of a live stream, kbit/s", 0);
    ingest_family(f, srv, "shopcast_ingest_fps", "ingest frame rate of a live stream", 1);
    ingest_family(f, srv, "shopcast_ingest_keyframe_interval_seconds",
                  "time between the publisher's last two keyframes", 2);
    dropped_family(f, srv);
    speed_family(f, srv);
    ready_family(f, srv);
}

void rl_route_metrics(rl_http_req_t *r, const char *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    (void)arg;
    if (!f) {
        rl_http_error(r, 500, "out of memory");
        return;
    }
    rtmp_families(f, r->srv);
    stream_families(f, r->srv);
    http_families(f, r->srv);
    ws_families(f, r->srv);
    redis_families(f, r->srv->redis);
    commerce_families(f, r->srv);
    fclose(f);
    rl_http_respond_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
}
