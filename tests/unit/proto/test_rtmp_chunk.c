/* Tests for the RTMP chunk stream reader and writer (RTMP spec 1.0 section 5.3).
 *
 * Every input that goes through the reader is also fed split at every byte boundary, byte by byte
 * and in pseudo-random pieces (check_splits), and must decode to the same messages each time. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/rtmp_chunk.h"

#define MAX_MSGS 128

/* A growable byte vector for building inputs. */
typedef struct vec_s {
    uint8_t *p;
    size_t len, cap;
} vec_t;

static void vec_put(vec_t *v, const uint8_t *b, size_t n)
{
    if (v->len + n > v->cap) {
        v->cap = (v->len + n) * 2;
        v->p = realloc(v->p, v->cap);
        cr_assert_not_null(v->p);
    }
    if (n)
        memcpy(v->p + v->len, b, n);
    v->len += n;
}

#define PUT(v, ...)                                                                                \
    vec_put((v), (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

/* Payload bytes (seed + i) & 0xFF, so each message's content is recognisable. */
static void put_pattern(vec_t *v, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = (uint8_t)(seed + i);
        vec_put(v, &b, 1);
    }
}

static void vec_free(vec_t *v)
{
    free(v->p);
    memset(v, 0, sizeof(*v));
}

/* One decoded message, with a copy of its payload. */
typedef struct got_s {
    rtmp_msg_t m;
    uint8_t *copy;
} got_t;

/* The outcome of feeding an input to a fresh reader. */
typedef struct run_s {
    got_t msgs[MAX_MSGS];
    size_t n;
    int rc;            /* 0, or the first negative return */
    const char *error; /* r.error after the first negative return */
    uint64_t bytes_in;
    size_t buffered;
    uint32_t chunk_size;
} run_t;

static const rtmp_chunk_limits_t default_lim = {
    .max_message = 1 << 20,
    .max_streams = 16,
    .max_buffered = 1 << 20,
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Acts on a message as the session does: Set Chunk Size and Abort change the reader. */
static int apply_control(rtmp_chunk_reader_t *r, const rtmp_msg_t *m)
{
    if (m->type == RTMP_MSG_SET_CHUNK_SIZE && m->len >= 4)
        return rtmp_chunk_set_size(r, be32(m->data));
    if (m->type == RTMP_MSG_ABORT && m->len >= 4)
        rtmp_chunk_abort(r, be32(m->data));
    return 0;
}

static void record(run_t *run, const rtmp_msg_t *m)
{
    got_t *g;

    cr_assert_lt(run->n, MAX_MSGS);
    cr_assert_not_null(m->data, "data must never be NULL, even for len 0");
    g = &run->msgs[run->n++];
    g->m = *m;
    g->copy = malloc(m->len + 1);
    cr_assert_not_null(g->copy);
    memcpy(g->copy, m->data, m->len);
    g->m.data = NULL;
}

/* Feeds one piece to the reader as a caller would: again and again until it is consumed. */
static int feed_piece(rtmp_chunk_reader_t *r, run_t *run, const uint8_t *p, size_t n)
{
    rtmp_msg_t m;
    int got, rc, ctl;

    while (n > 0) {
        rc = rtmp_chunk_read(r, p, n, &m, &got);
        if (rc < 0)
            return rc;
        cr_assert_leq((size_t)rc, n);
        if (!got)
            cr_assert_eq((size_t)rc, n, "without a message, all input is consumed");
        if (got) {
            cr_assert_gt(rc, 0, "a message ends on a byte of this call");
            record(run, &m);
            if ((ctl = apply_control(r, &m)) < 0)
                return ctl;
        }
        p += rc;
        n -= (size_t)rc;
    }
    return 0;
}

/* Feeds in[0..len) cut at the given offsets (ascending) to a fresh reader. */
static void run_cuts(const uint8_t *in, size_t len, const rtmp_chunk_limits_t *lim,
                     const size_t *cuts, size_t ncuts, run_t *run)
{
    rtmp_chunk_reader_t r;
    size_t start = 0;

    memset(run, 0, sizeof(*run));
    rtmp_chunk_reader_init(&r, lim);
    for (size_t i = 0; i <= ncuts && run->rc == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : len;

        run->rc = feed_piece(&r, run, in + start, end - start);
        start = end;
    }
    run->error = run->rc ? r.error : NULL;
    run->bytes_in = r.bytes_in;
    run->buffered = r.buffered;
    run->chunk_size = r.chunk_size;
    rtmp_chunk_reader_free(&r);
}

static void run_free(run_t *run)
{
    for (size_t i = 0; i < run->n; i++)
        free(run->msgs[i].copy);
    run->n = 0;
}

static void expect_same(const run_t *a, const run_t *b, const char *how, size_t k)
{
    cr_assert_eq(a->rc, b->rc, "%s %zu: rc %d vs %d", how, k, a->rc, b->rc);
    cr_assert_eq(a->error, b->error, "%s %zu: error differs", how, k);
    cr_assert_eq(a->n, b->n, "%s %zu: %zu vs %zu messages", how, k, a->n, b->n);
    if (a->rc == 0) {
        cr_assert_eq(a->bytes_in, b->bytes_in, "%s %zu: bytes_in", how, k);
        cr_assert_eq(a->buffered, b->buffered, "%s %zu: buffered", how, k);
    }
    for (size_t i = 0; i < a->n; i++) {
        const rtmp_msg_t *x = &a->msgs[i].m, *y = &b->msgs[i].m;

        cr_assert_eq(x->csid, y->csid, "%s %zu: message %zu csid", how, k, i);
        cr_assert_eq(x->type, y->type, "%s %zu: message %zu type", how, k, i);
        cr_assert_eq(x->stream_id, y->stream_id, "%s %zu: message %zu stream id", how, k, i);
        cr_assert_eq(x->timestamp, y->timestamp, "%s %zu: message %zu timestamp", how, k, i);
        cr_assert_eq(x->len, y->len, "%s %zu: message %zu len", how, k, i);
        cr_assert(!memcmp(a->msgs[i].copy, b->msgs[i].copy, x->len), "%s %zu: message %zu data",
                  how, k, i);
    }
}

/* Decodes in[0..len) whole into *ref, then checks that every split at one byte boundary, byte
 * by byte feeding and a few pseudo-random cuttings all decode to exactly the same. */
static void check_splits_lim(const uint8_t *in, size_t len, const rtmp_chunk_limits_t *lim,
                             run_t *ref)
{
    size_t *cuts = malloc((len + 1) * sizeof(*cuts));
    run_t run;
    uint32_t seed = 12345;

    cr_assert_not_null(cuts);
    run_cuts(in, len, lim, NULL, 0, ref);
    if (ref->rc == 0)
        cr_assert_eq(ref->bytes_in, len);
    for (size_t k = 0; k <= len; k++) {
        run_cuts(in, len, lim, &k, 1, &run);
        expect_same(ref, &run, "split at", k);
        run_free(&run);
    }
    for (size_t k = 0; k < len; k++)
        cuts[k] = k + 1;
    run_cuts(in, len, lim, cuts, len ? len - 1 : 0, &run);
    expect_same(ref, &run, "byte by byte", 0);
    run_free(&run);
    for (size_t pass = 0; pass < 8; pass++) {
        size_t n = 0, at = 0;

        while (1) {
            seed = seed * 1103515245u + 12345u;
            at += 1 + (seed >> 16) % 23;
            if (at >= len)
                break;
            cuts[n++] = at;
        }
        run_cuts(in, len, lim, cuts, n, &run);
        expect_same(ref, &run, "random cuts pass", pass);
        run_free(&run);
    }
    free(cuts);
}

static void check_splits(const vec_t *v, run_t *ref)
{
    check_splits_lim(v->p, v->len, &default_lim, ref);
}

static void expect_msg(const run_t *run, size_t i, uint32_t csid, uint8_t type, uint32_t sid,
                       uint32_t ts, uint32_t len)
{
    const rtmp_msg_t *m;

    cr_assert_lt(i, run->n, "message %zu missing (have %zu)", i, run->n);
    m = &run->msgs[i].m;
    cr_expect_eq(m->csid, csid, "message %zu csid %u", i, m->csid);
    cr_expect_eq(m->type, type, "message %zu type %u", i, m->type);
    cr_expect_eq(m->stream_id, sid, "message %zu stream id %u", i, m->stream_id);
    cr_expect_eq(m->timestamp, ts, "message %zu timestamp %u", i, m->timestamp);
    cr_assert_eq(m->len, len, "message %zu len %u", i, m->len);
}

static void expect_pattern(const run_t *run, size_t i, uint8_t seed)
{
    for (uint32_t j = 0; j < run->msgs[i].m.len; j++)
        cr_assert_eq(run->msgs[i].copy[j], (uint8_t)(seed + j), "message %zu byte %u", i, j);
}

/* ---- basic header (5.3.1.1) ---- */

Test(rtmp_chunk_basic, one_byte_form_csid_2_to_63)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x03, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x04, 0x14, 0x01, 0x00, 0x00, 0x00);
    PUT(&v, 'a', 'b', 'c', 'd');
    PUT(&v, 0x3F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, 0x55);
    check_splits(&v, &run);
    cr_assert_eq(run.rc, 0);
    cr_assert_eq(run.n, 2);
    expect_msg(&run, 0, 3, RTMP_MSG_CMD_AMF0, 1, 1000, 4);
    cr_expect(!memcmp(run.msgs[0].copy, "abcd", 4));
    expect_msg(&run, 1, 63, RTMP_MSG_AUDIO, 1, 0, 1);
    cr_expect_eq(run.msgs[1].copy[0], 0x55);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_basic, two_byte_form_csid_64_to_319)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x09, 0x01, 0x00, 0x00, 0x00, 0xAA);
    PUT(&v, 0x00, 0xFF, 0x00, 0x00, 0x02, 0x00, 0x00, 0x01, 0x09, 0x01, 0x00, 0x00, 0x00, 0xBB);
    check_splits(&v, &run);
    cr_assert_eq(run.n, 2);
    expect_msg(&run, 0, 64, RTMP_MSG_VIDEO, 1, 1, 1);
    expect_msg(&run, 1, 319, RTMP_MSG_VIDEO, 1, 2, 1);
    cr_expect_eq(run.msgs[1].copy[0], 0xBB);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_basic, three_byte_form_csid_320_to_65599)
{
    vec_t v = { 0 };
    run_t run;

    /* csid - 64 = second byte + 256 * third byte */
    PUT(&v, 0x01, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x00, 0x01, 0x09, 0x01, 0x00, 0x00, 0x00,
        0x11);
    PUT(&v, 0x01, 0xFF, 0xFF, 0x00, 0x00, 0x06, 0x00, 0x00, 0x01, 0x09, 0x01, 0x00, 0x00, 0x00,
        0x22);
    PUT(&v, 0x01, 0x2C, 0x01, 0x00, 0x00, 0x07, 0x00, 0x00, 0x01, 0x09, 0x01, 0x00, 0x00, 0x00,
        0x33);
    check_splits(&v, &run);
    cr_assert_eq(run.n, 3);
    expect_msg(&run, 0, 320, RTMP_MSG_VIDEO, 1, 5, 1);
    expect_msg(&run, 1, 65599, RTMP_MSG_VIDEO, 1, 6, 1);
    expect_msg(&run, 2, 64 + 0x2C + 256, RTMP_MSG_VIDEO, 1, 7, 1);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_basic, longer_form_of_a_small_csid_names_the_same_stream)
{
    vec_t v = { 0 };
    run_t run;

    /* csid 64 opened with the 2-byte form, continued with a type-2 chunk in the 3-byte form */
    PUT(&v, 0x00, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, 0x01);
    PUT(&v, 0x81, 0x00, 0x00, 0x00, 0x00, 0x05, 0x02);
    check_splits(&v, &run);
    cr_assert_eq(run.rc, 0);
    cr_assert_eq(run.n, 2);
    expect_msg(&run, 1, 64, RTMP_MSG_AUDIO, 1, 15, 1);
    run_free(&run);
    vec_free(&v);
}

