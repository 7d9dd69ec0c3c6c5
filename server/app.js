// The reference server's HTTP application (docs/http-api.md): collection,
// the artifact, profile fragments and identities, the bulk import, audience
// export and reporting, plus the npm module's files. The demo store, the
// mailbox and the dashboard are plugins (server/demo, server/dashboard).
// `createServer` builds everything without listening, so tests can start it
// on any port with a clock of their own.
import Fastify from 'fastify';
import fastifyStatic from '@fastify/static';
import rateLimit from '@fastify/rate-limit';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './config.js';
import { SqliteStore } from './store/sqlite.js';
import { Ingest, unreadableTime } from './ingest.js';
import { Runner } from './runner.js';
import { pageMayLink, refusal } from './identity-proof.js';
import { Dispatcher } from './dispatcher.js';
import { Messages } from './messages.js';
import { Scheduler } from './scheduler.js';
import { csvCell, journeyReport, reportCsv } from './reports.js';
import { check } from './schemas.js';
import { canonicalJson, publicFragment } from './fragment.js';
import { MAX_JSON_DEPTH, deeperThan } from './json-depth.js';
import { describeSyntaxError } from './json-syntax.js';
import { createEngine } from '../web/node.js';

const webDir = fileURLToPath(new URL('../web/', import.meta.url));
const systemClock = { now: () => Date.now() };

const CORS_HEADERS = {
  'access-control-allow-credentials': 'true',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'Content-Type, X-Rekindle-Key, If-None-Match',
  'access-control-expose-headers': 'ETag, Retry-After',
  'access-control-max-age': '600',
};

/** An error answered as `{error}` with a status; never echoes a request's raw text. */
class HttpError extends Error {
  constructor(status, message, extra = {}) {
    super(message);
    this.statusCode = status;
    this.extra = extra;
  }
}

function sameSecret(given, expected) {
  const a = createHash('sha256').update(String(given)).digest();
  const b = createHash('sha256').update(String(expected)).digest();
  return timingSafeEqual(a, b);
}

const etagOf = (text) => `"${createHash('sha256').update(text).digest('hex').slice(0, 16)}"`;

/**
 * Builds the server. Options: `config` (from loadConfig), or `configOverrides`;
 * `clock` ({now()}) for tests; `logger` for fastify; without one, warnings and
 * errors are written as lines to `logStream` (stderr).
 */
