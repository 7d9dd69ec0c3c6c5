// The server-side run of the engine and dispatch: the visitor who left is
// qualified by the server's scheduler and gets exactly one email a day
// later; a purchase, a cancellation or a consent withdrawal stops it; the
// page and the server computing the same dispatch send one email.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, startSmtpSink, startSmsWebhook, collect, batch, addToCart, purchase, fragmentRecord, admin, eventRecord, KEY,
  T0, MINUTE, HOUR, DAY,
} from './harness.js';
import { createEngine } from '../../web/node.js';
import { readFileSync } from 'node:fs';

const artifact = JSON.parse(readFileSync(new URL('../../examples/abandoned-cart.json', import.meta.url), 'utf8'));
// visitor-1 lands in the treatment arm of the example's split; visitor-13 in the holdout (examples/README.md).
const TREATMENT = 'visitor-1';
const HOLDOUT = 'visitor-13';
const ENTRY = T0 + 30 * MINUTE;
const EMAIL_DUE = ENTRY + DAY;

let smtp;
let sms;
let s;
beforeEach(async () => {
  smtp = await startSmtpSink();
  sms = await startSmsWebhook();
  s = await startServer({ smtp, sms });
});
afterEach(async () => {
  await s.close();
  await smtp.close();
  await sms.close();
});

const consentAndEmail = (device, at = T0 - MINUTE) =>
  fragmentRecord(device, at, { consent: { 'marketing.email': 'granted', 'marketing.sms': 'granted' }, attributes: { firstName: 'Ada' }, identities: { email: [`${device}@example.com`], phone: [device === HOLDOUT ? '+15550113' : '+15550100'] } });

const dispatches = () => s.store.dispatchesOf('shop');

test('a visitor who added to cart and went silent gets exactly one email, at +1 day, by the server alone', async () => {
  const res = await collect(s.base, batch(TREATMENT, [consentAndEmail(TREATMENT), addToCart(T0)]));
  assert.equal(res.body.accepted.length, 2);
  await s.runUntil(EMAIL_DUE - MINUTE);
  assert.equal(smtp.messages.length, 0, 'nothing before the email step is due');
  const pending = dispatches();
  assert.equal(pending.length, 0, 'the email step has not run yet');
  assert.equal(s.store.segmentMembers('shop', 'abandoned-cart', '', 10).length, 1, 'the server qualified the visitor');
  await s.runUntil(EMAIL_DUE + 2 * HOUR);
  assert.equal(smtp.messages.length, 1);
  const [mail] = smtp.messages;
  assert.deepEqual(mail.to, ['visitor-1@example.com']);
  assert.match(mail.raw, /Subject: Ada, your cart is waiting/);
  assert.match(mail.raw, /X-Rekindle-Dispatch: 544156967f3e46a9/);
  const [d] = dispatches();
  assert.equal(d.id, '544156967f3e46a9', 'the id the page would derive for visitor-1 (docs/journeys.md)');
  assert.equal(d.status, 'sent');
  assert.equal(d.due, EMAIL_DUE);
  // More rounds, more days: still one email; the SMS follows two days later.
  await s.runUntil(EMAIL_DUE + 2 * DAY + HOUR, HOUR);
  assert.equal(smtp.messages.length, 1);
  assert.equal(sms.calls.length, 1);
  assert.equal(sms.calls[0].body.to, '+15550100');
  assert.equal(sms.calls[0].headers['idempotency-key'], sms.calls[0].body.dispatch);
});

test('a purchase that arrives before the email is due ends the journey: no email', async () => {
  await collect(s.base, batch(TREATMENT, [consentAndEmail(TREATMENT), addToCart(T0)]));
  await s.runUntil(ENTRY + HOUR);
  assert.equal(s.store.segmentMembers('shop', 'abandoned-cart', '', 10).length, 1);
  await s.runUntil(ENTRY + 2 * HOUR);
  await collect(s.base, batch(TREATMENT, [purchase(ENTRY + 2 * HOUR)]));
  await s.runUntil(EMAIL_DUE + DAY);
  assert.equal(smtp.messages.length, 0);
  const conversions = s.store.recordsOfKinds('shop', ['conversion'], 0, Infinity);
  assert.equal(conversions.length, 1);
  assert.equal(conversions[0].body.arm, 'treatment');
});

