/* A stream's channel in the WebSocket hub: what the stream does, as messages on its ring.
 *
 * Every message is encoded once per stream and shared by reference. Card events come from the
 * HLS window's stamps, so each carries the frame that first shows it; sold and viewers are merged
 * to at most 10 a second (SIG_MERGE_MS). */
#include "relay/signal/channel.h"

#include <libavutil/avstring.h>
#include <libavutil/random_seed.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/core/clock.h"
#include "relay/commerce/commerce.h"
#include "relay/core/log.h"
#include "relay/media/media.h"

#define SIG_MERGE_MS  100
#define HLS_WINDOW_MS 10000

rl_blob_t *rl__blob_text(char *text, size_t len)
{
    rl_blob_t *b = text ? rl_blob_copy(text, len) : NULL;

    free(text);
    if (b)
        rl_ring_frame(b);
    return b;
}

rl_channel_t *rl__channel_get(rl_server_t *srv, const char *id, int create)
{
    rl_hub_t *hub = srv->hub;
    rl_channel_t *ch;

    for (ch = hub->channels; ch; ch = ch->next)
        if (!strcmp(ch->id, id))
            return ch;
    if (!create || !(ch = calloc(1, sizeof(*ch))))
        return NULL;
    if (rl_ring_init(&ch->ring, (uint32_t)srv->cfg->ws_ring) < 0) {
        free(ch);
        return NULL;
    }
    av_strlcpy(ch->id, id, sizeof(ch->id));
    /* A new history: offsets of an earlier one (before a restart, or of a deleted stream of the
     * same id) must never be taken for this one's. */
    snprintf(ch->epoch, sizeof(ch->epoch), "%08x%011llx", av_get_random_seed(),
             (unsigned long long)rl_wall_ms());
    ch->next = hub->channels;
    hub->channels = ch;
    hub->nchannels++;
    return ch;
}

void rl__channel_free(rl_server_t *srv, rl_channel_t **chp)
{
    rl_hub_t *hub = srv->hub;
    rl_channel_t *ch = *chp, **pp;

    if (!ch)
        return;
    for (pp = &hub->channels; *pp; pp = &(*pp)->next)
        if (*pp == ch) {
            *pp = ch->next;
            hub->nchannels--;
            break;
        }
    rl_ring_free(&ch->ring);
    free(ch);
    *chp = NULL;
}

sig_head_t rl__channel_next(const rl_channel_t *ch)
{
    return (sig_head_t){ ch->id, ch->epoch, ch->offset + 1 };
}

/* The ring must never overwrite what a client has not sent: one that falls behind by more than
 * three quarters of it is closed, so that its resume (from what it did receive) still finds
 * every event it missed. */
static int too_far_behind(const rl_channel_t *ch, const rl_client_t *c)
{
    uint64_t lag = ch->ring.head - c->pos;

    /* Replaying a resume, it started behind (maybe past three quarters): it is cut only when the
     * next push would overwrite what it has yet to send. */
    if (c->pos < c->replay_end)
        return lag >= ch->ring.size;
    return lag > ch->ring.size / 4 * 3;
}

void rl__channel_push(rl_server_t *srv, rl_channel_t *ch, int event, unsigned flags, rl_blob_t *msg)
{
    if (!msg) {
        rl_warn("ws_push", "stream=%s msg=\"out of memory: message dropped\"", ch->id);
        return;
    }
    if (event)
        ch->offset++;
    rl_ring_push(&ch->ring, event ? ch->offset : 0, flags, msg);
    for (rl_client_t *c = ch->clients; c; c = c->next) {
        if (too_far_behind(ch, c) && !c->close_code) {
            srv->hub->stats.closed_slow++;
            rl__client_close(c, SIG_CLOSE_TOO_SLOW);
        }
        rl__client_push(srv->hub, c);
    }
}

/* ---- what the card shows ---- */

static void card_of(const rl_stamp_t *s, sig_card_t *c)
{
    *c = (sig_card_t){ .pinned = s->pinned,
                       .product_id = s->product,
                       .name = s->name,
                       .currency = s->currency,
                       .price = s->price,
                       .regular_price = s->regular_price,
                       .sold = s->sold,
                       .stock = s->stock,
                       .flash = s->flash,
                       .flash_price = s->flash ? s->price : 0,
                       .flash_ends_ms = s->flash_ends_ms,
                       .flash_left = s->flash_left };
}

