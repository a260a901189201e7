/* Unit tests for the live HLS window: what it serves is shared, not copied; rendered playlists
 * are reused until the window changes; a response's reference outlives the window's; an ended
 * window is released after its keep time, and a stream that comes back continues its numbering
 * after a discontinuity; the card's stamps are listed with the part that holds their frame and
 * kept, bounded and in order, for the events. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "proto/status.h"
#include "relay/media/hls_live.h"

static rl_hls_t *h;
static const hls_query_t plain = { 0 };

static rl_blob_t *bytes(const char *text)
{
    return rl_blob_copy(text, strlen(text));
}

static void setup(void)
{
    rl_hls_rung_t rung = { .name = "720p",
                           .width = 1280,
                           .height = 720,
                           .bandwidth = 2800000,
                           .codecs = "avc1.64001f,mp4a.40.2",
                           .frame_rate = 30 };

    h = rl_hls_new("abc", 4, 1000);
    rl_hls_post_rungs(h, &rung, 1, 0.334);
    rl_hls_post_init(h, 0, 7, bytes("INIT"));
}

static void teardown(void)
{
    rl_hls_unref(&h);
}

/* Posts segment msn as three parts "<msn>a", "<msn>b", "<msn>c", needing init init_id, and
 * completes it. */
static void post_segment_of(uint64_t msn, int complete, int init_id)
{
    static const char tag[] = "abc";

    for (int i = 0; i < 3; i++) {
        char text[32];
        rl_part_info_t info = { .rung = 0,
                                .msn = msn,
                                .index = i,
                                .duration = 0.333,
                                .independent = i == 0,
                                .pdt_ms = 1700000000000,
                                .init_id = init_id };
        snprintf(text, sizeof(text), "%llu%c", (unsigned long long)msn, tag[i]);
        rl_hls_post_part(h, &info, bytes(text));
    }
    if (complete)
        rl_hls_post_segment(h, 0, msn, 0.999);
}

static void post_segment(uint64_t msn, int complete)
{
    post_segment_of(msn, complete, 7);
}

static rl_blob_t *file(const char *name)
{
    hls_name_t n;
    rl_blob_t *b = NULL;

    cr_assert_eq(hls_parse_name(name, &n), 0);
    cr_assert_eq(rl_hls_file(h, "720p", &n, &b), 0, "%s", name);
    return b;
}

static int blob_is(const rl_blob_t *b, const char *text)
{
    return b->len == strlen(text) && !memcmp(b->data, text, b->len);
}

TestSuite(hls_live, .init = setup, .fini = teardown);

Test(hls_live, serves_the_posted_bytes_without_copying)
{
    rl_blob_t *posted = bytes("100a"), *got;
    rl_part_info_t info = {
        .rung = 0, .msn = 100, .duration = 0.333, .independent = 1, .init_id = 7
    };

    rl_hls_post_part(h, &info, rl_blob_ref(posted));
    cr_assert_eq(rl_hls_drain(h), 1);
    got = file("part-100.0.m4s");
    cr_assert_eq(got, posted, "the window must hand out the posted blob itself");
    rl_blob_unref(&got);
    rl_blob_unref(&posted);
    got = file("init-7.mp4");
    cr_assert(blob_is(got, "INIT"));
    rl_blob_unref(&got);
}

Test(hls_live, segment_is_its_parts_concatenated)
{
    rl_blob_t *seg;

    post_segment(100, 1);
    rl_hls_drain(h);
    seg = file("seg-100.m4s");
    cr_assert(blob_is(seg, "100a100b100c"));
    rl_blob_unref(&seg);
}

