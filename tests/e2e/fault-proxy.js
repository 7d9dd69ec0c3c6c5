// A fault-injecting HTTP proxy in front of the reference server, shared by
// the fault matrix (faults.test.js) and the multi-tab sending tests
// (tabs.test.js). It logs every collection POST with the record ids it
// carried, whether it was a beacon, and what the server answered.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

const CORS = (req) => (req.headers.origin ? {
  'access-control-allow-origin': req.headers.origin,
  'access-control-allow-credentials': 'true',
  'access-control-expose-headers': 'ETag, Retry-After',
  vary: 'Origin',
} : {});

/**
 * An HTTP proxy on 127.0.0.1 in front of `upstream`. Faults apply to the
 * collection POSTs: `fail(n, status, headers)` answers the next n itself;
 * `swallow(n)` forwards the next n (the server stores them) and never answers;
 * `delayMs` holds every answer that long; `down()` stops listening and drops
 * every connection, `up()` listens again on the same port. `artifact` replaces
 * what GET /v1/artifact answers. `log` has one entry per collection POST.
 */
export async function startFaultProxy(upstream) {
  const target = new URL(upstream);
  const sockets = new Set();
  const held = new Set();
  const faults = [];
  const log = [];
  const proxy = { log, delayMs: 0, artifact: null };
  let port = 0;

  function forward(req, body) {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: target.host };
      delete headers.connection;
      const out = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });
  }

  function reply(res, { status, headers, body }) {
    const h = { ...headers };
    delete h['transfer-encoding'];
    delete h.connection;
    h['content-length'] = String(body.length);
    res.writeHead(status, h).end(body);
  }

  async function handle(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const path = new URL(req.url, 'http://x').pathname;
    if (req.method === 'GET' && path === '/v1/artifact' && proxy.artifact) {
      const { text, etag } = proxy.artifact;
      reply(res, { status: 200, headers: { ...CORS(req), 'content-type': 'application/json', etag, 'cache-control': 'no-cache' }, body: Buffer.from(text) });
      return;
    }
    if (req.method !== 'POST' || path !== '/v1/collect') {
      reply(res, await forward(req, body));
      return;
    }
    let records = [];
    try {
      records = JSON.parse(body.toString('utf8')).records.map((r) => r.id);
    } catch { /* the server says what is wrong with it */ }
    const entry = { at: Date.now(), records, beacon: /^text\/plain/.test(req.headers['content-type'] ?? ''), status: null };
    log.push(entry);
    const fault = faults.shift();
    if (fault?.type === 'fail') {
      entry.status = fault.status;
      entry.retryAfter = fault.headers?.['retry-after'] ?? null;
      reply(res, { status: fault.status, headers: { ...CORS(req), 'content-type': 'application/json', ...fault.headers }, body: Buffer.from('{"error":"injected by the fault proxy"}') });
      return;
    }
    const answer = await forward(req, body);
    entry.status = answer.status;
    entry.retryAfter = answer.headers['retry-after'] ?? null;
    if (answer.status === 200) {
      const result = JSON.parse(answer.body.toString('utf8'));
      entry.accepted = result.accepted;
      entry.duplicates = result.duplicates;
      entry.rejected = result.rejected;
    }
    if (fault?.type === 'swallow') {
      entry.swallowed = true;
      held.add(res);
      return;
    }
    if (proxy.delayMs > 0) await sleep(proxy.delayMs);
    entry.answeredAt = Date.now();
    reply(res, answer);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(502, CORS(req)).end(`proxy: ${err.message}`);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const listen = () => new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      port = server.address().port;
      resolve();
    });
  });
  await listen();

  Object.assign(proxy, {
    get origin() { return `http://127.0.0.1:${port}`; },
    fail(n, status, headers = {}) { for (let i = 0; i < n; i++) faults.push({ type: 'fail', status, headers }); },
    swallow(n) { for (let i = 0; i < n; i++) faults.push({ type: 'swallow' }); },
    async down() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of sockets) s.destroy();
      held.clear();
      await closed;
    },
    up: listen,
    /** Ids the server answered as duplicates, with how many times. */
    duplicates() {
      const n = new Map();
      for (const e of log) for (const id of e.duplicates ?? []) n.set(id, (n.get(id) ?? 0) + 1);
      return n;
    },
    async close() {
      if (server.listening) await proxy.down();
    },
  });
  return proxy;
}
