// `npm run bench`: Rekindle side by side with the libraries a site would load
// instead, in one run, so that every comparison is a ratio measured on the
// same machine at the same time (issue 8). Writes bench/RESULTS.md,
// bench/results.json and bench/growth.png. Method: bench/README.md.
//
//   node bench/run.mjs            the full run (a few minutes)
//   node bench/run.mjs --quick    fewer and shorter runs, to check the harness
//   node bench/run.mjs --no-build use what is built (build/bench, web/dist, build/bench-run)
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { buildAll } from './lib/build.mjs';
import { PATHS } from './lib/paths.mjs';
import { runNative, nativeIngest } from './lib/native.mjs';
import { PEERS } from './lib/rule-peers.mjs';
import { summarize } from './lib/stats.mjs';
import { withChromium, ruleCheck, ruleBatch, ingestRun, runtimeIngestRun, readyRun, renderPng } from './lib/browser.mjs';
import { measureSizes } from './lib/sizes.mjs';
import { growthSvg } from './lib/plot.mjs';
import { writeReport } from './lib/report.mjs';

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');

const SETTINGS = quick
  ? { ruleRounds: 2, batch: { default: [100_000, 20_000], closure: [2_000_000, 200_000], 'rekindle-decide': [10_000, 2_000] }, nativeRepetitions: 2,
      ingestRuns: 1, ingestHistory: 10_000, burst: 1_000, runtimeRuns: 1, runtimeEvents: 3, readyRuns: 1,
      growthEvents: 200, growthRounds: 2, growthHistories: [100, 1_000, 10_000], growthSegments: [10, 50, 100] }
  : { ruleRounds: 5, batch: { default: [1_000_000, 200_000], closure: [20_000_000, 1_000_000], 'rekindle-decide': [100_000, 20_000] }, nativeRepetitions: 5,
      ingestRuns: 3, ingestHistory: 10_000, burst: 10_000, runtimeRuns: 3, runtimeEvents: 250, readyRuns: 5,
      growthEvents: 1_000, growthRounds: 5, growthHistories: [100, 1_000, 10_000, 100_000], growthSegments: [10, 50, 100, 200, 500] };
const SEGMENTS = 50;
const JOURNEYS = 10;
const journeysFor = (segments) => Math.min(JOURNEYS, Math.floor(segments / 5));

function log(message) {
  console.log(`bench: ${message}`);
}

