/* Process memory policy: glibc's allocator set up so that what a publish session frees goes back
 * to the system, and freed heap handed back when a stream goes off air.
 *
 * Why (bench/soak_reconnect.sh, bench/RESULTS.md): glibc serves blocks of 128 KiB and more with
 * their own mmap, but each time such a block is freed it raises that threshold to the block's
 * size (up to 32 MiB). The first transcoder's frame buffers (x264's planes, ~1.4 MiB at 720p,
 * decoder pictures) are mmapped; once it is closed at a reconnect, the next transcoder's land in
 * the heap arenas instead, between long-lived blocks (the HLS window's parts), and the arenas
 * only give memory back from their top. Bytes in use stayed flat across reconnects while RSS
 * grew by about 8 MB at each one. A fixed threshold turns that adaptation off (and the trim
 * threshold's with it), so large buffers keep their own mappings and leave with them. */
#include "relay/core/mem.h"

#include <stdlib.h> /* defines __GLIBC__ under glibc */
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define MMAP_THRESHOLD (128 * 1024) /* glibc's own starting value, now fixed */

void rl_mem_init(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
#endif
}

void rl_mem_trim(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}
