/* LL-HLS load client of bench/capacity.sh: N viewers of one rendition on one epoll loop, each on
 * its own keep-alive connection, following the live edge the way hls.js does in low-latency
 * mode: a blocking playlist reload for the next part (?_HLS_msn=M&_HLS_part=P, the part that the
 * playlist's EXT-X-PRELOAD-HINT names), then a GET of every part listed that the viewer does not
 * have yet, then the next blocking reload. A viewer starts at the last part listed.
 *
 *   hls_client --port P --path /hls/ID/RUNG --clients N --seconds S
 *              [--host 127.0.0.1] [--sources 127.0.0.1,127.0.0.2,...] [--inflight 200]
 *
 * Prints one JSON object when the S seconds (counted from the moment every viewer had its first
 * playlist) are over: viewers, requests, failures, bytes; per part the time from the first
 * viewer having it whole to the last one (the fan-out), with how many viewers had each part; and
 * per viewer and part, the time from the first viewer having it to this one having it (the
 * delivery delay: the first viewer stands for the part being ready, as all wait for it with a
 * blocking reload, so this is what serving many costs each one).
 * Responses must carry Content-Length (shopcast's and nginx's do); a chunked one is a failure. */
#include "loadnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS     (1 << 16) /* distinct parts a run follows */
#define MAX_QUEUE      16        /* parts one playlist can list that a viewer does not have */
#define SCRATCH        (256 * 1024)
#define RETRY_US       200000 /* after a failed request: wait, then a plain playlist reload */
#define READY_WAIT_US  30000000
#define NO_PART        (-1LL)
#define PART_KEY(m, i) ((int64_t)(m)*64 + (i)) /* parts of a segment: < 64 */

enum { C_IDLE, C_CONNECTING, C_OPEN, C_WAIT, C_DONE };
enum { R_PLAYLIST, R_PART };

typedef struct conn_s {
    int fd, state, idx, req, got_header;
    char *buf; /* response headers, then a playlist's body */
    size_t len, cap, body_left;
    int64_t have, fetching, hint, queue[MAX_QUEUE], retry_at;
    int nqueue, status, close_after, first_done;
} conn_t;

typedef struct event_s {
    int64_t key, first_us, last_us;
    int count;
} event_t;

typedef struct delay_s {
    uint32_t event;
    int32_t us; /* after the part's first viewer */
} delay_t;

static struct {
    const char *host, *path;
    int port, clients, inflight, seconds, nsources;
    struct in_addr sources[LN_MAX_SOURCES];
} opt = { .host = "127.0.0.1", .inflight = 200 };

static conn_t *conns;
static event_t events[MAX_EVENTS];
static uint32_t nevents;
static delay_t *delays;
static size_t ndelays, delays_cap;
static int epfd, ninflight, nstarted, nfailed, nreconnects;
static uint64_t nplaylists, nparts, nerrors, nbytes;
static int64_t t_start_us, t_ready_us;
static double cpu_at_ready;
static volatile sig_atomic_t stop;
static char scratch[SCRATCH];

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* ---- requests ---- */

