/* RTMP ingest: connections glued to the pure proto/rtmp_session state machine. Plain RTMP comes
 * through tcp.c (libuv TCP handles of our own), RTMPS through lws raw sockets (TLS).
 *
 * Invariants: an rl_ingest_t lives exactly as long as its connection (allocated when admitted,
 * freed when its transport has closed it); it is on srv->ingests meanwhile. Redis replies find it
 * again by id, never by pointer, because it may close while a key lookup is in flight.
 *
 * Admission: a connection that has not published yet never keeps a publisher out. At
 * rtmp-max-connections, or at rtmp-max-pending-per-ip from one source, an unpublished connection
 * gives way to the new one (make_room). Those that may give way, neither published nor closing,
 * are also on srv->pending, so that make_room reads at most rtmp-max-connections of them however
 * many wait for their close. Connections closing do not hold a slot: they are counted in
 * srv->ningests_closing until they are closed. Both lists are doubly linked through the address
 * of whatever points at a node, so a connection leaves either in O(1). */
#include "relay/ingest/ingest.h"

#include <errno.h>
#include <libavutil/avstring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "relay/core/log.h"
#include "relay/ingest/session.h"
#include "relay/live/keys.h"
#include "relay/live/stream.h"
#include "relay/net/redis.h"

/* Seconds a closing connection may take to flush what it still has to send. */
#define CLOSE_FLUSH_S 2

typedef int (*ev_handler_fn)(rl_ingest_t *in, const rtmp_event_t *ev);

static rl_ingest_t *find_ingest(rl_server_t *srv, uint64_t id)
{
    for (rl_ingest_t *in = srv->ingests; in; in = in->next)
        if (in->id == id)
            return in;
    return NULL;
}

static void pending_add(rl_ingest_t *in)
{
    rl_ingest_t **head = &in->srv->pending;

    in->pending_next = *head;
    in->pending_pprev = head;
    if (*head)
        (*head)->pending_pprev = &in->pending_next;
    *head = in;
}

/* It published or is closing: it no longer gives way to anyone. */
static void pending_remove(rl_ingest_t *in)
{
    if (!in->pending_pprev)
        return;
    *in->pending_pprev = in->pending_next;
    if (in->pending_next)
        in->pending_next->pending_pprev = in->pending_pprev;
    in->pending_pprev = NULL;
}

/* It has something to send, or is closing. A plain connection sends at once. An RTMPS one waits
 * for lws's writeable callback, which returns -1 to close: that is how lws lets a connection be
 * closed from outside its own service (a timeout set from a foreign loop timer is not re-armed
 * until something else wakes lws). */
static void kick(rl_ingest_t *in)
{
    if (in->tcp)
        rl_tcp_flush(in);
    else
        lws_callback_on_writable(in->wsi);
}

/* It stops holding a slot and giving way: a connection being closed must not be evicted (and
 * counted a second time) by one accepted later in the same turn of the loop. */
static void mark_closing(rl_ingest_t *in)
{
    if (in->closing)
        return;
    in->closing = 1;
    in->closing_since = rl_now();
    in->srv->ningests_closing++;
    pending_remove(in);
}

void rl_ingest_close(rl_ingest_t *in, const char *reason)
{
    if (!in->close_reason)
        in->close_reason = reason;
    mark_closing(in);
    kick(in);
}

static void want_write(rl_ingest_t *in)
{
    size_t n;

    rtmp_session_out(&in->rtmp, &n);
    if (n || in->rtmp.state == RTMP_ST_CLOSING)
        kick(in);
}

static void reject(rl_ingest_t *in, const char *desc)
{
    in->srv->counters.publish_rejected++;
    in->close_reason = desc;
    rtmp_session_publish_reject(&in->rtmp, "NetStream.Publish.BadName", desc);
    want_write(in);
}

/* A publisher already live on this stream gives way when it has gone quiet, or when the new one
 * comes from the same address (OBS reconnecting after a network drop, before the old TCP
 * connection has timed out). nginx-rtmp and SRS refuse that reconnect as "busy". */
static int may_replace(rl_server_t *srv, rl_stream_t *st, const rl_ingest_t *in)
{
    return rl_now() - st->last_media >= srv->cfg->stale_after || !strcmp(st->peer, in->peer);
}

