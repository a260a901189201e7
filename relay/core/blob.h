/* Reference-counted bytes with headroom in front.
 *
 * Media (init segments, parts, segments) and rendered playlists are made once and sent to every
 * viewer who asks: each response holds a reference instead of a copy. The headroom lets the HTTP
 * layer put a response's status line and headers directly in front of the body, so headers and
 * body leave in one send with no copy of the body; it also satisfies libwebsockets' LWS_PRE.
 *
 * A blob's bytes never change once it is shared; the headroom is scratch space for whoever is
 * sending it on the network thread, used only for the duration of one write. References may be
 * taken and dropped from any thread. */
#ifndef RELAY_BLOB_H
#define RELAY_BLOB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define RL_BLOB_HEADROOM 1024 /* >= LWS_PRE + the longest header block we write */

typedef struct rl_blob_s {
    atomic_int refs;
    size_t len;
    uint8_t *data; /* len bytes, preceded by RL_BLOB_HEADROOM writable bytes */
    _Alignas(16) uint8_t mem[];
} rl_blob_t;

/* A blob of len bytes, contents undefined; one reference. NULL when out of memory. */
rl_blob_t *rl_blob_new(size_t len);
/* A blob holding a copy of src. */
rl_blob_t *rl_blob_copy(const void *src, size_t len);
rl_blob_t *rl_blob_ref(rl_blob_t *b);
/* Drops a reference (NULL is fine) and clears *b. */
void rl_blob_unref(rl_blob_t **b);

#endif
