/* Unit tests for proto/amf.c: AMF0 skipping, table decoding and writing, on literal byte vectors.
 *
 * Inputs are copied into heap blocks of exactly their length (exact_copy) so that AddressSanitizer
 * reports any read past the end. Vectors are C string literals; LEN() drops the literal's NUL. */
#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/amf.h"

#define LEN(v) (sizeof(v) - 1)

/* A heap copy of exactly n bytes; never NULL, even for n == 0. */
static uint8_t *exact_copy(const void *v, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);

    cr_assert_not_null(p);
    memcpy(p, v, n);
    return p;
}

static int skip_exact(const void *v, size_t n)
{
    uint8_t *p = exact_copy(v, n);
    int ret = amf_skip_value(p, n);

    free(p);
    return ret;
}

/* Writes levels containers of one kind, each holding the next, around a null; returns the length.
 * buf needs 12 * levels + 1 bytes. */
static size_t build_nest(uint8_t *buf, size_t levels, uint8_t kind)
{
    static const uint8_t key_a[] = { 0x00, 0x01, 'a' };
    static const uint8_t one[] = { 0x00, 0x00, 0x00, 0x01 };
    static const uint8_t end[] = { 0x00, 0x00, 0x09 };
    size_t n = 0;
    size_t i;

    for (i = 0; i < levels; i++) {
        buf[n++] = kind;
        if (kind == AMF_ECMA_ARRAY || kind == AMF_STRICT_ARRAY) {
            memcpy(buf + n, one, 4);
            n += 4;
        }
        if (kind == AMF_TYPED_OBJECT) {
            memcpy(buf + n, "\x00\x01T", 3);
            n += 3;
        }
        if (kind != AMF_STRICT_ARRAY) {
            memcpy(buf + n, key_a, 3);
            n += 3;
        }
    }
    buf[n++] = AMF_NULL;
    for (i = 0; i < levels && kind != AMF_STRICT_ARRAY; i++) {
        memcpy(buf + n, end, 3);
        n += 3;
    }
    return n;
}

static int skip_nest(size_t levels, uint8_t kind)
{
    uint8_t *buf = malloc(levels * 12 + 1);
    size_t n;
    int ret;

    cr_assert_not_null(buf);
    n = build_nest(buf, levels, kind);
    ret = skip_exact(buf, n);
    free(buf);
    return ret;
}

/* ---- amf_skip_value ---- */

Test(amf_skip, number)
{
    static const uint8_t v[] = "\x00\x40\x09\x21\xfb\x54\x44\x2d\x18";
    cr_assert_eq(skip_exact(v, LEN(v)), 9);
}

Test(amf_skip, boolean)
{
    static const uint8_t v[] = "\x01\x01";
    cr_assert_eq(skip_exact(v, LEN(v)), 2);
}

Test(amf_skip, string)
{
    static const uint8_t v[] = "\x02\x00\x03"
                               "abc";
    cr_assert_eq(skip_exact(v, LEN(v)), 6);
}

Test(amf_skip, empty_string)
{
    static const uint8_t v[] = "\x02\x00\x00";
    cr_assert_eq(skip_exact(v, LEN(v)), 3);
}

Test(amf_skip, long_string)
{
    static const uint8_t v[] = "\x0c\x00\x00\x00\x03"
                               "abc";
    cr_assert_eq(skip_exact(v, LEN(v)), 8);
}

Test(amf_skip, null_undefined_and_unsupported_have_no_body)
{
    cr_assert_eq(skip_exact("\x05", 1), 1);
    cr_assert_eq(skip_exact("\x06", 1), 1);
    cr_assert_eq(skip_exact("\x0d", 1), 1);
}

Test(amf_skip, reference_is_a_two_byte_index)
{
    static const uint8_t v[] = "\x07\x00\x01";
    cr_assert_eq(skip_exact(v, LEN(v)), 3);
}

Test(amf_skip, date_is_double_and_time_zone)
{
    static const uint8_t v[] = "\x0b\x42\x77\x8a\x0b\x5c\x8a\x00\x00"
                               "\x00\x00";
    cr_assert_eq(skip_exact(v, LEN(v)), 11);
}

Test(amf_skip, xml_document)
{
    static const uint8_t v[] = "\x0f\x00\x00\x00\x04"
                               "<a/>";
    cr_assert_eq(skip_exact(v, LEN(v)), 9);
}

Test(amf_skip, object_with_nested_values)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x03"
        "\x00\x01" "n" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
        "\x00\x01" "o" "\x03" "\x00\x01" "s" "\x02\x00\x01" "x" "\x00\x00\x09"
        "\x00\x01" "u" "\x06"
        "\x00\x00\x09";
    /* clang-format on */
    cr_assert_eq(skip_exact(v, LEN(v)), (int)LEN(v));
}

Test(amf_skip, empty_object)
{
    static const uint8_t v[] = "\x03\x00\x00\x09";
    cr_assert_eq(skip_exact(v, LEN(v)), 4);
}

Test(amf_skip, empty_name_before_a_value_is_a_property_not_the_end)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x03"
        "\x00\x00" "\x05"
        "\x00\x01" "a" "\x01\x00"
        "\x00\x00\x09";
    /* clang-format on */
    cr_assert_eq(skip_exact(v, LEN(v)), (int)LEN(v));
}

