/* HLS playlist text (RFC 8216bis): master and media playlists with the Low-Latency tags, and the
 * parsing of the names and query strings players request.
 *
 * Invariants: nothing is kept between calls. A writer checks its input first and writes nothing
 * when it returns -EINVAL; after that it only appends to the caller's hls_buf_t and returns the
 * buffer's error, which sticks, so it checks once at the end. Inside the media writer times are
 * whole microseconds from the start of segs[0]: which parts are listed and which segments a
 * delta update skips never hang on floating-point rounding. Section numbers are those of
 * draft-pantos-hls-rfc8216bis-16. */
#include "proto/hls.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define DIGITS   "0123456789"
#define MSN_MAX  999999999999999999ull /* 18 digits, the most a name may carry */
#define PART_MAX 9999u                 /* 4 digits */
#define US       1000000               /* microseconds a second */

/* 9999-12-31T23:59:59.999Z: the last instant a four-digit year can write (4.4.4.6, ISO 8601). */
#define PDT_MAX_MS 253402300799999ll

/* No segment, part or target lasts a day; the bound keeps every sum of microseconds in range. */
#define DURATION_MAX_S 86400.0

enum {
    BUF_INITIAL = 512, /* a short playlist without a realloc; a long one in a few doublings */

    /* Section 8 asks for no version above 1 for anything a master here carries, but every
     * variant it lists is fMP4, whose EXT-X-MAP needs 6. Saying 6 up front lets a client too old
     * for that refuse at the master rather than at its first media playlist; 7 would only be
     * for INSTREAM-ID SERVICE values, which this master never has. */
    MASTER_VERSION = 6,
    MEDIA_VERSION = 6, /* EXT-X-MAP without EXT-X-I-FRAMES-ONLY (section 8) */

    /* EXT-X-SKIP needs 9 (section 8). A low-latency playlist advertises CAN-SKIP-UNTIL, so any
     * reload of it may be a delta update: every one says 9 and the version never flips between a
     * full playlist and a delta of the same rendition. */
    LL_VERSION = 9,

    HOLD_BACK_PARTS = 3, /* PART-HOLD-BACK at least 2 part targets, 3 advised (4.4.3.8) */
    SKIP_UNTIL_TDS = 6,  /* CAN-SKIP-UNTIL at least 6 target durations (4.4.3.8) */
};

void hls_buf_init(hls_buf_t *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max; /* bounds cap, so the text is at most max - 1 bytes */
    if (max == 0) {
        b->err = -ENOSPC;
        return;
    }
    b->cap = max < BUF_INITIAL ? max : BUF_INITIAL;
    b->data = malloc(b->cap);
    if (!b->data) {
        b->cap = 0;
        b->err = -ENOMEM;
        return;
    }
    b->data[0] = '\0';
}

/* Room for need bytes, NUL included. Doubling keeps a playlist built from many small appends
 * to a few reallocs; the last step stops at max. */
static int buf_reserve(hls_buf_t *b, size_t need)
{
    size_t cap = b->cap;
    char *data;

    if (need > b->max)
        return -ENOSPC;
    while (cap < need)
        cap = cap > b->max / 2 ? b->max : cap * 2;
    data = realloc(b->data, cap);
    if (!data)
        return -ENOMEM;
    b->data = data;
    b->cap = cap;
    return 0;
}

void hls_buf_printf(hls_buf_t *b, const char *fmt, ...)
{
    va_list ap, again;
    int n;

    if (b->err)
        return;
    va_start(ap, fmt);
    va_copy(again, ap);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    if (n >= 0 && (size_t)n >= b->cap - b->len) {
        b->err = buf_reserve(b, b->len + (size_t)n + 1);
        if (b->err == 0)
            n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, again);
    }
    va_end(again);
    va_end(ap);
    if (n < 0 && b->err == 0)
        b->err = -EINVAL; /* a conversion vsnprintf refused */
    if (b->err) {
        b->data[b->len] = '\0'; /* drop the truncated tail of the append that failed */
        return;
    }
    b->len += (size_t)n;
}