function child(script, childArgs) {
  const r = spawnSync(process.execPath, [new URL(`./lib/${script}`, import.meta.url).pathname, ...childArgs.map(String)], {
    encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`${script} ${childArgs.join(' ')} exited with ${r.status}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

// Each round runs every evaluator once, in an order rotated per round, so
// that a slow spell of the machine does not fall on one evaluator only.
function rotated(list, round) {
  return list.map((_, i) => list[(i + round) % list.length]);
}

// Evaluations per timed batch and warm-up: a million, except the closure (a
// million of those take 10 ms, too short to outlast the machine's hiccups)
// and decide() (a million take half a minute).
function batchSize(id) {
  return SETTINGS.batch[id] ?? SETTINGS.batch.default;
}

async function ruleRounds(measure) {
  const runs = Object.fromEntries(PEERS.map((p) => [p.id, []]));
  for (let r = 0; r < SETTINGS.ruleRounds; ++r) {
    for (const p of rotated(PEERS, r)) {
      const [n, warmup] = batchSize(p.id);
      runs[p.id].push(await measure(p.id, n, warmup));
    }
    log(`  round ${r + 1}/${SETTINGS.ruleRounds}: ${PEERS.map((p) => `${p.id} ${runs[p.id].at(-1).toFixed(0)} ns`).join(', ')}`);
  }
  return Object.fromEntries(Object.entries(runs).map(([id, v]) => [id, summarize(v)]));
}

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    cpu: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((v) => +v.toFixed(2)),
  };
}

const started = Date.now();
const results = { date: new Date().toISOString(), machine: machine(), settings: { ...SETTINGS, segments: SEGMENTS, journeys: JOURNEYS } };

if (!args.has('--no-build')) {
  log('building what is missing');
  results.build = await buildAll();
} else {
  results.build = JSON.parse(readFileSync(`${PATHS.out}built.json`, 'utf8'));
}

log('native core (Google Benchmark)');
const native = runNative({ repetitions: SETTINGS.nativeRepetitions });
results.native = native.results;
results.machine.nativeBenchContext = { cpuScalingEnabled: native.context.cpu_scaling_enabled, libraryBuildType: native.context.library_build_type };

log('rule evaluation in Node: checking that every evaluator agrees');
const nodeCheck = child('rule-child.mjs', ['check']);
if (nodeCheck.problems.length > 0) throw new Error(`Node: the evaluators disagree:\n  ${nodeCheck.problems.join('\n  ')}`);
log('rule evaluation in Node');
results.ruleEval = { node: await ruleRounds((id, n, w) => child('rule-child.mjs', ['time', id, n, w]).nsPerEval) };

log('Node: the 10,000-event profile (memory, snapshot)');
mkdirSync(PATHS.out, { recursive: true });
const snapshotFile = `${PATHS.out}snapshot-10k.json`;
results.memory = { node: child('ingest-child.mjs', ['snapshot', snapshotFile]) };

log('Node: ingest as history and segments grow');
const growthConfigs = [
  ...SETTINGS.growthHistories.map((h) => [SEGMENTS, h]),
  ...SETTINGS.growthSegments.filter((s) => s !== SEGMENTS).map((s) => [s, SETTINGS.ingestHistory]),
];
const nodeIngest = {};
for (const [segments, history] of growthConfigs) {
  const r = child('ingest-child.mjs', ['ingest', segments, journeysFor(segments), history, SETTINGS.growthEvents, SETTINGS.growthRounds]);
  nodeIngest[`${segments}/${history}`] = { ...r, usPerEvent: summarize(r.usPerEventRounds) };
  log(`  ${segments} segments, ${history} events: ${r.usPerEventRounds.map((v) => v.toFixed(0)).join(' / ')} us per event (fill ${(r.fillMs / 1000).toFixed(1)} s)`);
}

const snapshotText = readFileSync(snapshotFile);
const extra = new Map([['/bench-data/snapshot-10k.json', { body: snapshotText, type: 'application/json' }]]);
await withChromium(extra, async (chromium) => {
  results.machine.chromium = chromium.version;
  log(`Chromium ${chromium.version}: checking that every evaluator agrees`);
  await ruleCheck(chromium);
  log('rule evaluation in Chromium');
  results.ruleEval.chromium = await ruleRounds((id, n, w) => ruleBatch(chromium, id, n, w));

  log('Chromium: ingest with the bare engine');
  const ingest = [];
  for (let r = 0; r < SETTINGS.ingestRuns; ++r) {
    const out = await ingestRun(chromium, { segments: SEGMENTS, journeys: JOURNEYS, history: SETTINGS.ingestHistory, burst: SETTINGS.burst });
    ingest.push(out);
    log(`  run ${r + 1}: ${out.eventsPerSecond.toFixed(0)} events/s, median ${out.medianUs.toFixed(0)} us, p99 ${out.p99Us.toFixed(0)} us, ${out.longTasks.count} long tasks`);
  }
  const pick = (f) => summarize(ingest.map(f));
  results.ingestChromium = {
    runs: ingest,
    eventsPerSecond: pick((o) => o.eventsPerSecond),
    medianUs: pick((o) => o.medianUs),
    p99Us: pick((o) => o.p99Us),
    maxUs: pick((o) => o.maxUs),
    longTaskCount: pick((o) => o.longTasks.count),
    longestTaskMs: pick((o) => o.longTasks.longestMs),
  };
  results.memory.chromium = {
    heapBytes: pick((o) => o.heapBytes),
    heapAfterSnapshotBytes: pick((o) => o.heapAfterSnapshotBytes),
    snapshotBytes: pick((o) => o.snapshotBytes),
    snapshotMs: pick((o) => o.snapshotMs),
  };

  log('Chromium: the page runtime, one awaited track() at a time');
  const runtime = [];
  for (let r = 0; r < SETTINGS.runtimeRuns; ++r) {
    const out = await runtimeIngestRun(chromium, { segments: SEGMENTS, journeys: JOURNEYS, history: SETTINGS.ingestHistory, count: SETTINGS.runtimeEvents });
    runtime.push(out);
    log(`  run ${r + 1}: median ${out.medianMs.toFixed(1)} ms per event, ${out.longTasks.count} long tasks`);
  }
  results.runtimeChromium = {
    runs: runtime,
    medianMs: summarize(runtime.map((o) => o.medianMs)),
    maxMs: summarize(runtime.map((o) => o.maxMs)),
    longTasksPerEvent: summarize(runtime.map((o) => o.longTasks.count / o.count)),
  };

  log('Chromium: time to ready');
  const ready = { cold: [], restored: [], repeat: [] };
  for (let r = 0; r < SETTINGS.readyRuns; ++r) {
    for (const scenario of rotated(Object.keys(ready), r)) ready[scenario].push(await readyRun(chromium, scenario, '/bench-data/snapshot-10k.json'));
    log(`  run ${r + 1}: ${Object.entries(ready).map(([s, v]) => `${s} ${v.at(-1).totalMs.toFixed(0)} ms`).join(', ')}`);
  }
  results.ready = Object.fromEntries(Object.entries(ready).map(([s, runs]) => [s, {
    totalMs: summarize(runs.map((o) => o.totalMs)),
    importMs: summarize(runs.map((o) => o.importMs)),
    createMs: summarize(runs.map((o) => o.createMs)),
    decideMs: summarize(runs.map((o) => o.decideMs)),
    sinceNavigationMs: summarize(runs.map((o) => o.sinceNavigationMs)),
    decision: runs[0].decision,
  }]));

  const point = (x, s, f = (v) => v) => ({ x, y: f(s.median), lo: f(s.min), hi: f(s.max) });
  results.growth = {
    history: SETTINGS.growthHistories.map((h) => ({
      history: h, segments: SEGMENTS,
      nativeUs: scaleSummary(nativeIngest(results.native, SEGMENTS, h), 1e-3),
      nodeUs: nodeIngest[`${SEGMENTS}/${h}`].usPerEvent,
      nodeP99Us: nodeIngest[`${SEGMENTS}/${h}`].p99Us,
      nodeHeapBytes: nodeIngest[`${SEGMENTS}/${h}`].heapBytes,
    })),
    segments: SETTINGS.growthSegments.map((s) => ({
      segments: s, journeys: journeysFor(s), history: SETTINGS.ingestHistory,
      nativeUs: scaleSummary(nativeIngest(results.native, s, SETTINGS.ingestHistory), 1e-3),
      nodeUs: nodeIngest[`${s}/${SETTINGS.ingestHistory}`].usPerEvent,
      nodeP99Us: nodeIngest[`${s}/${SETTINGS.ingestHistory}`].p99Us,
      nodeHeapBytes: nodeIngest[`${s}/${SETTINGS.ingestHistory}`].heapBytes,
    })),
  };
  const series = (rows, key) => [
    { label: 'wasm, JS API track() (Node)', color: '#c0392b', points: rows.map((g) => point(g[key], g.nodeUs)) },
    { label: 'native core (ingest + result JSON)', color: '#2471a3', points: rows.filter((g) => g.nativeUs).map((g) => point(g[key], g.nativeUs)) },
  ];
  const { svg, width, height } = growthSvg(
    { title: `Ingest vs history length (${SEGMENTS} segments)`, xLabel: 'events in the history', yLabel: 'µs per event', xs: SETTINGS.growthHistories, xLog: true, series: series(results.growth.history, 'history') },
    { title: `Ingest vs segments (${SETTINGS.ingestHistory.toLocaleString('en-US')}-event history)`, xLabel: 'segments (journeys: min(10, segments / 5))', yLabel: 'µs per event', xs: SETTINGS.growthSegments, xLog: true, series: series(results.growth.segments, 'segments') },
    `${results.machine.cpu}, ${results.date.slice(0, 10)}; median of runs, bars from fastest to slowest run`,
  );
  writeFileSync(`${PATHS.out}growth.svg`, svg);
  await renderPng(chromium, svg, width, height, PATHS.plot);
});

function scaleSummary(s, k) {
  if (!s) return null;
  return { median: s.median * k, min: s.min * k, max: s.max * k, runs: s.runs.map((v) => v * k) };
}

results.ingestNode = nodeIngest[`${SEGMENTS}/${SETTINGS.ingestHistory}`];

log('bytes on the wire');
results.sizes = await measureSizes();

results.machine.loadAverageAtEnd = os.loadavg().map((v) => +v.toFixed(2));
results.durationSeconds = Math.round((Date.now() - started) / 1000);
writeFileSync(PATHS.results, `${JSON.stringify(results, null, 2)}\n`);
writeReport(results, PATHS.resultsMd);
log(`wrote bench/RESULTS.md, bench/results.json and bench/growth.png in ${results.durationSeconds} s`);
