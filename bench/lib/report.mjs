// Writes bench/RESULTS.md from the results object of run.mjs: one table per
// item of issue 8, every figure "median (fastest–slowest)" of its runs, the
// ratios to the peers measured in the same run, the targets met or missed,
// and where Rekindle's cost goes.
import { writeFileSync } from 'node:fs';
import { PEERS } from './rule-peers.mjs';
import { nativeIngest } from './native.mjs';

const num = (v, digits = 0) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
// Three significant figures, at least integer precision above 100.
function sig(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (Math.abs(v) >= 100) return num(v, 0);
  if (Math.abs(v) >= 10) return num(v, 1);
  return num(v, 2);
}
function cell(s, f = sig) {
  if (!s) return '—';
  return s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}
const count = (v) => num(v, Number.isInteger(v) ? 0 : 1);
const times = (a, b) => {
  const r = a / b;
  return `${r >= 10 ? num(r, 0) : num(r, 1)}×`;
};
const kb = (bytes) => `${num(bytes)} B`;
const mib = (bytes) => `${num(bytes / 2 ** 20, 1)} MiB`;
const scale = (s, k) => (s ? { median: s.median * k, min: s.min * k, max: s.max * k } : null);

function ruleSection(r) {
  const node = r.ruleEval.node;
  const chromium = r.ruleEval.chromium;
  const rows = PEERS.map((p) => {
    const [calls] = r.settings.batch[p.id] ?? r.settings.batch.default;
    return `| ${p.label} | ${p.what} | ${num(calls)} | ${cell(node[p.id])} | ${times(node[p.id].median, node.closure.median)} | ${cell(chromium[p.id])} | ${times(chromium[p.id].median, chromium.closure.median)} |`;
  });
  const nat = r.native.BM_CompiledRule5Comparisons;
  const dec = r.native.BM_DecideEligibility;
  return `## 1. Rule evaluation

The same condition in each library's language (\`bench/lib/rule-peers.mjs\`):
\`tier in [gold, platinum, diamond] and stats.orders >= 3 and address.country == "FR" and stats.spend > 250.5 and optIn == true\`
over a nested profile. Before anything is timed, every evaluator is run on ${'8'} profiles
(each clause false in turn, the boundaries, a missing object) and must give the expected truth value,
in Node and in Chromium. Each run is a fresh process (Node) or a fresh page (Chromium) evaluating
one library: a warm-up of ${num(r.settings.batch.default[1])} evaluations (${num(r.settings.batch.closure[1])} for the closure)
in ten calls and a 50 ms pause (V8 moves wasm code to its optimizing tier between calls only),
then the timed batch; ${r.settings.ruleRounds} runs per library, interleaved.

| evaluator | what is timed | calls per run | Node, ns per evaluation | vs closure | Chromium, ns per evaluation | vs closure |
| --- | --- | --: | --: | --: | --: | --: |
${rows.join('\n')}

Rekindle's core natively (C++, Google Benchmark, no wasm and no JS): the compiled rule
**${cell(nat)} ns** (${times(nat.median, node.closure.median)} the closure in Node);
\`Engine::test\` on the rule compiled as a host's condition (what \`condition.test()\` runs), ${r.native.BM_ConditionTest ? cell(r.native.BM_ConditionTest) : 'not measured'} ns;
\`decide()\` with the result as JSON text, as the binding returns it, ${cell(dec)} ns.

Through the JS API, the rule is evaluated per call by a compiled condition
(\`engine.condition(rule)\` once, then \`test()\`: one call into wasm, a number back, no
text). \`decide()\` does more than the rule (consent, journey tiles, caps, rendering the
offer's templates, JSON text out of wasm and \`JSON.parse\`): it is the per-call cost of a
decision, not of the rule. "Inside wasm" is the same compiled rule looped in WebAssembly by
\`bench/wasm/rule_eval.cc\`, built with the shipped module's flags (\`-Oz -finline-functions -flto\`, emmalloc). Until 2026-12-05 emcc's \`-Oz\` kept the module from inlining anything (\`-fno-inline-functions\`), and the module's evaluator took about 110 ns against this harness's 25 ([README.md](README.md#profile)).
`;
}

