/* Unit tests for proto/rtmp_cmd.c: the publish-flow commands and replies, as byte vectors.
 *
 * The connect and metadata vectors reproduce what OBS 30 (librtmp, with E-RTMP fourCcList) and
 * FFmpeg 5.1 (rtmpproto.c, flvenc.c) put on the wire. Inputs are copied into heap blocks of
 * exactly their length so AddressSanitizer reports any read past the end. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/rtmp_cmd.h"

#define LEN(v) (sizeof(v) - 1)

/* fn##_on_copy(v, n, out) runs fn on a heap copy of exactly n bytes of v. */
#define DEFINE_ON_COPY(fn, type)                                                                   \
    static int fn##_on_copy(const void *v, size_t n, type *out)                                    \
    {                                                                                              \
        uint8_t *p = malloc(n ? n : 1);                                                            \
        int ret;                                                                                   \
                                                                                                   \
        cr_assert_not_null(p);                                                                     \
        memcpy(p, v, n);                                                                           \
        ret = fn(p, n, out);                                                                       \
        free(p);                                                                                   \
        return ret;                                                                                \
    }
#define ON_COPY(fn, v, n, out) fn##_on_copy((v), (n), (out))

DEFINE_ON_COPY(rtmp_cmd_decode_head, rtmp_cmd_head_t)
DEFINE_ON_COPY(rtmp_cmd_decode_connect, rtmp_connect_t)
DEFINE_ON_COPY(rtmp_cmd_decode_stream_name, rtmp_stream_cmd_t)
DEFINE_ON_COPY(rtmp_cmd_decode_stream_id, rtmp_stream_cmd_t)
DEFINE_ON_COPY(rtmp_cmd_decode_metadata, rtmp_metadata_t)

/* clang-format off */
static const uint8_t obs_connect[] =
    "\x02\x00\x07" "connect"
    "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
    "\x03"
    "\x00\x03" "app" "\x02\x00\x04" "live"
    "\x00\x04" "type" "\x02\x00\x0a" "nonprivate"
    "\x00\x08" "flashVer" "\x02\x00\x1f" "FMLE/3.0 (compatible; FMSc/1.0)"
    "\x00\x06" "swfUrl" "\x02\x00\x1a" "rtmp://127.0.0.1:1935/live"
    "\x00\x05" "tcUrl" "\x02\x00\x1a" "rtmp://127.0.0.1:1935/live"
    "\x00\x04" "fpad" "\x01\x00"
    "\x00\x0c" "capabilities" "\x00\x40\x2e\x00\x00\x00\x00\x00\x00"
    "\x00\x0b" "audioCodecs" "\x00\x40\xa8\xee\x00\x00\x00\x00\x00"
    "\x00\x0b" "videoCodecs" "\x00\x40\x6f\x80\x00\x00\x00\x00\x00"
    "\x00\x0d" "videoFunction" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
    "\x00\x0a" "fourCcList" "\x0a\x00\x00\x00\x03"
        "\x02\x00\x04" "av01"
        "\x02\x00\x04" "vp09"
        "\x02\x00\x04" "hvc1"
    "\x00\x00\x09";

static const uint8_t ffmpeg_connect[] =
    "\x02\x00\x07" "connect"
    "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
    "\x03"
    "\x00\x03" "app" "\x02\x00\x04" "live"
    "\x00\x04" "type" "\x02\x00\x0a" "nonprivate"
    "\x00\x08" "flashVer" "\x02\x00\x24" "FMLE/3.0 (compatible; Lavf59.27.100)"
    "\x00\x05" "tcUrl" "\x02\x00\x1a" "rtmp://localhost:1935/live"
    "\x00\x00\x09";
/* clang-format on */

/* ---- rtmp_cmd_decode_head ---- */

Test(rtmp_cmd_head, name_and_transaction_id)
{
    rtmp_cmd_head_t h;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_head, obs_connect, LEN(obs_connect), &h), 19);
    cr_assert_str_eq(h.name, "connect");
    cr_assert_eq(h.trans_id, 1.0);
}

Test(rtmp_cmd_head, name_too_long_is_rejected)
{
    uint8_t v[3 + 64 + 9] = { 0x02, 0x00, 64 };
    rtmp_cmd_head_t h;

    memset(v + 3, 'c', 64);
    cr_assert_eq(ON_COPY(rtmp_cmd_decode_head, v, sizeof(v), &h), -ENAMETOOLONG);
}

Test(rtmp_cmd_head, name_filling_the_field_is_accepted)
{
    uint8_t v[3 + 63 + 9] = { 0x02, 0x00, 63 };
    rtmp_cmd_head_t h;

    memset(v + 3, 'c', 63);
    cr_assert_eq(ON_COPY(rtmp_cmd_decode_head, v, sizeof(v), &h), (int)sizeof(v));
    cr_assert_eq(strlen(h.name), 63);
    cr_assert_eq(h.trans_id, 0.0);
}