Test(amf_skip, ecma_array)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x08\x00\x00\x00\x02"
        "\x00\x05" "width" "\x00\x40\x94\x00\x00\x00\x00\x00\x00"
        "\x00\x06" "stereo" "\x01\x01"
        "\x00\x00\x09";
    /* clang-format on */
    cr_assert_eq(skip_exact(v, LEN(v)), (int)LEN(v));
}

Test(amf_skip, ecma_array_count_is_not_trusted)
{
    /* clang-format off */
    static const uint8_t zero[] =
        "\x08\x00\x00\x00\x00"
        "\x00\x01" "a" "\x05"
        "\x00\x01" "b" "\x05"
        "\x00\x00\x09";
    static const uint8_t huge[] =
        "\x08\xff\xff\xff\xff"
        "\x00\x01" "a" "\x05"
        "\x00\x00\x09";
    /* clang-format on */
    cr_assert_eq(skip_exact(zero, LEN(zero)), (int)LEN(zero));
    cr_assert_eq(skip_exact(huge, LEN(huge)), (int)LEN(huge));
}

Test(amf_skip, strict_array_of_mixed_values)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x0a\x00\x00\x00\x04"
        "\x02\x00\x04" "av01"
        "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
        "\x05"
        "\x0a\x00\x00\x00\x01" "\x01\x00";
    /* clang-format on */
    cr_assert_eq(skip_exact(v, LEN(v)), (int)LEN(v));
}

Test(amf_skip, empty_strict_array)
{
    static const uint8_t v[] = "\x0a\x00\x00\x00\x00";
    cr_assert_eq(skip_exact(v, LEN(v)), 5);
}

Test(amf_skip, typed_object)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x10\x00\x05" "Point"
        "\x00\x01" "x" "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        "\x00\x00\x09";
    /* clang-format on */
    cr_assert_eq(skip_exact(v, LEN(v)), (int)LEN(v));
}

Test(amf_skip, consumes_only_the_first_value)
{
    static const uint8_t v[] = "\x01\x01\x05\x05";
    cr_assert_eq(skip_exact(v, LEN(v)), 2);
}

Test(amf_skip, reserved_markers_are_rejected)
{
    cr_assert_eq(skip_exact("\x04", 1), -EPROTO); /* movieclip */
    cr_assert_eq(skip_exact("\x0e", 1), -EPROTO); /* recordset */
    cr_assert_eq(skip_exact("\x12", 1), -EPROTO);
    cr_assert_eq(skip_exact("\xff", 1), -EPROTO);
}

Test(amf_skip, avmplus_switch_is_rejected)
{
    static const uint8_t v[] = "\x11\x06";
    cr_assert_eq(skip_exact(v, LEN(v)), -EPROTO);
}

Test(amf_skip, object_end_outside_an_object_is_rejected)
{
    static const uint8_t bare[] = "\x09";
    static const uint8_t as_value[] = "\x03\x00\x01"
                                      "a"
                                      "\x09";
    cr_assert_eq(skip_exact(bare, LEN(bare)), -EPROTO);
    cr_assert_eq(skip_exact(as_value, LEN(as_value)), -EPROTO);
}

Test(amf_skip, empty_input_is_truncated)
{
    cr_assert_eq(skip_exact("", 0), -EMSGSIZE);
}

Test(amf_skip, object_without_end_marker_is_truncated)
{
    static const uint8_t v[] = "\x03\x00\x01"
                               "a"
                               "\x05";
    cr_assert_eq(skip_exact(v, LEN(v)), -EMSGSIZE);
}

Test(amf_skip, long_string_length_beyond_input_is_truncated)
{
    static const uint8_t max[] = "\x0c\xff\xff\xff\xff"
                                 "abc";
    static const uint8_t one_over[] = "\x0c\x00\x00\x00\x04"
                                      "abc";
    cr_assert_eq(skip_exact(max, LEN(max)), -EMSGSIZE);
    cr_assert_eq(skip_exact(one_over, LEN(one_over)), -EMSGSIZE);
}

Test(amf_skip, xml_length_beyond_input_is_truncated)
{
    static const uint8_t v[] = "\x0f\xff\xff\xff\xff"
                               "<a/>";
    cr_assert_eq(skip_exact(v, LEN(v)), -EMSGSIZE);
}

Test(amf_skip, strict_array_count_beyond_input_fails_before_looping)
{
    static const uint8_t max[] = "\x0a\xff\xff\xff\xff\x05\x05";
    static const uint8_t one_over[] = "\x0a\x00\x00\x00\x03\x05\x05";
    cr_assert_eq(skip_exact(max, LEN(max)), -EMSGSIZE);
    cr_assert_eq(skip_exact(one_over, LEN(one_over)), -EMSGSIZE);
}

Test(amf_skip, every_truncation_of_a_value_with_all_types)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x03"
        "\x00\x01" "n" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
        "\x00\x01" "b" "\x01\x01"
        "\x00\x01" "s" "\x02\x00\x02" "hi"
        "\x00\x01" "l" "\x0c\x00\x00\x00\x02" "hi"
        "\x00\x01" "z" "\x05"
        "\x00\x01" "u" "\x06"
        "\x00\x01" "r" "\x07\x00\x00"
        "\x00\x01" "e" "\x08\x00\x00\x00\x01" "\x00\x01" "k" "\x05" "\x00\x00\x09"
        "\x00\x01" "a" "\x0a\x00\x00\x00\x02" "\x05" "\x01\x00"
        "\x00\x01" "d" "\x0b\x00\x00\x00\x00\x00\x00\x00\x00" "\x00\x00"
        "\x00\x01" "x" "\x0f\x00\x00\x00\x04" "<a/>"
        "\x00\x01" "t" "\x10\x00\x01" "T" "\x00\x01" "k" "\x05" "\x00\x00\x09"
        "\x00\x00\x09";
    /* clang-format on */
    size_t i;

    cr_assert_eq(skip_exact(v, LEN(v)), (int)LEN(v));
    for (i = 0; i < LEN(v); i++)
        cr_assert_eq(skip_exact(v, i), -EMSGSIZE, "prefix of %zu bytes", i);
}

