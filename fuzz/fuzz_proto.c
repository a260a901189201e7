/* libFuzzer target for every proto/ parser that reads untrusted bytes; the first byte picks one.
 *
 * Input layout: byte 0 selects the target (modulo TARGET_COUNT), byte 1 holds flags, bytes 2-3
 * seed the generator that cuts the rest into pieces; the bytes from 4 on are the data. Whatever
 * the input, a crash, a sanitizer report or an abort() below is a bug: the aborts check the
 * promises the headers make (bounded output, progress on every call, a reply stream a client can
 * parse, pointers that stay inside the input, and the same events and messages whether the data
 * comes whole or in pieces). Seeds in fuzz/corpus/proto/ follow the same layout. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/amf.h"
#include "proto/flv.h"
#include "proto/hls.h"
#include "proto/nal.h"
#include "proto/rtmp_chunk.h"
#include "proto/rtmp_cmd.h"
#include "proto/rtmp_session.h"
#include "proto/sei.h"

#define HEADER_LEN 4
#define HS_OUT_LEN (1 + 2 * RTMP_HS_SIZE)

enum {
    TARGET_SESSION,       /* the data is everything a client sends, handshake included */
    TARGET_SESSION_READY, /* a simple handshake is sent first; the data is the chunk stream */
    TARGET_CHUNK,
    TARGET_AMF,
    TARGET_CMD,
    TARGET_FLV,
    TARGET_NAL,
    TARGET_HLS, /* names and query strings of HLS requests */
    TARGET_SEI, /* a user-data-unregistered SEI payload, as a player reads it from a frame */
    TARGET_COUNT,
};

/* Flags (byte 1) for the session targets; the chunk target takes its first chunk size from the
 * low four bits instead. */
enum {
    F_REJECT = 1 << 0,      /* answer RTMP_EV_PUBLISH with reject instead of accept */
    F_ANSWER_LATE = 1 << 1, /* answer after the next piece, as when Redis is asked first */
    F_SMALL_OUT = 1 << 2,   /* max_out just above the handshake reply: exercises -ENOSPC */
    F_PART_DRAIN = 1 << 3,  /* the writer takes a random part of the output each time */
    /* bits 4-6: piece size class, see piece_len */
};

typedef struct input_s {
    uint8_t target, flags;
    uint32_t rng;
    const uint8_t *p;
    size_t len;
} input_t;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* A small LCG: deterministic, so a crashing input replays. */
static uint32_t next_rand(uint32_t *x)
{
    *x = *x * 1103515245u + 12345u;
    return *x >> 16;
}

/* Piece sizes by class: 1 byte, up to 3, 7, 64, 300 or 1500 (a TCP segment), or all at once. */
static size_t piece_len(input_t *in, size_t left)
{
    static const size_t max_by_class[8] = { 0, 1, 7, 64, 1500, 3, 300, 0 };
    size_t max = max_by_class[(in->flags >> 4) & 7];
    size_t n = max ? 1 + next_rand(&in->rng) % max : left;

    return n < left ? n : left;
}

/* Reads everything a pointer claims, so ASan sees a bad one. */
static volatile uint8_t sink;

static void touch(const uint8_t *p, size_t n)
{
    uint8_t x = 0;

    for (size_t i = 0; i < n; i++)
        x ^= p[i];
    sink = x;
}

/* What a run produced, for comparing a run fed in pieces with the same input fed whole: every
 * parser here promises to resume at any split point with the same result. */
typedef struct trace_s {
    uint64_t hash; /* FNV-1a over everything that came out, in order */
    size_t count;
    int rc;
    int state;
    const char *error;
} trace_t;

static void trace_add(trace_t *t, const void *p, size_t n)
{
    const uint8_t *b = p;

    if (t->hash == 0)
        t->hash = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        t->hash = (t->hash ^ b[i]) * 1099511628211ull;
}

