/* WebSocket load client of bench/ws_fanout.sh and bench/part_notice.sh: N shopcast.v1 viewers on
 * one epoll loop, each subscribed to one stream; notes when each `order` (or `part`) message
 * reaches each client, and prints the latencies as one JSON object.
 *
 *   ws_client --port P --stream ID --clients N --mode order|part --ready FILE
 *             [--host 127.0.0.1] [--sources 127.0.0.1,127.0.0.2,...] [--inflight 200]
 *             [--sent FILE] [--parts FILE] [--progress FILE] [--events FILE]
 *
 * Runs until SIGTERM or SIGINT, then prints the figures. FILE from --ready is written once every
 * client has its hello. order: --sent FILE holds "qty confirm_us" lines (Unix µs of Redis's
 * reply to each order, bench/lib/ws_orders.py), read at the end; an order event is matched by its
 * qty (each order has its own). --progress FILE: the messages counted so far,
 * rewritten once a second. part: the reference is the message's ready_ms; --parts FILE gets
 * the first client's part messages as "rung msn part ready_ms recv_us". --events FILE gets each
 * event's first and last receipt, in the order the events were sent: "index first_ms last_ms".
 * RFC 6455: client frames are masked (5.3), server frames are not; a ping is answered with a
 * pong carrying its payload (5.5.2). At most --inflight connections are being set up at once,
 * so the relay's listen backlog never overflows; each connection binds the next --sources
 * address (IP_BIND_ADDRESS_NO_PORT), so more than one address's ephemeral ports can be used. */
#include "loadnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS (1 << 16) /* distinct orders or parts a run follows */
#define READ_CHUNK 16384

enum { C_IDLE, C_CONNECTING, C_UPGRADING, C_OPEN, C_READY, C_DONE };
enum { MODE_ORDER, MODE_PART };

typedef struct conn_s {
    int fd, state, idx;
    char *buf;
    size_t len, cap;
} conn_t;

typedef struct sample_s {
    uint32_t event;
    int64_t recv_us;
} sample_t;

typedef struct event_s {
    int64_t ref_us; /* confirmation (order) or ready_ms (part); 0: unknown */
    char rung[16];
    uint64_t msn;
    int part;
} event_t;

typedef struct opts_s {
    const char *host, *stream, *ready, *sent, *parts, *progress, *events;
    int port, clients, inflight, mode;
    struct in_addr sources[LN_MAX_SOURCES];
    int nsources;
} opts_t;

static opts_t opt = { .host = "127.0.0.1", .inflight = 200 };
static conn_t *conns;
static sample_t *samples;
static size_t nsamples, samples_cap;
static event_t events[MAX_EVENTS];
static uint32_t nevents;
static int epfd, nready, nfailed, ninflight, nclosed_by_server, close_codes[5000];
static int64_t t_start_us, t_ready_us;
static double cpu_at_ready;
static FILE *parts_out;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* ---- connections ---- */

static void finish(conn_t *c, int failed)
{
    if (c->state == C_DONE)
        return;
    if (c->state < C_OPEN)
        ninflight--;
    if (c->state == C_READY)
        nready--;
    nfailed += failed;
    close(c->fd);
    free(c->buf);
    c->buf = NULL;
    c->state = C_DONE;
}

static int send_all(conn_t *c, const void *p, size_t n)
{
    /* small writes on a socket whose buffer is empty: a short one is a failure here */
    if (send(c->fd, p, n, MSG_NOSIGNAL) != (ssize_t)n) {
        finish(c, 1);
        return -1;
    }
    return 0;
}

static int start(conn_t *c)
{
    int fd = ln_connect(epfd, opt.sources[c->idx % opt.nsources], opt.host, opt.port, c);

    if (fd < 0)
        return fd;
    c->fd = fd;
    c->state = C_CONNECTING;
    ninflight++;
    return 0;
}

static void send_upgrade(conn_t *c)
{
    char req[512];
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    int n = snprintf(req, sizeof(req),
                     "GET /ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: shopcast.v1\r\n"
                     "User-Agent: ws_client/%d\r\n\r\n",
                     opt.host, opt.port, c->idx);
    int err = 0;
    socklen_t el = sizeof(err);

    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        finish(c, 1);
        return;
    }
    if (send_all(c, req, (size_t)n) < 0)
        return;
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->state = C_UPGRADING;
}

/* A masked client frame (RFC 6455 5.2, 5.3); payloads here are < 126 bytes. */
static int send_frame(conn_t *c, int opcode, const char *p, size_t n)
{
    uint8_t f[2 + 4 + 125];
    static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

    if (n > 125)
        return -1;
    f[0] = (uint8_t)(0x80 | opcode);
    f[1] = (uint8_t)(0x80 | n);
    memcpy(f + 2, mask, 4);
    for (size_t i = 0; i < n; i++)
        f[6 + i] = (uint8_t)p[i] ^ mask[i % 4];
    return send_all(c, f, 6 + n);
}

