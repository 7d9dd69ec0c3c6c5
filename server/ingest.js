// What the server does with records, whoever they come from (the page's
// collection batches, the bulk import, the server's own run of the engine):
// store each once by id, and apply what a newly stored record means for the
// profile (fragments merged, identities linked, dispatches queued, cancelled
// or ended with their journey instance). One path for every source, so an
// effect computed by the page and by the server lands the same way.
import { check } from './schemas.js';
import { createHash } from 'node:crypto';
import { canonicalJson, mergeFragments } from './fragment.js';
import { deeperThan } from './json-depth.js';

const DEVICE = 'device';

// The engine's limits on one event (docs/events.md, Limits): an event over
// them would be stored, then refused by every run of the engine.
export const MAX_EVENT_BYTES = 32 * 1024;
export const MAX_EVENT_DEPTH = 32;

/** Why the engine would refuse an event body (as the runner sends it), or null. */
export function eventLimitProblem(body, path) {
  const text = JSON.stringify(body);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_EVENT_BYTES) return `${path}: the event is ${bytes} bytes, over the limit of ${MAX_EVENT_BYTES} bytes`;
  if (deeperThan(text, MAX_EVENT_DEPTH) >= 0) return `${path}: the event nests deeper than ${MAX_EVENT_DEPTH} levels`;
  return null;
}

export class Ingest {
  constructor({ store, clock, log, sites = [] }) {
    this.store = store;
    this.sites = new Map(sites.map((site) => [site.id, site]));
    this.clock = clock;
    this.log = log;
  }

  /**
   * Validates and stores records for a device: `{accepted, duplicates, rejected}`.
   * Invalid records are rejected by id with a reason; the others are stored.
   */
  collect(site, deviceId, records, source = 'page') {
    const now = this.clock.now();
    const result = { accepted: [], duplicates: [], rejected: [] };
    const valid = [];
    const seen = new Set();
    records.forEach((record, i) => {
      const reason = recordProblem(record, i);
      if (reason) {
        result.rejected.push({ id: String(record?.id ?? ''), reason });
      } else if (seen.has(record.id)) {
        result.duplicates.push(record.id); // the same id twice in one batch: stored once
      } else {
        seen.add(record.id);
        valid.push(record);
      }
    });
    if (valid.length === 0) return result;
    // A page's records carry no proof of the identities they name (see identity-proof.js).
    const linksIdentities = this.sites.get(site)?.trustPageIdentities === true;
    this.store.transaction(() => {
      const profileId = this.store.profileOfDevice(site, deviceId, now);
      const stored = this.store.insertRecords(site, deviceId, profileId, valid, source, now);
      let current = profileId;
      valid.forEach((record, i) => {
        if (!stored[i]) {
          result.duplicates.push(record.id);
          return;
        }
        result.accepted.push(record.id);
        current = this.#apply(site, deviceId, current, record, now, linksIdentities);
      });
      // The server's own engine outputs are none of its inputs (a run reads events, feedback and
      // fragments): storing them must not make the profile due again.
      if (result.accepted.length > 0 && source !== 'server') this.store.markDirty(site, current, now);
    });
    return result;
  }

