/* Signalling protocol messages (shopcast.v1, proto/SIGNAL.md): encode the server's, parse the
 * client's.
 *
 * Pure: no sockets, no globals. Encoders return the message as one malloc'ed JSON text (the
 * caller frees it) with its length; every string field is copied as data and escaped by the JSON
 * writer. The parser never trusts its input: any byte string gives either a filled message or a
 * SIG_E_* code. */
#ifndef PROTO_SIGNAL_H
#define PROTO_SIGNAL_H

#include <stddef.h>
#include <stdint.h>

#define SIG_SUBPROTOCOL "shopcast.v1"
#define SIG_CLIENT_MAX  4096 /* bytes in one client message */
#define SIG_ID_MAX      32   /* a stream id, with its NUL */
#define SIG_TOKEN_MAX   128
#define SIG_EPOCH_MAX   32
#define SIG_PING_ID_MAX 64 /* bytes in a ping's string id */
/* The id as JSON text: each byte may be escaped as \u00XX, plus the quotes and the NUL. */
#define SIG_PING_TEXT_MAX (6 * SIG_PING_ID_MAX + 3)

/* Close codes (RFC 6455 7.4; 4000-4999 are ours). */
enum {
    SIG_CLOSE_GOING_AWAY = 1001,
    SIG_CLOSE_POLICY = 1008,
    SIG_CLOSE_TOO_BIG = 1009,
    SIG_CLOSE_TOO_SLOW = 4008,
    SIG_CLOSE_FORBIDDEN = 4401,
    SIG_CLOSE_UNKNOWN_STREAM = 4404,
    SIG_CLOSE_IDLE = 4408,
    SIG_CLOSE_FLOOD = 4429,
    SIG_CLOSE_FULL = 4503,
};

/* Client message errors: each has its code string (sig_error_code). */
typedef enum sig_err_e {
    SIG_E_OK = 0,
    SIG_E_BAD_JSON = -1,
    SIG_E_BAD_MESSAGE = -2,
    SIG_E_UNKNOWN_TYPE = -3,
    SIG_E_NOT_SUBSCRIBED = -4,
    SIG_E_ALREADY_SUBSCRIBED = -5,
    SIG_E_UNKNOWN_STREAM = -6,
    SIG_E_FORBIDDEN = -7,
} sig_err_t;

/* "bad_json", ...; "internal" for anything else. */
const char *sig_error_code(int err);

typedef enum sig_role_e { SIG_VIEWER = 0, SIG_OPERATOR = 1 } sig_role_t;

typedef enum sig_ctype_e { SIG_SUBSCRIBE = 1, SIG_RESUME, SIG_PING } sig_ctype_t;

/* A client message. For a resume that is not a connection's first message, has_stream may be 0. */
typedef struct sig_client_s {
    sig_ctype_t type;
    int has_stream;
    char stream[SIG_ID_MAX];
    sig_role_t role;
    char token[SIG_TOKEN_MAX];
    char epoch[SIG_EPOCH_MAX];
    uint64_t offset;
    char ping_id[SIG_PING_TEXT_MAX]; /* the JSON text of the id to echo ("7", "\"a\""); "" none */
} sig_client_t;

/* Parses one client message of len bytes (not NUL-terminated). Returns 0, or a SIG_E_* code:
 * bad_json (not a JSON object, or over SIG_CLIENT_MAX), unknown_type, bad_message (a field of the
 * wrong type or size; a stream id that cannot be one: rl_http_valid_id's rule, [a-z0-9]{1,31}). */
int sig_parse_client(const char *buf, size_t len, sig_client_t *out);

/* The states of a stream, as "live", "slate", "ended", "offline". */
typedef enum sig_state_e { SIG_OFFLINE = 0, SIG_LIVE, SIG_SLATE, SIG_ENDED } sig_state_t;
const char *sig_state_name(sig_state_t s);

/* What the card shows (SIGNAL.md `card`). Strings are borrowed for the call. */
typedef struct sig_card_s {
    int pinned;
    const char *product_id; /* NULL or "" when nothing is pinned */
    const char *name;
    const char *currency;
    int64_t price; /* charged now */
    int64_t regular_price;
    int64_t sold, stock;
    int flash; /* a flash sale runs for the product */
    int64_t flash_price, flash_ends_ms, flash_left;
} sig_card_t;

/* The frame that first shows a change. */
typedef struct sig_stamp_s {
    uint64_t seq;
    int64_t pts_ms, pdt_ms;
} sig_stamp_t;

/* The head of every stream event. */
typedef struct sig_head_s {
    const char *stream;
    const char *epoch;
    uint64_t offset;
} sig_head_t;