static void start_publishing(rl_ingest_t *in, rl_stream_t *st)
{
    rl_server_t *srv = in->srv;
    rl_ingest_t *old = st->ingest;

    if (old) {
        if (!may_replace(srv, st, in)) {
            reject(in, "stream is live from another encoder");
            return;
        }
        srv->counters.publish_replaced++;
        rl_info("publish_replaced", "stream=%s old_peer=%s new_peer=%s", st->id, old->peer,
                in->peer);
        rl_stream_go_offline(srv, st, "replaced by a new publisher");
        old->stream = NULL;
        rl_ingest_close(old, "replaced by a new publisher");
    }
    if (rl_stream_go_live(srv, st, in, in->peer) < 0) {
        reject(in, "server cannot start the stream");
        return;
    }
    in->stream = st;
    in->published = 1;
    pending_remove(in);
    in->last_media = rl_now();
    srv->counters.publish_ok++;
    rl_info("publish_start", "stream=%s peer=%s session=%llu", st->id, in->peer,
            (unsigned long long)in->id);
    if (rtmp_session_publish_accept(&in->rtmp) < 0) /* no room to say so: the peer is stuck */
        rl_ingest_close(in, in->rtmp.error ? in->rtmp.error : "cannot accept publish");
    want_write(in);
}

/* Redis cannot answer (down, or past the deadline): a key this node learned from Redis still
 * opens its stream, so a seller is not kept off air by an outage of the key store. */
static void publish_offline(rl_ingest_t *in, int rc)
{
    const char *why =
        rc == -ETIMEDOUT ? "key store did not answer in time" : "key store unavailable";
    rl_stream_t *st = rl_keys_known(in->srv, in->key);

    if (!st) {
        rl_warn("publish_rejected", "peer=%s reason=\"%s; key not known to this node\"", in->peer,
                why);
        reject(in, "stream key cannot be checked now, retry shortly");
        return;
    }
    in->srv->counters.publish_offline++;
    rl_warn("publish_accepted_offline", "stream=%s peer=%s reason=\"%s; key known to this node\"",
            st->id, in->peer, why);
    start_publishing(in, st);
}

static void on_key(rl_server_t *srv, uint64_t token, int rc, const char *stream_id)
{
    rl_ingest_t *in = find_ingest(srv, token);
    rl_stream_t *st;

    if (!in || in->closing || in->rtmp.state != RTMP_ST_PUBLISH_WAIT)
        return; /* the publisher left or is being closed, or the deadline answered first */
    in->lookup_deadline = 0;
    if (rc < 0) {
        publish_offline(in, rc);
        return;
    }
    if (!stream_id) {
        rl_warn("publish_rejected", "peer=%s reason=\"unknown or revoked stream key\"", in->peer);
        reject(in, "unknown or revoked stream key");
        return;
    }
    if (!(st = rl_stream_add(srv, stream_id, NULL))) {
        reject(in, "out of memory");
        return;
    }
    start_publishing(in, st);
}

static int ev_publish(rl_ingest_t *in, const rtmp_event_t *ev)
{
    size_t n = strcspn(ev->name, "?"); /* OBS and others may append ?query to the key */
    int rc;

    if (strcmp(ev->app, "live") && strcmp(ev->app, "live/")) {
        rl_warn("publish_rejected", "peer=%s reason=\"application is not live\"", in->peer);
        reject(in, "publish to rtmp://HOST/live/<stream key>");
        return 0;
    }
    memcpy(in->key, ev->name, n);
    in->key[n] = '\0';
    if (!n) {
        reject(in, "empty stream key");
        return 0;
    }
    in->lookup_deadline = rl_now() + rl_redis_timeout_s(in->srv->redis);
    rl_server_deadline_set(in->srv);
    rc = rl_keys_lookup(in->srv, in->key, on_key, in->id);
    if (rc < 0)
        on_key(in->srv, in->id, rc, NULL);
    return 0;
}

static int ev_unpublish(rl_ingest_t *in, const rtmp_event_t *ev)
{
    (void)ev;
    if (in->stream)
        rl_stream_go_offline(in->srv, in->stream, "publisher stopped");
    in->stream = NULL;
    return 0;
}

static int ev_metadata(rl_ingest_t *in, const rtmp_event_t *ev)
{
    if (in->stream)
        rl_stream_metadata(in->stream, ev->meta->framerate, ev->meta->encoder);
    return 0;
}

static int ev_media(rl_ingest_t *in, const rtmp_event_t *ev)
{
    int kind = ev->type == RTMP_EV_VIDEO ? RL_MEDIA_VIDEO : RL_MEDIA_AUDIO;

    in->last_media = rl_now();
    if (in->stream)
        rl_stream_media(in->stream, kind, ev->timestamp, ev->data, ev->len);
    return 0;
}

