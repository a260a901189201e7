/* /metrics: counters and gauges in the Prometheus text exposition format (version 0.0.4). */
#include "relay/routes/routes.h"

#include <stdio.h>

#include "relay/live/stream.h"
#include "relay/net/redis.h"

void rl_route_metrics(rl_http_req_t *r, const char *arg)
{
    rl_counters_t *c = &r->srv->counters;
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
    fprintf(f,
            "# TYPE shopcast_rtmp_connections gauge\nshopcast_rtmp_connections %d\n"
            "# TYPE shopcast_rtmp_accepted_total counter\nshopcast_rtmp_accepted_total %llu\n"
            "# TYPE shopcast_rtmp_refused_total counter\nshopcast_rtmp_refused_total %llu\n"
            "# TYPE shopcast_rtmp_protocol_errors_total counter\n"
            "shopcast_rtmp_protocol_errors_total %llu\n"
            "# TYPE shopcast_publish_total counter\nshopcast_publish_total{result=\"ok\"} %llu\n"
            "shopcast_publish_total{result=\"rejected\"} %llu\n"
            "shopcast_publish_total{result=\"replaced\"} %llu\n"
            "shopcast_publish_total{result=\"accepted_offline\"} %llu\n"
            "# TYPE shopcast_streams_live gauge\nshopcast_streams_live %d\n",
            r->srv->ningests, (unsigned long long)c->rtmp_accepted,
            (unsigned long long)c->rtmp_refused, (unsigned long long)c->rtmp_closed_error,
            (unsigned long long)c->publish_ok, (unsigned long long)c->publish_rejected,
            (unsigned long long)c->publish_replaced, (unsigned long long)c->publish_offline, live);
    rl_redis_metrics(r->srv->redis, f);
    fclose(f);
    rl_http_respond_text(r, 200, "text/plain; version=0.0.4", buf, len);
}
