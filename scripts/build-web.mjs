// Builds the script-tag build web/dist/rekindle.global.js: one minified
// classic script (IIFE) that defines the global `Rekindle` (createRekindle,
// createEngine, the error classes; declared by the banner's `var Rekindle`,
// set by web/global-entry.js at its end), and prints its
// size raw and gzipped. It needs web/dist/rekindle.mjs (scripts/build.sh
// wasm|module); the built file loads rekindle.wasm from next to itself.
//
// `import.meta.url` (used by index.js and by the Emscripten glue) does not
// exist in a classic script: here it is defined as the URL of the <script>
// element that loaded the file, captured by a module that esbuild injects at
// the top of the bundle, i.e. while the script runs and
// `document.currentScript` is still set.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { BROWSER_TARGETS } from './browsers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const web = `${root}web/`;
const out = `${web}dist/rekindle.global.js`;
const meta = `${web}dist/rekindle.global.meta.json`;

if (!existsSync(`${web}dist/rekindle.mjs`)) {
  console.error('build-web: web/dist/rekindle.mjs is missing; run `bash scripts/build.sh module` first');
  process.exit(1);
}

let esbuild;
let terser;
try {
  esbuild = await import('esbuild');
  terser = await import('terser');
} catch {
  console.error('build-web: esbuild or terser is not installed; run `npm ci` (or `bash scripts/setup.sh`) first');
  process.exit(1);
}

const BANNER = '/* rekindle: on-device re-engagement engine; script-tag build (global `Rekindle`), loads rekindle.wasm from next to this file. Apache-2.0 */';

const SCRIPT_URL = 'rekindle:script-url';
const scriptUrlModule = {
  name: 'rekindle-script-url',
  setup(build) {
    build.onResolve({ filter: /^rekindle:script-url$/ }, () => ({ path: SCRIPT_URL, namespace: 'rekindle' }));
    build.onLoad({ filter: /.*/, namespace: 'rekindle' }, () => ({
      loader: 'js',
      contents: 'export const __rekindleScriptUrl = typeof document !== "undefined" && document.currentScript'
        + ' && document.currentScript.src || undefined;\n',
    }));
  },
};

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['web/global-entry.js'],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  // The browsers Rekindle supports (docs/page-runtime.md, "Browsers"): class
  // private fields and methods stay as written, not lowered to WeakMaps, and
  // optional chaining too from Chrome 91 (-1 KB gzip against es2020, 2026-12-05).
  target: BROWSER_TARGETS,
  minify: true,
  legalComments: 'none',
  define: { 'import.meta.url': '__rekindleScriptUrl' },
  inject: [SCRIPT_URL],
  plugins: [scriptUrlModule],
  banner: { js: 'var Rekindle;' },
  write: false,
  // Each source file's share of the output, for the benchmark's size breakdown.
  metafile: true,
  logLevel: 'silent',
});
if (result.warnings.length > 0) {
  const text = await esbuild.formatMessages(result.warnings, { kind: 'warning' });
  console.error(text.join('\n'));
  console.error('build-web: esbuild warned; fix the warnings above');
  process.exit(1);
}

// esbuild's minified bundle is minified again by terser: its names, chosen
// by how often each character occurs in the file, and its compression take
// about 0.9 KB off the gzipped script (2026-12-05). Only ASCII is written, as
// esbuild does, so a page served in another encoding reads the same strings.
const minified = await terser.minify(Buffer.from(result.outputFiles[0].contents).toString('utf8'), {
  ecma: 2020,
  // Without these three of its rewrites the output gzips 87 B smaller (measured 2026-12-05).
  compress: { passes: 2, reduce_funcs: false, sequences: false, arrows: false },
  mangle: true,
  format: { ascii_only: true, comments: false, preamble: BANNER },
});
const text = minified.code;
const code = Buffer.from(text);
if (/import\.meta|\bimport\s*\(|^\s*export\s/m.test(text)) {
  console.error('build-web: the script-tag build still holds module syntax (import.meta, import() or export)');
  process.exit(1);
}

await mkdir(`${web}dist`, { recursive: true });
const previous = existsSync(out) ? await readFile(out) : null;
if (previous === null || !previous.equals(code)) await writeFile(out, code);
// The metafile's sizes are esbuild's: each source file's share of the
// output is scaled to the size terser's output has.
for (const output of Object.values(result.metafile.outputs)) {
  const scale = code.length / output.bytes;
  for (const input of Object.values(output.inputs)) input.bytesInOutput = Math.floor(input.bytesInOutput * scale);
  output.bytes = code.length;
}
await writeFile(meta, `${JSON.stringify(result.metafile)}\n`);

function size(bytes) {
  return `${bytes.length.toLocaleString('en-US')} B raw, ${gzipSync(bytes, { level: 9 }).length.toLocaleString('en-US')} B gzipped (zlib level 9)`;
}
console.log(`build-web: web/dist/rekindle.global.js  ${size(code)}`);
if (existsSync(`${web}dist/rekindle.wasm`)) {
  console.log(`build-web: web/dist/rekindle.wasm       ${size(await readFile(`${web}dist/rekindle.wasm`))}`);
}