static const ev_handler_fn ev_table[] = {
    [RTMP_EV_PUBLISH] = ev_publish,   [RTMP_EV_UNPUBLISH] = ev_unpublish,
    [RTMP_EV_METADATA] = ev_metadata, [RTMP_EV_AUDIO] = ev_media,
    [RTMP_EV_VIDEO] = ev_media,
};

int rl_ingest_rx(rl_ingest_t *in, const uint8_t *buf, size_t len)
{
    rtmp_event_t ev;
    int n;

    if (in->evicted)
        return 0; /* its buffers are gone; it is being closed */
    while (len && in->rtmp.state != RTMP_ST_CLOSING) {
        rtmp_state_t before = in->rtmp.state;
        if ((n = rtmp_session_feed(&in->rtmp, buf, len, &ev)) < 0) {
            in->close_reason = in->rtmp.error ? in->rtmp.error : "protocol error";
            in->srv->counters.rtmp_closed_error++;
            return -1;
        }
        if (!n && ev.type == RTMP_EV_NONE && before == in->rtmp.state) {
            in->close_reason = "parser made no progress";
            return -1;
        }
        buf += n;
        len -= (size_t)n;
        if (ev.type != RTMP_EV_NONE && ev_table[ev.type] && ev_table[ev.type](in, &ev) < 0)
            return -1;
    }
    want_write(in);
    return 0;
}

static int on_writeable(rl_ingest_t *in)
{
    size_t len;
    const uint8_t *out = rtmp_session_out(&in->rtmp, &len);
    uint8_t *buf;
    int n;

    if (in->evicted)
        return -1;
    if (len) {
        /* lws_write needs LWS_PRE bytes of headroom before the data it sends. */
        if (!(buf = malloc(LWS_PRE + len)))
            return -1;
        memcpy(buf + LWS_PRE, out, len);
        n = lws_write(in->wsi, buf + LWS_PRE, len, LWS_WRITE_RAW);
        free(buf);
        if (n < (int)len) {
            in->close_reason = "write failed";
            return -1;
        }
        rtmp_session_out_consumed(&in->rtmp, len);
    }
    return in->rtmp.state == RTMP_ST_CLOSING || in->closing ? -1 : 0;
}

/* Which unpublished connection gives way first: the one that got least far towards publishing
 * (a one-byte flood never leaves the handshake, a seller's encoder passes it in one round trip,
 * and a key lookup in flight is most likely a seller), and among equals the oldest. */
static int gives_way_before(const rl_ingest_t *a, const rl_ingest_t *b)
{
    static const int progress[] = {
        [RTMP_ST_CLOSING] = 0,   [RTMP_ST_HANDSHAKE] = 1,    [RTMP_ST_CONNECTING] = 2,
        [RTMP_ST_CONNECTED] = 2, [RTMP_ST_PUBLISH_WAIT] = 3,
    };
    int pa = progress[a->rtmp.state], pb;

    if (!b)
        return 1;
    pb = progress[b->rtmp.state];
    return pa < pb || (pa == pb && a->id < b->id);
}

typedef struct room_s {
    int live;             /* connections holding a slot (not closing) */
    int same_source;      /* unpublished ones from the new connection's source */
    rl_ingest_t *any;     /* the unpublished connection that gives way first */
    rl_ingest_t *sibling; /* the same, among those from the new connection's source */
} room_t;

/* One pass over the pending connections, at most rtmp-max-connections of them, reading the front
 * of each: about 10 us per accept with a full table of 256 (a cache miss per node), against some
 * 100 us for lws and the kernel to accept and close a connection. */
static void survey(rl_server_t *srv, const rl_peer_key_t *source, room_t *r)
{
    memset(r, 0, sizeof(*r));
    r->live = srv->ningests - srv->ningests_closing;
    for (rl_ingest_t *in = srv->pending; in; in = in->pending_next) {
        if (gives_way_before(in, r->any))
            r->any = in;
        if (!rl_peer_key_eq(&in->source, source))
            continue;
        r->same_source++;
        if (gives_way_before(in, r->sibling))
            r->sibling = in;
    }
}

static void shed(rl_server_t *srv, rl_shed_t kind, const char *peer)
{
    srv->counters.rtmp_shed[kind]++;
    av_strlcpy(srv->shed_peer[kind], peer, sizeof(srv->shed_peer[kind]));
}

/* Closes an unpublished connection to admit a newer one. It owes the peer nothing, so its
 * buffers go at once and nothing more is written; its slot is free as soon as it is closing. */
