/* Unit tests for relay/media/chapters.c: product chapters from the card's stamps, placed on a
 * VOD's segments, as date ranges and as chapters.json. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "relay/media/chapters.h"

#define T0 1795960800000ll /* 2026-11-29T14:00:00.000Z */

static rl_stamp_t stamp(int64_t at_ms, const char *product, int64_t sold)
{
    rl_stamp_t s = { .pdt_ms = T0 + at_ms, .pinned = product != NULL, .sold = sold };

    if (product) {
        snprintf(s.product, sizeof(s.product), "%s", product);
        snprintf(s.name, sizeof(s.name), "name of %s", product);
    }
    return s;
}

/* n segments of dur seconds from T0 + from_ms, numbered from 100. */
static void segments(hls_segment_t *s, size_t n, int64_t from_ms, double dur)
{
    for (size_t i = 0; i < n; i++)
        s[i] = (hls_segment_t){ .msn = 100 + i,
                                .duration = dur,
                                .complete = 1,
                                .pdt_ms = T0 + from_ms + (int64_t)(i * dur * 1000) };
}

/* chapter n of the session, from start_ms to end_ms into the VOD (end_ms -1: no end yet) */
static void expect_span(const rl_chapter_t *ch, size_t n, int64_t start_ms, int64_t end_ms)
{
    cr_expect_eq(ch->n, n);
    cr_expect_eq(ch->start_ms, start_ms, "chapter-%zu starts at %lld", n, (long long)ch->start_ms);
    cr_expect_eq(ch->ends, end_ms >= 0, "chapter-%zu", n);
    if (end_ms >= 0)
        cr_expect_eq(ch->end_ms, end_ms, "chapter-%zu ends at %lld", n, (long long)ch->end_ms);
}

static void feed(rl_chapters_t *c, const rl_stamp_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_assert_geq(rl_chapters_stamp(c, &s[i]), 0);
}

Test(chapters, one_per_product_span_whatever_else_changes)
{
    rl_chapters_t *c = rl_chapters_new();
    rl_stamp_t s[] = { stamp(1000, "honey", 0), stamp(1500, "honey", 2), stamp(2500, "tea", 0),
                       stamp(3000, NULL, 0),    stamp(3500, NULL, 0),    stamp(4000, "honey", 2) };

    cr_expect_eq(rl_chapters_stamp(c, &s[0]), 1, "opens");
    cr_expect_eq(rl_chapters_stamp(c, &s[1]), 0, "an order changes no chapter");
    cr_expect_eq(rl_chapters_stamp(c, &s[2]), 1, "another product");
    cr_expect_eq(rl_chapters_stamp(c, &s[3]), 1, "unpinned");
    cr_expect_eq(rl_chapters_stamp(c, &s[4]), 0, "still nothing pinned");
    cr_expect_eq(rl_chapters_stamp(c, &s[5]), 1, "honey again: a chapter of its own");
    cr_expect_eq(rl_chapters_count(c), 3);
    rl_chapters_free(&c);
    cr_expect_null(c);
    rl_chapters_free(&c);
}

Test(chapters, placed_from_the_first_frame_of_the_vod)
{
    rl_chapters_t *c = rl_chapters_new();
    /* honey was pinned before the VOD's first frame (T0 + 2 s), tea from 4.25 s to 5.5 s */
    rl_stamp_t s[] = { stamp(500, "honey", 0), stamp(4250, "tea", 0), stamp(5500, NULL, 0) };
    hls_segment_t seg[3];
    rl_timeline_t t = { seg, 3, 0 };
    rl_chapter_t out[4];

    feed(c, s, 3);
    segments(seg, 3, 2000, 2.0);
    cr_assert_eq(rl_chapters_place(c, &t, out, 4), 2);
    cr_expect_str_eq(out[0].product, "honey");
    cr_expect_str_eq(out[0].name, "name of honey");
    expect_span(&out[0], 1, 0, 2250);
    cr_expect_eq(out[0].start_pdt_ms, T0 + 2000, "the VOD's first frame");
    cr_expect_eq(out[0].end_pdt_ms, T0 + 4250);
    expect_span(&out[1], 2, 2250, 3500);
    rl_chapters_free(&c);
}

