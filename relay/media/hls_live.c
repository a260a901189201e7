/* The live HLS window of one stream: init segments, segments and parts in RAM, per rung.
 *
 * Invariants (network thread side): in every rung, segs[] is ordered by msn without gaps; only
 * the last segment may be incomplete; a complete segment owns the concatenation of its parts; part
 * data is kept only for segments near the live edge (where playlists list parts). */
#include "relay/media/hls_live.h"

#include <errno.h>
#include <inttypes.h>
#include <libavutil/avstring.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay/core/clock.h"
#include "proto/status.h"
#include "relay/media/transcode.h"

#define MAX_INITS 4
#define LATENCIES 128

typedef struct part_s {
    double duration;
    int independent;
    rl_blob_t *data;
} part_t;

typedef struct seg_s {
    uint64_t msn;
    double duration;
    int complete, discontinuity, init_id;
    int64_t pdt_ms;
    part_t *parts;
    int nparts, cap;
    rl_blob_t *data;
} seg_t;

typedef struct init_s {
    int id;
    rl_blob_t *data;
} init_t;

typedef struct rung_s {
    rl_hls_rung_t desc;
    int active; /* listed in the master playlist */
    seg_t *segs;
    int nsegs, cap;
    uint64_t disc_seq; /* discontinuity sequence number of segs[0] */
    init_t inits[MAX_INITS];
    int ninits;
    float ready_ms[LATENCIES]; /* part-ready latency of recent parts */
    unsigned nready;
    float stage_ms[RL_HLS_STAGES][LATENCIES]; /* and its stages, of recent parts that have them */
    unsigned nstaged;
    rl_hls_ready_t ready;   /* and of all of them (not cumulative here: one bucket per part) */
    rl_blob_t *playlist[3]; /* rendered text by _HLS_skip (none, YES, v2), until the next change */
} rung_t;

typedef enum { EV_RUNGS, EV_INIT, EV_PART, EV_SEGMENT, EV_END, EV_STAMP } ev_type_t;

typedef struct ev_s {
    struct ev_s *next;
    ev_type_t type;
    int rung, init_id, n;
    uint64_t msn;
    double duration;
    rl_part_info_t part;
    rl_stamp_t stamp;
    rl_blob_t *data;
    rl_hls_rung_t rungs[RL_MAX_RUNGS];
} ev_t;

struct rl_hls_s {
    atomic_int refs;
    char id[32];
    pthread_mutex_t lock;
    ev_t *head, **tail;
    /* network thread only below */
    rung_t rungs[RL_MAX_RUNGS];
    int nrungs; /* slots in use; inactive ones keep serving what they have */
    double part_target;
    int target_duration, segment_ms, window_s, ended;
    double ended_at; /* rl_now() when the worker's end was applied */
    uint64_t next_msn;
    int next_init_id;
    rl_blob_t *master;                /* rendered master playlist, until the next change */
    rl_stamp_t stamps[RL_HLS_STAMPS]; /* by seq, oldest first */
    int nstamps;
    uint64_t next_stamp_seq;
    rl_hls_news_t news[RL_HLS_NEWS]; /* what the last drain made servable */
    int nnews;
};

rl_hls_t *rl_hls_new(const char *stream_id, int window_s, int segment_ms)
{
    rl_hls_t *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    atomic_init(&h->refs, 1);
    av_strlcpy(h->id, stream_id, sizeof(h->id));
    pthread_mutex_init(&h->lock, NULL);
    h->tail = &h->head;
    h->window_s = window_s > 0 ? window_s : 30;
    h->target_duration = (segment_ms + 999) / 1000;
    h->segment_ms = segment_ms;
    /* Wall-clock seconds: numbering keeps increasing across restarts, so a cache in front of us
     * never sees one URI with two contents. */
    h->next_msn = (uint64_t)time(NULL);
    h->next_init_id = (int)(time(NULL) % 1000000000);
    h->next_stamp_seq = (uint64_t)rl_wall_ms(); /* like msn: increases across restarts */
    return h;
}

rl_hls_t *rl_hls_ref(rl_hls_t *h)
{
    atomic_fetch_add(&h->refs, 1);
    return h;
}

static void free_seg(seg_t *s)
{
    for (int i = 0; i < s->nparts; i++)
        rl_blob_unref(&s->parts[i].data);
    free(s->parts);
    rl_blob_unref(&s->data);
}

