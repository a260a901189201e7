/* The product chapters of a recorded session, from the card's stamps, placed on its VOD timeline.
 *
 * Invariants: chapters are in the order they began and never overlap; only the last may be open
 * (end_pdt < 0). Placing is a pure function of the chapters and the timeline, so a chapter's
 * number, start and (once known) end never change as the VOD grows: a playlist reloaded later
 * repeats the same date range, with its END-DATE added (RFC 8216bis 4.4.5.1). */
#include "relay/media/chapters.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <libavutil/avstring.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct chapter_s {
    char product[64]; /* as stamped: no '"' or control characters (compose.c) */
    char name[RL_STAMP_NAME_MAX + 1];
    int64_t start_pdt, end_pdt; /* end_pdt < 0: still pinned */
} chapter_t;

struct rl_chapters_s {
    chapter_t *ch;
    size_t n, cap;
};

rl_chapters_t *rl_chapters_new(void)
{
    return calloc(1, sizeof(rl_chapters_t));
}

void rl_chapters_free(rl_chapters_t **pc)
{
    if (!*pc)
        return;
    free((*pc)->ch);
    free(*pc);
    *pc = NULL;
}

size_t rl_chapters_count(const rl_chapters_t *c)
{
    return c->n;
}

static int open_chapter(rl_chapters_t *c, const rl_stamp_t *s)
{
    chapter_t *grown;

    if (c->n == RL_CHAPTERS_MAX)
        return -ENOSPC;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        if (!(grown = realloc(c->ch, cap * sizeof(*grown))))
            return -ENOMEM;
        c->ch = grown;
        c->cap = cap;
    }
    grown = &c->ch[c->n++];
    av_strlcpy(grown->product, s->product, sizeof(grown->product));
    av_strlcpy(grown->name, s->name, sizeof(grown->name));
    grown->start_pdt = s->pdt_ms;
    grown->end_pdt = -1;
    return 1;
}

int rl_chapters_stamp(rl_chapters_t *c, const rl_stamp_t *s)
{
    chapter_t *cur = c->n && c->ch[c->n - 1].end_pdt < 0 ? &c->ch[c->n - 1] : NULL;

    if (cur && s->pinned && !strcmp(cur->product, s->product))
        return 0; /* the same product: its price, sold count or flash sale changed */
    if (cur)      /* a date never goes back within a chapter, even if the clock did */
        cur->end_pdt = s->pdt_ms > cur->start_pdt ? s->pdt_ms : cur->start_pdt;
    if (!s->pinned)
        return cur != NULL;
    return open_chapter(c, s);
}

/* Milliseconds from the timeline's first frame to the frame dated pdt: the segment that holds it
 * gives the offset (a segment's frames follow its date; a date between two segments, across a
 * new muxer's jump of the clock, is the later one's start). -1 when pdt is at or past the end,
 * unless the timeline has ended: then its end. Seconds add up as EXTINF does, in double, so
 * rounding does not build up over a long show. */
static int64_t timeline_ms(const rl_timeline_t *t, int64_t pdt)
{
    double at = 0;

    if (!t->nsegs)
        return -1;
    for (size_t i = 0; i < t->nsegs; i++) {
        const hls_segment_t *s = &t->segs[i];
        int64_t in = pdt - s->pdt_ms, dur = llround(s->duration * 1000);

        if (i + 1 < t->nsegs && pdt >= t->segs[i + 1].pdt_ms) {
            at += s->duration;
            continue;
        }
        if (in < 0)
            return llround(at * 1000); /* before the first, or in a gap */
        if (in < dur)
            return llround(at * 1000) + in;
        if (i + 1 < t->nsegs)
            return llround((at + s->duration) * 1000);
        return t->ended ? llround((at + s->duration) * 1000) : -1;
    }
    return -1;
}

static int64_t timeline_end_pdt(const rl_timeline_t *t)
{
    const hls_segment_t *last = &t->segs[t->nsegs - 1];

    return last->pdt_ms + llround(last->duration * 1000);
}

