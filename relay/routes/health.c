/* /healthz: 200 while the relay can do its whole job, 503 while Redis is unreachable. */
#include "relay/routes/routes.h"

#include <jansson.h>

#include "relay/net/redis.h"

void rl_route_healthz(rl_http_req_t *r, const char *arg)
{
    int ok = rl_redis_ready(r->srv->redis);

    (void)arg;
    rl_http_respond_json(r, ok ? 200 : 503,
                         json_pack("{s:s, s:b}", "status", ok ? "ok" : "degraded", "redis", ok));
}
