// The page runtime in headless Chromium against a recording server on
// 127.0.0.1: tiles at qualification, withdrawal in every tab, consent that
// holds records on the device, reloads and server errors with nothing lost
// and nothing stored twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRecordingServer } from './recording-server.js';
import { launchChromium, watchConsole } from './browser.js';

const ARTIFACT = {
  version: 'page-test',
  consent: { defaults: { analytics: 'granted', personalize: 'granted', 'marketing.email': 'pending' } },
  segments: [{
    id: 'abandoned-cart',
    rule: { sequence: [{ event: { type: 'commerce.productListAdds' } }, { absent: { type: 'commerce.purchases' }, for: '2s' }] },
  }],
  placements: [{ id: 'hero' }],
  offers: [{
    id: 'cart-10', placements: ['hero'],
    content: { title: 'Come back, {{profile.firstName|friend}}', body: '10 % off today', cta: { label: 'Back to my cart', url: '/cart' } },
  }],
  journeys: [{
    id: 'cart', entry: { segment: 'abandoned-cart' }, maxDuration: '1h',
    goal: { event: { type: 'commerce.purchases' } },
    steps: [{ id: 'tile', action: { channel: 'web', placement: 'hero', offer: 'cart-10' } }],
  }],
};

let server;
let browser;

