// A device whose clock is off: the server corrects its fragments' field times
// (so an opt-out is not lost to an older grant) but replays its records in the
// order the page applied them, so the page's engine and the server's compute
// the same journey entries and dispatch ids: one email, never two or none.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, startSmtpSink, collect, addToCart, fragmentRecord, KEY, T0, HOUR } from './harness.js';
import { createEngine } from '../../web/node.js';

const dir = mkdtempSync(join(tmpdir(), 'rekindle-skew-'));
const consent = { defaults: { analytics: 'granted', personalize: 'granted', 'marketing.email': 'pending' } };
const goldText = JSON.stringify({
  version: '1',
  segments: [{ id: 'gold', rule: { path: 'profile.tier', op: 'eq', value: 'gold' } }],
  consent,
  journeys: [{ id: 'gold-welcome', entry: { segment: 'gold' }, maxDuration: '7d',
    steps: [{ id: 'email', action: { channel: 'email', template: 'cart-reminder' } }] }],
});
const cartText = JSON.stringify({
  version: '1',
  segments: [{ id: 'abandoned-cart', rule: { sequence: [{ event: { type: 'commerce.productListAdds' } }, { absent: { type: 'commerce.purchases' }, for: '30m' }] } }],
  consent,
  journeys: [{ id: 'cart-recovery', entry: { segment: 'abandoned-cart' }, maxDuration: '7d',
    steps: [{ id: 'email', action: { channel: 'email', template: 'cart-reminder' } }] }],
});
writeFileSync(join(dir, 'gold.json'), goldText);
writeFileSync(join(dir, 'cart.json'), cartText);

let smtp;
const servers = [];
before(async () => { smtp = await startSmtpSink(); });
after(async () => {
  for (const s of servers) await s.close();
  await smtp.close();
  rmSync(dir, { recursive: true, force: true });
});

async function server(artifact) {
  const s = await startServer({ smtp, sites: [{ id: 'shop', writeKeys: [KEY], origins: ['*'], artifact: join(dir, artifact), trustPageIdentities: true }] });
  servers.push(s);
  return s;
}

// The page's engine qualifies on an attribute and makes the dispatch; the server's engine replays it.
async function attributeJourney(slowBy, label) {
  const s = await server('gold.json');
  const arrival = T0 + 2 * HOUR;
  s.clock.set(arrival);
  let deviceNow = arrival - slowBy - 1000;
  const deviceId = `skew-${label}`;
  const page = await createEngine({ deviceId, now: () => deviceNow });
  assert.ok(page.loadArtifact(goldText).ok);
  page.identify('email', `${label}@example.com`);
  page.setConsent({ 'marketing.email': 'granted' });
  page.setAttributes({ tier: 'gold' });
  const records = page.pending(500, 1 << 20);
  page.destroy();
  deviceNow += 1000;
  const res = await collect(s.base, { deviceId, sentAt: new Date(deviceNow).toISOString(), records });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.rejected, []);
  await s.runUntil(arrival + HOUR);
  const dispatches = s.store.db.prepare("SELECT id FROM dispatches WHERE site = 'shop'").all().map((d) => d.id);
  const mails = smtp.messages.filter((m) => m.to.includes(`${label}@example.com`)).length;
  return { dispatches, mails, pageDispatches: records.filter((r) => r.kind === 'dispatch').map((r) => r.id) };
}

test('a device an hour slow: the page and the server make one dispatch, and one email goes out', async () => {
  for (const [slowBy, label] of [[0, 'on-time'], [HOUR, 'slow']]) {
    const r = await attributeJourney(slowBy, label);
    assert.deepEqual(r.dispatches, r.pageDispatches, `${label}: the server's dispatch ids are the page's`);
    assert.equal(r.dispatches.length, 1, label);
    assert.equal(r.mails, 1, label);
  }
});

test('a device an hour slow: a grant then an add to cart in one batch still sends the abandoned-cart email', async () => {
  for (const [slowBy, label] of [[0, 'on-time'], [HOUR, 'slow']]) {
    const s = await server('cart.json');
    const arrival = T0 + 2 * HOUR;
    s.clock.set(arrival);
    const granted = arrival - slowBy - 3000; // the device's clock
    const deviceId = `skew-cart-${label}`;
    const res = await collect(s.base, { deviceId, sentAt: new Date(granted + 3000).toISOString(),
      records: [fragmentRecord(deviceId, granted, { consent: { 'marketing.email': 'granted' } }), addToCart(granted + 2000)] });
    assert.equal(res.status, 200);
    assert.equal(res.body.accepted.length, 2);
    await s.runUntil(arrival + 2 * HOUR);
    const n = s.store.db.prepare("SELECT COUNT(*) AS n FROM dispatches WHERE site = 'shop'").get().n;
    assert.equal(n, 1, `${label}: the consent applies before the cart's deadline passes`);
  }
});
