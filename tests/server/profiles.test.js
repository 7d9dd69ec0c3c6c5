// The artifact (ETag, admin upload validated by the wasm engine), profile
// fragments (last-writer-wins merge), identity linking across devices, the
// bulk import, and the admin token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, collect, batch, addToCart, fragmentRecord, admin, KEY, ADMIN, T0 } from './harness.js';
import { mergeFragments } from '../../server/fragment.js';

const artifactText = readFileSync(new URL('../../examples/abandoned-cart.json', import.meta.url), 'utf8');

let s;
before(async () => {
  s = await startServer();
});
after(() => s.close());

const withKey = (init = {}) => ({ ...init, headers: { 'x-rekindle-key': KEY, ...(init.headers ?? {}) } });

test('GET /v1/artifact serves the artifact with an ETag and answers 304 to If-None-Match', async () => {
  const res = await fetch(`${s.base}/v1/artifact`, withKey());
  assert.equal(res.status, 200);
  const etag = res.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{16}"$/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  assert.equal((await res.json()).version, JSON.parse(artifactText).version);
  const again = await fetch(`${s.base}/v1/artifact`, withKey({ headers: { 'if-none-match': etag } }));
  assert.equal(again.status, 304);
  const nokey = await fetch(`${s.base}/v1/artifact`);
  assert.equal(nokey.status, 401);
});

test('PUT /v1/artifact needs the admin token, validates with the engine, and lists every error', async () => {
  const noToken = await fetch(`${s.base}/v1/artifact`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: artifactText });
  assert.equal(noToken.status, 401);
  const wrong = await fetch(`${s.base}/v1/artifact`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: 'Bearer nope' }, body: artifactText });
  assert.equal(wrong.status, 401);
  const writeKeyIsNotAdmin = await fetch(`${s.base}/v1/artifact`, { method: 'PUT', headers: { 'content-type': 'application/json', 'x-rekindle-key': KEY }, body: artifactText });
  assert.equal(writeKeyIsNotAdmin.status, 401);

  const before = (await fetch(`${s.base}/v1/artifact`, withKey())).headers.get('etag');
  const bad = JSON.parse(artifactText);
  bad.segments[0].rule = { count: { event: { type: 'x' }, within: 'forever' }, op: 'between', value: 1 };
  bad.journeys[0].entry = { segment: 'no-such-segment' };
  const invalid = await admin(s.base, '/v1/artifact', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bad) });
  assert.equal(invalid.status, 422);
  const { errors } = await invalid.json();
  assert.ok(errors.length >= 2, JSON.stringify(errors));
  for (const e of errors) assert.match(e.path, /^\$/);
  assert.ok(errors.some((e) => e.path.startsWith('$.segments[0].rule')), JSON.stringify(errors));
  assert.equal((await fetch(`${s.base}/v1/artifact`, withKey())).headers.get('etag'), before, 'the served artifact did not change');

  const next = { ...JSON.parse(artifactText), version: '2026-12-05.1' };
  const ok = await admin(s.base, '/v1/artifact', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(next) });
  assert.equal(ok.status, 200);
  const body = await ok.json();
  assert.equal(body.version, '2026-12-05.1');
  assert.notEqual(body.etag, before);
  assert.equal((await fetch(`${s.base}/v1/artifact`, withKey())).headers.get('etag'), body.etag);
});

test('PUT /v1/artifact refuses a journey action naming a message template the server does not have, naming the path and the templates', async () => {
  const before = (await fetch(`${s.base}/v1/artifact`, withKey())).headers.get('etag');
  const typo = JSON.parse(artifactText);
  const steps = typo.journeys[0].steps[0].split[1].steps;
  assert.equal(steps[2].action.template, 'cart-reminder');
  steps[2].action.template = 'cart-remindr';
  steps[4].action.template = 'cart-reminder';  // exists, but as an email: no SMS of that name
  const res = await admin(s.base, '/v1/artifact', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(typo) });
  assert.equal(res.status, 422);
  assert.deepEqual(await res.json(), { errors: [
    { path: '$.journeys[0].steps[0].split[1].steps[2].action.template',
      reason: 'names the email template "cart-remindr", which the messages file does not have (email templates: cart-reminder)' },
    { path: '$.journeys[0].steps[0].split[1].steps[4].action.template',
      reason: 'names the sms template "cart-reminder", which the messages file does not have (sms templates: cart-last-call)' },
  ] });
  assert.equal((await fetch(`${s.base}/v1/artifact`, withKey())).headers.get('etag'), before, 'the served artifact did not change');
  // A channel the server has no template for at all is not checked: push is sent by nothing here.
  const push = JSON.parse(artifactText);
  push.version = '2026-12-05.2';
  push.journeys[0].steps[0].split[1].steps[4].action = { channel: 'push', template: 'anything' };
  const ok = await admin(s.base, '/v1/artifact', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(push) });
  assert.equal(ok.status, 200);
});

