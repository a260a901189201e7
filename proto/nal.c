/* Decoder configuration records: read resolution and profile out of avcC/hvcC and AAC config.
 *
 * Invariants: every read goes through bitreader_t, whose first error sticks and turns later reads
 * into zeros, so a parser checks for errors once per group of fields, never reads out of bounds
 * and always terminates (every loop is bounded by a count checked against its spec range). An SPS
 * is copied, without its emulation prevention bytes, into a bounded buffer on the stack. Nothing
 * is allocated, and *out is all zeros unless the call returns 0. */
#include "proto/nal.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Fits any conformant SPS up to the last field read here. The worst case is H.264 4:4:4 with all
 * twelve scaling lists coded at 17 bits a delta_scale, about 1.1 KB. */
#define RBSP_MAX 2048

/* The widest or tallest picture any level allows, about sqrt(8 * max picture size): H.264 A.3.1
 * with level 6.2's MaxFS gives 1055 MBs (16880), H.265 A.4.1 with level 6's MaxLumaPs 16888.
 * A larger value is corrupt, and refusing it keeps every size in an int. */
#define MAX_DIMENSION 16888

enum { H264_NAL_SPS = 7, HEVC_NAL_SPS = 33 }; /* nal_unit_type, H.264 and H.265 Table 7-1 */

enum {
    AVCC_HEADER = 6,  /* configurationVersion .. numOfSequenceParameterSets (14496-15 5.3.3.1) */
    HVCC_HEADER = 23, /* configurationVersion .. numOfArrays (14496-15 8.3.3.1) */
    HVCC_LENGTH_SIZE = 21,
    HVCC_NUM_ARRAYS = 22,
};

typedef struct bitreader_s {
    const uint8_t *buf;
    size_t size; /* in bits */
    size_t pos;  /* in bits */
    int err;     /* first error, 0 while all reads succeeded */
} bitreader_t;

typedef struct h264_sps_s {
    uint32_t profile, level;
    uint32_t chroma_format_idc, separate_colour_plane;
    uint32_t width_mbs, height_map_units, frame_mbs_only;
    uint32_t crop[4]; /* left, right, top, bottom, in crop units */
} h264_sps_t;

typedef struct hevc_sps_s {
    uint32_t profile, level;
    uint32_t chroma_format_idc;
    uint32_t width, height; /* pic_{width,height}_in_luma_samples */
    uint32_t window[4];     /* conf_win_{left,right,top,bottom}_offset, in chroma samples */
} hevc_sps_t;

/* profile_idc values whose SPS carries chroma_format_idc and the fields after it (7.3.2.1.1). */
static const uint8_t h264_chroma_profiles[] = { 100, 110, 122, 244, 44,  83, 86,
                                                118, 128, 138, 139, 134, 135 };

/* samplingFrequencyIndex (14496-3 1.6.3.3); 13 and 14 are reserved, 15 escapes to 24 bits. */
static const int aac_sample_rates[] = { 96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                        22050, 16000, 12000, 11025, 8000,  7350 };

/* channelConfiguration → channels (14496-3 1.6.3.4): 0 means a program_config_element says, 7 is
 * 7.1, 11-14 came with the 2009+ amendments, -1 marks the reserved values. */
static const int8_t aac_channels[16] = { 0, 1, 2, 3, 4, 5, 6, 8, -1, -1, -1, 7, 8, 24, 8, -1 };

enum { AOT_SBR = 5, AOT_PS = 29, AOT_ESCAPE = 31, FREQ_ESCAPE = 15 };

static void br_init(bitreader_t *br, const uint8_t *buf, size_t len)
{
    br->buf = buf;
    br->size = (len < SIZE_MAX / 8 ? len : SIZE_MAX / 8) * 8; /* no parser reads that far */
    br->pos = 0;
    br->err = 0;
}

static uint32_t br_fail(bitreader_t *br, int err)
{
    if (!br->err)
        br->err = err;
    return 0;
}

static uint32_t get_bits(bitreader_t *br, int n) /* n <= 32 */
{
    uint32_t v = 0;

    if (br->err)
        return 0;
    if ((size_t)n > br->size - br->pos)
        return br_fail(br, -EMSGSIZE);
    for (int i = 0; i < n; i++, br->pos++)
        v = v << 1 | ((br->buf[br->pos >> 3] >> (7 - (br->pos & 7))) & 1u);
    return v;
}

