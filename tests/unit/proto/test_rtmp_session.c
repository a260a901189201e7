/* Tests for the RTMP server session: a client played against it with byte vectors.
 *
 * The client side is built with the helpers a real publisher needs (rtmp_handshake_client_c0c1,
 * rtmp_chunk_write, amf_write_*) and sends what FFmpeg's rtmpproto.c sends; the session's replies
 * are decoded back with a chunk reader that honours the server's Set Chunk Size. The whole publish
 * flow is also fed split at every byte boundary and byte by byte, and must give the same events
 * and the same reply bytes each time. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/rtmp_session.h"
#include "proto/status.h"

#define HS_OUT_LEN  (1 + 2 * RTMP_HS_SIZE) /* S0 S1 S2 */
#define HS_IN_LEN   (1 + 2 * RTMP_HS_SIZE) /* C0 C1 C2 */
#define MAX_EVENTS  32
#define MAX_REPLIES 64
#define AMF_MAX     2048

/* FFmpeg's channels (libavformat/rtmppkt.h) and what it says in connect. */
#define CSID_NETWORK 2
#define CSID_SYSTEM  3
#define CSID_AUDIO   4
#define CSID_VIDEO   6
#define CSID_SOURCE  8
#define APP          "live"
#define STREAM       "key?x=1"
#define TC_URL       "rtmp://127.0.0.1:1935/live"
#define FLASH_VER    "FMLE/3.0 (compatible; Lavf59.27.100)"

#define BIG_VIDEO_LEN 4500        /* two chunks at the client's 4096 */
#define EXT_TS        0x01000005u /* past 2^24: the extended timestamp form (5.3.1.3) */

static const rtmp_session_limits_t default_lim = {
    .chunk = { .max_message = 1 << 20, .max_streams = 16, .max_buffered = 1 << 20 },
    .max_out = 1 << 20,
};

/* ---- byte vectors ---- */

typedef struct vec_s {
    uint8_t *p;
    size_t len, cap;
} vec_t;

static uint8_t *vec_grow(vec_t *v, size_t n)
{
    if (v->len + n > v->cap) {
        v->cap = (v->len + n) * 2;
        v->p = realloc(v->p, v->cap);
        cr_assert_not_null(v->p);
    }
    v->len += n;
    return v->p + v->len - n;
}

static void vec_put(vec_t *v, const void *b, size_t n)
{
    uint8_t *p = vec_grow(v, n);

    if (n)
        memcpy(p, b, n);
}

static void vec_free(vec_t *v)
{
    free(v->p);
    memset(v, 0, sizeof(*v));
}

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

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- the server under test, driven as the ingest loop drives it ---- */

typedef enum answer_e { ANSWER_LATER, ANSWER_ACCEPT, ANSWER_REJECT } answer_t;

typedef struct ev_rec_s {
    rtmp_ev_type_t type;
    uint32_t timestamp;
    uint8_t *data;
    size_t len;
    char app[RTMP_MAX_NAME + 1];
    char name[RTMP_MAX_NAME + 1];
    rtmp_metadata_t meta;
} ev_rec_t;

typedef struct drv_s {
    rtmp_session_t s;
    answer_t answer; /* what the caller says to RTMP_EV_PUBLISH */
    int keep_out;    /* 1: never drain the output, as a peer that does not read */
    ev_rec_t ev[MAX_EVENTS];
    size_t nev;
    vec_t out; /* every reply byte, in order */
    int rc;    /* the first negative return, sticky */
    const char *error;
} drv_t;

static void drv_init_lim(drv_t *d, const rtmp_session_limits_t *lim, answer_t answer)
{
    uint32_t seed = 0xC0FFEE;

    memset(d, 0, sizeof(*d));
    d->answer = answer;
    rtmp_session_init(&d->s, lim, test_random, &seed);
}

static void drv_init(drv_t *d, answer_t answer)
{
    drv_init_lim(d, &default_lim, answer);
}

static void drv_free(drv_t *d)
{
    for (size_t i = 0; i < d->nev; i++)
        free(d->ev[i].data);
    rtmp_session_free(&d->s);
    vec_free(&d->out);
}

static void drain(drv_t *d)
{
    size_t n;
    const uint8_t *p = rtmp_session_out(&d->s, &n);

    if (d->keep_out || n == 0)
        return;
    vec_put(&d->out, p, n);
    rtmp_session_out_consumed(&d->s, n);
}

/* Copies the event out of the session: its pointers are borrowed until the next feed. */
static void record(drv_t *d, const rtmp_event_t *ev)
{
    ev_rec_t *r;

    cr_assert_lt(d->nev, MAX_EVENTS);
    r = &d->ev[d->nev++];
    r->type = ev->type;
    r->timestamp = ev->timestamp;
    r->len = ev->len;
    r->data = malloc(ev->len + 1);
    cr_assert_not_null(r->data);
    if (ev->len)
        memcpy(r->data, ev->data, ev->len);
    if (ev->app)
        snprintf(r->app, sizeof(r->app), "%s", ev->app);
    if (ev->name)
        snprintf(r->name, sizeof(r->name), "%s", ev->name);
    if (ev->meta)
        r->meta = *ev->meta;
}

static void answer(drv_t *d)
{
    int rc = 0;

    if (d->answer == ANSWER_ACCEPT)
        rc = rtmp_session_publish_accept(&d->s);
    else if (d->answer == ANSWER_REJECT)
        rc = rtmp_session_publish_reject(&d->s, "NetStream.Publish.BadName", "Unknown key.");
    cr_assert_eq(rc, 0, "answering the publish: %d", rc);
}

/* Feeds one piece as the ingest loop does: again and again with the rest after each event,
 * draining the output after every call. Returns 0 or the first negative return. */
static int drv_feed(drv_t *d, const uint8_t *p, size_t n)
{
    rtmp_event_t ev;
    int rc;

    while (n > 0 && d->rc == 0) {
        rc = rtmp_session_feed(&d->s, p, n, &ev);
        if (rc < 0) {
            d->rc = rc;
            d->error = d->s.error;
            break;
        }
        cr_assert_leq((size_t)rc, n);
        cr_assert(rc > 0 || ev.type != RTMP_EV_NONE, "no progress and no event");
        if (ev.type != RTMP_EV_NONE)
            record(d, &ev);
        if (ev.type == RTMP_EV_PUBLISH)
            answer(d);
        drain(d);
        p += rc;
        n -= (size_t)rc;
    }
    drain(d);
    return d->rc;
}

/* ---- the client ---- */

typedef struct client_s {
    vec_t bytes;         /* everything sent so far */
    size_t fed;          /* bytes of it already given to a driver */
    uint32_t chunk_size; /* the client's outgoing chunk size */
} client_t;

static void client_init(client_t *c)
{
    memset(c, 0, sizeof(*c));
    c->chunk_size = RTMP_DEFAULT_CHUNK_SIZE;
}

/* Hands the bytes sent since the last flush to the server. */
static int client_flush(client_t *c, drv_t *d)
{
    size_t from = c->fed;

    c->fed = c->bytes.len;
    return drv_feed(d, c->bytes.p + from, c->bytes.len - from);
}

static void client_msg(client_t *c, uint32_t csid, uint8_t type, uint32_t msid, uint32_t ts,
                       const uint8_t *body, size_t len)
{
    rtmp_msg_t m = { .csid = csid, .type = type, .stream_id = msid, .timestamp = ts };
    size_t need;
    int rc;

    m.len = (uint32_t)len;
    m.data = (uint8_t *)body;
    need = rtmp_chunk_write_bound(&m, c->chunk_size);
    rc = rtmp_chunk_write(vec_grow(&c->bytes, need), need, c->chunk_size, &m);
    cr_assert_eq(rc, (int)need, "rtmp_chunk_write: %d", rc);
}

static void client_ctl(client_t *c, uint8_t type, const uint8_t *p, size_t len)
{
    client_msg(c, CSID_NETWORK, type, 0, 0, p, len);
}

