/* Source addresses as fixed-size keys, so connections from one source can be counted together. */
#include "relay/net/peer.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void rl_peer_key(const char *text, rl_peer_key_t *key)
{
    memset(key, 0, sizeof(*key));
    if (inet_pton(AF_INET, text, key->b + 12) == 1) {
        memcpy(key->b, v4_mapped, sizeof(v4_mapped));
        return;
    }
    if (inet_pton(AF_INET6, text, key->b) != 1) {
        memset(key, 0, sizeof(*key));
        return;
    }
    if (memcmp(key->b, v4_mapped, sizeof(v4_mapped)))
        memset(key->b + 8, 0, 8); /* native IPv6: the /64 is the source */
}

char *rl_peer_unmap(char *text)
{
    struct in_addr a;

    if (!strncasecmp(text, "::ffff:", 7) && inet_pton(AF_INET, text + 7, &a) == 1)
        memmove(text, text + 7, strlen(text + 7) + 1);
    return text;
}

int rl_peer_key_eq(const rl_peer_key_t *a, const rl_peer_key_t *b)
{
    return !memcmp(a->b, b->b, sizeof(a->b));
}
