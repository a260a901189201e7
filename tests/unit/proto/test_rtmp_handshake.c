/* Tests for the RTMP server handshake: simple (RTMP spec 1.0 section 5.2) and digest.
 *
 * The digests are recomputed here with libavutil's HMAC from the published key bytes, so a
 * mistake shared by the server and the client helper would still be caught. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/hmac.h>

#include "proto/rtmp_handshake.h"

#define HS        RTMP_HS_SIZE
#define C0C1_LEN  (1 + HS)
#define ALL_LEN   (1 + 2 * HS)
#define TRAILER   5 /* bytes after C2: the first chunk, which the handshake must leave alone */
#define INPUT_LEN (ALL_LEN + TRAILER)

static const uint8_t key_tail[32] = { 0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8,
                                      0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
                                      0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB,
                                      0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE };

/* Deterministic random source: a xorshift stream seeded through opaque. */
static void test_random(uint8_t *buf, size_t n, void *opaque)
{
    uint32_t *x = opaque;

    for (size_t i = 0; i < n; i++) {
        *x ^= *x << 13;
        *x ^= *x >> 17;
        *x ^= *x << 5;
        buf[i] = (uint8_t)*x;
    }
}

static void hmac(uint8_t out[32], const uint8_t *key, unsigned keylen, const uint8_t *a,
                 unsigned alen, const uint8_t *b, unsigned blen)
{
    AVHMAC *h = av_hmac_alloc(AV_HMAC_SHA256);

    cr_assert_not_null(h);
    av_hmac_init(h, key, keylen);
    av_hmac_update(h, a, alen);
    av_hmac_update(h, b, blen);
    cr_assert_eq(av_hmac_final(h, out, 32), 32);
    av_hmac_free(h);
}

static void make_key(uint8_t *key, const char *text)
{
    memcpy(key, text, strlen(text));
    memcpy(key + strlen(text), key_tail, 32);
}

static unsigned offset_of(const uint8_t *p, int scheme)
{
    unsigned base = scheme ? 772 : 8;

    return (p[base] + p[base + 1] + p[base + 2] + p[base + 3]) % 728 + base + 4;
}

/* Digest of a 1536-byte packet at the scheme's offset, keyed with the first keylen key bytes. */
static void packet_digest(uint8_t out[32], const uint8_t *pkt, int scheme, const char *text)
{
    uint8_t key[68];
    unsigned off = offset_of(pkt, scheme);

    make_key(key, text);
    hmac(out, key, (unsigned)strlen(text), pkt, off, pkt + off + 32, HS - off - 32);
}

static int has_digest(const uint8_t *pkt, int scheme, const char *text)
{
    uint8_t d[32];

    packet_digest(d, pkt, scheme, text);
    return !memcmp(d, pkt + offset_of(pkt, scheme), 32);
}

#define FP_TEXT  "Genuine Adobe Flash Player 001"
#define FMS_TEXT "Genuine Adobe Flash Media Server 001"

/* S2 of the digest handshake ends with HMAC(HMAC(whole FMS key, C1 digest), S2[0..1504)). */
static int s2_signed_for(const uint8_t *s2, const uint8_t *c1_digest)
{
    uint8_t fms[68], key[32], d[32];

    make_key(fms, FMS_TEXT);
    hmac(key, fms, sizeof(fms), c1_digest, 32, NULL, 0);
    hmac(d, key, 32, s2, HS - 32, NULL, 0);
    return !memcmp(d, s2 + HS - 32, 32);
}

/* C0 + C1 + C2 + a few trailing bytes; C1 made with the client helper (digest, scheme 1). */
static void digest_input(uint8_t *in, uint32_t seed)
{
    rtmp_handshake_client_c0c1(in, test_random, &seed);
    test_random(in + C0C1_LEN, INPUT_LEN - C0C1_LEN, &seed);
}

/* Simple C1: time, four zero bytes, random. */
static void simple_input(uint8_t *in, uint32_t seed)
{
    test_random(in, INPUT_LEN, &seed);
    in[0] = 3;
    memset(in + 1 + 4, 0, 4);
}

typedef struct outcome_s {
    int rc;
    size_t consumed;
    int done, digest;
    size_t out_len;
    uint8_t out[ALL_LEN];
    const char *error;
} outcome_t;

/* Feeds in[0..INPUT_LEN) in pieces ending at cuts[] as a server would: once the handshake says
 * done, the rest belongs to the chunk reader. out_len must turn non-zero exactly when C1 ends. */
