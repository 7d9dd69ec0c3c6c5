// The fault matrix (issue 9): the page runtime in headless Chromium against the
// reference server (server/app.js over a real SQLite file) on 127.0.0.1, with
// a small fault-injecting HTTP proxy in front of it. The test pages come from
// another loopback origin, so CORS and the preflight are exercised as in
// production. Every case asserts that each record the page produced is stored
// in the server's database exactly once (ids compared: none missing, none
// extra, none twice) and that the page kept working (track and decide work,
// no page error). Each case prints its row of the table in docs/reliability.md
// as a test diagnostic.
//
// The page runtime has no option for transport timings, so the cases run on
// the production defaults: a 2 s batching interval, a 10 s request timeout, a
// backoff of 1 s doubling with full jitter, and the browser's `online` event
// (which ends a backoff) where a person's network would come back.
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

// No journeys and no segments: every record the page makes is then an event
// of its history, so the page can name everything it produced. The offer is
// eligible for everyone: decide('hero') answers it whenever the artifact is loaded.
const ARTIFACT = {
  version: 'faults-1',
  consent: { defaults: { analytics: 'granted', personalize: 'granted' } },
  placements: [{ id: 'hero' }],
  offers: [{ id: 'welcome', placements: ['hero'], eligibility: { path: 'profile.optedOut', op: 'exists', value: false }, content: { title: 'Welcome back', body: 'Free returns on every order' } }],
};

let pages;     // the page origin: tests/e2e/pages and web/ (static files only)
let browser;
let dir;
let artifactFile;
const rows = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rekindle-faults-'));
  artifactFile = join(dir, 'artifact.json');
  writeFileSync(artifactFile, JSON.stringify(ARTIFACT));
  pages = await startRecordingServer();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await pages?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (rows.length > 0) {
    const lines = ['| case | records produced | stored | stored twice | resent, answered as duplicates | lost |', '| --- | --: | --: | --: | --: | --: |'];
    for (const r of rows) lines.push(`| ${r.name} | ${r.produced} | ${r.stored} | ${r.twice} | ${r.resent} | ${r.lost} |`);
    process.stdout.write(`fault matrix:\n${lines.join('\n')}\n`);
  }
});

// ---- one case: a real server, the proxy, a browser context ---------------------------

