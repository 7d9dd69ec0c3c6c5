// Defects a security review found in the reference server, each shown
// failing before its fix: profiles a page could name, dispatches for journeys
// that do not exist, timestamps from the far future or from a skewed clock,
// times the schema passes and Date.parse refuses, the origin check of a
// keyless site, rate limits a client could step around, and deadlines
// starved by steady inflow.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createHmac } from 'node:crypto';
import { SqliteStore } from '../../server/store/sqlite.js';
import { Scheduler } from '../../server/scheduler.js';
import { FUTURE_TOLERANCE_MS } from '../../server/ingest.js';
import {
  startServer, startSmtpSink, collect, batch, addToCart, fragmentRecord, admin, KEY, T0, MINUTE, HOUR, DAY,
} from './harness.js';

let smtp;
let s;
before(async () => {
  smtp = await startSmtpSink();
  // A site that links identities only with a proof, as a production site does.
  s = await startServer({ smtp, sites: [{ id: 'shop', writeKeys: [KEY], origins: ['https://shop.example'], artifact: new URL('../../examples/abandoned-cart.json', import.meta.url).pathname, identitySecret: '0123456789abcdef0123456789abcdef0123' }] });
});
after(async () => {
  await s.close();
  await smtp.close();
});

const ndjson = (lines) => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');
const importLines = async (lines) => (await admin(s.base, '/v1/admin/import', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: ndjson(lines) })).json();
const readFragment = (deviceId) => fetch(`${s.base}/v1/profiles/${encodeURIComponent(deviceId)}/fragment`, { headers: { 'x-rekindle-key': KEY } });

const dispatchRecord = (id, body) => ({ id, kind: 'dispatch', at: T0, purpose: 'marketing.email',
  body: { dispatch: id, channel: 'email', template: 'cart-reminder', journey: 'cart-recovery', instance: `inst-${id}`, step: 'email', due: new Date(T0).toISOString(), ...body } });

test('a person known only from an import has a profile no page can name by a deviceId', async () => {
  const email = 'ada-import@example.com';
  const imported = await importLines([{ type: 'fragment', identity: { namespace: 'email', id: email }, fragment: { fields: {
    'attributes.ltv': { value: 12345, ts: T0, origin: 'import:crm' },
    'consent.marketing.email': { value: 'denied', ts: T0, origin: 'import:crm' },
  } } }]);
  assert.equal(imported.accepted, 1, JSON.stringify(imported));
  const profileId = s.store.profileOfIdentity('shop', 'email', email);
  assert.notEqual(profileId, `email:${email}`, 'the profile id is not the identity');
  assert.equal(s.store.getProfile('shop', profileId).fragment.fields['attributes.ltv'].value, 12345);
  // The server's own run of that profile gives it no device by which a page could reach it.
  await s.scheduler.tick();
  for (const name of [`email:${email}`, profileId]) {
    assert.equal((await readFragment(name)).status, 404, `${name} names no device`);
    const res = await collect(s.base, batch(name, [{ id: `atk-${name}`, kind: 'fragment', at: T0, purpose: '',
      body: { fields: { 'consent.marketing.email': { value: 'granted', ts: T0 + 1000, origin: 'zzz' } } } }]));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.accepted, [`atk-${name}`]);
    assert.notEqual(s.store.profileIfKnown('shop', name), profileId, `a device named ${name} got a profile of its own`);
    const read = await (await readFragment(name)).json();
    assert.equal(read.fields['attributes.ltv'], undefined, 'the imported fields are not readable');
  }
  const fields = s.store.getProfile('shop', profileId).fragment.fields;
  assert.equal(fields['consent.marketing.email'].value, 'denied', 'the imported consent stands');
  // A second import line for the same person finds the same profile.
  await importLines([{ type: 'event', identity: { namespace: 'email', id: email }, event: { _id: 'pos-ada-1', eventType: 'commerce.purchases', timestamp: new Date(T0).toISOString() } }]);
  assert.equal(s.store.db.prepare("SELECT profile_id AS p FROM records WHERE site = 'shop' AND id = 'pos-ada-1'").get().p, profileId);
});

