// Items 2 and 4 in Chromium: ingest through the JS API with the workload
// artifact over a full history, the long tasks of a burst, the wasm heap and
// the snapshot; the page runtime's own cost per event; and seeding the page
// runtime's storage with a snapshot for the time-to-ready page.
import { buildArtifact, buildEvent, eventTime, NESTED_PROFILE } from '../lib/workload.mjs';
import { quantile } from '../lib/stats.mjs';
import { importRekindle, watchWasmMemory } from './browser-env.mjs';

const memories = watchWasmMemory();
export const DEVICE_ID = 'bench-device';

// What the page's transport does between events: take what waits, ack it.
function drain(engine) {
  engine.ack(engine.pending(100000, 1 << 30).map((r) => r.id));
}

function check(result, what) {
  if (!result.ok) throw new Error(`${what}: ${JSON.stringify(result.errors)}`);
  return result;
}

const nextTask = (ms = 0) => new Promise((done) => setTimeout(done, ms));

/**
 * Long tasks that start from now on. The caller's own set-up (a task that
 * may itself be long) is over before observing starts, and entries are kept
 * only if they started after it.
 */
async function observeLongTasks() {
  await nextTask(100);
  const since = performance.now();
  const durations = [];
  const keep = (entries) => {
    for (const e of entries) if (e.startTime >= since) durations.push(e.duration);
  };
  const observer = new PerformanceObserver((list) => keep(list.getEntries()));
  observer.observe({ type: 'longtask' });
  return {
    async stop() {
      // Long task entries are delivered after the task: give them a moment.
      await nextTask(200);
      keep(observer.takeRecords());
      observer.disconnect();
      return { count: durations.length, longestMs: durations.length ? Math.max(...durations) : 0, totalMs: durations.reduce((a, b) => a + b, 0) };
    },
  };
}

/** Runs `step(k)` for k = 0..n-1, each in its own task (events arriving one by one). */
function eachInOwnTask(n, step) {
  return new Promise((done, fail) => {
    const channel = new MessageChannel();
    let k = 0;
    channel.port1.onmessage = () => {
      try {
        step(k);
      } catch (err) {
        channel.port1.close();
        fail(err);
        return;
      }
      if (++k < n) channel.port2.postMessage(0);
      else {
        channel.port1.close();
        done();
      }
    };
    channel.port2.postMessage(0);
  });
}

/**
 * The bare engine with the workload artifact and `history` events, then a
 * burst of `burst` events, each tracked in its own task. Returns the per-event
 * figures, the long tasks of the burst, the wasm heap and the snapshot.
 */
window.benchIngest = async ({ segments, journeys, history, burst }) => {
  const { createEngine } = await importRekindle();
  let clock = eventTime(0);
  const engine = await createEngine({ now: () => clock, deviceId: DEVICE_ID, artifact: buildArtifact({ segments, journeys, historyEvents: history }) });
  check(engine.setAttributes(NESTED_PROFILE), 'setAttributes');
  const fillStart = performance.now();
  for (let i = 0; i < history; ++i) {
    clock = eventTime(i);
    check(engine.track(buildEvent(i)), `event ${i}`);
    if (i % 200 === 199) drain(engine);
  }
  drain(engine);
  const fillMs = performance.now() - fillStart;

  const events = [];
  for (let k = 0; k < burst; ++k) events.push(buildEvent(history + k));
  const latency = new Float64Array(burst);
  let effects = 0;
  const longTasks = await observeLongTasks();
  const burstStart = performance.now();
  await eachInOwnTask(burst, (k) => {
    if (k % 200 === 0 && k > 0) drain(engine);
    clock = eventTime(history + k);
    const t = performance.now();
    const result = engine.track(events[k]);
    latency[k] = performance.now() - t;
    effects += check(result, `burst event ${k}`).effects.length;
  });
  const wallMs = performance.now() - burstStart;
  const tasks = await longTasks.stop();
  const lat = [...latency];
  const busyMs = lat.reduce((a, b) => a + b, 0);
  drain(engine);

  const heapBytes = memories.at(-1).buffer.byteLength;
  const t = performance.now();
  const snapshot = engine.snapshot();
  const snapshotMs = performance.now() - t;
  const heapAfterSnapshotBytes = memories.at(-1).buffer.byteLength;
  const out = {
    segments, journeys, history, burst,
    crossOriginIsolated: self.crossOriginIsolated,
    fillMs,
    eventsPerSecond: burst / (busyMs / 1000),
    wallEventsPerSecond: burst / (wallMs / 1000),
    medianUs: quantile(lat, 0.5) * 1000,
    p99Us: quantile(lat, 0.99) * 1000,
    maxUs: Math.max(...lat) * 1000,
    effects,
    longTasks: tasks,
    heapBytes,
    heapAfterSnapshotBytes,
    snapshotBytes: new TextEncoder().encode(snapshot).length,
    snapshotMs,
    stats: engine.stats(),
  };
  engine.destroy();
  return out;
};

