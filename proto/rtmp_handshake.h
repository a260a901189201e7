/* RTMP server handshake: the simple one (RTMP spec 1.0 section 5.2) and the digest one that Flash,
 * FFmpeg's client and OBS's librtmp send (HMAC-SHA256 over C1, keyed with the Flash Player key).
 *
 * Pure: takes C0+C1 bytes, produces S0+S1+S2, then takes C2. Resumes at any split point. */
#ifndef PROTO_RTMP_HANDSHAKE_H
#define PROTO_RTMP_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#define RTMP_HS_SIZE 1536 /* C1, C2, S1, S2 */

typedef struct rtmp_handshake_s {
    int state;         /* private */
    int digest;        /* after C1: 1 if the client used the digest scheme, 0 for the simple one */
    const char *error; /* static text naming the reason of the last negative return */
    uint32_t got;      /* bytes of the current step received */
    uint8_t c1[RTMP_HS_SIZE];
    uint8_t out[1 + 2 * RTMP_HS_SIZE]; /* S0 S1 S2 */
    size_t out_len;
} rtmp_handshake_t;

/* random: fills buf with n random bytes; NULL uses av_lfg seeded from the clock, which is enough
 * for a handshake (nothing here is a secret). Tests pass a deterministic one. */
typedef void (*rtmp_random_fn)(uint8_t *buf, size_t n, void *opaque);

void rtmp_handshake_init(rtmp_handshake_t *hs, rtmp_random_fn random, void *opaque);

/* Consumes handshake bytes. Returns bytes consumed (>= 0) or a negative error with hs->error set
 * (-EPROTO: a version byte other than 3; 6 is RTMPE, which we refuse). Bytes after C2 are never
 * consumed, so the caller passes the rest on to the chunk reader.
 * Once C0+C1 are complete, hs->out holds S0+S1+S2 (hs->out_len bytes, set non-zero exactly once)
 * for the caller to send. rtmp_handshake_done() returns 1 once C2 has been consumed. */
int rtmp_handshake_feed(rtmp_handshake_t *hs, const uint8_t *buf, size_t len);
int rtmp_handshake_done(const rtmp_handshake_t *hs);

/* Client side, for tests and the benchmark's own publisher: builds C0+C1 with a valid digest
 * (scheme 1) into out[1 + RTMP_HS_SIZE], and validates a server's S1 digest.
 * Returns 0 or -EPROTO. */
void rtmp_handshake_client_c0c1(uint8_t *out, rtmp_random_fn random, void *opaque);
int rtmp_handshake_verify_s1(const uint8_t *s1);

#endif
