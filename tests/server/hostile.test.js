// Hostile input at every entry point of the reference server (issue 9): bodies
// over the limits refused before they are read, JSON nested deep enough to
// overflow a recursive walk, "__proto__" / "constructor.prototype" keys,
// SQL-injection strings, and calls without credentials or from other origins.
// Each answer is a clear 4xx, the server keeps serving, and nothing stored
// changes. (tests/server/collect.test.js covers the collection endpoint's own
// basics: malformed JSON, a 1 MiB record, a missing key, CORS on collect.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { startServer, collect, batch, eventRecord, addToCart, admin, KEY, ADMIN, T0 } from './harness.js';

const LIMITS = { bodyBytes: 256 * 1024, records: 500, importBytes: 512 * 1024 };
const SHOP = 'https://shop.example';
const EVIL = 'https://evil.example';
const artifactText = readFileSync(new URL('../../examples/abandoned-cart.json', import.meta.url), 'utf8');

let s;
before(async () => {
  s = await startServer({ overrides: { limits: LIMITS } });
});
after(() => s.close());

const json = { 'content-type': 'application/json' };
const ndjson = { 'content-type': 'application/x-ndjson' };
const keyed = { ...json, 'x-rekindle-key': KEY };
const bearer = { authorization: `Bearer ${ADMIN}` };

// Every entry point that takes a body: method, path, headers, the byte limit
// it applies, and a well-formed body to build hostile variants from.
const BODY_ENTRIES = [
  { name: 'POST /v1/collect', method: 'POST', path: '/v1/collect', headers: keyed, limit: LIMITS.bodyBytes },
  { name: 'POST /v1/collect (beacon, text/plain)', method: 'POST', path: `/v1/collect?key=${KEY}`, headers: { 'content-type': 'text/plain;charset=UTF-8' }, limit: LIMITS.bodyBytes },
  { name: 'POST /v1/profiles/{id}/fragment', method: 'POST', path: '/v1/profiles/dev-h/fragment', headers: keyed, limit: LIMITS.bodyBytes },
  { name: 'POST /v1/identify', method: 'POST', path: '/v1/identify', headers: keyed, limit: LIMITS.bodyBytes },
  { name: 'PUT /v1/artifact', method: 'PUT', path: '/v1/artifact', headers: { ...json, ...bearer }, limit: LIMITS.bodyBytes },
  { name: 'POST /v1/admin/import', method: 'POST', path: '/v1/admin/import', headers: { ...ndjson, ...bearer }, limit: LIMITS.importBytes },
];

function send(entry, body) {
  return fetch(`${s.base}${entry.path}`, { method: entry.method, headers: entry.headers, body });
}

/** What the server holds: record count, the artifact's etag, the tables. */
function snapshotOfStore() {
  return {
    records: s.store.countRecords('shop'),
    artifact: s.store.getArtifact('shop').etag,
    tables: s.store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name),
    profiles: s.store.db.prepare('SELECT COUNT(*) AS n FROM profiles').get().n,
    identities: s.store.db.prepare('SELECT COUNT(*) AS n FROM identities').get().n,
  };
}

async function assertServing() {
  const res = await fetch(`${s.base}/healthz`);
  assert.equal(res.status, 200, 'the server still answers');
}

/**
 * Sends only the headers of a request announcing `length` bytes (and at most
 * `sent` bytes of body), and resolves with the status the server answers
 * without waiting for the rest: a body over the limit is refused unread.
 */
function announce(entry, length, sent = 0) {
  return new Promise((resolve, reject) => {
    const url = new URL(`${s.base}${entry.path}`);
    const req = http.request({ host: url.hostname, port: url.port, method: entry.method, path: url.pathname + url.search,
      headers: { ...entry.headers, 'content-length': String(length) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      });
    });
    req.on('error', reject);
    req.setTimeout(3000, () => reject(new Error(`${entry.name}: no answer within 3 s while the body was still unsent`)));
    req.flushHeaders();
    if (sent > 0) req.write('x'.repeat(sent));
  });
}