Test(amf_skip, nesting_at_the_limit_is_accepted)
{
    cr_assert_gt(skip_nest(AMF_MAX_DEPTH, AMF_OBJECT), 0);
    cr_assert_gt(skip_nest(AMF_MAX_DEPTH, AMF_ECMA_ARRAY), 0);
    cr_assert_gt(skip_nest(AMF_MAX_DEPTH, AMF_STRICT_ARRAY), 0);
    cr_assert_gt(skip_nest(AMF_MAX_DEPTH, AMF_TYPED_OBJECT), 0);
}

Test(amf_skip, nesting_past_the_limit_is_rejected)
{
    cr_assert_eq(skip_nest(AMF_MAX_DEPTH + 1, AMF_OBJECT), -ELOOP);
    cr_assert_eq(skip_nest(AMF_MAX_DEPTH + 1, AMF_ECMA_ARRAY), -ELOOP);
    cr_assert_eq(skip_nest(AMF_MAX_DEPTH + 1, AMF_STRICT_ARRAY), -ELOOP);
    cr_assert_eq(skip_nest(AMF_MAX_DEPTH + 1, AMF_TYPED_OBJECT), -ELOOP);
}

Test(amf_skip, hostile_nesting_of_100000_levels_is_rejected)
{
    cr_assert_eq(skip_nest(100000, AMF_OBJECT), -ELOOP);
    cr_assert_eq(skip_nest(100000, AMF_ECMA_ARRAY), -ELOOP);
    cr_assert_eq(skip_nest(100000, AMF_STRICT_ARRAY), -ELOOP);
    cr_assert_eq(skip_nest(100000, AMF_TYPED_OBJECT), -ELOOP);
}

/* ---- amf_read_string ---- */

static int read_exact(const void *v, size_t n, char *dst, size_t size)
{
    uint8_t *p = exact_copy(v, n);
    int ret = amf_read_string(p, n, dst, size);

    free(p);
    return ret;
}

Test(amf_read_string, string)
{
    static const uint8_t v[] = "\x02\x00\x09"
                               "key?a=b&c";
    char s[16];

    cr_assert_eq(read_exact(v, LEN(v), s, sizeof(s)), 12);
    cr_assert_str_eq(s, "key?a=b&c");
}

Test(amf_read_string, long_string)
{
    static const uint8_t v[] = "\x0c\x00\x00\x00\x03"
                               "abc";
    char s[4];

    cr_assert_eq(read_exact(v, LEN(v), s, sizeof(s)), 8);
    cr_assert_str_eq(s, "abc");
}

Test(amf_read_string, empty_string_needs_only_the_terminator)
{
    static const uint8_t v[] = "\x02\x00\x00";
    char s[1] = { 'x' };

    cr_assert_eq(read_exact(v, LEN(v), s, sizeof(s)), 3);
    cr_assert_eq(s[0], '\0');
}

Test(amf_read_string, string_filling_the_field_exactly)
{
    static const uint8_t v[] = "\x02\x00\x03"
                               "abc";
    char s[4];

    cr_assert_eq(read_exact(v, LEN(v), s, sizeof(s)), 6);
    cr_assert_str_eq(s, "abc");
}

Test(amf_read_string, string_one_byte_too_long_is_rejected_not_truncated)
{
    static const uint8_t v[] = "\x02\x00\x04"
                               "abcd";
    char s[4] = "zzz";

    cr_assert_eq(read_exact(v, LEN(v), s, sizeof(s)), -ENAMETOOLONG);
    cr_assert_str_eq(s, "zzz");
}

Test(amf_read_string, embedded_nul_is_rejected)
{
    static const uint8_t v[] = "\x02\x00\x05"
                               "ab\0cd";
    char s[8];

    cr_assert_eq(read_exact(v, LEN(v), s, sizeof(s)), -EPROTO);
}

Test(amf_read_string, other_types_are_rejected)
{
    static const uint8_t num[] = "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00";
    char s[8];

    cr_assert_eq(read_exact(num, LEN(num), s, sizeof(s)), -EPROTO);
    cr_assert_eq(read_exact("\x05", 1, s, sizeof(s)), -EPROTO);
    cr_assert_eq(read_exact("\x0f\x00\x00\x00\x00", 5, s, sizeof(s)), -EPROTO);
}

Test(amf_read_string, every_truncation_is_reported)
{
    static const uint8_t v[] = "\x02\x00\x04"
                               "live";
    char s[8];
    size_t i;

    for (i = 0; i < LEN(v); i++)
        cr_assert_eq(read_exact(v, i, s, sizeof(s)), -EMSGSIZE, "prefix of %zu bytes", i);
}

Test(amf_read_string, long_string_length_overflow_is_truncation)
{
    static const uint8_t v[] = "\x0c\xff\xff\xff\xfb"
                               "abcd";
    char s[8];

    cr_assert_eq(read_exact(v, LEN(v), s, sizeof(s)), -EMSGSIZE);
}

