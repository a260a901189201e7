/* Stream keys in Redis: create a stream and its secret key, look a key up, revoke it.
 *
 * Layout under the configured prefix P (keys of one stream share the {id} hash tag so Redis
 * Cluster places them on one shard):
 *   P stream:{ID}  hash   title, key, created (unix seconds)
 *   P key:KEY      string ID        (the only way from a key to its stream)
 *   P streams      set    every ID */
#ifndef RELAY_KEYS_H
#define RELAY_KEYS_H

#include <stdint.h>

#include "relay/net/server.h"

/* stream_id is NULL when the key is unknown; rc < 0 when Redis could not answer. */
typedef void (*rl_key_cb)(rl_server_t *srv, uint64_t token, int rc, const char *stream_id);
int rl_keys_lookup(rl_server_t *srv, const char *key, rl_key_cb cb, uint64_t token);

typedef void (*rl_create_cb)(rl_server_t *srv, uint64_t token, int rc, const char *id,
                             const char *key);
int rl_keys_create(rl_server_t *srv, const char *title, rl_create_cb cb, uint64_t token);

/* Gives the stream a new key and revokes the old one, in one transaction: from its EXEC on, the
 * old key is unknown to every node that asks Redis. cb gets the new key; rc -ENOENT: no such
 * stream (or it has no key). */
int rl_keys_rotate(rl_server_t *srv, const char *id, rl_create_cb cb, uint64_t token);

/* Deletes the stream and revokes its key. found is 0 when no such stream existed. */
typedef void (*rl_delete_cb)(rl_server_t *srv, uint64_t token, int rc, int found);
int rl_keys_delete(rl_server_t *srv, const char *id, rl_delete_cb cb, uint64_t token);

/* Loads every stream's id, title and key into the registry (at start and after a reconnect), and
 * forgets the streams that are no longer in Redis, unless they are live. */
void rl_keys_load_all(rl_server_t *srv);

/* The stream whose key this node last learned from Redis (at load, create or a lookup), or NULL.
 * Only for when Redis cannot answer: Redis stays the authority whenever it can. */
rl_stream_t *rl_keys_known(rl_server_t *srv, const char *key);

/* Fills out[len] with random lowercase letters and digits from getrandom(2). */
int rl_random_token(char *out, size_t len);

#endif
