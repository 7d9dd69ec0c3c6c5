// The size budget of what a page downloads (issue 8): the files listed in
// bench/size-budget.json, each gzipped at level 9 on its own, must add up to
// no more than its `gzipBytes`, a ceiling lowered as the size work lands; the
// distance to `targetBytes` (70 KB) is reported with every run. A deterministic figure, checked on every
// `npm test`; bench/RESULTS.md compares it with the SDKs sites load instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const budget = JSON.parse(readFileSync(`${root}bench/size-budget.json`, 'utf8'));

const kb = (bytes) => `${bytes.toLocaleString('en-US')} B (${(bytes / 1024).toFixed(1)} KB)`;

test('the budget file names the files and a byte budget', () => {
  assert.ok(Number.isSafeInteger(budget.gzipBytes) && budget.gzipBytes > 0, 'gzipBytes is a positive integer');
  assert.ok(Number.isSafeInteger(budget.targetBytes) && budget.targetBytes <= budget.gzipBytes, 'targetBytes is at most the ceiling');
  assert.ok(Array.isArray(budget.files) && budget.files.length > 0, 'files is a non-empty list');
});

test('what a page downloads stays under the gzip budget', (t) => {
  const missing = budget.files.filter((f) => !existsSync(`${root}${f}`));
  assert.deepEqual(missing, [], `missing build output (run \`bash scripts/build.sh module\`): ${missing.join(', ')}`);
  const sizes = budget.files.map((file) => {
    const bytes = readFileSync(`${root}${file}`);
    return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
  const total = sizes.reduce((a, s) => a + s.gzip, 0);
  const biggest = sizes.reduce((a, s) => (s.gzip > a.gzip ? s : a));
  const lines = sizes.map((s) => `  ${s.file}: ${kb(s.gzip)} gzip -9 (${kb(s.raw)} raw)`).join('\n');
  t.diagnostic(`page download ${kb(total)} gzip -9; ceiling ${kb(budget.gzipBytes)}; target ${kb(budget.targetBytes)} `
    + `(${total <= budget.targetBytes ? 'met' : `over by ${kb(total - budget.targetBytes)}`})`);
  assert.ok(
    total <= budget.gzipBytes,
    `Rekindle's page download is ${kb(total)} gzip -9, over the budget of ${kb(budget.gzipBytes)} `
      + `(bench/size-budget.json) by ${kb(total - budget.gzipBytes)}; the biggest file is ${biggest.file} `
      + `at ${kb(biggest.gzip)}.\n${lines}`,
  );
});