/* ---- amf_decode_seq ---- */

typedef struct rec_s {
    double num;
    int flag;
    char str[8];
    double inner_num;
    char inner_str[8];
} rec_t;

static const amf_elt_t inner_elts[] = {
    { AMF_NUMBER, "x", offsetof(rec_t, inner_num), 0, NULL, 0 },
    { AMF_STRING, "t", offsetof(rec_t, inner_str), sizeof(((rec_t *)0)->inner_str), NULL, 0 },
};

static const amf_elt_t obj_props[] = {
    { AMF_NUMBER, "n", offsetof(rec_t, num), 0, NULL, 0 },
    { AMF_BOOLEAN, "b", offsetof(rec_t, flag), 0, NULL, 0 },
    { AMF_STRING, "s", offsetof(rec_t, str), sizeof(((rec_t *)0)->str), NULL, 0 },
    { AMF_OBJECT, "inner", 0, 0, inner_elts, 2 },
};

/* One object holding obj_props. */
static const amf_elt_t obj_elts[] = {
    { AMF_OBJECT, "obj", 0, 0, obj_props, 4 },
};

/* Number, boolean, string, null by position. */
static const amf_elt_t seq_elts[] = {
    { AMF_NUMBER, "n", offsetof(rec_t, num), 0, NULL, 0 },
    { AMF_BOOLEAN, "b", offsetof(rec_t, flag), 0, NULL, 0 },
    { AMF_STRING, "s", offsetof(rec_t, str), sizeof(((rec_t *)0)->str), NULL, 0 },
    { AMF_NULL, "null", 0, 0, NULL, 0 },
};

static int decode_exact(const void *v, size_t n, const amf_elt_t *elts, size_t ne, rec_t *out)
{
    uint8_t *p = exact_copy(v, n);
    int ret = amf_decode_seq(p, n, elts, ne, out);

    free(p);
    return ret;
}

/* clang-format off */
static const uint8_t seq_vec[] =
    "\x00\x40\x00\x00\x00\x00\x00\x00\x00"
    "\x01\x01"
    "\x02\x00\x04" "live"
    "\x05";
/* clang-format on */

Test(amf_decode, sequence_by_position)
{
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(seq_vec, LEN(seq_vec), seq_elts, 4, &r), (int)LEN(seq_vec));
    cr_assert_eq(r.num, 2.0);
    cr_assert_eq(r.flag, 1);
    cr_assert_str_eq(r.str, "live");
}

Test(amf_decode, empty_table_reads_nothing)
{
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(seq_vec, LEN(seq_vec), seq_elts, 0, &r), 0);
}

Test(amf_decode, values_beyond_the_table_are_left_unread)
{
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(seq_vec, LEN(seq_vec), seq_elts, 2, &r), 11);
    cr_assert_eq(r.flag, 1);
}

Test(amf_decode, null_element_accepts_undefined)
{
    static const amf_elt_t e[] = { { AMF_NULL, "null", 0, 0, NULL, 0 } };
    rec_t r = { 0 };

    cr_assert_eq(decode_exact("\x06", 1, e, 1, &r), 1);
    cr_assert_eq(decode_exact("\x05", 1, e, 1, &r), 1);
}

Test(amf_decode, null_element_rejects_a_value)
{
    static const amf_elt_t e[] = { { AMF_NULL, "null", 0, 0, NULL, 0 } };
    rec_t r = { 0 };

    cr_assert_eq(decode_exact("\x01\x00", 2, e, 1, &r), -EPROTO);
}

Test(amf_decode, boolean_accepts_a_number)
{
    static const uint8_t two[] = "\x00\x40\x00\x00\x00\x00\x00\x00\x00";
    static const uint8_t zero[] = "\x00\x00\x00\x00\x00\x00\x00\x00\x00";
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(two, LEN(two), seq_elts + 1, 1, &r), 9);
    cr_assert_eq(r.flag, 1);
    cr_assert_eq(decode_exact(zero, LEN(zero), seq_elts + 1, 1, &r), 9);
    cr_assert_eq(r.flag, 0);
}

Test(amf_decode, boolean_stores_zero_or_one)
{
    rec_t r = { 0 };

    cr_assert_eq(decode_exact("\x01\x7f", 2, seq_elts + 1, 1, &r), 2);
    cr_assert_eq(r.flag, 1);
}

Test(amf_decode, number_accepts_a_boolean)
{
    rec_t r = { .num = 5 };

    cr_assert_eq(decode_exact("\x01\x01", 2, seq_elts, 1, &r), 2);
    cr_assert_eq(r.num, 1.0);
    cr_assert_eq(decode_exact("\x01\x00", 2, seq_elts, 1, &r), 2);
    cr_assert_eq(r.num, 0.0);
}

Test(amf_decode, string_accepts_a_long_string)
{
    static const uint8_t v[] = "\x0c\x00\x00\x00\x02"
                               "hi";
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(v, LEN(v), seq_elts + 2, 1, &r), 7);
    cr_assert_str_eq(r.str, "hi");
}

