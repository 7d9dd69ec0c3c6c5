// Ingest through the JS API in Node (the module the server and the CLI use),
// one process per configuration:
//   node ingest-child.mjs ingest <segments> <journeys> <history> <events> <rounds>
//     the workload artifact (history limit = <history>), <history> events,
//     then <rounds> rounds of <events> events, each track() timed on its own;
//   node ingest-child.mjs snapshot <file>
//     the 10,000-event profile of the ingest figure: its snapshot written to
//     <file> (the time-to-ready pages restore it), the wasm heap before and
//     after snapshot(), and the time of snapshot() and of restore().
// Prints one JSON line.
import { writeFileSync } from 'node:fs';
import { buildArtifact, buildEvent, eventTime, NESTED_PROFILE } from './workload.mjs';
import { quantile } from './stats.mjs';

// The wasm memory of every instance created from now on.
const memories = [];
const { instantiate } = WebAssembly;
WebAssembly.instantiate = (...args) => instantiate.apply(WebAssembly, args).then((result) => {
  const instance = result instanceof WebAssembly.Instance ? result : result.instance;
  for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memories.push(value);
  return result;
});
const { createEngine } = await import('../../web/node.js');

function check(result, what) {
  if (!result.ok) throw new Error(`${what}: ${JSON.stringify(result.errors)}`);
  return result;
}

function drain(engine) {
  engine.ack(engine.pending(100000, 1 << 30).map((r) => r.id));
}

async function filled(segments, journeys, history) {
  const clock = { t: eventTime(0) };
  const engine = await createEngine({
    now: () => clock.t, deviceId: 'bench-device', artifact: buildArtifact({ segments, journeys, historyEvents: history }),
  });
  check(engine.setAttributes(NESTED_PROFILE), 'setAttributes');
  const t = performance.now();
  for (let i = 0; i < history; ++i) {
    clock.t = eventTime(i);
    check(engine.trackJson(JSON.stringify(buildEvent(i))), `event ${i}`);
    if (i % 200 === 199) drain(engine);
  }
  drain(engine);
  return { engine, clock, fillMs: performance.now() - t };
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'ingest') {
  const [segments, journeys, history, events, rounds] = args.map(Number);
  const { engine, clock, fillMs } = await filled(segments, journeys, history);
  const perRound = [];
  const all = [];
  let next = history;
  for (let r = 0; r < rounds; ++r) {
    const batch = [];
    for (let k = 0; k < events; ++k) batch.push(buildEvent(next + k));
    let busy = 0;
    for (let k = 0; k < events; ++k) {
      clock.t = eventTime(next + k);
      const t = performance.now();
      const result = engine.track(batch[k]);
      const ms = performance.now() - t;
      check(result, `event ${next + k}`);
      busy += ms;
      all.push(ms);
      if (k % 200 === 199) drain(engine);
    }
    next += events;
    perRound.push((busy * 1000) / events);
  }
  console.log(JSON.stringify({
    segments, journeys, history, events, rounds, fillMs,
    usPerEventRounds: perRound,
    medianUs: quantile(all, 0.5) * 1000,
    p99Us: quantile(all, 0.99) * 1000,
    heapBytes: memories.at(-1).buffer.byteLength,
  }));
} else if (mode === 'snapshot') {
  const [file] = args;
  const { engine, fillMs } = await filled(50, 10, 10000);
  const heapBytes = memories.at(-1).buffer.byteLength;
  let t = performance.now();
  const snapshot = engine.snapshot();
  const snapshotMs = performance.now() - t;
  const heapAfterSnapshotBytes = memories.at(-1).buffer.byteLength;
  writeFileSync(file, snapshot);
  const other = await createEngine({ deviceId: 'bench-device' });
  t = performance.now();
  check(other.restore(snapshot), 'restore');
  const restoreMs = performance.now() - t;
  console.log(JSON.stringify({
    fillMs, heapBytes, heapAfterSnapshotBytes, snapshotBytes: Buffer.byteLength(snapshot), snapshotMs, restoreMs, stats: engine.stats(),
  }));
} else {
  console.error('usage: ingest-child.mjs ingest <segments> <journeys> <history> <events> <rounds> | snapshot <file>');
  process.exit(2);
}
