/* Unit tests for relay/commerce/catalog_body.c: the operator API's bodies, accepted or refused
 * whole, with a sentence saying what was wrong. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "relay/commerce/catalog_body.h"

static char err[256];

static int product(const char *body, int create, rl_product_body_t *b)
{
    err[0] = '\0';
    return rl_catalog_product_body(body, body ? strlen(body) : 0, create, b, err, sizeof(err));
}

/* The body is refused, and the sentence names what was wrong. */
static void refused(const char *body, int create, const char *says)
{
    rl_product_body_t b;

    cr_assert_eq(product(body, create, &b), -EINVAL, "accepted: %s", body);
    cr_assert(strstr(err, says), "for %s: \"%s\" does not say \"%s\"", body, err, says);
}

Test(catalog_body, a_whole_product_is_taken_with_every_member)
{
    rl_product_body_t b;

    cr_assert_eq(product("{\"id\":\"honey-1\",\"name\":\"Wild honey\",\"price\":1990,"
                         "\"regular_price\":2990,\"currency\":\"CNY\",\"stock\":7}",
                         1, &b),
                 0, "%s", err);
    cr_assert_str_eq(b.id, "honey-1");
    cr_assert_str_eq(b.name, "Wild honey");
    cr_assert_eq(b.price, 1990);
    cr_assert_eq(b.regular_price, 2990);
    cr_assert_str_eq(b.currency, "CNY");
    cr_assert_eq(b.stock, 7);
    cr_assert_eq(b.has, RL_PF_ID | RL_PF_NAME | RL_PF_PRICE | RL_PF_REGULAR | RL_PF_CURRENCY |
                            RL_PF_STOCK);
}

Test(catalog_body, a_chinese_name_is_kept_byte_for_byte)
{
    const char *name = "柞水木耳 500g";
    char body[256];
    rl_product_body_t b;

    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"price\":1,\"currency\":\"CNY\",\"stock\":0}",
             name);
    cr_assert_eq(product(body, 1, &b), 0, "%s", err);
    cr_assert_str_eq(b.name, name);
    /* the same name written as JSON escapes */
    cr_assert_eq(product("{\"name\":\"\\u67de\\u6c34\\u6728\\u8033 500g\",\"price\":1,"
                         "\"currency\":\"CNY\",\"stock\":0}",
                         1, &b),
                 0, "%s", err);
    cr_assert_str_eq(b.name, name);
}

Test(catalog_body, the_regular_price_defaults_to_the_price)
{
    rl_product_body_t b;

    cr_assert_eq(product("{\"name\":\"x\",\"price\":500,\"currency\":\"EUR\",\"stock\":1}", 1, &b),
                 0);
    cr_assert_eq(b.regular_price, 500);
    cr_assert_not(b.has & RL_PF_REGULAR); /* not sent to Redis: the library defaults it too */
}

Test(catalog_body, a_regular_price_below_the_price_is_refused)
{
    refused("{\"name\":\"x\",\"price\":500,\"regular_price\":499,\"currency\":\"EUR\","
            "\"stock\":1}",
            1, "regular_price (499) must not be below price (500)");
    refused("{\"price\":500,\"regular_price\":499}", 0, "must not be below");
}

Test(catalog_body, a_new_product_needs_name_price_currency_and_stock)
{
    refused("{\"price\":1,\"currency\":\"CNY\",\"stock\":1}", 1, "missing field \"name\"");
    refused("{\"name\":\"x\",\"currency\":\"CNY\",\"stock\":1}", 1, "missing field \"price\"");
    refused("{\"name\":\"x\",\"price\":1,\"stock\":1}", 1, "missing field \"currency\"");
    refused("{\"name\":\"x\",\"price\":1,\"currency\":\"CNY\"}", 1, "missing field \"stock\"");
}

