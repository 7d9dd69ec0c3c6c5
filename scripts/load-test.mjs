// The collection endpoint under load (issue 9, docs/reliability.md): starts
// the reference server as a child process on 127.0.0.1 over a fresh SQLite
// file (the scheduler running, the example artifact loaded: a server as
// deployed), and drives POST /v1/collect with autocannon: batches of
// --batch event records (default 20) from --devices devices, --duplicates of
// them (default 20 %) resends of ids sent before. Reports requests/s,
// records/s and latency percentiles, then checks the database: every id a
// 2xx answer acknowledged is stored, once, and no id was accepted twice.
//
//   node scripts/load-test.mjs [--duration 30] [--connections 10] [--batch 20]
//                              [--duplicates 0.2] [--devices 1000] [--no-scheduler] [--json]
//
// --no-scheduler measures collection alone, without the server's own engine
// runs (the profiles the batches mark dirty) competing for the CPU.
//
// Exits 1 when a check fails. tests/server/load.test.js runs it for 5 s.
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SITE = 'load';
const KEY = 'load-key';
const DEFAULTS = { duration: 30, connections: 10, batch: 20, duplicates: 0.2, devices: 1000 };

/** Starts `node server/index.js CONFIG` and resolves with its base URL once it listens. */
async function startServer(dir, { scheduler }) {
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({
    host: '127.0.0.1',
    port: 0,
    database: join(dir, 'rekindle.db'),
    adminToken: randomBytes(18).toString('base64url'),
    sites: [{ id: SITE, writeKeys: [KEY], origins: ['*'], artifact: join(root, 'examples/abandoned-cart.json') }],
    // Far above the load: the run measures the server, not the limiter.
    rateLimit: { max: 100_000_000, windowMs: 60_000 },
    scheduler: { enabled: scheduler },
  }));
  const child = spawn(process.execPath, [join(root, 'server/index.js'), configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  const base = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /Rekindle server: (http:\/\/[^/\s]+)\//.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening:\n${stderr}`)));
  });
  return {
    base,
    stderr: () => stderr,
    // A graceful stop waits for the scheduler's round in progress (up to
    // 1000 profile runs after a heavy load): give it 5 s, then kill.
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    }),
  };
}

/** Event records as the page sends them; `pool` keeps what was sent, for resends. */
function recordFactory() {
  let t = Date.now();
  return () => {
    t += 1;
    const id = randomUUID();
    return {
      id, kind: 'event', at: t, purpose: 'analytics',
      body: {
        _id: id, eventType: 'commerce.productViews', timestamp: new Date(t).toISOString(),
        productListItems: [{ SKU: `sku-${t % 500}`, name: 'Trail shoe', quantity: 1, priceTotal: 89 }],
        web: { webPageDetails: { URL: 'https://shop.example/product/trail-shoe' } },
      },
    };
  };
}

/**
 * Runs the load test; resolves with the figures and the checks. Options as
 * the command line's (durations in seconds).
 */
