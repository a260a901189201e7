// Product replay in Debian's Chromium through playwright-core: opens the viewer page of a show
// that has ended, reads the "Watch the part about ..." links (web/static/replay.js), clicks the
// one for a product, and reports as one JSON line where the video went: the time it seeked to,
// the media time of the first frame presented after the seek (requestVideoFrameCallback), the
// stamp in force on that frame (the last shopcast SEI at or before it, as hls.js hands them to the
// page), the time a while later, and how many pixels of that moment's picture have the product's thumbnail
// colour and how many the other product's. Saves a screenshot.
// Usage: node replay.mjs URL PRODUCT_NAME RRGGBB OTHER_RRGGBB SCREENSHOT
import { launch } from './chromium.mjs';

const [url, name, colour, other, shot] = process.argv.slice(2);
const browser = await launch();
const result = { pageErrors: [], console: [] };
try {
  const page = await browser.newPage({ viewport: { width: 800, height: 900 } });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') result.console.push(m.text()); });
  // Every SEI hls.js hands to the page ('hlsFragParsingUserdata': FRAG_PARSING_USERDATA, with each
  // frame's time), from the first fragment on: it may buffer the part about the product before
  // the click, so the listener goes on each player as its source is loaded.
  await page.addInitScript(() => {
    let Hls;
    window.replayProbe = { presented: null, sei: [] };
    Object.defineProperty(window, 'Hls', { configurable: true, get: () => Hls, set: (H) => {
      const load = H.prototype.loadSource;
      H.prototype.loadSource = function (src) {
        this.on('hlsFragParsingUserdata', (e, d) => d.samples.forEach((x) => {
          if (x.uuid === 'b9cb6d6b-85b4-4afd-a7d1-7851c5139f5a') // proto/sei.h
            window.replayProbe.sei.push({ pts: x.pts, seq: JSON.parse(x.userData).seq });
        }));
        return load.call(this, src);
      };
      Hls = H;
    } });
  });
  await page.goto(url);
  await page.waitForSelector('#replay a.chapter', { timeout: 30000 });
  await page.waitForFunction(() => document.getElementById('video').readyState >= 2, null,
                             { timeout: 30000 });
  Object.assign(result, await page.evaluate(() => {
    const v = document.getElementById('video');
    v.addEventListener('seeked', () => v.requestVideoFrameCallback((now, meta) => {
      window.replayProbe.presented = meta.mediaTime;
    }), { once: true });
    return { links: [...document.querySelectorAll('#replay a.chapter')].map((a) => a.textContent),
             vod: window.shopcastReplay.state.vod,
             hidden: document.getElementById('replay').hidden };
  }));
  await page.locator('#replay a.chapter').filter({ hasText: name }).click();
  await page.waitForFunction(() => window.replayProbe.presented !== null, null, { timeout: 20000 });
  result.presented = await page.evaluate(() => window.replayProbe.presented);
  // the stamp in force on the presented frame: the last SEI at or before it
  await page.waitForTimeout(300);
  result.presentedSeq = await page.evaluate(() => {
    const p = window.replayProbe, before = p.sei.filter((x) => x.pts <= p.presented + 0.0005);
    before.sort((a, b) => a.pts - b.pts);
    return before.length ? before[before.length - 1].seq : null;
  });
  result.seekedTo = await page.evaluate(() => window.shopcastReplay.state.seekedTo);
  await page.waitForTimeout(1200); // the card has slid in
  Object.assign(result, await page.evaluate(([want, not]) => {
    const v = document.getElementById('video');
    const c = document.createElement('canvas');
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const g = c.getContext('2d');
    g.drawImage(v, 0, 0);
    const px = g.getImageData(0, 0, c.width, c.height).data;
    const rgb = (hex) => [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const near = (p, i, k) => Math.abs(p[i] - k[0]) <= 60 && Math.abs(p[i + 1] - k[1]) <= 60 &&
                              Math.abs(p[i + 2] - k[2]) <= 60;
    const a = rgb(want), b = rgb(not);
    let n = 0, m = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (near(px, i, a)) n++;
      if (near(px, i, b)) m++;
    }
    return { later: v.currentTime, paused: v.paused, colour: n, otherColour: m,
             error: window.shopcastReplay.state.error || undefined };
  }, [colour, other]));
  if (result.error === undefined)
    delete result.error;
  await page.screenshot({ path: shot, fullPage: true });
} catch (e) {
  result.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