static void push_sold(rl_server_t *srv, rl_channel_t *ch)
{
    sig_head_t h = rl__channel_next(ch);
    sig_stamp_t st = { ch->stamp.seq, ch->stamp.pts_ms, ch->stamp.pdt_ms };
    sig_card_t c;
    size_t len;
    char *t;

    card_of(&ch->stamp, &c);
    t = sig_encode_sold(&h, &st, &c, &len);
    rl__channel_push(srv, ch, 1, 0, rl__blob_text(t, len));
}

typedef char *(*card_encoder_t)(const sig_head_t *, const sig_stamp_t *, const sig_card_t *,
                                size_t *);

static void push_card_event(rl_server_t *srv, rl_channel_t *ch, card_encoder_t enc,
                            const rl_stamp_t *s)
{
    sig_head_t h = rl__channel_next(ch);
    sig_stamp_t st = { s->seq, s->pts_ms, s->pdt_ms };
    sig_card_t c;
    size_t len;
    char *t;

    card_of(s, &c);
    t = enc(&h, &st, &c, &len);
    rl__channel_push(srv, ch, 1, 0, rl__blob_text(t, len));
}

static void on_stamp(rl_server_t *srv, rl_channel_t *ch, const rl_stamp_t *s)
{
    sig_card_t prev, next;
    unsigned changes;
    int64_t due;

    card_of(&ch->stamp, &prev);
    card_of(s, &next);
    changes = sig_card_changes(ch->has_stamp ? &prev : NULL, &next);
    ch->stamp = *s;
    ch->has_stamp = 1;
    if (changes & SIG_CHANGE_PRODUCT)
        push_card_event(srv, ch, sig_encode_product, s);
    if (changes & SIG_CHANGE_PRICE)
        push_card_event(srv, ch, sig_encode_price, s);
    if (changes & SIG_CHANGE_FLASH)
        push_card_event(srv, ch, sig_encode_flash_sale, s);
    if (!(changes & SIG_CHANGE_SOLD))
        return;
    if (sig_merge_offer(&ch->sold_merge, rl_wall_ms(), SIG_MERGE_MS, &due))
        push_sold(srv, ch);
    else
        rl__hub_arm_merge(srv, due);
}

/* ---- media notices ---- */

/* ready_ms: when the drain made it servable (SIGNAL.md: part's and segment's ready_ms). */
static void on_news(rl_server_t *srv, rl_channel_t *ch, const rl_stream_t *st,
                    const rl_hls_news_t *n, int64_t ready_ms)
{
    rl_hls_rung_t desc;
    double p50, p95;
    sig_part_t p;
    size_t len;
    char *t;

    if (rl_hls_rung_info(st->hls, n->rung, &desc, &p50, &p95) < 0)
        return;
    p = (sig_part_t){ desc.name, n->msn, n->index, n->duration, n->independent, ready_ms };
    if (n->index >= 0) {
        ch->last_part = *n;
        ch->has_part = 1;
    } else {
        ch->last_seg = *n;
        ch->has_seg = 1;
    }
    if (!ch->clients) /* never replayed: nobody to tell */
        return;
    t = n->index >= 0 ? sig_encode_part(ch->id, &p, &len) : sig_encode_segment(ch->id, &p, &len);
    rl__channel_push(srv, ch, 0, 0, rl__blob_text(t, len));
}

/* ---- the stream's state ---- */

static sig_state_t state_of(const rl_stream_t *st, int64_t *since_ms)
{
    int64_t now_ms = rl_wall_ms();
    double now = rl_now();

    if (st->ingest) {
        *since_ms = now_ms - (int64_t)((now - st->live_since) * 1000);
        return SIG_LIVE;
    }
    *since_ms = now_ms - (int64_t)((now - st->offline_since) * 1000);
    if (st->media)
        return SIG_SLATE;
    if (st->hls && rl_hls_ended(st->hls))
        return SIG_ENDED;
    *since_ms = now_ms;
    return SIG_OFFLINE;
}

