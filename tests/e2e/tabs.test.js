// One sending tab per device: the tabs of a site share one device state
// (web/page/tabs.js) and only the tab holding the sender lock drains the
// shared outbox (web/page/rekindle.js). Headless Chromium against the
// reference server (server/app.js over a real SQLite file) behind the
// logging proxy of the fault matrix (tests/e2e/fault-proxy.js), with the
// pages on another loopback origin. Every case checks, by id, that each
// record the tabs produced is stored exactly once, and counts the record ids
// that went over the wire (every collection request the proxy saw, beacons
// included). With every tab draining the outbox itself (before the sender
// lock), flush() in each of three tabs sent each record three times (90 ids
// for 30 records), every tab tried to send while the server was out of reach,
// and which tabs sent otherwise depended on their timers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, KEY } from '../server/harness.js';
import { startRecordingServer } from './recording-server.js';
import { launchChromium } from './browser.js';
import { startFaultProxy } from './fault-proxy.js';

const SITE = 'site';
// No journeys, no segments: every record is an event of the history, so the
// tabs can name everything they produced (as in faults.test.js).
const ARTIFACT = {
  version: 'tabs-1',
  consent: { defaults: { analytics: 'granted', personalize: 'granted' } },
  placements: [{ id: 'hero' }],
  offers: [{ id: 'welcome', placements: ['hero'], eligibility: { path: 'profile.optedOut', op: 'exists', value: false }, content: { title: 'Welcome back', body: 'Free returns' } }],
};
// Records that may go over the wire twice without a fault: none is expected
// (one tab sends, and only the answer acknowledges); the slack is for a
// timing this test did not foresee.
const ALLOWANCE = 5;

let pages;
let browser;
let dir;
let artifactFile;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rekindle-tabs-'));
  artifactFile = join(dir, 'artifact.json');
  writeFileSync(artifactFile, JSON.stringify(ARTIFACT));
  pages = await startRecordingServer();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await pages?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function until(predicate, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > end) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function startDevice(t) {
  const srv = await startServer({ sites: [{ id: SITE, writeKeys: [KEY], origins: [pages.origin], artifact: artifactFile }] });
  const proxy = await startFaultProxy(srv.base);
  const context = await browser.newContext();
  const tabs = [];
  const produced = new Set();
  t.after(async () => {
    await context.close();
    await proxy.close();
    await srv.close();
  });

  /** A tab of the device; `tab.sent` lists the collection requests it made (ids, time). */
  async function open(name, { deviceId = 'dev-tabs', init } = {}) {
    const page = await context.newPage();
    const tab = { name, page, problems: [], sent: [] };
    page.on('pageerror', (err) => tab.problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/^Failed to load resource/.test(msg.text())) tab.problems.push(`console.error: ${msg.text()}`);
    });
    page.on('request', (req) => {
      if (req.method() !== 'POST' || !req.url().startsWith(`${proxy.origin}/v1/collect`)) return;
      let ids = [];
      try { ids = JSON.parse(req.postData() ?? '').records.map((r) => r.id); } catch { /* counted by the proxy anyway */ }
      tab.sent.push({ at: Date.now(), ids });
    });
    await page.addInitScript((o) => { window.RK_OPTIONS = o; }, {
      endpoint: proxy.origin, artifactUrl: `${proxy.origin}/v1/artifact`, writeKey: KEY, deviceId, render: false,
    });
    if (init) await page.addInitScript(init);
    await page.goto(`${pages.origin}/pages/faults.html`);
    await page.waitForSelector('body[data-ready]', { state: 'attached' });
    assert.equal(await page.getAttribute('body', 'data-ready'), '1', await page.evaluate(() => window.rkStartError));
    tabs.push(tab);
    return tab;
  }

  async function burst(tab, n, tag) {
    const { ids, errors } = await tab.page.evaluate(([k, g]) => window.burst(k, g), [n, tag]);
    assert.deepEqual(errors, []);
    assert.equal(ids.length, n);
    for (const id of ids) produced.add(id);
    return ids;
  }

  /** Everything the open tabs hold (their page views too) counts as produced. */
  async function collectHeld() {
    for (const tab of tabs.filter((x) => !x.page.isClosed())) {
      const held = await tab.page.evaluate(() => window.held());
      for (const id of [...held.history, ...held.outbox]) produced.add(id);
    }
  }

  /** Waits until every produced record is stored and every open tab's outbox is empty. */
  async function delivered(timeoutMs, what) {
    await collectHeld();
    await until(() => {
      const stored = new Set(srv.store.recordIds(SITE));
      return [...produced].every((id) => stored.has(id));
    }, timeoutMs, `${what}: every produced record stored`);
    for (const tab of tabs.filter((x) => !x.page.isClosed())) {
      await tab.page.waitForFunction(() => window.held().outbox.length === 0, null, { timeout: 10_000 });
    }
  }

  /** Each record stored exactly once, nothing the tabs did not produce. */
  function assertStoredOnce() {
    const twice = srv.store.db.prepare('SELECT id FROM records WHERE site = ? GROUP BY id HAVING COUNT(*) > 1').all(SITE);
    assert.deepEqual(twice, [], 'no record is stored twice');
    const stored = srv.store.recordIds(SITE);
    assert.equal(stored.length, new Set(stored).size);
    assert.deepEqual(stored.filter((id) => !produced.has(id)), [], 'the server holds nothing the tabs did not produce');
    assert.deepEqual([...produced].filter((id) => !stored.includes(id)), [], 'nothing is lost');
  }

  /** Record ids over the wire (every collection request the proxy saw) since `from` (an index in the log). */
  const wire = (from = 0) => proxy.log.slice(from).reduce((n, e) => n + e.records.length, 0);

  return { srv, proxy, tabs, produced, open, burst, collectHeld, delivered, assertStoredOnce, wire };
}

