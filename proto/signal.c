/* Signalling protocol messages (shopcast.v1, proto/SIGNAL.md): encode the server's, parse the
 * client's.
 *
 * Invariants: every encoder's output is one compact JSON object, UTF-8 kept as is, every string
 * escaped by jansson's writer; sig_parse_client fills *out only with values that passed their
 * check (an id [a-z0-9]{1,31}, sizes under the buffers, an epoch of printable ASCII). */
#include "proto/signal.h"

#include <math.h>
#include <string.h>

#include <jansson.h>

/* ---- codes and names ---- */

static const char *const err_codes[] = {
    [-SIG_E_BAD_JSON] = "bad_json",
    [-SIG_E_BAD_MESSAGE] = "bad_message",
    [-SIG_E_UNKNOWN_TYPE] = "unknown_type",
    [-SIG_E_NOT_SUBSCRIBED] = "not_subscribed",
    [-SIG_E_ALREADY_SUBSCRIBED] = "already_subscribed",
    [-SIG_E_UNKNOWN_STREAM] = "unknown_stream",
    [-SIG_E_FORBIDDEN] = "forbidden",
};
#define NCODES (int)(sizeof(err_codes) / sizeof(err_codes[0]))

const char *sig_error_code(int err)
{
    return err < 0 && err > -NCODES ? err_codes[-err] : "internal";
}

static const char *const state_names[] = {
    [SIG_OFFLINE] = "offline",
    [SIG_LIVE] = "live",
    [SIG_SLATE] = "slate",
    [SIG_ENDED] = "ended",
};

const char *sig_state_name(sig_state_t s)
{
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "offline";
}

static const char *role_name(sig_role_t r)
{
    return r == SIG_OPERATOR ? "operator" : "viewer";
}

/* ---- JSON values ---- */

static const char *str(const char *s)
{
    return s ? s : "";
}

static json_int_t i64(int64_t v)
{
    return (json_int_t)v;
}

/* JSON integers are int64 in jansson: a uint64 past that (never reached by offsets, msns or seqs)
 * is clamped rather than turned negative. */
static json_int_t u64(uint64_t v)
{
    return v > INT64_MAX ? INT64_MAX : (json_int_t)v;
}

/* JSON has no NaN or infinity (RFC 8259 6): those become null. */
static json_t *real(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* Takes ownership of o; the compact text, its length in *len. Reals keep 6 significant digits:
 * durations and rates, not 17 digits of binary noise (0.33333333333333337) in every message. */
static char *finish(json_t *o, size_t *len)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;

    json_decref(o);
    if (s && len)
        *len = strlen(s);
    return s;
}

/* Adds key: v to o and returns o; takes ownership of both, so on any failure (o or v NULL
 * included) both are freed and NULL is returned. Lets an object be built in one chain. */
