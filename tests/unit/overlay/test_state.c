/* Unit tests for overlay/state.c: states are copied whole and freed on their last reference, and
 * the slot hands the newest state to the worker, drops the ones it never took, and loses or
 * leaks nothing when publisher and taker run at once. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "overlay/state.h"

Test(state, copy_holds_its_own_name_and_shares_the_thumbnail)
{
    ov_state_t *a = ov_state_new(), *b;

    cr_assert(a);
    a->version = 7;
    a->pinned = 1;
    a->price = 990;
    cr_assert_eq(ov_state_set_name(a, "柞水木耳"), 0);
    a->thumb = av_buffer_alloc(16);
    b = ov_state_copy(a);
    cr_assert(b);
    cr_expect_eq(b->version, 7);
    cr_expect_eq(b->price, 990);
    cr_expect_str_eq(b->name, "柞水木耳");
    cr_expect_neq(b->name, a->name);
    cr_expect_eq(b->thumb->data, a->thumb->data);
    cr_expect_eq(atomic_load(&b->refs), 1);
    ov_state_unref(&a);
    cr_expect_null(a);
    cr_expect_str_eq(b->name, "柞水木耳"); /* still whole after the original went */
    ov_state_unref(&b);
    ov_state_unref(&b); /* NULL is fine */
}

Test(slot, take_gives_the_newest_and_then_nothing)
{
    ov_slot_t slot = { NULL };
    ov_state_t *a = ov_state_new(), *b = ov_state_new(), *got;

    a->version = 1;
    b->version = 2;
    cr_expect_null(ov_slot_take(&slot));
    ov_slot_publish(&slot, a); /* never taken: dropped when b replaces it */
    ov_slot_publish(&slot, b);
    got = ov_slot_take(&slot);
    cr_assert(got);
    cr_expect_eq(got->version, 2);
    cr_expect_null(ov_slot_take(&slot));
    ov_state_unref(&got);
}

Test(slot, clear_drops_what_was_not_taken)
{
    ov_slot_t slot = { NULL };
    ov_state_t *keep = ov_state_new();

    ov_slot_publish(&slot, ov_state_ref(keep));
    ov_slot_clear(&slot);
    cr_expect_null(ov_slot_take(&slot));
    cr_expect_eq(atomic_load(&keep->refs), 1); /* the slot's reference went, ours stayed */
    ov_state_unref(&keep);
}

#define ROUNDS 200000

static ov_slot_t race_slot;

static void *publisher(void *arg)
{
    (void)arg;
    for (uint64_t v = 1; v <= ROUNDS; v++) {
        ov_state_t *s = ov_state_new();
        s->version = v;
        ov_slot_publish(&race_slot, s);
    }
    return NULL;
}

/* Under ASan a state freed while the taker still reads it, or taken twice, is reported; here
 * the versions the taker sees must only increase and end with the last one published. */
Test(slot, a_taker_racing_a_publisher_sees_versions_only_increase)
{
    pthread_t t;
    uint64_t last = 0;
    ov_state_t *cur = NULL, *n;
    int done = 0;

    pthread_create(&t, NULL, publisher, NULL);
    while (!done) {
        if ((n = ov_slot_take(&race_slot))) {
            cr_assert_gt(n->version, last);
            last = n->version;
            ov_state_unref(&cur);
            cur = n;
        }
        done = last == ROUNDS;
    }
    pthread_join(t, NULL);
    cr_expect_eq(cur->version, ROUNDS);
    cr_expect_null(ov_slot_take(&race_slot));
    ov_state_unref(&cur);
}

Test(state, same_goods_compares_what_the_card_shows_and_images_by_their_bytes)
{
    ov_state_t *a = ov_state_new(), *b;

    a->pinned = 1;
    a->sold = 3;
    ov_state_set_name(a, "honey");
    a->thumb = av_buffer_allocz(16);
    a->thumb_w = a->thumb_h = 2;
    b = ov_state_copy(a);
    av_buffer_unref(&b->thumb);
    b->thumb = av_buffer_allocz(16); /* another buffer, the same pixels */
    cr_expect(ov_state_same_goods(a, b));
    b->thumb->data[5] = 1;
    cr_expect_not(ov_state_same_goods(a, b));
    b->thumb->data[5] = 0;
    b->sold = 4;
    cr_expect_not(ov_state_same_goods(a, b));
    b->sold = 3;
    b->price = 1; /* the caller's to compare */
    cr_expect(ov_state_same_goods(a, b));
    ov_state_unref(&a);
    ov_state_unref(&b);
}