/* ---- message header formats (5.3.1.2) ---- */

Test(rtmp_chunk_fmt, type0_carries_every_field_stream_id_little_endian)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x05, 0x12, 0x34, 0x56, 0x00, 0x00, 0x03, 0x12, 0x78, 0x56, 0x34, 0x12, 1, 2, 3);
    check_splits(&v, &run);
    cr_assert_eq(run.n, 1);
    expect_msg(&run, 0, 5, RTMP_MSG_DATA_AMF0, 0x12345678, 0x123456, 3);
    cr_expect(!memcmp(run.msgs[0].copy, (uint8_t[]){ 1, 2, 3 }, 3));
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_fmt, type1_adds_delta_and_sets_length_and_type_keeps_stream_id)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x04, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x02, 0x08, 0x01, 0x00, 0x00, 0x00, 0xA0, 0xA1);
    PUT(&v, 0x44, 0x00, 0x00, 0x14, 0x00, 0x00, 0x03, 0x09, 0xB0, 0xB1, 0xB2);
    check_splits(&v, &run);
    cr_assert_eq(run.n, 2);
    expect_msg(&run, 0, 4, RTMP_MSG_AUDIO, 1, 1000, 2);
    expect_msg(&run, 1, 4, RTMP_MSG_VIDEO, 1, 1020, 3);
    cr_expect(!memcmp(run.msgs[1].copy, (uint8_t[]){ 0xB0, 0xB1, 0xB2 }, 3));
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_fmt, type2_adds_delta_keeps_length_type_stream_id)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x04, 0x00, 0x00, 0x64, 0x00, 0x00, 0x02, 0x08, 0x07, 0x00, 0x00, 0x00, 0xA0, 0xA1);
    PUT(&v, 0x84, 0x00, 0x00, 0x17, 0xC0, 0xC1);
    PUT(&v, 0x84, 0x00, 0x00, 0x18, 0xD0, 0xD1);
    check_splits(&v, &run);
    cr_assert_eq(run.n, 3);
    expect_msg(&run, 1, 4, RTMP_MSG_AUDIO, 7, 123, 2);
    expect_msg(&run, 2, 4, RTMP_MSG_AUDIO, 7, 147, 2);
    cr_expect(!memcmp(run.msgs[2].copy, (uint8_t[]){ 0xD0, 0xD1 }, 2));
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_fmt, type3_starting_a_message_reuses_the_previous_delta)
{
    vec_t v = { 0 };
    run_t run;

    /* 5.3.2.1: type 0, type 2 (delta 33), then type 3 headers for same-sized messages */
    PUT(&v, 0x04, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x02, 0x08, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01);
    PUT(&v, 0x84, 0x00, 0x00, 0x21, 0x02, 0x03);
    PUT(&v, 0xC4, 0x04, 0x05);
    PUT(&v, 0xC4, 0x06, 0x07);
    check_splits(&v, &run);
    cr_assert_eq(run.n, 4);
    expect_msg(&run, 0, 4, RTMP_MSG_AUDIO, 1, 1000, 2);
    expect_msg(&run, 1, 4, RTMP_MSG_AUDIO, 1, 1033, 2);
    expect_msg(&run, 2, 4, RTMP_MSG_AUDIO, 1, 1066, 2);
    expect_msg(&run, 3, 4, RTMP_MSG_AUDIO, 1, 1099, 2);
    cr_expect(!memcmp(run.msgs[3].copy, (uint8_t[]){ 6, 7 }, 2));
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_fmt, type3_after_type0_adds_the_type0_timestamp)
{
    vec_t v = { 0 };
    run_t run;

    /* 5.3.1.2.4: the delta of a type-3 chunk right after a type-0 one is its timestamp */
    PUT(&v, 0x05, 0x00, 0x00, 0x28, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, 0x01);
    PUT(&v, 0xC5, 0x02);
    PUT(&v, 0xC5, 0x03);
    check_splits(&v, &run);
    cr_assert_eq(run.n, 3);
    expect_msg(&run, 1, 5, RTMP_MSG_AUDIO, 1, 80, 1);
    expect_msg(&run, 2, 5, RTMP_MSG_AUDIO, 1, 120, 1);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_fmt, type1_after_type3_uses_the_new_delta)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x04, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, 0x01);
    PUT(&v, 0xC4, 0x02);                                           /* +10 -> 20 */
    PUT(&v, 0x44, 0x00, 0x00, 0x05, 0x00, 0x00, 0x02, 0x12, 3, 4); /* +5 -> 25 */
    PUT(&v, 0xC4, 0x05, 0x06);                                     /* +5 -> 30 */
    check_splits(&v, &run);
    cr_assert_eq(run.n, 4);
    expect_msg(&run, 1, 4, RTMP_MSG_AUDIO, 1, 20, 1);
    expect_msg(&run, 2, 4, RTMP_MSG_DATA_AMF0, 1, 25, 2);
    expect_msg(&run, 3, 4, RTMP_MSG_DATA_AMF0, 1, 30, 2);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_fmt, type3_continuation_chunks_at_default_size_128)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 0x2C, 0x09, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 128, 0);
    PUT(&v, 0xC6);
    put_pattern(&v, 128, 128);
    PUT(&v, 0xC6);
    put_pattern(&v, 44, 0);
    check_splits(&v, &run);
    cr_assert_eq(run.n, 1);
    expect_msg(&run, 0, 6, RTMP_MSG_VIDEO, 1, 0, 300);
    expect_pattern(&run, 0, 0);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_fmt, message_of_exactly_one_chunk_needs_no_continuation)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x09, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 128, 7);
    PUT(&v, 0x86, 0x00, 0x00, 0x01); /* next message, type 2 */
    put_pattern(&v, 128, 9);
    check_splits(&v, &run);
    cr_assert_eq(run.n, 2);
    expect_msg(&run, 0, 6, RTMP_MSG_VIDEO, 1, 0, 128);
    expect_msg(&run, 1, 6, RTMP_MSG_VIDEO, 1, 1, 128);
    expect_pattern(&run, 1, 9);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_fmt, zero_length_messages_are_delivered_with_len_0)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x03, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00);
    PUT(&v, 0xC3);                                           /* another, at +10 */
    PUT(&v, 0x43, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x12); /* type 1, len 0 */
    PUT(&v, 0x43, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x12, 0x77);
    check_splits(&v, &run);
    cr_assert_eq(run.rc, 0);
    cr_assert_eq(run.n, 4);
    expect_msg(&run, 0, 3, RTMP_MSG_CMD_AMF0, 0, 10, 0);
    expect_msg(&run, 1, 3, RTMP_MSG_CMD_AMF0, 0, 20, 0);
    expect_msg(&run, 2, 3, RTMP_MSG_DATA_AMF0, 0, 21, 0);
    expect_msg(&run, 3, 3, RTMP_MSG_DATA_AMF0, 0, 22, 1);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_fmt, new_header_mid_message_drops_the_partial_one)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC8, 0x09, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 128, 0);
    PUT(&v, 0x06, 0x00, 0x00, 0x05, 0x00, 0x00, 0x02, 0x09, 0x01, 0x00, 0x00, 0x00, 0xEE, 0xEF);
    check_splits(&v, &run);
    cr_assert_eq(run.rc, 0);
    cr_assert_eq(run.n, 1);
    expect_msg(&run, 0, 6, RTMP_MSG_VIDEO, 1, 5, 2);
    cr_expect_eq(run.buffered, 0);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_fmt, every_message_type_id_passes_through)
{
    static const uint8_t types[] = { 1, 2, 3, 4, 5, 6, 8, 9, 15, 16, 17, 18, 19, 20, 22, 0x7F };
    vec_t v = { 0 };
    run_t run;

    /* payload 0x00 0x00 0x10 0x00 is a valid chunk size (4096) and an abort of csid 4096 */
    for (size_t i = 0; i < sizeof(types); i++)
        PUT(&v, 0x03, 0x00, 0x00, (uint8_t)i, 0x00, 0x00, 0x04, types[i], 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x10, 0x00);
    check_splits(&v, &run);
    cr_assert_eq(run.rc, 0);
    cr_assert_eq(run.n, sizeof(types));
    for (size_t i = 0; i < sizeof(types); i++)
        expect_msg(&run, i, 3, types[i], 0, (uint32_t)i, 4);
    run_free(&run);
    vec_free(&v);
}

