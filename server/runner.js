// The server-side run of the engine: per profile, the same wasm engine and
// artifact the page runs, over the records the server received, with its
// state kept in the database. A run restores the profile's snapshot, feeds it
// the records that arrived since the last run in time order, advances it to
// the server's clock, stores what it produced through the same path as the
// page's records (so an effect computed by both is stored once), and saves
// the snapshot with the profile's next deadline.
import { createEngine } from '../web/node.js';
import { attributesOf, consentOf } from './fragment.js';

/** Records one run takes of a profile; the rest wait for the next run. */
const RECORDS_PER_RUN = 2000;
// What the server stores from its own engine's outbox. Events and fragments
// are the server's inputs, already stored; the rest are the engine's outputs.
const STORED_KINDS = new Set(['dispatch', 'dispatch.cancel', 'journey', 'conversion', 'suppressed', 'transition']);

export class Runner {
  constructor({ store, ingest, clock, log }) {
    this.store = store;
    this.ingest = ingest;
    this.clock = clock;
    this.log = log;
    this.virtualNow = 0;
    this.spare = null; // one engine kept warm and reused by restore, so a run instantiates no module
    this.stats = { runs: 0, events: 0, rejectedEvents: 0 };
  }

  async #engine(profileId, snapshot) {
    const now = () => this.virtualNow;
    if (snapshot) {
      this.spare ??= await createEngine({ now });
      const restored = this.spare.restore(snapshot);
      if (restored.ok) return this.spare;
      this.log?.warn?.({ profileId, errors: restored.errors }, 'snapshot refused; replaying the profile');
      return null;
    }
    return createEngine({ deviceId: profileId, now });
  }

  /**
   * One run of one profile at the server's clock. Returns what it did, for
   * tests and logs: `{events, stored, nextDeadline}`.
   */
  async runProfile(site, profileId) {
    const now = this.clock.now();
    const profile = this.store.getProfile(site, profileId);
    if (!profile) return null;
    const artifact = this.store.getArtifact(site);
    if (!artifact) {
      // Nothing to evaluate yet: the records wait; uploading an artifact marks every profile for a run.
      this.store.saveRun(site, profileId, { snapshot: profile.snapshot, etag: profile.artifact_etag, cursor: profile.cursor,
        dirty: false, nextDeadline: null, memberships: [] }, now);
      return { events: 0, stored: 0, nextDeadline: null };
    }
    let cursor = profile.cursor;
    let engine = await this.#engine(profileId, profile.snapshot);
    if (engine === null) {
      cursor = 0;
      engine = await this.#engine(profileId, null);
    }
    const fresh = cursor === 0;
    // Records are fed at their own times; the engine never moves its clock back,
    // so a time before a restored engine's clock counts as that clock.
    this.virtualNow = 0;
    const results = [];
    try {
      if (fresh || profile.artifact_etag !== artifact.etag) {
        const loaded = engine.loadArtifact(artifact.body);
        if (!loaded.ok) this.log?.error?.({ site, errors: loaded.errors }, 'the stored artifact was refused by the engine');
        results.push(loaded);
      }
      const records = this.store.recordsAfter(site, profileId, cursor, RECORDS_PER_RUN);
      const more = records.length === RECORDS_PER_RUN;
      if (records.length > 0) cursor = records[records.length - 1].seq;
      let events = 0;
      for (const record of inTimeOrder(records)) {
        const at = Math.min(now, Math.max(this.virtualNow, timeOf(record)));
        this.virtualNow = at;
        if (record.kind === 'event' || record.kind === 'feedback') {
          const result = engine.trackJson(JSON.stringify(record.body));
          events += 1;
          if (!result.ok) {
            this.stats.rejectedEvents += 1;
            this.log?.warn?.({ site, profileId, id: record.id, errors: result.errors }, 'the engine refused a stored event');
          }
          results.push(result);
        } else if (record.kind === 'fragment') {
          const consent = consentOf(record.body);
          if (Object.keys(consent).length > 0) results.push(engine.setConsent(consent));
          const attributes = attributesOf(record.body);
          if (Object.keys(attributes).length > 0) results.push(engine.setAttributes(attributes));
        }
      }
      this.virtualNow = now;
      results.push(engine.advance(now));
      const stored = this.#storeOutputs(site, profileId, engine);
      this.store.saveRun(site, profileId, {
        snapshot: engine.snapshot(), etag: artifact.etag, cursor, dirty: more,
        nextDeadline: engine.nextDeadline(), memberships: engine.segments(),
      }, now);
      this.stats.runs += 1;
      this.stats.events += events;
      return { events, stored, nextDeadline: engine.nextDeadline(), results };
    } finally {
      if (engine !== this.spare) engine.destroy();
    }
  }

  // Moves the engine's outputs into the store through the collection path, then empties its outbox.
  #storeOutputs(site, profileId, engine) {
    let stored = 0;
    for (;;) {
      const batch = engine.pending(500, 4 * 1024 * 1024);
      if (batch.length === 0) break;
      const outputs = batch.filter((r) => STORED_KINDS.has(r.kind));
      if (outputs.length > 0) {
        const result = this.ingest.collect(site, profileId, outputs, 'server');
        stored += result.accepted.length;
        for (const r of result.rejected) this.log?.error?.({ site, profileId, ...r }, 'the server refused its own engine output');
      }
      if (engine.ack(batch.map((r) => r.id)) === 0) break;
    }
    return stored;
  }

  /** Runs the profiles that have new records or a passed deadline, at most `limit`. */
  async runDue(limit = 100) {
    const due = this.store.dueProfiles(this.clock.now(), limit);
    for (const { site, profileId } of due) {
      try {
        await this.runProfile(site, profileId);
      } catch (err) {
        // One profile's failure must not stop the others; it stays due and is retried next tick.
        this.log?.error?.({ site, profileId, err: err.message }, 'profile run failed');
      }
      // Runs share the event loop with collection: let waiting requests in between profiles.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return due.length;
  }
}

// A record's own time: an event's timestamp, anything else its `at`.
function timeOf(record) {
  if (record.kind === 'event' || record.kind === 'feedback') {
    const t = Date.parse(record.body.timestamp);
    if (Number.isFinite(t)) return t;
  }
  return record.at;
}

// Stable sort by time, so records made in one order but received in another run as they happened.
function inTimeOrder(records) {
  return records.map((r, i) => [timeOf(r), i, r]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
}