test('a purchase within 30 minutes means no abandoned cart at all', async () => {
  await collect(s.base, batch(TREATMENT, [consentAndEmail(TREATMENT), addToCart(T0), purchase(T0 + 10 * MINUTE)]));
  await s.runUntil(EMAIL_DUE + DAY);
  assert.equal(smtp.messages.length, 0);
  assert.equal(s.store.recordsOfKinds('shop', ['journey'], 0, Infinity).length, 0);
});

test('an offline purchase from the bulk import converts the journey', async () => {
  await collect(s.base, batch(TREATMENT, [consentAndEmail(TREATMENT), addToCart(T0)]));
  await s.runUntil(ENTRY + 3 * HOUR);
  const line = { type: 'event', identity: { namespace: 'email', id: 'visitor-1@example.com' },
    event: { _id: 'pos-1', eventType: 'commerce.purchases', timestamp: new Date(ENTRY + 3 * HOUR).toISOString() } };
  const res = await admin(s.base, '/v1/admin/import', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: `${JSON.stringify(line)}\n` });
  assert.deepEqual(await res.json(), { lines: 1, accepted: 1, duplicates: 0, rejected: [] });
  await s.runUntil(EMAIL_DUE + DAY);
  assert.equal(smtp.messages.length, 0);
  assert.equal(s.store.recordsOfKinds('shop', ['conversion'], 0, Infinity).length, 1);
});

test('the same dispatch computed by the page and by the server is stored and sent once', async () => {
  // The page's own engine, on the same artifact and events, reopened a day later.
  let now = T0 - MINUTE;
  const page = await createEngine({ deviceId: TREATMENT, artifact, now: () => now });
  page.setConsent({ 'marketing.email': 'granted' });
  now = T0;
  page.track({ _id: 'cart-1', eventType: 'commerce.productListAdds', timestamp: new Date(T0).toISOString() });
  await collect(s.base, batch(TREATMENT, [consentAndEmail(TREATMENT), { ...addToCart(T0), id: 'cart-1', body: { _id: 'cart-1', eventType: 'commerce.productListAdds', timestamp: new Date(T0).toISOString() } }]));
  await s.runUntil(EMAIL_DUE + HOUR);
  now = EMAIL_DUE + HOUR;
  page.advance(now);
  const fromPage = page.pending(500, 1 << 22).filter((r) => r.kind === 'dispatch');
  assert.equal(fromPage.length, 1);
  assert.equal(fromPage[0].id, dispatches()[0].id);
  const res = await collect(s.base, batch(TREATMENT, fromPage));
  assert.deepEqual(res.body.duplicates, [fromPage[0].id]);
  await s.runUntil(EMAIL_DUE + 3 * HOUR);
  assert.equal(smtp.messages.length, 1);
  page.destroy();
});

test('a dispatch the page computed first is sent once, even when the server computes it later', async () => {
  let now = T0 - MINUTE;
  const page = await createEngine({ deviceId: TREATMENT, artifact, now: () => now });
  page.setConsent({ 'marketing.email': 'granted' });
  now = T0;
  page.track({ _id: 'cart-2', eventType: 'commerce.productListAdds', timestamp: new Date(T0).toISOString() });
  now = EMAIL_DUE;
  page.advance(now);
  const records = page.pending(500, 1 << 22);
  s.clock.set(EMAIL_DUE);
  await collect(s.base, batch(TREATMENT, [consentAndEmail(TREATMENT), ...records]));
  await s.scheduler.tick();
  await s.scheduler.tick();
  await s.runUntil(EMAIL_DUE + DAY, HOUR);
  assert.equal(smtp.messages.length, 1);
  page.destroy();
});

