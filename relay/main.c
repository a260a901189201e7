/* shopcast: live-commerce streaming relay. Reads the settings, starts the server, runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "relay/core/config.h"
#include "relay/core/log.h"
#include "relay/core/mem.h"
#include "relay/relay.h"

/* Every viewer holds a descriptor or two (HLS, WebSocket), so the soft limit of 1024 that a shell
 * or a systemd unit gives would turn viewers away on a node that has room for them: the soft limit
 * goes up to the hard one, as far as FD_WANT (lws sizes its descriptor table by the limit at
 * start: 8 bytes a descriptor). */
#define FD_WANT 262144

static void raise_fd_limit(void)
{
    struct rlimit l;

    if (getrlimit(RLIMIT_NOFILE, &l) || l.rlim_cur >= FD_WANT || l.rlim_cur == l.rlim_max)
        return;
    l.rlim_cur = l.rlim_max < FD_WANT ? l.rlim_max : FD_WANT;
    if (!setrlimit(RLIMIT_NOFILE, &l))
        rl_info("fd_limit", "open_files=%llu", (unsigned long long)l.rlim_cur);
}

int main(int argc, char **argv)
{
    static rl_config_t cfg;
    static rl_server_t srv;
    char err[512] = "";
    int rc;

    rl_mem_init(); /* before any allocation a thread could make */
    rc = rl_config_load(&cfg, argc, argv, err, sizeof(err));
    if (rc)
        return rc > 0 ? 0 : (fprintf(stderr, "shopcast: %s\n", err), 2);
    if ((rc = rl_log_parse_level(cfg.log_level)) < 0)
        return fprintf(stderr, "shopcast: log-level: '%s' is not error|warn|info|debug\n",
                       cfg.log_level),
               2;
    rl_log_level = rc;
    rl_log_route_ffmpeg();
    rl_info("start", "version=%s config=%s", SHOPCAST_VERSION,
            cfg.config_file[0] ? cfg.config_file : "(defaults)");
    raise_fd_limit();
    if (rl_relay_init(&srv, &cfg, err, sizeof(err)) < 0) {
        rl_err("start_failed", "error=\"%s\"", err);
        rl_relay_abort(&srv);
        return 1;
    }
    return rl_relay_run(&srv) ? 1 : 0;
}