Test(hls_live, playlist_is_rendered_once_per_change_of_the_window)
{
    rl_blob_t *a, *b, *c, *skip;
    hls_query_t q = { .skip = 1 };

    post_segment(100, 0);
    rl_hls_drain(h);
    cr_assert_eq(rl_hls_playlist(h, "720p", &plain, &a), 0);
    cr_assert_eq(rl_hls_playlist(h, "720p", &plain, &b), 0);
    cr_assert_eq(a, b, "no change in between: the same text, shared");
    cr_assert_eq(rl_hls_playlist(h, "720p", &q, &skip), 0);
    cr_assert_neq(skip, a, "a delta update is a different text");
    cr_assert(memmem(a->data, a->len, "part-100.2.m4s", 14));
    cr_assert_null(memmem(a->data, a->len, "seg-100.m4s", 11));

    rl_hls_post_segment(h, 0, 100, 0.999);
    cr_assert_eq(rl_hls_drain(h), 1);
    cr_assert_eq(rl_hls_playlist(h, "720p", &plain, &c), 0);
    cr_assert_neq(c, a, "the window changed: rendered again");
    cr_assert(memmem(c->data, c->len, "seg-100.m4s", 11), "%.*s", (int)c->len, c->data);
    cr_assert_null(memmem(a->data, a->len, "seg-100.m4s", 11), "old text stays as it was");
    rl_blob_unref(&a);
    rl_blob_unref(&b);
    rl_blob_unref(&c);
    rl_blob_unref(&skip);
}

Test(hls_live, master_is_cached_and_follows_the_ladder)
{
    rl_blob_t *a, *b;

    cr_assert_eq(rl_hls_drain(h), 1);
    cr_assert_eq(rl_hls_master(h, &a), RL_EAGAIN, "no media yet: the master waits");
    post_segment(100, 1);
    rl_hls_drain(h);
    cr_assert_eq(rl_hls_master(h, &a), 0);
    cr_assert_eq(rl_hls_master(h, &b), 0);
    cr_assert_eq(a, b);
    cr_assert(memmem(a->data, a->len, "720p/media.m3u8", 15));
    rl_blob_unref(&a);
    rl_blob_unref(&b);
}

Test(hls_live, a_held_reference_outlives_the_window)
{
    rl_blob_t *part, *seg;
    hls_name_t n;
    rl_blob_t *none = NULL;

    post_segment(100, 1);
    rl_hls_drain(h);
    part = file("part-100.1.m4s");
    seg = file("seg-100.m4s");
    for (uint64_t msn = 101; msn < 120; msn++) /* 19 s more: msn 100 leaves the 4 s window */
        post_segment(msn, 1);
    rl_hls_drain(h);
    cr_assert_eq(hls_parse_name("seg-100.m4s", &n), 0);
    cr_assert_eq(rl_hls_file(h, "720p", &n, &none), -ENOENT, "gone from the window");
    cr_assert_null(none);
    cr_assert(blob_is(part, "100b"), "a response still sending it keeps its bytes");
    cr_assert(blob_is(seg, "100a100b100c"));
    rl_blob_unref(&part);
    rl_blob_unref(&seg);
}

Test(hls_live, unknown_names_and_rungs_are_not_found)
{
    hls_name_t n;
    rl_blob_t *b = NULL;

    post_segment(100, 1);
    rl_hls_drain(h);
    cr_assert_eq(hls_parse_name("part-100.0.m4s", &n), 0);
    cr_assert_eq(rl_hls_file(h, "360p", &n, &b), -ENOENT);
    cr_assert_eq(hls_parse_name("init-8.mp4", &n), 0);
    cr_assert_eq(rl_hls_file(h, "720p", &n, &b), -ENOENT);
    cr_assert_eq(rl_hls_playlist(h, "1080p", &plain, &b), -ENOENT);
    cr_assert_null(b);
}

static int lookup(const char *name)
{
    hls_name_t n;
    rl_blob_t *b = NULL;
    int rc;

    cr_assert_eq(hls_parse_name(name, &n), 0);
    rc = rl_hls_file(h, "720p", &n, &b);
    rl_blob_unref(&b);
    return rc;
}

/* The text of the 720p playlist, in text[size]. */
static void playlist(char *text, size_t size)
{
    rl_blob_t *b = NULL;

    cr_assert_eq(rl_hls_playlist(h, "720p", &plain, &b), 0);
    snprintf(text, size, "%.*s", (int)b->len, b->data);
    rl_blob_unref(&b);
}

Test(hls_live, a_live_window_is_never_released)
{
    post_segment(100, 1);
    rl_hls_drain(h);
    cr_assert_eq(rl_hls_expire(h, 0), 0);
    cr_assert_eq(lookup("seg-100.m4s"), 0);
}