function ingestSection(r) {
  const nat = scale(nativeIngest(r.native, r.settings.segments, r.settings.ingestHistory), 1e-3);
  const parse = scale(r.native.BM_ParseEventOnly, 1e-3);
  const node = r.ingestNode;
  const c = r.ingestChromium;
  const rt = r.runtimeChromium;
  const jl = r.ruleEval.node['json-logic'].median / 1000;
  return `## 2. Ingest

${r.settings.segments} segments (counts with a \`where\`, sequences with an absence, sums, since,
segment references with profile comparisons) and ${r.settings.journeys} journeys (tile, wait, email; ended
by a purchase), a ${num(r.settings.ingestHistory)}-event history (also the history limit, so every new
event pushes the oldest out), the profile attributes set; events 30 s apart with a 90-minute pause every
200 events, so segments are realized, journeys start and tiles are shown (\`bench/lib/workload.mjs\`, mirrored
in \`bench/core_bench.cc\`). The outbox is drained every 200 events, outside the timed calls, as the transport would.

| where | events/s | per event, median | p99 | slowest | long tasks (> 50 ms) |
| --- | --: | --: | --: | --: | --: |
| native core: \`ingest\` + the result as JSON text (C++) | ${sig(1e6 / nat.median)} | ${cell(nat)} µs | — | — | — |
| wasm through the JS API in Node: \`engine.track(event)\` | ${sig(1e6 / node.usPerEvent.median)} | ${cell(node.usPerEvent)} µs | ${sig(node.p99Us)} µs | — | — |
| wasm through the JS API in Chromium: \`engine.track(event)\`, ${num(r.settings.burst)} events each in its own task | ${cell(c.eventsPerSecond)} | ${cell(c.medianUs)} µs | ${cell(c.p99Us)} µs | ${cell(c.maxUs)} µs | ${cell(c.longTaskCount, count)} (longest ${cell(c.longestTaskMs)} ms) |
| page runtime in Chromium: \`await rk.track(type, fields)\`, one at a time (engine, then a journal entry written to IndexedDB; the whole state every 100 entries) | ${sig(1000 / rt.medianMs.median)} | ${cell(rt.medianMs)} ms | — | ${cell(rt.maxMs)} ms | ${cell(rt.longTasksPerEvent)} per event |

Node and native: median of ${r.settings.growthRounds} (Node) and ${r.settings.nativeRepetitions} (native) runs of
${num(r.settings.growthEvents)} and 4,096 events; Chromium: ${r.settings.ingestRuns} runs of a ${num(r.settings.burst)}-event burst
(events/s = events / time spent in \`track()\`); page runtime: ${r.settings.runtimeRuns} runs of ${r.settings.runtimeEvents} events.
Parsing the event JSON alone takes ${cell(parse)} µs natively.

One json-logic evaluation of the rule above took ${sig(jl * 1000)} ns in Node in this run: a whole native ingest is
${times(nat.median, jl)} that, and an ingest through the JS API ${times(node.usPerEvent.median, jl)}.
`;
}

function readySection(r) {
  const rows = [
    ['cold: first visit, nothing cached, no saved state', 'cold'],
    ['restored: the 10,000-event state saved in IndexedDB, nothing cached', 'restored'],
    ['repeat visit: restored, HTTP cache and compiled code warm', 'repeat'],
  ].map(([label, k]) => {
    const s = r.ready[k];
    return `| ${label} | **${cell(s.totalMs)}** | ${cell(s.importMs)} | ${cell(s.createMs)} | ${cell(s.decideMs)} | ${cell(s.sinceNavigationMs)} |`;
  });
  return `## 3. Time to ready (Chromium)

From the first line of the page's script to the first \`decide('hero')\` of the page runtime
(\`createRekindle\` with the ${r.settings.segments}-segment artifact, storage in IndexedDB), ms, ${r.settings.readyRuns} runs each,
each in a fresh browser context; files served from 127.0.0.1 (no network latency).

| scenario | script start → first decision | \`import()\` of the module | \`createRekindle()\` (wasm compile, restore, catch-up) | \`decide()\` | since navigation start |
| --- | --: | --: | --: | --: | --: |
${rows.join('\n')}
`;
}

