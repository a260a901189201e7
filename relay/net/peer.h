/* Source addresses as fixed-size keys, so connections from one source can be counted together.
 *
 * IPv4 and IPv4-mapped IPv6 ("::ffff:a.b.c.d", as a dual-stack listener reports IPv4 peers) give
 * the same key. A native IPv6 peer is keyed by its /64: one subscriber or LAN holds a whole /64
 * (RFC 6177), so a key per /128 would let one host take 2^64 keys. */
#ifndef RELAY_PEER_H
#define RELAY_PEER_H

#include <stdint.h>

typedef struct rl_peer_key_s {
    uint8_t b[16]; /* an IPv6 address: IPv4 as ::ffff:a.b.c.d, IPv6 with its low 64 bits zero */
} rl_peer_key_t;

/* Fills key from a numeric address as lws_get_peer_simple or inet_ntop write it. Text that is not
 * an address (it should not happen on TCP) gives the all-zero key, one group for all of it. */
void rl_peer_key(const char *text, rl_peer_key_t *key);

/* "::ffff:a.b.c.d" becomes "a.b.c.d" in place, so that an IPv4 peer reads the same from either
 * kind of listener; returns text. */
char *rl_peer_unmap(char *text);

int rl_peer_key_eq(const rl_peer_key_t *a, const rl_peer_key_t *b);

#endif