async function startCase(t, { serverOverrides = {} } = {}) {
  const srv = await startServer({
    sites: [{ id: SITE, writeKeys: [KEY], origins: [pages.origin], artifact: artifactFile }],
    overrides: serverOverrides,
  });
  const proxy = await startFaultProxy(srv.base);
  const context = await browser.newContext();
  const tabs = [];
  const produced = new Set();
  t.after(async () => {
    await context.close();
    await proxy.close();
    await srv.close();
  });

  /** Opens the fault page in a new tab; `init` is an extra init script. */
  async function open({ deviceId, init, initArg, options = {} }) {
    const page = await context.newPage();
    const tab = { page, problems: [] };
    page.on('pageerror', (err) => tab.problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      // Chromium logs every failed request; those are the faults themselves.
      if (msg.type() === 'error' && !/^Failed to load resource/.test(msg.text())) tab.problems.push(`console.error: ${msg.text()}`);
    });
    await page.addInitScript((o) => { window.RK_OPTIONS = o; }, {
      endpoint: proxy.origin, artifactUrl: `${proxy.origin}/v1/artifact`, writeKey: KEY, deviceId, render: false, ...options,
    });
    if (init) await page.addInitScript(init, initArg);
    await goto(tab, () => page.goto(`${pages.origin}/pages/faults.html`));
    tabs.push(tab);
    return tab;
  }

  async function goto(tab, navigate) {
    await navigate();
    await tab.page.waitForSelector('body[data-ready]', { state: 'attached' });
    assert.equal(await tab.page.getAttribute('body', 'data-ready'), '1', await tab.page.evaluate(() => window.rkStartError));
  }

  /** `n` product views in one turn; their ids count as produced. */
  async function burst(tab, n, tag) {
    const { ids, errors } = await tab.page.evaluate(([k, g]) => window.burst(k, g), [n, tag]);
    assert.deepEqual(errors, [], 'every event is taken');
    assert.equal(ids.length, n);
    for (const id of ids) produced.add(id);
    return ids;
  }

  /** Everything the tab's engine holds counts as produced (page views included). */
  async function collectHeld(tab) {
    const held = await tab.page.evaluate(() => window.held());
    for (const id of [...held.history, ...held.outbox]) produced.add(id);
    return held;
  }

  const storedIds = () => srv.store.recordIds(SITE);

  async function waitStored(ids, timeoutMs = 30_000, what = 'every produced record stored') {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const stored = new Set(storedIds());
      const missing = [...ids].filter((id) => !stored.has(id));
      if (missing.length === 0) return;
      if (Date.now() > end) {
        const where = await Promise.all(tabs.filter((x) => !x.page.isClosed()).map((x) => x.page.evaluate(() => ({ outbox: window.held().outbox.length, errors: window.rkErrors.slice(-5) })).catch((e) => e.message)));
        throw new Error(`${what}: ${missing.length} of ${ids.size ?? ids.length} missing after ${timeoutMs} ms\n`
          + `proxy saw: ${proxy.log.map((e) => `${e.records.length}:${e.status}`).join(', ')}\npages: ${JSON.stringify(where)}`);
      }
      await sleep(100);
    }
  }

  /**
   * The end of a case: the page still works (a new event is taken and
   * decide answers the offer), every produced record is stored exactly once,
   * the outbox drains, no page error. Adds the row for the table.
   */
  async function verify(name, { tab = tabs.at(-1), lost: allowedLost = new Set(), timeoutMs, record = true } = {}) {
    const works = await tab.page.evaluate(async () => {
      const r = await window.rk.track('commerce.productListAdds', { productListItems: [{ SKU: 'still-works', quantity: 1, priceTotal: 1 }] });
      return { ok: r.ok, id: r.eventId, decision: window.rk.decide('hero')?.offer ?? null };
    });
    assert.equal(works.ok, true, 'track still works');
    assert.equal(works.decision, 'welcome', 'decide still answers the offer');
    produced.add(works.id);
    for (const x of tabs) if (!x.page.isClosed()) await collectHeld(x);
    const expected = new Set([...produced].filter((id) => !allowedLost.has(id)));
    await tab.page.evaluate(() => window.rk.flush());
    await waitStored(expected, timeoutMs);

    const stored = storedIds();
    const storedSet = new Set(stored);
    const twice = srv.store.db.prepare('SELECT id FROM records WHERE site = ? GROUP BY id HAVING COUNT(*) > 1').all(SITE);
    assert.deepEqual(twice, [], 'no record is stored twice');
    assert.equal(stored.length, storedSet.size);
    assert.equal(srv.store.countRecords(SITE), storedSet.size);
    const extra = stored.filter((id) => !produced.has(id));
    assert.deepEqual(extra, [], 'the server holds nothing the page did not produce');
    const lost = [...produced].filter((id) => !storedSet.has(id));
    assert.deepEqual(lost.sort(), [...allowedLost].sort(), 'nothing is lost');

    // The outbox drains: the acknowledgements reached every open tab.
    for (const x of tabs.filter((y) => !y.page.isClosed())) {
      await x.page.waitForFunction(() => window.held().outbox.length === 0, null, { timeout: 15_000 });
    }
    for (const x of tabs) assert.deepEqual(x.problems, [], 'no page error');
    const resent = [...proxy.duplicates().values()].reduce((a, b) => a + b, 0);
    const row = { name, produced: produced.size, stored: storedSet.size, twice: twice.length, resent, lost: lost.length };
    if (record) rows.push(row);
    return row;
  }

  return { srv, proxy, context, open, goto, burst, collectHeld, verify, waitStored, produced };
}

const errorsOf = (tab) => tab.page.evaluate(() => window.rkErrors);
const online = (tab) => tab.page.evaluate(() => window.dispatchEvent(new Event('online')));

async function until(predicate, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > end) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}

// ---- the cases -------------------------------------------------------------------

test('server down for a while, then back: everything arrives once', async (t) => {
  const c = await startCase(t);
  const tab = await c.open({ deviceId: 'dev-down' });
  await c.burst(tab, 10, 'before');
  await c.waitStored(c.produced, 10_000, 'while the server is up');
  await c.proxy.down();
  await c.burst(tab, 20, 'down-1');
  await sleep(2500);  // the interval passes: the page tries, the connection is refused
  await c.burst(tab, 20, 'down-2');
  await sleep(1500);
  assert.ok((await errorsOf(tab)).some((m) => /^delivery: .+ \(http:\/\/[^ ]+\/v1\/collect; the records stay in the outbox and are retried\)$/.test(m)),
    (await errorsOf(tab)).join(' | '));
  await c.proxy.up();
  const row = await c.verify('server down 4 s, then back');
  t.diagnostic(JSON.stringify(row));
});