function memorySection(r) {
  const n = r.memory.node;
  const c = r.memory.chromium;
  const snapNative = r.native['BM_Snapshot10k/iterations:20'];
  const restoreNative = r.native['BM_Restore10k/iterations:10'];
  return `## 4. Memory, with the 10,000-event profile of the ingest figure

Node: after the 10,000 events of the history. Chromium: after the history and the
${num(r.settings.burst)}-event burst of item 2 (the history stays at 10,000 events; journeys and
the outbox's memory of sent records have seen more).

| | Node | Chromium | native |
| --- | --: | --: | --: |
| wasm heap (\`memory.buffer.byteLength\`) after the events | ${mib(n.heapBytes)} | ${cell(c.heapBytes, mib)} | — |
| wasm heap after one \`snapshot()\` | ${mib(n.heapAfterSnapshotBytes)} | ${cell(c.heapAfterSnapshotBytes, mib)} | — |
| snapshot (UTF-8 JSON text) | ${kb(n.snapshotBytes)} | ${cell(c.snapshotBytes, kb)} | — |
| \`snapshot()\` | ${sig(n.snapshotMs)} ms | ${cell(c.snapshotMs)} ms | ${cell(scale(snapNative, 1e-6))} ms |
| \`restore()\` | ${sig(n.restoreMs)} ms | — | ${cell(scale(restoreNative, 1e-6))} ms |

The heap is the module's whole linear memory: it grows and never shrinks, so the peak of
\`snapshot()\` (the whole state as a JSON tree, then as text) stays. The page runtime writes the
snapshot to IndexedDB once per 100 changes (a journal entry for each change in between), when the
page is hidden and when an artifact loads.
`;
}

function sizeSection(r) {
  const s = r.sizes;
  const total = s.rekindle.total;
  const rows = [
    ...s.rekindle.files.map((f) => `| Rekindle \`${f.file}\` | ${kb(f.raw)} | ${kb(f.gzip)} | ${kb(f.brotli)} | |`),
    `| **Rekindle, what a page loads** (script-tag build + wasm) | **${kb(total.raw)}** | **${kb(total.gzip)}** | **${kb(total.brotli)}** | 1.0× |`,
    `| Rekindle through a bundler (\`import { createRekindle } from "rekindle"\`, esbuild --minify) + wasm | ${kb(s.rekindle.npmBundle.total.raw)} | ${kb(s.rekindle.npmBundle.total.gzip)} | ${kb(s.rekindle.npmBundle.total.brotli)} | ${times(s.rekindle.npmBundle.total.gzip, total.gzip)} |`,
    ...s.peers.map((p) => {
      const lazy = p.total.gzip > p.initial.gzip ? ` (first load ${kb(p.initial.gzip)} gzip; the rest in ${p.files - 1} lazily loaded chunk${p.files > 2 ? 's' : ''})` : '';
      return `| ${p.label}${lazy} | ${kb(p.total.raw)} | ${kb(p.total.gzip)} | ${kb(p.total.brotli)} | ${times(p.total.gzip, total.gzip)} |`;
    }),
  ];
  const how = s.peers.map((p) => `- ${p.label}: ${p.how}`).join('\n');
  return `## 5. Bytes on the wire

Each file compressed on its own with node:zlib (gzip level 9, brotli quality 11).

| what a page loads | raw | gzip -9 | brotli 11 | gzip vs Rekindle |
| --- | --: | --: | --: | --: |
${rows.join('\n')}

Size ceiling (\`bench/size-budget.json\`, checked by \`tests/wasm/size-budget.test.js\`): ${kb(s.budget.gzipBytes)} gzip;
Rekindle is at ${kb(total.gzip)}, ${total.gzip <= s.budget.gzipBytes ? 'within it' : `**over it by ${kb(total.gzip - s.budget.gzipBytes)}**`}.
Issue 8's target is ${kb(s.budget.targetBytes)}: ${total.gzip <= s.budget.targetBytes ? 'met' : `**missed by ${kb(total.gzip - s.budget.targetBytes)}**`}.

How each peer was bundled (entries in \`bench/lib/sizes.mjs\`; the npm SDKs tree-shaken to a typical integration's calls):
${how}
${partsSection(s, total)}`;
}

