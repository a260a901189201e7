/* Unit tests for proto/nal.c: avcC, hvcC and AudioSpecificConfig.
 *
 * "Real" vectors are records ffmpeg 5.1 wrote (libx264 and aac in FLV, libx265 in MP4's hvcC box)
 * at the sizes the tests expect. Hand-built SPSs cover what those encoders never emit (scaling
 * lists in the SPS, POC type 1, separate colour planes, sub-layers); each was checked field by
 * field with ffmpeg's trace_headers bitstream filter before it was pasted here. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/nal.h"

typedef int (*video_parser_t)(const uint8_t *, size_t, nal_video_info_t *);

/* Parse from a heap copy of exactly len bytes, so AddressSanitizer sees any read past the end. */
static int parse_exact(video_parser_t parse, const uint8_t *buf, size_t len, nal_video_info_t *v)
{
    uint8_t *copy = malloc(len ? len : 1);
    int rc;

    cr_assert_not_null(copy);
    memcpy(copy, buf, len);
    rc = parse(copy, len, v);
    free(copy);
    return rc;
}

static void expect_video(const nal_video_info_t *v, int width, int height, int profile, int level,
                         int nal_length_size)
{
    cr_expect_eq(v->width, width, "width %d, want %d", v->width, width);
    cr_expect_eq(v->height, height, "height %d, want %d", v->height, height);
    cr_expect_eq(v->profile, profile, "profile %d, want %d", v->profile, profile);
    cr_expect_eq(v->level, level, "level %d, want %d", v->level, level);
    cr_expect_eq(v->nal_length_size, nal_length_size);
}

/* The smallest avcC around one SPS: 4-byte lengths, no PPS. */
static size_t wrap_avcc(const uint8_t *sps, size_t n, uint8_t *out)
{
    const uint8_t head[] = {
        0x01, sps[1], sps[2], sps[3], 0xff, 0xe1, (uint8_t)(n >> 8), (uint8_t)n
    };

    memcpy(out, head, sizeof(head));
    memcpy(out + sizeof(head), sps, n);
    out[sizeof(head) + n] = 0x00; /* numOfPictureParameterSets */
    return sizeof(head) + n + 1;
}

static int parse_h264_sps(const uint8_t *sps, size_t n, nal_video_info_t *v)
{
    uint8_t record[512];

    cr_assert_leq(n + 9, sizeof(record));
    return parse_exact(nal_parse_avcc, record, wrap_avcc(sps, n, record), v);
}

/* Every value a parser may return for hostile input; anything else is a bug. */
static void expect_sane(int rc, const nal_video_info_t *v, const char *what, size_t bit)
{
    cr_expect(rc == 0 || rc == -EMSGSIZE || rc == -EPROTO || rc == -ENOTSUP,
              "%s, bit %zu flipped: rc %d", what, bit, rc);
    if (rc == 0)
        cr_expect(v->width > 0 && v->width <= 16888 && v->height > 0 && v->height <= 16888,
                  "%s, bit %zu flipped: %dx%d", what, bit, v->width, v->height);
}

static void flip_every_bit(video_parser_t parse, const uint8_t *buf, size_t len, const char *what)
{
    uint8_t *copy = malloc(len);

    cr_assert_not_null(copy);
    for (size_t bit = 0; bit < len * 8; bit++) {
        nal_video_info_t v;

        memcpy(copy, buf, len);
        copy[bit / 8] ^= (uint8_t)(0x80 >> bit % 8);
        expect_sane(parse(copy, len, &v), &v, what, bit);
    }
    free(copy);
}

/* ---- avcC (ISO/IEC 14496-15 5.3.3.1) and the H.264 SPS (7.3.2.1.1) ---- */

/* libx264 1280x720 yuv420p, High@3.1 */
static const uint8_t avcc_720p_high[] = {
    0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50,
    0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83,
    0x19, 0x60, 0x01, 0x00, 0x06, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0, 0xfd, 0xf8, 0xf8, 0x00,
};

/* libx264 854x480 yuv420p, High@3.1: 864 coded, 10 cropped right */
static const uint8_t avcc_480p_high[] = {
    0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0xd8,
    0x3d, 0xe6, 0xf0, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x0f, 0x18,
    0x31, 0x96, 0x01, 0x00, 0x06, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0, 0xfd, 0xf8, 0xf8, 0x00,
};

/* libx264 640x360 -profile:v baseline: 368 coded, 8 cropped at the bottom */
static const uint8_t avcc_360p_baseline[] = {
    0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0x00, 0x19, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00,
    0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00,
    0x3c, 0x0f, 0x16, 0x2e, 0x48, 0x01, 0x00, 0x05, 0x68, 0xcb, 0x83, 0xcb, 0x20,
};

/* libx264 640x360 -profile:v main */
static const uint8_t avcc_360p_main[] = {
    0x01, 0x4d, 0x40, 0x1e, 0xff, 0xe1, 0x00, 0x18, 0x67, 0x4d, 0x40, 0x1e, 0xec, 0xa0,
    0x50, 0x17, 0xfc, 0xb8, 0x08, 0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x1e,
    0x07, 0x8b, 0x16, 0xcb, 0x01, 0x00, 0x05, 0x68, 0xeb, 0xe3, 0xcb, 0x20,
};

/* libx264 640x360 yuv422p, High 4:2:2@3: crop rows count 1 (SubHeightC 1) */
static const uint8_t avcc_360p_high422[] = {
    0x01, 0x7a, 0x00, 0x1e, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0x7a, 0x00, 0x1e, 0xbc, 0xd9, 0x40, 0xa0,
    0x2f, 0xf8, 0x9c, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x03, 0xc5, 0x8b,
    0x65, 0x80, 0x01, 0x00, 0x06, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0, 0xfe, 0xf8, 0xf8, 0x00,
};

/* libx264 1920x1080 -x264-params interlaced=1: 34 field MB pairs, 8 cropped */
static const uint8_t avcc_1080i_high[] = {
    0x01, 0x64, 0x00, 0x28, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78,
    0x04, 0x4f, 0xde, 0x02, 0x20, 0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x07, 0x83, 0xe2, 0xc5,
    0xb2, 0xc0, 0x01, 0x00, 0x06, 0x68, 0xfb, 0xa3, 0xcb, 0x22, 0xc0, 0xfd, 0xf8, 0xf8, 0x00,
};

/* libx264 642x362 yuv444p, High 4:4:4@3: crop unit 1 both ways */
static const uint8_t avcc_642x362_high444[] = {
    0x01, 0xf4, 0x00, 0x1e, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0xf4, 0x00, 0x1e, 0x91, 0x9b, 0x28, 0x14,
    0x85, 0xfc, 0x7c, 0xf8, 0x08, 0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x1e, 0x07, 0x8b,
    0x16, 0xcb, 0x01, 0x00, 0x06, 0x68, 0xeb, 0xe3, 0xc4, 0x48, 0x44, 0xff, 0xf8, 0xf8, 0x00,
};

