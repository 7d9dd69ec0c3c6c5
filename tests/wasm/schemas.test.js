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
