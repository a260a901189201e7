/* One RTMP server connection as pure protocol: bytes in, events and reply bytes out.
 *
 * Invariants: s->out never holds more than s->max_out bytes; every reply is one whole message
 * framed with s->out_chunk_size; events borrow only from s and its chunk reader. */
#include "rtmp_session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

/* What we announce after connect, as nginx-rtmp and SRS do (RTMP spec 1.0 section 7.2.1.1). */
#define OUR_WINDOW         2500000
#define OUR_CHUNK_SIZE     4096
#define CSID_CONTROL       2 /* protocol control messages, section 5.4 */
#define CSID_COMMAND       3
#define CSID_STATUS        5
#define USER_STREAM_BEGIN  0
#define USER_PING_REQUEST  6
#define USER_PING_RESPONSE 7

typedef int (*msg_handler_fn)(rtmp_session_t *s, const rtmp_msg_t *m, rtmp_event_t *ev);
typedef int (*cmd_handler_fn)(rtmp_session_t *s, const rtmp_msg_t *m, double trans_id,
                              rtmp_event_t *ev);

void rtmp_session_init(rtmp_session_t *s, const rtmp_session_limits_t *lim, rtmp_random_fn random,
                       void *opaque)
{
    memset(s, 0, sizeof(*s));
    rtmp_handshake_init(&s->hs, random, opaque);
    rtmp_chunk_reader_init(&s->rd, &lim->chunk);
    s->max_out = lim->max_out;
    s->out_chunk_size = RTMP_DEFAULT_CHUNK_SIZE;
}

void rtmp_session_free(rtmp_session_t *s)
{
    rtmp_chunk_reader_free(&s->rd);
    free(s->out);
    s->out = NULL;
    s->out_len = s->out_cap = 0;
}

/* Makes room for n more output bytes, within max_out. */
static int out_reserve(rtmp_session_t *s, size_t n)
{
    size_t cap;
    uint8_t *p;

    if (n > s->max_out - s->out_len || s->out_len > s->max_out) {
        s->error = "reply backlog over limit (peer is not reading)";
        return -ENOSPC;
    }
    if (s->out_len + n <= s->out_cap)
        return 0;
    cap = s->out_cap ? s->out_cap : 4096;
    while (cap < s->out_len + n)
        cap *= 2;
    p = realloc(s->out, cap);
    if (!p) {
        s->error = "out of memory";
        return -ENOMEM;
    }
    s->out = p;
    s->out_cap = cap;
    return 0;
}

static int send_msg(rtmp_session_t *s, uint32_t csid, uint8_t type, uint32_t msid,
                    const uint8_t *body, size_t len)
{
    rtmp_msg_t m = { .csid = csid, .type = type, .stream_id = msid, .len = (uint32_t)len };
    size_t need;
    int rc;

    m.data = (uint8_t *)body;
    need = rtmp_chunk_write_bound(&m, s->out_chunk_size);
    if ((rc = out_reserve(s, need)) < 0)
        return rc;
    rc = rtmp_chunk_write(s->out + s->out_len, s->out_cap - s->out_len, s->out_chunk_size, &m);
    if (rc < 0)
        return rc;
    s->out_len += (size_t)rc;
    return 0;
}

static int send_ctl(rtmp_session_t *s, uint8_t type, const uint8_t *p, size_t len)
{
    return send_msg(s, CSID_CONTROL, type, 0, p, len);
}

/* Sends the AMF body built in buf[0..w->p) as a command message. */
static int send_amf(rtmp_session_t *s, uint32_t csid, uint32_t msid, const uint8_t *buf,
                    const amf_wr_t *w)
{
    if (w->err) {
        s->error = "reply does not fit";
        return w->err;
    }
    return send_msg(s, csid, RTMP_MSG_CMD_AMF0, msid, buf, (size_t)(w->p - buf));
}

static int send_status(rtmp_session_t *s, const char *level, const char *code, const char *desc)
{
    uint8_t buf[512];
    amf_wr_t w = { buf, buf + sizeof(buf), 0 };

    rtmp_cmd_onstatus(&w, level, code, desc);
    return send_amf(s, CSID_STATUS, s->stream_id, buf, &w);
}