/* libx264 322x242 gray, High@1.3: chroma_format_idc 0 */
static const uint8_t avcc_322x242_gray[] = {
    0x01, 0x64, 0x00, 0x0d, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0x64, 0x00, 0x0d, 0xf3, 0x65, 0x05, 0x42,
    0x1e, 0x3e, 0x3f, 0x01, 0x6c, 0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x1e, 0x07, 0x8a,
    0x14, 0xcb, 0x01, 0x00, 0x06, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0, 0xfc, 0xf8, 0xf8, 0x00,
};

/* High 1280x720 with seq_scaling_matrix_present_flag: full 4x4 and 8x8 lists, a list that ends
 * early at next 0, and default-matrix lists */
static const uint8_t sps_scaling_420[] = {
    0x67, 0x64, 0x00, 0x1f, 0xad, 0x90, 0xe2, 0x96, 0x20, 0xa3, 0x92, 0x43, 0x4c, 0x40,
    0x92, 0x21, 0x06, 0xe1, 0x12, 0x2d, 0x98, 0x4c, 0x41, 0xd0, 0xa2, 0x90, 0x5b, 0x30,
    0x98, 0x83, 0xa1, 0x45, 0x20, 0xb6, 0x61, 0x31, 0x07, 0x42, 0x8a, 0x41, 0x6c, 0xc2,
    0x62, 0x0e, 0x85, 0x14, 0x82, 0xd9, 0x84, 0xc4, 0x1d, 0x0a, 0x29, 0x05, 0xb3, 0x09,
    0x88, 0x3a, 0x15, 0x08, 0xec, 0xa0, 0x28, 0x02, 0xdc, 0x80,
};

/* High 4:4:4 642x362 with scaling lists 9 and 11, which only 4:4:4 has (12 lists) */
static const uint8_t sps_scaling_444[] = {
    0x67, 0xf4, 0x00, 0x1e, 0x91, 0xb2, 0x1c, 0x52, 0xc4, 0x14, 0x72, 0x48, 0x69, 0x88, 0x12,
    0x04, 0x5b, 0x30, 0x98, 0x83, 0xa1, 0x45, 0x20, 0xb6, 0x61, 0x31, 0x07, 0x42, 0x8a, 0x41,
    0x6c, 0xc2, 0x62, 0x0e, 0x85, 0x14, 0x82, 0xd9, 0x84, 0xc4, 0x1d, 0x0a, 0x29, 0x05, 0xb3,
    0x09, 0x88, 0x3a, 0x14, 0x52, 0x0b, 0x66, 0x13, 0x10, 0x74, 0x28, 0x84, 0x51, 0x6c, 0xc2,
    0x62, 0x0e, 0x85, 0x14, 0x82, 0xd9, 0x84, 0xc4, 0x1d, 0x0a, 0x29, 0x05, 0xb3, 0x09, 0x88,
    0x3a, 0x14, 0x52, 0x0b, 0x66, 0x13, 0x10, 0x74, 0x28, 0xa4, 0x16, 0xcc, 0x26, 0x20, 0xe8,
    0x51, 0x48, 0x2d, 0x98, 0x4c, 0x41, 0xd0, 0xad, 0x94, 0x0a, 0x42, 0xfe, 0x3e, 0x74,
};

/* 4:4:4 with separate_colour_plane_flag, field coding: 656x1088 coded, crop right 14, bottom 4
 * field pairs */
static const uint8_t sps_separate_planes[] = {
    0x67, 0xf4, 0x00, 0x28, 0x93, 0x9b, 0x28, 0x14, 0x82, 0x23, 0x8f, 0x95,
};

/* Baseline 854x480 with pic_order_cnt_type 1 and a 3-entry offset_for_ref_frame cycle */
static const uint8_t sps_poc_type1[] = {
    0x67, 0x42, 0xc0, 0x1e, 0xd0, 0xa8, 0x86, 0x63, 0x8a, 0x06, 0xc1, 0xef, 0x36, 0x80,
};

/* 640x480 whose 2^20 POC offsets leave long zero runs: five 00 00 03 emulation prevention bytes
 * before the size */
static const uint8_t sps_escaped[] = {
    0x67, 0x42, 0xc0, 0x1e, 0xd0, 0x00, 0x00, 0x10, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03,
    0x02, 0x00, 0x00, 0x07, 0x00, 0x00, 0x04, 0x00, 0x00, 0x05, 0x02, 0x80, 0xf7, 0xf4,
};

/* num_ref_frames_in_pic_order_cnt_cycle 256: one past the 0..255 range of 7.4.2.1.1 */
static const uint8_t sps_poc_cycle_256[] = {
    0x67, 0x42, 0x00, 0x1e, 0xd3, 0x00, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x94, 0x05, 0x00, 0x5b, 0x90,
};

/* pic_width_in_mbs_minus1 coded with 32 leading zeros: no ue(v) is that long */
static const uint8_t sps_ue_32_zeros[] = {
    0x67, 0x42, 0x00, 0x1e, 0xda, 0x00, 0x00, 0x03, 0x00, 0x00, 0x40, 0x08,
};

/* chroma_format_idc 4 (range 0..3) */
static const uint8_t sps_chroma_idc_4[] = {
    0x67, 0x64, 0x00, 0x1f, 0x97, 0x36, 0x50, 0x14, 0x01, 0x6e, 0x40,
};

/* delta_scale 200 (range -128..127) */
static const uint8_t sps_delta_scale_200[] = {
    0x67, 0x64, 0x00, 0x1f, 0xad, 0x80, 0x64, 0x3f, 0xff, 0x80, 0xd9, 0x40, 0x50, 0x05, 0xb9,
};

/* pic_width_in_mbs_minus1 1099: 17600 samples, wider than any level allows */
static const uint8_t sps_too_wide[] = {
    0x67, 0x42, 0x00, 0x1f, 0xec, 0xa0, 0x02, 0x26, 0x07, 0xb2,
};

/* 32x32 coded, 16 crop units (32 samples) cropped from the width */
static const uint8_t sps_crop_whole_width[] = {
    0x67, 0x42, 0x00, 0x1f, 0xec, 0xa4, 0xb8, 0x91, 0x3a,
};

/* seq_parameter_set_id 32 (range 0..31) */
static const uint8_t sps_sps_id_32[] = {
    0x67, 0x42, 0x00, 0x1f, 0x04, 0x3b, 0x28, 0x0a, 0x00, 0xb7, 0x20,
};

/* pic_order_cnt_type 3 (range 0..2) */
static const uint8_t sps_poc_type_3[] = {
    0x67, 0x42, 0x00, 0x1f, 0xc8, 0x50, 0x14, 0x01, 0x6e, 0x40,
};