Test(catalog_body, a_change_takes_any_members_but_the_id)
{
    rl_product_body_t b;

    cr_assert_eq(product("{\"stock\":0}", 0, &b), 0, "%s", err);
    cr_assert_eq(b.has, RL_PF_STOCK);
    cr_assert_eq(b.stock, 0);
    refused("{}", 0, "nothing to change");
    refused("{\"id\":\"other\"}", 0, "id cannot change");
}

Test(catalog_body, prices_are_integers_in_range)
{
    const char *bad[] = { "0",       "-1",   "1000000001", "19.9", "1e3",
                          "\"100\"", "null", "true",       "[1]",  "99999999999999999999" };
    char body[128];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body), "{\"price\":%s}", bad[i]);
        refused(body, 0,
                strcmp(bad[i], "99999999999999999999") ? "price must be an integer" : "not JSON");
    }
    refused("{\"price\":1000000000,\"regular_price\":1000000001}", 0, "regular_price must be");
}

Test(catalog_body, stock_is_zero_to_a_billion)
{
    rl_product_body_t b;

    cr_assert_eq(product("{\"stock\":1000000000}", 0, &b), 0);
    refused("{\"stock\":-1}", 0, "stock must be an integer from 0 to 1000000000");
    refused("{\"stock\":1000000001}", 0, "stock must be");
}

Test(catalog_body, a_currency_is_three_capital_letters)
{
    const char *bad[] = { "\"cny\"", "\"CN\"", "\"CNYY\"", "\"C1Y\"", "\"\"", "156" };
    char body[64];
    rl_product_body_t b;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body), "{\"currency\":%s}", bad[i]);
        refused(body, 0, "three capital letters");
    }
    cr_assert_eq(product("{\"currency\":\"USD\"}", 0, &b), 0);
}

Test(catalog_body, a_name_is_1_to_200_bytes_without_control_characters)
{
    char body[512], name[256];
    rl_product_body_t b;
    const char *bad[] = { "",           "a\\nb",    "tab\\there", "\\u0000", "bell\\u0007",
                          "del\\u007f", "c1\\u0085" };

    memset(name, 'n', 200);
    name[200] = '\0';
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    cr_assert_eq(product(body, 0, &b), 0, "%s", err);
    snprintf(body, sizeof(body), "{\"name\":\"%sn\"}", name);
    refused(body, 0, "1 to 200 bytes");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body), "{\"name\":\"%s\"}", bad[i]);
        cr_assert_neq(product(body, 0, &b), 0, "accepted %s", body);
    }
    /* markup is only text: the card draws it literally */
    cr_assert_eq(product("{\"name\":\"<b>50% off</b> & more\"}", 0, &b), 0);
}

Test(catalog_body, names_are_checked_as_utf8)
{
    const char *bad[] = { "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE6\x9F", "\xFF" };
    const char *good[] = { "\xE6\x9F\x9E", "\xF0\x9F\x8D\xAF", "caf\xC3\xA9" };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not(rl_catalog_valid_name(bad[i], strlen(bad[i])), "accepted %zu", i);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        cr_assert(rl_catalog_valid_name(good[i], strlen(good[i])), "refused %zu", i);
}

Test(catalog_body, product_ids_are_what_a_path_segment_carries)
{
    cr_assert(rl_catalog_valid_pid("SKU-123_a.b:c"));
    cr_assert_not(rl_catalog_valid_pid(""));
    cr_assert_not(rl_catalog_valid_pid("a/b"));
    cr_assert_not(rl_catalog_valid_pid("a b"));
    cr_assert_not(rl_catalog_valid_pid("木耳"));
    refused("{\"id\":\"../x\",\"name\":\"x\",\"price\":1,\"currency\":\"CNY\",\"stock\":1}", 1,
            "id must be a string of 1 to 63");
}

