/* Token buckets per source address: a sustained rate of requests, with bursts, for each client.
 *
 * Invariant: a source has at most one bucket, in one of the PROBE slots its hash points to. */
#include "relay/net/ratelimit.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define SLOTS 4096 /* buckets: 160 KiB; a power of two */
#define PROBE 8    /* slots a source may use, from its hash on */

typedef struct bucket_s {
    rl_peer_key_t src;
    double tokens, last; /* last: when tokens was computed; 0: the slot is free */
} bucket_t;

struct rl_ratelimit_s {
    double rate, burst;
    bucket_t b[SLOTS];
};

rl_ratelimit_t *rl_ratelimit_new(double rate, double burst)
{
    rl_ratelimit_t *rl = calloc(1, sizeof(*rl));

    if (rl) {
        rl->rate = rate;
        rl->burst = burst < 1 ? 1 : burst;
    }
    return rl;
}

void rl_ratelimit_free(rl_ratelimit_t **rl)
{
    free(*rl);
    *rl = NULL;
}

static unsigned hash(const rl_peer_key_t *k) /* FNV-1a */
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < sizeof(k->b); i++)
        h = (h ^ k->b[i]) * 16777619u;
    return h;
}

/* src's bucket, or the slot it may take: a free one, else the one touched longest ago. */
static bucket_t *find(rl_ratelimit_t *rl, const rl_peer_key_t *src)
{
    unsigned h = hash(src);
    bucket_t *oldest = NULL, *b;

    for (unsigned i = 0; i < PROBE; i++) {
        b = &rl->b[(h + i) & (SLOTS - 1)];
        if (b->last && rl_peer_key_eq(&b->src, src))
            return b;
        if (!oldest || b->last < oldest->last)
            oldest = b;
    }
    oldest->src = *src;
    oldest->last = 0;
    return oldest;
}

int rl_ratelimit_take(rl_ratelimit_t *rl, const rl_peer_key_t *src, double now)
{
    bucket_t *b;

    if (rl->rate <= 0)
        return 0;
    b = find(rl, src);
    b->tokens = b->last ? fmin(rl->burst, b->tokens + (now - b->last) * rl->rate) : rl->burst;
    b->last = now > 0 ? now : 1e-9; /* 0 marks a free slot */
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return 0;
    }
    return (int)ceil((1 - b->tokens) / rl->rate);
}
