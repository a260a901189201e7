/* The operator API's JSON bodies (products, the pinned product, flash sales), checked before
 * anything is sent to Redis.
 *
 * Pure: bytes in, a struct the caller owns out, or a sentence saying what was wrong. Nothing
 * here knows HTTP or Redis, so it is tested and fuzzed on plain buffers (fuzz/fuzz_catalog.c).
 * A body is a JSON object whose members are all known, each once, each of the right type and
 * range; anything else is refused as a whole. The limits are the README's (Operator API). */
#ifndef RELAY_COMMERCE_CATALOG_BODY_H
#define RELAY_COMMERCE_CATALOG_BODY_H

#include <stddef.h>
#include <stdint.h>

#define RL_PID_MAX        63         /* bytes of a product id: letters, digits and "._-:" */
#define RL_NAME_MAX       200        /* bytes of a product's name (UTF-8) */
#define RL_PRICE_MAX      1000000000 /* minor units */
#define RL_STOCK_MAX      1000000000 /* units */
#define RL_FLASH_SECS_MAX 86400      /* a flash sale's longest duration */

/* Which members a product body carried. */
enum {
    RL_PF_ID = 1 << 0,
    RL_PF_NAME = 1 << 1,
    RL_PF_PRICE = 1 << 2,
    RL_PF_REGULAR = 1 << 3,
    RL_PF_CURRENCY = 1 << 4,
    RL_PF_STOCK = 1 << 5,
};

typedef struct rl_product_body_s {
    unsigned has; /* RL_PF_* */
    char id[RL_PID_MAX + 1];
    char name[RL_NAME_MAX + 1];
    int64_t price, regular_price, stock;
    char currency[4];
} rl_product_body_t;

typedef struct rl_flash_body_s {
    char product[RL_PID_MAX + 1];
    int64_t price, duration_s;
    int64_t cap;   /* units at the flash price; 0: all the stock */
    int64_t limit; /* units per buyer; 0: none */
} rl_flash_body_t;

/* A product to create (create = 1: name, price, currency and stock required; id optional;
 * regular_price defaults to price) or the fields to change (create = 0: at least one, no id).
 * regular_price is never below price. Returns 0, or -EINVAL with err filled. */
int rl_catalog_product_body(const char *body, size_t len, int create, rl_product_body_t *out,
                            char *err, size_t errlen);
/* {"product": id}. */
int rl_catalog_pin_body(const char *body, size_t len, char *pid, size_t pidsize, char *err,
                        size_t errlen);
/* {"product", "price", "duration_s", "cap"?, "limit"?}. */
int rl_catalog_flash_body(const char *body, size_t len, rl_flash_body_t *out, char *err,
                          size_t errlen);

/* A product id: 1 to RL_PID_MAX letters, digits and "._-:" (what a URL path segment carries). */
int rl_catalog_valid_pid(const char *s);
/* A name: 1 to RL_NAME_MAX bytes of UTF-8 without control characters (C0, DEL, C1). */
int rl_catalog_valid_name(const char *s, size_t len);

#endif
