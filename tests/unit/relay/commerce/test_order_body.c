/* Unit tests for relay/commerce/order_body.c: which order bodies are taken, and the signature. */
#include <criterion/criterion.h>
#include <errno.h>
#include <libavutil/hmac.h>
#include <stdio.h>
#include <string.h>

#include "relay/commerce/order_body.h"

static rl_order_t o;
static char err[256];

static int parse(const char *body)
{
    err[0] = '\0';
    return rl_order_parse(body, strlen(body), &o, err, sizeof(err));
}

Test(order_body, the_three_required_fields_make_an_order)
{
    cr_assert_eq(parse("{\"order_id\":\"o-1.a:B_2\",\"product\":\"p1\",\"qty\":3}"), 0, "%s", err);
    cr_assert_str_eq(o.order_id, "o-1.a:B_2");
    cr_assert_str_eq(o.product, "p1");
    cr_assert_eq(o.qty, 3);
    cr_assert_str_eq(o.buyer, "");
    cr_assert_eq(o.price, -1);
}

Test(order_body, buyer_and_price_are_optional_and_null_is_none)
{
    cr_assert_eq(parse("{\"order_id\":\"a\",\"product\":\"p\",\"qty\":1,\"buyer\":\"王小明\","
                       "\"price\":0}"),
                 0, "%s", err);
    cr_assert_str_eq(o.buyer, "王小明");
    cr_assert_eq(o.price, 0);
    cr_assert_eq(parse("{\"order_id\":\"a\",\"product\":\"p\",\"qty\":1,\"buyer\":null,"
                       "\"price\":null}"),
                 0, "%s", err);
    cr_assert_str_eq(o.buyer, "");
    cr_assert_eq(o.price, -1);
}

Test(order_body, the_limits_themselves_are_taken)
{
    char body[512];

    snprintf(body, sizeof(body),
             "{\"order_id\":\"%064d\",\"product\":\"%064d\",\"qty\":1000,\"price\":1000000000,"
             "\"buyer\":\"%064d\"}",
             1, 2, 3);
    cr_assert_eq(parse(body), 0, "%s", err);
    cr_assert_eq(strlen(o.order_id), 64);
    cr_assert_eq(o.qty, 1000);
    cr_assert_eq(o.price, 1000000000LL);
}

/* Each refusal names what was wrong. */
static void refused(const char *body, const char *says)
{
    cr_assert_eq(parse(body), -EINVAL, "taken: %s", body);
    cr_assert(strstr(err, says), "for %s: '%s' does not say '%s'", body, err, says);
}

Test(order_body, malformed_or_non_object_bodies_are_refused)
{
    refused("", "JSON object");
    refused("{", "not valid JSON");
    refused("[1,2]", "JSON object");
    refused("\"order\"", "not valid JSON"); /* jansson decodes only arrays and objects */
    refused("{\"order_id\":\"a\",\"product\":\"p\",\"qty\":1} trailing", "not valid JSON");
    refused("{\"order_id\":\"a\",\"product\":\"p\",\"qty\":1,\"qty\":2}", "not valid JSON");
    refused("{\"order_id\":\"a\\u0000b\",\"product\":\"p\",\"qty\":1}", "not valid JSON");
    refused("{\"order_id\":\"\xff\",\"product\":\"p\",\"qty\":1}", "not valid JSON");
}

Test(order_body, missing_and_unknown_fields_are_refused)
{
    refused("{\"product\":\"p\",\"qty\":1}", "missing field 'order_id'");
    refused("{\"order_id\":\"a\",\"qty\":1}", "missing field 'product'");
    refused("{\"order_id\":\"a\",\"product\":\"p\"}", "missing field 'qty'");
    refused("{\"order_id\":\"a\",\"product\":\"p\",\"quantity\":1}", "unknown field 'quantity'");
}

Test(order_body, quantities_must_be_whole_and_in_range)
{
    const char *bad[] = { "0",   "-1",    "1001", "1.5",  "1.0",
                          "1e3", "\"1\"", "true", "null", "99999999999999999" };
    char body[128];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body), "{\"order_id\":\"a\",\"product\":\"p\",\"qty\":%s}", bad[i]);
        refused(body, "qty must be a whole number from 1 to 1000");
    }
}