static void client_set_chunk_size(client_t *c, uint32_t size)
{
    uint8_t p[4];

    client_ctl(c, RTMP_MSG_SET_CHUNK_SIZE, p, rtmp_ctl_u32(p, size));
    c->chunk_size = size;
}

/* An AMF0 body under construction; b[0] is kept free for the AMF3 command marker. */
typedef struct amf_buf_s {
    uint8_t b[AMF_MAX];
    amf_wr_t w;
} amf_buf_t;

static amf_wr_t *amf_begin(amf_buf_t *a)
{
    a->b[0] = 0x00;
    a->w = (amf_wr_t){ a->b + 1, a->b + sizeof(a->b), 0 };
    return &a->w;
}

/* Sends the body as type 20, 18, or as type 17/15 with its leading 0x00 byte. */
static void client_amf(client_t *c, uint32_t csid, uint8_t type, uint32_t msid, uint32_t ts,
                       const amf_buf_t *a)
{
    int amf3 = type == RTMP_MSG_CMD_AMF3 || type == RTMP_MSG_DATA_AMF3;

    cr_assert_eq(a->w.err, 0, "test AMF body does not fit");
    client_msg(c, csid, type, msid, ts, a->b + !amf3, (size_t)(a->w.p - a->b) - !amf3);
}

/* connect as FFmpeg sends it when publishing: app, type, flashVer, tcUrl. */
static void client_connect_as(client_t *c, uint8_t type, double tid)
{
    amf_buf_t a;
    amf_wr_t *w = amf_begin(&a);

    amf_write_string(w, "connect");
    amf_write_number(w, tid);
    amf_write_object_start(w);
    amf_write_string_prop(w, "app", APP);
    amf_write_string_prop(w, "type", "nonprivate");
    amf_write_string_prop(w, "flashVer", FLASH_VER);
    amf_write_string_prop(w, "tcUrl", TC_URL);
    amf_write_object_end(w);
    client_amf(c, CSID_SYSTEM, type, 0, 0, &a);
}

/* cmd, transaction id, null, then up to two strings (NULL: left out). */
static void client_str_cmd_as(client_t *c, uint8_t type, uint32_t csid, uint32_t msid,
                              const char *cmd, double tid, const char *arg, const char *arg2)
{
    amf_buf_t a;
    amf_wr_t *w = amf_begin(&a);

    amf_write_string(w, cmd);
    amf_write_number(w, tid);
    amf_write_null(w);
    if (arg)
        amf_write_string(w, arg);
    if (arg2)
        amf_write_string(w, arg2);
    client_amf(c, csid, type, msid, 0, &a);
}

static void client_str_cmd(client_t *c, uint32_t csid, uint32_t msid, const char *cmd, double tid,
                           const char *arg, const char *arg2)
{
    client_str_cmd_as(c, RTMP_MSG_CMD_AMF0, csid, msid, cmd, tid, arg, arg2);
}

/* cmd, transaction id, null, then a number unless id < 0 (createStream, deleteStream). */
static void client_num_cmd(client_t *c, const char *cmd, double tid, double id)
{
    amf_buf_t a;
    amf_wr_t *w = amf_begin(&a);

    amf_write_string(w, cmd);
    amf_write_number(w, tid);
    amf_write_null(w);
    if (id >= 0)
        amf_write_number(w, id);
    client_amf(c, CSID_SYSTEM, RTMP_MSG_CMD_AMF0, 0, 0, &a);
}

/* FFmpeg's flvenc onMetaData (an ECMA array), with rtmpproto's "@setDataFrame" in front. */
static void client_metadata_as(client_t *c, uint8_t type)
{
    amf_buf_t a;
    amf_wr_t *w = amf_begin(&a);

    amf_write_string(w, "@setDataFrame");
    amf_write_string(w, "onMetaData");
    amf_write_ecma_start(w, 8);
    amf_write_number_prop(w, "duration", 0);
    amf_write_number_prop(w, "width", 320);
    amf_write_number_prop(w, "height", 240);
    amf_write_number_prop(w, "videodatarate", 0);
    amf_write_number_prop(w, "framerate", 10);
    amf_write_number_prop(w, "videocodecid", 7);
    amf_write_string_prop(w, "encoder", "Lavf59.27.100");
    amf_write_number_prop(w, "filesize", 0);
    amf_write_object_end(w);
    client_amf(c, CSID_SOURCE, type, 1, 0, &a);
}

/* An FLV tag body: the given header bytes, then pattern bytes (seed + i). */
static void client_media(client_t *c, uint8_t type, uint32_t ts, const uint8_t *head, size_t hlen,
                         size_t len, uint8_t seed)
{
    uint8_t *body = malloc(len);

    cr_assert_not_null(body);
    for (size_t i = 0; i < len; i++)
        body[i] = i < hlen ? head[i] : (uint8_t)(seed + i);
    client_msg(c, type == RTMP_MSG_AUDIO ? CSID_AUDIO : CSID_VIDEO, type, 1, ts, body, len);
    free(body);
}

/* ---- decoding the replies, as the client would ---- */

typedef struct reply_s {
    rtmp_msg_t m;
    uint8_t *copy;
    char cmd[64]; /* command name for type 20, else "" */
} reply_t;

typedef struct replies_s {
    reply_t r[MAX_REPLIES];
    size_t n;
} replies_t;

static void add_reply(replies_t *out, const rtmp_msg_t *m)
{
    reply_t *r;

    cr_assert_lt(out->n, MAX_REPLIES);
    r = &out->r[out->n++];
    r->m = *m;
    r->copy = malloc(m->len + 1);
    cr_assert_not_null(r->copy);
    memcpy(r->copy, m->data, m->len);
    r->m.data = r->copy;
    r->cmd[0] = '\0';
    if (m->type == RTMP_MSG_CMD_AMF0)
        cr_assert_geq(amf_read_string(r->copy, m->len, r->cmd, sizeof(r->cmd)), 0);
}

/* Decodes the replies after S0 S1 S2; every byte must belong to a whole message. */
static void decode_replies(const drv_t *d, replies_t *out)
{
    static const rtmp_chunk_limits_t lim = { 1 << 20, 16, 1 << 20 };
    rtmp_chunk_reader_t rd;
    const uint8_t *p = d->out.p + HS_OUT_LEN;
    size_t left;
    rtmp_msg_t m;
    int got, rc;

    memset(out, 0, sizeof(*out));
    cr_assert_geq(d->out.len, HS_OUT_LEN, "no handshake reply");
    left = d->out.len - HS_OUT_LEN;
    rtmp_chunk_reader_init(&rd, &lim);
    while (left > 0) {
        rc = rtmp_chunk_read(&rd, p, left, &m, &got);
        cr_assert_gt(rc, 0, "reply stream: %d %s", rc, rd.error ? rd.error : "");
        cr_assert(got, "reply stream ends inside a message");
        add_reply(out, &m);
        if (m.type == RTMP_MSG_SET_CHUNK_SIZE)
            cr_assert_eq(rtmp_chunk_set_size(&rd, be32(m.data)), 0);
        p += rc;
        left -= (size_t)rc;
    }
    rtmp_chunk_reader_free(&rd);
}

static void replies_free(replies_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->r[i].copy);
    r->n = 0;
}

/* The index of the first reply at or after from with this type (and command name if not NULL),
 * or -1. */
static int find_reply(const replies_t *r, size_t from, uint8_t type, const char *cmd)
{
    for (size_t i = from; i < r->n; i++)
        if (r->r[i].m.type == type && (!cmd || !strcmp(r->r[i].cmd, cmd)))
            return (int)i;
    return -1;
}

static size_t count_replies(const replies_t *r, uint8_t type)
{
    size_t n = 0;

    for (size_t i = 0; i < r->n; i++)
        n += r->r[i].m.type == type;
    return n;
}