/* ---- extended timestamp (5.3.1.3) ---- */

Test(rtmp_chunk_ext, type0_extended_timestamp_repeated_on_type3_chunks)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x06, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0xC8, 0x09, 0x01, 0x00, 0x00, 0x00);
    PUT(&v, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 128, 3);
    PUT(&v, 0xC6, 0x01, 0x00, 0x00, 0x00); /* the 4 bytes come again on the type-3 chunk */
    put_pattern(&v, 72, 131);
    check_splits(&v, &run);
    cr_assert_eq(run.rc, 0);
    cr_assert_eq(run.n, 1);
    expect_msg(&run, 0, 6, RTMP_MSG_VIDEO, 1, 0x01000000, 200);
    expect_pattern(&run, 0, 3);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_ext, value_0xFFFFFF_itself_is_extended_and_0xFFFFFE_is_not)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x04, 0xFF, 0xFF, 0xFE, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, 0x01);
    PUT(&v, 0x05, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00);
    PUT(&v, 0x00, 0xFF, 0xFF, 0xFF, 0x02);
    check_splits(&v, &run);
    cr_assert_eq(run.n, 2);
    expect_msg(&run, 0, 4, RTMP_MSG_AUDIO, 1, 0xFFFFFE, 1);
    expect_msg(&run, 1, 5, RTMP_MSG_AUDIO, 1, 0xFFFFFF, 1);
    cr_expect_eq(run.msgs[1].copy[0], 0x02);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_ext, type1_extended_delta)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x04, 0x00, 0x00, 0x10, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, 0x01);
    PUT(&v, 0x44, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x82, 0x09, 0x01, 0x00, 0x00, 0x05);
    put_pattern(&v, 128, 0);
    PUT(&v, 0xC4, 0x01, 0x00, 0x00, 0x05, 0x80, 0x81);
    check_splits(&v, &run);
    cr_assert_eq(run.rc, 0);
    cr_assert_eq(run.n, 2);
    expect_msg(&run, 1, 4, RTMP_MSG_VIDEO, 1, 0x10 + 0x01000005, 130);
    expect_pattern(&run, 1, 0);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_ext, type2_extended_delta)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x04, 0x00, 0x00, 0x10, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, 0x01);
    PUT(&v, 0x84, 0xFF, 0xFF, 0xFF, 0x02, 0x00, 0x00, 0x00, 0x02);
    check_splits(&v, &run);
    cr_assert_eq(run.n, 2);
    expect_msg(&run, 1, 4, RTMP_MSG_AUDIO, 1, 0x02000010, 1);
    cr_expect_eq(run.msgs[1].copy[0], 0x02);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_ext, type3_new_message_after_extended_header_reads_4_bytes)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, 0x01);
    PUT(&v, 0x84, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x00, 0x00, 0x02); /* +2^24 */
    PUT(&v, 0xC4, 0x01, 0x00, 0x00, 0x00, 0x03);                   /* +2^24 again */
    PUT(&v, 0x84, 0x00, 0x00, 0x01, 0x04);                         /* back to 3 bytes */
    PUT(&v, 0xC4, 0x05);                                           /* no 4 bytes now */
    check_splits(&v, &run);
    cr_assert_eq(run.rc, 0);
    cr_assert_eq(run.n, 5);
    expect_msg(&run, 1, 4, RTMP_MSG_AUDIO, 1, 0x01000000, 1);
    expect_msg(&run, 2, 4, RTMP_MSG_AUDIO, 1, 0x02000000, 1);
    cr_expect_eq(run.msgs[2].copy[0], 0x03);
    expect_msg(&run, 3, 4, RTMP_MSG_AUDIO, 1, 0x02000001, 1);
    expect_msg(&run, 4, 4, RTMP_MSG_AUDIO, 1, 0x02000002, 1);
    cr_expect_eq(run.msgs[4].copy[0], 0x05);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_ext, timestamps_wrap_at_2_to_the_32)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x04, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00);
    PUT(&v, 0xFF, 0xFF, 0xFF, 0xF0, 0x01);
    PUT(&v, 0x84, 0x00, 0x00, 0x20, 0x02); /* 0xFFFFFFF0 + 0x20 */
    PUT(&v, 0xC4, 0x03);                   /* + 0x20 again */
    check_splits(&v, &run);
    cr_assert_eq(run.n, 3);
    expect_msg(&run, 0, 4, RTMP_MSG_AUDIO, 1, 0xFFFFFFF0u, 1);
    expect_msg(&run, 1, 4, RTMP_MSG_AUDIO, 1, 0x10, 1);
    expect_msg(&run, 2, 4, RTMP_MSG_AUDIO, 1, 0x30, 1);
    run_free(&run);
    vec_free(&v);
}

