/* FLV audio and video tag bodies as RTMP carries them, including Enhanced RTMP video.
 *
 * Invariants: nothing is allocated and nothing is written outside *tag; tag->data always points
 * into the caller's buffer. Every read is checked against len first, so a truncated body gives
 * -EMSGSIZE and never a read past the end. */
#include "proto/flv.h"

#include <errno.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define FOURCC(a, b, c, d)                                                                         \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* VideoFrameType (FLV spec E.4.3.1; E-RTMP keeps the values). */
enum { FRAME_KEY = 1, FRAME_COMMAND = 5 };

/* Bytes before the payload: legacy AVC/HEVC is type|codec, AVCPacketType, SI24 cts (E.4.3.1);
 * E-RTMP is type|packet type and a FourCC, then a SI24 cts for CodedFrames of avc1/hvc1. */
enum { LEGACY_AVC_HEADER = 5, EX_HEADER = 5, SI24_LEN = 3 };

/* E-RTMP PacketType 4: frame type is ignored for it and it carries AMF metadata, not video. */
enum { EX_METADATA = 4 };

/* SoundFormat 14 (E.4.2.1): MP3 at 8 kHz, a rate the 2-bit SoundRate field cannot express. */
enum { SOUND_MP3_8K = 14 };

/* CodecID → codec (E.4.3.1). 12 is not in the FLV spec: Chinese CDNs use it for HEVC with the
 * AVC layout. 1 (JPEG) and 8-11, 13-15 are unassigned and stay UNKNOWN. */
static const flv_codec_t legacy_video_codecs[16] = {
    [2] = FLV_CODEC_OTHER_VIDEO, [3] = FLV_CODEC_OTHER_VIDEO, [4] = FLV_CODEC_OTHER_VIDEO,
    [5] = FLV_CODEC_OTHER_VIDEO, [6] = FLV_CODEC_OTHER_VIDEO, [7] = FLV_CODEC_H264,
    [12] = FLV_CODEC_HEVC,
};

/* AVCPacketType (E.4.3.1): 0 sequence header, 1 NALU, 2 end of sequence. */
static const flv_kind_t avc_packet_kinds[] = { FLV_CONFIG, FLV_FRAME, FLV_EOS };

typedef struct ex_fourcc_s {
    uint32_t fourcc;
    flv_codec_t codec;
    int has_cts; /* CodedFrames carries a SI24 composition time (E-RTMP "ExVideoTagBody") */
} ex_fourcc_t;

static const ex_fourcc_t ex_fourccs[] = {
    { FOURCC('a', 'v', 'c', '1'), FLV_CODEC_H264, 1 }, /* E-RTMP v2 */
    { FOURCC('h', 'v', 'c', '1'), FLV_CODEC_HEVC, 1 },
    { FOURCC('a', 'v', '0', '1'), FLV_CODEC_AV1, 0 },
    { FOURCC('v', 'p', '0', '9'), FLV_CODEC_VP9, 0 },
};

typedef struct ex_packet_s {
    flv_kind_t kind;
    int may_have_cts; /* only CodedFrames; CodedFramesX exists to leave a zero cts out */
} ex_packet_t;

/* E-RTMP v1 VideoPacketType 0-5. v2's Multitrack (6) and ModEx (7) are not handled: their bytes
 * after the first are laid out differently, so they are refused before the FourCC is read. */
static const ex_packet_t ex_packets[] = {
    { FLV_CONFIG, 0 }, /* SequenceStart: avcC, hvcC, av1C or vpcC */
    { FLV_FRAME, 1 },  /* CodedFrames */
    { FLV_EOS, 0 },    /* SequenceEnd */
    { FLV_FRAME, 0 },  /* CodedFramesX */
    { FLV_SKIP, 0 },   /* Metadata (AMF, e.g. colorInfo) */
    { FLV_SKIP, 0 },   /* MPEG2TSSequenceStart: the av1C travels in SequenceStart as well */
};

/* SoundFormat → codec (E.4.2.1); 9 (ExAudioHeader) and the unassigned 12, 13 stay UNKNOWN. */
static const flv_codec_t audio_codecs[16] = {
    [0] = FLV_CODEC_OTHER_AUDIO,  [1] = FLV_CODEC_OTHER_AUDIO,  [2] = FLV_CODEC_MP3,
    [3] = FLV_CODEC_OTHER_AUDIO,  [4] = FLV_CODEC_OTHER_AUDIO,  [5] = FLV_CODEC_OTHER_AUDIO,
    [6] = FLV_CODEC_OTHER_AUDIO,  [7] = FLV_CODEC_OTHER_AUDIO,  [8] = FLV_CODEC_OTHER_AUDIO,
    [10] = FLV_CODEC_AAC,         [11] = FLV_CODEC_OTHER_AUDIO, [14] = FLV_CODEC_MP3,
    [15] = FLV_CODEC_OTHER_AUDIO,
};

/* SoundRate (E.4.2.1); 5500 is the spec's own rounding of 5512.5 Hz. */
static const int sound_rates[4] = { 5500, 11025, 22050, 44100 };

