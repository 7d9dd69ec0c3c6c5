// POST /v1/collect: each record stored exactly once by id, every rejection
// path with a clear reason, keys, CORS, limits and the rate limit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../server/config.js';
import { startServer, collect, admin, batch, addToCart, purchase, eventRecord, fragmentRecord, KEY, T0 } from './harness.js';

let s;
before(async () => {
  s = await startServer({ overrides: { rateLimit: { max: 1000, windowMs: 60_000 } } });
});
after(() => s.close());

const storedIds = () => s.store.recordIds('shop');

test('a batch is stored once: a resent batch stores nothing new and names every id a duplicate', async () => {
  const records = [addToCart(T0), eventRecord('web.webpagedetails.pageViews', T0 + 1), fragmentRecord('dev-a', T0, { attributes: { firstName: 'Ada' } })];
  const first = await collect(s.base, batch('dev-a', records));
  assert.equal(first.status, 200);
  assert.deepEqual(first.body, { accepted: records.map((r) => r.id), duplicates: [], rejected: [], events: [] });
  const again = await collect(s.base, batch('dev-a', records));
  assert.deepEqual(again.body, { accepted: [], duplicates: records.map((r) => r.id), rejected: [], events: [] });
  // Half old, half new: only the new ones are accepted.
  const more = [records[0], addToCart(T0 + 5)];
  const mixed = await collect(s.base, batch('dev-a', more));
  assert.deepEqual(mixed.body.accepted, [more[1].id]);
  assert.deepEqual(mixed.body.duplicates, [more[0].id]);
  const ids = storedIds();
  assert.equal(new Set(ids).size, ids.length, 'no id stored twice');
  for (const r of [...records, more[1]]) assert.ok(ids.includes(r.id));
});

test('the same id twice in one batch is stored once', async () => {
  const r = addToCart(T0 + 10);
  const res = await collect(s.base, batch('dev-b', [r, r]));
  assert.deepEqual(res.body.accepted, [r.id]);
  assert.deepEqual(res.body.duplicates, [r.id]);
});

test('invalid records are rejected by id with the field named; the others are stored', async () => {
  const good = addToCart(T0 + 20);
  const noType = eventRecord('x', T0);
  delete noType.body.eventType;
  const idMismatch = addToCart(T0 + 21);
  idMismatch.id = 'other-id';
  const badKind = { ...addToCart(T0 + 22), kind: 'telemetry' };
  const badFragment = { id: 'frag-bad', kind: 'fragment', at: T0, purpose: '', body: { fields: { 'attributes.x': { value: { nested: 1 }, ts: 1, origin: 'd' } } } };
  const badDispatch = { id: 'd1', kind: 'dispatch', at: T0, purpose: 'marketing.email', body: { dispatch: 'd1', channel: 'pigeon' } };
  const res = await collect(s.base, batch('dev-c', [good, noType, idMismatch, badKind, badFragment, badDispatch]));
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.accepted, [good.id]);
  const reasons = Object.fromEntries(res.body.rejected.map((r) => [r.id, r.reason]));
  assert.match(reasons[noType.id], /\$\.records\[1\]\.body.*eventType/);
  assert.match(reasons['other-id'], /\$\.records\[2\]\.id: must equal body\._id/);
  assert.match(reasons[badKind.id], /\$\.records\[3\]\.kind: must be one of/);
  assert.match(reasons['frag-bad'], /\$\.records\[4\]\.body\.fields\["attributes\.x"\]\.value: must not be of type object/);
  assert.match(reasons.d1, /\$\.records\[5\]\.body/);
  assert.ok(!storedIds().includes('other-id'));
});

// A large purchase: 300 line items of about 120 bytes, some 40 KB of JSON.
function largePurchase(at) {
  const record = purchase(at);
  record.body.productListItems = Array.from({ length: 300 }, (_, i) => ({ SKU: `sku-${i}`, name: `Item ${i} ${'n'.repeat(80)}`, quantity: 1, priceTotal: 9 }));
  return record;
}