void hls_buf_free(hls_buf_t *b)
{
    if (!b)
        return;
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* A quoted-string may hold neither a double quote nor a line break (4.2). */
static int quotable(const char *s)
{
    return s && !strpbrk(s, "\"\r\n");
}

/* A URI line is one line and must not read as a tag or comment (4.1). */
static int uri_line_ok(const char *s)
{
    return s && *s && *s != '#' && !strpbrk(s, "\r\n");
}

static int variant_ok(const hls_variant_t *v)
{
    return uri_line_ok(v->uri) && v->bandwidth > 0 && v->avg_bandwidth >= 0 &&
           (!v->codecs || quotable(v->codecs)) && v->width >= 0 && v->height >= 0 &&
           v->frame_rate >= 0;
}

/* Attributes a variant lacks (an audio-only rung has no resolution) are left out. */
static void write_variant(hls_buf_t *out, const hls_variant_t *v)
{
    hls_buf_printf(out, "#EXT-X-STREAM-INF:BANDWIDTH=%d", v->bandwidth);
    if (v->avg_bandwidth > 0)
        hls_buf_printf(out, ",AVERAGE-BANDWIDTH=%d", v->avg_bandwidth);
    if (v->codecs)
        hls_buf_printf(out, ",CODECS=\"%s\"", v->codecs);
    if (v->width > 0 && v->height > 0)
        hls_buf_printf(out, ",RESOLUTION=%dx%d", v->width, v->height);
    if (v->frame_rate > 0) /* 4.4.6.2: rounded to three decimal places */
        hls_buf_printf(out, ",FRAME-RATE=%.3f", v->frame_rate);
    hls_buf_printf(out, "\n%s\n", v->uri);
}

int hls_write_master(hls_buf_t *out, const hls_variant_t *v, size_t n)
{
    if (!out || (n && !v))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!variant_ok(&v[i]))
            return -EINVAL;
    /* 4.4.2.1: every segment of every rung starts with an IDR, since the encoders are aligned. */
    hls_buf_printf(out, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n",
                   MASTER_VERSION);
    for (size_t i = 0; i < n; i++)
        write_variant(out, &v[i]);
    return out->err;
}

/* What a media playlist lists, worked out before anything is written. */
typedef struct window_s {
    const hls_media_t *m;
    int ll;             /* low latency: part_target > 0 */
    size_t nlisted;     /* segs[0..nlisted) appear in the playlist */
    size_t first;       /* the first written; those before it are under EXT-X-SKIP */
    size_t first_parts; /* segs[first_parts..nlisted) list their parts */
    int64_t end_us;     /* the playlist's end */
    size_t r0, r1;      /* ranges[r0..r1) are listed */
} window_t;

static int duration_ok(double d)
{
    return d >= 0 && d <= DURATION_MAX_S; /* false for NaN too */
}

static int segment_ok(const hls_segment_t *s)
{
    if (s->init_id < 0 || s->pdt_ms < 0 || s->pdt_ms > PDT_MAX_MS)
        return 0;
    if ((s->complete && !duration_ok(s->duration)) || (s->nparts && !s->parts))
        return 0;
    for (size_t i = 0; i < s->nparts; i++)
        if (!duration_ok(s->parts[i].duration))
            return 0;
    return 1;
}

/* 4.2: an AttributeName is upper-case letters, digits and '-'. */
static int attr_name_ok(const char *s)
{
    return s && *s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == strlen(s);
}

static int range_ok(const hls_daterange_t *r)
{
    if (!quotable(r->id) || !*r->id || !quotable(r->cls) || !*r->cls || r->start_ms < 0 ||
        r->start_ms > PDT_MAX_MS || (r->nattrs && !r->attrs) || r->end < HLS_END_ON_NEXT ||
        r->end > HLS_END_DATE ||
        (r->end == HLS_END_DATE && (r->end_ms < r->start_ms || r->end_ms > PDT_MAX_MS)))
        return 0;
    for (size_t i = 0; i < r->nattrs; i++)
        if (!attr_name_ok(r->attrs[i].name) ||
            (r->attrs[i].str ? !quotable(r->attrs[i].str) : r->attrs[i].num < 0))
            return 0;
    return 1;
}

