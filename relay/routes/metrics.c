/* /metrics: counters and gauges in the Prometheus text exposition format (version 0.0.4). */
#include "relay/routes/routes.h"

#include <stdio.h>

#include "relay/commerce/commerce.h"
#include "relay/live/stream.h"
#include "relay/net/redis.h"

/* One family: its # TYPE line, then one sample per label set (NULL labels: a single sample). */
typedef struct sample_s {
    const char *labels;
    double value; /* exact for counts below 2^53 */
} sample_t;

static void family(FILE *f, const char *name, const char *type, const sample_t *s, int n)
{
    fprintf(f, "# TYPE %s %s\n", name, type);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%s%s%s %.15g\n", name, s[i].labels ? "{" : "", s[i].labels ? s[i].labels : "",
                s[i].labels ? "}" : "", s[i].value);
}

#define ONE(v) (sample_t[]){ { NULL, (double)(v) } }, 1

static void rtmp_families(FILE *f, const rl_server_t *srv)
{
    const rl_counters_t *c = &srv->counters;

    family(f, "shopcast_rtmp_connections", "gauge", ONE(srv->ningests));
    family(f, "shopcast_rtmp_connections_closing", "gauge", ONE(srv->ningests_closing));
    family(f, "shopcast_rtmp_accepted_total", "counter", ONE(c->rtmp_accepted));
    family(f, "shopcast_rtmp_refused_total", "counter", ONE(c->rtmp_shed[RL_SHED_REFUSED]));
    family(f, "shopcast_rtmp_evicted_total", "counter",
           (sample_t[]){ { "reason=\"table_full\"", c->rtmp_shed[RL_SHED_TABLE_FULL] },
                         { "reason=\"per_ip\"", c->rtmp_shed[RL_SHED_PER_IP] } },
           2);
    family(f, "shopcast_rtmp_hung_up_total", "counter", ONE(c->rtmp_hung_up));
    family(f, "shopcast_rtmp_protocol_errors_total", "counter", ONE(c->rtmp_closed_error));
    family(f, "shopcast_publish_total", "counter",
           (sample_t[]){ { "result=\"ok\"", c->publish_ok },
                         { "result=\"rejected\"", c->publish_rejected },
                         { "result=\"replaced\"", c->publish_replaced },
                         { "result=\"accepted_offline\"", c->publish_offline } },
           4);
}

static void redis_families(FILE *f, const rl_redis_t *redis)
{
    rl_redis_stats_t st;

    rl_redis_stats(redis, &st);
    family(f, "shopcast_redis_up", "gauge", ONE(st.up));
    family(f, "shopcast_redis_reconnects_total", "counter", ONE(st.reconnects));
    family(f, "shopcast_redis_timeouts_total", "counter",
           (sample_t[]){ { "what=\"request\"", (double)st.req_timeouts },
                         { "what=\"connection\"", (double)st.conn_timeouts } },
           2);
    family(f, "shopcast_redis_outage_seconds_total", "counter", ONE(st.outage_s));
}

static void commerce_families(FILE *f, const rl_server_t *srv)
{
    rl_commerce_stats_t st;

    rl_commerce_stats(srv, &st);
    family(f, "shopcast_commerce_library_loaded", "gauge", ONE(st.library_loaded));
    family(f, "shopcast_commerce_subscriber_up", "gauge", ONE(st.subscriber_up));
    family(f, "shopcast_commerce_events_total", "counter", ONE(st.events));
    family(f, "shopcast_commerce_reloads_total", "counter", ONE(st.reloads));
    family(f, "shopcast_card_states_total", "counter", ONE(st.states));
    family(f, "shopcast_card_images_total", "counter",
           (sample_t[]){ { "result=\"ok\"", (double)(st.images - st.bad_images) },
                         { "result=\"bad\"", (double)st.bad_images } },
           2);
}

void rl_route_metrics(rl_http_req_t *r, const char *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int live = 0;

    (void)arg;
    if (!f) {
        rl_http_error(r, 500, "out of memory");
        return;
    }
    for (int i = 0; i < r->srv->nstreams; i++)
        live += r->srv->streams[i]->ingest != NULL;
    rtmp_families(f, r->srv);
    family(f, "shopcast_streams_live", "gauge", ONE(live));
    redis_families(f, r->srv->redis);
    commerce_families(f, r->srv);
    fclose(f);
    rl_http_respond_text(r, 200, "text/plain; version=0.0.4", buf, len);
}