static void skip_bits(bitreader_t *br, size_t n)
{
    if (br->err)
        return;
    if (n > br->size - br->pos)
        br_fail(br, -EMSGSIZE);
    else
        br->pos += n;
}

/* ue(v) (H.264 9.1, H.265 9.2). No syntax element goes past 2^32 - 2, which takes 31 leading
 * zeros, so a 32nd zero means corrupt data rather than a large number. */
static uint32_t get_ue(bitreader_t *br)
{
    int zeros = 0;

    while (get_bits(br, 1) == 0) {
        if (br->err)
            return 0;
        if (++zeros > 31)
            return br_fail(br, -EPROTO);
    }
    return (uint32_t)((1ull << zeros) - 1 + get_bits(br, zeros));
}

static uint32_t get_ue_max(bitreader_t *br, uint32_t max)
{
    uint32_t v = get_ue(br);

    return v > max ? br_fail(br, -EPROTO) : v;
}

static int64_t get_se(bitreader_t *br) /* se(v): 1, -1, 2, -2... (H.264 9.1.1) */
{
    uint32_t k = get_ue(br);

    return k & 1 ? (int64_t)(k / 2) + 1 : -(int64_t)(k / 2);
}

/* Drop each emulation_prevention_three_byte, the 03 of 00 00 03 (H.264 7.4.1, H.265 7.4.2).
 * Output past cap is cut off; reading into the cut then fails as truncation. */
static size_t unescape(const uint8_t *src, size_t len, uint8_t *dst, size_t cap)
{
    size_t n = 0;
    int zeros = 0;

    for (size_t i = 0; i < len && n < cap; i++) {
        if (zeros >= 2 && src[i] == 3) {
            zeros = 0;
            continue;
        }
        dst[n++] = src[i];
        zeros = src[i] == 0 ? zeros + 1 : 0;
    }
    return n;
}

/* Walk count units of a 16-bit length and the bytes (avcC and hvcC alike), and note the first. */
static int walk_units(const uint8_t *buf, size_t len, size_t *pos, unsigned count,
                      const uint8_t **first, size_t *first_len)
{
    for (unsigned i = 0; i < count; i++) {
        size_t n;

        if (len - *pos < 2)
            return -EMSGSIZE;
        n = (size_t)buf[*pos] << 8 | buf[*pos + 1];
        *pos += 2;
        if (n > len - *pos)
            return -EMSGSIZE;
        if (i == 0 && first) {
            *first = buf + *pos;
            *first_len = n;
        }
        *pos += n;
    }
    return 0;
}

/* The displayed size: coded size less the cropped samples, both checked for sanity. */
static int set_size(uint64_t w, uint64_t h, uint64_t crop_w, uint64_t crop_h, nal_video_info_t *out)
{
    if (w == 0 || h == 0 || w > MAX_DIMENSION || h > MAX_DIMENSION)
        return -EPROTO;
    if (crop_w >= w || crop_h >= h)
        return -EPROTO;
    out->width = (int)(w - crop_w);
    out->height = (int)(h - crop_h);
    return 0;
}

static int is_chroma_profile(uint32_t profile)
{
    for (size_t i = 0; i < ARRAY_LEN(h264_chroma_profiles); i++)
        if (h264_chroma_profiles[i] == profile)
            return 1;
    return 0;
}

/* scaling_list() (H.264 7.3.2.1.1.1): deltas are coded until the list ends or a next value of 0
 * says "use the default matrix from here on". */
static void skip_scaling_list(bitreader_t *br, int size)
{
    int last = 8, next = 8;

    for (int j = 0; j < size && next != 0 && !br->err; j++) {
        int64_t delta = get_se(br);

        if (delta < -128 || delta > 127) { /* 7.4.2.1.1.1 */
            br_fail(br, -EPROTO);
            return;
        }
        next = (last + (int)delta + 256) % 256;
        last = next != 0 ? next : last;
    }
}

/* chroma_format_idc up to the scaling matrices: present only for h264_chroma_profiles. */
static void h264_read_chroma(bitreader_t *br, h264_sps_t *sps)
{
    sps->chroma_format_idc = get_ue_max(br, 3);
    if (sps->chroma_format_idc == 3)
        sps->separate_colour_plane = get_bits(br, 1);
    get_ue_max(br, 6);    /* bit_depth_luma_minus8 */
    get_ue_max(br, 6);    /* bit_depth_chroma_minus8 */
    get_bits(br, 1);      /* qpprime_y_zero_transform_bypass_flag */
    if (!get_bits(br, 1)) /* seq_scaling_matrix_present_flag */
        return;
    /* 4:4:4 adds 8x8 lists for Cb and Cr in inter and intra: 12 lists instead of 8. */
    for (int i = 0; i < (sps->chroma_format_idc != 3 ? 8 : 12) && !br->err; i++)
        if (get_bits(br, 1)) /* seq_scaling_list_present_flag[i] */
            skip_scaling_list(br, i < 6 ? 16 : 64);
}

