/* The WebSocket hub (/ws, shopcast.v1): connections, their messages, and one write per callback.
 *
 * Every message is framed once (rl__blob_text), so a client is sent the same bytes as every other
 * and its writes are LWS_WRITE_RAW. When its channel pushes a message, a client that was waiting
 * for nothing else (caught up, nothing of its own queued, no write lws still holds part of) is
 * sent it at once: one send, no writeable callback, no change of poll interest. Any other client
 * is woken, and its writeable callback sends everything waiting in one write of up to BATCH_MAX:
 * what is for it alone first (hello, resumed, pong, error: at most RL_DIRECT_MAX), then its
 * channel's ring from its position (the ring and tail of lws 4.1.6's minimal-ws-server-ring, with
 * the tail's backlog sent together). A writeable callback is asked for only when it is not already
 * pending. Closing from outside a client's own callback sets close_code and asks for a writeable
 * callback, which closes it (lws 4.1.6 cannot close a wsi from a foreign-loop timer); a peer that
 * stops reading never gets that callback, so the tick shuts its socket down after 2 s. */
#include "relay/signal/hub.h"

#include <libavutil/avstring.h>
#include <libavutil/common.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "relay/core/clock.h"
#include "relay/core/log.h"
#include "relay/core/secret.h"
#include "relay/signal/channel.h"

#define FLOOD_RATE  20.0  /* messages a second a client may send on average */
#define FLOOD_BURST 40.0  /* and at once */
#define HUNG_UP_S   2.0   /* a closing client whose socket never drains is shut down then */
#define BATCH_MAX   16384 /* bytes of frames in one write to one client (and one send) */
#define RX_BUFFER   512
#define SNDBUF      65536 /* bytes: more than a hello and a resume's replay need */

/* rx_buffer_size: lws's receive buffer, the most of each client's memory; longer messages come in
 * pieces, which on_receive puts together. tx_packet_size: a batch leaves in one send. */
const struct lws_protocols rl_hub_protocol = {
    SIG_SUBPROTOCOL, rl_hub_callback, sizeof(rl_client_t), RX_BUFFER, 0, NULL, BATCH_MAX
};

static rl_hub_t *hub_of(struct lws *wsi)
{
    return rl_server_from_wsi(wsi)->hub;
}

/* ---- lists ---- */

static void link_client(rl_client_t **head, rl_client_t *c)
{
    c->prev = NULL;
    c->next = *head;
    if (*head)
        (*head)->prev = c;
    *head = c;
}