static void want(conn_t *c, uint32_t events_mask)
{
    struct epoll_event ev = { .events = events_mask, .data.ptr = c };

    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void drop(conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->len = 0;
    c->got_header = 0;
}

static int connect_conn(conn_t *c)
{
    int fd = ln_connect(epfd, opt.sources[c->idx % opt.nsources], opt.host, opt.port, c);

    if (fd < 0)
        return fd;
    c->fd = fd;
    c->state = C_CONNECTING;
    return 0;
}

/* A failed request or a lost connection: a plain playlist reload a little later, on a new
 * connection if the old one is gone. */
static void retry(conn_t *c, int lost)
{
    nerrors++;
    if (lost)
        drop(c);
    c->state = C_WAIT;
    c->retry_at = ln_now_us() + RETRY_US;
    c->hint = NO_PART;
    c->nqueue = 0;
}

static void send_request(conn_t *c, int req, int64_t part)
{
    char line[512];
    int n;

    if (req == R_PART)
        n = snprintf(line, sizeof(line), "GET %s/part-%lld.%lld.m4s HTTP/1.1\r\nHost: %s\r\n\r\n",
                     opt.path, (long long)(part / 64), (long long)(part % 64), opt.host);
    else if (part == NO_PART)
        n = snprintf(line, sizeof(line), "GET %s/media.m3u8 HTTP/1.1\r\nHost: %s\r\n\r\n", opt.path,
                     opt.host);
    else
        n = snprintf(line, sizeof(line),
                     "GET %s/media.m3u8?_HLS_msn=%lld&_HLS_part=%lld HTTP/1.1\r\nHost: %s\r\n\r\n",
                     opt.path, (long long)(part / 64), (long long)(part % 64), opt.host);
    c->req = req;
    c->len = 0;
    c->got_header = 0;
    /* a request is small and the socket's buffer empty: a short send is a lost connection */
    if (send(c->fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
        retry(c, 1);
        return;
    }
    c->state = C_OPEN;
}

/* The next request of a viewer that has just had a response: a part it lacks, or the reload
 * that waits for the next one. */
static void next_request(conn_t *c)
{
    if (c->close_after) {
        drop(c);
        nreconnects++;
        c->close_after = 0;
        c->state = C_WAIT;
        c->retry_at = 0;
        return;
    }
    if (c->nqueue) {
        int64_t p = c->queue[0];
        memmove(c->queue, c->queue + 1, (size_t)--c->nqueue * sizeof(c->queue[0]));
        c->fetching = p;
        send_request(c, R_PART, p);
    } else
        send_request(c, R_PLAYLIST, c->hint);
}

/* ---- what arrives ---- */

static event_t *event_of(int64_t key)
{
    for (uint32_t i = nevents, k = 0; i-- > 0 && k < 256; k++)
        if (events[i].key == key)
            return &events[i];
    if (nevents == MAX_EVENTS)
        return NULL;
    events[nevents] = (event_t){ .key = key, .first_us = INT64_MAX, .last_us = INT64_MIN };
    return &events[nevents++];
}

static void on_part(conn_t *c, int64_t t)
{
    int64_t key = c->have = c->fetching;
    event_t *e;

    nparts++;
    if (!t_ready_us || !(e = event_of(key)))
        return;
    e->count++;
    if (t < e->first_us)
        e->first_us = t;
    if (t > e->last_us)
        e->last_us = t;
    if (ndelays == delays_cap) {
        size_t cap = delays_cap ? 2 * delays_cap : 1 << 16;
        delay_t *d = realloc(delays, cap * sizeof(*d));

        if (!d)
            return; /* the figure then counts fewer viewers; the run goes on */
        delays = d;
        delays_cap = cap;
    }
    delays[ndelays++] = (delay_t){ (uint32_t)(e - events), (int32_t)(t - e->first_us) };
}

/* "part-M.I.m4s" at p (inside a URI="..."), as a key; NO_PART if it is not one. */
static int64_t part_key(const char *p)
{
    long long m, i;
    int n = 0;

    if (sscanf(p, "part-%lld.%lld.m4s%n", &m, &i, &n) != 2 || !n || i < 0 || i >= 64)
        return NO_PART;
    return PART_KEY(m, i);
}

/* The parts a playlist lists that the viewer lacks (all of them after the one it has; only the
 * last one if it has none yet), and the preload hint: the next part to wait for. */
static void on_playlist(conn_t *c)
{
    int64_t last = NO_PART;
    char *p = c->buf, *end = c->buf + c->len, *u;

    c->hint = NO_PART;
    c->nqueue = 0;
    if (!c->buf) { /* an empty playlist */
        retry(c, 0);
        return;
    }
    *end = '\0';
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl)
            *nl = '\0';
        if (!strncmp(p, "#EXT-X-PART:", 12) && (u = strstr(p, "URI=\""))) {
            int64_t k = part_key(u + 5);
            if (k != NO_PART && k > c->have) {
                if (c->have == NO_PART)
                    last = k;
                else if (c->nqueue < MAX_QUEUE)
                    c->queue[c->nqueue++] = k;
            }
        } else if (!strncmp(p, "#EXT-X-PRELOAD-HINT:", 20) && strstr(p, "TYPE=PART") &&
                   (u = strstr(p, "URI=\"")))
            c->hint = part_key(u + 5);
        p = nl ? nl + 1 : end;
    }
    if (last != NO_PART)
        c->queue[c->nqueue++] = last;
    nplaylists++;
    if (!c->first_done) {
        c->first_done = 1;
        nstarted++;
        ninflight--;
    }
    if (c->hint == NO_PART && !c->nqueue) { /* no live edge (the stream ended?) */
        retry(c, 0);
        return;
    }
    next_request(c);
}

static void on_response(conn_t *c, int64_t t)
{
    if (c->status != 200) {
        retry(c, c->close_after);
        c->close_after = 0;
        return;
    }
    if (c->req == R_PART) {
        on_part(c, t);
        next_request(c);
    } else
        on_playlist(c);
}