test('bodies over the limit are refused with 413 from the announced length, before they are read', async () => {
  const before = snapshotOfStore();
  for (const entry of BODY_ENTRIES) {
    const res = await announce(entry, entry.limit + 1, 100);
    assert.equal(res.status, 413, entry.name);
    assert.equal(res.body.error, `the body is over this server's limit of ${entry.limit} bytes`, entry.name);
  }
  // Without a length (chunked), reading stops at the limit.
  for (const entry of BODY_ENTRIES) {
    const res = await fetch(`${s.base}${entry.path}`, { method: entry.method, headers: entry.headers, duplex: 'half',
      body: new Blob(['x'.repeat(entry.limit + 10)]).stream() }).catch((err) => err);
    if (res instanceof Error) continue;  // the server may close the connection mid-body
    assert.equal(res.status, 413, entry.name);
  }
  assert.deepEqual(snapshotOfStore(), before, 'nothing was stored');
  await assertServing();
});

// `n` nested objects around `inner`: {"a":{"a":…inner…}}.
const nested = (n, inner = '1') => `${'{"a":'.repeat(n)}${inner}${'}'.repeat(n)}`;

test('deeply nested JSON at every entry point: a clear 400 naming the depth, no crash, nothing stored', async () => {
  const before = snapshotOfStore();
  const deep = nested(30_000);  // well past what JSON.stringify can walk
  const bodies = {
    'POST /v1/collect': `{"deviceId":"dev-deep","sentAt":"2026-12-04T10:00:00Z","records":[{"id":"e-deep","kind":"event","at":1,"purpose":"analytics","body":{"_id":"e-deep","eventType":"commerce.productViews","timestamp":"2026-12-04T10:00:00Z","data":${deep}}}]}`,
    'POST /v1/profiles/{id}/fragment': `{"fields":{"attributes.x":{"value":${deep},"ts":1,"origin":"o"}}}`,
    'POST /v1/identify': `{"deviceId":"dev-deep","namespace":"email","id":${deep}}`,
    'PUT /v1/artifact': `{"version":"deep","segments":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}`,  // 200 KB
  };
  bodies['POST /v1/collect (beacon, text/plain)'] = bodies['POST /v1/collect'];
  for (const entry of BODY_ENTRIES.filter((e) => e.name !== 'POST /v1/admin/import')) {
    const res = await send(entry, bodies[entry.name]);
    assert.equal(res.status, 400, entry.name);
    assert.match((await res.json()).error, /^the body nests deeper than 128 levels \(at position \d+\)$/, entry.name);
  }
  // The import refuses the line and goes on with the next.
  const importLine = (id, data) => JSON.stringify({ type: 'event', deviceId: 'dev-deep', event: { _id: id, eventType: 'commerce.purchases', timestamp: '2026-12-04T10:00:00.000Z', data } });
  const res = await admin(s.base, '/v1/admin/import', { method: 'POST', headers: ndjson,
    body: `${importLine('imp-deep', {}).replace('"data":{}', `"data":${deep}`)}\n${importLine('imp-ok', {})}\n` });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { lines: 2, accepted: 1, duplicates: 0, rejected: [{ line: 1, reason: 'nests deeper than 128 levels' }] });
  const after = snapshotOfStore();
  assert.equal(after.records, before.records + 1, 'only the sound import line was stored');
  assert.equal(after.artifact, before.artifact);

  // Nesting within the engine's 32 levels for an event (the body is the first) is data
  // like any other; past them the record is rejected, not stored and then refused by the engine.
  const fine = eventRecord('commerce.productViews', T0, { data: JSON.parse(nested(31)) });
  const tooDeep = eventRecord('commerce.productViews', T0, { data: JSON.parse(nested(32)) });
  const ok = await collect(s.base, batch('dev-deep', [fine, tooDeep]));
  assert.deepEqual(ok.body.accepted, [fine.id]);
  assert.deepEqual(ok.body.rejected, [{ id: tooDeep.id, reason: '$.records[1].body: the event nests deeper than 32 levels' }]);
  await assertServing();
});

