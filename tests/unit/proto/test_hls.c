/* Unit tests for proto/hls.c: the text buffer, master and media playlists, names and queries.
 *
 * The golden playlists are the full text a player reads, written out by hand from RFC 8216bis
 * (draft-pantos-hls-rfc8216bis-16) rather than captured from the code under test. Times start at
 * 2026-11-29T14:00:00.000Z, which is Unix millisecond 1795960800000. */
#include <criterion/criterion.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/hls.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define T0_MS 1795960800000ll /* 2026-11-29T14:00:00.000Z */

/* Four half-second parts, the first starting with a keyframe, as the packager cuts a segment. */
static const hls_part_t four_parts[] = { { 0.5, 1 }, { 0.5, 0 }, { 0.5, 0 }, { 0.5, 0 } };
static const hls_part_t two_parts[] = { { 0.5, 1 }, { 0.5, 0 } };
static const hls_part_t one_part[] = { { 0.5, 1 } };

/* n complete segments of dur seconds from msn0, back to back in time, each with the same parts. */
static void fill(hls_segment_t *s, size_t n, uint64_t msn0, double dur, int init_id,
                 const hls_part_t *parts, size_t nparts)
{
    for (size_t i = 0; i < n; i++) {
        s[i] = (hls_segment_t){ .msn = msn0 + i,
                                .duration = dur,
                                .complete = 1,
                                .pdt_ms = T0_MS + (int64_t)(i * dur * 1000),
                                .init_id = init_id,
                                .parts = parts,
                                .nparts = nparts };
    }
}

/* The segment being filled after s[-1]: starts where it ended, has no EXTINF yet. */
static void growing(hls_segment_t *s, const hls_part_t *parts, size_t nparts)
{
    *s = s[-1];
    s->msn++;
    s->pdt_ms += (int64_t)(s[-1].duration * 1000);
    s->complete = 0;
    s->duration = 0;
    s->discontinuity = 0;
    s->parts = parts;
    s->nparts = nparts;
}

static void expect_media(const hls_media_t *m, const char *want)
{
    hls_buf_t b;

    hls_buf_init(&b, 1 << 20);
    cr_assert_eq(hls_write_media(&b, m), 0);
    cr_expect_str_eq(b.data, want);
    hls_buf_free(&b);
}

