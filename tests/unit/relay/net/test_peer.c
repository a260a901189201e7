/* Unit tests for relay/peer.c: which peer addresses count as one source. */
#include <criterion/criterion.h>

#include "relay/net/peer.h"

static int same(const char *a, const char *b)
{
    rl_peer_key_t ka, kb;

    rl_peer_key(a, &ka);
    rl_peer_key(b, &kb);
    return rl_peer_key_eq(&ka, &kb);
}

Test(peer, ipv4_and_its_mapped_ipv6_form_are_one_source)
{
    cr_assert(same("127.0.0.2", "::ffff:127.0.0.2"));
    cr_assert(same("::FFFF:7f00:2", "127.0.0.2"));
    cr_assert(same("203.0.113.9", "203.0.113.9"));
}

Test(peer, distinct_ipv4_addresses_are_distinct_sources)
{
    cr_assert_not(same("127.0.0.2", "127.0.0.3"));
    cr_assert_not(same("::ffff:10.0.0.1", "::ffff:10.0.0.2"));
}

Test(peer, ipv6_is_one_source_per_64)
{
    cr_assert(same("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"));
    cr_assert_not(same("2001:db8:1:2::1", "2001:db8:1:3::1"));
    cr_assert_not(same("::1", "::ffff:0.0.0.1")); /* loopback is not an IPv4 address */
}

Test(peer, text_that_is_no_address_is_one_group_apart_from_real_ones)
{
    cr_assert(same("", "not an address"));
    cr_assert(same("", "127.0.0.1:1935"));
    cr_assert_not(same("", "0.0.0.0"));
}