Test(hls_live, an_ended_window_is_kept_then_released)
{
    rl_blob_t *held, *b = NULL;
    uint64_t next;

    post_segment(100, 1);
    post_segment(101, 1);
    rl_hls_post_end(h);
    rl_hls_drain(h);
    next = rl_hls_next_msn(h);
    held = file("seg-101.m4s");
    cr_assert_eq(rl_hls_expire(h, 3600), 0, "within its keep time it is served");
    cr_assert_eq(lookup("seg-100.m4s"), 0);

    cr_assert_eq(rl_hls_expire(h, 0), 1);
    cr_assert_eq(lookup("seg-100.m4s"), -ENOENT);
    cr_assert_eq(lookup("part-101.0.m4s"), -ENOENT);
    cr_assert_eq(lookup("init-7.mp4"), -ENOENT);
    cr_assert_eq(rl_hls_playlist(h, "720p", &plain, &b), -ENOENT);
    cr_assert_eq(rl_hls_master(h, &b), -ENOENT);
    cr_assert_null(b);
    cr_assert(blob_is(held, "101a101b101c"), "a response still sending it keeps its bytes");
    rl_blob_unref(&held);
    cr_assert_eq(rl_hls_next_msn(h), next, "numbering continues");
    cr_assert_eq(rl_hls_expire(h, 0), 0, "nothing left to release");
}

Test(hls_live, a_stream_back_after_release_starts_after_a_discontinuity)
{
    char text[4096], seg[64];
    uint64_t next;

    post_segment(100, 1);
    rl_hls_post_end(h);
    rl_hls_drain(h);
    playlist(text, sizeof(text));
    cr_assert(strstr(text, "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"), "%s", text);
    rl_hls_expire(h, 0);
    next = rl_hls_next_msn(h);
    rl_hls_post_init(h, 0, 8, bytes("INIT2"));
    post_segment_of(next, 1, 8);
    rl_hls_drain(h);
    playlist(text, sizeof(text));
    snprintf(seg, sizeof(seg), "seg-%llu.m4s", (unsigned long long)next);
    cr_assert(strstr(text, "#EXT-X-DISCONTINUITY-SEQUENCE:1\n"), "%s", text);
    cr_assert(strstr(text, seg), "%s", text);
    cr_assert_null(strstr(text, "seg-100.m4s"), "%s", text);
}

Test(hls_live, a_new_init_from_a_later_worker_is_a_discontinuity)
{
    char text[4096];

    post_segment(100, 1);
    post_segment(101, 1);
    rl_hls_post_end(h);
    rl_hls_drain(h);
    /* The stream came back within the keep time: a new worker, its packager's first init, which
     * it does not mark as a discontinuity (it knows of no earlier media). */
    rl_hls_post_init(h, 0, 8, bytes("INIT2"));
    post_segment_of(102, 1, 8);
    rl_hls_drain(h);
    playlist(text, sizeof(text));
    cr_assert(strstr(text, "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init-8.mp4\""), "%s", text);
}

static int playlist_rc(uint64_t msn, int part)
{
    hls_query_t q = { .has_msn = 1, .msn = msn, .has_part = part >= 0, .part = part };
    rl_blob_t *b = NULL;
    int rc = rl_hls_playlist(h, "720p", &q, &b);

    rl_blob_unref(&b);
    return rc;
}

static int playlist_has(const char *text)
{
    rl_blob_t *b = NULL;
    int found;

    cr_assert_eq(rl_hls_playlist(h, "720p", &plain, &b), 0);
    found = memmem(b->data, b->len, text, strlen(text)) != NULL;
    rl_blob_unref(&b);
    return found;
}