/* The playlist as text, for behaviour tests that look at a few lines; the caller frees it. */
static char *media_text(const hls_media_t *m)
{
    hls_buf_t b;

    hls_buf_init(&b, 1 << 20);
    cr_assert_eq(hls_write_media(&b, m), 0);
    return b.data;
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* ---- hls_buf_t ---- */

Test(hls_buf, starts_empty_and_nul_terminated)
{
    hls_buf_t b;

    hls_buf_init(&b, 4096);
    cr_assert_eq(b.err, 0);
    cr_expect_str_eq(b.data, "");
    cr_expect_eq(b.len, 0);
    cr_expect_leq(b.cap, 1024, "initial allocation %zu is not small", b.cap);
    hls_buf_free(&b);
}

Test(hls_buf, grows_geometrically)
{
    hls_buf_t b;
    size_t reallocs = 0, cap;

    hls_buf_init(&b, 1 << 20);
    cap = b.cap;
    for (int i = 0; i < 10000; i++) {
        hls_buf_printf(&b, "%04d,", i % 10000);
        if (b.cap != cap) {
            cr_expect_geq(b.cap, 2 * cap, "grew from %zu to %zu only", cap, b.cap);
            cap = b.cap;
            reallocs++;
        }
    }
    cr_assert_eq(b.err, 0);
    cr_expect_eq(b.len, 50000);
    cr_expect_eq(strlen(b.data), 50000);
    cr_expect_eq(memcmp(b.data + 49995, "9999,", 5), 0);
    cr_expect_leq(reallocs, 8, "%zu reallocs for 50 KB", reallocs);
    hls_buf_free(&b);
}

Test(hls_buf, fills_up_to_max_with_the_nul)
{
    hls_buf_t b;

    hls_buf_init(&b, 16);
    hls_buf_printf(&b, "%s", "0123456789abcde"); /* 15 bytes and the NUL: exactly max */
    cr_expect_eq(b.err, 0);
    cr_expect_str_eq(b.data, "0123456789abcde");
    cr_expect_leq(b.cap, 16);
    hls_buf_free(&b);
}

Test(hls_buf, overflow_is_enospc_and_keeps_the_last_good_text)
{
    hls_buf_t b;

    hls_buf_init(&b, 16);
    hls_buf_printf(&b, "%s", "0123456789");
    hls_buf_printf(&b, "%s", "abcdef"); /* 16 bytes of text do not fit with their NUL */
    cr_expect_eq(b.err, -ENOSPC);
    cr_expect_eq(b.len, 10);
    cr_expect_str_eq(b.data, "0123456789");
    hls_buf_printf(&b, "x"); /* would fit, but the first error sticks */
    cr_expect_eq(b.err, -ENOSPC);
    cr_expect_str_eq(b.data, "0123456789");
    hls_buf_free(&b);
}

Test(hls_buf, growth_stops_at_max)
{
    hls_buf_t b;

    hls_buf_init(&b, 1000);
    for (int i = 0; i < 111; i++)
        hls_buf_printf(&b, "%s", "123456789"); /* 999 bytes, then the NUL makes 1000 */
    cr_expect_eq(b.err, 0);
    cr_expect_eq(b.cap, 1000);
    hls_buf_printf(&b, "!");
    cr_expect_eq(b.err, -ENOSPC);
    cr_expect_eq(b.len, 999);
    cr_expect_eq(b.cap, 1000);
    hls_buf_free(&b);
}

Test(hls_buf, zero_max_holds_nothing)
{
    hls_buf_t b;

    hls_buf_init(&b, 0);
    cr_expect_eq(b.err, -ENOSPC);
    hls_buf_printf(&b, "x");
    cr_expect_eq(b.len, 0);
    hls_buf_free(&b);
}

Test(hls_buf, free_resets_and_accepts_null)
{
    hls_buf_t b;

    hls_buf_init(&b, 64);
    hls_buf_printf(&b, "abc");
    hls_buf_free(&b);
    cr_expect_null(b.data);
    cr_expect_eq(b.len, 0);
    hls_buf_free(&b);
    hls_buf_free(NULL);
}

/* ---- master playlist ---- */

static const hls_variant_t rungs[] = {
    { "720p/media.m3u8", 3128000, 2628000, "avc1.64001f,mp4a.40.2", 1280, 720, 30000.0 / 1001 },
    { "360p/media.m3u8", 928000, 828000, "avc1.42c01e,mp4a.40.2", 640, 360, 30000.0 / 1001 },
};

Test(hls_master, golden_two_rungs)
{
    hls_buf_t b;

    hls_buf_init(&b, 4096);
    cr_assert_eq(hls_write_master(&b, rungs, ARRAY_LEN(rungs)), 0);
    cr_expect_str_eq(b.data,
                     "#EXTM3U\n"
                     "#EXT-X-VERSION:6\n"
                     "#EXT-X-INDEPENDENT-SEGMENTS\n"
                     "#EXT-X-STREAM-INF:BANDWIDTH=3128000,AVERAGE-BANDWIDTH=2628000,"
                     "CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,FRAME-RATE=29.970\n"
                     "720p/media.m3u8\n"
                     "#EXT-X-STREAM-INF:BANDWIDTH=928000,AVERAGE-BANDWIDTH=828000,"
                     "CODECS=\"avc1.42c01e,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=29.970\n"
                     "360p/media.m3u8\n");
    hls_buf_free(&b);
}

Test(hls_master, leaves_out_what_a_variant_lacks)
{
    const hls_variant_t audio = { "audio/media.m3u8", 140000, 0, "mp4a.40.2", 0, 0, 0 };
    hls_buf_t b;

    hls_buf_init(&b, 4096);
    cr_assert_eq(hls_write_master(&b, &audio, 1), 0);
    cr_expect_not_null(strstr(b.data, "#EXT-X-STREAM-INF:BANDWIDTH=140000,CODECS=\"mp4a.40.2\"\n"
                                      "audio/media.m3u8\n"));
    hls_buf_free(&b);
}

Test(hls_master, refuses_text_that_would_break_a_line_or_a_quote)
{
    hls_variant_t bad[] = { rungs[0], rungs[0], rungs[0], rungs[0] };
    hls_buf_t b;

    bad[0].uri = "720p/media.m3u8\n#EXT-X-ENDLIST";
    bad[1].uri = "#720p.m3u8";
    bad[2].codecs = "avc1\",x=\"";
    bad[3].bandwidth = 0;
    hls_buf_init(&b, 4096);
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        cr_expect_eq(hls_write_master(&b, &bad[i], 1), -EINVAL, "variant %zu", i);
    cr_expect_eq(b.len, 0, "nothing written: %s", b.data);
    hls_buf_free(&b);
}

Test(hls_master, reports_a_full_buffer)
{
    hls_buf_t b;

    hls_buf_init(&b, 100);
    cr_expect_eq(hls_write_master(&b, rungs, ARRAY_LEN(rungs)), -ENOSPC);
    cr_expect_eq(strlen(b.data), b.len);
    hls_buf_free(&b);
}

/* ---- media playlists: golden text ---- */

Test(hls_media, golden_plain_live)
{
    hls_segment_t s[4];
    const hls_report_t report = { "../360p/media.m3u8", 103, 1 };
    hls_media_t m = {
        .target_duration = 2, .segs = s, .nsegs = 4, .reports = &report, .nreports = 1
    };

    fill(s, 3, 100, 2.0, 0, four_parts, 4);
    for (int i = 0; i < 3; i++)
        s[i].pdt_ms += 123;
    s[2].duration = 1.966667;
    growing(&s[3], two_parts, 2); /* plain HLS cannot list it before it is complete */
    expect_media(&m, "#EXTM3U\n"
                     "#EXT-X-VERSION:6\n"
                     "#EXT-X-TARGETDURATION:2\n"
                     "#EXT-X-MEDIA-SEQUENCE:100\n"
                     "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
                     "#EXT-X-MAP:URI=\"init-0.mp4\"\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:00.123Z\n"
                     "#EXTINF:2.00000,\n"
                     "seg-100.m4s\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:02.123Z\n"
                     "#EXTINF:2.00000,\n"
                     "seg-101.m4s\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:04.123Z\n"
                     "#EXTINF:1.96667,\n"
                     "seg-102.m4s\n");
}

Test(hls_media, golden_low_latency_in_progress)
{
    hls_segment_t s[5];
    const hls_report_t reports[] = { { "../360p/media.m3u8", 204, 1 },
                                     { "../1080p/media.m3u8", 204, -1 } };
    hls_media_t m = { .target_duration = 2,
                      .part_target = 0.5,
                      .segs = s,
                      .nsegs = 5,
                      .reports = reports,
                      .nreports = 2 };

    fill(s, 4, 200, 2.0, 5, four_parts, 4);
    growing(&s[4], two_parts, 2);
    /* Parts for the last three parent segments, 202 to 204; 202 starts 5 s before the end, within
     * 3 target durations. 201's parts are gone, though it starts only 7 s back. */
    expect_media(&m, "#EXTM3U\n"
                     "#EXT-X-VERSION:9\n"
                     "#EXT-X-TARGETDURATION:2\n"
                     "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,"
                     "CAN-SKIP-UNTIL=12.000\n"
                     "#EXT-X-PART-INF:PART-TARGET=0.500\n"
                     "#EXT-X-MEDIA-SEQUENCE:200\n"
                     "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
                     "#EXT-X-MAP:URI=\"init-5.mp4\"\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:00.000Z\n"
                     "#EXTINF:2.00000,\n"
                     "seg-200.m4s\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:02.000Z\n"
                     "#EXTINF:2.00000,\n"
                     "seg-201.m4s\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:04.000Z\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-202.0.m4s\",INDEPENDENT=YES\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-202.1.m4s\"\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-202.2.m4s\"\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-202.3.m4s\"\n"
                     "#EXTINF:2.00000,\n"
                     "seg-202.m4s\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:06.000Z\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-203.0.m4s\",INDEPENDENT=YES\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-203.1.m4s\"\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-203.2.m4s\"\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-203.3.m4s\"\n"
                     "#EXTINF:2.00000,\n"
                     "seg-203.m4s\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:08.000Z\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-204.0.m4s\",INDEPENDENT=YES\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-204.1.m4s\"\n"
                     "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-204.2.m4s\"\n"
                     "#EXT-X-RENDITION-REPORT:URI=\"../360p/media.m3u8\",LAST-MSN=204,LAST-PART=1\n"
                     "#EXT-X-RENDITION-REPORT:URI=\"../1080p/media.m3u8\",LAST-MSN=204\n");
}

Test(hls_media, golden_delta_update)
{
    hls_segment_t s[11];
    const hls_report_t report = { "../360p/media.m3u8", 310, 0 };
    hls_media_t m = { .target_duration = 2,
                      .part_target = 0.5,
                      .disc_seq = 3,
                      .segs = s,
                      .nsegs = 11,
                      .skip = 1,
                      .reports = &report,
                      .nreports = 1 };

    fill(s, 10, 300, 2.0, 9, four_parts, 4);
    growing(&s[10], one_part, 1);
    /* The end is 20.5 s in and CAN-SKIP-UNTIL 12 s: 300-303 end before 8.5 s and are skipped,
     * 304 ends at 10 s and stays. Parts for the last three parent segments, 308 to 310. */
    expect_media(&m,
                 "#EXTM3U\n"
                 "#EXT-X-VERSION:9\n"
                 "#EXT-X-TARGETDURATION:2\n"
                 "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,"
                 "CAN-SKIP-UNTIL=12.000\n"
                 "#EXT-X-PART-INF:PART-TARGET=0.500\n"
                 "#EXT-X-MEDIA-SEQUENCE:300\n"
                 "#EXT-X-DISCONTINUITY-SEQUENCE:3\n"
                 "#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n"
                 "#EXT-X-MAP:URI=\"init-9.mp4\"\n"
                 "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:08.000Z\n"
                 "#EXTINF:2.00000,\n"
                 "seg-304.m4s\n"
                 "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:10.000Z\n"
                 "#EXTINF:2.00000,\n"
                 "seg-305.m4s\n"
                 "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:12.000Z\n"
                 "#EXTINF:2.00000,\n"
                 "seg-306.m4s\n"
                 "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:14.000Z\n"
                 "#EXTINF:2.00000,\n"
                 "seg-307.m4s\n"
                 "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:16.000Z\n"
                 "#EXT-X-PART:DURATION=0.50000,URI=\"part-308.0.m4s\",INDEPENDENT=YES\n"
                 "#EXT-X-PART:DURATION=0.50000,URI=\"part-308.1.m4s\"\n"
                 "#EXT-X-PART:DURATION=0.50000,URI=\"part-308.2.m4s\"\n"
                 "#EXT-X-PART:DURATION=0.50000,URI=\"part-308.3.m4s\"\n"
                 "#EXTINF:2.00000,\n"
                 "seg-308.m4s\n"
                 "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:18.000Z\n"
                 "#EXT-X-PART:DURATION=0.50000,URI=\"part-309.0.m4s\",INDEPENDENT=YES\n"
                 "#EXT-X-PART:DURATION=0.50000,URI=\"part-309.1.m4s\"\n"
                 "#EXT-X-PART:DURATION=0.50000,URI=\"part-309.2.m4s\"\n"
                 "#EXT-X-PART:DURATION=0.50000,URI=\"part-309.3.m4s\"\n"
                 "#EXTINF:2.00000,\n"
                 "seg-309.m4s\n"
                 "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:20.000Z\n"
                 "#EXT-X-PART:DURATION=0.50000,URI=\"part-310.0.m4s\",INDEPENDENT=YES\n"
                 "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-310.1.m4s\"\n"
                 "#EXT-X-RENDITION-REPORT:URI=\"../360p/media.m3u8\",LAST-MSN=310,LAST-PART=0\n");
}

/* Three parts of a third of a second per one-second segment, as shopcast cuts them at 30 fps. */
static const hls_part_t thirds[] = { { 1.0 / 3, 1 }, { 1.0 / 3, 0 }, { 1.0 / 3, 0 } };

Test(hls_media, golden_keyframe_due_hints_the_next_segment)
{
    hls_segment_t s[6];
    const hls_report_t report = { "../360p/media.m3u8", 505, 1 };
    hls_media_t m = { .target_duration = 1,
                      .part_target = 1.0 / 3,
                      .segment_target = 1.0,
                      .segs = s,
                      .nsegs = 6,
                      .reports = &report,
                      .nreports = 1 };

    fill(s, 5, 500, 1.0, 2, thirds, 3);
    growing(&s[5], thirds, 3);
    /* 505's parts already make up a second: the next frame is the forced keyframe, so the next
     * part is 506's first (4.4.5.3 allows a hint for the following parent segment). The end is
     * 6 s in: 503 starts exactly 3 target durations before it, and lists its parts. */
    expect_media(&m,
                 "#EXTM3U\n"
                 "#EXT-X-VERSION:9\n"
                 "#EXT-X-TARGETDURATION:1\n"
                 "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.002,"
                 "CAN-SKIP-UNTIL=6.000\n"
                 "#EXT-X-PART-INF:PART-TARGET=0.334\n"
                 "#EXT-X-MEDIA-SEQUENCE:500\n"
                 "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
                 "#EXT-X-MAP:URI=\"init-2.mp4\"\n"
                 "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:00.000Z\n"
                 "#EXTINF:1.00000,\n"
                 "seg-500.m4s\n"
                 "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:01.000Z\n"
                 "#EXTINF:1.00000,\n"
                 "seg-501.m4s\n"
                 "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:02.000Z\n"
                 "#EXTINF:1.00000,\n"
                 "seg-502.m4s\n"
                 "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:03.000Z\n"
                 "#EXT-X-PART:DURATION=0.33333,URI=\"part-503.0.m4s\",INDEPENDENT=YES\n"
                 "#EXT-X-PART:DURATION=0.33333,URI=\"part-503.1.m4s\"\n"
                 "#EXT-X-PART:DURATION=0.33333,URI=\"part-503.2.m4s\"\n"
                 "#EXTINF:1.00000,\n"
                 "seg-503.m4s\n"
                 "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:04.000Z\n"
                 "#EXT-X-PART:DURATION=0.33333,URI=\"part-504.0.m4s\",INDEPENDENT=YES\n"
                 "#EXT-X-PART:DURATION=0.33333,URI=\"part-504.1.m4s\"\n"
                 "#EXT-X-PART:DURATION=0.33333,URI=\"part-504.2.m4s\"\n"
                 "#EXTINF:1.00000,\n"
                 "seg-504.m4s\n"
                 "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:05.000Z\n"
                 "#EXT-X-PART:DURATION=0.33333,URI=\"part-505.0.m4s\",INDEPENDENT=YES\n"
                 "#EXT-X-PART:DURATION=0.33333,URI=\"part-505.1.m4s\"\n"
                 "#EXT-X-PART:DURATION=0.33333,URI=\"part-505.2.m4s\"\n"
                 "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-506.0.m4s\"\n"
                 "#EXT-X-RENDITION-REPORT:URI=\"../360p/media.m3u8\",LAST-MSN=505,LAST-PART=1\n");
}

Test(hls_media, golden_discontinuity_and_new_init)
{
    hls_segment_t s[4];
    hls_media_t m = { .target_duration = 2, .disc_seq = 7, .segs = s, .nsegs = 4 };

    fill(s, 4, 50, 2.0, 3, NULL, 0);
    s[0].discontinuity = 1; /* already counted in disc_seq: no tag */
    s[2].discontinuity = 1; /* the publisher reconnected an hour later with a new encoder */
    s[2].init_id = 4;
    s[2].pdt_ms = T0_MS + 3600000;
    s[3].init_id = 4;
    s[3].pdt_ms = T0_MS + 3602000;
    expect_media(&m, "#EXTM3U\n"
                     "#EXT-X-VERSION:6\n"
                     "#EXT-X-TARGETDURATION:2\n"
                     "#EXT-X-MEDIA-SEQUENCE:50\n"
                     "#EXT-X-DISCONTINUITY-SEQUENCE:7\n"
                     "#EXT-X-MAP:URI=\"init-3.mp4\"\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:00.000Z\n"
                     "#EXTINF:2.00000,\n"
                     "seg-50.m4s\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:02.000Z\n"
                     "#EXTINF:2.00000,\n"
                     "seg-51.m4s\n"
                     "#EXT-X-DISCONTINUITY\n"
                     "#EXT-X-MAP:URI=\"init-4.mp4\"\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T15:00:00.000Z\n"
                     "#EXTINF:2.00000,\n"
                     "seg-52.m4s\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T15:00:02.000Z\n"
                     "#EXTINF:2.00000,\n"
                     "seg-53.m4s\n");
}

Test(hls_media, golden_ended)
{
    hls_segment_t s[3];
    const hls_report_t report = { "../360p/media.m3u8", 402, 3 };
    hls_media_t m = { .target_duration = 2,
                      .part_target = 0.5,
                      .segs = s,
                      .nsegs = 3,
                      .ended = 1,
                      .reports = &report,
                      .nreports = 1 };

    fill(s, 3, 400, 2.0, 1, four_parts, 4);
    s[2].duration = 1.5;
    s[2].nparts = 3;
    /* No parts and no preload hint once ended; the header stays as every reload had it. */
    expect_media(&m, "#EXTM3U\n"
                     "#EXT-X-VERSION:9\n"
                     "#EXT-X-TARGETDURATION:2\n"
                     "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,"
                     "CAN-SKIP-UNTIL=12.000\n"
                     "#EXT-X-PART-INF:PART-TARGET=0.500\n"
                     "#EXT-X-MEDIA-SEQUENCE:400\n"
                     "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
                     "#EXT-X-MAP:URI=\"init-1.mp4\"\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:00.000Z\n"
                     "#EXTINF:2.00000,\n"
                     "seg-400.m4s\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:02.000Z\n"
                     "#EXTINF:2.00000,\n"
                     "seg-401.m4s\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:04.000Z\n"
                     "#EXTINF:1.50000,\n"
                     "seg-402.m4s\n"
                     "#EXT-X-RENDITION-REPORT:URI=\"../360p/media.m3u8\",LAST-MSN=402,LAST-PART=3\n"
                     "#EXT-X-ENDLIST\n");
}

/* ---- media playlists: behaviour ---- */

/* The playlist's tail, from the first part of segment msn on. */
static const char *parts_from(const char *text, uint64_t msn)
{
    char uri[48];

    snprintf(uri, sizeof(uri), "URI=\"part-%" PRIu64 ".0.m4s\"", msn);
    return strstr(text, uri);
}

Test(hls_media, parts_for_the_last_three_parent_segments_the_hint_counting_as_one)
{
    hls_segment_t s[6];
    hls_media_t m = { .target_duration = 2, .part_target = 0.5, .segs = s, .nsegs = 5 };
    char *text;

    /* Complete up to seg-4: the hint opens seg-5, so seg-3 and seg-4 list their parts. */
    fill(s, 5, 0, 2.0, 0, four_parts, 4);
    text = media_text(&m);
    cr_expect_null(strstr(text, "part-2."), "%s", text);
    cr_expect_not_null(parts_from(text, 3), "%s", text);
    cr_expect_eq(count(text, "#EXT-X-PART:"), 8, "%s", text);
    cr_expect_not_null(strstr(text, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-5.0.m4s\"\n"));
    free(text);

    /* seg-5 has its first part: it takes the hint's place, seg-3 keeps its parts. */
    growing(&s[5], one_part, 1);
    m.nsegs = 6;
    text = media_text(&m);
    cr_expect_null(strstr(text, "part-2."), "%s", text);
    cr_expect_not_null(parts_from(text, 3), "%s", text);
    cr_expect_eq(count(text, "#EXT-X-PART:"), 9, "%s", text);
    free(text);
}

Test(hls_media, parts_listed_while_their_segment_starts_within_three_target_durations)
{
    static const hls_part_t long_parts[] = { { 0.6, 1 }, { 0.6, 0 }, { 0.6, 0 }, { 0.6, 0 } };
    hls_segment_t s[5];
    hls_media_t m = { .target_duration = 2, .part_target = 0.6, .segs = s, .nsegs = 5 };
    char *text;

    /* 2.4 s segments (EXTINF rounds to the target duration): three of them span more than
     * three target durations, so time decides before the count does. */
    fill(s, 4, 0, 2.4, 0, long_parts, 4);
    growing(&s[4], long_parts, 2);
    text = media_text(&m); /* ends at 10.8 s; seg-2 starts at 4.8 s, exactly 6 s before */
    cr_expect_null(strstr(text, "part-1."), "%s", text);
    cr_expect_not_null(parts_from(text, 2), "%s", text);
    free(text);

    s[4].nparts = 3;
    text = media_text(&m); /* ends at 11.4 s: seg-2 starts 6.6 s before, seg-3 4.2 s */
    cr_expect_null(strstr(text, "part-2."), "%s", text);
    cr_expect_not_null(parts_from(text, 3), "%s", text);
    cr_expect_eq(count(text, "#EXT-X-PART:"), 7, "%s", text);
    free(text);
}

typedef struct full_case_s {
    double parts, segment, part;
    int full;
} full_case_t;

Test(hls_media, segment_is_full_when_less_than_half_a_part_is_left)
{
    static const full_case_t cases[] = {
        { 1.0, 1.0, 1.0 / 3, 1 },     /* 30 fps: three parts of ten frames */
        { 2.0 / 3, 1.0, 1.0 / 3, 0 }, /* one more to come */
        { 1.001, 1.0, 1.001 / 3, 1 }, /* 29.97 fps: a keyframe lands after 1 s */
        { 0.96, 1.0, 0.32, 1 },       /* 25 fps: only a one-frame part is left */
        { 0.64, 1.0, 0.32, 0 },       /* 25 fps: a whole part is left */
        { 0.68, 1.0, 0.34, 0 },       /* 50 fps: 17 + 17 frames, 16 to come */
        { 0.83, 1.0, 1.0 / 3, 0 },    /* a bit more than half a part left */
        { 0.84, 1.0, 1.0 / 3, 1 },    /* a bit less */
        { 1.0, 0, 1.0 / 3, 0 },       /* no planned keyframes: never known */
        { NAN, 1.0, 1.0 / 3, 0 },     { 1.0, NAN, 1.0 / 3, 0 }, { 1.0, 1.0, -1, 0 },
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        cr_expect_eq(hls_segment_full(cases[i].parts, cases[i].segment, cases[i].part),
                     cases[i].full, "case %zu", i);
}

Test(hls_media, preload_hint_follows_the_planned_keyframe)
{
    hls_segment_t s[3];
    hls_media_t m = {
        .target_duration = 1, .part_target = 1.0 / 3, .segment_target = 1.0, .segs = s, .nsegs = 3
    };
    char *text;

    fill(s, 2, 7, 1.0, 0, thirds, 3);
    growing(&s[2], thirds, 2);
    text = media_text(&m);
    cr_expect_not_null(strstr(text, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-9.2.m4s\"\n"));
    free(text);
    s[2].nparts = 3;
    text = media_text(&m);
    cr_expect_not_null(strstr(text, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-10.0.m4s\"\n"));
    free(text);
    m.segment_target = 0; /* keyframes not planned: only the parts tell */
    text = media_text(&m);
    cr_expect_not_null(strstr(text, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-9.3.m4s\"\n"));
    free(text);
}

Test(hls_media, preload_hint_after_a_complete_last_segment_names_the_next_segment)
{
    hls_segment_t s[3];
    hls_media_t m = { .target_duration = 2, .part_target = 0.5, .segs = s, .nsegs = 3 };
    char *text;
    const char *tail = "#EXTINF:2.00000,\nseg-9.m4s\n"
                       "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-10.0.m4s\"\n";

    fill(s, 3, 7, 2.0, 0, four_parts, 4);
    text = media_text(&m);
    cr_expect_str_eq(text + strlen(text) - strlen(tail), tail);
    free(text);
}

Test(hls_media, segment_without_parts_yet_is_only_hinted)
{
    hls_segment_t s[3];
    hls_media_t m = { .target_duration = 2, .part_target = 0.5, .segs = s, .nsegs = 3 };
    char *text;
    const char *tail = "seg-8.m4s\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-9.0.m4s\"\n";

    fill(s, 2, 7, 2.0, 0, four_parts, 4);
    growing(&s[2], NULL, 0);
    s[2].discontinuity = 1;
    s[2].init_id = 1;
    text = media_text(&m);
    cr_expect_str_eq(text + strlen(text) - strlen(tail), tail);
    cr_expect_eq(count(text, "#EXT-X-PROGRAM-DATE-TIME:"), 2);
    cr_expect_null(strstr(text, "#EXT-X-DISCONTINUITY\n"), "%s", text);
    free(text);
}

Test(hls_media, plain_hls_has_no_low_latency_tags)
{
    hls_segment_t s[4];
    const hls_report_t report = { "../360p/media.m3u8", 3, 1 };
    hls_media_t m = {
        .target_duration = 2, .segs = s, .nsegs = 4, .skip = 1, .reports = &report, .nreports = 1
    };
    const char *ll_tags[] = { "SERVER-CONTROL", "PART-INF",         "EXT-X-PART",
                              "PRELOAD-HINT",   "RENDITION-REPORT", "EXT-X-SKIP" };
    char *text;

    fill(s, 3, 0, 2.0, 0, four_parts, 4);
    growing(&s[3], two_parts, 2);
    m.target_duration = 1; /* so that a delta update would skip, if plain HLS had them */
    text = media_text(&m);
    for (size_t i = 0; i < ARRAY_LEN(ll_tags); i++)
        cr_expect_null(strstr(text, ll_tags[i]), "%s in\n%s", ll_tags[i], text);
    cr_expect_not_null(strstr(text, "#EXT-X-VERSION:6\n"));
    free(text);
}

Test(hls_media, part_target_rounds_up_to_the_millisecond)
{
    hls_segment_t s[1];
    const hls_part_t third[] = { { 1.0 / 3, 1 } };
    hls_media_t m = { .target_duration = 1, .part_target = 1.0 / 3, .segs = s, .nsegs = 1 };
    char *text;

    fill(s, 1, 0, 1.0 / 3, 0, third, 1);
    text = media_text(&m);
    cr_expect_not_null(strstr(text, "PART-HOLD-BACK=1.002,CAN-SKIP-UNTIL=6.000\n"), "%s", text);
    cr_expect_not_null(strstr(text, "#EXT-X-PART-INF:PART-TARGET=0.334\n"), "%s", text);
    cr_expect_not_null(strstr(text, "#EXT-X-PART:DURATION=0.33333,"), "%s", text);
    free(text);
}

typedef struct pdt_case_s {
    int64_t ms;
    const char *text;
} pdt_case_t;

Test(hls_media, program_date_time_is_utc_with_milliseconds)
{
    static const pdt_case_t cases[] = {
        { T0_MS + 123, "2026-11-29T14:00:00.123Z" },
        { 1795996799999ll, "2026-11-29T23:59:59.999Z" }, /* the last ms of the day */
        { 1795996800001ll, "2026-11-30T00:00:00.001Z" }, /* and just after midnight */
        { 1798761599999ll, "2026-12-31T23:59:59.999Z" },
        { 1798761600000ll, "2027-01-01T00:00:00.000Z" },
        { 1835395200007ll, "2028-02-29T00:00:00.007Z" }, /* leap day */
        { 0, "1970-01-01T00:00:00.000Z" },
    };
    hls_segment_t s[1];
    hls_media_t m = { .target_duration = 2, .segs = s, .nsegs = 1 };

    fill(s, 1, 0, 2.0, 0, NULL, 0);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char want[64];
        char *text;

        s[0].pdt_ms = cases[i].ms;
        snprintf(want, sizeof(want), "#EXT-X-PROGRAM-DATE-TIME:%s\n", cases[i].text);
        text = media_text(&m);
        cr_expect_not_null(strstr(text, want), "want %s in\n%s", want, text);
        free(text);
    }
}

Test(hls_media, delta_keeps_a_segment_ending_exactly_at_the_skip_boundary)
{
    hls_segment_t s[8];
    hls_media_t m = { .target_duration = 1, .part_target = 0.5, .segs = s, .nsegs = 8, .skip = 1 };
    char *text;

    /* Ends at 8 s, CAN-SKIP-UNTIL 6 s: seg-0 ends 7 s back, seg-1 exactly 6 s back. */
    fill(s, 8, 0, 1.0, 0, two_parts, 2);
    text = media_text(&m);
    cr_expect_not_null(strstr(text, "#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n"
                                    "#EXT-X-MAP:URI=\"init-0.mp4\"\n"
                                    "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:01.000Z\n"
                                    "#EXTINF:1.00000,\nseg-1.m4s\n"),
                       "%s", text);
    cr_expect_not_null(strstr(text, "#EXT-X-MEDIA-SEQUENCE:0\n"));
    free(text);
}

Test(hls_media, delta_with_nothing_to_skip_is_the_full_playlist)
{
    hls_segment_t s[5];
    hls_media_t m = { .target_duration = 2, .part_target = 0.5, .segs = s, .nsegs = 5 };
    char *full, *delta;

    fill(s, 4, 0, 2.0, 0, four_parts, 4); /* 9 s in all, less than CAN-SKIP-UNTIL */
    growing(&s[4], two_parts, 2);
    full = media_text(&m);
    m.skip = 1;
    delta = media_text(&m);
    cr_expect_str_eq(delta, full);
    cr_expect_null(strstr(delta, "EXT-X-SKIP"));
    free(full);
    free(delta);
}

Test(hls_media, delta_keeps_a_discontinuity_right_after_the_skip)
{
    hls_segment_t s[10];
    hls_media_t m = {
        .target_duration = 1, .part_target = 0.5, .disc_seq = 2, .segs = s, .nsegs = 10, .skip = 1
    };
    char *text;

    fill(s, 10, 0, 1.0, 0, two_parts, 2);
    s[3].discontinuity = 1; /* first after the 3 skipped segments: the merged playlist needs it */
    text = media_text(&m);
    cr_expect_not_null(strstr(text, "#EXT-X-DISCONTINUITY-SEQUENCE:2\n"
                                    "#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n"
                                    "#EXT-X-DISCONTINUITY\n"
                                    "#EXT-X-MAP:URI=\"init-0.mp4\"\n"),
                       "%s", text);
    free(text);
}

Test(hls_media, ended_drops_an_incomplete_last_segment)
{
    hls_segment_t s[3];
    hls_media_t m = { .target_duration = 2, .part_target = 0.5, .segs = s, .nsegs = 3, .ended = 1 };
    const char *tail = "seg-1.m4s\n#EXT-X-ENDLIST\n";
    char *text;

    fill(s, 2, 0, 2.0, 0, four_parts, 4);
    growing(&s[2], two_parts, 2);
    text = media_text(&m);
    cr_expect_str_eq(text + strlen(text) - strlen(tail), tail);
    cr_expect_null(strstr(text, "part-"), "%s", text);
    free(text);
}

Test(hls_media, empty_window)
{
    hls_media_t m = { .target_duration = 2, .part_target = 0.5 };

    expect_media(&m, "#EXTM3U\n"
                     "#EXT-X-VERSION:9\n"
                     "#EXT-X-TARGETDURATION:2\n"
                     "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,"
                     "CAN-SKIP-UNTIL=12.000\n"
                     "#EXT-X-PART-INF:PART-TARGET=0.500\n"
                     "#EXT-X-MEDIA-SEQUENCE:0\n"
                     "#EXT-X-DISCONTINUITY-SEQUENCE:0\n");
}

Test(hls_media, refuses_bad_input_and_writes_nothing)
{
    hls_segment_t s[2];
    const hls_report_t quote = { "a\"b.m3u8", 1, 0 };
    hls_media_t m = { .target_duration = 2, .part_target = 0.5, .segs = s, .nsegs = 2 };
    hls_media_t bad[6];
    hls_buf_t b;

    fill(s, 2, 0, 2.0, 0, four_parts, 4);
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        bad[i] = m;
    bad[0].target_duration = 0;
    bad[1].part_target = -1;
    bad[2].reports = &quote;
    bad[2].nreports = 1;
    bad[3].segs = NULL;
    bad[4].reports = NULL;
    bad[4].nreports = 1;
    bad[5].part_target = NAN;
    hls_buf_init(&b, 4096);
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        cr_expect_eq(hls_write_media(&b, &bad[i]), -EINVAL, "case %zu", i);
    cr_expect_eq(hls_write_media(&b, NULL), -EINVAL);
    cr_expect_eq(hls_write_media(NULL, &m), -EINVAL);
    cr_expect_eq(b.len, 0, "nothing written: %s", b.data);
    hls_buf_free(&b);
}

Test(hls_media, refuses_a_segment_it_cannot_name_or_date)
{
    hls_segment_t s[2];
    hls_media_t m = { .target_duration = 2, .segs = s, .nsegs = 2 };
    hls_buf_t b;

    hls_buf_init(&b, 4096);
    fill(s, 2, 0, 2.0, 0, NULL, 0);
    s[1].init_id = -1;
    cr_expect_eq(hls_write_media(&b, &m), -EINVAL);
    fill(s, 2, 0, 2.0, 0, NULL, 0);
    s[1].pdt_ms = -1;
    cr_expect_eq(hls_write_media(&b, &m), -EINVAL);
    fill(s, 2, 0, 2.0, 0, NULL, 0);
    s[1].pdt_ms = 253402300800000ll; /* year 10000 */
    cr_expect_eq(hls_write_media(&b, &m), -EINVAL);
    fill(s, 2, 0, 2.0, 0, NULL, 0);
    s[1].duration = -2.0;
    cr_expect_eq(hls_write_media(&b, &m), -EINVAL);
    hls_buf_free(&b);
}

Test(hls_media, reports_a_full_buffer_with_a_clean_prefix)
{
    hls_segment_t s[4];
    hls_media_t m = { .target_duration = 2, .part_target = 0.5, .segs = s, .nsegs = 4 };
    char *full;
    hls_buf_t b;

    fill(s, 4, 0, 2.0, 0, four_parts, 4);
    full = media_text(&m);
    hls_buf_init(&b, 300);
    cr_expect_eq(hls_write_media(&b, &m), -ENOSPC);
    cr_expect_lt(b.len, 300);
    cr_expect_eq(strlen(b.data), b.len);
    cr_expect_eq(strncmp(b.data, full, b.len), 0);
    hls_buf_free(&b);
    free(full);
}

Test(hls_media, appends_to_what_the_buffer_holds)
{
    hls_segment_t s[1];
    hls_media_t m = { .target_duration = 2, .segs = s, .nsegs = 1 };
    hls_buf_t b;

    fill(s, 1, 0, 2.0, 0, NULL, 0);
    hls_buf_init(&b, 4096);
    hls_buf_printf(&b, "x");
    cr_assert_eq(hls_write_media(&b, &m), 0);
    cr_expect_eq(strncmp(b.data, "x#EXTM3U\n", 9), 0, "%s", b.data);
    hls_buf_free(&b);
}

/* ---- media playlists: date ranges ---- */

static const hls_attr_t card_attrs[] = { { "PRODUCT", "tea-01", 0, 0 }, { "SOLD", NULL, 12, 0 } };

/* A change of the card start_ms after T0, named card-<seq>. */
static hls_daterange_t card(char *id, int seq, int64_t start_ms)
{
    sprintf(id, "card-%d", seq);
    return (hls_daterange_t){
        id, "com.shopcast.product", T0_MS + start_ms, card_attrs, 2, HLS_END_ON_NEXT, 0
    };
}

/* The playlist lists n date ranges, id (when given) among them. */
static void expect_ranges(const hls_media_t *m, size_t n, const char *id)
{
    char *text = media_text(m), quoted[40];

    snprintf(quoted, sizeof(quoted), "ID=\"%s\"", id ? id : "");
    cr_expect_eq(count(text, "#EXT-X-DATERANGE:"), n, "%s", text);
    cr_expect(!id || strstr(text, quoted), "%s not in %s", quoted, text);
    free(text);
}

Test(hls_media, golden_date_ranges_within_the_window)
{
    hls_segment_t s[3];
    char ids[6][16];
    /* The window starts at T0 + 2 s and ends at 6.5 s. 1 and 2 start before it: only 2, which
     * still covers segment 100, is listed. 3 starts in 100, 4 in 101, 5 in the part of 102 made
     * so far, and 6 at its end, in a part not made yet. With 5 in it, 102 goes undated (hls.js
     * throws otherwise) and is dated from 101, the same date. */
    hls_daterange_t r[6] = { card(ids[0], 1, 500),  card(ids[1], 2, 1500), card(ids[2], 3, 2250),
                             card(ids[3], 4, 5000), card(ids[4], 5, 6499), card(ids[5], 6, 6500) };
    hls_media_t m = {
        .target_duration = 2, .part_target = 0.5, .segs = s, .nsegs = 3, .ranges = r, .nranges = 6
    };

    fill(s, 2, 100, 2.0, 0, four_parts, 4);
    for (int i = 0; i < 2; i++)
        s[i].pdt_ms += 2000;
    growing(&s[2], one_part, 1);
    expect_media(&m, "#EXTM3U\n"
                     "#EXT-X-VERSION:9\n"
                     "#EXT-X-TARGETDURATION:2\n"
                     "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,"
                     "CAN-SKIP-UNTIL=12.000\n"
                     "#EXT-X-PART-INF:PART-TARGET=0.500\n"
                     "#EXT-X-MEDIA-SEQUENCE:100\n"
                     "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
                     "#EXT-X-MAP:URI=\"init-0.mp4\"\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:02.000Z\n"
                     "#EXT-X-DATERANGE:ID=\"card-2\",CLASS=\"com.shopcast.product\","
                     "START-DATE=\"2026-11-29T14:00:01.500Z\",END-ON-NEXT=YES,X-PRODUCT=\"tea-01\","
                     "X-SOLD=12\n"
                     "#EXT-X-DATERANGE:ID=\"card-3\",CLASS=\"com.shopcast.product\","
                     "START-DATE=\"2026-11-29T14:00:02.250Z\",END-ON-NEXT=YES,X-PRODUCT=\"tea-01\","
                     "X-SOLD=12\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-100.0.m4s\",INDEPENDENT=YES\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-100.1.m4s\"\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-100.2.m4s\"\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-100.3.m4s\"\n"
                     "#EXTINF:2.00000,\n"
                     "seg-100.m4s\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:04.000Z\n"
                     "#EXT-X-DATERANGE:ID=\"card-4\",CLASS=\"com.shopcast.product\","
                     "START-DATE=\"2026-11-29T14:00:05.000Z\",END-ON-NEXT=YES,X-PRODUCT=\"tea-01\","
                     "X-SOLD=12\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-101.0.m4s\",INDEPENDENT=YES\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-101.1.m4s\"\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-101.2.m4s\"\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-101.3.m4s\"\n"
                     "#EXTINF:2.00000,\n"
                     "seg-101.m4s\n"
                     "#EXT-X-DATERANGE:ID=\"card-5\",CLASS=\"com.shopcast.product\","
                     "START-DATE=\"2026-11-29T14:00:06.499Z\",END-ON-NEXT=YES,X-PRODUCT=\"tea-01\","
                     "X-SOLD=12\n"
                     "#EXT-X-PART:DURATION=0.50000,URI=\"part-102.0.m4s\",INDEPENDENT=YES\n"
                     "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-102.1.m4s\"\n");
}

Test(hls_media, the_segment_being_filled_keeps_its_date_without_a_range_in_it)
{
    hls_segment_t s[2];
    char id[16];
    hls_daterange_t r = card(id, 1, 500);
    hls_media_t m = {
        .target_duration = 2, .part_target = 0.5, .segs = s, .nsegs = 2, .ranges = &r, .nranges = 1
    };
    char *text;

    fill(s, 1, 0, 2.0, 0, four_parts, 4);
    growing(&s[1], one_part, 1);
    text = media_text(&m);
    cr_expect_not_null(strstr(text, "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:02.000Z\n"), "%s",
                       text);
    free(text);
}

Test(hls_media, a_range_starting_with_the_window_supersedes_the_one_before)
{
    hls_segment_t s[2];
    char ids[2][16];
    hls_daterange_t r[2] = { card(ids[0], 1, 100), card(ids[1], 2, 2000) };
    hls_media_t m = { .target_duration = 2, .segs = s, .nsegs = 2, .ranges = r, .nranges = 2 };

    fill(s, 2, 0, 2.0, 0, NULL, 0);
    s[0].pdt_ms += 2000; /* starts exactly where card-2 does */
    s[1].pdt_ms += 2000;
    expect_ranges(&m, 1, "card-2");
}

Test(hls_media, plain_hls_lists_no_range_of_a_segment_not_yet_listed)
{
    hls_segment_t s[2];
    char ids[2][16];
    hls_daterange_t r[2] = { card(ids[0], 1, 1000), card(ids[1], 2, 2100) };
    hls_media_t m = { .target_duration = 2, .segs = s, .nsegs = 2, .ranges = r, .nranges = 2 };

    fill(s, 1, 0, 2.0, 0, four_parts, 4);
    growing(&s[1], two_parts, 2); /* plain HLS lists it only once complete */
    expect_ranges(&m, 1, "card-1");
    m.part_target = 0.5; /* low latency lists it through its parts */
    expect_ranges(&m, 2, "card-2");
}

Test(hls_media, delta_update_carries_the_ranges_of_skipped_segments)
{
    hls_segment_t s[11];
    char ids[3][16];
    /* in skipped 301, in skipped 303, in listed 306 */
    hls_daterange_t r[3] = { card(ids[0], 1, 2500), card(ids[1], 2, 7000), card(ids[2], 3, 12500) };
    hls_media_t m = { .target_duration = 2,
                      .part_target = 0.5,
                      .segs = s,
                      .nsegs = 11,
                      .skip = 1,
                      .ranges = r,
                      .nranges = 3 };
    char *text, *first_seg;

    fill(s, 10, 300, 2.0, 9, four_parts, 4);
    growing(&s[10], one_part, 1);
    text = media_text(&m);
    cr_assert_not_null(strstr(text, "#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n"), "%s", text);
    cr_expect_eq(count(text, "#EXT-X-DATERANGE:"), 3, "%s", text);
    /* the skipped segments' ranges go with the first segment written, 304 */
    first_seg = strstr(text, "seg-304.m4s");
    cr_assert_not_null(first_seg);
    cr_expect_lt(strstr(text, "ID=\"card-2\""), first_seg, "%s", text);
    cr_expect_gt(strstr(text, "ID=\"card-3\""), strstr(text, "seg-305.m4s"), "%s", text);
    free(text);
}

Test(hls_media, an_empty_window_lists_no_range)
{
    char id[16];
    hls_daterange_t r = card(id, 1, 0);
    hls_media_t m = { .target_duration = 2, .part_target = 0.5, .ranges = &r, .nranges = 1 };

    expect_ranges(&m, 0, NULL);
}

Test(hls_media, refuses_a_range_it_cannot_write)
{
    hls_segment_t s[1];
    char ids[2][16];
    hls_daterange_t good[2] = { card(ids[0], 1, 0), card(ids[1], 2, 10) }, r[2];
    const hls_attr_t lower = { "price", NULL, 1, 0 }, empty = { "", NULL, 1, 0 },
                     negative = { "PRICE", NULL, -1, 0 }, quote = { "PRODUCT", "a\"b", 0, 0 },
                     newline = { "PRODUCT", "a\nb", 0, 0 };
    const hls_attr_t *bad_attrs[] = { &lower, &empty, &negative, &quote, &newline };
    hls_media_t m = { .target_duration = 2, .segs = s, .nsegs = 1, .ranges = r, .nranges = 2 };
    hls_buf_t b;

    fill(s, 1, 0, 2.0, 0, NULL, 0);
    hls_buf_init(&b, 4096);
    memcpy(r, good, sizeof(r));
    cr_assert_eq(hls_write_media(&b, &m), 0);
    hls_buf_free(&b);
    hls_buf_init(&b, 4096);
    for (size_t i = 0; i < ARRAY_LEN(bad_attrs); i++) {
        memcpy(r, good, sizeof(r));
        r[1].attrs = bad_attrs[i];
        r[1].nattrs = 1;
        cr_expect_eq(hls_write_media(&b, &m), -EINVAL, "attribute %zu", i);
    }
    for (int i = 0; i < 6; i++) {
        memcpy(r, good, sizeof(r));
        if (i == 0)
            r[1].start_ms = r[0].start_ms - 1; /* out of order */
        else if (i == 1)
            r[1].id = "x\"y";
        else if (i == 2)
            r[1].id = "";
        else if (i == 3)
            r[1].cls = NULL; /* END-ON-NEXT needs a CLASS */
        else if (i == 4)
            r[1].start_ms = 253402300800000ll; /* year 10000 */
        else
            r[1].attrs = NULL;
        cr_expect_eq(hls_write_media(&b, &m), -EINVAL, "case %d", i);
    }
    cr_expect_eq(b.len, 0, "nothing written: %s", b.data);
    hls_buf_free(&b);
}

Test(hls_media, golden_chapters_with_an_end_date_or_none_yet)
{
    hls_segment_t s[2];
    const hls_attr_t a[] = { { "PRODUCT", "tea-01", 0, 0 }, { "START-S", NULL, 1250, 1 } },
                     b[] = { { "PRODUCT", "cup", 0, 0 }, { "START-S", NULL, 3000, 1 } };
    hls_daterange_t r[2] = {
        { "chapter-1", "com.shopcast.chapter", T0_MS + 1250, a, 2, HLS_END_DATE, T0_MS + 3000 },
        { "chapter-2", "com.shopcast.chapter", T0_MS + 3000, b, 2, HLS_END_OPEN, 0 },
    };
    hls_media_t m = {
        .target_duration = 2, .segs = s, .nsegs = 2, .ended = 1, .ranges = r, .nranges = 2
    };

    fill(s, 2, 7, 2.0, 0, NULL, 0);
    expect_media(&m, "#EXTM3U\n"
                     "#EXT-X-VERSION:6\n"
                     "#EXT-X-TARGETDURATION:2\n"
                     "#EXT-X-MEDIA-SEQUENCE:7\n"
                     "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
                     "#EXT-X-MAP:URI=\"init-0.mp4\"\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:00.000Z\n"
                     "#EXT-X-DATERANGE:ID=\"chapter-1\",CLASS=\"com.shopcast.chapter\","
                     "START-DATE=\"2026-11-29T14:00:01.250Z\","
                     "END-DATE=\"2026-11-29T14:00:03.000Z\",DURATION=1.750,X-PRODUCT=\"tea-01\","
                     "X-START-S=1.250\n"
                     "#EXTINF:2.00000,\n"
                     "seg-7.m4s\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T14:00:02.000Z\n"
                     "#EXT-X-DATERANGE:ID=\"chapter-2\",CLASS=\"com.shopcast.chapter\","
                     "START-DATE=\"2026-11-29T14:00:03.000Z\",X-PRODUCT=\"cup\",X-START-S=3.000\n"
                     "#EXTINF:2.00000,\n"
                     "seg-8.m4s\n"
                     "#EXT-X-ENDLIST\n");
}

Test(hls_media, refuses_a_range_that_ends_before_it_starts)
{
    hls_segment_t s[1];
    char id[16];
    hls_daterange_t r = card(id, 1, 500);
    hls_media_t m = { .target_duration = 2, .segs = s, .nsegs = 1, .ranges = &r, .nranges = 1 };
    hls_buf_t b;

    fill(s, 1, 0, 2.0, 0, NULL, 0);
    hls_buf_init(&b, 4096);
    r.end = HLS_END_DATE;
    r.end_ms = r.start_ms - 1;
    cr_expect_eq(hls_write_media(&b, &m), -EINVAL);
    r.end_ms = r.start_ms; /* a range may last no time at all */
    cr_expect_eq(hls_write_media(&b, &m), 0);
    r.end = (hls_range_end_t)7;
    hls_buf_free(&b);
    hls_buf_init(&b, 4096);
    cr_expect_eq(hls_write_media(&b, &m), -EINVAL);
    hls_buf_free(&b);
}

/* ---- names ---- */

typedef struct name_case_s {
    const char *name;
    hls_name_type_t type;
    uint64_t a;
    int b;
} name_case_t;

Test(hls_name, accepts_each_pattern)
{
    static const name_case_t ok[] = {
        { "master.m3u8", HLS_NAME_MASTER, 0, 0 },
        { "media.m3u8", HLS_NAME_MEDIA, 0, 0 },
        { "init-0.mp4", HLS_NAME_INIT, 0, 0 },
        { "init-1795960800.mp4", HLS_NAME_INIT, 1795960800, 0 },
        { "seg-0.m4s", HLS_NAME_SEGMENT, 0, 0 },
        { "seg-12.m4s", HLS_NAME_SEGMENT, 12, 0 },
        { "seg-999999999999999999.m4s", HLS_NAME_SEGMENT, 999999999999999999ull, 0 },
        { "part-0.0.m4s", HLS_NAME_PART, 0, 0 },
        { "part-12.3.m4s", HLS_NAME_PART, 12, 3 },
        { "part-1795960800.9999.m4s", HLS_NAME_PART, 1795960800, 9999 },
    };

    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        hls_name_t n;

        cr_assert_eq(hls_parse_name(ok[i].name, &n), 0, "%s", ok[i].name);
        cr_expect_eq(n.type, ok[i].type, "%s", ok[i].name);
        cr_expect_eq(n.a, ok[i].a, "%s: a %" PRIu64, ok[i].name, n.a);
        cr_expect_eq(n.b, ok[i].b, "%s: b %d", ok[i].name, n.b);
    }
}

