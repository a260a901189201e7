/* RTMP chunk stream: reassemble messages from chunks, and split messages into chunks.
 *
 * Invariants: r->buffered is the sum of s->got over the streams with a message in progress and
 * never exceeds lim.max_buffered; r->hdr collects one chunk header (basic, message header and
 * extended timestamp, at most 3 + 11 + 4 bytes); a stream's buffer grows only when payload bytes
 * arrive, and never past the length of the message it is growing for. */
#include "proto/rtmp_chunk.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define TS_EXTENDED 0xFFFFFF /* 24-bit timestamp value that announces 4 more bytes (5.3.1.3) */
#define MAX_LEN24   0xFFFFFF /* message length is a 24-bit field (5.3.1.2.1) */
#define MAX_CSID    65599    /* 3-byte basic header: 64 + 0xFFFF (5.3.1.1) */
#define MIN_BUF     4096     /* first allocation when payload starts, however long the message */
#define RETAIN_BUF  65536    /* buffers larger than this are freed after delivery, not kept */

enum { ST_BASIC, ST_MSGHDR, ST_EXT, ST_PAYLOAD }; /* negative states: sticky error codes */

struct rtmp_chunk_stream_s {
    uint32_t csid;
    uint32_t timestamp; /* absolute, of the current or last message */
    uint32_t delta;     /* what a type-3 chunk starting a new message adds (5.3.1.2.4) */
    uint32_t len;
    uint32_t stream_id;
    uint8_t type;
    uint8_t ext;    /* last type 0/1/2 header had an extended timestamp: type-3 chunks repeat it */
    uint8_t active; /* a message is in progress: type-3 chunks continue it */
    uint32_t got;   /* payload bytes of the current message received so far */
    uint32_t chunk_left; /* payload bytes left in the chunk being read */
    uint32_t cap;
    uint8_t *buf;
};

/* Type 0, 1, 2, 3 message header sizes (5.3.1.2). */
static const uint8_t msg_hdr_len[4] = { 11, 7, 3, 0 };

static const char *const unknown_stream_error[4] = { "", "fmt 1 on unknown chunk stream",
                                                     "fmt 2 on unknown chunk stream",
                                                     "fmt 3 on unknown chunk stream" };

static uint32_t rd_be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t rd_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | rd_be24(p + 1);
}

static uint32_t rd_le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint8_t *wr_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v & 0xFF;
    return p + 2;
}

static uint8_t *wr_be24(uint8_t *p, uint32_t v)
{
    p[0] = (v >> 16) & 0xFF;
    return wr_be16(p + 1, v & 0xFFFF);
}

static uint8_t *wr_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    return wr_be24(p + 1, v & 0xFFFFFF);
}

static uint8_t *wr_le32(uint8_t *p, uint32_t v)
{
    p[0] = v & 0xFF;
    p[1] = (v >> 8) & 0xFF;
    p[2] = (v >> 16) & 0xFF;
    p[3] = v >> 24;
    return p + 4;
}

static int set_error(rtmp_chunk_reader_t *r, int err, const char *why)
{
    r->error = why;
    return err;
}

/* Basic header length from its first byte: csid 0 and 1 announce the 2- and 3-byte forms. */
static uint32_t basic_len(uint8_t b0)
{
    switch (b0 & 0x3F) {
    case 0: return 2;
    case 1: return 3;
    default: return 1;
    }
}

static uint32_t basic_csid(const uint8_t *h)
{
    switch (h[0] & 0x3F) {
    case 0: return 64 + (uint32_t)h[1];
    case 1: return 64 + (uint32_t)h[1] + 256 * (uint32_t)h[2];
    default: return h[0] & 0x3F;
    }
}

static rtmp_chunk_stream_t *find_stream(rtmp_chunk_reader_t *r, uint32_t csid)
{
    for (uint32_t i = 0; i < r->nstreams; i++) {
        if (r->streams[i].csid == csid)
            return &r->streams[i];
    }
    return NULL;
}

/* Moves r->streams: callers must not hold stream pointers across this call. */
static int add_stream(rtmp_chunk_reader_t *r, uint32_t csid, rtmp_chunk_stream_t **out)
{
    rtmp_chunk_stream_t *v;
    uint32_t n = r->nstreams;

    if (n >= r->lim.max_streams)
        return set_error(r, -EMFILE, "too many chunk streams");
    /* The capacity is implicit: 4, then doubled whenever the count reaches a power of two. */
    if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
        v = realloc(r->streams, (n ? 2 * (size_t)n : 4) * sizeof(*v));
        if (!v)
            return set_error(r, -ENOMEM, "out of memory");
        r->streams = v;
    }
    memset(&r->streams[n], 0, sizeof(r->streams[n]));
    r->streams[n].csid = csid;
    r->nstreams++;
    *out = &r->streams[n];
    return 0;
}