static void h264_skip_poc(bitreader_t *br)
{
    uint32_t type = get_ue_max(br, 2), cycle;

    if (type == 0)
        get_ue_max(br, 12); /* log2_max_pic_order_cnt_lsb_minus4 */
    if (type != 1)
        return;
    get_bits(br, 1);             /* delta_pic_order_always_zero_flag */
    get_se(br);                  /* offset_for_non_ref_pic */
    get_se(br);                  /* offset_for_top_to_bottom_field */
    cycle = get_ue_max(br, 255); /* num_ref_frames_in_pic_order_cnt_cycle (7.4.2.1.1) */
    for (uint32_t i = 0; i < cycle && !br->err; i++)
        get_se(br); /* offset_for_ref_frame[i] */
}

/* seq_parameter_set_data() (H.264 7.3.2.1.1) up to the frame cropping offsets. */
static int h264_read_sps(bitreader_t *br, h264_sps_t *sps)
{
    uint32_t nal_type = get_bits(br, 8) & 0x1f;

    if (!br->err && nal_type != H264_NAL_SPS)
        return -EPROTO;
    sps->profile = get_bits(br, 8);
    get_bits(br, 8); /* constraint_set flags */
    sps->level = get_bits(br, 8);
    get_ue_max(br, 31);         /* seq_parameter_set_id */
    sps->chroma_format_idc = 1; /* 7.4.2.1.1: 4:2:0 when not present */
    if (is_chroma_profile(sps->profile))
        h264_read_chroma(br, sps);
    get_ue_max(br, 12); /* log2_max_frame_num_minus4 */
    h264_skip_poc(br);
    get_ue(br);      /* max_num_ref_frames */
    get_bits(br, 1); /* gaps_in_frame_num_value_allowed_flag */
    sps->width_mbs = get_ue(br) + 1;
    sps->height_map_units = get_ue(br) + 1;
    sps->frame_mbs_only = get_bits(br, 1);
    if (!sps->frame_mbs_only)
        get_bits(br, 1); /* mb_adaptive_frame_field_flag */
    get_bits(br, 1);     /* direct_8x8_inference_flag */
    if (get_bits(br, 1)) /* frame_cropping_flag */
        for (int i = 0; i < 4; i++)
            sps->crop[i] = get_ue(br);
    return br->err;
}

/* Frame size and cropping (7.4.2.1.1, equations 7-19 to 7-22): a map unit is a field MB pair when
 * frames may be coded as fields, and a crop unit spans one chroma sample (times two for field
 * pairs). ChromaArrayType is 0 with separate colour planes, which crops like 4:4:4. */
static int h264_size(const h264_sps_t *sps, nal_video_info_t *out)
{
    uint32_t chroma = sps->separate_colour_plane ? 0 : sps->chroma_format_idc;
    uint64_t fields = 2 - sps->frame_mbs_only;
    uint64_t unit_x = chroma == 1 || chroma == 2 ? 2 : 1;
    uint64_t unit_y = (chroma == 1 ? 2 : 1) * fields;

    return set_size((uint64_t)sps->width_mbs * 16, (uint64_t)sps->height_map_units * 16 * fields,
                    unit_x * ((uint64_t)sps->crop[0] + sps->crop[1]),
                    unit_y * ((uint64_t)sps->crop[2] + sps->crop[3]), out);
}

static int h264_parse_sps(const uint8_t *nal, size_t len, nal_video_info_t *out)
{
    uint8_t rbsp[RBSP_MAX];
    h264_sps_t sps = { 0 };
    bitreader_t br;
    int rc;

    br_init(&br, rbsp, unescape(nal, len, rbsp, sizeof(rbsp)));
    rc = h264_read_sps(&br, &sps);
    if (rc)
        return rc;
    out->profile = (int)sps.profile;
    out->level = (int)sps.level;
    return h264_size(&sps, out);
}