test('a device that joins the profile after its email was sent does not get the email again', async () => {
  // The phone's visitor gets the email; later they log in on a laptop whose profile id is smaller,
  // so the phone's profile moves into it and its engine replays under the other id.
  const phone = 'visitor-2';
  await collect(s.base, batch(phone, [consentAndEmail(phone), addToCart(T0)]));
  await s.runUntil(EMAIL_DUE + HOUR);
  assert.equal(smtp.messages.length, 1);
  const [first] = dispatches();
  s.ingest.identify('shop', TREATMENT, 'email', `${phone}@example.com`);
  assert.deepEqual(s.store.devicesOf('shop', TREATMENT), [phone, TREATMENT].sort());
  await s.runUntil(EMAIL_DUE + 3 * HOUR);
  assert.equal(smtp.messages.length, 1, 'the replayed journey computed the email again, and it was not sent');
  const twin = dispatches().find((d) => d.id !== first.id && d.step === first.step);
  assert.ok(twin, 'the replay under the merged profile id computed a dispatch of its own');
  assert.equal(twin.due, first.due);
  assert.equal(twin.status, 'suppressed');
  assert.equal(twin.reason, 'duplicate');
  assert.match(s.store.deliveriesOf('shop', twin.id).at(-1).detail, new RegExp(`already sent as ${first.id}`));
  // The report counts one visitor who entered once and got one email.
  const report = await (await admin(s.base, `/v1/admin/reports/journeys?to=${new Date(EMAIL_DUE + 4 * HOUR).toISOString()}`)).json();
  const j = report.journeys.find((x) => x.id === 'cart-recovery');
  assert.equal(j.entered, 1);
  assert.equal(j.steps.find((x) => x.step === first.step).sent, 1);
});

test('a cancellation from the page stops a queued dispatch', async () => {
  const d = { dispatch: 'dd00000000000001', channel: 'email', template: 'cart-reminder', journey: 'cart-recovery', instance: 'ii00000000000001', step: 'email', due: new Date(T0 + HOUR).toISOString() };
  await collect(s.base, batch(TREATMENT, [consentAndEmail(TREATMENT), { id: d.dispatch, kind: 'dispatch', at: T0, purpose: 'marketing.email', body: d }]));
  await collect(s.base, batch(TREATMENT, [{ id: 'cancel-1', kind: 'dispatch.cancel', at: T0 + 1, purpose: '', body: { dispatch: d.dispatch, journey: d.journey, instance: d.instance } }]));
  await s.runUntil(T0 + DAY);
  assert.equal(smtp.messages.length, 0);
  assert.equal(s.store.getDispatch('shop', d.dispatch).status, 'cancelled');
  // A cancellation that arrives before its dispatch still wins.
  const e = { ...d, dispatch: 'dd00000000000002' };
  await collect(s.base, batch(TREATMENT, [{ id: 'cancel-2', kind: 'dispatch.cancel', at: T0 + 2, purpose: '', body: { dispatch: e.dispatch, journey: e.journey, instance: e.instance } }]));
  await collect(s.base, batch(TREATMENT, [{ id: e.dispatch, kind: 'dispatch', at: T0, purpose: 'marketing.email', body: e }]));
  await s.runUntil(T0 + 2 * DAY);
  assert.equal(smtp.messages.length, 0);
  assert.equal(s.store.getDispatch('shop', e.dispatch).status, 'cancelled');
});

test('consent withdrawn on the server before send time stops delivery, and the reason is kept', async () => {
  await collect(s.base, batch(TREATMENT, [consentAndEmail(TREATMENT), addToCart(T0)]));
  await s.runUntil(ENTRY + HOUR);
  await collect(s.base, batch(TREATMENT, [fragmentRecord(TREATMENT, ENTRY + 2 * HOUR, { consent: { 'marketing.email': 'denied' } })]));
  await s.runUntil(EMAIL_DUE + DAY);
  assert.equal(smtp.messages.length, 0);
  const suppressed = s.store.recordsOfKinds('shop', ['suppressed'], 0, Infinity);
  assert.equal(suppressed.length, 1);
  assert.equal(suppressed[0].body.reason, 'consent:marketing.email:denied');
});

test('consent is checked at send time from the server profile, whoever computed the dispatch', async () => {
  // The page says granted and computed the dispatch; the server's copy was then denied by a later write (another device).
  const d = { dispatch: 'dd00000000000003', channel: 'email', template: 'cart-reminder', journey: 'cart-recovery', instance: 'ii00000000000003', step: 'email', due: new Date(T0 + HOUR).toISOString() };
  await collect(s.base, batch(TREATMENT, [consentAndEmail(TREATMENT)]));
  const later = await fetch(`${s.base}/v1/profiles/${TREATMENT}/fragment`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-rekindle-key': 'site-key-1' },
    body: JSON.stringify({ fields: { 'consent.marketing.email': { value: 'denied', ts: T0, origin: 'device:laptop' } } }) });
  assert.equal(later.status, 200);
  await collect(s.base, batch(TREATMENT, [{ id: d.dispatch, kind: 'dispatch', at: T0, purpose: 'marketing.email', body: d }]));
  await s.runUntil(T0 + 2 * HOUR);
  assert.equal(smtp.messages.length, 0);
  const row = s.store.getDispatch('shop', d.dispatch);
  assert.equal(row.status, 'suppressed');
  assert.equal(row.reason, 'consent:marketing.email:denied');
});