Test(rtmp_cmd_head, name_must_be_a_string)
{
    static const uint8_t v[] = "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
                               "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00";
    rtmp_cmd_head_t h;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_head, v, LEN(v), &h), -EPROTO);
}

Test(rtmp_cmd_head, every_truncation_is_reported)
{
    rtmp_cmd_head_t h;

    for (size_t i = 0; i < 19; i++)
        cr_assert_eq(ON_COPY(rtmp_cmd_decode_head, obs_connect, i, &h), -EMSGSIZE, "%zu", i);
}

/* ---- rtmp_cmd_decode_connect ---- */

Test(rtmp_cmd_connect, obs_connect_skips_the_fields_we_do_not_use)
{
    rtmp_connect_t c;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_connect, obs_connect, LEN(obs_connect), &c),
                 (int)LEN(obs_connect));
    cr_assert_eq(c.trans_id, 1.0);
    cr_assert_str_eq(c.app, "live");
    cr_assert_str_eq(c.tc_url, "rtmp://127.0.0.1:1935/live");
    cr_assert_str_eq(c.flash_ver, "FMLE/3.0 (compatible; FMSc/1.0)");
    cr_assert_eq(c.object_encoding, 0.0);
}

Test(rtmp_cmd_connect, ffmpeg_connect)
{
    rtmp_connect_t c;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_connect, ffmpeg_connect, LEN(ffmpeg_connect), &c),
                 (int)LEN(ffmpeg_connect));
    cr_assert_eq(c.trans_id, 1.0);
    cr_assert_str_eq(c.app, "live");
    cr_assert_str_eq(c.tc_url, "rtmp://localhost:1935/live");
    cr_assert_str_eq(c.flash_ver, "FMLE/3.0 (compatible; Lavf59.27.100)");
}

Test(rtmp_cmd_connect, output_is_cleared_first)
{
    rtmp_connect_t c;

    memset(&c, 0x5a, sizeof(c));
    cr_assert_gt(ON_COPY(rtmp_cmd_decode_connect, ffmpeg_connect, LEN(ffmpeg_connect), &c), 0);
    cr_assert_eq(c.object_encoding, 0.0); /* FFmpeg does not send it */
}

Test(rtmp_cmd_connect, object_encoding_and_app_with_query)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x02\x00\x07" "connect"
        "\x00\x40\x00\x00\x00\x00\x00\x00\x00"
        "\x03"
        "\x00\x0e" "objectEncoding" "\x00\x40\x08\x00\x00\x00\x00\x00\x00"
        "\x00\x03" "app" "\x02\x00\x0e" "live?token=abc"
        "\x00\x00\x09";
    /* clang-format on */
    rtmp_connect_t c;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_connect, v, LEN(v), &c), (int)LEN(v));
    cr_assert_eq(c.trans_id, 2.0);
    cr_assert_eq(c.object_encoding, 3.0);
    cr_assert_str_eq(c.app, "live?token=abc");
    cr_assert_str_eq(c.tc_url, "");
}

Test(rtmp_cmd_connect, ecma_array_command_object_is_accepted)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x02\x00\x07" "connect"
        "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
        "\x08\x00\x00\x00\x01"
        "\x00\x03" "app" "\x02\x00\x04" "live"
        "\x00\x00\x09";
    /* clang-format on */
    rtmp_connect_t c;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_connect, v, LEN(v), &c), (int)LEN(v));
    cr_assert_str_eq(c.app, "live");
}

Test(rtmp_cmd_connect, optional_user_arguments_are_left_unread)
{
    uint8_t v[LEN(ffmpeg_connect) + 6];
    rtmp_connect_t c;

    memcpy(v, ffmpeg_connect, LEN(ffmpeg_connect));
    memcpy(v + LEN(ffmpeg_connect),
           "\x02\x00\x03"
           "arg",
           6);
    cr_assert_eq(ON_COPY(rtmp_cmd_decode_connect, v, sizeof(v), &c), (int)LEN(ffmpeg_connect));
    cr_assert_str_eq(c.app, "live");
}

Test(rtmp_cmd_connect, other_command_names_are_rejected)
{
    /* clang-format off */
    static const uint8_t other[] =
        "\x02\x00\x07" "publish" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00" "\x05";
    static const uint8_t longer[] =
        "\x02\x00\x08" "connectX" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00" "\x05";
    static const uint8_t not_string[] = "\x05\x05";
    /* clang-format on */
    rtmp_connect_t c;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_connect, other, LEN(other), &c), -EPROTO);
    cr_assert_eq(ON_COPY(rtmp_cmd_decode_connect, longer, LEN(longer), &c), -EPROTO);
    cr_assert_eq(ON_COPY(rtmp_cmd_decode_connect, not_string, LEN(not_string), &c), -EPROTO);
}

Test(rtmp_cmd_connect, command_object_of_wrong_type_is_rejected)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x02\x00\x07" "connect"
        "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
        "\x02\x00\x04" "live";
    /* clang-format on */
    rtmp_connect_t c;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_connect, v, LEN(v), &c), -EPROTO);
}

