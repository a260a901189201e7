/* Unit tests for proto/flv.c: legacy and Enhanced RTMP video tag bodies, audio tag bodies.
 *
 * Legacy vectors are the first bytes of tags that ffmpeg 5.1 wrote (libx264, aac, libmp3lame in
 * FLV); ffmpeg 5.1 cannot write E-RTMP, so those are built by hand from the E-RTMP v1 spec. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/flv.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Parse from a heap copy of exactly len bytes, so AddressSanitizer sees any read past the end. */
static int parse_exact(int (*parse)(const uint8_t *, size_t, flv_tag_t *), const uint8_t *buf,
                       size_t len, flv_tag_t *tag)
{
    uint8_t *copy = malloc(len ? len : 1);
    int rc;

    cr_assert_not_null(copy);
    memcpy(copy, buf, len);
    rc = parse(copy, len, tag);
    free(copy);
    return rc;
}

static void expect_tag(const flv_tag_t *tag, flv_codec_t codec, flv_kind_t kind, int keyframe,
                       int32_t cts)
{
    cr_expect_eq(tag->codec, codec, "codec %s", flv_codec_name(tag->codec));
    cr_expect_eq(tag->kind, kind);
    cr_expect_eq(tag->keyframe, keyframe);
    cr_expect_eq(tag->cts, cts);
}

static void expect_payload(const flv_tag_t *tag, const uint8_t *buf, size_t len, size_t header)
{
    cr_expect_eq(tag->data, buf + header, "payload at %td, not %zu", tag->data - buf, header);
    cr_expect_eq(tag->len, len - header);
}

/* ---- legacy video (FLV spec E.4.3.1) ---- */

/* libx264 1280x720: key frame, AVC sequence header, then the avcC. */
static const uint8_t avc_sequence_header[] = {
    0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x1a, 0x67,
};
/* libx264 key frame with a 67 ms composition offset, then 4-byte-length NAL units. */
static const uint8_t avc_key_frame[] = {
    0x17, 0x01, 0x00, 0x00, 0x43, 0x00, 0x00, 0x02, 0xae, 0x06, 0x05, 0xff,
};
/* libx264 inter frame, 166 ms composition offset. */
static const uint8_t avc_inter_frame[] = {
    0x27, 0x01, 0x00, 0x00, 0xa6, 0x00, 0x00, 0x02, 0xef, 0x41, 0x9a, 0x24,
};
/* ffmpeg's FLV muxer ends the stream with this. */
static const uint8_t avc_end_of_sequence[] = { 0x17, 0x02, 0x00, 0x00, 0x00 };

Test(flv_video, reads_avc_sequence_header)
{
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(avc_sequence_header, sizeof(avc_sequence_header), &tag), 0);
    expect_tag(&tag, FLV_CODEC_H264, FLV_CONFIG, 1, 0);
    expect_payload(&tag, avc_sequence_header, sizeof(avc_sequence_header), 5);
}

Test(flv_video, reads_avc_key_frame_and_its_cts)
{
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(avc_key_frame, sizeof(avc_key_frame), &tag), 0);
    expect_tag(&tag, FLV_CODEC_H264, FLV_FRAME, 1, 67);
    expect_payload(&tag, avc_key_frame, sizeof(avc_key_frame), 5);
}

Test(flv_video, reads_avc_inter_frame_as_not_key)
{
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(avc_inter_frame, sizeof(avc_inter_frame), &tag), 0);
    expect_tag(&tag, FLV_CODEC_H264, FLV_FRAME, 0, 166);
    expect_payload(&tag, avc_inter_frame, sizeof(avc_inter_frame), 5);
}

Test(flv_video, sign_extends_negative_cts)
{
    static const uint8_t minus_two[] = { 0x27, 0x01, 0xff, 0xff, 0xfe, 0x00 };
    static const uint8_t most_negative[] = { 0x27, 0x01, 0x80, 0x00, 0x00 };
    static const uint8_t most_positive[] = { 0x27, 0x01, 0x7f, 0xff, 0xff };
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(minus_two, sizeof(minus_two), &tag), 0);
    cr_expect_eq(tag.cts, -2);
    cr_assert_eq(flv_parse_video(most_negative, sizeof(most_negative), &tag), 0);
    cr_expect_eq(tag.cts, -8388608);
    cr_assert_eq(flv_parse_video(most_positive, sizeof(most_positive), &tag), 0);
    cr_expect_eq(tag.cts, 8388607);
}