Test(hls_live, keyframe_due_the_hint_and_held_requests_name_the_next_segment)
{
    rl_part_info_t next = { .rung = 0,
                            .msn = 101,
                            .duration = 0.333,
                            .independent = 1,
                            .pdt_ms = 1700000001000,
                            .init_id = 7 };

    post_segment(100, 0); /* three parts make up the segment's second; its end is not posted */
    rl_hls_drain(h);
    cr_assert(playlist_has("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-101.0.m4s\""));
    cr_expect_eq(lookup("part-100.3.m4s"), -ENOENT, "never comes and is not hinted: 404");
    cr_expect_eq(lookup("part-101.0.m4s"), RL_EAGAIN, "the hinted part is held");
    cr_expect_eq(playlist_rc(100, 3), RL_EAGAIN, "past the last part: waits for 101's first");

    rl_hls_post_segment(h, 0, 100, 0.999);
    rl_hls_drain(h);
    cr_expect_eq(lookup("part-100.3.m4s"), -ENOENT);
    cr_expect_eq(lookup("part-101.0.m4s"), RL_EAGAIN);
    cr_expect_eq(playlist_rc(100, 3), RL_EAGAIN, "its segment complete, still waits (6.2.5.2)");
    cr_expect_eq(playlist_rc(100, -1), 0, "the whole segment is there");

    rl_hls_post_part(h, &next, bytes("101a"));
    rl_hls_drain(h);
    cr_expect_eq(lookup("part-101.0.m4s"), 0);
    cr_expect_eq(playlist_rc(100, 3), 0);
    cr_expect(playlist_has("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-101.1.m4s\""));
}

Test(hls_live, a_part_still_due_is_hinted_and_held)
{
    rl_part_info_t info = {
        .rung = 0, .msn = 100, .duration = 0.333, .independent = 1, .init_id = 7
    };

    rl_hls_post_part(h, &info, bytes("100a"));
    rl_hls_drain(h);
    cr_assert(playlist_has("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-100.1.m4s\""));
    cr_expect_eq(lookup("part-100.1.m4s"), RL_EAGAIN);
    cr_expect_eq(lookup("part-100.2.m4s"), -ENOENT, "two ahead: not hinted");
    cr_expect_eq(playlist_rc(100, 1), RL_EAGAIN);
    cr_expect_eq(playlist_rc(100, 0), 0);
}

/* Posts one part of a 1 s segment of three, completing the segment with its last part. */
static void post_part(uint64_t msn, int index)
{
    char text[32];
    rl_part_info_t info = { .rung = 0,
                            .msn = msn,
                            .index = index,
                            .duration = 1.0 / 3,
                            .independent = index == 0,
                            .init_id = 7 };

    snprintf(text, sizeof(text), "%llu.%d", (unsigned long long)msn, index);
    rl_hls_post_part(h, &info, bytes(text));
    if (index == 2)
        rl_hls_post_segment(h, 0, msn, 1.0);
    rl_hls_drain(h);
}

Test(hls_live, parts_stay_downloadable_three_target_durations_after_leaving_the_playlist)
{
    uint64_t removed[30] = { 0 }; /* by msn - 100: the end, in parts, when its parts went */
    char uri[48];

    rl_hls_unref(&h);
    h = rl_hls_new("abc", 30, 1000);
    rl_hls_post_rungs(h, &(rl_hls_rung_t){ .name = "720p", .bandwidth = 1 }, 1, 0.334);
    for (uint64_t msn = 100; msn < 130; msn++)
        for (int i = 0; i < 3; i++) {
            uint64_t end = (msn - 100) * 3 + (uint64_t)i + 1;
            post_part(msn, i);
            for (uint64_t k = 100; k <= msn; k++) {
                snprintf(uri, sizeof(uri), "part-%llu.0.m4s", (unsigned long long)k);
                if (!removed[k - 100] && !playlist_has(uri))
                    removed[k - 100] = end;
                /* RFC 8216bis 6.2.2: three target durations are nine parts here */
                if (removed[k - 100] && end <= removed[k - 100] + 9)
                    cr_expect_eq(lookup(uri), 0, "%s went %llu parts ago", uri,
                                 (unsigned long long)(end - removed[k - 100]));
            }
        }
    cr_expect(removed[20], "parts leave the playlist at all");
}

/* ---- stamps ---- */

#define T0_MS 1700000000000ll

/* Posts part index of segment msn (three parts of 1/3 s a second, each dated) and drains. */
static void post_dated_part(uint64_t msn, int index)
{
    rl_part_info_t info = { .rung = 0,
                            .msn = msn,
                            .index = index,
                            .duration = 1.0 / 3,
                            .independent = index == 0,
                            .pdt_ms = T0_MS + (int64_t)(msn - 100) * 1000 + index * 333,
                            .init_id = 7 };

    rl_hls_post_part(h, &info, bytes("p"));
    if (index == 2)
        rl_hls_post_segment(h, 0, msn, 1.0);
    rl_hls_drain(h);
}