Test(rtmp_cmd_connect, app_of_wrong_type_is_rejected)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x02\x00\x07" "connect"
        "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
        "\x03" "\x00\x03" "app" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00" "\x00\x00\x09";
    /* clang-format on */
    rtmp_connect_t c;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_connect, v, LEN(v), &c), -EPROTO);
}

/* A connect body whose app is n bytes of 'a'; returns its length. buf needs n + 40 bytes. */
static size_t connect_with_app(uint8_t *buf, size_t n)
{
    static const uint8_t head[] = "\x02\x00\x07"
                                  "connect"
                                  "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
                                  "\x03\x00\x03"
                                  "app"
                                  "\x02";
    size_t len = LEN(head);

    memcpy(buf, head, len);
    buf[len++] = (uint8_t)(n >> 8);
    buf[len++] = (uint8_t)n;
    memset(buf + len, 'a', n);
    len += n;
    memcpy(buf + len, "\x00\x00\x09", 3);
    return len + 3;
}

Test(rtmp_cmd_connect, app_at_the_documented_limit_is_accepted)
{
    uint8_t buf[RTMP_MAX_NAME + 40];
    size_t n = connect_with_app(buf, RTMP_MAX_NAME);
    rtmp_connect_t c;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_connect, buf, n, &c), (int)n);
    cr_assert_eq(strlen(c.app), RTMP_MAX_NAME);
}

Test(rtmp_cmd_connect, app_past_the_limit_is_rejected_not_truncated)
{
    uint8_t buf[RTMP_MAX_NAME + 41];
    size_t n = connect_with_app(buf, RTMP_MAX_NAME + 1);
    rtmp_connect_t c;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_connect, buf, n, &c), -ENAMETOOLONG);
}

Test(rtmp_cmd_connect, every_truncation_of_the_obs_connect)
{
    rtmp_connect_t c;

    for (size_t i = 0; i < LEN(obs_connect); i++)
        cr_assert_eq(ON_COPY(rtmp_cmd_decode_connect, obs_connect, i, &c), -EMSGSIZE,
                     "prefix of %zu bytes", i);
}

Test(rtmp_cmd_connect, hostile_nesting_in_an_extra_property)
{
    static const uint8_t head[] = "\x02\x00\x07"
                                  "connect"
                                  "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
                                  "\x03";
    size_t levels = 100000;
    uint8_t *buf = malloc(LEN(head) + levels * 7 + 8);
    size_t n = LEN(head);
    rtmp_connect_t c;

    cr_assert_not_null(buf);
    memcpy(buf, head, n);
    for (size_t i = 0; i < levels; i++, n += 4)
        memcpy(buf + n, "\x00\x01x\x03", 4);
    memcpy(buf + n, "\x00\x00\x09", 3);
    n += 3;
    for (size_t i = 0; i < levels; i++, n += 3)
        memcpy(buf + n, "\x00\x00\x09", 3);
    cr_assert_eq(ON_COPY(rtmp_cmd_decode_connect, buf, n, &c), -ELOOP);
    free(buf);
}

/* ---- rtmp_cmd_decode_stream_name ---- */

/* clang-format off */
static const uint8_t publish[] =
    "\x02\x00\x07" "publish"
    "\x00\x40\x14\x00\x00\x00\x00\x00\x00"
    "\x05"
    "\x02\x00\x0b" "key?foo=bar"
    "\x02\x00\x04" "live";
/* clang-format on */
#define PUBLISH_NAME_END 34

Test(rtmp_cmd_stream_name, publish_keeps_the_query_string_verbatim)
{
    rtmp_stream_cmd_t s;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_name, publish, LEN(publish), &s),
                 (int)LEN(publish));
    cr_assert_eq(s.trans_id, 5.0);
    cr_assert_str_eq(s.name, "key?foo=bar");
    cr_assert_str_eq(s.type, "live");
    cr_assert_eq(s.stream_id, 0.0);
}

Test(rtmp_cmd_stream_name, publish_type_is_optional)
{
    rtmp_stream_cmd_t s;

    memset(&s, 0x5a, sizeof(s));
    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_name, publish, PUBLISH_NAME_END, &s),
                 PUBLISH_NAME_END);
    cr_assert_str_eq(s.name, "key?foo=bar");
    cr_assert_str_eq(s.type, "");
}

Test(rtmp_cmd_stream_name, release_stream)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x02\x00\x0d" "releaseStream"
        "\x00\x40\x00\x00\x00\x00\x00\x00\x00"
        "\x05"
        "\x02\x00\x03" "key";
    /* clang-format on */
    rtmp_stream_cmd_t s;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_name, v, LEN(v), &s), (int)LEN(v));
    cr_assert_eq(s.trans_id, 2.0);
    cr_assert_str_eq(s.name, "key");
}

Test(rtmp_cmd_stream_name, fc_publish)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x02\x00\x09" "FCPublish"
        "\x00\x40\x08\x00\x00\x00\x00\x00\x00"
        "\x05"
        "\x02\x00\x03" "key";
    /* clang-format on */
    rtmp_stream_cmd_t s;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_name, v, LEN(v), &s), (int)LEN(v));
    cr_assert_eq(s.trans_id, 3.0);
    cr_assert_str_eq(s.name, "key");
}

