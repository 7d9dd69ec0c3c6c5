// The whole re-engagement loop against `npm start`'s server (server/demo/start.js),
// in headless Chromium: a visitor grants consent, leaves an email, adds to cart
// and closes the page; the server qualifies them while they are away and sends
// the email over real SMTP to the demo's mailbox; the visitor returns, sees the
// tile, clicks it and buys; the dashboard shows one entry, one display, one
// click, one email and one conversion. Screenshots go to test-results/.
//
// Only time is moved: the server's clock is `Date.now() + offset`, and the
// browser's clock is set to the same time before the visitor returns, so the
// demo's real durations (30 s, 1 min) pass in an instant.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { startDemo, DEMO_SITE, DEMO_WRITE_KEY } from '../../server/demo/start.js';
import { treatmentDeviceId, pinDevice } from './demo-visitor.js';
import { launchChromium, watchConsole } from './browser.js';

const RESULTS = fileURLToPath(new URL('../../test-results/', import.meta.url));
const JOURNEY = 'cart-recovery';
const SECOND = 1000;

let dir;
let demo;
let browser;
let offset = 0;
const clock = { now: () => Date.now() + offset };

/** Moves the server's clock to `t` (ms since the epoch); time keeps flowing from there. */
function moveServerClockTo(t) {
  offset = Math.max(offset, t - Date.now());
}

