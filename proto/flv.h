/* FLV audio and video tag bodies as RTMP carries them, including Enhanced RTMP video.
 *
 * Video: legacy AVC (codec id 7) and the codec id 12 HEVC extension used by Chinese CDNs, each with
 * an AVCPacketType byte and a 24-bit signed composition time (FLV spec 10.1, E.4.3.1); and Enhanced
 * RTMP (veovera E-RTMP v1): IsExHeader bit, PacketType, FourCC hvc1/av01/vp09/avc1.
 * Audio: AAC (sound format 10) with the AACPacketType byte; other formats are recognised and
 * reported, not decoded. Parsing never allocates; data points into the caller's buffer. */
#ifndef PROTO_FLV_H
#define PROTO_FLV_H

#include <stddef.h>
#include <stdint.h>

typedef enum flv_codec_e {
    FLV_CODEC_UNKNOWN = 0,
    FLV_CODEC_H264,
    FLV_CODEC_HEVC,
    FLV_CODEC_AV1,
    FLV_CODEC_VP9,
    FLV_CODEC_AAC,
    FLV_CODEC_MP3,
    FLV_CODEC_OTHER_AUDIO, /* PCM, Nellymoser, Speex, G.711...: recognised, unsupported */
    FLV_CODEC_OTHER_VIDEO, /* Sorenson H.263, VP6, screen video: recognised, unsupported */
} flv_codec_t;

typedef enum flv_kind_e {
    FLV_CONFIG = 1, /* decoder configuration: avcC, hvcC, av1C, vpcC or AudioSpecificConfig */
    FLV_FRAME,      /* a coded frame (length-prefixed NAL units for H.264/HEVC) */
    FLV_EOS,        /* end of sequence */
    FLV_SKIP,       /* valid but carries nothing for the media path (E-RTMP metadata, commands) */
} flv_kind_t;

typedef struct flv_tag_s {
    flv_codec_t codec;
    flv_kind_t kind;
    int keyframe;        /* video: frame type 1 (key frame) */
    int32_t cts;         /* video: composition time offset, ms (pts = dts + cts) */
    const uint8_t *data; /* payload after the FLV/E-RTMP headers; borrowed from the input */
    size_t len;
    /* audio header fields (FLV spec E.4.2.1); for AAC the AudioSpecificConfig is authoritative */
    int sound_rate; /* Hz: 5500, 11025, 22050, 44100 */
    int sound_channels;
} flv_tag_t;

/* Each returns 0 or a negative error: -EMSGSIZE (truncated), -ENOTSUP (an unknown FourCC or codec
 * id; tag->codec says UNKNOWN), -EPROTO (a packet type that does not exist). */
int flv_parse_video(const uint8_t *buf, size_t len, flv_tag_t *tag);
int flv_parse_audio(const uint8_t *buf, size_t len, flv_tag_t *tag);

const char *flv_codec_name(flv_codec_t c); /* "h264", "hevc", "aac"... */

#endif
