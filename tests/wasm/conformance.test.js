// The language-neutral conformance cases of tests/conformance/, run through
// the JS API in Node (the same cases run in Google Test, natively and as wasm).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createEngine } from 'rekindle';

const dir = new URL('../conformance/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

const ms = (iso) => Date.parse(iso);
const norm = (list) => list.map((t) => `${new Date(ms(t.at)).toISOString()} ${t.segment} ${t.status}`).sort();

test('there are at least 40 conformance cases', () => {
  assert.ok(files.length >= 40, `${files.length} cases`);
});

for (const file of files) {
  const c = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
  test(`conformance: ${file}`, async () => {
    let clock = 0;
    const rk = await createEngine({ deviceId: 'device-1', now: () => clock });
    try {
      const loaded = rk.loadArtifact(c.artifact);
      if (c.expectArtifactErrors) {
        assert.equal(loaded.ok, false, 'the artifact must be rejected');
        for (const want of c.expectArtifactErrors) {
          assert.ok(
            loaded.errors.some((e) => e.path === want.path && e.reason.includes(want.reasonContains ?? '')),
            `missing error ${JSON.stringify(want)}; got ${JSON.stringify(loaded.errors, null, 1)}`,
          );
        }
        if (c.exactErrorCount !== undefined) assert.equal(loaded.errors.length, c.exactErrorCount);
        return;
      }
      assert.equal(loaded.ok, true, JSON.stringify(loaded.errors));
      for (const [i, step] of c.steps.entries()) {
        let result;
        if (step.event) {
          clock = ms(step.now ?? step.event.timestamp);
          result = rk.track(step.event);
        } else if (step.advance) {
          result = rk.advance(ms(step.advance));
        } else if (step.attributes) {
          clock = ms(step.now);
          result = rk.setAttributes(step.attributes);
        }
        const want = step.expect;
        if (!want) continue;
        const where = `step ${i}`;
        if (want.rejected) {
          assert.equal(result.ok, false, `${where}: must be refused`);
          if (want.errorPath) {
            assert.ok(result.errors.some((e) => e.path === want.errorPath && e.reason.includes(want.errorContains ?? '')),
              `${where}: missing error at ${want.errorPath}: ${JSON.stringify(result.errors)}`);
          }
        } else {
          assert.equal(result.ok, true, `${where}: ${JSON.stringify(result.errors)}`);
        }
        if ('duplicate' in want) assert.equal(result.duplicate, want.duplicate, where);
        if (want.transitions) assert.deepEqual(norm(result.transitions), norm(want.transitions), where);
        if (want.members) assert.deepEqual(rk.segments().map((m) => m.segment).sort(), [...want.members].sort(), where);
        if ('nextDeadline' in want) {
          const next = rk.nextDeadline();
          assert.equal(next === null ? null : new Date(next).toISOString(),
            want.nextDeadline === null ? null : new Date(ms(want.nextDeadline)).toISOString(), where);
        }
      }
    } finally {
      rk.destroy();
    }
  });
}