Test(amf_decode, wrong_types_are_rejected)
{
    static const uint8_t str[] = "\x02\x00\x01"
                                 "x";
    static const uint8_t num[] = "\x00\x00\x00\x00\x00\x00\x00\x00\x00";
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(str, LEN(str), seq_elts, 1, &r), -EPROTO);     /* number */
    cr_assert_eq(decode_exact(str, LEN(str), seq_elts + 1, 1, &r), -EPROTO); /* boolean */
    cr_assert_eq(decode_exact(num, LEN(num), seq_elts + 2, 1, &r), -EPROTO); /* string */
    cr_assert_eq(decode_exact(str, LEN(str), obj_elts, 1, &r), -EPROTO);     /* object */
    cr_assert_eq(decode_exact("\x05", 1, seq_elts, 1, &r), -EPROTO);
}

Test(amf_decode, strict_array_is_not_an_object)
{
    static const uint8_t v[] = "\x0a\x00\x00\x00\x00";
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(v, LEN(v), obj_elts, 1, &r), -EPROTO);
}

Test(amf_decode, avmplus_switch_is_rejected)
{
    static const amf_elt_t any[] = { { AMF_ANY, "any", 0, 0, NULL, 0 } };
    rec_t r = { 0 };

    cr_assert_eq(decode_exact("\x11\x06", 2, any, 1, &r), -EPROTO);
    cr_assert_eq(decode_exact("\x11\x06", 2, obj_elts, 1, &r), -EPROTO);
}

Test(amf_decode, any_skips_a_whole_value)
{
    static const amf_elt_t e[] = {
        { AMF_ANY, "any", 0, 0, NULL, 0 },
        { AMF_NUMBER, "n", offsetof(rec_t, num), 0, NULL, 0 },
    };
    /* clang-format off */
    static const uint8_t v[] =
        "\x0a\x00\x00\x00\x01" "\x03\x00\x01" "n" "\x05" "\x00\x00\x09"
        "\x00\x40\x08\x00\x00\x00\x00\x00\x00";
    /* clang-format on */
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(v, LEN(v), e, 2, &r), (int)LEN(v));
    cr_assert_eq(r.num, 3.0);
}

/* clang-format off */
static const uint8_t obj_vec[] =
    "\x03"
    "\x00\x05" "inner" "\x03"
        "\x00\x01" "t" "\x02\x00\x03" "in!"
        "\x00\x01" "x" "\x00\x40\x10\x00\x00\x00\x00\x00\x00"
        "\x00\x00\x09"
    "\x00\x01" "s" "\x02\x00\x02" "ok"
    "\x00\x01" "b" "\x01\x01"
    "\x00\x01" "n" "\x00\x40\x14\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x09";
/* clang-format on */

Test(amf_decode, object_properties_by_name_in_any_order)
{
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(obj_vec, LEN(obj_vec), obj_elts, 1, &r), (int)LEN(obj_vec));
    cr_assert_eq(r.num, 5.0);
    cr_assert_eq(r.flag, 1);
    cr_assert_str_eq(r.str, "ok");
    cr_assert_eq(r.inner_num, 4.0);
    cr_assert_str_eq(r.inner_str, "in!");
}

Test(amf_decode, unknown_properties_of_every_type_are_skipped)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x03"
        "\x00\x04" "date" "\x0b\x00\x00\x00\x00\x00\x00\x00\x00" "\x00\x00"
        "\x00\x03" "arr" "\x0a\x00\x00\x00\x02" "\x02\x00\x04" "hvc1" "\x05"
        "\x00\x04" "ecma" "\x08\x00\x00\x00\x01" "\x00\x01" "n" "\x05" "\x00\x00\x09"
        "\x00\x03" "obj" "\x03" "\x00\x01" "n" "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
            "\x00\x00\x09"
        "\x00\x05" "typed" "\x10\x00\x01" "T" "\x00\x00\x09"
        "\x00\x04" "long" "\x0c\x00\x00\x00\x01" "L"
        "\x00\x03" "xml" "\x0f\x00\x00\x00\x00"
        "\x00\x03" "ref" "\x07\x00\x02"
        "\x00\x05" "unsup" "\x0d"
        "\x00\x01" "n" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
        "\x00\x00\x09";
    /* clang-format on */
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(v, LEN(v), obj_elts, 1, &r), (int)LEN(v));
    cr_assert_eq(r.num, 1.0);
    cr_assert_eq(r.inner_num, 0.0);
}

Test(amf_decode, empty_name_property_does_not_end_the_object)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x03"
        "\x00\x00" "\x02\x00\x01" "e"
        "\x00\x01" "n" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
        "\x00\x00\x09";
    /* clang-format on */
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(v, LEN(v), obj_elts, 1, &r), (int)LEN(v));
    cr_assert_eq(r.num, 1.0);
}

Test(amf_decode, ecma_array_is_accepted_as_object)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x08\x00\x00\x00\x02"
        "\x00\x01" "s" "\x02\x00\x02" "ok"
        "\x00\x05" "inner" "\x08\x00\x00\x00\x00"
            "\x00\x01" "x" "\x00\x40\x10\x00\x00\x00\x00\x00\x00"
            "\x00\x00\x09"
        "\x00\x00\x09";
    /* clang-format on */
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(v, LEN(v), obj_elts, 1, &r), (int)LEN(v));
    cr_assert_str_eq(r.str, "ok");
    cr_assert_eq(r.inner_num, 4.0);
}

Test(amf_decode, null_or_undefined_object_leaves_fields_untouched)
{
    rec_t r = { .num = 7, .str = "keep" };

    cr_assert_eq(decode_exact("\x05", 1, obj_elts, 1, &r), 1);
    cr_assert_eq(decode_exact("\x06", 1, obj_elts, 1, &r), 1);
    cr_assert_eq(r.num, 7.0);
    cr_assert_str_eq(r.str, "keep");
}

