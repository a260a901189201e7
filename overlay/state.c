/* Overlay state: what the product card shows, as one immutable, versioned, refcounted object.
 *
 * The slot is a single atomic pointer: the publisher exchanges its new state in and frees what
 * it displaced (which the worker never took); the worker exchanges NULL in and owns what it got.
 * Neither side ever waits for the other. */
#include "overlay/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

ov_state_t *ov_state_new(void)
{
    ov_state_t *s = calloc(1, sizeof(*s));

    if (s)
        atomic_init(&s->refs, 1);
    return s;
}

ov_state_t *ov_state_copy(const ov_state_t *src)
{
    ov_state_t *s = ov_state_new();

    if (!s)
        return NULL;
    memcpy((char *)s + sizeof(s->refs), (const char *)src + sizeof(src->refs),
           sizeof(*s) - sizeof(s->refs));
    s->name = NULL;
    s->thumb = NULL;
    if ((src->name && !(s->name = strdup(src->name))) ||
        (src->thumb && !(s->thumb = av_buffer_ref(src->thumb)))) {
        ov_state_unref(&s);
        return NULL;
    }
    return s;
}

int ov_state_set_name(ov_state_t *s, const char *name)
{
    char *n = strdup(name ? name : "");

    if (!n)
        return -ENOMEM;
    free(s->name);
    s->name = n;
    return 0;
}

static int same_thumb(const ov_state_t *a, const ov_state_t *b)
{
    if (!a->thumb || !b->thumb)
        return !a->thumb && !b->thumb;
    return a->thumb_w == b->thumb_w && a->thumb_h == b->thumb_h &&
           (a->thumb->data == b->thumb->data ||
            (a->thumb->size == b->thumb->size &&
             !memcmp(a->thumb->data, b->thumb->data, a->thumb->size)));
}

int ov_state_same_goods(const ov_state_t *a, const ov_state_t *b)
{
    return !strcmp(a->product_id, b->product_id) &&
           !strcmp(a->name ? a->name : "", b->name ? b->name : "") &&
           !strcmp(a->currency, b->currency) && a->regular_price == b->regular_price &&
           a->sold == b->sold && a->stock == b->stock && same_thumb(a, b);
}

ov_state_t *ov_state_ref(ov_state_t *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void ov_state_unref(ov_state_t **sp)
{
    ov_state_t *s = *sp;

    *sp = NULL;
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(s->name);
    av_buffer_unref(&s->thumb);
    free(s);
}

void ov_slot_publish(ov_slot_t *slot, ov_state_t *s)
{
    /* release: the worker that takes s sees every field written before this */
    ov_state_t *old = atomic_exchange_explicit(&slot->next, s, memory_order_acq_rel);

    ov_state_unref(&old);
}

ov_state_t *ov_slot_take(ov_slot_t *slot)
{
    if (!atomic_load_explicit(&slot->next, memory_order_relaxed))
        return NULL; /* the common case, every frame: no write to the shared line */
    return atomic_exchange_explicit(&slot->next, NULL, memory_order_acq_rel);
}

void ov_slot_clear(ov_slot_t *slot)
{
    ov_state_t *s = ov_slot_take(slot);

    ov_state_unref(&s);
}
