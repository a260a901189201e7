/* Order bodies: the JSON of an order, parsed and checked, and the webhook signature over it.
 *
 * Pure (no I/O, no globals, no Redis), so that it is unit-tested and fuzzed on plain bytes. A
 * body is {"order_id", "product", "qty"} with optional "buyer" and "price" (the price the buyer
 * was shown, in minor units); anything else is refused: unknown or repeated fields, wrong types,
 * values out of range. The ranges keep qty * price (at most 10^12) exact in the doubles of
 * Redis's Lua, and ids within what a Redis key and a URL segment carry as they are. */
#ifndef RELAY_COMMERCE_ORDER_BODY_H
#define RELAY_COMMERCE_ORDER_BODY_H

#include <stddef.h>

#define RL_ORDER_BODY_MAX  4096         /* bytes; a real order is about 100 */
#define RL_ORDER_ID_MAX    64           /* order_id and product: [A-Za-z0-9_.:-]{1,64} */
#define RL_ORDER_QTY_MAX   1000         /* units in one order */
#define RL_ORDER_PRICE_MAX 1000000000LL /* minor units (10 million yuan) */
#define RL_ORDER_BUYER_MAX 64           /* bytes of UTF-8, no control characters */

typedef struct rl_order_s {
    char order_id[RL_ORDER_ID_MAX + 1];
    char product[RL_ORDER_ID_MAX + 1];
    char buyer[RL_ORDER_BUYER_MAX + 1]; /* "": none */
    int qty;
    long long price; /* the price shown; -1: none given */
} rl_order_t;

/* Parses body[len] into o. Returns 0, -EMSGSIZE when len is over RL_ORDER_BODY_MAX, or -EINVAL;
 * on error err says what is wrong, in words a client can act on. */
int rl_order_parse(const char *body, size_t len, rl_order_t *o, char *err, size_t errlen);

/* Whether header is "sha256=" and the 64 hex digits of the HMAC-SHA256 of body[len] under secret
 * (compared in constant time). An empty secret matches nothing. */
int rl_order_signed(const char *secret, const void *body, size_t len, const char *header);

#endif
