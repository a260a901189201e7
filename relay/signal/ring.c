/* One stream's ring of encoded messages, and where a resuming client starts in it. */
#include "relay/signal/ring.h"

#include <errno.h>
#include <stdlib.h>

static size_t head_len(size_t len)
{
    return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

uint8_t *rl_ring_frame_of(rl_blob_t *b, size_t *n)
{
    size_t hl = head_len(b->len);

    *n = hl + b->len;
    return b->data - hl;
}

void rl_ring_frame(rl_blob_t *b)
{
    size_t hl = head_len(b->len);
    uint8_t *h = b->data - hl;

    h[0] = 0x81;
    if (hl == 2) {
        h[1] = (uint8_t)b->len;
    } else if (hl == 4) {
        h[1] = 126;
        h[2] = (uint8_t)(b->len >> 8);
        h[3] = (uint8_t)b->len;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)b->len >> (56 - 8 * i));
    }
}

int rl_ring_init(rl_ring_t *r, uint32_t size)
{
    *r = (rl_ring_t){ .size = size };
    if (!size || !(r->e = calloc(size, sizeof(*r->e))))
        return -ENOMEM;
    return 0;
}

void rl_ring_free(rl_ring_t *r)
{
    for (uint32_t i = 0; r->e && i < r->size; i++)
        rl_blob_unref(&r->e[i].msg);
    free(r->e);
    r->e = NULL;
}

uint64_t rl_ring_push(rl_ring_t *r, uint64_t offset, unsigned flags, rl_blob_t *msg)
{
    rl_ring_entry_t *e = &r->e[r->head % r->size];

    rl_blob_unref(&e->msg);
    *e = (rl_ring_entry_t){ offset, flags, msg };
    return r->head++;
}

uint64_t rl_ring_oldest(const rl_ring_t *r)
{
    return r->head > r->size ? r->head - r->size : 0;
}

const rl_ring_entry_t *rl_ring_at(const rl_ring_t *r, uint64_t pos)
{
    if (pos >= r->head || pos < rl_ring_oldest(r))
        return NULL;
    return &r->e[pos % r->size];
}

int64_t rl_ring_resume(const rl_ring_t *r, uint64_t last, uint64_t seen)
{
    if (seen > last)
        return -1;
    if (seen == last)
        return (int64_t)r->head;
    /* Offsets increase with positions: walk back from the newest to event seen + 1. */
    for (uint64_t pos = r->head; pos-- > rl_ring_oldest(r);) {
        const rl_ring_entry_t *e = rl_ring_at(r, pos);
        if (e->offset && e->offset <= seen)
            return -1; /* seen + 1 was never pushed here: a gap in what the ring holds */
        if (e->offset == seen + 1)
            return (int64_t)pos;
    }
    return -1;
}
