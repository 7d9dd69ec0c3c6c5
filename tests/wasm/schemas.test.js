// The published JSON Schemas accept every conformance case and every valid
// artifact in them, and the shipped examples validate too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConformanceCases, createValidators } from '../conformance/check-schemas.mjs';

test('every conformance case and its artifact match the published schemas', () => {
  const result = checkConformanceCases();
  const problems = result.problems ?? result;
  assert.deepEqual(problems, [], JSON.stringify(problems, null, 2));
});

test('the artifact schema refuses what the engine refuses at the JSON level', () => {
  const v = createValidators();
  const validate = v.artifact ?? v.validateArtifact;
  assert.equal(typeof validate, 'function');
  assert.equal(validate({ version: '1', segments: [{ id: 'a', rule: { path: 'profile.x', op: 'like', value: 1 } }] }), false);
  assert.equal(validate({ version: '1', segments: [{ id: 'a', rule: { count: { event: { type: 'x.y' }, within: '7 days' }, op: 'gte', value: 3 } }] }), false);
  assert.equal(validate({ version: '1', segments: [{ id: 'a', rule: { count: { event: { type: 'x.y' }, within: '7d' }, op: 'gte', value: 3 } }] }), true);
  // A zero duration: refused in rules, as the engine refuses it; allowed as futureTolerance, as the engine allows it.
  assert.equal(validate({ version: '1', segments: [{ id: 'a', rule: { count: { event: { type: 'x.y' }, within: '0m' }, op: 'gte', value: 3 } }] }), false);
  assert.equal(validate({ version: '1', segments: [{ id: 'a', rule: { since: { event: { type: 'x.y' } }, op: 'gte', value: '0d' } }] }), false);
  assert.equal(validate({ version: '1', limits: { futureTolerance: '0m' } }), true);
});

// The schema may refuse a timestamp the engine takes, never the reverse: an
// event the schema (and so the server's intake) accepts but the engine refuses
// would be answered "accepted" and then lost.
test('every timestamp the event schema accepts, the engine accepts', async () => {
  const { createEngine } = await import('rekindle');
  const { event } = createValidators();
  const rk = await createEngine({ now: () => Date.parse('2026-12-31T10:30:00Z') });
  const candidates = [
    '2026-12-31T10:00:00Z', '2026-12-31t10:00:00z', '2026-12-31 10:00:00Z', '2026-12-31T10:00:00.5Z',
    '2026-12-31T10:00:00.123456789Z', '2026-12-31T10:00:00.1234567891Z', '2026-12-31T10:00:00,5Z',
    '2026-12-31T11:00:00+01:00', '2026-12-31T11:00:00+0100', '2026-12-31T11:00:00+01',
    '2026-12-30T23:59:60Z', '2026-12-31T10:00:00-00:00', '2026-02-30T10:00:00Z', '2026-12-31T24:00:00Z',
    '2026-12-31T10:00Z', '2026-12-31T10:00:00', '+2026-12-31T10:00:00Z',
  ];
  let accepted = 0;
  candidates.forEach((timestamp, i) => {
    const e = { _id: `t-${i}`, eventType: 'x.y', timestamp };
    if (!event(e)) return;
    accepted++;
    const r = rk.track(e);
    assert.equal(r.ok, true, `${timestamp}: the schema accepts it, the engine says ${JSON.stringify(r.errors)}`);
  });
  assert.ok(accepted >= 8, `only ${accepted} of the forms were accepted by the schema`);
  // The forms the engine refuses are refused by the schema too.
  for (const t of ['2026-12-30T23:59:60Z', '2026-12-31T10:00:00.1234567891Z', '2026-12-31T11:00:00+01']) {
    assert.equal(event({ _id: 'x', eventType: 'x.y', timestamp: t }), false, t);
  }
  rk.destroy();
});