test('the recipient comes from the server profile: a profile without an email identity gets nothing', async () => {
  await collect(s.base, batch(TREATMENT, [fragmentRecord(TREATMENT, T0 - MINUTE, { consent: { 'marketing.email': 'granted' } }), addToCart(T0)]));
  await s.runUntil(EMAIL_DUE + HOUR);
  assert.equal(smtp.messages.length, 0);
  assert.equal(dispatches()[0].status, 'suppressed');
  assert.equal(dispatches()[0].reason, 'no-recipient:email');
});

test('a failing SMTP server is retried with backoff, then dead-lettered; the report counts it', async () => {
  smtp.failNext(100);
  await collect(s.base, batch(TREATMENT, [consentAndEmail(TREATMENT), addToCart(T0)]));
  await s.runUntil(EMAIL_DUE, MINUTE);
  let d = dispatches()[0];
  assert.equal(d.status, 'retry');
  assert.equal(d.attempts, 1);
  assert.ok(d.next_try > s.clock.now(), 'waits before the next attempt');
  await s.runUntil(EMAIL_DUE + DAY, MINUTE);
  d = dispatches()[0];
  assert.equal(d.status, 'dead');
  assert.equal(d.attempts, 3);
  assert.match(d.reason, /failed 3 times: .*451/);
  assert.equal(s.store.deliveriesOf('shop', d.id).length, 3);
  assert.equal(smtp.messages.length, 0);
  const report = await (await admin(s.base, '/v1/admin/reports/journeys')).json();
  assert.equal(report.deadLetters, 1);
  const dead = await (await admin(s.base, '/v1/admin/dispatches?status=dead')).json();
  assert.equal(dead.length, 1);
  assert.equal(dead[0].deliveries.length, 3);
});

test('a failure then a success sends once', async () => {
  smtp.failNext(1);
  await collect(s.base, batch(TREATMENT, [consentAndEmail(TREATMENT), addToCart(T0)]));
  await s.runUntil(EMAIL_DUE + HOUR, MINUTE);
  assert.equal(smtp.messages.length, 1);
  assert.equal(dispatches()[0].status, 'sent');
  assert.equal(dispatches()[0].attempts, 2);
});

test('holdout: the visitor in the holdout arm gets no message, and the report compares the arms', async () => {
  await collect(s.base, batch(HOLDOUT, [consentAndEmail(HOLDOUT), addToCart(T0)]));
  await collect(s.base, batch(TREATMENT, [consentAndEmail(TREATMENT), addToCart(T0)]));
  await s.runUntil(EMAIL_DUE + HOUR);
  assert.equal(smtp.messages.length, 1, 'only the treatment visitor');
  await s.runUntil(EMAIL_DUE + 2 * HOUR);
  await collect(s.base, batch(TREATMENT, [purchase(EMAIL_DUE + 2 * HOUR)]));
  await s.runUntil(EMAIL_DUE + 3 * HOUR);
  const report = await (await admin(s.base, '/v1/admin/reports/journeys')).json();
  const j = report.journeys.find((x) => x.id === 'cart-recovery');
  assert.equal(j.entered, 2);
  assert.equal(j.converted, 1);
  assert.deepEqual(j.comparison.treatment, { n: 1, conversions: 1, rate: 1 });
  assert.deepEqual(j.comparison.holdout, { n: 1, conversions: 0, rate: 0 });
  assert.equal(j.comparison.difference.value, 1);
  assert.equal(j.funnel.emailSent, 1);
  const csv = await (await admin(s.base, '/v1/admin/reports/journeys?format=csv')).text();
  assert.match(csv, /^journey,step,channel,sent/);
  assert.match(csv, /cart-recovery,email,email,1,/);
});