/** What Rekindle's download is made of (bench/lib/size-parts.mjs). */
function partsSection(s, total) {
  const { wasm, js } = s.parts ?? {};
  if (!wasm || !js) return '\nThe breakdown by part needs web/dist/rekindle.symbols and rekindle.global.meta.json: `bash scripts/build.sh module` writes them.\n';
  const pct = (part, whole) => `${((100 * part) / whole).toFixed(0)} %`;
  const wasmRows = wasm.parts.map((p) => `| ${p.part} | ${p.functions || ''} | ${kb(p.raw)} | ${kb(p.gzip)} | ${pct(p.gzip, wasm.gzip)} | ${p.biggest ? `\`${p.biggest.name}\` (${kb(p.biggest.raw)})` : ''} |`);
  const jsRows = js.files.map((f) => `| \`${f.file}\` | ${kb(f.minified)} | ${pct(f.minified, js.minified)} |`);
  const jsFile = s.rekindle.files.find((f) => f.file.endsWith('.js'));
  const over = total.gzip - s.budget.targetBytes;
  const heaviest = wasm.parts[0];
  const core = wasm.parts.filter((p) => p.part.startsWith('core/') || p.part.startsWith('wasm/'));
  const coreGzip = core.reduce((a, p) => a + p.gzip, 0);
  return `
### What Rekindle's download is made of

The wasm, ${kb(wasm.gzip)} gzip (${kb(wasm.raw)} raw, ${wasm.functions} functions), by part of the code base. A
part's gzip weight is what gzip -9 of the module loses when the part's function bodies are left
out (gzip shares its window across parts, so the weights add up to a little less than the whole).
With link-time optimization a function called once is inlined into its caller and counted there:
most of the engine's methods (\`core/engine/\`, the snapshot parts, the history) sit inside the C
ABI's \`rk_*\` functions. Names from the module's symbol map (\`web/dist/rekindle.symbols\`).

| part | functions | raw | gzip weight | of the wasm | biggest function |
| --- | --: | --: | --: | --: | --- |
${wasmRows.join('\n')}

The script-tag build, ${kb(jsFile.gzip)} gzip (${kb(js.minified)} minified), by source file (esbuild's metafile):

| source file | minified | of the build |
| --- | --: | --: |
${jsRows.join('\n')}

${over > 0 ? `Reaching the ${kb(s.budget.targetBytes)} target means losing ${kb(over)} (${pct(over, total.gzip)} of the download). No part is that
heavy on its own (the heaviest, ${heaviest.part}, weighs ${kb(heaviest.gzip)}): Rekindle's own C++ is
${kb(coreGzip)} of the wasm, spread over every feature, and the page runtime's JavaScript ${kb(jsFile.gzip)}.` : `The download is within the ${kb(s.budget.targetBytes)} target.`}
`;
}

function growthSection(r) {
  const hist = r.growth.history.map((g) => `| ${num(g.history)} | ${cell(g.nativeUs)} | ${cell(g.nodeUs)} | ${sig(g.nodeP99Us)} | ${mib(g.nodeHeapBytes)} |`);
  const segs = r.growth.segments.map((g) => `| ${num(g.segments)} | ${g.journeys} | ${cell(g.nativeUs)} | ${cell(g.nodeUs)} | ${sig(g.nodeP99Us)} | ${mib(g.nodeHeapBytes)} |`);
  return `## 6. Growth

