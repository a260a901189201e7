/* The route table: which handler answers which method and path. First match wins; a path that
 * matches with another method gets 405. */
#include "relay/routes/routes.h"

const rl_route_t rl_routes[] = {
    { RL_GET, "/healthz", RL_ROUTE_EXACT, 0, rl_route_healthz, 0 },
    { RL_GET, "/metrics", RL_ROUTE_EXACT, 0, rl_route_metrics, 0 },
    { RL_GET, "/api/v1/streams", RL_ROUTE_EXACT, 0, rl_route_streams_list, 0 },
    { RL_POST, "/api/v1/streams", RL_ROUTE_EXACT, 1, rl_route_streams_create, 0 },
    { RL_GET, "/api/v1/streams/", RL_ROUTE_ID, 0, rl_route_stream_get, 0 },
    { RL_DELETE, "/api/v1/streams/", RL_ROUTE_ID, 1, rl_route_stream_delete, 0 },
    { RL_GET, "/hls/", RL_ROUTE_REST, 0, rl_route_hls, 0 },
    { RL_GET, "/watch/", RL_ROUTE_ID, 0, rl_route_watch, 0 },
    { RL_GET, "/vod/", RL_ROUTE_REST, 0, rl_route_vod, 0 },
    { RL_GET, "/api/v1/streams/", RL_ROUTE_REST, 0, rl_route_recordings, 0 },
    { RL_GET, "/static/", RL_ROUTE_REST, 0, rl_route_static, 0 },
};
const size_t rl_nroutes = sizeof(rl_routes) / sizeof(rl_routes[0]);
