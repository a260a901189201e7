/* The live HLS window of one stream: init segments, segments and parts in RAM, per rung, and the
 * playlists built from them.
 *
 * Two sides. The media worker posts what its packager made (rl_hls_post_*, any thread, never
 * blocks for long: a mutex around a list). The network thread drains those posts into the window
 * (rl_hls_drain) and serves from it; the window itself is touched by the network thread only.
 * The object is reference counted: the stream and its worker each hold a reference. */
#ifndef RELAY_HLS_LIVE_H
#define RELAY_HLS_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "relay/core/blob.h"
#include "relay/media/packager.h"
#include "proto/hls.h"

typedef struct rl_hls_s rl_hls_t;

typedef struct rl_hls_rung_s {
    char name[16]; /* "720p": the rung's folder in URLs */
    int width, height;
    int bandwidth; /* peak bits per second, audio and container included */
    int avg_bandwidth;
    char codecs[64]; /* RFC 6381 */
    double frame_rate;
} rl_hls_rung_t;

/* A change of what the product card shows, stamped with the first frame that shows it: the same
 * frame in every rung, since the card is blended before scaling. */
#define RL_STAMP_NAME_MAX 200 /* bytes: a product name's limit (relay/commerce/catalog_body.h) */
typedef struct rl_stamp_s {
    uint64_t seq;       /* increases for the stream, across workers and restarts */
    uint64_t version;   /* the overlay state's version (ov_state_t: the relay's count) */
    uint64_t state_seq; /* Redis's change counter the state reflects (an order's reply has it) */
    int64_t pts_ms;     /* the frame's presentation time in the rungs' fMP4 (as demuxed), ms */
    int64_t pdt_ms;     /* its PROGRAM-DATE-TIME, Unix ms */
    int pinned;
    char product[64]; /* the pinned product's id, "" when nothing is pinned; no '"' or controls */
    int64_t price;    /* minor units, charged at that frame (the flash price during a sale) */
    int64_t sold, stock;
    int flash;
    /* What else the frame shows, for the pages' events and the VOD's chapters (not playlisted) */
    char name[RL_STAMP_NAME_MAX + 1]; /* UTF-8 as the operator typed it */
    char currency[4];
    int64_t regular_price;
    int64_t flash_ends_ms, flash_left; /* while flash */
} rl_stamp_t;

/* Stamps the window keeps (the playlists list those within their window): a burst of changes
 * beyond this many within one window drops the oldest first. */
#define RL_HLS_STAMPS 128

rl_hls_t *rl_hls_new(const char *stream_id, int window_s, int segment_ms);
rl_hls_t *rl_hls_ref(rl_hls_t *h);
void rl_hls_unref(rl_hls_t **h);

/* Worker side. Each takes over the caller's reference to data. */
void rl_hls_post_rungs(rl_hls_t *h, const rl_hls_rung_t *rungs, int n, double part_target);
void rl_hls_post_init(rl_hls_t *h, int rung, int init_id, rl_blob_t *data);
void rl_hls_post_part(rl_hls_t *h, const rl_part_info_t *info, rl_blob_t *data);
void rl_hls_post_segment(rl_hls_t *h, int rung, uint64_t msn, double duration);
void rl_hls_post_end(rl_hls_t *h); /* no more media: the playlists get EXT-X-ENDLIST */
/* A stamp, posted no later than the part that holds its frame: each rung's playlists list it
 * (EXT-X-DATERANGE) from the update that lists that part on. */
void rl_hls_post_stamp(rl_hls_t *h, const rl_stamp_t *s);

/* Network thread. Applies posted changes; returns 1 if the window changed. */
int rl_hls_drain(rl_hls_t *h);

/* Network thread. Once the playlists have ended (the stream went off air) and keep_s seconds
 * have passed, drops the window's media, so that everything under it answers -ENOENT; numbering
 * continues if the stream comes back. Returns 1 if it released anything. */
int rl_hls_expire(rl_hls_t *h, double keep_s);

/* The master playlist listing these renditions ("<name>/media.m3u8"), for the live window and
 * for recordings alike. */
