/* The route table: which handler answers which method and path. First match wins; a path that
 * matches with another method gets 405. */
#include "relay/routes/routes.h"

const rl_route_t rl_routes[] = {
    { RL_GET, "/healthz", RL_ROUTE_EXACT, 0, rl_route_healthz },
    { RL_GET, "/metrics", RL_ROUTE_EXACT, 0, rl_route_metrics },
    { RL_GET, "/api/v1/streams", RL_ROUTE_EXACT, 0, rl_route_streams_list },
    { RL_POST, "/api/v1/streams", RL_ROUTE_EXACT, 1, rl_route_streams_create },
    { RL_GET, "/api/v1/streams/", RL_ROUTE_ID, 0, rl_route_stream_get },
    { RL_DELETE, "/api/v1/streams/", RL_ROUTE_ID, 1, rl_route_stream_delete },
    { RL_POST, "/api/v1/streams/{id}/orders", RL_ROUTE_SUB, 0, rl_route_orders },
    { RL_POST, "/api/v1/streams/{id}/orders/webhook", RL_ROUTE_SUB, 0, rl_route_orders_webhook },
    { RL_GET, "/hls/", RL_ROUTE_REST, 0, rl_route_hls },
    { RL_GET, "/watch/", RL_ROUTE_ID, 0, rl_route_watch },
    { RL_GET, "/vod/", RL_ROUTE_REST, 0, rl_route_vod },
    { RL_GET, "/api/v1/streams/", RL_ROUTE_REST, 0, rl_route_recordings },
    { RL_GET, "/static/", RL_ROUTE_REST, 0, rl_route_static },
};
const size_t rl_nroutes = sizeof(rl_routes) / sizeof(rl_routes[0]);