int nal_parse_avcc(const uint8_t *buf, size_t len, nal_video_info_t *out)
{
    nal_video_info_t info = { 0 };
    const uint8_t *sps = NULL;
    size_t sps_len = 0, pos = AVCC_HEADER;
    unsigned num_pps;
    int rc;

    memset(out, 0, sizeof(*out));
    if (len < AVCC_HEADER)
        return -EMSGSIZE;
    if (buf[0] != 1) /* configurationVersion: a new version may change the layout (5.3.3.1.2) */
        return -ENOTSUP;
    if ((buf[4] & 0x03) == 2 || (buf[5] & 0x1f) == 0) /* 3-byte lengths do not exist; no SPS */
        return -EPROTO;
    rc = walk_units(buf, len, &pos, buf[5] & 0x1f, &sps, &sps_len);
    if (rc)
        return rc;
    if (pos >= len)
        return -EMSGSIZE;
    num_pps = buf[pos++];
    /* The high-profile tail after the PPSs (chroma format, bit depths, SPS extensions) is not
     * read: many muxers leave it out, and the SPS says the same. */
    rc = walk_units(buf, len, &pos, num_pps, NULL, NULL);
    if (rc)
        return rc;
    rc = h264_parse_sps(sps, sps_len, &info);
    if (rc)
        return rc;
    info.nal_length_size = (buf[4] & 0x03) + 1;
    *out = info;
    return 0;
}

/* profile_tier_level(1, sps_max_sub_layers_minus1) (H.265 7.3.3); keeps the general profile and
 * level. Each sub-layer's profile takes 88 bits and its level 8, as the general ones do. */
static void hevc_read_ptl(bitreader_t *br, int max_sub_layers_minus1, hevc_sps_t *sps)
{
    int profile_present[7], level_present[7];

    get_bits(br, 3); /* general_profile_space, general_tier_flag */
    sps->profile = get_bits(br, 5);
    skip_bits(br, 32 + 4 + 43 + 1); /* compatibility, source, constraint and reserved flags */
    sps->level = get_bits(br, 8);
    for (int i = 0; i < max_sub_layers_minus1; i++) {
        profile_present[i] = (int)get_bits(br, 1);
        level_present[i] = (int)get_bits(br, 1);
    }
    if (max_sub_layers_minus1 > 0) /* reserved_zero_2bits pad the flags to 16 bits */
        skip_bits(br, 2 * (size_t)(8 - max_sub_layers_minus1));
    for (int i = 0; i < max_sub_layers_minus1; i++)
        skip_bits(br, (profile_present[i] ? 88u : 0u) + (level_present[i] ? 8u : 0u));
}

/* seq_parameter_set_rbsp() (H.265 7.3.2.2.1) up to the conformance window. */
static int hevc_read_sps(bitreader_t *br, hevc_sps_t *sps)
{
    uint32_t nal_type, layer_id, max_sub_layers_minus1;

    get_bits(br, 1); /* forbidden_zero_bit */
    nal_type = get_bits(br, 6);
    layer_id = get_bits(br, 6);
    get_bits(br, 3); /* nuh_temporal_id_plus1 */
    if (br->err)
        return br->err;
    if (nal_type != HEVC_NAL_SPS)
        return -EPROTO;
    if (layer_id != 0) /* F.7.3.2.2.1: other layers code this SPS differently */
        return -ENOTSUP;
    get_bits(br, 4); /* sps_video_parameter_set_id */
    max_sub_layers_minus1 = get_bits(br, 3);
    if (max_sub_layers_minus1 > 6) /* 7.4.3.2.1 */
        return -EPROTO;
    get_bits(br, 1); /* sps_temporal_id_nesting_flag */
    hevc_read_ptl(br, (int)max_sub_layers_minus1, sps);
    get_ue_max(br, 15); /* sps_seq_parameter_set_id */
    sps->chroma_format_idc = get_ue_max(br, 3);
    if (sps->chroma_format_idc == 3)
        get_bits(br, 1); /* separate_colour_plane_flag: crops like 4:4:4, so only skipped */
    sps->width = get_ue(br);
    sps->height = get_ue(br);
    if (get_bits(br, 1)) /* conformance_window_flag */
        for (int i = 0; i < 4; i++)
            sps->window[i] = get_ue(br);
    return br->err;
}