test('oversized JSON inside the limits: long strings and many items get a 4xx naming the field', async () => {
  const before = snapshotOfStore();
  const big = 'x'.repeat(40_000);
  const cases = [
    ['POST /v1/identify', JSON.stringify({ deviceId: 'dev-big', namespace: 'email', id: big }), /\$\.id/],
    ['POST /v1/identify', JSON.stringify({ deviceId: big, namespace: 'email', id: 'a@example.com' }), /\$\.deviceId/],
    ['POST /v1/profiles/{id}/fragment', JSON.stringify({ identities: { email: Array.from({ length: 2000 }, (_, i) => `a${i}@x`) } }), /identities/],
    ['POST /v1/profiles/{id}/fragment', JSON.stringify({ fields: Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`attributes.k${i}`, { value: 1, ts: 1, origin: 'o' }])) }), /fields/],
    ['POST /v1/collect', JSON.stringify({ deviceId: 'dev-big', sentAt: '2026-12-04T10:00:00Z', records: Array.from({ length: 600 }, (_, i) => ({ id: `r${i}` })) }), /records/],
  ];
  for (const [name, body, pattern] of cases) {
    const res = await send(BODY_ENTRIES.find((e) => e.name === name), body);
    assert.ok(res.status >= 400 && res.status < 500, `${name}: ${res.status}`);
    assert.match(JSON.stringify(await res.json()), pattern, name);
  }
  // An artifact over the engine's limits is listed, not applied.
  const huge = JSON.parse(artifactText);
  huge.offers[0].content.title = 'y'.repeat(20_000);
  const put = await admin(s.base, '/v1/artifact', { method: 'PUT', headers: json, body: JSON.stringify(huge) });
  assert.equal(put.status, 422);
  assert.ok((await put.json()).errors.some((e) => e.path.startsWith('$.offers[0].content.title')));
  assert.deepEqual(snapshotOfStore(), before);
  await assertServing();
});

test('"__proto__" and "constructor.prototype" keys: refused by name at every JSON entry point; nothing is polluted', async () => {
  const before = snapshotOfStore();
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
  const proto = '{"__proto__":{"polluted":"yes"}}';
  const ctor = '{"constructor":{"prototype":{"polluted":"yes"}}}';
  const record = (data) => `{"deviceId":"dev-proto","sentAt":"2026-12-04T10:00:00Z","records":[{"id":"e-proto","kind":"event","at":1,"purpose":"analytics","body":{"_id":"e-proto","eventType":"x.y","timestamp":"2026-12-04T10:00:00Z","data":${data}}}]}`;
  const bodies = (data) => ({
    'POST /v1/collect': record(data),
    'POST /v1/collect (beacon, text/plain)': record(data),
    'POST /v1/profiles/{id}/fragment': `{"fields":{"attributes.x":{"value":"v","ts":1,"origin":"o"}},"identities":${data.replace('"polluted":"yes"', '"email":["a@x"]')}}`,
    'POST /v1/identify': `{"deviceId":"dev-proto","namespace":"email","id":"a@x",${data.slice(1)}`,
    'PUT /v1/artifact': `${artifactText.trim().slice(0, -1)},"extra":${data}}`,
  });
  for (const data of [proto, ctor]) {
    for (const entry of BODY_ENTRIES.filter((e) => e.name !== 'POST /v1/admin/import')) {
      const res = await send(entry, bodies(data)[entry.name]);
      assert.equal(res.status, 400, `${entry.name} ${data}`);
      assert.equal((await res.json()).error, 'the body has a "__proto__" key, or a "constructor" key holding "prototype": refused', entry.name);
    }
  }
  // Import lines are parsed one by one: the key is data, refused by the schema or kept inert.
  const lines = [
    `{"type":"event","deviceId":"dev-proto","event":{"_id":"imp-proto","eventType":"x.y","timestamp":"2026-12-04T10:00:00Z"},"__proto__":{"polluted":"yes"}}`,
    `{"type":"fragment","deviceId":"dev-proto","fragment":{"identities":{"__proto__":["p@x"]},"fields":{"attributes.constructor.prototype.polluted":{"value":"yes","ts":1,"origin":"o"}}}}`,
  ];
  const imported = await admin(s.base, '/v1/admin/import', { method: 'POST', headers: ndjson, body: lines.join('\n') });
  assert.equal(imported.status, 200);
  const result = await imported.json();
  assert.deepEqual(result.rejected.map((r) => r.line), [1], `the line with an unknown top-level key is refused: ${JSON.stringify(result)}`);
  assert.equal(result.accepted, 1, 'the other is stored as data');
  // Query strings too.
  const query = await admin(s.base, '/v1/admin/segments/abandoned-cart/members?__proto__[polluted]=yes&constructor[prototype][polluted]=yes&format=csv');
  assert.equal(query.status, 200);

  assert.equal({}.polluted, undefined);
  assert.equal(Object.prototype.polluted, undefined);
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeKeys);
  const after = snapshotOfStore();
  assert.equal(after.records, before.records + 1, 'only the fragment import line was stored');
  assert.equal(after.artifact, before.artifact);
  await assertServing();
});

