/* Unit tests for proto/signal.c: every server message read back with jansson, field by field and
 * type by type; every path of the client parser; card change sets; merging.
 *
 * The expected values are the ones the tests put in, never ones read from the encoder. */
#include <criterion/criterion.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/signal.h"

/* Quotes, backslashes, markup, control characters and Chinese text: data, all of it. */
#define HOSTILE "a\"b\\c <img src=x onerror=alert(1)> \x01\x1f\n\t\x7f \xe8\x9c\x82\xe8\x9c\x9c"

/* ---- reading the output back ---- */

/* Takes ownership of text: parses it as one JSON object, checking *len (read after the encoder
 * has set it) and compactness. */
static json_t *decoded(char *text, const size_t *lenp)
{
    json_error_t err;
    size_t len = *lenp;
    json_t *o;

    cr_assert_not_null(text);
    cr_assert_eq(strlen(text), len);
    cr_expect_null(strstr(text, "\": "), "not compact: %s", text);
    o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    cr_assert_not_null(o, "%s: %s", err.text, text);
    cr_assert(json_is_object(o), "%s", text);
    free(text);
    return o;
}

static const json_t *member(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    cr_assert_not_null(v, "no \"%s\"", key);
    return v;
}

static void expect_str(const json_t *o, const char *key, const char *want)
{
    const json_t *v = member(o, key);

    cr_assert(json_is_string(v), "\"%s\" is not a string", key);
    cr_expect_str_eq(json_string_value(v), want, "\"%s\"", key);
}

static void expect_int(const json_t *o, const char *key, json_int_t want)
{
    const json_t *v = member(o, key);

    cr_assert(json_is_integer(v), "\"%s\" is not an integer", key);
    cr_expect_eq(json_integer_value(v), want, "\"%s\": %lld", key, json_integer_value(v));
}

static void expect_real(const json_t *o, const char *key, double want)
{
    const json_t *v = member(o, key);

    cr_assert(json_is_real(v), "\"%s\" is not a real", key);
    cr_expect_eq(json_real_value(v), want, "\"%s\"", key);
}

static void expect_bool(const json_t *o, const char *key, int want)
{
    const json_t *v = member(o, key);

    cr_assert(json_is_boolean(v), "\"%s\" is not a bool", key);
    cr_expect_eq(json_is_true(v), want, "\"%s\"", key);
}

static void expect_null(const json_t *o, const char *key)
{
    cr_expect(json_is_null(member(o, key)), "\"%s\" is not null", key);
}

static void expect_size(const json_t *o, size_t n)
{
    cr_expect_eq(json_object_size(o), n, "%zu members, not %zu", json_object_size(o), n);
}

/* A transient message of n members: its type, and the stream it is about. */
static void expect_notice(const json_t *o, const char *type, size_t n)
{
    expect_size(o, n);
    expect_str(o, "type", type);
    expect_str(o, "stream", "shop1");
}

/* A stream event of n members: type, stream, epoch, offset. */
static void expect_head(const json_t *o, const char *type, size_t n)
{
    expect_size(o, n);
    expect_str(o, "type", type);
    expect_str(o, "stream", "shop1");
    expect_str(o, "epoch", "e-42");
    expect_int(o, "offset", 9001);
}

static void expect_stamp(const json_t *o)
{
    expect_int(o, "seq", 77);
    expect_int(o, "pts_ms", 123456);
    expect_int(o, "pdt_ms", 1795960800123);
}

/* ---- fixtures ---- */

static const sig_head_t head = { "shop1", "e-42", 9001 };
static const sig_stamp_t stamp = { 77, 123456, 1795960800123 };

static sig_card_t card(void)
{
    return (sig_card_t){ .pinned = 1,
                         .product_id = "honey",
                         .name = "Honey 500 g",
                         .currency = "EUR",
                         .price = 899,
                         .regular_price = 1299,
                         .sold = 12,
                         .stock = 88,
                         .flash = 1,
                         .flash_price = 899,
                         .flash_ends_ms = 1795960900000,
                         .flash_left = 30 };
}

static const sig_part_t part = { "720p", 1234, 3, 0.33366, 1, 0 };
static const sig_part_t segment = { "360p", 1233, -1, 2.002, 0, 0 };
static const sig_rung_health_t rung_health[] = { { "720p", 1.25, 180.5, 310.25 },
                                                 { "360p", 2.5, 90.0, 150.75 } };

static sig_health_t health(void)
{
    return (sig_health_t){ .kbps = 4500.5,
                           .fps = 29.97,
                           .keyframe_interval_ms = 2000,
                           .dropped_frames = 3,
                           .codec = "h264",
                           .width = 1280,
                           .height = 720,
                           .rungs = rung_health,
                           .nrungs = 2,
                           .orders_per_minute = 4.5,
                           .viewers = 321,
                           .uptime_s = 3600 };
}

/* ---- the card, and the objects hello shares with other messages ---- */

static void expect_card(const json_t *c)
{
    const json_t *p = member(c, "product"), *f = member(c, "flash");

    expect_size(c, 5);
    expect_bool(c, "pinned", 1);
    expect_int(c, "sold", 12);
    expect_int(c, "stock", 88);
    expect_size(p, 5);
    expect_str(p, "id", "honey");
    expect_str(p, "name", "Honey 500 g");
    expect_str(p, "currency", "EUR");
    expect_int(p, "price", 899);
    expect_int(p, "regular_price", 1299);
    expect_size(f, 3);
    expect_int(f, "price", 899);
    expect_int(f, "ends_ms", 1795960900000);
    expect_int(f, "left", 30);
}