static void trace_str(trace_t *t, const char *s)
{
    if (s)
        trace_add(t, s, strlen(s) + 1);
}

static void trace_same(const trace_t *a, const trace_t *b)
{
    CHECK(a->hash == b->hash && a->count == b->count && a->rc == b->rc);
    CHECK(a->state == b->state && a->error == b->error);
}

/* The same input with its data given in one piece, and nothing else depending on the cuts. */
static input_t whole(const input_t *in)
{
    input_t w = *in;

    w.flags &= (uint8_t) ~(7 << 4);
    return w;
}

static int is_whole(const input_t *in)
{
    return ((in->flags >> 4) & 7) == 0 || ((in->flags >> 4) & 7) == 7;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Handshake randomness has to be deterministic too. */
static void fixed_random(uint8_t *buf, size_t n, void *opaque)
{
    (void)opaque;
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i * 7 + 1);
}

/* ---- the whole session ---- */

/* The client side of the replies: after S0 S1 S2, they must parse as a chunk stream. */
typedef struct reply_check_s {
    size_t hs_left;
    rtmp_chunk_reader_t rd;
} reply_check_t;

static void check_replies(reply_check_t *c, const uint8_t *p, size_t n)
{
    rtmp_msg_t m;
    int got, rc;
    size_t skip = n < c->hs_left ? n : c->hs_left;

    if (n == 0)
        return; /* p may be NULL then */
    c->hs_left -= skip;
    p += skip;
    n -= skip;
    while (n > 0) {
        rc = rtmp_chunk_read(&c->rd, p, n, &m, &got);
        CHECK(rc > 0);
        if (got && m.type == RTMP_MSG_SET_CHUNK_SIZE)
            CHECK(m.len == 4 && rtmp_chunk_set_size(&c->rd, be32(m.data)) == 0);
        p += rc;
        n -= (size_t)rc;
    }
}

typedef struct sess_run_s {
    rtmp_session_t s;
    reply_check_t check;
    int pending; /* a publish waits for the answer */
    trace_t trace;
} sess_run_t;

static void drain(sess_run_t *r, input_t *in)
{
    size_t n;
    const uint8_t *out = rtmp_session_out(&r->s, &n);

    CHECK(n <= r->s.max_out);
    if (n && (in->flags & F_PART_DRAIN))
        n = next_rand(&in->rng) % (n + 1);
    check_replies(&r->check, out, n);
    rtmp_session_out_consumed(&r->s, n);
}

static void answer(sess_run_t *r, input_t *in)
{
    int rc;

    r->pending = 0;
    if (in->flags & F_REJECT)
        rc = rtmp_session_publish_reject(&r->s, "NetStream.Publish.BadName", "rejected");
    else
        rc = rtmp_session_publish_accept(&r->s);
    CHECK(rc == 0 || rc == -ENOSPC || rc == -EINVAL);
}

static void trace_event(trace_t *t, const rtmp_event_t *ev)
{
    t->count++;
    trace_add(t, &ev->type, sizeof(ev->type));
    trace_add(t, &ev->timestamp, sizeof(ev->timestamp));
    trace_add(t, &ev->len, sizeof(ev->len));
    if (ev->len)
        trace_add(t, ev->data, ev->len);
    trace_str(t, ev->app);
    trace_str(t, ev->name);
    if (ev->meta)
        trace_add(t, ev->meta, sizeof(*ev->meta));
}

static void check_event(const rtmp_event_t *ev)
{
    switch (ev->type) {
    case RTMP_EV_PUBLISH:
        CHECK(strlen(ev->app) <= RTMP_MAX_NAME && strlen(ev->name) <= RTMP_MAX_NAME);
        break;
    case RTMP_EV_UNPUBLISH: CHECK(ev->name != NULL); break;
    case RTMP_EV_METADATA: CHECK(strlen(ev->meta->encoder) < sizeof(ev->meta->encoder)); break;
    case RTMP_EV_AUDIO:
    case RTMP_EV_VIDEO:
        CHECK(ev->data && ev->len > 0);
        touch(ev->data, ev->len);
        break;
    default: break;
    }
}