static void unlink_client(rl_client_t **head, rl_client_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (*head == c)
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

static void detach(rl_server_t *srv, rl_client_t *c)
{
    rl_hub_t *hub = srv->hub;

    if (c->in_lobby) {
        unlink_client(&hub->lobby, c);
        c->in_lobby = 0;
    }
    if (!c->ch)
        return;
    unlink_client(&c->ch->clients, c);
    if (c->role == SIG_OPERATOR) {
        c->ch->noperators--;
        hub->noperators--;
    } else {
        rl__channel_viewer(srv, c->ch, c->key, -1);
    }
    c->ch = NULL;
}

/* ---- sending ---- */

static int has_output(const rl_client_t *c)
{
    return c->close_code || c->ping_due || c->ndirect || (c->ch && c->pos < c->ch->ring.head);
}

void rl__client_wake(rl_client_t *c)
{
    if (c->armed || !has_output(c))
        return;
    c->armed = 1;
    lws_callback_on_writable(c->wsi);
}

void rl__client_close(rl_client_t *c, int code)
{
    if (c->close_code)
        return;
    c->close_code = code;
    c->close_at = rl_now();
    rl__client_wake(c);
}

/* Queues a message for this client alone; a client with RL_DIRECT_MAX waiting reads too slowly
 * for what it asks, and is closed as a flood. */
static void send_direct(rl_client_t *c, rl_blob_t *msg)
{
    if (!msg)
        return;
    if (c->ndirect == RL_DIRECT_MAX) {
        rl_blob_unref(&msg);
        c->flooded = 1; /* closed by on_receive, from the receive callback */
        return;
    }
    c->direct[c->ndirect++] = msg;
    rl__client_wake(c);
}

static void send_error(rl_hub_t *hub, rl_client_t *c, int err, const char *message)
{
    size_t len;
    char *t = sig_encode_error(err, message, &len);

    hub->stats.errors++;
    send_direct(c, rl__blob_text(t, len));
}

/* The next ring message this client sends, skipping what is not for it. */
static const rl_ring_entry_t *next_entry(rl_client_t *c)
{
    const rl_ring_t *r = &c->ch->ring;
    const rl_ring_entry_t *e;

    for (; c->pos < r->head; c->pos++) {
        if (!(e = rl_ring_at(r, c->pos)))
            return NULL; /* overwritten: cannot happen, too_far_behind closes first */
        if ((e->flags & RL_RING_OPERATOR) && c->role != SIG_OPERATOR)
            continue;
        if (!e->offset && c->pos < c->replay_end)
            continue; /* a stale media notice in a replay */
        return e;
    }
    return NULL;
}

/* Appends a frame to the batch; 0, or -1 when it would pass BATCH_MAX (a first frame always
 * goes in, however long). */
static int batch_add(rl_hub_t *hub, size_t *used, rl_blob_t *b)
{
    size_t n;
    const uint8_t *f = rl_ring_frame_of(b, &n);

    if (*used && *used + n > BATCH_MAX)
        return -1;
    if (LWS_PRE + *used + n > hub->batch_size) {
        size_t size = LWS_PRE + FFMAX(*used + n, BATCH_MAX);
        uint8_t *p = realloc(hub->batch, size);
        if (!p)
            return -1;
        hub->batch = p;
        hub->batch_size = size;
    }
    memcpy(hub->batch + LWS_PRE + *used, f, n);
    *used += n;
    hub->stats.messages_out++;
    hub->stats.bytes_out += b->len;
    return 0;
}

/* What is waiting for c, as one run of frames: its own messages first, then the ring's. */
static size_t batch_fill(rl_hub_t *hub, rl_client_t *c)
{
    const rl_ring_entry_t *e;
    size_t used = 0;

    while (c->ndirect && batch_add(hub, &used, c->direct[0]) == 0) {
        rl_blob_unref(&c->direct[0]);
        memmove(c->direct, c->direct + 1, sizeof(c->direct[0]) * (size_t)--c->ndirect);
    }
    while (!c->ndirect && c->ch && !c->close_code && (e = next_entry(c)) &&
           batch_add(hub, &used, e->msg) == 0)
        c->pos++;
    return used;
}

/* c waits for nothing: it has its hello, nothing of its own is queued, no writeable callback is
 * pending and lws holds no part of an earlier write; what it is sent now goes out in order. */
static int can_write_now(rl_client_t *c)
{
    return c->placed && !c->armed && !c->gone && !c->close_code && !c->ping_due && !c->ndirect &&
           !lws_partial_buffered(c->wsi);
}

/* A ping with a payload: lws 4.1.6 never reports an empty pong (ops-ws.c). Framed here, as the
 * messages are (RFC 6455 5.5.2). */
static int send_ping(rl_client_t *c)
{
    uint8_t ping[] = { 0x89, 1, 'p' };

    c->ping_due = 0;
    return lws_write(c->wsi, ping, sizeof(ping), LWS_WRITE_RAW) < 0 ? -1 : 0;
}

void rl__client_push(rl_hub_t *hub, rl_client_t *c)
{
    const rl_ring_entry_t *e;
    uint8_t *f;
    size_t n;

    /* Anything else waiting, or a write lws still holds part of, goes first: the writeable
     * callback sends it all in order. */
    if (!can_write_now(c) || c->pos + 1 != c->ch->ring.head) {
        rl__client_wake(c);
        return;
    }
    if (!(e = next_entry(c)))
        return; /* not for this client */
    f = rl_ring_frame_of(e->msg, &n);
    c->pos++;
    hub->stats.messages_out++;
    hub->stats.bytes_out += e->msg->len;
    /* lws_write keeps what the socket did not take and asks for a writeable callback itself */
    if (lws_write(c->wsi, f, n, LWS_WRITE_RAW) < 0)
        rl__client_close(c, SIG_CLOSE_GOING_AWAY); /* a dead socket: lws drops it at its error */
}

/* RFC 6455 5.5.1: the close frame carries the code. lws 4.1.6 sends the reason set with
 * lws_close_reason only when a receive callback returns -1: a writeable callback that returns -1
 * marks the socket unusable and drops it without a frame, and so does an lws timeout. So the frame
 * is written here, with the opcode lws keeps private (lws-write.h: "LWS_WRITE_CLOSE is handled by
 * lws_close_reason()", value 4), and the connection dropped after it; the client has its code. */
#define WS_WRITE_CLOSE ((enum lws_write_protocol)4)

static int send_close(rl_client_t *c)
{
    uint8_t buf[LWS_PRE + 2];

    buf[LWS_PRE] = (uint8_t)(c->close_code >> 8);
    buf[LWS_PRE + 1] = (uint8_t)c->close_code;
    lws_write(c->wsi, buf + LWS_PRE, 2, WS_WRITE_CLOSE);
    return -1;
}

static int on_writeable(rl_hub_t *hub, rl_client_t *c)
{
    size_t n;

    c->armed = 0;
    if (c->gone)
        return 0;
    if (c->close_code && !c->ndirect)
        return send_close(c);
    if (c->ping_due && !c->close_code) {
        if (send_ping(c) < 0)
            return -1;
    } else if ((n = batch_fill(hub, c)) &&
               lws_write(c->wsi, hub->batch + LWS_PRE, n, LWS_WRITE_RAW) < 0) {
        return -1;
    }
    rl__client_wake(c);
    return 0;
}

/* ---- admission ---- */

static int header(struct lws *wsi, enum lws_token_indexes t, char *buf, int size)
{
    int n = lws_hdr_copy(wsi, buf, size, t);

    if (n < 0)
        buf[0] = '\0';
    return n < 0 ? 0 : n;
}

/* "https://shop.example:8443" → "shop.example:8443". */
static const char *origin_host(const char *origin)
{
    const char *p = strstr(origin, "://");

    return p ? p + 3 : origin;
}

static int origin_listed(const char *list, const char *origin)
{
    size_t n = strlen(origin);

    for (const char *p = list; *p;) {
        size_t k = strcspn(p, ",");
        const char *q = p;
        size_t m = k;
        while (m && *q == ' ')
            q++, m--;
        while (m && q[m - 1] == ' ')
            m--;
        if (m == n && !strncasecmp(q, origin, n))
            return 1;
        p += k + (p[k] == ',');
    }
    return 0;
}

/* RFC 6455 10.2: a browser always sends Origin, so only pages we allow can open the channel;
 * clients that are not browsers send none and are let in. */
static int origin_ok(rl_server_t *srv, struct lws *wsi)
{
    char origin[256], host[256];

    if (!header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin)))
        return 1;
    if (srv->cfg->ws_origins[0])
        return origin_listed(srv->cfg->ws_origins, origin);
    header(wsi, WSI_TOKEN_HOST, host, sizeof(host));
    return host[0] && !strcasecmp(origin_host(origin), host);
}

