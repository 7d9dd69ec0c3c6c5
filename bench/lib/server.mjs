// A static file server on 127.0.0.1 for the Chromium measurements: the
// repository's files as a site would serve them (the .wasm as
// application/wasm, so the browser compiles it while it downloads).
// Everything is sent with `Cache-Control: no-store` (every load is a first
// visit) except under the `/cached/` prefix, which serves the same files
// cacheable for an hour (a repeat visit). `extra` maps paths to generated
// content (a snapshot, an artifact). Pages are cross-origin isolated
// (COOP + COEP), which gives performance.now() a 5 µs resolution instead of
// 100 µs: per-event latencies are tens of microseconds.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { resolve, extname, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Starts the server; resolves to `{ origin, close() }`. */
export function startServer(root, extra = new Map()) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let cache = 'no-store';
    if (path.startsWith('/cached/')) {
      path = path.slice('/cached'.length);
      cache = 'public, max-age=3600';
    }
    try {
      let body;
      let type;
      if (extra.has(path)) {
        const item = extra.get(path);
        body = item.body;
        type = item.type;
      } else {
        const file = resolve(base, `.${path}`);
        if (file !== base && !file.startsWith(base + sep)) throw Object.assign(new Error('outside the root'), { code: 'ENOENT' });
        body = await readFile(file);
        type = TYPES[extname(file)] ?? 'application/octet-stream';
      }
      res.writeHead(200, {
        'Content-Type': type,
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': cache,
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
      });
      res.end(body);
    } catch (err) {
      res.writeHead(err.code === 'ENOENT' || err.code === 'EISDIR' ? 404 : 500, { 'Content-Type': 'text/plain' });
      res.end(String(err.message));
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      ok({ origin: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(done)) });
    });
  });
}
