/* Comparing secrets (tokens, signatures) in time that does not depend on where they differ. */
#ifndef RELAY_SECRET_H
#define RELAY_SECRET_H

#include <stddef.h>
#include <string.h>

/* Whether given (len bytes) equals the NUL-terminated want; only the lengths leak. */
static inline int rl_secret_eq(const char *given, size_t len, const char *want)
{
    size_t n = strlen(want);
    unsigned diff = 0;

    if (len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned)(given[i] ^ want[i]);
    return !diff;
}

#endif