/* ---- interleaving (5.3.2.2) ---- */

Test(rtmp_chunk_interleave, audio_csid4_and_video_csid6_interleaved_mid_message)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 0x2C, 0x09, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 128, 0); /* video 1/3 */
    PUT(&v, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x82, 0x08, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 128, 50); /* audio 1/2 */
    PUT(&v, 0xC6);
    put_pattern(&v, 128, 128); /* video 2/3 */
    PUT(&v, 0xC4, 0xB2, 0xB3); /* audio 2/2: 50 + 128 = 0xB2 */
    PUT(&v, 0x84, 0x00, 0x00, 0x17);
    put_pattern(&v, 128, 9); /* second audio 1/2 */
    PUT(&v, 0xC6);
    put_pattern(&v, 44, 0); /* video 3/3 */
    PUT(&v, 0xC4, 0x89, 0x8A);
    check_splits(&v, &run);
    cr_assert_eq(run.rc, 0);
    cr_assert_eq(run.n, 3);
    expect_msg(&run, 0, 4, RTMP_MSG_AUDIO, 1, 0, 130);
    expect_pattern(&run, 0, 50);
    expect_msg(&run, 1, 6, RTMP_MSG_VIDEO, 1, 0, 300);
    expect_pattern(&run, 1, 0);
    expect_msg(&run, 2, 4, RTMP_MSG_AUDIO, 1, 23, 130);
    expect_pattern(&run, 2, 9);
    cr_expect_eq(run.buffered, 0);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_interleave, buffered_counts_partial_payloads_and_drops_on_delivery)
{
    rtmp_chunk_reader_t r;
    rtmp_msg_t m;
    vec_t v = { 0 };
    int got, rc;

    PUT(&v, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x82, 0x09, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 100, 0);
    rtmp_chunk_reader_init(&r, &default_lim);
    rc = rtmp_chunk_read(&r, v.p, v.len, &m, &got);
    cr_assert_eq(rc, (int)v.len);
    cr_assert_eq(got, 0);
    cr_expect_eq(r.buffered, 100, "only received bytes count, not the declared 130");
    v.len = 0;
    put_pattern(&v, 28, 100);
    PUT(&v, 0xC6, 0x80, 0x81);
    rc = rtmp_chunk_read(&r, v.p, v.len, &m, &got);
    cr_assert_eq(rc, (int)v.len);
    cr_assert_eq(got, 1);
    cr_expect_eq(m.len, 130);
    cr_expect_eq(r.buffered, 0);
    cr_expect_eq(r.bytes_in, 12 + 100 + 28 + 3);
    rtmp_chunk_reader_free(&r);
    vec_free(&v);
}

Test(rtmp_chunk_interleave, read_stops_at_the_end_of_each_message)
{
    rtmp_chunk_reader_t r;
    rtmp_msg_t m;
    vec_t v = { 0 };
    int got, rc;

    PUT(&v, 0x03, 0x00, 0x00, 0x01, 0x00, 0x00, 0x02, 0x14, 0x00, 0x00, 0x00, 0x00, 0x0A, 0x0B);
    PUT(&v, 0x43, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x14, 0x0C);
    PUT(&v, 0x03); /* start of a third chunk */
    rtmp_chunk_reader_init(&r, &default_lim);
    rc = rtmp_chunk_read(&r, v.p, v.len, &m, &got);
    cr_assert_eq(rc, 14);
    cr_assert_eq(got, 1);
    cr_expect_eq(m.len, 2);
    cr_expect_eq(m.data[1], 0x0B);
    rc = rtmp_chunk_read(&r, v.p + 14, v.len - 14, &m, &got);
    cr_assert_eq(rc, 9);
    cr_assert_eq(got, 1);
    cr_expect_eq(m.timestamp, 2);
    cr_expect_eq(m.data[0], 0x0C);
    rc = rtmp_chunk_read(&r, v.p + 23, 1, &m, &got);
    cr_assert_eq(rc, 1);
    cr_assert_eq(got, 0);
    cr_expect_eq(r.bytes_in, 24);
    rtmp_chunk_reader_free(&r);
    vec_free(&v);
}

