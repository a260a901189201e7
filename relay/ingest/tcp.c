/* Plain RTMP on libuv TCP handles of our own: the listener, reads, writes and the close. RTMPS
 * stays on lws raw sockets (lws does the TLS).
 *
 * Why not lws for plain RTMP too: a publisher's socket is read about a hundred times a second,
 * and lws's dispatch of each read (its service of the fd, the wsi lookup, its libuv glue, an idle
 * handle per service) was an eighth of the ingest thread's CPU at one publisher, more than the
 * RTMP parsing (bench/RESULTS.md). Here a read is libuv's read() into one buffer that every
 * connection shares (the loop handles one read at a time and the session keeps what it needs),
 * handed straight to the session.
 *
 * Writes are tried at once (uv_try_write). What the socket cannot take is copied into one write
 * in flight, and reading stops until it has gone: a peer that does not read cannot make us
 * buffer without end, and its flush timeout (ingest.c) hangs it up. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "relay/core/config.h"
#include "relay/core/log.h"
#include "relay/ingest/ingest.h"
#include "relay/ingest/session.h"
#include "relay/net/peer.h"

/* What one read may take: RTMP video arrives in bursts of tens of KiB. */
#define RX_BYTES 65536

struct rl_rtmp_listener_s {
    uv_tcp_t h;
    uint8_t rx[RX_BYTES]; /* every connection's reads */
};

struct rl_tcp_conn_s {
    uv_tcp_t h; /* h.data: its rl_ingest_t */
    uv_write_t wr;
    uint8_t *unsent; /* what the write in flight sends, or NULL */
};

static void free_conn(uv_handle_t *h)
{
    rl_tcp_conn_t *c = (rl_tcp_conn_t *)h;

    if (c->h.data)
        rl_ingest_closed(c->h.data);
    free(c->unsent);
    free(c);
}

/* uv_close closes the descriptor at once and calls free_conn later in the loop's turn. */
void rl_tcp_close_now(rl_ingest_t *in)
{
    if (uv_is_closing((uv_handle_t *)&in->tcp->h))
        return;
    rl_ingest_ending(in);
    uv_close((uv_handle_t *)&in->tcp->h, free_conn);
}

/* Closes at once for reason, unless an earlier one was given. */
static void close_for(rl_ingest_t *in, const char *reason)
{
    if (!in->close_reason)
        in->close_reason = reason;
    rl_tcp_close_now(in);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    rl_ingest_t *in = h->data;

    (void)hint;
    *buf = uv_buf_init((char *)in->srv->rtmp_listener->rx, RX_BYTES);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    rl_ingest_t *in = s->data;

    if (n > 0) {
        if (rl_ingest_rx(in, (const uint8_t *)buf->base, (size_t)n) < 0)
            rl_tcp_close_now(in);
        return;
    }
    if (!n) /* EAGAIN */
        return;
    close_for(in, n == UV_EOF || n == UV_ECONNRESET ? NULL : uv_strerror((int)n));
}

static void on_written(uv_write_t *req, int status)
{
    rl_tcp_conn_t *c = req->data;
    rl_ingest_t *in = c->h.data;

    free(c->unsent);
    c->unsent = NULL;
    if (status == UV_ECANCELED) /* closed meanwhile */
        return;
    if (status < 0) {
        close_for(in, "write failed");
        return;
    }
    if (!in->closing && !in->evicted)
        uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read);
    rl_tcp_flush(in);
}

/* Sends out[0..len) now, or what the socket takes of it and the rest in a write of its own. */
static int send_out(rl_tcp_conn_t *c, const uint8_t *out, size_t len)
{
    uv_stream_t *s = (uv_stream_t *)&c->h;
    uv_buf_t b = uv_buf_init((char *)out, (unsigned)len);
    int n = uv_try_write(s, &b, 1);

    if (n == UV_EAGAIN)
        n = 0;
    if (n < 0 || (size_t)n == len)
        return n < 0 ? n : 0;
    if (!(c->unsent = malloc(len - (size_t)n)))
        return UV_ENOMEM;
    memcpy(c->unsent, out + n, len - (size_t)n);
    b = uv_buf_init((char *)c->unsent, (unsigned)(len - (size_t)n));
    c->wr.data = c;
    uv_read_stop(s);
    return uv_write(&c->wr, s, &b, 1, on_written);
}

