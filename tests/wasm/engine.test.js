// The wasm module in Node, through the npm package's public entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createEngine, RekindleOptionsError, RekindleConditionError } from 'rekindle';

const T0 = Date.parse('2026-12-04T15:53:00Z');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('loads in Node and reports its version', async () => {
  const rk = await createEngine();
  assert.match(rk.version, /^\d+\.\d+\.\d+$/);
  rk.destroy();
});

test('tracks a full event and a type + fields, ignoring duplicates', async () => {
  const rk = await createEngine({ now: () => T0 });
  const full = { _id: 'e-1', eventType: 'commerce.productListAdds', timestamp: '2026-12-04T15:53:00Z',
    productListItems: [{ SKU: 'sku-1', quantity: 1, priceTotal: 20 }] };
  assert.deepEqual(rk.track(full), { ok: true, duplicate: false, late: false, eventId: 'e-1', errors: [], transitions: [], effects: [] });
  assert.equal(rk.track(full).duplicate, true);
  const generated = rk.track('web.webpagedetails.pageViews', { web: { webPageDetails: { name: 'home' } } });
  assert.equal(generated.ok, true);
  assert.match(generated.eventId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(rk.stats(), { accepted: 2, duplicates: 1, outbox: 2, outboxDropped: 0 });
  rk.destroy();
});

test('an invalid event gets every error with its path', async () => {
  const rk = await createEngine();
  const r = rk.track({ eventType: 7, timestamp: 'soon', extra: 1, productListItems: [{ SKU: 1 }] });
  assert.equal(r.ok, false);
  const paths = r.errors.map((e) => e.path).sort();
  assert.deepEqual(paths, ['$._id', '$.eventType', '$.extra', '$.productListItems[0].SKU', '$.timestamp']);
  for (const e of r.errors) assert.ok(e.reason.length > 5, `reason for ${e.path}`);
  rk.destroy();
});

test('no malformed input makes the module abort', async () => {
  const rk = await createEngine();
  const circular = {};
  circular.self = circular;
  const texts = [
    'not json', '', '{', '[]', 'null', '"str"', '{"_id":', '\u0000\u0001', '\ud800',
    'x'.repeat(5_000_000), '['.repeat(20_000), '{"a":'.repeat(5_000),
    JSON.stringify({ _id: 'd', eventType: 'x', timestamp: '2026-12-04T15:53:00Z', data: { big: 'y'.repeat(40_000) } }),
  ];
  const values = [circular, 42, null, undefined, Symbol('s'), [1, 2], 'bad type!', 'x'.repeat(1_000_000)];
  const results = [...texts.map((t) => rk.trackJson(t)), ...values.map((v) => rk.track(v)), rk.trackJson(42),
    rk.setAttributes('x'), rk.identify('email', 42), rk.setConsent([]), rk.advance('soon')];
  for (const [i, r] of results.entries()) {
    assert.equal(r.ok, false, `input ${i} is refused`);
    // Refused in JS or in the module, the result has the documented shape (index.d.ts).
    assert.ok(Array.isArray(r.effects) && Array.isArray(r.transitions), `input ${i}: ${JSON.stringify(r)}`);
    assert.ok(r.errors.length >= 1);
    assert.ok(r.errors.every((e) => typeof e.path === 'string' && e.path.startsWith('$') && e.reason));
  }
  assert.match(rk.trackJson('['.repeat(20_000)).errors[0].reason, /deeper than 32/);
  assert.match(rk.trackJson('x'.repeat(5_000_000)).errors[0].reason, /over the limit of 32768 bytes/);
  assert.match(rk.trackJson('{"_id": }').errors[0].reason, /not valid JSON: parse error at line 1, column 9/);
  assert.match(rk.track(circular).errors[0].reason, /cannot be serialized/);
  assert.match(rk.track(42).errors[0].reason, /must be an object or an event type string, not number/);
  // The same texts as conditions: each refused with errors, none aborts.
  for (const t of [...texts, '{"path":"profile.a","op":"eq","value":'.repeat(300)]) {
    assert.throws(() => rk.condition(t), (err) => err.name === 'RekindleConditionError' && err.errors.length >= 1
      && err.errors.every((e) => e.path.startsWith('$') && e.reason), `condition ${t.slice(0, 20)} is refused`);
  }
  // Still alive and correct afterwards.
  const ok = rk.track('commerce.purchases', { commerce: { order: { priceTotal: 10 } } });
  assert.equal(ok.ok, true);
  rk.destroy();
});

test('options are validated with clear errors', async () => {
  await assert.rejects(createEngine({ endpont: '/collect' }), (err) => {
    assert.ok(err instanceof RekindleOptionsError);
    assert.equal(err.option, 'endpont');
    assert.match(err.message, /"endpont" is not a known option/);
    return true;
  });
  await assert.rejects(createEngine({ now: 5 }), /"now" must be a function/);
  await assert.rejects(createEngine('yes'), /"options" must be an object/);
});

test('using the engine after destroy() is a clear error', async () => {
  const rk = await createEngine();
  rk.destroy();
  rk.destroy();
  assert.throws(() => rk.track('x.y'), /track\(\) called after destroy\(\)/);
});

test('an artifact qualifies segments through the JS API, with deadlines', async () => {
  let clock = T0;
  const rk = await createEngine({
    now: () => clock,
    artifact: {
      version: '1',
      segments: [{ id: 'abandoned-cart', rule: { sequence: [
        { event: { type: 'commerce.productListAdds' } },
        { absent: { type: 'commerce.purchases' }, for: '30m' },
      ] } }],
    },
  });
  assert.equal(rk.nextDeadline(), null);
  rk.track('commerce.productListAdds', { productListItems: [{ SKU: 'sku-1' }] });
  assert.equal(rk.nextDeadline(), T0 + 30 * 60_000);
  clock = T0 + 2 * 86_400_000;
  const advanced = rk.advance();
  assert.deepEqual(advanced.transitions, [{ segment: 'abandoned-cart', status: 'realized', at: '2026-12-04T16:23:00.000Z' }]);
  assert.deepEqual(rk.segments(), [{ segment: 'abandoned-cart', status: 'existing', since: '2026-12-04T16:23:00.000Z' }]);
  const bought = rk.track('commerce.purchases', { commerce: { order: { priceTotal: 10 } } });
  assert.equal(bought.transitions[0].status, 'exited');
  assert.deepEqual(rk.segments(), []);
  rk.destroy();
});

test('an invalid artifact is refused with every error and the old one stays', async () => {
  const rk = await createEngine({ artifact: { version: '1', segments: [{ id: 'gold', rule: { path: 'profile.tier', op: 'eq', value: 'gold' } }] } });
  const bad = rk.loadArtifact({ version: '2', segments: [{ id: 'x', rule: { path: 'profile.a', op: 'like', value: 1 } }, { id: 'y', rule: { segment: 'nope' } }] });
  assert.equal(bad.ok, false);
  assert.deepEqual(bad.errors.map((e) => e.path), ['$.segments[0].rule.op', '$.segments[1].rule.segment']);
  assert.equal(rk.setAttributes({ tier: 'gold' }).transitions[0].segment, 'gold');
  assert.equal(rk.loadArtifact('{"version":').ok, false);
  rk.destroy();
  await assert.rejects(createEngine({ artifact: { segments: [] } }), (err) => {
    assert.equal(err.name, 'RekindleArtifactError');
    assert.deepEqual(err.errors, [{ path: '$.version', reason: 'is required' }]);
    return true;
  });
});

test('a compiled condition tests the profile and memberships as they change, with consent', async () => {
  let clock = T0;
  const rk = await createEngine({
    now: () => clock,
    artifact: {
      version: '1',
      consent: { defaults: { personalize: 'granted' } },
      segments: [{ id: 'carted', rule: { count: { event: { type: 'commerce.productListAdds' } }, op: 'gte', value: 1 } }],
    },
  });
  const goldFr = rk.condition({ and: [
    { path: 'profile.tier', op: 'in', value: ['gold', 'platinum'] },
    { path: 'profile.address.country', op: 'eq', value: 'FR' },
  ] });
  const carted = rk.condition('{"segment": "carted"}');
  assert.equal(goldFr.test(), false);
  rk.setAttributes({ tier: 'gold', address: { country: 'FR' } });
  assert.equal(goldFr.test(), true);
  rk.setAttributes({ address: { country: 'DE' } });
  assert.equal(goldFr.test(), false);
  rk.setAttributes({ address: { country: 'FR' } });
  assert.equal(carted.test(), false);
  rk.track('commerce.productListAdds', { productListItems: [{ SKU: 'sku-1' }] });
  assert.equal(carted.test(), true);
  rk.setConsent({ personalize: 'denied' });
  assert.equal(goldFr.test(), false, 'no personalization without consent');
  assert.equal(carted.test(), false);
  rk.setConsent({ personalize: 'granted' });
  assert.equal(goldFr.test(), true);
  // A restore keeps the conditions: they hold no state of the engine's.
  const saved = rk.snapshot();
  rk.setAttributes({ tier: 'silver' });
  assert.equal(goldFr.test(), false);
  assert.equal(rk.restore(saved).ok, true);
  assert.equal(goldFr.test(), true);
  goldFr.dispose();
  goldFr.dispose();
  assert.throws(() => goldFr.test(), /disposed condition/);
  assert.equal(carted.test(), true, 'disposing one condition leaves the others');
  rk.destroy();
  assert.throws(() => carted.test(), /called after destroy\(\)/);
  carted.dispose();
});

test('a condition dropped without dispose() is freed once collected', () => {
  // A child with --expose-gc: 40,000 conditions compiled and dropped, a
  // collection after each thousand. The wasm memory never grows (without the
  // finalization it grows by about 50 MB).
  const script = `
    const grow = WebAssembly.Memory.prototype.grow;
    let pages = 0;
    WebAssembly.Memory.prototype.grow = function counted(n) { pages += n; return grow.call(this, n); };
    const { createEngine } = await import('rekindle');
    const rk = await createEngine();
    const rule = { and: [{ path: 'profile.tier', op: 'in', value: ['gold', 'platinum'] }, { segment: 'vip' }] };
    for (let batch = 0; batch < 40; ++batch) {
      for (let i = 0; i < 1000; ++i) rk.condition(rule).test();
      globalThis.gc();
      await new Promise((r) => setTimeout(r, 0));
    }
    console.log(JSON.stringify({ pages }));`;
  const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT });
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), { pages: 0 });
});

