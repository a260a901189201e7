/* AMF0 encode and decode: declarative element tables in, caller-owned structs out.
 *
 * Invariants: the reader never looks past buf + len and never allocates; every length read from
 * the wire is compared with the bytes left before it is used, in size_t, so a 32-bit length can
 * not wrap. Recursion goes one level per container and stops at AMF_MAX_DEPTH (-ELOOP), so
 * hostile nesting costs at most that many stack frames. The writer checks room once per value,
 * so a value is either written whole or not at all. */
#include "amf.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <libavutil/intreadwrite.h>

/* A read cursor over the undecoded rest of the input. */
typedef struct rd_s {
    const uint8_t *p;
    size_t left;
} rd_t;

static int skip_value(rd_t *r, int depth);
static int decode_value(rd_t *r, const amf_elt_t *e, void *out, int depth);

/* Results are returned as int, so input past INT_MAX is treated as absent (it reads as
 * truncation); RTMP messages are at most 2^24 - 1 bytes anyway (RTMP spec 5.3.1.2.1). */
static rd_t reader(const uint8_t *buf, size_t len)
{
    rd_t r = { buf, len > INT_MAX ? (size_t)INT_MAX : len };
    return r;
}

static int consumed(const rd_t *r, const uint8_t *buf)
{
    return (int)(r->p - buf);
}

static int take(rd_t *r, size_t n, const uint8_t **out)
{
    if (r->left < n)
        return -EMSGSIZE;
    if (out)
        *out = r->p;
    r->p += n;
    r->left -= n;
    return 0;
}

static int read_u8(rd_t *r, unsigned *v)
{
    const uint8_t *p;
    int ret = take(r, 1, &p);

    if (ret == 0)
        *v = p[0];
    return ret;
}

/* A UTF-8 string body (AMF0 spec 1.3): a big-endian length of width bytes, then the bytes.
 * The length is compared with what is left before anything is taken. */
static int read_utf8(rd_t *r, size_t width, const uint8_t **s, size_t *n)
{
    const uint8_t *p;
    int ret = take(r, width, &p);

    if (ret < 0)
        return ret;
    *n = width == 2 ? AV_RB16(p) : AV_RB32(p);
    return take(r, *n, s);
}

static int skip_utf8(rd_t *r, size_t width)
{
    const uint8_t *s;
    size_t n;

    return read_utf8(r, width, &s, &n);
}

/* Reads a property name, or the empty name plus object-end marker that closes an object
 * (AMF0 spec 2.5); *end is set for the latter. An empty name followed by any other marker is an
 * ordinary property with an empty name: the grammar allows it and no table asks for it. */
static int read_key(rd_t *r, const uint8_t **key, size_t *n, int *end)
{
    int ret = read_utf8(r, 2, key, n);

    *end = 0;
    if (ret < 0 || *n != 0)
        return ret;
    if (r->left < 1)
        return -EMSGSIZE;
    if (r->p[0] != AMF_OBJECT_END)
        return 0;
    *end = 1;
    return take(r, 1, NULL);
}

/* Properties up to the end marker (object, ECMA array, typed object) at nesting level depth.
 * Each property costs at least three bytes, so the loop is bounded by the input. */
static int skip_props(rd_t *r, int depth)
{
    const uint8_t *key;
    size_t n;
    int end = 0;
    int ret = 0;

    if (depth > AMF_MAX_DEPTH)
        return -ELOOP;
    while (ret == 0 && !end) {
        ret = read_key(r, &key, &n, &end);
        if (ret == 0 && !end)
            ret = skip_value(r, depth);
    }
    return ret;
}

/* AMF0 spec 2.10: the count is informative only and senders get it wrong (some write 0), so the
 * end marker, as for objects, is what closes the array; FFmpeg's reader does the same. */
static int skip_ecma(rd_t *r, int depth)
{
    int ret = take(r, 4, NULL);

    return ret < 0 ? ret : skip_props(r, depth);
}

/* AMF0 spec 2.12: a 32-bit count of values. Every value takes at least its marker byte, so a
 * count larger than the bytes left is truncation, found before looping up to 2^32 times. */
static int skip_strict(rd_t *r, int depth)
{
    const uint8_t *p;
    uint32_t count;
    int ret;

    if (depth > AMF_MAX_DEPTH)
        return -ELOOP;
    ret = take(r, 4, &p);
    if (ret < 0)
        return ret;
    count = AV_RB32(p);
    if (count > r->left)
        return -EMSGSIZE;
    while (ret == 0 && count-- > 0)
        ret = skip_value(r, depth);
    return ret;
}

/* AMF0 spec 2.18: a class name, then properties as in an object. */
static int skip_typed(rd_t *r, int depth)
{
    int ret = skip_utf8(r, 2);

    return ret < 0 ? ret : skip_props(r, depth);
}

