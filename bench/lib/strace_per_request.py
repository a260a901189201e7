"""System calls per request, from `strace -c -f -o FILE` of a server and the wrk run it served.
Usage: strace_per_request.py STRACE_FILE WRK_OUTPUT SERVER LABEL
Prints one tab-separated line: server, label, requests, calls per request, the six most frequent
calls per request."""
import re
import sys


def main(st, wrk, srv, label):
    n = int(re.search(r"(\d+) requests in", open(wrk).read()).group(1))
    calls = {}
    for line in open(st):
        f = line.split()
        # "% time  seconds  usecs/call  calls  [errors]  syscall"; the total line is left out
        if len(f) >= 5 and re.match(r"^[0-9.]+$", f[0]) and f[-1] != "total":
            calls[f[-1]] = int(f[3])
    total = sum(calls.values())
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:6]
    print("\t".join([srv, label, str(n), "%.2f" % (total / n),
                     ", ".join("%s %.2f" % (k, v / n) for k, v in top)]))


if __name__ == "__main__":
    main(*sys.argv[1:5])