Test(rtmp_chunk_interleave, buffer_reused_for_a_shorter_message)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, 0x09, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 100, 1);
    PUT(&v, 0x46, 0x00, 0x00, 0x01, 0x00, 0x00, 0x03, 0x09, 0xF1, 0xF2, 0xF3);
    PUT(&v, 0x46, 0x00, 0x00, 0x01, 0x00, 0x00, 0x70, 0x09);
    put_pattern(&v, 112, 200);
    check_splits(&v, &run);
    cr_assert_eq(run.n, 3);
    expect_pattern(&run, 0, 1);
    cr_expect(!memcmp(run.msgs[1].copy, (uint8_t[]){ 0xF1, 0xF2, 0xF3 }, 3));
    expect_msg(&run, 2, 6, RTMP_MSG_VIDEO, 1, 2, 112);
    expect_pattern(&run, 2, 200);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_interleave, large_message_then_small_ones_on_the_same_stream)
{
    vec_t v = { 0 };
    run_t run;

    /* 70000 bytes at chunk size 65536: the buffer outgrows what is kept for reuse */
    PUT(&v, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00);
    PUT(&v, 0x00, 0x01, 0x00, 0x00);
    PUT(&v, 0x06, 0x00, 0x00, 0x00, 0x01, 0x11, 0x70, 0x09, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 65536, 0);
    PUT(&v, 0xC6);
    put_pattern(&v, 70000 - 65536, 0);
    PUT(&v, 0x46, 0x00, 0x00, 0x01, 0x00, 0x00, 0x02, 0x09, 0x01, 0x02);
    {
        /* every split of 70 KB is slow under sanitizers: whole, byte by byte and a few cuts */
        size_t cuts[] = { 1, 17, 30, 100, 65000, 65545, 65546, 70027, 70030 };
        run_t run2;
        size_t *all = malloc(v.len * sizeof(*all));

        run_cuts(v.p, v.len, &default_lim, NULL, 0, &run);
        cr_assert_eq(run.rc, 0);
        cr_assert_eq(run.n, 3);
        expect_msg(&run, 1, 6, RTMP_MSG_VIDEO, 1, 0, 70000);
        expect_pattern(&run, 1, 0);
        expect_msg(&run, 2, 6, RTMP_MSG_VIDEO, 1, 1, 2);
        run_cuts(v.p, v.len, &default_lim, cuts, sizeof(cuts) / sizeof(cuts[0]), &run2);
        expect_same(&run, &run2, "cuts", 0);
        run_free(&run2);
        for (size_t k = 0; k + 1 < v.len; k++)
            all[k] = k + 1;
        run_cuts(v.p, v.len, &default_lim, all, v.len - 1, &run2);
        expect_same(&run, &run2, "byte by byte", 0);
        run_free(&run2);
        free(all);
    }
    run_free(&run);
    vec_free(&v);
}

/* ---- Set Chunk Size (5.4.1) and Abort (5.4.2) ---- */

Test(rtmp_chunk_control, set_chunk_size_applies_to_following_chunks)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00);
    PUT(&v, 0x00, 0x00, 0x10, 0x00); /* 4096 */
    PUT(&v, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 0x2C, 0x09, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 300, 5); /* one chunk now */
    check_splits(&v, &run);
    cr_assert_eq(run.rc, 0);
    cr_assert_eq(run.n, 2);
    expect_msg(&run, 0, 2, RTMP_MSG_SET_CHUNK_SIZE, 0, 0, 4);
    expect_msg(&run, 1, 6, RTMP_MSG_VIDEO, 1, 0, 300);
    expect_pattern(&run, 1, 5);
    cr_expect_eq(run.chunk_size, 4096);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_control, chunk_size_1_splits_every_byte)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00);
    PUT(&v, 0x00, 0x00, 0x00, 0x01);
    PUT(&v, 0x03, 0x00, 0x00, 0x09, 0x00, 0x00, 0x03, 0x14, 0x00, 0x00, 0x00, 0x00, 'x');
    PUT(&v, 0xC3, 'y', 0xC3, 'z');
    PUT(&v, 0xC3, 'w'); /* type 3 starting a message: +9 */
    check_splits(&v, &run);
    cr_assert_eq(run.rc, 0);
    cr_assert_eq(run.n, 2);
    expect_msg(&run, 1, 3, RTMP_MSG_CMD_AMF0, 0, 9, 3);
    cr_expect(!memcmp(run.msgs[1].copy, "xyz", 3));
    cr_expect_eq(run.buffered, 1, "the 'w' of a fourth message is buffered");
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_control, set_size_rejects_zero_top_bit_and_too_large)
{
    static const uint32_t bad[] = { 0, 0x80000000u, 0xFFFFFFFFu, RTMP_MAX_CHUNK_SIZE + 1,
                                    0x7FFFFFFF };
    rtmp_chunk_reader_t r;

    rtmp_chunk_reader_init(&r, &default_lim);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r.error = NULL;
        cr_expect_eq(rtmp_chunk_set_size(&r, bad[i]), -ERANGE, "size %u", bad[i]);
        cr_expect_str_eq(r.error, "chunk size out of range");
        cr_expect_eq(r.chunk_size, RTMP_DEFAULT_CHUNK_SIZE);
    }
    rtmp_chunk_reader_free(&r);
}

Test(rtmp_chunk_control, set_size_accepts_1_and_the_maximum)
{
    rtmp_chunk_reader_t r;

    rtmp_chunk_reader_init(&r, &default_lim);
    cr_expect_eq(rtmp_chunk_set_size(&r, 1), 0);
    cr_expect_eq(r.chunk_size, 1);
    cr_expect_eq(rtmp_chunk_set_size(&r, RTMP_MAX_CHUNK_SIZE), 0);
    cr_expect_eq(r.chunk_size, RTMP_MAX_CHUNK_SIZE);
    rtmp_chunk_reader_free(&r);
}