test('500s: the batch stays in the outbox and is retried with backoff', async (t) => {
  const c = await startCase(t);
  const tab = await c.open({ deviceId: 'dev-500' });
  c.proxy.fail(3, 500);
  await c.burst(tab, 30, 'a');
  await c.burst(tab, 30, 'b');
  await until(() => c.proxy.log.filter((e) => e.status === 500).length === 3, 20_000, 'three 500s answered');
  // The status, the server's own words, where, and that nothing was lost.
  assert.ok((await errorsOf(tab)).some((m) => /^delivery: HTTP 500: injected by the fault proxy \(http:\/\/[^ ]+\/v1\/collect; the records stay in the outbox and are retried\)$/.test(m)),
    (await errorsOf(tab)).join(' | '));
  const row = await c.verify('HTTP 500 three times');
  t.diagnostic(JSON.stringify(row));
});

test('429 from the server\'s rate limit: no request before Retry-After', async (t) => {
  const c = await startCase(t, { serverOverrides: { rateLimit: { max: 2, windowMs: 3000 } } });
  const tab = await c.open({ deviceId: 'dev-429' });
  await c.burst(tab, 200, 'burst');  // four batches of 50
  await tab.page.evaluate(() => window.rk.flush());
  await until(() => c.proxy.log.some((e) => e.status === 429), 10_000, 'a 429');
  const row = await c.verify('HTTP 429 with Retry-After (the server\'s rate limit)');
  const log = c.proxy.log;
  const limited = log.filter((e) => e.status === 429);
  assert.ok(limited.length >= 1);
  for (const e of limited) {
    assert.match(String(e.retryAfter), /^\d+$/, 'the server sent Retry-After in seconds');
    const next = log.find((x) => x.at > e.at && !x.beacon);
    assert.ok(next, 'the page came back');
    assert.ok(next.at - e.at >= Number(e.retryAfter) * 1000 - 50, `came back after ${next.at - e.at} ms, Retry-After ${e.retryAfter} s`);
  }
  t.diagnostic(JSON.stringify({ ...row, answers: log.map((e) => e.status).join(',') }));
});

test('a server that takes the batch and never answers: the page times out and resends; stored once', async (t) => {
  const c = await startCase(t);
  const tab = await c.open({ deviceId: 'dev-hang' });
  await c.waitStored(await c.collectHeld(tab).then((h) => h.history), 10_000, 'the page view');
  c.proxy.swallow(1);
  await c.burst(tab, 30, 'hung');
  await tab.page.evaluate(() => { window.rk.flush(); });
  await until(() => c.proxy.log.some((e) => e.swallowed), 5000, 'the swallowed request');
  await c.burst(tab, 10, 'meanwhile');  // waits behind the request in flight
  const row = await c.verify('the server stores the batch, never answers (10 s timeout)', { timeoutMs: 40_000 });
  assert.ok((await errorsOf(tab)).some((m) => /no answer within 10000 ms/.test(m)), (await errorsOf(tab)).join(' | '));
  assert.ok(row.resent >= 30, 'the resent batch came back as duplicates');
  t.diagnostic(JSON.stringify(row));
});

test('the tab closed in the middle of a flush: the next visit delivers the rest', async (t) => {
  const c = await startCase(t);
  const first = await c.open({ deviceId: 'dev-close' });
  c.proxy.delayMs = 400;
  await c.burst(first, 250, 'flush');
  await c.collectHeld(first);
  await first.page.evaluate(() => { window.rk.flush(); });
  // One batch acknowledged, the next one in flight: close the tab.
  await until(() => c.proxy.log.filter((e) => e.answeredAt).length >= 1 && c.proxy.log.length >= 2, 10_000, 'a batch answered, one in flight');
  await first.page.close();
  const sentBeforeClose = new Set(c.srv.store.recordIds(SITE));
  assert.ok(sentBeforeClose.size < c.produced.size, 'records were left when the tab closed');
  c.proxy.delayMs = 0;
  const second = await c.open({ deviceId: 'dev-close' });
  const held = await c.collectHeld(second);
  assert.ok(held.outbox.length > 0, 'the next visit holds the rest');
  const row = await c.verify('tab closed in the middle of a flush, next visit');
  t.diagnostic(JSON.stringify({ ...row, beacons: c.proxy.log.filter((e) => e.beacon).length }));
});

