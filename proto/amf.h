/* AMF0 encode and decode (Action Message Format 0, Adobe AMF0 spec 2006).
 *
 * The decoder never allocates and never keeps pointers into the input: strings are copied into
 * fixed-size fields of structs the caller owns, following declarative element tables (the idea of
 * nginx-rtmp's ngx_rtmp_amf_elt_t). Nesting is limited to AMF_MAX_DEPTH; deeper input is an error,
 * not a stack overflow. The encoder writes through amf_wr_t, which records overflow instead of
 * writing past the end, so a sequence of writes needs one check at the end. */
#ifndef PROTO_AMF_H
#define PROTO_AMF_H

#include <stddef.h>
#include <stdint.h>

#define AMF_MAX_DEPTH 16

typedef enum amf_type_e {
    AMF_NUMBER = 0x00,
    AMF_BOOLEAN = 0x01,
    AMF_STRING = 0x02,
    AMF_OBJECT = 0x03,
    AMF_MOVIECLIP = 0x04, /* reserved, never valid on the wire */
    AMF_NULL = 0x05,
    AMF_UNDEFINED = 0x06,
    AMF_REFERENCE = 0x07,
    AMF_ECMA_ARRAY = 0x08,
    AMF_OBJECT_END = 0x09,
    AMF_STRICT_ARRAY = 0x0a,
    AMF_DATE = 0x0b,
    AMF_LONG_STRING = 0x0c,
    AMF_UNSUPPORTED = 0x0d,
    AMF_RECORDSET = 0x0e, /* reserved */
    AMF_XML_DOC = 0x0f,
    AMF_TYPED_OBJECT = 0x10,
    AMF_AVMPLUS = 0x11, /* switch to AMF3: not supported, decoded as an error */
    /* Pseudo types for element tables only; never on the wire. */
    AMF_ANY = 0x100,      /* accept and skip any single value */
    AMF_OPTIONAL = 0x200, /* flag: a missing trailing value is not an error */
} amf_type_t;

/* One element of a declarative decode table.
 * For a top-level sequence (amf_decode_seq) elements are matched by position and name is
 * ignored; inside an object or ECMA array (type AMF_OBJECT with .sub) they are matched by name and
 * unknown properties are skipped.
 * Storage at (char *)out + offset:
 *   AMF_NUMBER  -> double; a BOOLEAN is also accepted and converted (0/1)
 *   AMF_BOOLEAN -> int (0/1); a NUMBER is also accepted and converted (!= 0)
 *   AMF_STRING  -> char[size], NUL-terminated; a LONG_STRING is accepted too; longer strings are an
 *                  error (-ENAMETOOLONG), never truncated silently
 *   AMF_OBJECT  -> nested table .sub/.nsub decoded into the same out struct (offsets are relative
 *                  to out); an ECMA array is accepted as an object; NULL/UNDEFINED are accepted and
 *                  leave the fields untouched
 *   AMF_NULL    -> nothing stored; NULL or UNDEFINED expected
 *   AMF_ANY     -> nothing stored; any value skipped
 * A numeric field "present" mask: when an element decodes successfully, bit (1u << index) is set
 * in *present if present is not NULL (index = position in its own table). */
typedef struct amf_elt_s {
    int type;                    /* amf_type_t, possibly | AMF_OPTIONAL */
    const char *name;            /* property name inside objects; documentation only in sequences */
    size_t offset;               /* offsetof(struct, field) */
    size_t size;                 /* for strings: sizeof the char array */
    const struct amf_elt_s *sub; /* for AMF_OBJECT */
    size_t nsub;
} amf_elt_t;

/* Decodes a sequence of values (a command message body) following elts.
 * Returns bytes consumed (>= 0) or a negative error: -EPROTO (bad type or structure), -EMSGSIZE
 * (truncated), -ENAMETOOLONG (string too long for its field), -ELOOP (nesting deeper than
 * AMF_MAX_DEPTH). Values beyond the table are left unread; the return says how far it got. */
int amf_decode_seq(const uint8_t *buf, size_t len, const amf_elt_t *elts, size_t n, void *out);

/* Skips one complete value of any type. Returns bytes consumed or a negative error as above. */
int amf_skip_value(const uint8_t *buf, size_t len);

/* Reads one string value (STRING or LONG_STRING) into dst[size]. Returns bytes consumed or error.
 */
int amf_read_string(const uint8_t *buf, size_t len, char *dst, size_t size);

/* Writer: append values to [p, end). On overflow, err is set to -ENOSPC and nothing more is
 * written; p never passes end. */
typedef struct amf_wr_s {
    uint8_t *p;
    uint8_t *end;
    int err;
} amf_wr_t;

void amf_write_number(amf_wr_t *w, double v);
void amf_write_bool(amf_wr_t *w, int v);
void amf_write_string(amf_wr_t *w, const char *s); /* STRING, or LONG_STRING if > 65535 bytes */
void amf_write_null(amf_wr_t *w);
void amf_write_object_start(amf_wr_t *w);
void amf_write_ecma_start(amf_wr_t *w, uint32_t count);
void amf_write_key(amf_wr_t *w, const char *key); /* property name inside an object */
void amf_write_string_prop(amf_wr_t *w, const char *key, const char *value); /* key, then value */
void amf_write_number_prop(amf_wr_t *w, const char *key, double value);
void amf_write_object_end(amf_wr_t *w);

#endif