/* an SPS body behind a PPS NAL header (nal_unit_type 8) */
static const uint8_t nal_pps_not_sps[] = {
    0x68, 0x42, 0x00, 0x1f, 0xec, 0xa0, 0x28, 0x02, 0xdc, 0x80,
};

Test(avcc, reads_720p_high)
{
    nal_video_info_t v;

    cr_assert_eq(nal_parse_avcc(avcc_720p_high, sizeof(avcc_720p_high), &v), 0);
    expect_video(&v, 1280, 720, 100, 31, 4);
}

Test(avcc, crops_854x480_at_the_right_edge)
{
    nal_video_info_t v;

    cr_assert_eq(nal_parse_avcc(avcc_480p_high, sizeof(avcc_480p_high), &v), 0);
    expect_video(&v, 854, 480, 100, 31, 4);
}

Test(avcc, crops_baseline_360p_at_the_bottom)
{
    nal_video_info_t v;

    cr_assert_eq(nal_parse_avcc(avcc_360p_baseline, sizeof(avcc_360p_baseline), &v), 0);
    expect_video(&v, 640, 360, 66, 30, 4);
}

Test(avcc, reads_main_profile)
{
    nal_video_info_t v;

    cr_assert_eq(nal_parse_avcc(avcc_360p_main, sizeof(avcc_360p_main), &v), 0);
    expect_video(&v, 640, 360, 77, 30, 4);
}

Test(avcc, crops_422_rows_one_at_a_time)
{
    nal_video_info_t v;

    cr_assert_eq(nal_parse_avcc(avcc_360p_high422, sizeof(avcc_360p_high422), &v), 0);
    expect_video(&v, 640, 360, 122, 30, 4);
}

Test(avcc, counts_field_mb_pairs_for_interlaced_1080)
{
    nal_video_info_t v;

    cr_assert_eq(nal_parse_avcc(avcc_1080i_high, sizeof(avcc_1080i_high), &v), 0);
    expect_video(&v, 1920, 1080, 100, 40, 4);
}

Test(avcc, crops_444_one_sample_at_a_time)
{
    nal_video_info_t v;

    cr_assert_eq(nal_parse_avcc(avcc_642x362_high444, sizeof(avcc_642x362_high444), &v), 0);
    expect_video(&v, 642, 362, 244, 30, 4);
}

Test(avcc, crops_monochrome_one_sample_at_a_time)
{
    nal_video_info_t v;

    cr_assert_eq(nal_parse_avcc(avcc_322x242_gray, sizeof(avcc_322x242_gray), &v), 0);
    expect_video(&v, 322, 242, 100, 13, 4);
}

Test(avcc, skips_sps_scaling_lists)
{
    nal_video_info_t v;

    cr_assert_eq(parse_h264_sps(sps_scaling_420, sizeof(sps_scaling_420), &v), 0);
    expect_video(&v, 1280, 720, 100, 31, 4);
}

Test(avcc, skips_the_twelve_scaling_lists_of_444)
{
    nal_video_info_t v;

    cr_assert_eq(parse_h264_sps(sps_scaling_444, sizeof(sps_scaling_444), &v), 0);
    expect_video(&v, 642, 362, 244, 30, 4);
}

Test(avcc, reads_separate_colour_planes_with_field_pairs)
{
    nal_video_info_t v;

    cr_assert_eq(parse_h264_sps(sps_separate_planes, sizeof(sps_separate_planes), &v), 0);
    expect_video(&v, 642, 1080, 244, 40, 4);
}

Test(avcc, skips_the_poc_type_1_cycle)
{
    nal_video_info_t v;

    cr_assert_eq(parse_h264_sps(sps_poc_type1, sizeof(sps_poc_type1), &v), 0);
    expect_video(&v, 854, 480, 66, 30, 4);
}

Test(avcc, removes_emulation_prevention_bytes)
{
    nal_video_info_t v;

    cr_assert_eq(parse_h264_sps(sps_escaped, sizeof(sps_escaped), &v), 0);
    expect_video(&v, 640, 480, 66, 30, 4);
}

Test(avcc, uses_the_first_of_several_sps)
{
    uint8_t record[6 + 2 * (2 + 26) + 1];
    nal_video_info_t v;

    memcpy(record, avcc_720p_high, 6 + 2 + 26);              /* header and the 720p SPS */
    record[5] = 0xe2;                                        /* numOfSequenceParameterSets 2 */
    memcpy(record + 6 + 2 + 26, avcc_480p_high + 6, 2 + 26); /* then the 480p SPS */
    record[sizeof(record) - 1] = 0x00;                       /* no PPS */
    cr_assert_eq(parse_exact(nal_parse_avcc, record, sizeof(record), &v), 0);
    expect_video(&v, 1280, 720, 100, 31, 4);
}

Test(avcc, reports_one_and_two_byte_nal_lengths)
{
    uint8_t record[sizeof(avcc_720p_high)];
    nal_video_info_t v;

    memcpy(record, avcc_720p_high, sizeof(record));
    record[4] = 0xfc; /* lengthSizeMinusOne 0 */
    cr_assert_eq(nal_parse_avcc(record, sizeof(record), &v), 0);
    cr_expect_eq(v.nal_length_size, 1);
    record[4] = 0xfd;
    cr_assert_eq(nal_parse_avcc(record, sizeof(record), &v), 0);
    cr_expect_eq(v.nal_length_size, 2);
}

Test(avcc, rejects_three_byte_nal_lengths)
{
    uint8_t record[sizeof(avcc_720p_high)];
    nal_video_info_t v;

    memcpy(record, avcc_720p_high, sizeof(record));
    record[4] = 0xfe; /* lengthSizeMinusOne 2 */
    cr_expect_eq(nal_parse_avcc(record, sizeof(record), &v), -EPROTO);
}

Test(avcc, refuses_unknown_configuration_version)
{
    uint8_t record[sizeof(avcc_720p_high)];
    nal_video_info_t v;

    memcpy(record, avcc_720p_high, sizeof(record));
    record[0] = 0x00;
    cr_expect_eq(nal_parse_avcc(record, sizeof(record), &v), -ENOTSUP);
    record[0] = 0x02;
    cr_expect_eq(nal_parse_avcc(record, sizeof(record), &v), -ENOTSUP);
}

Test(avcc, rejects_a_record_without_sps)
{
    static const uint8_t record[] = { 0x01, 0x64, 0x00, 0x1f, 0xff, 0xe0, 0x01, 0x00, 0x01, 0x68 };
    nal_video_info_t v;

    cr_expect_eq(nal_parse_avcc(record, sizeof(record), &v), -EPROTO);
}

