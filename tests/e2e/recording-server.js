// A real HTTP server for the browser tests (node:http, no framework), on
// 127.0.0.1 and a free port. It implements the collection endpoint of
// docs/http-api.md with exactly-once storage in memory, CORS, and the artifact
// endpoint with ETags; it records every request it receives and can be told
// to misbehave (fail, hang, go down) so tests prove what the page does then.
// It also serves static files: the repo's web/ folder at /rekindle/ and the
// test pages at /pages/.
import http from 'node:http';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEFAULT_MOUNTS = {
  '/rekindle/': fileURLToPath(new URL('../../web/', import.meta.url)),
  '/pages/': fileURLToPath(new URL('./pages/', import.meta.url)),
};

const CONTENT_TYPES = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.d.ts': 'text/plain; charset=utf-8',
};

const KINDS = new Set(['event', 'feedback', 'fragment', 'dispatch', 'dispatch.cancel', 'journey',
  'transition', 'conversion', 'suppressed']);

/** Why a record cannot be stored, or null when it is well formed. */
function recordProblem(r) {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return 'a record must be an object';
  if (typeof r.id !== 'string' || r.id.length === 0 || r.id.length > 256) return 'id must be a string of 1 to 256 characters';
  if (typeof r.kind !== 'string' || !KINDS.has(r.kind)) return `kind must be one of ${[...KINDS].join(', ')}`;
  if (typeof r.at !== 'number' || !Number.isFinite(r.at)) return 'at must be a number (milliseconds since the epoch)';
  if (typeof r.purpose !== 'string') return 'purpose must be a string ("" for none)';
  if (r.body === null || typeof r.body !== 'object' || Array.isArray(r.body)) return 'body must be an object';
  return null;
}

/**
 * Starts a recording server. Options:
 * - `mounts`: URL prefix -> directory of static files (default: /rekindle/ and /pages/)
 * - `writeKey`: when set, collection needs it (X-Rekindle-Key header or `key` query parameter)
 * - `maxRecords`, `maxBytes`: the batch limits above which collection answers 413 (500, 1 MiB)
 * - `allowOrigins`: origins allowed by CORS (default: any)
 */