test('the funnel counts a visitor whose tile was shown on two page views once; the step counts both views', async () => {
  // The page's engine names the tile's proposition, from the same records.
  const add = addToCart(T0);
  let now = T0;
  const page = await createEngine({ now: () => now, deviceId: TREATMENT, artifact });
  page.track(add.body);
  now = ENTRY;
  const shown = page.advance(ENTRY).effects.find((e) => e.type === 'offer.show');
  assert.ok(shown, 'the treatment visitor gets the tile');
  page.destroy();
  const view = (at) => eventRecord('decisioning.propositionDisplay', at,
    { _experience: { decisioning: { propositions: [{ id: shown.proposition, scope: shown.placement }] } } });
  await collect(s.base, batch(TREATMENT, [add, view(ENTRY + MINUTE), view(ENTRY + 5 * MINUTE)]));
  await s.runUntil(ENTRY + HOUR);
  const report = await (await admin(s.base, '/v1/admin/reports/journeys')).json();
  const j = report.journeys.find((x) => x.id === 'cart-recovery');
  assert.equal(j.funnel.entered, 1);
  assert.equal(j.funnel.displayed, 1, 'one visitor saw the tile');
  const tile = j.steps.find((x) => x.channel === 'web');
  assert.equal(tile.displays, 2, 'the step counts both views');
});

test('an email its journey cancelled before it left the device counts as cancelled in the report', async () => {
  // The page was closed from the add to cart until after the journey's last day: its
  // engine requests the day-1 email and cancels it at maxDuration in one catch-up, so
  // the outbox holds the cancel and never the dispatch.
  const add = addToCart(T0);
  let now = T0;
  const page = await createEngine({ now: () => now, deviceId: TREATMENT, artifact });
  page.setConsent({ 'marketing.email': 'granted' });
  page.track(add.body);
  now = ENTRY + 8 * DAY;
  page.advance(now);
  const records = page.pending(500, 1 << 20);
  page.destroy();
  assert.ok(records.some((r) => r.kind === 'dispatch.cancel'));
  assert.ok(!records.some((r) => r.kind === 'dispatch'));
  await collect(s.base, batch(TREATMENT, records.map(({ id, kind, at, purpose, body }) => ({ id, kind, at, purpose, body }))));
  // Read before the server's own run has reached that day (records that arrive late, a server that was down).
  const report = await (await admin(s.base, `/v1/admin/reports/journeys?to=${new Date(now + HOUR).toISOString()}`)).json();
  assert.equal(dispatches().length, 0, 'the server computed nothing itself yet');
  const email = report.journeys.find((x) => x.id === 'cart-recovery').steps.find((x) => x.step === 'email');
  assert.equal(email.cancelled, 1);
  assert.equal(email.sent, 0);
});

test('audience export lists current segment members as JSONL and CSV, paged', async () => {
  for (let i = 0; i < 5; i += 1) await collect(s.base, batch(`device-${i}`, [addToCart(T0 + i)]));
  await s.runUntil(ENTRY + HOUR);
  const page1 = await admin(s.base, '/v1/admin/segments/abandoned-cart/members?limit=2');
  const lines = (await page1.text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.profileId), ['device-0', 'device-1']);
  const next = /<([^>]+)>; rel="next"/.exec(page1.headers.get('link'))[1];
  const page2 = (await (await admin(s.base, next)).text()).trim().split('\n').map((l) => JSON.parse(l).profileId);
  assert.deepEqual(page2, ['device-2', 'device-3']);
  const csv = await (await admin(s.base, '/v1/admin/segments/abandoned-cart/members?format=csv')).text();
  assert.equal(csv.trim().split('\n').length, 6);
  assert.match(csv, /^profile_id,since,emails,phones\ndevice-0,/);
  const unauth = await fetch(`${s.base}/v1/admin/segments/abandoned-cart/members`);
  assert.equal(unauth.status, 401);
});

// The fragment endpoint is the same path as a fragment record through collection: a grant
// made there (a host syncing its CRM's consent) reaches the server's engine, not only the
// merged copy the endpoint answers with.
test('email consent granted through POST /v1/profiles/{deviceId}/fragment before the email is due: the email goes out', async () => {
  const pending = fragmentRecord(TREATMENT, T0 - MINUTE, { attributes: { firstName: 'Ada' }, identities: { email: [`${TREATMENT}@example.com`] } });
  assert.equal((await collect(s.base, batch(TREATMENT, [pending, addToCart(T0)]))).body.accepted.length, 2);
  await s.runUntil(T0 + 5 * HOUR);
  const res = await fetch(`${s.base}/v1/profiles/${TREATMENT}/fragment`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-rekindle-key': KEY, origin: 'https://shop.example' },
    body: JSON.stringify({ fields: { 'consent.marketing.email': { value: 'granted', ts: T0 + 5 * HOUR, origin: 'server:crm' } } }),
  });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).fields['consent.marketing.email'].value, 'granted');
  await s.runUntil(EMAIL_DUE + 2 * HOUR);
  assert.equal(smtp.messages.length, 1, 'the server\'s engine saw the grant before the email step');
  assert.deepEqual(smtp.messages[0].to, [`${TREATMENT}@example.com`]);
});