/* ch on t; 0, or -1 when it is not on it (yet) or lasts no time there. */
static int place(const chapter_t *ch, const rl_timeline_t *t, rl_chapter_t *out)
{
    rl_timeline_t within = { t->segs, t->nsegs, 0 }; /* not clamped to the end */
    int64_t first = t->nsegs ? t->segs[0].pdt_ms : 0, end = -1;

    *out = (rl_chapter_t){ .product = ch->product, .name = ch->name };
    if ((out->start_ms = timeline_ms(t, ch->start_pdt)) < 0)
        return -1;
    out->start_pdt_ms = ch->start_pdt > first ? ch->start_pdt : first;
    if (ch->end_pdt >= 0 && (end = timeline_ms(&within, ch->end_pdt)) >= 0) {
        out->end_pdt_ms = ch->end_pdt;
    } else if (t->ended) { /* still pinned when the session ended, or ended after its end */
        end = timeline_ms(t, INT64_MAX);
        out->end_pdt_ms = timeline_end_pdt(t);
    }
    if (end >= 0) {
        out->ends = 1;
        out->end_ms = end;
        if (out->end_pdt_ms < out->start_pdt_ms)
            out->end_pdt_ms = out->start_pdt_ms;
    }
    return out->ends && end <= out->start_ms ? -1 : 0;
}

size_t rl_chapters_place(const rl_chapters_t *c, const rl_timeline_t *t, rl_chapter_t *out,
                         size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < c->n && n < max; i++) {
        if (place(&c->ch[i], t, &out[n]) < 0)
            continue;
        /* playlists list date ranges by START-DATE (proto/hls.c): one dated before the one
         * before it (the clock went back) is left out rather than refused */
        if (n && out[n].start_pdt_ms < out[n - 1].start_pdt_ms)
            continue;
        out[n++].n = i + 1;
    }
    return n;
}

void rl_chapter_range(const rl_chapter_t *ch, hls_daterange_t *r, rl_chapter_range_t *text)
{
    snprintf(text->id, sizeof(text->id), "chapter-%zu", ch->n);
    text->attrs[0] = (hls_attr_t){ "PRODUCT", ch->product, 0, 0 };
    text->attrs[1] = (hls_attr_t){ "START-S", NULL, ch->start_ms, 1 };
    *r = (hls_daterange_t){ text->id,
                            RL_CHAPTER_CLASS,
                            ch->start_pdt_ms,
                            text->attrs,
                            2,
                            ch->ends ? HLS_END_DATE : HLS_END_OPEN,
                            ch->ends ? ch->end_pdt_ms : 0 };
}

/* A name as JSON text: the stamp keeps at most RL_STAMP_NAME_MAX bytes, which may have cut a
 * character short; what is left of it goes. */
static json_t *utf8_string(const char *s)
{
    size_t n = strlen(s);
    json_t *j = NULL;

    for (size_t cut = 0; !j && cut < 4 && cut <= n; cut++)
        j = json_stringn(s, n - cut);
    return j ? j : json_string("");
}

static json_t *seconds(int64_t ms)
{
    return json_real((double)ms / 1000);
}

static json_t *chapter_json(const rl_chapter_t *ch)
{
    char id[32];

    snprintf(id, sizeof(id), "chapter-%zu", ch->n);
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:I, s:o}", "id", id, "product", ch->product,
                     "name", utf8_string(ch->name), "start_s", seconds(ch->start_ms), "end_s",
                     ch->ends ? seconds(ch->end_ms) : json_null(), "start_pdt_ms",
                     (json_int_t)ch->start_pdt_ms, "end_pdt_ms",
                     ch->ends ? json_integer(ch->end_pdt_ms) : json_null());
}

char *rl_chapters_json(const rl_chapters_t *c, const rl_timeline_t *t)
{
    rl_chapter_t *placed = c->n ? calloc(c->n, sizeof(*placed)) : NULL;
    size_t n = placed ? rl_chapters_place(c, t, placed, c->n) : 0;
    json_t *arr = json_array(), *doc;
    char *text = NULL;

    if (c->n && !placed)
        goto fail;
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, chapter_json(&placed[i]));
    /* seconds with up to 15 significant digits: 12.345, not 12.3450000000000006 */
    if ((doc = json_pack("{s:o, s:b}", "chapters", arr, "ended", t->ended)))
        text = json_dumps(doc, JSON_REAL_PRECISION(15) | JSON_COMPACT);
    arr = NULL;
    json_decref(doc);
fail:
    json_decref(arr);
    free(placed);
    return text;
}
