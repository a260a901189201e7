// Glass-to-glass probe: opens a player page in Debian's Chromium (playwright-core, no browser
// download), and on every video frame the page presents (requestVideoFrameCallback) draws the
// frame's top strip onto a canvas, reads the wall-clock row that bench/lib/clockgen.py drew into
// the picture, and records Date.now() minus that time. Prints one JSON object.
//
// Usage: node g2g_probe.mjs URL WARMUP_S SECONDS
// The page must expose window.shopcastPlayer = { video, hls } (shopcast's /watch/<id> does, and
// so does bench/lib/g2g_page.html). Samples start WARMUP_S seconds after the video first plays.
// Diagnostics (environment): G2G_HLS_CONFIG='{"maxLiveSyncPlaybackRate":1.5}' merges settings
// into every hls.js config the page makes (the page's own code is untouched: window.Hls is
// wrapped before it loads); G2G_TRACE=1 adds hls.js's latency and level once a second;
// G2G_SAMPLES=1 adds every sample.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const [url, warmupArg, secondsArg] = process.argv.slice(2);
const warmup = Number(warmupArg || 10);
const seconds = Number(secondsArg || 60);

// Runs in the page. Layout constants mirror clockgen.py.
function installProbe() {
  const BLOCK = 24, X0 = 64, Y0 = 24, NBITS = 40, MARK = [1, 0, 1, 0];
  const p = window.shopcastPlayer;
  const video = p.video;
  const canvas = document.createElement('canvas');
  canvas.width = 1280;
  canvas.height = 72;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const st = { samples: [], heights: [], bad: 0, frames: 0, waiting: 0, info: [], levels: {}, on: false };
  window.__g2g = st;
  video.addEventListener('waiting', () => { if (st.on) st.waiting++; });
  function decode(data) {
    const bits = [];
    for (let i = 0; i < 48; i++) {
      const cx = X0 + i * BLOCK + BLOCK / 2, cy = Y0 + BLOCK / 2;
      let tot = 0, n = 0;
      for (let y = cy - 4; y < cy + 4; y++)
        for (let x = cx - 4; x < cx + 4; x++) { tot += data[(y * 1280 + x) * 4 + 1]; n++; }
      bits.push(tot / n > 128 ? 1 : 0);
    }
    for (let i = 0; i < 4; i++) if (bits[i] !== MARK[i]) return null;
    let v = 0;
    for (let i = 0; i < NBITS; i++) v = v * 2 + bits[4 + i];
    let chk = 0, t = v;
    for (let i = 0; i < NBITS / 4; i++) { chk ^= t % 16; t = Math.floor(t / 16); }
    let got = 0;
    for (let i = 0; i < 4; i++) got = got * 2 + bits[4 + NBITS + i];
    return got === chk ? v : null;
  }
  // Time budget (an LL-HLS page with parts: shopcast's). Per part of each rung: when it was
  // ready (the blocking playlist reload that asked for it was held, and answered when it was:
  // Server-Timing hold > 0, and its first byte), when its own response ended, and its media times
  // (hls.js's FRAG_BUFFERED); a sampled frame is then split at its part's ready and downloaded
  // times. All wall clock (performance.timeOrigin + Resource Timing), as the camera's row is.
  const parts = new Map(), spans = [], PARTS_MAX = 600;
  const partOf = (k) => {
    let x = parts.get(k);
    if (!x) {
      parts.set(k, (x = {}));
      if (parts.size > PARTS_MAX) parts.delete(parts.keys().next().value);
    }
    return x;
  };
  const rungOf = (path) => { const m = /([^/]+)\/[^/]+$/.exec(path); return m ? m[1] : ''; };
  new PerformanceObserver((list) => list.getEntries().forEach((e) => {
    let u;
    try { u = new URL(e.name); } catch (_) { return; }
    const origin = performance.timeOrigin, m = /part-(\d+)\.(\d+)\.m4s$/.exec(u.pathname);
    if (m) { partOf(rungOf(u.pathname) + '/' + m[1] + '.' + m[2]).got = origin + e.responseEnd; return; }
    const msn = u.searchParams.get('_HLS_msn'), part = u.searchParams.get('_HLS_part');
    const hold = (e.serverTiming || []).find((x) => x.name === 'hold');
    if (/media\.m3u8$/.test(u.pathname) && msn !== null && part !== null && hold && hold.duration > 0)
      partOf(rungOf(u.pathname) + '/' + msn + '.' + part).ready = origin + e.responseStart;
  })).observe({ type: 'resource' });
  if (p.hls) p.hls.on('hlsFragBuffered', (_, d) => {
    const lv = p.hls.levels[d.frag.level];
    const url = lv && (Array.isArray(lv.url) ? lv.url[0] : lv.url);
    if (!d.part || !url) return;
    const key = rungOf(new URL(url, location.href).pathname) + '/' + d.frag.sn + '.' + d.part.index;
    Object.assign(partOf(key), { start: d.part.start, end: d.part.start + d.part.duration, buffered: Date.now() });
    spans.push({ start: d.part.start, end: d.part.start + d.part.duration, key: key });
    if (spans.length > PARTS_MAX) spans.shift();
  });
  st.budget = [];
  function budget(t, enc, mediaTime, height) {
    for (let i = spans.length - 1; i >= 0; i--) {
      const sp = spans[i];
      if (mediaTime < sp.start - 0.002 || mediaTime >= sp.end - 0.002) continue;
      const x = parts.get(sp.key);
      if (x && x.ready && x.got)
        st.budget.push({ height: height, made_ready: x.ready - enc, part_wait: (sp.end - mediaTime) * 1000,
                         ready_got: x.got - x.ready, got_buffered: x.buffered - x.got,
                         buffered_shown: t - x.buffered, total: t - enc });
      return;
    }
  }
  function onFrame(now, meta) {
    const t = Date.now();
    if (st.on) {
      st.frames++;
      const vw = video.videoWidth, vh = video.videoHeight;
      ctx.drawImage(video, 0, 0, vw, vh * 72 / 720, 0, 0, 1280, 72);
      const v = decode(ctx.getImageData(0, 0, 1280, 72).data);
      if (v === null) st.bad++;
      else {
        const m = 2 ** NBITS;
        let enc = t - (t % m) + v;
        if (enc - t > m / 2) enc -= m;
        st.samples.push(t - enc);
        budget(t, enc, meta.mediaTime, vh);
        st.heights.push(vh);
        st.levels[vh] = (st.levels[vh] || 0) + 1;
      }
    }
    video.requestVideoFrameCallback(onFrame);
  }
  video.requestVideoFrameCallback(onFrame);
  // once a second from the start of playback; entries before sampling (on: false) only show in
  // the trace (G2G_TRACE), e.g. when a stall at start-up raised hls.js's target latency
  st.t0 = Date.now();
  setInterval(() => {
    const h = p.hls;
    const b = video.buffered;
    const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : {};
    st.info.push({
      latency: h ? h.latency : null, target: h ? h.targetLatency : null,
      rate: video.playbackRate, level: h ? h.currentLevel : null,
      ahead: b.length ? b.end(b.length - 1) - video.currentTime : 0,
      ct: video.currentTime, wall: Date.now(),
      dropped: q.droppedVideoFrames, decoded: q.totalVideoFrames,
      on: st.on, t: (Date.now() - st.t0) / 1000, errors: (p.errors || []).length,
    });
  }, 1000);
}

