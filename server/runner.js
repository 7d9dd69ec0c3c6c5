// The server-side run of the engine: per profile, the same wasm engine and
// artifact the page runs, over the records the server received, with its
// state kept in the database. A run restores the profile's snapshot, feeds it
// the records that arrived since the last run in time order, advances it to
// the server's clock, stores what it produced through the same path as the
// page's records (so an effect computed by both is stored once), and saves
// the snapshot with the profile's next deadline.
//
// The engine itself runs in a worker thread (engine-worker.js): the main
// thread reads the database, the worker computes, the main thread stores. So
// collection goes on while a profile runs, and a run that finishes after the
// profile changed says so when it is saved (see SqliteStore.saveRun).
import { Worker } from 'node:worker_threads';

/** Records one run takes of a profile; the rest wait for the next run. */
const RECORDS_PER_RUN = 2000;
const WORKER_URL = new URL('./engine-worker.js', import.meta.url);

export class Runner {
  constructor({ store, ingest, clock, log }) {
    this.store = store;
    this.ingest = ingest;
    this.clock = clock;
    this.log = log;
    this.worker = null;
    this.jobs = new Map(); // job id -> {resolve, reject}
    this.nextJob = 1;
    this.closed = false;
    this.stats = { runs: 0, events: 0, rejectedEvents: 0, stale: 0 };
  }

  // The worker, started at the first run; one that died is replaced at the next.
  #worker() {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_URL);
    worker.unref();
    const fail = (err) => {
      if (this.worker === worker) this.worker = null;
      for (const job of this.jobs.values()) job.reject(err);
      this.jobs.clear();
    };
    worker.on('message', ({ id, result, error }) => {
      const job = this.jobs.get(id);
      if (!job) return;
      this.jobs.delete(id);
      if (error !== undefined) job.reject(new Error(`the engine worker failed: ${error}`));
      else job.resolve(result);
    });
    worker.on('error', (err) => fail(new Error(`the engine worker crashed: ${err?.message ?? err}`)));
    worker.on('exit', (code) => fail(new Error(`the engine worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  #compute(job) {
    if (this.closed) return Promise.reject(new Error('the runner is closed'));
    const id = this.nextJob++;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      this.#worker().postMessage({ ...job, id });
    });
  }

  /**
   * One run of one profile at the server's clock. Returns what it did, for
   * tests and logs: `{events, stored, nextDeadline, saved}` (`saved` false
   * when the profile was merged away or reset during the run: its next run redoes it).
   */
  async runProfile(site, profileId) {
    const now = this.clock.now();
    const profile = this.store.getProfile(site, profileId);
    if (!profile) return null;
    const seen = { dirty: profile.dirty, resets: profile.resets };
    const artifact = this.store.getArtifact(site);
    if (!artifact) {
      // Nothing to evaluate yet: the records wait; uploading an artifact marks every profile for a run.
      this.store.saveRun(site, profileId, { snapshot: profile.snapshot, etag: profile.artifact_etag, cursor: profile.cursor,
        more: false, nextDeadline: null, memberships: [], seen }, now);
      return { events: 0, stored: 0, nextDeadline: null, saved: true };
    }
    let cursor = profile.cursor;
    let snapshot = profile.snapshot;
    let records = this.store.recordsAfter(site, profileId, cursor, RECORDS_PER_RUN);
    const job = (fresh) => ({
      profileId, snapshot, records, now, artifact: artifact.body,
      loadArtifact: fresh || profile.artifact_etag !== artifact.etag,
    });
    let result = await this.#compute(job(cursor === 0 || !snapshot));
    if (result.refused) {
      this.log?.warn?.({ profileId, errors: result.errors }, 'snapshot refused; replaying the profile');
      cursor = 0;
      snapshot = null;
      records = this.store.recordsAfter(site, profileId, cursor, RECORDS_PER_RUN);
      result = await this.#compute(job(true));
    }
    if (result.loadErrors) this.log?.error?.({ site, errors: result.loadErrors }, 'the stored artifact was refused by the engine');
    for (const r of result.rejected) {
      this.stats.rejectedEvents += 1;
      // Stored, yet never evaluated: the operator must know (an event over the engine's limits stored by an older server).
      this.log?.error?.({ site, profileId, id: r.id, errors: r.errors }, 'the engine refused a stored event; it is not evaluated');
    }
    const more = records.length === RECORDS_PER_RUN;
    if (records.length > 0) cursor = records[records.length - 1].seq;
    // Outputs first: stored by id, they are harmless if the save below finds the run stale.
    let stored = 0;
    // The profile may have been merged into another meanwhile; gone altogether, the merged one's run redoes this.
    const target = this.store.liveProfile(site, profileId);
    for (let i = 0; target !== null && i < result.outputs.length; i += 500) {
      const collected = this.ingest.collect(site, profileId, result.outputs.slice(i, i + 500), 'server', { profileId: target });
      stored += collected.accepted.length;
      for (const r of collected.rejected) this.log?.error?.({ site, profileId, ...r }, 'the server refused its own engine output');
    }
    const saved = this.store.saveRun(site, profileId, {
      snapshot: result.snapshot, etag: artifact.etag, cursor, more,
      nextDeadline: result.nextDeadline, memberships: result.segments, seen,
    }, this.clock.now());
    if (!saved) this.stats.stale += 1;
    this.stats.runs += 1;
    this.stats.events += result.events;
    return { events: result.events, stored, nextDeadline: result.nextDeadline, saved };
  }

  /** Runs the profiles that have new records or a passed deadline, at most `limit`. */
  async runDue(limit = 100) {
    const due = this.store.dueProfiles(this.clock.now(), limit);
    for (const { site, profileId } of due) {
      if (this.closed) break;
      try {
        await this.runProfile(site, profileId);
      } catch (err) {
        // One profile's failure must not stop the others; it stays due and is retried next tick.
        this.log?.error?.({ site, profileId, err: err.message }, 'profile run failed');
      }
    }
    return due.length;
  }

  /** Stops the worker; a run in flight fails (its profile stays due). */
  async close() {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }
}
