// The server serves the module with the content types browsers need; the
// demo store is the demo's alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer } from '../../server/app.js';
import { startDemo } from '../../server/demo/start.js';

let app;
let base;

before(async () => {
  app = await buildServer({ configOverrides: { database: ':memory:', scheduler: { enabled: false } } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${app.server.address().port}`;
});
after(() => app.close());

test('serves .mjs as JavaScript and .wasm as application/wasm', async () => {
  const mjs = await fetch(`${base}/rekindle/dist/rekindle.mjs`);
  assert.equal(mjs.status, 200);
  assert.match(mjs.headers.get('content-type'), /^text\/javascript/);
  const wasm = await fetch(`${base}/rekindle/dist/rekindle.wasm`);
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  const bytes = new Uint8Array(await wasm.arrayBuffer());
  assert.deepEqual([...bytes.slice(0, 4)], [0x00, 0x61, 0x73, 0x6d]);
});

test('the plain server serves no demo store at /, and answers health checks', async () => {
  const page = await fetch(`${base}/`);
  assert.equal(page.status, 404);
  assert.deepEqual(await page.json(), { error: 'no such endpoint: GET /' });
  assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { ok: true });
  assert.equal((await fetch(`${base}/rekindle/../package.json`)).status, 404);
});

test('the demo serves its store at / and the dashboard at /dashboard', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekindle-demo-'));
  const demo = await startDemo({ env: {}, port: 0, database: join(dir, 'demo.db'), print: () => {} });
  try {
    const page = await fetch(`${demo.base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>[^<]*Rekindle demo store<\/title>/);
    const dashboard = await fetch(`${demo.base}/dashboard`);
    assert.equal(dashboard.status, 200);
    assert.match(await dashboard.text(), /dashboard\.js/);
  } finally {
    await demo.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
