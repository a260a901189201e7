/* libFuzzer target for the operator API's JSON bodies (relay/commerce/catalog_body.c).
 *
 * Input layout: byte 0 picks the body (modulo 4: a product to create, a product's change, a
 * pin, a flash sale); the rest is the body. Whatever the input, a crash, a sanitizer report or
 * an abort() below is a bug: the aborts check what the header promises of an accepted body
 * (every member in range, the required ones there, regular_price never below price) and of a
 * refused one (a sentence in printable ASCII, so it is always valid in a JSON reply). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/commerce/catalog_body.h"

static void check_error(int rc, const char *err)
{
    if (rc != -EINVAL || !err[0])
        abort();
    for (const char *p = err; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            abort();
}

static int in(int64_t v, int64_t lo, int64_t hi)
{
    return v >= lo && v <= hi;
}

static void check_product(const rl_product_body_t *b, int create)
{
    const unsigned need = RL_PF_NAME | RL_PF_PRICE | RL_PF_CURRENCY | RL_PF_STOCK;

    if ((create && (b->has & need) != need) || (!create && (!b->has || b->has & RL_PF_ID)))
        abort();
    if ((b->has & RL_PF_ID && !rl_catalog_valid_pid(b->id)) ||
        (b->has & RL_PF_NAME && !rl_catalog_valid_name(b->name, strlen(b->name))) ||
        (b->has & RL_PF_CURRENCY && strlen(b->currency) != 3) ||
        (b->has & RL_PF_PRICE && !in(b->price, 1, RL_PRICE_MAX)) ||
        (b->has & RL_PF_REGULAR && !in(b->regular_price, 1, RL_PRICE_MAX)) ||
        (b->has & RL_PF_STOCK && !in(b->stock, 0, RL_STOCK_MAX)))
        abort();
    if ((create || (b->has & RL_PF_PRICE && b->has & RL_PF_REGULAR)) && b->regular_price < b->price)
        abort();
}

static void check_flash(const rl_flash_body_t *f)
{
    if (!rl_catalog_valid_pid(f->product) || !in(f->price, 1, RL_PRICE_MAX) ||
        !in(f->duration_s, 1, RL_FLASH_SECS_MAX) || !in(f->cap, 0, RL_STOCK_MAX) ||
        !in(f->limit, 0, RL_STOCK_MAX))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data + 1;
    size_t len = size ? size - 1 : 0;
    char err[256] = "", pid[RL_PID_MAX + 1];
    rl_product_body_t p;
    rl_flash_body_t f;
    int rc;

    if (!size)
        return 0;
    switch (data[0] % 4) {
    case 0:
    case 1:
        rc = rl_catalog_product_body(body, len, data[0] % 4 == 0, &p, err, sizeof(err));
        if (rc == 0)
            check_product(&p, data[0] % 4 == 0);
        break;
    case 2:
        rc = rl_catalog_pin_body(body, len, pid, sizeof(pid), err, sizeof(err));
        if (rc == 0 && !rl_catalog_valid_pid(pid))
            abort();
        break;
    default:
        rc = rl_catalog_flash_body(body, len, &f, err, sizeof(err));
        if (rc == 0)
            check_flash(&f);
    }
    if (rc != 0)
        check_error(rc, err);
    return 0;
}