Test(rtmp_cmd_stream_name, fc_unpublish)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x02\x00\x0b" "FCUnpublish"
        "\x00\x40\x18\x00\x00\x00\x00\x00\x00"
        "\x05"
        "\x02\x00\x03" "key";
    /* clang-format on */
    rtmp_stream_cmd_t s;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_name, v, LEN(v), &s), (int)LEN(v));
    cr_assert_eq(s.trans_id, 6.0);
    cr_assert_str_eq(s.name, "key");
}

Test(rtmp_cmd_stream_name, undefined_command_object_is_accepted)
{
    uint8_t v[LEN(publish)];
    rtmp_stream_cmd_t s;

    memcpy(v, publish, sizeof(v));
    v[19] = 0x06;
    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_name, v, sizeof(v), &s), (int)sizeof(v));
}

Test(rtmp_cmd_stream_name, missing_null_is_rejected)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x02\x00\x07" "publish"
        "\x00\x40\x14\x00\x00\x00\x00\x00\x00"
        "\x02\x00\x03" "key"
        "\x02\x00\x04" "live";
    /* clang-format on */
    rtmp_stream_cmd_t s;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_name, v, LEN(v), &s), -EPROTO);
}

Test(rtmp_cmd_stream_name, missing_name_is_truncation)
{
    rtmp_stream_cmd_t s;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_name, publish, 20, &s), -EMSGSIZE);
}

Test(rtmp_cmd_stream_name, null_name_is_rejected)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x02\x00\x07" "publish"
        "\x00\x40\x14\x00\x00\x00\x00\x00\x00"
        "\x05"
        "\x05";
    /* clang-format on */
    rtmp_stream_cmd_t s;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_name, v, LEN(v), &s), -EPROTO);
}

/* "publish", 5, null, name of n bytes of 'k'; returns the length. buf needs n + 23 bytes. */
static size_t publish_with_name(uint8_t *buf, size_t n)
{
    memcpy(buf, publish, 20);
    buf[20] = 0x02;
    buf[21] = (uint8_t)(n >> 8);
    buf[22] = (uint8_t)n;
    memset(buf + 23, 'k', n);
    return 23 + n;
}

Test(rtmp_cmd_stream_name, name_at_the_documented_limit_is_accepted)
{
    uint8_t buf[RTMP_MAX_NAME + 23];
    size_t n = publish_with_name(buf, RTMP_MAX_NAME);
    rtmp_stream_cmd_t s;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_name, buf, n, &s), (int)n);
    cr_assert_eq(strlen(s.name), RTMP_MAX_NAME);
}

Test(rtmp_cmd_stream_name, name_past_the_limit_is_rejected_not_truncated)
{
    uint8_t buf[RTMP_MAX_NAME + 24];
    size_t n = publish_with_name(buf, RTMP_MAX_NAME + 1);
    rtmp_stream_cmd_t s;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_name, buf, n, &s), -ENAMETOOLONG);
}

Test(rtmp_cmd_stream_name, publish_type_too_long_is_rejected)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x02\x00\x07" "publish"
        "\x00\x40\x14\x00\x00\x00\x00\x00\x00"
        "\x05"
        "\x02\x00\x03" "key"
        "\x02\x00\x20" "live-live-live-live-live-live-li";
    /* clang-format on */
    rtmp_stream_cmd_t s;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_name, v, LEN(v), &s), -ENAMETOOLONG);
}

Test(rtmp_cmd_stream_name, every_truncation_of_publish)
{
    rtmp_stream_cmd_t s;

    for (size_t i = 0; i < LEN(publish); i++) {
        int expect = i == PUBLISH_NAME_END ? PUBLISH_NAME_END : -EMSGSIZE;

        cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_name, publish, i, &s), expect,
                     "prefix of %zu bytes", i);
    }
}

Test(rtmp_cmd_stream_name, round_trip_from_the_writer)
{
    uint8_t buf[64];
    amf_wr_t w = { buf, buf + sizeof(buf), 0 };
    rtmp_stream_cmd_t s;

    amf_write_string(&w, "publish");
    amf_write_number(&w, 5);
    amf_write_null(&w);
    amf_write_string(&w, "key?foo=bar");
    amf_write_string(&w, "live");
    cr_assert_eq(w.err, 0);
    cr_assert_eq((size_t)(w.p - buf), LEN(publish));
    cr_assert_arr_eq(buf, publish, LEN(publish));
    cr_assert_eq(rtmp_cmd_decode_stream_name(buf, LEN(publish), &s), (int)LEN(publish));
    cr_assert_str_eq(s.name, "key?foo=bar");
}

/* ---- rtmp_cmd_decode_stream_id ---- */

/* clang-format off */
static const uint8_t delete_stream[] =
    "\x02\x00\x0c" "deleteStream"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x05"
    "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00";
