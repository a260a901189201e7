/* Unit tests for relay/config.c and the Redis URL parser: defaults, INI, command line, errors. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay/core/config.h"
#include "relay/net/redis.h"

static rl_config_t cfg;
static char err[512];

static const char *write_ini(const char *text)
{
    static char path[] = "/tmp/shopcast-test-XXXXXX";
    int fd;

    strcpy(path, "/tmp/shopcast-test-XXXXXX");
    fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    return path;
}

static int load(int argc, char **argv)
{
    err[0] = '\0';
    return rl_config_load(&cfg, argc, argv, err, sizeof(err));
}

Test(config, defaults_cover_every_setting)
{
    char *argv[] = { "shopcast" };

    cr_assert_eq(load(1, argv), 0);
    cr_assert_str_eq(cfg.rtmp_listen, "0.0.0.0:1935");
    cr_assert_str_eq(cfg.http_listen, "0.0.0.0:8080");
    cr_assert_str_eq(cfg.redis, "redis://127.0.0.1:6379");
    cr_assert_eq(cfg.record, 0);
    cr_assert_eq(cfg.rtmp_timeout, 10);
    cr_assert_eq(cfg.redis_timeout_ms, 1500);
    cr_assert_eq(cfg.rtmp_max_connections, 256);
    cr_assert_eq(cfg.rtmp_max_pending_per_ip, 8);
}

Test(config, ini_file_is_read_with_either_spelling_and_sections_ignored)
{
    const char *path = write_ini("[ingest]\nrtmp_listen = 127.0.0.1:2935\n"
                                 "; comment\n[storage]\nrecord = on\ndata-dir = /tmp/x\n");
    char *argv[] = { "shopcast", "--config", (char *)path };

    cr_assert_eq(load(3, argv), 0, "%s", err);
    cr_assert_str_eq(cfg.rtmp_listen, "127.0.0.1:2935");
    cr_assert_eq(cfg.record, 1);
    cr_assert_str_eq(cfg.data_dir, "/tmp/x");
    unlink(path);
}

Test(config, command_line_wins_over_file_in_any_order)
{
    const char *path = write_ini("http_listen = 127.0.0.1:1111\nrecord = on\n");
    char *argv[] = { "shopcast", "--http-listen=127.0.0.1:2222",
                     "--config", (char *)path,
                     "--record", "off" };

    cr_assert_eq(load(6, argv), 0, "%s", err);
    cr_assert_str_eq(cfg.http_listen, "127.0.0.1:2222");
    cr_assert_eq(cfg.record, 0);
    unlink(path);
}

Test(config, unknown_setting_in_file_names_file_and_line)
{
    const char *path = write_ini("record = on\nrtmp_lisen = 1.2.3.4:1\n");
    char *argv[] = { "shopcast", "--config", (char *)path };
    char want[600];

    cr_assert_eq(load(3, argv), -EINVAL);
    snprintf(want, sizeof(want), "%s:2: unknown setting 'rtmp_lisen'", path);
    cr_assert(strstr(err, want), "got: %s", err);
    unlink(path);
}

Test(config, missing_file_is_a_clear_error)
{
    char *argv[] = { "shopcast", "--config", "/nonexistent/shopcast.ini" };

    cr_assert_eq(load(3, argv), -ENOENT);
    cr_assert(strstr(err, "cannot open config file /nonexistent/shopcast.ini"), "%s", err);
}

Test(config, bad_values_are_refused)
{
    char *a1[] = { "shopcast", "--rtmp-timeout", "ten" };
    char *a2[] = { "shopcast", "--record", "maybe" };
    char *a3[] = { "shopcast", "--rtmp-timeout", "-5" };
    char *a4[] = { "shopcast", "--bogus", "1" };
    char *a5[] = { "shopcast", "--record" };
    char *a6[] = { "shopcast", "stray" };

    cr_assert_eq(load(3, a1), -EINVAL);
    cr_assert(strstr(err, "rtmp-timeout: 'ten' is not a whole number"), "%s", err);
    cr_assert_eq(load(3, a2), -EINVAL);
    cr_assert(strstr(err, "not on or off"), "%s", err);
    cr_assert_eq(load(3, a3), -EINVAL);
    cr_assert_eq(load(3, a4), -EINVAL);
    cr_assert(strstr(err, "unknown setting 'bogus'"), "%s", err);
    cr_assert_eq(load(2, a5), -EINVAL);
    cr_assert(strstr(err, "--record needs a value"), "%s", err);
    cr_assert_eq(load(2, a6), -EINVAL);
}

Test(config, overlong_string_is_refused_not_truncated)
{
    char big[700];
    char *argv[] = { "shopcast", "--data-dir", big };

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cr_assert_eq(load(3, argv), -EINVAL);
    cr_assert(strstr(err, "data-dir: value longer than"), "%s", err);
}

Test(config, help_lists_every_setting, .init = cr_redirect_stdout)
{
    char *argv[] = { "shopcast", "--help" };

    cr_assert_eq(load(2, argv), 1);
    fflush(stdout);
    cr_assert_stdout_neq_str(""); /* consumed; content checked through rl_config_usage below */
}