Test(chapters, an_end_past_the_segments_is_not_known_until_they_reach_it)
{
    rl_chapters_t *c = rl_chapters_new();
    rl_stamp_t s[] = { stamp(1000, "honey", 0), stamp(5000, "tea", 0), stamp(9000, NULL, 0) };
    hls_segment_t seg[4];
    rl_timeline_t t = { seg, 2, 0 };
    rl_chapter_t out[4];

    feed(c, s, 3);
    segments(seg, 4, 0, 2.0);
    cr_assert_eq(rl_chapters_place(c, &t, out, 4), 1, "tea starts in a segment not complete");
    expect_span(&out[0], 1, 1000, -1); /* honey's end is after the complete segments */
    t.nsegs = 3;
    cr_assert_eq(rl_chapters_place(c, &t, out, 4), 2);
    expect_span(&out[0], 1, 1000, 5000);
    expect_span(&out[1], 2, 5000, -1);
    t.ended = 1; /* the session ended at 6 s, before the unpin */
    cr_assert_eq(rl_chapters_place(c, &t, out, 4), 2);
    expect_span(&out[1], 2, 5000, 6000);
    cr_expect_eq(out[1].end_pdt_ms, T0 + 6000);
    rl_chapters_free(&c);
}

Test(chapters, times_follow_the_segments_across_a_jump_of_the_clock)
{
    rl_chapters_t *c = rl_chapters_new();
    rl_stamp_t s[] = { stamp(1000, "honey", 0), stamp(10500, "tea", 0) };
    hls_segment_t seg[3];
    rl_timeline_t t = { seg, 3, 1 };
    rl_chapter_t out[2];

    feed(c, s, 2);
    segments(seg, 3, 0, 2.0);
    seg[2].pdt_ms = T0 + 10000; /* new muxers: dated by the wall clock anew */
    cr_assert_eq(rl_chapters_place(c, &t, out, 2), 2);
    expect_span(&out[0], 1, 1000, 4500); /* 0.5 s into the third segment, which starts at 4 s */
    expect_span(&out[1], 2, 4500, 6000);
    rl_chapters_free(&c);
}

Test(chapters, a_chapter_that_lasts_no_time_in_the_vod_is_left_out)
{
    rl_chapters_t *c = rl_chapters_new();
    rl_stamp_t s[] = { stamp(0, "honey", 0), stamp(1000, "tea", 0), stamp(3000, NULL, 0) };
    hls_segment_t seg[2];
    rl_timeline_t t = { seg, 2, 1 };
    rl_chapter_t out[4];

    feed(c, s, 3);
    segments(seg, 2, 1000, 2.0); /* honey ended on the VOD's first frame */
    cr_assert_eq(rl_chapters_place(c, &t, out, 4), 1);
    cr_expect_eq(out[0].n, 2, "numbers stay those of the session's chapters");
    cr_expect_str_eq(out[0].product, "tea");
    t.nsegs = 0;
    cr_expect_eq(rl_chapters_place(c, &t, out, 4), 0, "no segment: nothing placed");
    rl_chapters_free(&c);
}

Test(chapters, keeps_at_most_the_limit)
{
    rl_chapters_t *c = rl_chapters_new();
    char id[16];
    int rc = 0;

    for (int i = 0; i <= RL_CHAPTERS_MAX && rc >= 0; i++) {
        snprintf(id, sizeof(id), "p%d", i);
        rl_stamp_t s = stamp(i, id, 0);
        rc = rl_chapters_stamp(c, &s);
    }
    cr_expect_eq(rc, -ENOSPC);
    cr_expect_eq(rl_chapters_count(c), RL_CHAPTERS_MAX);
    rl_chapters_free(&c);
}