// A page: the engine with its own clock, syncing its outbox through /v1/collect as the runtime does.
async function pageOf(deviceId, start) {
  let t = start;
  const engine = await createEngine({ deviceId, now: () => t });
  assert.ok(engine.loadArtifact(artifact).ok);
  return {
    engine,
    at(ms) { t = Math.max(t, ms); engine.advance(t); },
    async sync() {
      for (let records = engine.pending(50, 64 * 1024); records.length > 0; records = engine.pending(50, 64 * 1024)) {
        const res = await collect(s.base, { deviceId, sentAt: new Date(t).toISOString(), records });
        assert.equal(res.status, 200);
        engine.ack([...res.body.accepted, ...res.body.duplicates, ...res.body.rejected.map((r) => r.id)]);
      }
    },
  };
}

// The customer buys on a second device on day 2. When the first device's profile is the one
// that moves (the second's id is smaller), the server replays the journey under new instance
// ids; the first device's page, back on day 4, still runs the old instance and asks for the
// SMS. That request is the replayed instance's twin (same profile, journey, entry time),
// which converted: it is cancelled, never sent, and the report counts one email, one conversion.
for (const second of ['zz-phone', 'aa-phone']) {
  test(`a purchase on another device stops the first device's later SMS (${second}: the ${second < TREATMENT ? 'first device' : 'second device'}'s profile moves)`, async () => {
    const a = await pageOf(TREATMENT, T0 - 5 * MINUTE);
    a.engine.setConsent({ 'marketing.email': 'granted', 'marketing.sms': 'granted' });
    a.engine.identify('email', 'ada@example.com');
    a.engine.identify('phone', '+15550100');
    a.at(T0);
    a.engine.track('commerce.productListAdds', { productListItems: [{ SKU: 'sku-1', quantity: 1, priceTotal: 89 }] });
    a.at(T0 + 30 * MINUTE);
    await a.sync();
    await s.runUntil(EMAIL_DUE + 20 * MINUTE);
    assert.equal(smtp.messages.length, 1, 'the day-1 email');
    const buyAt = T0 + 2 * DAY;
    s.clock.set(buyAt);
    const b = await pageOf(second, buyAt - MINUTE);
    b.engine.setConsent({ 'marketing.email': 'granted', 'marketing.sms': 'granted' });
    b.engine.identify('email', 'ada@example.com');
    b.at(buyAt);
    b.engine.track('commerce.purchases', { productListItems: [{ SKU: 'sku-1', quantity: 1, priceTotal: 89 }] });
    await b.sync();
    await s.runUntil(buyAt + HOUR);
    s.clock.set(T0 + 4 * DAY);
    a.at(T0 + 4 * DAY); // the first device's engine never heard of the purchase: it asks for the SMS
    await a.sync();
    await s.runUntil(T0 + 6 * DAY, HOUR);
    assert.equal(sms.calls.length, 0, 'no SMS after the purchase');
    assert.equal(smtp.messages.length, 1);
    const res = await admin(s.base, '/v1/admin/reports/journeys');
    const r = (await res.json()).journeys.find((j) => j.id === 'cart-recovery');
    assert.equal(r.converted, 1);
    const email = r.steps.find((x) => x.step === 'email');
    assert.deepEqual([email.sent, email.cancelled], [1, 0], 'the one email counted once, as sent');
  });
}

