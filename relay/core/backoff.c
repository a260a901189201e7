/* Reconnect delays: exponential backoff with jitter. Pure, so the schedule can be tested. */
#include "relay/core/backoff.h"

int rl_backoff_ms(unsigned attempt, int base_ms, int cap_ms, uint32_t rnd)
{
    int d = base_ms < cap_ms ? base_ms : cap_ms;

    /* Doubling one step at a time cannot overflow, whatever attempt is. */
    for (unsigned i = 0; i < attempt && d < cap_ms; i++)
        d = d > cap_ms / 2 ? cap_ms : d * 2;
    return d - d / 2 + (int)(rnd % (uint32_t)(d / 2 + 1));
}