static void expect_part(const json_t *o)
{
    expect_str(o, "rung", "720p");
    expect_int(o, "msn", 1234);
    expect_int(o, "part", 3);
    expect_real(o, "duration", 0.33366);
    expect_bool(o, "independent", 1);
}

static void expect_segment(const json_t *o)
{
    expect_str(o, "rung", "360p");
    expect_int(o, "msn", 1233);
    expect_real(o, "duration", 2.002);
    cr_expect_null(json_object_get(o, "part"));
    cr_expect_null(json_object_get(o, "independent"));
}

static void expect_rung_health(const json_t *r, const sig_rung_health_t *want)
{
    expect_size(r, 4);
    expect_str(r, "name", want->name);
    expect_real(r, "speed", want->speed);
    expect_real(r, "part_ready_p50_ms", want->part_ready_p50_ms);
    expect_real(r, "part_ready_p95_ms", want->part_ready_p95_ms);
}

/* The figures of health, without type or stream. */
static void expect_health(const json_t *o)
{
    const json_t *in = member(o, "ingest"), *rungs = member(o, "rungs");

    expect_size(in, 7);
    expect_real(in, "kbps", 4500.5);
    expect_real(in, "fps", 29.97);
    expect_int(in, "keyframe_interval_ms", 2000);
    expect_int(in, "dropped_frames", 3);
    expect_str(in, "codec", "h264");
    expect_int(in, "width", 1280);
    expect_int(in, "height", 720);
    cr_assert(json_is_array(rungs));
    cr_assert_eq(json_array_size(rungs), 2);
    expect_rung_health(json_array_get(rungs, 0), &rung_health[0]);
    expect_rung_health(json_array_get(rungs, 1), &rung_health[1]);
    expect_real(o, "orders_per_minute", 4.5);
    expect_int(o, "viewers", 321);
    expect_int(o, "uptime_s", 3600);
}

/* ---- encoders ---- */

static const char *const rung_names[] = { "720p", "360p" };

Test(signal_encode, hello_carries_every_field_of_the_live_edge)
{
    sig_card_t c = card();
    sig_health_t h = health();
    sig_hello_t m = { .stream = "shop1",
                      .role = SIG_OPERATOR,
                      .epoch = "e-42",
                      .offset = 9001,
                      .state = SIG_LIVE,
                      .since_ms = 1795960000000,
                      .title = "Spring sale",
                      .card = &c,
                      .stamp = &stamp,
                      .viewers = 321,
                      .rungs = rung_names,
                      .nrungs = 2,
                      .last_part = &part,
                      .last_segment = &segment,
                      .server_ms = 1795960801000,
                      .recovered_false = 1,
                      .health = &h };
    size_t len;
    json_t *o = decoded(sig_encode_hello(&m, &len), &len), *rungs;

    expect_head(o, "hello", 17);
    expect_str(o, "role", "operator");
    expect_str(o, "state", "live");
    expect_int(o, "since_ms", 1795960000000);
    expect_str(o, "title", "Spring sale");
    expect_card(member(o, "card"));
    expect_size(member(o, "stamp"), 3);
    expect_stamp(member(o, "stamp"));
    expect_int(o, "viewers", 321);
    rungs = json_object_get(o, "rungs");
    cr_assert(json_is_array(rungs));
    cr_assert_eq(json_array_size(rungs), 2);
    cr_expect_str_eq(json_string_value(json_array_get(rungs, 0)), "720p");
    cr_expect_str_eq(json_string_value(json_array_get(rungs, 1)), "360p");
    expect_size(member(o, "last_part"), 5);
    expect_part(member(o, "last_part"));
    expect_size(member(o, "last_segment"), 3);
    expect_segment(member(o, "last_segment"));
    expect_int(o, "server_ms", 1795960801000);
    expect_bool(o, "recovered", 0);
    expect_size(member(o, "health"), 5);
    expect_health(member(o, "health"));
    json_decref(o);
}

Test(signal_encode, hello_of_an_empty_stream_has_nulls_and_no_extras)
{
    sig_hello_t m = { .stream = "shop1",
                      .role = SIG_VIEWER,
                      .epoch = "e-42",
                      .offset = 0,
                      .state = SIG_OFFLINE,
                      .title = NULL };
    size_t len;
    json_t *o = decoded(sig_encode_hello(&m, &len), &len);

    expect_size(o, 15);
    expect_str(o, "role", "viewer");
    expect_int(o, "offset", 0);
    expect_str(o, "state", "offline");
    expect_str(o, "title", "");
    expect_null(o, "card");
    expect_null(o, "stamp");
    cr_expect(json_is_array(member(o, "rungs")));
    cr_expect_eq(json_array_size(member(o, "rungs")), 0);
    expect_null(o, "last_part");
    expect_null(o, "last_segment");
    cr_expect_null(json_object_get(o, "recovered"));
    cr_expect_null(json_object_get(o, "health"));
    json_decref(o);
}

Test(signal_encode, resumed_says_recovered_and_the_range)
{
    size_t len;
    json_t *o = decoded(sig_encode_resumed("shop1", "e-42", 9001, 9010, &len), &len);

    expect_notice(o, "resumed", 6);
    expect_bool(o, "recovered", 1);
    expect_str(o, "epoch", "e-42");
    expect_int(o, "from", 9001);
    expect_int(o, "offset", 9010);
    json_decref(o);
}

Test(signal_encode, part_notice)
{
    size_t len;
    json_t *o = decoded(sig_encode_part("shop1", &part, &len), &len);

    expect_notice(o, "part", 7);
    expect_part(o);
    json_decref(o);
}

Test(signal_encode, segment_notice)
{
    size_t len;
    json_t *o = decoded(sig_encode_segment("shop1", &segment, &len), &len);

    expect_notice(o, "segment", 5);
    expect_segment(o);
    json_decref(o);
}