static void subscribe(conn_t *c)
{
    char m[125];
    int n = snprintf(m, sizeof(m), "{\"type\":\"subscribe\",\"stream\":\"%s\",\"role\":\"viewer\"}",
                     opt.stream);

    if (send_frame(c, 1, m, (size_t)n) == 0)
        c->state = C_OPEN;
    ninflight -= c->state == C_OPEN;
}

/* ---- what arrives ---- */

static const char *find(const char *p, size_t n, const char *key)
{
    const char *k = memmem(p, n, key, strlen(key));

    return k ? k + strlen(key) : NULL;
}

static int64_t number_after(const char *p, size_t n, const char *key)
{
    const char *k = find(p, n, key), *end = p + n;
    int64_t v = 0;

    if (!k)
        return -1;
    for (; k < end && *k >= '0' && *k <= '9'; k++)
        v = v * 10 + (*k - '0');
    return v;
}

static void add_sample(uint32_t event, int64_t t)
{
    if (nsamples == samples_cap) {
        samples_cap = samples_cap ? samples_cap * 2 : 1 << 20;
        if (!(samples = realloc(samples, samples_cap * sizeof(*samples)))) {
            perror("ws_client: samples");
            exit(1);
        }
    }
    samples[nsamples++] = (sample_t){ event, t };
}

/* The event a part message names: looked up among the newest ones, or added. */
static int64_t part_event(const char *p, size_t n)
{
    const char *r = find(p, n, "\"rung\":\""), *q;
    int64_t msn = number_after(p, n, "\"msn\":"), part = number_after(p, n, "\"part\":");
    int64_t ready = number_after(p, n, "\"ready_ms\":");
    char rung[16] = "";

    if (!r || msn < 0 || part < 0 || ready < 0 || !(q = memchr(r, '"', (size_t)(p + n - r))) ||
        q - r >= (long)sizeof(rung))
        return -1;
    memcpy(rung, r, (size_t)(q - r));
    for (uint32_t i = nevents, k = 0; i-- > 0 && k < 256; k++)
        if (events[i].msn == (uint64_t)msn && events[i].part == part &&
            !strcmp(events[i].rung, rung))
            return i;
    if (nevents == MAX_EVENTS)
        return -1;
    events[nevents] = (event_t){ .ref_us = ready * 1000, .msn = (uint64_t)msn, .part = (int)part };
    memcpy(events[nevents].rung, rung, sizeof(rung));
    return nevents++;
}

static void on_text(conn_t *c, const char *p, size_t n, int64_t t)
{
    int64_t ev;

    if (c->state == C_OPEN && find(p, n, "\"type\":\"hello\"")) {
        c->state = C_READY;
        nready++;
    } else if (opt.mode == MODE_ORDER && find(p, n, "\"type\":\"order\"")) {
        if ((ev = number_after(p, n, "\"qty\":")) > 0 && ev < MAX_EVENTS)
            add_sample((uint32_t)ev, t);
    } else if (opt.mode == MODE_PART && find(p, n, "\"type\":\"part\"")) {
        if ((ev = part_event(p, n)) < 0)
            return;
        add_sample((uint32_t)ev, t);
        if (c->idx == 0 && parts_out)
            fprintf(parts_out, "%s\t%llu\t%d\t%lld\t%lld\n", events[ev].rung,
                    (unsigned long long)events[ev].msn, events[ev].part,
                    (long long)(events[ev].ref_us / 1000), (long long)t);
    }
}

static void on_close_frame(conn_t *c, const uint8_t *p, size_t n)
{
    int code = n >= 2 ? p[0] << 8 | p[1] : 0;

    if (code > 0 && code < 5000)
        close_codes[code]++;
    nclosed_by_server++;
    finish(c, 1);
}

/* One server frame; returns 0, or -1 when the connection is gone. */
static int on_frame(conn_t *c, int op, const uint8_t *p, size_t n, int64_t t)
{
    switch (op) {
    case 1: on_text(c, (const char *)p, n, t); return 0;
    case 8: on_close_frame(c, p, n); return -1;
    case 9: return send_frame(c, 10, (const char *)p, n > 125 ? 125 : n);
    default: return 0;
    }
}