/* Feeds one piece as the ingest loop does: again with the rest after each event. Returns 0, or
 * -1 once the session has failed (the connection would be closed). */
static int feed_piece(sess_run_t *r, input_t *in, const uint8_t *p, size_t n)
{
    rtmp_event_t ev;
    int rc;

    while (n > 0) {
        rc = rtmp_session_feed(&r->s, p, n, &ev);
        if (rc < 0) {
            CHECK(r->s.error != NULL);
            r->trace.rc = rc;
            r->trace.error = r->s.error;
            return -1;
        }
        CHECK((size_t)rc <= n);
        CHECK(rc > 0 || ev.type != RTMP_EV_NONE); /* else the caller would spin */
        check_event(&ev);
        if (ev.type != RTMP_EV_NONE)
            trace_event(&r->trace, &ev);
        if (ev.type == RTMP_EV_PUBLISH)
            r->pending = 1;
        if (r->pending && !(in->flags & F_ANSWER_LATE))
            answer(r, in);
        drain(r, in);
        p += rc;
        n -= (size_t)rc;
    }
    if (r->pending)
        answer(r, in); /* late: after the rest of the piece went in */
    return 0;
}

static void run_session(input_t in, const uint8_t *prefix, size_t prefix_len, trace_t *trace)
{
    static const rtmp_chunk_limits_t reply_lim = { 1 << 20, 8, 1 << 20 };
    rtmp_session_limits_t lim = {
        .chunk = { .max_message = 1 << 16, .max_streams = 8, .max_buffered = 1 << 17 },
        .max_out = in.flags & F_SMALL_OUT ? HS_OUT_LEN + 200 : 1 << 16,
    };
    sess_run_t r = { .check = { .hs_left = HS_OUT_LEN } };
    size_t n;

    rtmp_session_init(&r.s, &lim, fixed_random, NULL);
    rtmp_chunk_reader_init(&r.check.rd, &reply_lim);
    if (prefix_len == 0 || feed_piece(&r, &in, prefix, prefix_len) == 0) {
        for (; in.len > 0; in.p += n, in.len -= n) {
            n = piece_len(&in, in.len);
            if (feed_piece(&r, &in, in.p, n) < 0)
                break;
        }
    }
    r.trace.state = r.s.state;
    *trace = r.trace;
    rtmp_chunk_reader_free(&r.check.rd);
    rtmp_session_free(&r.s);
}

/* Runs the input as cut, then whole when nothing else depends on the cuts: a late answer lets
 * media through at a point that depends on them, and a partial drain or a small output limit
 * fails at one. The replies are not compared: when an Acknowledgement goes out depends on the
 * cuts too, which the spec allows (5.4.3). */
static void fuzz_session(const input_t *in, const uint8_t *prefix, size_t prefix_len)
{
    input_t w = whole(in);
    trace_t cut, one;

    run_session(*in, prefix, prefix_len, &cut);
    if (is_whole(in) || (in->flags & (F_ANSWER_LATE | F_PART_DRAIN | F_SMALL_OUT)))
        return;
    run_session(w, prefix, prefix_len, &one);
    trace_same(&cut, &one);
}

/* C0 C1 C2 of the simple handshake: version 3, then zeros (a zero version field means no digest).
 */
static void fuzz_session_ready(const input_t *in)
{
    static uint8_t hs[1 + 2 * RTMP_HS_SIZE] = { 3 };

    fuzz_session(in, hs, sizeof(hs));
}

/* ---- the chunk reader alone, with a tiny chunk size and tiny limits ---- */

