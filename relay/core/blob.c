#include "relay/core/blob.h"

#include <stdlib.h>
#include <string.h>

rl_blob_t *rl_blob_new(size_t len)
{
    rl_blob_t *b = malloc(sizeof(*b) + RL_BLOB_HEADROOM + len);

    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->len = len;
    b->data = b->mem + RL_BLOB_HEADROOM;
    return b;
}

rl_blob_t *rl_blob_copy(const void *src, size_t len)
{
    rl_blob_t *b = rl_blob_new(len);

    if (b && len)
        memcpy(b->data, src, len);
    return b;
}

rl_blob_t *rl_blob_ref(rl_blob_t *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void rl_blob_unref(rl_blob_t **pb)
{
    rl_blob_t *b = *pb;

    *pb = NULL;
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        free(b);
}
