/* Filler: what a stream carries while its publisher is away, a "back soon" slate and silence, so
 * the playlists keep moving and players keep playing until the publisher returns or the grace
 * time ends.
 *
 * Worker thread only. Video goes through the stream's own encoders (same size, same init
 * segment, so the slate needs no discontinuity); audio is silent AAC with the publisher's sample
 * rate and channels, which the publisher's AudioSpecificConfig in the init segment describes. */
#ifndef RELAY_FILLER_H
#define RELAY_FILLER_H

#include <libavcodec/avcodec.h>

#include "relay/media/packager.h"
#include "relay/media/transcode.h"

typedef struct rl_filler_s rl_filler_t;

/* Starts now, video at media time video_ms and audio at audio_ms (where each track left off, so
 * neither has a gap). audio may be NULL (no audio track). Returns NULL if the transcoder has no
 * encoders yet or memory runs out. */
rl_filler_t *rl_filler_new(rl_transcode_t *tc, rl_packager_t *pk, const AVCodecParameters *audio,
                           int64_t video_ms, int64_t audio_ms);

/* Sends whatever is due by now; returns the milliseconds until the next frame is due. */
int rl_filler_run(rl_filler_t *f);

int64_t rl_filler_last_ms(const rl_filler_t *f); /* latest timestamp it produced */
void rl_filler_free(rl_filler_t **f);

#endif