export async function createServer({ config, configOverrides = {}, clock = systemClock, logger = false, logStream = process.stderr, plugins = [] } = {}) {
  config ??= loadConfig({ overrides: configOverrides }).config;
  const store = new SqliteStore(config.database);
  // Without a fastify logger, what an operator must hear of (a stored event the
  // engine refuses, a delivery retried, a failure) still reaches stderr.
  const line = (level) => (fields, message) => logStream.write(`rekindle server: ${level}: ${message} ${JSON.stringify(fields)}\n`);
  const log = { info() {}, warn: line('warn'), error: line('error') };
  const app = Fastify({ logger, bodyLimit: config.limits.bodyBytes, trustProxy: config.trustProxy });
  const appLog = logger ? app.log : log;
  const ingest = new Ingest({ store, clock, log: appLog, sites: config.sites });
  const runner = new Runner({ store, ingest, clock, log: appLog });
  const messages = config.messages ? Messages.fromFile(config.messages) : new Messages({});
  const dispatcher = new Dispatcher({ store, clock, config: config.delivery, messages, log: appLog });
  const scheduler = new Scheduler({ runner, dispatcher, config: config.scheduler, log: appLog });
  const validator = await createEngine();

  const sitesByKey = new Map();
  for (const site of config.sites) for (const key of site.writeKeys) sitesByKey.set(key, site);
  const keyless = config.sites.every((s) => s.writeKeys.length === 0);
  const siteById = new Map(config.sites.map((s) => [s.id, s]));
  const allowsOrigin = (site, origin) => site.origins.includes('*') || site.origins.includes(origin);

  // Artifacts named in the configuration seed a site that has none yet.
  for (const site of config.sites) {
    if (!site.artifact || store.getArtifact(site.id)) continue;
    const text = readFileSync(site.artifact, 'utf8');
    const problem = putArtifact(site.id, text);
    if (problem) throw new Error(`the artifact ${site.artifact} for site ${site.id} is invalid:\n${problem.errors.map((e) => `  ${e.path}: ${e.reason}`).join('\n')}`);
  }

  function putArtifact(siteId, text) {
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { errors: [{ path: '$', reason: `is not valid JSON (${describeSyntaxError(text)})` }] };
    }
    const result = validator.loadArtifact(text);
    if (!result.ok) return { errors: result.errors };
    // A template this server cannot render would dead-letter every message of its step.
    const missing = messages.missingTemplates(parsed);
    if (missing.length > 0) return { errors: missing };
    const etag = etagOf(text);
    store.putArtifact(siteId, String(parsed.version), etag, text, clock.now());
    return null;
  }

  // ---- content types, errors, CORS -------------------------------------------

  // JSON bodies, and the pagehide beacon's text/plain (a CORS simple request)
  // parsed the same way: nesting past MAX_JSON_DEPTH is refused before
  // parsing, "__proto__" keys (and "constructor" holding "prototype") by name.
  const secureJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string' }, (req, body, done) => {
    const at = deeperThan(body);
    if (at >= 0) return done(new HttpError(400, `the body nests deeper than ${MAX_JSON_DEPTH} levels (at position ${at})`));
    secureJson(req, body, (err, value) => {
      if (!err || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return done(err, value);
      try {
        JSON.parse(body);
      } catch {
        return done(new HttpError(400, `the body is not valid JSON (${describeSyntaxError(body)})`));
      }
      done(new HttpError(400, 'the body has a "__proto__" key, or a "constructor" key holding "prototype": refused'));
    });
  });

  app.setErrorHandler((err, request, reply) => {
    let status = err.statusCode ?? 500;
    let message = err.message;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = `the body is over this server's limit of ${request.routeOptions?.bodyLimit ?? config.limits.bodyBytes} bytes`;
    else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') message = 'unsupported content type: send application/json (or text/plain holding JSON)';
    else if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') message = 'the body is empty';
    // Every JSON body is parsed above, which names the place; this is a safety net without the text at hand.
    else if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') message = 'the body is not valid JSON';
    else if (status >= 500) {
      appLog.error({ err: err.message, url: request.url }, 'request failed');
      message = 'the server failed; retry later';
    }
    if (status === 429) {
      message = 'rate limited: too many requests for this site from this address; retry after the Retry-After delay';
    }
    reply.code(status).send({ error: message, ...(err.extra ?? {}) });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no such endpoint: ${request.method} ${new URL(request.url, 'http://x').pathname}` }));

  // CORS for the page's endpoints: the allowed origin is echoed, never "*",
  // with credentials allowed (sendBeacon always sends in credentials mode).
  const publicPath = (url) => url.startsWith('/v1/') && !url.startsWith('/v1/admin');
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (!origin || !publicPath(request.url)) return;
    const allowed = config.sites.some((s) => allowsOrigin(s, origin));
    if (allowed) {
      reply.header('access-control-allow-origin', origin);
      reply.header('vary', 'Origin');
      for (const [k, v] of Object.entries(CORS_HEADERS)) reply.header(k, v);
    }
    if (request.method === 'OPTIONS') {
      reply.code(allowed ? 204 : 403).send(allowed ? undefined : { error: 'origin not allowed' });
      return reply;
    }
  });
  app.options('/v1/*', async (request, reply) => reply.code(204).send());

  // ---- auth --------------------------------------------------------------

  function siteOf(request) {
    const site = keyless ? config.sites[0] : siteOfKey(request.headers['x-rekindle-key'] ?? request.query?.key);
    // Checked for a keyless site too: a text/plain POST needs no preflight, so only this stops another origin's page.
    const origin = request.headers.origin;
    if (origin && !allowsOrigin(site, origin)) throw new HttpError(403, 'this origin is not allowed for the site');
    return site;
  }

  function siteOfKey(key) {
    if (typeof key !== 'string' || key === '') throw new HttpError(401, 'a write key is required (X-Rekindle-Key header or ?key=)');
    const site = sitesByKey.get(key);
    if (!site) throw new HttpError(401, 'unknown write key');
    return site;
  }

  function requireAdmin(request) {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (!match || !sameSecret(match[1], config.adminToken)) throw new HttpError(401, 'an admin token is required (Authorization: Bearer …)');
    // A browser on another origin never reaches admin endpoints, token or not.
    const origin = request.headers.origin;
    if (origin && origin !== `${request.protocol}://${request.headers.host}`) throw new HttpError(403, 'admin endpoints do not answer other origins');
    const siteId = request.query?.site ?? config.sites[0].id;
    const site = siteById.get(siteId);
    if (!site) throw new HttpError(404, 'no such site');
    return site;
  }

  // Rate-limit buckets are per route, site and client address. The site comes from a known key
  // only: keyed by the key as sent, a client making up a key per request would never be limited.
  function rateLimited(route, { max, windowMs }) {
    return {
      max,
      timeWindow: windowMs,
      keyGenerator: (request) => {
        const key = request.headers['x-rekindle-key'] ?? request.query?.key;
        const site = keyless ? config.sites[0].id : (typeof key === 'string' ? sitesByKey.get(key)?.id : undefined) ?? '(no known key)';
        return `${route}|${site}|${request.ip}`;
      },
    };
  }
  const profileLimit = { max: config.rateLimit.profiles?.max ?? 300, windowMs: config.rateLimit.profiles?.windowMs ?? config.rateLimit.windowMs };

  // ---- static ------------------------------------------------------------

  await app.register(rateLimit, { global: false });
  await app.register(fastifyStatic, {
    root: webDir,
    prefix: '/rekindle/',
    setHeaders(reply, path) {
      if (path.endsWith('.mjs')) reply.header('content-type', 'text/javascript; charset=utf-8');
      if (path.endsWith('.wasm')) reply.header('content-type', 'application/wasm');
    },
  });
  app.get('/healthz', async () => ({ ok: true }));

  // ---- collection --------------------------------------------------------

  app.post('/v1/collect', { config: { rateLimit: rateLimited('collect', config.rateLimit) } }, async (request) => {
    const site = siteOf(request);
    const body = request.body;
    // Before the schema (whose maximum would answer 400): too many records is a 413, which the page splits.
    if (Array.isArray(body?.records) && body.records.length > config.limits.records) {
      throw new HttpError(413, `the batch has ${body.records.length} records, over this server's limit of ${config.limits.records}`);
    }
    const errors = check('collect', body);
    if (errors.length > 0) throw new HttpError(400, `the batch is invalid: ${errors.map((e) => `${e.path}: ${e.reason}`).join('; ')}`);
    const badSentAt = unreadableTime(body.sentAt, '$.sentAt');
    if (badSentAt) throw new HttpError(400, `the batch is invalid: ${badSentAt}`);
    const result = ingest.collect(site.id, body.deviceId, body.records, 'page', { sentAt: body.sentAt });
    return { ...result, events: ingest.endingEventsFor(site.id, body.deviceId) };
  });

  // ---- artifact ----------------------------------------------------------

  app.get('/v1/artifact', async (request, reply) => {
    const site = siteOf(request);
    const artifact = store.getArtifact(site.id);
    if (!artifact) throw new HttpError(404, 'the site has no artifact yet');
    reply.header('etag', artifact.etag).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === artifact.etag) return reply.code(304).send();
    return reply.type('application/json').send(artifact.body);
  });

  app.put('/v1/artifact', { bodyLimit: config.limits.bodyBytes }, async (request, reply) => {
    const site = requireAdmin(request);
    const text = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
    const problem = putArtifact(site.id, text);
    if (problem) return reply.code(422).send(problem);
    const artifact = store.getArtifact(site.id);
    return { version: artifact.version, etag: artifact.etag };
  });

  // ---- profiles ----------------------------------------------------------

  app.get('/v1/profiles/:deviceId/fragment', { config: { rateLimit: rateLimited('fragment', profileLimit) } }, async (request, reply) => {
    const site = siteOf(request);
    const profileId = store.profileIfKnown(site.id, request.params.deviceId);
    if (!profileId) throw new HttpError(404, 'unknown device');
    const body = JSON.stringify(publicFragment(store.getProfile(site.id, profileId).fragment, profileId));
    const etag = etagOf(body);
    reply.header('etag', etag).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('application/json').send(body);
  });

  app.post('/v1/profiles/:deviceId/fragment', { config: { rateLimit: rateLimited('fragment', profileLimit) } }, async (request, reply) => {
    const site = siteOf(request);
    const { deviceId } = request.params;
    if (deviceId.length > 128) throw new HttpError(400, 'the device id is over 128 characters');
    const errors = check('fragment', request.body);
    if (errors.length > 0) return reply.code(400).send({ errors });
    // The same path as a fragment record through /v1/collect: stored as a record of the profile (so
    // the server's engine sees its consent and attributes), merged, identities linked only where
    // the site trusts its pages. Named by its content: the same fragment posted twice is stored once.
    const digest = createHash('sha256').update(canonicalJson({ deviceId, fragment: request.body })).digest('hex').slice(0, 32);
    const record = { id: `fragment:${digest}`, kind: 'fragment', at: clock.now(), purpose: '', body: request.body };
    const result = ingest.collect(site.id, deviceId, [record], 'page');
    if (result.rejected.length > 0) return reply.code(400).send({ errors: result.rejected.map((r) => ({ path: '$', reason: r.reason })) });
    const profileId = store.profileIfKnown(site.id, deviceId);
    return publicFragment(store.getProfile(site.id, profileId).fragment, profileId);
  });

  app.post('/v1/identify', { config: { rateLimit: rateLimited('identify', profileLimit) } }, async (request, reply) => {
    const site = siteOf(request);
    const errors = check('identify', request.body);
    if (errors.length > 0) return reply.code(400).send({ errors });
    const { deviceId, namespace, id, proof } = request.body;
    if (!pageMayLink(site, namespace, id, proof)) {
      return reply.code(403).send({ errors: [{ path: '$.proof', reason: refusal(site, proof) }] });
    }
    return { profileId: ingest.identify(site.id, deviceId, namespace, id) };
  });

  // ---- admin: import, export, reports, dispatches --------------------------

  // NDJSON is the import's alone: registered in its own scope, so every other route answers it 415.
  await app.register(async (scope) => {
    scope.addContentTypeParser(['application/x-ndjson', 'application/jsonl'], { parseAs: 'string', bodyLimit: config.limits.importBytes },
      (req, body, done) => done(null, body));
    scope.post('/v1/admin/import', { bodyLimit: config.limits.importBytes }, importLines);
  });

  async function importLines(request) {
    const site = requireAdmin(request);
    if (typeof request.body !== 'string') throw new HttpError(415, 'send the import as application/x-ndjson (one JSON object per line)');
    const result = { lines: 0, accepted: 0, duplicates: 0, rejected: [] };
    const lines = request.body.split('\n');
    lines.forEach((raw, i) => {
      const text = raw.trim();
      if (text === '' || text.startsWith('#')) return;
      result.lines += 1;
      const lineNumber = Number(request.query?.firstLine ?? 1) + i;
      if (deeperThan(text) >= 0) {
        result.rejected.push({ line: lineNumber, reason: `nests deeper than ${MAX_JSON_DEPTH} levels` });
        return;
      }
      let line;
      try {
        line = JSON.parse(text);
      } catch {
        result.rejected.push({ line: lineNumber, reason: `not valid JSON (${describeSyntaxError(text)})` });
        return;
      }
      const outcome = ingest.importLine(site.id, line);
      if (outcome.status === 'accepted') result.accepted += 1;
      else if (outcome.status === 'duplicate') result.duplicates += 1;
      else result.rejected.push({ line: lineNumber, reason: outcome.reason });
    });
    return result;
  }

  app.get('/v1/admin/segments/:segment/members', async (request, reply) => {
    const site = requireAdmin(request);
    const format = request.query.format ?? 'jsonl';
    if (!['jsonl', 'csv'].includes(format)) throw new HttpError(400, 'format must be jsonl or csv');
    const limit = Math.min(10_000, Math.max(1, Number(request.query.limit ?? 1000) || 1000));
    const after = typeof request.query.after === 'string' ? request.query.after : '';
    const rows = store.segmentMembers(site.id, request.params.segment, after, limit);
    const withIds = rows.map((r) => ({ profileId: r.profileId, since: new Date(r.since).toISOString(), identities: store.identitiesOf(site.id, r.profileId) }));
    if (rows.length === limit) {
      const next = new URLSearchParams({ ...request.query, after: rows[rows.length - 1].profileId });
      reply.header('link', `</v1/admin/segments/${encodeURIComponent(request.params.segment)}/members?${next}>; rel="next"`);
    }
    if (format === 'csv') {
      const lines = ['profile_id,since,emails,phones'];
      for (const r of withIds) lines.push([r.profileId, r.since, (r.identities.email ?? []).join(' '), (r.identities.phone ?? []).join(' ')].map(csvCell).join(','));
      return reply.type('text/csv; charset=utf-8').send(`${lines.join('\n')}\n`);
    }
    return reply.type('application/x-ndjson').send(withIds.map((r) => JSON.stringify(r)).join('\n') + (withIds.length ? '\n' : ''));
  });

  app.get('/v1/admin/reports/journeys', async (request, reply) => {
    const site = requireAdmin(request);
    const now = clock.now();
    const from = request.query.from ? Date.parse(request.query.from) : 0;
    const to = request.query.to ? Date.parse(request.query.to) : now + 1;
    if (!Number.isFinite(from) || !Number.isFinite(to)) throw new HttpError(400, 'from and to must be ISO 8601 times');
    const report = journeyReport(store, site.id, { from, to, bucketMs: Number(request.query.bucketMs) || undefined });
    if (request.query.format === 'csv') return reply.type('text/csv; charset=utf-8').send(reportCsv(report));
    return report;
  });

  app.get('/v1/admin/dispatches', async (request) => {
    const site = requireAdmin(request);
    const status = request.query.status;
    return store.dispatchesOf(site.id)
      .filter((d) => !status || d.status === status)
      .map((d) => ({ ...d, deliveries: store.deliveriesOf(site.id, d.id) }));
  });

  const server = { app, store, ingest, runner, dispatcher, scheduler, config, clock };
  // Extra routes (the demo store, mailbox and dashboard) mount here with the whole server at hand.
  for (const plugin of plugins) await plugin(app, server);

  app.addHook('onClose', async () => {
    await scheduler.stop();
    await runner.close();
    dispatcher.close();
    validator.destroy();
    store.close();
  });

  return server;
}


/** Kept for the demo-only callers that want just the fastify instance. */
export async function buildServer(options = {}) {
  const { app } = await createServer(options);
  return app;
}
