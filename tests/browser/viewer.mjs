// Drives shopcast's viewer page (/watch/<id>) in Debian's Chromium through playwright-core, as a
// viewer would, while it changes the stream through the operator API, and reports as one JSON
// line what the page did: its panel log (window.shopcastPanel), its channel log
// (window.shopcastSignal), and what the test itself saw of the video: every presented frame
// (its own requestVideoFrameCallback) and every shopcast SEI hls.js handed over.
// Usage: node viewer.mjs SCENARIO PAGE_URL API_URL TOKEN PRODUCT ARTIFACTS_DIR
//   API_URL  http://HOST/api/v1/streams/<id>; TOKEN the operator token; PRODUCT a product's id
//   pin   pin PRODUCT once the video plays, then click Buy; screenshots wide and at 360 px
//   xss   PRODUCT is pinned already (its name is markup): the panel, an order, the ticker
//   cut   cut the WebSocket from the server side, order while it is down, restore; then drop one
//         event on its way to the page (a gap while connected)
//   native  hls.js never loads (its request is refused), so the page plays with the browser's
//         own HLS, as Safari would; pin PRODUCT once the video plays and the page knows its
//         frames' PROGRAM-DATE-TIME, and count the card's pixels in each presented frame
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { installCardBand } from './card_band.mjs';
import { cutLink, link, newLink } from './wslink.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const [scenario, pageUrl, api, token, product, artifacts] = process.argv.slice(2);
const SEI_UUID = 'b9cb6d6b-85b4-4afd-a7d1-7851c5139f5a';

async function call(method, p, body) {
  const r = await fetch(api + p, {
    method, headers: { Authorization: 'Bearer ' + token },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

// Runs in the page before its scripts: the test's own view of the video, beside the page's.
function observe(uuid) {
  const t = { frames: [], seis: [], dialogs: 0 };
  window.__test = t;
  const hook = setInterval(() => {
    const p = window.shopcastPlayer;
    if (!p) return;
    clearInterval(hook);
    // Playing natively, each frame is also looked at: where the card is in the picture (card_band.mjs).
    const frame = (now, meta) => {
      t.frames.push({ now, mediaTime: meta.mediaTime,
                      card: p.hls ? null : window.shopcastCardBand(p.video).card });
      if (t.frames.length > 3000) t.frames.shift();
      p.video.requestVideoFrameCallback(frame);
    };
    p.video.requestVideoFrameCallback(frame);
    if (p.hls)
      p.hls.on(window.Hls.Events.FRAG_PARSING_USERDATA, (e, d) => d.samples.forEach((s) => {
        if (s.uuid === uuid) t.seis.push({ pts: s.pts, stamp: JSON.parse(s.userData) });
      }));
  }, 1);
}

function state() {
  const s = window.shopcastSignal, p = window.shopcastPanel, t = window.__test;
  const text = (id) => document.getElementById(id).textContent;
  return {
    clockOffset: s.clockOffset,
    signal: { epoch: s.epoch, offset: s.offset, log: s.log, events: s.events, closes: s.closes,
              errors: s.errors, connects: s.connects, open: !!s.socket && s.socket.readyState === 1 },
    panel: { log: p.log, card: p.card, orders: p.orders.map((o) => ({ id: o.order_id, status: o.status,
                                                                         attempts: o.attempts })) },
    dom: { hidden: document.getElementById('panel').hidden, name: text('p-name'),
           price: text('p-price'), regular: text('p-regular'), sold: text('p-sold'),
           stock: text('p-stock'), result: text('buy-result'), viewers: text('viewers'),
           ticker: [...document.querySelectorAll('#ticker li')].map((li) => li.textContent),
           imgs: document.querySelectorAll('img').length,
           panelHtml: document.getElementById('panel').innerHTML },
    frames: t.frames, seis: t.seis,
    player: { time: window.shopcastPlayer.video.currentTime, fatal: window.shopcastPlayer.fatal,
              errors: window.shopcastPlayer.errors, hls: !!window.shopcastPlayer.hls,
              duration: window.shopcastPlayer.video.duration,
              seekable: [...Array(window.shopcastPlayer.video.seekable.length).keys()].map((i) =>
                [window.shopcastPlayer.video.seekable.start(i), window.shopcastPlayer.video.seekable.end(i)]) },
  };
}

const until = (page, fn, arg, timeout = 30000) => page.waitForFunction(fn, arg, { timeout, polling: 50 });
const playing = (page) => until(page, () => window.shopcastPlayer && window.shopcastPlayer.video.currentTime > 0.5);
const hello = (page) => until(page, () => window.shopcastSignal && window.shopcastSignal.log.length > 0);
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, name) });