/* Headers in c->buf, hlen bytes up to and with "\r\n\r\n": status, Content-Length and
 * Connection: close; -1 for what this client does not read (chunked, not HTTP/1.1). */
static int parse_header(conn_t *c, size_t hlen)
{
    char *h = c->buf;

    c->buf[hlen - 2] = '\0'; /* the header lines, each ending in "\r\n" */
    if (hlen < 12 || strncmp(h, "HTTP/1.1 ", 9))
        return -1;
    c->status = atoi(h + 9);
    c->body_left = 0;
    for (char *l = strstr(h, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
        if (!strncasecmp(l + 2, "content-length:", 15))
            c->body_left = strtoull(l + 17, NULL, 10);
        else if (!strncasecmp(l + 2, "transfer-encoding:", 18))
            return -1;
        else if (!strncasecmp(l + 2, "connection: close", 17))
            c->close_after = 1;
    }
    return 0;
}

static int reserve(conn_t *c, size_t more)
{
    if (c->cap - c->len > more)
        return 0;
    size_t cap = c->cap ? c->cap : 4096;
    while (cap - c->len <= more)
        cap *= 2;
    char *b = realloc(c->buf, cap);
    if (!b)
        return -1;
    c->buf = b;
    c->cap = cap;
    return 0;
}

/* n bytes of the response: headers and a playlist's body are kept, a part's body only counted. */
static int consume(conn_t *c, const char *p, size_t n, int64_t t)
{
    while (n && c->state == C_OPEN) {
        if (!c->got_header) {
            size_t old = c->len, take;
            char *e;
            if (reserve(c, n) < 0)
                return -1;
            memcpy(c->buf + c->len, p, n);
            c->len += n;
            if (!(e = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
                if (c->len > 16384)
                    return -1;
                return 0;
            }
            size_t hlen = (size_t)(e + 4 - c->buf);
            if (parse_header(c, hlen) < 0)
                return -1;
            take = hlen - old; /* bytes of p that were headers */
            c->got_header = 1;
            c->len = 0;
            p += take;
            n -= take;
        }
        size_t take = n < c->body_left ? n : c->body_left;
        if (c->req == R_PLAYLIST) {
            if (reserve(c, take + 1) < 0)
                return -1;
            memcpy(c->buf + c->len, p, take);
            c->len += take;
        }
        nbytes += take;
        c->body_left -= take;
        p += take;
        n -= take;
        if (!c->body_left)
            on_response(c, t);
    }
    return 0;
}

static void on_readable(conn_t *c)
{
    for (;;) {
        ssize_t r = recv(c->fd, scratch, sizeof(scratch), 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (r <= 0 || consume(c, scratch, (size_t)r, ln_now_us()) < 0) {
            retry(c, 1);
            return;
        }
        if (c->state != C_OPEN)
            return;
    }
}

static void on_connected(conn_t *c)
{
    int err = 0;
    socklen_t el = sizeof(err);

    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        retry(c, 1);
        return;
    }
    want(c, EPOLLIN);
    send_request(c, R_PLAYLIST, c->hint);
}

/* ---- the run ---- */

/* Viewers waiting for a retry or a new connection, once per loop. */
static void wake_waiting(int64_t t)
{
    for (int i = 0; i < opt.clients; i++) {
        conn_t *c = &conns[i];
        if (c->state != C_WAIT || t < c->retry_at)
            continue;
        if (c->fd >= 0)
            send_request(c, R_PLAYLIST, NO_PART);
        else if (connect_conn(c) < 0) {
            c->retry_at = t + RETRY_US;
            nerrors++;
        }
    }
}

static void loop(void)
{
    struct epoll_event evs[1024];
    int next = 0;
    int64_t end_us = 0;

    t_start_us = ln_now_us();
    while (!stop) {
        while (next < opt.clients && ninflight < opt.inflight) {
            conn_t *c = &conns[next];
            *c = (conn_t){ .fd = -1, .idx = next, .have = NO_PART, .hint = NO_PART };
            if (connect_conn(c) < 0) {
                c->state = C_DONE;
                nfailed++;
            } else
                ninflight++;
            next++;
        }
        int n = epoll_wait(epfd, evs, 1024, 50);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c->state == C_CONNECTING)
                on_connected(c);
            else if (c->state == C_OPEN)
                on_readable(c);
        }
        int64_t t = ln_now_us();
        wake_waiting(t);
        /* measuring starts once every viewer has its first playlist (or after READY_WAIT_US) */
        if (!t_ready_us && next == opt.clients &&
            (nstarted + nfailed == opt.clients || t - t_start_us > READY_WAIT_US)) {
            t_ready_us = t;
            cpu_at_ready = ln_cpu_s();
            end_us = t + (int64_t)opt.seconds * 1000000;
        }
        if (end_us && t >= end_us)
            break;
    }
}

