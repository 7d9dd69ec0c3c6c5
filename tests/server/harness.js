// Real parts for the server tests: a server on 127.0.0.1 over a real SQLite
// file, a real SMTP server that keeps what it receives, a real HTTP SMS
// webhook. Only time is fake: the server's clock is a variable the test moves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { Writable } from 'node:stream';
import { SMTPServer } from 'smtp-server';
import { createServer } from '../../server/app.js';

export const ADMIN = 'test-admin-token-0123456789';
export const KEY = 'site-key-1';
export const ARTIFACT = new URL('../../examples/abandoned-cart.json', import.meta.url).pathname;
export const T0 = Date.parse('2026-12-04T10:00:00.000Z');
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** An SMTP server on 127.0.0.1 that keeps every message; `failNext(n)` refuses the next n with a 451. */
export async function startSmtpSink() {
  const messages = [];
  let failures = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, session, callback) {
      if (failures > 0) {
        failures -= 1;
        const err = new Error('mailbox temporarily unavailable');
        err.responseCode = 451;
        return callback(err);
      }
      return callback();
    },
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.server.address().port,
    messages,
    failNext(n) { failures = n; },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** An HTTP endpoint standing in for an SMS provider; `status` is what it answers. */
export async function startSmsWebhook() {
  const calls = [];
  const hook = { calls, status: 200 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      calls.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(hook.status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook.url = `http://127.0.0.1:${server.address().port}/sms`;
  hook.close = () => new Promise((resolve) => server.close(resolve));
  return hook;
}

/**
 * A server over a fresh SQLite file in a temp folder, listening on 127.0.0.1,
 * with a clock the test moves (`t.clock.set(ms)`, `t.clock.advance(ms)`),
 * and what it logged in `logs`.
 */
export async function startServer({ smtp = null, sms = null, overrides = {}, sites } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'rekindle-server-'));
  let now = T0;
  const clock = { now: () => now, set(t) { now = t; }, advance(ms) { now += ms; } };
  const config = {
    database: join(dir, 'rekindle.db'),
    adminToken: ADMIN,
    // The pages of these tests link identities as a trusted page would; tests/server/profiles.test.js
    // covers a site that requires proofs.
    sites: sites ?? [{ id: 'shop', writeKeys: [KEY], origins: ['https://shop.example'], artifact: ARTIFACT, trustPageIdentities: true }],
    scheduler: { enabled: false, batch: 100 },
    delivery: {
      smtp: smtp ? { host: '127.0.0.1', port: smtp.port, from: 'Shop <shop@example.com>', timeoutMs: 5000 } : null,
      sms: sms ? { webhookUrl: sms.url, timeoutMs: 5000 } : null,
      maxAttempts: 3,
      backoff: { baseMs: 60_000, maxMs: 600_000 },
      siteUrl: 'https://shop.example',
    },
    ...overrides,
  };
  // What the server logs (warnings and errors, one per line), for tests to read.
  const logs = [];
  const logStream = new Writable({ write(chunk, encoding, done) { logs.push(chunk.toString().trimEnd()); done(); } });
  const server = await createServer({ configOverrides: config, clock, logStream });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${server.app.server.address().port}`;
  return {
    ...server,
    base,
    dir,
    clock,
    logs,
    async close() {
      await server.app.close();
      rmSync(dir, { recursive: true, force: true });
    },
    /** Moves the clock in steps (each a scheduler round), as a running server would. */
    async runUntil(t, step = 10 * MINUTE) {
      while (now < t) {
        now = Math.min(t, now + step);
        await server.scheduler.tick();
      }
    },
  };
}

/** POST /v1/collect with the write key; returns {status, body, headers}. */
export async function collect(base, body, { key = KEY, origin, contentType = 'application/json', raw } = {}) {
  const headers = { 'content-type': contentType };
  if (key !== null) headers['x-rekindle-key'] = key;
  if (origin) headers.origin = origin;
  const res = await fetch(`${base}/v1/collect`, { method: 'POST', headers, body: raw ?? JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

export function admin(base, path, init = {}) {
  return fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, ...(init.headers ?? {}) } });
}

let counter = 0;
/** An event record as the page sends it. */
export function eventRecord(type, at, fields = {}) {
  counter += 1;
  const id = `evt-${counter}-${at}`;
  return { id, kind: 'event', at, purpose: 'analytics', body: { _id: id, eventType: type, timestamp: new Date(at).toISOString(), ...fields } };
}

export const addToCart = (at) => eventRecord('commerce.productListAdds', at, { productListItems: [{ SKU: 'sku-1', name: 'Trail shoe', quantity: 1, priceTotal: 89 }] });
export const purchase = (at) => eventRecord('commerce.purchases', at, { productListItems: [{ SKU: 'sku-1', quantity: 1, priceTotal: 89 }] });

/** A fragment record as the page's setConsent / setAttributes / identify send it. */
export function fragmentRecord(deviceId, at, { consent = {}, attributes = {}, identities = {} } = {}) {
  counter += 1;
  const fields = {};
  for (const [p, v] of Object.entries(consent)) fields[`consent.${p}`] = { value: v, ts: at, origin: `device:${deviceId}` };
  for (const [k, v] of Object.entries(attributes)) fields[`attributes.${k}`] = { value: v, ts: at, origin: `device:${deviceId}` };
  const body = { profileId: deviceId, fields };
  if (Object.keys(identities).length > 0) body.identities = { device: [deviceId], ...identities };
  return { id: `frag-${counter}-${at}`, kind: 'fragment', at, purpose: '', body };
}

export function batch(deviceId, records, at = T0) {
  return { deviceId, sentAt: new Date(at).toISOString(), records };
}
