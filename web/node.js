// Node entry: reads the .wasm from the package and hands it to the module, so
// no fetch or URL resolution is involved. `createRekindle` runs the runtime
// without a page (memory storage, transport when an endpoint is given);
// `createEngine` is the bare engine (the server and the CLI use it).
import { readFile } from 'node:fs/promises';
import { createWithModule, RekindleOptionsError, RekindleArtifactError, RekindleConditionError } from './runtime.js';
import { createPageRekindle } from './page/rekindle.js';

export { RekindleOptionsError, RekindleArtifactError, RekindleConditionError };

let wasmBytes = null;
async function moduleOptions(options) {
  const bytes = options?.wasmBinary;
  if (bytes !== undefined) {
    if (!ArrayBuffer.isView(bytes) && Object.prototype.toString.call(bytes) !== '[object ArrayBuffer]') {
      throw new RekindleOptionsError('wasmBinary', 'must be an ArrayBuffer or a Uint8Array holding rekindle.wasm');
    }
    return { wasmBinary: bytes };
  }
  if (options?.wasmUrl) return { wasmBinary: await readFile(options.wasmUrl) };
  wasmBytes ??= await readFile(new URL('./dist/rekindle.wasm', import.meta.url));
  return { wasmBinary: wasmBytes };
}

/** Creates a bare engine: synchronous calls, no storage, DOM or network. */
export async function createEngine(options = {}) {
  return createWithModule(options ?? {}, await moduleOptions(options));
}

/** Creates the runtime without a page. */
export async function createRekindle(options = {}) {
  return createPageRekindle({ storage: 'memory', ...(options ?? {}) }, await moduleOptions(options));
}