Ingest cost per event, µs (native: ingest + result JSON; wasm: \`engine.track()\` in Node), the workload of item 2.

![ingest cost against history length and segments](growth.png)

| history (events) | native, µs | wasm via JS, µs | wasm p99, µs | wasm heap |
| --: | --: | --: | --: | --: |
${hist.join('\n')}

| segments | journeys | native, µs | wasm via JS, µs | wasm p99, µs | wasm heap |
| --: | --: | --: | --: | --: | --: |
${segs.join('\n')}
`;
}

/** The targets of issue 8, each with its figure from this run. */
export function targets(r) {
  const node = r.ruleEval.node;
  const chromium = r.ruleEval.chromium;
  const closure = node.closure.median;
  const nat = r.native.BM_CompiledRule5Comparisons.median;
  const jl = node['json-logic'].median;
  const gb = node.growthbook.median;
  const ingestNative = nativeIngest(r.native, r.settings.segments, r.settings.ingestHistory).median;
  const ingestJs = r.ingestNode.usPerEvent.median * 1000;
  // The mean per event (time in track() / events), as for Node and native.
  const ingestChromium = 1e9 / r.ingestChromium.eventsPerSecond.median;
  const gzip = r.sizes.rekindle.total.gzip;
  const alloy = r.sizes.peers.find((p) => p.id === 'alloy').total.gzip;
  const FEW = 5; // "within a few times": at most 5×
  const FAR = 5; // "far below": at least 5× faster
  const envs = [['Node', node], ['Chromium', chromium]];
  const speed = (a, b) => (a <= b ? `${times(b, a)} faster than` : `${times(a, b)} slower than`);
  const closureRows = [['native core', nat, closure]];
  const interpreterRows = [['native core', nat, jl, gb]];
  for (const [env, e] of envs) {
    closureRows.push([`inside wasm (${env})`, e['rekindle-wasm'].median, e.closure.median]);
    closureRows.push([`through the JS API, condition.test() (${env})`, e['rekindle-test'].median, e.closure.median]);
    closureRows.push([`through the JS API, decide() (${env})`, e['rekindle-decide'].median, e.closure.median]);
    interpreterRows.push([`inside wasm (${env})`, e['rekindle-wasm'].median, e['json-logic'].median, e.growthbook.median]);
    interpreterRows.push([`through the JS API, condition.test() (${env})`, e['rekindle-test'].median, e['json-logic'].median, e.growthbook.median]);
    interpreterRows.push([`through the JS API, decide() (${env})`, e['rekindle-decide'].median, e['json-logic'].median, e.growthbook.median]);
  }
  const rows = [
    {
      target: `compiled rule within a few (≤ ${FEW}) times the closure`,
      rows: closureRows.map(([what, v, c]) => [what, `${sig(v)} ns = ${times(v, c)} the closure (${sig(c)} ns)`, v <= FEW * c]),
    },
    {
      target: `compiled rule far (≥ ${FAR}×) below the interpreters (json-logic, GrowthBook)`,
      rows: interpreterRows.map(([what, v, j, g]) => [what, `${speed(v, j)} json-logic (${sig(j)} ns), ${speed(v, g)} GrowthBook (${sig(g)} ns)`, j >= FAR * v && g >= FAR * v]),
    },
    {
      target: `a whole ingest with ${r.settings.segments} segments under one json-logic evaluation`,
      rows: [
        ['native core', `${sig(ingestNative)} ns = ${times(ingestNative, jl)} one json-logic evaluation in Node (${sig(jl)} ns)`, ingestNative < jl],
        ['through the JS API (Node)', `${sig(ingestJs)} ns = ${times(ingestJs, jl)} one json-logic evaluation in Node`, ingestJs < jl],
        ['through the JS API (Chromium)', `${sig(ingestChromium)} ns = ${times(ingestChromium, chromium['json-logic'].median)} one json-logic evaluation in Chromium (${sig(chromium['json-logic'].median)} ns)`, ingestChromium < chromium['json-logic'].median],
      ],
    },
    {
      target: `total gzip under @adobe/alloy's standalone build (${kb(alloy)})`,
      rows: [['script-tag build + wasm', `${kb(gzip)} = ${times(gzip, alloy)} alloy`, gzip < alloy]],
    },
    {
      target: `size budget: gzip total under ${kb(r.sizes.budget.targetBytes)}`,
      rows: [['script-tag build + wasm', `${kb(gzip)}, ${gzip <= r.sizes.budget.targetBytes ? 'under' : 'over'} by ${kb(Math.abs(gzip - r.sizes.budget.targetBytes))} (npm test's ceiling: ${kb(r.sizes.budget.gzipBytes)})`, gzip <= r.sizes.budget.targetBytes]],
    },
  ];
  return rows.map((t) => ({ ...t, rows: t.rows.map(([what, figure, ok]) => ({ what, figure, met: ok })) }));
}