Test(chapters, golden_date_range)
{
    rl_chapter_t ch = { .n = 3,
                        .product = "tea-01",
                        .start_pdt_ms = T0 + 1250,
                        .start_ms = 61250,
                        .ends = 1,
                        .end_pdt_ms = T0 + 3000,
                        .end_ms = 63000 };
    rl_chapter_range_t text;
    hls_daterange_t r;

    rl_chapter_range(&ch, &r, &text);
    cr_expect_str_eq(r.id, "chapter-3");
    cr_expect_str_eq(r.cls, "com.shopcast.chapter");
    cr_expect_eq(r.start_ms, T0 + 1250);
    cr_expect_eq(r.end, HLS_END_DATE);
    cr_expect_eq(r.end_ms, T0 + 3000);
    cr_assert_eq(r.nattrs, 2);
    cr_expect_str_eq(r.attrs[0].name, "PRODUCT");
    cr_expect_str_eq(r.attrs[0].str, "tea-01");
    cr_expect_str_eq(r.attrs[1].name, "START-S");
    cr_expect_eq(r.attrs[1].num, 61250);
    cr_expect(r.attrs[1].ms);
    ch.ends = 0;
    rl_chapter_range(&ch, &r, &text);
    cr_expect_eq(r.end, HLS_END_OPEN);
}

Test(chapters, json_names_are_data)
{
    rl_chapters_t *c = rl_chapters_new();
    rl_stamp_t s[] = { stamp(0, "honey", 0), stamp(2500, NULL, 0) };
    hls_segment_t seg[2];
    rl_timeline_t t = { seg, 2, 0 };
    json_error_t err;
    json_t *doc, *ch;
    char *text;

    snprintf(s[0].name, sizeof(s[0].name), "%s", "\"<b>蜂蜜</b>\"\n");
    feed(c, s, 2);
    segments(seg, 2, 0, 2.0);
    t.nsegs = 1;
    cr_assert_not_null(text = rl_chapters_json(c, &t));
    cr_assert_not_null(doc = json_loads(text, 0, &err), "%s: %s", text, err.text);
    ch = json_array_get(json_object_get(doc, "chapters"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(ch, "name")), "\"<b>蜂蜜</b>\"\n");
    cr_expect_str_eq(json_string_value(json_object_get(ch, "id")), "chapter-1");
    cr_expect(json_is_null(json_object_get(ch, "end_s")), "%s", text);
    cr_expect(json_is_null(json_object_get(ch, "end_pdt_ms")));
    cr_expect(json_is_false(json_object_get(doc, "ended")));
    json_decref(doc);
    free(text);
    t.nsegs = 2;
    t.ended = 1;
    cr_assert_not_null(text = rl_chapters_json(c, &t));
    cr_expect_not_null(strstr(text, "\"start_s\":0.0,\"end_s\":2.5,"), "%s", text);
    cr_expect_not_null(strstr(text, "\"end_pdt_ms\":1795960802500}"), "%s", text);
    cr_expect_not_null(strstr(text, "\"ended\":true"), "%s", text);
    free(text);
    rl_chapters_free(&c);
}

Test(chapters, json_drops_a_character_cut_short)
{
    rl_chapters_t *c = rl_chapters_new();
    rl_stamp_t s = stamp(0, "honey", 0);
    hls_segment_t seg[1];
    rl_timeline_t t = { seg, 1, 1 };
    char *text;

    snprintf(s.name, sizeof(s.name), "%s", "ab\xe8\x9c"); /* 蜂 without its last byte */
    feed(c, &s, 1);
    segments(seg, 1, 0, 2.0);
    cr_assert_not_null(text = rl_chapters_json(c, &t));
    cr_expect_not_null(strstr(text, "\"name\":\"ab\""), "%s", text);
    free(text);
    rl_chapters_free(&c);
}