/* What the reader hands out must survive the writer and a second reader unchanged. */
static void check_round_trip(const rtmp_msg_t *m, uint32_t chunk_size)
{
    static const rtmp_chunk_limits_t lim = { 1 << 12, 1, 1 << 12 };
    size_t need = rtmp_chunk_write_bound(m, chunk_size);
    uint8_t *buf = malloc(need);
    rtmp_chunk_reader_t rd;
    rtmp_msg_t back;
    int rc, got;

    CHECK(buf != NULL);
    CHECK(rtmp_chunk_write(buf, need, chunk_size, m) == (int)need);
    rtmp_chunk_reader_init(&rd, &lim);
    rc = rtmp_chunk_set_size(&rd, chunk_size);
    CHECK(rc == 0);
    rc = rtmp_chunk_read(&rd, buf, need, &back, &got);
    CHECK(rc == (int)need && got);
    CHECK(back.csid == m->csid && back.type == m->type && back.stream_id == m->stream_id);
    CHECK(back.timestamp == m->timestamp && back.len == m->len);
    CHECK(memcmp(back.data, m->data, m->len) == 0);
    rtmp_chunk_reader_free(&rd);
    free(buf);
}

/* Acts on a message as the session does; returns what rtmp_chunk_set_size said. */
static int apply_control(rtmp_chunk_reader_t *rd, const rtmp_msg_t *m)
{
    if (m->len < 4 || (m->type != RTMP_MSG_SET_CHUNK_SIZE && m->type != RTMP_MSG_ABORT))
        return 0;
    if (m->type == RTMP_MSG_ABORT) {
        rtmp_chunk_abort(rd, be32(m->data));
        return 0;
    }
    return rtmp_chunk_set_size(rd, be32(m->data));
}

static void trace_msg(trace_t *t, const rtmp_msg_t *m)
{
    t->count++;
    trace_add(t, &m->csid, sizeof(m->csid));
    trace_add(t, &m->type, sizeof(m->type));
    trace_add(t, &m->stream_id, sizeof(m->stream_id));
    trace_add(t, &m->timestamp, sizeof(m->timestamp));
    trace_add(t, &m->len, sizeof(m->len));
    trace_add(t, m->data, m->len);
}

/* One read call; returns bytes consumed, or -1 when the reader has failed. */
static int chunk_step(rtmp_chunk_reader_t *rd, const uint8_t *p, size_t n, trace_t *t)
{
    rtmp_msg_t m;
    int got, rc = rtmp_chunk_read(rd, p, n, &m, &got);

    if (rc < 0) {
        CHECK(rd->error != NULL && rtmp_chunk_read(rd, p, n, &m, &got) == rc); /* sticky */
        t->rc = rc;
        t->error = rd->error;
        return -1;
    }
    CHECK((size_t)rc <= n && rd->buffered <= rd->lim.max_buffered);
    if (!got) {
        CHECK((size_t)rc == n);
        return rc;
    }
    CHECK(rc > 0 && m.data != NULL && m.len <= rd->lim.max_message);
    trace_msg(t, &m);
    check_round_trip(&m, rd->chunk_size < 64 ? rd->chunk_size : 64);
    if ((t->rc = apply_control(rd, &m)) < 0)
        t->error = rd->error;
    return t->rc < 0 ? -1 : rc;
}

/* max_buffered below max_message, so that inputs of a few KiB reach both limits. */
static void run_chunk(input_t in, trace_t *t)
{
    const rtmp_chunk_limits_t lim = { .max_message = 1 << 12,
                                      .max_streams = 4,
                                      .max_buffered = 1 << 11 };
    rtmp_chunk_reader_t rd;
    size_t n;
    int rc = 0;

    memset(t, 0, sizeof(*t));
    rtmp_chunk_reader_init(&rd, &lim);
    CHECK(rtmp_chunk_set_size(&rd, 1 + (in.flags & 15)) == 0);
    while (in.len > 0 && rc >= 0) {
        n = piece_len(&in, in.len);
        while (n > 0 && (rc = chunk_step(&rd, in.p, n, t)) >= 0) {
            in.p += rc;
            in.len -= (size_t)rc;
            n -= (size_t)rc;
        }
    }
    /* Where an over-limit chunk is refused depends on how much of it a call was given; only a
     * clean run must have read the same bytes. */
    t->state = t->rc < 0 ? 0 : (int)rd.bytes_in;
    rtmp_chunk_reader_free(&rd);
}

