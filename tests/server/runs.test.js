// The server's engine runs in a worker thread: collection goes on while a
// profile runs, and what changes during a run is neither lost (new records
// keep the profile due) nor overwritten (a merge during a run wins).
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, collect, batch, addToCart, purchase, eventRecord, T0, MINUTE, HOUR } from './harness.js';
import { SqliteStore } from '../../server/store/sqlite.js';

let s;
beforeEach(async () => {
  s = await startServer();
});
afterEach(async () => {
  await s.close();
});

const settled = (promise) => {
  const state = { done: false };
  promise.then(() => { state.done = true; }, () => { state.done = true; });
  return state;
};

test('collection is answered while a large profile runs, and what arrived meanwhile is run next', async () => {
  // A long history: 1,500 page views in batches, then one run over all of them.
  for (let i = 0; i < 15; i += 1) {
    const records = Array.from({ length: 100 }, (_, k) => eventRecord('web.webpagedetails.pageViews', T0 - HOUR + i * 100 + k));
    assert.equal((await collect(s.base, batch('big', records))).status, 200);
  }
  const run = s.runner.runProfile('shop', 'big');
  const state = settled(run);
  // The run is computing in the worker: this request is answered before it ends.
  const res = await collect(s.base, batch('big', [addToCart(T0)]));
  assert.equal(res.status, 200);
  assert.equal(res.body.accepted.length, 1);
  assert.equal(state.done, false, 'collection was answered while the run was still in flight');
  const first = await run;
  assert.equal(first.saved, true);
  assert.equal(first.events, 1500, 'the run took the records there were when it started');
  // The add to cart arrived during the run: the profile is still due, and the next run takes it.
  assert.deepEqual(s.store.dueProfiles(T0, 10).map((p) => p.profileId), ['big']);
  const second = await s.runner.runProfile('shop', 'big');
  assert.equal(second.events, 1);
  assert.equal(second.nextDeadline, T0 + 30 * MINUTE, 'the abandoned-cart deadline of the add to cart');
  assert.deepEqual(s.store.dueProfiles(T0, 10), []);
});

test('a merge during a run wins: the stale run saves nothing and the merged profile replays both devices', async () => {
  await collect(s.base, batch('phone-1', [addToCart(T0)]));
  await collect(s.base, batch('laptop-1', [purchase(T0 + 10 * MINUTE)]));
  s.clock.set(T0 + HOUR);
  await s.runner.runProfile('shop', 'laptop-1');
  const run = s.runner.runProfile('shop', 'laptop-1');
  // While it computes, phone-1 joins laptop-1's profile: its engine state is forgotten.
  s.ingest.identify('shop', 'phone-1', 'email', 'ada@example.com');
  s.ingest.identify('shop', 'laptop-1', 'email', 'ada@example.com');
  assert.equal(s.store.getProfile('shop', 'laptop-1').snapshot, null);
  const stale = await run;
  assert.equal(stale.saved, false);
  assert.equal(s.store.getProfile('shop', 'laptop-1').snapshot, null, 'the stale run did not overwrite the reset');
  const replay = await s.runner.runProfile('shop', 'laptop-1');
  assert.equal(replay.saved, true);
  assert.equal(replay.events, 2, 'both devices\' events, replayed into the merged profile');
  assert.deepEqual(s.store.segmentMembers('shop', 'abandoned-cart', '', 10), [],
    'the purchase on the laptop within 30 minutes of the add to cart on the phone: no abandoned cart');
  assert.deepEqual(s.store.dueProfiles(T0 + HOUR, 10), []);
});

test('the server\'s own outputs do not make a profile due again', async () => {
  await collect(s.base, batch('visitor-1', [addToCart(T0)]));
  s.clock.set(T0 + HOUR);
  const run = await s.runner.runProfile('shop', 'visitor-1');
  assert.ok(run.stored > 0, 'the run stored what it computed (journey records)');
  assert.deepEqual(s.store.dueProfiles(T0 + HOUR, 10), []);
});

test('a database written by the previous schema is migrated, and its due profiles still run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekindle-migrate-'));
  try {
    const path = join(dir, 'old.db');
    // The profiles table and meta row as schema 1 wrote them.
    const old = new Database(path);
    old.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('schema', '1');
      CREATE TABLE profiles (site TEXT NOT NULL, profile_id TEXT NOT NULL, fragment TEXT NOT NULL DEFAULT '{"fields":{}}',
        snapshot TEXT, artifact_etag TEXT, cursor INTEGER NOT NULL DEFAULT 0, dirty INTEGER NOT NULL DEFAULT 0,
        next_deadline INTEGER, updated INTEGER NOT NULL, PRIMARY KEY (site, profile_id));
      CREATE INDEX profiles_dirty ON profiles (dirty) WHERE dirty = 1;
      INSERT INTO profiles (site, profile_id, dirty, updated) VALUES ('shop', 'p1', 1, 0), ('shop', 'p2', 0, 0);`);
    old.close();
    const store = new SqliteStore(path);
    try {
      assert.deepEqual(store.dueProfiles(0, 10).map((p) => p.profileId), ['p1']);
      assert.equal(store.getProfile('shop', 'p1').resets, 0);
      store.resetRun('shop', 'p2');
      assert.deepEqual(store.dueProfiles(0, 10).map((p) => p.profileId).sort(), ['p1', 'p2']);
      const indexes = store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'profiles'").all().map((r) => r.name);
      assert.ok(!indexes.includes('profiles_dirty'), 'the old partial index is gone');
      assert.equal(store.db.prepare("SELECT value FROM meta WHERE key = 'schema'").get().value, '3');
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run in flight when the server closes fails cleanly; the profile stays due', async () => {
  await collect(s.base, batch('visitor-1', [addToCart(T0)]));
  const run = s.runner.runProfile('shop', 'visitor-1');
  await s.runner.close();
  await assert.rejects(run, /engine worker|runner is closed/);
  assert.deepEqual(s.store.dueProfiles(T0, 10).map((p) => p.profileId), ['visitor-1']);
});