/* RFC 6455 5.2: unmasked server frames, 7, 16 or 64-bit lengths. */
static void parse_frames(conn_t *c, int64_t t)
{
    size_t at = 0;

    while (c->len - at >= 2) {
        const uint8_t *b = (const uint8_t *)c->buf + at;
        uint64_t plen = b[1] & 0x7f;
        size_t hdr = 2;
        if (plen == 126) {
            if (c->len - at < 4)
                break;
            plen = (uint64_t)b[2] << 8 | b[3];
            hdr = 4;
        } else if (plen == 127) {
            if (c->len - at < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | b[2 + i];
            hdr = 10;
        }
        if (c->len - at < hdr + plen)
            break;
        if (on_frame(c, b[0] & 0x0f, b + hdr, (size_t)plen, t) < 0)
            return;
        at += hdr + (size_t)plen;
    }
    memmove(c->buf, c->buf + at, c->len - at);
    c->len -= at;
}

static void on_upgrade_reply(conn_t *c)
{
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    size_t n;

    if (!end)
        return;
    if (c->len < 12 || memcmp(c->buf, "HTTP/1.1 101", 12)) {
        finish(c, 1);
        return;
    }
    n = (size_t)(end + 4 - c->buf);
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
    subscribe(c);
}

static void on_readable(conn_t *c)
{
    for (;;) {
        if (c->cap - c->len < READ_CHUNK) {
            char *b = realloc(c->buf, c->cap + READ_CHUNK);
            if (!b) {
                finish(c, 1);
                return;
            }
            c->buf = b;
            c->cap += READ_CHUNK;
        }
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r <= 0) {
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            finish(c, 1);
            return;
        }
        c->len += (size_t)r;
        if (c->state == C_UPGRADING)
            on_upgrade_reply(c);
        if (c->state == C_OPEN || c->state == C_READY)
            parse_frames(c, ln_now_us());
        if (c->state == C_DONE)
            return;
    }
}

/* ---- the run ---- */

static void write_ready(void)
{
    FILE *f = fopen(opt.ready, "w");

    t_ready_us = ln_now_us();
    cpu_at_ready = ln_cpu_s();
    if (f) {
        fprintf(f, "%d %.3f\n", nready, (t_ready_us - t_start_us) / 1e6);
        fclose(f);
    }
}

/* Once a second: the messages counted so far, so a script can wait until they stop coming. */
static void write_progress(int64_t t)
{
    static int64_t last;
    FILE *f;

    if (!opt.progress || t - last < 1000000 || !(f = fopen(opt.progress, "w")))
        return;
    last = t;
    fprintf(f, "%zu %d\n", nsamples, nready);
    fclose(f);
}

static void loop(void)
{
    struct epoll_event evs[1024];
    int next = 0;

    t_start_us = ln_now_us();
    while (!stop) {
        while (next < opt.clients && ninflight < opt.inflight) {
            conns[next].idx = next;
            if (start(&conns[next]) < 0) {
                conns[next].state = C_DONE;
                nfailed++;
            }
            next++;
        }
        int n = epoll_wait(epfd, evs, 1024, 100);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c->state == C_CONNECTING)
                send_upgrade(c);
            else if (c->state != C_DONE)
                on_readable(c);
        }
        write_progress(ln_now_us());
        if (!t_ready_us && next == opt.clients && nready + nfailed == opt.clients && nready)
            write_ready();
    }
}

/* ---- the figures ---- */

static void read_sent(void)
{
    FILE *f = opt.sent ? fopen(opt.sent, "r") : NULL;
    long long qty, us;

    while (f && fscanf(f, "%lld %lld", &qty, &us) == 2)
        if (qty > 0 && qty < MAX_EVENTS) {
            events[qty].ref_us = us;
            if ((uint32_t)qty >= nevents)
                nevents = (uint32_t)qty + 1;
        }
    if (f)
        fclose(f);
}

/* Per event: its first and last receipt, as latencies (how long the fan-out took). */
static void spread(const int64_t *lat, size_t n, int64_t *first, int64_t *last, size_t *nev)
{
    *nev = 0;
    for (uint32_t e = 0; e < nevents; e++)
        first[e] = INT64_MAX, last[e] = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        uint32_t e = samples[i].event;
        if (lat[i] < first[e])
            first[e] = lat[i];
        if (lat[i] > last[e])
            last[e] = lat[i];
    }
    for (uint32_t e = 0; e < nevents; e++)
        if (first[e] != INT64_MAX) {
            first[*nev] = first[e];
            last[*nev] = last[e];
            (*nev)++;
        }
}