Test(avcc, rejects_every_cut_before_the_end_of_the_last_pps)
{
    /* header 6, SPS 2 + 26, numOfPictureParameterSets 1, PPS 2 + 6 */
    const size_t end = 6 + 2 + 26 + 1 + 2 + 6;
    nal_video_info_t v;

    for (size_t n = 0; n < end; n++)
        cr_expect_eq(parse_exact(nal_parse_avcc, avcc_720p_high, n, &v), -EMSGSIZE, "cut at %zu",
                     n);
}

Test(avcc, does_without_the_high_profile_tail)
{
    /* The 4-byte chroma/bit depth tail after the PPS is optional in practice (5.3.3.1.2). */
    for (size_t n = sizeof(avcc_720p_high) - 4; n <= sizeof(avcc_720p_high); n++) {
        nal_video_info_t v;

        cr_assert_eq(parse_exact(nal_parse_avcc, avcc_720p_high, n, &v), 0, "cut at %zu", n);
        expect_video(&v, 1280, 720, 100, 31, 4);
    }
}

Test(avcc, rejects_every_cut_of_the_sps_before_the_cropping_flag)
{
    /* frame_cropping_flag is bit 77 of this SPS, so its first 10 bytes are needed. */
    const uint8_t *sps = avcc_720p_high + 8;

    for (size_t n = 0; n <= 26; n++) {
        nal_video_info_t v;
        int rc = parse_h264_sps(sps, n, &v);

        if (n < 10) {
            cr_expect_eq(rc, -EMSGSIZE, "cut at %zu", n);
            continue;
        }
        cr_assert_eq(rc, 0, "cut at %zu", n);
        expect_video(&v, 1280, 720, 100, 31, 4);
    }
}

Test(avcc, never_reads_past_any_cut_of_a_hand_built_sps)
{
    static const struct {
        const uint8_t *sps;
        size_t len;
    } cases[] = {
        { sps_scaling_420, sizeof(sps_scaling_420) },
        { sps_scaling_444, sizeof(sps_scaling_444) },
        { sps_separate_planes, sizeof(sps_separate_planes) },
        { sps_poc_type1, sizeof(sps_poc_type1) },
        { sps_escaped, sizeof(sps_escaped) },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nal_video_info_t whole, v;

        cr_assert_eq(parse_h264_sps(cases[i].sps, cases[i].len, &whole), 0);
        for (size_t n = 0; n < cases[i].len; n++) {
            int rc = parse_h264_sps(cases[i].sps, n, &v);

            cr_expect(rc == -EMSGSIZE ||
                          (rc == 0 && v.width == whole.width && v.height == whole.height),
                      "case %zu cut at %zu: rc %d", i, n, rc);
        }
    }
}

Test(avcc, rejects_poc_cycle_longer_than_255)
{
    nal_video_info_t v;

    cr_expect_eq(parse_h264_sps(sps_poc_cycle_256, sizeof(sps_poc_cycle_256), &v), -EPROTO);
}

Test(avcc, rejects_ue_with_32_leading_zeros)
{
    nal_video_info_t v;

    cr_expect_eq(parse_h264_sps(sps_ue_32_zeros, sizeof(sps_ue_32_zeros), &v), -EPROTO);
}

Test(avcc, rejects_an_sps_body_of_zeros)
{
    /* seq_parameter_set_id is the first ue(v): 64 zero bits make it absurd, not merely long. */
    static const uint8_t sps[] = { 0x67, 0x42, 0xc0, 0x1e, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x80 };
    nal_video_info_t v;

    cr_expect_eq(parse_h264_sps(sps, sizeof(sps), &v), -EPROTO);
}

Test(avcc, rejects_chroma_format_idc_4)
{
    nal_video_info_t v;

    cr_expect_eq(parse_h264_sps(sps_chroma_idc_4, sizeof(sps_chroma_idc_4), &v), -EPROTO);
}

Test(avcc, rejects_delta_scale_out_of_range)
{
    nal_video_info_t v;

    cr_expect_eq(parse_h264_sps(sps_delta_scale_200, sizeof(sps_delta_scale_200), &v), -EPROTO);
}

Test(avcc, rejects_width_beyond_any_level)
{
    nal_video_info_t v;

    cr_expect_eq(parse_h264_sps(sps_too_wide, sizeof(sps_too_wide), &v), -EPROTO);
}

Test(avcc, rejects_cropping_the_whole_width)
{
    nal_video_info_t v;

    cr_expect_eq(parse_h264_sps(sps_crop_whole_width, sizeof(sps_crop_whole_width), &v), -EPROTO);
}

Test(avcc, rejects_sps_id_32)
{
    nal_video_info_t v;

    cr_expect_eq(parse_h264_sps(sps_sps_id_32, sizeof(sps_sps_id_32), &v), -EPROTO);
}

Test(avcc, rejects_poc_type_3)
{
    nal_video_info_t v;

    cr_expect_eq(parse_h264_sps(sps_poc_type_3, sizeof(sps_poc_type_3), &v), -EPROTO);
}

Test(avcc, rejects_a_nal_that_is_not_an_sps)
{
    nal_video_info_t v;

    cr_expect_eq(parse_h264_sps(nal_pps_not_sps, sizeof(nal_pps_not_sps), &v), -EPROTO);
}

Test(avcc, zeroes_the_output_on_error)
{
    nal_video_info_t v;

    memset(&v, 0x55, sizeof(v));
    cr_assert_eq(parse_h264_sps(sps_crop_whole_width, sizeof(sps_crop_whole_width), &v), -EPROTO);
    expect_video(&v, 0, 0, 0, 0, 0);
}

Test(avcc, survives_every_single_bit_flip)
{
    flip_every_bit(nal_parse_avcc, avcc_720p_high, sizeof(avcc_720p_high), "720p avcC");
    flip_every_bit(nal_parse_avcc, avcc_1080i_high, sizeof(avcc_1080i_high), "1080i avcC");
    flip_every_bit(nal_parse_avcc, avcc_642x362_high444, sizeof(avcc_642x362_high444), "444");
}

/* ---- hvcC (ISO/IEC 14496-15 8.3.3.1) and the H.265 SPS (7.3.2.2.1) ---- */

/* libx265 1920x1080 yuv420p, Main@4 (level_idc 120): no conformance window */
static const uint8_t hvcc_1080p_main[] = {
    0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x78, 0xf0, 0x00, 0xfc,
    0xfd, 0xf8, 0xf8, 0x00, 0x00, 0x0f, 0x03, 0xa0, 0x00, 0x01, 0x00, 0x18, 0x40, 0x01, 0x0c, 0x01,
    0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00,
    0x78, 0x95, 0x98, 0x09, 0xa1, 0x00, 0x01, 0x00, 0x2a, 0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00,
    0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x78, 0xa0, 0x03, 0xc0, 0x80, 0x10,
    0xe5, 0x96, 0x56, 0x69, 0x24, 0xca, 0xf0, 0x16, 0x80, 0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00,
    0x00, 0x0f, 0x04, 0xa2, 0x00, 0x01, 0x00, 0x07, 0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40,
};