static void evict(rl_ingest_t *in, rl_shed_t kind, const char *reason)
{
    shed(in->srv, kind, in->peer);
    in->evicted = 1;
    rtmp_session_free(&in->rtmp);
    rl_ingest_close(in, reason);
}

/* Returns 0 when a new connection from source may be admitted (evicting one if it must), -1 when
 * every slot is held by a publisher. */
static int make_room(rl_server_t *srv, const rl_peer_key_t *source)
{
    int cap = srv->cfg->rtmp_max_pending_per_ip;
    room_t r;

    survey(srv, source, &r);
    if (cap && r.same_source >= cap) /* frees a slot too, if the table was full */
        evict(r.sibling, RL_SHED_PER_IP,
              "evicted: too many unpublished connections from its source");
    else if (r.live >= srv->cfg->rtmp_max_connections && r.any)
        evict(r.any, RL_SHED_TABLE_FULL, "evicted: connection table full");
    else if (r.live >= srv->cfg->rtmp_max_connections)
        return -1;
    return 0;
}

rl_ingest_t *rl_ingest_admit(rl_server_t *srv, const char *peer)
{
    rl_config_t *c = srv->cfg;
    rtmp_session_limits_t lim = {
        .chunk = { .max_message = (uint32_t)c->rtmp_max_message_kb * 1024,
                   .max_streams = (uint32_t)c->rtmp_max_chunk_streams,
                   .max_buffered = (size_t)c->rtmp_max_message_kb * 1024 + 65536 },
        .max_out = 256 * 1024,
    };
    rl_ingest_t *in;
    rl_peer_key_t source;

    rl_peer_key(peer, &source);
    if (srv->stopping || make_room(srv, &source) < 0) {
        shed(srv, RL_SHED_REFUSED, peer); /* logged once a second by rl_ingest_tick */
        return NULL;
    }
    if (!(in = calloc(1, sizeof(*in))))
        return NULL;
    in->srv = srv;
    in->id = ++srv->next_ingest_id;
    in->created = rl_now();
    av_strlcpy(in->peer, peer, sizeof(in->peer));
    in->source = source;
    rtmp_session_init(&in->rtmp, &lim, NULL, NULL);
    in->next = srv->ingests;
    in->pprev = &srv->ingests;
    if (in->next)
        in->next->pprev = &in->next;
    srv->ingests = in;
    pending_add(in);
    srv->ningests++;
    srv->counters.rtmp_accepted++;
    rl_dbg("rtmp_connect", "peer=%s session=%llu", peer, (unsigned long long)in->id);
    return in;
}

void rl_ingest_ending(rl_ingest_t *in)
{
    int level;

    if (in->ended)
        return;
    in->ended = 1;
    mark_closing(in);
    level = in->evicted ? RL_LOG_DEBUG /* counted, and logged once a second */
            : in->close_reason && in->rtmp.state != RTMP_ST_PUBLISHING ? RL_LOG_WARN
                                                                       : RL_LOG_INFO;
    if (in->stream)
        rl_stream_go_offline(in->srv, in->stream,
                             in->close_reason ? in->close_reason : "disconnected");
    in->stream = NULL;
    rl_log(level, "rtmp_close", "peer=%s session=%llu reason=\"%s\" bytes_in=%llu", in->peer,
           (unsigned long long)in->id, in->close_reason ? in->close_reason : "peer closed",
           (unsigned long long)in->rtmp.rd.bytes_in);
}

void rl_ingest_closed(rl_ingest_t *in)
{
    rl_server_t *srv = in->srv;

    rl_ingest_ending(in); /* it is closing, so off srv->pending, from here on */
    *in->pprev = in->next;
    if (in->next)
        in->next->pprev = in->pprev;
    srv->ningests--;
    srv->ningests_closing--;
    rtmp_session_free(&in->rtmp);
    free(in);
}

int rl_ingest_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    rl_ingest_t **slot = user;
    rl_server_t *srv = rl_server_from_wsi(wsi);

    switch (reason) {
    case LWS_CALLBACK_RAW_ADOPT: {
        char peer[64] = "";

        lws_get_peer_simple(wsi, peer, sizeof(peer));
        if (!(*slot = rl_ingest_admit(srv, rl_peer_unmap(peer))))
            return -1;
        (*slot)->wsi = wsi;
        return 0;
    }
    case LWS_CALLBACK_RAW_RX: return *slot ? rl_ingest_rx(*slot, in, len) : -1;
    case LWS_CALLBACK_RAW_WRITEABLE: return *slot ? on_writeable(*slot) : -1;
    case LWS_CALLBACK_RAW_CLOSE:
        if (*slot)
            rl_ingest_closed(*slot);
        *slot = NULL;
        return 0;
    default: return 0;
    }
}

