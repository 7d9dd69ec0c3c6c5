// The server's storage behind one small interface (see docs/deploy.md). This
// is the embedded default: one SQLite file in WAL mode through better-sqlite3.
// Every statement is prepared with placeholders; no value is ever spliced
// into SQL text. Methods are synchronous (better-sqlite3 is), and each one
// that writes several rows runs in one transaction.
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const SCHEMA_VERSION = 3;

/** A profile id the server makes up: random, so no device id can name it but by a 122-bit guess. */
export function newProfileId() {
  return `profile:${randomUUID()}`;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- Every record stored exactly once per site by its id, whoever sent or computed it.
CREATE TABLE IF NOT EXISTS records (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  site       TEXT NOT NULL,
  id         TEXT NOT NULL,
  kind       TEXT NOT NULL,
  device_id  TEXT NOT NULL,
  profile_id TEXT NOT NULL,
  at         INTEGER NOT NULL,
  purpose    TEXT NOT NULL,
  body       TEXT NOT NULL,
  source     TEXT NOT NULL,
  received   INTEGER NOT NULL,
  UNIQUE (site, id)
);
CREATE INDEX IF NOT EXISTS records_profile ON records (site, profile_id, seq);
CREATE INDEX IF NOT EXISTS records_kind_at ON records (site, kind, at);
-- One profile's records of one kind: its events from other devices (each collection answer),
-- an instance's twins and first arms (each dispatch and each end of an instance).
CREATE INDEX IF NOT EXISTS records_profile_kind ON records (site, profile_id, kind, at);

-- Which profile a device belongs to, and which known ids (email, crm, ...) a profile has.
CREATE TABLE IF NOT EXISTS devices (
  site TEXT NOT NULL, device_id TEXT NOT NULL, profile_id TEXT NOT NULL,
  PRIMARY KEY (site, device_id)
);
CREATE INDEX IF NOT EXISTS devices_profile ON devices (site, profile_id);
CREATE TABLE IF NOT EXISTS identities (
  site TEXT NOT NULL, namespace TEXT NOT NULL, id TEXT NOT NULL, profile_id TEXT NOT NULL, linked INTEGER NOT NULL,
  PRIMARY KEY (site, namespace, id)
);
CREATE INDEX IF NOT EXISTS identities_profile ON identities (site, profile_id);

-- A profile: its merged fragment, the server-side engine's state, and when it next needs a run.
CREATE TABLE IF NOT EXISTS profiles (
  site          TEXT NOT NULL,
  profile_id    TEXT NOT NULL,
  fragment      TEXT NOT NULL DEFAULT '{"fields":{}}',
  snapshot      TEXT,
  artifact_etag TEXT,
  cursor        INTEGER NOT NULL DEFAULT 0,
  dirty         INTEGER NOT NULL DEFAULT 0,  -- changes since the last run (0: none)
  due_since     INTEGER,                     -- when dirty last went from 0 to more: the run queue's order
  resets        INTEGER NOT NULL DEFAULT 0,  -- times its engine state was forgotten (a merge)
  next_deadline INTEGER,
  updated       INTEGER NOT NULL,
  PRIMARY KEY (site, profile_id)
);
CREATE INDEX IF NOT EXISTS profiles_deadline ON profiles (next_deadline) WHERE next_deadline IS NOT NULL;

-- Current segment memberships as the server's engine sees them (audience export).
CREATE TABLE IF NOT EXISTS memberships (
  site TEXT NOT NULL, segment TEXT NOT NULL, profile_id TEXT NOT NULL, since INTEGER NOT NULL,
  PRIMARY KEY (site, segment, profile_id)
);

CREATE TABLE IF NOT EXISTS artifacts (
  site TEXT PRIMARY KEY, version TEXT NOT NULL, etag TEXT NOT NULL, body TEXT NOT NULL, uploaded INTEGER NOT NULL
);

-- Message requests, one row per dispatch id, and their delivery state.
CREATE TABLE IF NOT EXISTS dispatches (
  site       TEXT NOT NULL,
  id         TEXT NOT NULL,
  profile_id TEXT NOT NULL,
  channel    TEXT NOT NULL,
  template   TEXT NOT NULL,
  journey    TEXT NOT NULL,
  instance   TEXT NOT NULL,
  step       TEXT NOT NULL,
  due        INTEGER NOT NULL,
  status     TEXT NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0,
  next_try   INTEGER NOT NULL,
  reason     TEXT NOT NULL DEFAULT '',
  updated    INTEGER NOT NULL,
  PRIMARY KEY (site, id)
);
CREATE INDEX IF NOT EXISTS dispatches_due ON dispatches (status, next_try);
CREATE INDEX IF NOT EXISTS dispatches_instance ON dispatches (site, instance);
CREATE INDEX IF NOT EXISTS dispatches_step ON dispatches (site, profile_id, journey, step, due);

-- Every delivery attempt's outcome: the feedback the reporting reads.
CREATE TABLE IF NOT EXISTS deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  site TEXT NOT NULL, dispatch TEXT NOT NULL, attempt INTEGER NOT NULL,
  outcome TEXT NOT NULL, detail TEXT NOT NULL, at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_dispatch ON deliveries (site, dispatch);

-- Instances that ended (converted or exited), from either evaluator: nothing of theirs is sent afterwards.
CREATE TABLE IF NOT EXISTS ended_instances (
  site TEXT NOT NULL, instance TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL,
  PRIMARY KEY (site, instance)
);
-- Cancellations, kept even when the dispatch they name has not arrived yet.
CREATE TABLE IF NOT EXISTS cancellations (
  site TEXT NOT NULL, dispatch TEXT NOT NULL, at INTEGER NOT NULL,
  PRIMARY KEY (site, dispatch)
);
`;

/** Dispatch states: waiting to be sent, sent, never to be sent, or failed for good. */
export const DISPATCH_STATUS = Object.freeze({
  pending: 'pending', sending: 'sending', retry: 'retry', sent: 'sent',
  cancelled: 'cancelled', suppressed: 'suppressed', dead: 'dead',
});

export class SqliteStore {
  /** Opens (creating when missing) the database at `path` (':memory:' for a throwaway one). */
  constructor(path) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    const version = this.db.prepare('SELECT value FROM meta WHERE key = ?').get('schema');
    if (!version) this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', String(SCHEMA_VERSION));
    else if (Number(version.value) > SCHEMA_VERSION) {
      throw new Error(`database ${path} has schema ${version.value}, newer than this server reads (${SCHEMA_VERSION})`);
    } else if (Number(version.value) < SCHEMA_VERSION) {
      this.#migrate(Number(version.value));
    }
    // After any migration, which adds the column it covers.
    this.db.exec('CREATE INDEX IF NOT EXISTS profiles_queue ON profiles (due_since) WHERE dirty > 0');
    this.#prepare();
  }

  // Brings a database written by an older server up to SCHEMA_VERSION, in one transaction.
  #migrate(from) {
    this.db.transaction(() => {
      if (from < 2) {
        // Runs happen off the main thread now: `dirty` counts changes and `resets` merges, so a run
        // that finishes after either knows its result is stale (see saveRun).
        const columns = this.db.prepare('PRAGMA table_info(profiles)').all().map((c) => c.name);
        if (!columns.includes('resets')) this.db.exec('ALTER TABLE profiles ADD COLUMN resets INTEGER NOT NULL DEFAULT 0');
        this.db.exec('DROP INDEX IF EXISTS profiles_dirty');
      }
      if (from < 3) {
        const columns = this.db.prepare('PRAGMA table_info(profiles)').all().map((c) => c.name);
        if (!columns.includes('due_since')) this.db.exec('ALTER TABLE profiles ADD COLUMN due_since INTEGER');
        this.db.exec('UPDATE profiles SET due_since = updated WHERE dirty > 0 AND due_since IS NULL');
        this.db.exec('DROP INDEX IF EXISTS profiles_pending'); // replaced by profiles_queue
        // Schema 2 named a person known only from an import "namespace:id", and the server's own run
        // then gave that profile a device row of the same name: any page sending that deviceId joined
        // the person's profile. Those device rows go, also where a merge has since moved the row and
        // the identity into another profile (a real device of that person identified); the profiles keep
        // their ids, which profileOfDevice no longer lets a new device take.
        const imported = `SELECT 1 FROM identities i WHERE i.site = d.site AND i.profile_id = d.profile_id
                          AND i.namespace <> 'device' AND i.namespace || ':' || i.id = d.device_id`;
        this.db.exec(`DELETE FROM identities WHERE namespace = 'device' AND EXISTS (
                        SELECT 1 FROM devices d WHERE d.site = identities.site AND d.device_id = identities.id
                        AND EXISTS (${imported}))`);
        this.db.exec(`DELETE FROM devices WHERE rowid IN (
                        SELECT d.rowid FROM devices d WHERE EXISTS (${imported}))`);
      }
      this.db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(String(SCHEMA_VERSION), 'schema');
    })();
  }

  #prepare() {
    const p = (sql) => this.db.prepare(sql);
    this.s = {
      insertRecord: p(`INSERT INTO records (site, id, kind, device_id, profile_id, at, purpose, body, source, received)
                       VALUES (@site, @id, @kind, @deviceId, @profileId, @at, @purpose, @body, @source, @received)
                       ON CONFLICT (site, id) DO NOTHING`),
      recordsAfter: p(`SELECT seq, id, kind, device_id AS deviceId, at, purpose, body FROM records
                       WHERE site = ? AND profile_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
      recordIds: p('SELECT id FROM records WHERE site = ? ORDER BY seq'),
      countRecords: p('SELECT COUNT(*) AS n FROM records WHERE site = ?'),
      deviceProfile: p('SELECT profile_id AS profileId FROM devices WHERE site = ? AND device_id = ?'),
      profileExists: p(`SELECT 1 FROM profiles WHERE site = ? AND profile_id = ?
                        UNION ALL SELECT 1 FROM identities WHERE site = ? AND profile_id = ? LIMIT 1`),
      insertDevice: p('INSERT INTO devices (site, device_id, profile_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
      moveDevices: p('UPDATE devices SET profile_id = ? WHERE site = ? AND profile_id = ?'),
      moveIdentities: p('UPDATE identities SET profile_id = ? WHERE site = ? AND profile_id = ?'),
      moveRecords: p('UPDATE records SET profile_id = ? WHERE site = ? AND profile_id = ?'),
      moveDispatches: p('UPDATE dispatches SET profile_id = ? WHERE site = ? AND profile_id = ?'),
      deleteMemberships: p('DELETE FROM memberships WHERE site = ? AND profile_id = ?'),
      identityProfile: p('SELECT profile_id AS profileId FROM identities WHERE site = ? AND namespace = ? AND id = ?'),
      insertIdentity: p(`INSERT INTO identities (site, namespace, id, profile_id, linked) VALUES (?, ?, ?, ?, ?)
                         ON CONFLICT (site, namespace, id) DO UPDATE SET profile_id = excluded.profile_id`),
      identities: p(`SELECT namespace, id FROM identities WHERE site = ? AND profile_id = ? ORDER BY linked DESC, id`),
      devicesOf: p('SELECT device_id AS deviceId FROM devices WHERE site = ? AND profile_id = ? ORDER BY device_id'),
      getProfile: p('SELECT * FROM profiles WHERE site = ? AND profile_id = ?'),
      ensureProfile: p(`INSERT INTO profiles (site, profile_id, updated) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
      deleteProfile: p('DELETE FROM profiles WHERE site = ? AND profile_id = ?'),
      setFragment: p('UPDATE profiles SET fragment = ?, updated = ? WHERE site = ? AND profile_id = ?'),
      // A profile already due keeps its place in the queue; one that becomes due joins its end.
      markDirty: p(`UPDATE profiles SET due_since = CASE WHEN dirty = 0 THEN @now ELSE due_since END, dirty = dirty + 1, updated = @now
                    WHERE site = @site AND profile_id = @profileId`),
      // A run's result, unless the profile was reset meanwhile; changes that arrived meanwhile keep it due.
      saveRun: p(`UPDATE profiles SET snapshot = @snapshot, artifact_etag = @etag, cursor = @cursor,
                  dirty = CASE WHEN dirty = @seenDirty THEN @more ELSE dirty END,
                  due_since = CASE WHEN dirty = @seenDirty AND @more = 1 THEN @updated ELSE due_since END,
                  next_deadline = @nextDeadline, updated = @updated
                  WHERE site = @site AND profile_id = @profileId AND resets = @seenResets`),
      resetRun: p(`UPDATE profiles SET snapshot = NULL, artifact_etag = NULL, cursor = 0, dirty = dirty + 1,
                   due_since = CASE WHEN dirty = 0 THEN @now ELSE due_since END, resets = resets + 1, next_deadline = NULL
                   WHERE site = @site AND profile_id = @profileId`),
      // Two queries, each served by its partial index, rather than one OR that scans every profile.
      // Longest waiting first: in the order of `dirty` (the index's), a profile with many changes
      // waited behind every newer profile with fewer.
      dirtyProfiles: p('SELECT site, profile_id AS profileId FROM profiles WHERE dirty > 0 ORDER BY due_since LIMIT ?'),
      deadlineProfiles: p(`SELECT site, profile_id AS profileId FROM profiles
                           WHERE next_deadline IS NOT NULL AND next_deadline <= ? AND dirty = 0 ORDER BY next_deadline LIMIT ?`),
      markAllDirty: p('UPDATE profiles SET due_since = CASE WHEN dirty = 0 THEN ? ELSE due_since END, dirty = dirty + 1 WHERE site = ?'),
      insertMembership: p('INSERT INTO memberships (site, segment, profile_id, since) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET since = excluded.since'),
      members: p(`SELECT profile_id AS profileId, since FROM memberships WHERE site = ? AND segment = ? AND profile_id > ?
                  ORDER BY profile_id LIMIT ?`),
      getArtifact: p('SELECT version, etag, body, uploaded FROM artifacts WHERE site = ?'),
      putArtifact: p(`INSERT INTO artifacts (site, version, etag, body, uploaded) VALUES (?, ?, ?, ?, ?)
                      ON CONFLICT (site) DO UPDATE SET version = excluded.version, etag = excluded.etag,
                      body = excluded.body, uploaded = excluded.uploaded`),
      insertDispatch: p(`INSERT INTO dispatches (site, id, profile_id, channel, template, journey, instance, step, due, status, next_try, reason, updated)
                         VALUES (@site, @id, @profileId, @channel, @template, @journey, @instance, @step, @due, @status, @due, @reason, @updated)
                         ON CONFLICT (site, id) DO NOTHING`),
      getDispatch: p('SELECT * FROM dispatches WHERE site = ? AND id = ?'),
      cancelDispatch: p(`UPDATE dispatches SET status = 'cancelled', reason = ?, updated = ?
                         WHERE site = ? AND id = ? AND status IN ('pending', 'retry')`),
      cancelInstance: p(`UPDATE dispatches SET status = 'cancelled', reason = ?, updated = ?
                         WHERE site = ? AND instance = ? AND status IN ('pending', 'retry')`),
      insertCancellation: p('INSERT INTO cancellations (site, dispatch, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
      getCancellation: p('SELECT at FROM cancellations WHERE site = ? AND dispatch = ?'),
      insertEnded: p('INSERT INTO ended_instances (site, instance, reason, at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      getEnded: p('SELECT reason, at FROM ended_instances WHERE site = ? AND instance = ?'),
      eventsFromElsewhere: p(`SELECT body FROM records
                              WHERE site = @site AND profile_id = @profileId AND kind = 'event' AND (source <> 'page' OR device_id <> @deviceId)
                                AND json_extract(body, '$.eventType') IN (SELECT value FROM json_each(@types))
                              ORDER BY at DESC LIMIT @limit`),
      armRecords: p(`SELECT json_extract(body, '$.step') AS step, json_extract(body, '$.arm') AS arm FROM records INDEXED BY records_profile_kind
                     WHERE site = @site AND profile_id = @profileId AND kind = 'journey' AND json_extract(body, '$.event') = 'arm'
                       AND json_extract(body, '$.instance') IN (SELECT value FROM json_each(@ids)) ORDER BY seq`),
      // The instances entered by the same profile into the same journey at the same time as @instance.
      twinInstances: p(`SELECT DISTINCT json_extract(r.body, '$.instance') AS instance
                        FROM records e JOIN records r ON r.site = e.site AND r.profile_id = e.profile_id AND r.at = e.at
                        WHERE e.site = @site AND e.profile_id = @profileId AND e.kind = 'journey'
                          AND json_extract(e.body, '$.event') = 'entered' AND json_extract(e.body, '$.instance') = @instance
                          AND r.kind = 'journey' AND json_extract(r.body, '$.event') = 'entered'
                          AND json_extract(r.body, '$.journey') = json_extract(e.body, '$.journey')`),
      dueDispatches: p(`SELECT * FROM dispatches WHERE status IN ('pending', 'retry') AND next_try <= ?
                        ORDER BY next_try LIMIT ?`),
      // The same step of the same journey, due at the same time, for the same profile under another id:
      // what a profile merge replays under the surviving profile id.
      twinDispatch: p(`SELECT id FROM dispatches WHERE site = ? AND profile_id = ? AND journey = ? AND step = ? AND due = ?
                       AND id <> ? AND status IN ('sending', 'sent', 'retry', 'dead') LIMIT 1`),
      claimDispatch: p(`UPDATE dispatches SET status = 'sending', attempts = attempts + 1, updated = ?
                        WHERE site = ? AND id = ? AND status IN ('pending', 'retry')`),
      finishDispatch: p(`UPDATE dispatches SET status = @status, next_try = @nextTry, reason = @reason, updated = @updated
                         WHERE site = @site AND id = @id AND status = 'sending'`),
      staleSending: p(`SELECT site, id, attempts FROM dispatches WHERE status = 'sending' AND updated <= ?`),
      insertDelivery: p('INSERT INTO deliveries (site, dispatch, attempt, outcome, detail, at) VALUES (?, ?, ?, ?, ?, ?)'),
      deliveriesOf: p('SELECT attempt, outcome, detail, at FROM deliveries WHERE site = ? AND dispatch = ? ORDER BY seq'),
    };
  }

  close() {
    this.db.close();
  }

  /** Runs `fn` in one transaction (nested calls join the outer one). */
  transaction(fn) {
    return this.db.transaction(fn)();
  }

  // ---- records -----------------------------------------------------------

  /**
   * Stores records by id: returns for each whether it was new. `records` are
   * `{id, kind, at, purpose, body}` with body as an object.
   */
  insertRecords(site, deviceId, profileId, records, source, received) {
    const stored = [];
    this.transaction(() => {
      for (const r of records) {
        const info = this.s.insertRecord.run({
          site, id: r.id, kind: r.kind, deviceId, profileId, at: Math.trunc(r.at), purpose: r.purpose,
          body: JSON.stringify(r.body), source, received,
        });
        stored.push(info.changes === 1);
      }
    });
    return stored;
  }

  /** A profile's records after `seq`, oldest first, with bodies parsed. */
  recordsAfter(site, profileId, seq, limit = 1000) {
    return this.s.recordsAfter.all(site, profileId, seq, limit).map((r) => ({ ...r, body: JSON.parse(r.body) }));
  }

  recordIds(site) {
    return this.s.recordIds.all(site).map((r) => r.id);
  }

  countRecords(site) {
    return this.s.countRecords.get(site).n;
  }

  /** Records of some kinds in a time range, for reporting. */
  recordsOfKinds(site, kinds, from, to) {
    const marks = kinds.map(() => '?').join(', ');
    return this.db
      .prepare(`SELECT id, kind, profile_id AS profileId, at, body FROM records
                WHERE site = ? AND kind IN (${marks}) AND at >= ? AND at < ? ORDER BY at`)
      .all(site, ...kinds, from, to)
      .map((r) => ({ ...r, body: JSON.parse(r.body) }));
  }

  /** Decisioning feedback events (displays, clicks, dismissals) in a time range. */
  feedbackEvents(site, from, to) {
    return this.db
      .prepare(`SELECT id, profile_id AS profileId, at, body FROM records
                WHERE site = ? AND kind IN ('event', 'feedback') AND at >= ? AND at < ?
                  AND json_extract(body, '$.eventType') LIKE 'decisioning.%' ORDER BY at`)
      .all(site, from, to)
      .map((r) => ({ ...r, body: JSON.parse(r.body) }));
  }

  // ---- identity ----------------------------------------------------------

  /**
   * The profile a device belongs to. A device seen for the first time is a profile of its own,
   * named after it, unless a profile of that name exists already (a person known from an import,
   * a database of an older server): a device joins someone's profile only through identify,
   * never by naming it, so it gets a new profile id instead.
   */
  profileOfDevice(site, deviceId, now) {
    const row = this.s.deviceProfile.get(site, deviceId);
    if (row) return row.profileId;
    this.transaction(() => {
      const profileId = this.s.profileExists.get(site, deviceId, site, deviceId) ? newProfileId() : deviceId;
      this.s.insertDevice.run(site, deviceId, profileId);
      this.s.ensureProfile.run(site, profileId, now);
      this.s.insertIdentity.run(site, 'device', deviceId, profileId, now);
    });
    return this.s.deviceProfile.get(site, deviceId).profileId;
  }

  /**
   * Where a run of `profileId` stores its outputs: the profile itself, or the profile it was merged
   * into (found through the device of that name); null when it is gone (the merged profile's own run
   * recomputes them).
   */
  liveProfile(site, profileId) {
    if (this.s.getProfile.get(site, profileId)) return profileId;
    return this.s.deviceProfile.get(site, profileId)?.profileId ?? null;
  }

  /** The profile of a device already seen, or null. */
  profileIfKnown(site, deviceId) {
    return this.s.deviceProfile.get(site, deviceId)?.profileId ?? null;
  }

  profileOfIdentity(site, namespace, id) {
    return this.s.identityProfile.get(site, namespace, id)?.profileId ?? null;
  }

  /** Links a known id to a profile (a later link of the same id moves it). */
  linkIdentity(site, namespace, id, profileId, now) {
    this.s.ensureProfile.run(site, profileId, now);
    this.s.insertIdentity.run(site, namespace, id, profileId, now);
  }

  identitiesOf(site, profileId) {
    const out = {};
    for (const { namespace, id } of this.s.identities.all(site, profileId)) (out[namespace] ??= []).push(id);
    return out;
  }

  devicesOf(site, profileId) {
    return this.s.devicesOf.all(site, profileId).map((r) => r.deviceId);
  }

  /**
   * Moves everything of profile `from` into profile `into` (two devices turned
   * out to be one person). The caller merges the fragments and resets the run.
   */
  mergeProfiles(site, from, into) {
    this.transaction(() => {
      this.s.moveDevices.run(into, site, from);
      this.s.moveIdentities.run(into, site, from);
      this.s.moveRecords.run(into, site, from);
      this.s.moveDispatches.run(into, site, from);
      this.s.deleteMemberships.run(site, from);
      this.s.deleteProfile.run(site, from);
    });
  }

  // ---- profiles ----------------------------------------------------------

  ensureProfile(site, profileId, now) {
    this.s.ensureProfile.run(site, profileId, now);
  }

  getProfile(site, profileId) {
    const row = this.s.getProfile.get(site, profileId);
    if (!row) return null;
    return { ...row, fragment: JSON.parse(row.fragment) };
  }

  setFragment(site, profileId, fragment, now) {
    this.s.setFragment.run(JSON.stringify(fragment), now, site, profileId);
  }

  markDirty(site, profileId, now) {
    this.s.markDirty.run({ site, profileId, now });
  }

  markSiteDirty(site, now = 0) {
    this.s.markAllDirty.run(now, site);
  }

  /** Forgets the server-side engine state so the next run replays every record. */
  resetRun(site, profileId, now = 0) {
    this.s.resetRun.run({ site, profileId, now });
  }

  /**
   * Saves a run that started when the profile's counters were `seen` ({dirty, resets}, as
   * getProfile read them). Returns false, saving nothing, when the profile was reset (merged)
   * or removed meanwhile; changes that arrived meanwhile leave it due for another run.
   */
  saveRun(site, profileId, { snapshot, etag, cursor, more, nextDeadline, memberships, seen }, now) {
    return this.transaction(() => {
      const { changes } = this.s.saveRun.run({ site, profileId, snapshot, etag, cursor, more: more ? 1 : 0, nextDeadline,
        updated: now, seenDirty: seen.dirty, seenResets: seen.resets });
      if (changes === 0) return false;
      this.s.deleteMemberships.run(site, profileId);
      for (const m of memberships) this.s.insertMembership.run(site, m.segment, profileId, m.since);
      return true;
    });
  }

  /**
   * Profiles with new records or a deadline at or before `now`, at most `limit`. Half the batch
   * (rounded up) is kept for passed deadlines, earliest first, and either kind takes what the
   * other leaves: taking deadlines only when fewer than `limit` profiles were dirty, a steady
   * inflow of records meant a visitor who left was never run at their deadline.
   */
  dueProfiles(now, limit) {
    if (limit <= 0) return [];
    const deadlines = this.s.deadlineProfiles.all(now, limit);
    const dirty = this.s.dirtyProfiles.all(limit);
    const takeDeadlines = Math.min(deadlines.length, Math.max(Math.ceil(limit / 2), limit - dirty.length));
    return dirty.slice(0, limit - takeDeadlines).concat(deadlines.slice(0, takeDeadlines));
  }

  /** A page of a segment's current members, ordered by profile id, after `after`. */
  segmentMembers(site, segment, after, limit) {
    return this.s.members.all(site, segment, after, limit);
  }

  // ---- artifacts ---------------------------------------------------------

  getArtifact(site) {
    return this.s.getArtifact.get(site) ?? null;
  }

  putArtifact(site, version, etag, body, now) {
    this.transaction(() => {
      this.s.putArtifact.run(site, version, etag, body, now);
      this.s.markAllDirty.run(now, site);
    });
  }

  // ---- dispatches --------------------------------------------------------

  /** Stores a requested message once by id; it starts cancelled when its cancellation or its instance's end came first. */
  /**
   * Stores a dispatch a journey asked for; `ids` are its instance's ids (instanceIds()), of which
   * an ended one cancels it at once.
   */
  insertDispatch(site, profileId, d, now, suppressed = null, ids = this.instanceIds(site, profileId, d.instance)) {
    const ended = this.#ended(site, ids);
    const cancelled = this.s.getCancellation.get(site, d.dispatch);
    let status = DISPATCH_STATUS.pending;
    let reason = '';
    if (cancelled) [status, reason] = [DISPATCH_STATUS.cancelled, 'cancelled'];
    else if (ended) [status, reason] = [DISPATCH_STATUS.cancelled, `journey ${ended.reason}`];
    else if (suppressed) [status, reason] = [DISPATCH_STATUS.suppressed, suppressed];
    return this.s.insertDispatch.run({
      site, id: d.dispatch, profileId, channel: d.channel, template: d.template, journey: d.journey,
      instance: d.instance, step: d.step, due: d.due, status, reason, updated: now,
    }).changes === 1;
  }

  getDispatch(site, id) {
    return this.s.getDispatch.get(site, id) ?? null;
  }

  cancelDispatch(site, id, now) {
    this.transaction(() => {
      this.s.insertCancellation.run(site, id, now);
      this.s.cancelDispatch.run('cancelled', now, site, id);
    });
  }

  /**
   * An instance ended (converted or exited): its messages not yet sent never will be, nor
   * those of its twins (below).
   */
  endInstance(site, profileId, instance, reason, at, now) {
    this.transaction(() => {
      for (const id of this.instanceIds(site, profileId, instance)) {
        this.s.insertEnded.run(site, id, reason, at);
        this.s.cancelInstance.run(`journey ${reason}`, now, site, id);
      }
    });
  }

  /**
   * The ids of one journey instance: its own first, then its twins'. When an identity joins two
   * profiles, the moved profile's journeys are replayed under the surviving profile id: new
   * instance ids, same profile (records move with it), same journey and entry time, as the
   * report counts them. The moved device's page goes on with the old id, which only the replay's
   * end can stop.
   */
  instanceIds(site, profileId, instance) {
    const twins = this.s.twinInstances.all({ site, profileId, instance }).map((r) => r.instance).filter((id) => id !== instance);
    return [instance, ...new Set(twins)];
  }

  /** Event bodies of `profileId` that a device other than `deviceId` sent (or an import), of the given types, latest first. */
  eventsFromElsewhere(site, profileId, deviceId, types, limit) {
    return this.s.eventsFromElsewhere.all({ site, profileId, deviceId, types: JSON.stringify(types), limit }).map((r) => JSON.parse(r.body));
  }

  /** The arm each split of an instance chose first, over its ids (instanceIds()): split step id -> arm id. */
  firstArms(site, profileId, ids) {
    const first = new Map();
    for (const r of this.s.armRecords.all({ site, profileId, ids: JSON.stringify(ids) })) if (!first.has(r.step)) first.set(r.step, r.arm);
    return first;
  }

  // How the instance, or a twin of it, ended (its own end first); undefined while every id of it runs.
  #ended(site, ids) {
    for (const id of ids) {
      const ended = this.s.getEnded.get(site, id);
      if (ended) return ended;
    }
    return undefined;
  }

  isInstanceEnded(site, instance) {
    return Boolean(this.s.getEnded.get(site, instance));
  }

  dueDispatches(now, limit) {
    return this.s.dueDispatches.all(now, limit);
  }

  /** Takes a dispatch for sending; false when another worker took it or it was cancelled meanwhile. */
  /** Another dispatch of `row`'s profile for the same journey step and due time that was already attempted, or null. */
  twinDispatch(site, row) {
    return this.s.twinDispatch.get(site, row.profile_id, row.journey, row.step, row.due, row.id)?.id ?? null;
  }

  claimDispatch(site, id, now) {
    return this.s.claimDispatch.run(now, site, id).changes === 1;
  }

  finishDispatch(site, id, { status, nextTry = 0, reason = '' }, attempt, detail, now) {
    this.transaction(() => {
      this.s.finishDispatch.run({ site, id, status, nextTry, reason, updated: now });
      this.s.insertDelivery.run(site, id, attempt, status, detail, now);
    });
  }

  /** Dispatches left in 'sending' since before `olderThan` (a crash mid-delivery). */
  staleSending(olderThan) {
    return this.s.staleSending.all(olderThan);
  }

  deliveriesOf(site, id) {
    return this.s.deliveriesOf.all(site, id);
  }

  /** Every dispatch of a site (reporting). */
  dispatchesOf(site) {
    return this.db.prepare('SELECT * FROM dispatches WHERE site = ? ORDER BY due').all(site);
  }
}
