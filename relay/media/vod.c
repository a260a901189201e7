/* VOD HLS of a recorded publish session, written to disk segment by segment, with its chapters.
 *
 * Invariants: a rendition's playlist lists only complete segments, oldest first; a segment begins
 * only with a part of index 0 (so a recording never starts mid-segment); write errors stop that
 * rendition, are logged once, and never affect the live stream. Chapters are placed on each
 * rendition's own segments in its playlist, and on the first rendition still written for
 * chapters.json (the rungs' keyframes are aligned: their segments are the same spans). */
#include "relay/media/vod.h"

#include <errno.h>
#include <libavutil/avstring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relay/core/log.h"
#include "relay/media/chapters.h"
#include "relay/media/transcode.h"

typedef struct vod_rung_s {
    rl_hls_rung_t desc;
    FILE *seg;           /* the segment being written */
    hls_segment_t *segs; /* complete segments */
    size_t nsegs, cap;
    hls_segment_t cur; /* the segment being written, once its first part came */
    int failed;
} vod_rung_t;

struct rl_vod_s {
    char id[32];
    char dir[600];
    int target_duration, nrungs;
    vod_rung_t r[RL_MAX_RUNGS];
    rl_chapters_t *chapters;
    char *json;          /* chapters.json as last written */
    int chapters_failed; /* chapters.json could not be written */
    int chapters_warned; /* a chapter could not be kept: logged once */
};

static void fail(rl_vod_t *v, vod_rung_t *r, const char *what)
{
    if (!r->failed)
        rl_err("vod_write", "stream=%s dir=%s rung=%s what=\"%s\" error=\"%s\"", v->id, v->dir,
               r->desc.name, what, strerror(errno));
    r->failed = 1;
}

rl_vod_t *rl_vod_open(const char *stream_id, const char *dir, int target_duration)
{
    rl_vod_t *v = calloc(1, sizeof(*v));

    if (!v)
        return NULL;
    av_strlcpy(v->id, stream_id, sizeof(v->id));
    av_strlcpy(v->dir, dir, sizeof(v->dir));
    v->target_duration = target_duration;
    if (!(v->chapters = rl_chapters_new()))
        goto fail;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        rl_err("vod_open", "stream=%s dir=%s error=\"%s\"", stream_id, dir, strerror(errno));
        goto fail;
    }
    return v;
fail:
    rl_chapters_free(&v->chapters);
    free(v);
    return NULL;
}

/* Writes path atomically: a reader sees the old file or the new one, never a mix. */
static int write_file(const char *path, const char *data, size_t len)
{
    char tmp[700];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (!(f = fopen(tmp, "wb")))
        return -errno;
    if (fwrite(data, 1, len, f) != len || fclose(f) != 0)
        return unlink(tmp), -EIO;
    return rename(tmp, path) < 0 ? -errno : 0;
}

static void write_master(rl_vod_t *v, const rl_hls_rung_t *rungs)
{
    char path[700];
    hls_buf_t b;

    hls_buf_init(&b, 1 << 16);
    snprintf(path, sizeof(path), "%s/master.m3u8", v->dir);
    if (rl_hls_write_master(&b, rungs, v->nrungs) == 0 && write_file(path, b.data, b.len) < 0)
        rl_err("vod_write", "stream=%s path=%s error=\"%s\"", v->id, path, strerror(errno));
    hls_buf_free(&b);
}

/* The ladder is fixed at the first configuration of the session; a later, different ladder (a
 * resolution change) keeps writing into the renditions that share a name. */
void rl_vod_rungs(rl_vod_t *v, const rl_hls_rung_t *rungs, int n)
{
    char path[700];

    if (v->nrungs)
        return;
    v->nrungs = n < RL_MAX_RUNGS ? n : RL_MAX_RUNGS;
    for (int i = 0; i < v->nrungs; i++) {
        v->r[i].desc = rungs[i];
        snprintf(path, sizeof(path), "%s/%s", v->dir, rungs[i].name);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            fail(v, &v->r[i], "mkdir");
    }
    write_master(v, rungs);
}

static void file_path(const rl_vod_t *v, int rung, const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/%s/%s", v->dir, v->r[rung].desc.name, name);
}

static void seg_path(const rl_vod_t *v, int rung, uint64_t msn, char *path, size_t size)
{
    char name[40];

    snprintf(name, sizeof(name), "seg-%llu.m4s", (unsigned long long)msn);
    file_path(v, rung, name, path, size);
}

void rl_vod_init(rl_vod_t *v, int rung, int init_id, const uint8_t *data, size_t len)
{
    char name[40], path[700];

    if (rung >= v->nrungs || v->r[rung].failed)
        return;
    snprintf(name, sizeof(name), "init-%d.mp4", init_id);
    file_path(v, rung, name, path, sizeof(path));
    if (write_file(path, (const char *)data, len) < 0)
        fail(v, &v->r[rung], "init segment");
}

void rl_vod_part(rl_vod_t *v, const rl_part_info_t *p, const uint8_t *data, size_t len)
{
    vod_rung_t *r = p->rung < v->nrungs ? &v->r[p->rung] : NULL;
    char path[700];

    if (!r || r->failed || (!r->seg && p->index != 0))
        return;
    if (!r->seg) {
        seg_path(v, p->rung, p->msn, path, sizeof(path));
        if (!(r->seg = fopen(path, "wb"))) {
            fail(v, r, "segment");
            return;
        }
        r->cur = (hls_segment_t){ .msn = p->msn,
                                  .complete = 1,
                                  .pdt_ms = p->pdt_ms,
                                  .discontinuity = p->discontinuity,
                                  .init_id = p->init_id };
    }
    if (fwrite(data, 1, len, r->seg) != len)
        fail(v, r, "segment");
}