Test(amf_decode, absent_properties_are_left_untouched)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x03" "\x00\x01" "b" "\x01\x00" "\x00\x00\x09";
    /* clang-format on */
    rec_t r = { .num = 7, .flag = 1, .str = "keep" };

    cr_assert_eq(decode_exact(v, LEN(v), obj_elts, 1, &r), (int)LEN(v));
    cr_assert_eq(r.flag, 0);
    cr_assert_eq(r.num, 7.0);
    cr_assert_str_eq(r.str, "keep");
}

Test(amf_decode, repeated_property_last_one_wins)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x03"
        "\x00\x01" "s" "\x02\x00\x05" "first"
        "\x00\x01" "s" "\x02\x00\x04" "last"
        "\x00\x00\x09";
    /* clang-format on */
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(v, LEN(v), obj_elts, 1, &r), (int)LEN(v));
    cr_assert_str_eq(r.str, "last");
}

Test(amf_decode, wrong_type_of_a_known_property_is_rejected)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x03" "\x00\x01" "s" "\x00\x00\x00\x00\x00\x00\x00\x00\x00" "\x00\x00\x09";
    /* clang-format on */
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(v, LEN(v), obj_elts, 1, &r), -EPROTO);
}

Test(amf_decode, too_long_string_is_rejected_in_sequence_and_object)
{
    /* clang-format off */
    static const uint8_t top[] = "\x02\x00\x08" "12345678";
    static const uint8_t in_obj[] =
        "\x03" "\x00\x01" "s" "\x02\x00\x08" "12345678" "\x00\x00\x09";
    static const uint8_t fits[] = "\x02\x00\x07" "1234567";
    /* clang-format on */
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(top, LEN(top), seq_elts + 2, 1, &r), -ENAMETOOLONG);
    cr_assert_eq(decode_exact(in_obj, LEN(in_obj), obj_elts, 1, &r), -ENAMETOOLONG);
    cr_assert_eq(decode_exact(fits, LEN(fits), seq_elts + 2, 1, &r), (int)LEN(fits));
    cr_assert_str_eq(r.str, "1234567");
}

Test(amf_decode, optional_trailing_values_may_be_missing)
{
    static const amf_elt_t e[] = {
        { AMF_NUMBER, "n", offsetof(rec_t, num), 0, NULL, 0 },
        { AMF_STRING | AMF_OPTIONAL, "s", offsetof(rec_t, str), 8, NULL, 0 },
        { AMF_BOOLEAN | AMF_OPTIONAL, "b", offsetof(rec_t, flag), 0, NULL, 0 },
    };
    rec_t r = { .str = "none" };

    cr_assert_eq(decode_exact(seq_vec, 9, e, 3, &r), 9);
    cr_assert_eq(r.num, 2.0);
    cr_assert_str_eq(r.str, "none");
}

Test(amf_decode, optional_values_present_are_decoded)
{
    static const amf_elt_t e[] = {
        { AMF_NUMBER, "n", offsetof(rec_t, num), 0, NULL, 0 },
        { AMF_BOOLEAN | AMF_OPTIONAL, "b", offsetof(rec_t, flag), 0, NULL, 0 },
    };
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(seq_vec, LEN(seq_vec), e, 2, &r), 11);
    cr_assert_eq(r.flag, 1);
}

Test(amf_decode, missing_required_value_is_truncation)
{
    static const amf_elt_t e[] = {
        { AMF_NUMBER, "n", offsetof(rec_t, num), 0, NULL, 0 },
        { AMF_STRING | AMF_OPTIONAL, "s", offsetof(rec_t, str), 8, NULL, 0 },
        { AMF_BOOLEAN, "b", offsetof(rec_t, flag), 0, NULL, 0 },
    };
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(seq_vec, 9, seq_elts, 2, &r), -EMSGSIZE);
    cr_assert_eq(decode_exact(seq_vec, 9, e, 3, &r), -EMSGSIZE);
}

Test(amf_decode, optional_value_cut_short_is_truncation)
{
    static const amf_elt_t e[] = {
        { AMF_NUMBER | AMF_OPTIONAL, "n", offsetof(rec_t, num), 0, NULL, 0 },
    };
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(seq_vec, 4, e, 1, &r), -EMSGSIZE);
}

Test(amf_decode, embedded_nul_in_string_is_rejected)
{
    static const uint8_t v[] = "\x02\x00\x03"
                               "a\0b";
    rec_t r = { 0 };

    cr_assert_eq(decode_exact(v, LEN(v), seq_elts + 2, 1, &r), -EPROTO);
}

Test(amf_decode, every_truncation_of_a_sequence)
{
    static const amf_elt_t e[] = {
        { AMF_NUMBER, "n", offsetof(rec_t, num), 0, NULL, 0 },
        { AMF_OBJECT, "obj", 0, 0, obj_props, 4 },
    };
    uint8_t v[9 + LEN(obj_vec)];
    rec_t r;
    size_t i;

    memcpy(v, seq_vec, 9);
    memcpy(v + 9, obj_vec, LEN(obj_vec));
    cr_assert_eq(decode_exact(v, sizeof(v), e, 2, &r), (int)sizeof(v));
    for (i = 0; i < sizeof(v); i++)
        cr_assert_eq(decode_exact(v, i, e, 2, &r), -EMSGSIZE, "prefix of %zu bytes", i);
}

