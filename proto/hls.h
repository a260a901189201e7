/* HLS playlist text (RFC 8216bis): master and media playlists with the Low-Latency tags, and the
 * parsing of the names and query strings players request.
 *
 * Pure: the caller describes the window (segments, their parts, discontinuities) and gets text
 * back in an hls_buf_t. Names are fixed patterns, so nothing here stores URIs:
 *   init-<init id>.mp4          initialisation segment (EXT-X-MAP)
 *   seg-<msn>.m4s               media segment
 *   part-<msn>.<index>.m4s      partial segment <index> (0-based) of segment <msn>
 *   media.m3u8                  media playlist of a rendition; master.m3u8 lists renditions */
#ifndef PROTO_HLS_H
#define PROTO_HLS_H

#include <stddef.h>
#include <stdint.h>

/* Growable text buffer with a hard cap; on overflow or allocation failure err is set (-ENOSPC,
 * -ENOMEM) and later appends do nothing, so a sequence of appends needs one check at the end. */
typedef struct hls_buf_s {
    char *data; /* NUL-terminated while err == 0 */
    size_t len, cap, max;
    int err;
} hls_buf_t;

void hls_buf_init(hls_buf_t *b, size_t max);
void hls_buf_printf(hls_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hls_buf_free(hls_buf_t *b);

typedef struct hls_variant_s {
    const char *uri;    /* relative to the master playlist, e.g. "720p/media.m3u8" */
    int bandwidth;      /* peak bits per second, audio included */
    int avg_bandwidth;  /* AVERAGE-BANDWIDTH; 0 leaves it out */
    const char *codecs; /* RFC 6381, e.g. "avc1.64001f,mp4a.40.2" */
    int width, height;
    double frame_rate;
} hls_variant_t;

/* Master playlist: EXT-X-INDEPENDENT-SEGMENTS and one EXT-X-STREAM-INF per variant, in order. */
int hls_write_master(hls_buf_t *out, const hls_variant_t *v, size_t n);

typedef struct hls_part_s {
    double duration; /* seconds */
    int independent; /* starts with a keyframe: INDEPENDENT=YES */
} hls_part_t;

typedef struct hls_segment_s {
    uint64_t msn;
    double duration;   /* seconds; meaningful when complete */
    int complete;      /* 0 only for the last segment, still being filled */
    int64_t pdt_ms;    /* EXT-X-PROGRAM-DATE-TIME of its first frame, Unix milliseconds */
    int discontinuity; /* an EXT-X-DISCONTINUITY precedes it */
    int init_id;       /* the init-<id>.mp4 it needs; an EXT-X-MAP is written when it changes */
    const hls_part_t *parts; /* all of its parts so far; which are listed is decided here */
    size_t nparts;
} hls_segment_t;

typedef struct hls_report_s {
    const char *uri; /* another rendition's playlist, relative, e.g. "../360p/media.m3u8" */
    uint64_t last_msn;
    int last_part; /* -1: no part of last_msn yet */
} hls_report_t;

/* A client attribute of a date range, X-<name> (4.4.5.1): a quoted-string when str is set, else
 * the number num (>= 0), a decimal-floating-point: whole, or with ms set, num thousandths written
 * as seconds with three decimals ("12.345"). */
typedef struct hls_attr_s {
    const char *name; /* after "X-": upper-case letters, digits and '-' (4.2) */
    const char *str;
    int64_t num;
    int ms;
} hls_attr_t;

/* How a date range ends (4.4.5.1). */
typedef enum hls_range_end_e {
    HLS_END_ON_NEXT = 0, /* END-ON-NEXT=YES: until the next one of its class begins */
    HLS_END_OPEN,        /* not known yet: neither END-DATE nor DURATION */
    HLS_END_DATE,        /* END-DATE and DURATION, from end_ms */
} hls_range_end_t;

/* An EXT-X-DATERANGE (4.4.5.1), with a CLASS: by default it lasts until the next one of its
 * class begins (a change of what the picture shows, from the frame where it first shows). */
typedef struct hls_daterange_s {
    const char *id;   /* unique among the playlist's date ranges */
    const char *cls;  /* CLASS, e.g. "com.shopcast.product" */
    int64_t start_ms; /* START-DATE, Unix milliseconds */
    const hls_attr_t *attrs;
    size_t nattrs;
    hls_range_end_t end;
    int64_t end_ms; /* HLS_END_DATE: END-DATE, Unix milliseconds, >= start_ms */
} hls_daterange_t;

typedef struct hls_media_s {
    int target_duration;       /* EXT-X-TARGETDURATION, whole seconds (>= every EXTINF rounded) */
    double part_target;        /* EXT-X-PART-INF PART-TARGET, seconds; 0 = not low latency */
    double segment_target;     /* seconds from one forced keyframe to the next; 0 = not planned */
    uint64_t disc_seq;         /* EXT-X-DISCONTINUITY-SEQUENCE of segs[0] */
    const hls_segment_t *segs; /* oldest first; msn consecutive */
    size_t nsegs;
    int ended; /* EXT-X-ENDLIST: no more segments will come */
    int skip;  /* the client asked _HLS_skip=YES: a delta update */
    const hls_report_t *reports;
    size_t nreports;
    const hls_daterange_t *ranges; /* ordered by start_ms; which are listed is decided here */
    size_t nranges;
} hls_media_t;

/* Media playlist. With part_target > 0 it carries EXT-X-SERVER-CONTROL (CAN-BLOCK-RELOAD=YES,
 * PART-HOLD-BACK = 3 x part target, CAN-SKIP-UNTIL = 6 x target duration), EXT-X-PART-INF, the
 * EXT-X-PART lines near the live edge (see HLS_PART_SEGMENTS), an EXT-X-PRELOAD-HINT for the part
 * the packager makes next unless ended (see hls_segment_full), and the rendition reports.
 * With skip set, segments older than CAN-SKIP-UNTIL from the end are replaced by
 * EXT-X-SKIP:SKIPPED-SEGMENTS=N (section 4.4.5.2), and EXT-X-MAP is repeated after it.
 * Every segment carries EXT-X-PROGRAM-DATE-TIME (but see below). Date ranges are listed when they
 * start within the playlist (from segs[0]'s date to the end of what it lists, so one appears with
 * the part that holds its first frame), plus the last one that starts before it, which still covers
 * the first segment; each is written with the first segment written that ends after its start,
 * skipped or not (a delta update carries them all: no CAN-SKIP-DATERANGES). The segment being
 * filled goes without its EXT-X-PROGRAM-DATE-TIME while a date range starts in it (hls.js 1.6
 * throws otherwise; see hls.c). Returns 0 or the buffer's error; -EINVAL when the input is
 * invalid. */
int hls_write_media(hls_buf_t *out, const hls_media_t *m);

/* Parts are listed for the last HLS_PART_SEGMENTS parent segments only, counting the one that a
 * preload hint after a complete last segment opens, and never for a segment that starts more
 * than HLS_PART_WINDOW_TDS target durations before the playlist's end (4.4.4.9, 6.2.2: "three
 * Target Durations from the end"; strict parsers such as hls-parser count it in segments). A
 * part must stay downloadable for HLS_PART_WINDOW_TDS target durations after it left. */
enum { HLS_PART_SEGMENTS = 3, HLS_PART_WINDOW_TDS = 3 };

/* Does a segment still being filled, whose parts so far last parts_s seconds, end there? Its
 * end is the next forced keyframe, segment_target after its start: when less than half a part
 * target is left, the next part opens the next segment, so the preload hint names part 0 of the
 * next segment rather than one that would never come. 0 when segment_target is 0. */
int hls_segment_full(double parts_s, double segment_target, double part_target);

typedef enum hls_name_type_e {
    HLS_NAME_MASTER = 1, /* master.m3u8 */
    HLS_NAME_MEDIA,      /* media.m3u8 */
    HLS_NAME_INIT,       /* init-<a>.mp4 */
    HLS_NAME_SEGMENT,    /* seg-<msn>.m4s */
    HLS_NAME_PART,       /* part-<msn>.<b>.m4s */
} hls_name_type_t;

typedef struct hls_name_s {
    hls_name_type_t type;
    uint64_t a; /* init id or msn */
    int b;      /* part index */
} hls_name_t;

/* Parses the last path element a player asked for. Numbers are plain decimal without sign or
 * leading zeros (so one resource has exactly one name), at most 18 digits for msn and 4 for a
 * part index. Returns 0 or -EINVAL. */
int hls_parse_name(const char *name, hls_name_t *out);

typedef struct hls_query_s {
    int has_msn;
    uint64_t msn; /* _HLS_msn */
    int has_part;
    int part; /* _HLS_part */
    int skip; /* _HLS_skip=YES (1) or v2 (2) */
} hls_query_t;

/* Parses a query string ("a=b&c=d", no leading '?'; NULL or "" is an empty query). Unknown
 * parameters are ignored; a malformed value of a known one, _HLS_part without _HLS_msn, or a
 * repeated known parameter is -EINVAL (RFC 8216bis 6.2.5.2: such a request is a Bad Request). */
int hls_parse_query(const char *query, hls_query_t *out);

#endif
