/* Unit tests for relay/backoff.c: the reconnect schedule doubles, stops at its cap, and jitters
 * only within the upper half of each step. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "relay/core/backoff.h"

#define BASE RL_BACKOFF_BASE_MS
#define CAP  RL_BACKOFF_CAP_MS

Test(backoff, doubles_from_base_until_the_cap)
{
    /* with the largest jitter the delay is the whole step */
    int want[] = { 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000 };

    for (unsigned n = 0; n < sizeof(want) / sizeof(want[0]); n++)
        cr_expect_eq(rl_backoff_ms(n, BASE, CAP, want[n] / 2), want[n], "attempt %u", n);
}

Test(backoff, jitter_stays_in_the_upper_half_of_each_step)
{
    uint32_t rnd[] = { 0, 1, 7, 49, 50, 51, 1000, 0x7fffffffu, 0xffffffffu };

    for (unsigned n = 0; n < 12; n++) {
        int step = rl_backoff_ms(n, BASE, CAP, 0) * 2;
        if (step > CAP)
            step = CAP;
        for (size_t i = 0; i < sizeof(rnd) / sizeof(rnd[0]); i++) {
            int d = rl_backoff_ms(n, BASE, CAP, rnd[i]);
            cr_expect(d >= step / 2 && d <= step, "attempt %u rnd %u: %d not in [%d, %d]", n,
                      rnd[i], d, step / 2, step);
        }
    }
}

Test(backoff, smallest_delay_is_half_the_base_never_zero)
{
    cr_expect_eq(rl_backoff_ms(0, BASE, CAP, 0), BASE / 2);
    cr_expect_eq(rl_backoff_ms(0, 1, CAP, 0), 1);
}

Test(backoff, huge_attempt_counts_do_not_overflow)
{
    cr_expect_eq(rl_backoff_ms(1000000u, BASE, CAP, 2500), CAP);
    cr_expect_eq(rl_backoff_ms(~0u, BASE, CAP, 0), CAP / 2);
    cr_expect_eq(rl_backoff_ms(40, 3, 2147483647, 0), 2147483647 - 2147483647 / 2);
}

Test(backoff, base_above_cap_is_capped)
{
    cr_expect_eq(rl_backoff_ms(0, 9000, CAP, 2500), CAP);
}