/* ---- the figures ---- */

static void report(void)
{
    int64_t *fan = malloc(MAX_EVENTS * sizeof(*fan)), *late = malloc((ndelays + 1) * sizeof(*late));
    size_t n = 0, nlate = 0;
    double wall = t_ready_us ? (ln_now_us() - t_ready_us) / 1e6 : 0, share = 0;
    int full = 0;

    if (!fan || !late)
        exit(1);
    for (size_t i = 0; i < ndelays; i++)
        if (delays[i].event >= 8 && delays[i].event + 8 < nevents)
            late[nlate++] = delays[i].us;
    qsort(late, nlate, sizeof(*late), ln_cmp_i64);
    /* the newest parts may still be on their way to some viewers, and the first ones came while
     * some viewers were still starting at a later part: leave 8 out at each end */
    for (uint32_t e = 8; e + 8 < nevents; e++) {
        fan[n] = events[e].last_us - events[e].first_us;
        share += (double)events[e].count / (opt.clients - nfailed > 0 ? opt.clients - nfailed : 1);
        full += events[e].count >= opt.clients - nfailed;
        n++;
    }
    qsort(fan, n, sizeof(*fan), ln_cmp_i64);
    printf("{\"clients\":%d,\"started\":%d,\"failed\":%d,\"reconnects\":%d,\"errors\":%llu,"
           "\"connect_s\":%.3f,\"measured_wall_s\":%.3f,\"playlists\":%llu,\"parts\":%llu,"
           "\"bytes\":%llu,\"distinct_parts\":%zu,\"parts_every_viewer_had\":%d,"
           "\"mean_share_of_viewers\":%.4f,\"fanout_p50_ms\":%.2f,\"fanout_p95_ms\":%.2f,"
           "\"fanout_max_ms\":%.2f,\"delivery_p50_ms\":%.2f,\"delivery_p95_ms\":%.2f,"
           "\"delivery_p99_ms\":%.2f,\"cpu_total_s\":%.3f,\"cpu_measured_s\":%.3f}\n",
           opt.clients, nstarted, nfailed, nreconnects, (unsigned long long)nerrors,
           t_ready_us ? (t_ready_us - t_start_us) / 1e6 : -1.0, wall,
           (unsigned long long)nplaylists, (unsigned long long)nparts, (unsigned long long)nbytes,
           n, full, n ? share / (double)n : 0, ln_pct_ms(fan, n, 50), ln_pct_ms(fan, n, 95),
           n ? fan[n - 1] / 1000.0 : -1, ln_pct_ms(late, nlate, 50), ln_pct_ms(late, nlate, 95),
           ln_pct_ms(late, nlate, 99), ln_cpu_s(), t_ready_us ? ln_cpu_s() - cpu_at_ready : 0);
    free(fan);
    free(late);
    free(delays);
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
        else if (!strcmp(k, "--path"))
            opt.path = v;
        else if (!strcmp(k, "--clients"))
            opt.clients = atoi(v);
        else if (!strcmp(k, "--seconds"))
            opt.seconds = atoi(v);
        else if (!strcmp(k, "--inflight"))
            opt.inflight = atoi(v);
        else if (!strcmp(k, "--sources")) {
            if ((opt.nsources = ln_parse_sources(argv[i + 1], opt.sources)) < 0)
                return -1;
        } else
            return -1;
    }
    if (!opt.nsources)
        inet_pton(AF_INET, "127.0.0.1", &opt.sources[opt.nsources++]);
    return opt.port > 0 && opt.path && strlen(opt.path) < 256 && opt.clients > 0 &&
                   opt.seconds > 0 && opt.inflight > 0
               ? 0
               : -1;
}

int main(int argc, char **argv)
{
    struct sigaction sa = { .sa_handler = on_signal };

    if (parse_opts(argc, argv) < 0) {
        fprintf(stderr, "usage: hls_client --port P --path /hls/ID/RUNG --clients N --seconds S "
                        "[--host H] [--sources A,B] [--inflight K]\n");
        return 2;
    }
    ln_raise_nofile("hls_client", opt.clients);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (!(conns = calloc((size_t)opt.clients, sizeof(*conns))) || (epfd = epoll_create1(0)) < 0)
        return 1;
    loop();
    report();
    return 0;
}