static void check_state(rl_server_t *srv, rl_channel_t *ch, const rl_stream_t *st)
{
    int64_t since;
    sig_state_t s = state_of(st, &since);
    sig_head_t h;
    size_t len;
    char *t;

    if (ch->state_known && s == ch->state)
        return;
    ch->state = s;
    ch->since_ms = since;
    ch->state_known = 1;
    h = rl__channel_next(ch);
    t = sig_encode_stream(&h, s, since, &len);
    rl__channel_push(srv, ch, 1, 0, rl__blob_text(t, len));
}

void rl_hub_media_changed(rl_server_t *srv, rl_stream_t *st)
{
    int64_t ready_ms = rl_wall_ms(); /* the drain just made the news servable */
    rl_channel_t *ch;
    const rl_stamp_t *s;
    const rl_hls_news_t *n;
    size_t k;

    if (!srv->hub || !st->hls || !(ch = rl__channel_get(srv, st->id, 1)))
        return;
    check_state(srv, ch, st);
    k = rl_hls_stamps(st->hls, ch->has_stamp ? ch->stamp.seq : 0, &s);
    for (size_t i = 0; i < k; i++)
        on_stamp(srv, ch, &s[i]);
    k = rl_hls_news(st->hls, &n);
    for (size_t i = 0; i < k; i++)
        on_news(srv, ch, st, &n[i], ready_ms);
}

/* ---- orders ---- */

static uint32_t *orders_now(rl_channel_t *ch, int64_t now_s)
{
    if (now_s - ch->orders_sec_at >= 60)
        memset(ch->orders_sec, 0, sizeof(ch->orders_sec));
    else
        for (int64_t t = ch->orders_sec_at + 1; t <= now_s; t++)
            ch->orders_sec[t % 60] = 0;
    ch->orders_sec_at = now_s;
    return &ch->orders_sec[now_s % 60];
}

/* The name the viewers know the product by: the card's, or the pinned product's as Redis last
 * confirmed it; another product's id stands for it. */
static const char *product_name(rl_server_t *srv, const rl_channel_t *ch, const char *product)
{
    const json_t *p = json_object_get(rl_commerce_snapshot(srv, ch->id), "product");
    const char *name = json_string_value(json_object_get(p, "name"));

    if (ch->has_stamp && !strcmp(ch->stamp.product, product))
        return ch->stamp.name;
    if (name && !strcmp(json_string_value(json_object_get(p, "id")) ?: "", product))
        return name;
    return product;
}

void rl_hub_order(rl_server_t *srv, const char *id, const char *product, int64_t qty)
{
    rl_channel_t *ch;
    sig_head_t h;
    const char *name;
    size_t len;
    char *t;

    if (!srv->hub || !rl_stream_find(srv, id) || !(ch = rl__channel_get(srv, id, 1)))
        return;
    (*orders_now(ch, rl_wall_ms() / 1000))++;
    name = product_name(srv, ch, product);
    h = rl__channel_next(ch);
    t = sig_encode_order(&h, product, name, qty, &len);
    rl__channel_push(srv, ch, 1, 0, rl__blob_text(t, len));
}

static double orders_per_minute(rl_channel_t *ch)
{
    uint64_t n = 0;

    orders_now(ch, rl_wall_ms() / 1000);
    for (int i = 0; i < 60; i++)
        n += ch->orders_sec[i];
    return (double)n;
}

/* ---- viewers: counters, not lists ---- */