/* ready_ms (optional): when the part became servable; absent when 0. */
Test(signal_encode, part_ready_ms)
{
    sig_part_t p = part;
    size_t len;
    json_t *o;

    p.ready_ms = 1795960812345;
    o = decoded(sig_encode_part("shop1", &p, &len), &len);
    expect_notice(o, "part", 8);
    expect_part(o);
    expect_int(o, "ready_ms", 1795960812345);
    json_decref(o);
    o = decoded(sig_encode_part("shop1", &part, &len), &len);
    cr_expect_null(json_object_get(o, "ready_ms"));
    json_decref(o);
}

Test(signal_encode, segment_ready_ms)
{
    sig_part_t s = segment;
    size_t len;
    json_t *o;

    s.ready_ms = 1795960812001;
    o = decoded(sig_encode_segment("shop1", &s, &len), &len);
    expect_notice(o, "segment", 6);
    expect_segment(o);
    expect_int(o, "ready_ms", 1795960812001);
    json_decref(o);
}

Test(signal_encode, stream_state)
{
    size_t len;
    json_t *o = decoded(sig_encode_stream(&head, SIG_SLATE, 1795960000000, &len), &len);

    expect_head(o, "stream", 6);
    expect_str(o, "state", "slate");
    expect_int(o, "since_ms", 1795960000000);
    json_decref(o);
}

Test(signal_encode, product_is_stamped_and_carries_the_card)
{
    sig_card_t c = card();
    size_t len;
    json_t *o = decoded(sig_encode_product(&head, &stamp, &c, &len), &len);

    expect_head(o, "product", 8);
    expect_stamp(o);
    expect_card(member(o, "card"));
    json_decref(o);
}

Test(signal_encode, unpinned_card_has_null_product_and_flash)
{
    sig_card_t c = { .pinned = 0, .flash = 1, .flash_price = 5 };
    size_t len;
    json_t *o = decoded(sig_encode_product(&head, &stamp, &c, &len), &len);
    const json_t *k = member(o, "card");

    expect_size(k, 5);
    expect_bool(k, "pinned", 0);
    expect_null(k, "product");
    expect_null(k, "flash");
    expect_int(k, "sold", 0);
    expect_int(k, "stock", 0);
    json_decref(o);
}

Test(signal_encode, card_without_a_flash_sale_has_null_flash)
{
    sig_card_t c = card();
    size_t len;
    json_t *o;

    c.flash = 0;
    o = decoded(sig_encode_product(&head, &stamp, &c, &len), &len);
    expect_null(member(o, "card"), "flash");
    expect_str(member(member(o, "card"), "product"), "id", "honey");
    json_decref(o);
}

Test(signal_encode, price)
{
    sig_card_t c = card();
    size_t len;
    json_t *o = decoded(sig_encode_price(&head, &stamp, &c, &len), &len);

    expect_head(o, "price", 11);
    expect_stamp(o);
    expect_str(o, "product", "honey");
    expect_int(o, "price", 899);
    expect_int(o, "regular_price", 1299);
    expect_str(o, "currency", "EUR");
    json_decref(o);
}

Test(signal_encode, flash_sale_running)
{
    sig_card_t c = card();
    size_t len;
    json_t *o = decoded(sig_encode_flash_sale(&head, &stamp, &c, &len), &len);

    expect_head(o, "flash_sale", 12);
    expect_stamp(o);
    expect_str(o, "product", "honey");
    expect_bool(o, "active", 1);
    expect_int(o, "price", 899);
    expect_int(o, "ends_ms", 1795960900000);
    expect_int(o, "left", 30);
    json_decref(o);
}

Test(signal_encode, flash_sale_ended)
{
    sig_card_t c = card();
    size_t len;
    json_t *o;

    c.flash = 0;
    o = decoded(sig_encode_flash_sale(&head, &stamp, &c, &len), &len);
    expect_bool(o, "active", 0);
    expect_str(o, "product", "honey");
    json_decref(o);
}

Test(signal_encode, sold)
{
    sig_card_t c = card();
    size_t len;
    json_t *o = decoded(sig_encode_sold(&head, &stamp, &c, &len), &len);

    expect_head(o, "sold", 11);
    expect_stamp(o);
    expect_str(o, "product", "honey");
    expect_int(o, "sold", 12);
    expect_int(o, "stock", 88);
    expect_int(o, "left", 30); /* the flash sale's units, while it runs */
    json_decref(o);
}

Test(signal_encode, sold_without_a_flash_sale_has_no_units_left)
{
    sig_card_t c = card();
    size_t len;
    json_t *o;

    c.flash = 0;
    o = decoded(sig_encode_sold(&head, &stamp, &c, &len), &len);
    expect_head(o, "sold", 10);
    cr_expect_null(json_object_get(o, "left"));
    json_decref(o);
}

Test(signal_encode, sold_of_an_unpinned_card_names_no_product)
{
    sig_card_t c = { .pinned = 0, .product_id = "honey" };
    size_t len;
    json_t *o = decoded(sig_encode_sold(&head, &stamp, &c, &len), &len);

    expect_null(o, "product");
    json_decref(o);
}

Test(signal_encode, viewers)
{
    size_t len;
    json_t *o = decoded(sig_encode_viewers(&head, 1234567, &len), &len);

    expect_head(o, "viewers", 5);
    expect_int(o, "count", 1234567);
    json_decref(o);
}

Test(signal_encode, order_ticker_line)
{
    size_t len;
    json_t *o = decoded(sig_encode_order(&head, "honey", "Honey 500 g", 2, &len), &len);

    expect_head(o, "order", 7);
    expect_str(o, "product", "honey");
    expect_str(o, "name", "Honey 500 g");
    expect_int(o, "qty", 2);
    json_decref(o);
}

