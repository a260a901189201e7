/* libFuzzer target for the signalling client parser (proto/signal.c, sig_parse_client) and the
 * writer's escaping.
 *
 * The input is one client message. Whatever the input, a crash, a sanitizer report or an abort()
 * below is a bug: the aborts check what signal.h promises of a parsed message (a stream id of
 * [a-z0-9]{1,31}, sizes under the buffers, a printable epoch, a ping id that is one JSON number
 * or string), of a refusal (one of the three parse codes, nothing left in *out), and of the
 * encoders (one JSON object whose strings read back as the bytes put in). Seeds are in
 * fuzz/corpus/signal/. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/signal.h"

/* Takes ownership of text: it must be one JSON object of type type; returns it. */
static json_t *object_of(char *text, size_t len, const char *type)
{
    json_t *o;
    const char *t;

    if (!text)
        return NULL;
    if (strlen(text) != len)
        abort();
    o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    t = json_string_value(json_object_get(o, "type"));
    if (!json_is_object(o) || !t || strcmp(t, type))
        abort();
    return o;
}

static void check_string(const json_t *o, const char *key, const char *want)
{
    const char *got = json_string_value(json_object_get(o, key));

    if (!got || strcmp(got, want))
        abort();
}

static int is_id(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n < SIG_ID_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

static void check_message(const sig_client_t *m)
{
    if (m->type != SIG_SUBSCRIBE && m->type != SIG_RESUME && m->type != SIG_PING)
        abort();
    if ((m->has_stream && !is_id(m->stream)) || (!m->has_stream && m->stream[0]) ||
        (m->type == SIG_SUBSCRIBE && !m->has_stream))
        abort();
    if ((m->role != SIG_VIEWER && m->role != SIG_OPERATOR) || strlen(m->token) >= SIG_TOKEN_MAX)
        abort();
    for (const char *p = m->epoch; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            abort();
    if (m->offset > INT64_MAX)
        abort();
}

/* The ping id goes back out in a pong; the token comes back as data in an order line. */
static void check_echoes(const sig_client_t *m)
{
    size_t len;
    json_t *o = object_of(sig_encode_pong(m->ping_id, 1, &len), len, "pong"), *id;

    if (!o)
        abort(); /* a kept id is always one JSON value */
    id = json_object_get(o, "id");
    if (m->ping_id[0] && !json_is_number(id) && !json_is_string(id))
        abort();
    json_decref(o);
    if (m->has_stream) {
        sig_head_t h = { m->stream, m->epoch, m->offset };
        o = object_of(sig_encode_order(&h, m->stream, m->token, 1, &len), len, "order");
        if (!o)
            abort(); /* both came from a JSON text: UTF-8 */
        check_string(o, "name", m->token);
        check_string(o, "stream", m->stream);
        json_decref(o);
    }
}

/* Any text goes out escaped: the input as an error's message is refused (not UTF-8) or comes
 * back byte for byte. */
static void check_escaping(const uint8_t *data, size_t size, int rc)
{
    char *text = malloc(size + 1);
    size_t len;
    json_t *o;

    if (!text)
        return;
    memcpy(text, data, size);
    text[size] = '\0';
    o = object_of(sig_encode_error(rc, text, &len), len, "error");
    if (o) {
        check_string(o, "message", text);
        check_string(o, "code", sig_error_code(rc));
    }
    json_decref(o);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const sig_client_t zero;
    sig_client_t m;
    int rc = sig_parse_client((const char *)data, size, &m);

    if (rc == 0) {
        check_message(&m);
        check_echoes(&m);
    } else if ((rc != SIG_E_BAD_JSON && rc != SIG_E_BAD_MESSAGE && rc != SIG_E_UNKNOWN_TYPE) ||
               memcmp(&m, &zero, sizeof(m))) {
        abort();
    }
    check_escaping(data, size, rc);
    return 0;
}