/* Acknowledgement once the peer's window has been received (section 5.4.3). */
static int maybe_ack(rtmp_session_t *s)
{
    uint8_t p[4];

    if (!s->ack_window || s->rd.bytes_in - s->acked < s->ack_window)
        return 0;
    s->acked = s->rd.bytes_in;
    return send_ctl(s, RTMP_MSG_ACK, p, rtmp_ctl_u32(p, (uint32_t)s->rd.bytes_in));
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int on_set_chunk_size(rtmp_session_t *s, const rtmp_msg_t *m, rtmp_event_t *ev)
{
    int rc;

    (void)ev;
    if (m->len < 4) {
        s->error = "short Set Chunk Size";
        return -EPROTO;
    }
    if ((rc = rtmp_chunk_set_size(&s->rd, rd32(m->data))) < 0)
        s->error = s->rd.error;
    return rc;
}

static int on_abort(rtmp_session_t *s, const rtmp_msg_t *m, rtmp_event_t *ev)
{
    (void)ev;
    if (m->len >= 4)
        rtmp_chunk_abort(&s->rd, rd32(m->data));
    return 0;
}

static int on_window(rtmp_session_t *s, const rtmp_msg_t *m, rtmp_event_t *ev)
{
    (void)ev;
    if (m->len >= 4)
        s->ack_window = rd32(m->data);
    return 0;
}

/* Answers a ping request (section 7.1.7, event 6) so clients that probe liveness stay happy. */
static int on_user_control(rtmp_session_t *s, const rtmp_msg_t *m, rtmp_event_t *ev)
{
    uint8_t p[6];

    (void)ev;
    if (m->len < 6 || (m->data[0] << 8 | m->data[1]) != USER_PING_REQUEST)
        return 0;
    return send_ctl(s, RTMP_MSG_USER_CONTROL, p,
                    rtmp_ctl_user(p, USER_PING_RESPONSE, rd32(m->data + 2)));
}

static int on_ignore(rtmp_session_t *s, const rtmp_msg_t *m, rtmp_event_t *ev)
{
    (void)s, (void)m, (void)ev;
    return 0;
}

static int on_media(rtmp_session_t *s, const rtmp_msg_t *m, rtmp_event_t *ev)
{
    /* Media before publish is accepted is dropped here; a well-behaved client waits for
     * NetStream.Publish.Start, so this only loses bytes from clients that did not. */
    if (s->state != RTMP_ST_PUBLISHING || m->len == 0)
        return 0;
    ev->type = m->type == RTMP_MSG_AUDIO ? RTMP_EV_AUDIO : RTMP_EV_VIDEO;
    ev->timestamp = m->timestamp;
    ev->data = m->data;
    ev->len = m->len;
    return 0;
}

static int on_data(rtmp_session_t *s, const rtmp_msg_t *m, rtmp_event_t *ev)
{
    size_t skip = m->type == RTMP_MSG_DATA_AMF3 && m->len > 0; /* AMF3 data starts with 0x00 */
    int rc;

    if (s->state != RTMP_ST_PUBLISHING && s->state != RTMP_ST_PUBLISH_WAIT)
        return 0;
    memset(&s->meta, 0, sizeof(s->meta));
    rc = rtmp_cmd_decode_metadata(m->data + skip, m->len - skip, &s->meta);
    /* Another data message (onTextData, onCuePoint), or metadata we cannot read (FMLE sends
     * videocodecid as a string): neither is worth dropping a publisher for. */
    if (rc < 0)
        return 0;
    ev->type = RTMP_EV_METADATA;
    ev->timestamp = m->timestamp;
    ev->meta = &s->meta;
    return 0;
}

/* Names what was wrong with a command's AMF, for the log line that closes the connection. */
static const char *amf_reason(int rc, const char *what)
{
    switch (rc) {
    case -ELOOP: return "AMF nesting too deep";
    case -EMSGSIZE: return "truncated AMF";
    case -ENAMETOOLONG: return what;
    default: return "malformed AMF";
    }
}

static int cmd_connect(rtmp_session_t *s, const rtmp_msg_t *m, double tid, rtmp_event_t *ev)
{
    uint8_t buf[512], ctl[5];
    amf_wr_t w = { buf, buf + sizeof(buf), 0 };
    int rc;

    (void)tid, (void)ev;
    if (s->state != RTMP_ST_CONNECTING) {
        s->error = "connect sent twice";
        return -EPROTO;
    }
    if ((rc = rtmp_cmd_decode_connect(m->data, m->len, &s->conn)) < 0) {
        s->error = amf_reason(rc, "app name too long");
        return rc;
    }
    if ((rc = send_ctl(s, RTMP_MSG_WINDOW_ACK_SIZE, ctl, rtmp_ctl_u32(ctl, OUR_WINDOW))) < 0 ||
        (rc = send_ctl(s, RTMP_MSG_SET_PEER_BW, ctl, rtmp_ctl_peer_bw(ctl, OUR_WINDOW, 2))) < 0 ||
        (rc = send_ctl(s, RTMP_MSG_SET_CHUNK_SIZE, ctl, rtmp_ctl_u32(ctl, OUR_CHUNK_SIZE))) < 0)
        return rc;
    s->out_chunk_size = OUR_CHUNK_SIZE;
    rtmp_cmd_connect_result(&w, s->conn.trans_id, s->conn.object_encoding);
    s->state = RTMP_ST_CONNECTED;
    return send_amf(s, CSID_COMMAND, 0, buf, &w);
}

static int cmd_create_stream(rtmp_session_t *s, const rtmp_msg_t *m, double tid, rtmp_event_t *ev)
{
    uint8_t buf[128];
    amf_wr_t w = { buf, buf + sizeof(buf), 0 };

    (void)m, (void)ev;
    s->stream_id = 1; /* one publish per connection, as every encoder does */
    rtmp_cmd_result_number(&w, tid, s->stream_id);
    return send_amf(s, CSID_COMMAND, 0, buf, &w);
}

static int cmd_release_stream(rtmp_session_t *s, const rtmp_msg_t *m, double tid, rtmp_event_t *ev)
{
    uint8_t buf[128];
    amf_wr_t w = { buf, buf + sizeof(buf), 0 };

    (void)m, (void)ev;
    rtmp_cmd_result_null(&w, tid);
    return send_amf(s, CSID_COMMAND, 0, buf, &w);
}

static int cmd_fc_publish(rtmp_session_t *s, const rtmp_msg_t *m, double tid, rtmp_event_t *ev)
{
    uint8_t buf[256];
    amf_wr_t w = { buf, buf + sizeof(buf), 0 };

    (void)m, (void)tid, (void)ev;
    rtmp_cmd_onfc(&w, "onFCPublish", "NetStream.Publish.Start", "FCPublish");
    return send_amf(s, CSID_COMMAND, 0, buf, &w);
}

static int cmd_publish(rtmp_session_t *s, const rtmp_msg_t *m, double tid, rtmp_event_t *ev)
{
    int rc;

    (void)tid;
    if (s->state != RTMP_ST_CONNECTED) {
        s->error = s->state == RTMP_ST_CONNECTING ? "publish before connect" : "publish twice";
        return -EPROTO;
    }
    if ((rc = rtmp_cmd_decode_stream_name(m->data, m->len, &s->pub)) < 0) {
        s->error = amf_reason(rc, "stream name too long");
        return rc;
    }
    if (!s->stream_id)
        s->stream_id = m->stream_id ? m->stream_id : 1;
    s->state = RTMP_ST_PUBLISH_WAIT;
    ev->type = RTMP_EV_PUBLISH;
    ev->app = s->conn.app;
    ev->name = s->pub.name;
    return 0;
}

static int cmd_unpublish(rtmp_session_t *s, const rtmp_msg_t *m, double tid, rtmp_event_t *ev)
{
    uint8_t buf[256];
    amf_wr_t w = { buf, buf + sizeof(buf), 0 };
    int was = s->state == RTMP_ST_PUBLISHING || s->state == RTMP_ST_PUBLISH_WAIT;

    (void)m, (void)tid;
    if (!was)
        return 0;
    s->state = RTMP_ST_CONNECTED;
    ev->type = RTMP_EV_UNPUBLISH;
    ev->name = s->pub.name;
    rtmp_cmd_onfc(&w, "onFCUnpublish", "NetStream.Unpublish.Success", "FCUnpublish");
    return send_amf(s, CSID_COMMAND, 0, buf, &w);
}

/* Playback is served over HLS, never RTMP: say so instead of leaving a player hanging. */
static int cmd_play(rtmp_session_t *s, const rtmp_msg_t *m, double tid, rtmp_event_t *ev)
{
    (void)m, (void)tid, (void)ev;
    s->state = RTMP_ST_CLOSING;
    s->error = "RTMP playback is not offered";
    return send_status(s, "error", "NetStream.Play.Failed", "Watch over HLS, not RTMP.");
}

static const struct {
    const char *name;
    cmd_handler_fn fn;
} cmd_table[] = {
    { "connect", cmd_connect },
    { "createStream", cmd_create_stream },
    { "releaseStream", cmd_release_stream },
    { "FCPublish", cmd_fc_publish },
    { "publish", cmd_publish },
    { "FCUnpublish", cmd_unpublish },
    { "deleteStream", cmd_unpublish },
    { "closeStream", cmd_unpublish },
    { "play", cmd_play },
};

static int on_command(rtmp_session_t *s, const rtmp_msg_t *m, rtmp_event_t *ev)
{
    rtmp_msg_t body = *m;
    rtmp_cmd_head_t head;
    size_t i;
    int rc;

    if (m->type == RTMP_MSG_CMD_AMF3 && body.len > 0) { /* AMF3 command: 0x00 then AMF0 */
        body.data++;
        body.len--;
    }
    if ((rc = rtmp_cmd_decode_head(body.data, body.len, &head)) < 0) {
        s->error = amf_reason(rc, "command name too long");
        return rc;
    }
    for (i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++)
        if (!strcmp(cmd_table[i].name, head.name))
            return cmd_table[i].fn(s, &body, head.trans_id, ev);
    return 0; /* unknown commands (getStreamLength, _checkbw...) need no answer */
}

/* Message type -> handler (section 5.4, 7.1). Types not listed are ignored. */
static const msg_handler_fn msg_table[RTMP_MSG_AGGREGATE + 1] = {
    [RTMP_MSG_SET_CHUNK_SIZE] = on_set_chunk_size,
    [RTMP_MSG_ABORT] = on_abort,
    [RTMP_MSG_ACK] = on_ignore,
    [RTMP_MSG_USER_CONTROL] = on_user_control,
    [RTMP_MSG_WINDOW_ACK_SIZE] = on_window,
    [RTMP_MSG_SET_PEER_BW] = on_ignore,
    [RTMP_MSG_AUDIO] = on_media,
    [RTMP_MSG_VIDEO] = on_media,
    [RTMP_MSG_DATA_AMF3] = on_data,
    [RTMP_MSG_DATA_AMF0] = on_data,
    [RTMP_MSG_CMD_AMF3] = on_command,
    [RTMP_MSG_CMD_AMF0] = on_command,
};

static int handshake(rtmp_session_t *s, const uint8_t *buf, size_t len)
{
    int n = rtmp_handshake_feed(&s->hs, buf, len), rc;

    if (n < 0) {
        s->error = s->hs.error;
        return n;
    }
    if (s->hs.out_len) { /* S0+S1+S2, produced once */
        if ((rc = out_reserve(s, s->hs.out_len)) < 0)
            return rc;
        memcpy(s->out + s->out_len, s->hs.out, s->hs.out_len);
        s->out_len += s->hs.out_len;
        s->hs.out_len = 0;
    }
    if (rtmp_handshake_done(&s->hs))
        s->state = RTMP_ST_CONNECTING;
    return n;
}

int rtmp_session_feed(rtmp_session_t *s, const uint8_t *buf, size_t len, rtmp_event_t *ev)
{
    rtmp_msg_t m;
    int n, got = 0, rc;

    memset(ev, 0, sizeof(*ev));
    if (s->state == RTMP_ST_HANDSHAKE)
        return handshake(s, buf, len);
    if (s->state == RTMP_ST_CLOSING)
        return (int)len; /* nothing more is read from a connection we are closing */
    n = rtmp_chunk_read(&s->rd, buf, len, &m, &got);
    if (n < 0) {
        s->error = s->rd.error;
        return n;
    }
    if ((rc = maybe_ack(s)) < 0)
        return rc;
    if (got && m.type < sizeof(msg_table) / sizeof(msg_table[0]) && msg_table[m.type])
        if ((rc = msg_table[m.type](s, &m, ev)) < 0)
            return rc;
    return n;
}

int rtmp_session_publish_accept(rtmp_session_t *s)
{
    uint8_t p[6];
    int rc;

    if (s->state != RTMP_ST_PUBLISH_WAIT)
        return -EINVAL;
    s->state = RTMP_ST_PUBLISHING;
    if ((rc = send_ctl(s, RTMP_MSG_USER_CONTROL, p,
                       rtmp_ctl_user(p, USER_STREAM_BEGIN, s->stream_id))) < 0)
        return rc;
    return send_status(s, "status", "NetStream.Publish.Start", "Start publishing");
}

int rtmp_session_publish_reject(rtmp_session_t *s, const char *code, const char *desc)
{
    s->state = RTMP_ST_CLOSING;
    return send_status(s, "error", code, desc);
}

const uint8_t *rtmp_session_out(const rtmp_session_t *s, size_t *len)
{
    *len = s->out_len;
    return s->out;
}

void rtmp_session_out_consumed(rtmp_session_t *s, size_t n)
{
    if (n >= s->out_len) {
        s->out_len = 0;
        return;
    }
    memmove(s->out, s->out + n, s->out_len - n);
    s->out_len -= n;
}