Test(signal_encode, health_figures)
{
    sig_health_t h = health();
    size_t len;
    json_t *o = decoded(sig_encode_health("shop1", &h, &len), &len);

    expect_notice(o, "health", 7);
    expect_health(o);
    json_decref(o);
}

Test(signal_encode, health_figure_that_is_not_finite_is_null)
{
    sig_health_t h = health();
    size_t len;
    json_t *o;

    h.kbps = NAN;
    h.fps = INFINITY;
    o = decoded(sig_encode_health("shop1", &h, &len), &len);
    expect_null(member(o, "ingest"), "kbps");
    expect_null(member(o, "ingest"), "fps");
    json_decref(o);
}

Test(signal_encode, pong_echoes_a_number_id)
{
    size_t len;
    json_t *o = decoded(sig_encode_pong("7", 1795960801000, &len), &len);

    expect_size(o, 3);
    expect_str(o, "type", "pong");
    expect_int(o, "id", 7);
    expect_int(o, "server_ms", 1795960801000);
    json_decref(o);
}

Test(signal_encode, pong_echoes_a_string_id)
{
    size_t len;
    json_t *o = decoded(sig_encode_pong("\"a\\\"\\u0001\xe4\xb8\xad\"", 5, &len), &len);

    expect_str(o, "id", "a\"\x01\xe4\xb8\xad");
    json_decref(o);
}

Test(signal_encode, pong_without_id_omits_it)
{
    size_t len;
    json_t *o = decoded(sig_encode_pong("", 5, &len), &len);

    expect_size(o, 2);
    cr_expect_null(json_object_get(o, "id"));
    expect_int(o, "server_ms", 5);
    json_decref(o);
}

Test(signal_encode, error_with_its_code)
{
    size_t len;
    json_t *o = decoded(sig_encode_error(SIG_E_UNKNOWN_TYPE, "no such type", &len), &len);

    expect_size(o, 3);
    expect_str(o, "type", "error");
    expect_str(o, "code", "unknown_type");
    expect_str(o, "message", "no such type");
    json_decref(o);
}

Test(signal_encode, hostile_strings_survive_as_data)
{
    sig_card_t c = card();
    size_t len;
    json_t *o;
    char *text;

    c.product_id = HOSTILE;
    c.name = HOSTILE;
    c.currency = HOSTILE;
    text = sig_encode_product(&head, &stamp, &c, &len);
    cr_assert_not_null(text);
    /* UTF-8 is kept as is (no \u escapes of Chinese text), quotes are escaped */
    cr_expect_not_null(strstr(text, "\xe8\x9c\x82\xe8\x9c\x9c"));
    cr_expect_not_null(strstr(text, "a\\\"b\\\\c <img"));
    o = decoded(text, &len);
    expect_str(member(member(o, "card"), "product"), "id", HOSTILE);
    expect_str(member(member(o, "card"), "product"), "name", HOSTILE);
    expect_str(member(member(o, "card"), "product"), "currency", HOSTILE);
    json_decref(o);
}

Test(signal_encode, hostile_strings_survive_in_order_hello_and_error)
{
    sig_hello_t m = { .stream = "shop1", .epoch = HOSTILE, .title = HOSTILE };
    size_t len;
    json_t *o = decoded(sig_encode_order(&head, HOSTILE, HOSTILE, 1, &len), &len);

    expect_str(o, "product", HOSTILE);
    expect_str(o, "name", HOSTILE);
    json_decref(o);
    o = decoded(sig_encode_hello(&m, &len), &len);
    expect_str(o, "title", HOSTILE);
    expect_str(o, "epoch", HOSTILE);
    json_decref(o);
    o = decoded(sig_encode_error(SIG_E_BAD_JSON, HOSTILE, &len), &len);
    expect_str(o, "message", HOSTILE);
    json_decref(o);
}

Test(signal_encode, string_that_is_not_utf8_fails_the_message)
{
    size_t len;

    cr_expect_null(sig_encode_order(&head, "honey", "bad \xff\xfe", 1, &len));
}

Test(signal_names, error_codes_table)
{
    static const struct {
        int err;
        const char *code;
    } codes[] = { { SIG_E_BAD_JSON, "bad_json" },
                  { SIG_E_BAD_MESSAGE, "bad_message" },
                  { SIG_E_UNKNOWN_TYPE, "unknown_type" },
                  { SIG_E_NOT_SUBSCRIBED, "not_subscribed" },
                  { SIG_E_ALREADY_SUBSCRIBED, "already_subscribed" },
                  { SIG_E_UNKNOWN_STREAM, "unknown_stream" },
                  { SIG_E_FORBIDDEN, "forbidden" } };

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        cr_expect_str_eq(sig_error_code(codes[i].err), codes[i].code);
}

Test(signal_names, other_errors_are_internal)
{
    cr_expect_str_eq(sig_error_code(0), "internal");
    cr_expect_str_eq(sig_error_code(-8), "internal");
    cr_expect_str_eq(sig_error_code(5), "internal");
    cr_expect_str_eq(sig_error_code(-2147483647 - 1), "internal");
}

Test(signal_names, states)
{
    cr_expect_str_eq(sig_state_name(SIG_OFFLINE), "offline");
    cr_expect_str_eq(sig_state_name(SIG_LIVE), "live");
    cr_expect_str_eq(sig_state_name(SIG_SLATE), "slate");
    cr_expect_str_eq(sig_state_name(SIG_ENDED), "ended");
}

/* ---- the parser ---- */

