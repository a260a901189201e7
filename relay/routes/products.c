/* The catalog: a stream's products, created, listed, read, changed and deleted.
 *
 * A body is checked whole first (relay/commerce/catalog_body.c): a refused one never reaches
 * Redis. Each change is then one call of the library (shopcast_product_add, _set, _del), which
 * checks what only Redis knows before it writes. Reading the catalog needs no token, since
 * viewers' pages read it; revenue is left out there: it is the operator's (GET .../sales). */
#include "relay/routes/routes.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "relay/commerce/catalog_body.h"
#include "relay/live/keys.h"

#define PID_RANDOM 12 /* a generated product id: "p" and 62 bits of randomness */

/* The members of a product body as the library takes them: a name, then a value. */
static const struct {
    unsigned flag;
    const char *name;
    size_t off;
    int is_int;
} wire[] = {
    { RL_PF_NAME, "name", offsetof(rl_product_body_t, name), 0 },
    { RL_PF_PRICE, "price", offsetof(rl_product_body_t, price), 1 },
    { RL_PF_REGULAR, "regular_price", offsetof(rl_product_body_t, regular_price), 1 },
    { RL_PF_CURRENCY, "currency", offsetof(rl_product_body_t, currency), 0 },
    { RL_PF_STOCK, "stock", offsetof(rl_product_body_t, stock), 1 },
};
#define NWIRE (sizeof(wire) / sizeof(wire[0]))

typedef struct args_s {
    const char *v[1 + 2 * NWIRE];
    char num[NWIRE][24];
    int n;
} args_t;

/* The product id, then a name and a value for each member the body carried. */
static void product_args(const rl_product_body_t *b, const char *pid, args_t *a)
{
    a->n = 0;
    a->v[a->n++] = pid;
    for (size_t i = 0; i < NWIRE; i++) {
        const char *m = (const char *)b + wire[i].off;
        int64_t v;

        if (!(b->has & wire[i].flag))
            continue;
        a->v[a->n++] = wire[i].name;
        if (wire[i].is_int) {
            memcpy(&v, m, sizeof(v));
            snprintf(a->num[i], sizeof(a->num[i]), "%lld", (long long)v);
            m = a->num[i];
        }
        a->v[a->n++] = m;
    }
}

/* Answers with a product (or a catalog) the library wrote as JSON; without revenue if public. */
static void respond_json_text(rl_http_req_t *r, int status, const redisReply *s, int public,
                              const char *fn)
{
    json_t *j = s && s->type == REDIS_REPLY_STRING ? json_loadb(s->str, s->len, 0, NULL) : NULL;
    json_t *list = json_object_get(j, "products"), *p;
    size_t i;

    if (!json_is_object(j)) {
        json_decref(j);
        rl__route_bad_reply(r, fn);
        return;
    }
    if (public) {
        json_object_del(j, "revenue");
        json_object_del(j, "orders_per_minute");
        json_array_foreach(list, i, p) json_object_del(p, "revenue");
    }
    rl_http_respond_json(r, status, j);
}

/* The reply of _add and _set: [seq, product JSON]. */
static void written(rl_server_t *srv, uint64_t token, const redisReply *reply, int status)
{
    rl_http_req_t *r = rl__route_fcall_reply(srv, token, reply);

    if (!r)
        return;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) {
        rl__route_bad_reply(r, "shopcast_product_add/_set");
        return;
    }
    respond_json_text(r, status, reply->element[1], 0, "shopcast_product_add/_set");
}

static void on_added(void *owner, uint64_t token, int rc, redisReply *reply)
{
    (void)rc;
    written(owner, token, reply, 201);
}

static void on_changed(void *owner, uint64_t token, int rc, redisReply *reply)
{
    (void)rc;
    written(owner, token, reply, 200);
}

/* "p" and random letters and digits: never one an operator would type, never a guessable one. */
static int new_pid(char *pid)
{
    pid[0] = 'p';
    return rl_random_token(pid + 1, PID_RANDOM);
}

static void write_product(rl_http_req_t *r, const char *id, int create)
{
    rl_product_body_t b;
    char err[256], pid[RL_PID_MAX + 1];
    args_t a;

    if (rl_catalog_product_body(r->body, r->body_len, create, &b, err, sizeof(err)) < 0) {
        rl_http_error(r, 400, err);
        return;
    }
    if (!create)
        snprintf(pid, sizeof(pid), "%s", r->sub);
    else if (b.has & RL_PF_ID)
        snprintf(pid, sizeof(pid), "%s", b.id);
    else if (new_pid(pid) < 0) {
        rl_http_error(r, 500, "cannot make a product id");
        return;
    }
    product_args(&b, pid, &a);
    rl__route_fcall(r, r->srv, create ? "shopcast_product_add" : "shopcast_product_set", 0, id, a.n,
                    a.v, NULL, create ? on_added : on_changed);
}

void rl_route_products_create(rl_http_req_t *r, const char *id)
{
    write_product(r, id, 1);
}

void rl_route_product_patch(rl_http_req_t *r, const char *id)
{
    write_product(r, id, 0);
}

/* A product, or the catalog (shopcast_sales's list of products), without the figures that are
 * not public. */
static void on_read(void *owner, uint64_t token, int rc, redisReply *reply)
{
    rl_http_req_t *r = rl__route_fcall_reply(owner, token, reply);

    (void)rc;
    if (r)
        respond_json_text(r, 200, reply, 1, "shopcast_product_get/sales");
}

void rl_route_products_list(rl_http_req_t *r, const char *id)
{
    rl__route_fcall(r, r->srv, "shopcast_sales", 1, id, 0, NULL, NULL, on_read);
}

void rl_route_product_get(rl_http_req_t *r, const char *id)
{
    const char *args[1] = { r->sub };

    rl__route_fcall(r, r->srv, "shopcast_product_get", 1, id, 1, args, NULL, on_read);
}

void rl_route_product_delete(rl_http_req_t *r, const char *id)
{
    const char *args[1] = { r->sub };

    rl__route_fcall(r, r->srv, "shopcast_product_del", 0, id, 1, args, NULL, rl__route_on_done);
}
