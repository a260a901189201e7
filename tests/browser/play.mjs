// Plays a shopcast viewer page in Debian's Chromium through playwright-core and reports, as one
// JSON line, what a viewer would see: whether video time advances, errors, and the live latency.
// Usage: node play.mjs URL [SECONDS]
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
  result.t0 = await page.evaluate(() => window.shopcastPlayer.video.currentTime);
  await page.waitForTimeout(seconds * 1000);
  if (process.env.SCREENSHOT)
    await page.screenshot({ path: process.env.SCREENSHOT });
  Object.assign(result, await page.evaluate(() => {
    const p = window.shopcastPlayer;
    return { t1: p.video.currentTime, fatal: p.fatal, hlsErrors: p.errors,
             latency: p.hls ? p.hls.latency : null, width: p.video.videoWidth,
             title: document.getElementById('title').textContent,
             badge: document.getElementById('badge').textContent };
  }));
} catch (e) {
  result.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