static int filter(rl_server_t *srv, struct lws *wsi)
{
    char uri[64];

    if (header(wsi, WSI_TOKEN_GET_URI, uri, sizeof(uri)) <= 0 || strcmp(uri, "/ws"))
        return -1;
    if (!origin_ok(srv, wsi)) {
        srv->hub->stats.refused_origin++;
        return -1;
    }
    return 0;
}

static void on_established(rl_server_t *srv, struct lws *wsi, rl_client_t *c)
{
    rl_hub_t *hub = srv->hub;
    char peer[64] = "", ua[256];

    /* A client that stops reading pins at most about twice this in the kernel (Linux doubles
     * it) before it falls behind on the ring and is cut; left to itself, TCP grows a socket's
     * buffer to megabytes (tcp_wmem), tens of thousands of messages no one reads. */
    setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &(int){ SNDBUF }, sizeof(int));
    *c = (rl_client_t){ .wsi = wsi,
                        .last_rx = rl_now(),
                        .tokens = FLOOD_BURST,
                        /* the fractional parts of k·φ: even over [0, 1) for any run of k */
                        .ping_spread = fmod((double)hub->stats.accepted * 0.6180339887, 1.0) };
    c->tokens_at = c->last_rx;
    c->last_ping = c->last_rx;
    lws_get_peer_simple(wsi, peer, sizeof(peer));
    header(wsi, WSI_TOKEN_HTTP_USER_AGENT, ua, sizeof(ua));
    c->key = rl__viewer_key(peer, ua);
    link_client(&hub->lobby, c);
    c->in_lobby = 1;
    hub->nclients++;
    hub->stats.accepted++;
    if (hub->nclients > srv->cfg->ws_max_clients) {
        hub->stats.refused_full++;
        rl__client_close(c, SIG_CLOSE_FULL);
    }
}

