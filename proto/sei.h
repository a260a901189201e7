/* The stamp shopcast puts into the video: an H.264 user-data-unregistered SEI payload (ITU-T
 * H.264 D.1.7, D.2.7) carrying the sequence number and state version of the card's latest change.
 *
 * Pure. The payload is the 16-byte SEI_UUID, then ASCII text, exactly `{"seq":N,"v":V}` (N, V
 * decimal, no sign, no leading zeros, at most 20 digits and within uint64_t), with no NUL: a
 * player reads it from the bytes after the UUID (hls.js hands them over with the frame's PTS).
 * The encoder here writes the payload only; libx264 wraps it in the SEI message and NAL unit. */
#ifndef PROTO_SEI_H
#define PROTO_SEI_H

#include <stddef.h>
#include <stdint.h>

/* shopcast's own UUID (ISO/IEC 11578), b9cb6d6b-85b4-4afd-a7d1-7851c5139f5a. */
#define SEI_UUID_LEN 16
extern const uint8_t SEI_UUID[SEI_UUID_LEN];

/* Room for the longest payload: the UUID and both numbers at 20 digits. */
#define SEI_PAYLOAD_MAX (SEI_UUID_LEN + sizeof("{\"seq\":,\"v\":}") - 1 + 2 * 20)

typedef struct sei_stamp_s {
    uint64_t seq;     /* the stamp's sequence number: increases for a stream across workers */
    uint64_t version; /* the overlay state's version the frame shows */
} sei_stamp_t;

/* Writes the payload for s into buf; returns its length, or -ENOSPC when len is too short. */
int sei_encode(uint8_t *buf, size_t len, const sei_stamp_t *s);

/* Reads a user-data-unregistered payload (UUID and what follows). Returns 0 with *out filled,
 * -ENOENT when the UUID is not shopcast's (another party's SEI: not an error for a reader),
 * -EMSGSIZE when it is shorter than a UUID, or -EPROTO when shopcast's UUID carries anything
 * but the exact text above. */
int sei_decode(const uint8_t *buf, size_t len, sei_stamp_t *out);

#endif
