/* Commerce on the relay's side: the shopcast FUNCTION library in Redis, and the card's state.
 *
 * Internal to relay/commerce: the per-stream record of what Redis confirmed, and the functions
 * commerce.c and shop.c share. */
#ifndef RELAY_COMMERCE_SHOP_H
#define RELAY_COMMERCE_SHOP_H

#include <jansson.h>
#include <libavutil/buffer.h>
#include <stdint.h>

#include "relay/commerce/commerce.h"
#include "relay/net/redis.h"
#include "relay/net/server.h"

typedef struct rl_shop_s {
    uint64_t uid; /* found again by it when a reply comes: the record may be gone */
    char id[32];  /* the stream's */
    json_t *snap; /* the snapshot applied last; NULL: none yet */
    uint64_t seq;
    int loaded;            /* a snapshot came since the last (re)subscription */
    int loading;           /* a shopcast_state is in flight */
    int64_t flash_ends_ms; /* of the flash sale in snap; 0: none */
    /* the image cache: the thumbnail of one product at one image version */
    char img_pid[64], img_ver[32];
    AVBufferRef *thumb;
    int thumb_w, thumb_h;
    int img_loading;
    json_t *held; /* a snapshot waiting for its product's image */
} rl_shop_t;

struct rl_commerce_s {
    rl_redis_t *sub;   /* the subscriber connection */
    uint64_t connects; /* of the main connection: a reply of an older one is stale */
    int lib_ready;     /* FUNCTION LOAD succeeded on the current connection */
    uint64_t version;  /* the last ov_state_t version given out */
    uint64_t next_uid;
    rl_shop_t **shops;
    int nshops, shops_cap;
    char aof[16], fsync[16]; /* as last logged */
    /* events received, snapshots asked for, card states published, thumbnails loaded / bad */
    uint64_t nevents, nreloads, nstates, nimages, nbad_images;
    uint64_t norders[RL_ORDER_RESULTS]; /* orders.c: how orders came out */

    int lib_loading;                    /* a FUNCTION LOAD is in flight */
    unsigned lib_failures;              /* FUNCTION LOADs refused since the last that succeeded */
    struct rl_ratelimit_s *order_limit; /* viewer orders per client address (orders.c) */
};

void rl__shop_on_event(void *owner, const char *channel, const char *payload, size_t len);
void rl__shop_reload_all(rl_server_t *srv);
void rl__shop_durability(rl_commerce_t *c, const char *aof, const char *fsync);
void rl__shop_free(rl_shop_t **sh);
/* Sends FUNCTION LOAD on the current connection (again, when an earlier one failed). */
void rl__commerce_load(rl_server_t *srv);
/* orders.c: checks the order settings and makes the rate limiter; frees it. */
int rl__orders_init(rl_server_t *srv, char *err, size_t errlen);
void rl__orders_free(rl_server_t *srv);

#endif
