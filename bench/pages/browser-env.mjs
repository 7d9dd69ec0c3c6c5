// How the Chromium pages load Rekindle: the npm module's browser entry
// (web/index.js, which fetches web/dist/rekindle.wasm next to it), imported at
// run time from the server like a site's own module graph, not bundled into
// the page; and the rule harness built by bench/lib/build.mjs.
import { wrapRuleHarness } from '../lib/rule-harness.mjs';

const at = (path) => new URL(path, location.href).href;
export const REKINDLE_URL = at('../../web/index.js');

let rekindle = null;
const harnesses = new Map();

export function importRekindle() {
  rekindle ??= import(REKINDLE_URL);
  return rekindle;
}

/** Records the wasm instances created from now on, to read their memory. */
export function watchWasmMemory() {
  const memories = [];
  const keep = (result) => {
    const instance = result instanceof WebAssembly.Instance ? result : result.instance;
    for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memories.push(value);
    return result;
  };
  const { instantiate, instantiateStreaming } = WebAssembly;
  WebAssembly.instantiate = (...args) => instantiate.apply(WebAssembly, args).then(keep);
  WebAssembly.instantiateStreaming = (...args) => instantiateStreaming.apply(WebAssembly, args).then(keep);
  return memories;
}

export const browserEnv = {
  async createEngine(options) {
    const { createEngine } = await importRekindle();
    return createEngine(options);
  },
  async loadRuleHarness(variant) {
    if (!harnesses.has(variant)) {
      const name = variant === 'o2' ? 'rule_eval_o2' : 'rule_eval';
      const { default: create } = await import(at(`../../build/bench-run/wasm/${name}.mjs`));
      const wasmUrl = at(`../../build/bench-run/wasm/${name}.wasm`);
      harnesses.set(variant, wrapRuleHarness(await create({ locateFile: () => wasmUrl })));
    }
    return harnesses.get(variant);
  },
};
