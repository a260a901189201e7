/* Compose: the product card burned into each source frame, and the stamp of each change of what
 * it shows (SEI on the frame, a stamp for the HLS window).
 *
 * The network thread publishes overlay states (rl_compose_publish: one atomic exchange); the
 * worker takes the newest when it composes a frame and never waits for the network thread. A
 * change is stamped on the first frame that shows it: several versions published between two
 * frames make one stamp, and a version that changes nothing the card shows makes none. A card
 * that slides in is stamped on the first frame where it is in the picture. The first frame a
 * compose object shows something on is always stamped, so a new worker states what it shows. */
#ifndef RELAY_COMPOSE_H
#define RELAY_COMPOSE_H

#include <libavutil/frame.h>
#include <stdint.h>

#include "overlay/state.h"
#include "relay/media/hls_live.h"

typedef struct rl_compose_s rl_compose_t;

/* first_seq: the first stamp's sequence number. NULL when out of memory. */
rl_compose_t *rl_compose_new(const char *stream_id, uint64_t first_seq);
void rl_compose_free(rl_compose_t **c);

/* Network thread: the newest Redis-confirmed state; takes over the caller's reference (s may be
 * NULL: nothing). */
void rl_compose_publish(rl_compose_t *c, ov_state_t *s);

/* Worker: draws the card into f (8-bit 4:2:0, shown at pdt_ms on the wall clock, which drives the
 * countdown; at media_ms in the output's timeline) and puts shopcast's SEI on it when it is the
 * first frame of a change or a keyframe (pict_type I), replacing any other user-data-unregistered
 * SEI it carried. Returns 1 with *stamp filled when f is the first frame of a change, 0
 * otherwise. */
int rl_compose_frame(rl_compose_t *c, AVFrame *f, int64_t pdt_ms, int64_t media_ms,
                     rl_stamp_t *stamp);

/* Worker: the latest stamp, what the card shows now, in *stamp. Returns 0 when nothing was
 * stamped yet. */
int rl_compose_last(const rl_compose_t *c, rl_stamp_t *stamp);

#endif