/* ---- client messages ---- */

static int operator_ok(rl_server_t *srv, const sig_client_t *m)
{
    return rl_secret_eq(m->token, strlen(m->token), srv->operator_token);
}

/* Subscribes c to m's stream, or answers why not; returns 0 once subscribed. */
static int subscribe(rl_server_t *srv, rl_client_t *c, const sig_client_t *m)
{
    rl_hub_t *hub = srv->hub;
    rl_channel_t *ch;

    if (!rl_stream_find(srv, m->stream)) {
        send_error(hub, c, SIG_E_UNKNOWN_STREAM, "no such stream");
        hub->stats.closed_unknown++;
        rl__client_close(c, SIG_CLOSE_UNKNOWN_STREAM);
        return -1;
    }
    if (m->role == SIG_OPERATOR && !operator_ok(srv, m)) {
        send_error(hub, c, SIG_E_FORBIDDEN, "the operator token is required");
        hub->stats.closed_forbidden++;
        rl__client_close(c, SIG_CLOSE_FORBIDDEN);
        return -1;
    }
    if (!(ch = rl__channel_get(srv, m->stream, 1)))
        return -1;
    unlink_client(&hub->lobby, c);
    c->in_lobby = 0;
    c->ch = ch;
    c->role = m->role;
    c->pos = ch->ring.head; /* until its hello or resume places it */
    link_client(&ch->clients, c);
    if (c->role == SIG_OPERATOR) {
        ch->noperators++;
        hub->noperators++;
    } else {
        rl__channel_viewer(srv, ch, c->key, +1);
    }
    return 0;
}

/* The hello states everything up to the channel's last offset: the client goes on from there. */
static void hello(rl_server_t *srv, rl_client_t *c, int recovered_false)
{
    rl_blob_t *msg = rl__channel_hello(srv, c->ch, c->role, recovered_false);

    c->pos = c->ch->ring.head;
    c->replay_end = 0;
    c->placed = 1;
    send_direct(c, msg);
}

static void resume(rl_server_t *srv, rl_client_t *c, const sig_client_t *m)
{
    rl_channel_t *ch = c->ch;
    int64_t pos = -1;
    size_t len;
    char *t;

    if (!strcmp(m->epoch, ch->epoch))
        pos = rl_ring_resume(&ch->ring, ch->offset, m->offset);
    if (pos < 0) {
        srv->hub->stats.resumes_failed++;
        hello(srv, c, 1);
        return;
    }
    srv->hub->stats.resumes_recovered++;
    t = sig_encode_resumed(ch->id, ch->epoch, m->offset + 1, ch->offset, &len);
    c->pos = (uint64_t)pos;
    c->replay_end = ch->ring.head;
    c->placed = 1;
    send_direct(c, rl__blob_text(t, len));
}

static void on_message(rl_server_t *srv, rl_client_t *c, const char *buf, size_t len)
{
    rl_hub_t *hub = srv->hub;
    sig_client_t m;
    size_t n;
    char *t;
    int rc;

    hub->stats.messages_in++;
    if ((rc = sig_parse_client(buf, len, &m)) < 0) {
        send_error(hub, c, rc, "see proto/SIGNAL.md");
        return;
    }
    if (m.type == SIG_PING) {
        t = sig_encode_pong(m.ping_id, rl_wall_ms(), &n);
        send_direct(c, rl__blob_text(t, n));
    } else if (m.type == SIG_SUBSCRIBE && c->ch) {
        send_error(hub, c, SIG_E_ALREADY_SUBSCRIBED, "one stream per connection");
    } else if (m.type == SIG_SUBSCRIBE) {
        if (subscribe(srv, c, &m) == 0)
            hello(srv, c, 0);
    } else if (c->ch && m.has_stream && strcmp(m.stream, c->ch->id)) {
        send_error(hub, c, SIG_E_BAD_MESSAGE, "a resume names the stream subscribed to");
    } else if (!c->ch && !m.has_stream) {
        send_error(hub, c, SIG_E_NOT_SUBSCRIBED, "resume names the stream first");
    } else if (c->ch || subscribe(srv, c, &m) == 0) {
        resume(srv, c, &m);
    }
}