static void free_events(ev_t *e)
{
    while (e) {
        ev_t *next = e->next;
        rl_blob_unref(&e->data);
        free(e);
        e = next;
    }
}

/* Rendered playlists describe the window as it was: any change makes them stale. */
static void forget_playlists(rl_hls_t *h)
{
    rl_blob_unref(&h->master);
    for (int r = 0; r < h->nrungs; r++)
        for (int k = 0; k < 3; k++)
            rl_blob_unref(&h->rungs[r].playlist[k]);
}

/* A rung's media: segments, parts and inits; its description and numbering stay. */
static void free_media(rung_t *r)
{
    for (int i = 0; i < r->nsegs; i++)
        free_seg(&r->segs[i]);
    free(r->segs);
    r->segs = NULL;
    r->nsegs = r->cap = 0;
    for (int i = 0; i < r->ninits; i++)
        rl_blob_unref(&r->inits[i].data);
    r->ninits = 0;
}

void rl_hls_unref(rl_hls_t **ph)
{
    rl_hls_t *h = *ph;

    *ph = NULL;
    if (!h || atomic_fetch_sub(&h->refs, 1) != 1)
        return;
    free_events(h->head);
    forget_playlists(h);
    for (int r = 0; r < h->nrungs; r++)
        free_media(&h->rungs[r]);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* ---- worker side ---- */

static void post(rl_hls_t *h, ev_t *e)
{
    pthread_mutex_lock(&h->lock);
    *h->tail = e;
    h->tail = &e->next;
    pthread_mutex_unlock(&h->lock);
}

static ev_t *new_ev(ev_type_t type, rl_blob_t *data)
{
    ev_t *e = calloc(1, sizeof(*e));

    if (!e) {
        rl_blob_unref(&data);
        return NULL;
    }
    e->type = type;
    e->data = data;
    return e;
}

void rl_hls_post_rungs(rl_hls_t *h, const rl_hls_rung_t *rungs, int n, double part_target)
{
    ev_t *e = new_ev(EV_RUNGS, NULL);

    if (!e)
        return;
    e->n = n < RL_MAX_RUNGS ? n : RL_MAX_RUNGS;
    memcpy(e->rungs, rungs, (size_t)e->n * sizeof(*rungs));
    e->duration = part_target;
    post(h, e);
}

void rl_hls_post_init(rl_hls_t *h, int rung, int init_id, rl_blob_t *data)
{
    ev_t *e = new_ev(EV_INIT, data);

    if (!e)
        return;
    e->rung = rung;
    e->init_id = init_id;
    post(h, e);
}

void rl_hls_post_part(rl_hls_t *h, const rl_part_info_t *info, rl_blob_t *data)
{
    ev_t *e = new_ev(EV_PART, data);

    if (!e)
        return;
    e->rung = info->rung;
    e->part = *info;
    post(h, e);
}

void rl_hls_post_segment(rl_hls_t *h, int rung, uint64_t msn, double duration)
{
    ev_t *e = new_ev(EV_SEGMENT, NULL);

    if (!e)
        return;
    e->rung = rung;
    e->msn = msn;
    e->duration = duration;
    post(h, e);
}

void rl_hls_post_end(rl_hls_t *h)
{
    ev_t *e = new_ev(EV_END, NULL);

    if (e)
        post(h, e);
}

void rl_hls_post_stamp(rl_hls_t *h, const rl_stamp_t *s)
{
    ev_t *e = new_ev(EV_STAMP, NULL);

    if (!e)
        return;
    e->stamp = *s;
    post(h, e);
}

/* ---- network thread: applying posts ---- */

static rung_t *rung_by_name(rl_hls_t *h, const char *name)
{
    for (int i = 0; i < h->nrungs; i++)
        if (!strcmp(h->rungs[i].desc.name, name))
            return &h->rungs[i];
    return NULL;
}

/* Rungs are matched by name: a rung that stays in the ladder keeps its window. Posted rung
 * indexes count the active rungs in the order of the latest EV_RUNGS. */
static void apply_rungs(rl_hls_t *h, ev_t *e)
{
    for (int i = 0; i < h->nrungs; i++)
        h->rungs[i].active = 0;
    for (int i = 0; i < e->n; i++) {
        rung_t *r = rung_by_name(h, e->rungs[i].name);
        if (!r && h->nrungs < RL_MAX_RUNGS)
            r = &h->rungs[h->nrungs++];
        if (!r)
            continue;
        r->desc = e->rungs[i];
        r->active = 1;
    }
    h->part_target = e->duration;
}

/* The i-th active rung, in the order the worker posted them. */
static rung_t *active_rung(rl_hls_t *h, int i)
{
    for (int k = 0; k < h->nrungs; k++)
        if (h->rungs[k].active && i-- == 0)
            return &h->rungs[k];
    return NULL;
}

static const rung_t *active_rung_c(const rl_hls_t *h, int i)
{
    return active_rung((rl_hls_t *)h, i); /* only reads: the const is given back */
}

static void apply_init(rung_t *r, ev_t *e)
{
    init_t *slot = &r->inits[r->ninits < MAX_INITS ? r->ninits++ : 0];

    if (r->ninits == MAX_INITS && slot == &r->inits[0]) { /* oldest out */
        rl_blob_unref(&r->inits[0].data);
        memmove(r->inits, r->inits + 1, (MAX_INITS - 1) * sizeof(*slot));
        slot = &r->inits[MAX_INITS - 1];
    }
    slot->id = e->init_id;
    slot->data = e->data;
    e->data = NULL;
}

static void complete_seg(seg_t *s, double duration)
{
    size_t len = 0, off = 0;

    if (s->complete)
        return;
    s->complete = 1;
    s->duration = duration;
    for (int i = 0; i < s->nparts; i++)
        len += s->parts[i].data ? s->parts[i].data->len : 0;
    if (!(s->data = rl_blob_new(len)))
        return;
    for (int i = 0; i < s->nparts; i++)
        if (s->parts[i].data) {
            memcpy(s->data->data + off, s->parts[i].data->data, s->parts[i].data->len);
            off += s->parts[i].data->len;
        }
}

/* A later worker's packager (the stream came back on air) starts with a new init and a new
 * timeline without knowing what its window already holds: that is a discontinuity too. */
static int continues(const seg_t *prev, const rl_part_info_t *p)
{
    return prev->msn + 1 == p->msn && prev->init_id == p->init_id;
}

static double parts_duration(const seg_t *s)
{
    double d = 0;

    for (int i = 0; i < s->nparts; i++)
        d += s->parts[i].duration;
    return d;
}

static seg_t *new_seg(rung_t *r, const rl_part_info_t *p)
{
    seg_t *grown;

    if (r->nsegs && !r->segs[r->nsegs - 1].complete) /* its end never came: close it */
        complete_seg(&r->segs[r->nsegs - 1], parts_duration(&r->segs[r->nsegs - 1]));
    if (r->nsegs == r->cap) {
        int cap = r->cap ? r->cap * 2 : 64;
        if (!(grown = realloc(r->segs, (size_t)cap * sizeof(*grown))))
            return NULL;
        r->segs = grown;
        r->cap = cap;
    }
    grown = &r->segs[r->nsegs++];
    *grown = (seg_t){ .msn = p->msn,
                      .pdt_ms = p->pdt_ms,
                      .init_id = p->init_id,
                      .discontinuity = p->discontinuity ||
                                       (r->nsegs > 1 && !continues(&r->segs[r->nsegs - 2], p)) };
    return grown;
}

const double rl_hls_ready_le_ms[RL_HLS_READY_BUCKETS] = { 10, 25, 50, 100, 200, 400, 800 };

const char *const rl_hls_stage_names[RL_HLS_STAGES] = { "queue", "work", "handoff" };

static void part_ready(rung_t *r, const rl_part_info_t *p, int64_t now_us)
{
    double ms = (double)(now_us - p->arrival_us) / 1000;
    int k = 0;

    if (p->dequeued_us >= p->arrival_us && p->cut_us >= p->dequeued_us && now_us >= p->cut_us) {
        unsigned j = r->nstaged++ % LATENCIES;
        r->stage_ms[RL_HLS_STAGE_QUEUE][j] = (float)(p->dequeued_us - p->arrival_us) / 1000;
        r->stage_ms[RL_HLS_STAGE_WORK][j] = (float)(p->cut_us - p->dequeued_us) / 1000;
        r->stage_ms[RL_HLS_STAGE_HANDOFF][j] = (float)(now_us - p->cut_us) / 1000;
    }
    r->ready_ms[r->nready++ % LATENCIES] = (float)ms;
    while (k < RL_HLS_READY_BUCKETS && ms > rl_hls_ready_le_ms[k])
        k++;
    if (k < RL_HLS_READY_BUCKETS)
        r->ready.bucket[k]++;
    r->ready.count++;
    r->ready.sum_ms += ms;
}

static void apply_part(rl_hls_t *h, rung_t *r, ev_t *e)
{
    seg_t *s = r->nsegs ? &r->segs[r->nsegs - 1] : NULL;
    part_t *grown;

    if (!s || s->msn != e->part.msn || s->complete)
        if (!(s = new_seg(r, &e->part)))
            return;
    if (s->nparts == s->cap) {
        int cap = s->cap ? s->cap * 2 : 8;
        if (!(grown = realloc(s->parts, (size_t)cap * sizeof(*grown))))
            return;
        s->parts = grown;
        s->cap = cap;
    }
    s->parts[s->nparts++] = (part_t){ e->part.duration, e->part.independent, e->data };
    if (e->part.arrival_us) /* from the source packet's arrival to now, when it can be fetched */
        part_ready(r, &e->part, rl_now_us());
    e->data = NULL;
    if (e->part.msn >= h->next_msn)
        h->next_msn = e->part.msn + 1;
    if (e->part.init_id >= h->next_init_id)
        h->next_init_id = e->part.init_id + 1;
    h->ended = 0;
}

static double window_duration(const rung_t *r)
{
    double d = 0;

    for (int i = 0; i < r->nsegs; i++)
        d += r->segs[i].duration;
    return d;
}

/* Drops segments past the window, and part data once playlists have not listed it for
 * HLS_PART_WINDOW_TDS target durations (RFC 8216bis 6.2.2: it must stay downloadable that long).
 * A segment's parts are listed while it starts within that many target durations of the end,
 * and age counts from its start; one more target duration covers the segment being filled. */
static void trim(rl_hls_t *h, rung_t *r)
{
    double keep_parts = (2.0 * HLS_PART_WINDOW_TDS + 1) * h->target_duration, age = 0;

    while (r->nsegs > 2 && window_duration(r) - r->segs[0].duration > h->window_s) {
        r->disc_seq += r->segs[1].discontinuity;
        free_seg(&r->segs[0]);
        memmove(r->segs, r->segs + 1, (size_t)--r->nsegs * sizeof(*r->segs));
    }
    for (int i = r->nsegs - 1; i >= 0; i--) {
        age += r->segs[i].duration;
        if (age <= keep_parts || !r->segs[i].complete)
            continue;
        for (int k = 0; k < r->segs[i].nparts; k++)
            rl_blob_unref(&r->segs[i].parts[k].data);
    }
}

static void apply_segment(rl_hls_t *h, rung_t *r, ev_t *e)
{
    for (int i = r->nsegs - 1; i >= 0; i--)
        if (r->segs[i].msn == e->msn) {
            complete_seg(&r->segs[i], e->duration);
            break;
        }
    trim(h, r);
}

/* Stamps come in seq order from one worker; one from a worker that was still finishing when the
 * next started (an older seq) is dropped rather than listed out of order. Date ranges must be in
 * date order too: a PROGRAM-DATE-TIME that went back (re-anchored on a new publisher) dates the
 * stamp with the one before it. */
static void apply_stamp(rl_hls_t *h, const rl_stamp_t *s)
{
    const rl_stamp_t *last = h->nstamps ? &h->stamps[h->nstamps - 1] : NULL;
    rl_stamp_t *kept;

    if (last && s->seq <= last->seq)
        return;
    if (h->nstamps == RL_HLS_STAMPS)
        memmove(h->stamps, h->stamps + 1, (size_t)--h->nstamps * sizeof(*h->stamps));
    kept = &h->stamps[h->nstamps++];
    *kept = *s;
    if (kept > h->stamps && kept->pdt_ms < kept[-1].pdt_ms)
        kept->pdt_ms = kept[-1].pdt_ms;
    if (kept->pdt_ms < 0)
        kept->pdt_ms = 0;
    kept->product[sizeof(kept->product) - 1] = '\0';
    if (s->seq >= h->next_stamp_seq)
        h->next_stamp_seq = s->seq + 1;
}

static void add_news(rl_hls_t *h, const ev_t *e, int index, double duration, int independent)
{
    if (h->nnews == RL_HLS_NEWS) {
        memmove(h->news, h->news + 1, sizeof(h->news[0]) * (RL_HLS_NEWS - 1));
        h->nnews--;
    }
    h->news[h->nnews++] = (rl_hls_news_t){ e->rung, e->type == EV_PART ? e->part.msn : e->msn,
                                           index, duration, independent };
}

static void apply(rl_hls_t *h, ev_t *e)
{
    rung_t *r = e->type == EV_INIT || e->type == EV_PART || e->type == EV_SEGMENT
                    ? active_rung(h, e->rung)
                    : NULL;

    switch (e->type) {
    case EV_RUNGS: apply_rungs(h, e); break;
    case EV_INIT:
        if (r)
            apply_init(r, e);
        break;
    case EV_PART:
        if (r) {
            apply_part(h, r, e);
            add_news(h, e, e->part.index, e->part.duration, e->part.independent);
        }
        break;
    case EV_SEGMENT:
        if (r) {
            apply_segment(h, r, e);
            add_news(h, e, -1, e->duration, 0);
        }
        break;
    case EV_END:
        h->ended = 1;
        h->ended_at = rl_now();
        break;
    case EV_STAMP: apply_stamp(h, &e->stamp); break;
    }
}

int rl_hls_drain(rl_hls_t *h)
{
    ev_t *list, *e;

    pthread_mutex_lock(&h->lock);
    list = h->head;
    h->head = NULL;
    h->tail = &h->head;
    pthread_mutex_unlock(&h->lock);
    if (!list)
        return 0;
    h->nnews = 0;
    for (e = list; e; e = e->next)
        apply(h, e);
    free_events(list);
    forget_playlists(h);
    return 1;
}

/* RFC 8216bis 4.4.3.3: removing an EXT-X-DISCONTINUITY tag advances the
 * DISCONTINUITY-SEQUENCE; whatever comes next starts after a discontinuity of its own. */
int rl_hls_expire(rl_hls_t *h, double keep_s)
{
    int released = 0;

    if (!h->ended || rl_now() - h->ended_at < keep_s)
        return 0;
    for (int i = 0; i < h->nrungs; i++) {
        rung_t *r = &h->rungs[i];
        if (!r->nsegs && !r->ninits)
            continue;
        for (int k = 1; k < r->nsegs; k++)
            r->disc_seq += (uint64_t)r->segs[k].discontinuity;
        r->disc_seq += r->nsegs > 0;
        free_media(r);
        released = 1;
    }
    if (released)
        forget_playlists(h);
    return released;
}

uint64_t rl_hls_next_msn(const rl_hls_t *h)
{
    return h->next_msn;
}

int rl_hls_next_init_id(const rl_hls_t *h)
{
    return h->next_init_id;
}

uint64_t rl_hls_next_stamp_seq(const rl_hls_t *h)
{
    return h->next_stamp_seq;
}

size_t rl_hls_stamps(const rl_hls_t *h, uint64_t after_seq, const rl_stamp_t **first)
{
    int i = h->nstamps;

    while (i > 0 && h->stamps[i - 1].seq > after_seq)
        i--;
    *first = h->stamps + i;
    return (size_t)(h->nstamps - i);
}

int rl_hls_rung_ready(const rl_hls_t *h, int i, rl_hls_ready_t *out)
{
    const rung_t *r = active_rung_c(h, i);
    uint64_t below = 0;

    if (!r)
        return -ENOENT;
    *out = r->ready;
    for (int k = 0; k < RL_HLS_READY_BUCKETS; k++)
        out->bucket[k] = below += r->ready.bucket[k];
    return 0;
}

size_t rl_hls_news(const rl_hls_t *h, const rl_hls_news_t **first)
{
    *first = h->news;
    return (size_t)h->nnews;
}

int rl_hls_target_duration(const rl_hls_t *h)
{
    return h->target_duration;
}

int rl_hls_ended(const rl_hls_t *h)
{
    return h->ended;
}

/* ---- network thread: serving ---- */

/* The text of b as a blob, in *out; frees b. */
static int to_blob(hls_buf_t *b, int rc, rl_blob_t **out)
{
    if (rc >= 0 && !(*out = rl_blob_copy(b->data, b->len)))
        rc = -ENOMEM;
    hls_buf_free(b);
    return rc < 0 ? rc : 0;
}

int rl_hls_write_master(hls_buf_t *out, const rl_hls_rung_t *rungs, int n)
{
    hls_variant_t v[RL_MAX_RUNGS];
    char uris[RL_MAX_RUNGS][40];

    n = n < RL_MAX_RUNGS ? n : RL_MAX_RUNGS;
    for (int i = 0; i < n; i++) {
        const rl_hls_rung_t *d = &rungs[i];
        snprintf(uris[i], sizeof(uris[i]), "%s/media.m3u8", d->name);
        v[i] = (hls_variant_t){ uris[i],  d->bandwidth, d->avg_bandwidth, d->codecs,
                                d->width, d->height,    d->frame_rate };
    }
    return hls_write_master(out, v, (size_t)n);
}

static int render_master(rl_hls_t *h, rl_blob_t **out)
{
    rl_hls_rung_t active[RL_MAX_RUNGS];
    hls_buf_t b;
    int n = 0;

    for (int i = 0; i < h->nrungs; i++) {
        if (!h->rungs[i].active)
            continue;
        if (!h->rungs[i].nsegs) /* list the ladder whole, once every rung has media */
            return h->ended ? -ENOENT : RL_EAGAIN;
        active[n++] = h->rungs[i].desc;
    }
    if (!n)
        return h->ended ? -ENOENT : RL_EAGAIN;
    hls_buf_init(&b, 1 << 16);
    return to_blob(&b, rl_hls_write_master(&b, active, n), out);
}

int rl_hls_master(rl_hls_t *h, rl_blob_t **out)
{
    int rc = 0;

    if (!h->master)
        rc = render_master(h, &h->master);
    if (rc == 0)
        *out = rl_blob_ref(h->master);
    return rc;
}

/* Has the window reached what a blocking request waits for (RFC 8216bis 6.2.5.2)? A part index
 * past the last part of its segment stands for part 0 of the next segment, so it is reached
 * only once that segment exists, even after its own segment is complete. */
static int reached(const rung_t *r, const hls_query_t *q)
{
    const seg_t *last = &r->segs[r->nsegs - 1];

    if (last->msn > q->msn)
        return 1;
    if (last->msn < q->msn)
        return 0;
    return q->has_part ? last->nparts > q->part : last->complete;
}

static int check_query(const rl_hls_t *h, const rung_t *r, const hls_query_t *q)
{
    const seg_t *last;

    if (!q->has_msn)
        return r->nsegs ? 0 : (h->ended ? -ENOENT : RL_EAGAIN);
    if (!r->nsegs)
        return h->ended ? -ENOENT : RL_EAGAIN;
    last = &r->segs[r->nsegs - 1];
    /* More than two segments ahead, or parts too far ahead, is a Bad Request (6.2.5.2). */
    if (q->msn > last->msn + 2 || (q->has_part && q->msn == last->msn &&
                                   q->part > last->nparts - 1 + 3 + (int)(!last->complete)))
        return -EINVAL;
    return reached(r, q) || h->ended ? 0 : RL_EAGAIN;
}

static void fill_reports(rl_hls_t *h, const rung_t *self, hls_report_t *rep, char (*uri)[40],
                         size_t *n)
{
    *n = 0;
    for (int i = 0; i < h->nrungs; i++) {
        const rung_t *r = &h->rungs[i];
        const seg_t *last;
        if (r == self || !r->active || !r->nsegs)
            continue;
        last = &r->segs[r->nsegs - 1];
        snprintf(uri[*n], 40, "../%s/media.m3u8", r->desc.name);
        rep[*n] = (hls_report_t){ uri[*n], last->msn, last->nparts - 1 };
        (*n)++;
    }
}

#define RANGE_CLASS "com.shopcast.product"
#define RANGE_ATTRS 8

/* The text of one stamp's EXT-X-DATERANGE. */
typedef struct range_text_s {
    char id[32];
    hls_attr_t attrs[RANGE_ATTRS];
} range_text_t;

static int64_t non_negative(int64_t v)
{
    return v > 0 ? v : 0;
}

static void stamp_range(const rl_stamp_t *s, hls_daterange_t *r, range_text_t *t)
{
    snprintf(t->id, sizeof(t->id), "card-%" PRIu64, s->seq);
    t->attrs[0] = (hls_attr_t){ "PRODUCT", s->product, 0, 0 };
    t->attrs[1] = (hls_attr_t){ "PRICE", NULL, non_negative(s->price), 0 };
    t->attrs[2] = (hls_attr_t){ "SOLD", NULL, non_negative(s->sold), 0 };
    t->attrs[3] = (hls_attr_t){ "STOCK", NULL, non_negative(s->stock), 0 };
    t->attrs[4] = (hls_attr_t){ "VERSION", NULL, (int64_t)(s->version & INT64_MAX), 0 };
    t->attrs[5] = (hls_attr_t){ "SEQ", NULL, (int64_t)(s->seq & INT64_MAX), 0 };
    t->attrs[6] = (hls_attr_t){ "PTS", NULL, non_negative(s->pts_ms), 0 };
    t->attrs[7] = (hls_attr_t){ "REDIS-SEQ", NULL, (int64_t)(s->state_seq & INT64_MAX), 0 };
    *r = (hls_daterange_t){
        t->id, RANGE_CLASS, s->pdt_ms, t->attrs, RANGE_ATTRS, HLS_END_ON_NEXT, 0
    };
}

/* The kept stamps as date ranges, for hls_write_media to pick from, their text in *text; NULL
 * when there are none or memory ran out (the playlist then goes without). */
static hls_daterange_t *stamp_ranges(const rl_hls_t *h, range_text_t **text)
{
    hls_daterange_t *r = h->nstamps ? calloc((size_t)h->nstamps, sizeof(*r)) : NULL;

    *text = r ? calloc((size_t)h->nstamps, sizeof(**text)) : NULL;
    if (!*text) {
        free(r);
        return NULL;
    }
    for (int i = 0; i < h->nstamps; i++)
        stamp_range(&h->stamps[i], &r[i], &(*text)[i]);
    return r;
}

static int render_media(rl_hls_t *h, rung_t *r, int skip, rl_blob_t **out)
{
    hls_daterange_t *ranges;
    range_text_t *text;
    hls_segment_t *segs;
    hls_part_t *parts;
    hls_report_t rep[RL_MAX_RUNGS];
    char uris[RL_MAX_RUNGS][40];
    size_t nparts = 0, nrep, off = 0;
    hls_media_t m;
    hls_buf_t b;
    int rc;

    for (int i = 0; i < r->nsegs; i++)
        nparts += (size_t)r->segs[i].nparts;
    segs = calloc(r->nsegs > 0 ? (size_t)r->nsegs : 1, sizeof(*segs));
    parts = calloc(nparts ? nparts : 1, sizeof(*parts));
    if (!segs || !parts) {
        free(segs);
        free(parts);
        return -ENOMEM;
    }
    for (int i = 0; i < r->nsegs; i++) {
        const seg_t *s = &r->segs[i];
        for (int k = 0; k < s->nparts; k++)
            parts[off + (size_t)k] = (hls_part_t){ s->parts[k].duration, s->parts[k].independent };
        segs[i] = (hls_segment_t){ s->msn,           s->duration, s->complete, s->pdt_ms,
                                   s->discontinuity, s->init_id,  parts + off, (size_t)s->nparts };
        off += (size_t)s->nparts;
    }
    fill_reports(h, r, rep, uris, &nrep);
    ranges = stamp_ranges(h, &text);
    m = (hls_media_t){ .target_duration = h->target_duration,
                       .part_target = h->part_target,
                       .segment_target = h->segment_ms / 1000.0,
                       .disc_seq = r->disc_seq,
                       .segs = segs,
                       .nsegs = (size_t)r->nsegs,
                       .ended = h->ended,
                       .skip = skip,
                       .reports = rep,
                       .nreports = nrep,
                       .ranges = ranges,
                       .nranges = ranges ? (size_t)h->nstamps : 0 };
    hls_buf_init(&b, 1 << 20);
    rc = to_blob(&b, hls_write_media(&b, &m), out);
    free(segs);
    free(parts);
    free(ranges);
    free(text);
    return rc;
}

/* Every request for the same rung and skip mode gets the same text until the window changes:
 * it is rendered once and shared. */
int rl_hls_playlist(rl_hls_t *h, const char *name, const hls_query_t *q, rl_blob_t **out)
{
    rung_t *r = rung_by_name(h, name);
    int skip = q->skip >= 0 && q->skip < 3 ? q->skip : 0, rc;

    if (!r)
        return -ENOENT;
    if ((rc = check_query(h, r, q)) != 0)
        return rc;
    if (!r->playlist[skip] && (rc = render_media(h, r, skip, &r->playlist[skip])) < 0)
        return rc;
    *out = rl_blob_ref(r->playlist[skip]);
    return 0;
}

static const seg_t *find_seg(const rung_t *r, uint64_t msn)
{
    if (!r->nsegs || msn < r->segs[0].msn || msn > r->segs[r->nsegs - 1].msn)
        return NULL;
    return &r->segs[msn - r->segs[0].msn];
}

/* The parts of the segment being filled so far add up to all of it (hls_segment_full): the
 * next part opens the next segment, and that is what the playlists hint. */
static int seg_full(const rl_hls_t *h, const seg_t *s)
{
    return hls_segment_full(parts_duration(s), h->segment_ms / 1000.0, h->part_target);
}

/* A part or segment that the live edge is about to produce: worth holding the request for. A part
 * after the last of a full segment will not come (RFC 8216bis 6.2.6: not hinted, so 404). */
static int upcoming(const rl_hls_t *h, const rung_t *r, uint64_t msn, int part)
{
    const seg_t *last = r->nsegs ? &r->segs[r->nsegs - 1] : NULL;

    if (h->ended || !last)
        return 0;
    if (msn == last->msn && !last->complete)
        return part < 0 || (part == last->nparts && !seg_full(h, last));
    return msn == last->msn + 1 && part <= 0;
}

int rl_hls_file(rl_hls_t *h, const char *name, const hls_name_t *n, rl_blob_t **out)
{
    rung_t *r = rung_by_name(h, name);
    const seg_t *s;

    if (!r)
        return -ENOENT;
    if (n->type == HLS_NAME_INIT) {
        for (int i = 0; i < r->ninits; i++)
            if ((uint64_t)r->inits[i].id == n->a && r->inits[i].data)
                return *out = rl_blob_ref(r->inits[i].data), 0;
        return -ENOENT;
    }
    s = find_seg(r, n->a);
    if (n->type == HLS_NAME_SEGMENT && s && s->complete && s->data)
        return *out = rl_blob_ref(s->data), 0;
    if (n->type == HLS_NAME_PART && s && n->b < s->nparts && s->parts[n->b].data)
        return *out = rl_blob_ref(s->parts[n->b].data), 0;
    return upcoming(h, r, n->a, n->type == HLS_NAME_PART ? n->b : -1) ? RL_EAGAIN : -ENOENT;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;

    return (x > y) - (x < y);
}

/* p50 and p95 of the n (at most LATENCIES) values of ring; 0 when there are none. */
static void percentiles(const float *ring, unsigned seen, double *p50, double *p95)
{
    float sorted[LATENCIES];
    unsigned n = seen < LATENCIES ? seen : LATENCIES;

    memcpy(sorted, ring, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_float);
    *p50 = n ? sorted[n / 2] : 0;
    *p95 = n ? sorted[(n * 95) / 100 < n ? (n * 95) / 100 : n - 1] : 0;
}

int rl_hls_rung_info(const rl_hls_t *h, int i, rl_hls_rung_t *desc, double *p50, double *p95)
{
    const rung_t *r = active_rung_c(h, i);

    if (!r)
        return -ENOENT;
    *desc = r->desc;
    percentiles(r->ready_ms, r->nready, p50, p95);
    return 0;
}

int rl_hls_rung_stages(const rl_hls_t *h, int i, double p50[RL_HLS_STAGES],
                       double p95[RL_HLS_STAGES])
{
    const rung_t *r = active_rung_c(h, i);

    if (!r)
        return -ENOENT;
    for (int k = 0; k < RL_HLS_STAGES; k++)
        percentiles(r->stage_ms[k], r->nstaged, &p50[k], &p95[k]);
    return 0;
}