Test(flv_video, reads_avc_end_of_sequence)
{
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(avc_end_of_sequence, sizeof(avc_end_of_sequence), &tag), 0);
    expect_tag(&tag, FLV_CODEC_H264, FLV_EOS, 1, 0);
    expect_payload(&tag, avc_end_of_sequence, sizeof(avc_end_of_sequence), 5);
}

Test(flv_video, reads_codec_id_12_as_hevc_with_avc_layout)
{
    static const uint8_t config[] = { 0x1c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x60 };
    static const uint8_t frame[] = { 0x2c, 0x01, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x10 };
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(config, sizeof(config), &tag), 0);
    expect_tag(&tag, FLV_CODEC_HEVC, FLV_CONFIG, 1, 0);
    expect_payload(&tag, config, sizeof(config), 5);
    cr_assert_eq(flv_parse_video(frame, sizeof(frame), &tag), 0);
    expect_tag(&tag, FLV_CODEC_HEVC, FLV_FRAME, 0, 33);
    expect_payload(&tag, frame, sizeof(frame), 5);
}

Test(flv_video, skips_legacy_command_frame)
{
    static const uint8_t seek_start[] = { 0x57, 0x00 }; /* frame type 5, AVC, "start of seek" */
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(seek_start, sizeof(seek_start), &tag), 0);
    expect_tag(&tag, FLV_CODEC_H264, FLV_SKIP, 0, 0);
    expect_payload(&tag, seek_start, sizeof(seek_start), 1);
}

Test(flv_video, reports_other_legacy_codecs_as_unsupported)
{
    /* Sorenson H.263, screen video, VP6, VP6 with alpha, screen video v2 */
    for (uint8_t id = 2; id <= 6; id++) {
        const uint8_t body[] = { (uint8_t)(0x10 | id), 0x00, 0x00, 0x00, 0x00, 0x00 };
        flv_tag_t tag;

        cr_expect_eq(flv_parse_video(body, sizeof(body), &tag), -ENOTSUP, "codec id %d", id);
        cr_expect_eq(tag.codec, FLV_CODEC_OTHER_VIDEO, "codec id %d", id);
    }
}

Test(flv_video, reports_unassigned_codec_ids_as_unknown)
{
    static const uint8_t ids[] = { 0, 1, 8, 9, 10, 11, 13, 14, 15 };

    for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
        const uint8_t body[] = { (uint8_t)(0x10 | ids[i]), 0x00, 0x00, 0x00, 0x00, 0x00 };
        flv_tag_t tag;

        cr_expect_eq(flv_parse_video(body, sizeof(body), &tag), -ENOTSUP, "codec id %d", ids[i]);
        cr_expect_eq(tag.codec, FLV_CODEC_UNKNOWN, "codec id %d", ids[i]);
    }
}

Test(flv_video, rejects_avc_packet_type_3)
{
    static const uint8_t body[] = { 0x17, 0x03, 0x00, 0x00, 0x00 };
    flv_tag_t tag;

    cr_expect_eq(flv_parse_video(body, sizeof(body), &tag), -EPROTO);
}

Test(flv_video, rejects_empty_body)
{
    flv_tag_t tag;

    cr_expect_eq(flv_parse_video(NULL, 0, &tag), -EMSGSIZE);
}

Test(flv_video, rejects_every_cut_of_the_avc_header)
{
    for (size_t n = 0; n < 5; n++) {
        flv_tag_t tag;

        cr_expect_eq(parse_exact(flv_parse_video, avc_key_frame, n, &tag), -EMSGSIZE, "%zu", n);
        cr_expect_eq(parse_exact(flv_parse_video, avc_sequence_header, n, &tag), -EMSGSIZE);
    }
}