/** Stores `snapshot` as the page runtime's saved state (IndexedDB `rekindle:<deviceId>`). */
async function seed(snapshot, name = 'rekindle') {
  const { openStore } = await import(new URL('../../web/page/storage.js', location.href).href);
  const store = await openStore({ name: `${name}:${DEVICE_ID}` });
  // The record the page runtime writes after each turn (web/page/rekindle.js save()).
  await store.putAll([['snapshot', { version: 1, snapshot, savedAt: Date.now(), displays: [], dropped: 0 }], ['version', 1]]);
  store.close();
}

/** Seeds the page runtime's storage with the snapshot served at `url`. */
window.benchSeed = async (url) => {
  const snapshot = await (await fetch(url)).text();
  await seed(snapshot);
  return snapshot.length;
};

/**
 * The page runtime (createRekindle) restored from a `history`-event snapshot,
 * then `count` events tracked one by one, each awaited (its own turn: the
 * engine, then a journal entry written to IndexedDB; the whole state once per 100 turns). Returns per-event figures
 * and the long tasks.
 */
window.benchRuntimeIngest = async ({ segments, journeys, history, count }) => {
  const { createEngine, createRekindle } = await importRekindle();
  let clock = eventTime(0);
  const artifact = buildArtifact({ segments, journeys, historyEvents: history });
  const engine = await createEngine({ now: () => clock, deviceId: DEVICE_ID, artifact });
  check(engine.setAttributes(NESTED_PROFILE), 'setAttributes');
  for (let i = 0; i < history; ++i) {
    clock = eventTime(i);
    check(engine.track(buildEvent(i)), `event ${i}`);
    if (i % 200 === 199) drain(engine);
  }
  drain(engine);
  await seed(engine.snapshot(), 'bench-runtime');
  engine.destroy();

  const problems = [];
  const rk = await createRekindle({
    artifact, now: () => clock, deviceId: DEVICE_ID, name: 'bench-runtime', render: false, autoTrack: false,
    onError: (err) => problems.push(err.message),
  });
  const latency = [];
  const longTasks = await observeLongTasks();
  for (let k = 0; k < count; ++k) {
    const { eventType, ...fields } = buildEvent(history + k);
    clock = eventTime(history + k);
    const t = performance.now();
    check(await rk.track(eventType, fields), `runtime event ${k}`);
    latency.push(performance.now() - t);
    await nextTask();
  }
  const tasks = await longTasks.stop();
  await rk.destroy();
  if (problems.length > 0) throw new Error(`page runtime: ${problems.join('; ')}`);
  return {
    history, count,
    medianMs: quantile(latency, 0.5),
    p99Ms: quantile(latency, 0.99),
    maxMs: Math.max(...latency),
    longTasks: tasks,
  };
};

document.body.dataset.ready = '1';