export async function runLoadTest(options = {}) {
  const o = { ...DEFAULTS, scheduler: true, ...options };
  const dir = mkdtempSync(join(tmpdir(), 'rekindle-load-'));
  const server = await startServer(dir, o);
  const makeRecord = recordFactory();
  const sent = [];                  // every record put in a batch, for resends
  const acceptedTwice = new Set();  // ids a 2xx answer accepted more than once: stored twice
  const accepted = new Set();
  const acknowledged = new Set();   // accepted or duplicate in a 2xx answer
  let recordsAnswered = 0;
  let duplicatesAnswered = 0;
  let resendsSent = 0;
  const devices = Array.from({ length: o.devices }, (_, i) => `load-device-${i}`);

  try {
    const result = await autocannon({
      url: server.base,
      duration: o.duration,
      connections: o.connections,
      requests: [{
        method: 'POST',
        path: '/v1/collect',
        headers: { 'content-type': 'application/json', 'x-rekindle-key': KEY },
        setupRequest(request, context) {
          const records = [];
          for (let i = 0; i < o.batch; i++) {
            if (sent.length > 0 && Math.random() < o.duplicates) {
              records.push(sent[Math.floor(Math.random() * sent.length)]);
              resendsSent += 1;
            } else {
              const r = makeRecord();
              sent.push(r);
              records.push(r);
            }
          }
          const deviceId = devices[Math.floor(Math.random() * devices.length)];
          context.ids = records.map((r) => r.id);
          return { ...request, body: JSON.stringify({ deviceId, sentAt: new Date().toISOString(), records }) };
        },
        onResponse(status, body) {
          if (status < 200 || status >= 300) return;
          const answer = JSON.parse(body);
          for (const id of answer.accepted) {
            if (accepted.has(id)) acceptedTwice.add(id);
            accepted.add(id);
            acknowledged.add(id);
          }
          for (const id of answer.duplicates) acknowledged.add(id);
          recordsAnswered += answer.accepted.length + answer.duplicates.length + answer.rejected.length;
          duplicatesAnswered += answer.duplicates.length;
        },
      }],
    });

    // Read while the server runs (SQLite in WAL mode): every answered batch is committed.
    const db = new Database(join(dir, 'rekindle.db'), { readonly: true });
    const rows = db.prepare('SELECT id FROM records WHERE site = ?').pluck().all(SITE);  // one read: one snapshot
    const storedRows = rows.length;
    const stored = new Set(rows);
    db.close();
    const missing = [...acknowledged].filter((id) => !stored.has(id));

    const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v.count]));
    const ok = statuses['200'] ?? 0;
    const figures = {
      duration: result.duration,
      connections: o.connections,
      batch: o.batch,
      duplicateShare: o.duplicates,
      devices: o.devices,
      scheduler: o.scheduler,
      requests: ok + (result.non2xx ?? 0),
      requestsPerSecond: Math.round(ok / result.duration),
      recordsPerSecond: Math.round(recordsAnswered / result.duration),
      newRecordsPerSecond: Math.round(accepted.size / result.duration),
      latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
      statuses,
      errors: result.errors,
      timeouts: result.timeouts,
      recordsAnswered,
      resendsSent,
      duplicatesAnswered,
      stored: stored.size,
    };
    const checks = {
      // Every 2xx, or a 429 from the rate limiter; nothing else.
      onlyOkOr429: Object.keys(statuses).every((s) => s === '200' || s === '429') && result.errors === 0,
      eachIdStoredOnce: storedRows === stored.size && acceptedTwice.size === 0,
      acknowledgedAreStored: missing.length === 0,
      // Stored but never answered: only the requests in flight when the run stopped.
      storedAreAccepted: stored.size >= accepted.size && stored.size - accepted.size <= o.connections * o.batch,
      duplicatesSeen: duplicatesAnswered > 0,
    };
    return { figures, checks, ok: Object.values(checks).every(Boolean), serverErrors: server.stderr() };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseArgs(argv) {
  const options = {};
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') { json = true; continue; }
    if (arg === '--no-scheduler') { options.scheduler = false; continue; }
    const name = arg.replace(/^--/, '');
    if (!(name in DEFAULTS) || i + 1 >= argv.length) throw new Error(`unknown or incomplete option ${arg}; see the header of scripts/load-test.mjs`);
    const value = Number(argv[++i]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${arg} needs a positive number`);
    options[name] = value;
  }
  return { options, json };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { options, json } = parseArgs(process.argv.slice(2));
  const run = await runLoadTest(options);
  const f = run.figures;
  if (json) {
    console.log(JSON.stringify(run, null, 2));
  } else {
    console.log(`POST /v1/collect for ${f.duration} s, ${f.connections} connections, batches of ${f.batch} with ${Math.round(f.duplicateShare * 100)} % resent ids, `
      + `${f.devices} devices, scheduler ${f.scheduler ? 'running' : 'off'}`);
    console.log(`  ${f.requestsPerSecond} requests/s, ${f.recordsPerSecond} records/s (${f.newRecordsPerSecond} new records/s)`);
    console.log(`  latency p50 ${f.latencyMs.p50} ms, p90 ${f.latencyMs.p90} ms, p99 ${f.latencyMs.p99} ms, max ${f.latencyMs.max} ms`);
    console.log(`  answers ${JSON.stringify(f.statuses)}, connection errors ${f.errors}, timeouts ${f.timeouts}`);
    console.log(`  ${f.recordsAnswered} records answered (${f.resendsSent} resends sent), ${f.duplicatesAnswered} answered as duplicates, ${f.stored} stored`);
    for (const [name, passed] of Object.entries(run.checks)) console.log(`  ${passed ? 'ok  ' : 'FAIL'} ${name}`);
  }
  if (run.serverErrors.trim()) console.error(`server stderr:\n${run.serverErrors}`);
  process.exit(run.ok ? 0 : 1);
}