Test(flv_video, clears_the_tag_first)
{
    flv_tag_t tag;

    memset(&tag, 0xa5, sizeof(tag));
    cr_assert_eq(flv_parse_video(avc_end_of_sequence, sizeof(avc_end_of_sequence), &tag), 0);
    cr_expect_eq(tag.sound_rate, 0);
    cr_expect_eq(tag.sound_channels, 0);
    memset(&tag, 0xa5, sizeof(tag));
    cr_assert_eq(flv_parse_video(NULL, 0, &tag), -EMSGSIZE);
    cr_expect_eq(tag.codec, FLV_CODEC_UNKNOWN);
    cr_expect_null(tag.data);
    cr_expect_eq(tag.len, 0);
}

/* ---- Enhanced RTMP video (E-RTMP v1 "ExVideoTagHeader") ---- */

/* IsExHeader | key frame | SequenceStart, 'hvc1', then the hvcC. */
static const uint8_t ex_hevc_sequence_start[] = {
    0x90, 'h', 'v', 'c', '1', 0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90,
};
/* IsExHeader | key frame | CodedFrames, 'hvc1', SI24 cts 67, then length-prefixed NAL units. */
static const uint8_t ex_hevc_coded_frames[] = {
    0x91, 'h', 'v', 'c', '1', 0x00, 0x00, 0x43, 0x00, 0x00, 0x00, 0x02, 0x26, 0x01,
};
/* IsExHeader | inter frame | CodedFramesX: no cts on the wire. */
static const uint8_t ex_hevc_coded_frames_x[] = {
    0xa3, 'h', 'v', 'c', '1', 0x00, 0x00, 0x00, 0x02, 0x02, 0x01,
};

Test(flv_ex_video, reads_hevc_sequence_start)
{
    const uint8_t *b = ex_hevc_sequence_start;
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(b, sizeof(ex_hevc_sequence_start), &tag), 0);
    expect_tag(&tag, FLV_CODEC_HEVC, FLV_CONFIG, 1, 0);
    expect_payload(&tag, b, sizeof(ex_hevc_sequence_start), 5);
}

Test(flv_ex_video, reads_cts_of_hevc_coded_frames)
{
    const uint8_t *b = ex_hevc_coded_frames;
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(b, sizeof(ex_hevc_coded_frames), &tag), 0);
    expect_tag(&tag, FLV_CODEC_HEVC, FLV_FRAME, 1, 67);
    expect_payload(&tag, b, sizeof(ex_hevc_coded_frames), 8);
}

Test(flv_ex_video, sign_extends_negative_cts)
{
    static const uint8_t body[] = { 0xa1, 'h', 'v', 'c', '1', 0xff, 0xff, 0xdf, 0x00 };
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(body, sizeof(body), &tag), 0);
    expect_tag(&tag, FLV_CODEC_HEVC, FLV_FRAME, 0, -33);
}

Test(flv_ex_video, reads_coded_frames_x_without_cts)
{
    const uint8_t *b = ex_hevc_coded_frames_x;
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(b, sizeof(ex_hevc_coded_frames_x), &tag), 0);
    expect_tag(&tag, FLV_CODEC_HEVC, FLV_FRAME, 0, 0);
    expect_payload(&tag, b, sizeof(ex_hevc_coded_frames_x), 5);
}

Test(flv_ex_video, reads_sequence_end)
{
    static const uint8_t body[] = { 0x92, 'h', 'v', 'c', '1' };
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(body, sizeof(body), &tag), 0);
    expect_tag(&tag, FLV_CODEC_HEVC, FLV_EOS, 1, 0);
    expect_payload(&tag, body, sizeof(body), 5);
}

Test(flv_ex_video, reads_av1_coded_frames_without_cts)
{
    /* Only avc1 and hvc1 CodedFrames carry a cts; AV1 has no reordering at this level. */
    static const uint8_t body[] = { 0x91, 'a', 'v', '0', '1', 0x12, 0x00, 0x0a, 0x0b };
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(body, sizeof(body), &tag), 0);
    expect_tag(&tag, FLV_CODEC_AV1, FLV_FRAME, 1, 0);
    expect_payload(&tag, body, sizeof(body), 5);
}