static void feed_cuts(const uint8_t *in, const size_t *cuts, size_t ncuts, uint32_t seed,
                      outcome_t *o)
{
    rtmp_handshake_t hs;
    size_t start = 0;

    memset(o, 0, sizeof(*o));
    rtmp_handshake_init(&hs, test_random, &seed);
    for (size_t i = 0; i <= ncuts && !rtmp_handshake_done(&hs); i++) {
        size_t end = i < ncuts ? cuts[i] : INPUT_LEN;
        int rc = rtmp_handshake_feed(&hs, in + start, end - start);

        if (rc < 0) {
            o->rc = rc;
            break;
        }
        o->consumed += (size_t)rc;
        if (!rtmp_handshake_done(&hs))
            cr_assert_eq((size_t)rc, end - start, "all consumed before C2 ends");
        cr_assert_eq(hs.out_len != 0, o->consumed >= C0C1_LEN, "out_len at %zu", o->consumed);
        start = end;
    }
    o->done = rtmp_handshake_done(&hs);
    o->digest = hs.digest;
    o->out_len = hs.out_len;
    o->error = hs.error;
    memcpy(o->out, hs.out, sizeof(o->out));
}

static void expect_same(const outcome_t *a, const outcome_t *b, const char *how, size_t k)
{
    cr_assert_eq(a->rc, b->rc, "%s %zu: rc", how, k);
    cr_assert_eq(a->consumed, b->consumed, "%s %zu: consumed", how, k);
    cr_assert_eq(a->done, b->done, "%s %zu: done", how, k);
    cr_assert_eq(a->digest, b->digest, "%s %zu: digest", how, k);
    cr_assert_eq(a->out_len, b->out_len, "%s %zu: out_len", how, k);
    cr_assert_eq(a->error, b->error, "%s %zu: error", how, k);
    cr_assert(!memcmp(a->out, b->out, a->out_len), "%s %zu: S0 S1 S2 differ", how, k);
}

/* Feeds whole, at every split point, and byte by byte; all must agree. Returns the whole run. */
static void check_splits(const uint8_t *in, uint32_t seed, outcome_t *ref)
{
    static size_t cuts[INPUT_LEN];
    static outcome_t o;

    feed_cuts(in, NULL, 0, seed, ref);
    for (size_t k = 0; k <= INPUT_LEN; k++) {
        feed_cuts(in, &k, 1, seed, &o);
        expect_same(ref, &o, "split at", k);
    }
    for (size_t k = 0; k + 1 < INPUT_LEN; k++)
        cuts[k] = k + 1;
    feed_cuts(in, cuts, INPUT_LEN - 1, seed, &o);
    expect_same(ref, &o, "byte by byte", 0);
}

Test(rtmp_handshake, simple_handshake_echoes_c1_in_s2)
{
    static uint8_t in[INPUT_LEN];
    static outcome_t o;
    const uint8_t *s1 = o.out + 1, *s2 = o.out + 1 + HS;

    simple_input(in, 0x1234);
    check_splits(in, 99, &o);
    cr_assert_eq(o.rc, 0);
    cr_expect_eq(o.consumed, ALL_LEN, "trailing bytes are not consumed");
    cr_expect(o.done);
    cr_expect_eq(o.digest, 0);
    cr_assert_eq(o.out_len, ALL_LEN);
    cr_expect_eq(o.out[0], 3);
    cr_expect(!memcmp(s1 + 4, (uint8_t[]){ 0, 0, 0, 0 }, 4), "S1 zero field (5.2.3)");
    cr_expect(!memcmp(s2, in + 1, HS), "S2 echoes C1 (5.2.4)");
}

Test(rtmp_handshake, digest_handshake_signs_s1_and_s2)
{
    static uint8_t in[INPUT_LEN];
    static outcome_t o;
    const uint8_t *c1 = in + 1, *s1 = o.out + 1, *s2 = o.out + 1 + HS;

    digest_input(in, 0xBEEF);
    cr_assert(has_digest(c1, 1, FP_TEXT), "client helper puts a scheme-1 digest in C1");
    check_splits(in, 7, &o);
    cr_assert_eq(o.rc, 0);
    cr_expect_eq(o.consumed, ALL_LEN);
    cr_expect(o.done);
    cr_expect_eq(o.digest, 1);
    cr_assert_eq(o.out_len, ALL_LEN);
    cr_expect_eq(o.out[0], 3);
    cr_expect(s1[4] | s1[5] | s1[6] | s1[7], "S1 carries a non-zero server version");
    cr_expect(has_digest(s1, 1, FMS_TEXT), "S1 digest at the client's scheme");
    cr_expect_eq(rtmp_handshake_verify_s1(s1), 0);
    cr_expect(s2_signed_for(s2, c1 + offset_of(c1, 1)));
    cr_expect(memcmp(s2, c1, HS), "S2 is not an echo");
}