static int ranges_ok(const hls_media_t *m)
{
    if (m->nranges && !m->ranges)
        return 0;
    for (size_t i = 0; i < m->nranges; i++)
        if (!range_ok(&m->ranges[i]) ||
            (i > 0 && m->ranges[i].start_ms < m->ranges[i - 1].start_ms))
            return 0;
    return 1;
}

static int media_ok(const hls_media_t *m)
{
    if (m->target_duration <= 0 || !duration_ok(m->part_target) ||
        !duration_ok(m->segment_target) || (m->nsegs && !m->segs) || (m->nreports && !m->reports))
        return 0;
    for (size_t i = 0; i < m->nsegs; i++)
        if (!segment_ok(&m->segs[i]))
            return 0;
    for (size_t i = 0; i < m->nreports; i++)
        if (!quotable(m->reports[i].uri) || m->reports[i].last_part < -1)
            return 0;
    return ranges_ok(m);
}

static int64_t to_us(double s)
{
    return (int64_t)(s * US + 0.5);
}

/* Rounded up to the millisecond: PART-TARGET bounds every part's duration (4.4.3.7), so writing
 * it rounded down could make a conforming part look too long. */
static int64_t ceil_ms(double s)
{
    return (to_us(s) + 999) / 1000;
}

/* A complete segment lasts its EXTINF; one still being filled lasts as long as its parts. */
static int64_t span_us(const hls_segment_t *s)
{
    int64_t us = 0;

    if (s->complete)
        return to_us(s->duration);
    for (size_t i = 0; i < s->nparts; i++)
        us += to_us(s->parts[i].duration);
    return us;
}

/* The next forced keyframe is due less than half a part target after parts_us: the next part
 * opens a new segment. */
static int full_us(int64_t parts_us, int64_t segment_us, int64_t part_us)
{
    return segment_us > 0 && parts_us + part_us / 2 >= segment_us;
}

int hls_segment_full(double parts_s, double segment_target, double part_target)
{
    if (!duration_ok(parts_s) || !duration_ok(segment_target) || !duration_ok(part_target))
        return 0;
    return full_us(to_us(parts_s), to_us(segment_target), to_us(part_target));
}

/* Does the preload hint name part 0 of the segment after the last one? Yes once that one is
 * complete, or full: its end is known in advance (hls_segment_full). */
static int hint_opens_segment(const hls_media_t *m)
{
    const hls_segment_t *last = &m->segs[m->nsegs - 1];

    if (last->complete)
        return 1;
    return last->nparts > 0 &&
           full_us(span_us(last), to_us(m->segment_target), to_us(m->part_target));
}

/* An incomplete last segment has no EXTINF to write, so it appears only through its parts: not
 * at all in plain HLS, before its first part, or once the playlist has ended (no parts then). */
static size_t listed_count(const hls_media_t *m, int ll)
{
    const hls_segment_t *last = m->nsegs ? &m->segs[m->nsegs - 1] : NULL;

    if (last && !last->complete && (!ll || m->ended || last->nparts == 0))
        return m->nsegs - 1;
    return m->nsegs;
}

/* 6.2.5.1: a delta update replaces the oldest segments, each of which must end more than
 * CAN-SKIP-UNTIL before the playlist's end; one straddling that boundary stays listed. A v2
 * request is served like YES: without CAN-SKIP-DATERANGES=YES (4.4.3.8) no date range is
 * skipped, so the delta carries them all. */
static size_t skipped_count(const window_t *w)
{
    int64_t boundary = w->end_us - (int64_t)w->m->target_duration * SKIP_UNTIL_TDS * US;
    int64_t end = 0;
    size_t n = 0;

    if (!w->ll || !w->m->skip)
        return 0;
    for (; n < w->nlisted; n++) {
        end += span_us(&w->m->segs[n]);
        if (end >= boundary)
            break;
    }
    return n;
}