static int parse(const char *text, sig_client_t *out)
{
    return sig_parse_client(text, strlen(text), out);
}

static void expect_refused(const char *text, int want)
{
    sig_client_t m;
    int rc = parse(text, &m);

    cr_expect_eq(rc, want, "%s: %d, not %d", text, rc, want);
}

Test(signal_parse, subscribe_as_a_viewer_by_default)
{
    sig_client_t m;

    cr_assert_eq(parse("{\"type\":\"subscribe\",\"stream\":\"shop1\"}", &m), 0);
    cr_expect_eq(m.type, SIG_SUBSCRIBE);
    cr_expect_eq(m.has_stream, 1);
    cr_expect_str_eq(m.stream, "shop1");
    cr_expect_eq(m.role, SIG_VIEWER);
    cr_expect_str_eq(m.token, "");
}

Test(signal_parse, subscribe_as_an_operator_with_a_token)
{
    sig_client_t m;

    cr_assert_eq(parse("{\"type\":\"subscribe\",\"stream\":\"a1\",\"role\":\"operator\","
                       "\"token\":\"s3cr\\\"et\"}",
                       &m),
                 0);
    cr_expect_str_eq(m.stream, "a1");
    cr_expect_eq(m.role, SIG_OPERATOR);
    cr_expect_str_eq(m.token, "s3cr\"et");
}

Test(signal_parse, explicit_viewer_role)
{
    sig_client_t m;

    cr_assert_eq(parse("{\"role\":\"viewer\",\"type\":\"subscribe\",\"stream\":\"a\"}", &m), 0);
    cr_expect_eq(m.role, SIG_VIEWER);
}

Test(signal_parse, resume_without_a_stream)
{
    sig_client_t m;

    cr_assert_eq(parse("{\"type\":\"resume\",\"epoch\":\"e-42\",\"offset\":9001}", &m), 0);
    cr_expect_eq(m.type, SIG_RESUME);
    cr_expect_eq(m.has_stream, 0);
    cr_expect_str_eq(m.epoch, "e-42");
    cr_expect_eq(m.offset, 9001);
}

Test(signal_parse, resume_as_a_first_message)
{
    sig_client_t m;

    cr_assert_eq(parse("{\"type\":\"resume\",\"epoch\":\"e 1~\",\"offset\":0,\"stream\":\"shop1\","
                       "\"role\":\"operator\",\"token\":\"t\"}",
                       &m),
                 0);
    cr_expect_eq(m.has_stream, 1);
    cr_expect_str_eq(m.stream, "shop1");
    cr_expect_eq(m.role, SIG_OPERATOR);
    cr_expect_str_eq(m.token, "t");
    cr_expect_str_eq(m.epoch, "e 1~");
    cr_expect_eq(m.offset, 0);
}

Test(signal_parse, resume_with_the_largest_offset)
{
    sig_client_t m;

    cr_assert_eq(parse("{\"type\":\"resume\",\"epoch\":\"e\",\"offset\":9223372036854775807}", &m),
                 0);
    cr_expect_eq(m.offset, 9223372036854775807u);
}

Test(signal_parse, ping_without_id)
{
    sig_client_t m;

    cr_assert_eq(parse("{\"type\":\"ping\"}", &m), 0);
    cr_expect_eq(m.type, SIG_PING);
    cr_expect_str_eq(m.ping_id, "");
}

Test(signal_parse, ping_with_an_integer_id)
{
    sig_client_t m;

    cr_assert_eq(parse("{\"type\":\"ping\",\"id\": -7 }", &m), 0);
    cr_expect_str_eq(m.ping_id, "-7");
}

Test(signal_parse, ping_with_a_real_id)
{
    sig_client_t m;

    cr_assert_eq(parse("{\"type\":\"ping\",\"id\":2.5}", &m), 0);
    cr_expect_str_eq(m.ping_id, "2.5");
}

Test(signal_parse, ping_with_a_string_id_kept_as_json_text)
{
    sig_client_t m;

    cr_assert_eq(parse("{\"type\":\"ping\",\"id\":\"a\\\"\\u0001\xe4\xb8\xad\"}", &m), 0);
    cr_expect_str_eq(m.ping_id, "\"a\\\"\\u0001\xe4\xb8\xad\"");
}

/* A ping whose id is n copies of the JSON escape esc (one byte each once decoded). */
static int ping_of(const char *esc, int n, sig_client_t *m)
{
    char text[1024];
    int w = snprintf(text, sizeof(text), "{\"type\":\"ping\",\"id\":\"");

    for (int i = 0; i < n; i++)
        w += snprintf(text + w, sizeof(text) - (size_t)w, "%s", esc);
    snprintf(text + w, sizeof(text) - (size_t)w, "\"}");
    return parse(text, m);
}

Test(signal_parse, ping_string_id_of_64_control_bytes_fits)
{
    sig_client_t m;

    cr_assert_eq(ping_of("\\u0001", SIG_PING_ID_MAX, &m), 0);
    cr_expect_eq(strlen(m.ping_id), 6 * SIG_PING_ID_MAX + 2);
}

Test(signal_parse, ping_string_id_of_65_bytes_is_refused)
{
    sig_client_t m;

    cr_expect_eq(ping_of("x", SIG_PING_ID_MAX + 1, &m), SIG_E_BAD_MESSAGE);
    cr_expect_eq(ping_of("x", SIG_PING_ID_MAX, &m), 0);
}

Test(signal_parse, ping_id_of_another_kind_is_refused)
{
    expect_refused("{\"type\":\"ping\",\"id\":null}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"ping\",\"id\":true}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"ping\",\"id\":[1]}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"ping\",\"id\":{}}", SIG_E_BAD_MESSAGE);
}