test('admin endpoints refuse other origins even with the token', async () => {
  const res = await admin(s.base, '/v1/admin/reports/journeys', { headers: { origin: 'https://evil.example' } });
  assert.equal(res.status, 403);
  const pre = await fetch(`${s.base}/v1/admin/reports/journeys`, { method: 'OPTIONS', headers: { origin: 'https://shop.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
  assert.equal(pre.headers.get('access-control-allow-origin'), null, 'no CORS for admin endpoints');
});

test('fragments merge field by field, last writer wins, from collection and from the fragment endpoint', async () => {
  const dev = 'device-frag';
  await collect(s.base, batch(dev, [fragmentRecord(dev, T0 + 10, { attributes: { firstName: 'Ada', tier: 'silver' } })]));
  // An older write loses, a newer one wins, field by field.
  const res = await fetch(`${s.base}/v1/profiles/${dev}/fragment`, withKey({ method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fields: {
      'attributes.firstName': { value: 'Old', ts: T0, origin: 'import:crm' },
      'attributes.tier': { value: 'gold', ts: T0 + 20, origin: 'server' },
      'attributes.city': { value: 'Lyon', ts: T0 + 5, origin: 'server' },
    } }) }));
  assert.equal(res.status, 200);
  const merged = await res.json();
  assert.equal(merged.fields['attributes.firstName'].value, 'Ada');
  assert.equal(merged.fields['attributes.tier'].value, 'gold');
  assert.equal(merged.fields['attributes.city'].value, 'Lyon');
  const got = await fetch(`${s.base}/v1/profiles/${dev}/fragment`, withKey());
  assert.equal(got.status, 200);
  const etag = got.headers.get('etag');
  assert.deepEqual((await got.json()).fields, merged.fields);
  assert.equal((await fetch(`${s.base}/v1/profiles/${dev}/fragment`, withKey({ headers: { 'if-none-match': etag } }))).status, 304);
  assert.equal((await fetch(`${s.base}/v1/profiles/nobody/fragment`, withKey())).status, 404);
  const bad = await fetch(`${s.base}/v1/profiles/${dev}/fragment`, withKey({ method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fields: { 'password.hash': { value: 'x', ts: 1, origin: 's' } } }) }));
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(await bad.json()), /field name/);
});

test('the merge is commutative, associative and idempotent', () => {
  const random = (seed) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const rnd = random(7);
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const fragment = () => {
    const fields = {};
    for (const key of ['attributes.a', 'attributes.b', 'consent.analytics']) {
      if (rnd() < 0.7) fields[key] = { value: pick(['x', 'y', 1, null, [1, 2], true]), ts: pick([1, 2, 3]), origin: pick(['device:a', 'device:b', 'server']) };
    }
    return { profileId: pick(['p1', 'p2', '']), identities: { email: [pick(['a@x', 'b@x'])] }, fields };
  };
  for (let i = 0; i < 300; i += 1) {
    const [a, b, c] = [fragment(), fragment(), fragment()];
    assert.deepEqual(mergeFragments(a, b), mergeFragments(b, a));
    assert.deepEqual(mergeFragments(mergeFragments(a, b), c), mergeFragments(a, mergeFragments(b, c)));
    const ab = mergeFragments(a, b);
    assert.deepEqual(mergeFragments(ab, b), ab);
  }
});

test('identify links devices: records from two devices join one profile, and a device never reads identities', async () => {
  await collect(s.base, batch('phone-1', [addToCart(T0 + 100)]));
  await collect(s.base, batch('laptop-1', [addToCart(T0 + 200)]));
  const id = (deviceId) => fetch(`${s.base}/v1/identify`, withKey({ method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ deviceId, namespace: 'email', id: 'grace@example.com' }) })).then((r) => r.json());
  const first = await id('phone-1');
  const second = await id('laptop-1');
  assert.equal(first.profileId, 'phone-1');
  assert.equal(second.profileId, 'laptop-1', 'the smaller id of the two profiles');
  assert.deepEqual(s.store.devicesOf('shop', 'laptop-1'), ['laptop-1', 'phone-1']);
  const records = s.store.recordsAfter('shop', 'laptop-1', 0);
  assert.equal(records.filter((r) => r.kind === 'event').length, 2, 'both devices\' events belong to the one profile');
  const frag = await (await fetch(`${s.base}/v1/profiles/phone-1/fragment`, withKey())).json();
  assert.equal(frag.profileId, 'laptop-1');
  assert.equal(frag.identities, undefined);
  const bad = await fetch(`${s.base}/v1/identify`, withKey({ method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ deviceId: 'phone-1', namespace: 'device', id: 'other' }) }));
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(await bad.json()), /namespace/);
});

test('bulk import: fragments and offline events, duplicates counted, bad lines named by number', async () => {
  const lines = [
    { type: 'fragment', identity: { namespace: 'crm', id: 'C-1' }, fragment: { fields: { 'attributes.tier': { value: 'gold', ts: T0, origin: 'import:crm' } } } },
    { type: 'event', identity: { namespace: 'crm', id: 'C-1' }, event: { _id: 'pos-9', eventType: 'commerce.purchases', timestamp: new Date(T0).toISOString() } },
    'not json',
    { type: 'event', deviceId: 'd', event: { _id: 'x' } },
    { type: 'event', identity: { namespace: 'crm', id: 'C-1' }, event: { _id: 'pos-9', eventType: 'commerce.purchases', timestamp: new Date(T0).toISOString() } },
  ].map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');
  const res = await admin(s.base, '/v1/admin/import', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: lines });
  const body = await res.json();
  assert.equal(body.lines, 5);
  assert.equal(body.accepted, 2);
  assert.equal(body.duplicates, 1);
  assert.deepEqual(body.rejected.map((r) => r.line), [3, 4]);
  assert.match(body.rejected[1].reason, /eventType/);
  const profile = s.store.getProfile('shop', s.store.profileOfIdentity('shop', 'crm', 'C-1'));
  assert.equal(profile.fragment.fields['attributes.tier'].value, 'gold');
  const unauth = await fetch(`${s.base}/v1/admin/import`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: lines });
  assert.equal(unauth.status, 401);
  assert.equal(typeof ADMIN, 'string');
});