/* 4.4.4.9, 6.2.2: parts serve the live edge (HLS_PART_SEGMENTS). A hint after a complete last
 * segment stands for the next parent segment, and strict parsers count it as one. An ended
 * playlist has no live edge, and its complete segments carry the same media, so it lists no
 * parts at all. */
static size_t first_with_parts(const window_t *w)
{
    const hls_media_t *m = w->m;
    int64_t from = w->end_us - (int64_t)m->target_duration * HLS_PART_WINDOW_TDS * US;
    int64_t start = w->end_us;
    size_t n = w->nlisted, keep = HLS_PART_SEGMENTS, i;

    if (!w->ll || m->ended || n == 0)
        return n;
    if (m->segs[n - 1].complete) /* the hint follows: it stands for the next segment */
        keep--;
    for (i = n; i > 0 && n - i < keep; i--) {
        start -= span_us(&m->segs[i - 1]);
        if (start < from)
            break;
    }
    return i;
}

/* The end of segs[i] on the wall clock, microseconds since the epoch. */
static int64_t seg_end_us(const hls_segment_t *s)
{
    return s->pdt_ms * 1000 + span_us(s);
}

/* 4.4.5.1: the ranges that start within the listed segments, and the one before them that covers
 * the first (END-ON-NEXT: it lasts until the next). One that starts at or after the end is for a
 * frame no part listed here holds yet. */
static void listed_ranges(window_t *w)
{
    const hls_media_t *m = w->m;
    int64_t from, end;

    w->r0 = w->r1 = 0;
    if (!w->nlisted)
        return;
    from = m->segs[0].pdt_ms;
    end = seg_end_us(&m->segs[w->nlisted - 1]);
    while (w->r1 < m->nranges && m->ranges[w->r1].start_ms * 1000 < end)
        w->r1++;
    while (w->r0 + 1 < w->r1 && m->ranges[w->r0 + 1].start_ms <= from)
        w->r0++;
}

static void window_init(window_t *w, const hls_media_t *m)
{
    w->m = m;
    w->ll = m->part_target > 0;
    w->nlisted = listed_count(m, w->ll);
    w->end_us = 0;
    for (size_t i = 0; i < w->nlisted; i++)
        w->end_us += span_us(&m->segs[i]);
    w->first_parts = first_with_parts(w);
    w->first = skipped_count(w);
    listed_ranges(w);
}

/* Whole milliseconds as seconds with three decimals, without a trip through double. */
static void write_ms(hls_buf_t *out, int64_t ms)
{
    hls_buf_printf(out, "%" PRId64 ".%03d", ms / 1000, (int)(ms % 1000));
}