test('an invalid condition throws with every problem and its path', async () => {
  const rk = await createEngine();
  const refused = (rule, expected) => assert.throws(() => rk.condition(rule), (err) => {
    assert.ok(err instanceof RekindleConditionError);
    assert.deepEqual(err.errors.map((e) => e.path), expected);
    assert.match(err.message, /the condition is invalid/);
    return true;
  });
  refused({ and: [{ path: 'profile.tier', op: 'like', value: 1 }, { path: 'tier', op: 'eq', value: 1 }] }, ['$.and[0].op', '$.and[1].path']);
  refused({ or: [{ count: { event: { type: 'commerce.purchases' } }, op: 'gte', value: 1 }] }, ['$.or[0].count']);
  refused('{"and": [', ['$']);
  refused(42, ['$']);
  const cyclic = {};
  cyclic.self = cyclic;
  refused(cyclic, ['$']);
  // The engine goes on: a valid condition compiles after the refusals.
  rk.setConsent({ personalize: 'granted' });
  rk.setAttributes({ tier: 'gold' });
  assert.equal(rk.condition({ path: 'profile.tier', op: 'eq', value: 'gold' }).test(), true);
  rk.destroy();
});

test('state() holds the profile, consent and journeys, and not the history', async () => {
  let now = T0;
  const rk = await createEngine({ now: () => now, artifact: {
    version: 'state',
    consent: { defaults: { analytics: 'granted' } },
    segments: [{ id: 'cart', rule: { sequence: [{ event: { type: 'commerce.productListAdds' } },
      { absent: { type: 'commerce.purchases' }, for: '30m' }] } }],
    journeys: [{ id: 'reminder', entry: { segment: 'cart' }, maxDuration: '7d', steps: [{ id: 'wait', wait: '1d' }] }],
  } });
  rk.setAttributes({ firstName: 'Ada', address: { city: 'Lyon' } });
  rk.identify('email', 'ada@example.com');
  rk.setConsent({ personalize: 'granted' });
  rk.track('commerce.productListAdds', { productListItems: [{ SKU: 'sku-1' }] });
  now += 31 * 60_000;
  rk.advance();
  const small = rk.state();
  assert.equal(small.clock, now);
  assert.equal(small.profile.fields['attributes.firstName'].value, 'Ada');
  assert.equal(small.profile.fields['attributes.address.city'].value, 'Lyon');
  assert.deepEqual(small.profile.identities.email, ['ada@example.com']);
  assert.equal(small.consent.personalize.state, 'granted');
  assert.equal(small.consent.personalize.decided, true);
  assert.equal(small.consent['marketing.email'].state, 'pending');
  assert.deepEqual(small.journeys.active.map((a) => a.journey), ['reminder']);
  assert.equal(small.journeys.active[0].wake, T0 + 30 * 60_000 + 86_400_000);  // the cart counts as abandoned at +30 min
  // The parts are those of the snapshot; the history, the outbox and the
  // artifact are left out, so the size does not grow with the events.
  const snapshot = JSON.parse(rk.snapshot());
  for (const part of ['profile', 'consent', 'journeys']) assert.deepEqual(small[part], snapshot[part], part);
  assert.deepEqual(Object.keys(small).sort(), ['clock', 'consent', 'journeys', 'profile', 'profileId']);
  for (let i = 0; i < 300; ++i) rk.track('web.webpagedetails.pageViews', { web: { webPageDetails: { name: `p${i}` } } });
  assert.equal(JSON.stringify(rk.state()).length, JSON.stringify(small).length);
  assert.ok(rk.snapshot().length > 10 * JSON.stringify(small).length);
  rk.destroy();
  assert.throws(() => rk.state(), /state\(\) called after destroy\(\)/);
});