static void fuzz_chunk(const input_t *in)
{
    trace_t cut, one;

    run_chunk(*in, &cut);
    if (is_whole(in))
        return;
    run_chunk(whole(in), &one);
    trace_same(&cut, &one);
}

/* ---- AMF0 ---- */

typedef struct amf_out_s {
    double num, inner_num;
    int flag;
    char str[8], key[16], inner_str[4];
} amf_out_t;

/* Every element type, strings small enough that -ENAMETOOLONG is easy to reach, and an object
 * in an object so that the name lookup recurses. */
static const amf_elt_t amf_inner[] = {
    { AMF_NUMBER, "n", offsetof(amf_out_t, inner_num), 0, NULL, 0 },
    { AMF_STRING, "s", offsetof(amf_out_t, inner_str), 4, NULL, 0 },
};
static const amf_elt_t amf_props[] = {
    { AMF_NUMBER, "width", offsetof(amf_out_t, num), 0, NULL, 0 },
    { AMF_BOOLEAN, "stereo", offsetof(amf_out_t, flag), 0, NULL, 0 },
    { AMF_STRING, "app", offsetof(amf_out_t, key), 16, NULL, 0 },
    { AMF_OBJECT, "o", 0, 0, amf_inner, 2 },
};
static const amf_elt_t amf_seq[] = {
    { AMF_STRING, "name", offsetof(amf_out_t, str), 8, NULL, 0 },
    { AMF_ANY, "any", 0, 0, NULL, 0 },
    { AMF_OBJECT, "props", 0, 0, amf_props, 4 },
    { AMF_NULL | AMF_OPTIONAL, "null", 0, 0, NULL, 0 },
    { AMF_NUMBER | AMF_OPTIONAL, "number", offsetof(amf_out_t, num), 0, NULL, 0 },
};

static void fuzz_amf(const input_t *in)
{
    amf_out_t out;
    char s[16];
    int rc;

    memset(&out, 0, sizeof(out));
    rc = amf_decode_seq(in->p, in->len, amf_seq, sizeof(amf_seq) / sizeof(amf_seq[0]), &out);
    CHECK(rc < 0 || (size_t)rc <= in->len);
    CHECK(strlen(out.str) < sizeof(out.str) && strlen(out.key) < sizeof(out.key));
    CHECK(strlen(out.inner_str) < sizeof(out.inner_str));
    rc = amf_skip_value(in->p, in->len);
    CHECK(rc < 0 || ((size_t)rc <= in->len && rc > 0));
    rc = amf_read_string(in->p, in->len, s, sizeof(s));
    CHECK(rc < 0 || ((size_t)rc <= in->len && strlen(s) < sizeof(s)));
}

/* ---- RTMP commands ---- */

static void fuzz_cmd(const input_t *in)
{
    rtmp_cmd_head_t head;
    rtmp_connect_t conn;
    rtmp_stream_cmd_t sc;
    rtmp_metadata_t meta;
    int rc;

    rc = rtmp_cmd_decode_head(in->p, in->len, &head);
    CHECK(rc < 0 || ((size_t)rc <= in->len && strlen(head.name) < sizeof(head.name)));
    rc = rtmp_cmd_decode_connect(in->p, in->len, &conn);
    CHECK(rc < 0 || (size_t)rc <= in->len);
    CHECK(strlen(conn.app) < sizeof(conn.app) && strlen(conn.tc_url) < sizeof(conn.tc_url));
    CHECK(strlen(conn.flash_ver) < sizeof(conn.flash_ver));
    rc = rtmp_cmd_decode_stream_name(in->p, in->len, &sc);
    CHECK(rc < 0 || (size_t)rc <= in->len);
    CHECK(strlen(sc.name) < sizeof(sc.name) && strlen(sc.type) < sizeof(sc.type));
    rc = rtmp_cmd_decode_stream_id(in->p, in->len, &sc);
    CHECK(rc < 0 || (size_t)rc <= in->len);
    rc = rtmp_cmd_decode_metadata(in->p, in->len, &meta);
    CHECK(rc < 0 || (size_t)rc <= in->len);
    CHECK(strlen(meta.encoder) < sizeof(meta.encoder));
}