/** Polls `check` (sync or async) until it returns a truthy value; runs a scheduler round between tries. */
async function until(what, check, { timeoutMs = 20 * SECOND, tick = true } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    if (tick) await demo.scheduler.tick();
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

async function report() {
  const res = await fetch(`${demo.base}/v1/admin/reports/journeys`, { headers: { authorization: `Bearer ${demo.config.adminToken}` } });
  assert.equal(res.status, 200);
  return (await res.json()).journeys.find((j) => j.id === JOURNEY);
}

before(async () => {
  mkdirSync(RESULTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'rekindle-demo-'));
  demo = await startDemo({ env: {}, port: 0, database: join(dir, 'demo.db'), clock, schedulerIntervalMs: 250, print: () => {} });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await demo?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the full loop: consent, cart, closed tab, email, return, tile, click, purchase, dashboard', async () => {
  const deviceId = treatmentDeviceId();
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await pinDevice(context, deviceId);
  const problems = [];

  // ---- first visit: consent, email, add to cart, close --------------------------
  const page = await context.newPage();
  problems.push(...watchConsole(page));
  await page.goto(`${demo.base}/product/camp-kettle`);
  await page.waitForSelector('body[data-store-ready]');
  assert.equal(await page.evaluate(() => window.RekindleLanding.state().deviceId), deviceId);

  await page.click('[data-rk-consent-banner] [data-rk-consent-accept-all]');
  await page.waitForSelector('#inspector-consent [data-purpose="marketing.email"][data-state="granted"]');
  assert.equal(await page.isVisible('[data-rk-consent-banner]'), false);

  await page.fill('#signup [data-rk-attribute="firstName"]', 'Ada');
  await page.fill('#signup [data-rk-identity="email"]', 'ada@example.com');
  await page.fill('#signup [data-rk-identity="phone"]', '+44 7700 900123');
  await page.click('#signup button[type="submit"]');
  await page.waitForSelector('#signup [data-rk-identify-done]:not([hidden])');

  await page.click('[data-add-to-cart="camp-kettle"]');
  await page.waitForFunction(() => window.RekindleLanding.state().nextDeadline !== null);
  const addedAt = await page.evaluate(() => Date.now());
  await page.evaluate(() => window.RekindleLanding.ready.then((rk) => rk.flush()));

  // The server has what it needs to reach Ada while she is away.
  await until('the device\'s records on the server', () => {
    const profileId = demo.store.profileIfKnown(DEMO_SITE, deviceId);
    if (!profileId) return false;
    const profile = demo.store.getProfile(DEMO_SITE, profileId);
    const granted = profile.fragment.fields['consent.marketing.email']?.value === 'granted';
    const email = (demo.store.identitiesOf(DEMO_SITE, profileId).email ?? []).includes('ada@example.com');
    return granted && email && demo.store.recordsAfter(DEMO_SITE, profileId, 0).some((r) => r.body.eventType === 'commerce.productListAdds');
  });
  await page.close();

  // ---- while the tab is closed: the server qualifies Ada and sends the email ------
  moveServerClockTo(addedAt + 31 * SECOND);
  await until('the server\'s engine to enter the journey', async () => (await report()).entered === 1);
  assert.equal(demo.mailbox.list().length, 0, 'no email before its step');

  moveServerClockTo(addedAt + 30 * SECOND + 60 * SECOND + 2 * SECOND);
  const email = await until('the email in the mailbox', () => demo.mailbox.list().find((m) => m.channel === 'email'));
  assert.deepEqual(email.to, ['ada@example.com']);
  assert.match(email.subject, /^Ada, your cart/);
  assert.equal(email.journey, JOURNEY);
  assert.match(email.html, /CART10/);
  assert.match(email.text, new RegExp(`${demo.base}/cart`));

  const mailboxPage = await context.newPage();
  problems.push(...watchConsole(mailboxPage));
  await mailboxPage.goto(`${demo.base}/mailbox`);
  await mailboxPage.waitForSelector('.mb-item[data-channel="email"]');
  assert.match(await mailboxPage.textContent('[data-message-subject]'), /Ada, your cart at Kindling/);
  await mailboxPage.waitForTimeout(300); // the email's frame paints
  await mailboxPage.screenshot({ path: join(RESULTS, 'mailbox.png') });
  await mailboxPage.close();

  // ---- Ada returns: the tile, a click, a purchase -----------------------------------
  await context.clock.setSystemTime(clock.now());
  const back = await context.newPage();
  problems.push(...watchConsole(back));
  await back.goto(`${demo.base}/`);
  await back.waitForSelector('body[data-store-ready]');
  const tile = await back.waitForSelector('#hero .rk-tile');
  assert.match(await tile.textContent(), /Still thinking it over, Ada\?/);
  await back.waitForSelector('#inspector-journey[data-arm="treatment"]');
  // The display counts after a second in view; the feedback then reaches the server.
  await until('the tile display on the server', async () => {
    await back.evaluate(() => window.RekindleLanding.ready.then((rk) => rk.flush()));
    return (await report()).funnel.displayed === 1;
  });
  await back.screenshot({ path: join(RESULTS, 'store-tile.png') });

  await Promise.all([back.waitForURL(`${demo.base}/cart`), back.click('#hero .rk-tile__cta')]);
  await back.waitForSelector('body[data-page="cart"]');
  await Promise.all([back.waitForURL(`${demo.base}/checkout`), back.click('#to-checkout')]);
  await Promise.all([back.waitForURL(/\/thanks\?order=K-\d+$/), back.click('#place-order')]);
  await back.waitForSelector('body[data-store-ready]');
  // The purchase reaches the server with the page's next send; flushing, as for the display,
  // keeps the wait independent of the transport's interval on a loaded machine.
  await until('the conversion on the server', async () => {
    await back.evaluate(() => window.RekindleLanding.ready.then((rk) => rk.flush()));
    return (await report()).converted === 1;
  }, { timeoutMs: 40 * SECOND });

  // ---- the dashboard --------------------------------------------------------------
  const dashboard = await context.newPage();
  problems.push(...watchConsole(dashboard));
  await dashboard.goto(`${demo.base}/dashboard`);
  const card = `[data-journey="${JOURNEY}"]`;
  await dashboard.waitForSelector(`${card} [data-metric="converted"]`);
  const metric = (name) => dashboard.textContent(`${card} [data-metric="${name}"]`);
  assert.equal(await metric('entered'), '1');
  assert.equal(await metric('displayed'), '1');
  assert.equal(await metric('clicked'), '1');
  assert.equal(await metric('email-sent'), '1');
  assert.equal(await metric('converted'), '1');
  assert.equal(await metric('dead-letters'), '0');
  assert.equal(await dashboard.getAttribute(`${card} [data-verdict]`, 'data-verdict'), 'wait');
  await dashboard.waitForSelector(`${card} .uplot`);
  await dashboard.screenshot({ path: join(RESULTS, 'dashboard.png'), fullPage: true });

  const [download] = await Promise.all([dashboard.waitForEvent('download'), dashboard.click('#db-csv')]);
  const csv = readFileSync(await download.path(), 'utf8');
  assert.match(csv, /^journey,step,channel,sent/);
  assert.match(csv, new RegExp(`^${JOURNEY},email,email,1,`, 'm'));

  // The same report, from the API: exactly what the visitor did, once each.
  const final = await report();
  assert.deepEqual(
    { entered: final.funnel.entered, displayed: final.funnel.displayed, clicked: final.funnel.clicked, emailSent: final.funnel.emailSent, converted: final.funnel.converted, smsSent: final.funnel.smsSent },
    { entered: 1, displayed: 1, clicked: 1, emailSent: 1, converted: 1, smsSent: 0 },
  );
  assert.deepEqual(final.arms.map((a) => [a.arm, a.entered, a.converted]), [['treatment', 1, 1]]);
  assert.equal(demo.mailbox.list().length, 1, 'one email, and no SMS after the purchase');
  assert.deepEqual(problems, []);
  await context.close();
});

