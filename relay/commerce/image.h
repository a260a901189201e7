/* Product images: an upload (PNG or JPEG) decoded with libavcodec and made into the card's
 * thumbnail (SCI1, docs/COMMERCE.md) with libswscale.
 *
 * Pure: bytes in, bytes out, no lws, hiredis or libuv, so it runs on libuv's thread pool and is
 * fuzzed as it is (fuzz/fuzz_image.c). The upload is untrusted: its kind comes from its magic
 * bytes, and its size from its header (PNG IHDR, JPEG SOFn) is checked against the limits before
 * a pixel is decoded; the decoder is held to the same limit (max_pixels), and the decoded
 * picture must have the size its header announced. */
#ifndef RELAY_COMMERCE_IMAGE_H
#define RELAY_COMMERCE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define RL_IMAGE_BYTES_MAX (2 << 20) /* an upload's body */
#define RL_IMAGE_SIDE_MAX  4096      /* pixels on either side of an upload */
#define RL_IMAGE_THUMB_HDR 8         /* "SCI1", width and height as 16-bit big-endian */

typedef enum { RL_IMAGE_NONE, RL_IMAGE_PNG, RL_IMAGE_JPEG } rl_image_kind_t;

/* What the magic bytes say the upload is. */
rl_image_kind_t rl_image_sniff(const uint8_t *b, size_t len);

/* The picture's size from its header, without decoding. Returns 0, -ENOTSUP (neither PNG nor
 * JPEG), -EINVAL (no valid header), or -EFBIG (a side over side_max). */
int rl_image_probe(const uint8_t *b, size_t len, int side_max, rl_image_kind_t *kind, int *w,
                   int *h);

/* What rl_image_thumbnail checks before decoding: the kind, the size from the header, and that
 * a JPEG is whole. Cheap (no pixel is decoded). Returns 0, or the errors of rl_image_thumbnail
 * with err filled. */
int rl_image_check(const uint8_t *b, size_t len, int side_max, char *err, size_t errlen);

/* Decodes the upload b and makes its thumbnail: SCI1, straight-alpha RGBA, fitted into
 * thumb_max × thumb_max keeping its aspect, never enlarged. *out is malloc'ed (the caller frees
 * it), *w and *h are the thumbnail's. Returns 0, or -ENOTSUP, -EINVAL (corrupt or truncated),
 * -EFBIG (over side_max), -ENOMEM, with a sentence in err saying what was wrong. */
int rl_image_thumbnail(const uint8_t *b, size_t len, int side_max, int thumb_max, uint8_t **out,
                       size_t *outlen, int *w, int *h, char *err, size_t errlen);

#endif