test('a device never joins an existing profile by naming it: it gets a profile of its own', () => {
  s.store.ensureProfile('shop', 'somebody-else', T0);
  s.store.linkIdentity('shop', 'crm', 'C-77', 'somebody-else', T0);
  const mine = s.store.profileOfDevice('shop', 'somebody-else', T0);
  assert.notEqual(mine, 'somebody-else');
  assert.equal(s.store.profileOfDevice('shop', 'somebody-else', T0), mine, 'and keeps it');
  assert.deepEqual(s.store.identitiesOf('shop', mine), { device: ['somebody-else'] });
  assert.deepEqual(s.store.devicesOf('shop', 'somebody-else'), []);
});

test('a database of the previous schema loses the device rows its runs gave to imported persons', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekindle-migrate-'));
  try {
    const path = join(dir, 'old.db');
    new SqliteStore(path).close();
    const old = new Database(path);
    old.exec(`UPDATE meta SET value = '2' WHERE key = 'schema';
      INSERT INTO profiles (site, profile_id, updated) VALUES ('shop', 'email:ada@example.com', 0), ('shop', 'dev-1', 0),
        ('shop', '0bo-device', 0);
      INSERT INTO identities VALUES ('shop', 'email', 'ada@example.com', 'email:ada@example.com', 0),
        ('shop', 'device', 'email:ada@example.com', 'email:ada@example.com', 0), ('shop', 'device', 'dev-1', 'dev-1', 0);
      INSERT INTO devices VALUES ('shop', 'email:ada@example.com', 'email:ada@example.com'), ('shop', 'dev-1', 'dev-1');
      -- Bo, imported, then merged into the profile of his real device when it identified: the row named
      -- after his identity moved with the merge.
      INSERT INTO identities VALUES ('shop', 'email', 'bo@example.com', '0bo-device', 0),
        ('shop', 'device', 'email:bo@example.com', '0bo-device', 0), ('shop', 'device', '0bo-device', '0bo-device', 0);
      INSERT INTO devices VALUES ('shop', 'email:bo@example.com', '0bo-device'), ('shop', '0bo-device', '0bo-device');`);
    old.close();
    const store = new SqliteStore(path);
    try {
      assert.equal(store.profileIfKnown('shop', 'email:ada@example.com'), null);
      assert.equal(store.profileIfKnown('shop', 'dev-1'), 'dev-1');
      assert.deepEqual(store.identitiesOf('shop', 'email:ada@example.com'), { email: ['ada@example.com'] });
      assert.notEqual(store.profileOfDevice('shop', 'email:ada@example.com', 0), 'email:ada@example.com');
      assert.equal(store.profileIfKnown('shop', 'email:bo@example.com'), null, 'the merged row goes too');
      assert.equal(store.profileIfKnown('shop', '0bo-device'), '0bo-device', 'his real device stays');
      assert.notEqual(store.profileOfDevice('shop', 'email:bo@example.com', 0), '0bo-device');
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a page\'s dispatch must name a message step of the site\'s journeys, with its channel and template', async () => {
  const res = await collect(s.base, batch('disp-dev', [
    dispatchRecord('d-unknown-journey', { journey: 'x' }),
    dispatchRecord('d-unknown-step', { step: 's1' }),
    dispatchRecord('d-web-step', { step: 'tile', channel: 'email' }),
    dispatchRecord('d-push', { channel: 'push' }),
    dispatchRecord('d-template', { template: 'cart-last-call' }),
    dispatchRecord('d-ok'),
  ]));
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.accepted, ['d-ok']);
  const reasons = Object.fromEntries(res.body.rejected.map((r) => [r.id, r.reason]));
  assert.match(reasons['d-unknown-journey'], /^\$\.records\[0\]\.body\.journey: names no journey .*"x"/);
  assert.match(reasons['d-unknown-step'], /^\$\.records\[1\]\.body\.step: names no action step of journey "cart-recovery" \("s1"\)/);
  assert.match(reasons['d-web-step'], /^\$\.records\[2\]\.body\.step: .*web action/);
  assert.match(reasons['d-push'], /^\$\.records\[3\]\.body\.channel: .*sends email, not push/);
  assert.match(reasons['d-template'], /^\$\.records\[4\]\.body\.template: .*"cart-reminder", not "cart-last-call"/);
  assert.deepEqual(s.store.dispatchesOf('shop').filter((d) => d.profile_id === s.store.profileIfKnown('shop', 'disp-dev')).map((d) => d.id), ['d-ok']);
});

test('a fragment field stamped far in the future is taken as written at the server\'s clock plus the tolerance', async () => {
  const far = 9_999_999_999_999;
  const res = await collect(s.base, batch('future-dev', [{ id: 'fut-1', kind: 'fragment', at: T0, purpose: '',
    body: { fields: { 'consent.marketing.email': { value: 'granted', ts: far, origin: 'device:future-dev' } } } }]));
  assert.deepEqual(res.body.accepted, ['fut-1']);
  const profileId = s.store.profileIfKnown('shop', 'future-dev');
  assert.equal(s.store.getProfile('shop', profileId).fragment.fields['consent.marketing.email'].ts, T0 + FUTURE_TOLERANCE_MS);
  // A later write at an honest time wins once the clock passes the bound.
  s.clock.set(T0 + FUTURE_TOLERANCE_MS + MINUTE);
  try {
    const post = await fetch(`${s.base}/v1/profiles/future-dev/fragment`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-rekindle-key': KEY },
      body: JSON.stringify({ fields: { 'consent.marketing.email': { value: 'denied', ts: T0 + FUTURE_TOLERANCE_MS + MINUTE, origin: 'device:future-dev' },
        'attributes.x': { value: 1, ts: far, origin: 'device:future-dev' } } }) });
    assert.equal(post.status, 200);
    const fields = (await post.json()).fields;
    assert.equal(fields['consent.marketing.email'].value, 'denied');
    assert.equal(fields['attributes.x'].ts, T0 + 2 * FUTURE_TOLERANCE_MS + MINUTE);
  } finally {
    s.clock.set(T0);
  }
});