void rl_tcp_flush(rl_ingest_t *in)
{
    rl_tcp_conn_t *c = in->tcp;
    const uint8_t *out;
    size_t len;

    if (in->evicted) { /* it owes the peer nothing: even a write in flight is dropped */
        rl_tcp_close_now(in);
        return;
    }
    if (uv_is_closing((uv_handle_t *)&c->h) || c->unsent)
        return; /* closed, or on_written flushes again */
    out = rtmp_session_out(&in->rtmp, &len);
    if (len) {
        if (send_out(c, out, len) < 0) {
            close_for(in, "write failed");
            return;
        }
        rtmp_session_out_consumed(&in->rtmp, len);
    }
    if (!c->unsent && (in->rtmp.state == RTMP_ST_CLOSING || in->closing))
        rl_tcp_close_now(in); /* what was sent is in the kernel's hands */
}

/* The peer's numeric address, an IPv4 one as a.b.c.d even on a dual-stack listener. */
static void peer_name(uv_tcp_t *h, char *out, size_t n)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    out[0] = '\0';
    if (uv_tcp_getpeername(h, (struct sockaddr *)&ss, &len) < 0)
        return;
    if (ss.ss_family == AF_INET)
        uv_ip4_name((struct sockaddr_in *)&ss, out, n);
    else if (ss.ss_family == AF_INET6)
        rl_peer_unmap((uv_ip6_name((struct sockaddr_in6 *)&ss, out, n), out));
}

static void on_connection(uv_stream_t *l, int status)
{
    rl_server_t *srv = l->data;
    rl_tcp_conn_t *c;
    rl_ingest_t *in;
    char peer[64];

    if (status < 0) {
        rl_warn("rtmp_accept", "error=\"%s\"", uv_strerror(status));
        return;
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        /* nowhere to accept it into: libuv retries at the next connection */
        rl_err("rtmp_accept", "error=\"out of memory\"");
        return;
    }
    uv_tcp_init(&srv->loop, &c->h);
    if (uv_accept(l, (uv_stream_t *)&c->h) < 0) {
        uv_close((uv_handle_t *)&c->h, free_conn);
        return;
    }
    peer_name(&c->h, peer, sizeof(peer));
    if (!(in = rl_ingest_admit(srv, peer))) {
        uv_close((uv_handle_t *)&c->h, free_conn);
        return;
    }
    in->tcp = c;
    c->h.data = in;
    uv_tcp_nodelay(&c->h, 1); /* the handshake's and commands' replies are small */
    uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read);
}

static void free_listener(uv_handle_t *h)
{
    free(h);
}

/* Binds and listens on one address; on failure the handle is closed and freed. */
static int listen_on(rl_server_t *srv, const struct sockaddr *sa)
{
    struct rl_rtmp_listener_s *l = calloc(1, sizeof(*l));
    int rc;

    if (!l)
        return UV_ENOMEM;
    uv_tcp_init(&srv->loop, &l->h);
    l->h.data = srv;
    if ((rc = uv_tcp_bind(&l->h, sa, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&l->h, SOMAXCONN, on_connection)) < 0) {
        uv_close((uv_handle_t *)&l->h, free_listener);
        return rc;
    }
    srv->rtmp_listener = l;
    return 0;
}

int rl_ingest_listen(rl_server_t *srv, const char *listen, char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM },
                    *ai = NULL;
    char host[128], port_s[8];
    int port, rc, any;

    if (rl_parse_hostport(listen, host, sizeof(host), &port) < 0)
        return snprintf(err, errlen, "rtmp-listen: '%s' is not HOST:PORT", listen), -EINVAL;
    snprintf(port_s, sizeof(port_s), "%d", port);
    /* every address: IPv6's wildcard takes IPv4 too, unless the host has no IPv6 */
    any = !host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "::");
    if (any) {
        struct sockaddr_in6 a6;
        struct sockaddr_in a4;

        uv_ip6_addr("::", port, &a6);
        uv_ip4_addr("0.0.0.0", port, &a4);
        rc = listen_on(srv, (const struct sockaddr *)&a6);
        if (rc == UV_EAFNOSUPPORT)
            rc = listen_on(srv, (const struct sockaddr *)&a4);
    } else if ((rc = getaddrinfo(host, port_s, &hints, &ai))) {
        return snprintf(err, errlen, "rtmp-listen: '%s': %s", host, gai_strerror(rc)), -EINVAL;
    } else {
        rc = listen_on(srv, ai->ai_addr);
        freeaddrinfo(ai);
    }
    if (rc < 0)
        return snprintf(err, errlen, "cannot listen on %s for rtmp: %s", listen, uv_strerror(rc)),
               rc;
    rl_info("listen", "service=rtmp address=%s", listen);
    return 0;
}

void rl_tcp_unlisten(rl_server_t *srv)
{
    if (srv->rtmp_listener)
        uv_close((uv_handle_t *)&srv->rtmp_listener->h, free_listener);
    srv->rtmp_listener = NULL;
}