Test(signal_parse, unknown_fields_are_ignored)
{
    sig_client_t m;

    cr_assert_eq(parse("{\"type\":\"subscribe\",\"stream\":\"s\",\"x\":[1,{\"y\":null}]}", &m), 0);
    cr_expect_str_eq(m.stream, "s");
}

Test(signal_parse, not_json)
{
    expect_refused("", SIG_E_BAD_JSON);
    expect_refused("{\"type\":\"ping\"", SIG_E_BAD_JSON);
    expect_refused("{\"type\":\"ping\"} x", SIG_E_BAD_JSON);
    expect_refused("{'type':'ping'}", SIG_E_BAD_JSON);
    expect_refused("{\"type\":\"ping\",\"id\":NaN}", SIG_E_BAD_JSON);
    expect_refused("{\"type\":\"p\xff\"}", SIG_E_BAD_JSON);
}

Test(signal_parse, not_an_object)
{
    expect_refused("[]", SIG_E_BAD_JSON);
    expect_refused("[{\"type\":\"ping\"}]", SIG_E_BAD_JSON);
    expect_refused("\"ping\"", SIG_E_BAD_JSON);
    expect_refused("7", SIG_E_BAD_JSON);
    expect_refused("null", SIG_E_BAD_JSON);
}

Test(signal_parse, duplicate_keys_are_refused)
{
    expect_refused("{\"type\":\"subscribe\",\"stream\":\"a\",\"stream\":\"b\"}", SIG_E_BAD_JSON);
}

Test(signal_parse, embedded_nul_is_refused)
{
    sig_client_t m;
    static const char raw[] = "{\"type\":\"ping\"}\0";

    cr_expect_eq(sig_parse_client(raw, sizeof(raw) - 1, &m), SIG_E_BAD_JSON);
    expect_refused("{\"type\":\"ping\\u0000\"}", SIG_E_BAD_JSON);
    expect_refused("{\"type\":\"subscribe\",\"stream\":\"a\",\"token\":\"a\\u0000b\"}",
                   SIG_E_BAD_JSON);
}

/* A ping padded with spaces to n bytes. */
static char *padded_ping(size_t n)
{
    char *text = malloc(n + 1);

    memset(text, ' ', n);
    memcpy(text, "{\"type\":\"ping\"", 14);
    text[n - 1] = '}';
    text[n] = '\0';
    return text;
}

Test(signal_parse, message_of_4096_bytes_is_taken)
{
    sig_client_t m;
    char *text = padded_ping(SIG_CLIENT_MAX);

    cr_expect_eq(sig_parse_client(text, SIG_CLIENT_MAX, &m), 0);
    free(text);
}

Test(signal_parse, message_over_4096_bytes_is_too_big)
{
    sig_client_t m;
    char *text = padded_ping(SIG_CLIENT_MAX + 1);

    cr_expect_eq(sig_parse_client(text, SIG_CLIENT_MAX + 1, &m), SIG_E_BAD_JSON);
    free(text);
}

/* Nesting cannot go past what 4,096 bytes hold, and jansson's own limit (2048) is above it. */
Test(signal_parse, deepest_nesting_that_fits_is_parsed)
{
    sig_client_t m;
    const char *head = "{\"type\":\"ping\",\"x\":";
    size_t h = strlen(head), depth = (SIG_CLIENT_MAX - h - 1) / 2;
    char *text = malloc(SIG_CLIENT_MAX + 1);

    memcpy(text, head, h);
    memset(text + h, '[', depth);
    memset(text + h + depth, ']', depth);
    text[h + 2 * depth] = '}';
    cr_expect_eq(sig_parse_client(text, h + 2 * depth + 1, &m), 0);
    free(text);
}

Test(signal_parse, missing_type)
{
    expect_refused("{}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"stream\":\"a\"}", SIG_E_BAD_MESSAGE);
}

Test(signal_parse, type_not_a_string)
{
    expect_refused("{\"type\":1}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":null}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":[\"ping\"]}", SIG_E_BAD_MESSAGE);
}

Test(signal_parse, unknown_type)
{
    expect_refused("{\"type\":\"publish\"}", SIG_E_UNKNOWN_TYPE);
    expect_refused("{\"type\":\"Ping\"}", SIG_E_UNKNOWN_TYPE);
    expect_refused("{\"type\":\"\"}", SIG_E_UNKNOWN_TYPE);
}

Test(signal_parse, subscribe_without_a_stream)
{
    expect_refused("{\"type\":\"subscribe\"}", SIG_E_BAD_MESSAGE);
}

Test(signal_parse, bad_stream_ids)
{
    expect_refused("{\"type\":\"subscribe\",\"stream\":\"\"}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"subscribe\",\"stream\":\"Shop\"}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"subscribe\",\"stream\":\"a-b\"}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"subscribe\",\"stream\":\"../x\"}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"subscribe\",\"stream\":7}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"resume\",\"epoch\":\"e\",\"offset\":1,\"stream\":\"A\"}",
                   SIG_E_BAD_MESSAGE);
}

Test(signal_parse, stream_id_of_31_is_taken_32_refused)
{
    sig_client_t m;

    cr_expect_eq(
        parse("{\"type\":\"subscribe\",\"stream\":\"abcdefghijklmnopqrstuvwxyz01234\"}", &m), 0);
    cr_expect_str_eq(m.stream, "abcdefghijklmnopqrstuvwxyz01234");
    expect_refused("{\"type\":\"subscribe\",\"stream\":\"abcdefghijklmnopqrstuvwxyz012345\"}",
                   SIG_E_BAD_MESSAGE);
}

