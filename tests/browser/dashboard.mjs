// Drives the operator dashboard in Debian's Chromium through playwright-core, step by step with
// the python test (tests/integration/test_dashboard.py), which owns the server, the publisher
// and the checks against the API and the video. After each step this prints one JSON line
// {"step": ..., what the page shows} and waits for one line on stdin before it goes on.
// Usage: node dashboard.mjs URL TOKEN IMAGE.png ARTIFACTS_DIR
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import readline from 'node:readline';
import { cutLink, link, newLink } from './wslink.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const [url, token, image, artifacts] = process.argv.slice(2);
const XSS = '<img src=x onerror=alert(1)>';
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function step(name, data) {
  console.log(JSON.stringify({ step: name, ...data }));
  const next = await lines.next();
  if (next.done) throw new Error('the test went away after ' + name);
  return JSON.parse(next.value);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const seen = { pageErrors: [], dialogs: [], external: [], console: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
  const page = await context.newPage();
  page.on('pageerror', (e) => seen.pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') seen.console.push(m.text()); });
  const origin = new URL(url).origin;
  seen.apiCalls = 0;
  seen.apiWithoutToken = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(origin)) seen.external.push(r.url());
    if (!r.url().startsWith(origin + '/api/')) return;
    seen.apiCalls++;
    if (r.headers().authorization !== 'Bearer ' + token && !r.url().endsWith('/streams/0/sales'))
      seen.apiWithoutToken.push(r.method() + ' ' + r.url());
  });
  // confirm() of the revoke is accepted; any other dialog (an alert from markup run as code) is
  // recorded, and fails the test
  page.on('dialog', async (d) => { seen.dialogs.push({ type: d.type(), message: d.message() });
                                   await d.accept(); });
  const txt = (sel) => page.locator(sel).first().textContent();
  const net = newLink(); // the page's WebSocket, which the test cuts (wslink.mjs)
  await link(page, net);
  const resumed = () => page.evaluate(() => window.shopcastDashboard.sessions
    .filter((x) => x.type === 'resumed').length);

  // ---- sign in: a wrong token first ----
  await page.goto(url);
  await page.fill('#token', 'not-the-token');
  await page.click('#signin-form button');
  await page.waitForSelector('#signin-error:not([hidden])');
  const wrong = { error: await txt('#signin-error'), appHidden: await page.isHidden('#app'),
                  stored: await page.evaluate(() => sessionStorage.length) };
  await page.fill('#token', token);
  await page.click('#signin-form button');
  await page.waitForSelector('#app:not([hidden])');
  const storedToken = await page.evaluate(() => sessionStorage.getItem('shopcast-operator-token'));

  // ---- create a stream: the OBS settings show ----
  await page.fill('#create-title', 'Honey from the hills');
  await page.click('#create-form button');
  await page.waitForSelector('#obs:not([hidden])');
  await page.waitForSelector('#stream:not([hidden])');
  await page.click('#obs-copy');
  await page.waitForSelector('#obs-copied:not([hidden])');
  const obs = { server: await txt('#obs-server'), key: await page.inputValue('#obs-key'),
                copied: await page.evaluate(() => navigator.clipboard.readText()),
                keyframe: await txt('#obs dl'), id: await txt('#st-id'),
                streams: await page.locator('#streams li').count() };
  await page.screenshot({ path: path.join(artifacts, 'dashboard-created.png'), fullPage: true });
  await step('created', { wrong, storedToken, obs });

  // ---- products: one honest, one named like markup; a picture; pin; a flash sale ----
  async function addProduct(id, name, price, stock) {
    await page.fill('#p-id', id);
    await page.fill('#p-name', name);
    await page.fill('#p-price', price);
    await page.fill('#p-stock', String(stock));
    await page.click('#p-submit');
    await page.waitForSelector(`#sales tr[data-id="${id}"]`);
  }
  await addProduct('honey', 'Mountain honey 500 g', '12.80', 50);
  await addProduct('xss', XSS, '3.00', 5);
  const row = (id) => page.locator(`#sales tr[data-id="${id}"]`);
  await row('honey').locator('input[type=file]').setInputFiles(image);
  await page.waitForFunction(() => {
    const r = document.querySelector('#sales tr[data-id="honey"] .hasimg');
    return r && r.textContent !== '';
  }, null, { timeout: 15000 });
  const uploaded = await txt('#notice');
  // edit: the honey's stock goes to 40
  await row('honey').locator('button.edit').click();
  await page.fill('#p-stock', '40');
  await page.click('#p-submit');
  await page.waitForFunction(() => {
    const r = document.querySelector('#sales tr[data-id="honey"] .stock');
    return r && r.textContent === '40';
  }, null, { timeout: 15000 });
  await row('honey').locator('button.pin').click();
  await page.waitForFunction(() => document.getElementById('pinned').textContent.includes('honey'),
                             null, { timeout: 15000 });
  const pinned = await txt('#pinned');
  await page.selectOption('#flash-product', 'honey');
  await page.fill('#flash-price', '9.90');
  await page.fill('#flash-minutes', '5');
  await page.click('#flash-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('flash-state').textContent.startsWith('Flash sale on'),
                             null, { timeout: 15000 });
  const flashOn = await txt('#flash-state');
  const xssRow = { name: await row('xss').locator('.name').textContent(),
                   imgs: await page.locator('#sales img, #app img').count() };
  const back = await step('flash', { uploaded, pinned, flashOn, xssRow });
  // (the test checked the API and the video meanwhile)

  await page.click('#flash-stop');
  await page.waitForFunction(() => document.getElementById('flash-state').textContent.startsWith('No flash'),
                             null, { timeout: 15000 });
  const flashOff = await txt('#flash-state');

  // ---- health of the live stream ----
  await page.waitForFunction(() => document.getElementById('f-kbps').textContent !== '–' &&
                                   document.getElementById('f-fps').textContent !== '–' &&
                                   document.querySelectorAll('#rungs tr').length > 0,
                             null, { timeout: 30000 });
  await page.waitForSelector('#kf-advice:not([hidden])', { timeout: 20000 });
  // the live channel as operator: health once a second, viewers
  await page.waitForFunction(() => document.getElementById('conn').textContent === 'live updates on' &&
                                   window.shopcastDashboard.events.includes('health'),
                             null, { timeout: 20000 });
  await page.waitForFunction(() => Number(document.getElementById('f-viewers').textContent) >= 1,
                             null, { timeout: 20000 });
  const health = { kbps: await txt('#f-kbps'), fps: await txt('#f-fps'), kf: await txt('#f-kf'),
                   viewers: await txt('#f-viewers'), conn: await txt('#conn'),
                   events: await page.evaluate(() => [...new Set(window.shopcastDashboard.events)]),
                   sessions: await page.evaluate(() => window.shopcastDashboard.sessions),
                   advice: await txt('#kf-advice'), state: await txt('#st-state'),
                   rungs: await page.locator('#rungs tr').allTextContents() };
  await step('health', { flashOff, health, back });

  // ---- sales after the test's orders, and the chart ----
  await page.waitForFunction(() => {
    const r = document.querySelector('#sales tr[data-id="honey"] .sold');
    return r && r.textContent === '3';
  }, null, { timeout: 20000 });
  await page.waitForFunction(() => window.shopcastDashboard.chartData[0].length >= 3, null,
                             { timeout: 20000 });
  await page.waitForFunction(() => (window.shopcastDashboard.chartData[1] || []).some((v) => v > 0),
                             null, { timeout: 30000 });
  await page.waitForTimeout(300);
  // what the chart drew: pixels of the orders line's colour (#d9480f) on its canvas
  const chart = await page.evaluate(() => {
    const c = document.querySelector('#chart canvas');
    if (!c) return { canvas: false };
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let orange = 0;
    for (let i = 0; i < d.length; i += 4)
      if (Math.abs(d[i] - 0xd9) < 40 && Math.abs(d[i + 1] - 0x48) < 40 && Math.abs(d[i + 2] - 0x0f) < 40 && d[i + 3] > 128)
        orange++;
    let blue = 0; // the viewers line, #1971c2
    for (let i = 0; i < d.length; i += 4)
      if (Math.abs(d[i] - 0x19) < 40 && Math.abs(d[i + 1] - 0x71) < 40 && Math.abs(d[i + 2] - 0xc2) < 40 && d[i + 3] > 128)
        blue++;
    return { canvas: true, width: c.width, height: c.height, orange, blue,
             points: window.shopcastDashboard.chartData[0].length };
  });
  await page.waitForFunction(() => document.querySelectorAll('#ticker li').length >= 3, null,
                             { timeout: 20000 });
  const sales = { honeySold: await row('honey').locator('.sold').textContent(),
                  revenue: await txt('#revenue'),
                  ticker: await page.locator('#ticker li').allTextContents() };
  await page.screenshot({ path: path.join(artifacts, 'dashboard-live.png'), fullPage: true });

  // ---- revoke the key ----
  const oldKey = await page.inputValue('#obs-key');
  await page.click('#revoke');
  await page.waitForFunction((k) => document.getElementById('obs-key').value !== k, oldKey,
                             { timeout: 15000 });
  const newKey = await page.inputValue('#obs-key');
  await step('revoked', { chart, sales, oldKey, newKey, notice: await txt('#notice') });

  // ---- the live channel cut: the page reconnects and resumes, missing nothing ----
  const tickerBefore = await page.locator('#ticker li').count();
  await cutLink(net);
  await page.waitForFunction(() => document.getElementById('conn').textContent.startsWith('live updates reconnecting'),
                             null, { timeout: 10000 });
  await step('cut', {});                       // the test orders while the page is cut off
  await page.waitForTimeout(2000);             // the page keeps trying, and is refused
  net.cut = false;
  await page.waitForFunction(() => window.shopcastDashboard.sessions.some((x) => x.type === 'resumed'),
                             null, { timeout: 30000 });
  await page.waitForFunction((n) => document.querySelectorAll('#ticker li').length >= n + 2,
                             tickerBefore, { timeout: 10000 });
  const afterCut = { ticker: await page.locator('#ticker li').allTextContents(),
                     sessions: await page.evaluate(() => window.shopcastDashboard.sessions),
                     conn: await txt('#conn') };
  // a gap while connected: one order event does not reach the page, the next one reveals it
  net.dropNext = 'order';
  const resumes = await resumed();
  await step('gap', { afterCut });             // the test orders twice
  await page.waitForFunction((n) => window.shopcastDashboard.sessions.filter((x) => x.type === 'resumed').length > n,
                             resumes, { timeout: 20000 });
  await page.waitForFunction(() => [...document.querySelectorAll('#ticker li')].filter((l) => l.textContent.includes(' 3 × ')).length >= 2,
                             null, { timeout: 10000 });
  const afterGap = { ticker: await page.locator('#ticker li').allTextContents(), dropped: net.dropped.length,
                     sessions: await page.evaluate(() => window.shopcastDashboard.sessions) };

  // ---- at phone width: nothing wider than the screen ----
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(500);
  const phone = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  await page.screenshot({ path: path.join(artifacts, 'dashboard-phone.png'), fullPage: true });
  // a reload keeps the tab signed in (sessionStorage), on the same stream
  await page.reload();
  await page.waitForSelector('#app:not([hidden])');
  await page.waitForSelector('#stream:not([hidden])');
  const reloaded = { id: await txt('#st-id'), signinHidden: await page.isHidden('#signin') };
  await step('done', { phone, reloaded, afterGap, ...seen });
} catch (e) {
  console.log(JSON.stringify({ step: 'error', error: String(e && e.stack || e), ...seen }));
} finally {
  await browser.close();
  process.exit(0);
}