Test(rtmp_chunk_control, huge_chunk_size_in_stream_is_an_error)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00);
    PUT(&v, 0x7F, 0xFF, 0xFF, 0xFF);
    PUT(&v, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x09, 0x01, 0x00, 0x00, 0x00, 0x00);
    check_splits(&v, &run);
    cr_assert_eq(run.rc, -ERANGE);
    cr_expect_str_eq(run.error, "chunk size out of range");
    cr_expect_eq(run.n, 1);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_control, abort_drops_the_partial_message)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC8, 0x09, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 128, 0); /* 128 of 200 */
    PUT(&v, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00);
    PUT(&v, 0x00, 0x00, 0x00, 0x06); /* Abort csid 6 */
    PUT(&v, 0xC6, 0xAA, 0xBB);       /* type 3 now starts a new 200-byte message */
    check_splits(&v, &run);
    cr_assert_eq(run.rc, 0);
    cr_assert_eq(run.n, 1);
    expect_msg(&run, 0, 2, RTMP_MSG_ABORT, 0, 0, 4);
    cr_expect_eq(run.buffered, 2);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_control, abort_then_new_type0_message)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC8, 0x09, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 128, 0);
    PUT(&v, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00);
    PUT(&v, 0x00, 0x00, 0x00, 0x06);
    PUT(&v, 0x06, 0x00, 0x00, 0x28, 0x00, 0x00, 0x03, 0x09, 0x01, 0x00, 0x00, 0x00, 7, 8, 9);
    check_splits(&v, &run);
    cr_assert_eq(run.rc, 0);
    cr_assert_eq(run.n, 2);
    expect_msg(&run, 1, 6, RTMP_MSG_VIDEO, 1, 40, 3);
    cr_expect(!memcmp(run.msgs[1].copy, (uint8_t[]){ 7, 8, 9 }, 3));
    cr_expect_eq(run.buffered, 0);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_control, abort_of_unknown_or_idle_stream_is_harmless)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00);
    PUT(&v, 0x00, 0x00, 0x01, 0x00);                         /* csid 256, never seen */
    PUT(&v, 0x82, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02); /* csid 2 itself, idle */
    PUT(&v, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x14, 0x00, 0x00, 0x00, 0x00, 0x42);
    check_splits(&v, &run);
    cr_assert_eq(run.rc, 0);
    cr_assert_eq(run.n, 3);
    expect_msg(&run, 2, 3, RTMP_MSG_CMD_AMF0, 0, 0, 1);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_control, abort_in_mid_chunk_skips_the_rest_of_the_chunk)
{
    rtmp_chunk_reader_t r;
    rtmp_msg_t m;
    vec_t v = { 0 };
    int got;

    PUT(&v, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC8, 0x09, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 50, 0);
    rtmp_chunk_reader_init(&r, &default_lim);
    cr_assert_eq(rtmp_chunk_read(&r, v.p, v.len, &m, &got), (int)v.len);
    rtmp_chunk_abort(&r, 6);
    cr_expect_eq(r.buffered, 0);
    v.len = 0;
    put_pattern(&v, 78, 50); /* rest of the first chunk: skipped */
    PUT(&v, 0x46, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x09, 0x5A);
    cr_assert_eq(rtmp_chunk_read(&r, v.p, v.len, &m, &got), (int)v.len);
    cr_assert_eq(got, 1);
    cr_expect_eq(m.len, 1);
    cr_expect_eq(m.data[0], 0x5A);
    cr_expect_eq(r.buffered, 0);
    rtmp_chunk_reader_free(&r);
    vec_free(&v);
}

/* ---- limits and malformed input ---- */

Test(rtmp_chunk_limits, type1_on_unknown_stream_is_eproto)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x44, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x08, 0x00);
    check_splits(&v, &run);
    cr_assert_eq(run.rc, -EPROTO);
    cr_expect_str_eq(run.error, "fmt 1 on unknown chunk stream");
    cr_expect_eq(run.n, 0);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_limits, type2_on_unknown_stream_is_eproto)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0x03, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00);
    PUT(&v, 0x84, 0x00, 0x00, 0x01, 0x00);
    check_splits(&v, &run);
    cr_assert_eq(run.rc, -EPROTO);
    cr_expect_str_eq(run.error, "fmt 2 on unknown chunk stream");
    cr_expect_eq(run.n, 1);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_limits, type3_on_unknown_stream_is_eproto)
{
    vec_t v = { 0 };
    run_t run;

    PUT(&v, 0xC1, 0x00, 0x01, 0x00); /* 3-byte form, csid 320 */
    check_splits(&v, &run);
    cr_assert_eq(run.rc, -EPROTO);
    cr_expect_str_eq(run.error, "fmt 3 on unknown chunk stream");
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_limits, message_over_max_message_is_emsgsize)
{
    rtmp_chunk_limits_t lim = default_lim;
    vec_t v = { 0 };
    run_t run;

    lim.max_message = 100;
    PUT(&v, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, 0x08, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 100, 0); /* exactly the limit: fine */
    PUT(&v, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x65, 0x08, 0x01, 0x00, 0x00, 0x00);
    check_splits_lim(v.p, v.len, &lim, &run);
    cr_assert_eq(run.rc, -EMSGSIZE);
    cr_expect_str_eq(run.error, "message too large");
    cr_expect_eq(run.n, 1);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_limits, type1_length_over_max_message_is_emsgsize)
{
    rtmp_chunk_limits_t lim = default_lim;
    vec_t v = { 0 };
    run_t run;

    lim.max_message = 100;
    PUT(&v, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, 0x00);
    PUT(&v, 0x44, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x08);
    check_splits_lim(v.p, v.len, &lim, &run);
    cr_assert_eq(run.rc, -EMSGSIZE);
    cr_expect_str_eq(run.error, "message too large");
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_limits, partial_payloads_over_max_buffered_is_emsgsize)
{
    rtmp_chunk_limits_t lim = default_lim;
    vec_t v = { 0 };
    run_t run;

    lim.max_buffered = 228;
    PUT(&v, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x96, 0x08, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 128, 0); /* 128 buffered */
    PUT(&v, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x96, 0x09, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 100, 0); /* 228: still fine */
    check_splits_lim(v.p, v.len, &lim, &run);
    cr_assert_eq(run.rc, 0);
    cr_expect_eq(run.buffered, 228);
    run_free(&run);
    PUT(&v, 0x00); /* one more byte of csid 6's chunk */
    check_splits_lim(v.p, v.len, &lim, &run);
    cr_assert_eq(run.rc, -EMSGSIZE);
    cr_expect_str_eq(run.error, "too many bytes buffered");
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_limits, single_message_over_max_buffered_is_emsgsize)
{
    rtmp_chunk_limits_t lim = default_lim;
    vec_t v = { 0 };
    run_t run;

    lim.max_buffered = 64;
    PUT(&v, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x41, 0x08, 0x01, 0x00, 0x00, 0x00);
    put_pattern(&v, 65, 0);
    check_splits_lim(v.p, v.len, &lim, &run);
    cr_assert_eq(run.rc, -EMSGSIZE);
    cr_expect_str_eq(run.error, "too many bytes buffered");
    cr_expect_eq(run.n, 0);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_limits, too_many_chunk_streams_is_emfile)
{
    rtmp_chunk_limits_t lim = default_lim;
    vec_t v = { 0 };
    run_t run;

    lim.max_streams = 2;
    PUT(&v, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x14, 0x00, 0x00, 0x00, 0x00, 0x01);
    PUT(&v, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, 0x02);
    PUT(&v, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x14, 0x00, 0x00, 0x00, 0x00, 0x03);
    PUT(&v, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, 0x04);
    check_splits_lim(v.p, v.len, &lim, &run);
    cr_assert_eq(run.rc, -EMFILE);
    cr_expect_str_eq(run.error, "too many chunk streams");
    cr_expect_eq(run.n, 3, "known streams may be reused");
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_limits, many_streams_up_to_the_limit)
{
    rtmp_chunk_limits_t lim = default_lim;
    vec_t v = { 0 };
    run_t run;

    lim.max_streams = 40;
    for (uint8_t c = 2; c < 42; c++)
        PUT(&v, c, 0x00, 0x00, c, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, c);
    for (uint8_t c = 2; c < 42; c++)
        PUT(&v, 0xC0 | c, c);
    check_splits_lim(v.p, v.len, &lim, &run);
    cr_assert_eq(run.rc, 0);
    cr_assert_eq(run.n, 80);
    for (uint8_t c = 2; c < 42; c++)
        expect_msg(&run, 40 + c - 2, c, RTMP_MSG_AUDIO, 1, 2u * c, 1);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_limits, errors_are_sticky)
{
    rtmp_chunk_reader_t r;
    rtmp_msg_t m;
    static const uint8_t bad[] = { 0x44 };
    static const uint8_t good[] = { 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x14, 0x00, 0x00, 0x00, 0x00 };
    int got;

    rtmp_chunk_reader_init(&r, &default_lim);
    cr_assert_eq(rtmp_chunk_read(&r, bad, sizeof(bad), &m, &got), -EPROTO);
    cr_assert_eq(rtmp_chunk_read(&r, good, sizeof(good), &m, &got), -EPROTO);
    cr_expect_eq(got, 0);
    cr_expect_str_eq(r.error, "fmt 1 on unknown chunk stream");
    rtmp_chunk_reader_free(&r);
}