function targetSection(r) {
  const lines = [];
  for (const t of targets(r)) {
    for (const row of t.rows) lines.push(`| ${t.target} | ${row.what} | ${row.met ? 'met' : '**missed**'} | ${row.figure} |`);
  }
  const node = r.ruleEval.node;
  const ref = [
    ['json-logic-js', 1800, node['json-logic']],
    ['GrowthBook evalCondition', 1360, node.growthbook],
    ['@adobe/aep-rules-engine', 230, node.aep],
    ['hand-written closure', '8–18', node.closure],
  ].map(([label, issue, s]) => `| ${label} | ${issue} | ${cell(s)} |`);
  return `## Targets (issue 8)

| target | Rekindle | | figure in this run |
| --- | --- | --- | --- |
${lines.join('\n')}

The issue's reference figures for the peers (Node 20, "these machines") and this run's, ns per evaluation:

| peer | issue | this run (Node) |
| --- | --: | --: |
${ref.join('\n')}
`;
}

function costSection(r) {
  const node = r.ruleEval.node;
  const chromium = r.ruleEval.chromium;
  const nat = r.native.BM_CompiledRule5Comparisons.median;
  const decideNative = r.native.BM_DecideEligibility.median;
  const ingestNative = nativeIngest(r.native, r.settings.segments, r.settings.ingestHistory).median / 1000;
  const parse = r.native.BM_ParseEventOnly.median / 1000;
  const ingestJs = r.ingestNode.usPerEvent.median;
  const ingestChromium = 1e6 / r.ingestChromium.eventsPerSecond.median;
  const line = (env, e) => `${env}: ${sig(e['rekindle-wasm'].median)} ns as shipped (${times(e['rekindle-wasm'].median, nat)} native), `
    + `${sig(e['rekindle-wasm-o2'].median)} ns with everything -O2, ${sig(e['rekindle-wasm-lookup'].median)} ns with the paths looked up each time`;
  const lookupNative = r.native.BM_CompiledRule5ComparisonsLookup?.median;
  return `## Where Rekindle's cost goes

Figures of this run; the profile behind them is in [README.md](README.md#profile).

- **The rule reads values looked up once per change of the profile.** An artifact's rules name a
  fixed set of profile paths (\`rules::ProfilePaths\`); the engine looks them up in the attribute tree
  when the profile or the artifact changes, and every evaluation reads the values found, with
  the literals decoded at load (a number, a boolean, a list of strings). The compiled rule takes
  ${sig(nat)} ns natively (${times(nat, node.closure.median)} the closure in Node)${lookupNative ? `, ${sig(lookupNative)} ns when the paths are looked up first (the first evaluation after a change)` : ''}.
  In wasm: ${line('Node', node)}; ${line('Chromium', chromium)}. The module is \`-Oz\` for size, with
  \`-finline-functions\` (emcc's \`-Oz\` turns inlining off, and then not even one-line accessors are
  inlined: the rule took about 110 ns). What is left against the closure: a call into the evaluator, the walk of the
  condition tree, nlohmann's type tests and libc++'s string compares, where the closure reads
  JS object properties through hidden classes.
- **Through the JS API, a rule costs the call into wasm.** \`condition.test()\` takes ${sig(node['rekindle-test'].median)} ns in Node
  and ${sig(chromium['rekindle-test'].median)} ns in Chromium, against ${sig(node['rekindle-wasm'].median)} and ${sig(chromium['rekindle-wasm'].median)} ns for the rule looped inside wasm: the
  rest is the JS wrapper, the call across the boundary and the consent check.
- **decide() is mostly not the rule.** A call costs ${sig(node['rekindle-decide'].median)} ns in Node and
  ${sig(chromium['rekindle-decide'].median)} ns in Chromium (natively ${sig(decideNative)} ns): the eligibility
  rule is one part; rendering the offer's templates, building and dumping the result JSON, the string
  crossing of the C ABI and \`JSON.parse\` are the rest.
- **Ingest is JSON and allocation, spread over the whole engine.** Natively, an ingest is ${sig(ingestNative)} µs,
  of which parsing the event's JSON is ${sig(parse)} µs; through the JS API it is ${sig(ingestJs)} µs in Node
  (${times(ingestJs, ingestNative)} native) and ${sig(ingestChromium)} µs in Chromium (mean per event). No single function
  dominates: the event is an nlohmann tree (about 70 allocations to parse and validate), the
  history frees the tree of the event that falls out (cold memory, about a fifth of the time),
  the result and the outbox records are built as JSON and dumped to text, then \`malloc\`/\`free\`
  (emmalloc in the wasm), the segments' aggregates and the journeys. Under one json-logic
  evaluation would need events stored flat (one block, interned types), written to text
  without trees, and no allocation per event: a new data model, not a tuning.
- **The page runtime adds one small IndexedDB write per turn.** Every \`rk.track()\` ends its turn
  with a journal entry (the engine calls of the turn): ${sig(r.runtimeChromium.medianMs.median)} ms per event. The whole
  state (\`snapshot()\`, ${sig(r.memory.chromium.snapshotMs.median)} ms and ${kb(r.memory.chromium.snapshotBytes.median)} at 10,000 events in Chromium) is
  written once per 100 turns, when the page is idle: the long tasks per event above.
`;
}

