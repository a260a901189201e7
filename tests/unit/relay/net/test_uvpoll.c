/* Unit tests for relay/net/uvpoll.c: uv_poll_start that changes a started watcher's events in
 * place. What libuv's callers see must not change: each callback gets the events asked for, no
 * more; epoll ends up with the mask last asked for (read back from /proc/self/fdinfo); stop,
 * restart and close still work. */
#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

static uv_loop_t loop;
static uv_poll_t poll_h;
static int sv[2];
static int got_read, got_write;

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)h;
    cr_assert_eq(status, 0);
    if (events & UV_READABLE) {
        char c;
        got_read++;
        cr_assert_eq(read(sv[0], &c, 1), 1);
    }
    if (events & UV_WRITABLE)
        got_write++;
}

static void setup(void)
{
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cr_assert_eq(uv_poll_init(&loop, &poll_h, sv[0]), 0);
    got_read = got_write = 0;
}

static void teardown(void)
{
    uv_close((uv_handle_t *)&poll_h, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
    close(sv[0]);
    close(sv[1]);
}

static void turns(int n)
{
    for (int i = 0; i < n; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
}

/* The event mask epoll holds for fd, from the loop's epoll fd's fdinfo; -1: not registered. */
static int epoll_mask(int fd)
{
    char path[64], line[256];
    int mask = -1, tfd;
    unsigned events;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", uv_backend_fd(&loop));
    cr_assert_not_null(f = fopen(path, "r"));
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "tfd: %d events: %x", &tfd, &events) == 2 && tfd == fd)
            mask = (int)(events & (POLLIN | POLLOUT));
    fclose(f);
    return mask;
}

TestSuite(uvpoll, .init = setup, .fini = teardown);

Test(uvpoll, write_interest_comes_and_goes_and_epoll_follows)
{
    cr_assert_eq(uv_poll_start(&poll_h, UV_READABLE, on_poll), 0);
    turns(2);
    cr_assert_eq(epoll_mask(sv[0]), POLLIN);
    cr_assert_eq(got_write, 0);

    cr_assert_eq(uv_poll_start(&poll_h, UV_READABLE | UV_WRITABLE, on_poll), 0);
    turns(1);
    cr_assert_gt(got_write, 0, "a writable socket gets its callback");
    cr_assert_eq(epoll_mask(sv[0]), POLLIN | POLLOUT);

    cr_assert_eq(uv_poll_start(&poll_h, UV_READABLE, on_poll), 0);
    turns(1); /* applies the change */
    got_write = 0;
    turns(5);
    cr_assert_eq(got_write, 0, "no writable callback once write interest is gone");
    cr_assert_eq(epoll_mask(sv[0]), POLLIN);

    cr_assert_eq(write(sv[1], "x", 1), 1);
    turns(2);
    cr_assert_eq(got_read, 1, "reads still arrive");
}

Test(uvpoll, a_change_undone_before_the_next_poll_leaves_epoll_as_it_was)
{
    cr_assert_eq(uv_poll_start(&poll_h, UV_READABLE, on_poll), 0);
    turns(1);
    cr_assert_eq(uv_poll_start(&poll_h, UV_READABLE | UV_WRITABLE, on_poll), 0);
    cr_assert_eq(uv_poll_start(&poll_h, UV_READABLE, on_poll), 0);
    turns(3);
    cr_assert_eq(got_write, 0);
    cr_assert_eq(epoll_mask(sv[0]), POLLIN);
    cr_assert_eq(write(sv[1], "y", 1), 1);
    turns(2);
    cr_assert_eq(got_read, 1);
}

Test(uvpoll, asking_for_what_is_there_changes_nothing)
{
    cr_assert_eq(uv_poll_start(&poll_h, UV_READABLE, on_poll), 0);
    turns(1);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(uv_poll_start(&poll_h, UV_READABLE, on_poll), 0);
    turns(2);
    cr_assert_eq(epoll_mask(sv[0]), POLLIN);
    cr_assert_eq(got_read + got_write, 0);
}

Test(uvpoll, stop_and_start_again_still_work)
{
    cr_assert_eq(uv_poll_start(&poll_h, UV_READABLE | UV_WRITABLE, on_poll), 0);
    turns(1);
    cr_assert_eq(uv_poll_start(&poll_h, UV_WRITABLE, on_poll), 0);
    turns(1);
    cr_assert_eq(uv_poll_stop(&poll_h), 0);
    cr_assert_eq(epoll_mask(sv[0]), -1, "a stopped watcher leaves epoll");
    got_write = 0;
    cr_assert_eq(write(sv[1], "z", 1), 1);
    turns(3);
    cr_assert_eq(got_read + got_write, 0, "a stopped watcher gets no callback");
    cr_assert_eq(uv_poll_start(&poll_h, UV_READABLE, on_poll), 0);
    turns(2);
    cr_assert_eq(got_read, 1, "restarted, it reads what came meanwhile");
    cr_assert_eq(epoll_mask(sv[0]), POLLIN);
}

Test(uvpoll, other_flags_take_libuvs_own_way)
{
    cr_assert_eq(uv_poll_start(&poll_h, UV_READABLE, on_poll), 0);
    turns(1);
    cr_assert_eq(uv_poll_start(&poll_h, UV_READABLE | UV_DISCONNECT, on_poll), 0);
    turns(1);
    cr_assert_eq(epoll_mask(sv[0]), POLLIN);
    cr_assert_eq(uv_poll_start(&poll_h, UV_READABLE | UV_WRITABLE, on_poll), 0);
    turns(1);
    cr_assert_gt(got_write, 0);
}

/* libuv's own uv_poll_start takes the fd out of epoll at once (EPOLL_CTL_DEL) and adds it back at
 * the next poll: the fd is missing from epoll in between. Here it never leaves. */
Test(uvpoll, a_change_never_takes_the_fd_out_of_epoll)
{
    cr_assert_eq(uv_poll_start(&poll_h, UV_READABLE, on_poll), 0);
    turns(1);
    cr_assert_eq(uv_poll_start(&poll_h, UV_READABLE | UV_WRITABLE, on_poll), 0);
    cr_assert_eq(epoll_mask(sv[0]), POLLIN, "still registered, with the old mask until the poll");
    turns(1);
    cr_assert_eq(epoll_mask(sv[0]), POLLIN | POLLOUT);
    cr_assert_eq(uv_poll_start(&poll_h, UV_WRITABLE, on_poll), 0);
    cr_assert_eq(epoll_mask(sv[0]), POLLIN | POLLOUT);
    turns(1);
    cr_assert_eq(epoll_mask(sv[0]), POLLOUT);
}