/* What the client reads out of _result and onStatus replies. */
typedef struct reply_fields_s {
    char name[64];
    double tid;
    double number;
    char level[32];
    char code[64];
    char desc[128];
    double object_encoding;
} reply_fields_t;

/* clang-format off */
#define R_STR(field, key) \
    { AMF_STRING, key, offsetof(reply_fields_t, field), sizeof(((reply_fields_t *)0)->field), NULL, 0 }
#define R_NUM(field, key) { AMF_NUMBER, key, offsetof(reply_fields_t, field), 0, NULL, 0 }
/* clang-format on */

static const amf_elt_t info_elts[] = {
    R_STR(level, "level"),
    R_STR(code, "code"),
    R_STR(desc, "description"),
    R_NUM(object_encoding, "objectEncoding"),
};

/* _result for connect (7.2.1.1): name, id, properties, information. */
static const amf_elt_t connect_result_elts[] = {
    R_STR(name, "name"),
    R_NUM(tid, "transaction id"),
    { AMF_ANY, "properties", 0, 0, NULL, 0 },
    { AMF_OBJECT, "information", 0, 0, info_elts, 4 },
};

/* onStatus (7.2.2) and onFCPublish: name, 0, null, information. */
static const amf_elt_t status_elts[] = {
    R_STR(name, "name"),
    R_NUM(tid, "transaction id"),
    { AMF_NULL, "null", 0, 0, NULL, 0 },
    { AMF_OBJECT, "information", 0, 0, info_elts, 4 },
};

/* _result with a null and an optional number (releaseStream, createStream). */
static const amf_elt_t result_elts[] = {
    R_STR(name, "name"),
    R_NUM(tid, "transaction id"),
    { AMF_NULL, "null", 0, 0, NULL, 0 },
    { AMF_NUMBER | AMF_OPTIONAL, "value", offsetof(reply_fields_t, number), 0, NULL, 0 },
};

static void decode_fields(const reply_t *r, const amf_elt_t *elts, size_t n, reply_fields_t *f)
{
    int rc;

    memset(f, 0, sizeof(*f));
    rc = amf_decode_seq(r->copy, r->m.len, elts, n, f);
    cr_assert_eq((uint32_t)rc, r->m.len, "reply %s: decoded %d of %u bytes", r->cmd, rc, r->m.len);
}

/* ---- the publish flow, step by step ----
 * Each step is fed to the server before the next is built, because FFmpeg waits for the answers
 * in between (C2 echoes S1; publish waits for createStream's _result). */

typedef void (*step_fn)(client_t *c, const drv_t *d);

static void step_c0c1(client_t *c, const drv_t *d)
{
    uint32_t seed = 0xBEEF;

    (void)d;
    rtmp_handshake_client_c0c1(vec_grow(&c->bytes, 1 + RTMP_HS_SIZE), test_random, &seed);
}

/* C2 echoes S1 (5.2.4). */
static void step_c2(client_t *c, const drv_t *d)
{
    cr_assert_geq(d->out.len, HS_OUT_LEN);
    vec_put(&c->bytes, d->out.p + 1, RTMP_HS_SIZE);
}

/* FFmpeg 5.1 sends its Set Chunk Size right after connect, without waiting for the answer. */
static void step_connect(client_t *c, const drv_t *d)
{
    (void)d;
    client_connect_as(c, RTMP_MSG_CMD_AMF0, 1);
    client_set_chunk_size(c, 4096);
}

static void step_create(client_t *c, const drv_t *d)
{
    (void)d;
    client_str_cmd(c, CSID_SYSTEM, 0, "releaseStream", 2, STREAM, NULL);
    client_str_cmd(c, CSID_SYSTEM, 0, "FCPublish", 3, STREAM, NULL);
    client_num_cmd(c, "createStream", 4, -1);
}

static void step_publish(client_t *c, const drv_t *d)
{
    (void)d;
    client_str_cmd(c, CSID_SOURCE, 1, "publish", 5, STREAM, "live");
}

static void step_metadata(client_t *c, const drv_t *d)
{
    (void)d;
    client_metadata_as(c, RTMP_MSG_DATA_AMF0);
}

static const uint8_t avc_seq_head[] = { 0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00, 0x0D };
static const uint8_t aac_seq_head[] = { 0xAF, 0x00, 0x14, 0x08 };
static const uint8_t avc_key_head[] = { 0x17, 0x01, 0x00, 0x00, 0x00 };
static const uint8_t avc_inter_head[] = { 0x27, 0x01, 0x00, 0x00, 0x50 };
static const uint8_t aac_raw_head[] = { 0xAF, 0x01 };

static void step_media(client_t *c, const drv_t *d)
{
    (void)d;
    client_media(c, RTMP_MSG_VIDEO, 0, avc_seq_head, sizeof(avc_seq_head), 40, 0x10);
    client_media(c, RTMP_MSG_AUDIO, 0, aac_seq_head, sizeof(aac_seq_head), 4, 0);
    client_media(c, RTMP_MSG_VIDEO, 0, avc_key_head, sizeof(avc_key_head), BIG_VIDEO_LEN, 0x20);
    client_media(c, RTMP_MSG_AUDIO, 23, aac_raw_head, sizeof(aac_raw_head), 200, 0x30);
    client_media(c, RTMP_MSG_VIDEO, 100, avc_inter_head, sizeof(avc_inter_head), 300, 0x40);
    client_media(c, RTMP_MSG_VIDEO, EXT_TS, avc_inter_head, sizeof(avc_inter_head), 150, 0x50);
}

/* FFmpeg's rtmp_close: FCUnpublish, then deleteStream with the stream id. */
static void step_unpublish(client_t *c, const drv_t *d)
{
    (void)d;
    client_str_cmd(c, CSID_SYSTEM, 0, "FCUnpublish", 6, STREAM, NULL);
    client_num_cmd(c, "deleteStream", 7, 1);
}

enum { S_C0C1, S_C2, S_CONNECT, S_CREATE, S_PUBLISH, S_METADATA, S_MEDIA, S_UNPUBLISH, S_ALL };

static const step_fn flow[S_ALL] = {
    step_c0c1,    step_c2,       step_connect, step_create,
    step_publish, step_metadata, step_media,   step_unpublish,
};

/* Runs steps [from, to) of the flow: builds each, feeds it, expects no error. */
static void run_steps(client_t *c, drv_t *d, int from, int to)
{
    for (int i = from; i < to; i++) {
        flow[i](c, d);
        cr_assert_eq(client_flush(c, d), 0, "step %d: %d %s", i, d->rc, d->error ? d->error : "");
    }
}

/* A session that has reached the given step, with a client whose bytes are all fed. */
static void start(client_t *c, drv_t *d, answer_t answer, int upto)
{
    client_init(c);
    drv_init(d, answer);
    run_steps(c, d, 0, upto);
}

static void finish(client_t *c, drv_t *d)
{
    vec_free(&c->bytes);
    drv_free(d);
}

/* ---- checks shared by the flow tests ---- */

static void expect_event(const drv_t *d, size_t i, rtmp_ev_type_t type, uint32_t ts, size_t len)
{
    cr_assert_lt(i, d->nev, "event %zu missing (have %zu)", i, d->nev);
    cr_assert_eq(d->ev[i].type, type, "event %zu type %d", i, d->ev[i].type);
    cr_expect_eq(d->ev[i].timestamp, ts, "event %zu timestamp %u", i, d->ev[i].timestamp);
    cr_assert_eq(d->ev[i].len, len, "event %zu len %zu", i, d->ev[i].len);
}

static void expect_payload(const drv_t *d, size_t i, const uint8_t *head, size_t hlen, uint8_t seed)
{
    for (size_t j = 0; j < d->ev[i].len; j++) {
        uint8_t want = j < hlen ? head[j] : (uint8_t)(seed + j);

        cr_assert_eq(d->ev[i].data[j], want, "event %zu byte %zu", i, j);
    }
}