Test(rtmp_chunk_limits, empty_input_consumes_nothing)
{
    rtmp_chunk_reader_t r;
    rtmp_msg_t m;
    int got = 7;

    rtmp_chunk_reader_init(&r, &default_lim);
    cr_expect_eq(rtmp_chunk_read(&r, NULL, 0, &m, &got), 0);
    cr_expect_eq(got, 0);
    cr_expect_eq(r.bytes_in, 0);
    rtmp_chunk_reader_free(&r);
}

Test(rtmp_chunk_limits, reader_can_be_freed_twice_and_reused_after_init)
{
    rtmp_chunk_reader_t r;
    rtmp_msg_t m;
    static const uint8_t in[] = { 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
                                  0x14, 0x00, 0x00, 0x00, 0x00, 0x99 };
    int got;

    rtmp_chunk_reader_init(&r, &default_lim);
    cr_assert_eq(rtmp_chunk_read(&r, in, 5, &m, &got), 5);
    rtmp_chunk_reader_free(&r);
    rtmp_chunk_reader_free(&r);
    rtmp_chunk_reader_init(&r, &default_lim);
    cr_assert_eq(rtmp_chunk_read(&r, in, sizeof(in), &m, &got), (int)sizeof(in));
    cr_assert_eq(got, 1);
    cr_expect_eq(m.data[0], 0x99);
    rtmp_chunk_reader_free(&r);
}

/* ---- writer ---- */

/* Writes msg and compares with want, which the test frees. */
static void expect_write(const rtmp_msg_t *msg, uint32_t cs, vec_t *want)
{
    uint8_t out[256];

    cr_assert_eq(rtmp_chunk_write_bound(msg, cs), want->len);
    cr_assert_eq(rtmp_chunk_write(out, sizeof(out), cs, msg), (int)want->len);
    for (size_t i = 0; i < want->len; i++)
        cr_assert_eq(out[i], want->p[i], "byte %zu: 0x%02x, want 0x%02x", i, out[i], want->p[i]);
    vec_free(want);
}

Test(rtmp_chunk_write, single_chunk_type0)
{
    rtmp_msg_t m = { .csid = 3, .type = 20, .stream_id = 1, .timestamp = 1000, .len = 4 };
    vec_t want = { 0 };

    m.data = (uint8_t *)"abcd";
    PUT(&want, 0x03, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x04, 0x14, 0x01, 0x00, 0x00, 0x00);
    PUT(&want, 'a', 'b', 'c', 'd');
    expect_write(&m, 128, &want);
}

Test(rtmp_chunk_write, continuation_chunks_are_type3)
{
    rtmp_msg_t m = { .csid = 4, .type = 8, .stream_id = 0x01020304, .timestamp = 0x0A0B0C };
    vec_t want = { 0 };

    m.len = 5;
    m.data = (uint8_t *)"12345";
    PUT(&want, 0x04, 0x0A, 0x0B, 0x0C, 0x00, 0x00, 0x05, 0x08, 0x04, 0x03, 0x02, 0x01, '1', '2');
    PUT(&want, 0xC4, '3', '4');
    PUT(&want, 0xC4, '5');
    expect_write(&m, 2, &want);
}

Test(rtmp_chunk_write, two_and_three_byte_basic_headers)
{
    rtmp_msg_t m = { .type = 9, .len = 2, .data = (uint8_t *)"xy" };
    vec_t want = { 0 };

    m.csid = 64;
    PUT(&want, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x09, 0x00, 0x00, 0x00, 0x00, 'x');
    PUT(&want, 0xC0, 0x00, 'y');
    expect_write(&m, 1, &want);
    m.csid = 319;
    PUT(&want, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x09, 0x00, 0x00, 0x00, 0x00, 'x');
    PUT(&want, 0xC0, 0xFF, 'y');
    expect_write(&m, 1, &want);
    m.csid = 320;
    PUT(&want, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x09, 0x00, 0x00, 0x00, 0x00);
    PUT(&want, 'x', 0xC1, 0x00, 0x01, 'y');
    expect_write(&m, 1, &want);
    m.csid = 65599;
    PUT(&want, 0x01, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x09, 0x00, 0x00, 0x00, 0x00);
    PUT(&want, 'x', 0xC1, 0xFF, 0xFF, 'y');
    expect_write(&m, 1, &want);
}

Test(rtmp_chunk_write, extended_timestamp_repeated_on_type3_chunks)
{
    rtmp_msg_t m = { .csid = 3, .type = 9, .stream_id = 1, .timestamp = 0x01000000, .len = 3 };
    vec_t want = { 0 };

    m.data = (uint8_t *)"abc";
    PUT(&want, 0x03, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x03, 0x09, 0x01, 0x00, 0x00, 0x00);
    PUT(&want, 0x01, 0x00, 0x00, 0x00, 'a', 'b');
    PUT(&want, 0xC3, 0x01, 0x00, 0x00, 0x00, 'c');
    expect_write(&m, 2, &want);
}

Test(rtmp_chunk_write, extended_from_0xFFFFFF_not_below)
{
    rtmp_msg_t m = { .csid = 3, .type = 8, .timestamp = 0xFFFFFE, .len = 1 };
    vec_t want = { 0 };

    m.data = (uint8_t *)"a";
    PUT(&want, 0x03, 0xFF, 0xFF, 0xFE, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 'a');
    expect_write(&m, 128, &want);
    m.timestamp = 0xFFFFFF;
    PUT(&want, 0x03, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00);
    PUT(&want, 0x00, 0xFF, 0xFF, 0xFF, 'a');
    expect_write(&m, 128, &want);
}

Test(rtmp_chunk_write, zero_length_message_is_one_header)
{
    rtmp_msg_t m = { .csid = 3, .type = 20, .len = 0, .data = NULL };
    vec_t want = { 0 };

    PUT(&want, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00);
    expect_write(&m, 128, &want);
}

