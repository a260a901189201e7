// Plays a shopcast stream in Debian's Chromium with another player than the watch page's hls.js:
// Shaka Player or video.js (VHS), both from web/node_modules, served to a page on shopcast's own
// origin through playwright's routing (never a CDN; a request to any other host is refused and
// reported). Reports, as one JSON line, every HLS response status, the player's errors, and
// samples of playback (time, picture height, bandwidth estimate) once a second.
// Usage: node players.mjs shaka|videojs MASTER_URL [SECONDS] [PLAYER_OPTIONS_JSON]
// Without PLAYER_OPTIONS_JSON the player gets the options the README gives for embedding it.
// The player is 1280x720 on the page (PLAYER_SIZE=WxH changes it); VERBOSE=1 adds a log of
// requests and console lines, SHAKA_DEBUG=1 loads Shaka's debug build.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.join(here, '../../web');
const require = createRequire(path.join(web, 'package.json'));
const { chromium } = require('playwright-core');

const [kind, master, secondsArg, optionsArg] = process.argv.slice(2);
const seconds = Number(secondsArg || 10);

// The README's "Watching" section gives these options (keep the two in step).
const README_OPTIONS = {
  shaka: { streaming: { lowLatencyMode: true } },
  videojs: { html5: { vhs: { useNetworkInformationApi: false } } },
};

const PLAYERS = {
  shaka: {
    files: { 'shaka-player.js': process.env.SHAKA_DEBUG ? 'shaka-player/dist/shaka-player.compiled.debug.js' : 'shaka-player/dist/shaka-player.compiled.js' },
    version: () => require('shaka-player/package.json').version,
    // Runs in the page.
    start: async ({ url, options }) => {
      const s = window.playerState;
      shaka.polyfill.installAll();
      const video = document.getElementById('v');
      const player = new shaka.Player();
      await player.attach(video);
      player.configure(options);
      player.addEventListener('error', (e) => s.errors.push(
        { code: e.detail.code, category: e.detail.category, severity: e.detail.severity,
          message: e.detail.message,
          stack: e.detail.stack }));
      s.sample = () => ({ estimate: player.getStats().estimatedBandwidth,
                          latency: player.seekRange().end - video.currentTime });
      await player.load(url);
      await video.play();
    },
  },
  videojs: {
    files: { 'video.js': 'video.js/dist/video.min.js', 'video-js.css': 'video.js/dist/video-js.min.css' },
    version: () => require('video.js/package.json').version,
    start: async ({ url, options }) => {
      const s = window.playerState;
      const p = videojs('v', Object.assign({ autoplay: 'muted', muted: true, liveui: true }, options));
      p.on('error', () => s.errors.push({ code: p.error() && p.error().code,
                                          message: p.error() && p.error().message }));
      s.sample = () => {
        const vhs = p.tech({ IWillNotUseThisInPlugins: true }).vhs;
        const media = vhs && vhs.playlists.media();
        return { estimate: vhs ? vhs.systemBandwidth : null,
                 rendition: media ? media.attributes.RESOLUTION : null,
                 latency: p.liveTracker.liveCurrentTime() - p.currentTime() };
      };
      p.src({ src: url, type: 'application/x-mpegURL' });
    },
  },
};

const player = PLAYERS[kind];
if (!player || !master) {
  console.error('usage: node players.mjs shaka|videojs MASTER_URL [SECONDS] [OPTIONS_JSON]');
  process.exit(2);
}
const options = optionsArg ? JSON.parse(optionsArg) : README_OPTIONS[kind];
const [width, height] = (process.env.PLAYER_SIZE || '1280x720').split('x').map(Number);
const origin = new URL(master).origin;
const base = origin + '/player-test/';
const scripts = Object.keys(player.files);
const page_html = `<!doctype html><html><head><meta charset="utf-8">
${scripts.filter((f) => f.endsWith('.css')).map((f) => `<link rel="stylesheet" href="${f}">`).join('')}
<style>body { margin: 0 } #v { width: ${width}px; height: ${height}px }</style></head>
<body><video id="v" class="video-js" muted playsinline></video>
${scripts.filter((f) => f.endsWith('.js')).map((f) => `<script src="${f}"></script>`).join('')}
</body></html>`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--autoplay-policy=no-user-gesture-required'],
});
const result = { player: kind, version: player.version(), options, responses: {}, httpErrors: [],
                 failed: [], external: [], pageErrors: [], samples: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.hostname === '127.0.0.1' || u.hostname === 'localhost')
      return route.continue();
    result.external.push(u.href);
    return route.abort();
  });
  await page.route(base + '*', (route) => {
    const name = new URL(route.request().url()).pathname.slice('/player-test/'.length);
    if (name === 'page.html')
      return route.fulfill({ contentType: 'text/html', body: page_html });
    if (!player.files[name])
      return route.fulfill({ status: 404, body: 'not here' });
    return route.fulfill({ contentType: name.endsWith('.css') ? 'text/css' : 'text/javascript',
                           body: fs.readFileSync(path.join(web, 'node_modules', player.files[name])) });
  });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  const t0 = Date.now();
  if (process.env.VERBOSE) {
    result.log = [];
    page.on('console', (m) => result.log.push([Date.now() - t0, m.type(), m.text().slice(0, 300)]));
    page.on('request', (r) => result.log.push([Date.now() - t0, 'req', r.url().replace(origin, '')]));
    page.on('requestfinished', (r) => result.log.push([Date.now() - t0, 'done', r.url().replace(origin, '')]));
  }
  page.on('response', (r) => {
    if (!new URL(r.url()).pathname.startsWith('/hls/'))
      return;
    result.responses[r.status()] = (result.responses[r.status()] || 0) + 1;
    if (r.status() >= 400)
      result.httpErrors.push({ url: r.url(), status: r.status() });
  });
  page.on('requestfailed', (r) => result.failed.push({ url: r.url(), error: r.failure().errorText }));
  await page.goto(base + 'page.html');
  await page.evaluate(() => { window.playerState = { errors: [] }; });
  await page.evaluate(player.start, { url: master, options });
  await page.waitForFunction(() => document.getElementById('v').currentTime > 0 ||
                                   (document.querySelector('#v video') || {}).currentTime > 0,
                             null, { timeout: 30000 });
  for (let i = 0; i <= seconds; i++) {
    if (i)
      await page.waitForTimeout(1000);
    result.samples.push(await page.evaluate(() => {
      const v = document.querySelector('video');
      return Object.assign({ time: v.currentTime, height: v.videoHeight }, window.playerState.sample());
    }));
  }
  result.playerErrors = await page.evaluate(() => window.playerState.errors);

} catch (e) {
  result.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
