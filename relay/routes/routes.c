/* The route table: which handler answers which method and path. First match wins; a path that
 * matches with another method gets 405. */
#include "relay/routes/routes.h"

#include "relay/commerce/image.h"

#define P "/api/v1/streams/{id}"

const rl_route_t rl_routes[] = {
    { RL_GET, "/healthz", RL_ROUTE_EXACT, 0, rl_route_healthz, 0 },
    { RL_GET, "/metrics", RL_ROUTE_EXACT, 0, rl_route_metrics, 0 },
    { RL_GET, "/api/v1/streams", RL_ROUTE_EXACT, 0, rl_route_streams_list, 0 },
    { RL_POST, "/api/v1/streams", RL_ROUTE_EXACT, 1, rl_route_streams_create, 0 },
    { RL_GET, "/api/v1/streams/", RL_ROUTE_ID, 0, rl_route_stream_get, 0 },
    { RL_DELETE, "/api/v1/streams/", RL_ROUTE_ID, 1, rl_route_stream_delete, 0 },
    { RL_POST, P "/key", RL_ROUTE_SUB, 1, rl_route_stream_key, 0 },
    { RL_POST, P "/orders", RL_ROUTE_SUB, 0, rl_route_orders, 0 },
    { RL_POST, P "/orders/webhook", RL_ROUTE_SUB, 0, rl_route_orders_webhook, 0 },
    { RL_GET, "/hls/", RL_ROUTE_REST, 0, rl_route_hls, 0 },
    { RL_GET, "/watch/", RL_ROUTE_ID, 0, rl_route_watch, 0 },
    { RL_GET, "/dashboard", RL_ROUTE_EXACT, 0, rl_route_dashboard, 0 },
    { RL_GET, "/vod/", RL_ROUTE_REST, 0, rl_route_vod, 0 },
    /* a stream's commerce resources (the catalog is public: viewers' pages read it) */
    { RL_POST, P "/products", RL_ROUTE_SUB, 1, rl_route_products_create, 0 },
    { RL_GET, P "/products", RL_ROUTE_SUB, 0, rl_route_products_list, 0 },
    { RL_GET, P "/products/{sub}", RL_ROUTE_SUB, 0, rl_route_product_get, 0 },
    { RL_PATCH, P "/products/{sub}", RL_ROUTE_SUB, 1, rl_route_product_patch, 0 },
    { RL_DELETE, P "/products/{sub}", RL_ROUTE_SUB, 1, rl_route_product_delete, 0 },
    { RL_PUT, P "/products/{sub}/image", RL_ROUTE_SUB, 1, rl_route_product_image_put,
      RL_IMAGE_BYTES_MAX },
    { RL_DELETE, P "/products/{sub}/image", RL_ROUTE_SUB, 1, rl_route_product_image_delete, 0 },
    { RL_PUT, P "/pinned", RL_ROUTE_SUB, 1, rl_route_pinned_put, 0 },
    { RL_DELETE, P "/pinned", RL_ROUTE_SUB, 1, rl_route_pinned_delete, 0 },
    { RL_POST, P "/flash", RL_ROUTE_SUB, 1, rl_route_flash_start, 0 },
    { RL_DELETE, P "/flash", RL_ROUTE_SUB, 1, rl_route_flash_stop, 0 },
    { RL_GET, P "/sales", RL_ROUTE_SUB, 1, rl_route_sales, 0 },
    /* after every GET of a stream's sub-resource: it takes anything under /api/v1/streams/ */
    { RL_GET, "/api/v1/streams/", RL_ROUTE_REST, 0, rl_route_recordings, 0 },
    { RL_GET, "/static/", RL_ROUTE_REST, 0, rl_route_static, 0 },
};
const size_t rl_nroutes = sizeof(rl_routes) / sizeof(rl_routes[0]);