test('a snapshot restored in another engine continues identically', async () => {
  let clock = T0;
  const artifact = { version: '1', segments: [{ id: 'abandoned-cart', rule: { sequence: [
    { event: { type: 'commerce.productListAdds' } }, { absent: { type: 'commerce.purchases' }, for: '30m' }] } }] };
  const a = await createEngine({ now: () => clock, artifact });
  a.track('commerce.productListAdds');
  const saved = a.snapshot();
  const b = await createEngine({ now: () => clock });
  assert.equal(b.restore(saved).ok, true);
  assert.equal(b.nextDeadline(), T0 + 30 * 60_000);
  clock += 3_600_000;
  assert.deepEqual(b.advance(), a.advance());
  assert.equal(b.snapshot(), a.snapshot());
  const refused = b.restore(saved.slice(0, 40));
  assert.equal(refused.ok, false);
  assert.match(refused.errors[0].reason, /not valid JSON/);
  assert.equal(b.snapshot(), a.snapshot());
  assert.match(b.restore({}).errors[0].reason, /must be JSON text/);
  a.destroy();
  b.destroy();
});

// Text that may need more than the scratch buffer (1 MiB of UTF-8) is written
// into the module's memory on its own: straight in when it is ASCII, else at
// its exact size. Each kind must arrive whole.
test('big text goes in whole: ASCII, multi-byte characters and a lone surrogate', async () => {
  const rk = await createEngine({ now: () => T0 });
  rk.setAttributes({ tier: 'gold' });
  // 40 offers of 10,000 characters elsewhere make the text big; the hero's title is checked.
  const filler = Array.from({ length: 40 }, (_, i) => ({ id: `f${i}`, placements: ['side'], content: { title: 'x'.repeat(10_000) } }));
  const artifact = (title) => ({ version: '1', placements: [{ id: 'hero' }, { id: 'side' }],
    consent: { defaults: { personalize: 'granted' } },
    offers: [{ id: 'o', placements: ['hero'], eligibility: { path: 'profile.tier', op: 'eq', value: 'gold' }, content: { title } },
      ...filler] });
  const cases = [
    ['ascii', 'plain', 'plain'],
    ['multi-byte', 'é€😀', 'é€😀'],
    ['lone surrogate', '\ud800-end', '\ufffd-end'],
  ];
  for (const [what, title, expected] of cases) {
    // JSON.stringify escapes a lone surrogate: put the raw one back, as a page could hand it over.
    const text = JSON.stringify(artifact(title)).replace('\\ud800', '\ud800');
    assert.ok(text.length * 3 > 1 << 20, `${what}: the text must take the big path`);
    const r = rk.loadArtifact(text);
    assert.equal(r.ok, true, `${what}: ${JSON.stringify(r.errors)}`);
    assert.equal(rk.decide('hero').content.title, expected, what);
  }
  const saved = rk.snapshot();
  const other = await createEngine({ now: () => T0 });
  assert.equal(other.restore(saved).ok, true);
  assert.equal(other.snapshot(), saved);
  rk.destroy();
  other.destroy();
});