/* The media events step_media produces, starting at event index i. */
static void expect_media_events(const drv_t *d, size_t i)
{
    expect_event(d, i, RTMP_EV_VIDEO, 0, 40);
    expect_payload(d, i, avc_seq_head, sizeof(avc_seq_head), 0x10);
    expect_event(d, i + 1, RTMP_EV_AUDIO, 0, 4);
    expect_payload(d, i + 1, aac_seq_head, sizeof(aac_seq_head), 0);
    expect_event(d, i + 2, RTMP_EV_VIDEO, 0, BIG_VIDEO_LEN);
    expect_payload(d, i + 2, avc_key_head, sizeof(avc_key_head), 0x20);
    expect_event(d, i + 3, RTMP_EV_AUDIO, 23, 200);
    expect_payload(d, i + 3, aac_raw_head, sizeof(aac_raw_head), 0x30);
    expect_event(d, i + 4, RTMP_EV_VIDEO, 100, 300);
    expect_payload(d, i + 4, avc_inter_head, sizeof(avc_inter_head), 0x40);
    expect_event(d, i + 5, RTMP_EV_VIDEO, EXT_TS, 150);
    expect_payload(d, i + 5, avc_inter_head, sizeof(avc_inter_head), 0x50);
}

static void expect_status(const replies_t *r, int i, const char *level, const char *code,
                          uint32_t msid)
{
    reply_fields_t f;

    cr_assert_geq(i, 0, "no onStatus reply");
    cr_expect_eq(r->r[i].m.stream_id, msid, "onStatus on message stream %u", r->r[i].m.stream_id);
    decode_fields(&r->r[i], status_elts, 4, &f);
    cr_expect_eq(f.tid, 0);
    cr_expect_str_eq(f.level, level);
    cr_expect_str_eq(f.code, code);
}

/* ---- handshake ---- */

Test(rtmp_session_handshake, s0_s1_s2_carry_a_valid_s1_digest)
{
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_CONNECT);
    cr_assert_eq(d.out.len, HS_OUT_LEN, "S0 S1 S2 and nothing else");
    cr_expect_eq(d.out.p[0], 3);
    cr_expect_eq(rtmp_handshake_verify_s1(d.out.p + 1), 0);
    cr_expect_eq(d.s.state, RTMP_ST_CONNECTING);
    cr_expect_eq(d.nev, 0);
    finish(&c, &d);
}

Test(rtmp_session_handshake, rtmpe_version_is_an_error)
{
    uint8_t c0[1] = { 6 };
    drv_t d;

    drv_init(&d, ANSWER_ACCEPT);
    cr_assert_eq(drv_feed(&d, c0, 1), -EPROTO);
    cr_expect_not_null(d.error);
    drv_free(&d);
}

/* ---- the publish flow as FFmpeg sends it ---- */

Test(rtmp_session_flow, connect_gets_window_bandwidth_chunk_size_and_success)
{
    replies_t r;
    reply_fields_t f;
    client_t c;
    drv_t d;
    int i;

    start(&c, &d, ANSWER_ACCEPT, S_CREATE);
    cr_expect_eq(d.s.state, RTMP_ST_CONNECTED);
    cr_expect_eq(d.s.rd.chunk_size, 4096, "the client's Set Chunk Size is applied");
    decode_replies(&d, &r);
    cr_assert_eq(r.n, 4);
    cr_expect_eq(r.r[0].m.type, RTMP_MSG_WINDOW_ACK_SIZE);
    cr_expect_eq(be32(r.r[0].copy), 2500000);
    cr_expect_eq(r.r[1].m.type, RTMP_MSG_SET_PEER_BW);
    cr_expect_eq(r.r[1].m.len, 5);
    cr_expect_eq(r.r[2].m.type, RTMP_MSG_SET_CHUNK_SIZE);
    cr_expect_eq(be32(r.r[2].copy), 4096);
    for (i = 0; i < 3; i++)
        cr_expect_eq(r.r[i].m.csid, 2, "protocol control on chunk stream 2 (5.4)");
    cr_assert_str_eq(r.r[3].cmd, "_result");
    cr_expect_gt(r.r[3].m.len, 128, "framed at 4096, after our Set Chunk Size");
    decode_fields(&r.r[3], connect_result_elts, 4, &f);
    cr_expect_eq(f.tid, 1);
    cr_expect_str_eq(f.level, "status");
    cr_expect_str_eq(f.code, "NetConnection.Connect.Success");
    cr_expect_str_eq(d.s.conn.app, APP);
    cr_expect_str_eq(d.s.conn.tc_url, TC_URL);
    cr_expect_str_eq(d.s.conn.flash_ver, FLASH_VER);
    replies_free(&r);
    finish(&c, &d);
}

Test(rtmp_session_flow, set_chunk_size_before_connect_works)
{
    replies_t r;
    reply_fields_t f;
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_CONNECT);
    client_set_chunk_size(&c, 4096);
    client_connect_as(&c, RTMP_MSG_CMD_AMF0, 1);
    cr_assert_eq(client_flush(&c, &d), 0);
    decode_replies(&d, &r);
    cr_assert_eq(r.n, 4);
    decode_fields(&r.r[3], connect_result_elts, 4, &f);
    cr_expect_str_eq(f.code, "NetConnection.Connect.Success");
    run_steps(&c, &d, S_CREATE, S_ALL);
    cr_expect_eq(d.nev, 9);
    replies_free(&r);
    finish(&c, &d);
}

Test(rtmp_session_flow, release_fcpublish_and_create_stream_get_their_answers)
{
    replies_t r;
    reply_fields_t f;
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_PUBLISH);
    decode_replies(&d, &r);
    cr_assert_eq(r.n, 7);
    cr_assert_str_eq(r.r[4].cmd, "_result");
    decode_fields(&r.r[4], result_elts, 4, &f);
    cr_expect_eq(f.tid, 2, "releaseStream's transaction id");
    cr_assert_str_eq(r.r[5].cmd, "onFCPublish");
    decode_fields(&r.r[5], status_elts, 4, &f);
    cr_expect_str_eq(f.code, "NetStream.Publish.Start");
    cr_assert_str_eq(r.r[6].cmd, "_result");
    decode_fields(&r.r[6], result_elts, 4, &f);
    cr_expect_eq(f.tid, 4, "createStream's transaction id");
    cr_expect_eq(f.number, 1, "the stream id");
    cr_expect_eq(d.nev, 0);
    replies_free(&r);
    finish(&c, &d);
}

Test(rtmp_session_flow, publish_asks_the_caller_with_app_and_name)
{
    replies_t r;
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_LATER, S_METADATA);
    cr_assert_eq(d.nev, 1);
    cr_expect_eq(d.ev[0].type, RTMP_EV_PUBLISH);
    cr_expect_str_eq(d.ev[0].app, APP);
    cr_expect_str_eq(d.ev[0].name, STREAM);
    cr_expect_str_eq(d.s.pub.type, "live");
    cr_expect_eq(d.s.state, RTMP_ST_PUBLISH_WAIT);
    decode_replies(&d, &r);
    cr_expect_eq(r.n, 7, "no answer until the caller decides");
    replies_free(&r);
    finish(&c, &d);
}

Test(rtmp_session_flow, accept_sends_stream_begin_and_publish_start)
{
    replies_t r;
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_METADATA);
    cr_expect_eq(d.s.state, RTMP_ST_PUBLISHING);
    decode_replies(&d, &r);
    cr_assert_eq(r.n, 9);
    cr_expect_eq(r.r[7].m.type, RTMP_MSG_USER_CONTROL);
    cr_assert_eq(r.r[7].m.len, 6);
    cr_expect(!memcmp(r.r[7].copy, (uint8_t[]){ 0, 0, 0, 0, 0, 1 }, 6), "Stream Begin 1 (7.1.7)");
    cr_assert_str_eq(r.r[8].cmd, "onStatus");
    expect_status(&r, 8, "status", "NetStream.Publish.Start", 1);
    replies_free(&r);
    finish(&c, &d);
}

