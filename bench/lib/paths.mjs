// Where the benchmark finds and writes things. Everything it builds goes to
// build/bench-run/ (ignored by git); the results go to bench/.
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const out = `${ROOT}build/bench-run/`;

export const PATHS = {
  root: ROOT,
  out,
  nativeBuild: `${ROOT}build/bench`,
  nativeBench: `${ROOT}build/bench/bench/rekindle_core_bench`,
  wasmModule: `${ROOT}web/dist/rekindle.wasm`,
  wasmGlue: `${ROOT}web/dist/rekindle.mjs`,
  wasmSymbols: `${ROOT}web/dist/rekindle.symbols`,
  globalBuild: `${ROOT}web/dist/rekindle.global.js`,
  globalMeta: `${ROOT}web/dist/rekindle.global.meta.json`,
  pages: `${out}pages/`,
  peers: `${out}peers/`,
  results: `${ROOT}bench/results.json`,
  resultsMd: `${ROOT}bench/RESULTS.md`,
  plot: `${ROOT}bench/growth.png`,
  budget: `${ROOT}bench/size-budget.json`,
};

/**
 * The rule harness (bench/wasm/rule_eval.cc) built with the shipped module's
 * flags ('shipped': -Oz) or with -O2 ('o2', for comparison only).
 */
export function ruleHarness(variant) {
  const name = variant === 'o2' ? 'rule_eval_o2' : 'rule_eval';
  return { js: `${out}wasm/${name}.mjs`, wasm: `${out}wasm/${name}.wasm`, name };
}

/** The URL path (from the repository root) of a file under ROOT. */
export function urlPath(file) {
  if (!file.startsWith(ROOT)) throw new Error(`${file} is outside the repository`);
  return `/${file.slice(ROOT.length)}`;
}
