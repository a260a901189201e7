/* Commerce on the relay's side: snapshots from Redis become each stream's card state.
 *
 * A snapshot (docs/COMMERCE.md) arrives with every event on the subscriber connection, and as
 * the reply of shopcast_state when a stream is (re)loaded. It is applied only if it is not older
 * than the last one (Redis's seq), and it becomes a new ov_state_t only if the card would show
 * something different. */
#include <errno.h>
#include <libavutil/avstring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "relay/commerce/commerce.h"
#include "relay/commerce/shop.h"
#include "relay/core/clock.h"
#include "relay/core/log.h"
#include "relay/live/stream.h"

#define THUMB_HEADER 8 /* "SCI1", width and height as 16-bit big-endian */

static int64_t wall_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static rl_shop_t *shop_find(rl_commerce_t *c, const char *id, uint64_t uid)
{
    for (int i = 0; i < c->nshops; i++)
        if (id ? !strcmp(c->shops[i]->id, id) : c->shops[i]->uid == uid)
            return c->shops[i];
    return NULL;
}

static rl_shop_t *shop_get(rl_commerce_t *c, const char *id)
{
    rl_shop_t *sh = shop_find(c, id, 0), **grown;

    if (sh)
        return sh;
    if (c->nshops == c->shops_cap) {
        int cap = c->shops_cap ? 2 * c->shops_cap : 16;
        if (!(grown = realloc(c->shops, cap * sizeof(*grown))))
            return NULL;
        c->shops = grown;
        c->shops_cap = cap;
    }
    if (!(sh = calloc(1, sizeof(*sh))))
        return NULL;
    sh->uid = ++c->next_uid;
    snprintf(sh->id, sizeof(sh->id), "%s", id);
    c->shops[c->nshops++] = sh;
    return sh;
}

void rl__shop_free(rl_shop_t **psh)
{
    rl_shop_t *sh = *psh;

    if (!sh)
        return;
    json_decref(sh->snap);
    json_decref(sh->held);
    av_buffer_unref(&sh->thumb);
    free(sh);
    *psh = NULL;
}