Test(rtmp_session_flow, metadata_event_carries_width_and_height)
{
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_MEDIA);
    cr_assert_eq(d.nev, 2);
    cr_assert_eq(d.ev[1].type, RTMP_EV_METADATA);
    cr_expect_eq(d.ev[1].meta.width, 320);
    cr_expect_eq(d.ev[1].meta.height, 240);
    cr_expect_eq(d.ev[1].meta.framerate, 10);
    cr_expect_eq(d.ev[1].meta.videocodecid, 7);
    cr_expect_str_eq(d.ev[1].meta.encoder, "Lavf59.27.100");
    finish(&c, &d);
}

Test(rtmp_session_flow, media_events_carry_timestamps_and_payloads)
{
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_UNPUBLISH);
    cr_assert_eq(d.nev, 8);
    expect_media_events(&d, 2);
    finish(&c, &d);
}

Test(rtmp_session_flow, fcunpublish_then_delete_stream_gives_one_unpublish)
{
    replies_t r;
    client_t c;
    drv_t d;
    int i;

    start(&c, &d, ANSWER_ACCEPT, S_ALL);
    cr_assert_eq(d.nev, 9);
    cr_expect_eq(d.ev[8].type, RTMP_EV_UNPUBLISH);
    cr_expect_str_eq(d.ev[8].name, STREAM);
    cr_expect_eq(d.s.state, RTMP_ST_CONNECTED);
    decode_replies(&d, &r);
    i = find_reply(&r, 0, RTMP_MSG_CMD_AMF0, "onFCUnpublish");
    cr_assert_geq(i, 0);
    expect_status(&r, i, "", "NetStream.Unpublish.Success", 0);
    cr_expect_eq(r.n, (size_t)i + 1, "deleteStream after FCUnpublish gets nothing more");
    replies_free(&r);
    finish(&c, &d);
}

/* ---- the same flow, cut anywhere ---- */

/* Feeds in[0..len) cut at the given offsets (ascending) to a fresh accepting session. */
static void run_cuts(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts, drv_t *d)
{
    size_t start = 0;

    drv_init(d, ANSWER_ACCEPT);
    for (size_t i = 0; i <= ncuts && d->rc == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : len;

        drv_feed(d, in + start, end - start);
        start = end;
    }
}

static void expect_same(const drv_t *a, const drv_t *b, const char *how, size_t k)
{
    cr_assert_eq(a->rc, b->rc, "%s %zu: rc %d vs %d", how, k, a->rc, b->rc);
    cr_assert_eq(a->s.state, b->s.state, "%s %zu: state", how, k);
    cr_assert_eq(a->nev, b->nev, "%s %zu: %zu vs %zu events", how, k, a->nev, b->nev);
    for (size_t i = 0; i < a->nev; i++) {
        const ev_rec_t *x = &a->ev[i], *y = &b->ev[i];

        cr_assert_eq(x->type, y->type, "%s %zu: event %zu type", how, k, i);
        cr_assert_eq(x->timestamp, y->timestamp, "%s %zu: event %zu timestamp", how, k, i);
        cr_assert_eq(x->len, y->len, "%s %zu: event %zu len", how, k, i);
        cr_assert(!memcmp(x->data, y->data, x->len), "%s %zu: event %zu data", how, k, i);
        cr_assert_str_eq(x->app, y->app, "%s %zu: event %zu app", how, k, i);
        cr_assert_str_eq(x->name, y->name, "%s %zu: event %zu name", how, k, i);
        cr_assert(!memcmp(&x->meta, &y->meta, sizeof(x->meta)), "%s %zu: event %zu meta", how, k,
                  i);
    }
    cr_assert_eq(a->out.len, b->out.len, "%s %zu: reply bytes", how, k);
    cr_assert(!memcmp(a->out.p, b->out.p, a->out.len), "%s %zu: replies differ", how, k);
}

/* The whole client byte stream of the flow, with the reference run that produced it. */
static void whole_flow(client_t *c, drv_t *ref)
{
    start(c, ref, ANSWER_ACCEPT, S_ALL);
    cr_assert_eq(ref->nev, 9);
}

Test(rtmp_session_split, every_split_point_gives_the_same_events_and_replies)
{
    client_t c;
    drv_t ref, d;

    whole_flow(&c, &ref);
    for (size_t k = 0; k <= c.bytes.len; k++) {
        run_cuts(c.bytes.p, c.bytes.len, &k, 1, &d);
        expect_same(&ref, &d, "split at", k);
        drv_free(&d);
    }
    finish(&c, &ref);
}

Test(rtmp_session_split, byte_by_byte_gives_the_same_events_and_replies)
{
    client_t c;
    drv_t ref, d;
    size_t *cuts;

    whole_flow(&c, &ref);
    cuts = malloc(c.bytes.len * sizeof(*cuts));
    cr_assert_not_null(cuts);
    for (size_t k = 0; k + 1 < c.bytes.len; k++)
        cuts[k] = k + 1;
    run_cuts(c.bytes.p, c.bytes.len, cuts, c.bytes.len - 1, &d);
    expect_same(&ref, &d, "byte by byte", 0);
    expect_media_events(&d, 2);
    drv_free(&d);
    free(cuts);
    finish(&c, &ref);
}

Test(rtmp_session_split, one_call_with_everything_gives_the_same_events_and_replies)
{
    client_t c;
    drv_t ref, d;

    whole_flow(&c, &ref);
    run_cuts(c.bytes.p, c.bytes.len, NULL, 0, &d);
    expect_same(&ref, &d, "whole", 0);
    drv_free(&d);
    finish(&c, &ref);
}

/* ---- bytes recorded from FFmpeg 5.1 publishing to rtmp://127.0.0.1/live/key?x=1 ---- */

/* Recorded after the handshake: connect (two chunks at 128), Set Chunk Size 4096, releaseStream,
 * FCPublish, createStream with type-1 headers, publish, @setDataFrame, the avcC and the
 * AudioSpecificConfig; then, from the end of the same recording, end of sequence, FCUnpublish and
 * a deleteStream that starts with a type-3 header (same length and type as FCUnpublish). */