const SECRET = '0123456789abcdef0123456789abcdef0123';
const proofOf = (namespace, id) => createHmac('sha256', SECRET).update(`${namespace}:${id}`).digest('hex');
async function identify(deviceId, namespace, id) {
  const res = await fetch(`${s.base}/v1/identify`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-rekindle-key': KEY },
    body: JSON.stringify({ deviceId, namespace, id, proof: proofOf(namespace, id) }) });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()).profileId;
}
const consentRecord = (id, deviceId, value, ts) => ({ id, kind: 'fragment', at: ts, purpose: '',
  body: { fields: { 'consent.marketing.email': { value, ts, origin: `device:${deviceId}` } } } });

test('an opt-out from a device whose clock is 10 minutes slow wins over a grant made 2 minutes earlier', async () => {
  const SLOW = 10 * MINUTE;
  for (const order of [['A', 'B'], ['B', 'A']]) {
    const email = `bob-${order.join('')}@example.com`;
    const A = `skew-a-${order.join('')}`;
    const B = `skew-b-${order.join('')}`;
    const profileId = await identify(A, 'email', email);
    assert.equal(await identify(B, 'email', email), profileId);
    // A (right clock) grants at T0; B (10 minutes slow) denies at T0 + 2 minutes, by its clock T0 - 8 minutes.
    const grant = batch(A, [consentRecord(`grant-${A}`, A, 'granted', T0)], T0 + 1000);
    const deny = batch(B, [consentRecord(`deny-${B}`, B, 'denied', T0 + 2 * MINUTE - SLOW)], T0 + 2 * MINUTE - SLOW);
    const arrivals = { A: [T0 + 1000, grant], B: [T0 + 2 * MINUTE, deny] };
    try {
      for (const who of order) {
        s.clock.set(arrivals[who][0]);
        assert.equal((await collect(s.base, arrivals[who][1])).body.accepted.length, 1);
      }
      s.clock.set(T0 + 2 * MINUTE);
      const field = () => s.store.getProfile('shop', profileId).fragment.fields['consent.marketing.email'];
      assert.equal(field().value, 'denied', `arrival order ${order}`);
      assert.equal(field().ts, T0 + 2 * MINUTE, 'B\'s time moved onto the server\'s clock');
      assert.equal(s.store.db.prepare("SELECT json_extract(body, '$.fields.\"consent.marketing.email\".ts') AS ts, at FROM records WHERE site = 'shop' AND id = ?").get(`deny-${B}`).ts,
        T0 + 2 * MINUTE, 'the stored record holds the corrected time');
      // A resend with another sentAt (another estimate) is a duplicate and changes nothing.
      s.clock.set(T0 + 5 * MINUTE);
      const again = await collect(s.base, { ...deny, sentAt: new Date(T0 + 2 * MINUTE).toISOString() });
      assert.deepEqual(again.body.duplicates, [`deny-${B}`]);
      assert.equal(field().ts, T0 + 2 * MINUTE);
      // A message of the journey is suppressed at send time.
      const d = dispatchRecord(`skew-mail-${A}`, { due: new Date(T0 + 5 * MINUTE).toISOString() });
      assert.deepEqual((await collect(s.base, batch(A, [d], T0 + 5 * MINUTE))).body.accepted, [d.id]);
      await s.dispatcher.sendDue(100);
      assert.equal(s.store.getDispatch('shop', d.id).reason, 'consent:marketing.email:denied');
    } finally {
      s.clock.set(T0);
    }
  }
  assert.equal(smtp.messages.length, 0);
});

