/* libFuzzer target for the image decode path (relay/commerce/image.c): an upload's bytes,
 * whole, as the image route hands them over.
 *
 * The pixel limit is lowered to FUZZ_SIDE_MAX so that each input decodes in milliseconds; the
 * path is the same. Whatever the input, a crash, a sanitizer report or an abort() below is a
 * bug: the aborts check the header's promises (a thumbnail exactly as SCI1 describes it and
 * within the size asked for, or NULL and a sentence; nothing refused by the cheap check is
 * decoded). */
#include <errno.h>
#include <libavutil/log.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/commerce/image.h"

#define FUZZ_SIDE_MAX  512
#define FUZZ_THUMB_MAX 64

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    av_log_set_level(AV_LOG_QUIET); /* every corrupt input would print a line */
    return 0;
}

static void check_thumb(const uint8_t *t, size_t len, int w, int h)
{
    if (!t || w < 1 || h < 1 || w > FUZZ_THUMB_MAX || h > FUZZ_THUMB_MAX ||
        len != RL_IMAGE_THUMB_HDR + (size_t)w * h * 4 || memcmp(t, "SCI1", 4) ||
        (t[4] << 8 | t[5]) != w || (t[6] << 8 | t[7]) != h)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[160] = "", cheap[160] = "";
    uint8_t *t = NULL;
    size_t len = 0;
    int w = 0, h = 0;
    int early = rl_image_check(data, size, FUZZ_SIDE_MAX, cheap, sizeof(cheap));
    int rc = rl_image_thumbnail(data, size, FUZZ_SIDE_MAX, FUZZ_THUMB_MAX, &t, &len, &w, &h, err,
                                sizeof(err));

    if (rc == 0) {
        if (early != 0)
            abort();
        check_thumb(t, len, w, h);
    } else if (t || !err[0] || (rc != -ENOTSUP && rc != -EINVAL && rc != -EFBIG && rc != -ENOMEM) ||
               (early != 0 && early != rc)) {
        abort();
    }
    free(t);
    return 0;
}