static const char *const codec_names[] = {
    [FLV_CODEC_UNKNOWN] = "unknown",
    [FLV_CODEC_H264] = "h264",
    [FLV_CODEC_HEVC] = "hevc",
    [FLV_CODEC_AV1] = "av1",
    [FLV_CODEC_VP9] = "vp9",
    [FLV_CODEC_AAC] = "aac",
    [FLV_CODEC_MP3] = "mp3",
    [FLV_CODEC_OTHER_AUDIO] = "other-audio",
    [FLV_CODEC_OTHER_VIDEO] = "other-video",
};

static int32_t read_si24(const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];

    /* Sign-extend by flipping and subtracting: no implementation-defined shift of a negative. */
    return (int32_t)(v ^ 0x800000u) - 0x800000;
}

static uint32_t read_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int set_payload(flv_tag_t *tag, flv_kind_t kind, const uint8_t *buf, size_t len, size_t hdr)
{
    tag->kind = kind;
    tag->data = buf + hdr;
    tag->len = len - hdr;
    return 0;
}

static const ex_fourcc_t *find_fourcc(uint32_t fourcc)
{
    for (size_t i = 0; i < ARRAY_LEN(ex_fourccs); i++)
        if (ex_fourccs[i].fourcc == fourcc)
            return &ex_fourccs[i];
    return NULL;
}

static int parse_legacy_video(const uint8_t *buf, size_t len, flv_tag_t *tag)
{
    int frame_type = buf[0] >> 4;

    tag->codec = legacy_video_codecs[buf[0] & 0x0f];
    if (tag->codec != FLV_CODEC_H264 && tag->codec != FLV_CODEC_HEVC)
        return -ENOTSUP;
    /* A command frame holds one UI8 (seek start/end) in place of the AVC header (E.4.3.1). */
    if (frame_type == FRAME_COMMAND)
        return set_payload(tag, FLV_SKIP, buf, len, 1);
    if (len < LEGACY_AVC_HEADER)
        return -EMSGSIZE;
    if (buf[1] >= ARRAY_LEN(avc_packet_kinds))
        return -EPROTO;
    tag->keyframe = frame_type == FRAME_KEY;
    tag->cts = read_si24(buf + 2);
    return set_payload(tag, avc_packet_kinds[buf[1]], buf, len, LEGACY_AVC_HEADER);
}

static int parse_ex_video(const uint8_t *buf, size_t len, flv_tag_t *tag)
{
    int frame_type = (buf[0] >> 4) & 0x07, packet_type = buf[0] & 0x0f;
    const ex_fourcc_t *fc;
    size_t hdr = EX_HEADER;

    if ((size_t)packet_type >= ARRAY_LEN(ex_packets))
        return -EPROTO;
    /* E-RTMP "ExVideoTagHeader": a command frame carries a UI8 command and no FourCC, except for
     * Metadata, whose frame type is ignored. */
    if (frame_type == FRAME_COMMAND && packet_type != EX_METADATA)
        return set_payload(tag, FLV_SKIP, buf, len, 1);
    if (len < EX_HEADER)
        return -EMSGSIZE;
    fc = find_fourcc(read_u32(buf + 1));
    if (!fc)
        return -ENOTSUP;
    tag->codec = fc->codec;
    if (ex_packets[packet_type].may_have_cts && fc->has_cts) {
        if (len < EX_HEADER + SI24_LEN)
            return -EMSGSIZE;
        tag->cts = read_si24(buf + EX_HEADER);
        hdr += SI24_LEN;
    }
    tag->keyframe = frame_type == FRAME_KEY && packet_type != EX_METADATA;
    return set_payload(tag, ex_packets[packet_type].kind, buf, len, hdr);
}

int flv_parse_video(const uint8_t *buf, size_t len, flv_tag_t *tag)
{
    memset(tag, 0, sizeof(*tag));
    if (len < 1)
        return -EMSGSIZE;
    /* E-RTMP reuses the top bit of the 4-bit FrameType as IsExHeader; legacy types are 1-5. */
    if (buf[0] & 0x80)
        return parse_ex_video(buf, len, tag);
    return parse_legacy_video(buf, len, tag);
}

int flv_parse_audio(const uint8_t *buf, size_t len, flv_tag_t *tag)
{
    int format;

    memset(tag, 0, sizeof(*tag));
    if (len < 1)
        return -EMSGSIZE;
    format = buf[0] >> 4;
    tag->codec = audio_codecs[format];
    tag->sound_rate = format == SOUND_MP3_8K ? 8000 : sound_rates[(buf[0] >> 2) & 0x03];
    tag->sound_channels = (buf[0] & 0x01) + 1;
    if (tag->codec == FLV_CODEC_MP3)
        return set_payload(tag, FLV_FRAME, buf, len, 1);
    if (tag->codec != FLV_CODEC_AAC)
        return -ENOTSUP;
    if (len < 2)
        return -EMSGSIZE;
    /* AACPacketType (E.4.2.1): 0 AudioSpecificConfig, 1 raw AAC frame. */
    if (buf[1] > 1)
        return -EPROTO;
    return set_payload(tag, buf[1] == 0 ? FLV_CONFIG : FLV_FRAME, buf, len, 2);
}

const char *flv_codec_name(flv_codec_t c)
{
    if ((size_t)c >= ARRAY_LEN(codec_names) || !codec_names[c])
        return "unknown";
    return codec_names[c];
}
