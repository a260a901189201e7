/* Reconnect delays: exponential backoff with jitter. Pure, so the schedule can be tested.
 *
 * Attempt n (0 for the first retry) waits base·2^n, capped at cap, then jittered into its upper
 * half ("equal jitter"): never zero, so a dead server is not hammered, yet spread out, so nodes
 * that lost the same Redis do not all come back in the same millisecond. */
#ifndef RELAY_BACKOFF_H
#define RELAY_BACKOFF_H

#include <stdint.h>

#define RL_BACKOFF_BASE_MS 100
#define RL_BACKOFF_CAP_MS  5000

/* The delay before retry number attempt, in ms; rnd is any random 32-bit value. Result lies in
 * [d/2, d] where d = min(cap_ms, base_ms << attempt). base_ms and cap_ms must be > 0. */
int rl_backoff_ms(unsigned attempt, int base_ms, int cap_ms, uint32_t rnd);

#endif