test('a device clock within the threshold of the server\'s is left as it is', async () => {
  const res = await collect(s.base, batch('skew-small', [consentRecord('small-1', 'skew-small', 'granted', T0 - 3000)], T0 - 3000));
  assert.deepEqual(res.body.accepted, ['small-1']);
  assert.equal(s.store.getProfile('shop', 'skew-small').fragment.fields['consent.marketing.email'].ts, T0 - 3000);
});

const LEAP = '2026-12-31T23:59:60Z';

test('a leap second passes the schema but no Date: the import line is rejected naming the path, the others imported', async () => {
  const res = await admin(s.base, '/v1/admin/import', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: ndjson([
    { type: 'event', identity: { namespace: 'crm', id: 'L1' }, event: { _id: 'leap-ok-1', eventType: 'commerce.purchases', timestamp: new Date(T0 - 2000).toISOString() } },
    { type: 'event', identity: { namespace: 'crm', id: 'L2' }, event: { _id: 'leap-bad', eventType: 'commerce.purchases', timestamp: LEAP } },
    { type: 'event', identity: { namespace: 'crm', id: 'L3' }, event: { _id: 'leap-ok-3', eventType: 'commerce.purchases', timestamp: new Date(T0 - 1000).toISOString() } },
  ]) });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.accepted, 2);
  assert.equal(body.rejected.length, 1);
  assert.equal(body.rejected[0].line, 2);
  // The event schema refuses the leap second itself, in the engine's words.
  assert.match(body.rejected[0].reason, /^\$\.event\.timestamp: is not a time the engine reads: .*no leap second/);
});

test('an imported event further ahead of the server\'s clock than the artifact\'s futureTolerance is rejected, not stored', async () => {
  const tolerance = 5 * MINUTE; // examples/abandoned-cart.json has no futureTolerance: the engine's default
  const body = await importLines([
    { type: 'event', identity: { namespace: 'crm', id: 'F1' }, event: { _id: 'future-ok', eventType: 'commerce.purchases', timestamp: new Date(T0 + tolerance).toISOString() } },
    { type: 'event', identity: { namespace: 'crm', id: 'F2' }, event: { _id: 'future-bad', eventType: 'commerce.purchases', timestamp: new Date(T0 + tolerance + 1000).toISOString() } },
  ]);
  assert.equal(body.accepted, 1);
  assert.equal(body.rejected.length, 1);
  assert.equal(body.rejected[0].line, 2);
  assert.match(body.rejected[0].reason, /^\$\.event\.timestamp: is 301 s after the server's clock, beyond the artifact's futureTolerance of 300 s/);
});

