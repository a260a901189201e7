// A newcomer's first show, in Debian's Chromium through playwright-core: on the dashboard an
// operator signs in, creates a stream (the python test publishes to the OBS settings it shows),
// adds a product and pins it; a viewer, in a browser context of their own, opens the viewer page
// from the dashboard's link, sees the panel, and buys; the count moves on both pages. Step by step
// with tests/integration/test_newcomer.py: after each step one JSON line {"step": ..., what the
// pages show}, then it waits for a line on stdin.
// Usage: node newcomer.mjs DASHBOARD_URL TOKEN ARTIFACTS_DIR
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import readline from 'node:readline';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const [url, token, artifacts] = process.argv.slice(2);
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function step(name, data) {
  console.log(JSON.stringify({ step: name, ...data }));
  const next = await lines.next();
  if (next.done) throw new Error('the test went away after ' + name);
}
const until = (page, fn, arg, timeout = 60000) =>
  page.waitForFunction(fn, arg, { timeout, polling: 50 });
const text = (page, sel) => page.locator(sel).first().textContent();
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, name), fullPage: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--mute-audio',
         '--autoplay-policy=no-user-gesture-required', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
const errors = [];
try {
  const dash = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  dash.on('pageerror', (e) => errors.push('dashboard: ' + e));

  // ---- the operator: sign in, create a stream, read OBS's settings ----
  await dash.goto(url);
  await dash.fill('#token', token);
  await dash.click('#signin-form button');
  await until(dash, () => !document.getElementById('app').hidden);
  await dash.fill('#create-title', '柞水木耳 live from the farm');
  await dash.click('#create-form button');
  await until(dash, () => !document.getElementById('obs').hidden &&
                          document.getElementById('obs-key').value);
  const obs = { server: await text(dash, '#obs-server'),
                key: await dash.inputValue('#obs-key'),
                id: await text(dash, '#st-id') };
  await step('created', { obs });                        // the test starts the publisher

  // ---- a product, pinned ----
  await until(dash, () => document.getElementById('st-state').textContent.includes('live'));
  await dash.fill('#p-id', 'muer');
  await dash.fill('#p-name', '柞水木耳 250 g');
  await dash.fill('#p-price', '39.00');
  await dash.fill('#p-stock', '50');
  await dash.click('#p-submit');
  const row = dash.locator('#sales tr[data-id="muer"]');
  await row.waitFor();

  // ---- a viewer, on their own: the dashboard's link to the viewer page, watching ----
  const watchUrl = await dash.locator('#st-watch').getAttribute('href');
  const viewer = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  viewer.on('pageerror', (e) => errors.push('viewer: ' + e));
  await viewer.goto(new URL(watchUrl, url).href);
  await until(viewer, () => window.shopcastPlayer && window.shopcastPlayer.video.currentTime > 0.5);
  await until(viewer, () => window.shopcastSignal && window.shopcastSignal.log.length > 0);

  // ---- the operator pins it: the panel comes in on the viewer's page ----
  await row.locator('button.pin').click();
  await until(dash, () => document.getElementById('pinned').textContent.includes('木耳'));
  await until(viewer, () => !document.getElementById('panel').hidden &&
                            document.getElementById('p-name').textContent.includes('木耳'));
  const panel = { name: await text(viewer, '#p-name'), price: await text(viewer, '#p-price'),
                  sold: await text(viewer, '#p-sold'),
                  applied: await viewer.evaluate(() => window.shopcastPanel.log
                    .filter((l) => l.type === 'product').map((l) => l.via)) };
  await shot(viewer, 'newcomer-viewer-pinned.png');

  // ---- buy: the count moves on both pages ----
  await viewer.click('#buy');
  await until(viewer, () => document.getElementById('p-sold').textContent === '1');
  await until(dash, () => {
    const r = document.querySelector('#sales tr[data-id="muer"] .sold');
    return r && r.textContent.trim() === '1';
  });
  const after = { result: await text(viewer, '#buy-result'), viewerSold: await text(viewer, '#p-sold'),
                  dashSold: await text(dash, '#sales tr[data-id="muer"] .sold'),
                  ticker: await viewer.locator('#ticker li').allTextContents(),
                  dashTicker: await dash.locator('#ticker li').allTextContents() };
  await shot(viewer, 'newcomer-viewer-bought.png');
  await shot(dash, 'newcomer-dashboard.png');
  await step('done', { panel, after, errors, time: await viewer.evaluate(
    () => window.shopcastPlayer.video.currentTime), fatal: await viewer.evaluate(
    () => window.shopcastPlayer.fatal) });
} catch (e) {
  console.log(JSON.stringify({ step: 'error', error: String(e && e.stack || e), errors }));
} finally {
  await browser.close();
}