/* RFC 6455 5.4: a message may come in fragments, and lws may hand over a frame in pieces. */
static int on_receive(rl_server_t *srv, struct lws *wsi, rl_client_t *c, const char *in, size_t len)
{
    rl_hub_t *hub = srv->hub;
    int whole = lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi) &&
                !lws_remaining_packet_payload(wsi) && !c->rx_len;
    double now = rl_now();

    c->last_rx = now;
    if (c->rx_len + len + lws_remaining_packet_payload(wsi) > SIG_CLIENT_MAX) {
        hub->stats.closed_too_big++;
        lws_close_reason(wsi, (enum lws_close_status)SIG_CLOSE_TOO_BIG, NULL, 0);
        return -1;
    }
    if (!whole) {
        char *p = c->rx ? c->rx : malloc(SIG_CLIENT_MAX);
        if (!p)
            return -1;
        c->rx = p;
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
            return 0;
        in = c->rx;
        len = c->rx_len;
    }
    c->tokens = c->tokens + (now - c->tokens_at) * FLOOD_RATE;
    if (c->tokens > FLOOD_BURST)
        c->tokens = FLOOD_BURST;
    c->tokens_at = now;
    if (c->tokens < 1 || lws_frame_is_binary(wsi)) {
        hub->stats.closed_flood += c->tokens < 1;
        lws_close_reason(wsi,
                         c->tokens < 1 ? (enum lws_close_status)SIG_CLOSE_FLOOD
                                       : LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
                         NULL, 0);
        return -1;
    }
    c->tokens -= 1;
    if (!c->close_code)
        on_message(srv, c, in, len);
    c->rx_len = 0;
    if (c->flooded) {
        /* from here lws sends the close frame and reads on until the client's answer, so what
         * the client still sends meanwhile does not reset the connection and lose the frame */
        hub->stats.closed_flood++;
        lws_close_reason(wsi, (enum lws_close_status)SIG_CLOSE_FLOOD, NULL, 0);
        return -1;
    }
    return 0;
}

static void on_closed(rl_server_t *srv, rl_client_t *c)
{
    detach(srv, c);
    for (int i = 0; i < c->ndirect; i++)
        rl_blob_unref(&c->direct[i]);
    c->ndirect = 0;
    free(c->rx);
    c->rx = NULL;
    srv->hub->nclients--;
}

int rl_hub_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    rl_server_t *srv = rl_server_from_wsi(wsi);
    rl_client_t *c = user;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: return filter(srv, wsi);
    case LWS_CALLBACK_ESTABLISHED: on_established(srv, wsi, c); return 0;
    case LWS_CALLBACK_RECEIVE:
        /* -1: lws closes it, and nothing more may be written to it */
        return (c->gone = on_receive(srv, wsi, c, in, len) < 0) ? -1 : 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: c->gone = 1; return 0;
    case LWS_CALLBACK_RECEIVE_PONG: c->last_rx = rl_now(); return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: return on_writeable(hub_of(wsi), c);
    case LWS_CALLBACK_CLOSED:
        if (c->wsi && srv->hub)
            on_closed(srv, c);
        return 0;
    default: return 0;
    }
}

/* ---- the loop's side ---- */

static void on_merge_timer(uv_timer_t *t)
{
    rl_server_t *srv = t->data;
    int64_t next;

    srv->hub->merge_armed = 0;
    if ((next = rl__hub_flush_merges(srv)))
        rl__hub_arm_merge(srv, next);
}

void rl__hub_arm_merge(rl_server_t *srv, int64_t due_ms)
{
    rl_hub_t *hub = srv->hub;
    int64_t wait = due_ms - rl_wall_ms();

    if (hub->closing || (hub->merge_armed && hub->merge_due <= due_ms))
        return;
    hub->merge_armed = 1;
    hub->merge_due = due_ms;
    uv_timer_start(&hub->merge_timer, on_merge_timer, wait > 0 ? (uint64_t)wait : 0, 0);
}