export async function startRecordingServer(options = {}) {
  const mounts = options.mounts ?? DEFAULT_MOUNTS;
  let limits = { maxRecords: options.maxRecords ?? 500, maxBytes: options.maxBytes ?? 1024 * 1024 };
  const allowOrigins = options.allowOrigins ?? null;
  const writeKey = options.writeKey ?? null;

  const store = new Map();         // id -> { record, deviceId, receivedAt }
  const received = new Map();      // id -> how many times it arrived (stored or duplicate)
  const requests = [];
  const faults = [];               // queue of { type: 'fail' | 'hang', status, headers, body, store }
  const rejections = new Map();    // id -> { status, reason }: named in a 400 / rejected in a 200
  const poisoned = new Map();      // id -> status: any batch holding it gets that status, no names
  const hanging = new Set();       // responses never answered
  const sockets = new Set();
  const waiters = [];              // { predicate, resolve }
  let artifact = null;             // { text, etag }
  let port = 0;

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`recording server error: ${err.message}`);
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  function cors(req, res) {
    const origin = req.headers.origin;
    if (!origin) return;
    if (allowOrigins && !allowOrigins.includes(origin)) return;
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    // sendBeacon always uses credentials mode "include": a JSON-typed beacon's
    // preflight needs the echoed origin (never "*") and Allow-Credentials.
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Expose-Headers', 'ETag, Retry-After');
  }

  function json(res, status, value, headers = {}) {
    const text = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(text);
  }

  function readBody(req) {
    return new Promise((resolve, reject) => {
      const chunks = [];
      let size = 0;
      req.on('data', (c) => {
        size += c.length;
        // Keep reading past the limit (so the 413 reaches the client) but not storing.
        if (size <= 8 * 1024 * 1024) chunks.push(c);
      });
      req.on('end', () => resolve({ text: Buffer.concat(chunks).toString('utf8'), size }));
      req.on('error', reject);
    });
  }

  function notify() {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].predicate()) {
        waiters[i].resolve();
        waiters.splice(i, 1);
      }
    }
  }

  async function handle(req, res) {
    const url = new URL(req.url, `http://${req.headers.host ?? '127.0.0.1'}`);
    const entry = { method: req.method, url: req.url, path: url.pathname, headers: { ...req.headers }, body: null, at: Date.now() };
    requests.push(entry);
    res.on('finish', () => { entry.status = res.statusCode; });
    cors(req, res);

    if (req.method === 'OPTIONS') {
      // Preflight: POST/GET with JSON and the write key.
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Rekindle-Key, If-None-Match');
      res.setHeader('Access-Control-Max-Age', '600');
      res.writeHead(204);
      res.end();
      notify();
      return;
    }

    if (url.pathname.endsWith('/v1/collect')) {
      if (req.method !== 'POST') return json(res, 405, { error: 'use POST' }, { allow: 'POST, OPTIONS' });
      const { text, size } = await readBody(req);
      entry.body = text;
      entry.size = size;
      try { entry.json = JSON.parse(text); } catch { entry.json = undefined; }
      const result = collect(req, res, url, text, size, entry.json);
      notify();
      return result;
    }

    if (url.pathname.endsWith('/v1/artifact') && (req.method === 'GET' || req.method === 'HEAD')) {
      notify();
      if (!artifact) return json(res, 404, { error: 'no artifact' });
      const tags = (req.headers['if-none-match'] ?? '').split(',').map((t) => t.trim().replace(/^W\//, ''));
      if (tags.includes(artifact.etag) || tags.includes('*')) {
        res.writeHead(304, { etag: artifact.etag, 'cache-control': 'no-cache' });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', etag: artifact.etag, 'cache-control': 'no-cache' });
      return res.end(req.method === 'HEAD' ? undefined : artifact.text);
    }

    if (req.method === 'GET' || req.method === 'HEAD') {
      notify();
      return serveStatic(req, res, url.pathname);
    }
    notify();
    return json(res, 404, { error: 'not found' });
  }

  function collect(req, res, url, text, size, body) {
    const fault = faults.shift();
    if (fault?.type === 'hang') {
      // The connection stays open and is never answered; optionally the batch
      // is stored first (a response lost on the way back).
      if (fault.store) storeBatch(body);
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (fault?.type === 'fail') {
      res.writeHead(fault.status, { 'content-type': 'application/json; charset=utf-8', ...fault.headers });
      return res.end(fault.body ?? JSON.stringify({ error: `scripted failure ${fault.status}` }));
    }

    if (writeKey !== null) {
      const key = req.headers['x-rekindle-key'] ?? url.searchParams.get('key');
      if (key !== writeKey) return json(res, 401, { error: 'a valid X-Rekindle-Key is needed' });
    }
    if (size > limits.maxBytes) return json(res, 413, { error: `the batch is over ${limits.maxBytes} bytes` });
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json' && type !== 'text/plain') {
      return json(res, 415, { error: 'content-type must be application/json (or text/plain from sendBeacon)' });
    }
    if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
      return json(res, 400, { error: 'the body must be a JSON object' });
    }
    if (typeof body.deviceId !== 'string' || body.deviceId.length === 0) return json(res, 400, { error: 'deviceId must be a non-empty string' });
    if (!Array.isArray(body.records)) return json(res, 400, { error: 'records must be an array' });
    if (body.records.length > limits.maxRecords) return json(res, 413, { error: `the batch has more than ${limits.maxRecords} records` });

    const ids = body.records.map((r) => (r && typeof r.id === 'string' ? r.id : null));
    for (const id of ids) {
      if (id !== null && poisoned.has(id)) return json(res, poisoned.get(id), { error: 'scripted failure: the batch holds a poisoned record' });
    }
    const named400 = ids.filter((id) => id !== null && rejections.get(id)?.status === 400);
    if (named400.length > 0) {
      return json(res, 400, { error: 'some records are invalid; nothing was stored',
        rejected: named400.map((id) => ({ id, reason: rejections.get(id).reason })) });
    }
    return json(res, 200, storeBatch(body));
  }

  function storeBatch(body) {
    const out = { accepted: [], duplicates: [], rejected: [] };
    if (!body || !Array.isArray(body.records)) return out;
    for (const [i, r] of body.records.entries()) {
      const problem = recordProblem(r);
      if (problem) {
        out.rejected.push({ id: typeof r?.id === 'string' ? r.id : `#${i}`, reason: problem });
        continue;
      }
      received.set(r.id, (received.get(r.id) ?? 0) + 1);
      const scripted = rejections.get(r.id);
      if (scripted && scripted.status !== 400) {
        out.rejected.push({ id: r.id, reason: scripted.reason });
      } else if (store.has(r.id)) {
        out.duplicates.push(r.id);
      } else {
        store.set(r.id, { record: r, deviceId: body.deviceId, receivedAt: Date.now() });
        out.accepted.push(r.id);
      }
    }
    return out;
  }

  async function serveStatic(req, res, pathname) {
    for (const [prefix, dir] of Object.entries(mounts)) {
      if (!pathname.startsWith(prefix)) continue;
      let rel;
      try { rel = decodeURIComponent(pathname.slice(prefix.length)); } catch { break; }
      const root = normalize(dir.endsWith(sep) ? dir : dir + sep);
      const file = normalize(join(root, rel));
      if (!file.startsWith(root)) break;
      try {
        const info = await stat(file);
        if (!info.isFile()) break;
        const data = await readFile(file);
        const type = CONTENT_TYPES[file.endsWith('.d.ts') ? '.d.ts' : extname(file)] ?? 'application/octet-stream';
        res.writeHead(200, { 'content-type': type, 'content-length': data.length, 'cache-control': 'no-store' });
        return res.end(req.method === 'HEAD' ? undefined : data);
      } catch {
        break;
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found');
  }

  function listen() {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        port = server.address().port;
        resolve();
      });
    });
  }

  function dropConnections() {
    for (const res of hanging) res.destroy();
    hanging.clear();
    for (const s of sockets) s.destroy();
    sockets.clear();
  }

  await listen();

  return {
    get port() { return port; },
    get origin() { return `http://127.0.0.1:${port}`; },
    /** Every request received: { method, url, path, headers, body, json, size, at, status (once answered) }. */
    requests,
    /** The collect requests (POST /v1/collect) received. */
    collects() { return requests.filter((r) => r.method === 'POST' && r.path.endsWith('/v1/collect')); },
    /** The stored records, in the order they were first stored. */
    stored() { return [...store.values()].map((s) => s.record); },
    /** How many times each id arrived (stored or as a duplicate). */
    receivedCounts() { return new Map(received); },
    /** Answers the next `n` collect requests with `status` (and headers, e.g. { 'retry-after': '1' }). */
    fail(n, status, headers = {}, body = undefined) {
      for (let i = 0; i < n; i++) faults.push({ type: 'fail', status, headers, body });
    },
    /** The next `n` collect requests are received and never answered ({ store: true }: stored first). */
    hang(n, { store = false } = {}) {
      for (let i = 0; i < n; i++) faults.push({ type: 'hang', store });
    },
    /** A batch holding `id` is answered 400 naming it (status 400), or the others are stored and it is rejected (status 200). */
    reject(id, reason = 'scripted rejection', status = 400) { rejections.set(id, { status, reason }); },
    /** Any batch holding `id` gets `status` without naming records. */
    poison(id, status = 422) { poisoned.set(id, status); },
    /** Changes the 413 limits. */
    setLimits(next) { limits = { ...limits, ...next }; },
    /** Serves `obj` at /v1/artifact with a new ETag. */
    setArtifact(obj) {
      const text = JSON.stringify(obj);
      artifact = { text, etag: `"${createHash('sha256').update(text).digest('hex').slice(0, 32)}"` };
      return artifact.etag;
    },
    /** Closes the listening socket and every open connection: the port refuses connections. */
    async down() {
      await new Promise((resolve) => {
        server.close(() => resolve());
        dropConnections();
      });
    },
    /** Listens again on the same port. */
    async up() { await listen(); },
    /** Resolves when `predicate()` holds after a request (or at once), rejects after `timeoutMs`. */
    waitFor(predicate, timeoutMs = 5000) {
      if (predicate()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = { predicate, resolve: () => { clearTimeout(timer); resolve(); } };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`recording server: condition not met within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    async close() {
      for (const w of waiters.splice(0)) w.resolve();
      await new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        dropConnections();
      });
    },
  };
}
