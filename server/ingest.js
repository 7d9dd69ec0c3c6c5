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
import { newProfileId } from './store/sqlite.js';

const DEVICE = 'device';

// How far past the server's clock a fragment field's `ts` may be (the engine's default
// futureTolerance for events). Later writes are taken as written at that bound: a
// timestamp in the far future would otherwise win every merge forever.
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

// A device clock off from the server's by more than this (estimated from a batch's `sentAt`)
// has its fragment times corrected; below it, the estimate is mostly network delay.
export const SKEW_THRESHOLD_MS = 5_000;

// How many journey-ending events from elsewhere a collection answer carries (the latest).
export const MAX_ENDING_EVENTS = 20;

// The channels the server sends; a page's dispatch for any other could only be dead-lettered.
const SENT_CHANNELS = new Set(['email', 'sms']);

/** A fragment's fields with every `ts` at most `limit`; the same object when none is over. */
export function boundFieldTimes(fields, limit) {
  let out = fields;
  for (const [key, field] of Object.entries(fields ?? {})) {
    if (field.ts > limit) {
      if (out === fields) out = { ...fields };
      out[key] = { ...field, ts: limit };
    }
  }
  return out;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** An artifact duration (`5m`, `2h`: docs/rules.md) in milliseconds, or null. */
function durationMs(text) {
  const m = typeof text === 'string' ? /^(\d+)(ms|s|m|h|d|w)$/.exec(text) : null;
  return m ? Number(m[1]) * UNIT_MS[m[2]] : null;
}

/** The split arms each step of an artifact's journeys lies in: journey id -> step id -> [[split step id, arm id], …]. */
function armsOfSteps(artifact) {
  const journeys = new Map();
  for (const journey of Array.isArray(artifact?.journeys) ? artifact.journeys : []) {
    const steps = new Map();
    const walk = (list, path) => (Array.isArray(list) ? list : []).forEach((step) => {
      if (typeof step?.id === 'string') steps.set(step.id, path);
      if (Array.isArray(step?.split)) step.split.forEach((arm) => walk(arm?.steps, [...path, [step.id, arm?.id]]));
      if (step?.branch) {
        walk(step.branch.then, path);
        walk(step.branch.else, path);
      }
    });
    walk(journey?.steps, []);
    if (typeof journey?.id === 'string') journeys.set(journey.id, steps);
  }
  return journeys;
}

/** The event types that end a journey of the artifact: its goals' and its exit events'. */
function endingTypes(artifact) {
  const types = new Set();
  const add = (filter) => [filter?.type].flat().forEach((t) => typeof t === 'string' && types.add(t));
  for (const journey of Array.isArray(artifact?.journeys) ? artifact.journeys : []) {
    add(journey?.goal?.event);
    for (const exit of Array.isArray(journey?.exit) ? journey.exit : []) add(exit?.event);
  }
  return types;
}

/** The message actions of an artifact's journeys: journey id -> step id -> {channel, template}. */
function messageSteps(artifact) {
  const journeys = new Map();
  for (const journey of Array.isArray(artifact?.journeys) ? artifact.journeys : []) {
    const steps = new Map();
    const walk = (list) => (Array.isArray(list) ? list : []).forEach((step) => {
      if (step?.action && typeof step.id === 'string') steps.set(step.id, step.action);
      if (Array.isArray(step?.split)) step.split.forEach((arm) => walk(arm?.steps));
      if (step?.branch) {
        walk(step.branch.then);
        walk(step.branch.else);
      }
    });
    walk(journey?.steps);
    if (typeof journey?.id === 'string') journeys.set(journey.id, steps);
  }
  return journeys;
}

// The engine's limits on one event (docs/events.md, Limits): an event over
// them would be stored, then refused by every run of the engine.
export const MAX_EVENT_BYTES = 32 * 1024;
export const MAX_EVENT_DEPTH = 32;

/**
 * Why an ISO 8601 time the schema passed cannot be used, or null: a leap second
 * (`23:59:60`) is a valid date-time, but Date.parse and the engine read no such time.
 */
export function unreadableTime(text, path) {
  return Number.isFinite(Date.parse(text)) ? null : `${path}: is not a time this server can read (a leap second, :60, is not taken)`;
}

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
    this.artifacts = new Map(); // site -> {etag, journeys}: the message steps of the artifact last read
  }

  // The message steps of the site's current artifact (null without one), parsed once per version.
  #steps(site) {
    return this.#artifactOf(site)?.journeys ?? null;
  }

  // What the ingest reads of the site's current artifact (null without one), parsed once per version.
  #artifactOf(site) {
    const artifact = this.store.getArtifact(site);
    if (!artifact) return null;
    const cached = this.artifacts.get(site);
    if (cached?.etag === artifact.etag) return cached;
    const body = JSON.parse(artifact.body);
    const tolerance = durationMs(body?.limits?.futureTolerance);
    const info = { etag: artifact.etag, journeys: messageSteps(body), arms: armsOfSteps(body), endingTypes: [...endingTypes(body)], futureToleranceMs: tolerance ?? FUTURE_TOLERANCE_MS };
    this.artifacts.set(site, info);
    return info;
  }

  // A dispatch from a split arm the instance was not first drawn into, as a suppression reason,
  // or null. After a profile merge the replayed instance draws its arms again from the surviving
  // profile id; the person stays in the arm they were first in (the report counts that one), so
  // a message of another arm, a held-out visitor's above all, is never sent.
  #otherArm(site, profileId, body, ids) {
    const path = this.#artifactOf(site)?.arms.get(body.journey)?.get(body.step);
    if (!path?.length) return null;
    const first = this.store.firstArms(site, profileId, ids);
    for (const [split, arm] of path) {
      const drawn = first.get(split);
      if (drawn !== undefined && drawn !== arm) return `arm:${split}:${drawn}`;
    }
    return null;
  }

  /**
   * The events of the device's profile that came from elsewhere (another device of the person,
   * the bulk import of offline sales) and can end a journey: a goal's or an exit's event type,
   * the latest MAX_ENDING_EVENTS. Returned with each collection answer, so that the page's own
   * engine ends the journey too (its tiles withdrawn, its later messages never asked for).
   */
  endingEventsFor(site, deviceId) {
    const types = this.#artifactOf(site)?.endingTypes;
    if (!types?.length) return [];
    const profileId = this.store.profileIfKnown(site, deviceId);
    if (!profileId) return [];
    return this.store.eventsFromElsewhere(site, profileId, deviceId, types, MAX_ENDING_EVENTS);
  }

  // Why an imported event is too far ahead of the server's clock for the engine, or null:
  // stored, it would be refused by every run of the engine.
  #futureProblem(site, timestamp, now) {
    const tolerance = this.#artifactOf(site)?.futureToleranceMs ?? FUTURE_TOLERANCE_MS;
    const ahead = Date.parse(timestamp) - now;
    if (ahead <= tolerance) return null;
    return `$.event.timestamp: is ${Math.ceil(ahead / 1000)} s after the server's clock, beyond the artifact's futureTolerance of ${tolerance / 1000} s`;
  }

  // Why a dispatch record from a page cannot be stored, or null. The write key is public, so a
  // page's dispatch must be one the site's journeys could have made: an existing journey and
  // message step, with that step's channel and template, on a channel the server sends.
  #pageDispatchProblem(site, record, i) {
    const { body } = record;
    const at = `$.records[${i}].body`;
    const journeys = this.#steps(site);
    if (!journeys) return `${at}.journey: the site has no artifact, so no journey of it sends messages`;
    const steps = journeys.get(body.journey);
    if (!steps) return `${at}.journey: names no journey of the site's artifact ("${body.journey}")`;
    const action = steps.get(body.step);
    if (!action) return `${at}.step: names no action step of journey "${body.journey}" ("${body.step}")`;
    if (!SENT_CHANNELS.has(action.channel)) return `${at}.step: step "${body.step}" of journey "${body.journey}" is a ${action.channel} action; the server sends only email and sms`;
    if (body.channel !== action.channel) return `${at}.channel: step "${body.step}" of journey "${body.journey}" sends ${action.channel}, not ${body.channel}`;
    if (body.template !== action.template) return `${at}.template: step "${body.step}" of journey "${body.journey}" sends the template "${action.template}", not "${body.template}"`;
    return null;
  }

  /**
   * Validates and stores records for a device: `{accepted, duplicates, rejected}`.
   * Invalid records are rejected by id with a reason; the others are stored.
   */
  collect(site, deviceId, records, source = 'page', { profileId: ownProfile, sentAt } = {}) {
    const now = this.clock.now();
    const skew = clockSkew(sentAt, now);
    const result = { accepted: [], duplicates: [], rejected: [] };
    const valid = [];
    const seen = new Set();
    records.forEach((record, i) => {
      let reason = recordProblem(record, i);
      if (!reason && source === 'page' && record.kind === 'dispatch') reason = this.#pageDispatchProblem(site, record, i);
      if (reason) {
        result.rejected.push({ id: String(record?.id ?? ''), reason });
      } else if (seen.has(record.id)) {
        result.duplicates.push(record.id); // the same id twice in one batch: stored once
      } else {
        seen.add(record.id);
        valid.push(record.kind === 'fragment' && skew !== 0 ? correctedFragment(record, skew) : record);
      }
    });
    if (valid.length === 0) return result;
    // A page's records carry no proof of the identities they name (see identity-proof.js).
    const linksIdentities = this.sites.get(site)?.trustPageIdentities === true;
    this.store.transaction(() => {
      // The server's own run names its profile, which need not be a device's.
      const profileId = ownProfile ?? this.store.profileOfDevice(site, deviceId, now);
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
      case 'dispatch': {
        // The instance's twins, looked up once for its first arms and for an end of any of them.
        const ids = this.store.instanceIds(site, profileId, body.instance);
        this.store.insertDispatch(site, profileId, { ...body, due: Date.parse(body.due) }, now, this.#otherArm(site, profileId, body, ids), ids);
        return profileId;
      }
      case 'dispatch.cancel':
        this.store.cancelDispatch(site, body.dispatch, now);
        return profileId;
      case 'conversion':
        this.store.endInstance(site, profileId, body.instance, 'converted', record.at, now);
        return profileId;
      case 'journey':
        if (body.event === 'exited') this.store.endInstance(site, profileId, body.instance, `exited (${body.reason ?? 'unknown'})`, record.at, now);
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
      const bounded = { ...fragment, fields: boundFieldTimes(fragment.fields ?? {}, now + FUTURE_TOLERANCE_MS) };
      this.store.setFragment(site, profileId, mergeFragments(current, bounded), now);
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
      this.store.resetRun(site, into, now);
      this.log?.info?.({ site, from, into }, 'profiles merged by identity');
      return into;
    });
  }

  /** The profile a bulk import line names (a device, or a known identity, created when new). */
  profileForImport(site, line) {
    const now = this.clock.now();
    if (line.deviceId !== undefined) return this.store.profileOfDevice(site, line.deviceId, now);
    const { namespace, id } = line.identity;
    const owner = this.store.profileOfIdentity(site, namespace, id);
    if (owner !== null) return owner;
    // A person known only offline: a profile of their own, under an id the server makes up. Named
    // after the identity, a page sending that name as its deviceId would have joined it.
    const profileId = newProfileId();
    this.store.linkIdentity(site, namespace, id, profileId, now);
    return profileId;
  }

  /**
   * One line of a bulk import (already parsed): `{status: 'accepted'|'duplicate'|'rejected', reason?}`.
   * Fragments and events become records of the profile (source `import`), so
   * the server's engine sees an offline purchase like any other event.
   */
  importLine(site, line) {
    const errors = check('importLine', line, '$');
    if (errors.length > 0) return { status: 'rejected', reason: errors.map((e) => `${e.path}: ${e.reason}`).join('; ') };
    const tooLarge = line.type === 'event' ? unreadableTime(line.event.timestamp, '$.event.timestamp') ?? eventLimitProblem(line.event, '$.event') : null;
    if (tooLarge) return { status: 'rejected', reason: tooLarge };
    const now = this.clock.now();
    const future = line.type === 'event' ? this.#futureProblem(site, line.event.timestamp, now) : null;
    if (future) return { status: 'rejected', reason: future };
    return this.store.transaction(() => {
      const profileId = this.profileForImport(site, line);
      if (line.type === 'fragment') {
        for (const [namespace, ids] of Object.entries(line.fragment.identities ?? {})) {
          if (namespace === DEVICE) continue;
          for (const id of ids) this.store.linkIdentity(site, namespace, id, profileId, now);
        }
        // Consent and attributes reach the server's engine as a record of the profile.
        // Named by its content, so importing the same file twice stores it once.
        const digest = createHash('sha256').update(canonicalJson(line)).digest('hex').slice(0, 32);
        const record = { id: `import:${digest}`, kind: 'fragment', at: now, purpose: '', body: { fields: line.fragment.fields ?? {} } };
        const [stored] = this.store.insertRecords(site, profileId, profileId, [record], 'import', now);
        if (!stored) return { status: 'duplicate' };
        // Merged once, when first stored: a later copy would bound its future times at a later clock.
        this.mergeFragment(site, profileId, { fields: line.fragment.fields ?? {} });
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

/**
 * How far a device's clock is behind the server's (negative: ahead), from a batch's `sentAt`
 * (the device's clock when the request left) and the server's clock at arrival; 0 when
 * within SKEW_THRESHOLD_MS or unknown.
 */
export function clockSkew(sentAt, now) {
  const sent = typeof sentAt === 'string' ? Date.parse(sentAt) : NaN;
  if (!Number.isFinite(sent)) return 0;
  const skew = now - sent;
  return Math.abs(skew) > SKEW_THRESHOLD_MS ? skew : 0;
}

// A fragment record with each field's `ts` moved onto the server's clock: what the merge
// compares, so an opt-out from a slow device is not lost to an older grant. The record's `at`
// stays the device's: the server's engine replays the fragment among the device's events
// (placed by their own timestamps) in the order the page applied them, so both compute the
// same entry times and ids. Done once, before the record is stored: a resend (another
// `sentAt`, another estimate) is a duplicate and changes nothing.
function correctedFragment(record, skew) {
  const fields = {};
  for (const [key, field] of Object.entries(record.body.fields ?? {})) fields[key] = { ...field, ts: Math.max(0, field.ts + skew) };
  return { ...record, body: { ...record.body, fields } };
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
  if (record.kind === 'dispatch') return unreadableTime(record.body.due, `$.records[${i}].body.due`);
  if (record.kind === 'event' || record.kind === 'feedback') {
    return unreadableTime(record.body.timestamp, `$.records[${i}].body.timestamp`) ?? eventLimitProblem(record.body, `$.records[${i}].body`);
  }
  return null;
}