static json_t *with(json_t *o, const char *key, json_t *v)
{
    if (json_object_set_new(o, key, v)) { /* frees v, also when o is NULL */
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The head of a stream event: its type, then stream, epoch and offset. */
static json_t *event(const char *type, const sig_head_t *h)
{
    return json_pack("{s:s, s:s, s:s, s:I}", "type", type, "stream", str(h->stream), "epoch",
                     str(h->epoch), "offset", u64(h->offset));
}

/* Adds the stamp of the frame that shows the change: seq, pts_ms, pdt_ms. Takes ownership of o. */
static json_t *stamped(json_t *o, const sig_stamp_t *s)
{
    o = with(o, "seq", json_integer(u64(s->seq)));
    o = with(o, "pts_ms", json_integer(i64(s->pts_ms)));
    return with(o, "pdt_ms", json_integer(i64(s->pdt_ms)));
}

/* Adds every member of more to o; takes ownership of both (NULL on failure). */
static json_t *merge(json_t *o, json_t *more)
{
    if (!o || !more || json_object_update(o, more)) {
        json_decref(o);
        o = NULL;
    }
    json_decref(more);
    return o;
}

static json_t *stamp_json(const sig_stamp_t *s)
{
    return s ? stamped(json_object(), s) : json_null();
}

static const char *product_id(const sig_card_t *c)
{
    return c->pinned && c->product_id && c->product_id[0] ? c->product_id : NULL;
}

/* ---- the card ---- */

static json_t *card_product(const sig_card_t *c)
{
    if (!c->pinned)
        return json_null();
    return json_pack("{s:s, s:s, s:s, s:I, s:I}", "id", str(c->product_id), "name", str(c->name),
                     "currency", str(c->currency), "price", i64(c->price), "regular_price",
                     i64(c->regular_price));
}

static json_t *card_flash(const sig_card_t *c)
{
    if (!c->pinned || !c->flash)
        return json_null();
    return json_pack("{s:I, s:I, s:I}", "price", i64(c->flash_price), "ends_ms",
                     i64(c->flash_ends_ms), "left", i64(c->flash_left));
}

static json_t *card_json(const sig_card_t *c)
{
    if (!c)
        return json_null();
    return json_pack("{s:b, s:o, s:I, s:I, s:o}", "pinned", c->pinned != 0, "product",
                     card_product(c), "sold", i64(c->sold), "stock", i64(c->stock), "flash",
                     card_flash(c));
}

/* ---- media notices ---- */

/* A part (with its index and whether it is independent) or a segment, without type or stream. */
static json_t *media_json(const sig_part_t *p, int is_part)
{
    json_t *o = json_pack("{s:s, s:I, s:o}", "rung", str(p->rung), "msn", u64(p->msn), "duration",
                          real(p->duration));

    if (p->ready_ms)
        o = with(o, "ready_ms", json_integer(i64(p->ready_ms)));
    if (!is_part)
        return o;
    o = with(o, "part", json_integer(p->part));
    return with(o, "independent", json_boolean(p->independent));
}

static json_t *media_or_null(const sig_part_t *p, int is_part)
{
    return p ? media_json(p, is_part) : json_null();
}

static char *encode_media(const char *type, const char *stream, const sig_part_t *p, int is_part,
                          size_t *len)
{
    json_t *o = json_pack("{s:s, s:s}", "type", type, "stream", str(stream));

    return finish(merge(o, media_json(p, is_part)), len);
}

char *sig_encode_part(const char *stream, const sig_part_t *p, size_t *len)
{
    return encode_media("part", stream, p, 1, len);
}

char *sig_encode_segment(const char *stream, const sig_part_t *p, size_t *len)
{
    return encode_media("segment", stream, p, 0, len);
}

/* ---- health ---- */

static json_t *rung_health_json(const sig_rung_health_t *r)
{
    return json_pack("{s:s, s:o, s:o, s:o}", "name", str(r->name), "speed", real(r->speed),
                     "part_ready_p50_ms", real(r->part_ready_p50_ms), "part_ready_p95_ms",
                     real(r->part_ready_p95_ms));
}

static json_t *rungs_health_json(const sig_health_t *m)
{
    json_t *a = json_array();

    for (int i = 0; a && i < m->nrungs; i++)
        if (json_array_append_new(a, rung_health_json(&m->rungs[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* The figures of a health message, without type or stream (also hello's "health"). */
static json_t *health_json(const sig_health_t *m)
{
    json_t *ingest = json_pack("{s:o, s:o, s:I, s:I, s:s, s:i, s:i}", "kbps", real(m->kbps), "fps",
                               real(m->fps), "keyframe_interval_ms", i64(m->keyframe_interval_ms),
                               "dropped_frames", u64(m->dropped_frames), "codec", str(m->codec),
                               "width", m->width, "height", m->height);

    return json_pack("{s:o, s:o, s:o, s:I, s:I}", "ingest", ingest, "rungs", rungs_health_json(m),
                     "orders_per_minute", real(m->orders_per_minute), "viewers", i64(m->viewers),
                     "uptime_s", i64(m->uptime_s));
}

char *sig_encode_health(const char *stream, const sig_health_t *m, size_t *len)
{
    json_t *o = json_pack("{s:s, s:s}", "type", "health", "stream", str(stream));

    return finish(merge(o, health_json(m)), len);
}

/* ---- hello and resumed ---- */

static json_t *names_json(const char *const *names, int n)
{
    json_t *a = json_array();

    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(str(names[i])))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* What follows the head of a hello: the live edge's card and media, the viewers, the clock. */
static json_t *hello_edge(const sig_hello_t *m)
{
    return json_pack("{s:o, s:o, s:I, s:o, s:o, s:o, s:I}", "card", card_json(m->card), "stamp",
                     stamp_json(m->stamp), "viewers", i64(m->viewers), "rungs",
                     names_json(m->rungs, m->nrungs), "last_part", media_or_null(m->last_part, 1),
                     "last_segment", media_or_null(m->last_segment, 0), "server_ms",
                     i64(m->server_ms));
}

char *sig_encode_hello(const sig_hello_t *m, size_t *len)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s}", "type", "hello", "stream",
                          str(m->stream), "role", role_name(m->role), "epoch", str(m->epoch),
                          "offset", u64(m->offset), "state", sig_state_name(m->state), "since_ms",
                          i64(m->since_ms), "title", str(m->title));

    o = merge(o, hello_edge(m));
    if (m->recovered_false)
        o = with(o, "recovered", json_false());
    if (m->health)
        o = with(o, "health", health_json(m->health));
    return finish(o, len);
}

char *sig_encode_resumed(const char *stream, const char *epoch, uint64_t from, uint64_t to,
                         size_t *len)
{
    return finish(json_pack("{s:s, s:s, s:b, s:s, s:I, s:I}", "type", "resumed", "stream",
                            str(stream), "recovered", 1, "epoch", str(epoch), "from", u64(from),
                            "offset", u64(to)),
                  len);
}

/* ---- stream events ---- */

char *sig_encode_stream(const sig_head_t *h, sig_state_t state, int64_t since_ms, size_t *len)
{
    json_t *more =
        json_pack("{s:s, s:I}", "state", sig_state_name(state), "since_ms", i64(since_ms));

    return finish(merge(event("stream", h), more), len);
}

char *sig_encode_product(const sig_head_t *h, const sig_stamp_t *s, const sig_card_t *c,
                         size_t *len)
{
    json_t *more = json_pack("{s:o}", "card", card_json(c));

    return finish(merge(stamped(event("product", h), s), more), len);
}

char *sig_encode_price(const sig_head_t *h, const sig_stamp_t *s, const sig_card_t *c, size_t *len)
{
    json_t *more =
        json_pack("{s:s?, s:I, s:I, s:s}", "product", product_id(c), "price", i64(c->price),
                  "regular_price", i64(c->regular_price), "currency", str(c->currency));

    return finish(merge(stamped(event("price", h), s), more), len);
}

char *sig_encode_flash_sale(const sig_head_t *h, const sig_stamp_t *s, const sig_card_t *c,
                            size_t *len)
{
    json_t *more = json_pack("{s:s?, s:b, s:I, s:I, s:I}", "product", product_id(c), "active",
                             c->flash != 0, "price", i64(c->flash_price), "ends_ms",
                             i64(c->flash_ends_ms), "left", i64(c->flash_left));

    return finish(merge(stamped(event("flash_sale", h), s), more), len);
}

char *sig_encode_sold(const sig_head_t *h, const sig_stamp_t *s, const sig_card_t *c, size_t *len)
{
    json_t *more = json_pack("{s:s?, s:I, s:I}", "product", product_id(c), "sold", i64(c->sold),
                             "stock", i64(c->stock));

    /* an order at the flash price also takes one of the sale's units */
    if (c->pinned && c->flash)
        more = with(more, "left", json_integer(i64(c->flash_left)));
    return finish(merge(stamped(event("sold", h), s), more), len);
}

char *sig_encode_viewers(const sig_head_t *h, int64_t count, size_t *len)
{
    return finish(merge(event("viewers", h), json_pack("{s:I}", "count", i64(count))), len);
}

char *sig_encode_order(const sig_head_t *h, const char *product, const char *name, int64_t qty,
                       size_t *len)
{
    json_t *more =
        json_pack("{s:s, s:s, s:I}", "product", str(product), "name", str(name), "qty", i64(qty));

    return finish(merge(event("order", h), more), len);
}

/* ---- pong and error ---- */

char *sig_encode_pong(const char *ping_id, int64_t server_ms, size_t *len)
{
    json_t *o = json_pack("{s:s}", "type", "pong");

    /* The id is the JSON text sig_parse_client kept: read back as the value to echo. */
    if (ping_id && ping_id[0])
        o = with(o, "id", json_loads(ping_id, JSON_DECODE_ANY, NULL));
    return finish(with(o, "server_ms", json_integer(i64(server_ms))), len);
}

char *sig_encode_error(int err, const char *message, size_t *len)
{
    return finish(json_pack("{s:s, s:s, s:s}", "type", "error", "code", sig_error_code(err),
                            "message", str(message)),
                  len);
}

/* ---- parsing ---- */

static int valid_id(const char *s, size_t n)
{
    return n > 0 && n < SIG_ID_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

static int any_text(const char *s, size_t n)
{
    (void)s;
    (void)n;
    return 1;
}

/* An epoch is ours (a short token): printable ASCII only, so it can be logged and compared. */
static int printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

/* Copies the string member key into dst (cap bytes with its NUL) if ok says it may be one.
 * Returns 1 copied, 0 absent, SIG_E_BAD_MESSAGE. jansson refuses \u0000 (no JSON_ALLOW_NUL), so
 * the length is the C string's. */
static int get_string(const json_t *root, const char *key, char *dst, size_t cap,
                      int (*ok)(const char *s, size_t n))
{
    const json_t *v = json_object_get(root, key);
    size_t n;

    if (!v)
        return 0;
    if (!json_is_string(v))
        return SIG_E_BAD_MESSAGE;
    n = json_string_length(v);
    if (n >= cap || !ok(json_string_value(v), n))
        return SIG_E_BAD_MESSAGE;
    memcpy(dst, json_string_value(v), n + 1);
    return 1;
}

static int get_role(const json_t *root, sig_role_t *role)
{
    const json_t *v = json_object_get(root, "role");
    const char *s = json_string_value(v);

    if (!v)
        return 0;
    if (s && !strcmp(s, "viewer"))
        *role = SIG_VIEWER;
    else if (s && !strcmp(s, "operator"))
        *role = SIG_OPERATOR;
    else
        return SIG_E_BAD_MESSAGE;
    return 0;
}

/* The fields of a subscribe: stream (required or not), role, token. */
static int get_subscription(const json_t *root, sig_client_t *out, int need_stream)
{
    int rc = get_string(root, "stream", out->stream, sizeof(out->stream), valid_id);

    if (rc < 0 || (rc == 0 && need_stream))
        return SIG_E_BAD_MESSAGE;
    out->has_stream = rc;
    if (get_role(root, &out->role) < 0)
        return SIG_E_BAD_MESSAGE;
    rc = get_string(root, "token", out->token, sizeof(out->token), any_text);
    return rc < 0 ? rc : 0;
}

static int parse_subscribe(const json_t *root, sig_client_t *out)
{
    return get_subscription(root, out, 1);
}

static int parse_resume(const json_t *root, sig_client_t *out)
{
    const json_t *off = json_object_get(root, "offset");

    if (get_string(root, "epoch", out->epoch, sizeof(out->epoch), printable) != 1)
        return SIG_E_BAD_MESSAGE;
    if (!json_is_integer(off) || json_integer_value(off) < 0)
        return SIG_E_BAD_MESSAGE;
    out->offset = (uint64_t)json_integer_value(off);
    return get_subscription(root, out, 0);
}

/* The id is kept as its compact JSON text, UTF-8 as is, so that pong echoes what was sent. */
static int parse_ping(const json_t *root, sig_client_t *out)
{
    const json_t *id = json_object_get(root, "id");
    size_t n;

    if (!id)
        return 0;
    if (!json_is_number(id) && !(json_is_string(id) && json_string_length(id) <= SIG_PING_ID_MAX))
        return SIG_E_BAD_MESSAGE;
    n = json_dumpb(id, out->ping_id, sizeof(out->ping_id) - 1, JSON_COMPACT | JSON_ENCODE_ANY);
    if (n == 0 || n >= sizeof(out->ping_id))
        return SIG_E_BAD_MESSAGE;
    out->ping_id[n] = '\0';
    return 0;
}

static const struct {
    const char *name;
    sig_ctype_t type;
    int (*parse)(const json_t *root, sig_client_t *out);
} client_types[] = {
    { "subscribe", SIG_SUBSCRIBE, parse_subscribe },
    { "resume", SIG_RESUME, parse_resume },
    { "ping", SIG_PING, parse_ping },
};

static int parse_object(const json_t *root, sig_client_t *out)
{
    const char *type = json_string_value(json_object_get(root, "type"));

    if (!type)
        return SIG_E_BAD_MESSAGE;
    for (size_t i = 0; i < sizeof(client_types) / sizeof(client_types[0]); i++)
        if (!strcmp(type, client_types[i].name)) {
            out->type = client_types[i].type;
            return client_types[i].parse(root, out);
        }
    return SIG_E_UNKNOWN_TYPE;
}

int sig_parse_client(const char *buf, size_t len, sig_client_t *out)
{
    json_error_t jerr;
    json_t *root;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!buf || len > SIG_CLIENT_MAX)
        return SIG_E_BAD_JSON;
    /* Nesting is bounded by jansson (JSON_PARSER_MAX_DEPTH, 2048) and by the 4,096 bytes. */
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) /* a number too big for int64 is JSON all the same, but no field of ours */
        return json_error_code(&jerr) == json_error_numeric_overflow ? SIG_E_BAD_MESSAGE
                                                                     : SIG_E_BAD_JSON;
    rc = json_is_object(root) ? parse_object(root, out) : SIG_E_BAD_JSON;
    json_decref(root);
    if (rc < 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ---- what a card change makes, and merging ---- */

static int same_str(const char *a, const char *b)
{
    return !strcmp(str(a), str(b));
}

static int same_product(const sig_card_t *a, const sig_card_t *b)
{
    if (!a->pinned || !b->pinned)
        return a->pinned == b->pinned;
    return same_str(a->product_id, b->product_id) && same_str(a->name, b->name) &&
           same_str(a->currency, b->currency);
}

static int same_flash(const sig_card_t *a, const sig_card_t *b)
{
    if (!a->flash || !b->flash)
        return !a->flash == !b->flash;
    return a->flash_price == b->flash_price && a->flash_ends_ms == b->flash_ends_ms;
}

/* A product event carries the whole card, so it stands for every other change with it; two
 * unpinned cards show nothing, whatever their figures. */
unsigned sig_card_changes(const sig_card_t *prev, const sig_card_t *next)
{
    unsigned set = 0;

    if (!prev || !same_product(prev, next))
        return SIG_CHANGE_PRODUCT;
    if (!next->pinned)
        return 0;
    if (prev->price != next->price || prev->regular_price != next->regular_price)
        set |= SIG_CHANGE_PRICE;
    if (!same_flash(prev, next))
        set |= SIG_CHANGE_FLASH;
    if (prev->sold != next->sold || prev->stock != next->stock ||
        (prev->flash && next->flash && prev->flash_left != next->flash_left))
        set |= SIG_CHANGE_SOLD;
    return set;
}

int sig_merge_offer(sig_merge_t *m, int64_t now_ms, int64_t interval_ms, int64_t *due_ms)
{
    if (m->last_ms == 0 || now_ms - m->last_ms >= interval_ms) {
        m->last_ms = now_ms;
        m->pending = 0;
        return 1;
    }
    m->pending = 1;
    if (due_ms)
        *due_ms = m->last_ms + interval_ms;
    return 0;
}

int sig_merge_due(sig_merge_t *m, int64_t now_ms, int64_t interval_ms)
{
    if (!m->pending || now_ms < m->last_ms + interval_ms)
        return 0;
    m->last_ms = now_ms;
    m->pending = 0;
    return 1;
}