const senders = (tabs, since = 0) => tabs.filter((tab) => tab.sent.some((r) => r.at >= since)).map((tab) => tab.name);

test('three tabs producing at once: one tab sends, each record goes over the wire once; when it closes another takes over', async (t) => {
  const d = await startDevice(t);
  const tabs = [];
  for (const name of ['a', 'b', 'c']) tabs.push(await d.open(name));

  // 1. The three tabs produce at once; nobody calls flush(): the transport sends by itself.
  await Promise.all(tabs.map(async (tab, i) => {
    for (let k = 0; k < 8; k++) {
      await d.burst(tab, 5, `${tab.name}-${k}`);
      await sleep(40 + 30 * i);
    }
  }));
  await d.delivered(20_000, 'three tabs producing');
  await sleep(2500);  // one more sending interval: a late resend would show
  d.assertStoredOnce();
  const produced1 = d.produced.size;
  const wire1 = d.wire();
  t.diagnostic(`automatic sending: ${produced1} records produced, ${wire1} sent over the wire, by tab(s) ${senders(tabs)}`);
  assert.ok(wire1 <= produced1 + ALLOWANCE, `${wire1} record ids went over the wire for ${produced1} records`);
  assert.equal(senders(tabs).length, 1, `one tab sends, not ${senders(tabs)}`);

  // 2. Every tab calls flush() at once (the pattern of faults.test.js): the
  //    tabs that do not send hand it to the one that does.
  const log2 = d.proxy.log.length;
  const before2 = d.produced.size;
  const since2 = Date.now();
  await Promise.all(tabs.map((tab) => d.burst(tab, 10, `${tab.name}-flush`)));
  const results = await Promise.all(tabs.map((tab) => tab.page.evaluate(() => window.rk.flush())));
  for (const r of results) assert.equal(typeof r.sent, 'number');
  await d.delivered(20_000, 'flush() in every tab');
  await sleep(2500);
  d.assertStoredOnce();
  const wire2 = d.wire(log2);
  const produced2 = d.produced.size - before2;
  t.diagnostic(`flush() in every tab: ${produced2} records produced, ${wire2} sent over the wire, by tab(s) ${senders(tabs, since2)}`);
  assert.ok(wire2 <= produced2 + ALLOWANCE, `${wire2} record ids went over the wire for ${produced2} records`);
  assert.deepEqual(senders(tabs, since2), senders(tabs), 'the same tab sends');

  // 3. Records wait (the server is out of reach), then the sending tab closes:
  //    another tab takes over and sends them, with no event to prompt it.
  const sender = tabs.find((tab) => tab.name === senders(tabs)[0]);
  const rest = tabs.filter((tab) => tab !== sender);
  await d.proxy.down();
  const since3a = Date.now();
  for (const tab of tabs) await d.burst(tab, 10, `${tab.name}-waiting`);
  await d.collectHeld();
  await sleep(2500);  // one sending interval: the sender tries and is refused; the others wait
  assert.deepEqual(senders(tabs, since3a), [sender.name], 'only the sender tries to send');
  await sender.page.close();
  // Its pagehide beacon (the waiting records, never acknowledged) may leave
  // just after the close: let it meet the closed port, so that what follows
  // is the new sender's doing alone.
  await sleep(500);
  const since3 = Date.now();
  await d.proxy.up();
  await d.delivered(15_000, 'after the sending tab closed');
  const taker = senders(rest, since3);
  assert.equal(taker.length, 1, `one of the other tabs took over sending, not ${JSON.stringify(taker)}`);

  // 4. A record made in the tab that does not send is sent by the new sender.
  const log4 = d.proxy.log.length;
  const before4 = d.produced.size;
  const since4 = Date.now();
  const quiet = rest.find((tab) => tab.name !== taker[0]);
  await d.burst(quiet, 10, `${quiet.name}-after`);
  await d.delivered(15_000, 'a record of the tab that does not send');
  await sleep(2500);
  d.assertStoredOnce();
  assert.deepEqual(senders(rest, since4), taker, 'the new sender sent it');
  assert.ok(d.wire(log4) <= d.produced.size - before4 + ALLOWANCE);

  const total = d.wire();
  t.diagnostic(`in all: ${d.produced.size} records produced, ${total} sent over the wire, ${[...d.proxy.duplicates().values()].reduce((a, b) => a + b, 0)} answered as duplicates`);
  for (const tab of tabs) assert.deepEqual(tab.problems, [], `no page error in tab ${tab.name}`);
});

