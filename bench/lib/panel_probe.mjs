// Panel-to-frame probe of bench/panel_to_frame.sh: plays shopcast's viewer page /watch/<id> in
// Debian's Chromium (playwright-core, no browser download), pins and unpins a product through
// the operator API, and for every presented frame (requestVideoFrameCallback) draws the picture
// onto a canvas and tells whether the card is there (pixels unlike the solid background in its
// corner) and whether its magenta thumbnail is (tests/browser/card_band.mjs). Prints one JSON object: per change,
// on which presented frame (mediaTime) the panel applied it (window.shopcastPanel.log), the card
// appeared or left in the pixels, the thumbnail did, and the peer: the DATERANGE cue hls.js
// makes for the same change (its X-SEQ) became active (cuechange), as the last presented frame.
//
// Usage: node panel_probe.mjs URL API_BASE TOKEN PRODUCT CHANGES GAP_MS
// BENCH_PLAYER=native refuses hls.js to the page, which then plays with Chromium's own HLS.
// The picture must be a solid colour (the script publishes one): what differs from it in the
// lower-left band (where the card slides in, overlay/card.c) is the card.
import { installCardBand } from '../../tests/browser/card_band.mjs';
import { launch } from '../../tests/browser/chromium.mjs';

const [url, api, token, product, changesArg, gapArg] = process.argv.slice(2);
const changes = Number(changesArg || 20);
const gap = Number(gapArg || 2500);

// Runs in the page.
function installProbe() {
  const video = window.shopcastPlayer.video;
  const st = { frames: [], cues: [], seen: {} };
  window.__probe = st;
  let lastMt = null;
  function onFrame(now, meta) {
    lastMt = meta.mediaTime;
    const { card, magenta } = window.shopcastCardBand(video);
    st.frames.push({ mt: meta.mediaTime, card, magenta, h: video.videoHeight, pf: meta.presentedFrames });
    video.requestVideoFrameCallback(onFrame);
  }
  video.requestVideoFrameCallback(onFrame);
  // the peer: hls.js's DATERANGE cues (a metadata text track, one cue per attribute)
  function watchTrack(t) {
    if (t.kind !== 'metadata' || t.__probed) return;
    t.__probed = true;
    t.mode = 'hidden';
    t.addEventListener('cuechange', () => {
      const a = t.activeCues || [];
      for (let i = 0; i < a.length; i++) {
        const v = a[i].value;
        if (!v || v.key !== 'X-SEQ') continue;
        const seq = Number(v.data);
        if (st.seen[seq]) continue;
        st.seen[seq] = 1;
        st.cues.push({ seq, mt: lastMt, ct: video.currentTime, start: a[i].startTime });
      }
    });
  }
  for (let i = 0; i < video.textTracks.length; i++) watchTrack(video.textTracks[i]);
  video.textTracks.addEventListener('addtrack', (e) => watchTrack(e.track));
}

async function operator(method, pathname, body) {
  const r = await fetch(api + pathname, {
    method, headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (r.status >= 300) throw new Error(method + ' ' + pathname + ' -> ' + r.status);
}

const browser = await launch(); // Debian's Chromium, the browser tests' settings
const out = { url, changes, gap, pageErrors: [], pins: [] };
try {
  const page = await browser.newPage({ viewport: { width: 960, height: 640 } });
  page.on('pageerror', (e) => out.pageErrors.push(String(e)));
  await installCardBand(page);
  out.player = process.env.BENCH_PLAYER || 'hls.js';
  if (out.player === 'native') /* the page falls back to Chromium's own HLS */
    await page.route('**/static/hls.min.js', (r) => r.abort());
  await page.goto(url);
  await page.waitForFunction(() => window.shopcastPlayer && window.shopcastPlayer.video.currentTime > 0,
                             null, { timeout: 30000, polling: 100 });
  if (out.player === 'native') /* and has learnt its frames' PROGRAM-DATE-TIME (mediaclock.js) */
    await page.waitForFunction(() => window.shopcastPanel.clock && window.shopcastPanel.clock.offset !== null,
                               null, { timeout: 30000, polling: 100 });
  await page.evaluate(installProbe);
  await page.waitForTimeout(3000);
  for (let i = 0; i < changes; i++) {
    const pin = i % 2 === 0;
    out.pins.push({ pin, wall: Date.now() });
    if (pin) await operator('PUT', '/pinned', { product });
    else await operator('DELETE', '/pinned');
    await page.waitForTimeout(gap * (0.8 + 0.4 * Math.random()));
  }
  await page.waitForTimeout(4000); // the last change reaches the screen (glass-to-glass ~1.5 s)
  Object.assign(out, await page.evaluate(() => ({
    frames: window.__probe.frames, cues: window.__probe.cues,
    log: window.shopcastPanel.log.filter((l) => l.type === 'product'),
    errors: window.shopcastPlayer.errors || [],
    clock: window.shopcastPanel.clock ? { offset: window.shopcastPanel.clock.offset,
                                          cands: window.shopcastPanel.clock.cands } : null,
    hls: window.shopcastPlayer.hls ? { version: window.Hls.version, levels: window.shopcastPlayer.hls.levels.map((l) => l.height) } : null,
  })));
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(out.error ? 1 : 0);