test('the example journey through the JS API: tile, consent-checked email, conversion', async () => {
  const { readFile } = await import('node:fs/promises');
  const artifact = JSON.parse(await readFile(new URL('../../examples/abandoned-cart.json', import.meta.url), 'utf8'));
  // A profile in the treatment arm (the split is deterministic per profile).
  let rk;
  let clock = T0;
  for (let i = 0; ; i++) {
    rk = await createEngine({ deviceId: `visitor-${i}`, now: () => clock, artifact });
    rk.track('commerce.productListAdds');
    const r = rk.advance(T0 + 30 * 60_000);
    if (r.effects.some((e) => e.type === 'offer.show')) break;
    rk.destroy();
    clock = T0;
  }
  const hero = rk.decide('hero');
  assert.equal(hero.offer, 'cart-10');
  assert.equal(hero.content.title, 'Still thinking it over, there?');
  assert.equal(rk.decide('nowhere'), null);
  assert.deepEqual(rk.setConsent({ 'marketing.email': 'granted' }).effects.map((e) => [e.type, e.purpose, e.to]),
    [['consent.changed', 'marketing.email', 'granted']]);
  clock = T0 + 30 * 60_000 + 86_400_000;
  const day = rk.advance();
  const email = day.effects.find((e) => e.type === 'dispatch.request');
  assert.equal(email.channel, 'email');
  assert.equal(email.at, new Date(clock).toISOString());
  const pending = rk.pending(100);
  assert.ok(pending.some((r) => r.id === email.dispatch && r.kind === 'dispatch' && r.purpose === 'marketing.email'));
  clock += 3_600_000;
  const bought = rk.track('commerce.purchases', { commerce: { order: { priceTotal: 80 } } });
  assert.deepEqual(bought.effects.map((e) => e.type), ['offer.withdraw', 'dispatch.cancelled', 'journey.converted', 'segment.exited']);
  assert.equal(rk.decide('hero'), null);
  const ids = rk.pending(1000).map((r) => r.id);
  assert.ok(!ids.includes(email.dispatch), 'the cancelled dispatch left the outbox');
  assert.equal(rk.ack(ids), ids.length);
  assert.deepEqual(rk.pending(), []);
  assert.throws(() => rk.ack('x'), /needs an array/);
  rk.destroy();
});

test('a denied purpose purges what waits for it and nothing for it is sent', async () => {
  let clock = T0;
  const rk = await createEngine({ now: () => clock, artifact: { version: '1', consent: { defaults: { analytics: 'pending' } } } });
  rk.track('web.webpagedetails.pageViews');
  assert.deepEqual(rk.pending(), [], 'analytics pending: held on the device');
  assert.equal(rk.stats().outbox, 1);
  rk.setConsent({ analytics: 'granted' });
  const kinds = () => rk.pending().map((r) => r.kind).sort();
  // The event, and the consent decision itself (a profile fragment the server needs).
  assert.deepEqual(kinds(), ['event', 'fragment']);
  rk.setConsent({ analytics: 'denied' });
  assert.deepEqual(kinds(), ['fragment', 'fragment']);
  rk.track('web.webpagedetails.pageViews');
  assert.deepEqual(kinds(), ['fragment', 'fragment'], 'nothing more is collected for a denied purpose');
  assert.equal(rk.setConsent({ analytics: 'maybe' }).ok, false);
  assert.equal(rk.setConsent('yes').ok, false);
  rk.destroy();
});