/* libx265 854x480 yuv420p, Main@3: 856 coded, window right 1 (x2) */
static const uint8_t hvcc_480p_main[] = {
    0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5a, 0xf0, 0x00, 0xfc,
    0xfd, 0xf8, 0xf8, 0x00, 0x00, 0x0f, 0x03, 0xa0, 0x00, 0x01, 0x00, 0x18, 0x40, 0x01, 0x0c, 0x01,
    0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00,
    0x5a, 0x95, 0x98, 0x09, 0xa1, 0x00, 0x01, 0x00, 0x2a, 0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00,
    0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x5a, 0xa0, 0x06, 0xb2, 0x01, 0xe1,
    0xd7, 0x96, 0x56, 0x69, 0x24, 0xca, 0xf0, 0x16, 0x80, 0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00,
    0x00, 0x0f, 0x04, 0xa2, 0x00, 0x01, 0x00, 0x07, 0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40,
};

/* libx265 642x362 yuv422p, RExt (4) level_idc 63: window right 3 (x2), bottom 6 (x1) */
static const uint8_t hvcc_642x362_rext422[] = {
    0x01, 0x04, 0x08, 0x00, 0x00, 0x00, 0x9d, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3f, 0xf0, 0x00, 0xfc,
    0xfe, 0xf8, 0xf8, 0x00, 0x00, 0x0f, 0x03, 0xa0, 0x00, 0x01, 0x00, 0x17, 0x40, 0x01, 0x0c, 0x01,
    0xff, 0xff, 0x04, 0x08, 0x00, 0x00, 0x03, 0x00, 0x9d, 0x08, 0x00, 0x00, 0x03, 0x00, 0x00, 0x3f,
    0x95, 0x98, 0x09, 0xa1, 0x00, 0x01, 0x00, 0x2b, 0x42, 0x01, 0x01, 0x04, 0x08, 0x00, 0x00, 0x03,
    0x00, 0x9d, 0x08, 0x00, 0x00, 0x03, 0x00, 0x00, 0x3f, 0xb0, 0x05, 0x12, 0x01, 0x71, 0xc9, 0x3e,
    0x59, 0x59, 0xa4, 0x93, 0x2b, 0xc0, 0x5a, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03,
    0x00, 0x3c, 0x10, 0xa2, 0x00, 0x01, 0x00, 0x07, 0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40,
};

/* libx265 1280x720 temporal-layers=1: sps_max_sub_layers_minus1 1 */
static const uint8_t hvcc_720p_two_layers[] = {
    0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5d, 0xf0, 0x00,
    0xfc, 0xfd, 0xf8, 0xf8, 0x00, 0x00, 0x13, 0x03, 0xa0, 0x00, 0x01, 0x00, 0x1c, 0x40, 0x01,
    0x0c, 0x02, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00,
    0x00, 0x03, 0x00, 0x5d, 0x00, 0x00, 0x95, 0x98, 0xac, 0xc0, 0x48, 0xa1, 0x00, 0x01, 0x00,
    0x2f, 0x42, 0x01, 0x02, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00,
    0x00, 0x03, 0x00, 0x5d, 0x00, 0x00, 0xa0, 0x02, 0x80, 0x80, 0x2d, 0x16, 0x59, 0x59, 0x8a,
    0xcd, 0x24, 0x99, 0x5e, 0x02, 0xd0, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03,
    0x01, 0xe0, 0x80, 0xa2, 0x00, 0x01, 0x00, 0x07, 0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40,
};

/* 1280x720 Main@3.1 with three sub-layers: sub-layer 0 signals profile and level, sub-layer 1 level
 * only */
static const uint8_t hevc_sps_sub_layers[] = {
    0x42, 0x01, 0x05, 0x01, 0x40, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x03, 0x00, 0x5d, 0xd0, 0x00, 0x01, 0x40, 0x00, 0x00, 0x03, 0x00,
    0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x5a, 0x5a, 0xa0, 0x02, 0x80,
    0x80, 0x2d, 0x16, 0x59, 0x5c, 0xae, 0x57, 0x92, 0x44, 0x8a, 0xc8,
};

/* 3840x2160 Main 10@5.1 with the most sub-layers allowed (7): six flag pairs, two
 * reserved_zero_2bits */
static const uint8_t hevc_sps_six_sub_layers[] = {
    0x42, 0x01, 0x0d, 0x02, 0x20, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
    0x03, 0x00, 0x99, 0x9c, 0xd0, 0x02, 0x20, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x03, 0x00, 0x96, 0x02, 0x20, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x03, 0x00, 0x96, 0x02, 0x20, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x03, 0x00, 0x96, 0x96, 0xa0, 0x01, 0xe0, 0x20, 0x02, 0x1c, 0x59, 0x65, 0x72,
    0xb9, 0x5c, 0xae, 0x57, 0x2b, 0x95, 0xe4, 0x91, 0x22, 0xb2,
};

/* monochrome 648x368 with a 6-sample window right and bottom (SubWidthC = SubHeightC = 1) */
static const uint8_t hevc_sps_mono[] = {
    0x42, 0x01, 0x01, 0x04, 0x08, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03,
    0x00, 0x5a, 0xc0, 0x14, 0x48, 0x05, 0xc7, 0x3c, 0xf9, 0x65, 0x79, 0x24, 0x48, 0xac, 0x80,
};

/* 4:4:4 with separate_colour_plane_flag, window 3/3/1/5 samples */
static const uint8_t hevc_sps_planes[] = {
    0x42, 0x01, 0x01, 0x04, 0x08, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03,
    0x00, 0x5a, 0x92, 0x00, 0xa2, 0x40, 0x2e, 0x32, 0x11, 0x1b, 0x2c, 0xaf, 0x24, 0x89, 0x15, 0x90,
};

/* sps_max_sub_layers_minus1 7 (range 0..6) */
static const uint8_t hevc_sps_seven_sub_layers[] = {
    0x42, 0x01, 0x0f, 0x01, 0x40, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x03, 0x00, 0x78, 0x00, 0x00, 0xa0, 0x03, 0xc0, 0x80, 0x10, 0xe5,
    0x96, 0x57, 0x2b, 0x95, 0xca, 0xe5, 0x72, 0xb9, 0x5e, 0x49, 0x12, 0x2b, 0x20,
};

/* chroma_format_idc 4 (range 0..3) */
static const uint8_t hevc_sps_chroma_idc_4[] = {
    0x42, 0x01, 0x01, 0x01, 0x40, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
    0x03, 0x00, 0x78, 0x94, 0x00, 0xf0, 0x20, 0x04, 0x39, 0x65, 0x95, 0xe4, 0x91, 0x22, 0xb2,
};