/* A key lookup that Redis has not answered in time is decided without it; the late reply finds
 * the session no longer waiting and does nothing. */
int rl_ingest_expire_lookups(rl_server_t *srv)
{
    double now = rl_now();
    int waiting = 0;

    for (rl_ingest_t *in = srv->ingests; in; in = in->next) {
        if (in->closing || !in->lookup_deadline)
            continue;
        if (now < in->lookup_deadline) {
            waiting++;
            continue;
        }
        rl_redis_count_timeout(srv->redis);
        on_key(srv, in->id, -ETIMEDOUT, NULL);
    }
    return waiting;
}

/* How each kind of shed connection is logged: once a second with a count, so that a flood does
 * not flood the log too. */
static const struct {
    const char *event, *what;
} shed_log[RL_SHED_KINDS] = {
    [RL_SHED_TABLE_FULL] = { "rtmp_evicted", "reason=table_full" },
    [RL_SHED_PER_IP] = { "rtmp_evicted", "reason=per_ip" },
    [RL_SHED_REFUSED] = { "rtmp_refused", "reason=\"too many connections\"" },
};

static void log_shed(rl_server_t *srv)
{
    for (int k = 0; k < RL_SHED_KINDS; k++) {
        uint64_t n = srv->counters.rtmp_shed[k] - srv->shed_logged[k];

        if (!n)
            continue;
        rl_warn(shed_log[k].event, "%s count=%llu last_peer=%s connections=%d limit=%d",
                shed_log[k].what, (unsigned long long)n, srv->shed_peer[k],
                srv->ningests - srv->ningests_closing, srv->cfg->rtmp_max_connections);
        srv->shed_logged[k] = srv->counters.rtmp_shed[k];
    }
}

/* A closing connection waits until its replies are sent, which never happens while a peer that
 * does not read keeps the socket buffers full. A plain one is then closed at once; an RTMPS one's
 * socket is shut down, which makes lws see it readable (EOF) and writeable at once, and close it
 * on its own path. */
static void hang_up_if_stuck(rl_ingest_t *in, double now)
{
    if (in->hung_up || now - in->closing_since < CLOSE_FLUSH_S)
        return;
    in->hung_up = 1;
    in->srv->counters.rtmp_hung_up++;
    rl_dbg("rtmp_hang_up", "peer=%s session=%llu", in->peer, (unsigned long long)in->id);
    if (in->tcp)
        rl_tcp_close_now(in);
    else
        shutdown(lws_get_socket_fd(in->wsi), SHUT_RDWR);
}

/* Once a second: a connection must publish within rtmp-timeout seconds and then keep sending;
 * a peer dribbling a byte a second is closed here. */
void rl_ingest_tick(rl_server_t *srv)
{
    double now = rl_now(), limit = srv->cfg->rtmp_timeout;

    for (rl_ingest_t *in = srv->ingests; in; in = in->next) {
        if (in->closing)
            hang_up_if_stuck(in, now);
        else if (in->rtmp.state == RTMP_ST_CLOSING) /* refused or failed: flushing its reply */
            rl_ingest_close(in, in->rtmp.error ? in->rtmp.error : "closing");
        else if (!in->published && in->rtmp.state < RTMP_ST_PUBLISHING && now - in->created > limit)
            rl_ingest_close(in, in->rtmp.state == RTMP_ST_HANDSHAKE ? "handshake timeout"
                                                                    : "publish timeout");
        else if (in->published && now - in->last_media > limit)
            rl_ingest_close(in, "no media (idle timeout)");
    }
    log_shed(srv);
}

void rl_ingest_stop(rl_server_t *srv)
{
    for (rl_ingest_t *in = srv->ingests; in; in = in->next) {
        if (!in->tcp)
            continue;
        if (!in->close_reason)
            in->close_reason = "server stopping";
        rl_tcp_close_now(in); /* offline now, while its worker is there to end its session */
    }
    rl_tcp_unlisten(srv);
}

void rl_ingest_close_stream(rl_server_t *srv, rl_stream_t *st, const char *reason)
{
    for (rl_ingest_t *in = srv->ingests; in; in = in->next)
        if (in->stream == st) {
            rl_stream_go_offline(srv, st, reason);
            in->stream = NULL;
            rl_ingest_close(in, reason);
        }
}
