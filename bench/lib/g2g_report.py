#!/usr/bin/python3
"""Prints glass_to_glass.sh's result table from its temp dir: g2g_report.py TMP SERVER..."""
import json
import os
import re
import sys

GOAL_P50_MS, GOAL_P95_MS, GOAL_TOP_SHARE = 1000, 1300, 0.9  # issue 10, on the top rung


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def tag(playlist, name):
    m = re.search(r"#%s:([^\n]*)" % re.escape(name), playlist)
    return m.group(1) if m else ""


def fmt(v, nd=0):
    if v is None:
        return "-"
    return ("%." + str(nd) + "f") % v


def main(tmp, servers):
    rows = {}
    print()
    print("picture: %s" % read(os.path.join(tmp, "picture"), "moving"))
    print()
    print("| server | p50 ms | p95 ms | min ms | max ms | samples | unreadable frames | stalls "
          "| hls.js latency p50 s | hls.js target s | rendition heights played (frames) "
          "| top rung: share of frames, p50 / p95 ms | camera late frames "
          "| cores: server / camera / browser | machine busy % | load1 before/after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in servers:
        d = os.path.join(tmp, s)
        try:
            j = json.loads(read(os.path.join(d, "probe.json"), "{}"))
        except ValueError:
            j = {}
        rows[s] = j
        cam = read(os.path.join(d, "clockgen.stats"), "? ? ?").split()
        cores = " / ".join(read(os.path.join(d, "cores"), "? ? ?").split())
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s of %s (max %s ms) | %s | %s | %s / %s |" % (
            s, fmt(j.get("p50")), fmt(j.get("p95")), fmt(j.get("min")), fmt(j.get("max")),
            j.get("n", "-"), j.get("unreadable", "-"), j.get("waiting", "-"),
            fmt(j.get("hls_latency_p50_s"), 2), fmt(j.get("hls_target_latency_s"), 2),
            ",".join("%sp:%s" % kv for kv in sorted((j.get("heights") or {}).items())),
            top_rung(j), cam[1], cam[0], cam[2] if len(cam) > 2 else "?", cores, read(os.path.join(d, "busy"), "?"),
            read(os.path.join(d, "load.before"), "?"), read(os.path.join(d, "load.after"), "?")))
    print()
    for s in servers:
        d = os.path.join(tmp, s)
        pl = read(os.path.join(d, "media.m3u8"))
        info = rows[s].get("hls") or {}
        extra = ["TARGETDURATION=%s" % tag(pl, "EXT-X-TARGETDURATION")]
        if rows[s].get("hlsConfigOverride"):
            extra.append("hls.js config override %s" % json.dumps(rows[s]["hlsConfigOverride"]))
        if "#EXT-X-PART-INF" in pl:
            extra.append("PART-INF %s" % tag(pl, "EXT-X-PART-INF"))
            extra.append("SERVER-CONTROL %s" % tag(pl, "EXT-X-SERVER-CONTROL"))
        print("%s: playlist %s; hls.js %s lowLatencyMode=%s liveSyncDurationCount=%s; errors %s" % (
            s, ", ".join(extra), info.get("version"), info.get("lowLatencyMode"),
            info.get("liveSyncDurationCount"), sorted(set(info.get("errors") or [])) or "none"))
        r = rows[s]
        pg = r.get("page")
        if pg:
            print("  page: WebSocket %s (%s connection(s)); the panel shows the pinned product: %s" % (
                "open" if pg.get("ws_open") else "NOT open", pg.get("ws_connects"),
                pg.get("card_product") or "NONE"))
        if r.get("playback_speed") is not None:
            print("  player: %.4f media s per wall s while sampling (playback rates %s), %s frames dropped" % (
                r["playback_speed"], r.get("playback_rates"), r.get("dropped_frames")))
        for jmp in info.get("jumps") or []:
            print("  page jumped to its target: %.2f -> %.2f s (latency %.2f s, target %.2f s)" % (
                jmp["from"], jmp["to"], jmp["latency"], jmp["target"]))
        rend = read(os.path.join(d, "renditions.tsv"))
        ready_p50 = {}
        for line in rend.splitlines():
            f = line.split("\t")
            ready_p50[f[0]] = float(f[2])
            print("  shopcast API %s: encoder_speed %s, part_ready_ms p50 %s p95 %s (stages p50/p95: %s), "
                  "dropped %s; a frame's mean ms: %s" % (f[0], f[1], f[2], f[3], f[6] if len(f) > 6 else "-",
                                                        f[4], f[7] if len(f) > 7 else "-"))
        budget(r, ready_p50.get("%sp" % r.get("top_height")))
    print()
    a = rows.get("shopcast", {})
    if "nginx" in rows:
        b = rows["nginx"]
        for k in ("p50", "p95"):
            if a.get(k) and b.get(k):
                print("shopcast/nginx %s: %.2f  (%.0f ms / %.0f ms)" % (k, a[k] / b[k], a[k], b[k]))
    if a.get("top_p50") is not None:
        share_ok = a["top_share"] is not None and a["top_share"] >= GOAL_TOP_SHARE
        print("goal (shopcast, issue 10, on the top rung %sp): p50 <= %d ms: %s (%.0f); p95 <= %d ms: "
              "%s (%.0f); >= %.0f%% of the frames from it: %s (%s)" % (
                  a["top_height"], GOAL_P50_MS, "met" if a["top_p50"] <= GOAL_P50_MS else "NOT met",
                  a["top_p50"], GOAL_P95_MS, "met" if a["top_p95"] <= GOAL_P95_MS else "NOT met",
                  a["top_p95"], 100 * GOAL_TOP_SHARE, "met" if share_ok else "NOT met",
                  pct(a["top_share"])))
    elif a.get("n"):
        print("goal (shopcast): NOT measured on the top rung (%sp): no frame of it was played" %
              a.get("top_height"))
    return 0


def budget(r, server_ms):
    """The time budget of the top rung's frames (lib/g2g_probe.mjs), p50 (p95) of each piece."""
    b = r.get("budget")
    if not b:
        return
    def v(k):
        return "%.0f (%.0f)" % tuple(b[k])
    print("  time budget, %sp, ms p50 (p95) over %d frames (each piece's own percentile: they need not add up):"
          % (r.get("top_height"), b["n"]))
    print("    made -> its part ready on the server %s: waiting for the rest of its part %s; the server, "
          "from the part's last packet to ready (API p50) %s; so camera, RTMP and transcode ~%.0f" % (
              v("made_ready"), v("part_wait"), "%.0f" % server_ms if server_ms is not None else "-",
              b["made_ready"][0] - b["part_wait"][0] - (server_ms or 0)))
    print("    ready -> downloaded %s; downloaded -> buffered (hls.js) %s; buffered -> presented %s; total %s" % (
        v("ready_got"), v("got_buffered"), v("buffered_shown"), v("total")))


def pct(share):
    return "-" if share is None else "%.0f%%" % (100 * share)


def top_rung(j):
    """Which rendition the goal is judged on, how much of the run it was, and its figures."""
    if not j.get("top_height"):
        return "-"
    return "%sp: %s, %s / %s" % (j["top_height"], pct(j.get("top_share")), fmt(j.get("top_p50")),
                                 fmt(j.get("top_p95")))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
