"""bench/orders_api.sh's figures: one TSV row per round from wrk's and redis-benchmark's output,
and the table of medians per appendfsync setting.

  orders_report.py row FSYNC REP WRK_OUT RB_CSV INCR_CSV BUSY_API BUSY_RB LOAD1 RB_PIPELINED_CSV
                       SHOPCAST_US REDIS_US_API REDIS_US_RB (CPU per order)
  orders_report.py table RESULTS_TSV CONNS THREADS DURATION
"""
import csv
import re
import statistics
import sys


def wrk_figures(path):
    """(requests/s, p99 ms) from wrk --latency output."""
    t = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", t).group(1))
    m = re.search(r"^\s+99%\s+([0-9.]+)(us|ms|s)\b", t, re.M)
    v = float(m.group(1))
    return rps, {"us": v / 1000, "ms": v, "s": v * 1000}[m.group(2)]


def rb_figures(path):
    """(requests/s, p99 ms) of the last test in a redis-benchmark --csv output."""
    rows = [r for r in csv.DictReader(l for l in open(path) if l.startswith('"'))]
    return float(rows[-1]["rps"]), float(rows[-1]["p99_latency_ms"])


def row(argv):
    fsync, rep, wrk_out, rb_csv, incr_csv, busy_api, busy_rb, load, rbp_csv = argv[:9]
    api, api_p99 = wrk_figures(wrk_out)
    fc, fc_p99 = rb_figures(rb_csv)
    incr, _ = rb_figures(incr_csv)
    piped, _ = rb_figures(rbp_csv)
    print("\t".join([fsync, rep, "%.0f" % api, "%.2f" % api_p99, "%.0f" % fc, "%.2f" % fc_p99,
                     "%.0f" % incr, "%.3f" % (api / fc), busy_api, busy_rb, load, "%.0f" % piped]
                    + argv[9:12]))


def table(argv):
    path, conns, threads, duration = argv
    rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
    print()
    print("wrk -t%s -c%s -d%ss against shopcast; redis-benchmark -c%s (unpipelined), same run"
          % (threads, conns, duration, conns))
    print()
    print("| appendfsync | rounds | orders API /s | API p99 ms | FCALL shopcast_order /s "
          "| FCALL p99 ms | **API / FCALL** | FCALL -P 16 /s | INCR /s "
          "| CPU µs per order: shopcast, Redis (API), Redis (FCALL) | machine busy (API, FCALL) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    verdict = []
    for fsync in dict.fromkeys(r[0] for r in rows):
        rs = [r for r in rows if r[0] == fsync]
        # the median round by the ratio; its own figures, so that they belong together
        mid = sorted(rs, key=lambda r: float(r[7]))[len(rs) // 2]
        print("| %s | %d | %s | %s | %s | %s | **%s** | %s | %s | %s, %s, %s | %s%%, %s%% |" % (
            fsync, len(rs), mid[2], mid[3], mid[4], mid[5], mid[7], mid[11], mid[6], mid[12],
            mid[13], mid[14], mid[8], mid[9]))
        api, p99, ratio = float(mid[2]), float(mid[3]), float(mid[7])
        verdict.append("%s: %s (orders/s >= 20000: %s, p99 <= 10 ms: %s, ratio >= 0.5: %s)" % (
            fsync, "met" if api >= 20000 and p99 <= 10 and ratio >= 0.5 else "NOT met",
            api >= 20000, p99 <= 10, ratio >= 0.5))
    print()
    print("all rounds (API/s, API p99, FCALL/s, FCALL p99, ratio, FCALL -P 16/s):")
    for r in rows:
        print("  %s round %s: %s, %s ms, %s, %s ms, %s, %s (load1 %s)" % (
            r[0], r[1], r[2], r[3], r[4], r[5], r[7], r[11], r[10]))
    print()
    print("goal " + "; ".join(verdict))


if __name__ == "__main__":
    {"row": row, "table": table}[sys.argv[1]](sys.argv[2:])