Test(rtmp_chunk_write, enospc_writes_nothing)
{
    uint8_t payload[300], out[400];
    rtmp_msg_t m = { .csid = 6, .type = 9, .timestamp = 0x12345678, .len = 300, .data = payload };
    size_t need = rtmp_chunk_write_bound(&m, 128);

    memset(payload, 0x11, sizeof(payload));
    memset(out, 0xA5, sizeof(out));
    cr_assert_eq(need, 12 + 4 + 300 + 2 * (1 + 4));
    cr_assert_eq(rtmp_chunk_write(out, need - 1, 128, &m), -ENOSPC);
    for (size_t i = 0; i < sizeof(out); i++)
        cr_assert_eq(out[i], 0xA5, "byte %zu written", i);
    cr_assert_eq(rtmp_chunk_write(out, 0, 128, &m), -ENOSPC);
    cr_assert_eq(rtmp_chunk_write(out, need, 128, &m), (int)need);
}

Test(rtmp_chunk_write, invalid_arguments_are_einval)
{
    uint8_t out[64];
    rtmp_msg_t m = { .csid = 1, .type = 9, .len = 1, .data = (uint8_t *)"a" };

    cr_expect_eq(rtmp_chunk_write(out, sizeof(out), 128, &m), -EINVAL);
    m.csid = 65600;
    cr_expect_eq(rtmp_chunk_write(out, sizeof(out), 128, &m), -EINVAL);
    m.csid = 3;
    cr_expect_eq(rtmp_chunk_write(out, sizeof(out), 0, &m), -EINVAL);
    m.len = 0x1000000;
    cr_expect_eq(rtmp_chunk_write(out, sizeof(out), 128, &m), -EINVAL);
}

Test(rtmp_chunk_write, bound_is_exact)
{
    static const uint32_t lens[] = { 0, 1, 127, 128, 129, 256, 1000 };
    static const uint32_t sizes[] = { 1, 2, 127, 128, 4096, RTMP_MAX_CHUNK_SIZE };
    static const uint32_t csids[] = { 2, 63, 64, 319, 320, 65599 };
    static const uint32_t stamps[] = { 0, 0xFFFFFE, 0xFFFFFF, 0xFFFFFFFF };
    uint8_t payload[1000], *out = malloc(16000);

    memset(payload, 0x3C, sizeof(payload));
    for (size_t a = 0; a < 7; a++)
        for (size_t b = 0; b < 6; b++)
            for (size_t c = 0; c < 6; c++)
                for (size_t d = 0; d < 4; d++) {
                    rtmp_msg_t m = { .csid = csids[c],
                                     .type = 9,
                                     .timestamp = stamps[d],
                                     .len = lens[a],
                                     .data = payload };
                    size_t need = rtmp_chunk_write_bound(&m, sizes[b]);

                    cr_assert_leq(need, 16000);
                    cr_assert_eq(rtmp_chunk_write(out, need, sizes[b], &m), (int)need);
                    cr_assert_eq(rtmp_chunk_write(out, need - 1, sizes[b], &m), -ENOSPC);
                }
    free(out);
}

/* ---- round trip: writer output read back ---- */

static void round_trip(uint32_t cs)
{
    static const struct {
        uint32_t csid, len, ts;
        uint8_t type;
    } msgs[] = {
        { 3, 0, 0, 20 },
        { 3, 1, 1, 20 },
        { 4, 127, 2, 8 },
        { 6, 128, 3, 9 },
        { 6, 129, 4, 9 },
        { 4, 5, 0xFFFFFF, 8 },
        { 6, 700, 0x7FFFFFFF, 9 },
        { 64, 300, 0xFFFFFFFF, 18 },
        { 320, 2, 5, 18 },
        { 65599, 260, 6, 9 },
        { 2, 6, 7, 4 },
        { 6, 1, 0xFFFFFE, 9 },
    };
    size_t nmsgs = sizeof(msgs) / sizeof(msgs[0]);
    uint8_t payload[700], csz[4];
    vec_t v = { 0 };
    run_t run;

    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7 + 1);
    if (cs != RTMP_DEFAULT_CHUNK_SIZE) {
        rtmp_msg_t set = { .csid = 2, .type = RTMP_MSG_SET_CHUNK_SIZE, .len = 4, .data = csz };
        uint8_t out[32];

        cr_assert_eq(rtmp_ctl_u32(csz, cs), 4);
        vec_put(&v, out, (size_t)rtmp_chunk_write(out, sizeof(out), 128, &set));
    }
    for (size_t i = 0; i < nmsgs; i++) {
        rtmp_msg_t m = { .csid = msgs[i].csid,
                         .type = msgs[i].type,
                         .stream_id = (uint32_t)i,
                         .timestamp = msgs[i].ts,
                         .len = msgs[i].len,
                         .data = payload };
        size_t need = rtmp_chunk_write_bound(&m, cs);
        uint8_t *out = malloc(need);

        cr_assert_eq(rtmp_chunk_write(out, need, cs, &m), (int)need);
        vec_put(&v, out, need);
        free(out);
    }
    check_splits(&v, &run);
    cr_assert_eq(run.rc, 0, "rc %d (%s)", run.rc, run.error);
    cr_assert_eq(run.n, nmsgs + (cs != RTMP_DEFAULT_CHUNK_SIZE));
    for (size_t i = 0, j = run.n - nmsgs; i < nmsgs; i++, j++) {
        expect_msg(&run, j, msgs[i].csid, msgs[i].type, (uint32_t)i, msgs[i].ts, msgs[i].len);
        cr_assert(!memcmp(run.msgs[j].copy, payload, msgs[i].len), "message %zu payload", i);
    }
    cr_expect_eq(run.buffered, 0);
    run_free(&run);
    vec_free(&v);
}

Test(rtmp_chunk_roundtrip, chunk_size_1)
{
    round_trip(1);
}

Test(rtmp_chunk_roundtrip, chunk_size_128)
{
    round_trip(128);
}

Test(rtmp_chunk_roundtrip, chunk_size_4096)
{
    round_trip(4096);
}

Test(rtmp_chunk_roundtrip, chunk_size_max)
{
    round_trip(RTMP_MAX_CHUNK_SIZE);
}

/* ---- control payloads (5.4, 6.2) ---- */

Test(rtmp_chunk_ctl, u32_is_big_endian)
{
    uint8_t p[4];

    cr_assert_eq(rtmp_ctl_u32(p, 0x01020304), 4);
    cr_expect(!memcmp(p, (uint8_t[]){ 0x01, 0x02, 0x03, 0x04 }, 4));
}

Test(rtmp_chunk_ctl, peer_bandwidth_is_window_then_limit_type)
{
    uint8_t p[5];

    cr_assert_eq(rtmp_ctl_peer_bw(p, 2500000, 2), 5);
    cr_expect(!memcmp(p, (uint8_t[]){ 0x00, 0x26, 0x25, 0xA0, 0x02 }, 5));
}

Test(rtmp_chunk_ctl, user_control_is_event_then_value)
{
    uint8_t p[6];

    cr_assert_eq(rtmp_ctl_user(p, 0x0003, 0x00000001), 6); /* Set Buffer Length prefix */
    cr_expect(!memcmp(p, (uint8_t[]){ 0x00, 0x03, 0x00, 0x00, 0x00, 0x01 }, 6));
    cr_assert_eq(rtmp_ctl_user(p, 0xABCD, 0xDEADBEEF), 6);
    cr_expect(!memcmp(p, (uint8_t[]){ 0xAB, 0xCD, 0xDE, 0xAD, 0xBE, 0xEF }, 6));
}