test('SQL-injection strings in paths, queries, ids and identities are stored and matched as plain text', async () => {
  const tables = snapshotOfStore().tables;
  const sql = ["' OR '1'='1", "x'); DROP TABLE records; --", '"; DELETE FROM profiles; --', "1; UPDATE artifacts SET body='x' --", "%' UNION SELECT * FROM identities --"];
  const known = await collect(s.base, batch('dev-sql-known', [addToCart(T0)]));
  assert.equal(known.status, 200);
  for (const [i, text] of sql.entries()) {
    const device = `dev-${text}`;
    // Path parameter and body.
    const frag = await fetch(`${s.base}/v1/profiles/${encodeURIComponent(device)}/fragment`, { method: 'POST', headers: keyed,
      body: JSON.stringify({ fields: { 'attributes.note': { value: text, ts: 1, origin: text } } }) });
    assert.equal(frag.status, 200, text);
    assert.equal((await frag.json()).fields['attributes.note'].value, text);
    const read = await fetch(`${s.base}/v1/profiles/${encodeURIComponent(device)}/fragment`, { headers: keyed });
    assert.equal((await read.json()).fields['attributes.note'].value, text, 'read back as written');
    // An unknown device named like an injection matches nothing.
    const unknown = await fetch(`${s.base}/v1/profiles/${encodeURIComponent(text)}/fragment`, { headers: keyed });
    assert.equal(unknown.status, 404);
    // Identity ids (namespaces are restricted to letters, digits, . _ -).
    const id = await fetch(`${s.base}/v1/identify`, { method: 'POST', headers: keyed, body: JSON.stringify({ deviceId: device, namespace: 'crm', id: `${text}-${i}` }) });
    assert.equal(id.status, 200);
    const badNamespace = await fetch(`${s.base}/v1/identify`, { method: 'POST', headers: keyed, body: JSON.stringify({ deviceId: device, namespace: text, id: 'a' }) });
    assert.equal(badNamespace.status, 400);
    // Admin query parameters and path segments.
    assert.equal((await admin(s.base, `/v1/admin/reports/journeys?site=${encodeURIComponent(text)}`)).status, 404);
    // Times are parsed by Date.parse, never spliced into SQL: lenient, but no error and no injection.
    assert.ok([200, 400].includes((await admin(s.base, `/v1/admin/reports/journeys?from=${encodeURIComponent(text)}`)).status));
    const members = await admin(s.base, `/v1/admin/segments/${encodeURIComponent(text)}/members?after=${encodeURIComponent(text)}`);
    assert.equal(members.status, 200);
    assert.equal(await members.text(), '', 'no segment has that name');
  }
  const rows = s.store.db.prepare("SELECT namespace, id FROM identities WHERE namespace = 'crm' ORDER BY id").all();
  assert.deepEqual(rows.map((r) => r.id).sort(), sql.map((t, i) => `${t}-${i}`).sort());
  const after = snapshotOfStore();
  assert.deepEqual(after.tables, tables, 'every table is still there');
  assert.ok(after.records >= 1 && s.store.getArtifact('shop').body.length > 100, 'records and the artifact are intact');
  assert.ok(s.store.db.prepare('SELECT COUNT(*) AS n FROM profiles').get().n >= sql.length + 1);
  await assertServing();
});

// Every endpoint, with a request that would succeed with the right credentials.
const ADMIN_CALLS = [
  ['PUT', '/v1/artifact', { headers: json, body: artifactText }],
  ['POST', '/v1/admin/import', { headers: ndjson, body: `${JSON.stringify({ type: 'event', deviceId: 'dev-auth', event: { _id: 'imp-auth', eventType: 'commerce.purchases', timestamp: '2026-12-04T10:00:00.000Z' } })}\n` }],
  ['GET', '/v1/admin/segments/abandoned-cart/members', {}],
  ['GET', '/v1/admin/reports/journeys', {}],
  ['GET', '/v1/admin/dispatches', {}],
];
const COLLECTION_CALLS = [
  ['POST', '/v1/collect', { headers: json, body: JSON.stringify(batch('dev-auth', [addToCart(T0 + 5)])) }],
  ['GET', '/v1/artifact', {}],
  ['GET', '/v1/profiles/dev-sql-known/fragment', {}],
  ['POST', '/v1/profiles/dev-auth/fragment', { headers: json, body: JSON.stringify({ fields: { 'attributes.tier': { value: 'gold', ts: 1, origin: 'o' } } }) }],
  ['POST', '/v1/identify', { headers: json, body: JSON.stringify({ deviceId: 'dev-auth', namespace: 'email', id: 'auth@example.com' }) }],
];