Test(signal_parse, bad_role)
{
    expect_refused("{\"type\":\"subscribe\",\"stream\":\"a\",\"role\":\"admin\"}",
                   SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"subscribe\",\"stream\":\"a\",\"role\":\"Operator\"}",
                   SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"subscribe\",\"stream\":\"a\",\"role\":1}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"subscribe\",\"stream\":\"a\",\"role\":null}", SIG_E_BAD_MESSAGE);
}

/* A subscribe with a token of n bytes. */
static int token_of(size_t n, sig_client_t *m)
{
    char text[512];
    int w = snprintf(text, sizeof(text), "{\"type\":\"subscribe\",\"stream\":\"a\",\"token\":\"");

    memset(text + w, 't', n);
    snprintf(text + w + n, sizeof(text) - (size_t)w - n, "\"}");
    return parse(text, m);
}

Test(signal_parse, token_of_127_bytes_is_taken)
{
    sig_client_t m;

    cr_assert_eq(token_of(SIG_TOKEN_MAX - 1, &m), 0);
    cr_expect_eq(strlen(m.token), SIG_TOKEN_MAX - 1);
}

Test(signal_parse, token_too_long)
{
    sig_client_t m;

    cr_expect_eq(token_of(SIG_TOKEN_MAX, &m), SIG_E_BAD_MESSAGE);
}

Test(signal_parse, token_not_a_string)
{
    expect_refused("{\"type\":\"subscribe\",\"stream\":\"a\",\"token\":12}", SIG_E_BAD_MESSAGE);
}

Test(signal_parse, resume_without_epoch)
{
    expect_refused("{\"type\":\"resume\",\"offset\":1}", SIG_E_BAD_MESSAGE);
}

Test(signal_parse, resume_without_offset)
{
    expect_refused("{\"type\":\"resume\",\"epoch\":\"e\"}", SIG_E_BAD_MESSAGE);
}

Test(signal_parse, bad_epochs)
{
    expect_refused("{\"type\":\"resume\",\"epoch\":5,\"offset\":1}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"resume\",\"epoch\":\"e\\n\",\"offset\":1}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"resume\",\"epoch\":\"\xe4\xb8\xad\",\"offset\":1}",
                   SIG_E_BAD_MESSAGE);
    /* 32 bytes: one too many for SIG_EPOCH_MAX with its NUL */
    expect_refused("{\"type\":\"resume\",\"epoch\":\"0123456789abcdef0123456789abcdef\","
                   "\"offset\":1}",
                   SIG_E_BAD_MESSAGE);
}

Test(signal_parse, epoch_of_31_bytes_is_taken)
{
    sig_client_t m;

    cr_assert_eq(parse("{\"type\":\"resume\",\"epoch\":\"0123456789abcdef0123456789abcde\","
                       "\"offset\":1}",
                       &m),
                 0);
    cr_expect_str_eq(m.epoch, "0123456789abcdef0123456789abcde");
}

Test(signal_parse, negative_offset)
{
    expect_refused("{\"type\":\"resume\",\"epoch\":\"e\",\"offset\":-1}", SIG_E_BAD_MESSAGE);
}

Test(signal_parse, huge_offset)
{
    expect_refused("{\"type\":\"resume\",\"epoch\":\"e\",\"offset\":9223372036854775808}",
                   SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"resume\",\"epoch\":\"e\",\"offset\":1e30}", SIG_E_BAD_MESSAGE);
}

Test(signal_parse, non_integer_offset)
{
    expect_refused("{\"type\":\"resume\",\"epoch\":\"e\",\"offset\":1.5}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"resume\",\"epoch\":\"e\",\"offset\":1.0}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"resume\",\"epoch\":\"e\",\"offset\":\"5\"}", SIG_E_BAD_MESSAGE);
    expect_refused("{\"type\":\"resume\",\"epoch\":\"e\",\"offset\":null}", SIG_E_BAD_MESSAGE);
}

Test(signal_parse, refused_message_leaves_nothing_behind)
{
    sig_client_t m;

    cr_assert_eq(parse("{\"type\":\"subscribe\",\"stream\":\"shop1\",\"role\":\"x\"}", &m),
                 SIG_E_BAD_MESSAGE);
    cr_expect_str_eq(m.stream, "");
    cr_expect_eq(m.has_stream, 0);
}

Test(signal_parse, parsed_ping_id_round_trips_through_pong)
{
    sig_client_t m;
    size_t len;
    json_t *o;

    cr_assert_eq(parse("{\"type\":\"ping\",\"id\":\"<img src=x onerror=alert(1)>\\\\\"}", &m), 0);
    o = decoded(sig_encode_pong(m.ping_id, 1, &len), &len);
    expect_str(o, "id", "<img src=x onerror=alert(1)>\\");
    json_decref(o);
}

/* ---- card change sets ---- */

Test(signal_changes, first_card_is_a_product_change)
{
    sig_card_t c = card();

    cr_expect_eq(sig_card_changes(NULL, &c), SIG_CHANGE_PRODUCT);
}

Test(signal_changes, same_card_changes_nothing)
{
    sig_card_t a = card(), b = card();

    b.name = strdup("Honey 500 g"); /* another pointer, the same text */
    cr_expect_eq(sig_card_changes(&a, &b), 0);
    free((char *)b.name);
}

Test(signal_changes, pin_and_unpin_are_product_changes)
{
    sig_card_t pinned = card(), none = { 0 };

    cr_expect_eq(sig_card_changes(&none, &pinned), SIG_CHANGE_PRODUCT);
    cr_expect_eq(sig_card_changes(&pinned, &none), SIG_CHANGE_PRODUCT);
}