int rl_hub_init(rl_server_t *srv, char *err, size_t errlen)
{
    if (srv->cfg->ws_ring < 16 || srv->cfg->ws_ring > 1 << 20)
        return snprintf(err, errlen, "ws-ring must be between 16 and 1048576"), -EINVAL;
    if (!(srv->hub = calloc(1, sizeof(*srv->hub))))
        return snprintf(err, errlen, "out of memory"), -ENOMEM;
    uv_timer_init(&srv->loop, &srv->hub->merge_timer);
    srv->hub->merge_timer.data = srv;
    return 0;
}

static void close_list(rl_client_t *c, int code)
{
    for (; c; c = c->next)
        rl__client_close(c, code);
}

void rl_hub_close_all(rl_server_t *srv)
{
    rl_hub_t *hub = srv->hub;

    if (!hub || hub->closing)
        return;
    hub->closing = 1;
    close_list(hub->lobby, SIG_CLOSE_GOING_AWAY);
    for (rl_channel_t *ch = hub->channels; ch; ch = ch->next)
        close_list(ch->clients, SIG_CLOSE_GOING_AWAY);
    uv_timer_stop(&hub->merge_timer);
    uv_close((uv_handle_t *)&hub->merge_timer, NULL);
}

/* After the loop has run out: every connection has gone through LWS_CALLBACK_CLOSED, and the
 * timer is closed. */
void rl_hub_free(rl_server_t *srv)
{
    rl_hub_t *hub = srv->hub;

    if (!hub)
        return;
    while (hub->channels) {
        rl_channel_t *ch = hub->channels; /* not &hub->channels: the free NULLs its argument */
        rl__channel_free(srv, &ch);
    }
    free(hub->batch);
    free(hub);
    srv->hub = NULL;
}

/* Pings quiet clients, closes idle ones, shuts down the sockets of closing ones that never
 * drained. */
static void check_client(rl_server_t *srv, rl_client_t *c, double now)
{
    rl_hub_t *hub = srv->hub;
    /* spread over a quarter of the period: clients that came together (a reconnect after a
     * restart) are not all pinged, and do not all answer, in the same second */
    double ping_s = srv->cfg->ws_ping_s * (1 + c->ping_spread / 4);

    if (c->close_code) {
        if (now - c->close_at > HUNG_UP_S)
            shutdown(lws_get_socket_fd(c->wsi), SHUT_RDWR);
        return;
    }
    if (now - c->last_rx > srv->cfg->ws_idle_s) {
        hub->stats.closed_idle++;
        rl__client_close(c, SIG_CLOSE_IDLE);
    } else if (now - c->last_rx > ping_s && now - c->last_ping > ping_s) {
        c->last_ping = now;
        if (can_write_now(c)) {
            if (send_ping(c) < 0)
                rl__client_close(c, SIG_CLOSE_GOING_AWAY); /* a dead socket */
        } else {
            c->ping_due = 1;
            rl__client_wake(c);
        }
    }
}

void rl_hub_tick(rl_server_t *srv)
{
    rl_hub_t *hub = srv->hub;
    double now = rl_now();
    rl_channel_t *ch, *next;
    rl_stream_t *st;

    if (!hub)
        return;
    for (rl_client_t *c = hub->lobby; c; c = c->next)
        check_client(srv, c, now);
    for (ch = hub->channels; ch; ch = next) {
        next = ch->next;
        for (rl_client_t *c = ch->clients; c; c = c->next)
            check_client(srv, c, now);
        if ((st = rl_stream_find(srv, ch->id))) {
            rl__channel_tick(srv, ch, st);
            continue;
        }
        /* deleted: its clients are told, and its history goes with it */
        while (ch->clients) {
            rl_client_t *c = ch->clients;
            detach(srv, c);
            link_client(&hub->lobby, c);
            c->in_lobby = 1;
            rl__client_close(c, SIG_CLOSE_UNKNOWN_STREAM);
        }
        rl__channel_free(srv, &ch);
    }
}

void rl_hub_stats(const rl_server_t *srv, rl_hub_stats_t *out)
{
    const rl_hub_t *hub = srv->hub;

    if (!hub) {
        *out = (rl_hub_stats_t){ 0 };
        return;
    }
    *out = hub->stats;
    out->clients = (uint64_t)hub->nclients;
    out->operators = (uint64_t)hub->noperators;
    out->channels = (uint64_t)hub->nchannels;
}