/* clang-format on */
#define DELETE_NULL_END 25

Test(rtmp_cmd_stream_id, create_stream_has_no_argument)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x02\x00\x0c" "createStream"
        "\x00\x40\x10\x00\x00\x00\x00\x00\x00"
        "\x05";
    /* clang-format on */
    rtmp_stream_cmd_t s;

    memset(&s, 0x5a, sizeof(s));
    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_id, v, LEN(v), &s), (int)LEN(v));
    cr_assert_eq(s.trans_id, 4.0);
    cr_assert_eq(s.stream_id, 0.0);
    cr_assert_str_eq(s.name, "");
}

Test(rtmp_cmd_stream_id, delete_stream_carries_the_stream_id)
{
    rtmp_stream_cmd_t s;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_id, delete_stream, LEN(delete_stream), &s),
                 (int)LEN(delete_stream));
    cr_assert_eq(s.trans_id, 0.0);
    cr_assert_eq(s.stream_id, 1.0);
}

Test(rtmp_cmd_stream_id, close_stream)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x02\x00\x0b" "closeStream"
        "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        "\x05";
    /* clang-format on */
    rtmp_stream_cmd_t s;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_id, v, LEN(v), &s), (int)LEN(v));
}

Test(rtmp_cmd_stream_id, stream_id_of_wrong_type_is_rejected)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x02\x00\x0c" "deleteStream"
        "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        "\x05"
        "\x02\x00\x01" "1";
    /* clang-format on */
    rtmp_stream_cmd_t s;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_id, v, LEN(v), &s), -EPROTO);
}

Test(rtmp_cmd_stream_id, every_truncation_of_delete_stream)
{
    rtmp_stream_cmd_t s;

    for (size_t i = 0; i < LEN(delete_stream); i++) {
        int expect = i == DELETE_NULL_END ? DELETE_NULL_END : -EMSGSIZE;

        cr_assert_eq(ON_COPY(rtmp_cmd_decode_stream_id, delete_stream, i, &s), expect,
                     "prefix of %zu bytes", i);
    }
}

/* ---- rtmp_cmd_decode_metadata ---- */

/* clang-format off */
static const uint8_t ffmpeg_metadata[] =
    "\x02\x00\x0d" "@setDataFrame"
    "\x02\x00\x0a" "onMetaData"
    "\x08\x00\x00\x00\x0d"
    "\x00\x08" "duration" "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x05" "width" "\x00\x40\x94\x00\x00\x00\x00\x00\x00"
    "\x00\x06" "height" "\x00\x40\x86\x80\x00\x00\x00\x00\x00"
    "\x00\x0d" "videodatarate" "\x00\x40\xa3\x12\xd0\x00\x00\x00\x00"
    "\x00\x09" "framerate" "\x00\x40\x3e\x00\x00\x00\x00\x00\x00"
    "\x00\x0c" "videocodecid" "\x00\x40\x1c\x00\x00\x00\x00\x00\x00"
    "\x00\x0d" "audiodatarate" "\x00\x40\x63\x88\x00\x00\x00\x00\x00"
    "\x00\x0f" "audiosamplerate" "\x00\x40\xe7\x70\x00\x00\x00\x00\x00"
    "\x00\x0f" "audiosamplesize" "\x00\x40\x30\x00\x00\x00\x00\x00\x00"
    "\x00\x06" "stereo" "\x01\x01"
    "\x00\x0c" "audiocodecid" "\x00\x40\x24\x00\x00\x00\x00\x00\x00"
    "\x00\x07" "encoder" "\x02\x00\x0d" "Lavf59.27.100"
    "\x00\x08" "filesize" "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x09";

static const uint8_t obs_metadata[] =
    "\x02\x00\x0d" "@setDataFrame"
    "\x02\x00\x0a" "onMetaData"
    "\x08\x00\x00\x00\x14"
    "\x00\x08" "duration" "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x08" "fileSize" "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x05" "width" "\x00\x40\x9e\x00\x00\x00\x00\x00\x00"
    "\x00\x06" "height" "\x00\x40\x90\xe0\x00\x00\x00\x00\x00"
    "\x00\x0c" "videocodecid" "\x00\x41\xda\x1d\x98\xcc\x40\x00\x00"
    "\x00\x0d" "videodatarate" "\x00\x40\xb7\x70\x00\x00\x00\x00\x00"
    "\x00\x09" "framerate" "\x00\x40\x4e\x00\x00\x00\x00\x00\x00"
    "\x00\x0c" "audiocodecid" "\x00\x40\x24\x00\x00\x00\x00\x00\x00"
    "\x00\x0d" "audiodatarate" "\x00\x40\x64\x00\x00\x00\x00\x00\x00"
    "\x00\x0f" "audiosamplerate" "\x00\x40\xe7\x70\x00\x00\x00\x00\x00"
    "\x00\x0f" "audiosamplesize" "\x00\x40\x30\x00\x00\x00\x00\x00\x00"
    "\x00\x0d" "audiochannels" "\x00\x40\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x06" "stereo" "\x01\x01"
    "\x00\x03" "2.1" "\x01\x00"
    "\x00\x03" "3.1" "\x01\x00"
    "\x00\x03" "4.0" "\x01\x00"
    "\x00\x03" "4.1" "\x01\x00"
    "\x00\x03" "5.1" "\x01\x00"
    "\x00\x03" "7.1" "\x01\x00"
    "\x00\x07" "encoder" "\x02\x00\x29" "obs-output module (libobs version 30.0.2)"
    "\x00\x00\x09";