test('reload during a batch: nothing lost, nothing stored twice', async (t) => {
  const c = await startCase(t);
  const tab = await c.open({ deviceId: 'dev-reload' });
  c.proxy.delayMs = 400;
  await c.burst(tab, 200, 'reload');
  await c.collectHeld(tab);
  await tab.page.evaluate(() => { window.rk.flush(); });
  await until(() => c.proxy.log.length >= 2, 10_000, 'a batch in flight');
  await c.goto(tab, () => tab.page.reload());
  c.proxy.delayMs = 0;
  await c.collectHeld(tab);
  const row = await c.verify('reload during a batch');
  t.diagnostic(JSON.stringify(row));
});

test('three tabs producing events at once', async (t) => {
  const c = await startCase(t);
  const tabs = [];
  for (let i = 0; i < 3; i++) tabs.push(await c.open({ deviceId: 'dev-tabs' }));
  await Promise.all(tabs.map(async (tab, i) => {
    for (let k = 0; k < 8; k++) {
      await c.burst(tab, 5, `tab${i}-${k}`);
      await sleep(40 + 30 * i);
    }
  }));
  await Promise.all(tabs.map((tab) => tab.page.evaluate(() => window.rk.flush())));
  // The tabs share one state: each comes to hold the others' events.
  for (const tab of tabs) await tab.page.waitForFunction((n) => window.held().history.length >= n, 3 * 8 * 5, { timeout: 5000 });
  for (const tab of tabs) await c.collectHeld(tab);
  const row = await c.verify('three tabs producing events at once', { tab: tabs[0] });
  // Record ids over the wire (every collection request, beacons included).
  const wire = c.proxy.log.reduce((n, e) => n + e.records.length, 0);
  t.diagnostic(JSON.stringify({ ...row, wire }));
});

// IndexedDB writes fail as they do when the origin's quota is used up.
function exhaustQuota() {
  const quota = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  IDBObjectStore.prototype.put = function put() { throw quota(); };
  IDBObjectStore.prototype.add = function add() { throw quota(); };
}

test('storage quota exhausted: the page runs from memory, reports it, and delivers', async (t) => {
  const c = await startCase(t);
  const tab = await c.open({ deviceId: 'dev-quota', init: exhaustQuota });
  await c.burst(tab, 60, 'quota');
  const row = await c.verify('storage quota exhausted (IndexedDB writes throw QuotaExceededError)');
  const errors = await errorsOf(tab);
  assert.ok(errors.some((m) => /state cannot be saved \(.*quota.*\); it is kept in memory/i.test(m)), errors.join(' | '));
  t.diagnostic(JSON.stringify(row));
});

test('storage quota exhausted and the server unreachable past the outbox bound: bounded drops, counted and reported', async (t) => {
  const c = await startCase(t);
  const tab = await c.open({ deviceId: 'dev-overflow', init: exhaustQuota });
  await c.waitStored((await c.collectHeld(tab)).history, 10_000, 'the page view');
  await tab.page.waitForFunction(() => window.held().outbox.length === 0);
  await c.proxy.down();
  const ids = [];
  for (let k = 0; k < 3; k++) ids.push(...await c.burst(tab, 1700, `overflow-${k}`));
  const held = await c.collectHeld(tab);
  assert.equal(held.outbox.length, 5000, 'the outbox keeps its bound');
  assert.equal(held.dropped, ids.length - 5000, 'the drops are counted');
  const reports = (await errorsOf(tab)).filter((m) => /outbox is full/.test(m));
  assert.deepEqual(reports, ['the outbox is full: the 100 oldest record(s) were dropped unsent (100 on this device so far)'], 'the drops are reported once');
  await c.proxy.up();
  await online(tab);
  const dropped = new Set(ids.slice(0, ids.length - 5000));
  const row = await c.verify('storage quota exhausted + server down past the 5000-record outbox', { lost: dropped, timeoutMs: 60_000 });
  t.diagnostic(JSON.stringify(row));
});

