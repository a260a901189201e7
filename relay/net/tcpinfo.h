/* The kernel's measurements of a TCP connection (TCP_INFO), in a file of its own: the kernel's
 * struct tcp_info (linux/tcp.h) has fields that glibc's copy lacks, and the two headers cannot be
 * included together, while libwebsockets.h includes glibc's. */
#ifndef RELAY_NET_TCPINFO_H
#define RELAY_NET_TCPINFO_H

/* The least round trip the kernel has seen on the connection (its windowed minimum, the
 * path's own delay without queueing), in ms; -1 when fd is not TCP or the kernel does not say. */
double rl_tcp_min_rtt_ms(int fd);

#endif