static int hevc_parse_sps(const uint8_t *nal, size_t len, nal_video_info_t *out)
{
    uint8_t rbsp[RBSP_MAX];
    hevc_sps_t sps = { 0 };
    bitreader_t br;
    uint64_t sub_w, sub_h;
    int rc;

    br_init(&br, rbsp, unescape(nal, len, rbsp, sizeof(rbsp)));
    rc = hevc_read_sps(&br, &sps);
    if (rc)
        return rc;
    out->profile = (int)sps.profile;
    out->level = (int)sps.level;
    /* SubWidthC and SubHeightC (Table 6-1): the window counts chroma samples (7.4.3.2.1). */
    sub_w = sps.chroma_format_idc == 1 || sps.chroma_format_idc == 2 ? 2 : 1;
    sub_h = sps.chroma_format_idc == 1 ? 2 : 1;
    return set_size(sps.width, sps.height, sub_w * ((uint64_t)sps.window[0] + sps.window[1]),
                    sub_h * ((uint64_t)sps.window[2] + sps.window[3]), out);
}

/* Walk every array so a cut record is refused, and note the first SPS. */
static int hvcc_find_sps(const uint8_t *buf, size_t len, const uint8_t **sps, size_t *sps_len)
{
    size_t pos = HVCC_HEADER;

    for (unsigned i = 0; i < buf[HVCC_NUM_ARRAYS]; i++) {
        unsigned type, count;
        int rc;

        if (len - pos < 3)
            return -EMSGSIZE;
        type = buf[pos] & 0x3f; /* array_completeness(1) reserved(1) NAL_unit_type(6) */
        count = (unsigned)buf[pos + 1] << 8 | buf[pos + 2];
        pos += 3;
        rc = walk_units(buf, len, &pos, count, type == HEVC_NAL_SPS && !*sps ? sps : NULL, sps_len);
        if (rc)
            return rc;
    }
    return *sps ? 0 : -EPROTO;
}

int nal_parse_hvcc(const uint8_t *buf, size_t len, nal_video_info_t *out)
{
    nal_video_info_t info = { 0 };
    const uint8_t *sps = NULL;
    size_t sps_len = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (len < HVCC_HEADER)
        return -EMSGSIZE;
    if (buf[0] != 1) /* configurationVersion (8.3.3.1.2) */
        return -ENOTSUP;
    if ((buf[HVCC_LENGTH_SIZE] & 0x03) == 2) /* lengthSizeMinusOne: 3-byte lengths do not exist */
        return -EPROTO;
    rc = hvcc_find_sps(buf, len, &sps, &sps_len);
    if (rc)
        return rc;
    rc = hevc_parse_sps(sps, sps_len, &info);
    if (rc)
        return rc;
    info.nal_length_size = (buf[HVCC_LENGTH_SIZE] & 0x03) + 1;
    *out = info;
    return 0;
}

static uint32_t get_object_type(bitreader_t *br) /* GetAudioObjectType() (1.6.2.1) */
{
    uint32_t aot = get_bits(br, 5);

    return aot == AOT_ESCAPE ? 32 + get_bits(br, 6) : aot;
}

static uint32_t get_sample_rate(bitreader_t *br)
{
    uint32_t index = get_bits(br, 4);

    if (index == FREQ_ESCAPE)
        return get_bits(br, 24); /* samplingFrequency, in Hz */
    if (index >= ARRAY_LEN(aac_sample_rates))
        return br_fail(br, -EPROTO);
    return (uint32_t)aac_sample_rates[index];
}

/* AudioSpecificConfig (14496-3 1.6.2.1) as far as the channel configuration, and for explicitly
 * signalled HE-AAC (object type 5 or 29) the output rate that follows it. */
int nal_parse_asc(const uint8_t *buf, size_t len, nal_audio_info_t *out)
{
    uint32_t object_type, rate, config;
    bitreader_t br;

    memset(out, 0, sizeof(*out));
    br_init(&br, buf, len);
    object_type = get_object_type(&br);
    rate = get_sample_rate(&br);
    config = get_bits(&br, 4);
    if (object_type == AOT_SBR || object_type == AOT_PS) {
        rate = get_sample_rate(&br); /* extensionSamplingFrequency: SBR doubles the core rate */
        get_object_type(&br);        /* the core's object type, AAC-LC in practice */
    }
    if (br.err)
        return br.err;
    if (object_type == 0 || rate == 0 || aac_channels[config] < 0)
        return -EPROTO;
    out->object_type = (int)object_type;
    out->sample_rate = (int)rate;
    /* Parametric stereo (1.6.5) decodes a mono core into two channels. */
    out->channels = object_type == AOT_PS && config == 1 ? 2 : aac_channels[config];
    return 0;
}