test('a corrupted IndexedDB store: reported, repaired from the tab\'s state, nothing lost', async (t) => {
  const c = await startCase(t);
  const tab = await c.open({ deviceId: 'dev-corrupt' });
  const db = 'rekindle:dev-corrupt';
  await c.proxy.down();
  await c.burst(tab, 20, 'before');
  // Another writer leaves garbage under a newer version.
  await tab.page.evaluate((name) => new Promise((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const tx = req.result.transaction('state', 'readwrite');
      tx.objectStore('state').put({ version: 999, snapshot: '{"format":"rekindle.snapshot",' }, 'snapshot');
      tx.objectStore('state').put(999, 'version');
      tx.oncomplete = () => { req.result.close(); resolve(); };
    };
  }), db);
  await c.burst(tab, 20, 'after-garbage');
  // Then the whole database disappears (cleared by the browser or the visitor).
  await tab.page.evaluate((name) => new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
  }), db);
  await c.burst(tab, 20, 'after-delete');
  const errors = await errorsOf(tab);
  assert.ok(errors.some((m) => /^stored state is damaged/.test(m)), errors.join(' | '));
  await c.proxy.up();
  await online(tab);
  await c.verify('corrupted IndexedDB store', { record: false });
  // A reload restores the repaired state without complaint.
  await c.goto(tab, () => tab.page.reload());
  const held = await tab.page.evaluate(() => window.held());
  const reloadErrors = await errorsOf(tab);
  assert.deepEqual(reloadErrors, []);
  const missing = [...c.produced].filter((id) => !held.history.includes(id));
  assert.deepEqual(missing, [], `every event survived the reload (${held.history.length} held)`);
  const row = await c.verify('corrupted IndexedDB store (garbage record, then database deleted), then a reload');
  t.diagnostic(JSON.stringify(row));
});

test('an artifact replaced by an invalid one mid-session: the last good one stays in use', async (t) => {
  const c = await startCase(t);
  const first = await c.open({ deviceId: 'dev-artifact' });
  assert.equal((await first.page.evaluate(() => window.held())).artifact, 'faults-1');
  await c.burst(first, 10, 'good');
  const invalid = { ...ARTIFACT, version: 'faults-2-invalid', segments: [{ id: 'viewer', rule: { count: { event: { type: 'x' } }, op: 'between', value: 1 } }] };
  const variants = [
    { text: JSON.stringify(invalid), etag: '"invalid-1"', pattern: /is invalid and is not used; the last good one \(version "faults-1"\) stays in use/ },
    { text: '{"version": "faults-3", "segments": [', etag: '"truncated-1"', pattern: /is invalid and is not used; the last good one \(version "faults-1"\) stays in use/ },
  ];
  for (const v of variants) {
    c.proxy.artifact = v;
    // A second tab opens mid-session, and the first one reloads: both revalidate.
    const second = await c.open({ deviceId: 'dev-artifact' });
    await c.goto(first, () => first.page.reload());
    for (const tab of [first, second]) {
      const errors = await until(async () => ((await errorsOf(tab)).some((m) => v.pattern.test(m)) ? errorsOf(tab) : null), 5000, 'the report');
      assert.ok(errors.every((m) => v.pattern.test(m)), errors.join(' | '));
      assert.equal((await tab.page.evaluate(() => window.held())).artifact, 'faults-1');
      await c.burst(tab, 10, `during-${v.etag}`);
    }
  }
  const row = await c.verify('artifact replaced by an invalid one (invalid rule, truncated JSON)', { tab: first });
  t.diagnostic(JSON.stringify(row));
});

// Date.now() moved by window.__rkClockOffset ms (the wall clock set back and forth).
function movableClock() {
  const real = Date.now.bind(Date);
  window.__rkClockOffset = 0;
  Date.now = () => real() + window.__rkClockOffset;
}

test('the clock moved backwards during a backoff: delivery does not stall, events are taken', async (t) => {
  const c = await startCase(t);
  const tab = await c.open({ deviceId: 'dev-clock', init: movableClock });
  await c.burst(tab, 10, 'before');
  c.proxy.fail(1, 503, { 'retry-after': '2' });
  await tab.page.evaluate(() => window.rk.flush());
  assert.equal(c.proxy.log.at(-1).status, 503);
  // The wall clock goes back one hour while the page waits out the Retry-After.
  await tab.page.evaluate(() => { window.__rkClockOffset = -3600_000; });
  await c.burst(tab, 10, 'an-hour-back');
  await c.waitStored(c.produced, 10_000, 'delivered within seconds of the Retry-After, not an hour later');
  // And forward again, past the original time.
  await tab.page.evaluate(() => { window.__rkClockOffset = 60_000; });
  await c.burst(tab, 10, 'forward');
  const row = await c.verify('clock moved back 1 h during a backoff, then forward', { timeoutMs: 10_000 });
  t.diagnostic(JSON.stringify(row));
});