Test(hls_name, rejects_everything_else)
{
    static const char *const bad[] = {
        "",
        "seg-01.m4s",
        "seg-00.m4s",
        "seg-.m4s",
        "seg-+1.m4s",
        "seg--1.m4s",
        "seg- 1.m4s",
        "seg-1 .m4s",
        " seg-1.m4s",
        "seg-1000000000000000000.m4s",
        "seg-18446744073709551616.m4s",
        "seg-1.m4s.",
        "seg-1.m4sx",
        "seg-1.mp4",
        "seg-1",
        "../seg-1.m4s",
        "seg-1.m4s/..",
        "a/seg-1.m4s",
        "seg-%31.m4s",
        "seg-1%2em4s",
        "seg-0x1.m4s",
        "seg-1.m4s\n",
        "SEG-1.m4s",
        "part-1.m4s",
        "part-1.01.m4s",
        "part-01.1.m4s",
        "part-1.10000.m4s",
        "part-1..m4s",
        "part-1.2.3.m4s",
        "part-.1.m4s",
        "part-1.-1.m4s",
        "init-1.m4s",
        "init-01.mp4",
        "init-.mp4",
        "Master.m3u8",
        "master.m3u8?x",
        "master.m3u8/",
        "/master.m3u8",
        "media.m3u",
        "media",
        "..",
        ".",
        "master.m3u8 ",
        "%6dedia.m3u8",
    };

    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        hls_name_t n = { .type = HLS_NAME_MASTER, .a = 7, .b = 7 };

        cr_expect_eq(hls_parse_name(bad[i], &n), -EINVAL, "accepted \"%s\"", bad[i]);
        cr_expect(n.type == 0 && n.a == 0 && n.b == 0, "\"%s\" left output behind", bad[i]);
    }
    cr_expect_eq(hls_parse_name(NULL, &(hls_name_t){ 0 }), -EINVAL);
}