/* Geometric growth from MIN_BUF, capped at the message length: a peer that announces 16 MB and
 * sends 10 bytes costs MIN_BUF at most. */
static int grow(rtmp_chunk_stream_t *s, uint32_t need)
{
    uint32_t cap = s->cap ? 2 * s->cap : MIN_BUF; /* no overflow: cap <= MAX_LEN24 */
    uint8_t *p;

    if (need <= s->cap)
        return 0;
    if (cap < need)
        cap = need;
    if (cap > s->len)
        cap = s->len;
    p = realloc(s->buf, cap);
    if (!p)
        return -ENOMEM;
    s->buf = p;
    s->cap = cap;
    return 0;
}

static void drop_partial(rtmp_chunk_reader_t *r, rtmp_chunk_stream_t *s)
{
    r->buffered -= s->got;
    s->got = 0;
    s->active = 0;
}

static void next_header(rtmp_chunk_reader_t *r)
{
    r->state = ST_BASIC;
    r->hdr_len = 0;
    r->hdr_need = 1;
}

static void deliver(rtmp_chunk_reader_t *r, rtmp_chunk_stream_t *s, rtmp_msg_t *msg, int *got)
{
    msg->csid = s->csid;
    msg->type = s->type;
    msg->stream_id = s->stream_id;
    msg->timestamp = s->timestamp;
    msg->len = s->len;
    /* Never NULL, so a caller may memcpy a zero-length payload without undefined behaviour. */
    msg->data = s->buf ? s->buf : r->hdr;
    drop_partial(r, s);
    r->delivered_csid = s->csid;
    *got = 1;
    next_header(r);
}

/* The last call handed out a stream's buffer; a big one is not worth keeping for reuse. */
static void release_delivered(rtmp_chunk_reader_t *r)
{
    rtmp_chunk_stream_t *s;

    if (!r->delivered_csid)
        return;
    s = find_stream(r, r->delivered_csid);
    r->delivered_csid = 0;
    if (s && !s->active && s->cap > RETAIN_BUF) {
        free(s->buf);
        s->buf = NULL;
        s->cap = 0;
    }
}

/* Basic header (5.3.1.1) complete, or its first byte asks for one or two more. */
static int on_basic(rtmp_chunk_reader_t *r)
{
    uint32_t fmt = r->hdr[0] >> 6, blen = basic_len(r->hdr[0]);
    rtmp_chunk_stream_t *s;
    int rc;

    if (r->hdr_need < blen) {
        r->hdr_need = blen;
        return 0;
    }
    s = find_stream(r, basic_csid(r->hdr));
    /* Types 1-3 take fields from an earlier chunk of the same stream: there must be one. */
    if (!s && fmt != 0)
        return set_error(r, -EPROTO, unknown_stream_error[fmt]);
    if (!s && (rc = add_stream(r, basic_csid(r->hdr), &s)) < 0)
        return rc;
    r->cur = s;
    r->hdr_need += msg_hdr_len[fmt];
    r->state = ST_MSGHDR;
    return 0;
}

/* Message header complete: 4 more bytes follow if its timestamp field is 0xFFFFFF, or, on a
 * type-3 chunk, if the header it inherits from had one (5.3.1.3). The spec leaves the type-3
 * case unclear; FFmpeg and OBS send the 4 bytes there, so we read them. */
static void on_msghdr(rtmp_chunk_reader_t *r)
{
    const uint8_t *p = r->hdr + basic_len(r->hdr[0]);
    uint32_t fmt = r->hdr[0] >> 6;

    if (fmt < 3 ? rd_be24(p) == TS_EXTENDED : r->cur->ext)
        r->hdr_need += 4;
    r->state = ST_EXT;
}

/* Type 0, 1, 2 fields (5.3.1.2.1-3). Timestamps are modulo 2^32 (section 4). */
static int apply_fields(rtmp_chunk_reader_t *r, rtmp_chunk_stream_t *s, uint32_t fmt)
{
    const uint8_t *p = r->hdr + basic_len(r->hdr[0]);
    uint32_t ts = rd_be24(p);

    s->ext = ts == TS_EXTENDED;
    if (s->ext)
        ts = rd_be32(r->hdr + r->hdr_need - 4);
    if (fmt <= 1 && rd_be24(p + 3) > r->lim.max_message)
        return set_error(r, -EMSGSIZE, "message too large");
    if (fmt <= 1) {
        s->len = rd_be24(p + 3);
        s->type = p[6];
    }
    if (fmt == 0)
        s->stream_id = rd_le32(p + 7);
    s->timestamp = fmt == 0 ? ts : s->timestamp + ts;
    /* After a type-0 chunk, a type-3 one that starts a message adds the type-0 timestamp. */
    s->delta = ts;
    return 0;
}