/* The chapters placed on r's segments, as date ranges (their text in *text); NULL when there are
 * none or memory ran out (the playlist then goes without). */
static hls_daterange_t *chapter_ranges(const rl_vod_t *v, const vod_rung_t *r, int ended,
                                       rl_chapter_range_t **text, size_t *n)
{
    rl_timeline_t t = { r->segs, r->nsegs, ended };
    size_t max = rl_chapters_count(v->chapters);
    rl_chapter_t *placed = max ? calloc(max, sizeof(*placed)) : NULL;
    hls_daterange_t *ranges = placed ? calloc(max, sizeof(*ranges)) : NULL;

    *text = ranges ? calloc(max, sizeof(**text)) : NULL;
    *n = 0;
    if (*text) {
        *n = rl_chapters_place(v->chapters, &t, placed, max);
        for (size_t i = 0; i < *n; i++)
            rl_chapter_range(&placed[i], &ranges[i], &(*text)[i]);
    } else {
        free(ranges);
        ranges = NULL;
    }
    free(placed);
    return ranges;
}

static void write_playlist(rl_vod_t *v, int rung, int ended)
{
    vod_rung_t *r = &v->r[rung];
    hls_media_t m = {
        .target_duration = v->target_duration, .segs = r->segs, .nsegs = r->nsegs, .ended = ended
    };
    rl_chapter_range_t *text;
    char path[700];
    hls_buf_t b;

    m.ranges = chapter_ranges(v, r, ended, &text, &m.nranges);
    hls_buf_init(&b, 1 << 24);
    file_path(v, rung, "media.m3u8", path, sizeof(path));
    if (hls_write_media(&b, &m) < 0 || write_file(path, b.data, b.len) < 0)
        fail(v, r, "playlist");
    hls_buf_free(&b);
    free((void *)m.ranges);
    free(text);
}

/* The rendition chapters.json follows: the first one still written. */
static const vod_rung_t *timeline_rung(const rl_vod_t *v)
{
    for (int i = 0; i < v->nrungs; i++)
        if (!v->r[i].failed)
            return &v->r[i];
    return NULL;
}

/* chapters.json, rewritten when what it says changed. */
static void write_chapters(rl_vod_t *v, int ended)
{
    const vod_rung_t *r = timeline_rung(v);
    rl_timeline_t t = { r ? r->segs : NULL, r ? r->nsegs : 0, ended };
    char path[700], *json;
    int rc;

    if (!r || !r->nsegs || v->chapters_failed || !(json = rl_chapters_json(v->chapters, &t)))
        return;
    if (v->json && !strcmp(json, v->json)) {
        free(json);
        return;
    }
    snprintf(path, sizeof(path), "%s/chapters.json", v->dir);
    if ((rc = write_file(path, json, strlen(json))) < 0) {
        rl_err("vod_write", "stream=%s path=%s error=\"%s\"", v->id, path, strerror(-rc));
        v->chapters_failed = 1;
    }
    free(v->json);
    v->json = json;
}

void rl_vod_stamp(rl_vod_t *v, const rl_stamp_t *s)
{
    int rc = rl_chapters_stamp(v->chapters, s);

    if (rc < 0 && !v->chapters_warned++)
        rl_warn("vod_chapters", "stream=%s dir=%s error=\"%s\" chapters=%zu", v->id, v->dir,
                strerror(-rc), rl_chapters_count(v->chapters));
}

void rl_vod_segment(rl_vod_t *v, int rung, uint64_t msn, double duration)
{
    vod_rung_t *r = rung < v->nrungs ? &v->r[rung] : NULL;
    hls_segment_t *grown;

    if (!r || !r->seg || r->cur.msn != msn)
        return;
    if (fclose(r->seg) != 0)
        fail(v, r, "segment");
    r->seg = NULL;
    if (r->failed)
        return;
    if (r->nsegs == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        if (!(grown = realloc(r->segs, cap * sizeof(*grown)))) {
            fail(v, r, "out of memory");
            return;
        }
        r->segs = grown;
        r->cap = cap;
    }
    r->cur.duration = duration;
    r->segs[r->nsegs++] = r->cur;
    write_playlist(v, rung, 0);
    if (r == timeline_rung(v))
        write_chapters(v, 0);
}

void rl_vod_close(rl_vod_t **pv)
{
    rl_vod_t *v = *pv;

    if (!v)
        return;
    for (int i = 0; i < v->nrungs; i++) {
        if (v->r[i].seg) { /* an unfinished segment is not listed, nor kept */
            char path[700];
            fclose(v->r[i].seg);
            seg_path(v, i, v->r[i].cur.msn, path, sizeof(path));
            unlink(path);
        }
        if (!v->r[i].failed && v->r[i].nsegs)
            write_playlist(v, i, 1);
    }
    write_chapters(v, 1);
    for (int i = 0; i < v->nrungs; i++)
        free(v->r[i].segs);
    rl_info("vod_end", "stream=%s dir=%s chapters=%zu", v->id, v->dir,
            rl_chapters_count(v->chapters));
    rl_chapters_free(&v->chapters);
    free(v->json);
    free(v);
    *pv = NULL;
}