/* ---- FLV tags and decoder configuration records ---- */

static void check_tag(const input_t *in, const flv_tag_t *tag)
{
    CHECK(tag->data >= in->p && tag->len <= in->len);
    CHECK((size_t)(tag->data - in->p) <= in->len - tag->len);
    touch(tag->data, tag->len);
    CHECK(flv_codec_name(tag->codec) != NULL);
}

static void fuzz_flv(const input_t *in)
{
    flv_tag_t tag;

    memset(&tag, 0, sizeof(tag));
    if (flv_parse_video(in->p, in->len, &tag) == 0)
        check_tag(in, &tag);
    memset(&tag, 0, sizeof(tag));
    if (flv_parse_audio(in->p, in->len, &tag) == 0)
        check_tag(in, &tag);
}

static void fuzz_nal(const input_t *in)
{
    nal_video_info_t v;
    nal_audio_info_t a;

    if (nal_parse_avcc(in->p, in->len, &v) == 0)
        CHECK(v.width > 0 && v.height > 0);
    if (nal_parse_hvcc(in->p, in->len, &v) == 0)
        CHECK(v.width > 0 && v.height > 0);
    if (nal_parse_asc(in->p, in->len, &a) == 0)
        CHECK(a.sample_rate > 0);
}

static void fuzz_hls(const input_t *in)
{
    char text[600];
    size_t n = in->len < sizeof(text) - 1 ? in->len : sizeof(text) - 1;
    hls_name_t name;
    hls_query_t q;

    memcpy(text, in->p, n);
    text[n] = '\0';
    if (hls_parse_name(text, &name) == 0)
        CHECK(name.type >= HLS_NAME_MASTER && name.type <= HLS_NAME_PART && name.b >= 0);
    if (hls_parse_query(text, &q) == 0)
        CHECK(!q.has_part || (q.has_msn && q.part >= 0));
}

/* What decodes as shopcast's stamp encodes back to the very same bytes: one stamp, one
 * spelling. */
static void fuzz_sei(const input_t *in)
{
    uint8_t again[SEI_PAYLOAD_MAX];
    sei_stamp_t s;
    int n;

    if (sei_decode(in->p, in->len, &s) != 0)
        return;
    n = sei_encode(again, sizeof(again), &s);
    CHECK(n > 0 && (size_t)n == in->len && !memcmp(again, in->p, in->len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input_t in;

    if (size < HEADER_LEN)
        return 0;
    in.target = data[0] % TARGET_COUNT;
    in.flags = data[1];
    in.rng = (uint32_t)data[2] << 8 | data[3];
    in.p = data + HEADER_LEN;
    in.len = size - HEADER_LEN;
    switch (in.target) {
    case TARGET_SESSION: fuzz_session(&in, NULL, 0); break;
    case TARGET_SESSION_READY: fuzz_session_ready(&in); break;
    case TARGET_CHUNK: fuzz_chunk(&in); break;
    case TARGET_AMF: fuzz_amf(&in); break;
    case TARGET_CMD: fuzz_cmd(&in); break;
    case TARGET_FLV: fuzz_flv(&in); break;
    case TARGET_HLS: fuzz_hls(&in); break;
    case TARGET_SEI: fuzz_sei(&in); break;
    default: fuzz_nal(&in); break;
    }
    return 0;
}