test('an event over the engine\'s 32 KiB limit is rejected at intake, naming the limit; the batch\'s others are stored', async () => {
  const large = largePurchase(T0 + 30);
  const bytes = Buffer.byteLength(JSON.stringify(large.body));
  assert.ok(bytes > 32 * 1024);
  const good = addToCart(T0 + 31);
  const res = await collect(s.base, batch('dev-large', [good, large]));
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.accepted, [good.id]);
  assert.deepEqual(res.body.rejected, [{ id: large.id, reason: `$.records[1].body: the event is ${bytes} bytes, over the limit of 32768 bytes` }]);
  assert.ok(!storedIds().includes(large.id), 'an event the engine would refuse is never stored');
  // The bulk import refuses the same event on its line.
  const line = JSON.stringify({ type: 'event', deviceId: 'dev-large', event: large.body });
  const imported = await admin(s.base, '/v1/admin/import', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: line });
  assert.deepEqual(await imported.json(), { lines: 1, accepted: 0, duplicates: 0,
    rejected: [{ line: 1, reason: `$.event: the event is ${bytes} bytes, over the limit of 32768 bytes` }] });
  assert.ok(!storedIds().includes(large.id));
});

test('an event stored before the limit was checked at intake, and refused by the engine, is logged, not dropped silently', async () => {
  const large = largePurchase(T0 + 32);
  s.store.insertRecords('shop', 'dev-old', 'dev-old', [large], 'page', T0);
  s.store.ensureProfile('shop', 'dev-old', T0);
  s.store.markDirty('shop', 'dev-old', T0);
  await s.runner.runProfile('shop', 'dev-old');
  const line = s.logs.find((l) => l.includes('the engine refused a stored event'));
  assert.ok(line, `logged: ${s.logs.join('\n')}`);
  assert.match(line, /^rekindle server: error: /);
  assert.ok(line.includes(large.id), 'the line names the record');
  assert.match(line, /over the limit of 32768 bytes/);
});

test('a bad envelope is refused as a whole, naming the field', async () => {
  for (const [body, pattern] of [
    [{ sentAt: new Date(T0).toISOString(), records: [] }, /deviceId/],
    [{ deviceId: 'd', sentAt: 'yesterday', records: [] }, /sentAt/],
    [{ deviceId: 'd', sentAt: new Date(T0).toISOString(), records: {} }, /records/],
    [{ deviceId: 'd', sentAt: new Date(T0).toISOString(), records: [], extra: 1 }, /unknown field "extra"/],
    [[1, 2], /batch is invalid/],
  ]) {
    const res = await collect(s.base, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(res.body.error, pattern);
    assert.equal(res.body.rejected, undefined);
  }
});

test('malformed JSON, empty bodies and unknown content types are refused without echoing the body', async () => {
  const malformed = await collect(s.base, null, { raw: '{"deviceId": <script>alert(1)</script>' });
  assert.equal(malformed.status, 400);
  assert.match(malformed.body.error, /not valid JSON/);
  assert.doesNotMatch(malformed.body.error, /script/);
  const plainBad = await collect(s.base, null, { raw: 'not json <b>', contentType: 'text/plain' });
  assert.equal(plainBad.status, 400);
  assert.doesNotMatch(plainBad.body.error, /<b>/);
  const xml = await collect(s.base, null, { raw: '<batch/>', contentType: 'application/xml' });
  assert.equal(xml.status, 415);
  assert.match(xml.body.error, /content type/);
});

test('a malformed body is refused naming the line, column and byte where it stops being JSON, and what was found there', async () => {
  for (const [raw, place] of [
    ['{"deviceId": }', 'at line 1, column 14 (byte 13): found "}" where a value was expected'],
    ['nul', 'at line 1, column 4 (byte 3): found the end of the text where the rest of null was expected'],
    ['{"version": ', 'at line 1, column 13 (byte 12): found the end of the text where a value was expected'],
    ['{"deviceId": "d",\n "records": [1 2]}', 'at line 2, column 16 (byte 33): found "2" where "," or "]" was expected'],
    ['{"deviceId": "caf\u00e9\u0000"}', 'at line 1, column 19 (byte 19): found U+0000 where an escape (a control character in a string is written \\n, \\u0000, …) was expected'],
  ]) {
    for (const contentType of ['application/json', 'text/plain']) {
      const res = await collect(s.base, null, { raw, contentType });
      assert.equal(res.status, 400, raw);
      assert.deepEqual(res.body, { error: `the body is not valid JSON (${place})` }, `${contentType} ${JSON.stringify(raw)}`);
    }
  }
  // The bulk import names the place on the rejected line, and the artifact upload too.
  const imported = await admin(s.base, '/v1/admin/import', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '{"type": "event",, }' });
  assert.deepEqual((await imported.json()).rejected, [{ line: 1, reason: 'not valid JSON (at line 1, column 18 (byte 17): found "," where a key (a string in double quotes) was expected)' }]);
  const put = await admin(s.base, '/v1/artifact', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"version": ' });
  assert.deepEqual(await put.json(), { error: 'the body is not valid JSON (at line 1, column 13 (byte 12): found the end of the text where a value was expected)' });
});

test('NDJSON is taken by the bulk import alone: any other route answers it 415, and the import still takes it', async () => {
  const line = JSON.stringify(batch('dev-nd', [addToCart(T0 + 60)]));
  for (const contentType of ['application/x-ndjson', 'application/jsonl']) {
    const res = await collect(s.base, null, { raw: line, contentType });
    assert.equal(res.status, 415, contentType);
    assert.equal(res.body.error, 'unsupported content type: send application/json (or text/plain holding JSON)');
    const put = await admin(s.base, '/v1/artifact', { method: 'PUT', headers: { 'content-type': contentType }, body: '{}' });
    assert.equal(put.status, 415, `PUT /v1/artifact ${contentType}`);
  }
  const imported = await admin(s.base, '/v1/admin/import', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' },
    body: JSON.stringify({ type: 'event', deviceId: 'dev-nd', event: addToCart(T0 + 61).body }) });
  assert.deepEqual(await imported.json(), { lines: 1, accepted: 1, duplicates: 0, rejected: [] });
});

