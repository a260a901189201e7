/* Single-line, levelled, key=value logs to stderr, safe from any thread.
 *
 * Each line is formatted into one buffer and written with a single write(2), so lines from the
 * network thread and the media workers never interleave. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "relay/core/log.h"

int rl_log_level = RL_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int rl_log_parse_level(const char *s)
{
    for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++)
        if (!strcmp(s, level_names[i]))
            return i;
    return -EINVAL;
}

void rl_log(int level, const char *event, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    int n;

    if (level > rl_log_level)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s event=%s ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(tv.tv_usec / 1000), level_names[level], event);
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return; /* nowhere left to report it */
}

const char *rl_log_quote(char *dst, size_t size, const char *s)
{
    size_t o = 0;

    if (size < 3)
        return "\"\"";
    dst[o++] = '"';
    for (; s && *s && o + 5 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(dst + o, size - o, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(dst + o, size - o, "\\x%02x", c);
        else
            dst[o++] = (char)c;
    }
    dst[o++] = '"';
    dst[o] = '\0';
    return dst;
}

/* FFmpeg's own messages become log lines too; its lines may arrive in pieces, hence the buffer. */
static void av_log_cb(void *avcl, int level, const char *fmt, va_list vl)
{
    static _Thread_local char pending[1024];
    static _Thread_local int prefix = 1;
    char piece[1024], quoted[1200];
    size_t n;

    if (level > (rl_log_level >= RL_LOG_DEBUG ? AV_LOG_VERBOSE : AV_LOG_WARNING))
        return;
    av_log_format_line2(avcl, level, fmt, vl, piece, sizeof(piece), &prefix);
    n = strlen(pending);
    snprintf(pending + n, sizeof(pending) - n, "%s", piece);
    n = strlen(pending);
    if (!n || (pending[n - 1] != '\n' && n < sizeof(pending) - 1))
        return;
    pending[strcspn(pending, "\n")] = '\0';
    rl_log(level <= AV_LOG_ERROR     ? RL_LOG_ERROR
           : level <= AV_LOG_WARNING ? RL_LOG_WARN
                                     : RL_LOG_DEBUG,
           "ffmpeg", "msg=%s", rl_log_quote(quoted, sizeof(quoted), pending));
    pending[0] = '\0';
}

void rl_log_route_ffmpeg(void)
{
    av_log_set_callback(av_log_cb);
}
