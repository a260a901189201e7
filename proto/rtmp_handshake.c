/* RTMP server handshake: the simple one (RTMP spec 1.0 section 5.2) and the digest one that Flash,
 * FFmpeg's client and OBS's librtmp send (HMAC-SHA256 over C1, keyed with the Flash Player key).
 *
 * Invariant: the random parts of S1 and S2 are drawn at init, so feeding needs no random source
 * and hs->out is complete (out_len set) the moment C1 is. */
#include "proto/rtmp_handshake.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <libavutil/hmac.h>
#include <libavutil/lfg.h>
#include <libavutil/random_seed.h>

#define RTMP_VERSION  3
#define RTMPE_VERSION 6 /* encrypted RTMP: Diffie-Hellman and RC4, which we do not offer */
#define DIGEST_LEN    32
#define DIGEST_SPAN   728  /* the digest sits somewhere in a 764-byte half of the packet */
#define S2_SIGN_OFF   1504 /* S2 ends with its digest: RTMP_HS_SIZE - DIGEST_LEN */
#define FP_KEY_OPEN   30   /* "Genuine Adobe Flash Player 001": signs C1 */
#define FMS_KEY_OPEN  36   /* "Genuine Adobe Flash Media Server 001": signs S1 */

enum { HS_C0, HS_C1, HS_C2, HS_DONE }; /* negative states: sticky error codes */

/* Both keys end with the same 32 bytes. Their text parts alone sign C1 and S1; the whole
 * Media Server key derives the key that signs S2. */
#define KEY_TAIL                                                                                   \
    "\xF0\xEE\xC2\x4A\x80\x68\xBE\xE8\x2E\x00\xD0\xD1\x02\x9E\x7E\x57"                             \
    "\x6E\xEC\x5D\x2D\x29\x80\x6F\xAB\x93\xB8\xE6\x36\xCF\xEB\x31\xAE"
static const uint8_t fp_key[FP_KEY_OPEN + 32] = "Genuine Adobe Flash Player 001" KEY_TAIL;
static const uint8_t fms_key[FMS_KEY_OPEN + 32] = "Genuine Adobe Flash Media Server 001" KEY_TAIL;

/* Written where C1/S1 bytes 4..7 say "version": non-zero tells the peer a digest is present. */
static const uint8_t server_version[4] = { 0x04, 0x05, 0x00, 0x01 };
static const uint8_t client_version[4] = { 0x0A, 0x00, 0x0C, 0x02 };

/* Handshake randomness is padding for the peer's bandwidth estimate, not a secret. */
static void lfg_random(uint8_t *buf, size_t n, void *opaque)
{
    AVLFG lfg;

    (void)opaque;
    av_lfg_init(&lfg, av_get_random_seed());
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(av_lfg_get(&lfg) >> 24);
}

/* Scheme 0 keeps the digest in bytes 8..771, scheme 1 in bytes 772..1535; the 4 bytes that open
 * the half give its position. */
static unsigned digest_offset(const uint8_t *pkt, int scheme)
{
    unsigned base = scheme ? 772 : 8;

    return (pkt[base] + pkt[base + 1] + pkt[base + 2] + pkt[base + 3]) % DIGEST_SPAN + base + 4;
}

/* HMAC-SHA256 of a 1536-byte packet with its 32 bytes at off left out. out may point there. */
static int digest_calc(uint8_t *out, const uint8_t *key, unsigned keylen, const uint8_t *pkt,
                       unsigned off)
{
    AVHMAC *h = av_hmac_alloc(AV_HMAC_SHA256);

    if (!h)
        return -ENOMEM;
    av_hmac_init(h, key, keylen);
    av_hmac_update(h, pkt, off);
    av_hmac_update(h, pkt + off + DIGEST_LEN, RTMP_HS_SIZE - off - DIGEST_LEN);
    av_hmac_final(h, out, DIGEST_LEN);
    av_hmac_free(h);
    return 0;
}

/* Returns the scheme (0 or 1) whose digest checks out, -ENOENT if neither does, or -ENOMEM. */
static int find_digest(const uint8_t *pkt, const uint8_t *key, unsigned keylen)
{
    uint8_t want[DIGEST_LEN];
    int scheme, rc;

    for (scheme = 1; scheme >= 0; scheme--) {
        unsigned off = digest_offset(pkt, scheme);

        if ((rc = digest_calc(want, key, keylen, pkt, off)) < 0)
            return rc;
        if (!memcmp(want, pkt + off, DIGEST_LEN))
            return scheme;
    }
    return -ENOENT;
}

/* S2's digest: HMAC over its first 1504 bytes, keyed with HMAC(whole FMS key, C1's digest). */
static int sign_s2(uint8_t *s2, const uint8_t *c1_digest)
{
    uint8_t key[DIGEST_LEN];
    AVHMAC *h = av_hmac_alloc(AV_HMAC_SHA256);

    if (!h)
        return -ENOMEM;
    av_hmac_calc(h, c1_digest, DIGEST_LEN, fms_key, sizeof(fms_key), key, DIGEST_LEN);
    av_hmac_free(h);
    return digest_calc(s2 + S2_SIGN_OFF, key, DIGEST_LEN, s2, S2_SIGN_OFF);
}