Test(rtmp_handshake, digest_scheme_0_is_recognised_and_answered_in_kind)
{
    static uint8_t in[INPUT_LEN];
    static outcome_t o;
    uint8_t *c1 = in + 1;
    const uint8_t *s1 = o.out + 1, *s2 = o.out + 1 + HS;
    uint32_t seed = 0xC0FFEE;

    test_random(in, INPUT_LEN, &seed);
    in[0] = 3;
    memcpy(c1 + 4, (uint8_t[]){ 0x80, 0x00, 0x07, 0x02 }, 4);
    packet_digest(c1 + offset_of(c1, 0), c1, 0, FP_TEXT);
    cr_assert(!has_digest(c1, 1, FP_TEXT));
    check_splits(in, 3, &o);
    cr_assert_eq(o.rc, 0);
    cr_expect_eq(o.digest, 1);
    cr_expect(has_digest(s1, 0, FMS_TEXT), "S1 digest at scheme 0");
    cr_expect_eq(rtmp_handshake_verify_s1(s1), 0);
    cr_expect(s2_signed_for(s2, c1 + offset_of(c1, 0)));
}

Test(rtmp_handshake, bad_digest_falls_back_to_simple)
{
    static uint8_t in[INPUT_LEN];
    static outcome_t o;

    digest_input(in, 0xABCD);
    in[1 + 100] ^= 0x01; /* outside the scheme-1 digest (776..1535), so it no longer matches */
    check_splits(in, 5, &o);
    cr_assert_eq(o.rc, 0);
    cr_expect_eq(o.digest, 0);
    cr_expect(o.done);
    cr_expect(!memcmp(o.out + 1 + HS, in + 1, HS), "S2 echoes C1");
    cr_expect(!memcmp(o.out + 1 + 4, (uint8_t[]){ 0, 0, 0, 0 }, 4));
    cr_expect_eq(rtmp_handshake_verify_s1(o.out + 1), -EPROTO);
}

Test(rtmp_handshake, zero_version_bytes_mean_simple_even_with_a_valid_digest)
{
    static uint8_t in[INPUT_LEN];
    static outcome_t o;
    uint8_t *c1 = in + 1;
    uint32_t seed = 77;

    simple_input(in, seed);
    packet_digest(c1 + offset_of(c1, 1), c1, 1, FP_TEXT);
    check_splits(in, 5, &o);
    cr_assert_eq(o.rc, 0);
    cr_expect_eq(o.digest, 0);
    cr_expect(!memcmp(o.out + 1 + HS, c1, HS));
}

Test(rtmp_handshake, rtmpe_version_6_is_refused)
{
    static uint8_t in[INPUT_LEN];
    static outcome_t o;

    digest_input(in, 1);
    in[0] = 6;
    check_splits(in, 5, &o);
    cr_expect_eq(o.rc, -EPROTO);
    cr_expect_str_eq(o.error, "RTMPE (version 6) is not supported");
    cr_expect_eq(o.out_len, 0);
    cr_expect_eq(o.done, 0);
}

Test(rtmp_handshake, other_versions_are_refused)
{
    static const uint8_t bad[] = { 0, 1, 2, 4, 5, 7, 0x0F, 0x80, 0xFF };
    rtmp_handshake_t hs;
    uint32_t seed = 1;

    for (size_t i = 0; i < sizeof(bad); i++) {
        rtmp_handshake_init(&hs, test_random, &seed);
        cr_expect_eq(rtmp_handshake_feed(&hs, &bad[i], 1), -EPROTO, "version %u", bad[i]);
        cr_expect_str_eq(hs.error, "unsupported RTMP version");
        cr_expect_eq(hs.out_len, 0);
    }
}

Test(rtmp_handshake, errors_are_sticky)
{
    rtmp_handshake_t hs;
    uint8_t good[4] = { 3, 0, 0, 0 };
    uint32_t seed = 1;

    rtmp_handshake_init(&hs, test_random, &seed);
    cr_assert_eq(rtmp_handshake_feed(&hs, (uint8_t[]){ 6 }, 1), -EPROTO);
    cr_expect_eq(rtmp_handshake_feed(&hs, good, sizeof(good)), -EPROTO);
    cr_expect_eq(rtmp_handshake_done(&hs), 0);
}

