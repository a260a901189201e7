/* Single-line, levelled, key=value logs to stderr, safe from any thread.
 *
 * A line looks like: ts=2026-11-29T14:00:00.123Z level=info event=rtmp_publish stream=ab12 ...
 * The fmt part is the caller's key=value pairs; values with spaces must be quoted by the caller
 * (rl_log_quote helps). */
#ifndef RELAY_LOG_H
#define RELAY_LOG_H

enum { RL_LOG_ERROR = 0, RL_LOG_WARN, RL_LOG_INFO, RL_LOG_DEBUG };

extern int rl_log_level;

void rl_log(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses "error", "warn", "info", "debug". Returns the level or -EINVAL. */
int rl_log_parse_level(const char *s);

/* Writes s as a double-quoted value with " and \ and control bytes escaped, into dst[size].
 * Returns dst. Meant for peer-controlled strings (stream names, titles, reasons). */
const char *rl_log_quote(char *dst, size_t size, const char *s);

/* Sends FFmpeg's av_log output through rl_log. */
void rl_log_route_ffmpeg(void);

#define rl_err(ev, ...)  rl_log(RL_LOG_ERROR, ev, __VA_ARGS__)
#define rl_warn(ev, ...) rl_log(RL_LOG_WARN, ev, __VA_ARGS__)
#define rl_info(ev, ...) rl_log(RL_LOG_INFO, ev, __VA_ARGS__)
#define rl_dbg(ev, ...)                                                                            \
    do {                                                                                           \
        if (rl_log_level >= RL_LOG_DEBUG)                                                          \
            rl_log(RL_LOG_DEBUG, ev, __VA_ARGS__);                                                 \
    } while (0)

#endif