/* connect ... AAC sequence header */
static const uint8_t ffmpeg_head[] = {
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8C, 0x14, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x07, 0x63,
    0x6F, 0x6E, 0x6E, 0x65, 0x63, 0x74, 0x00, 0x3F, 0xF0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
    0x00, 0x03, 0x61, 0x70, 0x70, 0x02, 0x00, 0x04, 0x6C, 0x69, 0x76, 0x65, 0x00, 0x04, 0x74, 0x79,
    0x70, 0x65, 0x02, 0x00, 0x0A, 0x6E, 0x6F, 0x6E, 0x70, 0x72, 0x69, 0x76, 0x61, 0x74, 0x65, 0x00,
    0x08, 0x66, 0x6C, 0x61, 0x73, 0x68, 0x56, 0x65, 0x72, 0x02, 0x00, 0x24, 0x46, 0x4D, 0x4C, 0x45,
    0x2F, 0x33, 0x2E, 0x30, 0x20, 0x28, 0x63, 0x6F, 0x6D, 0x70, 0x61, 0x74, 0x69, 0x62, 0x6C, 0x65,
    0x3B, 0x20, 0x4C, 0x61, 0x76, 0x66, 0x35, 0x39, 0x2E, 0x32, 0x37, 0x2E, 0x31, 0x30, 0x30, 0x29,
    0x00, 0x05, 0x74, 0x63, 0x55, 0x72, 0x6C, 0x02, 0x00, 0x1B, 0x72, 0x74, 0x6D, 0x70, 0x3A, 0x2F,
    0x2F, 0x31, 0x32, 0x37, 0x2E, 0x30, 0x2E, 0x30, 0x2E, 0x31, 0x3A, 0x31, 0xC3, 0x39, 0x33, 0x35,
    0x31, 0x2F, 0x6C, 0x69, 0x76, 0x65, 0x00, 0x00, 0x09, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x43, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24,
    0x14, 0x02, 0x00, 0x0D, 0x72, 0x65, 0x6C, 0x65, 0x61, 0x73, 0x65, 0x53, 0x74, 0x72, 0x65, 0x61,
    0x6D, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x02, 0x00, 0x07, 0x6B, 0x65,
    0x79, 0x3F, 0x78, 0x3D, 0x31, 0x43, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x14, 0x02, 0x00, 0x09,
    0x46, 0x43, 0x50, 0x75, 0x62, 0x6C, 0x69, 0x73, 0x68, 0x00, 0x40, 0x08, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x05, 0x02, 0x00, 0x07, 0x6B, 0x65, 0x79, 0x3F, 0x78, 0x3D, 0x31, 0x43, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x19, 0x14, 0x02, 0x00, 0x0C, 0x63, 0x72, 0x65, 0x61, 0x74, 0x65, 0x53, 0x74,
    0x72, 0x65, 0x61, 0x6D, 0x00, 0x40, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x08, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x25, 0x14, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x07, 0x70, 0x75, 0x62,
    0x6C, 0x69, 0x73, 0x68, 0x00, 0x40, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x02, 0x00,
    0x07, 0x6B, 0x65, 0x79, 0x3F, 0x78, 0x3D, 0x31, 0x02, 0x00, 0x04, 0x6C, 0x69, 0x76, 0x65, 0x04,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x35, 0x12, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x0D, 0x40, 0x73,
    0x65, 0x74, 0x44, 0x61, 0x74, 0x61, 0x46, 0x72, 0x61, 0x6D, 0x65, 0x02, 0x00, 0x0A, 0x6F, 0x6E,
    0x4D, 0x65, 0x74, 0x61, 0x44, 0x61, 0x74, 0x61, 0x08, 0x00, 0x00, 0x00, 0x0D, 0x00, 0x08, 0x64,
    0x75, 0x72, 0x61, 0x74, 0x69, 0x6F, 0x6E, 0x00, 0x3F, 0xF0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x05, 0x77, 0x69, 0x64, 0x74, 0x68, 0x00, 0x40, 0x74, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x06, 0x68, 0x65, 0x69, 0x67, 0x68, 0x74, 0x00, 0x40, 0x6E, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x0D, 0x76, 0x69, 0x64, 0x65, 0x6F, 0x64, 0x61, 0x74, 0x61, 0x72, 0x61, 0x74, 0x65,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x66, 0x72, 0x61, 0x6D, 0x65,
    0x72, 0x61, 0x74, 0x65, 0x00, 0x40, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x76,
    0x69, 0x64, 0x65, 0x6F, 0x63, 0x6F, 0x64, 0x65, 0x63, 0x69, 0x64, 0x00, 0x40, 0x1C, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x0D, 0x61, 0x75, 0x64, 0x69, 0x6F, 0x64, 0x61, 0x74, 0x61, 0x72,
    0x61, 0x74, 0x65, 0x00, 0x40, 0x4F, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0F, 0x61, 0x75,
    0x64, 0x69, 0x6F, 0x73, 0x61, 0x6D, 0x70, 0x6C, 0x65, 0x72, 0x61, 0x74, 0x65, 0x00, 0x40, 0xE5,
    0x88, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0F, 0x61, 0x75, 0x64, 0x69, 0x6F, 0x73, 0x61, 0x6D,
    0x70, 0x6C, 0x65, 0x73, 0x69, 0x7A, 0x65, 0x00, 0x40, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x06, 0x73, 0x74, 0x65, 0x72, 0x65, 0x6F, 0x01, 0x00, 0x00, 0x0C, 0x61, 0x75, 0x64, 0x69,
    0x6F, 0x63, 0x6F, 0x64, 0x65, 0x63, 0x69, 0x64, 0x00, 0x40, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x07, 0x65, 0x6E, 0x63, 0x6F, 0x64, 0x65, 0x72, 0x02, 0x00, 0x0D, 0x4C, 0x61, 0x76,
    0x66, 0x35, 0x39, 0x2E, 0x32, 0x37, 0x2E, 0x31, 0x30, 0x30, 0x00, 0x08, 0x66, 0x69, 0x6C, 0x65,
    0x73, 0x69, 0x7A, 0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
    0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2A, 0x09, 0x01, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x42, 0xC0, 0x0B, 0xFF, 0xE1, 0x00, 0x16, 0x67, 0x42, 0xC0, 0x0B, 0xDA, 0x05, 0x07,
    0xEC, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x05, 0x03, 0xC5, 0x0A, 0xA8, 0x01,
    0x00, 0x04, 0x68, 0xCE, 0x0F, 0xC8, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x08, 0x01, 0x00,
    0x00, 0x00, 0xAF, 0x00, 0x12, 0x08, 0x56, 0xE5, 0x00,
};

/* end of sequence, FCUnpublish, deleteStream */
static const uint8_t ffmpeg_tail[] = {
    0x46, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x09, 0x17, 0x02, 0x00, 0x00, 0x00, 0x43, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x22, 0x14, 0x02, 0x00, 0x0B, 0x46, 0x43, 0x55, 0x6E, 0x70, 0x75,
    0x62, 0x6C, 0x69, 0x73, 0x68, 0x00, 0x40, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
    0x02, 0x00, 0x07, 0x6B, 0x65, 0x79, 0x3F, 0x78, 0x3D, 0x31, 0xC3, 0x02, 0x00, 0x0C, 0x64,
    0x65, 0x6C, 0x65, 0x74, 0x65, 0x53, 0x74, 0x72, 0x65, 0x61, 0x6D, 0x00, 0x40, 0x1C, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x3F, 0xF0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* C0 C1 from the client helper, C2 all zeros, then the recording. */
static void recorded_flow(client_t *c)
{
    client_init(c);
    step_c0c1(c, NULL);
    memset(vec_grow(&c->bytes, RTMP_HS_SIZE), 0, RTMP_HS_SIZE);
    vec_put(&c->bytes, ffmpeg_head, sizeof(ffmpeg_head));
    vec_put(&c->bytes, ffmpeg_tail, sizeof(ffmpeg_tail));
}

Test(rtmp_session_recorded, ffmpeg_publish_gives_every_event)
{
    client_t c;
    drv_t d;

    recorded_flow(&c);
    drv_init(&d, ANSWER_ACCEPT);
    cr_assert_eq(client_flush(&c, &d), 0, "%s", d.error ? d.error : "");
    cr_assert_eq(d.nev, 6);
    cr_expect_eq(d.ev[0].type, RTMP_EV_PUBLISH);
    cr_expect_str_eq(d.ev[0].app, "live");
    cr_expect_str_eq(d.ev[0].name, "key?x=1");
    cr_assert_eq(d.ev[1].type, RTMP_EV_METADATA);
    cr_expect_eq(d.ev[1].meta.width, 320);
    cr_expect_eq(d.ev[1].meta.height, 240);
    cr_expect_eq(d.ev[1].meta.audiosamplerate, 44100);
    cr_expect_eq(d.ev[1].meta.audiocodecid, 10);
    cr_expect_eq(d.ev[1].meta.stereo, 0, "the boolean false: the recorded sine tone is mono");
    expect_event(&d, 2, RTMP_EV_VIDEO, 0, 42);
    cr_expect(!memcmp(d.ev[2].data, (uint8_t[]){ 0x17, 0x00, 0x00, 0x00, 0x00, 0x01 }, 6));
    expect_event(&d, 3, RTMP_EV_AUDIO, 0, 7);
    cr_expect(!memcmp(d.ev[3].data, (uint8_t[]){ 0xAF, 0x00, 0x12, 0x08 }, 4));
    expect_event(&d, 4, RTMP_EV_VIDEO, 0, 5);
    cr_expect(!memcmp(d.ev[4].data, (uint8_t[]){ 0x17, 0x02, 0x00, 0x00, 0x00 }, 5));
    cr_expect_eq(d.ev[5].type, RTMP_EV_UNPUBLISH);
    cr_expect_eq(d.s.state, RTMP_ST_CONNECTED);
    finish(&c, &d);
}

Test(rtmp_session_recorded, ffmpeg_replies_are_what_it_waits_for)
{
    replies_t r;
    reply_fields_t f;
    client_t c;
    drv_t d;
    int i;

    recorded_flow(&c);
    drv_init(&d, ANSWER_ACCEPT);
    cr_assert_eq(client_flush(&c, &d), 0);
    decode_replies(&d, &r);
    i = find_reply(&r, 0, RTMP_MSG_CMD_AMF0, "_result");
    cr_assert_geq(i, 0);
    decode_fields(&r.r[i], connect_result_elts, 4, &f);
    cr_expect_str_eq(f.code, "NetConnection.Connect.Success");
    i = find_reply(&r, (size_t)i + 1, RTMP_MSG_CMD_AMF0, "_result"); /* releaseStream */
    i = find_reply(&r, (size_t)i + 1, RTMP_MSG_CMD_AMF0, "_result"); /* createStream */
    cr_assert_geq(i, 0);
    decode_fields(&r.r[i], result_elts, 4, &f);
    cr_expect_eq(f.tid, 4);
    cr_expect_eq(f.number, 1);
    expect_status(&r, find_reply(&r, 0, RTMP_MSG_CMD_AMF0, "onStatus"), "status",
                  "NetStream.Publish.Start", 1);
    replies_free(&r);
    finish(&c, &d);
}

Test(rtmp_session_recorded, every_split_point_gives_the_same_events_and_replies)
{
    client_t c;
    drv_t ref, d;

    recorded_flow(&c);
    run_cuts(c.bytes.p, c.bytes.len, NULL, 0, &ref);
    cr_assert_eq(ref.nev, 6);
    for (size_t k = 0; k <= c.bytes.len; k++) {
        run_cuts(c.bytes.p, c.bytes.len, &k, 1, &d);
        expect_same(&ref, &d, "split at", k);
        drv_free(&d);
    }
    finish(&c, &ref);
}

/* ---- refusing a publish ---- */

Test(rtmp_session_reject, reject_sends_error_status_and_closes)
{
    replies_t r;
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_REJECT, S_METADATA);
    cr_expect_eq(d.s.state, RTMP_ST_CLOSING);
    decode_replies(&d, &r);
    cr_assert_eq(r.n, 8);
    cr_assert_str_eq(r.r[7].cmd, "onStatus");
    expect_status(&r, 7, "error", "NetStream.Publish.BadName", 1);
    replies_free(&r);
    finish(&c, &d);
}