async function pin(page, result) {
  await playing(page);
  await hello(page);
  result.t0 = await page.evaluate(() => window.shopcastPlayer.video.currentTime);
  result.pinned = await call('PUT', '/pinned', { product });
  await until(page, () => !document.getElementById('panel').hidden);
  await page.waitForTimeout(1500); /* the card has slid in, in the video too */
  await shot(page, 'viewer-pinned.png');
  await page.click('#buy');
  await until(page, () => window.shopcastPanel.orders.length && window.shopcastPanel.orders[0].status);
  await until(page, () => document.getElementById('p-sold').textContent === '1');
  await until(page, () => document.querySelectorAll('#ticker li').length > 0);
  await shot(page, 'viewer-bought.png');
  await page.setViewportSize({ width: 360, height: 740 });
  await page.waitForTimeout(500);
  result.phone = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    buy: document.getElementById('buy').getBoundingClientRect().toJSON(),
    panel: document.getElementById('panel').getBoundingClientRect().toJSON() }));
  await page.screenshot({ path: path.join(artifacts, 'viewer-phone.png'), fullPage: true });
}

async function xss(page, result) {
  await playing(page);
  await until(page, () => !document.getElementById('panel').hidden);
  await page.click('#buy');
  await until(page, () => document.querySelectorAll('#ticker li').length > 0);
  await page.waitForTimeout(500);
  await shot(page, 'viewer-markup-name.png');
}

async function native(page, result) {
  await playing(page);
  await hello(page);
  result.t0 = await page.evaluate(() => window.shopcastPlayer.video.currentTime);
  /* the page has learnt where its player is in PROGRAM-DATE-TIME (mediaclock.js) */
  await until(page, () => window.shopcastPanel.clock && window.shopcastPanel.clock.offset !== null);
  result.clock = await page.evaluate(() => {
    const c = window.shopcastPanel.clock;
    return { offset: c.offset, cands: c.cands,
             loads: c.loads.map((l) => [l.msn, Math.round(l.start), l.end]) };
  });
  result.pinned = await call('PUT', '/pinned', { product });
  await until(page, () => !document.getElementById('panel').hidden);
  await page.waitForTimeout(1500);
  await shot(page, 'viewer-native-pinned.png');
}

async function order(n) {
  const out = [];
  for (let i = 0; i < n; i++)
    out.push((await call('POST', '/orders', { order_id: 'cut-' + Date.now() + '-' + i, product, qty: 2 })).status);
  return out;
}

async function cut(page, result, net) {
  await playing(page);
  await hello(page);
  await until(page, () => !document.getElementById('panel').hidden);
  result.beforeCut = await page.evaluate(() => window.shopcastSignal.offset);
  await cutLink(net);
  await until(page, () => window.shopcastSignal.closes.length > 0);
  result.whileCut = await order(3);
  await page.waitForTimeout(3000); /* the page keeps trying, and is refused */
  result.refusedConnects = await page.evaluate(() => window.shopcastSignal.connects);
  net.cut = false;
  await until(page, () => window.shopcastSignal.log.some((l) => l.type === 'resumed'), null, 30000);
  await until(page, () => document.getElementById('p-sold').textContent === '6');
  await shot(page, 'viewer-reconnected.png');
  // A gap while connected: one order event does not reach the page; the next one shows the gap.
  result.beforeGap = await page.evaluate(() => window.shopcastSignal.offset);
  net.dropNext = 'order';
  result.gapOrders = await order(1);
  await page.waitForTimeout(1000);
  result.gapOrders = result.gapOrders.concat(await order(1)); /* its event reveals the gap */
  await until(page, () => window.shopcastSignal.log.filter((l) => l.type === 'resumed').length >= 2);
  await until(page, () => document.getElementById('p-sold').textContent === '10');
  result.dropped = net.dropped;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--autoplay-policy=no-user-gesture-required'],
});
const result = { scenario, pageErrors: [], console: [], dialogs: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') result.console.push(m.text()); });
  page.on('dialog', (d) => { result.dialogs.push(d.message()); d.dismiss(); });
  const net = newLink();
  if (scenario === 'cut') await link(page, net);
  if (scenario === 'native') await page.route('**/static/hls.min.js', (r) => r.abort());
  await installCardBand(page);
  await page.addInitScript(observe, SEI_UUID);
  await page.goto(pageUrl);
  try {
    if (scenario === 'pin') await pin(page, result);
    else if (scenario === 'xss') await xss(page, result);
    else if (scenario === 'cut') await cut(page, result, net);
    else if (scenario === 'native') await native(page, result);
    else throw new Error('unknown scenario ' + scenario);
  } catch (e) {
    result.error = String(e);
    await shot(page, 'viewer-' + scenario + '-failed.png').catch(() => {});
  }
  Object.assign(result, await page.evaluate(state));
} catch (e) {
  result.error = result.error || String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
