/* What the load clients of bench/ (ws_client, hls_client) share: clocks, percentiles, and
 * many nonblocking loopback connections from more than one source address. libc only. */
#ifndef BENCH_LOADNET_H
#define BENCH_LOADNET_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define LN_MAX_SOURCES 16

int64_t ln_now_us(void); /* wall clock, µs since the Unix epoch */
double ln_cpu_s(void);   /* this process's user + system CPU seconds */
int ln_cmp_i64(const void *a, const void *b);
/* The p-th percentile (nearest rank) of n sorted µs values, in ms; -1 when n is 0. */
double ln_pct_ms(const int64_t *sorted, size_t n, double p);
/* "A,B,C" into out[] (at most LN_MAX_SOURCES); the count, or -1 on a bad address. */
int ln_parse_sources(char *list, struct in_addr *out);
/* Each client is a descriptor: the soft limit goes up to the hard one; says so if < need. */
void ln_raise_nofile(const char *prog, int need);
/* A nonblocking TCP connection from src (any port, IP_BIND_ADDRESS_NO_PORT, so that more than
 * one source address's ephemeral ports are used) to host:port, added to epfd for EPOLLOUT
 * with ptr; the descriptor, or -errno. */
int ln_connect(int epfd, struct in_addr src, const char *host, int port, void *ptr);

#endif
