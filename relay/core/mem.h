/* Process memory policy: glibc's allocator set up so that what a publish session frees goes back
 * to the system, and freed heap handed back when a stream goes off air.
 *
 * Any thread; rl_mem_init once in main before any thread starts. Elsewhere than glibc both do
 * nothing. */
#ifndef RELAY_MEM_H
#define RELAY_MEM_H

void rl_mem_init(void);

/* Returns the free pages of every heap to the system. It walks all of them, under each arena's
 * lock: call it after something large went away (a worker joined, a window released), not on a
 * hot path. */
void rl_mem_trim(void);

#endif