function pct(sorted, p) {
  if (!sorted.length) return null;
  const k = Math.max(0, Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1));
  return sorted[k];
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--autoplay-policy=no-user-gesture-required'],
});
const out = { url, warmup, seconds, pageErrors: [] };
try {
  // a small window: less to composite on 2 cores (the canvas still reads the frame at 1280x72)
  const page = await browser.newPage({ viewport: { width: 640, height: 400 } });
  page.on('pageerror', (e) => out.pageErrors.push(String(e)));
  if (process.env.G2G_HLS_CONFIG) {
    out.hlsConfigOverride = JSON.parse(process.env.G2G_HLS_CONFIG);
    await page.addInitScript((extra) => {
      let wrapped;
      Object.defineProperty(window, 'Hls', {
        configurable: true,
        get() { return wrapped; },
        set(H) {
          wrapped = class extends H {
            constructor(cfg) { super(Object.assign({}, cfg, extra)); }
          };
        },
      });
    }, out.hlsConfigOverride);
  }
  await page.goto(url);
  await page.waitForFunction(() => window.shopcastPlayer && window.shopcastPlayer.video.currentTime > 0,
                             null, { timeout: 30000, polling: 100 });
  await page.evaluate(installProbe);
  await page.waitForTimeout(warmup * 1000);
  await page.evaluate(() => { window.__g2g.on = true; });
  await page.waitForTimeout(seconds * 1000);
  const st = await page.evaluate(() => { window.__g2g.on = false; return window.__g2g; });
  const trace = st.info;
  st.info = trace.filter((i) => i.on);
  const s = st.samples.slice().sort((a, b) => a - b);
  // the product as it ships: the page's WebSocket open and its panel showing the pinned product
  // (shopcast's page only; nginx's page has neither)
  out.page = await page.evaluate(() => {
    const sig = window.shopcastSignal, panel = window.shopcastPanel;
    if (!sig) return null;
    return { ws_open: !!(sig.socket && sig.socket.readyState === 1), ws_connects: sig.connects,
             card_product: panel && panel.card && panel.card.product ? panel.card.product.id : null };
  });
  const hlsInfo = await page.evaluate(() => {
    const h = window.shopcastPlayer.hls;
    if (!h) return null;
    const c = h.config;
    return { version: window.Hls && window.Hls.version, lowLatencyMode: c.lowLatencyMode,
             startLevel: c.startLevel, levels: h.levels.map((l) => l.height),
             liveSyncDurationCount: c.liveSyncDurationCount,
             liveSyncDuration: c.liveSyncDuration, maxLiveSyncPlaybackRate: c.maxLiveSyncPlaybackRate,
             errors: window.shopcastPlayer.errors || [], jumps: window.shopcastPlayer.jumps || [] };
  });
  const lat = st.info.map((i) => i.latency).filter((x) => x != null).sort((a, b) => a - b);
  // the goal is judged on the frames of the top rung: the tallest rendition of the master
  // playlist, or, with a single rendition (nginx-rtmp's one media playlist, no RESOLUTION), it
  const ladder = hlsInfo && hlsInfo.levels.length > 1 ? hlsInfo.levels : st.heights;
  const top = ladder.length ? Math.max(...ladder) : null;
  const onTop = st.samples.filter((_, i) => st.heights[i] === top).sort((a, b) => a - b);
  Object.assign(out, {
    n: s.length, frames: st.frames, unreadable: st.bad, waiting: st.waiting,
    p50: pct(s, 50), p95: pct(s, 95), min: s[0], max: s[s.length - 1],
    hls_latency_p50_s: pct(lat, 50), hls_target_latency_s: st.info.length ? st.info[st.info.length - 1].target : null,
    buffer_ahead_last_s: st.info.length ? st.info[st.info.length - 1].ahead : null,
    playback_rates: [...new Set(st.info.map((i) => i.rate))],
    // media seconds played per wall second over the sampling window, and frames the player dropped
    playback_speed: st.info.length > 1 ? (st.info[st.info.length - 1].ct - st.info[0].ct) * 1000 /
      (st.info[st.info.length - 1].wall - st.info[0].wall) : null,
    dropped_frames: st.info.length > 1 ? st.info[st.info.length - 1].dropped - st.info[0].dropped : null,
    heights: st.levels, hls: hlsInfo,
    top_height: top, top_n: onTop.length, top_share: s.length ? onTop.length / s.length : null,
    top_p50: pct(onTop, 50), top_p95: pct(onTop, 95),
  });
  // the time budget's pieces, p50 and p95 each, over the top rung's frames that have them all
  const pieces = st.budget.filter((b) => b.height === top);
  out.budget = pieces.length ? { n: pieces.length } : null;
  if (pieces.length)
    for (const k of ['made_ready', 'part_wait', 'ready_got', 'got_buffered', 'buffered_shown', 'total']) {
      const v = pieces.map((b) => b[k]).sort((a, b) => a - b);
      out.budget[k] = [pct(v, 50), pct(v, 95)];
    }
  if (process.env.G2G_SAMPLES) out.samples = st.samples;
  if (process.env.G2G_TRACE) out.trace = trace;
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(out.error ? 1 : 0);
