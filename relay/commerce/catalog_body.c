/* The operator API's JSON bodies (products, the pinned product, flash sales), checked before
 * anything is sent to Redis.
 *
 * Each body is described by a table of its members ({name, kind, flag, where it goes}); one
 * walk over the object checks every member against its row. Error sentences quote the body only
 * as printable ASCII, so that they are always valid in a JSON reply. */
#include "relay/commerce/catalog_body.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef enum { K_PID, K_NAME, K_CURRENCY, K_INT } kind_t;

typedef struct field_s {
    const char *name;
    kind_t kind;
    unsigned flag;
    size_t off, size; /* in the caller's struct; size of a string's buffer */
    int64_t min, max; /* K_INT */
    const char *unit; /* K_INT, for the error sentence */
} field_t;

#define STR(T, m, k, flag, name)                                                                   \
    {                                                                                              \
        name, k, flag, offsetof(T, m), sizeof(((T *)0)->m), 0, 0, NULL                             \
    }
#define INT(T, m, flag, name, lo, hi, unit)                                                        \
    {                                                                                              \
        name, K_INT, flag, offsetof(T, m), sizeof(int64_t), lo, hi, unit                           \
    }

static const field_t product_fields[] = {
    STR(rl_product_body_t, id, K_PID, RL_PF_ID, "id"),
    STR(rl_product_body_t, name, K_NAME, RL_PF_NAME, "name"),
    INT(rl_product_body_t, price, RL_PF_PRICE, "price", 1, RL_PRICE_MAX, " (minor units)"),
    INT(rl_product_body_t, regular_price, RL_PF_REGULAR, "regular_price", 1, RL_PRICE_MAX,
        " (minor units)"),
    STR(rl_product_body_t, currency, K_CURRENCY, RL_PF_CURRENCY, "currency"),
    INT(rl_product_body_t, stock, RL_PF_STOCK, "stock", 0, RL_STOCK_MAX, " (units)"),
};

enum { FF_PRODUCT = 1, FF_PRICE = 2, FF_DURATION = 4, FF_CAP = 8, FF_LIMIT = 16 };
static const field_t flash_fields[] = {
    STR(rl_flash_body_t, product, K_PID, FF_PRODUCT, "product"),
    INT(rl_flash_body_t, price, FF_PRICE, "price", 1, RL_PRICE_MAX, " (minor units)"),
    INT(rl_flash_body_t, duration_s, FF_DURATION, "duration_s", 1, RL_FLASH_SECS_MAX, " (seconds)"),
    INT(rl_flash_body_t, cap, FF_CAP, "cap", 0, RL_STOCK_MAX, " (units; 0: all the stock)"),
    INT(rl_flash_body_t, limit, FF_LIMIT, "limit", 0, RL_STOCK_MAX, " (units per buyer; 0: none)"),
};

typedef struct pin_s {
    char product[RL_PID_MAX + 1];
} pin_t;
static const field_t pin_fields[] = { STR(pin_t, product, K_PID, 1, "product") };

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

static int say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++) /* jansson's messages quote the input near the error */
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    return -EINVAL;
}

int rl_catalog_valid_pid(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:");

    return n > 0 && n <= RL_PID_MAX && !s[n];
}

/* Length of the UTF-8 sequence at s (RFC 3629: no overlong forms, no surrogates, at most
 * U+10FFFF), or 0 when it is not one. C0, DEL and C1 controls count as not one. */
static size_t utf8_char(const unsigned char *s, size_t left)
{
    size_t n = s[0] < 0x80                    ? 1
               : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
               : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
               : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                              : 0;
    uint32_t c;

    if (!n || n > left)
        return 0;
    c = n == 1 ? s[0] : s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    if ((n == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
        (n == 4 && (c < 0x10000 || c > 0x10FFFF)))
        return 0;
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) ? 0 : n;
}

int rl_catalog_valid_name(const char *s, size_t len)
{
    size_t n;

    if (!len || len > RL_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i += n)
        if (!(n = utf8_char((const unsigned char *)s + i, len - i)))
            return 0;
    return 1;
}

static int valid_currency(const char *s, size_t len)
{
    return len == 3 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3;
}

static int bad_member(const field_t *f, char *err, size_t errlen)
{
    switch (f->kind) {
    case K_PID:
        return say(err, errlen, "%s must be a string of 1 to %d letters, digits or \"._-:\"",
                   f->name, RL_PID_MAX);
    case K_NAME:
        return say(err, errlen,
                   "%s must be a string of 1 to %d bytes of UTF-8 without control characters",
                   f->name, RL_NAME_MAX);
    case K_CURRENCY:
        return say(err, errlen, "%s must be three capital letters (ISO 4217), such as \"CNY\"",
                   f->name);
    default:
        return say(err, errlen, "%s must be an integer from %lld to %lld%s", f->name,
                   (long long)f->min, (long long)f->max, f->unit);
    }
}

