// Item 5: bytes on the wire. Rekindle's files as a page loads them, and each
// peer bundled the way a site ships it (esbuild --bundle --minify for the npm
// SDKs, with code splitting so lazily loaded chunks are counted apart; Adobe's
// standalone build as published). Every file is compressed on its own (one
// HTTP response each): gzip level 9 and brotli quality 11 from node:zlib.
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { readFileSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PATHS, ROOT } from './paths.mjs';
import { measureParts } from './size-parts.mjs';
import { BROWSER_TARGETS } from '../../scripts/browsers.mjs';

export function compressed(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length,
  };
}

function sum(parts) {
  return parts.reduce((a, p) => ({ raw: a.raw + p.raw, gzip: a.gzip + p.gzip, brotli: a.brotli + p.brotli }), { raw: 0, gzip: 0, brotli: 0 });
}

/** The size budget and the files it covers (bench/size-budget.json). */
export function readBudget() {
  return JSON.parse(readFileSync(PATHS.budget, 'utf8'));
}

// What a site writes to use each SDK: the calls of a typical integration
// (tree shaking keeps what they need).
const PEER_ENTRIES = [
  {
    id: 'braze',
    label: '@braze/web-sdk',
    entry: "import { initialize, automaticallyShowInAppMessages, changeUser, openSession, logCustomEvent } from '@braze/web-sdk';\n"
      + "initialize('api-key', { baseUrl: 'sdk.iad-01.braze.com' }); automaticallyShowInAppMessages(); changeUser('u'); openSession(); logCustomEvent('added_to_cart');\n",
  },
  {
    id: 'snowplow',
    label: '@snowplow/browser-tracker',
    entry: "import { newTracker, trackPageView, trackSelfDescribingEvent, enableActivityTracking } from '@snowplow/browser-tracker';\n"
      + "newTracker('sp', 'collector.example.com', { appId: 'site' }); enableActivityTracking({ minimumVisitLength: 10, heartbeatDelay: 10 });\n"
      + "trackPageView(); trackSelfDescribingEvent({ event: { schema: 'iglu:com.example/cart/jsonschema/1-0-0', data: {} } });\n",
  },
  {
    id: 'growthbook',
    label: '@growthbook/growthbook',
    entry: "import { GrowthBook } from '@growthbook/growthbook';\n"
      + "const gb = new GrowthBook({ apiHost: 'https://cdn.growthbook.io', clientKey: 'key', attributes: { id: 'u' } });\n"
      + "gb.init().then(() => { if (gb.isOn('promo-tile')) document.body.dataset.promo = '1'; });\n",
  },
  {
    id: 'segment',
    label: '@segment/analytics-next',
    entry: "import { AnalyticsBrowser } from '@segment/analytics-next';\n"
      + "const analytics = AnalyticsBrowser.load({ writeKey: 'key' }); analytics.page(); analytics.track('Product Added', { sku: 's' });\n",
  },
];

async function bundlePeer(esbuild, peer) {
  const dir = join(PATHS.peers, peer.id);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const entry = join(dir, 'entry.js');
  writeFileSync(entry, peer.entry);
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: BROWSER_TARGETS,
    minify: true,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    outdir: join(dir, 'out'),
    metafile: true,
    logLevel: 'error',
  });
  const files = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.js'));
  const parts = files.map(([f, meta]) => ({ file: f, entry: meta.entryPoint !== undefined, ...compressed(readFileSync(join(ROOT, f))) }));
  const entryParts = parts.filter((p) => p.entry);
  return {
    id: peer.id,
    label: peer.label,
    how: `esbuild --bundle --minify --splitting of: ${peer.entry.split('\n')[0]}`,
    entrySource: peer.entry,
    files: parts.length,
    initial: sum(entryParts),
    total: sum(parts),
  };
}

/** Rekindle's files and every peer's, raw / gzip -9 / brotli 11. */
export async function measureSizes() {
  const budget = readBudget();
  const rekindleFiles = budget.files.map((f) => ({ file: f, ...compressed(readFileSync(join(ROOT, f))) }));
  const esbuild = await import('esbuild');

  // The npm route: a site's bundler building `import { createRekindle } from 'rekindle'`.
  const npmDir = join(PATHS.peers, 'rekindle-npm');
  rmSync(npmDir, { recursive: true, force: true });
  mkdirSync(npmDir, { recursive: true });
  const npmEntry = join(npmDir, 'entry.js');
  writeFileSync(npmEntry, `import { createRekindle } from '${relative(npmDir, join(ROOT, 'web/index.js'))}';\ncreateRekindle({ endpoint: '/rk' });\n`);
  const npm = await esbuild.build({
    absWorkingDir: ROOT, entryPoints: [npmEntry], bundle: true, format: 'esm', platform: 'browser', target: BROWSER_TARGETS,
    minify: true, legalComments: 'none', write: false, logLevel: 'error',
  });
  const npmJs = compressed(Buffer.from(npm.outputFiles[0].contents));

  const alloyFile = 'node_modules/@adobe/alloy/dist/alloy.min.js';
  const alloy = compressed(readFileSync(join(ROOT, alloyFile)));
  const peers = [{
    id: 'alloy', label: '@adobe/alloy (Adobe Web SDK)', how: `the standalone build as published: ${alloyFile}`,
    files: 1, initial: alloy, total: alloy,
  }];
  for (const peer of PEER_ENTRIES) peers.push(await bundlePeer(esbuild, peer));
  const wasm = rekindleFiles.find((f) => f.file.endsWith('.wasm'));
  return {
    rekindle: {
      files: rekindleFiles,
      total: sum(rekindleFiles),
      npmBundle: { js: npmJs, total: sum([npmJs, wasm]), how: 'esbuild --bundle --minify of `import { createRekindle } from "rekindle"` (web/index.js), plus rekindle.wasm' },
    },
    budget: { gzipBytes: budget.gzipBytes, targetBytes: budget.targetBytes },
    parts: measureParts(PATHS),
    peers,
  };
}