static void report(void)
{
    int64_t *lat = malloc((nsamples + 1) * sizeof(*lat)), *first = malloc(MAX_EVENTS * 8),
            *last = malloc(MAX_EVENTS * 8);
    size_t n = 0, nev, nref = 0;
    FILE *f;
    double cpu = ln_cpu_s(), wall = t_ready_us ? (ln_now_us() - t_ready_us) / 1e6 : 0;

    if (!lat || !first || !last)
        exit(1);
    for (size_t i = 0; i < nsamples; i++)
        if (events[samples[i].event].ref_us) {
            lat[n] = samples[i].recv_us - events[samples[i].event].ref_us;
            samples[n++] = samples[i];
        }
    for (uint32_t e = 0; e < nevents; e++)
        nref += events[e].ref_us != 0;
    spread(lat, n, first, last, &nev);
    if (opt.events && (f = fopen(opt.events, "w"))) {
        for (size_t e = 0; e < nev; e++)
            fprintf(f, "%zu %.2f %.2f\n", e, first[e] / 1000.0, last[e] / 1000.0);
        fclose(f);
    }
    qsort(lat, n, sizeof(*lat), ln_cmp_i64);
    qsort(first, nev, sizeof(*first), ln_cmp_i64);
    qsort(last, nev, sizeof(*last), ln_cmp_i64);
    printf("{\"clients\":%d,\"subscribed\":%d,\"failed\":%d,\"closed_by_server\":%d,"
           "\"connect_s\":%.3f,\"events\":%zu,\"events_received\":%zu,\"samples\":%zu,"
           "\"unmatched\":%zu,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,\"min_ms\":%.2f,"
           "\"first_p50_ms\":%.2f,\"first_p99_ms\":%.2f,\"last_p50_ms\":%.2f,\"last_p99_ms\":%.2f,"
           "\"last_max_ms\":%.2f,\"cpu_total_s\":%.3f,\"cpu_measured_s\":%.3f,"
           "\"measured_wall_s\":%.3f,\"close_codes\":{",
           opt.clients, nready, nfailed, nclosed_by_server,
           t_ready_us ? (t_ready_us - t_start_us) / 1e6 : -1.0, nref, nev, n, nsamples - n,
           ln_pct_ms(lat, n, 50), ln_pct_ms(lat, n, 99), n ? lat[n - 1] / 1000.0 : -1,
           n ? lat[0] / 1000.0 : -1, ln_pct_ms(first, nev, 50), ln_pct_ms(first, nev, 99),
           ln_pct_ms(last, nev, 50), ln_pct_ms(last, nev, 99), nev ? last[nev - 1] / 1000.0 : -1,
           cpu, t_ready_us ? cpu - cpu_at_ready : 0, wall);
    for (int k = 0, sep = 0; k < 5000; k++)
        if (close_codes[k])
            printf("%s\"%d\":%d", sep++ ? "," : "", k, close_codes[k]);
    printf("}}\n");
    free(lat);
    free(first);
    free(last);
}

/* ---- options ---- */

static int parse_opts(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--port"))
            opt.port = atoi(v);
        else if (!strcmp(k, "--host"))
            opt.host = v;
        else if (!strcmp(k, "--stream"))
            opt.stream = v;
        else if (!strcmp(k, "--clients"))
            opt.clients = atoi(v);
        else if (!strcmp(k, "--inflight"))
            opt.inflight = atoi(v);
        else if (!strcmp(k, "--ready"))
            opt.ready = v;
        else if (!strcmp(k, "--sent"))
            opt.sent = v;
        else if (!strcmp(k, "--parts"))
            opt.parts = v;
        else if (!strcmp(k, "--progress"))
            opt.progress = v;
        else if (!strcmp(k, "--events"))
            opt.events = v;
        else if (!strcmp(k, "--mode"))
            opt.mode = strcmp(v, "part") ? MODE_ORDER : MODE_PART;
        else if (!strcmp(k, "--sources")) {
            if ((opt.nsources = ln_parse_sources(argv[i + 1], opt.sources)) < 0)
                return -1;
        } else
            return -1;
    }
    if (!opt.nsources)
        inet_pton(AF_INET, "127.0.0.1", &opt.sources[opt.nsources++]);
    return opt.port > 0 && opt.stream && strlen(opt.stream) < 64 && opt.clients > 0 &&
                   opt.inflight > 0 && opt.ready
               ? 0
               : -1;
}

int main(int argc, char **argv)
{
    struct sigaction sa = { .sa_handler = on_signal };

    if (parse_opts(argc, argv) < 0) {
        fprintf(stderr, "usage: ws_client --port P --stream ID --clients N --mode order|part "
                        "--ready FILE [--host H] [--sources A,B] [--inflight K] [--sent FILE] "
                        "[--parts FILE] [--progress FILE] [--events FILE]\n");
        return 2;
    }
    ln_raise_nofile("ws_client", opt.clients);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (!(conns = calloc((size_t)opt.clients, sizeof(*conns))) || (epfd = epoll_create1(0)) < 0)
        return 1;
    if (opt.parts && !(parts_out = fopen(opt.parts, "w")))
        return perror(opt.parts), 1;
    loop();
    if (parts_out)
        fclose(parts_out);
    if (opt.mode == MODE_ORDER)
        read_sent();
    report();
    return 0;
}
