/* Order bodies: the JSON of an order, parsed and checked, and the webhook signature over it.
 *
 * The fields are a table ({name, kind, offset, required}); each kind has one checker, so a new
 * field is one row. Every refusal names the field and what it must be. */
#include "relay/commerce/order_body.h"

#include <errno.h>
#include <jansson.h>
#include <libavutil/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef enum { F_ID, F_QTY, F_PRICE, F_BUYER } kind_t;

typedef struct field_s {
    const char *name;
    kind_t kind;
    size_t offset;
    int required;
} field_t;

static const field_t fields[] = {
    { "order_id", F_ID, offsetof(rl_order_t, order_id), 1 },
    { "product", F_ID, offsetof(rl_order_t, product), 1 },
    { "qty", F_QTY, offsetof(rl_order_t, qty), 1 },
    { "buyer", F_BUYER, offsetof(rl_order_t, buyer), 0 },
    { "price", F_PRICE, offsetof(rl_order_t, price), 0 },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

#define ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"

static int refuse(char *err, size_t errlen, const char *fmt, const char *name)
{
    snprintf(err, errlen, fmt, name);
    return -EINVAL;
}

static int take_id(const json_t *v, char *dst, const char *name, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;

    if (!s || n < 1 || n > RL_ORDER_ID_MAX || strspn(s, ID_CHARS) != n)
        return refuse(err, errlen, "%s must be a string of 1 to 64 of A-Z a-z 0-9 _ . : -", name);
    memcpy(dst, s, n + 1);
    return 0;
}

/* A JSON integer (never a real: 1.0 and 1e3 are refused, as a client sending them has a bug). */
static int take_int(const json_t *v, long long min, long long max, long long *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return -EINVAL;
    *out = json_integer_value(v);
    return 0;
}

/* Optional: null or "" is none. UTF-8 is valid (jansson checks it); control bytes are refused so
 * that a buyer id never breaks a log line or a terminal. */
static int take_buyer(const json_t *v, char *dst, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;

    if (json_is_null(v))
        return dst[0] = '\0', 0;
    if (!s || n > RL_ORDER_BUYER_MAX)
        return refuse(err, errlen, "%s must be a string of at most 64 bytes", "buyer");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return refuse(err, errlen, "%s must not contain control characters", "buyer");
    memcpy(dst, s, n + 1);
    return 0;
}

static int take(const field_t *f, const json_t *v, rl_order_t *o, char *err, size_t errlen)
{
    char *dst = (char *)o + f->offset;
    long long n;

    switch (f->kind) {
    case F_ID: return take_id(v, dst, f->name, err, errlen);
    case F_BUYER: return take_buyer(v, dst, err, errlen);
    case F_QTY:
        if (take_int(v, 1, RL_ORDER_QTY_MAX, &n) < 0)
            return refuse(err, errlen, "%s must be a whole number from 1 to 1000", f->name);
        *(int *)dst = (int)n;
        return 0;
    case F_PRICE:
        if (json_is_null(v))
            return *(long long *)dst = -1, 0;
        if (take_int(v, 0, RL_ORDER_PRICE_MAX, &n) < 0)
            return refuse(err, errlen,
                          "%s must be a whole number of minor units from 0 to 1000000000", f->name);
        *(long long *)dst = n;
        return 0;
    }
    return -EINVAL;
}

static const field_t *find_field(const char *name)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (!strcmp(fields[i].name, name))
            return &fields[i];
    return NULL;
}

/* Every member must be a known field; then every field present is checked, every required one
 * must be there. */
static int take_object(const json_t *j, rl_order_t *o, char *err, size_t errlen)
{
    const char *name;
    json_t *v;
    char shown[40];

    json_object_foreach((json_t *)j, name, v)
    {
        if (!find_field(name)) {
            snprintf(shown, sizeof(shown), "%.32s%s", name, strlen(name) > 32 ? "..." : "");
            return refuse(err, errlen,
                          "unknown field '%s' (fields: order_id, product, qty, buyer, price)",
                          shown);
        }
    }
    for (size_t i = 0; i < NFIELDS; i++) {
        if (!(v = json_object_get(j, fields[i].name))) {
            if (fields[i].required)
                return refuse(err, errlen, "missing field '%s'", fields[i].name);
            continue;
        }
        if (take(&fields[i], v, o, err, errlen) < 0)
            return -EINVAL;
    }
    return 0;
}

int rl_order_parse(const char *body, size_t len, rl_order_t *o, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *j;
    int rc;

    memset(o, 0, sizeof(*o));
    o->price = -1;
    if (len > RL_ORDER_BODY_MAX)
        return snprintf(err, errlen, "body larger than %d bytes", RL_ORDER_BODY_MAX), -EMSGSIZE;
    if (!body || !len)
        return refuse(err, errlen, "%s",
                      "body must be a JSON object {\"order_id\", \"product\", "
                      "\"qty\"}, with optional \"buyer\" and \"price\"");
    /* A repeated field would be ambiguous: which one did the client mean? */
    if (!(j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr))) {
        snprintf(err, errlen, "body is not valid JSON: %s (at byte %d)", jerr.text, jerr.position);
        return -EINVAL;
    }
    rc = json_is_object(j) ? take_object(j, o, err, errlen)
                           : refuse(err, errlen, "%s", "body must be a JSON object");
    json_decref(j);
    return rc;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The 32 bytes of "sha256=<64 hex>", or -1 if header is not of that form. */
static int parse_signature(const char *header, uint8_t out[32])
{
    int hi, lo;

    if (strncasecmp(header, "sha256=", 7) || strlen(header + 7) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        if ((hi = hex_digit(header[7 + 2 * i])) < 0 || (lo = hex_digit(header[8 + 2 * i])) < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int rl_order_signed(const char *secret, const void *body, size_t len, const char *header)
{
    uint8_t want[32], got[32];
    AVHMAC *h;
    unsigned diff = 0;
    int n;

    if (!secret[0] || len > UINT32_MAX || parse_signature(header, got) < 0)
        return 0;
    if (!(h = av_hmac_alloc(AV_HMAC_SHA256)))
        return 0;
    n = av_hmac_calc(h, body, (unsigned)len, (const uint8_t *)secret, (unsigned)strlen(secret),
                     want, sizeof(want));
    av_hmac_free(h);
    if (n != (int)sizeof(want))
        return 0;
    /* constant time: how much of a guess is right must not show in the response time */
    for (size_t i = 0; i < sizeof(want); i++)
        diff |= (unsigned)(want[i] ^ got[i]);
    return !diff;
}