/* Whole chunk header read: start or continue the stream's message and read the payload. */
static int on_header(rtmp_chunk_reader_t *r, rtmp_msg_t *msg, int *got)
{
    rtmp_chunk_stream_t *s = r->cur;
    uint32_t fmt = r->hdr[0] >> 6;
    int rc;

    /* A full header in mid-message: the sender gave up on the old one without an Abort. Drop
     * it, as FFmpeg's reader does, rather than fail a publisher over it. */
    if (fmt < 3 && s->active)
        drop_partial(r, s);
    if (fmt < 3 && (rc = apply_fields(r, s, fmt)) < 0)
        return rc;
    if (fmt == 3 && !s->active) {
        if (s->ext)
            s->delta = rd_be32(r->hdr + r->hdr_need - 4);
        s->timestamp += s->delta;
    }
    s->active = 1;
    s->chunk_left = s->len - s->got < r->chunk_size ? s->len - s->got : r->chunk_size;
    r->state = ST_PAYLOAD;
    if (s->got == s->len)
        deliver(r, s, msg, got); /* zero-length message: no payload follows */
    return 0;
}

static int read_payload(rtmp_chunk_reader_t *r, const uint8_t *p, size_t n, rtmp_msg_t *msg,
                        int *got)
{
    rtmp_chunk_stream_t *s = r->cur;
    uint32_t take = n < s->chunk_left ? (uint32_t)n : s->chunk_left;

    /* !s->active: an Abort came in mid-chunk, so the rest of this chunk is skipped. */
    if (s->active && take > r->lim.max_buffered - r->buffered)
        return set_error(r, -EMSGSIZE, "too many bytes buffered");
    if (s->active && grow(s, s->got + take) < 0)
        return set_error(r, -ENOMEM, "out of memory");
    if (s->active) {
        memcpy(s->buf + s->got, p, take);
        s->got += take;
        r->buffered += take;
    }
    s->chunk_left -= take;
    if (s->chunk_left == 0 && s->active && s->got == s->len)
        deliver(r, s, msg, got);
    else if (s->chunk_left == 0)
        next_header(r);
    return (int)take;
}

static int header_step(rtmp_chunk_reader_t *r, rtmp_msg_t *msg, int *got)
{
    switch (r->state) {
    case ST_BASIC: return on_basic(r);
    case ST_MSGHDR: on_msghdr(r); return 0;
    case ST_EXT: return on_header(r, msg, got);
    default: return set_error(r, -EINVAL, "reader not initialised");
    }
}

void rtmp_chunk_reader_init(rtmp_chunk_reader_t *r, const rtmp_chunk_limits_t *lim)
{
    memset(r, 0, sizeof(*r));
    r->lim = *lim;
    r->chunk_size = RTMP_DEFAULT_CHUNK_SIZE;
    next_header(r);
}

void rtmp_chunk_reader_free(rtmp_chunk_reader_t *r)
{
    for (uint32_t i = 0; i < r->nstreams; i++)
        free(r->streams[i].buf);
    free(r->streams);
    r->streams = NULL;
    r->nstreams = 0;
    r->buffered = 0;
    r->cur = NULL;
    r->delivered_csid = 0;
}

int rtmp_chunk_read(rtmp_chunk_reader_t *r, const uint8_t *buf, size_t len, rtmp_msg_t *msg,
                    int *got)
{
    size_t off = 0, take;
    int rc = 0;

    *got = 0;
    if (r->state < 0)
        return r->state; /* sticky: the stream is out of sync after an error */
    release_delivered(r);
    len = len > INT_MAX ? INT_MAX : len;
    while (!*got) {
        if (r->state == ST_PAYLOAD && off < len) {
            if ((rc = read_payload(r, buf + off, len - off, msg, got)) < 0)
                goto fail;
            off += (size_t)rc;
        } else if (r->state != ST_PAYLOAD && r->hdr_len == r->hdr_need) {
            if ((rc = header_step(r, msg, got)) < 0)
                goto fail;
        } else if (r->state != ST_PAYLOAD && off < len) {
            take = r->hdr_need - r->hdr_len < len - off ? r->hdr_need - r->hdr_len : len - off;
            memcpy(r->hdr + r->hdr_len, buf + off, take);
            r->hdr_len += (uint32_t)take;
            off += take;
        } else {
            break; /* out of input */
        }
    }
    r->bytes_in += off;
    return (int)off;
fail:
    r->bytes_in += off;
    r->state = rc;
    return rc;
}

