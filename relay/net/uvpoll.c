/* uv_poll_start without libuv's remove-and-add, for the HTTP and WebSocket connections.
 *
 * libuv 1.44's uv_poll_start first stops the watcher, which takes the fd out of epoll
 * (EPOLL_CTL_DEL, and forgets its events still to be handled in this loop turn); the next poll
 * puts it back (EPOLL_CTL_ADD): two system calls for every change of interest, even one that
 * changes nothing. lws 4.1.6's libuv event lib (elops_io_uv) calls it for each change lws makes,
 * including those that change nothing, and lws changes a keep-alive HTTP/1 connection's interest
 * twice per request (POLLOUT after each transaction, to start the next; then off again): about six
 * epoll_ctl per request, where nginx makes none (bench/serving.sh counts them).
 *
 * This definition is in the executable and exported from it (relay/meson.build), so the lws
 * event-lib plugin, loaded later, binds to it. For a watcher that is started and stays started,
 * with read and write interest only, it changes the mask the way libuv's own uv__io_start and
 * uv__io_stop do for libuv's other handles: the new mask waits in the loop's watcher queue, and
 * the next poll applies it with one EPOLL_CTL_MOD, or none when the mask comes back to what epoll
 * has before then. Anything else (a first start, a stop, other flags, another libuv) is libuv's
 * own uv_poll_start, found with dlsym(RTLD_NEXT).
 *
 * It relies on libuv's unix struct layout, which uv/unix.h declares (uv__io_t's pevents, events,
 * watcher_queue; the loop's watcher_queue and watchers), so it is used only with the libuv
 * version it was compiled against (major and minor), on Linux (the epoll backend). */
#include <dlfcn.h>
#include <poll.h>
#include <stdlib.h>
#include <uv.h>

typedef int (*poll_start_fn)(uv_poll_t *, int, uv_poll_cb);

/* libuv's QUEUE (its src/queue.h): a ring of void *[2], next then prev. */
typedef void *queue_t[2];
#define Q_NEXT(q) (*(queue_t **)&((*(q))[0]))
#define Q_PREV(q) (*(queue_t **)&((*(q))[1]))

static int q_empty(queue_t *q)
{
    return Q_NEXT(q) == q;
}

static void q_insert_tail(queue_t *h, queue_t *q)
{
    Q_NEXT(q) = h;
    Q_PREV(q) = Q_PREV(h);
    Q_NEXT(Q_PREV(q)) = q;
    Q_PREV(h) = q;
}

static void q_remove(queue_t *q)
{
    Q_NEXT(Q_PREV(q)) = Q_NEXT(q);
    Q_PREV(Q_NEXT(q)) = Q_PREV(q);
    Q_NEXT(q) = q;
    Q_PREV(q) = q;
}

static poll_start_fn real_start(void)
{
    static poll_start_fn fn;

    if (!fn)
        fn = (poll_start_fn)dlsym(RTLD_NEXT, "uv_poll_start");
    if (!fn)
        abort(); /* no libuv below us: cannot happen when linked with it */
    return fn;
}

static int same_libuv(void)
{
    static int same = -1;

    if (same < 0)
        same = uv_version() >> 8 == (UV_VERSION_MAJOR << 8 | UV_VERSION_MINOR);
    return same;
}

int uv_poll_start(uv_poll_t *h, int uv_events, uv_poll_cb cb)
{
    uv__io_t *w = &h->io_watcher;
    uv_loop_t *loop = h->loop;
    unsigned int want =
        (uv_events & UV_READABLE ? POLLIN : 0) | (uv_events & UV_WRITABLE ? POLLOUT : 0);

#if defined(__linux__)
    if (same_libuv() && want && !(uv_events & ~(UV_READABLE | UV_WRITABLE)) &&
        uv_is_active((uv_handle_t *)h) && w->pevents && !(w->pevents & ~(POLLIN | POLLOUT)) &&
        w->fd >= 0 && (unsigned)w->fd < loop->nwatchers && loop->watchers[w->fd] == w) {
        queue_t *wq = &w->watcher_queue;

        h->poll_cb = cb;
        w->pevents = want;
        if (w->events == want) { /* what epoll has: nothing to apply */
            if (!q_empty(wq))
                q_remove(wq);
        } else if (q_empty(wq)) {
            q_insert_tail(&loop->watcher_queue, wq);
        }
        return 0;
    }
#endif
    return real_start()(h, uv_events, cb);
}