static rl_stamp_t stamp(uint64_t seq, int64_t pdt_ms)
{
    rl_stamp_t s = { .seq = seq,
                     .version = seq * 10,
                     .state_seq = seq * 100,
                     .pts_ms = 5000 + (pdt_ms - T0_MS),
                     .pdt_ms = pdt_ms,
                     .pinned = 1,
                     .price = 1280,
                     .sold = 3,
                     .stock = 97 };

    snprintf(s.product, sizeof(s.product), "tea-%llu", (unsigned long long)seq);
    return s;
}

Test(hls_live, a_stamp_is_listed_with_the_part_that_holds_its_frame)
{
    rl_stamp_t s = stamp(42, T0_MS + 1400); /* in part 101.1 */

    post_dated_part(100, 0);
    post_dated_part(100, 1);
    post_dated_part(100, 2);
    post_dated_part(101, 0);
    rl_hls_post_stamp(h, &s); /* the worker posts it before that part */
    rl_hls_drain(h);
    cr_expect(!playlist_has("EXT-X-DATERANGE"), "listed before any part holds its frame");
    post_dated_part(101, 1);
    cr_expect(playlist_has("#EXT-X-DATERANGE:ID=\"card-42\",CLASS=\"com.shopcast.product\","
                           "START-DATE=\"2023-11-14T22:13:21.400Z\",END-ON-NEXT=YES,"
                           "X-PRODUCT=\"tea-42\",X-PRICE=1280,X-SOLD=3,X-STOCK=97,"
                           "X-VERSION=420,X-SEQ=42,X-PTS=6400,X-REDIS-SEQ=4200\n"));
}

Test(hls_live, stamps_are_kept_for_events_in_order_and_bounded)
{
    const rl_stamp_t *first;
    uint64_t seq0 = rl_hls_next_stamp_seq(h);
    size_t n;

    cr_expect_gt(seq0, (uint64_t)T0_MS, "numbered from the wall clock in ms");
    for (uint64_t i = 0; i < RL_HLS_STAMPS + 5; i++) {
        rl_stamp_t s = stamp(seq0 + i, T0_MS + (int64_t)i);
        rl_hls_post_stamp(h, &s);
    }
    rl_hls_drain(h);
    n = rl_hls_stamps(h, 0, &first);
    cr_assert_eq(n, RL_HLS_STAMPS);
    cr_expect_eq(first[0].seq, seq0 + 5, "the oldest went first");
    cr_expect_eq(first[n - 1].seq, seq0 + RL_HLS_STAMPS + 4);
    cr_expect_eq(rl_hls_next_stamp_seq(h), seq0 + RL_HLS_STAMPS + 5);
    n = rl_hls_stamps(h, seq0 + RL_HLS_STAMPS + 2, &first);
    cr_assert_eq(n, 2, "only those after the last one sent");
    cr_expect_eq(first[0].seq, seq0 + RL_HLS_STAMPS + 3);
    cr_expect_eq(rl_hls_stamps(h, seq0 + RL_HLS_STAMPS + 4, &first), 0);
}

Test(hls_live, a_late_stamp_from_an_earlier_worker_is_dropped)
{
    rl_stamp_t a = stamp(50, T0_MS + 100), late = stamp(49, T0_MS + 200);
    const rl_stamp_t *first;

    rl_hls_post_stamp(h, &a);
    rl_hls_post_stamp(h, &late);
    rl_hls_drain(h);
    cr_assert_eq(rl_hls_stamps(h, 0, &first), 1);
    cr_expect_eq(first[0].seq, 50);
}

Test(hls_live, stamp_dates_never_go_back)
{
    rl_stamp_t a = stamp(1, T0_MS + 500), b = stamp(2, T0_MS + 300);
    const rl_stamp_t *first;

    rl_hls_post_stamp(h, &a);
    rl_hls_post_stamp(h, &b); /* the PDT was re-anchored between them */
    rl_hls_drain(h);
    cr_assert_eq(rl_hls_stamps(h, 0, &first), 2);
    cr_expect_eq(first[1].pdt_ms, T0_MS + 500);
    post_dated_part(100, 0);
    post_dated_part(100, 1);
    cr_expect(playlist_has("ID=\"card-1\"") && playlist_has("ID=\"card-2\""),
              "the playlist is written, with both");
}