Test(rtmp_session_reject, closing_session_consumes_the_rest_silently)
{
    client_t c;
    drv_t d;
    size_t out_len;

    start(&c, &d, ANSWER_REJECT, S_METADATA);
    out_len = d.out.len;
    run_steps(&c, &d, S_METADATA, S_ALL);
    cr_expect_eq(d.nev, 1, "nothing after the rejected publish");
    cr_expect_eq(d.out.len, out_len, "no reply after the rejection");
    cr_expect_eq(d.s.state, RTMP_ST_CLOSING);
    finish(&c, &d);
}

/* ---- media and metadata before the publish is accepted ---- */

Test(rtmp_session_media, media_before_publish_accepted_is_not_delivered)
{
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_LATER, S_MEDIA);
    run_steps(&c, &d, S_MEDIA, S_MEDIA + 1);
    for (size_t i = 0; i < d.nev; i++)
        cr_expect(d.ev[i].type != RTMP_EV_AUDIO && d.ev[i].type != RTMP_EV_VIDEO);
    cr_assert_eq(rtmp_session_publish_accept(&d.s), 0);
    drain(&d);
    run_steps(&c, &d, S_MEDIA, S_MEDIA + 1);
    cr_assert_eq(d.nev, 8, "PUBLISH, METADATA, then the second batch of media");
    expect_media_events(&d, 2);
    finish(&c, &d);
}

Test(rtmp_session_media, media_without_publish_is_not_delivered)
{
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_PUBLISH);
    run_steps(&c, &d, S_METADATA, S_MEDIA + 1);
    cr_expect_eq(d.nev, 0);
    finish(&c, &d);
}

Test(rtmp_session_media, amf3_data_message_metadata_is_read)
{
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_METADATA);
    client_metadata_as(&c, RTMP_MSG_DATA_AMF3);
    cr_assert_eq(client_flush(&c, &d), 0);
    cr_assert_eq(d.nev, 2);
    cr_assert_eq(d.ev[1].type, RTMP_EV_METADATA);
    cr_expect_eq(d.ev[1].meta.width, 320);
    finish(&c, &d);
}

/* ---- command order errors ---- */

Test(rtmp_session_errors, publish_before_connect_is_an_error)
{
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_CONNECT);
    step_publish(&c, &d);
    cr_expect_eq(client_flush(&c, &d), -EPROTO);
    cr_expect_str_eq(d.error, "publish before connect");
    cr_expect_eq(d.nev, 0);
    finish(&c, &d);
}

Test(rtmp_session_errors, connect_twice_is_an_error)
{
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_CREATE);
    client_connect_as(&c, RTMP_MSG_CMD_AMF0, 2);
    cr_expect_eq(client_flush(&c, &d), -EPROTO);
    cr_expect_str_eq(d.error, "connect sent twice");
    finish(&c, &d);
}

Test(rtmp_session_errors, publish_twice_is_an_error)
{
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_METADATA);
    step_publish(&c, &d);
    cr_expect_eq(client_flush(&c, &d), -EPROTO);
    cr_expect_str_eq(d.error, "publish twice");
    finish(&c, &d);
}

Test(rtmp_session_errors, accept_without_a_pending_publish_is_einval)
{
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_PUBLISH);
    cr_expect_eq(rtmp_session_publish_accept(&d.s), -EINVAL);
    cr_expect_eq(d.s.state, RTMP_ST_CONNECTED);
    finish(&c, &d);
}

Test(rtmp_session_errors, broken_chunk_stream_is_an_error)
{
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_CONNECT);
    vec_put(&c.bytes, (uint8_t[]){ 0x45 }, 1); /* type 1 header on a chunk stream never opened */
    cr_expect_eq(client_flush(&c, &d), -EPROTO);
    cr_expect_not_null(d.error);
    finish(&c, &d);
}

/* ---- protocol control ---- */

/* The Acknowledgements a client should see (5.4.3): one each time the bytes read since the last
 * one reach the window, carrying the count of every byte read after the handshake. */
typedef struct acker_s {
    uint32_t window;
    uint64_t last; /* sequence number of the last Acknowledgement */
    size_t acks;
} acker_t;

static int last_reply(const replies_t *r, uint8_t type)
{
    int last = -1;

    for (int i = find_reply(r, 0, type, NULL); i >= 0; i = find_reply(r, (size_t)i + 1, type, NULL))
        last = i;
    return last;
}

/* Sends 112-byte audio messages (dropped: nothing is published) one flush each, until the client
 * has sent n bytes after the handshake, checking the Acknowledgements after every message. */
static void send_audio_until(client_t *c, drv_t *d, size_t n, acker_t *a)
{
    static const uint8_t head[] = { 0xAF, 0x01 };
    replies_t r;
    size_t total;

    while (c->bytes.len - HS_IN_LEN < n) {
        client_media(c, RTMP_MSG_AUDIO, 0, head, sizeof(head), 100, 0);
        cr_assert_eq(client_flush(c, d), 0);
        total = c->bytes.len - HS_IN_LEN;
        decode_replies(d, &r);
        if (a->window && total - a->last >= a->window) {
            a->acks++;
            a->last = total;
            cr_assert_eq(count_replies(&r, RTMP_MSG_ACK), a->acks, "an Acknowledgement at %zu",
                         total);
            cr_expect_eq(be32(r.r[last_reply(&r, RTMP_MSG_ACK)].copy), total);
        } else {
            cr_assert_eq(count_replies(&r, RTMP_MSG_ACK), a->acks, "none yet at %zu", total);
        }
        replies_free(&r);
    }
}

