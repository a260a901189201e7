// Debian's Chromium started through playwright-core (never a downloaded browser), with the
// settings the browser tests share: no sandbox (containers), no GPU, no network of its own,
// autoplay allowed. CHROMIUM overrides the binary. (play.mjs, abr.mjs and players.mjs still
// carry their own copy of this.)
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--autoplay-policy=no-user-gesture-required'],
  });
}