/* pic_width_in_luma_samples 0 */
static const uint8_t hevc_sps_width_0[] = {
    0x42, 0x01, 0x01, 0x01, 0x40, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00,
    0x00, 0x03, 0x00, 0x78, 0xa8, 0x01, 0x0e, 0x59, 0x65, 0x79, 0x24, 0x48, 0xac, 0x80,
};

/* pic_height_in_luma_samples 17000: taller than any level allows */
static const uint8_t hevc_sps_too_tall[] = {
    0x42, 0x01, 0x01, 0x01, 0x40, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03,
    0x00, 0x78, 0xa0, 0x03, 0xc0, 0x80, 0x01, 0x09, 0xa5, 0x96, 0x57, 0x92, 0x44, 0x8a, 0xc8,
};

/* 64x64 with a 2x(16+16) = 64 row window */
static const uint8_t hevc_sps_window_whole_height[] = {
    0x42, 0x01, 0x01, 0x01, 0x40, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03,
    0x00, 0x78, 0xa0, 0x20, 0x81, 0x07, 0x84, 0x42, 0x39, 0x65, 0x79, 0x24, 0x48, 0xac, 0x80,
};

/* nuh_layer_id 1 (a layered-extension SPS) */
static const uint8_t hevc_sps_layer_1[] = {
    0x42, 0x09, 0x01, 0x01, 0x40, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
    0x03, 0x00, 0x78, 0xa0, 0x03, 0xc0, 0x80, 0x10, 0xe5, 0x96, 0x57, 0x92, 0x44, 0x8a, 0xc8,
};

/* an SPS body behind a PPS NAL header (nal_unit_type 34) */
static const uint8_t hevc_pps_in_sps_array[] = {
    0x44, 0x01, 0x01, 0x01, 0x40, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
    0x03, 0x00, 0x78, 0xa0, 0x03, 0xc0, 0x80, 0x10, 0xe5, 0x96, 0x57, 0x92, 0x44, 0x8a, 0xc8,
};

/* pic_width_in_luma_samples coded with 32 leading zeros */
static const uint8_t hevc_sps_ue_32_zeros[] = {
    0x42, 0x01, 0x01, 0x01, 0x40, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
    0x03, 0x00, 0x78, 0xa0, 0x00, 0x00, 0x03, 0x00, 0x08, 0x00, 0x00, 0x03, 0x00, 0x00, 0x04,
};

/* The smallest hvcC around one SPS: the 1080p record's 22-byte header, one array of one NAL. */
static size_t wrap_hvcc(const uint8_t *sps, size_t n, uint8_t *out)
{
    const uint8_t array[] = { 0x01, 0xa1, 0x00, 0x01, (uint8_t)(n >> 8), (uint8_t)n };

    memcpy(out, hvcc_1080p_main, 22);
    memcpy(out + 22, array, sizeof(array)); /* numOfArrays 1; complete, SPS; numNalus 1; length */
    memcpy(out + 22 + sizeof(array), sps, n);
    return 22 + sizeof(array) + n;
}

static int parse_hevc_sps(const uint8_t *sps, size_t n, nal_video_info_t *v)
{
    uint8_t record[512];

    cr_assert_leq(n + 28, sizeof(record));
    return parse_exact(nal_parse_hvcc, record, wrap_hvcc(sps, n, record), v);
}

/* Where the SPS sits in hvcc_1080p_main: 23-byte header, VPS array (3 + 2 + 24), SPS array. */
enum { HVCC_1080P_SPS_ARRAY = 23 + 3 + 2 + 24, HVCC_1080P_SPS = HVCC_1080P_SPS_ARRAY + 5 };

Test(hvcc, reads_1080p_main)
{
    nal_video_info_t v;

    cr_assert_eq(nal_parse_hvcc(hvcc_1080p_main, sizeof(hvcc_1080p_main), &v), 0);
    expect_video(&v, 1920, 1080, 1, 120, 4);
}

Test(hvcc, crops_854x480_by_its_conformance_window)
{
    nal_video_info_t v;

    cr_assert_eq(nal_parse_hvcc(hvcc_480p_main, sizeof(hvcc_480p_main), &v), 0);
    expect_video(&v, 854, 480, 1, 90, 4);
}

Test(hvcc, crops_422_window_rows_one_at_a_time)
{
    nal_video_info_t v;

    cr_assert_eq(nal_parse_hvcc(hvcc_642x362_rext422, sizeof(hvcc_642x362_rext422), &v), 0);
    expect_video(&v, 642, 362, 4, 63, 4);
}

Test(hvcc, skips_reserved_bits_after_two_temporal_layers)
{
    nal_video_info_t v;

    cr_assert_eq(nal_parse_hvcc(hvcc_720p_two_layers, sizeof(hvcc_720p_two_layers), &v), 0);
    expect_video(&v, 1280, 720, 1, 93, 4);
}

Test(hvcc, skips_sub_layer_profiles_and_levels)
{
    nal_video_info_t v;

    cr_assert_eq(parse_hevc_sps(hevc_sps_sub_layers, sizeof(hevc_sps_sub_layers), &v), 0);
    expect_video(&v, 1280, 720, 1, 93, 4);
}

Test(hvcc, skips_seven_sub_layers)
{
    nal_video_info_t v;

    cr_assert_eq(parse_hevc_sps(hevc_sps_six_sub_layers, sizeof(hevc_sps_six_sub_layers), &v), 0);
    expect_video(&v, 3840, 2160, 2, 153, 4);
}

Test(hvcc, crops_monochrome_window_one_sample_at_a_time)
{
    nal_video_info_t v;

    cr_assert_eq(parse_hevc_sps(hevc_sps_mono, sizeof(hevc_sps_mono), &v), 0);
    expect_video(&v, 642, 362, 4, 90, 4);
}

Test(hvcc, reads_separate_colour_planes)
{
    nal_video_info_t v;

    cr_assert_eq(parse_hevc_sps(hevc_sps_planes, sizeof(hevc_sps_planes), &v), 0);
    expect_video(&v, 642, 362, 4, 90, 4);
}

Test(hvcc, reports_one_and_two_byte_nal_lengths)
{
    uint8_t record[sizeof(hvcc_1080p_main)];
    nal_video_info_t v;

    memcpy(record, hvcc_1080p_main, sizeof(record));
    record[21] = 0x0c; /* constantFrameRate 0, one temporal layer, nested, lengthSizeMinusOne 0 */
    cr_assert_eq(nal_parse_hvcc(record, sizeof(record), &v), 0);
    cr_expect_eq(v.nal_length_size, 1);
    record[21] = 0x0d;
    cr_assert_eq(nal_parse_hvcc(record, sizeof(record), &v), 0);
    cr_expect_eq(v.nal_length_size, 2);
}