before(async () => {
  server = await startRecordingServer();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function openStore(context, options = {}) {
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.addInitScript((o) => { window.RK_OPTIONS = o; }, { artifact: ARTIFACT, ...options });
  await page.goto(`${server.origin}/pages/store.html`);
  await page.waitForSelector('body[data-ready="1"]');
  return { page, problems };
}

// The ids of every event the page's engine holds.
async function eventIds(page) {
  return page.evaluate(() => JSON.parse(window.rk.snapshot()).history.events.map((e) => e._id));
}

function storedCounts() {
  const counts = new Map();
  for (const [id, n] of server.receivedCounts()) counts.set(id, n);
  return counts;
}

function assertStoredOnce(ids) {
  const stored = new Map(server.stored().map((r) => [r.id, r]));
  for (const id of ids) assert.ok(stored.has(id), `record ${id} was stored`);
  const all = server.stored().map((r) => r.id);
  assert.equal(new Set(all).size, all.length, 'no record is stored twice');
}

test('the tile appears at qualification and a purchase withdraws it in every open tab', async () => {
  const context = await browser.newContext();
  const a = await openStore(context);
  const b = await openStore(context);
  assert.equal((await a.page.textContent('#hero')).trim(), 'Welcome to the store');
  await a.page.click('#add');
  // Qualification 2 s later, by the page's own deadline timer; the other tab follows.
  await a.page.waitForSelector('#hero .rk-tile', { timeout: 8000 });
  await b.page.waitForSelector('#hero .rk-tile', { timeout: 8000 });
  assert.match(await a.page.textContent('#hero'), /Come back, friend/);
  await b.page.click('#buy');
  for (const tab of [a, b]) {
    await tab.page.waitForFunction(() => !document.querySelector('#hero .rk-tile'), null, { timeout: 8000 });
    assert.equal((await tab.page.textContent('#hero')).trim(), 'Welcome to the store');
  }
  // One journey instance for the two tabs: one entry, one conversion.
  await a.page.evaluate(() => window.rk.flush());
  await server.waitFor(() => server.stored().some((r) => r.kind === 'conversion'), 8000);
  const journeyRecords = server.stored().filter((r) => r.kind === 'journey' || r.kind === 'conversion');
  assert.equal(journeyRecords.filter((r) => r.body.event === 'entered').length, 1);
  assert.equal(journeyRecords.filter((r) => r.kind === 'conversion').length, 1);
  for (const tab of [a, b]) assert.deepEqual(tab.problems, []);
  await context.close();
});

test('with analytics consent pending nothing reaches the server; granting sends every held record once', async () => {
  const context = await browser.newContext();
  const consent = { ...ARTIFACT, version: 'consent-test', consent: { defaults: { analytics: 'pending', personalize: 'granted' } } };
  const before = server.requests.length;
  const { page, problems } = await openStore(context, { artifact: consent });
  await page.click('#add');
  await page.evaluate(() => window.rk.track('commerce.productViews', { productListItems: [{ SKU: 'sku-2' }] }));
  await page.evaluate(() => window.rk.flush());
  await page.waitForTimeout(2500);
  const calls = server.requests.slice(before).filter((r) => r.path.startsWith('/v1/'));
  assert.deepEqual(calls.map((r) => r.path), [], 'no request at all reached the endpoint');
  const held = await eventIds(page);
  assert.ok(held.length >= 3, `page view, add to cart and product view are held (${held.length})`);
  await page.evaluate(() => window.rk.setConsent({ analytics: 'granted' }));
  await page.evaluate(() => window.rk.flush());
  await server.waitFor(() => held.every((id) => server.stored().some((r) => r.id === id)), 8000);
  assertStoredOnce(held);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a reload restores the state and still delivers every record once', async () => {
  // The collection endpoint lives on its own server, which is down while the page works.
  const endpoint = await startRecordingServer();
  const context = await browser.newContext();
  await endpoint.down();
  const first = await openStore(context, { endpoint: endpoint.origin });
  await first.page.click('#add');
  await first.page.evaluate(() => window.rk.track('commerce.productViews', { productListItems: [{ SKU: 'sku-9' }] }));
  await first.page.evaluate(() => window.rk.flush());
  const ids = await eventIds(first.page);
  // The page goes away while the server is unreachable.
  await first.page.evaluate(() => window.rk.destroy());
  await first.page.close();
  await endpoint.up();
  const second = await openStore(context, { endpoint: endpoint.origin });
  const restored = await eventIds(second.page);
  for (const id of ids) assert.ok(restored.includes(id), `event ${id} survived the reload`);
  await second.page.evaluate(() => window.rk.flush());
  await endpoint.waitFor(() => ids.every((id) => endpoint.stored().some((r) => r.id === id)), 8000);
  const all = endpoint.stored().map((r) => r.id);
  assert.equal(new Set(all).size, all.length, 'no record is stored twice');
  for (const id of await eventIds(second.page)) {
    await endpoint.waitFor(() => endpoint.stored().some((r) => r.id === id), 8000);
  }
  await context.close();
  await endpoint.close();
});

test('server errors then recovery: every record arrives exactly once', async () => {
  const context = await browser.newContext();
  const { page } = await openStore(context);
  server.fail(3, 500);
  for (let i = 0; i < 12; i++) {
    await page.evaluate((n) => window.rk.track('commerce.productViews', { productListItems: [{ SKU: `sku-${n}` }] }), i);
  }
  const ids = await eventIds(page);
  await server.waitFor(() => ids.every((id) => server.stored().some((r) => r.id === id)), 15000);
  assertStoredOnce(ids);
  const counts = storedCounts();
  for (const id of ids) assert.ok(counts.get(id) >= 1);
  const errors = await page.evaluate(() => window.rkErrors);
  assert.ok(errors.length >= 1, 'the failures were reported to onError');
  await context.close();
});

test('options are validated with clear errors', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.origin}/pages/tiles.html`);
  const messages = await page.evaluate(async () => {
    const { createRekindle } = await import('/rekindle/index.js');
    const out = [];
    for (const bad of [{ endpont: '/x' }, { endpoint: 'ftp://x' }, { storage: 'cookies' }, { consent: { analytics: 'yes' } },
      { artifact: {}, artifactUrl: '/a' }, { autoTrack: 'on' }, { consent: { analytix: 'granted' } },
      { autoTrack: { pageview: false } }, { autoTrack: { commerce: 'no' } }, { render: 'no' }, { name: {} }, { writeKey: 42 },
      { deviceId: 'x'.repeat(129) }]) {
      try {
        await createRekindle(bad);
        out.push('accepted');
      } catch (err) {
        out.push(err.message);
      }
    }
    return out;
  });
  assert.match(messages[0], /"endpont" is not a known option/);
  assert.match(messages[1], /"endpoint" must be an http\(s\) URL/);
  assert.match(messages[2], /"storage" must be "indexeddb" or "memory"/);
  assert.match(messages[3], /"consent" has "analytics": "yes"/);
  assert.match(messages[4], /cannot both be given/);
  assert.match(messages[5], /"autoTrack" must be a boolean/);
  // A typo is refused, not ignored: a misspelt purpose would leave it pending and its messages unsent.
  assert.match(messages[6], /"consent" has "analytix", not a purpose; use analytics, personalize, marketing\.email/);
  assert.match(messages[7], /"autoTrack" has "pageview", not a part; use pageViews, history or commerce/);
  assert.match(messages[8], /"autoTrack" has "commerce": it must be true or false/);
  assert.match(messages[9], /"render" must be true or false/);
  assert.match(messages[10], /"name" must be a non-empty string/);
  assert.match(messages[11], /"writeKey" must be a non-empty string/);
  // Longer than the server takes: every record would wait for good.
  assert.match(messages[12], /"deviceId" must be at most 128 characters/);
  await context.close();
});

test('no flicker: a returning visitor never sees the fallback before the tile', async () => {
  const context = await browser.newContext();
  const first = await openStore(context);
  await first.page.click('#add');
  await first.page.waitForSelector('#hero .rk-tile', { timeout: 8000 });
  await first.page.evaluate(() => window.rk.destroy());
  await first.page.close();
  // Every frame from the first one on, note what the hero shows to the eye.
  const page = await context.newPage();
  await page.addInitScript((o) => {
    window.RK_OPTIONS = o;
    window.heroFrames = [];
    const sample = () => {
      const hero = document.getElementById('hero');
      if (hero) {
        const visible = getComputedStyle(hero).visibility !== 'hidden';
        window.heroFrames.push(visible ? (hero.querySelector('.rk-tile') ? 'tile' : 'fallback') : 'hidden');
      }
      if (!document.querySelector('#hero .rk-tile')) requestAnimationFrame(sample);
      else window.heroFrames.push('tile');
    };
    requestAnimationFrame(sample);
  }, { artifact: ARTIFACT });
  await page.goto(`${server.origin}/pages/store.html`);
  await page.waitForSelector('#hero .rk-tile', { timeout: 8000 });
  const frames = await page.evaluate(() => window.heroFrames);
  assert.ok(frames.length > 0);
  assert.ok(!frames.includes('fallback'), `the fallback was painted before the tile: ${frames.join(',')}`);
  assert.equal(frames.at(-1), 'tile');
  await context.close();
});

test('a browser without crypto.randomUUID (Safari 15.0-15.3) starts and keeps a UUID device id', async () => {
  const context = await browser.newContext();
  await context.addInitScript(() => { delete Crypto.prototype.randomUUID; });
  const first = await openStore(context);
  const deviceId = await first.page.evaluate(() => ({ id: window.rk.deviceId, uuid: typeof crypto.randomUUID }));
  assert.equal(deviceId.uuid, 'undefined');
  assert.match(deviceId.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  await first.page.click('#add');
  await first.page.evaluate(() => window.rk.destroy());
  await first.page.close();
  const again = await openStore(context);
  assert.equal(await again.page.evaluate(() => window.rk.deviceId), deviceId.id);
  assert.deepEqual(again.problems, []);
  await context.close();
});
