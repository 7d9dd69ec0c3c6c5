// A short run of the load test (scripts/load-test.mjs; the 30 s run and its
// figures are in docs/reliability.md): the reference server as a child
// process on 127.0.0.1, collection batches of 20 records with 20 % resent ids
// for 5 s. Every answer is a 200 (or a 429, which the raised rate limit
// should not give), every acknowledged id is stored once, and resends come
// back as duplicates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLoadTest } from '../../scripts/load-test.mjs';

test('collection under load for 5 s: only 2xx, each id stored once, resends answered as duplicates', async (t) => {
  const run = await runLoadTest({ duration: 5, connections: 10, batch: 20, duplicates: 0.2, devices: 200 });
  const f = run.figures;
  t.diagnostic(`${f.requestsPerSecond} requests/s, ${f.recordsPerSecond} records/s, p99 ${f.latencyMs.p99} ms, answers ${JSON.stringify(f.statuses)}`);
  assert.deepEqual(run.checks, {
    onlyOkOr429: true, eachIdStoredOnce: true, acknowledgedAreStored: true, storedAreAccepted: true, duplicatesSeen: true,
  }, JSON.stringify(f));
  assert.ok(f.requests > 0 && f.stored > 0, 'the server took load');
  assert.equal(f.errors, 0, 'no connection error');
  assert.equal(f.timeouts, 0, 'no timeout');
  assert.doesNotMatch(run.serverErrors, /request failed/, 'the server logged no failure');
});