/* clang-format on */

Test(rtmp_cmd_metadata, ffmpeg_set_data_frame_with_ecma_array)
{
    rtmp_metadata_t m;

    memset(&m, 0x5a, sizeof(m));
    cr_assert_eq(ON_COPY(rtmp_cmd_decode_metadata, ffmpeg_metadata, LEN(ffmpeg_metadata), &m),
                 (int)LEN(ffmpeg_metadata));
    cr_assert_eq(m.width, 1280.0);
    cr_assert_eq(m.height, 720.0);
    cr_assert_eq(m.framerate, 30.0);
    cr_assert_eq(m.videodatarate, 2441.40625);
    cr_assert_eq(m.audiodatarate, 156.25);
    cr_assert_eq(m.audiosamplerate, 48000.0);
    cr_assert_eq(m.audiochannels, 0.0); /* not sent by FFmpeg 5.1: cleared */
    cr_assert_eq(m.stereo, 1.0);        /* a BOOLEAN on the wire */
    cr_assert_eq(m.videocodecid, 7.0);
    cr_assert_eq(m.audiocodecid, 10.0);
    cr_assert_str_eq(m.encoder, "Lavf59.27.100");
}

Test(rtmp_cmd_metadata, obs_metadata_with_fourcc_codec_id)
{
    rtmp_metadata_t m;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_metadata, obs_metadata, LEN(obs_metadata), &m),
                 (int)LEN(obs_metadata));
    cr_assert_eq(m.width, 1920.0);
    cr_assert_eq(m.height, 1080.0);
    cr_assert_eq(m.framerate, 60.0);
    cr_assert_eq(m.videocodecid, 1752589105.0); /* 'hvc1' (E-RTMP) */
    cr_assert_eq(m.audiochannels, 2.0);
    cr_assert_eq(m.stereo, 1.0);
    cr_assert_str_eq(m.encoder, "obs-output module (libobs version 30.0.2)");
}

Test(rtmp_cmd_metadata, on_meta_data_alone_with_object)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x02\x00\x0a" "onMetaData"
        "\x03"
        "\x00\x05" "width" "\x00\x40\x84\x00\x00\x00\x00\x00\x00"
        "\x00\x06" "height" "\x00\x40\x76\x80\x00\x00\x00\x00\x00"
        "\x00\x00\x09";
    /* clang-format on */
    rtmp_metadata_t m;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_metadata, v, LEN(v), &m), (int)LEN(v));
    cr_assert_eq(m.width, 640.0);
    cr_assert_eq(m.height, 360.0);
    cr_assert_str_eq(m.encoder, "");
}

Test(rtmp_cmd_metadata, other_data_messages_are_not_found)
{
    /* clang-format off */
    static const uint8_t text[] =
        "\x02\x00\x0a" "onTextData" "\x03" "\x00\x00\x09";
    static const uint8_t cue[] =
        "\x02\x00\x0d" "@setDataFrame" "\x02\x00\x0a" "onCuePoint" "\x03" "\x00\x00\x09";
    static const uint8_t access[] =
        "\x02\x00\x11" "|RtmpSampleAccess" "\x01\x00" "\x01\x00";
    /* clang-format on */
    rtmp_metadata_t m;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_metadata, text, LEN(text), &m), -ENOENT);
    cr_assert_eq(ON_COPY(rtmp_cmd_decode_metadata, cue, LEN(cue), &m), -ENOENT);
    cr_assert_eq(ON_COPY(rtmp_cmd_decode_metadata, access, LEN(access), &m), -ENOENT);
}

Test(rtmp_cmd_metadata, names_must_be_strings)
{
    /* clang-format off */
    static const uint8_t first[] = "\x05\x03\x00\x00\x09";
    static const uint8_t second[] = "\x02\x00\x0d" "@setDataFrame" "\x05" "\x03\x00\x00\x09";
    /* clang-format on */
    rtmp_metadata_t m;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_metadata, first, LEN(first), &m), -EPROTO);
    cr_assert_eq(ON_COPY(rtmp_cmd_decode_metadata, second, LEN(second), &m), -EPROTO);
}

Test(rtmp_cmd_metadata, null_metadata_leaves_every_field_zero)
{
    /* clang-format off */
    static const uint8_t v[] = "\x02\x00\x0a" "onMetaData" "\x05";
    /* clang-format on */
    rtmp_metadata_t m;

    memset(&m, 0x5a, sizeof(m));
    cr_assert_eq(ON_COPY(rtmp_cmd_decode_metadata, v, LEN(v), &m), (int)LEN(v));
    cr_assert_eq(m.width, 0.0);
    cr_assert_str_eq(m.encoder, "");
}