Test(hvcc, rejects_three_byte_nal_lengths)
{
    uint8_t record[sizeof(hvcc_1080p_main)];
    nal_video_info_t v;

    memcpy(record, hvcc_1080p_main, sizeof(record));
    record[21] = 0x0e;
    cr_expect_eq(nal_parse_hvcc(record, sizeof(record), &v), -EPROTO);
}

Test(hvcc, refuses_unknown_configuration_version)
{
    uint8_t record[sizeof(hvcc_1080p_main)];
    nal_video_info_t v;

    memcpy(record, hvcc_1080p_main, sizeof(record));
    record[0] = 0x00;
    cr_expect_eq(nal_parse_hvcc(record, sizeof(record), &v), -ENOTSUP);
}

Test(hvcc, rejects_a_record_without_sps)
{
    uint8_t record[23];
    nal_video_info_t v;

    memcpy(record, hvcc_1080p_main, 22);
    record[22] = 0x00; /* numOfArrays */
    cr_expect_eq(nal_parse_hvcc(record, sizeof(record), &v), -EPROTO);
}

Test(hvcc, rejects_an_empty_sps_array)
{
    uint8_t record[26];
    nal_video_info_t v;

    memcpy(record, hvcc_1080p_main, 22);
    memcpy(record + 22, (const uint8_t[]){ 0x01, 0xa1, 0x00, 0x00 }, 4);
    cr_expect_eq(nal_parse_hvcc(record, sizeof(record), &v), -EPROTO);
}

Test(hvcc, rejects_every_cut)
{
    nal_video_info_t v;

    for (size_t n = 0; n < sizeof(hvcc_1080p_main); n++)
        cr_expect_eq(parse_exact(nal_parse_hvcc, hvcc_1080p_main, n, &v), -EMSGSIZE, "cut at %zu",
                     n);
}

Test(hvcc, rejects_every_cut_of_the_sps_before_the_window_flag)
{
    /* conformance_window_flag is RBSP bit 166; three emulation prevention bytes come before it,
     * so the first 24 bytes of the NAL unit are needed. */
    const uint8_t *sps = hvcc_1080p_main + HVCC_1080P_SPS;
    const size_t len = hvcc_1080p_main[HVCC_1080P_SPS - 1];

    cr_assert_eq(hvcc_1080p_main[HVCC_1080P_SPS_ARRAY], 0xa1);
    for (size_t n = 0; n <= len; n++) {
        nal_video_info_t v;
        int rc = parse_hevc_sps(sps, n, &v);

        if (n < 24) {
            cr_expect_eq(rc, -EMSGSIZE, "cut at %zu", n);
            continue;
        }
        cr_assert_eq(rc, 0, "cut at %zu", n);
        expect_video(&v, 1920, 1080, 1, 120, 4);
    }
}

Test(hvcc, never_reads_past_any_cut_of_a_hand_built_sps)
{
    static const struct {
        const uint8_t *sps;
        size_t len;
    } cases[] = {
        { hevc_sps_sub_layers, sizeof(hevc_sps_sub_layers) },
        { hevc_sps_six_sub_layers, sizeof(hevc_sps_six_sub_layers) },
        { hevc_sps_mono, sizeof(hevc_sps_mono) },
        { hevc_sps_planes, sizeof(hevc_sps_planes) },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nal_video_info_t whole, v;

        cr_assert_eq(parse_hevc_sps(cases[i].sps, cases[i].len, &whole), 0);
        for (size_t n = 0; n < cases[i].len; n++) {
            int rc = parse_hevc_sps(cases[i].sps, n, &v);

            cr_expect(rc == -EMSGSIZE ||
                          (rc == 0 && v.width == whole.width && v.height == whole.height),
                      "case %zu cut at %zu: rc %d", i, n, rc);
        }
    }
}

Test(hvcc, rejects_more_than_seven_sub_layers)
{
    nal_video_info_t v;

    cr_expect_eq(parse_hevc_sps(hevc_sps_seven_sub_layers, sizeof(hevc_sps_seven_sub_layers), &v),
                 -EPROTO);
}

Test(hvcc, rejects_chroma_format_idc_4)
{
    nal_video_info_t v;

    cr_expect_eq(parse_hevc_sps(hevc_sps_chroma_idc_4, sizeof(hevc_sps_chroma_idc_4), &v), -EPROTO);
}

Test(hvcc, rejects_zero_width)
{
    nal_video_info_t v;

    cr_expect_eq(parse_hevc_sps(hevc_sps_width_0, sizeof(hevc_sps_width_0), &v), -EPROTO);
}

Test(hvcc, rejects_height_beyond_any_level)
{
    nal_video_info_t v;

    cr_expect_eq(parse_hevc_sps(hevc_sps_too_tall, sizeof(hevc_sps_too_tall), &v), -EPROTO);
}

Test(hvcc, rejects_a_window_covering_the_whole_height)
{
    nal_video_info_t v;

    cr_expect_eq(
        parse_hevc_sps(hevc_sps_window_whole_height, sizeof(hevc_sps_window_whole_height), &v),
        -EPROTO);
}

Test(hvcc, rejects_ue_with_32_leading_zeros)
{
    nal_video_info_t v;

    cr_expect_eq(parse_hevc_sps(hevc_sps_ue_32_zeros, sizeof(hevc_sps_ue_32_zeros), &v), -EPROTO);
}

Test(hvcc, rejects_a_nal_that_is_not_an_sps)
{
    nal_video_info_t v;

    cr_expect_eq(parse_hevc_sps(hevc_pps_in_sps_array, sizeof(hevc_pps_in_sps_array), &v), -EPROTO);
}

Test(hvcc, refuses_an_sps_of_another_layer)
{
    nal_video_info_t v;

    cr_expect_eq(parse_hevc_sps(hevc_sps_layer_1, sizeof(hevc_sps_layer_1), &v), -ENOTSUP);
}

Test(hvcc, zeroes_the_output_on_error)
{
    nal_video_info_t v;

    memset(&v, 0x55, sizeof(v));
    cr_assert_eq(parse_hevc_sps(hevc_sps_too_tall, sizeof(hevc_sps_too_tall), &v), -EPROTO);
    expect_video(&v, 0, 0, 0, 0, 0);
}

Test(hvcc, survives_every_single_bit_flip)
{
    flip_every_bit(nal_parse_hvcc, hvcc_1080p_main, sizeof(hvcc_1080p_main), "1080p hvcC");
    flip_every_bit(nal_parse_hvcc, hvcc_720p_two_layers, sizeof(hvcc_720p_two_layers), "layers");
}

/* ---- AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) ---- */

