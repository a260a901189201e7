/* Settings: one table of {name, type, offset, default, help}, filled from defaults, then the INI
 * file, then the command line, in that order, so the command line always wins. */
#ifndef RELAY_CONFIG_H
#define RELAY_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef struct rl_config_s {
    char config_file[512];
    char rtmp_listen[128];
    char rtmps_listen[128];
    char tls_cert[512];
    char tls_key[512];
    char http_listen[128];
    char public_host[256];
    char redis[512];
    char redis_prefix[64];
    int redis_timeout_ms;
    char data_dir[512];
    char operator_token[128];
    char log_level[16];
    int record;
    int rtmp_max_connections;
    int rtmp_max_pending_per_ip;
    int rtmp_max_message_kb;
    int rtmp_max_chunk_streams;
    int rtmp_timeout;
    int stale_after;
    int media_queue;
    char web_dir[512];
    char ladder[256];
    char x264_preset[32];
    int x264_threads;
    int hls_segment_ms;
    int hls_part_ms;
    int hls_window;
    int hls_ended_keep;
    int grace;
    int order_dedup_s;
    int order_log_max;
    int order_rate;
    int order_burst;
    char webhook_secret[256];
    int ws_max_clients;
    int ws_ping_s;
    int ws_idle_s;
    int ws_ring;
    char ws_origins[512];
} rl_config_t;

/* Fills cfg from defaults, the file named by --config (if any) and argv. Returns 0, 1 when --help
 * or --version was printed (the caller exits 0), or a negative error with err filled. */
int rl_config_load(rl_config_t *cfg, int argc, char **argv, char *err, size_t errlen);

/* Loads only the defaults; for tests and tools. */
void rl_config_defaults(rl_config_t *cfg);

/* Applies one name=value setting; name may use '-' or '_'. Returns 0 or -EINVAL with err set. */
int rl_config_set(rl_config_t *cfg, const char *name, const char *value, char *err, size_t errlen);

/* Splits "HOST:PORT" ("[v6]:PORT" too) into host[hostlen] and *port. Returns 0 or -EINVAL. */
int rl_parse_hostport(const char *s, char *host, size_t hostlen, int *port);

void rl_config_usage(FILE *f);

#endif