/* The body after a marker, for a value enclosed by depth containers (AMF0 spec section 2). */
static int skip_body(rd_t *r, unsigned marker, int depth)
{
    switch (marker) {
    case AMF_NUMBER: return take(r, 8, NULL);
    case AMF_BOOLEAN: return take(r, 1, NULL);
    case AMF_STRING: return skip_utf8(r, 2);
    case AMF_OBJECT: return skip_props(r, depth + 1);
    case AMF_NULL:
    case AMF_UNDEFINED:
    case AMF_UNSUPPORTED: return 0;
    case AMF_REFERENCE: return take(r, 2, NULL); /* an index into earlier objects; not followed */
    case AMF_ECMA_ARRAY: return skip_ecma(r, depth + 1);
    case AMF_STRICT_ARRAY: return skip_strict(r, depth + 1);
    case AMF_DATE: return take(r, 10, NULL); /* double ms + s16 time zone, spec 2.13 */
    case AMF_LONG_STRING:
    case AMF_XML_DOC: return skip_utf8(r, 4);
    case AMF_TYPED_OBJECT: return skip_typed(r, depth + 1);
    default: return -EPROTO; /* reserved markers, a stray object end, the AMF3 switch */
    }
}

static int skip_value(rd_t *r, int depth)
{
    unsigned marker;
    int ret = read_u8(r, &marker);

    return ret < 0 ? ret : skip_body(r, marker, depth);
}

int amf_skip_value(const uint8_t *buf, size_t len)
{
    rd_t r = reader(buf, len);
    int ret = skip_value(&r, 0);

    return ret < 0 ? ret : consumed(&r, buf);
}

static int decode_number(rd_t *r, unsigned marker, double *dst)
{
    const uint8_t *p;
    uint64_t bits;
    int ret;

    /* FFmpeg and OBS send the metadata property "stereo" as a BOOLEAN. */
    if (marker == AMF_BOOLEAN) {
        ret = take(r, 1, &p);
        if (ret == 0)
            *dst = p[0] != 0;
        return ret;
    }
    if (marker != AMF_NUMBER)
        return -EPROTO;
    ret = take(r, 8, &p);
    if (ret < 0)
        return ret;
    bits = AV_RB64(p);
    memcpy(dst, &bits, sizeof(*dst));
    return 0;
}

static int decode_bool(rd_t *r, unsigned marker, int *dst)
{
    double v;
    int ret = decode_number(r, marker, &v);

    if (ret == 0)
        *dst = v != 0;
    return ret;
}

/* Copies a STRING or LONG_STRING into dst[size]. A string that does not fit is an error rather
 * than a truncated copy, and so is an embedded NUL, which would truncate it just the same for
 * every C reader of dst (think of "key\0anything" compared with a stream key). */
static int decode_string(rd_t *r, unsigned marker, char *dst, size_t size)
{
    const uint8_t *s;
    size_t n;
    int ret;

    if (marker != AMF_STRING && marker != AMF_LONG_STRING)
        return -EPROTO;
    ret = read_utf8(r, marker == AMF_STRING ? 2 : 4, &s, &n);
    if (ret < 0)
        return ret;
    if (n >= size)
        return -ENAMETOOLONG;
    if (memchr(s, 0, n))
        return -EPROTO;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

static const amf_elt_t *find_elt(const amf_elt_t *elts, size_t n, const uint8_t *key, size_t klen)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (elts[i].name && strlen(elts[i].name) == klen && memcmp(elts[i].name, key, klen) == 0)
            return &elts[i];
    }
    return NULL;
}

/* Properties of an object at nesting level depth, matched by name; unknown ones are skipped. */
static int decode_props(rd_t *r, const amf_elt_t *elts, size_t n, void *out, int depth)
{
    const amf_elt_t *e;
    const uint8_t *key;
    size_t klen;
    int end = 0;
    int ret = 0;

    if (depth > AMF_MAX_DEPTH)
        return -ELOOP;
    while (ret == 0 && !end) {
        ret = read_key(r, &key, &klen, &end);
        if (ret < 0 || end)
            break;
        e = find_elt(elts, n, key, klen);
        ret = e ? decode_value(r, e, out, depth) : skip_value(r, depth);
    }
    return ret;
}

static int decode_object(rd_t *r, unsigned marker, const amf_elt_t *e, void *out, int depth)
{
    int ret;

    switch (marker) {
    case AMF_NULL:
    case AMF_UNDEFINED: return 0;
    case AMF_OBJECT: return decode_props(r, e->sub, e->nsub, out, depth + 1);
    case AMF_ECMA_ARRAY:
        ret = take(r, 4, NULL); /* count ignored, see skip_ecma */
        return ret < 0 ? ret : decode_props(r, e->sub, e->nsub, out, depth + 1);
    default: return -EPROTO;
    }
}