test('a leap second in a dispatch\'s due or an event\'s timestamp rejects that record by id; in sentAt it is a 400 naming it', async () => {
  const ev = { ...addToCart(T0), id: 'leap-event' };
  ev.body = { ...ev.body, _id: 'leap-event', timestamp: LEAP };
  const res = await collect(s.base, batch('leap-dev', [dispatchRecord('leap-due', { due: LEAP }), ev, addToCart(T0)]));
  assert.equal(res.status, 200);
  assert.equal(res.body.accepted.length, 1);
  const reasons = Object.fromEntries(res.body.rejected.map((r) => [r.id, r.reason]));
  assert.match(reasons['leap-due'], /^\$\.records\[0\]\.body\.due: is not a time this server can read/);
  assert.match(reasons['leap-event'], /^\$\.records\[1\]\.body\.timestamp: is not a time the engine reads/);
  const envelope = await collect(s.base, { ...batch('leap-dev', [addToCart(T0)]), sentAt: LEAP });
  assert.equal(envelope.status, 400);
  assert.match(envelope.body.error, /\$\.sentAt: is not a time this server can read/);
});

test('a site without write keys still refuses origins not on its list with 403, storing nothing', async () => {
  const keyless = await startServer({ sites: [{ id: 'shop', writeKeys: [], origins: ['https://shop.example'], artifact: new URL('../../examples/abandoned-cart.json', import.meta.url).pathname }] });
  try {
    const beacon = (origin, id) => collect(keyless.base, batch('d-keyless', [{ ...addToCart(T0), id, body: { ...addToCart(T0).body, _id: id } }]), { key: null, origin, contentType: 'text/plain' });
    const evil = await beacon('https://evil.example', 'keyless-evil');
    assert.equal(evil.status, 403);
    assert.match(evil.body.error, /origin is not allowed/);
    assert.equal((await fetch(`${keyless.base}/v1/artifact`, { headers: { origin: 'https://evil.example' } })).status, 403);
    assert.equal((await beacon('https://shop.example', 'keyless-shop')).status, 200);
    assert.equal((await beacon(undefined, 'keyless-no-origin')).status, 200, 'a request without an Origin (not a browser page) is taken');
    assert.deepEqual(keyless.store.recordIds('shop').sort(), ['keyless-no-origin', 'keyless-shop']);
  } finally {
    await keyless.close();
  }
});

test('the collection rate limit counts per site and address: a made-up key per request does not escape it', async () => {
  for (const writeKeys of [[], [KEY]]) {
    const limited = await startServer({ overrides: { rateLimit: { max: 3, windowMs: 60_000 } },
      sites: [{ id: 'shop', writeKeys, origins: ['*'], artifact: new URL('../../examples/abandoned-cart.json', import.meta.url).pathname }] });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i += 1) statuses.push((await collect(limited.base, batch('rl', [addToCart(T0 + i)]), { key: `made-up-${i}-${Math.random()}` })).status);
      assert.deepEqual(statuses, writeKeys.length === 0 ? [200, 200, 200, 429, 429] : [401, 401, 401, 429, 429], `writeKeys ${JSON.stringify(writeKeys)}`);
      if (writeKeys.length > 0) {
        // The site's own bucket is another one: its pages are not refused for what unknown keys did.
        assert.equal((await collect(limited.base, batch('rl', [addToCart(T0 + 9)]))).status, 200);
      }
    } finally {
      await limited.close();
    }
  }
});

test('identify and the fragment endpoint have a rate limit of their own per site and address', async () => {
  const limited = await startServer({ overrides: { rateLimit: { max: 100, windowMs: 60_000, profiles: { max: 2, windowMs: 60_000 } } } });
  try {
    const headers = { 'content-type': 'application/json', 'x-rekindle-key': KEY };
    const identifyOnce = () => fetch(`${limited.base}/v1/identify`, { method: 'POST', headers, body: JSON.stringify({ deviceId: 'rl-dev', namespace: 'crm', id: 'C-1' }) });
    const postFragment = () => fetch(`${limited.base}/v1/profiles/rl-dev/fragment`, { method: 'POST', headers, body: JSON.stringify({ fields: {} }) });
    const getFragment = () => fetch(`${limited.base}/v1/profiles/rl-dev/fragment`, { headers });
    for (const [name, call] of [['identify', identifyOnce], ['POST fragment', postFragment], ['GET fragment', getFragment]]) {
      const statuses = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await call()).status);
      assert.equal(statuses[2], 429, `${name}: ${statuses}`);
      assert.notEqual(statuses[0], 429, name);
    }
    assert.equal((await collect(limited.base, batch('rl-dev', [addToCart(T0)]))).status, 200, 'collection has its own budget');
  } finally {
    await limited.close();
  }
});