Test(flv_ex_video, reads_vp9_config_and_frames)
{
    static const uint8_t config[] = { 0x90, 'v', 'p', '0', '9', 0x01, 0x00, 0x00, 0x00 };
    static const uint8_t frame[] = { 0xa1, 'v', 'p', '0', '9', 0x86, 0x00, 0x40 };
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(config, sizeof(config), &tag), 0);
    expect_tag(&tag, FLV_CODEC_VP9, FLV_CONFIG, 1, 0);
    expect_payload(&tag, config, sizeof(config), 5);
    cr_assert_eq(flv_parse_video(frame, sizeof(frame), &tag), 0);
    expect_tag(&tag, FLV_CODEC_VP9, FLV_FRAME, 0, 0);
    expect_payload(&tag, frame, sizeof(frame), 5);
}

Test(flv_ex_video, reads_cts_of_avc1_coded_frames)
{
    static const uint8_t body[] = { 0x91, 'a', 'v', 'c', '1', 0x00, 0x00, 0x21, 0x00, 0x00 };
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(body, sizeof(body), &tag), 0);
    expect_tag(&tag, FLV_CODEC_H264, FLV_FRAME, 1, 33);
    expect_payload(&tag, body, sizeof(body), 8);
}

Test(flv_ex_video, skips_metadata_whatever_its_frame_type)
{
    /* Metadata ignores the frame type, so even "command" (5) still has a FourCC. */
    static const uint8_t plain[] = { 0x94, 'h', 'v', 'c', '1', 0x02, 0x00, 0x09 };
    static const uint8_t command[] = { 0xd4, 'h', 'v', 'c', '1', 0x02, 0x00, 0x09 };
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(plain, sizeof(plain), &tag), 0);
    expect_tag(&tag, FLV_CODEC_HEVC, FLV_SKIP, 0, 0);
    expect_payload(&tag, plain, sizeof(plain), 5);
    cr_assert_eq(flv_parse_video(command, sizeof(command), &tag), 0);
    expect_tag(&tag, FLV_CODEC_HEVC, FLV_SKIP, 0, 0);
}

Test(flv_ex_video, skips_mpeg2ts_sequence_start)
{
    static const uint8_t body[] = { 0x95, 'a', 'v', '0', '1', 0x80, 0x04, 0x81 };
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(body, sizeof(body), &tag), 0);
    expect_tag(&tag, FLV_CODEC_AV1, FLV_SKIP, 1, 0);
}

Test(flv_ex_video, skips_command_frame_which_has_no_fourcc)
{
    static const uint8_t body[] = { 0xd1, 0x01 }; /* command frame, "end of seek" */
    flv_tag_t tag;

    cr_assert_eq(flv_parse_video(body, sizeof(body), &tag), 0);
    expect_tag(&tag, FLV_CODEC_UNKNOWN, FLV_SKIP, 0, 0);
    expect_payload(&tag, body, sizeof(body), 1);
}

Test(flv_ex_video, rejects_packet_types_beyond_v1)
{
    for (uint8_t type = 6; type <= 15; type++) {
        const uint8_t body[] = { (uint8_t)(0x90 | type), 'h', 'v', 'c', '1', 0x00, 0x00, 0x00 };
        flv_tag_t tag;

        cr_expect_eq(flv_parse_video(body, sizeof(body), &tag), -EPROTO, "packet type %d", type);
    }
}

Test(flv_ex_video, reports_unknown_fourcc_as_unsupported)
{
    static const uint8_t vvc[] = { 0x90, 'v', 'v', 'c', '1', 0x00 };
    static const uint8_t upper[] = { 0x91, 'H', 'V', 'C', '1', 0x00, 0x00, 0x00 };
    flv_tag_t tag;

    cr_expect_eq(flv_parse_video(vvc, sizeof(vvc), &tag), -ENOTSUP);
    cr_expect_eq(tag.codec, FLV_CODEC_UNKNOWN);
    cr_expect_eq(flv_parse_video(upper, sizeof(upper), &tag), -ENOTSUP);
    cr_expect_eq(tag.codec, FLV_CODEC_UNKNOWN);
}

Test(flv_ex_video, rejects_every_cut_of_the_header)
{
    flv_tag_t tag;

    for (size_t n = 0; n < 8; n++)
        cr_expect_eq(parse_exact(flv_parse_video, ex_hevc_coded_frames, n, &tag), -EMSGSIZE,
                     "coded frames cut at %zu", n);
    for (size_t n = 0; n < 5; n++) {
        cr_expect_eq(parse_exact(flv_parse_video, ex_hevc_coded_frames_x, n, &tag), -EMSGSIZE,
                     "coded frames x cut at %zu", n);
        cr_expect_eq(parse_exact(flv_parse_video, ex_hevc_sequence_start, n, &tag), -EMSGSIZE,
                     "sequence start cut at %zu", n);
    }
}