Test(rtmp_handshake, c2_is_consumed_and_done_only_at_its_end)
{
    static uint8_t in[INPUT_LEN];
    rtmp_handshake_t hs;
    uint32_t seed = 1;

    digest_input(in, 42);
    rtmp_handshake_init(&hs, test_random, &seed);
    cr_assert_eq(rtmp_handshake_feed(&hs, in, C0C1_LEN), C0C1_LEN);
    cr_expect_eq(hs.out_len, ALL_LEN);
    cr_expect_eq(rtmp_handshake_done(&hs), 0);
    cr_assert_eq(rtmp_handshake_feed(&hs, in + C0C1_LEN, HS - 1), HS - 1);
    cr_expect_eq(rtmp_handshake_done(&hs), 0);
    cr_assert_eq(rtmp_handshake_feed(&hs, in + ALL_LEN - 1, 1 + TRAILER), 1);
    cr_expect_eq(rtmp_handshake_done(&hs), 1);
    cr_expect_eq(rtmp_handshake_feed(&hs, in + ALL_LEN, TRAILER), 0, "nothing after C2");
    cr_expect_eq(hs.out_len, ALL_LEN, "out_len is set once and stays");
}

Test(rtmp_handshake, empty_feed_consumes_nothing)
{
    rtmp_handshake_t hs;
    uint32_t seed = 1;

    rtmp_handshake_init(&hs, test_random, &seed);
    cr_expect_eq(rtmp_handshake_feed(&hs, NULL, 0), 0);
    cr_expect_eq(hs.out_len, 0);
    cr_expect_eq(rtmp_handshake_done(&hs), 0);
}

Test(rtmp_handshake, default_random_source_works)
{
    static uint8_t in[ALL_LEN];
    rtmp_handshake_t hs;
    uint8_t zeros[64] = { 0 };

    rtmp_handshake_client_c0c1(in, NULL, NULL);
    cr_assert(has_digest(in + 1, 1, FP_TEXT));
    rtmp_handshake_init(&hs, NULL, NULL);
    cr_assert_eq(rtmp_handshake_feed(&hs, in, ALL_LEN), ALL_LEN);
    cr_expect(rtmp_handshake_done(&hs));
    cr_expect_eq(hs.digest, 1);
    cr_expect_eq(rtmp_handshake_verify_s1(hs.out + 1), 0);
    cr_expect(memcmp(hs.out + 1 + 8, zeros, sizeof(zeros)), "S1 random part is filled");
    cr_expect(s2_signed_for(hs.out + 1 + HS, in + 1 + offset_of(in + 1, 1)));
}

Test(rtmp_handshake, client_c0c1_layout)
{
    uint8_t out[C0C1_LEN];
    uint32_t seed = 9;

    rtmp_handshake_client_c0c1(out, test_random, &seed);
    cr_expect_eq(out[0], 3);
    cr_expect(!memcmp(out + 1, (uint8_t[]){ 0, 0, 0, 0 }, 4), "time 0");
    cr_expect(out[5] | out[6] | out[7] | out[8], "non-zero version announces the digest");
    cr_expect(has_digest(out + 1, 1, FP_TEXT));
}

Test(rtmp_handshake, verify_s1_rejects_tampering_in_any_byte_outside_the_digest)
{
    static uint8_t in[INPUT_LEN];
    static outcome_t o;
    uint8_t s1[HS];
    unsigned off;

    digest_input(in, 5);
    feed_cuts(in, NULL, 0, 11, &o);
    cr_assert_eq(o.digest, 1);
    memcpy(s1, o.out + 1, HS);
    off = offset_of(s1, 1);
    cr_assert_eq(rtmp_handshake_verify_s1(s1), 0);
    for (unsigned i = 0; i < HS; i += 97) {
        if (i >= 772 && i < 776)
            continue; /* moves the digest instead */
        s1[i] ^= 0x40;
        cr_expect_eq(rtmp_handshake_verify_s1(s1), -EPROTO, "byte %u", i);
        s1[i] ^= 0x40;
    }
    s1[off + 31] ^= 1;
    cr_expect_eq(rtmp_handshake_verify_s1(s1), -EPROTO, "digest byte");
}