async function call([method, path, init], headers) {
  const res = await fetch(`${s.base}${path}`, { method, ...init, headers: { ...(init.headers ?? {}), ...headers } });
  const text = await res.text();
  return { status: res.status, acao: res.headers.get('access-control-allow-origin'), text };
}

test('admin endpoints: refused without the admin token (a write key is not one) and from any other origin', async () => {
  const before = snapshotOfStore();
  const sameLength = `Bearer ${'x'.repeat(ADMIN.length)}`;
  for (const c of ADMIN_CALLS) {
    const what = `${c[0]} ${c[1]}`;
    for (const headers of [{}, { 'x-rekindle-key': KEY }, { authorization: `Bearer ${KEY}` }, { authorization: sameLength },
      { authorization: ADMIN }, { authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}` }]) {
      const res = await call(c, headers);
      assert.equal(res.status, 401, `${what} with ${JSON.stringify(headers)}`);
      assert.match(res.text, /admin token is required/);
    }
    for (const origin of [EVIL, SHOP, 'null']) {
      const res = await call(c, { ...bearer, origin });
      assert.equal(res.status, 403, `${what} from ${origin}`);
      // (/v1/artifact is also the page's GET: a listed origin may read the refusal.)
      if (c[1] !== '/v1/artifact') assert.equal(res.acao, null, 'no CORS header for admin endpoints');
    }
    // A browser's preflight is never granted: no CORS headers, or (GET /v1/artifact is
    // public) not for the admin method and the Authorization header.
    const pre = await fetch(`${s.base}${c[1]}`, { method: 'OPTIONS', headers: { origin: SHOP, 'access-control-request-method': c[0], 'access-control-request-headers': 'authorization' } });
    if (pre.headers.get('access-control-allow-origin') !== null) {
      assert.ok(c[0] === 'GET' || !pre.headers.get('access-control-allow-methods').split(/,\s*/).includes(c[0]), `${what}: preflight grants ${c[0]}`);
      assert.doesNotMatch(pre.headers.get('access-control-allow-headers'), /authorization/i, `${what}: preflight grants Authorization`);
    }
  }
  assert.deepEqual(snapshotOfStore(), before, 'nothing changed');
  // The token from the server's own origin (a browser on the dashboard) is accepted.
  for (const c of ADMIN_CALLS.slice(2)) assert.equal((await call(c, { ...bearer, origin: s.base })).status, 200, c[1]);
});

test('collection endpoints: refused without a known write key (the admin token is not one) and from unlisted origins', async () => {
  const before = snapshotOfStore();
  for (const c of COLLECTION_CALLS) {
    const what = `${c[0]} ${c[1]}`;
    for (const headers of [{}, { 'x-rekindle-key': 'stolen' }, { 'x-rekindle-key': '' }, bearer, { 'x-rekindle-key': ADMIN }]) {
      const res = await call(c, headers);
      assert.equal(res.status, 401, `${what} with ${JSON.stringify(headers)}`);
    }
    for (const origin of [EVIL, 'null', `${SHOP}.evil.example`, 'http://shop.example']) {
      const res = await call(c, { 'x-rekindle-key': KEY, origin });
      assert.equal(res.status, 403, `${what} from ${origin}`);
      assert.equal(res.acao, null, `${what}: the origin is not echoed`);
    }
    const pre = await fetch(`${s.base}${c[1]}`, { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': c[0], 'access-control-request-headers': 'content-type,x-rekindle-key' } });
    assert.equal(pre.status, 403, `${what}: preflight from another origin`);
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
  }
  assert.deepEqual(snapshotOfStore(), before, 'nothing changed');
  // The listed origin with the key goes through.
  for (const c of COLLECTION_CALLS) {
    const res = await call(c, { 'x-rekindle-key': KEY, origin: SHOP });
    assert.equal(res.status, 200, `${c[0]} ${c[1]}: ${res.text}`);
    assert.equal(res.acao, SHOP);
  }
});
