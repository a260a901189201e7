/* RTMP chunk stream: reassemble messages from chunks, and split messages into chunks.
 *
 * RTMP spec 1.0 section 5.3. The reader is a byte-level state machine: it consumes every byte it
 * is given up to the end of a message, keeps partial headers internally (at most 18 bytes), and
 * can resume at any split point. Memory is bounded: at most limits.max_streams chunk streams are
 * tracked and the payload bytes of all partial messages together never exceed
 * limits.max_buffered. Payload buffers grow as bytes arrive, never on a peer's declared length,
 * so a header that announces 16 MB costs nothing until 16 MB arrive. */
#ifndef PROTO_RTMP_CHUNK_H
#define PROTO_RTMP_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#define RTMP_DEFAULT_CHUNK_SIZE 128
#define RTMP_MIN_CHUNK_SIZE     1
#define RTMP_MAX_CHUNK_SIZE     0xFFFFFF /* spec allows 2^31-1; clamp: larger sizes are errors */

/* Message type ids, section 5.4 and 7.1. */
enum {
    RTMP_MSG_SET_CHUNK_SIZE = 1,
    RTMP_MSG_ABORT = 2,
    RTMP_MSG_ACK = 3,
    RTMP_MSG_USER_CONTROL = 4,
    RTMP_MSG_WINDOW_ACK_SIZE = 5,
    RTMP_MSG_SET_PEER_BW = 6,
    RTMP_MSG_AUDIO = 8,
    RTMP_MSG_VIDEO = 9,
    RTMP_MSG_DATA_AMF3 = 15,
    RTMP_MSG_SHARED_OBJ_AMF3 = 16,
    RTMP_MSG_CMD_AMF3 = 17,
    RTMP_MSG_DATA_AMF0 = 18,
    RTMP_MSG_SHARED_OBJ_AMF0 = 19,
    RTMP_MSG_CMD_AMF0 = 20,
    RTMP_MSG_AGGREGATE = 22,
};

typedef struct rtmp_chunk_limits_s {
    uint32_t max_message; /* largest message length accepted, bytes */
    uint32_t max_streams; /* most distinct chunk stream ids tracked at once */
    size_t max_buffered;  /* payload bytes of all partial messages together */
} rtmp_chunk_limits_t;

typedef struct rtmp_msg_s {
    uint32_t csid;
    uint8_t type;
    uint32_t stream_id; /* message stream id (little-endian on the wire, section 5.3.1.2.1) */
    uint32_t timestamp; /* absolute, milliseconds, wraps at 2^32 */
    uint32_t len;
    uint8_t *data; /* borrowed: valid until the next call to rtmp_chunk_read */
} rtmp_msg_t;

typedef struct rtmp_chunk_stream_s rtmp_chunk_stream_t; /* per-csid state, private */

typedef struct rtmp_chunk_reader_s {
    rtmp_chunk_limits_t lim;
    uint32_t chunk_size; /* incoming chunk size, set by the peer's Set Chunk Size */
    uint64_t bytes_in;   /* total bytes consumed, for Acknowledgement (section 5.4.3) */
    const char *error;   /* static text naming the reason of the last negative return */
    /* private below */
    rtmp_chunk_stream_t *streams;
    uint32_t nstreams;
    size_t buffered;
    int state;
    uint8_t hdr[18];
    uint32_t hdr_len, hdr_need;
    rtmp_chunk_stream_t *cur;
    uint32_t delivered_csid; /* stream whose payload was handed out last, reset on next read */
} rtmp_chunk_reader_t;

void rtmp_chunk_reader_init(rtmp_chunk_reader_t *r, const rtmp_chunk_limits_t *lim);
void rtmp_chunk_reader_free(rtmp_chunk_reader_t *r); /* frees buffers; r may be reused after init */

/* Consumes up to len bytes. Returns the number of bytes consumed (>= 0) or a negative error with
 * r->error set: -EPROTO (malformed), -EMSGSIZE (message or buffered bytes over the limits),
 * -EMFILE (too many chunk streams), -ENOMEM.
 * When a message completes, *got is set to 1, *msg describes it, and the return value stops at the
 * message's last byte: the caller handles it (for example applies Set Chunk Size) and calls again
 * with the rest. Otherwise *got is 0 and all len bytes were consumed. */
int rtmp_chunk_read(rtmp_chunk_reader_t *r, const uint8_t *buf, size_t len, rtmp_msg_t *msg,
                    int *got);

/* Applies a Set Chunk Size the peer sent (section 5.4.1). Returns 0, or -ERANGE with r->error set
 * when size is 0, has the top bit set, or exceeds RTMP_MAX_CHUNK_SIZE. */
int rtmp_chunk_set_size(rtmp_chunk_reader_t *r, uint32_t size);

/* Abort Message (section 5.4.2): drops the partial message on csid, if any. */
void rtmp_chunk_abort(rtmp_chunk_reader_t *r, uint32_t csid);

/* Writer. Splits msg into chunks of chunk_size, first chunk with a type-0 header, the rest type 3
 * (section 5.3.1.2). Appends to [out, out + cap) and returns bytes written, or -ENOSPC if it does
 * not fit (nothing is written then). rtmp_chunk_write_bound gives the exact size needed. */
size_t rtmp_chunk_write_bound(const rtmp_msg_t *msg, uint32_t chunk_size);
int rtmp_chunk_write(uint8_t *out, size_t cap, uint32_t chunk_size, const rtmp_msg_t *msg);

/* Helpers for protocol control and user control messages (section 5.4, 6.2): build the 4- or
 * 5- or 6-byte payloads. Each returns the payload length written into p. */
size_t rtmp_ctl_u32(uint8_t *p, uint32_t v);                         /* chunk size, ack, window */
size_t rtmp_ctl_peer_bw(uint8_t *p, uint32_t window, uint8_t limit); /* Set Peer Bandwidth */
size_t rtmp_ctl_user(uint8_t *p, uint16_t event, uint32_t value);    /* User Control event */

#endif
