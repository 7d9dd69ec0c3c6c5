// The page runtime's write-ahead journal in headless Chromium: a turn writes
// only the engine calls it made (`journal:<version>`), the whole snapshot is
// written when the journal passes its bounds, and a reload or another tab
// replays the journal after the snapshot to the exact same state. Damaged
// entries are reported and the page goes on.
//
// The pages run on a clock the test moves (kept in localStorage, so that the
// tabs of a context share it and a reload keeps it), without an endpoint
// (acknowledgements would land at times the test does not control), without
// automatic collection or tiles. `blockHide` stops the page's pagehide and
// visibilitychange-to-hidden handlers, as for a tab killed before they run:
// the reload then finds the journal exactly as the last turn left it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRecordingServer } from './recording-server.js';
import { launchChromium, watchConsole } from './browser.js';

const T0 = Date.parse('2026-03-02T09:00:00Z');

const ARTIFACT = {
  version: 'journal-test',
  consent: { defaults: { analytics: 'granted', personalize: 'granted', 'marketing.email': 'pending' } },
  segments: [
    { id: 'abandoned-cart', rule: { sequence: [{ event: { type: 'commerce.productListAdds' } }, { absent: { type: 'commerce.purchases' }, for: '30m' }] } },
    { id: 'browser', rule: { count: { event: { type: 'commerce.productViews' } }, op: 'gte', value: 5 } },
  ],
  placements: [{ id: 'hero' }],
  offers: [{ id: 'cart-10', placements: ['hero'], content: { title: 'Come back, {{profile.firstName|friend}}', body: '10 % off today' } }],
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

// Runs in the page before its scripts: the clock, the write counters, the hide blocker.
function pageSetup({ options, clock, blockHide }) {
  if (localStorage.getItem('fakeNow') === null) localStorage.setItem('fakeNow', String(clock));
  window.RK_OPTIONS = { ...options, now: () => Number(localStorage.getItem('fakeNow')), endpoint: undefined };
  window.tick = (ms) => localStorage.setItem('fakeNow', String(Number(localStorage.getItem('fakeNow')) + ms));
  // Every put the runtime makes, by kind of key.
  window.rkWrites = { snapshot: 0, journal: 0 };
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function counted(value, key) {
    if (key === 'snapshot') window.rkWrites.snapshot += 1;
    else if (typeof key === 'string' && key.startsWith('journal:')) window.rkWrites.journal += 1;
    return put.call(this, value, key);
  };
  // Registered before the runtime's listeners: while blocked, theirs do not run.
  window.hideBlocked = blockHide;
  window.addEventListener('pagehide', (e) => {
    if (window.hideBlocked) e.stopImmediatePropagation();
  });
  document.addEventListener('visibilitychange', (e) => {
    if (window.hideBlocked && document.visibilityState === 'hidden') e.stopImmediatePropagation();
  });
  // The page as if hidden (the runtime writes its snapshot), then visible again without a catch-up.
  window.hideOnce = () => {
    const blocked = window.hideBlocked;
    window.hideBlocked = false;
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
    delete document.visibilityState;
    window.hideBlocked = blocked;
  };
}

async function open(context, { deviceId, blockHide = true, artifact = ARTIFACT } = {}) {
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.addInitScript(pageSetup, { options: { artifact, deviceId, autoTrack: false, render: false }, clock: T0, blockHide });
  await page.goto(`${server.origin}/pages/runtime.html`);
  await ready(page);
  return { page, problems, db: `rekindle:${deviceId}` };
}

async function ready(page) {
  await page.waitForSelector('body[data-ready]', { state: 'attached' });
  assert.equal(await page.getAttribute('body', 'data-ready'), '1', await page.evaluate(() => window.rkStartError));
}

async function reload(tab) {
  await tab.page.reload();
  await ready(tab.page);
}

const snapshotOf = (tab) => tab.page.evaluate(() => window.rk.snapshot());
// The ids of the records waiting in the outbox (no endpoint: every event
// tracked is there, while the history keeps only what the rules need).
const outboxIds = (snapshot) => JSON.parse(snapshot).outbox.records.map((r) => r.id);
const errorsOf = (tab) => tab.page.evaluate(() => window.rkErrors);

// What the runtime's IndexedDB database holds: its keys, `version`, `base`
// and the version of the snapshot record.
function stored(tab) {
  return tab.page.evaluate((name) => new Promise((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const conn = req.result;
      const tx = conn.transaction('state', 'readonly');
      const st = tx.objectStore('state');
      const keys = st.getAllKeys();
      const version = st.get('version');
      const base = st.get('base');
      const snapshot = st.get('snapshot');
      tx.oncomplete = () => {
        conn.close();
        const journal = keys.result.filter((k) => typeof k === 'string' && k.startsWith('journal:')).map((k) => Number(k.slice(8))).sort((a, b) => a - b);
        resolve({ journal, version: version.result, base: base.result, snapshotVersion: snapshot.result?.version });
      };
      tx.onerror = () => reject(tx.error);
    };
  }), tab.db);
}

