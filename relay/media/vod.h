/* VOD HLS of a recorded publish session: the ladder's segments written to disk as the packager
 * makes them, with playlists that end (EXT-X-ENDLIST) when the session does, and the session's
 * product chapters (relay/media/chapters.h) from the card's stamps.
 *
 * Worker thread only. Layout under dir: master.m3u8, chapters.json, and per rendition
 * <name>/media.m3u8, <name>/init-<id>.mp4, <name>/seg-<msn>.m4s. A segment file grows part by
 * part, so nothing is held in memory; the playlists and chapters.json are rewritten (write, then
 * rename) when a segment completes, so a reader never sees half of one. Each segment carries its
 * EXT-X-PROGRAM-DATE-TIME and each chapter an EXT-X-DATERANGE (CLASS="com.shopcast.chapter"). */
#ifndef RELAY_VOD_H
#define RELAY_VOD_H

#include <stddef.h>
#include <stdint.h>

#include "relay/media/hls_live.h"
#include "relay/media/packager.h"

typedef struct rl_vod_s rl_vod_t;

/* Creates dir. Returns NULL (and logs why) when it cannot. */
rl_vod_t *rl_vod_open(const char *stream_id, const char *dir, int target_duration);

void rl_vod_rungs(rl_vod_t *v, const rl_hls_rung_t *rungs, int n);
void rl_vod_init(rl_vod_t *v, int rung, int init_id, const uint8_t *data, size_t len);
void rl_vod_part(rl_vod_t *v, const rl_part_info_t *info, const uint8_t *data, size_t len);
void rl_vod_segment(rl_vod_t *v, int rung, uint64_t msn, double duration);
/* A change of what the card shows, in the order of the frames (the stamp posted to the live
 * window); the one of what the card showed when the session began comes first. */
void rl_vod_stamp(rl_vod_t *v, const rl_stamp_t *s);

/* Ends the playlists and frees; NULLs *v. */
void rl_vod_close(rl_vod_t **v);

#endif