int rl_hls_write_master(hls_buf_t *out, const rl_hls_rung_t *rungs, int n);

/* Numbering that continues across workers and server restarts: media sequence numbers and init
 * ids start from the wall clock in seconds, and only ever increase. */
uint64_t rl_hls_next_msn(const rl_hls_t *h);
int rl_hls_next_init_id(const rl_hls_t *h);
/* Stamps number from the wall clock in milliseconds at the window's creation. */
uint64_t rl_hls_next_stamp_seq(const rl_hls_t *h);

/* Network thread: the kept stamps with a seq above after_seq, oldest first, as *first[0..n); the
 * pointer is valid until the next drain. Returns n. For events sent to pages: after a drain,
 * ask for those after the last seq sent. */
size_t rl_hls_stamps(const rl_hls_t *h, uint64_t after_seq, const rl_stamp_t **first);

/* Serving, network thread. Each returns 0 with a new reference in *out (the bytes to send: they
 * stay valid while it is held, whatever the window does), RL_EAGAIN when the resource does not
 * exist yet but will soon (the caller may hold the request), -ENOENT when it does not exist, or
 * -EINVAL when the request is invalid (HTTP 400). Playlists are rendered once per change of the
 * window and shared. */
int rl_hls_master(rl_hls_t *h, rl_blob_t **out);
int rl_hls_playlist(rl_hls_t *h, const char *rung, const hls_query_t *q, rl_blob_t **out);
int rl_hls_file(rl_hls_t *h, const char *rung, const hls_name_t *name, rl_blob_t **out);

/* The i-th rendition of the current ladder, with the part-ready latency of its recent parts (from
 * the arrival of the source packet to the part being servable), milliseconds. */
int rl_hls_rung_info(const rl_hls_t *h, int i, rl_hls_rung_t *desc, double *p50, double *p95);

/* The same latency in its stages, p50 and p95 of recent parts, ms: QUEUE from the source packet's
 * arrival to the worker taking it from its queue; WORK from there to the part being cut (decode,
 * composite, scale, encode, package); HANDOFF from the cut to the network thread making it
 * servable. Parts whose stages are not known (the slate's) count in none. */
enum { RL_HLS_STAGE_QUEUE, RL_HLS_STAGE_WORK, RL_HLS_STAGE_HANDOFF, RL_HLS_STAGES };
extern const char *const rl_hls_stage_names[RL_HLS_STAGES];
int rl_hls_rung_stages(const rl_hls_t *h, int i, double p50[RL_HLS_STAGES],
                       double p95[RL_HLS_STAGES]);

/* The part-ready latency of every part the i-th rendition made, as a histogram with fixed
 * bounds (ms) for /metrics: bucket[k] counts the parts of at most rl_hls_ready_le_ms[k]
 * (cumulative, as Prometheus has them); count and sum_ms cover every part. Network thread. */
#define RL_HLS_READY_BUCKETS 7
extern const double rl_hls_ready_le_ms[RL_HLS_READY_BUCKETS];
typedef struct rl_hls_ready_s {
    uint64_t bucket[RL_HLS_READY_BUCKETS];
    uint64_t count;
    double sum_ms;
} rl_hls_ready_t;
int rl_hls_rung_ready(const rl_hls_t *h, int i, rl_hls_ready_t *out);
/* What the last drain made servable, in order: a part (index >= 0) or a segment (index -1) of
 * the rung at `rung` (as rl_hls_rung_info numbers them). For the pages' media notices. */
typedef struct rl_hls_news_s {
    int rung;
    uint64_t msn;
    int index;
    double duration;
    int independent;
} rl_hls_news_t;
#define RL_HLS_NEWS 64 /* a drain that makes more keeps the newest */

/* Network thread: valid until the next drain. Returns n. */
size_t rl_hls_news(const rl_hls_t *h, const rl_hls_news_t **first);

int rl_hls_target_duration(const rl_hls_t *h); /* seconds */
int rl_hls_ended(const rl_hls_t *h);

#endif