Test(rtmp_cmd_metadata, property_of_wrong_type_is_rejected)
{
    /* clang-format off */
    static const uint8_t v[] =
        "\x02\x00\x0a" "onMetaData"
        "\x03" "\x00\x05" "width" "\x02\x00\x03" "640" "\x00\x00\x09";
    /* clang-format on */
    rtmp_metadata_t m;

    cr_assert_eq(ON_COPY(rtmp_cmd_decode_metadata, v, LEN(v), &m), -EPROTO);
}

Test(rtmp_cmd_metadata, encoder_too_long_is_rejected)
{
    static const uint8_t head[] = "\x02\x00\x0a"
                                  "onMetaData"
                                  "\x03\x00\x07"
                                  "encoder"
                                  "\x02\x00\x80";
    uint8_t v[LEN(head) + 128 + 3];
    rtmp_metadata_t m;

    memcpy(v, head, LEN(head));
    memset(v + LEN(head), 'e', 128);
    memcpy(v + LEN(head) + 128, "\x00\x00\x09", 3);
    cr_assert_eq(ON_COPY(rtmp_cmd_decode_metadata, v, sizeof(v), &m), -ENAMETOOLONG);
}

Test(rtmp_cmd_metadata, every_truncation_of_ffmpeg_metadata)
{
    rtmp_metadata_t m;

    for (size_t i = 0; i < LEN(ffmpeg_metadata); i++)
        cr_assert_eq(ON_COPY(rtmp_cmd_decode_metadata, ffmpeg_metadata, i, &m), -EMSGSIZE,
                     "prefix of %zu bytes", i);
}

/* ---- reply encoders ---- */

/* clang-format off */
static const uint8_t connect_result[] =
    "\x02\x00\x07" "_result"
    "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
    "\x03"
    "\x00\x06" "fmsVer" "\x02\x00\x0d" "FMS/3,0,1,123"
    "\x00\x0c" "capabilities" "\x00\x40\x3f\x00\x00\x00\x00\x00\x00"
    "\x00\x04" "mode" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x09"
    "\x03"
    "\x00\x05" "level" "\x02\x00\x06" "status"
    "\x00\x04" "code" "\x02\x00\x1d" "NetConnection.Connect.Success"
    "\x00\x0b" "description" "\x02\x00\x15" "Connection succeeded."
    "\x00\x0e" "objectEncoding" "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x09";

static const uint8_t publish_start[] =
    "\x02\x00\x08" "onStatus"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x05"
    "\x03"
    "\x00\x05" "level" "\x02\x00\x06" "status"
    "\x00\x04" "code" "\x02\x00\x17" "NetStream.Publish.Start"
    "\x00\x0b" "description" "\x02\x00\x10" "Start publishing"
    "\x00\x00\x09";

static const uint8_t on_fc_publish[] =
    "\x02\x00\x0b" "onFCPublish"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x05"
    "\x03"
    "\x00\x04" "code" "\x02\x00\x17" "NetStream.Publish.Start"
    "\x00\x0b" "description" "\x02\x00\x03" "key"
    "\x00\x00\x09";
/* clang-format on */

#define ASSERT_WRITTEN(w, buf, expect)                                                             \
    do {                                                                                           \
        cr_assert_eq((w).err, 0);                                                                  \
        cr_assert_eq((size_t)((w).p - (buf)), LEN(expect));                                        \
        cr_assert_arr_eq((buf), (expect), LEN(expect));                                            \
    } while (0)

Test(rtmp_cmd_encode, connect_result_bytes)
{
    uint8_t buf[512];
    amf_wr_t w = { buf, buf + sizeof(buf), 0 };

    rtmp_cmd_connect_result(&w, 1, 0);
    ASSERT_WRITTEN(w, buf, connect_result);
}

typedef struct reply_s {
    char name[16];
    double trans_id;
    char fms_ver[32];
    double capabilities, mode, object_encoding, value;
    char level[16], code[64], description[64];
} reply_t;

static const amf_elt_t props_elts[] = {
    { AMF_STRING, "fmsVer", offsetof(reply_t, fms_ver), 32, NULL, 0 },
    { AMF_NUMBER, "capabilities", offsetof(reply_t, capabilities), 0, NULL, 0 },
    { AMF_NUMBER, "mode", offsetof(reply_t, mode), 0, NULL, 0 },
};

static const amf_elt_t info_elts[] = {
    { AMF_STRING, "level", offsetof(reply_t, level), 16, NULL, 0 },
    { AMF_STRING, "code", offsetof(reply_t, code), 64, NULL, 0 },
    { AMF_STRING, "description", offsetof(reply_t, description), 64, NULL, 0 },
    { AMF_NUMBER, "objectEncoding", offsetof(reply_t, object_encoding), 0, NULL, 0 },
};