Test(order_body, prices_must_be_whole_minor_units_in_range)
{
    const char *bad[] = { "-1", "1000000001", "9.9", "\"990\"", "[]" };
    char body[128];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"order_id\":\"a\",\"product\":\"p\",\"qty\":1,\"price\":%s}", bad[i]);
        refused(body, "price must be a whole number of minor units");
    }
}

Test(order_body, ids_must_be_short_and_plain)
{
    const char *bad[] = { "\"\"",
                          "\"a b\"",
                          "\"a/b\"",
                          "\"{x}\"",
                          "\"é\"",
                          "1",
                          "null",
                          "\"0123456789012345678901234567890123456789012345678901234567890123"
                          "4\"" };
    char body[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body), "{\"order_id\":%s,\"product\":\"p\",\"qty\":1}", bad[i]);
        refused(body, "order_id must be a string of 1 to 64");
        snprintf(body, sizeof(body), "{\"order_id\":\"a\",\"product\":%s,\"qty\":1}", bad[i]);
        refused(body, "product must be a string of 1 to 64");
    }
}

Test(order_body, buyers_are_short_text_without_control_characters)
{
    char body[256];

    refused("{\"order_id\":\"a\",\"product\":\"p\",\"qty\":1,\"buyer\":\"a\\nb\"}",
            "control characters");
    refused("{\"order_id\":\"a\",\"product\":\"p\",\"qty\":1,\"buyer\":7}",
            "buyer must be a string");
    snprintf(body, sizeof(body),
             "{\"order_id\":\"a\",\"product\":\"p\",\"qty\":1,\"buyer\":\"%065d\"}", 0);
    refused(body, "at most 64 bytes");
}

Test(order_body, an_oversized_body_is_refused_before_it_is_read)
{
    static char body[RL_ORDER_BODY_MAX + 2];

    memset(body, ' ', sizeof(body) - 1);
    cr_assert_eq(rl_order_parse(body, sizeof(body) - 1, &o, err, sizeof(err)), -EMSGSIZE);
    cr_assert(strstr(err, "larger than 4096"), "%s", err);
}

static void sign(const char *secret, const char *body, char out[80])
{
    uint8_t mac[32];
    AVHMAC *h = av_hmac_alloc(AV_HMAC_SHA256);

    av_hmac_calc(h, (const uint8_t *)body, strlen(body), (const uint8_t *)secret, strlen(secret),
                 mac, sizeof(mac));
    av_hmac_free(h);
    strcpy(out, "sha256=");
    for (int i = 0; i < 32; i++)
        sprintf(out + 7 + 2 * i, "%02x", mac[i]);
}

Test(order_body, a_signature_matches_its_body_and_secret_only)
{
    const char *body = "{\"order_id\":\"a\",\"product\":\"p\",\"qty\":1}";
    char sig[80];

    sign("s3cret", body, sig);
    cr_assert(rl_order_signed("s3cret", body, strlen(body), sig));
    for (char *p = sig + 7; *p; p++) /* hex digits in either case */
        if (*p >= 'a' && *p <= 'f')
            *p -= 'a' - 'A';
    cr_assert(rl_order_signed("s3cret", body, strlen(body), sig));
    cr_assert_not(rl_order_signed("other", body, strlen(body), sig));
    cr_assert_not(rl_order_signed("s3cret", body, strlen(body) - 1, sig));
    cr_assert_not(rl_order_signed("", body, strlen(body), sig));
}

Test(order_body, malformed_signatures_match_nothing)
{
    const char *body = "{}";
    char sig[80];

    sign("k", body, sig);
    cr_assert(rl_order_signed("k", body, 2, sig));
    sig[strlen(sig) - 1] = '\0'; /* 63 digits */
    cr_assert_not(rl_order_signed("k", body, 2, sig));
    cr_assert_not(rl_order_signed("k", body, 2, sig + 7)); /* no "sha256=" */
    cr_assert_not(rl_order_signed("k", body, 2, ""));
    sign("k", body, sig);
    sig[10] = 'g';
    cr_assert_not(rl_order_signed("k", body, 2, sig));
}
