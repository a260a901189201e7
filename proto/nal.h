/* Decoder configuration records: read resolution and profile out of avcC/hvcC (ISO/IEC 14496-15)
 * and AAC AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1), so the API can report a stream's format
 * without decoding a frame.
 *
 * The SPS readers follow ITU-T H.264 7.3.2.1.1 and H.265 7.3.2.2 only as far as the picture size
 * and cropping; everything is bounds-checked and emulation prevention bytes are removed. */
#ifndef PROTO_NAL_H
#define PROTO_NAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct nal_video_info_s {
    int width, height; /* after cropping */
    int profile, level;
    int nal_length_size; /* 1, 2 or 4: bytes of each NAL unit's length prefix in frames */
} nal_video_info_t;

typedef struct nal_audio_info_s {
    int object_type; /* 2 = AAC-LC, 5 = SBR (HE-AAC), 29 = PS */
    int sample_rate; /* Hz */
    int channels;
} nal_audio_info_t;

/* Each returns 0 or a negative error: -EMSGSIZE (truncated), -EPROTO (malformed), -ENOTSUP. */
int nal_parse_avcc(const uint8_t *buf, size_t len, nal_video_info_t *out);
int nal_parse_hvcc(const uint8_t *buf, size_t len, nal_video_info_t *out);
int nal_parse_asc(const uint8_t *buf, size_t len, nal_audio_info_t *out);

#endif