int rtmp_chunk_set_size(rtmp_chunk_reader_t *r, uint32_t size)
{
    /* 5.4.1: the top bit must be zero. Above RTMP_MAX_CHUNK_SIZE we refuse too: no real peer
     * needs it, and a huge size only helps a peer make us hold a huge chunk. */
    if (size < RTMP_MIN_CHUNK_SIZE || (size & 0x80000000u) || size > RTMP_MAX_CHUNK_SIZE)
        return set_error(r, -ERANGE, "chunk size out of range");
    r->chunk_size = size;
    return 0;
}

void rtmp_chunk_abort(rtmp_chunk_reader_t *r, uint32_t csid)
{
    rtmp_chunk_stream_t *s = find_stream(r, csid);

    if (s && s->active)
        drop_partial(r, s);
}

static uint32_t basic_len_for(uint32_t csid)
{
    return csid < 64 ? 1 : csid < 320 ? 2 : 3;
}

static uint8_t *put_basic(uint8_t *p, uint8_t fmt, uint32_t csid)
{
    if (csid < 64) {
        *p++ = (uint8_t)(fmt << 6 | csid);
    } else if (csid < 320) {
        *p++ = (uint8_t)(fmt << 6);
        *p++ = (uint8_t)(csid - 64);
    } else {
        *p++ = (uint8_t)(fmt << 6 | 1);
        *p++ = (uint8_t)((csid - 64) & 0xFF);
        *p++ = (uint8_t)((csid - 64) >> 8);
    }
    return p;
}

/* Type-0 header on the first chunk, type 3 on the rest; the extended timestamp is repeated on
 * every chunk, as FFmpeg and OBS expect (5.3.1.3). */
static uint8_t *put_header(uint8_t *p, const rtmp_msg_t *msg, int first)
{
    int ext = msg->timestamp >= TS_EXTENDED;

    p = put_basic(p, first ? 0 : 3, msg->csid);
    if (first) {
        p = wr_be24(p, ext ? TS_EXTENDED : msg->timestamp);
        p = wr_be24(p, msg->len);
        *p++ = msg->type;
        p = wr_le32(p, msg->stream_id);
    }
    if (ext)
        p = wr_be32(p, msg->timestamp);
    return p;
}

size_t rtmp_chunk_write_bound(const rtmp_msg_t *msg, uint32_t chunk_size)
{
    size_t nchunks, per_chunk;

    if (chunk_size == 0)
        return 0;
    nchunks = msg->len == 0 ? 1 : ((size_t)msg->len + chunk_size - 1) / chunk_size;
    per_chunk = basic_len_for(msg->csid) + (msg->timestamp >= TS_EXTENDED ? 4 : 0);
    return nchunks * per_chunk + msg_hdr_len[0] + msg->len;
}

int rtmp_chunk_write(uint8_t *out, size_t cap, uint32_t chunk_size, const rtmp_msg_t *msg)
{
    uint32_t off = 0, n;
    uint8_t *p = out;

    if (chunk_size == 0 || msg->csid < 2 || msg->csid > MAX_CSID || msg->len > MAX_LEN24)
        return -EINVAL;
    /* The bound fits an int: at most 2^24 one-byte chunks of 8 bytes, plus the type-0 header. */
    if (rtmp_chunk_write_bound(msg, chunk_size) > cap)
        return -ENOSPC;
    do {
        p = put_header(p, msg, off == 0);
        n = msg->len - off < chunk_size ? msg->len - off : chunk_size;
        if (n)
            memcpy(p, msg->data + off, n);
        p += n;
        off += n;
    } while (off < msg->len);
    return (int)(p - out);
}

size_t rtmp_ctl_u32(uint8_t *p, uint32_t v)
{
    wr_be32(p, v);
    return 4;
}

size_t rtmp_ctl_peer_bw(uint8_t *p, uint32_t window, uint8_t limit)
{
    wr_be32(p, window);
    p[4] = limit; /* 5.4.5: 0 hard, 1 soft, 2 dynamic */
    return 5;
}

size_t rtmp_ctl_user(uint8_t *p, uint16_t event, uint32_t value)
{
    wr_be32(wr_be16(p, event), value); /* 6.2: event type, then its 4-byte data */
    return 6;
}