static void expect_audio(const uint8_t *asc, size_t len, int object_type, int rate, int channels)
{
    uint8_t *copy = malloc(len);
    nal_audio_info_t a;

    cr_assert_not_null(copy);
    memcpy(copy, asc, len);
    cr_assert_eq(nal_parse_asc(copy, len, &a), 0);
    free(copy);
    cr_expect_eq(a.object_type, object_type);
    cr_expect_eq(a.sample_rate, rate);
    cr_expect_eq(a.channels, channels);
}

static int parse_asc(const uint8_t *asc, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    nal_audio_info_t a;
    int rc;

    cr_assert_not_null(copy);
    memcpy(copy, asc, len);
    rc = nal_parse_asc(copy, len, &a);
    free(copy);
    return rc;
}

/* ffmpeg's aac encoder: AAC-LC, then a 0x2b7 sync extension saying "no SBR". */
static const uint8_t asc_44100_stereo[] = { 0x12, 0x10, 0x56, 0xe5, 0x00 };
static const uint8_t asc_48000_mono[] = { 0x11, 0x88, 0x56, 0xe5, 0x00 };
static const uint8_t asc_22050_mono[] = { 0x13, 0x88, 0x56, 0xe5, 0x00 };
/* HE-AAC: object type 5, 24000 Hz core, stereo, 48000 Hz output, AAC-LC core */
static const uint8_t asc_he_aac[] = { 0x2b, 0x11, 0x88 };
/* HE-AAC v2: object type 29, 24000 Hz mono core, 48000 Hz output */
static const uint8_t asc_he_aac_v2[] = { 0xeb, 0x09, 0x88 };
/* object type 31 + 10 = 42 (USAC), 48000 Hz, stereo */
static const uint8_t asc_escaped_object_type[] = { 0xf9, 0x46, 0x40 };
/* AAC-LC, index 15 and a 24-bit rate of 44056 Hz, stereo */
static const uint8_t asc_explicit_rate[] = { 0x17, 0x80, 0x56, 0x0c, 0x10 };
/* HE-AAC with both rates explicit: 22050 Hz core, 44100 Hz output */
static const uint8_t asc_explicit_extension_rate[] = { 0x2f, 0x80, 0x2b, 0x11, 0x17,
                                                       0x80, 0x56, 0x22, 0x08 };

Test(asc, reads_aac_lc_44100_stereo)
{
    expect_audio(asc_44100_stereo, sizeof(asc_44100_stereo), 2, 44100, 2);
}

Test(asc, reads_aac_lc_48000_mono)
{
    expect_audio(asc_48000_mono, sizeof(asc_48000_mono), 2, 48000, 1);
}

Test(asc, reads_aac_lc_22050_mono)
{
    expect_audio(asc_22050_mono, sizeof(asc_22050_mono), 2, 22050, 1);
}

Test(asc, needs_only_the_first_two_bytes_of_aac_lc)
{
    expect_audio(asc_44100_stereo, 2, 2, 44100, 2);
}

Test(asc, reads_he_aac_output_rate)
{
    expect_audio(asc_he_aac, sizeof(asc_he_aac), 5, 48000, 2);
}

Test(asc, reads_parametric_stereo_as_two_channels)
{
    expect_audio(asc_he_aac_v2, sizeof(asc_he_aac_v2), 29, 48000, 2);
}

Test(asc, reads_escaped_object_type)
{
    expect_audio(asc_escaped_object_type, sizeof(asc_escaped_object_type), 42, 48000, 2);
}

Test(asc, reads_explicit_sampling_frequency)
{
    expect_audio(asc_explicit_rate, sizeof(asc_explicit_rate), 2, 44056, 2);
}

Test(asc, reads_explicit_extension_frequency)
{
    expect_audio(asc_explicit_extension_rate, sizeof(asc_explicit_extension_rate), 5, 44100, 2);
}

Test(asc, maps_channel_configurations_to_counts)
{
    static const uint8_t seven_one[] = { 0x11, 0xb8 };  /* 7: 7.1 */
    static const uint8_t six_one[] = { 0x11, 0xd8 };    /* 11: 6.1 */
    static const uint8_t twenty_two[] = { 0x11, 0xe8 }; /* 13: 22.2 */

    expect_audio(seven_one, sizeof(seven_one), 2, 48000, 8);
    expect_audio(six_one, sizeof(six_one), 2, 48000, 7);
    expect_audio(twenty_two, sizeof(twenty_two), 2, 48000, 24);
}

Test(asc, reports_pce_defined_channels_as_zero)
{
    static const uint8_t asc[] = { 0x11, 0x80 };

    expect_audio(asc, sizeof(asc), 2, 48000, 0);
}

Test(asc, rejects_reserved_channel_configuration)
{
    static const uint8_t asc[] = { 0x11, 0xc0 }; /* 8 */

    cr_expect_eq(parse_asc(asc, sizeof(asc)), -EPROTO);
}

Test(asc, rejects_reserved_frequency_index)
{
    static const uint8_t asc[] = { 0x16, 0x90 }; /* 13 */

    cr_expect_eq(parse_asc(asc, sizeof(asc)), -EPROTO);
}

Test(asc, rejects_object_type_0)
{
    static const uint8_t asc[] = { 0x01, 0x90 };

    cr_expect_eq(parse_asc(asc, sizeof(asc)), -EPROTO);
}

Test(asc, rejects_explicit_rate_0)
{
    static const uint8_t asc[] = { 0x17, 0x80, 0x00, 0x00, 0x10 };

    cr_expect_eq(parse_asc(asc, sizeof(asc)), -EPROTO);
}

Test(asc, rejects_every_cut_before_the_last_field)
{
    /* bits needed: 13 for AAC-LC, 22 for HE-AAC, 37 with an explicit rate, 66 with two */
    static const struct {
        const uint8_t *asc;
        size_t needed;
    } cases[] = {
        { asc_44100_stereo, 2 },  { asc_he_aac, 3 },
        { asc_he_aac_v2, 3 },     { asc_escaped_object_type, 3 },
        { asc_explicit_rate, 5 }, { asc_explicit_extension_rate, 9 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t n = 0; n < cases[i].needed; n++)
            cr_expect_eq(parse_asc(cases[i].asc, n), -EMSGSIZE, "case %zu cut at %zu", i, n);
        cr_expect_eq(parse_asc(cases[i].asc, cases[i].needed), 0, "case %zu", i);
    }
}

Test(asc, zeroes_the_output_on_error)
{
    static const uint8_t asc[] = { 0x11, 0xc0 };
    nal_audio_info_t a;

    memset(&a, 0x55, sizeof(a));
    cr_assert_eq(nal_parse_asc(asc, sizeof(asc), &a), -EPROTO);
    cr_expect_eq(a.object_type, 0);
    cr_expect_eq(a.sample_rate, 0);
    cr_expect_eq(a.channels, 0);
}
