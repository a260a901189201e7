/* Unit tests for the ladder setting: parsing, ordering, and the errors a typo gets. */
#include <criterion/criterion.h>
#include <string.h>

#include "relay/media/transcode.h"

static rl_rung_t r[RL_MAX_RUNGS];
static char err[256];

Test(ladder, parses_rungs_tallest_first)
{
    int n = rl_ladder_parse("360p:800k,720p:2.5M,1080p:4500000", r, RL_MAX_RUNGS, err, sizeof(err));

    cr_assert_eq(n, 3, "%s", err);
    cr_assert_str_eq(r[0].name, "1080p");
    cr_assert_eq(r[0].bitrate, 4500000);
    cr_assert_eq(r[1].height, 720);
    cr_assert_eq(r[1].bitrate, 2500000);
    cr_assert_eq(r[2].bitrate, 800000);
}

Test(ladder, off_means_no_rungs)
{
    cr_assert_eq(rl_ladder_parse("off", r, RL_MAX_RUNGS, err, sizeof(err)), 0);
}

Test(ladder, rejects_malformed_items_with_the_item_named)
{
    static const char *const bad[] = {
        "",          "720:2500k",           "720p",      "720p:",    "720p:fast",
        "721p:800k", "720p:800k,720p:900k", "99999p:1k", "720p:-5k", "720p:2500kk"
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        cr_assert_lt(rl_ladder_parse(bad[i], r, RL_MAX_RUNGS, err, sizeof(err)), 0, "%s", bad[i]);
        cr_assert(strstr(err, "ladder"), "no message for '%s'", bad[i]);
    }
}

Test(ladder, too_many_rungs)
{
    cr_assert_lt(rl_ladder_parse("144p:1k,240p:1k,360p:1k,480p:1k,540p:1k,720p:1k,1080p:1k", r,
                                 RL_MAX_RUNGS, err, sizeof(err)),
                 0);
    cr_assert(strstr(err, "at most"), "%s", err);
}
