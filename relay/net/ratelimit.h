/* Token buckets per source address: a sustained rate of requests, with bursts, for each client.
 *
 * One bucket per rl_peer_key_t (so an IPv6 client is its /64), kept in a fixed table: memory is
 * bounded whatever the number of sources. A source without a bucket gets a full one; when its
 * slots are taken, the bucket touched longest ago gives way (it had refilled the most, so
 * forgetting it costs the least). Time is passed in, so the buckets are tested without sleeping. */
#ifndef RELAY_RATELIMIT_H
#define RELAY_RATELIMIT_H

#include "relay/net/peer.h"

typedef struct rl_ratelimit_s rl_ratelimit_t;

/* rate: tokens per second (0: no limit); burst: bucket size (at least 1). NULL if out of memory. */
rl_ratelimit_t *rl_ratelimit_new(double rate, double burst);
void rl_ratelimit_free(rl_ratelimit_t **rl);

/* Takes a token from src's bucket at time now (seconds, monotonic). Returns 0 when there was one,
 * else the whole seconds (at least 1) until there will be: a Retry-After. */
int rl_ratelimit_take(rl_ratelimit_t *rl, const rl_peer_key_t *src, double now);

#endif
