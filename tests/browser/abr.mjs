// Plays a shopcast viewer page in Debian's Chromium through playwright-core and reports, as one
// JSON line, which rendition hls.js chose over time and whether playback stalled: the state its
// adaptive bitrate logic reaches, on loopback or on a link slowed by Chromium's own network
// emulation (DevTools protocol, Network.emulateNetworkConditions).
// Usage: node abr.mjs URL KBPS SETTLE_S WINDOW_S
//   KBPS      0: the link as it is; otherwise the download and upload rate in kbit/s
//   SETTLE_S  seconds after the first 'playing' event before the window starts (start-up)
//   WINDOW_S  seconds of samples (four a second: hls.currentLevel, video.videoHeight)
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const [url, kbps, settle, window_] = process.argv.slice(2).map((a, i) => (i ? Number(a) : a));
const SAMPLE_MS = 250;

// Runs in the page before its scripts: records stalls and, once the window opens, samples.
function watch() {
  const st = { firstPlaying: null, start: Infinity, stalls: [], errors: [], samples: [] };
  window.__abr = st;
  const now = () => performance.now();
  // media events do not bubble, but a capturing listener on the document sees them
  document.addEventListener('playing', () => { if (st.firstPlaying === null) st.firstPlaying = now(); }, true);
  document.addEventListener('waiting', () => st.stalls.push({ t: now(), what: 'waiting' }), true);
  const hook = setInterval(() => {
    const p = window.shopcastPlayer;
    if (!p || !p.hls) return;
    clearInterval(hook);
    p.hls.on(window.Hls.Events.ERROR, (_, d) => {
      if (d.details === window.Hls.ErrorDetails.BUFFER_STALLED_ERROR)
        st.stalls.push({ t: now(), what: d.details });
      st.errors.push({ t: now(), what: d.details });
    });
  }, 5);
}

// Opens the window: from now on, four samples a second.
function open(ms) {
  const st = window.__abr, p = window.shopcastPlayer;
  st.start = performance.now();
  const ahead = (v) => (v.buffered.length ? v.buffered.end(v.buffered.length - 1) - v.currentTime : 0);
  setInterval(() => st.samples.push({ level: p.hls.currentLevel, height: p.video.videoHeight,
                                      estimate: p.hls.bandwidthEstimate, ahead: ahead(p.video),
                                      latency: p.hls.latency }), ms);
}

function report() {
  const st = window.__abr, p = window.shopcastPlayer;
  const at = (s) => s.what + '@' + ((s.t - st.firstPlaying) / 1000).toFixed(1);
  return {
    levels: p.hls.levels.map((l) => ({ height: l.height, bitrate: l.bitrate })),
    samples: st.samples,
    // each as "what@seconds after the first 'playing'"
    stallsAfterSettle: st.stalls.filter((s) => s.t >= st.start).map(at),
    stallsBeforeSettle: st.stalls.filter((s) => s.t < st.start).map(at),
    // every hls.js error, fatal or not, in the same form (the page keeps only their names)
    errorsAt: st.errors.map(at),
    fatal: p.fatal, hlsErrors: p.errors, timed: p.timed, resyncs: p.resyncs,
  };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--autoplay-policy=no-user-gesture-required'],
});
const result = { kbps, settle, window: window_, pageErrors: [] };
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  if (kbps > 0) {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 0,
      downloadThroughput: (kbps * 1000) / 8, uploadThroughput: (kbps * 1000) / 8,
    });
  }
  await page.addInitScript(watch);
  await page.goto(url);
  await page.waitForFunction(() => window.__abr.firstPlaying !== null, null, { timeout: 60000 });
  await page.waitForTimeout(settle * 1000);
  await page.evaluate(open, SAMPLE_MS);
  await page.waitForTimeout(window_ * 1000);
  Object.assign(result, await page.evaluate(report));
} catch (e) {
  result.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
