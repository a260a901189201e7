/* Monotonic time, for durations, deadlines and latencies: never the wall clock, which may jump.
 * The wall clock only dates what others read (PROGRAM-DATE-TIME) and seeds numbering that must
 * keep increasing across restarts. Any thread. */
#ifndef RELAY_CLOCK_H
#define RELAY_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline double rl_now(void) /* seconds */
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int64_t rl_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Wall clock, Unix milliseconds: a date, never a duration. */
static inline int64_t rl_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
