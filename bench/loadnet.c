/* Shared by bench/ws_client.c and bench/hls_client.c: see loadnet.h. */
#include "loadnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t ln_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double ln_cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

int ln_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

double ln_pct_ms(const int64_t *v, size_t n, double p)
{
    size_t k = (size_t)(p / 100 * (double)n + 0.999999);

    if (!n)
        return -1;
    k = k ? k - 1 : 0;
    return (double)v[k < n ? k : n - 1] / 1000.0;
}

int ln_parse_sources(char *list, struct in_addr *out)
{
    int n = 0;

    for (char *s = strtok(list, ","); s; s = strtok(NULL, ",")) {
        if (n == LN_MAX_SOURCES || inet_pton(AF_INET, s, &out[n]) != 1)
            return -1;
        n++;
    }
    return n ? n : -1;
}

void ln_raise_nofile(const char *prog, int need)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)need + 16)
        fprintf(stderr, "%s: RLIMIT_NOFILE %llu is below %d clients\n", prog,
                (unsigned long long)rl.rlim_cur, need);
}

int ln_connect(int epfd, struct in_addr src_addr, const char *host, int port, void *ptr)
{
    struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr = src_addr };
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = ptr };
    int one = 1, fd;

    if (inet_pton(AF_INET, host, &dst.sin_addr) != 1)
        return -EINVAL;
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
        (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS) ||
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}
