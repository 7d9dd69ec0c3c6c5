// The server's engine runs in this worker thread, so that a large profile's
// run (restoring megabytes of snapshot, replaying thousands of records) never
// holds up collection on the main thread. A job is pure computation over what
// the main thread read from the database; the main thread stores the result.
import { parentPort } from 'node:worker_threads';
import { createEngine } from '../web/node.js';
import { attributesOf, consentOf } from './fragment.js';

// What the server stores from its own engine's outbox. Events and fragments
// are the server's inputs, already stored; the rest are the engine's outputs.
const STORED_KINDS = new Set(['dispatch', 'dispatch.cancel', 'journey', 'conversion', 'suppressed', 'transition']);

let virtualNow = 0;
const now = () => virtualNow;
let spare = null; // one engine kept warm and reused by restore, so a run instantiates no module

/**
 * One run: `{profileId, snapshot, artifact, loadArtifact, records, now}` ->
 * `{refused}` when the snapshot does not restore (the caller replays from the
 * first record), else `{snapshot, nextDeadline, segments, outputs, events,
 * rejected, loadErrors}`.
 */
async function run(job) {
  let engine;
  if (job.snapshot) {
    spare ??= await createEngine({ now });
    const restored = spare.restore(job.snapshot);
    if (!restored.ok) return { refused: true, errors: restored.errors };
    engine = spare;
  } else {
    engine = await createEngine({ deviceId: job.profileId, now });
  }
  try {
    // Records are fed at their own times; the engine never moves its clock back,
    // so a time before a restored engine's clock counts as that clock.
    virtualNow = 0;
    let loadErrors = null;
    if (job.loadArtifact) {
      const loaded = engine.loadArtifact(job.artifact);
      if (!loaded.ok) loadErrors = loaded.errors;
    }
    let events = 0;
    const rejected = [];
    for (const record of inTimeOrder(job.records)) {
      virtualNow = Math.min(job.now, Math.max(virtualNow, timeOf(record)));
      if (record.kind === 'event' || record.kind === 'feedback') {
        const result = engine.trackJson(JSON.stringify(record.body));
        events += 1;
        if (!result.ok) rejected.push({ id: record.id, errors: result.errors });
      } else if (record.kind === 'fragment') {
        const consent = consentOf(record.body);
        if (Object.keys(consent).length > 0) engine.setConsent(consent);
        const attributes = attributesOf(record.body);
        if (Object.keys(attributes).length > 0) engine.setAttributes(attributes);
      }
    }
    virtualNow = job.now;
    engine.advance(job.now);
    const outputs = [];
    for (;;) {
      const batch = engine.pending(500, 4 * 1024 * 1024);
      if (batch.length === 0) break;
      for (const r of batch) if (STORED_KINDS.has(r.kind)) outputs.push(r);
      if (engine.ack(batch.map((r) => r.id)) === 0) break;
    }
    return {
      snapshot: engine.snapshot(), nextDeadline: engine.nextDeadline(), segments: engine.segments(),
      outputs, events, rejected, loadErrors,
    };
  } finally {
    if (engine !== spare) engine.destroy();
  }
}

// A record's own time: an event's timestamp, anything else its `at`.
function timeOf(record) {
  if (record.kind === 'event' || record.kind === 'feedback') {
    const t = Date.parse(record.body.timestamp);
    if (Number.isFinite(t)) return t;
  }
  return record.at;
}

// Stable sort by time, so records made in one order but received in another run as they happened.
function inTimeOrder(records) {
  return records.map((r, i) => [timeOf(r), i, r]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
}

parentPort.on('message', async (job) => {
  try {
    parentPort.postMessage({ id: job.id, result: await run(job) });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: err?.stack ?? String(err) });
  }
});