static int decode_nest_under(const amf_elt_t *e, size_t levels, uint8_t kind, size_t prefix_levels)
{
    size_t cap = (levels + prefix_levels) * 12 + 16;
    uint8_t *buf = malloc(cap);
    size_t n = 0;
    rec_t r = { 0 };
    int ret;

    /* prefix_levels open objects, each with one unknown property "q" */
    cr_assert_not_null(buf);
    for (size_t i = 0; i < prefix_levels; i++) {
        memcpy(buf + n, "\x03\x00\x01q", 4);
        n += 4;
    }
    n += build_nest(buf + n, levels, kind);
    for (size_t i = 0; i < prefix_levels; i++) {
        memcpy(buf + n, "\x00\x00\x09", 3);
        n += 3;
    }
    ret = decode_exact(buf, n, e, 1, &r);
    free(buf);
    return ret;
}

Test(amf_decode, nesting_under_any_is_limited)
{
    static const amf_elt_t any[] = { { AMF_ANY, "any", 0, 0, NULL, 0 } };

    cr_assert_gt(decode_nest_under(any, AMF_MAX_DEPTH, AMF_OBJECT, 0), 0);
    cr_assert_eq(decode_nest_under(any, AMF_MAX_DEPTH + 1, AMF_OBJECT, 0), -ELOOP);
    cr_assert_eq(decode_nest_under(any, 100000, AMF_STRICT_ARRAY, 0), -ELOOP);
}

Test(amf_decode, nesting_inside_a_table_object_counts_its_level)
{
    /* The table's object is level 1, so an unknown property can hold MAX_DEPTH - 1 more. */
    cr_assert_gt(decode_nest_under(obj_elts, AMF_MAX_DEPTH - 1, AMF_OBJECT, 1), 0);
    cr_assert_eq(decode_nest_under(obj_elts, AMF_MAX_DEPTH, AMF_OBJECT, 1), -ELOOP);
    cr_assert_eq(decode_nest_under(obj_elts, 100000, AMF_ECMA_ARRAY, 1), -ELOOP);
}

/* ---- writer ---- */

static amf_wr_t writer(uint8_t *buf, size_t size)
{
    amf_wr_t w = { buf, buf + size, 0 };
    return w;
}

#define ASSERT_WRITTEN(w, buf, expect)                                                             \
    do {                                                                                           \
        cr_assert_eq((w).err, 0);                                                                  \
        cr_assert_eq((size_t)((w).p - (buf)), LEN(expect));                                        \
        cr_assert_arr_eq((buf), (expect), LEN(expect));                                            \
    } while (0)

Test(amf_write, number)
{
    static const uint8_t expect[] = "\x00\x40\x94\x00\x00\x00\x00\x00\x00";
    uint8_t buf[16];
    amf_wr_t w = writer(buf, sizeof(buf));

    amf_write_number(&w, 1280);
    ASSERT_WRITTEN(w, buf, expect);
}

Test(amf_write, boolean_is_zero_or_one)
{
    static const uint8_t expect[] = "\x01\x01\x01\x00";
    uint8_t buf[16];
    amf_wr_t w = writer(buf, sizeof(buf));

    amf_write_bool(&w, 42);
    amf_write_bool(&w, 0);
    ASSERT_WRITTEN(w, buf, expect);
}

Test(amf_write, string)
{
    static const uint8_t expect[] = "\x02\x00\x07"
                                    "_result";
    uint8_t buf[16];
    amf_wr_t w = writer(buf, sizeof(buf));

    amf_write_string(&w, "_result");
    ASSERT_WRITTEN(w, buf, expect);
}

Test(amf_write, null_string_is_written_empty)
{
    static const uint8_t expect[] = "\x02\x00\x00";
    uint8_t buf[16];
    amf_wr_t w = writer(buf, sizeof(buf));

    amf_write_string(&w, NULL);
    ASSERT_WRITTEN(w, buf, expect);
}

Test(amf_write, string_of_65535_bytes_is_a_short_string)
{
    size_t n = 65535;
    char *s = malloc(n + 1);
    uint8_t *buf = malloc(n + 3);
    amf_wr_t w = writer(buf, n + 3);

    memset(s, 'a', n);
    s[n] = '\0';
    amf_write_string(&w, s);
    cr_assert_eq(w.err, 0);
    cr_assert_eq(w.p, buf + n + 3);
    cr_assert_arr_eq(buf, "\x02\xff\xff", 3);
    free(s);
    free(buf);
}

Test(amf_write, string_over_65535_bytes_is_a_long_string)
{
    size_t n = 65536;
    char *s = malloc(n + 1);
    uint8_t *buf = malloc(n + 5);
    amf_wr_t w = writer(buf, n + 5);
    char back[8];

    memset(s, 'a', n);
    s[n] = '\0';
    amf_write_string(&w, s);
    cr_assert_eq(w.err, 0);
    cr_assert_eq(w.p, buf + n + 5);
    cr_assert_arr_eq(buf, "\x0c\x00\x01\x00\x00", 5);
    cr_assert_eq(amf_skip_value(buf, n + 5), (int)(n + 5));
    cr_assert_eq(amf_read_string(buf, n + 5, back, sizeof(back)), -ENAMETOOLONG);
    free(s);
    free(buf);
}