/* ---- query strings ---- */

typedef struct query_case_s {
    const char *query;
    hls_query_t want;
} query_case_t;

Test(hls_query, accepts_known_parameters_in_any_order)
{
    static const query_case_t ok[] = {
        { NULL, { 0 } },
        { "", { 0 } },
        { "_HLS_msn=12", { 1, 12, 0, 0, 0 } },
        { "_HLS_msn=12&_HLS_part=3", { 1, 12, 1, 3, 0 } },
        { "_HLS_part=3&_HLS_msn=12", { 1, 12, 1, 3, 0 } },
        { "_HLS_skip=YES", { 0, 0, 0, 0, 1 } },
        { "_HLS_skip=v2", { 0, 0, 0, 0, 2 } },
        { "_HLS_msn=12&_HLS_part=3&_HLS_skip=YES", { 1, 12, 1, 3, 1 } },
        { "_HLS_skip=YES&_HLS_part=0&_HLS_msn=0", { 1, 0, 1, 0, 1 } },
        { "cb=171&_HLS_msn=5", { 1, 5, 0, 0, 0 } },
        { "_HLS_msn=5&cb&", { 1, 5, 0, 0, 0 } },
        { "&&_HLS_msn=5", { 1, 5, 0, 0, 0 } },
        { "_HLS_msn=007", { 1, 7, 0, 0, 0 } }, /* decimal-integer allows leading zeros */
        { "_HLS_msn=999999999999999999&_HLS_part=9999", { 1, 999999999999999999ull, 1, 9999, 0 } },
        { "_hls_msn=x&_HLS_msnx=1&_HLS_ms=1", { 0 } }, /* not ours: names are case-sensitive */
    };

    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        const hls_query_t *w = &ok[i].want;
        hls_query_t q;

        cr_assert_eq(hls_parse_query(ok[i].query, &q), 0, "%s", ok[i].query);
        cr_expect(q.has_msn == w->has_msn && q.msn == w->msn && q.has_part == w->has_part &&
                      q.part == w->part && q.skip == w->skip,
                  "%s: msn %d/%" PRIu64 " part %d/%d skip %d", ok[i].query, q.has_msn, q.msn,
                  q.has_part, q.part, q.skip);
    }
}