Test(flv_ex_video, accepts_header_with_empty_payload)
{
    flv_tag_t tag;

    cr_assert_eq(parse_exact(flv_parse_video, ex_hevc_coded_frames, 8, &tag), 0);
    cr_expect_eq(tag.len, 0);
    cr_assert_eq(parse_exact(flv_parse_video, ex_hevc_coded_frames_x, 5, &tag), 0);
    cr_expect_eq(tag.len, 0);
}

/* ---- audio (FLV spec E.4.2.1) ---- */

/* ffmpeg aac, 44100 Hz stereo: AudioSpecificConfig 12 10 and its SBR sync extension. */
static const uint8_t aac_sequence_header[] = { 0xaf, 0x00, 0x12, 0x10, 0x56, 0xe5, 0x00 };
/* the first raw AAC frame after it */
static const uint8_t aac_raw_frame[] = { 0xaf, 0x01, 0xde, 0x02, 0x00, 0x4c, 0x61, 0x76, 0x63 };
/* libmp3lame, 44100 Hz mono: 0x2e, then an MPEG audio frame header */
static const uint8_t mp3_frame[] = { 0x2e, 0xff, 0xfb, 0x50, 0xc4, 0x00, 0x00 };

Test(flv_audio, reads_aac_sequence_header)
{
    const uint8_t *b = aac_sequence_header;
    flv_tag_t tag;

    cr_assert_eq(flv_parse_audio(b, sizeof(aac_sequence_header), &tag), 0);
    expect_tag(&tag, FLV_CODEC_AAC, FLV_CONFIG, 0, 0);
    expect_payload(&tag, b, sizeof(aac_sequence_header), 2);
    cr_expect_eq(tag.sound_rate, 44100);
    cr_expect_eq(tag.sound_channels, 2);
}

Test(flv_audio, reads_aac_raw_frame)
{
    flv_tag_t tag;

    cr_assert_eq(flv_parse_audio(aac_raw_frame, sizeof(aac_raw_frame), &tag), 0);
    expect_tag(&tag, FLV_CODEC_AAC, FLV_FRAME, 0, 0);
    expect_payload(&tag, aac_raw_frame, sizeof(aac_raw_frame), 2);
}

Test(flv_audio, rejects_aac_packet_type_2)
{
    static const uint8_t body[] = { 0xaf, 0x02, 0x00 };
    flv_tag_t tag;

    cr_expect_eq(flv_parse_audio(body, sizeof(body), &tag), -EPROTO);
}

Test(flv_audio, rejects_every_cut_of_the_aac_header)
{
    flv_tag_t tag;

    cr_expect_eq(parse_exact(flv_parse_audio, aac_raw_frame, 0, &tag), -EMSGSIZE);
    cr_expect_eq(parse_exact(flv_parse_audio, aac_raw_frame, 1, &tag), -EMSGSIZE);
    cr_expect_eq(parse_exact(flv_parse_audio, aac_raw_frame, 2, &tag), 0);
    cr_expect_eq(tag.len, 0);
}

Test(flv_audio, reads_mp3_frame)
{
    flv_tag_t tag;

    cr_assert_eq(flv_parse_audio(mp3_frame, sizeof(mp3_frame), &tag), 0);
    expect_tag(&tag, FLV_CODEC_MP3, FLV_FRAME, 0, 0);
    expect_payload(&tag, mp3_frame, sizeof(mp3_frame), 1);
    cr_expect_eq(tag.sound_rate, 44100);
    cr_expect_eq(tag.sound_channels, 1);
}

Test(flv_audio, reads_format_14_as_mp3_at_8khz)
{
    static const uint8_t body[] = { 0xe2, 0xff, 0xf3 };
    flv_tag_t tag;

    cr_assert_eq(flv_parse_audio(body, sizeof(body), &tag), 0);
    expect_tag(&tag, FLV_CODEC_MP3, FLV_FRAME, 0, 0);
    cr_expect_eq(tag.sound_rate, 8000);
}