// Puts `value` under `key` in the runtime's database (another writer, or a damaged disk).
function storeRaw(tab, key, value) {
  return tab.page.evaluate(([name, k, v]) => new Promise((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const tx = req.result.transaction('state', 'readwrite');
      tx.objectStore('state').put(v, k);
      tx.oncomplete = () => { req.result.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
  }), [tab.db, key, value]);
}

/**
 * `n` changes, each awaited (its own turn), a second of the clock apart: product
 * views and adds, attributes, an identity, consent, a purchase, and a catch-up
 * past a deadline (an `advance` with its transitions). Returns the event ids.
 */
function changes(tab, n, tag) {
  return tab.page.evaluate(async ([count, label]) => {
    const ids = [];
    for (let i = 0; i < count; ++i) {
      window.tick(1000);
      const step = i % 10;
      let r;
      if (step === 3) r = await window.rk.track('commerce.productListAdds', { productListItems: [{ SKU: `${label}-add-${i}`, quantity: 1, priceTotal: 89 }] });
      else if (step === 5) r = await window.rk.setAttributes({ firstName: `Ada ${label} ${i}`, stats: { visits: i } });
      else if (step === 6) r = await window.rk.identify('crm', `${label}-${i}`);
      else if (step === 7) r = await window.rk.setConsent({ 'marketing.email': i % 20 === 7 ? 'granted' : 'denied' });
      else if (step === 9 && i % 20 === 19) r = await window.rk.track('commerce.purchases', { commerce: { order: { purchaseID: `${label}-${i}` } } });
      else r = await window.rk.track('commerce.productViews', { productListItems: [{ SKU: `${label}-view-${i}` }] });
      if (!r.ok) throw new Error(`change ${i}: ${JSON.stringify(r.errors)}`);
      if (r.eventId) ids.push(r.eventId);
    }
    // 31 minutes later, a catch-up (visibilitychange to visible): the abandoned-cart deadline passes.
    window.tick(31 * 60000);
    document.dispatchEvent(new Event('visibilitychange'));
    return ids;
  }, [n, tag]);
}

// Waits until the page's turns are done (a no-op awaited change goes through the same queue).
async function settled(tab) {
  await tab.page.evaluate(() => window.rk.flush());
  await tab.page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
  await tab.page.evaluate(() => window.rk.flush());
}

test('a reload restores exactly the same state, from journal entries and right after a compaction', async () => {
  const context = await browser.newContext();
  const tab = await open(context, { deviceId: 'dev-reload' });
  const ids = await changes(tab, 30, 'a');
  await settled(tab);
  const before = await snapshotOf(tab);
  let db = await stored(tab);
  assert.ok(db.journal.length >= 30, `each change wrote a journal entry (${db.journal.length})`);
  assert.equal(db.journal.at(-1), db.version, 'the last write was a journal entry');
  assert.ok(db.snapshotVersion < db.version, `the snapshot (${db.snapshotVersion}) is older than the state (${db.version})`);
  assert.equal(db.base, db.snapshotVersion);
  const segments = await tab.page.evaluate(() => window.rk.segments().map((s) => s.segment));
  assert.ok(segments.includes('abandoned-cart') || segments.includes('browser'), `the replay has segments to get right (${segments})`);

  // Reload: the snapshot restored, the journal replayed. The start loads the
  // same artifact again, which only catches up: a journal entry, no snapshot.
  await reload(tab);
  assert.equal(await snapshotOf(tab), before, 'the state after the reload is the state before it');
  assert.deepEqual(await errorsOf(tab), []);
  await settled(tab);
  const started = await stored(tab);
  assert.equal(await tab.page.evaluate(() => window.rkWrites.snapshot), 0, 'the start wrote no snapshot');
  assert.equal(started.snapshotVersion, db.snapshotVersion, 'the stored snapshot is the one before the reload');
  assert.ok(started.version > db.version && started.journal.at(-1) === started.version, 'the start wrote journal entries');
  const history = outboxIds(before);
  for (const id of ids) assert.ok(history.includes(id));

  // More changes, then the page is hidden: the snapshot is written and the
  // journal emptied in one transaction.
  await changes(tab, 12, 'b');
  await settled(tab);
  assert.ok((await stored(tab)).journal.length >= 12);
  const writes = await tab.page.evaluate(() => window.rkWrites.snapshot);
  await tab.page.evaluate(() => window.hideOnce());
  await settled(tab);
  db = await stored(tab);
  assert.equal(await tab.page.evaluate(() => window.rkWrites.snapshot), writes + 1, 'one snapshot written');
  assert.deepEqual(db.journal, [], 'the journal is empty');
  assert.equal(db.snapshotVersion, db.version);
  assert.equal(db.base, db.version);
  const compacted = await snapshotOf(tab);
  assert.notEqual(compacted, before);
  await reload(tab);
  assert.equal(await snapshotOf(tab), compacted, 'the state after the reload is the state before it');
  assert.deepEqual(await errorsOf(tab), []);
  assert.deepEqual(tab.problems, []);
  await tab.page.close();
  await context.close();
});

test('two tabs interleaving changes converge to the same state, as does a third tab opened afterwards', async () => {
  const context = await browser.newContext();
  const a = await open(context, { deviceId: 'dev-tabs' });
  const b = await open(context, { deviceId: 'dev-tabs' });
  const ids = [];
  // Alternating turns, then both at once.
  for (let round = 0; round < 4; ++round) {
    ids.push(...await changes(a, 5, `a${round}`));
    ids.push(...await changes(b, 5, `b${round}`));
  }
  const both = await Promise.all([changes(a, 15, 'a-both'), changes(b, 15, 'b-both')]);
  ids.push(...both.flat());
  await Promise.all([settled(a), settled(b)]);
  // The last writer's announcement brings the other tab along.
  const end = Date.now() + 5000;
  let sa;
  let sb;
  for (;;) {
    [sa, sb] = await Promise.all([snapshotOf(a), snapshotOf(b)]);
    if (sa === sb || Date.now() > end) break;
    await sleep(50);
  }
  assert.equal(sa, sb, 'the two tabs hold the same state');
  const history = outboxIds(sa);
  for (const id of ids) assert.ok(history.includes(id), `event ${id} is in the shared state`);
  const db = await stored(a);
  assert.ok(db.journal.length > 0, 'the tabs exchanged journal entries');

  // A third tab restores the snapshot and replays the journal to the same state.
  const c = await open(context, { deviceId: 'dev-tabs' });
  assert.equal(await snapshotOf(c), sa);
  for (const tab of [a, b, c]) {
    assert.deepEqual(await errorsOf(tab), []);
    assert.deepEqual(tab.problems, []);
  }
  await context.close();
});

test('a damaged journal entry is reported through onError, naming it; the page goes on and the store is repaired', async () => {
  const context = await browser.newContext();
  const tab = await open(context, { deviceId: 'dev-damaged' });
  const ids = await changes(tab, 8, 'd');
  await settled(tab);
  const db = await stored(tab);
  assert.ok(db.journal.length >= 8);
  // The entry of the fifth change (a product view): it and the four after it are lost.
  const damaged = db.journal[db.journal.length - 5];
  const kept = outboxIds(await snapshotOf(tab));

  // Garbage in the middle of the chain, then a reload.
  await storeRaw(tab, `journal:${damaged}`, { version: damaged, calls: [['_ingest', 42]] });
  await reload(tab);
  const errors = await errorsOf(tab);
  assert.equal(errors.length, 1, errors.join(' | '));
  assert.equal(errors[0], `the stored journal is damaged: entry "journal:${damaged}" (IndexedDB database "rekindle:dev-damaged", object store "state") `
    + 'has a damaged call at calls[0] (_ingest takes 2 argument(s)); '
    + `the changes of versions ${damaged} to ${db.version} are lost, the state of version ${damaged - 1} is used and stored again`);
  // The state of the entries before the damaged one; the page works.
  const history = outboxIds(await snapshotOf(tab));
  assert.ok(history.length > 0 && history.length < kept.length, `some changes are lost (${history.length} of ${kept.length})`);
  for (const id of history) assert.ok(kept.includes(id));
  assert.ok(ids.some((id) => history.includes(id)));
  const r = await tab.page.evaluate(() => window.rk.track('commerce.productViews', { productListItems: [{ SKU: 'after' }] }));
  assert.equal(r.ok, true);
  assert.equal(await tab.page.evaluate(() => typeof window.rk.decide('hero')), 'object');
  // The store was written again whole, above the damaged versions.
  const repaired = await stored(tab);
  assert.ok(repaired.snapshotVersion > db.version, `snapshot ${repaired.snapshotVersion} > ${db.version}`);
  assert.ok(repaired.journal.every((v) => v > repaired.snapshotVersion));
  const state = await snapshotOf(tab);
  await reload(tab);
  assert.deepEqual(await errorsOf(tab), [], 'the repaired store reloads without complaint');
  assert.equal(await snapshotOf(tab), state);

  // Another open tab meets a damaged entry when it follows the first one.
  const other = await open(context, { deviceId: 'dev-damaged' });
  await changes(tab, 3, 'e');
  await settled(tab);
  await settled(other);
  const at = await stored(tab);
  assert.equal(await snapshotOf(other), await snapshotOf(tab));
  await storeRaw(tab, `journal:${at.version + 1}`, 'not an entry');
  await storeRaw(tab, 'version', at.version + 1);
  const after = await other.page.evaluate(() => window.rk.track('commerce.productViews', { productListItems: [{ SKU: 'other' }] }));
  assert.equal(after.ok, true);
  const otherErrors = await errorsOf(other);
  assert.deepEqual(otherErrors, [`the stored journal is damaged: entry "journal:${at.version + 1}" (IndexedDB database "rekindle:dev-damaged", object store "state") `
    + `is string, not an object; the changes of version ${at.version + 1} are lost, the state of version ${at.version} is used and stored again`]);
  // The first tab follows the repaired store.
  await settled(tab);
  const end = Date.now() + 5000;
  while (await snapshotOf(tab) !== await snapshotOf(other) && Date.now() < end) await sleep(50);
  assert.equal(await snapshotOf(tab), await snapshotOf(other));
  assert.deepEqual(await errorsOf(tab), []);
  for (const t of [tab, other]) assert.deepEqual(t.problems, []);
  await context.close();
});

test('200 awaited tracks write 200 journal entries and a bounded number of snapshots; the journal stays bounded', async () => {
  const context = await browser.newContext();
  const tab = await open(context, { deviceId: 'dev-burst' });
  await settled(tab);
  const start = await stored(tab);
  const out = await tab.page.evaluate(async () => {
    window.rkWrites = { snapshot: 0, journal: 0 };
    for (let i = 0; i < 200; ++i) {
      window.tick(1000);
      const r = await window.rk.track('commerce.productViews', { productListItems: [{ SKU: `burst-${i}` }] });
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
    }
    return { ...window.rkWrites };
  });
  await settled(tab);
  const writes = await tab.page.evaluate(() => ({ ...window.rkWrites }));
  // The journal passes its 100-entry bound twice: one snapshot each, written
  // when the page is idle (a track queued at that moment goes into it rather
  // than into an entry of its own). No turn writes a snapshot of its own.
  assert.ok(writes.snapshot >= 1 && writes.snapshot <= 3, `${writes.snapshot} snapshot writes`);
  assert.ok(out.journal >= 200 - writes.snapshot && out.journal <= 200, `${out.journal} journal entries`);
  const db = await stored(tab);
  assert.equal(db.version, start.version + 200);
  assert.ok(db.journal.length < 100 + 10, `the journal is bounded (${db.journal.length} entries)`);
  assert.ok(db.snapshotVersion > start.version, 'a snapshot was written by the bound');
  const state = await snapshotOf(tab);
  await reload(tab);
  assert.equal(await snapshotOf(tab), state);
  assert.deepEqual(await errorsOf(tab), []);
  assert.deepEqual(tab.problems, []);
  await context.close();
});