uint32_t rl__viewer_key(const char *peer, const char *ua)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (const char *p = peer; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    h = (h ^ 0xff) * 16777619u;
    for (const char *p = ua ? ua : ""; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

static void roll_hls_window(rl_channel_t *ch, int64_t now_ms)
{
    int64_t w = now_ms / HLS_WINDOW_MS;

    if (w == ch->hls_window)
        return;
    if (w == ch->hls_window + 1)
        memcpy(ch->hls_bits[1], ch->hls_bits[0], sizeof(ch->hls_bits[0]));
    else
        memset(ch->hls_bits[1], 0, sizeof(ch->hls_bits[1]));
    memset(ch->hls_bits[0], 0, sizeof(ch->hls_bits[0]));
    ch->hls_window = w;
}

void rl_hub_hls_seen(rl_server_t *srv, rl_stream_t *st, const char *peer, const char *ua)
{
    rl_channel_t *ch;
    uint32_t k;

    if (!srv->hub || !(ch = rl__channel_get(srv, st->id, 1)))
        return;
    roll_hls_window(ch, rl_wall_ms());
    k = rl__viewer_key(peer, ua) % RL_VIEWER_BITS;
    ch->hls_bits[0][k / 64] |= 1ull << (k % 64);
}

/* HLS sessions of the last full window and this one that are not WebSocket viewers, by linear
 * counting (Whang et al. 1990): n = -m ln(zero bits / m). */
static int64_t hls_only(const rl_channel_t *ch)
{
    int zero = 0;

    for (int i = 0; i < RL_VIEWER_BITS; i++)
        zero += ch->ws_keys[i] ||
                !((ch->hls_bits[0][i / 64] | ch->hls_bits[1][i / 64]) >> (i % 64) & 1);
    if (!zero)
        zero = 1;
    return (int64_t)llround(-RL_VIEWER_BITS * log((double)zero / RL_VIEWER_BITS));
}

int64_t rl__channel_viewers(rl_server_t *srv, const rl_channel_t *ch)
{
    (void)srv;
    return ch->nviewers + hls_only(ch);
}

int64_t rl_hub_viewers(rl_server_t *srv, const rl_stream_t *st)
{
    rl_channel_t *ch = srv->hub ? rl__channel_get(srv, st->id, 0) : NULL;

    if (ch)
        roll_hls_window(ch, rl_wall_ms());
    return ch ? rl__channel_viewers(srv, ch) : 0;
}

static void push_viewers(rl_server_t *srv, rl_channel_t *ch, int64_t n)
{
    sig_head_t h = rl__channel_next(ch);
    size_t len;
    char *t = sig_encode_viewers(&h, n, &len);

    ch->viewers_sent = n;
    rl__channel_push(srv, ch, 1, 0, rl__blob_text(t, len));
}

void rl__channel_viewer(rl_server_t *srv, rl_channel_t *ch, uint32_t key, int delta)
{
    ch->nviewers += delta;
    ch->ws_keys[key % RL_VIEWER_BITS] += (uint16_t)delta;
    rl__channel_offer_viewers(srv, ch);
}

void rl__channel_offer_viewers(rl_server_t *srv, rl_channel_t *ch)
{
    int64_t n = rl__channel_viewers(srv, ch), due;

    if (n == ch->viewers_sent && !ch->viewers_merge.pending)
        return;
    if (sig_merge_offer(&ch->viewers_merge, rl_wall_ms(), SIG_MERGE_MS, &due))
        push_viewers(srv, ch, n);
    else
        rl__hub_arm_merge(srv, due);
}

/* The merge timer fired: every merged figure that is due goes out, the newest value. */
int64_t rl__hub_flush_merges(rl_server_t *srv)
{
    int64_t now = rl_wall_ms(), next = 0;

    for (rl_channel_t *ch = srv->hub->channels; ch; ch = ch->next) {
        if (sig_merge_due(&ch->sold_merge, now, SIG_MERGE_MS))
            push_sold(srv, ch);
        if (sig_merge_due(&ch->viewers_merge, now, SIG_MERGE_MS)) {
            int64_t n = rl__channel_viewers(srv, ch);
            if (n != ch->viewers_sent)
                push_viewers(srv, ch, n);
        }
        for (int k = 0; k < 2; k++) {
            sig_merge_t *m = k ? &ch->viewers_merge : &ch->sold_merge;
            if (m->pending && (!next || m->last_ms + SIG_MERGE_MS < next))
                next = m->last_ms + SIG_MERGE_MS;
        }
    }
    return next;
}

/* ---- health, for operators ---- */

static void health_of(rl_server_t *srv, rl_channel_t *ch, const rl_stream_t *st, sig_health_t *h,
                      sig_rung_health_t *rungs, char names[][16])
{
    rl_media_stats_t *ms = st->media ? rl_media_stats(st->media) : NULL;
    rl_hls_rung_t desc;

    *h = (sig_health_t){ .kbps = st->kbps,
                         .fps = st->fps,
                         .keyframe_interval_ms = st->key_interval_ms,
                         .dropped_frames = ms ? atomic_load(&ms->dropped) : 0,
                         .codec = flv_codec_name(st->vcodec),
                         .width = st->width,
                         .height = st->height,
                         .rungs = rungs,
                         .orders_per_minute = orders_per_minute(ch),
                         .viewers = rl__channel_viewers(srv, ch),
                         .uptime_s = st->ingest ? (int64_t)(rl_now() - st->live_since) : 0 };
    for (int i = 0; st->hls && i < RL_MAX_RUNGS; i++) {
        sig_rung_health_t *r = &rungs[h->nrungs];
        if (rl_hls_rung_info(st->hls, i, &desc, &r->part_ready_p50_ms, &r->part_ready_p95_ms) < 0)
            break;
        av_strlcpy(names[h->nrungs], desc.name, 16);
        r->name = names[h->nrungs];
        r->speed = ms ? atomic_load(&ms->rung_speed_milli[i]) / 1000.0 : 0;
        h->nrungs++;
    }
}

void rl__channel_tick(rl_server_t *srv, rl_channel_t *ch, const rl_stream_t *st)
{
    sig_rung_health_t rungs[RL_MAX_RUNGS];
    char names[RL_MAX_RUNGS][16];
    sig_health_t h;
    size_t len;
    char *t;

    check_state(srv, ch, st);
    roll_hls_window(ch, rl_wall_ms());
    rl__channel_offer_viewers(srv, ch);
    if (!ch->noperators)
        return;
    health_of(srv, ch, st, &h, rungs, names);
    t = sig_encode_health(ch->id, &h, &len);
    rl__channel_push(srv, ch, 0, RL_RING_OPERATOR, rl__blob_text(t, len));
}

/* ---- hello ---- */

rl_blob_t *rl__channel_hello(rl_server_t *srv, rl_channel_t *ch, sig_role_t role,
                             int recovered_false)
{
    rl_stream_t *st = rl_stream_find(srv, ch->id);
    sig_rung_health_t rungs[RL_MAX_RUNGS];
    char names[RL_MAX_RUNGS][16], hnames[RL_MAX_RUNGS][16], part_rung[16] = "", seg_rung[16] = "";
    const char *rung_names[RL_MAX_RUNGS];
    sig_part_t part, seg;
    sig_stamp_t stamp;
    sig_health_t health;
    sig_card_t card;
    rl_hls_rung_t desc;
    double p50, p95;
    sig_hello_t m;
    size_t len;
    char *text;

    if (!st)
        return NULL;
    check_state(srv, ch, st);
    m = (sig_hello_t){ .stream = ch->id,
                       .role = role,
                       .epoch = ch->epoch,
                       .offset = ch->offset,
                       .state = ch->state,
                       .since_ms = ch->since_ms,
                       .title = st->title,
                       .viewers = rl__channel_viewers(srv, ch),
                       .rungs = rung_names,
                       .server_ms = rl_wall_ms(),
                       .recovered_false = recovered_false };
    if (ch->has_stamp) {
        card_of(&ch->stamp, &card);
        stamp = (sig_stamp_t){ ch->stamp.seq, ch->stamp.pts_ms, ch->stamp.pdt_ms };
        m.card = &card;
        m.stamp = &stamp;
    } /* else no frame has shown a card yet: card null */
    for (int i = 0;
         st->hls && i < RL_MAX_RUNGS && rl_hls_rung_info(st->hls, i, &desc, &p50, &p95) == 0; i++) {
        av_strlcpy(names[i], desc.name, 16);
        rung_names[m.nrungs++] = names[i];
        if (ch->has_part && ch->last_part.rung == i)
            av_strlcpy(part_rung, desc.name, sizeof(part_rung));
        if (ch->has_seg && ch->last_seg.rung == i)
            av_strlcpy(seg_rung, desc.name, sizeof(seg_rung));
    }
    if (part_rung[0]) {
        part = (sig_part_t){ part_rung,
                             ch->last_part.msn,
                             ch->last_part.index,
                             ch->last_part.duration,
                             ch->last_part.independent,
                             0 };
        m.last_part = &part;
    }
    if (seg_rung[0]) {
        seg = (sig_part_t){ seg_rung, ch->last_seg.msn, -1, ch->last_seg.duration, 0, 0 };
        m.last_segment = &seg;
    }
    if (role == SIG_OPERATOR) {
        health_of(srv, ch, st, &health, rungs, hnames);
        m.health = &health;
    }
    text = sig_encode_hello(&m, &len); /* before len is read */
    return rl__blob_text(text, len);
}