Test(catalog_body, malformed_bodies_are_refused_whole)
{
    refused(NULL, 1, "not JSON");
    refused("", 1, "not JSON");
    refused("{\"name\":", 1, "not JSON");
    refused("[1,2]", 1, "must be a JSON object");
    refused("{\"name\":\"x\",\"name\":\"y\"}", 0, "not JSON"); /* duplicate member */
    refused("{\"nmae\":\"x\"}", 0, "unknown field \"nmae\"");
    refused("{\"price\":1} trailing", 0, "not JSON");
}

Test(catalog_body, error_sentences_are_printable_ascii)
{
    rl_product_body_t b;

    cr_assert_neq(product("{\"\xE6\x9F\x9E\\n\":1}", 0, &b), 0);
    for (const char *p = err; *p; p++)
        cr_assert(*p >= 0x20 && *p < 0x7f, "byte %02x in \"%s\"", (unsigned char)*p, err);
    cr_assert_neq(product("{\"name\": \xFF}", 0, &b), 0);
    for (const char *p = err; *p; p++)
        cr_assert(*p >= 0x20 && *p < 0x7f, "byte %02x in \"%s\"", (unsigned char)*p, err);
}

Test(catalog_body, a_pin_names_a_product)
{
    char pid[RL_PID_MAX + 1];
    const char *b = "{\"product\":\"honey\"}";

    cr_assert_eq(rl_catalog_pin_body(b, strlen(b), pid, sizeof(pid), err, sizeof(err)), 0);
    cr_assert_str_eq(pid, "honey");
    b = "{}";
    cr_assert_eq(rl_catalog_pin_body(b, strlen(b), pid, sizeof(pid), err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "missing field \"product\""), "%s", err);
    b = "{\"product\":7}";
    cr_assert_eq(rl_catalog_pin_body(b, strlen(b), pid, sizeof(pid), err, sizeof(err)), -EINVAL);
}

static int flash(const char *body, rl_flash_body_t *f)
{
    err[0] = '\0';
    return rl_catalog_flash_body(body, strlen(body), f, err, sizeof(err));
}

Test(catalog_body, a_flash_sale_needs_product_price_and_duration)
{
    rl_flash_body_t f;

    cr_assert_eq(flash("{\"product\":\"p\",\"price\":990,\"duration_s\":300}", &f), 0, "%s", err);
    cr_assert_str_eq(f.product, "p");
    cr_assert_eq(f.price, 990);
    cr_assert_eq(f.duration_s, 300);
    cr_assert_eq(f.cap, 0);
    cr_assert_eq(f.limit, 0);
    cr_assert_eq(
        flash("{\"product\":\"p\",\"price\":990,\"duration_s\":300,\"cap\":50,\"limit\":2}", &f),
        0);
    cr_assert_eq(f.cap, 50);
    cr_assert_eq(f.limit, 2);
    cr_assert_eq(flash("{\"product\":\"p\",\"duration_s\":300}", &f), -EINVAL);
    cr_assert(strstr(err, "missing field \"price\""), "%s", err);
    cr_assert_eq(flash("{\"product\":\"p\",\"price\":990}", &f), -EINVAL);
    cr_assert(strstr(err, "missing field \"duration_s\""), "%s", err);
}

Test(catalog_body, a_flash_sale_lasts_one_second_to_a_day)
{
    rl_flash_body_t f;

    cr_assert_eq(flash("{\"product\":\"p\",\"price\":1,\"duration_s\":0}", &f), -EINVAL);
    cr_assert(strstr(err, "duration_s must be an integer from 1 to 86400"), "%s", err);
    cr_assert_eq(flash("{\"product\":\"p\",\"price\":1,\"duration_s\":86401}", &f), -EINVAL);
    cr_assert_eq(flash("{\"product\":\"p\",\"price\":1,\"duration_s\":86400}", &f), 0);
    cr_assert_eq(flash("{\"product\":\"p\",\"price\":1,\"duration_s\":9,\"limit\":-1}", &f),
                 -EINVAL);
}