/** Writes RESULTS.md. */
export function writeReport(r, file) {
  const m = r.machine;
  const head = `# Rekindle benchmarks: results

Written by \`npm run bench\` (\`bench/run.mjs\`; method in [bench/README.md](README.md)) on
${r.date.slice(0, 16).replace('T', ' ')} UTC, in ${(r.durationSeconds / 60).toFixed(1)} min.
Raw figures: [results.json](results.json).

| | |
| --- | --- |
| CPU | ${m.cpu}, ${m.cores} cores (${m.memoryGiB} GiB), shared with other work: load average ${m.loadAverageAtStart.join(' / ')} at the start, ${m.loadAverageAtEnd.join(' / ')} at the end |
| OS | ${m.os} |
| Node | ${m.node} |
| Chromium | ${m.chromium} (headless, Debian package, driven by playwright-core) |
| Rekindle build measured | web/dist/rekindle.wasm sha256 ${r.build.wasmSha256}…, built ${r.build.wasmBuilt} |

Every figure is the **median of several runs (fastest–slowest)**. The machine is shared and noisy:
absolute figures move from run to run; the ratios to the peers, measured in the same run and
interleaved, are the figures to compare.
`;
  const text = [head, targetSection(r), ruleSection(r), ingestSection(r), readySection(r), memorySection(r), sizeSection(r), growthSection(r), costSection(r)].join('\n');
  writeFileSync(file, text);
}