test('the pagehide beacon: text/plain JSON with the key in ?key= is stored like any batch', async () => {
  const r = addToCart(T0 + 30);
  const res = await fetch(`${s.base}/v1/collect?key=${KEY}`, { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: JSON.stringify(batch('dev-d', [r])) });
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json()).accepted, [r.id]);
});

test('size limits: more records than the limit, or a body over the byte limit, get 413 and store nothing', async () => {
  const before = s.store.countRecords('shop');
  const many = Array.from({ length: 501 }, (_, i) => addToCart(T0 + 1000 + i));
  const tooMany = await collect(s.base, batch('dev-e', many));
  assert.equal(tooMany.status, 413, 'too many records is the documented 413, which the page splits');
  assert.deepEqual(tooMany.body, { error: 'the batch has 501 records, over this server\'s limit of 500' });
  const atTheLimit = Array.from({ length: 500 }, (_, i) => addToCart(T0 + 2000 + i));
  assert.equal((await collect(s.base, batch('dev-e', atTheLimit))).status, 200);
  const big = addToCart(T0 + 40);
  big.body.padding = 'x'.repeat(1024 * 1024);
  const tooBig = await collect(s.base, batch('dev-e', [big]));
  assert.equal(tooBig.status, 413);
  assert.match(tooBig.body.error, /over this server's limit of 1048576 bytes/);
  assert.equal(s.store.countRecords('shop'), before + 500, 'only the batch within the limits was stored');
});

test('keys: a missing or unknown write key is 401, and nothing is stored', async () => {
  const r = addToCart(T0 + 50);
  const missing = await collect(s.base, batch('dev-f', [r]), { key: null });
  assert.equal(missing.status, 401);
  assert.match(missing.body.error, /write key is required/);
  const unknown = await collect(s.base, batch('dev-f', [r]), { key: 'stolen' });
  assert.equal(unknown.status, 401);
  assert.ok(!storedIds().includes(r.id));
});

test('CORS: listed origins are echoed with credentials; other origins are refused', async () => {
  const pre = await fetch(`${s.base}/v1/collect`, { method: 'OPTIONS', headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-rekindle-key' } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://shop.example');
  assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
  assert.match(pre.headers.get('access-control-allow-headers'), /X-Rekindle-Key/);
  assert.match(pre.headers.get('access-control-expose-headers'), /Retry-After/);
  const evilPre = await fetch(`${s.base}/v1/collect`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
  assert.equal(evilPre.status, 403);
  assert.equal(evilPre.headers.get('access-control-allow-origin'), null);
  const r = addToCart(T0 + 60);
  const evil = await collect(s.base, batch('dev-g', [r]), { origin: 'https://evil.example' });
  assert.equal(evil.status, 403);
  assert.ok(!storedIds().includes(r.id));
  const ok = await collect(s.base, batch('dev-g', [r]), { origin: 'https://shop.example' });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('access-control-allow-origin'), 'https://shop.example');
  // Errors carry the CORS headers too, so the page can read the status.
  const err = await collect(s.base, { nope: 1 }, { origin: 'https://shop.example' });
  assert.equal(err.status, 400);
  assert.equal(err.headers.get('access-control-allow-origin'), 'https://shop.example');
});

test('SQL-looking and markup strings are stored as inert data', async () => {
  const hostile = "x'); DROP TABLE records; --";
  const r = eventRecord('commerce.productViews', T0 + 70, { productListItems: [{ SKU: hostile, name: '<img src=x onerror=alert(1)>' }] });
  r.id = `${hostile}-id`;
  r.body._id = r.id;
  const res = await collect(s.base, batch(`dev'--`, [r]));
  assert.deepEqual(res.body.accepted, [r.id]);
  const again = await collect(s.base, batch(`dev'--`, [r]));
  assert.deepEqual(again.body.duplicates, [r.id]);
  const row = s.store.db.prepare('SELECT body FROM records WHERE id = ?').get(r.id);
  assert.equal(JSON.parse(row.body).productListItems[0].SKU, hostile);
  assert.ok(s.store.countRecords('shop') > 0, 'the records table is still there');
});

test('the rate limit answers 429 with Retry-After and stores nothing', async () => {
  const limited = await startServer({ overrides: { rateLimit: { max: 3, windowMs: 60_000 } } });
  try {
    const statuses = [];
    let last;
    for (let i = 0; i < 5; i += 1) {
      last = await collect(limited.base, batch('dev-h', [addToCart(T0 + i)]), { origin: 'https://shop.example' });
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    assert.ok(Number(last.headers.get('retry-after')) > 0);
    assert.equal(last.headers.get('access-control-allow-origin'), 'https://shop.example');
    assert.match(last.body.error, /rate limited/);
    assert.equal(limited.store.countRecords('shop'), 3);
  } finally {
    await limited.close();
  }
});

test('behind a trusted proxy each visitor (X-Forwarded-For) has a rate-limit bucket; a client that is not the proxy cannot pick one', async () => {
  const visit = (server, visitor, i) => fetch(`${server.base}/v1/collect`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-rekindle-key': KEY, 'x-forwarded-for': visitor },
    body: JSON.stringify(batch(`dev-${visitor}`, [addToCart(T0 + i)])),
  }).then((res) => res.status);
  // [trustProxy, what the second visitor gets once the first has used the bucket]
  for (const [trustProxy, second] of [['127.0.0.1', 200], [['10.0.0.0/8', '127.0.0.1'], 200], ['10.0.0.1', 429], [false, 429]]) {
    const proxied = await startServer({ overrides: { rateLimit: { max: 2, windowMs: 60_000 }, trustProxy } });
    try {
      const first = [await visit(proxied, '203.0.113.1', 0), await visit(proxied, '203.0.113.1', 1), await visit(proxied, '203.0.113.1', 2)];
      assert.deepEqual(first, [200, 200, 429], `trustProxy ${trustProxy}`);
      assert.equal(await visit(proxied, '203.0.113.2', 3), second, `trustProxy ${trustProxy}`);
    } finally {
      await proxied.close();
    }
  }
  assert.throws(() => loadConfig({ env: {}, overrides: { trustProxy: { proxy: 'lb' } } }), /trustProxy: must be true, false, or the proxies' addresses/);
});