typedef struct sig_part_s {
    const char *rung;
    uint64_t msn;
    int part; /* -1: none (segment) */
    double duration;
    int independent;
    int64_t ready_ms; /* Unix ms it became servable (the drain of the window); 0: not sent */
} sig_part_t;

typedef struct sig_rung_health_s {
    const char *name;
    double speed;
    double part_ready_p50_ms, part_ready_p95_ms;
} sig_rung_health_t;

typedef struct sig_health_s {
    double kbps, fps;
    int64_t keyframe_interval_ms;
    uint64_t dropped_frames;
    const char *codec;
    int width, height;
    const sig_rung_health_t *rungs;
    int nrungs;
    double orders_per_minute;
    int64_t viewers;
    int64_t uptime_s;
} sig_health_t;

typedef struct sig_hello_s {
    const char *stream;
    sig_role_t role;
    const char *epoch;
    uint64_t offset;
    sig_state_t state;
    int64_t since_ms;
    const char *title;
    const sig_card_t *card;   /* NULL: null */
    const sig_stamp_t *stamp; /* NULL: null */
    int64_t viewers;
    const char *const *rungs;
    int nrungs;
    const sig_part_t *last_part;    /* NULL: null */
    const sig_part_t *last_segment; /* NULL: null */
    int64_t server_ms;
    int recovered_false;        /* answers a resume that could not be served */
    const sig_health_t *health; /* operators; NULL: none */
} sig_hello_t;

/* Encoders: each returns a malloc'ed JSON text and its length in *len, or NULL when out of
 * memory or a string is not UTF-8 (JSON text is UTF-8, RFC 8259 8.1). A NULL string is encoded
 * as "", a non-finite real as null. */
char *sig_encode_hello(const sig_hello_t *m, size_t *len);
char *sig_encode_resumed(const char *stream, const char *epoch, uint64_t from, uint64_t to,
                         size_t *len);
char *sig_encode_part(const char *stream, const sig_part_t *p, size_t *len);    /* "part" */
char *sig_encode_segment(const char *stream, const sig_part_t *p, size_t *len); /* "segment" */
char *sig_encode_stream(const sig_head_t *h, sig_state_t state, int64_t since_ms, size_t *len);
char *sig_encode_product(const sig_head_t *h, const sig_stamp_t *s, const sig_card_t *c,
                         size_t *len);
char *sig_encode_price(const sig_head_t *h, const sig_stamp_t *s, const sig_card_t *c, size_t *len);
char *sig_encode_flash_sale(const sig_head_t *h, const sig_stamp_t *s, const sig_card_t *c,
                            size_t *len);
char *sig_encode_sold(const sig_head_t *h, const sig_stamp_t *s, const sig_card_t *c, size_t *len);
char *sig_encode_viewers(const sig_head_t *h, int64_t count, size_t *len);
char *sig_encode_order(const sig_head_t *h, const char *product, const char *name, int64_t qty,
                       size_t *len);
char *sig_encode_health(const char *stream, const sig_health_t *m, size_t *len);
/* ping_id: the JSON text sig_parse_client kept ("" for none: "id" is omitted). */
char *sig_encode_pong(const char *ping_id, int64_t server_ms, size_t *len);
char *sig_encode_error(int err, const char *message, size_t *len);

/* Which stamped events a change of the card makes, as a bit set of SIG_CHANGE_*: product (pinned
 * or not, another product, its name or currency), price (charged or regular), flash_sale (a sale
 * starts or ends, its price or end), sold (sold or stock; flash units left). prev NULL: the
 * first card, a product change. */
enum { SIG_CHANGE_PRODUCT = 1, SIG_CHANGE_PRICE = 2, SIG_CHANGE_FLASH = 4, SIG_CHANGE_SOLD = 8 };
unsigned sig_card_changes(const sig_card_t *prev, const sig_card_t *next);

/* Merging: at most one message per interval of a kind (sold, viewers). Call sig_merge_offer when
 * a new figure is there; it says whether to send now (1), or that one is due at *due_ms (0): call
 * sig_merge_due then. */
typedef struct sig_merge_s {
    int64_t last_ms; /* when one was last sent; 0: never */
    int pending;
} sig_merge_t;
int sig_merge_offer(sig_merge_t *m, int64_t now_ms, int64_t interval_ms, int64_t *due_ms);
/* Whether the pending figure is due at now_ms (and, if so, marks it sent). */
int sig_merge_due(sig_merge_t *m, int64_t now_ms, int64_t interval_ms);

#endif