Test(amf_write, object_with_keys)
{
    /* clang-format off */
    static const uint8_t expect[] =
        "\x03"
        "\x00\x04" "mode" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
        "\x00\x00\x09"
        "\x05";
    /* clang-format on */
    uint8_t buf[32];
    amf_wr_t w = writer(buf, sizeof(buf));

    amf_write_object_start(&w);
    amf_write_key(&w, "mode");
    amf_write_number(&w, 1);
    amf_write_object_end(&w);
    amf_write_null(&w);
    ASSERT_WRITTEN(w, buf, expect);
}

Test(amf_write, ecma_array_start_carries_the_count)
{
    static const uint8_t expect[] = "\x08\x00\x00\x01\x02"
                                    "\x00\x00\x09";
    uint8_t buf[16];
    amf_wr_t w = writer(buf, sizeof(buf));

    amf_write_ecma_start(&w, 258);
    amf_write_object_end(&w);
    ASSERT_WRITTEN(w, buf, expect);
}

Test(amf_write, key_longer_than_65535_bytes_is_an_error)
{
    size_t n = 65536;
    char *k = malloc(n + 1);
    uint8_t *buf = malloc(n + 8);
    amf_wr_t w = writer(buf, n + 8);

    memset(k, 'k', n);
    k[n] = '\0';
    amf_write_key(&w, k);
    cr_assert_eq(w.err, -ENOSPC);
    cr_assert_eq(w.p, buf);
    free(k);
    free(buf);
}

Test(amf_write, overflow_writes_nothing_of_the_value_and_sticks)
{
    uint8_t buf[16];
    amf_wr_t w = writer(buf, 10);

    memset(buf, 0xee, sizeof(buf));
    amf_write_string(&w, "abcdefgh"); /* 11 bytes: does not fit in 10 */
    cr_assert_eq(w.err, -ENOSPC);
    cr_assert_eq(w.p, buf);
    amf_write_null(&w); /* would fit, but the writer has failed */
    cr_assert_eq(w.p, buf);
    cr_assert_eq(w.err, -ENOSPC);
    for (size_t i = 0; i < sizeof(buf); i++)
        cr_assert_eq(buf[i], 0xee);
}

Test(amf_write, every_writer_respects_the_end)
{
    uint8_t buf[64];
    size_t size;

    for (size = 0; size < 37; size++) {
        amf_wr_t w = writer(buf, size);

        memset(buf, 0xee, sizeof(buf));
        amf_write_number(&w, 1);     /* 9 */
        amf_write_bool(&w, 1);       /* 2 */
        amf_write_string(&w, "ab");  /* 5 */
        amf_write_null(&w);          /* 1 */
        amf_write_ecma_start(&w, 1); /* 5 */
        amf_write_key(&w, "k");      /* 3 */
        amf_write_object_start(&w);  /* 1 */
        amf_write_object_end(&w);    /* 3 */
        amf_write_object_end(&w);    /* 3: 32 in all */
        if (size < 32)
            cr_assert_eq(w.err, -ENOSPC, "size %zu", size);
        else
            cr_assert_eq(w.err, 0, "size %zu", size);
        cr_assert(w.p <= buf + size);
        for (size_t i = size; i < sizeof(buf); i++)
            cr_assert_eq(buf[i], 0xee, "byte %zu written with size %zu", i, size);
    }
}

Test(amf_write, zero_sized_writer_fails)
{
    amf_wr_t w = { NULL, NULL, 0 };

    amf_write_null(&w);
    cr_assert_eq(w.err, -ENOSPC);
    cr_assert_null(w.p);
}

Test(amf_write, round_trip_through_the_decoder)
{
    uint8_t buf[128];
    amf_wr_t w = writer(buf, sizeof(buf));
    rec_t r = { 0 };
    static const amf_elt_t e[] = {
        { AMF_NUMBER, "n", offsetof(rec_t, num), 0, NULL, 0 },
        { AMF_BOOLEAN, "b", offsetof(rec_t, flag), 0, NULL, 0 },
        { AMF_NULL, "null", 0, 0, NULL, 0 },
        { AMF_OBJECT, "obj", 0, 0, obj_props + 2, 2 },
    };

    amf_write_number(&w, -1.5e300);
    amf_write_bool(&w, 1);
    amf_write_null(&w);
    amf_write_object_start(&w);
    amf_write_key(&w, "s");
    amf_write_string(&w, "héllo");
    amf_write_key(&w, "inner");
    amf_write_ecma_start(&w, 1);
    amf_write_key(&w, "x");
    amf_write_number(&w, -0.0);
    amf_write_object_end(&w);
    amf_write_object_end(&w);
    cr_assert_eq(w.err, 0);
    r.inner_num = 1;
    cr_assert_eq(amf_decode_seq(buf, (size_t)(w.p - buf), e, 4, &r), (int)(w.p - buf));
    cr_assert_eq(r.num, -1.5e300);
    cr_assert_eq(r.flag, 1);
    cr_assert_str_eq(r.str, "héllo");
    cr_assert_eq(r.inner_num, 0.0);
    cr_assert(signbit(r.inner_num));
}

Test(amf_write, special_numbers_keep_their_bits)
{
    static const double values[] = { INFINITY, -INFINITY, 5e-324, 1.7976931348623157e308 };
    uint8_t buf[16];

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        amf_wr_t w = writer(buf, sizeof(buf));
        rec_t r = { 0 };

        amf_write_number(&w, values[i]);
        cr_assert_eq(amf_decode_seq(buf, 9, seq_elts, 1, &r), 9);
        cr_assert_eq(memcmp(&r.num, &values[i], sizeof(double)), 0);
    }
}
