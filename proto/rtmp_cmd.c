/* RTMP command messages (AMF0): decode the publish flow into caller structs, encode the replies.
 *
 * Every decoder zeroes its output first, so a field the peer did not send reads as 0 or "". The
 * element tables below are the whole description of what we read; anything else a client sends
 * (OBS's fpad, capabilities, E-RTMP fourCcList...) is skipped by amf.c. */
#include "rtmp_cmd.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

/* Element table shorthands; kept on one line each for reading as a table. */
/* clang-format off */
#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)
#define NUM(type, field, name) { AMF_NUMBER, name, offsetof(type, field), 0, NULL, 0 }
#define STR(type, field, name) \
    { AMF_STRING, name, offsetof(type, field), FIELD_SIZE(type, field), NULL, 0 }
#define OBJ(sub) { AMF_OBJECT, "object", 0, 0, sub, sizeof(sub) / sizeof((sub)[0]) }
#define NUL { AMF_NULL, "null", 0, 0, NULL, 0 }
/* clang-format on */
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Section 7.2.1: every command starts with its name and a transaction id. */
static const amf_elt_t head_elts[] = {
    STR(rtmp_cmd_head_t, name, "command name"),
    NUM(rtmp_cmd_head_t, trans_id, "transaction id"),
};

/* Section 7.2.1.1, table "connect command object": the few properties we use. */
static const amf_elt_t connect_obj_elts[] = {
    STR(rtmp_connect_t, app, "app"),
    STR(rtmp_connect_t, tc_url, "tcUrl"),
    STR(rtmp_connect_t, flash_ver, "flashVer"),
    NUM(rtmp_connect_t, object_encoding, "objectEncoding"),
};

/* After the name: transaction id, command object; optional user arguments are left unread. */
static const amf_elt_t connect_elts[] = {
    NUM(rtmp_connect_t, trans_id, "transaction id"),
    OBJ(connect_obj_elts),
};

/* Section 7.2.2.6 (publish) and the FMLE-era releaseStream/FCPublish/FCUnpublish: transaction id,
 * null command object, stream name, then the publish type, which only publish carries. */
static const amf_elt_t stream_name_elts[] = {
    NUM(rtmp_stream_cmd_t, trans_id, "transaction id"),
    NUL,
    STR(rtmp_stream_cmd_t, name, "stream name"),
    { AMF_STRING | AMF_OPTIONAL, "publish type", offsetof(rtmp_stream_cmd_t, type),
      FIELD_SIZE(rtmp_stream_cmd_t, type), NULL, 0 },
};

/* Sections 7.2.1.3 (createStream) and 7.2.2.3 (deleteStream): transaction id, null command
 * object, and for deleteStream the stream id. */
static const amf_elt_t stream_id_elts[] = {
    NUM(rtmp_stream_cmd_t, trans_id, "transaction id"),
    NUL,
    { AMF_NUMBER | AMF_OPTIONAL, "stream id", offsetof(rtmp_stream_cmd_t, stream_id), 0, NULL, 0 },
};

/* The onMetaData properties FFmpeg's flvenc and OBS's flv-mux write (FLV spec E.5). */
static const amf_elt_t metadata_obj_elts[] = {
    NUM(rtmp_metadata_t, width, "width"),
    NUM(rtmp_metadata_t, height, "height"),
    NUM(rtmp_metadata_t, framerate, "framerate"),
    NUM(rtmp_metadata_t, videodatarate, "videodatarate"),
    NUM(rtmp_metadata_t, audiodatarate, "audiodatarate"),
    NUM(rtmp_metadata_t, audiosamplerate, "audiosamplerate"),
    NUM(rtmp_metadata_t, audiochannels, "audiochannels"),
    NUM(rtmp_metadata_t, stereo, "stereo"),
    NUM(rtmp_metadata_t, videocodecid, "videocodecid"),
    NUM(rtmp_metadata_t, audiocodecid, "audiocodecid"),
    STR(rtmp_metadata_t, encoder, "encoder"),
};

static const amf_elt_t metadata_elts[] = {
    OBJ(metadata_obj_elts),
};

/* Decodes the values after a name already read (skip bytes) and adds up what was consumed. Input
 * is capped at INT_MAX, as in amf.c, so the sum can not overflow. */
static int decode_rest(const uint8_t *buf, size_t len, int skip, const amf_elt_t *elts, size_t n,
                       void *out)
{
    int ret;

    if (skip < 0)
        return skip;
    if (len > INT_MAX)
        len = INT_MAX;
    ret = amf_decode_seq(buf + skip, len - (size_t)skip, elts, n, out);
    return ret < 0 ? ret : skip + ret;
}

int rtmp_cmd_decode_head(const uint8_t *buf, size_t len, rtmp_cmd_head_t *out)
{
    memset(out, 0, sizeof(*out));
    return amf_decode_seq(buf, len, head_elts, COUNT(head_elts), out);
}

