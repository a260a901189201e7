/* The stamp shopcast puts into the video: an H.264 user-data-unregistered SEI payload.
 *
 * Invariants: sei_decode accepts exactly what sei_encode writes, and nothing else with shopcast's
 * UUID, so one stamp has one encoding; it never reads past len. */
#include "proto/sei.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const uint8_t SEI_UUID[SEI_UUID_LEN] = { 0xb9, 0xcb, 0x6d, 0x6b, 0x85, 0xb4, 0x4a, 0xfd,
                                         0xa7, 0xd1, 0x78, 0x51, 0xc5, 0x13, 0x9f, 0x5a };

int sei_encode(uint8_t *buf, size_t len, const sei_stamp_t *s)
{
    char text[SEI_PAYLOAD_MAX];
    int n =
        snprintf(text, sizeof(text), "{\"seq\":%" PRIu64 ",\"v\":%" PRIu64 "}", s->seq, s->version);

    if (n < 0 || len < SEI_UUID_LEN + (size_t)n)
        return -ENOSPC;
    memcpy(buf, SEI_UUID, SEI_UUID_LEN);
    memcpy(buf + SEI_UUID_LEN, text, (size_t)n);
    return SEI_UUID_LEN + n;
}

/* Expects the literal lit at *p; advances past it. */
static int expect(const char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);

    if ((size_t)(end - *p) < n || memcmp(*p, lit, n))
        return -EPROTO;
    *p += n;
    return 0;
}

/* A decimal uint64_t without sign or leading zeros (one number, one spelling). */
static int number(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    if (s == end || *s < '0' || *s > '9' ||
        (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9'))
        return -EPROTO;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EPROTO;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return 0;
}

int sei_decode(const uint8_t *buf, size_t len, sei_stamp_t *out)
{
    const char *p = (const char *)buf + SEI_UUID_LEN, *end = (const char *)buf + len;
    sei_stamp_t s;

    if (len < SEI_UUID_LEN)
        return -EMSGSIZE;
    if (memcmp(buf, SEI_UUID, SEI_UUID_LEN))
        return -ENOENT;
    if (expect(&p, end, "{\"seq\":") || number(&p, end, &s.seq) || expect(&p, end, ",\"v\":") ||
        number(&p, end, &s.version) || expect(&p, end, "}") || p != end)
        return -EPROTO;
    *out = s;
    return 0;
}
