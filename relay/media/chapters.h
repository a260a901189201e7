/* The product chapters of a recorded session (product replay): each span during which one product
 * is pinned, from the card's stamps, placed on the session's VOD timeline.
 *
 * Worker thread only; pure (no I/O: the VOD writer writes what it gets). Stamps of the same
 * product continue its chapter whatever else changed (price, sold, a flash sale); an unpin or
 * another product ends it. A chapter is placed on a VOD's complete segments: it starts at its
 * first frame's time from the VOD's first frame (0 for a product already pinned when the session
 * began), and ends once its last frame is in them, or with the VOD when that has ended. */
#ifndef RELAY_CHAPTERS_H
#define RELAY_CHAPTERS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/hls.h"
#include "relay/media/hls_live.h"

/* Chapters a session keeps: past this many, later ones are not recorded. */
#define RL_CHAPTERS_MAX 2000

#define RL_CHAPTER_CLASS "com.shopcast.chapter"

typedef struct rl_chapters_s rl_chapters_t;

rl_chapters_t *rl_chapters_new(void);
void rl_chapters_free(rl_chapters_t **c);

/* A stamp, in the order of the frames. Returns 1 when it opened or ended a chapter, 0 when it
 * changed none, -ENOSPC when it would open one past RL_CHAPTERS_MAX, -ENOMEM. */
int rl_chapters_stamp(rl_chapters_t *c, const rl_stamp_t *s);

/* The timeline a VOD's chapters are placed on: its complete segments, oldest first, and whether
 * the VOD has ended (no segment will follow). */
typedef struct rl_timeline_s {
    const hls_segment_t *segs;
    size_t nsegs;
    int ended;
} rl_timeline_t;

/* One chapter as placed on a timeline. */
typedef struct rl_chapter_s {
    size_t n; /* chapter-<n>, from 1 in the order they began; stays the same as the VOD grows */
    const char *product, *name;
    int64_t start_pdt_ms, start_ms; /* its first frame: date, and ms from the VOD's first frame */
    int ends;                       /* its end is on the timeline (end_* are set) */
    int64_t end_pdt_ms, end_ms;
} rl_chapter_t;

/* Places the chapters on t: out[0..n) in order, at most max; those not on it (yet), or that
 * last no time on it, are left out. Returns n. */
size_t rl_chapters_place(const rl_chapters_t *c, const rl_timeline_t *t, rl_chapter_t *out,
                         size_t max);
size_t rl_chapters_count(const rl_chapters_t *c);

/* The text behind one chapter's EXT-X-DATERANGE. */
typedef struct rl_chapter_range_s {
    char id[32];
    hls_attr_t attrs[2];
} rl_chapter_range_t;

/* The EXT-X-DATERANGE of a placed chapter (RFC 8216bis 4.4.5.1): ID="chapter-<n>",
 * CLASS=RL_CHAPTER_CLASS, START-DATE, END-DATE and DURATION once it ends, X-PRODUCT and X-START-S
 * (seconds into the VOD). r points into text, which must outlive it. */
void rl_chapter_range(const rl_chapter_t *ch, hls_daterange_t *r, rl_chapter_range_t *text);

/* chapters.json for t: {"chapters": [{"id", "product", "name", "start_s", "end_s",
 * "start_pdt_ms", "end_pdt_ms"}...], "ended"}, with end_s and end_pdt_ms null while a chapter
 * goes on. A string to free(), or NULL when out of memory. */
char *rl_chapters_json(const rl_chapters_t *c, const rl_timeline_t *t);

#endif
