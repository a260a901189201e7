/* Unit tests for relay/signal/ring.c: framing, positions, overwriting, and where a resume starts
 * (served whole, nothing missed, trimmed, never sent, a gap in what the ring holds). */
#include <criterion/criterion.h>
#include <string.h>

#include "relay/signal/ring.h"

static rl_blob_t *msg(const char *s)
{
    return rl_blob_copy(s, strlen(s));
}

/* Pushes n stream events with offsets first, first + 1, ... and a transient notice after each. */
static void events(rl_ring_t *r, uint64_t first, int n)
{
    for (int i = 0; i < n; i++) {
        rl_ring_push(r, first + (uint64_t)i, 0, msg("event"));
        rl_ring_push(r, 0, 0, msg("part"));
    }
}

Test(ring, positions_count_every_message_and_the_oldest_go)
{
    rl_ring_t r;

    cr_assert_eq(rl_ring_init(&r, 4), 0);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(rl_ring_push(&r, (uint64_t)i + 1, 0, msg("m")), (uint64_t)i);
    cr_assert_eq(r.head, 6);
    cr_assert_eq(rl_ring_oldest(&r), 2);
    cr_assert_null(rl_ring_at(&r, 1));
    cr_assert_null(rl_ring_at(&r, 6));
    cr_assert_eq(rl_ring_at(&r, 2)->offset, 3);
    cr_assert_eq(rl_ring_at(&r, 5)->offset, 6);
    rl_ring_free(&r);
}

Test(ring, a_resume_starts_at_the_first_missed_event)
{
    rl_ring_t r;

    rl_ring_init(&r, 64);
    events(&r, 1, 10);                          /* offsets 1..10 at positions 0, 2, ... 18 */
    cr_assert_eq(rl_ring_resume(&r, 10, 4), 8); /* offset 5 */
    cr_assert_eq(rl_ring_at(&r, 8)->offset, 5);
    cr_assert_eq(rl_ring_resume(&r, 10, 0), 0); /* from the very first */
    rl_ring_free(&r);
}

Test(ring, a_client_that_missed_nothing_resumes_at_the_head)
{
    rl_ring_t r;

    rl_ring_init(&r, 16);
    events(&r, 1, 3);
    cr_assert_eq(rl_ring_resume(&r, 3, 3), (int64_t)r.head);
    rl_ring_free(&r);
}

Test(ring, an_offset_never_sent_cannot_be_resumed)
{
    rl_ring_t r;

    rl_ring_init(&r, 16);
    events(&r, 1, 3);
    cr_assert_eq(rl_ring_resume(&r, 3, 4), -1);
    cr_assert_eq(rl_ring_resume(&r, 3, UINT64_MAX), -1);
    rl_ring_free(&r);
}

Test(ring, events_that_left_the_ring_are_never_replayed_in_part)
{
    rl_ring_t r;

    rl_ring_init(&r, 8);
    events(&r, 1, 10);                           /* holds offsets 7..10 only */
    cr_assert_eq(rl_ring_resume(&r, 10, 5), -1); /* offset 6 is gone */
    cr_assert_eq(rl_ring_resume(&r, 10, 6), (int64_t)rl_ring_oldest(&r));
    cr_assert_eq(rl_ring_resume(&r, 10, 9), (int64_t)r.head - 2);
    rl_ring_free(&r);
}

Test(ring, offsets_the_ring_never_held_are_a_gap)
{
    rl_ring_t r;

    rl_ring_init(&r, 16);
    rl_ring_push(&r, 1, 0, msg("a"));
    rl_ring_push(&r, 5, 0, msg("b")); /* 2..4 were never pushed here */
    cr_assert_eq(rl_ring_resume(&r, 5, 2), -1);
    cr_assert_eq(rl_ring_resume(&r, 5, 4), 1);
    rl_ring_free(&r);
}

Test(ring, only_transient_messages_mean_nothing_to_replay)
{
    rl_ring_t r;

    rl_ring_init(&r, 4);
    for (int i = 0; i < 9; i++)
        rl_ring_push(&r, 0, RL_RING_OPERATOR, msg("health"));
    cr_assert_eq(rl_ring_resume(&r, 0, 0), (int64_t)r.head);
    cr_assert_eq(rl_ring_resume(&r, 7, 3), -1); /* the events 4..7 went with the notices */
    rl_ring_free(&r);
}

/* RFC 6455 5.2, read back: FIN, opcode, no mask, the payload length in 7, 7+16 or 7+64 bits. */
static size_t parse_frame(const uint8_t *f, int *fin, int *opcode, int *masked, uint64_t *len)
{
    size_t h = 2;

    *fin = f[0] >> 7;
    *opcode = f[0] & 0x0F;
    *masked = f[1] >> 7;
    *len = f[1] & 0x7F;
    if (*len == 126) {
        *len = (uint64_t)f[2] << 8 | f[3];
        h = 4;
    } else if (*len == 127) {
        *len = 0;
        for (int i = 0; i < 8; i++)
            *len = *len << 8 | f[2 + i];
        h = 10;
    }
    return h;
}

Test(ring, each_message_is_framed_once_as_one_unmasked_text_frame)
{
    /* each side of the 7-bit, 16-bit and 64-bit length forms */
    const size_t lens[] = { 0, 1, 125, 126, 127, 300, 65535, 65536, 70000 };

    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        rl_blob_t *b = rl_blob_new(lens[k]);
        int fin, opcode, masked;
        uint64_t len;
        size_t n, h;
        uint8_t *f;

        cr_assert_not_null(b);
        for (size_t i = 0; i < lens[k]; i++)
            b->data[i] = (uint8_t)('a' + i % 26);
        rl_ring_frame(b);
        f = rl_ring_frame_of(b, &n);
        h = parse_frame(f, &fin, &opcode, &masked, &len);
        cr_assert_eq(fin, 1, "length %zu", lens[k]);
        cr_assert_eq(opcode, 1, "length %zu", lens[k]);
        cr_assert_eq(masked, 0, "length %zu", lens[k]);
        cr_assert_eq(len, lens[k], "length %zu: header says %llu", lens[k],
                     (unsigned long long)len);
        cr_assert_eq(f + h, b->data, "length %zu: the header ends where the message starts",
                     lens[k]);
        cr_assert_eq(n, h + lens[k]);
        for (size_t i = 0; i < lens[k]; i++)
            cr_assert_eq(b->data[i], (uint8_t)('a' + i % 26));
        rl_blob_unref(&b);
    }
}