// Without the Locks API (an old browser) or where the context refuses it
// (SecurityError), there is no election: every tab sends, as before.
function noLocks() {
  Object.defineProperty(Navigator.prototype, 'locks', { configurable: true, get: () => undefined });
}
function locksDenied() {
  const denied = () => Promise.reject(new DOMException('The request was denied.', 'SecurityError'));
  LockManager.prototype.request = denied;
}

test('without the Locks API, or where it is denied, every tab sends and nothing is lost', async (t) => {
  const d = await startDevice(t);
  const a = await d.open('a', { deviceId: 'dev-nolocks', init: noLocks });
  const b = await d.open('b', { deviceId: 'dev-nolocks', init: noLocks });
  const c = await d.open('c', { deviceId: 'dev-denied', init: locksDenied });
  const e = await d.open('e', { deviceId: 'dev-denied', init: locksDenied });
  await d.delivered(20_000, 'the page views');
  // While the server is out of reach every tab tries to send what waits
  // (when it is up, whichever tab's timer comes first sends it all).
  await d.proxy.down();
  const since = Date.now();
  for (const tab of [a, b, c, e]) await d.burst(tab, 5, tab.name);
  await until(() => senders([a, b, c, e], since).length === 4, 10_000, `every tab tries to send (${senders([a, b, c, e], since)} did)`);
  await d.proxy.up();
  for (const tab of [a, b, c, e]) await tab.page.evaluate(() => window.dispatchEvent(new Event('online')));
  await d.delivered(20_000, 'without the Locks API');
  d.assertStoredOnce();
  for (const tab of [a, b, c, e]) assert.deepEqual(tab.problems, [], `no page error in tab ${tab.name}`);
});

// IndexedDB writes fail as they do when the origin's quota is used up (as in faults.test.js).
function exhaustQuota() {
  const quota = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  IDBObjectStore.prototype.put = function put() { throw quota(); };
  IDBObjectStore.prototype.add = function add() { throw quota(); };
}

test('a tab that cannot write its changes sends them itself: the sender cannot see them', async (t) => {
  const d = await startDevice(t);
  const a = await d.open('a', { deviceId: 'dev-quota', init: exhaustQuota });
  const b = await d.open('b', { deviceId: 'dev-quota', init: exhaustQuota });
  await d.delivered(20_000, 'the page views');
  const since = Date.now();
  await d.burst(b, 10, 'b-unwritten');
  await d.burst(a, 10, 'a-unwritten');
  await d.delivered(20_000, 'records only their own tab holds');
  d.assertStoredOnce();
  assert.deepEqual(senders([a, b], since).sort(), ['a', 'b'], 'each tab sent its own');
  const errors = await b.page.evaluate(() => window.rkErrors);
  assert.ok(errors.some((m) => /state cannot be saved/.test(m)), errors.join(' | '));
  for (const tab of [a, b]) assert.deepEqual(tab.problems, [], `no page error in tab ${tab.name}`);
});

// Headless Chromium does not freeze a visible page (Page.setWebLifecycleState
// leaves its timers running and fires no event), so the page is told it is
// frozen and resumed with the events the browser would fire.
test('a sender told it is frozen gives the lock up: another tab sends meanwhile; on resume it waits its turn', async (t) => {
  const d = await startDevice(t);
  const a = await d.open('a', { deviceId: 'dev-freeze' });
  const b = await d.open('b', { deviceId: 'dev-freeze' });
  await d.delivered(20_000, 'the page views');
  assert.deepEqual(senders([a, b]), ['a'], 'the first tab sends');
  await a.page.evaluate(() => document.dispatchEvent(new Event('freeze')));
  let since = Date.now();
  await d.burst(b, 10, 'b-while-a-frozen');
  await d.burst(a, 10, 'a-while-frozen');
  await d.delivered(15_000, 'while the sender is frozen');
  assert.deepEqual(senders([a, b], since), ['b'], 'the other tab took over');
  // Resumed, the first tab asks again and waits behind the new sender.
  await a.page.evaluate(() => document.dispatchEvent(new Event('resume')));
  since = Date.now();
  await d.burst(a, 10, 'a-resumed');
  await d.delivered(15_000, 'after the resume');
  assert.deepEqual(senders([a, b], since), ['b'], 'the new sender keeps sending');
  // When it closes, the first tab sends again.
  await b.page.close();
  since = Date.now();
  await d.burst(a, 10, 'a-alone');
  await d.delivered(15_000, 'after the new sender closed');
  assert.deepEqual(senders([a], since), ['a']);
  d.assertStoredOnce();
  assert.ok(d.wire() <= d.produced.size + ALLOWANCE, `${d.wire()} record ids over the wire for ${d.produced.size}`);
  for (const tab of [a, b]) assert.deepEqual(tab.problems, [], `no page error in tab ${tab.name}`);
});