/* Checks one member against its row and stores it in out. */
static int take(const field_t *f, const json_t *v, void *out, char *err, size_t errlen)
{
    char *dst = (char *)out + f->off;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    int64_t i = json_integer_value(v);

    if (f->kind == K_INT) {
        if (!json_is_integer(v) || i < f->min || i > f->max)
            return bad_member(f, err, errlen);
        memcpy(dst, &i, sizeof(i));
        return 0;
    }
    if (!s || len >= f->size || (f->kind == K_PID && !rl_catalog_valid_pid(s)) ||
        (f->kind == K_NAME && !rl_catalog_valid_name(s, len)) ||
        (f->kind == K_CURRENCY && !valid_currency(s, len)))
        return bad_member(f, err, errlen);
    memcpy(dst, s, len + 1);
    return 0;
}

static const field_t *field_of(const field_t *fields, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(fields[i].name, name))
            return &fields[i];
    return NULL;
}

/* The body as an object of the table's members: each known, once, and valid. */
static int parse(const char *body, size_t len, const field_t *fields, size_t n, void *out,
                 unsigned *has, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j = json_loadb(body ? body : "", body ? len : 0, JSON_REJECT_DUPLICATES, &je), *v;
    const field_t *f;
    const char *k;
    int rc = 0;

    *has = 0;
    if (!j)
        return say(err, errlen, "body is not JSON: %s (at byte %d)", je.text, je.position);
    if (!json_is_object(j))
        rc = say(err, errlen, "body must be a JSON object");
    json_object_foreach(j, k, v)
    {
        if (rc < 0)
            break;
        if (!(f = field_of(fields, n, k)))
            rc = say(err, errlen, "unknown field \"%.40s\"", k);
        else if ((rc = take(f, v, out, err, errlen)) == 0)
            *has |= f->flag;
    }
    json_decref(j);
    return rc;
}

/* The first field of the table that a body must carry and does not. */
static int missing(const field_t *fields, size_t n, unsigned need, unsigned has, char *err,
                   size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        if (need & fields[i].flag & ~has)
            return say(err, errlen, "missing field \"%s\"", fields[i].name);
    return 0;
}

int rl_catalog_product_body(const char *body, size_t len, int create, rl_product_body_t *out,
                            char *err, size_t errlen)
{
    const unsigned need = RL_PF_NAME | RL_PF_PRICE | RL_PF_CURRENCY | RL_PF_STOCK;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = parse(body, len, product_fields, NFIELDS(product_fields), out, &out->has, err,
                    errlen)) < 0)
        return rc;
    if (create &&
        (rc = missing(product_fields, NFIELDS(product_fields), need, out->has, err, errlen)) < 0)
        return rc;
    if (create && !(out->has & RL_PF_REGULAR))
        out->regular_price = out->price; /* the product's own price: never an invented one */
    if (!create && out->has & RL_PF_ID)
        return say(err, errlen, "id cannot change: delete the product and create it again");
    if (!create && !out->has)
        return say(err, errlen,
                   "nothing to change: give at least one of name, price, "
                   "regular_price, currency, stock");
    if ((create || (out->has & RL_PF_PRICE && out->has & RL_PF_REGULAR)) &&
        out->regular_price < out->price)
        return say(err, errlen, "regular_price (%lld) must not be below price (%lld)",
                   (long long)out->regular_price, (long long)out->price);
    return 0;
}

int rl_catalog_pin_body(const char *body, size_t len, char *pid, size_t pidsize, char *err,
                        size_t errlen)
{
    pin_t p = { "" };
    unsigned has;
    int rc;

    if ((rc = parse(body, len, pin_fields, NFIELDS(pin_fields), &p, &has, err, errlen)) < 0 ||
        (rc = missing(pin_fields, NFIELDS(pin_fields), 1, has, err, errlen)) < 0)
        return rc;
    snprintf(pid, pidsize, "%s", p.product);
    return 0;
}

int rl_catalog_flash_body(const char *body, size_t len, rl_flash_body_t *out, char *err,
                          size_t errlen)
{
    unsigned has;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = parse(body, len, flash_fields, NFIELDS(flash_fields), out, &has, err, errlen)) < 0)
        return rc;
    return missing(flash_fields, NFIELDS(flash_fields), FF_PRODUCT | FF_PRICE | FF_DURATION, has,
                   err, errlen);
}