static void write_ll_header(hls_buf_t *out, const hls_media_t *m)
{
    int64_t part_ms = ceil_ms(m->part_target);

    /* Hold-back counts in advertised part targets, so it is 3 x what PART-TARGET says. */
    hls_buf_printf(out, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=");
    write_ms(out, part_ms * HOLD_BACK_PARTS);
    hls_buf_printf(out, ",CAN-SKIP-UNTIL=");
    write_ms(out, (int64_t)m->target_duration * SKIP_UNTIL_TDS * 1000);
    hls_buf_printf(out, "\n#EXT-X-PART-INF:PART-TARGET=");
    write_ms(out, part_ms);
    hls_buf_printf(out, "\n");
}

static void write_header(hls_buf_t *out, const window_t *w)
{
    const hls_media_t *m = w->m;

    hls_buf_printf(out, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%d\n",
                   w->ll ? LL_VERSION : MEDIA_VERSION, m->target_duration);
    if (w->ll)
        write_ll_header(out, m);
    /* 4.4.3.2, 4.4.3.3: both describe segs[0], skipped or not, so a client merging a delta
     * update numbers the segments after EXT-X-SKIP from them. */
    hls_buf_printf(out,
                   "#EXT-X-MEDIA-SEQUENCE:%" PRIu64 "\n#EXT-X-DISCONTINUITY-SEQUENCE:%" PRIu64 "\n",
                   m->nsegs ? m->segs[0].msn : 0, m->disc_seq);
    if (w->first) /* 4.4.5.2 */
        hls_buf_printf(out, "#EXT-X-SKIP:SKIPPED-SEGMENTS=%zu\n", w->first);
}

/* 4.4.4.6: UTC with milliseconds (ISO 8601). ms was checked to be within years 1970 to 9999. */
static void write_date(hls_buf_t *out, int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    hls_buf_printf(out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static void write_pdt(hls_buf_t *out, int64_t pdt_ms)
{
    hls_buf_printf(out, "#EXT-X-PROGRAM-DATE-TIME:");
    write_date(out, pdt_ms);
    hls_buf_printf(out, "\n");
}

/* 4.4.5.1: END-DATE and DURATION say the same (END-DATE = START-DATE + DURATION). */
static void write_range_end(hls_buf_t *out, const hls_daterange_t *r)
{
    if (r->end == HLS_END_ON_NEXT) {
        hls_buf_printf(out, ",END-ON-NEXT=YES");
        return;
    }
    if (r->end != HLS_END_DATE)
        return;
    hls_buf_printf(out, ",END-DATE=\"");
    write_date(out, r->end_ms);
    hls_buf_printf(out, "\",DURATION=");
    write_ms(out, r->end_ms - r->start_ms);
}

/* 4.4.5.1 */
static void write_range(hls_buf_t *out, const hls_daterange_t *r)
{
    hls_buf_printf(out, "#EXT-X-DATERANGE:ID=\"%s\",CLASS=\"%s\",START-DATE=\"", r->id, r->cls);
    write_date(out, r->start_ms);
    hls_buf_printf(out, "\"");
    write_range_end(out, r);
    for (size_t i = 0; i < r->nattrs; i++) {
        const hls_attr_t *a = &r->attrs[i];

        if (a->str) {
            hls_buf_printf(out, ",X-%s=\"%s\"", a->name, a->str);
        } else {
            hls_buf_printf(out, ",X-%s=", a->name);
            if (a->ms)
                write_ms(out, a->num);
            else
                hls_buf_printf(out, "%" PRId64, a->num);
        }
    }
    hls_buf_printf(out, "\n");
}

/* The listed ranges not yet written that start before segs[i] ends; *next is the first not yet
 * written. The last listed segment takes whatever is left. */
static void write_ranges_until(hls_buf_t *out, const window_t *w, size_t i, size_t *next)
{
    int last = i + 1 == w->nlisted;

    while (*next < w->r1 &&
           (last || w->m->ranges[*next].start_ms * 1000 < seg_end_us(&w->m->segs[i])))
        write_range(out, &w->m->ranges[(*next)++]);
}

static void write_parts(hls_buf_t *out, const hls_segment_t *s)
{
    for (size_t i = 0; i < s->nparts; i++)
        hls_buf_printf(out, "#EXT-X-PART:DURATION=%.5f,URI=\"part-%" PRIu64 ".%zu.m4s\"%s\n",
                       s->parts[i].duration, s->msn, i,
                       s->parts[i].independent ? ",INDEPENDENT=YES" : "");
}

/* The segment being filled goes undated while a date range starts in it: hls.js 1.6 anchors a
 * range to the last dated segment and, when that one is listed only through its parts, reads
 * past the end of its segment list and throws (mapDateRanges). Undated, it is dated from the
 * segment before (4.4.4.6), and gets its own date once complete. */
static int undated(const window_t *w, const hls_segment_t *s, size_t next_range)
{
    return !s->complete && next_range < w->r1 && w->m->ranges[w->r1 - 1].start_ms >= s->pdt_ms;
}

static void write_segment(hls_buf_t *out, const window_t *w, size_t i, int with_parts,
                          size_t *next_range)
{
    const hls_segment_t *s = &w->m->segs[i];

    /* 4.4.3.3: segs[0]'s own discontinuity is already counted in the sequence number. The
     * first segment after EXT-X-SKIP is not the playlist's first, so it keeps its tag. */
    if (s->discontinuity && i > 0)
        hls_buf_printf(out, "#EXT-X-DISCONTINUITY\n");
    /* 4.4.4.5, 4.4.5.2: the map of skipped segments is skipped with them, so it is repeated. */
    if (i == w->first || s->init_id != s[-1].init_id)
        hls_buf_printf(out, "#EXT-X-MAP:URI=\"init-%d.mp4\"\n", s->init_id);
    if (!undated(w, s, *next_range))
        write_pdt(out, s->pdt_ms);
    write_ranges_until(out, w, i, next_range);
    if (with_parts)
        write_parts(out, s);
    if (s->complete) /* 4.4.4.1: decimal-floating-point, as the version is 3 or more */
        hls_buf_printf(out, "#EXTINF:%.5f,\nseg-%" PRIu64 ".m4s\n", s->duration, s->msn);
}

static void write_segments(hls_buf_t *out, const window_t *w)
{
    size_t next_range = w->r0;

    for (size_t i = w->first; i < w->nlisted; i++)
        write_segment(out, w, i, i >= w->first_parts, &next_range);
}

/* 4.4.5.3: the part the packager makes next, which the client may request before it exists. A
 * hint for one that will never come costs the client an error (6.2.6: 404). */
static void write_preload_hint(hls_buf_t *out, const hls_media_t *m)
{
    const hls_segment_t *last = &m->segs[m->nsegs - 1];
    int next = hint_opens_segment(m);

    hls_buf_printf(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-%" PRIu64 ".%zu.m4s\"\n",
                   next ? last->msn + 1 : last->msn, next ? 0 : last->nparts);
}

static void write_tail(hls_buf_t *out, const window_t *w)
{
    const hls_media_t *m = w->m;

    if (w->ll && !m->ended && m->nsegs)
        write_preload_hint(out, m);
    for (size_t i = 0; w->ll && i < m->nreports; i++) {
        const hls_report_t *r = &m->reports[i];

        /* 4.4.5.4 */
        hls_buf_printf(out, "#EXT-X-RENDITION-REPORT:URI=\"%s\",LAST-MSN=%" PRIu64, r->uri,
                       r->last_msn);
        if (r->last_part >= 0)
            hls_buf_printf(out, ",LAST-PART=%d", r->last_part);
        hls_buf_printf(out, "\n");
    }
    if (m->ended) /* 4.4.3.4 */
        hls_buf_printf(out, "#EXT-X-ENDLIST\n");
}

int hls_write_media(hls_buf_t *out, const hls_media_t *m)
{
    window_t w;

    if (!out || !m || !media_ok(m))
        return -EINVAL;
    window_init(&w, m);
    write_header(out, &w);
    write_segments(out, &w);
    write_tail(out, &w);
    return out->err;
}

/* Decimal digits, no sign, at most max: decimal-integer of 4.2, bounded. */
static int parse_digits(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t)(s[i] - '0'); /* v <= max < UINT64_MAX / 10 before this */
        if (v > max)
            return -EINVAL;
    }
    *out = v;
    return 0;
}

/* A number inside a name: also without leading zeros, so "seg-7" has no alias "seg-007" that a
 * cache would store twice. */
static int parse_name_number(const char **s, uint64_t max, uint64_t *out)
{
    size_t n = strspn(*s, DIGITS);

    if (n > 1 && **s == '0')
        return -EINVAL;
    if (parse_digits(*s, n, max, out))
        return -EINVAL;
    *s += n;
    return 0;
}

typedef struct name_pattern_s {
    const char *prefix;
    int numbers; /* 0, 1 (<a>) or 2 (<a>.<b>) between prefix and suffix */
    const char *suffix;
    hls_name_type_t type;
} name_pattern_t;

static const name_pattern_t name_patterns[] = {
    { "master.m3u8", 0, "", HLS_NAME_MASTER }, { "media.m3u8", 0, "", HLS_NAME_MEDIA },
    { "init-", 1, ".mp4", HLS_NAME_INIT },     { "seg-", 1, ".m4s", HLS_NAME_SEGMENT },
    { "part-", 2, ".m4s", HLS_NAME_PART },
};

/* Anything but an exact match (a '/', "..", a %-escape, a sign, a space) fails here. */
static int match_name(const name_pattern_t *p, const char *name, hls_name_t *out)
{
    size_t n = strlen(p->prefix);
    const char *s = name + n;
    uint64_t b = 0;

    if (strncmp(name, p->prefix, n))
        return -EINVAL;
    if (p->numbers >= 1 && parse_name_number(&s, MSN_MAX, &out->a))
        return -EINVAL;
    if (p->numbers == 2 && (*s++ != '.' || parse_name_number(&s, PART_MAX, &b)))
        return -EINVAL;
    if (strcmp(s, p->suffix))
        return -EINVAL;
    out->type = p->type;
    out->b = (int)b;
    return 0;
}

int hls_parse_name(const char *name, hls_name_t *out)
{
    hls_name_t got;

    memset(out, 0, sizeof(*out));
    if (!name)
        return -EINVAL;
    for (size_t i = 0; i < ARRAY_LEN(name_patterns); i++) {
        memset(&got, 0, sizeof(got));
        if (match_name(&name_patterns[i], name, &got) == 0) {
            *out = got;
            return 0;
        }
    }
    return -EINVAL;
}

/* Query values follow decimal-integer (4.2), where leading zeros are legal. */
static int parse_msn(const char *v, size_t n, hls_query_t *q)
{
    q->has_msn = 1;
    return parse_digits(v, n, MSN_MAX, &q->msn);
}

static int parse_part(const char *v, size_t n, hls_query_t *q)
{
    uint64_t part;

    if (parse_digits(v, n, PART_MAX, &part))
        return -EINVAL;
    q->has_part = 1;
    q->part = (int)part;
    return 0;
}

/* 6.2.5.1: YES skips segments; v2 also skips date ranges. */
static int parse_skip(const char *v, size_t n, hls_query_t *q)
{
    if (n == 3 && !memcmp(v, "YES", 3))
        q->skip = 1;
    else if (n == 2 && !memcmp(v, "v2", 2))
        q->skip = 2;
    else
        return -EINVAL;
    return 0;
}

typedef struct query_param_s {
    const char *name;
    int (*parse)(const char *v, size_t n, hls_query_t *q);
} query_param_t;

static const query_param_t query_params[] = {
    { "_HLS_msn", parse_msn },
    { "_HLS_part", parse_part },
    { "_HLS_skip", parse_skip },
};

/* One "name=value" of len bytes. seen has a bit per known parameter, to refuse repeats. */
static int parse_param(const char *p, size_t len, hls_query_t *q, unsigned *seen)
{
    const char *eq = memchr(p, '=', len);
    size_t nlen = eq ? (size_t)(eq - p) : len;

    for (size_t i = 0; i < ARRAY_LEN(query_params); i++) {
        if (strlen(query_params[i].name) != nlen || memcmp(p, query_params[i].name, nlen))
            continue;
        if (!eq || (*seen & (1u << i)))
            return -EINVAL;
        *seen |= 1u << i;
        return query_params[i].parse(eq + 1, len - nlen - 1, q);
    }
    return 0; /* unknown, such as a cache buster: ignored */
}

int hls_parse_query(const char *query, hls_query_t *out)
{
    const char *p = query ? query : "";
    hls_query_t q = { 0 };
    unsigned seen = 0;

    memset(out, 0, sizeof(*out));
    while (*p) {
        size_t len = strcspn(p, "&");

        if (parse_param(p, len, &q, &seen))
            return -EINVAL;
        p += len;
        if (*p == '&')
            p++;
    }
    if (q.has_part && !q.has_msn) /* 6.2.5.2 */
        return -EINVAL;
    *out = q;
    return 0;
}