/* One value for element e, read at nesting level depth; storage is at out + e->offset. */
static int decode_value(rd_t *r, const amf_elt_t *e, void *out, int depth)
{
    char *dst = (char *)out + e->offset;
    unsigned marker;
    int ret = read_u8(r, &marker);

    if (ret < 0)
        return ret;
    switch (e->type & ~AMF_OPTIONAL) {
    case AMF_NUMBER: return decode_number(r, marker, (double *)(void *)dst);
    case AMF_BOOLEAN: return decode_bool(r, marker, (int *)(void *)dst);
    case AMF_STRING: return decode_string(r, marker, dst, e->size);
    case AMF_OBJECT: return decode_object(r, marker, e, out, depth);
    case AMF_NULL: return marker == AMF_NULL || marker == AMF_UNDEFINED ? 0 : -EPROTO;
    case AMF_ANY: return skip_body(r, marker, depth);
    default: return -EINVAL; /* a bad table is our bug, not the peer's */
    }
}

int amf_decode_seq(const uint8_t *buf, size_t len, const amf_elt_t *elts, size_t n, void *out)
{
    rd_t r = reader(buf, len);
    size_t i;
    int ret;

    for (i = 0; i < n; i++) {
        if (r.left == 0 && (elts[i].type & AMF_OPTIONAL))
            continue;
        ret = decode_value(&r, &elts[i], out, 0);
        if (ret < 0)
            return ret;
    }
    return consumed(&r, buf);
}

int amf_read_string(const uint8_t *buf, size_t len, char *dst, size_t size)
{
    rd_t r = reader(buf, len);
    unsigned marker;
    int ret = read_u8(&r, &marker);

    if (ret == 0)
        ret = decode_string(&r, marker, dst, size);
    return ret < 0 ? ret : consumed(&r, buf);
}

/* Room for n more bytes, or NULL with w->err set; after an error nothing more is written. */
static uint8_t *reserve(amf_wr_t *w, size_t n)
{
    uint8_t *p = w->p;

    if (w->err)
        return NULL;
    if ((size_t)(w->end - w->p) < n) {
        w->err = -ENOSPC;
        return NULL;
    }
    w->p += n;
    return p;
}

static void write_marker(amf_wr_t *w, uint8_t marker)
{
    uint8_t *p = reserve(w, 1);

    if (p)
        p[0] = marker;
}

/* A marker (when marker >= 0) and a UTF-8 body with a length field of width bytes. */
static void write_utf8(amf_wr_t *w, int marker, size_t width, const char *s, size_t n)
{
    size_t head = (marker >= 0) + width;
    uint8_t *p = reserve(w, head + n);

    if (!p)
        return;
    if (marker >= 0)
        p[0] = (uint8_t)marker;
    if (width == 2)
        AV_WB16(p + head - 2, (unsigned)n);
    else
        AV_WB32(p + head - 4, (uint32_t)n);
    memcpy(p + head, s, n);
}

void amf_write_number(amf_wr_t *w, double v)
{
    uint8_t *p = reserve(w, 9);
    uint64_t bits;

    if (!p)
        return;
    memcpy(&bits, &v, sizeof(bits));
    p[0] = AMF_NUMBER;
    AV_WB64(p + 1, bits);
}

void amf_write_bool(amf_wr_t *w, int v)
{
    uint8_t *p = reserve(w, 2);

    if (!p)
        return;
    p[0] = AMF_BOOLEAN;
    p[1] = v != 0;
}

/* A string that a 32-bit length can not describe is not written at all (-ENOSPC: it does not
 * fit the format); the bound also keeps head + n in reserve() from wrapping. NULL writes "". */
void amf_write_string(amf_wr_t *w, const char *s)
{
    size_t n;

    if (!s)
        s = "";
    n = strlen(s);
    if (n <= UINT16_MAX)
        write_utf8(w, AMF_STRING, 2, s, n);
    else if (n <= UINT32_MAX - 5)
        write_utf8(w, AMF_LONG_STRING, 4, s, n);
    else if (!w->err)
        w->err = -ENOSPC;
}

void amf_write_null(amf_wr_t *w)
{
    write_marker(w, AMF_NULL);
}

void amf_write_object_start(amf_wr_t *w)
{
    write_marker(w, AMF_OBJECT);
}

void amf_write_ecma_start(amf_wr_t *w, uint32_t count)
{
    uint8_t *p = reserve(w, 5);

    if (!p)
        return;
    p[0] = AMF_ECMA_ARRAY;
    AV_WB32(p + 1, count);
}

/* Property names have a 16-bit length and no marker (AMF0 spec 2.5). */
void amf_write_key(amf_wr_t *w, const char *key)
{
    size_t n;

    if (!key)
        key = "";
    n = strlen(key);
    if (n <= UINT16_MAX)
        write_utf8(w, -1, 2, key, n);
    else if (!w->err)
        w->err = -ENOSPC;
}

void amf_write_string_prop(amf_wr_t *w, const char *key, const char *value)
{
    amf_write_key(w, key);
    amf_write_string(w, value);
}

void amf_write_number_prop(amf_wr_t *w, const char *key, double value)
{
    amf_write_key(w, key);
    amf_write_number(w, value);
}

void amf_write_object_end(amf_wr_t *w)
{
    uint8_t *p = reserve(w, 3);

    if (!p)
        return;
    p[0] = 0;
    p[1] = 0;
    p[2] = AMF_OBJECT_END;
}