static const amf_elt_t connect_result_elts[] = {
    { AMF_STRING, "name", offsetof(reply_t, name), 16, NULL, 0 },
    { AMF_NUMBER, "tid", offsetof(reply_t, trans_id), 0, NULL, 0 },
    { AMF_OBJECT, "props", 0, 0, props_elts, 3 },
    { AMF_OBJECT, "info", 0, 0, info_elts, 4 },
};

Test(rtmp_cmd_encode, connect_result_round_trip)
{
    uint8_t buf[512];
    amf_wr_t w = { buf, buf + sizeof(buf), 0 };
    reply_t r = { 0 };
    int n;

    rtmp_cmd_connect_result(&w, 7, 3);
    cr_assert_eq(w.err, 0);
    n = (int)(w.p - buf);
    cr_assert_eq(amf_decode_seq(buf, (size_t)n, connect_result_elts, 4, &r), n);
    cr_assert_str_eq(r.name, "_result");
    cr_assert_eq(r.trans_id, 7.0);
    cr_assert_str_eq(r.fms_ver, "FMS/3,0,1,123");
    cr_assert_eq(r.capabilities, 31.0);
    cr_assert_eq(r.mode, 1.0);
    cr_assert_str_eq(r.level, "status");
    cr_assert_str_eq(r.code, "NetConnection.Connect.Success");
    cr_assert_str_eq(r.description, "Connection succeeded.");
    cr_assert_eq(r.object_encoding, 3.0);
}

Test(rtmp_cmd_encode, result_number_for_create_stream)
{
    /* clang-format off */
    static const uint8_t expect[] =
        "\x02\x00\x07" "_result"
        "\x00\x40\x10\x00\x00\x00\x00\x00\x00"
        "\x05"
        "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00";
    /* clang-format on */
    uint8_t buf[64];
    amf_wr_t w = { buf, buf + sizeof(buf), 0 };

    rtmp_cmd_result_number(&w, 4, 1);
    ASSERT_WRITTEN(w, buf, expect);
}

Test(rtmp_cmd_encode, result_null_for_release_stream)
{
    /* clang-format off */
    static const uint8_t expect[] =
        "\x02\x00\x07" "_result"
        "\x00\x40\x00\x00\x00\x00\x00\x00\x00"
        "\x05";
    /* clang-format on */
    uint8_t buf[64];
    amf_wr_t w = { buf, buf + sizeof(buf), 0 };

    rtmp_cmd_result_null(&w, 2);
    ASSERT_WRITTEN(w, buf, expect);
}

Test(rtmp_cmd_encode, onstatus_publish_start)
{
    uint8_t buf[256];
    amf_wr_t w = { buf, buf + sizeof(buf), 0 };

    rtmp_cmd_onstatus(&w, "status", "NetStream.Publish.Start", "Start publishing");
    ASSERT_WRITTEN(w, buf, publish_start);
}

Test(rtmp_cmd_encode, onstatus_decodes_back)
{
    static const amf_elt_t e[] = {
        { AMF_STRING, "name", offsetof(reply_t, name), 16, NULL, 0 },
        { AMF_NUMBER, "tid", offsetof(reply_t, trans_id), 0, NULL, 0 },
        { AMF_NULL, "null", 0, 0, NULL, 0 },
        { AMF_OBJECT, "info", 0, 0, info_elts, 3 },
    };
    uint8_t buf[256];
    amf_wr_t w = { buf, buf + sizeof(buf), 0 };
    reply_t r = { 0 };
    int n;

    rtmp_cmd_onstatus(&w, "error", "NetStream.Publish.BadName", "Stream key rejected");
    n = (int)(w.p - buf);
    cr_assert_eq(amf_decode_seq(buf, (size_t)n, e, 4, &r), n);
    cr_assert_str_eq(r.name, "onStatus");
    cr_assert_eq(r.trans_id, 0.0);
    cr_assert_str_eq(r.level, "error");
    cr_assert_str_eq(r.code, "NetStream.Publish.BadName");
    cr_assert_str_eq(r.description, "Stream key rejected");
}

Test(rtmp_cmd_encode, onfc_publish)
{
    uint8_t buf[256];
    amf_wr_t w = { buf, buf + sizeof(buf), 0 };

    rtmp_cmd_onfc(&w, "onFCPublish", "NetStream.Publish.Start", "key");
    ASSERT_WRITTEN(w, buf, on_fc_publish);
}

Test(rtmp_cmd_encode, every_short_buffer_fails_without_writing_past_the_end)
{
    uint8_t buf[LEN(connect_result) + 16];

    for (size_t size = 0; size <= LEN(connect_result); size++) {
        amf_wr_t w = { buf, buf + size, 0 };

        memset(buf, 0xee, sizeof(buf));
        rtmp_cmd_connect_result(&w, 1, 0);
        cr_assert_eq(w.err, size < LEN(connect_result) ? -ENOSPC : 0, "size %zu", size);
        cr_assert(w.p <= buf + size);
        for (size_t i = size; i < sizeof(buf); i++)
            cr_assert_eq(buf[i], 0xee, "byte %zu written with size %zu", i, size);
    }
}