Test(signal_changes, another_product_stands_for_every_change)
{
    sig_card_t a = card(), b = card();

    b.product_id = "jam";
    b.price = 1;
    b.sold = 99;
    cr_expect_eq(sig_card_changes(&a, &b), SIG_CHANGE_PRODUCT);
}

Test(signal_changes, name_or_currency_is_a_product_change)
{
    sig_card_t a = card(), b = card(), c = card();

    b.name = "Honey 1 kg";
    c.currency = "USD";
    cr_expect_eq(sig_card_changes(&a, &b), SIG_CHANGE_PRODUCT);
    cr_expect_eq(sig_card_changes(&a, &c), SIG_CHANGE_PRODUCT);
}

Test(signal_changes, price_alone)
{
    sig_card_t a = card(), b = card(), c = card();

    b.price = 999;
    c.regular_price = 1399;
    cr_expect_eq(sig_card_changes(&a, &b), SIG_CHANGE_PRICE);
    cr_expect_eq(sig_card_changes(&a, &c), SIG_CHANGE_PRICE);
}

Test(signal_changes, flash_sale_starts_or_ends)
{
    sig_card_t on = card(), off = card();

    off.flash = 0;
    cr_expect_eq(sig_card_changes(&off, &on), SIG_CHANGE_FLASH);
    cr_expect_eq(sig_card_changes(&on, &off), SIG_CHANGE_FLASH);
}

Test(signal_changes, flash_price_or_end_alone)
{
    sig_card_t a = card(), b = card(), c = card();

    b.flash_price = 799;
    c.flash_ends_ms += 60000;
    cr_expect_eq(sig_card_changes(&a, &b), SIG_CHANGE_FLASH);
    cr_expect_eq(sig_card_changes(&a, &c), SIG_CHANGE_FLASH);
}

Test(signal_changes, sold_stock_or_units_left_alone)
{
    sig_card_t a = card(), b = card(), c = card(), d = card();

    b.sold = 13;
    c.stock = 87;
    d.flash_left = 29;
    cr_expect_eq(sig_card_changes(&a, &b), SIG_CHANGE_SOLD);
    cr_expect_eq(sig_card_changes(&a, &c), SIG_CHANGE_SOLD);
    cr_expect_eq(sig_card_changes(&a, &d), SIG_CHANGE_SOLD);
}

Test(signal_changes, flash_figures_without_a_sale_change_nothing)
{
    sig_card_t a = card(), b = card();

    a.flash = b.flash = 0;
    b.flash_price = 1;
    b.flash_left = 1;
    cr_expect_eq(sig_card_changes(&a, &b), 0);
}

Test(signal_changes, several_kinds_at_once)
{
    sig_card_t a = card(), b = card();

    b.price = 1099;
    b.sold = 20;
    b.flash = 0;
    cr_expect_eq(sig_card_changes(&a, &b), SIG_CHANGE_PRICE | SIG_CHANGE_FLASH | SIG_CHANGE_SOLD);
}

Test(signal_changes, two_empty_cards_change_nothing)
{
    sig_card_t a = { 0 }, b = { .sold = 5, .price = 3 };

    cr_expect_eq(sig_card_changes(&a, &b), 0);
}

/* ---- merging ---- */

Test(signal_merge, first_figure_is_sent_now)
{
    sig_merge_t m = { 0 };
    int64_t due = -1;

    cr_expect_eq(sig_merge_offer(&m, 1000, 100, &due), 1);
    cr_expect_eq(m.last_ms, 1000);
    cr_expect_eq(m.pending, 0);
    cr_expect_eq(due, -1);
    cr_expect_eq(sig_merge_due(&m, 5000, 100), 0);
}

Test(signal_merge, second_within_the_interval_is_pending_until_due)
{
    sig_merge_t m = { 0 };
    int64_t due = -1;

    sig_merge_offer(&m, 1000, 100, &due);
    cr_expect_eq(sig_merge_offer(&m, 1040, 100, &due), 0);
    cr_expect_eq(m.pending, 1);
    cr_expect_eq(due, 1100);
    cr_expect_eq(sig_merge_offer(&m, 1070, 100, &due), 0); /* still one pending */
    cr_expect_eq(due, 1100);
}

Test(signal_merge, due_fires_once_at_its_time)
{
    sig_merge_t m = { 0 };
    int64_t due;

    sig_merge_offer(&m, 1000, 100, &due);
    sig_merge_offer(&m, 1040, 100, &due);
    cr_expect_eq(sig_merge_due(&m, 1099, 100), 0);
    cr_expect_eq(sig_merge_due(&m, 1100, 100), 1);
    cr_expect_eq(m.last_ms, 1100);
    cr_expect_eq(m.pending, 0);
    cr_expect_eq(sig_merge_due(&m, 1300, 100), 0);
}

Test(signal_merge, after_an_idle_interval_the_next_is_sent_now)
{
    sig_merge_t m = { 0 };
    int64_t due = -1;

    sig_merge_offer(&m, 1000, 100, &due);
    cr_expect_eq(sig_merge_offer(&m, 1100, 100, &due), 1);
    cr_expect_eq(sig_merge_offer(&m, 5000, 100, &due), 1);
    cr_expect_eq(m.last_ms, 5000);
    cr_expect_eq(due, -1);
}

Test(signal_merge, late_offer_sends_the_pending_one_now)
{
    sig_merge_t m = { 0 };
    int64_t due;

    sig_merge_offer(&m, 1000, 100, &due);
    sig_merge_offer(&m, 1050, 100, &due);
    cr_expect_eq(sig_merge_offer(&m, 1200, 100, &due), 1);
    cr_expect_eq(m.pending, 0);
    cr_expect_eq(sig_merge_due(&m, 1300, 100), 0);
}
