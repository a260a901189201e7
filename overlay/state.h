/* Overlay state: what the product card shows, as one immutable, versioned, refcounted object.
 *
 * The network thread builds a new state for every change Redis confirms and publishes it to a
 * stream's worker through an ov_slot_t (one atomic exchange, no lock). The worker takes the
 * newest state when it starts a frame and keeps it until a newer one arrives; nobody changes a
 * state once it is published. Every number in it is one Redis confirmed. */
#ifndef OVERLAY_STATE_H
#define OVERLAY_STATE_H

#include <libavutil/buffer.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct ov_state_s {
    atomic_int refs;
    /* Increases with every state published for the stream (the relay's own count): a worker
     * redraws and stamps a frame when it changes. */
    uint64_t version;
    /* Redis's change counter for the stream (docs/COMMERCE.md `S:seq`) this state reflects. A
     * flash sale that ends by its clock changes the state without a new seq. */
    uint64_t seq;
    int pinned; /* 0: no product pinned, no card */
    char product_id[64];
    char *name;            /* UTF-8 as the operator typed it: drawn literally, never as markup */
    char currency[4];      /* ISO 4217 code, "CNY" */
    int64_t price;         /* minor units: the price charged now (the flash price during a sale) */
    int64_t product_price; /* the price charged when no flash sale runs (after flash_ends_ms) */
    int64_t regular_price; /* the product's own price; shown struck through while price < it */
    int64_t sold;          /* units sold, all time */
    int64_t stock;         /* units left */
    int flash;             /* a flash sale for this product runs */
    /* Wall clock (ms since the epoch, Redis's TIME) when the sale ends. From then on Redis charges
     * product_price, so a frame shown at or after it shows product_price and no countdown, even
     * before the relay has published the state without the sale. */
    int64_t flash_ends_ms;
    int64_t flash_left; /* units left at the flash price */
    /* The product's image, scaled to at most OV_THUMB_MAX on each side: cairo's ARGB32
     * (premultiplied, native-endian 32-bit pixels), stride thumb_w * 4. NULL: no image. */
    AVBufferRef *thumb;
    int thumb_w, thumb_h;
} ov_state_t;

#define OV_THUMB_MAX 256

/* A new state with one reference, all zero (nothing pinned); NULL when out of memory. */
ov_state_t *ov_state_new(void);
/* A new state with one reference holding a copy of src's fields (name duplicated, thumb
 * referenced), for the network thread to change before publishing; NULL when out of memory. */
ov_state_t *ov_state_copy(const ov_state_t *src);
/* Sets the name (copied); 0 or -ENOMEM. Only before the state is published. */
int ov_state_set_name(ov_state_t *s, const char *name);
/* Whether a and b show the same product alike: id, name, currency, regular price, sold, stock
 * and image (the same bytes). The price and the flash sale are the caller's to compare: what
 * they show depends on when (a sale ends by its clock). Both must be pinned. */
int ov_state_same_goods(const ov_state_t *a, const ov_state_t *b);
ov_state_t *ov_state_ref(ov_state_t *s);
/* Drops a reference and NULLs *s; frees on the last one. Accepts NULL. */
void ov_state_unref(ov_state_t **s);

/* The hand-over from the network thread to one worker: holds the newest state not yet taken. */
typedef struct ov_slot_s {
    _Atomic(ov_state_t *) next;
} ov_slot_t;

/* Network thread: takes over the caller's reference to s (s may be NULL: nothing). A state that
 * was published earlier and not yet taken is dropped, since the worker never saw it. */
void ov_slot_publish(ov_slot_t *slot, ov_state_t *s);
/* Worker: the newest published state (the caller now owns that reference), or NULL when nothing
 * new was published since the last take. Never blocks. */
ov_state_t *ov_slot_take(ov_slot_t *slot);
/* Drops whatever the slot still holds (the worker is gone). */
void ov_slot_clear(ov_slot_t *slot);

#endif
