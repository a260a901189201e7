// Plays a shopcast viewer page in Debian's Chromium through playwright-core and reports, as one
// JSON line, what a viewer would see: whether video time advances, errors, and the live latency;
// and what hls.js made of the card's stamps: the date ranges of the playing level, and the
// user-data-unregistered SEI it handed to the page (FRAG_PARSING_USERDATA) while it played.
// Usage: node play.mjs URL [SECONDS]
//   BACK_S=S in the environment: first play 12 s, then seek S seconds back (within what is
//   buffered) as a viewer dragging the timeline would ("seek"), and report the player a second
//   later ("behind"); SECONDS then count from there.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const url = process.argv[2];
const seconds = Number(process.argv[3] || 6);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--autoplay-policy=no-user-gesture-required'],
});
const result = { pageErrors: [], console: [] };
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') result.console.push(m.text()); });
  await page.goto(url);
  await page.waitForFunction(() => window.shopcastPlayer && window.shopcastPlayer.video.currentTime > 0,
                             null, { timeout: 30000 });
  result.t0 = await page.evaluate(() => {
    const p = window.shopcastPlayer;
    window.seiSeen = [];
    if (p.hls) // 'hlsFragParsingUserdata': Hls.Events.FRAG_PARSING_USERDATA
      p.hls.on('hlsFragParsingUserdata', (e, d) => d.samples.forEach((x) => {
        if (x.uuid)
          window.seiSeen.push({ pts: x.pts, uuid: x.uuid, text: x.userData });
      }));
    return p.video.currentTime;
  });
  if (process.env.BACK_S) {
    await page.waitForTimeout(12000);
    result.seek = await page.evaluate((back) => {
      const v = window.shopcastPlayer.video;
      const from = v.currentTime;
      v.currentTime = Math.max(v.buffered.start(0) + 0.2, from - back);
      return { from: from, to: v.currentTime };
    }, Number(process.env.BACK_S));
    await page.waitForTimeout(1000);
    result.behind = await page.evaluate(() => {
      const p = window.shopcastPlayer, v = p.video;
      return { at: v.currentTime, latency: p.hls.latency, target: p.hls.targetLatency,
               resyncs: p.resyncs.length };
    });
  }
  await page.waitForTimeout(seconds * 1000);
  if (process.env.SCREENSHOT)
    await page.screenshot({ path: process.env.SCREENSHOT });
  Object.assign(result, await page.evaluate(() => {
    const p = window.shopcastPlayer;
    const level = p.hls && p.hls.levels[p.hls.currentLevel];
    const ranges = level && level.details ? Object.values(level.details.dateRanges) : [];
    return { t1: p.video.currentTime, fatal: p.fatal, hlsErrors: p.errors, resyncs: p.resyncs,
             latency: p.hls ? p.hls.latency : null, width: p.video.videoWidth,
             dateRanges: ranges.map((r) => ({ id: r.id, class: r.class, valid: r.isValid,
                                              startTime: r.startTime, attr: { ...r.attr } })),
             sei: window.seiSeen,
             title: document.getElementById('title').textContent,
             badge: document.getElementById('badge').textContent };
  }));
} catch (e) {
  result.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