test('a passed deadline is run under a steady inflow of records that fills every batch', async () => {
  const busy = await startServer({ overrides: { scheduler: { enabled: false, batch: 2 } } });
  try {
    await collect(busy.base, batch('victim', [addToCart(T0)]));
    await busy.scheduler.tick();
    assert.equal(busy.store.getProfile('shop', 'victim').next_deadline, T0 + 30 * MINUTE);
    busy.clock.set(T0 + 31 * MINUTE);
    const qualified = () => busy.store.segmentMembers('shop', 'abandoned-cart', '', 10).some((m) => m.profileId === 'victim');
    let n = 0;
    // 25 visitors with new records before each round: more than the round's 10 batches of 2 can run.
    for (let round = 0; round < 2 && !qualified(); round += 1) {
      for (let i = 0; i < 25; i += 1, n += 1) busy.ingest.collect('shop', `busy-${n}`, [{ ...addToCart(busy.clock.now()), purpose: 'analytics' }]);
      await busy.scheduler.tick();
    }
    assert.ok(qualified(), 'the victim qualified for the abandoned cart while the inflow went on');
  } finally {
    await busy.close();
  }
});

test('dueProfiles keeps half of each batch for passed deadlines, and either kind takes what the other leaves', () => {
  const store = new SqliteStore(':memory:');
  try {
    for (let i = 0; i < 10; i += 1) {
      store.ensureProfile('shop', `dirty-${i}`, 0);
      store.markDirty('shop', `dirty-${i}`, 0);
    }
    for (let i = 0; i < 3; i += 1) {
      store.ensureProfile('shop', `late-${i}`, 0);
      store.db.prepare('UPDATE profiles SET next_deadline = ? WHERE profile_id = ?').run(100 + i, `late-${i}`);
    }
    const kinds = (list) => list.map((p) => p.profileId.split('-')[0]);
    assert.deepEqual(kinds(store.dueProfiles(1000, 4)), ['dirty', 'dirty', 'late', 'late']);
    assert.deepEqual(store.dueProfiles(1000, 4).slice(2).map((p) => p.profileId), ['late-0', 'late-1'], 'earliest deadline first');
    assert.deepEqual(kinds(store.dueProfiles(1000, 1)), ['late']);
    assert.deepEqual(kinds(store.dueProfiles(1000, 20)).filter((k) => k === 'late').length, 3);
    assert.equal(store.dueProfiles(1000, 20).length, 13);
    assert.deepEqual(kinds(store.dueProfiles(50, 4)), ['dirty', 'dirty', 'dirty', 'dirty'], 'no deadline passed yet: all dirty');
  } finally {
    store.close();
  }
});

test('a scheduler round sends due dispatches after each batch of runs, not after the whole backlog', async () => {
  const calls = [];
  const scheduler = new Scheduler({
    runner: { runDue: async (limit) => { calls.push('run'); return limit; } },
    dispatcher: { sendDue: async () => { calls.push('send'); return 0; } },
    config: { batch: 5 },
  });
  await scheduler.tick();
  assert.equal(calls[1], 'send', calls.join(' '));
  assert.equal(calls.filter((c) => c === 'run').length, 10, 'a round is still bounded');
});

test('dirty profiles are run longest waiting first: many changes do not send a profile to the back', () => {
  const store = new SqliteStore(':memory:');
  try {
    store.ensureProfile('shop', 'busy-early', 0);
    for (let i = 0; i < 5; i += 1) store.markDirty('shop', 'busy-early', 10 + i);
    for (let i = 0; i < 10; i += 1) {
      store.ensureProfile('shop', `new-${i}`, 0);
      store.markDirty('shop', `new-${i}`, 100 + i);
    }
    assert.deepEqual(store.dueProfiles(0, 2).map((p) => p.profileId), ['busy-early', 'new-0']);
    const plan = store.db.prepare('EXPLAIN QUERY PLAN SELECT site, profile_id AS profileId FROM profiles WHERE dirty > 0 ORDER BY due_since LIMIT 2').all();
    assert.match(plan.map((r) => r.detail).join(' '), /profiles_queue/, 'served by its index');
  } finally {
    store.close();
  }
});
