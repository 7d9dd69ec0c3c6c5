// The reference server's HTTP application. At this stage it serves the demo
// page and the npm module's files; later it grows the collection endpoint,
// the artifact, profiles and the dashboard.
import Fastify from 'fastify';
import fastifyStatic from '@fastify/static';
import { fileURLToPath } from 'node:url';

const webDir = fileURLToPath(new URL('../web/', import.meta.url));

/** Builds the server without listening, so tests can start it on any port. */
export async function buildServer({ logger = false } = {}) {
  const app = Fastify({ logger });

  // The module's files (index.js, runtime.js, dist/rekindle.mjs, dist/rekindle.wasm).
  // `.mjs` must be text/javascript and `.wasm` application/wasm for streaming compile.
  await app.register(fastifyStatic, {
    root: webDir,
    prefix: '/rekindle/',
    setHeaders(reply, path) {
      if (path.endsWith('.mjs')) reply.header('content-type', 'text/javascript; charset=utf-8');
      if (path.endsWith('.wasm')) reply.header('content-type', 'application/wasm');
    },
  });

  app.get('/', (request, reply) => reply.sendFile('demo/index.html', webDir));
  app.get('/healthz', async () => ({ ok: true }));
  return app;
}
