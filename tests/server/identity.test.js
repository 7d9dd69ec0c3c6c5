// A site whose pages are not trusted with identities: the public write key
// cannot join a stranger's email to a device, read the stranger's profile
// back, or make the server mail them. Its backend's proof links an identity.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startSmtpSink, collect, batch, addToCart, fragmentRecord, KEY, ARTIFACT, T0, DAY, HOUR } from './harness.js';
import { identityProof } from '../../server/identity-proof.js';

const SECRET = 'site-backend-secret-0123456789abcdef';
// Both devices land in the treatment arm of the example's split (examples/README.md).
const ADA = 'visitor-1';
const EVE = 'visitor-2';
let s;
let smtp;
before(async () => {
  smtp = await startSmtpSink();
  s = await startServer({ smtp, sites: [{ id: 'shop', writeKeys: [KEY], origins: ['https://shop.example'], artifact: ARTIFACT, identitySecret: SECRET }] });
});
after(async () => {
  await s.close();
  await smtp.close();
});

const post = (path, body) => fetch(`${s.base}${path}`, {
  method: 'POST', headers: { 'content-type': 'application/json', 'x-rekindle-key': KEY }, body: JSON.stringify(body),
});
const fragmentOf = async (device) => (await fetch(`${s.base}/v1/profiles/${device}/fragment`, { headers: { 'x-rekindle-key': KEY } })).json();

test('identify needs the backend\'s proof: none or a wrong one is refused, naming $.proof', async () => {
  const none = await post('/v1/identify', { deviceId: 'd-1', namespace: 'email', id: 'ada@example.com' });
  assert.equal(none.status, 403);
  assert.deepEqual((await none.json()).errors.map((e) => e.path), ['$.proof']);
  const wrong = await post('/v1/identify', { deviceId: 'd-1', namespace: 'email', id: 'ada@example.com',
    proof: identityProof(SECRET, 'email', 'eve@example.com') });
  assert.equal(wrong.status, 403);
  assert.match((await wrong.json()).errors[0].reason, /does not match/);
  const malformed = await post('/v1/identify', { deviceId: 'd-1', namespace: 'email', id: 'ada@example.com', proof: 'x' });
  assert.equal(malformed.status, 400);
  assert.equal(s.store.identitiesOf('shop', 'd-1').email, undefined);
});

test('a stranger\'s email claimed by a page joins nothing, reads nothing back and receives nothing', async () => {
  // Ada, known through her backend's proof, with an attribute and email consent.
  await collect(s.base, batch(ADA, [fragmentRecord(ADA, T0 - HOUR, {
    consent: { 'marketing.email': 'granted' }, attributes: { firstName: 'Ada', tier: 'gold' } }), addToCart(T0)]));
  const linked = await post('/v1/identify', { deviceId: ADA, namespace: 'email', id: 'ada@example.com',
    proof: identityProof(SECRET, 'email', 'ada@example.com') });
  assert.equal(linked.status, 200);
  assert.deepEqual(s.store.identitiesOf('shop', ADA).email, ['ada@example.com']);
  // Eve's device claims Ada's email, through collection and through the fragment endpoint.
  const claim = await collect(s.base, batch(EVE, [fragmentRecord(EVE, T0, {
    consent: { 'marketing.email': 'granted' }, identities: { email: ['ada@example.com'] } }), addToCart(T0 + 1)]));
  assert.equal(claim.body.accepted.length, 2, 'the records are stored: they are the engine\'s input');
  const direct = await post(`/v1/profiles/${EVE}/fragment`, { identities: { email: ['ada@example.com'] }, fields: {} });
  assert.equal(direct.status, 200);
  assert.deepEqual(s.store.devicesOf('shop', ADA), [ADA], 'no device joined Ada\'s profile');
  assert.equal(s.store.identitiesOf('shop', EVE).email, undefined);
  const eve = await fragmentOf(EVE);
  assert.equal(eve.profileId, EVE);
  assert.equal(eve.fields['attributes.firstName'], undefined, 'Ada\'s fields are not Eve\'s to read');
  // A day later: Ada gets her reminder, the claimed address gets nothing from Eve's cart.
  await s.runUntil(T0 + DAY + 2 * HOUR, HOUR);
  assert.deepEqual(smtp.messages.map((m) => m.to), [['ada@example.com']]);
  const eves = s.store.dispatchesOf('shop').filter((d) => d.profile_id === EVE);
  assert.ok(eves.length > 0 && eves.every((d) => d.status === 'suppressed' && d.reason === 'no-recipient:email'));
});
