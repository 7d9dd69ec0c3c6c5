// The native figures: bench/core_bench.cc run with JSON output, every
// benchmark repeated; each repetition is one run of the summary.
import { spawnSync } from 'node:child_process';
import { PATHS } from './paths.mjs';
import { summarize } from './stats.mjs';

const TO_NS = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };

/** Runs the benchmark program; returns `{ context, results: { name: summary (ns) } }`. */
export function runNative({ repetitions = 5, filter = '.' } = {}) {
  const args = [
    `--benchmark_filter=${filter}`,
    `--benchmark_repetitions=${repetitions}`,
    '--benchmark_min_time=0.2',
    '--benchmark_format=json',
  ];
  console.log(`bench: $ ${PATHS.nativeBench} ${args.join(' ')}`);
  const r = spawnSync(PATHS.nativeBench, args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`rekindle_core_bench exited with ${r.status}`);
  const out = JSON.parse(r.stdout);
  const runs = new Map();
  const counters = new Map();
  for (const b of out.benchmarks) {
    if (b.run_type !== 'iteration') continue;
    const name = b.run_name ?? b.name;
    if (!runs.has(name)) runs.set(name, []);
    runs.get(name).push(b.real_time * TO_NS[b.time_unit]);
    counters.set(name, { history: b.history, segments: b.segments, journeys: b.journeys });
  }
  const results = {};
  for (const [name, values] of runs) results[name] = { ...summarize(values), unit: 'ns', counters: counters.get(name) };
  return { context: out.context, results };
}

/** The summary of the ingest benchmark with `segments` and `history`. */
export function nativeIngest(results, segments, history) {
  const key = Object.keys(results).find((k) => k.startsWith(`BM_Ingest/segments:${segments}/history:${history}/`));
  return key ? results[key] : null;
}
