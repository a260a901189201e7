// Parses playlists with hls-parser in strict mode, where any rule of RFC 8216bis that it checks
// throws, and reports, as one JSON line, what each one holds.
// Usage: node strict_parse.mjs < [{"name": ..., "text": ...}, ...]
// Prints [{"name", "ok", "error"} plus, for a parsed playlist, what the caller checks its kind by].
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../web/package.json'));
const HLS = require('hls-parser');

HLS.setOptions({ strictMode: true, silent: true });

function describe(p) {
  if (p.isMasterPlaylist)
    return { master: true, variants: p.variants.length };
  const parts = p.segments.reduce((n, s) => n + s.parts.filter((x) => !x.hint).length, 0);
  const withParts = p.segments.filter((s) => s.parts.some((x) => !x.hint)).length;
  const hint = p.segments.flatMap((s) => s.parts).find((x) => x.hint);
  return { master: false, segments: p.segments.filter((s) => s.uri).length, parts,
           segmentsWithParts: withParts, skip: p.skip || 0, endlist: !!p.endlist,
           hint: hint ? hint.uri : null, reports: p.renditionReports.length };
}

let input = '';
for await (const chunk of process.stdin)
  input += chunk;
const out = JSON.parse(input).map(({ name, text }) => {
  try {
    return { name, ok: true, ...describe(HLS.parse(text)) };
  } catch (e) {
    return { name, ok: false, error: String(e && e.message || e) };
  }
});
console.log(JSON.stringify(out));