static int sign_reply(rtmp_handshake_t *hs, int scheme)
{
    uint8_t *s1 = hs->out + 1, *s2 = s1 + RTMP_HS_SIZE;
    unsigned off = digest_offset(s1, scheme);
    int rc;

    memcpy(s1 + 4, server_version, sizeof(server_version));
    if ((rc = digest_calc(s1 + off, fms_key, FMS_KEY_OPEN, s1, off)) < 0)
        return rc;
    return sign_s2(s2, hs->c1 + digest_offset(hs->c1, scheme));
}

/* C1 complete: S0, S1 and S2 go out together. A C1 with zero version bytes predates the digest;
 * one whose digest does not check out gets the simple handshake too (5.2.3, 5.2.4). */
static int make_reply(rtmp_handshake_t *hs)
{
    uint8_t *s1 = hs->out + 1, *s2 = s1 + RTMP_HS_SIZE;
    int scheme = -ENOENT;

    if (hs->c1[4] | hs->c1[5] | hs->c1[6] | hs->c1[7])
        scheme = find_digest(hs->c1, fp_key, FP_KEY_OPEN);
    if (scheme == -ENOMEM)
        goto fail;
    hs->out[0] = RTMP_VERSION;
    memset(s1, 0, 8); /* time 0: our epoch for every timestamp we send (5.2.3) */
    if (scheme >= 0 && sign_reply(hs, scheme) < 0)
        goto fail;
    if (scheme < 0)
        memcpy(s2, hs->c1, RTMP_HS_SIZE); /* simple handshake: S2 echoes C1 (5.2.4) */
    hs->digest = scheme >= 0;
    hs->out_len = sizeof(hs->out);
    return 0;
fail:
    hs->error = "out of memory";
    return -ENOMEM;
}

static int take_c0(rtmp_handshake_t *hs, uint8_t version)
{
    if (version == RTMPE_VERSION) {
        hs->error = "RTMPE (version 6) is not supported";
        return -EPROTO;
    }
    if (version != RTMP_VERSION) {
        hs->error = "unsupported RTMP version";
        return -EPROTO;
    }
    hs->state = HS_C1;
    return 1;
}

static int take_c1(rtmp_handshake_t *hs, const uint8_t *p, size_t n)
{
    size_t take = RTMP_HS_SIZE - hs->got < n ? RTMP_HS_SIZE - hs->got : n;
    int rc;

    memcpy(hs->c1 + hs->got, p, take);
    hs->got += (uint32_t)take;
    if (hs->got < RTMP_HS_SIZE)
        return (int)take;
    if ((rc = make_reply(hs)) < 0)
        return rc;
    hs->got = 0;
    hs->state = HS_C2;
    return (int)take;
}

/* C2 should echo S1, but clients differ in what they put there (some echo S2, some send
 * zeros), and nothing depends on it: consume it unchecked, as FFmpeg and nginx-rtmp do. */
static int take_c2(rtmp_handshake_t *hs, size_t n)
{
    size_t take = RTMP_HS_SIZE - hs->got < n ? RTMP_HS_SIZE - hs->got : n;

    hs->got += (uint32_t)take;
    if (hs->got == RTMP_HS_SIZE)
        hs->state = HS_DONE;
    return (int)take;
}

void rtmp_handshake_init(rtmp_handshake_t *hs, rtmp_random_fn random, void *opaque)
{
    memset(hs, 0, sizeof(*hs));
    hs->state = HS_C0;
    (random ? random : lfg_random)(hs->out + 1 + 8, RTMP_HS_SIZE - 8, opaque);
    (random ? random : lfg_random)(hs->out + 1 + RTMP_HS_SIZE, RTMP_HS_SIZE, opaque);
}

int rtmp_handshake_feed(rtmp_handshake_t *hs, const uint8_t *buf, size_t len)
{
    size_t off = 0;
    int rc = 0;

    if (hs->state < 0)
        return hs->state;
    len = len > INT_MAX ? INT_MAX : len;
    while (off < len && hs->state != HS_DONE) {
        switch (hs->state) {
        case HS_C0: rc = take_c0(hs, buf[off]); break;
        case HS_C1: rc = take_c1(hs, buf + off, len - off); break;
        default: rc = take_c2(hs, len - off); break;
        }
        if (rc < 0)
            goto fail;
        off += (size_t)rc;
    }
    return (int)off;
fail:
    hs->state = rc;
    return rc;
}

int rtmp_handshake_done(const rtmp_handshake_t *hs)
{
    return hs->state == HS_DONE;
}

void rtmp_handshake_client_c0c1(uint8_t *out, rtmp_random_fn random, void *opaque)
{
    uint8_t *c1 = out + 1;
    unsigned off;

    (random ? random : lfg_random)(c1, RTMP_HS_SIZE, opaque);
    out[0] = RTMP_VERSION;
    memset(c1, 0, 4);
    memcpy(c1 + 4, client_version, sizeof(client_version));
    off = digest_offset(c1, 1);
    /* Out of memory leaves random bytes where the digest goes: the server then answers with
     * the simple handshake, which still works. */
    digest_calc(c1 + off, fp_key, FP_KEY_OPEN, c1, off);
}

int rtmp_handshake_verify_s1(const uint8_t *s1)
{
    int rc = find_digest(s1, fms_key, FMS_KEY_OPEN);

    if (rc == -ENOENT)
        return -EPROTO;
    return rc < 0 ? rc : 0;
}