/* The one decoder here that serves a single command checks the name; the others serve several
 * commands and trust the caller's dispatch on rtmp_cmd_decode_head. */
int rtmp_cmd_decode_connect(const uint8_t *buf, size_t len, rtmp_connect_t *out)
{
    char name[sizeof("connect")];
    int n;

    memset(out, 0, sizeof(*out));
    n = amf_read_string(buf, len, name, sizeof(name));
    if (n == -ENAMETOOLONG || (n >= 0 && strcmp(name, "connect") != 0))
        return -EPROTO;
    return decode_rest(buf, len, n, connect_elts, COUNT(connect_elts), out);
}

int rtmp_cmd_decode_stream_name(const uint8_t *buf, size_t len, rtmp_stream_cmd_t *out)
{
    char name[64];

    memset(out, 0, sizeof(*out));
    return decode_rest(buf, len, amf_read_string(buf, len, name, sizeof(name)), stream_name_elts,
                       COUNT(stream_name_elts), out);
}

int rtmp_cmd_decode_stream_id(const uint8_t *buf, size_t len, rtmp_stream_cmd_t *out)
{
    char name[64];

    memset(out, 0, sizeof(*out));
    return decode_rest(buf, len, amf_read_string(buf, len, name, sizeof(name)), stream_id_elts,
                       COUNT(stream_id_elts), out);
}

/* A data message name too long for name[] is not one we decode: that is -ENOENT, not an error. */
static int read_data_name(const uint8_t *buf, size_t len, char *name, size_t size)
{
    int n = amf_read_string(buf, len, name, size);

    return n == -ENAMETOOLONG ? -ENOENT : n;
}

/* Publishers send "@setDataFrame", "onMetaData", {...} (FFmpeg, OBS: the server is asked to keep
 * it and hand it to players as onMetaData) and older ones send "onMetaData", {...} directly. */
int rtmp_cmd_decode_metadata(const uint8_t *buf, size_t len, rtmp_metadata_t *out)
{
    char name[sizeof("@setDataFrame")];
    int skip = 0;
    int n;

    memset(out, 0, sizeof(*out));
    if (len > INT_MAX)
        len = INT_MAX;
    n = read_data_name(buf, len, name, sizeof(name));
    if (n >= 0 && strcmp(name, "@setDataFrame") == 0) {
        skip = n;
        n = read_data_name(buf + skip, len - (size_t)skip, name, sizeof(name));
    }
    if (n < 0)
        return n;
    if (strcmp(name, "onMetaData") != 0)
        return -ENOENT;
    return decode_rest(buf, len, skip + n, metadata_elts, COUNT(metadata_elts), out);
}

/* Section 7.2.1.1: "_result", the transaction id, the server's properties, then an information
 * object. fmsVer and capabilities are the values FMS 3 answers with; clients (librtmp in OBS,
 * FFmpeg) check only the code, but some log fmsVer. */
void rtmp_cmd_connect_result(amf_wr_t *w, double trans_id, double object_encoding)
{
    amf_write_string(w, "_result");
    amf_write_number(w, trans_id);
    amf_write_object_start(w);
    amf_write_string_prop(w, "fmsVer", "FMS/3,0,1,123");
    amf_write_number_prop(w, "capabilities", 31);
    amf_write_number_prop(w, "mode", 1);
    amf_write_object_end(w);
    amf_write_object_start(w);
    amf_write_string_prop(w, "level", "status");
    amf_write_string_prop(w, "code", "NetConnection.Connect.Success");
    amf_write_string_prop(w, "description", "Connection succeeded.");
    amf_write_number_prop(w, "objectEncoding", object_encoding);
    amf_write_object_end(w);
}

/* Section 7.2.1.3: "_result", transaction id, null command object, then the value. */
void rtmp_cmd_result_number(amf_wr_t *w, double trans_id, double value)
{
    rtmp_cmd_result_null(w, trans_id);
    amf_write_number(w, value);
}

void rtmp_cmd_result_null(amf_wr_t *w, double trans_id)
{
    amf_write_string(w, "_result");
    amf_write_number(w, trans_id);
    amf_write_null(w);
}

/* Section 7.2.2: onStatus carries transaction id 0 and a null command object before the info. */
void rtmp_cmd_onstatus(amf_wr_t *w, const char *level, const char *code, const char *desc)
{
    amf_write_string(w, "onStatus");
    amf_write_number(w, 0);
    amf_write_null(w);
    amf_write_object_start(w);
    amf_write_string_prop(w, "level", level);
    amf_write_string_prop(w, "code", code);
    amf_write_string_prop(w, "description", desc);
    amf_write_object_end(w);
}

void rtmp_cmd_onfc(amf_wr_t *w, const char *cmd, const char *code, const char *desc)
{
    amf_write_string(w, cmd);
    amf_write_number(w, 0);
    amf_write_null(w);
    amf_write_object_start(w);
    amf_write_string_prop(w, "code", code);
    amf_write_string_prop(w, "description", desc);
    amf_write_object_end(w);
}