Test(rtmp_session_control, window_ack_size_makes_the_session_acknowledge)
{
    acker_t a = { .window = 1000 };
    uint8_t p[4];
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_CREATE);
    client_ctl(&c, RTMP_MSG_WINDOW_ACK_SIZE, p, rtmp_ctl_u32(p, a.window));
    cr_assert_eq(client_flush(&c, &d), 0);
    send_audio_until(&c, &d, 3500, &a);
    cr_expect_eq(a.acks, 3);
    finish(&c, &d);
}

Test(rtmp_session_control, no_acknowledgement_without_a_window)
{
    acker_t a = { .window = 0 };
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_CREATE);
    send_audio_until(&c, &d, 5000, &a);
    finish(&c, &d);
}

Test(rtmp_session_control, ping_request_gets_ping_response)
{
    uint8_t p[6];
    replies_t r;
    client_t c;
    drv_t d;
    int i;

    start(&c, &d, ANSWER_ACCEPT, S_CREATE);
    client_ctl(&c, RTMP_MSG_USER_CONTROL, p, rtmp_ctl_user(p, 6, 0x01020304));
    client_ctl(&c, RTMP_MSG_USER_CONTROL, p, rtmp_ctl_user(p, 3, 1)); /* Set Buffer Length */
    cr_assert_eq(client_flush(&c, &d), 0);
    decode_replies(&d, &r);
    i = find_reply(&r, 0, RTMP_MSG_USER_CONTROL, NULL);
    cr_assert_geq(i, 0, "no ping response");
    cr_expect_eq(r.r[i].m.csid, 2);
    cr_assert_eq(r.r[i].m.len, 6);
    cr_expect(!memcmp(r.r[i].copy, (uint8_t[]){ 0, 7, 1, 2, 3, 4 }, 6), "Ping Response (7.1.7)");
    cr_expect_eq(count_replies(&r, RTMP_MSG_USER_CONTROL), 1, "other events get no answer");
    replies_free(&r);
    finish(&c, &d);
}

Test(rtmp_session_control, bad_set_chunk_size_is_an_error)
{
    uint8_t p[4];
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_CREATE);
    client_ctl(&c, RTMP_MSG_SET_CHUNK_SIZE, p, rtmp_ctl_u32(p, 0));
    cr_expect_eq(client_flush(&c, &d), -ERANGE);
    cr_expect_not_null(d.error);
    finish(&c, &d);
}

Test(rtmp_session_control, play_gets_play_failed_and_closes)
{
    replies_t r;
    client_t c;
    drv_t d;

    start(&c, &d, ANSWER_ACCEPT, S_PUBLISH);
    client_str_cmd(&c, CSID_SOURCE, 1, "play", 5, STREAM, NULL);
    cr_assert_eq(client_flush(&c, &d), 0);
    cr_expect_eq(d.s.state, RTMP_ST_CLOSING);
    decode_replies(&d, &r);
    cr_assert_str_eq(r.r[r.n - 1].cmd, "onStatus");
    expect_status(&r, (int)r.n - 1, "error", "NetStream.Play.Failed", 1);
    replies_free(&r);
    finish(&c, &d);
}

/* ---- output limits ---- */

Test(rtmp_session_limits, reply_backlog_over_max_out_is_an_error)
{
    rtmp_session_limits_t lim = default_lim;
    client_t c;
    drv_t d;

    lim.max_out = HS_OUT_LEN + 64; /* room for the control messages, not for _result */
    client_init(&c);
    drv_init_lim(&d, &lim, ANSWER_ACCEPT);
    d.keep_out = 1;
    run_steps(&c, &d, S_C0C1, S_C0C1 + 1);
    vec_put(&d.out, d.s.out, d.s.out_len); /* S1 for C2, the output left in place */
    run_steps(&c, &d, S_C2, S_C2 + 1);
    step_connect(&c, &d);
    cr_expect_eq(client_flush(&c, &d), -ENOSPC);
    cr_expect_not_null(d.error);
    cr_expect_leq(d.s.out_len, lim.max_out);
    finish(&c, &d);
}

Test(rtmp_session_limits, handshake_reply_over_max_out_is_an_error)
{
    rtmp_session_limits_t lim = default_lim;
    client_t c;
    drv_t d;

    lim.max_out = HS_OUT_LEN - 1;
    client_init(&c);
    drv_init_lim(&d, &lim, ANSWER_ACCEPT);
    step_c0c1(&c, &d);
    cr_expect_eq(client_flush(&c, &d), -ENOSPC);
    finish(&c, &d);
}

Test(rtmp_session_limits, consumed_output_makes_room_again)
{
    rtmp_session_limits_t lim = default_lim;
    uint8_t p[6];
    client_t c;
    drv_t d;

    lim.max_out = HS_OUT_LEN + 512;
    client_init(&c);
    drv_init_lim(&d, &lim, ANSWER_ACCEPT);
    run_steps(&c, &d, 0, S_CREATE); /* drained as it goes */
    for (int i = 0; i < 200; i++)
        client_ctl(&c, RTMP_MSG_USER_CONTROL, p, rtmp_ctl_user(p, 6, (uint32_t)i));
    cr_expect_eq(client_flush(&c, &d), 0, "200 ping responses, each written out in turn");
    finish(&c, &d);
}

/* ---- commands we do not serve, and AMF3 framing ---- */

Test(rtmp_session_commands, unknown_commands_are_ignored)
{
    replies_t r;
    client_t c;
    drv_t d;
    size_t n;

    start(&c, &d, ANSWER_ACCEPT, S_CREATE);
    decode_replies(&d, &r);
    n = r.n;
    replies_free(&r);
    client_str_cmd(&c, CSID_SYSTEM, 0, "_checkbw", 2, NULL, NULL);
    client_str_cmd(&c, CSID_SYSTEM, 0, "getStreamLength", 3, STREAM, NULL);
    client_str_cmd(&c, CSID_SYSTEM, 0, "noSuchCommand", 4, "x", "y");
    cr_assert_eq(client_flush(&c, &d), 0);
    decode_replies(&d, &r);
    cr_expect_eq(r.n, n, "no reply");
    cr_expect_eq(d.nev, 0);
    replies_free(&r);
    run_steps(&c, &d, S_CREATE, S_METADATA);
    cr_expect_eq(d.nev, 1, "the publish still goes through");
    finish(&c, &d);
}

Test(rtmp_session_commands, amf3_commands_with_leading_zero_byte_work)
{
    replies_t r;
    reply_fields_t f;
    client_t c;
    drv_t d;
    int i;

    start(&c, &d, ANSWER_ACCEPT, S_CONNECT);
    client_connect_as(&c, RTMP_MSG_CMD_AMF3, 1);
    client_str_cmd_as(&c, RTMP_MSG_CMD_AMF3, CSID_SOURCE, 1, "publish", 2, STREAM, "live");
    cr_assert_eq(client_flush(&c, &d), 0);
    decode_replies(&d, &r);
    i = find_reply(&r, 0, RTMP_MSG_CMD_AMF0, "_result");
    cr_assert_geq(i, 0);
    decode_fields(&r.r[i], connect_result_elts, 4, &f);
    cr_expect_str_eq(f.code, "NetConnection.Connect.Success");
    cr_assert_eq(d.nev, 1);
    cr_expect_eq(d.ev[0].type, RTMP_EV_PUBLISH);
    cr_expect_str_eq(d.ev[0].name, STREAM);
    replies_free(&r);
    finish(&c, &d);
}