  // A newly stored record's meaning for the profile; returns the profile id
  // the device belongs to afterwards (an identity can join two profiles).
  #apply(site, deviceId, profileId, record, now, linksIdentities) {
    const { body } = record;
    switch (record.kind) {
      case 'fragment': {
        let current = profileId;
        for (const [namespace, ids] of Object.entries(linksIdentities ? body.identities ?? {} : {})) {
          if (namespace === DEVICE) continue;
          for (const id of ids) current = this.identify(site, deviceId, namespace, id);
        }
        this.mergeFragment(site, current, { fields: body.fields ?? {} });
        return current;
      }
      case 'dispatch':
        this.store.insertDispatch(site, profileId, { ...body, due: Date.parse(body.due) }, now);
        return profileId;
      case 'dispatch.cancel':
        this.store.cancelDispatch(site, body.dispatch, now);
        return profileId;
      case 'conversion':
        this.store.endInstance(site, body.instance, 'converted', record.at, now);
        return profileId;
      case 'journey':
        if (body.event === 'exited') this.store.endInstance(site, body.instance, `exited (${body.reason ?? 'unknown'})`, record.at, now);
        return profileId;
      default:
        return profileId;
    }
  }

  /** Merges a fragment into a profile's server copy (the core's last-writer-wins rule). */
  mergeFragment(site, profileId, fragment) {
    const now = this.clock.now();
    this.store.transaction(() => {
      this.store.ensureProfile(site, profileId, now);
      const current = this.store.getProfile(site, profileId).fragment;
      this.store.setFragment(site, profileId, mergeFragments(current, fragment), now);
    });
  }

  /**
   * Links a device to a known id; returns the profile the device now belongs
   * to. When the id already belongs to another profile, the two profiles are
   * one person: the one with the greater id moves into the smaller, and the
   * merged profile's engine replays its records.
   */
  identify(site, deviceId, namespace, id) {
    const now = this.clock.now();
    return this.store.transaction(() => {
      const mine = this.store.profileOfDevice(site, deviceId, now);
      const owner = this.store.profileOfIdentity(site, namespace, id);
      if (owner === null || owner === mine) {
        this.store.linkIdentity(site, namespace, id, mine, now);
        return mine;
      }
      const [into, from] = owner < mine ? [owner, mine] : [mine, owner];
      const fromFragment = this.store.getProfile(site, from)?.fragment ?? { fields: {} };
      this.store.mergeProfiles(site, from, into);
      this.mergeFragment(site, into, { fields: fromFragment.fields });
      this.store.linkIdentity(site, namespace, id, into, now);
      this.store.resetRun(site, into);
      this.log?.info?.({ site, from, into }, 'profiles merged by identity');
      return into;
    });
  }

  /** The profile a bulk import line names (a device, or a known identity, created when new). */
  profileForImport(site, line) {
    const now = this.clock.now();
    if (line.deviceId !== undefined) return { deviceId: line.deviceId, profileId: this.store.profileOfDevice(site, line.deviceId, now) };
    const { namespace, id } = line.identity;
    const owner = this.store.profileOfIdentity(site, namespace, id);
    if (owner !== null) return { deviceId: `${namespace}:${id}`, profileId: owner };
    // A person known only offline: a profile of their own, named after the identity.
    const profileId = `${namespace}:${id}`;
    this.store.linkIdentity(site, namespace, id, profileId, now);
    return { deviceId: profileId, profileId };
  }

  /**
   * One line of a bulk import (already parsed): `{status: 'accepted'|'duplicate'|'rejected', reason?}`.
   * Fragments and events become records of the profile (source `import`), so
   * the server's engine sees an offline purchase like any other event.
   */
  importLine(site, line) {
    const errors = check('importLine', line, '$');
    if (errors.length > 0) return { status: 'rejected', reason: errors.map((e) => `${e.path}: ${e.reason}`).join('; ') };
    const tooLarge = line.type === 'event' ? eventLimitProblem(line.event, '$.event') : null;
    if (tooLarge) return { status: 'rejected', reason: tooLarge };
    const now = this.clock.now();
    return this.store.transaction(() => {
      const { profileId } = this.profileForImport(site, line);
      if (line.type === 'fragment') {
        for (const [namespace, ids] of Object.entries(line.fragment.identities ?? {})) {
          if (namespace === DEVICE) continue;
          for (const id of ids) this.store.linkIdentity(site, namespace, id, profileId, now);
        }
        this.mergeFragment(site, profileId, { fields: line.fragment.fields ?? {} });
        // Consent and attributes reach the server's engine as a record of the profile.
        // Named by its content, so importing the same file twice stores it once.
        const digest = createHash('sha256').update(canonicalJson(line)).digest('hex').slice(0, 32);
        const record = { id: `import:${digest}`, kind: 'fragment', at: now, purpose: '', body: { fields: line.fragment.fields ?? {} } };
        const [stored] = this.store.insertRecords(site, profileId, profileId, [record], 'import', now);
        if (!stored) return { status: 'duplicate' };
        this.store.markDirty(site, profileId, now);
        return { status: 'accepted' };
      }
      const record = { id: line.event._id, kind: 'event', at: Date.parse(line.event.timestamp), purpose: 'analytics', body: line.event };
      const [stored] = this.store.insertRecords(site, profileId, profileId, [record], 'import', now);
      if (!stored) return { status: 'duplicate' };
      this.store.markDirty(site, profileId, now);
      return { status: 'accepted' };
    });
  }
}

// Why a record can never be stored, or null. Beyond the schema: an event's
// record id is its `_id` and a dispatch's is its dispatch id, so that every
// copy of the same thing shares one dedupe key.
function recordProblem(record, i) {
  const errors = check('record', record, `$.records[${i}]`);
  if (errors.length > 0) return errors.map((e) => `${e.path}: ${e.reason}`).join('; ');
  if ((record.kind === 'event' || record.kind === 'feedback') && record.body._id !== record.id) {
    return `$.records[${i}].id: must equal body._id for an ${record.kind} record`;
  }
  if (record.kind === 'dispatch' && record.body.dispatch !== record.id) {
    return `$.records[${i}].id: must equal body.dispatch for a dispatch record`;
  }
  if (!Number.isFinite(record.at)) return `$.records[${i}].at: must be a finite number of milliseconds`;
  if (record.kind === 'event' || record.kind === 'feedback') return eventLimitProblem(record.body, `$.records[${i}].body`);
  return null;
}
