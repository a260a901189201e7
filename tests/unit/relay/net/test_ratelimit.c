/* Unit tests for relay/net/ratelimit.c: bursts, the sustained rate, sources apart, bounded table.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "relay/net/ratelimit.h"

static rl_peer_key_t key(const char *addr)
{
    rl_peer_key_t k;

    rl_peer_key(addr, &k);
    return k;
}

/* How many of n requests at time t are let through. */
static int admitted(rl_ratelimit_t *rl, const char *addr, int n, double t)
{
    rl_peer_key_t k = key(addr);
    int ok = 0;

    for (int i = 0; i < n; i++)
        ok += rl_ratelimit_take(rl, &k, t) == 0;
    return ok;
}

Test(ratelimit, a_burst_is_let_through_then_the_rate)
{
    rl_ratelimit_t *rl = rl_ratelimit_new(10, 20);

    cr_assert_eq(admitted(rl, "10.0.0.1", 30, 100.0), 20);
    cr_assert_eq(admitted(rl, "10.0.0.1", 30, 100.5), 5);  /* half a second: 5 tokens */
    cr_assert_eq(admitted(rl, "10.0.0.1", 30, 200.0), 20); /* refilled, never past the burst */
    rl_ratelimit_free(&rl);
    cr_assert_null(rl);
}

Test(ratelimit, a_refusal_says_how_long_to_wait)
{
    rl_ratelimit_t *rl = rl_ratelimit_new(0.25, 1); /* one every 4 s */
    rl_peer_key_t k = key("10.0.0.1");

    cr_assert_eq(rl_ratelimit_take(rl, &k, 10.0), 0);
    cr_assert_eq(rl_ratelimit_take(rl, &k, 10.0), 4);
    cr_assert_eq(rl_ratelimit_take(rl, &k, 13.5), 1);
    cr_assert_eq(rl_ratelimit_take(rl, &k, 14.0), 0);
    rl_ratelimit_free(&rl);
}

Test(ratelimit, sources_have_buckets_of_their_own_ipv6_by_64)
{
    rl_ratelimit_t *rl = rl_ratelimit_new(1, 2);

    cr_assert_eq(admitted(rl, "10.0.0.1", 5, 1.0), 2);
    cr_assert_eq(admitted(rl, "10.0.0.2", 5, 1.0), 2);
    cr_assert_eq(admitted(rl, "::ffff:10.0.0.1", 5, 1.0), 0); /* the same IPv4 source */
    cr_assert_eq(admitted(rl, "2001:db8:0:1::1", 5, 1.0), 2);
    cr_assert_eq(admitted(rl, "2001:db8:0:1::2", 5, 1.0), 0); /* the same /64 */
    cr_assert_eq(admitted(rl, "2001:db8:0:2::1", 5, 1.0), 2);
    rl_ratelimit_free(&rl);
}

Test(ratelimit, no_rate_means_no_limit)
{
    rl_ratelimit_t *rl = rl_ratelimit_new(0, 1);

    cr_assert_eq(admitted(rl, "10.0.0.1", 1000, 1.0), 1000);
    rl_ratelimit_free(&rl);
}

/* Many more sources than slots: the table stays bounded, and a source being limited now keeps its
 * bucket against sources seen long ago. */
Test(ratelimit, many_sources_evict_the_oldest_buckets_first)
{
    rl_ratelimit_t *rl = rl_ratelimit_new(1, 1);
    char addr[64];

    for (int i = 0; i < 100000; i++) {
        snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
        cr_assert_eq(admitted(rl, addr, 1, 1.0 + i * 1e-6), 1);
    }
    cr_assert_eq(admitted(rl, "192.0.2.1", 1, 2.0), 1);
    for (int i = 0; i < 5000; i++) {
        snprintf(addr, sizeof(addr), "172.16.%d.%d", i >> 8 & 255, i & 255);
        admitted(rl, addr, 1, 1.5); /* older than 192.0.2.1's last request */
    }
    cr_assert_eq(admitted(rl, "192.0.2.1", 1, 2.1), 0);
    rl_ratelimit_free(&rl);
}