Test(hls_query, rejects_bad_requests)
{
    static const char *const bad[] = {
        "_HLS_part=3",
        "_HLS_msn=",
        "_HLS_msn",
        "_HLS_msn=-1",
        "_HLS_msn=+1",
        "_HLS_msn=1a",
        "_HLS_msn= 1",
        "_HLS_msn=%31",
        "_HLS_msn=0x1",
        "_HLS_msn=1&_HLS_msn=1",
        "_HLS_msn=1000000000000000000",
        "_HLS_msn=18446744073709551616",
        "_HLS_msn=1&_HLS_part=10000",
        "_HLS_msn=1&_HLS_part=-1",
        "_HLS_msn=1&_HLS_part=",
        "_HLS_skip=yes",
        "_HLS_skip=NO",
        "_HLS_skip=v3",
        "_HLS_skip=",
        "_HLS_skip=YESS",
        "_HLS_skip=YES&_HLS_skip=YES",
        "_HLS_msn=1=2",
    };

    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        hls_query_t q = { 1, 1, 1, 1, 1 };

        cr_expect_eq(hls_parse_query(bad[i], &q), -EINVAL, "accepted \"%s\"", bad[i]);
        cr_expect(q.has_msn == 0 && q.has_part == 0 && q.skip == 0, "\"%s\" left output", bad[i]);
    }
}
