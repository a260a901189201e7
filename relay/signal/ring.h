/* One stream's ring of encoded messages, and where a resuming client starts in it.
 *
 * Positions count every message pushed (from 0); the ring holds the last `size` of them. A stream
 * event also has its offset (SIGNAL.md: +1 per event, from 1); media notices and operator figures
 * have offset 0 and are never replayed. Each message is one blob, encoded once and sent by
 * reference to every client, whose only state is the position of the next message it sends (the
 * tail of lws's minimal-ws-server-ring, counted in messages so that a resume can set it). Pure:
 * no lws, no loop. */
#ifndef RELAY_SIGNAL_RING_H
#define RELAY_SIGNAL_RING_H

#include <stddef.h>
#include <stdint.h>

#include "relay/core/blob.h"

enum { RL_RING_OPERATOR = 1 }; /* flags: for operators only */

typedef struct rl_ring_entry_s {
    uint64_t offset; /* 0: transient */
    unsigned flags;
    rl_blob_t *msg;
} rl_ring_entry_t;

typedef struct rl_ring_s {
    rl_ring_entry_t *e;
    uint32_t size;
    uint64_t head; /* the position the next message gets */
} rl_ring_t;

/* Frames b as one WebSocket text message (RFC 6455 5.2: FIN, opcode 1, unmasked as a server's
 * frames are, its length) by writing the header into b's headroom just before its data, so that
 * every client is sent the same bytes, framed once. */
void rl_ring_frame(rl_blob_t *b);
/* Where the frame of a framed blob starts; *n gets its length. */
uint8_t *rl_ring_frame_of(rl_blob_t *b, size_t *n);

int rl_ring_init(rl_ring_t *r, uint32_t size); /* 0 or -ENOMEM */
void rl_ring_free(rl_ring_t *r);
/* Appends msg (the ring takes over the caller's reference), dropping the oldest when full.
 * Returns its position. */
uint64_t rl_ring_push(rl_ring_t *r, uint64_t offset, unsigned flags, rl_blob_t *msg);
/* The oldest position still held. */
uint64_t rl_ring_oldest(const rl_ring_t *r);
/* The entry at pos, or NULL when pos is no longer (or not yet) held. Borrowed. */
const rl_ring_entry_t *rl_ring_at(const rl_ring_t *r, uint64_t pos);
/* Where a client that saw every event up to offset `seen` resumes, given the stream's last
 * offset: the position of event seen + 1 (or the head when it missed nothing), or -1 when that
 * cannot be served whole: seen is beyond last (never sent), or event seen + 1 has left the ring. */
int64_t rl_ring_resume(const rl_ring_t *r, uint64_t last, uint64_t seen);

#endif