static int64_t jint(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

/* The pinned product's image version, or "" when the snapshot needs no image. */
static const char *image_of(const json_t *snap)
{
    return jstr(json_object_get(snap, "product"), "image");
}

/* Whether the snapshot must wait for its picture: one not fetched yet, or one on its way (a
 * change right behind the pin would otherwise show the product without it, and the pin's own
 * snapshot, older, could not bring it once the picture came). */
static int needs_image(const rl_shop_t *sh, const json_t *snap)
{
    const json_t *p = json_object_get(snap, "product");

    return *image_of(snap) && (sh->img_loading || strcmp(sh->img_pid, jstr(p, "id")) ||
                               strcmp(sh->img_ver, image_of(snap)));
}

static void fill_product(ov_state_t *s, const json_t *p, const rl_shop_t *sh)
{
    snprintf(s->product_id, sizeof(s->product_id), "%s", jstr(p, "id"));
    snprintf(s->currency, sizeof(s->currency), "%s", jstr(p, "currency"));
    s->product_price = jint(p, "price");
    s->regular_price = jint(p, "regular_price");
    s->sold = jint(p, "sold");
    s->stock = jint(p, "stock");
    if (*jstr(p, "image") && !strcmp(sh->img_pid, s->product_id) && sh->thumb) {
        s->thumb = av_buffer_ref(sh->thumb);
        s->thumb_w = sh->thumb_w;
        s->thumb_h = sh->thumb_h;
    }
}

static ov_state_t *state_of(const json_t *snap, const rl_shop_t *sh)
{
    const json_t *p = json_object_get(snap, "product"), *f = json_object_get(snap, "flash");
    ov_state_t *s = ov_state_new();

    if (!s)
        return NULL;
    s->seq = jint(snap, "seq");
    if (json_is_true(json_object_get(snap, "pinned")) && json_is_object(p)) {
        s->pinned = 1;
        fill_product(s, p, sh);
        s->price = jint(snap, "price");
        if (json_is_object(f)) {
            s->flash = 1;
            s->flash_ends_ms = jint(f, "ends_ms");
            s->flash_left = jint(f, "left");
        }
        if (ov_state_set_name(s, jstr(p, "name")) < 0)
            ov_state_unref(&s);
    }
    return s;
}

/* Whether two states draw the same card (the version aside). */
static int same_card(const ov_state_t *a, const ov_state_t *b)
{
    if (!a || !b || a->pinned != b->pinned)
        return 0;
    if (!a->pinned)
        return 1;
    return ov_state_same_goods(a, b) && a->price == b->price &&
           a->product_price == b->product_price && a->flash == b->flash &&
           a->flash_ends_ms == b->flash_ends_ms && a->flash_left == b->flash_left;
}

static void publish(rl_server_t *srv, rl_shop_t *sh, const json_t *snap)
{
    rl_stream_t *st = rl_stream_find(srv, sh->id);
    ov_state_t *s;

    if (!st || !(s = state_of(snap, sh)))
        return;
    if (same_card(s, st->overlay)) {
        ov_state_unref(&s);
        return;
    }
    s->version = ++srv->commerce->version;
    srv->commerce->nstates++;
    rl_dbg("card_state", "stream=%s version=%llu seq=%llu pinned=%d sold=%lld mono_us=%lld", sh->id,
           (unsigned long long)s->version, (unsigned long long)s->seq, s->pinned,
           (long long)s->sold, (long long)rl_now_us());
    rl_stream_set_overlay(srv, st, s);
}

static void fetch_image(rl_server_t *srv, rl_shop_t *sh, const json_t *snap);

/* Applies a snapshot (borrowed) unless an applied one is newer. */
static void apply(rl_server_t *srv, rl_shop_t *sh, json_t *snap)
{
    uint64_t seq = jint(snap, "seq");
    const json_t *f = json_object_get(snap, "flash");

    if (!json_is_object(snap) || (sh->snap && seq < sh->seq))
        return;
    sh->loaded = 1;
    if (needs_image(sh, snap)) {
        if (!sh->held || (uint64_t)jint(sh->held, "seq") <= seq) { /* the newest waits */
            json_decref(sh->held);
            sh->held = json_incref(snap);
        }
        if (!sh->img_loading)
            fetch_image(srv, sh, snap);
        return;
    }
    if (sh->held && (uint64_t)jint(sh->held, "seq") <= seq) {
        json_decref(sh->held);
        sh->held = NULL;
    }
    json_decref(sh->snap);
    sh->snap = json_incref(snap);
    sh->seq = seq;
    sh->flash_ends_ms = json_is_object(f) ? jint(f, "ends_ms") : 0;
    publish(srv, sh, snap);
}

/* ---- thumbnails: SCI1, straight RGBA → cairo's premultiplied native-endian ARGB32 ---- */

static AVBufferRef *thumb_decode(const uint8_t *b, size_t len, int *w, int *h)
{
    AVBufferRef *buf;
    uint32_t *px;

    if (len < THUMB_HEADER || memcmp(b, "SCI1", 4))
        return NULL;
    *w = b[4] << 8 | b[5];
    *h = b[6] << 8 | b[7];
    if (*w < 1 || *h < 1 || *w > OV_THUMB_MAX || *h > OV_THUMB_MAX ||
        len != THUMB_HEADER + (size_t)*w * *h * 4 || !(buf = av_buffer_alloc(*w * *h * 4)))
        return NULL;
    px = (uint32_t *)buf->data;
    b += THUMB_HEADER;
    for (int i = 0; i < *w * *h; i++, b += 4) {
        uint32_t a = b[3];
        px[i] = a << 24 | (b[0] * a + 127) / 255 << 16 | (b[1] * a + 127) / 255 << 8 |
                (b[2] * a + 127) / 255;
    }
    return buf;
}

static void on_image(void *owner, uint64_t token, int rc, redisReply *reply)
{
    rl_server_t *srv = owner;
    rl_shop_t *sh = srv->commerce ? shop_find(srv->commerce, NULL, token) : NULL;
    json_t *held;

    if (!sh)
        return;
    sh->img_loading = 0;
    if (rc < 0 || !reply) /* Redis went away: the reload after the reconnect tries again */
        return;
    av_buffer_unref(&sh->thumb);
    srv->commerce->nimages++;
    if (reply->type == REDIS_REPLY_STRING &&
        !(sh->thumb =
              thumb_decode((const uint8_t *)reply->str, reply->len, &sh->thumb_w, &sh->thumb_h))) {
        srv->commerce->nbad_images++;
        rl_warn("card_image", "stream=%s product=%s msg=\"not a valid thumbnail\"", sh->id,
                sh->img_pid);
    }
    if ((held = sh->held)) {
        sh->held = NULL;
        apply(srv, sh, held);
        json_decref(held);
    }
}

/* Caches the (product, version) asked for even if the image turns out bad, so a bad image is
 * fetched once per version, not once per event. */
static void fetch_image(rl_server_t *srv, rl_shop_t *sh, const json_t *snap)
{
    char key[512];
    const char *argv[2] = { "GET", key };
    const json_t *p = json_object_get(snap, "product");

    snprintf(sh->img_pid, sizeof(sh->img_pid), "%s", jstr(p, "id"));
    snprintf(sh->img_ver, sizeof(sh->img_ver), "%s", image_of(snap));
    rl_commerce_key(srv, sh->id, key, sizeof(key));
    snprintf(key + strlen(key), sizeof(key) - strlen(key), ":image:%s", sh->img_pid);
    if (rl_redis_cmd(srv->redis, on_image, srv, sh->uid, 2, argv) == 0)
        sh->img_loading = 1;
}

/* ---- events and reloads ---- */

/* "<prefix>stream:{<id>}:events" → id; 0, or -EINVAL for a channel not of that form. */
static int channel_id(const rl_server_t *srv, const char *channel, char *id, size_t size)
{
    size_t plen = strlen(srv->cfg->redis_prefix);
    const char *b, *e;

    if (strncmp(channel, srv->cfg->redis_prefix, plen) || strncmp(channel + plen, "stream:{", 8))
        return -EINVAL;
    b = channel + plen + 8;
    if (!(e = strchr(b, '}')) || e == b || (size_t)(e - b) >= size)
        return -EINVAL;
    memcpy(id, b, e - b);
    id[e - b] = '\0';
    return 0;
}

static void reload(rl_server_t *srv, rl_shop_t *sh);

static void set_int(json_t *o, const char *k, int64_t v)
{
    json_object_set_new(o, k, json_integer(v));
}

/* The flash sale after an order of its product: over once its units are sold (the price goes
 * back to the product's), else showing the units left, never more than the stock. */
static void flash_after_order(json_t *snap, const json_t *p, const json_t *ev)
{
    json_t *f = json_object_get(snap, "flash");
    int64_t left = jint(ev, "flash_left"), stock = jint(ev, "stock");

    if (!json_is_object(f) || !json_object_get(ev, "flash_left"))
        return;
    if (left <= 0) {
        json_object_del(snap, "flash");
        set_int(snap, "price", jint(p, "price"));
    } else {
        set_int(f, "left", left < stock ? left : stock);
    }
}

/* An order's event carries only what it changed (docs/COMMERCE.md). Applied to the snapshot it
 * follows, the one whose seq is one less, it makes the snapshot Redis would make; after a gap
 * (or while a snapshot waits for its image) there is nothing to apply it to: NULL. */
static json_t *after_order(const rl_shop_t *sh, const json_t *ev)
{
    json_t *snap, *p;

    if (!sh->snap || sh->held || (uint64_t)jint(ev, "seq") != sh->seq + 1 ||
        !(snap = json_deep_copy(sh->snap)))
        return NULL;
    set_int(snap, "seq", jint(ev, "seq"));
    p = json_object_get(snap, "product");
    if (json_is_true(json_object_get(snap, "pinned")) &&
        !strcmp(jstr(p, "id"), jstr(ev, "product"))) {
        set_int(p, "sold", jint(ev, "sold"));
        set_int(p, "stock", jint(ev, "stock"));
        set_int(p, "revenue", jint(p, "revenue") + jint(ev, "qty") * jint(ev, "price"));
        flash_after_order(snap, p, ev);
    }
    return snap;
}

static void on_order_event(rl_server_t *srv, rl_shop_t *sh, const json_t *ev)
{
    json_t *snap;

    if ((uint64_t)jint(ev, "seq") <= sh->seq && sh->snap)
        return; /* already in the snapshot */
    if (!(snap = after_order(sh, ev))) {
        reload(srv, sh);
        return;
    }
    apply(srv, sh, snap);
    json_decref(snap);
}

void rl__shop_on_event(void *owner, const char *channel, const char *payload, size_t len)
{
    rl_server_t *srv = owner;
    char id[32];
    json_t *ev;
    rl_shop_t *sh;

    if (channel_id(srv, channel, id, sizeof(id)) < 0 || !rl_stream_find(srv, id))
        return; /* another prefix's, or a stream this relay does not host */
    srv->commerce->nevents++;
    if (!(ev = json_loadb(payload, len, 0, NULL))) {
        rl_warn("card_event", "stream=%s msg=\"event is not JSON\"", id);
        return;
    }
    sh = shop_get(srv->commerce, id);
    if (!strcmp(jstr(ev, "type"), "order") && srv->on_order)
        srv->on_order(srv, id, jstr(ev, "product"), jint(ev, "qty"));
    if (sh && !strcmp(jstr(ev, "type"), "order"))
        on_order_event(srv, sh, ev);
    else if (sh)
        apply(srv, sh, json_object_get(ev, "state"));
    json_decref(ev);
}

static void on_state(void *owner, uint64_t token, int rc, redisReply *reply)
{
    rl_server_t *srv = owner;
    rl_shop_t *sh = srv->commerce ? shop_find(srv->commerce, NULL, token) : NULL;
    json_t *snap;

    if (!sh)
        return;
    sh->loading = 0;
    if (rc < 0 || !reply || reply->type != REDIS_REPLY_STRING)
        return; /* down (reloaded on reconnect) or NOSTREAM (the stream is being deleted) */
    if (!(snap = json_loadb(reply->str, reply->len, 0, NULL)))
        return;
    apply(srv, sh, snap);
    json_decref(snap);
}

static void reload(rl_server_t *srv, rl_shop_t *sh)
{
    char key[512];
    const char *argv[4] = { "FCALL_RO", "shopcast_state", "1", key };

    rl_commerce_key(srv, sh->id, key, sizeof(key));
    if (!sh->loading && rl_redis_cmd(srv->redis, on_state, srv, sh->uid, 4, argv) == 0) {
        sh->loading = 1;
        srv->commerce->nreloads++;
    }
}

void rl__shop_reload_all(rl_server_t *srv)
{
    rl_commerce_t *c = srv->commerce;
    rl_shop_t *sh;

    for (int i = 0; c && i < srv->nstreams; i++) {
        if (!(sh = shop_get(c, srv->streams[i]->id)))
            continue;
        sh->loaded = 0;
        reload(srv, sh);
    }
}

void rl_commerce_tick(rl_server_t *srv)
{
    rl_commerce_t *c = srv->commerce;
    int64_t now = wall_ms();
    rl_shop_t *sh;

    if (!c || !rl_redis_ready(srv->redis))
        return;
    if (!c->lib_ready && !c->lib_loading)
        rl__commerce_load(srv);
    if (!rl_redis_ready(c->sub))
        return;
    for (int i = 0; i < c->nshops; i++) {
        if (rl_stream_find(srv, c->shops[i]->id))
            continue;
        rl__shop_free(&c->shops[i]);
        c->shops[i--] = c->shops[--c->nshops];
    }
    for (int i = 0; i < srv->nstreams; i++) {
        if (!(sh = shop_get(c, srv->streams[i]->id)))
            continue;
        if (sh->flash_ends_ms && now >= sh->flash_ends_ms) {
            sh->flash_ends_ms = 0; /* ended by its clock: Redis's snapshot no longer has it */
            sh->loaded = 0;
        }
        if (!sh->loaded)
            reload(srv, sh);
    }
}

const json_t *rl_commerce_snapshot(const rl_server_t *srv, const char *id)
{
    rl_shop_t *sh = srv->commerce ? shop_find(srv->commerce, id, 0) : NULL;

    return sh ? sh->snap : NULL;
}

void rl__shop_durability(rl_commerce_t *c, const char *aof, const char *fsync)
{
    if (!strcmp(c->aof, aof) && !strcmp(c->fsync, fsync))
        return;
    av_strlcpy(c->aof, aof, sizeof(c->aof));
    av_strlcpy(c->fsync, fsync, sizeof(c->fsync));
    if (strcmp(aof, "yes"))
        rl_warn("redis_durability",
                "appendonly=%s msg=\"Redis keeps orders in memory only: a "
                "crash loses every acknowledged order since its last snapshot\"",
                aof);
    else if (strcmp(fsync, "always"))
        rl_warn("redis_durability",
                "appendfsync=%s msg=\"up to a second of acknowledged orders "
                "can be lost in a crash; appendfsync always makes every acknowledged order "
                "durable\"",
                fsync);
    else
        rl_info("redis_durability", "appendonly=yes appendfsync=always");
}