test('the SMS reaches the mailbox through the webhook; the webhook takes nothing else', async () => {
  // A visitor known by phone whose page sent an add to cart and went silent.
  const deviceId = treatmentDeviceId();
  const at = clock.now();
  const fields = {
    'consent.analytics': { value: 'granted', ts: at, origin: `device:${deviceId}` },
    'consent.marketing.sms': { value: 'granted', ts: at, origin: `device:${deviceId}` },
  };
  const records = [
    { id: `f-${deviceId}`, kind: 'fragment', at, purpose: '', body: { profileId: deviceId, identities: { device: [deviceId], phone: ['+44 7700 900456'] }, fields } },
    { id: `e-${deviceId}`, kind: 'event', at, purpose: 'analytics',
      body: { _id: `e-${deviceId}`, eventType: 'commerce.productListAdds', timestamp: new Date(at).toISOString(), productListItems: [{ SKU: 'trail-lantern', quantity: 1, priceTotal: 35 }] } },
  ];
  const res = await fetch(`${demo.base}/v1/collect`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-rekindle-key': DEMO_WRITE_KEY },
    body: JSON.stringify({ deviceId, sentAt: new Date(at).toISOString(), records }),
  });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).accepted.length, 2);
  const emails = () => demo.mailbox.list().filter((m) => m.channel === 'email').length;
  const emailsBefore = emails();
  await until('the first run of the profile', () => demo.store.getProfile(DEMO_SITE, deviceId)?.next_deadline);

  moveServerClockTo(at + 30 * SECOND + 2 * 60 * SECOND + 2 * SECOND);
  const sms = await until('the SMS in the mailbox', () => demo.mailbox.list().find((m) => m.channel === 'sms'));
  assert.deepEqual(sms.to, ['+44 7700 900456']);
  assert.match(sms.text, /last call: 10 % off your cart with CART10/);
  assert.equal(sms.journey, JOURNEY);
  // No email consent (nor address): the email step was suppressed, not sent.
  assert.equal(emails(), emailsBefore);
  assert.equal((await report()).funnel.emailSuppressed, 1);

  // The mailbox shows the text beside the email.
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const problems = watchConsole(page);
  await page.goto(`${demo.base}/mailbox`);
  await page.waitForSelector('.mb-item[data-channel="sms"][aria-selected="true"]');
  assert.match(await page.textContent('[data-message-text]'), /CART10/);
  await page.screenshot({ path: join(RESULTS, 'mailbox-sms.png') });
  assert.deepEqual(problems, []);
  await page.close();

  const forged = await fetch(`${demo.base}/demo/sms`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: '+1', text: 'hi' }),
  });
  assert.equal(forged.status, 401);
  const count = demo.mailbox.list().length;
  // A page of another name resolving to 127.0.0.1 (DNS rebinding) does not read the mailbox.
  const rebound = await new Promise((resolve, reject) => {
    http.get(`${demo.base}/mailbox/api/messages`, { headers: { host: 'evil.example' } }, (r) => {
      r.resume();
      resolve(r.statusCode);
    }).on('error', reject);
  });
  assert.equal(rebound, 403);
  assert.equal(demo.mailbox.list().length, count);
});
