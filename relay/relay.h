/* Assembles the relay: the network thread's loop, Redis, the lws vhosts, ticks and wake-ups. */
#ifndef RELAY_RELAY_H
#define RELAY_RELAY_H

#include <stddef.h>

#include "relay/core/config.h"
#include "relay/net/server.h"

/* Builds the loop, the lws context with its vhosts, and the Redis connection.
 * Returns 0 or a negative error with err filled. */
int rl_relay_init(rl_server_t *srv, rl_config_t *cfg, char *err, size_t errlen);
/* Runs until SIGTERM or SIGINT, then tears everything down. */
int rl_relay_run(rl_server_t *srv);
/* Tears down what a failed rl_relay_init built. */
void rl_relay_abort(rl_server_t *srv);

#endif
