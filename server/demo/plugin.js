// The demo's routes, mounted on the reference server by `npm start`
// (server/demo/start.js): the store's pages (one page, web/demo/index.html,
// for every route, `/` included), the mailbox page and its API, and the
// webhook that stands in for an SMS provider. `rekindle serve` mounts none of
// them: a production server is no shop.
import { readFile } from 'node:fs/promises';
import { timingSafeEqual, createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { localOnly } from '../dashboard/local.js';

const webDir = fileURLToPath(new URL('../../web/', import.meta.url));
const publicDir = fileURLToPath(new URL('./public/', import.meta.url));

// The mailbox shows email HTML in a sandboxed frame; no script runs, and no
// image or font is fetched from elsewhere (a tracking pixel stays unfetched).
const MAILBOX_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
  + "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE_TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

function sameSecret(given, expected) {
  const a = createHash('sha256').update(String(given ?? '')).digest();
  const b = createHash('sha256').update(String(expected)).digest();
  return timingSafeEqual(a, b);
}

/** Serves one file of server/demo/public at `url`. */
function file(app, url, name, headers = {}) {
  const type = PAGE_TYPES[name.slice(name.lastIndexOf('.'))];
  app.get(url, async (request, reply) => {
    const body = await readFile(`${publicDir}${name}`);
    reply.type(type).header('cache-control', 'no-cache');
    for (const [k, v] of Object.entries(headers)) reply.header(k, v);
    return reply.send(body);
  });
}

/**
 * The demo plugin. `mailbox` (server/demo/mailbox.js) receives the emails over
 * SMTP and the SMS through `POST /demo/sms`, which needs `webhookSecret` in
 * the `x-demo-webhook-secret` header (the dispatcher sends it: delivery.sms.headers).
 */
export function demoPlugin({ mailbox, webhookSecret }) {
  return async function demo(app) {
    // ---- the store --------------------------------------------------------
    const store = (request, reply) => reply.header('cache-control', 'no-cache').sendFile('demo/index.html', webDir);
    app.get('/product/:id', (request, reply) => {
      if (!/^[a-z0-9-]{1,64}$/.test(request.params.id)) return reply.code(404).send({ error: 'no such product' });
      return store(request, reply);
    });
    for (const path of ['/', '/cart', '/checkout', '/thanks']) app.get(path, store);

    // ---- the mailbox ------------------------------------------------------
    file(app, '/mailbox', 'mailbox.html', { 'content-security-policy': MAILBOX_CSP, 'x-frame-options': 'DENY' });
    file(app, '/mailbox/mailbox.js', 'mailbox.js');
    file(app, '/mailbox/mailbox.css', 'mailbox.css');

    app.get('/mailbox/api/messages', { preHandler: localOnly }, async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return { smtp: { host: '127.0.0.1', port: mailbox.port }, messages: mailbox.list() };
    });
    app.delete('/mailbox/api/messages', { preHandler: localOnly }, async (request, reply) => {
      mailbox.clear();
      return reply.code(204).send();
    });

    // The SMS provider's stand-in: what the dispatcher posts (server/dispatcher.js) lands in the mailbox.
    app.post('/demo/sms', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      if (!sameSecret(request.headers['x-demo-webhook-secret'], webhookSecret)) {
        return reply.code(401).send({ error: 'this webhook takes only the demo server\'s own SMS' });
      }
      const body = request.body;
      if (body === null || typeof body !== 'object' || typeof body.to !== 'string' || typeof body.text !== 'string') {
        return reply.code(400).send({ error: 'expected {to, text, dispatch, template, journey}' });
      }
      mailbox.addSms(body);
      return { ok: true };
    });

    app.addHook('onClose', async () => mailbox.close());
  };
}