Test(flv_audio, reads_rate_and_channels_from_the_header_bits)
{
    static const int rates[] = { 5500, 11025, 22050, 44100 };

    for (int i = 0; i < 8; i++) {
        /* AAC, SoundRate i/2, 16-bit, SoundType i%2 */
        const uint8_t body[] = { (uint8_t)(0xa2 | (i / 2) << 2 | (i % 2)), 0x01 };
        flv_tag_t tag;

        cr_assert_eq(flv_parse_audio(body, sizeof(body), &tag), 0);
        cr_expect_eq(tag.sound_rate, rates[i / 2], "byte 0x%02x", body[0]);
        cr_expect_eq(tag.sound_channels, 1 + i % 2, "byte 0x%02x", body[0]);
    }
}

Test(flv_audio, reports_other_formats_as_unsupported)
{
    static const uint8_t formats[] = { 0, 1, 3, 4, 5, 6, 7, 8, 11, 15 };

    for (size_t i = 0; i < ARRAY_LEN(formats); i++) {
        const uint8_t body[] = { (uint8_t)(formats[i] << 4 | 0x0e), 0x00 };
        flv_tag_t tag;

        cr_expect_eq(flv_parse_audio(body, sizeof(body), &tag), -ENOTSUP, "format %d", formats[i]);
        cr_expect_eq(tag.codec, FLV_CODEC_OTHER_AUDIO, "format %d", formats[i]);
        cr_expect_eq(tag.sound_rate, 44100); /* still filled in, for the error message */
        cr_expect_eq(tag.sound_channels, 1);
    }
}

Test(flv_audio, reports_ex_audio_header_and_unassigned_formats_as_unknown)
{
    static const uint8_t formats[] = { 9, 12, 13 };

    for (size_t i = 0; i < ARRAY_LEN(formats); i++) {
        const uint8_t body[] = { (uint8_t)(formats[i] << 4), 'O', 'p', 'u', 's' };
        flv_tag_t tag;

        cr_expect_eq(flv_parse_audio(body, sizeof(body), &tag), -ENOTSUP, "format %d", formats[i]);
        cr_expect_eq(tag.codec, FLV_CODEC_UNKNOWN, "format %d", formats[i]);
    }
}

Test(flv_audio, clears_the_tag_first)
{
    flv_tag_t tag;

    memset(&tag, 0xa5, sizeof(tag));
    cr_assert_eq(flv_parse_audio(aac_raw_frame, sizeof(aac_raw_frame), &tag), 0);
    cr_expect_eq(tag.keyframe, 0);
    cr_expect_eq(tag.cts, 0);
    memset(&tag, 0xa5, sizeof(tag));
    cr_expect_eq(flv_parse_audio(NULL, 0, &tag), -EMSGSIZE);
    cr_expect_eq(tag.codec, FLV_CODEC_UNKNOWN);
    cr_expect_null(tag.data);
}

/* ---- names ---- */

Test(flv_codec_name, names_every_codec_in_lowercase)
{
    cr_expect_str_eq(flv_codec_name(FLV_CODEC_UNKNOWN), "unknown");
    cr_expect_str_eq(flv_codec_name(FLV_CODEC_H264), "h264");
    cr_expect_str_eq(flv_codec_name(FLV_CODEC_HEVC), "hevc");
    cr_expect_str_eq(flv_codec_name(FLV_CODEC_AV1), "av1");
    cr_expect_str_eq(flv_codec_name(FLV_CODEC_VP9), "vp9");
    cr_expect_str_eq(flv_codec_name(FLV_CODEC_AAC), "aac");
    cr_expect_str_eq(flv_codec_name(FLV_CODEC_MP3), "mp3");
    cr_expect_str_eq(flv_codec_name(FLV_CODEC_OTHER_AUDIO), "other-audio");
    cr_expect_str_eq(flv_codec_name(FLV_CODEC_OTHER_VIDEO), "other-video");
}

Test(flv_codec_name, says_unknown_for_values_outside_the_enum)
{
    cr_expect_str_eq(flv_codec_name((flv_codec_t)99), "unknown");
    cr_expect_str_eq(flv_codec_name((flv_codec_t)-1), "unknown");
}
