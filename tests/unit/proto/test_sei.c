/* Unit tests for proto/sei.c: SEI payload encoding, and reading it back.
 *
 * The golden payload is written out by hand: the UUID bytes as docs/ARCHITECTURE.md gives them,
 * then the ASCII text. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "proto/sei.h"

static const uint8_t uuid[16] = { 0xb9, 0xcb, 0x6d, 0x6b, 0x85, 0xb4, 0x4a, 0xfd,
                                  0xa7, 0xd1, 0x78, 0x51, 0xc5, 0x13, 0x9f, 0x5a };

/* uuid followed by text, in out; returns the length. */
static size_t payload(uint8_t *out, const char *text)
{
    memcpy(out, uuid, 16);
    memcpy(out + 16, text, strlen(text));
    return 16 + strlen(text);
}

Test(sei, encodes_the_uuid_then_the_text)
{
    uint8_t buf[SEI_PAYLOAD_MAX], want[SEI_PAYLOAD_MAX];
    sei_stamp_t s = { .seq = 1795960800123u, .version = 42 };
    size_t n = payload(want, "{\"seq\":1795960800123,\"v\":42}");

    cr_assert_eq(sei_encode(buf, sizeof(buf), &s), (int)n);
    cr_expect_arr_eq(buf, want, n);
}

Test(sei, largest_numbers_fit_the_declared_maximum)
{
    uint8_t buf[SEI_PAYLOAD_MAX];
    sei_stamp_t s = { UINT64_MAX, UINT64_MAX }, back;
    int n = sei_encode(buf, sizeof(buf), &s);

    cr_assert_eq(n, (int)SEI_PAYLOAD_MAX);
    cr_assert_eq(sei_decode(buf, (size_t)n, &back), 0);
    cr_expect_eq(back.seq, UINT64_MAX);
    cr_expect_eq(back.version, UINT64_MAX);
}

Test(sei, every_shorter_buffer_is_refused_untouched)
{
    uint8_t buf[SEI_PAYLOAD_MAX];
    sei_stamp_t s = { 7, 0 };
    int n = sei_encode(buf, sizeof(buf), &s);

    for (int len = 0; len < n; len++) {
        memset(buf, 0xee, sizeof(buf));
        cr_expect_eq(sei_encode(buf, (size_t)len, &s), -ENOSPC, "len %d", len);
        cr_expect_eq(buf[0], 0xee, "len %d wrote", len);
    }
}

Test(sei, round_trip)
{
    static const uint64_t values[] = { 0, 1, 9, 10, 99, 100, 4294967296u, UINT64_MAX - 1 };
    uint8_t buf[SEI_PAYLOAD_MAX];

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        sei_stamp_t s = { values[i], values[sizeof(values) / sizeof(values[0]) - 1 - i] }, back;
        int n = sei_encode(buf, sizeof(buf), &s);
        cr_assert_gt(n, 16);
        cr_assert_eq(sei_decode(buf, (size_t)n, &back), 0);
        cr_expect_eq(back.seq, s.seq);
        cr_expect_eq(back.version, s.version);
    }
}

Test(sei, another_partys_uuid_is_not_ours)
{
    uint8_t buf[64];
    size_t n = payload(buf, "{\"seq\":1,\"v\":2}");
    sei_stamp_t s;

    buf[15] ^= 1;
    cr_expect_eq(sei_decode(buf, n, &s), -ENOENT);
    cr_expect_eq(sei_decode(buf, 15, &s), -EMSGSIZE);
    cr_expect_eq(sei_decode(buf, 0, &s), -EMSGSIZE);
}

Test(sei, every_truncation_is_refused)
{
    uint8_t buf[64];
    size_t n = payload(buf, "{\"seq\":12,\"v\":34}");
    sei_stamp_t s = { 5, 6 };

    cr_assert_eq(sei_decode(buf, n, &s), 0);
    for (size_t len = 16; len < n; len++) {
        sei_stamp_t t = { 5, 6 };
        cr_expect_eq(sei_decode(buf, len, &t), -EPROTO, "len %zu", len);
        cr_expect(t.seq == 5 && t.version == 6, "len %zu changed the output", len);
    }
}

Test(sei, only_the_exact_text_is_ours)
{
    static const char *bad[] = {
        "{\"seq\":01,\"v\":2}",                   /* leading zero */
        "{\"seq\":1,\"v\":00}",                   /* leading zero */
        "{\"seq\":-1,\"v\":2}",                   /* sign */
        "{\"seq\":+1,\"v\":2}",                   /* sign */
        "{\"seq\": 1,\"v\":2}",                   /* space */
        "{\"v\":2,\"seq\":1}",                    /* order */
        "{\"seq\":1,\"v\":2} ",                   /* trailing byte */
        "{\"seq\":18446744073709551616,\"v\":2}", /* UINT64_MAX + 1 */
        "{\"seq\":1.5,\"v\":2}",                  /* not an integer */
        "{\"seq\":,\"v\":2}",                     /* empty */
        "{\"SEQ\":1,\"v\":2}",                    /* case */
    };
    uint8_t buf[80];
    sei_stamp_t s;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = payload(buf, bad[i]);
        cr_expect_eq(sei_decode(buf, n, &s), -EPROTO, "%s", bad[i]);
    }
}

Test(sei, a_trailing_nul_is_not_ours)
{
    uint8_t buf[64];
    size_t n = payload(buf, "{\"seq\":1,\"v\":2}");
    sei_stamp_t s;

    buf[n] = '\0';
    cr_expect_eq(sei_decode(buf, n + 1, &s), -EPROTO);
}

Test(sei, zero_is_one_digit)
{
    uint8_t buf[64];
    size_t n = payload(buf, "{\"seq\":0,\"v\":0}");
    sei_stamp_t s = { 1, 1 };

    cr_assert_eq(sei_decode(buf, n, &s), 0);
    cr_expect(s.seq == 0 && s.version == 0);
}
