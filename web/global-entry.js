// Entry of the script-tag build, web/dist/rekindle.global.js, made by
// scripts/build-web.mjs: one classic script that defines the global
// `Rekindle` with the same API as index.js. A classic script has no
// `import.meta`; in that build `import.meta.url` is the URL of the <script>
// element that loaded the file, captured while it ran (document.currentScript),
// so the .wasm defaults to `rekindle.wasm` next to the script.
import {
  createRekindle as createPageRekindle, createEngine as createBareEngine,
  RekindleOptionsError, RekindleArtifactError, RekindleConditionError,
} from './index.js';
import { isObject } from './page/common.js';

const scriptUrl = import.meta.url;
const defaultWasmUrl = scriptUrl ? new URL('rekindle.wasm', scriptUrl).href : undefined;

// The options with `wasmUrl` defaulted, unless they give the wasm itself
// (`wasmUrl` or `wasmBinary`); anything that is not an options object is
// passed on unchanged for index.js to report.
function withWasmUrl(options) {
  if (options === undefined || options === null) options = {};
  if (!isObject(options)) return options;
  if (options.wasmUrl !== undefined || options.wasmBinary !== undefined) return options;
  if (defaultWasmUrl === undefined) {
    throw new RekindleOptionsError('wasmUrl', 'is needed: this copy of rekindle.global.js was not loaded by a <script src> element, so the URL of rekindle.wasm is unknown');
  }
  return { ...options, wasmUrl: defaultWasmUrl };
}

/** Creates the page runtime. */
async function createRekindle(options) {
  return createPageRekindle(withWasmUrl(options));
}

/** Creates a bare engine: synchronous calls, no storage, DOM or network. */
async function createEngine(options) {
  return createBareEngine(withWasmUrl(options));
}

// The global, declared by the first line of the build (scripts/build-web.mjs):
// a frozen object rather than the module namespace esbuild would make of
// exports (its property getters and helpers cost about 200 B gzipped); its
// properties, in the same order, cannot be replaced either.
Rekindle = Object.freeze({
  RekindleArtifactError, RekindleConditionError, RekindleOptionsError, createEngine, createRekindle,
});
