/* libFuzzer target for the order body parser and the webhook signature check.
 *
 * The input is an order body as a client sends it. Whatever the input, a crash, a sanitizer
 * report or an abort() below is a bug: the aborts check the promises of order_body.h (an order
 * that is taken lies inside every documented range; a refusal always says why). Seeds are in
 * fuzz/corpus-orders/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/commerce/order_body.h"

#define ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"

static void check_id(const char *s)
{
    size_t n = strlen(s);

    if (n < 1 || n > RL_ORDER_ID_MAX || strspn(s, ID_CHARS) != n)
        abort();
}

static void check_order(const rl_order_t *o)
{
    check_id(o->order_id);
    check_id(o->product);
    if (o->qty < 1 || o->qty > RL_ORDER_QTY_MAX)
        abort();
    if (o->price < -1 || o->price > RL_ORDER_PRICE_MAX)
        abort();
    if (strlen(o->buyer) > RL_ORDER_BUYER_MAX)
        abort();
    for (const char *p = o->buyer; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rl_order_t o;
    char err[256] = "", *hdr;
    int rc = rl_order_parse((const char *)data, size, &o, err, sizeof(err));

    if (rc == 0)
        check_order(&o);
    else if (!err[0] || strlen(err) >= sizeof(err))
        abort();
    /* The same bytes as a signature header: any text must be refused or matched, never read
     * past its end. */
    if (!(hdr = malloc(size + 1)))
        return 0;
    memcpy(hdr, data, size);
    hdr[size] = '\0';
    (void)rl_order_signed("fuzz-secret", data, size, hdr);
    free(hdr);
    return 0;
}