// visitor-13 is held out. A second device whose profile id is smaller signs in: the server
// replays the journey under that id, whose split draws the treatment arm. The person stays in
// the arm first drawn: the replay's messages are suppressed, and the report keeps the holdout.
test('a held-out visitor who signs in on a second device gets no message of the treatment arm', async () => {
  const a = await pageOf(HOLDOUT, T0 - 5 * MINUTE);
  a.engine.setConsent({ 'marketing.email': 'granted', 'marketing.sms': 'granted' });
  a.engine.identify('email', 'bo@example.com');
  a.engine.identify('phone', '+15550113');
  a.at(T0);
  a.engine.track('commerce.productListAdds', { productListItems: [{ SKU: 'sku-1' }] });
  a.at(T0 + 31 * MINUTE);
  assert.equal(a.engine.decide('hero'), null, 'held out: no tile');
  await a.sync();
  await s.runUntil(T0 + 2 * HOUR);
  s.clock.set(T0 + 4 * HOUR);
  const b = await pageOf('aa-phone-b', T0 + 4 * HOUR - MINUTE); // its id draws the treatment arm
  b.engine.identify('email', 'bo@example.com');
  b.at(T0 + 4 * HOUR);
  b.engine.track('web.webpagedetails.pageViews', { web: { webPageDetails: { URL: 'https://shop.example/' } } });
  await b.sync();
  await s.runUntil(T0 + 4 * DAY, HOUR);
  assert.equal(smtp.messages.length, 0, 'no email');
  assert.equal(sms.calls.length, 0, 'no SMS');
  const reasons = dispatches().map((d) => [d.step, d.status, d.reason]).sort();
  assert.deepEqual(reasons, [['email', 'suppressed', 'arm:holdout-split:holdout'], ['sms', 'suppressed', 'arm:holdout-split:holdout']]);
  const r = (await (await admin(s.base, '/v1/admin/reports/journeys')).json()).journeys.find((j) => j.id === 'cart-recovery');
  assert.deepEqual(r.arms.map((x) => [x.arm, x.entered]), [['holdout', 1]]);
});

// The page hears of a purchase made elsewhere: each collection answer carries the visitor's
// journey-ending events from other devices (or an import), and the page's engine takes them.
test('a purchase on another device reaches the first device\'s page: its tile goes and it never asks for the SMS', async () => {
  const { createRekindle } = await import('../../web/node.js');
  let t = T0 - 5 * MINUTE;
  const a = await createRekindle({ endpoint: s.base, writeKey: KEY, deviceId: TREATMENT, storage: 'memory', artifact, now: () => t,
    consent: { analytics: 'granted', personalize: 'granted', 'marketing.email': 'granted', 'marketing.sms': 'granted' } });
  try {
    await a.identify('email', 'ada@example.com');
    await a.identify('phone', '+15550100');
    t = T0;
    await a.track('commerce.productListAdds', { productListItems: [{ SKU: 'sku-1', quantity: 1, priceTotal: 89 }] });
    t = T0 + 30 * MINUTE;
    await a.setAttributes({ seen: true }); // a turn at the new time: the engine passes the deadline
    assert.equal(a.decide('hero')?.offer, 'cart-10', 'the tile shows');
    await a.flush();
    await s.runUntil(EMAIL_DUE + 20 * MINUTE);
    assert.equal(smtp.messages.length, 1, 'the day-1 email');

    const buyAt = T0 + 2 * DAY;
    s.clock.set(buyAt);
    const b = await pageOf('zz-phone', buyAt - MINUTE);
    b.engine.identify('email', 'ada@example.com');
    b.at(buyAt);
    b.engine.track('commerce.purchases', { _id: 'buy-on-phone', productListItems: [{ SKU: 'sku-1', quantity: 1, priceTotal: 89 }] });
    await b.sync();
    await s.runUntil(buyAt + HOUR);

    t = buyAt + 2 * HOUR; // the first device, open again: its page view goes out, the answer brings the purchase
    await a.track('web.webpagedetails.pageViews', { web: { webPageDetails: { URL: 'https://shop.example/' } } });
    await a.flush();
    for (let i = 0; i < 100 && a.decide('hero') !== null; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(a.decide('hero'), null, 'the tile is withdrawn');
    assert.ok(a.state().journeys.active.every((j) => j.journey !== 'cart-recovery'), 'the journey ended on this page too');
    t = T0 + 4 * DAY;
    await a.setAttributes({ back: true });
    await a.flush();
    await s.runUntil(T0 + 6 * DAY, HOUR);
    assert.equal(sms.calls.length, 0);
    const asked = s.store.dispatchesOf('shop').filter((d) => d.step === 'sms');
    assert.ok(asked.every((d) => d.status !== 'sent'), JSON.stringify(asked));
  } finally {
    a.destroy();
  }
});