Test(config, usage_names_each_option)
{
    static const char *const names[] = { "--rtmp-listen", "--http-listen",    "--redis",
                                         "--data-dir",    "--operator-token", "--record",
                                         "--tls-cert",    "--rtmp-timeout",   "--config" };
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    rl_config_usage(f);
    fclose(f);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        cr_assert(strstr(buf, names[i]), "usage lacks %s", names[i]);
    free(buf);
}

Test(config, hostport_parsing)
{
    char host[64];
    int port;

    cr_assert_eq(rl_parse_hostport("127.0.0.1:1935", host, sizeof(host), &port), 0);
    cr_assert_str_eq(host, "127.0.0.1");
    cr_assert_eq(port, 1935);
    cr_assert_eq(rl_parse_hostport("[::1]:8080", host, sizeof(host), &port), 0);
    cr_assert_str_eq(host, "::1");
    cr_assert_eq(port, 8080);
    cr_assert_eq(rl_parse_hostport("localhost", host, sizeof(host), &port), -EINVAL);
    cr_assert_eq(rl_parse_hostport("h:0", host, sizeof(host), &port), -EINVAL);
    cr_assert_eq(rl_parse_hostport("h:65536", host, sizeof(host), &port), -EINVAL);
    cr_assert_eq(rl_parse_hostport("h:80x", host, sizeof(host), &port), -EINVAL);
}

Test(redis_url, tcp_unix_and_db)
{
    char host[64], path[64];
    int port, db;

    cr_assert_eq(rl_redis_parse_url("redis://10.0.0.5:6380/2", host, 64, &port, path, 64, &db), 0);
    cr_assert_str_eq(host, "10.0.0.5");
    cr_assert_eq(port, 6380);
    cr_assert_eq(db, 2);
    cr_assert_eq(rl_redis_parse_url("redis://cache", host, 64, &port, path, 64, &db), 0);
    cr_assert_eq(port, 6379);
    cr_assert_eq(db, 0);
    cr_assert_eq(rl_redis_parse_url("unix:/run/redis.sock?db=3", host, 64, &port, path, 64, &db),
                 0);
    cr_assert_str_eq(path, "/run/redis.sock");
    cr_assert_eq(db, 3);
    cr_assert_eq(rl_redis_parse_url("http://x", host, 64, &port, path, 64, &db), -EINVAL);
    cr_assert_eq(rl_redis_parse_url("redis://:1", host, 64, &port, path, 64, &db), -EINVAL);
    cr_assert_eq(rl_redis_parse_url("unix:", host, 64, &port, path, 64, &db), -EINVAL);
}

Test(redis, timeout_too_short_to_work_is_refused)
{
    uv_loop_t loop;

    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_null(rl_redis_new(&loop, "redis://127.0.0.1:6379", 50, err, sizeof(err)));
    cr_assert(strstr(err, "redis-timeout-ms"), "%s", err);
    cr_assert_null(rl_redis_new(&loop, "ftp://x", 1500, err, sizeof(err)));
    cr_assert(strstr(err, "ftp://x"), "%s", err);
    cr_assert_eq(uv_loop_close(&loop), 0);
}
