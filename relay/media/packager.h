/* CMAF packager: one fragmented-MP4 muxer per rung (libavformat, writing into memory), cutting
 * partial segments of about part_ms and whole segments at each keyframe.
 *
 * Worker thread only. Output leaves through callbacks that take ownership of the bytes: an init
 * segment whenever the codec configuration changes, then parts. A segment is the concatenation of
 * its parts (CMAF allows several fragments per segment), so segments are never muxed twice. */
#ifndef RELAY_PACKAGER_H
#define RELAY_PACKAGER_H

#include <libavcodec/avcodec.h>
#include <stdint.h>

#include "relay/core/blob.h"

typedef struct rl_part_info_s {
    int rung;
    uint64_t msn;       /* media sequence number of the segment it belongs to */
    int index;          /* part index within the segment */
    double duration;    /* seconds */
    int independent;    /* begins with a keyframe */
    int64_t pdt_ms;     /* wall-clock time of the part's first frame, Unix ms */
    int init_id;        /* init segment the part needs */
    int discontinuity;  /* first part after a change of init, timeline or publisher */
    int64_t arrival_us; /* monotonic arrival of its last frame's source packet; 0 unknown */
    /* monotonic: when the worker took that packet from its queue, and when the part was cut
     * (0 unknown): part-ready latency's stages (relay/media/hls_live.h) */
    int64_t dequeued_us, cut_us;
} rl_part_info_t;

typedef struct rl_packager_cb_s {
    /* the callee owns data's reference from here on */
    void (*on_init)(void *opaque, int rung, int init_id, rl_blob_t *data);
    void (*on_part)(void *opaque, const rl_part_info_t *info, rl_blob_t *data);
    /* segment msn of rung is complete; duration is the sum of its parts, seconds */
    void (*on_segment)(void *opaque, int rung, uint64_t msn, double duration);
    void *opaque;
} rl_packager_cb_t;

typedef struct rl_packager_s rl_packager_t;

/* next_msn and next_init_id continue the numbering of an earlier packager of the same stream. */
rl_packager_t *rl_packager_new(int part_ms, uint64_t next_msn, int next_init_id,
                               const rl_packager_cb_t *cb);

/* Starts (or restarts, after a change) the muxers: one per rung, video from enc[i], audio from
 * audio (may be NULL). Marks the next part as a discontinuity when it is a restart. The dates
 * and media times keep their origin: the caller moves it (rl_packager_restart_due) before the
 * first frame that the new muxers take, since its times are asked for before it is encoded. */
int rl_packager_configure(rl_packager_t *p, const AVCodecContext *const *enc, int nrungs,
                          const AVCodecParameters *audio);

/* Encoded video of one rung, pts/dts in ms; borrowed. A keyframe starts a new segment. */
int rl_packager_video(rl_packager_t *p, int rung, AVPacket *pkt);
/* Source audio, written to every rung; pts/dts in ms; borrowed. */
int rl_packager_audio(rl_packager_t *p, AVPacket *pkt);
/* Closes the current segment (end of a publish session). */
int rl_packager_finish(rl_packager_t *p);

/* Where a video frame (pts in ms, key: a forced keyframe) will be in the output, asked before it
 * is encoded, so that it is known while the frame is composed:
 *  - *pdt_ms, its PROGRAM-DATE-TIME, Unix ms: the wall clock is anchored on the first frame
 *    asked for, or, when nobody asked, on the first part cut (its first frame was made a part's
 *    duration before);
 *  - *media_ms, its presentation time in the rungs' fMP4 (what a demuxer or player reads): the
 *    mp4 muxer starts each init's track at 0 on its first keyframe. */
void rl_packager_frame_times(rl_packager_t *p, int64_t pts, int key, int64_t *pdt_ms,
                             int64_t *media_ms);
/* The next frame asked about goes to new muxers (a new publisher, new encoders): its date follows
 * the wall clock anew rather than the media time of a timeline that continued across a gap, and
 * the media time restarts at the first keyframe. */
void rl_packager_restart_due(rl_packager_t *p);

uint64_t rl_packager_next_msn(const rl_packager_t *p);
int rl_packager_next_init_id(const rl_packager_t *p);
/* The PART-TARGET parts will respect for these encoders, seconds: whole frames per part. */
double rl_packager_part_target(int part_ms, const AVCodecContext *const *enc, int nrungs);
void rl_packager_free(rl_packager_t **p);

#endif
