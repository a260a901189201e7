/* RTMP command messages (AMF0, message type 20): decode the publish flow, encode the replies.
 *
 * RTMP spec 1.0 section 7.2 defines the commands. Decoders fill structs the caller owns, through
 * the amf.h element tables; they never use static storage. Encoders append one complete message
 * body to an amf_wr_t; framing it into chunks is rtmp_chunk.h's job. */
#ifndef PROTO_RTMP_CMD_H
#define PROTO_RTMP_CMD_H

#include "amf.h"

#define RTMP_MAX_NAME 256 /* longest stream name or app accepted, bytes (documented limit) */

/* Every command starts with its name and a transaction id (section 7.2.1). */
typedef struct rtmp_cmd_head_s {
    char name[64];
    double trans_id;
} rtmp_cmd_head_t;

typedef struct rtmp_connect_s {
    double trans_id;
    char app[RTMP_MAX_NAME + 1];
    char tc_url[1024];
    char flash_ver[128];
    double object_encoding; /* 0 = AMF0; we only speak AMF0 */
} rtmp_connect_t;

/* releaseStream, FCPublish, FCUnpublish, publish, deleteStream, createStream, closeStream all fit
 * this shape: name, transaction id, null, then an optional string or number argument. */
typedef struct rtmp_stream_cmd_s {
    double trans_id;
    char name[RTMP_MAX_NAME + 1]; /* stream name (publish, FCPublish...) */
    char type[32];                /* publish type: "live", "record", "append" */
    double stream_id;             /* deleteStream */
} rtmp_stream_cmd_t;

/* Returns bytes consumed or a negative amf error (-EPROTO, -EMSGSIZE, -ENAMETOOLONG, -ELOOP). */
int rtmp_cmd_decode_head(const uint8_t *buf, size_t len, rtmp_cmd_head_t *out);
int rtmp_cmd_decode_connect(const uint8_t *buf, size_t len, rtmp_connect_t *out);
/* For commands with a string argument (publish, releaseStream, FCPublish, FCUnpublish). */
int rtmp_cmd_decode_stream_name(const uint8_t *buf, size_t len, rtmp_stream_cmd_t *out);
/* For commands with a numeric argument or none (createStream, deleteStream, closeStream). */
int rtmp_cmd_decode_stream_id(const uint8_t *buf, size_t len, rtmp_stream_cmd_t *out);

/* @setDataFrame / onMetaData (a data message, type 18). Fields absent from the message are 0. */
typedef struct rtmp_metadata_s {
    double width, height, framerate, videodatarate, audiodatarate;
    double audiosamplerate, audiochannels, stereo;
    double videocodecid, audiocodecid; /* numbers; E-RTMP senders may use FourCC numbers */
    char encoder[128];
} rtmp_metadata_t;

/* Decodes either "@setDataFrame", "onMetaData", {...} or "onMetaData", {...}.
 * Returns bytes consumed, -ENOENT if it is another data message, or a negative amf error. */
int rtmp_cmd_decode_metadata(const uint8_t *buf, size_t len, rtmp_metadata_t *out);

/* Reply encoders. Each writes one AMF0 command body. */
void rtmp_cmd_connect_result(amf_wr_t *w, double trans_id, double object_encoding);
void rtmp_cmd_result_number(amf_wr_t *w, double trans_id, double value); /* createStream */
void rtmp_cmd_result_null(amf_wr_t *w, double trans_id);                 /* releaseStream */
void rtmp_cmd_onstatus(amf_wr_t *w, const char *level, const char *code, const char *desc);
/* onFCPublish / onFCUnpublish: "onFCPublish", 0, null, {code, description} as Wowza and SRS do. */
void rtmp_cmd_onfc(amf_wr_t *w, const char *cmd, const char *code, const char *desc);

#endif
