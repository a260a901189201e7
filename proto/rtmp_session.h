/* One RTMP server connection as pure protocol: bytes in, events and reply bytes out.
 *
 * It runs the handshake, the chunk stream and the publish command flow (RTMP spec 1.0 section
 * 7.2: connect, releaseStream, FCPublish, createStream, publish, FCUnpublish, deleteStream) and
 * answers each the way FFmpeg's and OBS's clients expect. It owns no socket: the caller feeds the
 * bytes it read and writes out whatever rtmp_session_out() holds. A publish is not accepted here:
 * RTMP_EV_PUBLISH asks the caller, which answers later (it may ask Redis first) with
 * rtmp_session_publish_accept() or _reject().
 * Memory: at most limits.chunk.max_buffered bytes of partial messages, plus one whole message of
 * at most limits.chunk.max_message, plus limits.max_out bytes of pending replies, plus this struct
 * (about 8 KiB). */
#ifndef PROTO_RTMP_SESSION_H
#define PROTO_RTMP_SESSION_H

#include "rtmp_chunk.h"
#include "rtmp_cmd.h"
#include "rtmp_handshake.h"

typedef enum rtmp_ev_type_e {
    RTMP_EV_NONE = 0,
    RTMP_EV_PUBLISH,   /* ev.app, ev.name: answer with publish_accept or publish_reject */
    RTMP_EV_UNPUBLISH, /* FCUnpublish, deleteStream or closeStream of the published stream */
    RTMP_EV_METADATA,  /* ev.meta */
    RTMP_EV_AUDIO,     /* ev.data/len: FLV audio tag body; ev.timestamp */
    RTMP_EV_VIDEO,     /* ev.data/len: FLV video tag body; ev.timestamp */
} rtmp_ev_type_t;

typedef struct rtmp_event_s {
    rtmp_ev_type_t type;
    uint32_t timestamp;  /* ms, as sent (wraps at 2^32) */
    const uint8_t *data; /* borrowed until the next rtmp_session_feed call */
    size_t len;
    const char *app;  /* borrowed from the session */
    const char *name; /* stream name as published, query string included */
    const rtmp_metadata_t *meta;
} rtmp_event_t;

typedef struct rtmp_session_limits_s {
    rtmp_chunk_limits_t chunk;
    size_t max_out; /* reply bytes waiting to be written; more is an error */
} rtmp_session_limits_t;

typedef enum rtmp_state_e {
    RTMP_ST_HANDSHAKE = 0,
    RTMP_ST_CONNECTING, /* handshake done, waiting for connect */
    RTMP_ST_CONNECTED,
    RTMP_ST_PUBLISH_WAIT, /* publish asked, the caller has not answered yet */
    RTMP_ST_PUBLISHING,
    RTMP_ST_CLOSING, /* rejected or errored: flush the output, then close */
} rtmp_state_t;

typedef struct rtmp_session_s {
    rtmp_state_t state;
    const char *error; /* static text: why the last call failed */
    rtmp_handshake_t hs;
    rtmp_chunk_reader_t rd;
    rtmp_connect_t conn;
    rtmp_stream_cmd_t pub;
    rtmp_metadata_t meta;
    size_t max_out;
    uint32_t out_chunk_size;
    uint32_t ack_window; /* peer's Window Acknowledgement Size, 0 = none */
    uint64_t acked;      /* bytes_in at our last Acknowledgement */
    uint32_t stream_id;  /* the message stream id we gave out in createStream */
    uint8_t *out;        /* pending reply bytes */
    size_t out_len, out_cap;
} rtmp_session_t;

/* random: see rtmp_handshake_init; NULL for the default. */
void rtmp_session_init(rtmp_session_t *s, const rtmp_session_limits_t *lim, rtmp_random_fn random,
                       void *opaque);
void rtmp_session_free(rtmp_session_t *s); /* frees buffers, not s itself */

/* Consumes bytes. Returns bytes consumed (>= 0) or a negative error with s->error set; the
 * connection must then be closed. If an event came out, ev->type is not RTMP_EV_NONE and the
 * return stops right after the message that made it: handle it and call again with the rest. */
int rtmp_session_feed(rtmp_session_t *s, const uint8_t *buf, size_t len, rtmp_event_t *ev);

/* Answers a pending RTMP_EV_PUBLISH. Reject sends onStatus error with code (for example
 * "NetStream.Publish.BadName") and moves to RTMP_ST_CLOSING. Return 0 or -ENOSPC. */
int rtmp_session_publish_accept(rtmp_session_t *s);
int rtmp_session_publish_reject(rtmp_session_t *s, const char *code, const char *desc);

/* Pending reply bytes; the caller writes some and reports how many with out_consumed. */
const uint8_t *rtmp_session_out(const rtmp_session_t *s, size_t *len);
void rtmp_session_out_consumed(rtmp_session_t *s, size_t n);

#endif
