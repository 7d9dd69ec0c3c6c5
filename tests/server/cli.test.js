// `rekindle serve` and `rekindle import`, run as a user runs them: a real
// server process over a SQLite file, fed a JSONL file over HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const BIN = fileURLToPath(new URL('../../bin/rekindle.js', import.meta.url));
const TOKEN = 'cli-admin-token-0123456789';
let dir;
let child;
let base;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rekindle-cli-serve-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    port: 0, database: 'db/rekindle.db', adminToken: TOKEN,
    sites: [{ id: 'shop', writeKeys: ['k'], origins: ['*'], artifact: fileURLToPath(new URL('../../examples/abandoned-cart.json', import.meta.url)) }],
  }));
  child = spawn(process.execPath, [BIN, 'serve', '--config', join(dir, 'config.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
  base = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /Rekindle server: (http:\/\/[^/\s]+)\//.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
});
after(() => {
  child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

function run(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
}

test('rekindle serve answers health checks and serves the artifact from its configuration', async () => {
  assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { ok: true });
  const artifact = await fetch(`${base}/v1/artifact?key=k`);
  assert.equal(artifact.status, 200);
});

test('rekindle serve mounts the campaign dashboard, which reads the reports with the admin token; no demo store', async () => {
  const page = await fetch(`${base}/dashboard`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy'), /default-src 'none'/);
  assert.match(await page.text(), /dashboard\.js/);
  assert.equal((await fetch(`${base}/dashboard/dashboard.js`)).status, 200);
  assert.equal((await fetch(`${base}/dashboard/vendor/uPlot.iife.min.js`)).status, 200);
  // The token is never handed out: the operator pastes it, and the page sends it.
  assert.equal((await fetch(`${base}/dashboard/api/token`)).status, 404);
  assert.equal((await fetch(`${base}/v1/admin/reports/journeys`)).status, 401);
  const report = await fetch(`${base}/v1/admin/reports/journeys`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(report.status, 200);
  assert.ok(Array.isArray((await report.json()).journeys));
  assert.equal((await fetch(`${base}/`)).status, 404, 'no demo store at /');
});

test('rekindle import sends a JSONL file, reports the counts, and names rejected lines', async () => {
  const file = join(dir, 'crm.jsonl');
  const lines = [];
  for (let i = 0; i < 1200; i += 1) {
    lines.push(JSON.stringify({ type: 'fragment', identity: { namespace: 'crm', id: `C-${i}` }, fragment: { fields: { 'attributes.tier': { value: 'gold', ts: 1, origin: 'import:crm' } } } }));
  }
  lines.push('{"type": "event", "deviceId": "d"}');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const first = await run(['import', file, '--server', base], { REKINDLE_ADMIN_TOKEN: TOKEN });
  assert.equal(first.code, 1, first.stderr);
  assert.match(first.stdout, /1201 lines, 1200 accepted, 0 duplicates, 1 rejected/);
  assert.match(first.stderr, /crm\.jsonl:1201: .*event/);
  const again = await run(['import', file, '--server', base, '--token', TOKEN, '--json']);
  assert.deepEqual(JSON.parse(again.stdout).duplicates, 1200, 'importing the same file twice stores nothing new');
  const db = new Database(join(dir, 'db/rekindle.db'), { readonly: true });
  // Each person known only from the import has a profile of their own, under an id the server made up.
  assert.equal(db.prepare("SELECT COUNT(DISTINCT profile_id) AS n FROM identities WHERE namespace = 'crm'").get().n, 1200);
  assert.equal(db.prepare("SELECT COUNT(*) AS n FROM profiles WHERE profile_id LIKE 'profile:%'").get().n, 1200);
  db.close();
  const wrong = await run(['import', file, '--server', base, '--token', 'wrong-token-xxxxxxxx']);
  assert.equal(wrong.code, 1);
  assert.equal(wrong.stderr, `rekindle: the server refused lines 1-1201: 401 an admin token is required (Authorization: Bearer …) (no line was imported)\n`);
  // Port 1: nothing listens there.
  const unreachable = await run(['import', file, '--server', 'http://127.0.0.1:1', '--token', TOKEN]);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /^rekindle: cannot reach http:\/\/127\.0\.0\.1:1: .* \(no line was imported\)\n$/);
  const noToken = await run(['import', file, '--server', base], { REKINDLE_ADMIN_TOKEN: '' });
  assert.equal(noToken.code, 2);
  // A server address without its scheme is a usage error, not a stack trace.
  for (const server of ['127.0.0.1:18555', 'localhost:18555', 'not-a-url']) {
    const bad = await run(['import', file, '--server', server, '--token', TOKEN]);
    assert.equal(bad.code, 2, server);
    assert.match(bad.stderr, new RegExp(`--server "${server}" is not an http\\(s\\) URL`), bad.stderr);
    assert.doesNotMatch(bad.stderr, /internal error|\n\s+at .*:\d+:\d+\)?\n/);
  }
});

test('rekindle import keeps the path of a server behind a prefix (https://shop.example/rekindle)', async () => {
  // A reverse proxy that serves Rekindle under /rekindle: it answers for what it receives.
  const seen = [];
  const proxy = createServer((req, res) => {
    seen.push(req.url);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ lines: 1, accepted: 1, duplicates: 0, rejected: [] }));
    });
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    const file = join(dir, 'one.jsonl');
    writeFileSync(file, '{"type": "fragment"}\n');
    for (const prefix of ['/rekindle', '/rekindle/']) {
      const r = await run(['import', file, '--server', `http://127.0.0.1:${proxy.address().port}${prefix}`, '--token', TOKEN]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.deepEqual(seen.map((u) => u.split('?')[0]), ['/rekindle/v1/admin/import', '/rekindle/v1/admin/import']);
  } finally {
    proxy.close();
  }
});

// Without a `database` setting the file sits under the directory the server is
// started from: inside an installed package, an npm install would replace it.
test('the default database is under the directory the server is started from', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'rekindle-cli-cwd-'));
  try {
    const config = fileURLToPath(new URL('../../server/config.js', import.meta.url));
    const out = await new Promise((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(config)}).then((m) => console.log(m.DEFAULTS.database))`],
        { cwd }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout.trim())));
    });
    assert.equal(out, join(cwd, 'data/rekindle.db'));
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
