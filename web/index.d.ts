// Public types of the rekindle npm module. Hand-written; checked by
// tests/types/index.test-d.ts with `tsc --noEmit` in the test run.

/** One problem in an input, located by a JSONPath-like string (`$.productListItems[0].SKU`). */
export interface RekindleError {
  path: string;
  reason: string;
}

/** A change of segment membership, stamped with the time it truly happened. */
export interface SegmentTransition {
  segment: string;
  status: 'realized' | 'exited';
  /** ISO 8601, UTC, with milliseconds. */
  at: string;
}

/** state(): what the engine holds about the visitor, each part in its snapshot form. */
export interface EngineState {
  /** The engine's clock (ms since epoch), or null before any call with a time. */
  clock: number | null;
  profileId: string;
  profile: {
    deviceId: string;
    identities: Record<string, string[]>;
    /** Every field with its last write: "attributes.<path>" (null value: deleted) and "consent.<purpose>". */
    fields: Record<string, { value: unknown; ts: number; origin: string }>;
  };
  consent: Record<ConsentPurpose, { state: ConsentState; decided: boolean; at: number }>;
  journeys: {
    /** The running journey instances. */
    active: Array<{ id: string; journey: string; arm: string; holdout: boolean; entered: number; wake?: number; [key: string]: unknown }>;
    /** When each journey last ended (ms), for re-entry cooldowns. */
    lastEnd: Record<string, number>;
    deliveries: unknown[];
  };
}

/** A current membership. */
export interface SegmentMembership {
  segment: string;
  status: 'existing';
  since: string;
}

/** Rendered offer content: text fields for textContent, `html` with every inserted value escaped. */
export interface OfferContent {
  title: string;
  body?: string;
  image?: string;
  cta?: { label: string; url: string };
  html?: string;
}

/** What the host applies, in order (docs/journeys.md lists every field). */
export type Effect = { at: string } & (
  | { type: 'segment.realized'; segment: string }
  | { type: 'segment.exited'; segment: string }
  | { type: 'journey.entered'; journey: string; instance: string }
  | { type: 'journey.step'; journey: string; instance: string; step: string }
  | { type: 'offer.show'; journey: string; instance: string; step: string; channel: 'web'; placement: string; offer: string; proposition: string; content: OfferContent }
  | { type: 'offer.withdraw'; journey: string; instance: string; placement: string; offer: string; proposition: string }
  | { type: 'dispatch.request'; journey: string; instance: string; step: string; channel: 'email' | 'sms' | 'push'; dispatch: string; template: string; due: string }
  | { type: 'dispatch.cancelled'; journey: string; instance: string; dispatch: string }
  | { type: 'action.suppressed'; journey: string; instance: string; step: string; channel: string; reason: string }
  | { type: 'journey.exited'; journey: string; instance: string; reason: 'event' | 'segment' | 'maxDuration' | 'ended' | 'artifact' }
  | { type: 'journey.converted'; journey: string; instance: string; arm: string; step: string; offer: string; proposition: string; event: string }
  | { type: 'consent.changed'; purpose: ConsentPurpose; from: ConsentState; to: ConsentState }
);

export type ConsentPurpose = 'analytics' | 'personalize' | 'marketing.email' | 'marketing.sms' | 'marketing.push';
export type ConsentState = 'granted' | 'denied' | 'pending';

/** The best offer for a placement. */
export interface Decision {
  placement: string;
  offer: string;
  proposition: string;
  journey?: string;
  instance?: string;
  step?: string;
  content: OfferContent;
}

/** A record waiting for the server. */
export interface OutboxRecord {
  id: string;
  kind: 'event' | 'feedback' | 'fragment' | 'dispatch' | 'dispatch.cancel' | 'journey' | 'transition' | 'conversion' | 'suppressed';
  at: number;
  purpose: string;
  body: Record<string, unknown>;
}

/** What a call that moves time or changes state did. */
export interface UpdateResult {
  ok: boolean;
  /** Every problem found; empty when `ok`. */
  errors: RekindleError[];
  /** Segment transitions caused, in time order. */
  transitions: SegmentTransition[];
  /** Effects for the host to apply, in order. */
  effects: Effect[];
}

/** What loading an artifact did. */
export interface LoadResult extends UpdateResult {
  /**
   * True when it is the artifact the engine runs already (an equal document):
   * nothing changed but the clock, exactly as advance() would have.
   */
  same: boolean;
}

/** What tracking one event did. */
export interface TrackResult extends UpdateResult {
  /** True when an event with the same `_id` had already been accepted. */
  duplicate: boolean;
  /** True when the event was older than what the engine had processed and was re-evaluated. */
  late: boolean;
  /** The event's `_id` ("" when it could not be read). */
  eventId: string;
}

/** A campaign artifact (docs/rules.md, docs/schema/artifact.schema.json). */
export interface CampaignArtifact {
  version: string;
  limits?: { historyEvents?: number; historyBytes?: number; futureTolerance?: string };
  segments?: Array<{ id: string; name?: string; description?: string; rule: Record<string, unknown> }>;
  [part: string]: unknown;
}

/** Standard XDM ExperienceEvent types; custom dotted names are allowed too. */
export type StandardEventType =
  | 'web.webpagedetails.pageViews'
  | 'commerce.productViews'
  | 'commerce.productListAdds'
  | 'commerce.productListRemovals'
  | 'commerce.checkouts'
  | 'commerce.purchases'
  | 'decisioning.propositionDisplay'
  | 'decisioning.propositionInteract';

export type EventType = StandardEventType | (string & {});

export interface ProductListItem {
  SKU?: string;
  name?: string;
  quantity?: number;
  priceTotal?: number;
  currencyCode?: string;
  productCategory?: string;
  [field: string]: unknown;
}

/** The fields of an event besides its id, type and timestamp (XDM names). */
export interface EventFields {
  identityMap?: Record<string, Array<{ id: string; primary?: boolean; authenticatedState?: string }>>;
  commerce?: Record<string, Record<string, unknown>>;
  productListItems?: ProductListItem[];
  web?: {
    webPageDetails?: { name?: string; URL?: string };
    webReferrer?: { URL?: string };
  };
  data?: Record<string, unknown>;
  _experience?: Record<string, unknown>;
}

/** A whole XDM ExperienceEvent. */
export interface XdmEvent extends EventFields {
  _id: string;
  eventType: EventType;
  /** ISO 8601 with offset, e.g. `2026-12-04T15:53:00Z`. */
  timestamp: string;
}

export interface EngineOptions {
  /** Where the browser fetches `rekindle.wasm` (default: next to the module). */
  wasmUrl?: string | URL;
  /** The bytes of `rekindle.wasm` (an ArrayBuffer or a view of one): compiled as they are, nothing is fetched or read. */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /** The clock, in milliseconds since the epoch (default: `Date.now`). */
  now?: () => number;
  /** A stable id of this device, chosen by the host. */
  deviceId?: string;
  /** The campaign artifact to start with; an invalid one makes createRekindle reject with a RekindleArtifactError. */
  artifact?: CampaignArtifact;
}

/** The bare engine: synchronous calls, no storage, DOM or network. */
export interface RekindleEngine {
  /** The engine's version, e.g. `0.1.0`. */
  readonly version: string;
  /** Tracks a whole event. */
  track(event: XdmEvent): TrackResult;
  /** Tracks an event of `eventType`; the id and timestamp are generated on the device. */
  track(eventType: EventType, fields?: EventFields): TrackResult;
  /** Tracks an event given as JSON text (for hosts that already hold the text). */
  trackJson(json: string): TrackResult;
  /** Switches to a campaign artifact; on errors the engine keeps the one it had. */
  loadArtifact(artifact: CampaignArtifact | string): LoadResult;
  /** Sets profile attributes (nested objects set nested attributes). */
  setAttributes(attributes: Record<string, unknown>): UpdateResult;
  /** Links a known id (namespace + id) to this profile. */
  identify(namespace: string, id: string): UpdateResult;
  /** The visitor's consent decisions. */
  setConsent(purposes: Partial<Record<ConsentPurpose, ConsentState>>): UpdateResult;
  /** The best offer for a placement now, or null. */
  decide(placement: string): Decision | null;
  /**
   * Compiles a condition over the profile's attributes and segment memberships
   * (the language of offer eligibility) once; throws a RekindleConditionError
   * listing every problem with its path when it is invalid.
   */
  condition(rule: Condition | string): CompiledCondition;
  /** Records waiting for the server that consent allows sending, oldest first. */
  pending(maxRecords?: number, maxBytes?: number): OutboxRecord[];
  /** Records the server acknowledged leave the outbox; returns how many did. */
  ack(ids: string[]): number;
  /** Processes every deadline up to `at` (default: now). */
  advance(at?: number): UpdateResult;
  /** When a segment may next change without a new event (ms since epoch), or null. */
  nextDeadline(): number | null;
  /** Current segment memberships. */
  segments(): SegmentMembership[];
  /**
   * What the engine holds about the visitor, without the event history (for an
   * inspector or a consent banner; unlike snapshot(), its size does not grow with
   * the history). Each part has its snapshot form.
   */
  state(): EngineState;
  /** The whole engine state as JSON text (format-versioned), to persist and restore. */
  snapshot(): string;
  /** Replaces the state with a snapshot; a damaged or newer one is refused and nothing changes. */
  restore(snapshot: string): UpdateResult;
  /**
   * Counts of accepted and duplicate events, of the records waiting in the
   * outbox, and of the records it dropped unsent at its bounds (kept in the snapshot).
   */
  stats(): { accepted: number; duplicates: number; outbox: number; outboxDropped: number };
  /** Frees the engine. */
  destroy(): void;
}

/**
 * A condition of the rule language that reads only the profile's attributes
 * and segment memberships (docs/rules.md, "Conditions"), e.g.
 * `{ and: [{ path: 'profile.tier', op: 'in', value: ['gold'] }, { segment: 'abandoned-cart' }] }`.
 */
export type Condition = Record<string, unknown>;

/** A compiled condition. */
export interface CompiledCondition {
  /** True if the visitor meets the condition now; false without consent to personalization. */
  test(): boolean;
  /** Frees it now (one no longer referenced is freed when garbage-collected); test() throws afterwards. */
  dispose(): void;
}

/** Thrown by `condition()` for an invalid condition. */
export class RekindleConditionError extends Error {
  readonly errors: RekindleError[];
}

/** Thrown by `createRekindle` for an option a developer must fix. */
export class RekindleOptionsError extends Error {
  readonly option: string;
}

/** Thrown by `createRekindle` when the `artifact` option is invalid. */
export class RekindleArtifactError extends Error {
  readonly errors: RekindleError[];
}

/**
 * What a page runtime's call after `destroy()` rejects or throws: an `Error` with this
 * `name`. A type only, not a class the module exports: test `err.name === 'RekindleDestroyedError'`.
 */
export interface RekindleDestroyedError extends Error {
  readonly name: 'RekindleDestroyedError';
}

/** Options of the page runtime. */
export interface RekindleOptions {
  /** The server endpoint's base URL (e.g. "https://collect.example" or "/rk"); without it nothing is sent. */
  endpoint?: string;
  /** The campaign artifact, given inline... */
  artifact?: CampaignArtifact;
  /** ...or fetched (with ETag, cached for offline use). */
  artifactUrl?: string | URL;
  /**
   * Initial consent decisions, e.g. from a consent banner: applied at every start to the
   * purposes the visitor has not decided yet (a decision made with setConsent() stands);
   * a "denied" always applies.
   */
  consent?: Partial<Record<ConsentPurpose, ConsentState>>;
  /** A stable id of this device (default: generated once and kept in localStorage). */
  deviceId?: string;
  /** Where state lives (default: IndexedDB, memory when unavailable). */
  storage?: 'indexeddb' | 'memory';
  /** Automatic collection: page views (with route changes) and data-rk-* commerce events. */
  autoTrack?: boolean | { pageViews?: boolean; history?: boolean; commerce?: boolean };
  /** Render [data-rk-placement] tiles (default true in a page). */
  render?: boolean;
  /** The site's write key for the collection endpoint. */
  writeKey?: string;
  /**
   * Effect handlers attached before start-up, so they also see the effects of the restored
   * state and of the deadlines processed at load (rk.on() is too late for those).
   */
  on?: { [T in Effect['type'] | '*']?: (effect: T extends '*' ? Effect : Extract<Effect, { type: T }>) => void };
  /** Problems the runtime recovered from (delivery, storage, artifact: a RekindleArtifactError); default: console.warn. */
  onError?: (error: Error) => void;
  /** Names the storage and the cross-tab channel (default "rekindle"). */
  name?: string;
  wasmUrl?: string | URL;
  wasmBinary?: ArrayBuffer | Uint8Array;
  now?: () => number;
}

/** The page runtime. Changes are serialized across tabs, so they return promises. */
export interface Rekindle {
  readonly version: string;
  readonly deviceId: string;
  /** Where state lives: 'indexeddb' or 'memory'. */
  readonly storage: 'indexeddb' | 'memory';
  track(eventType: EventType, fields?: EventFields): Promise<TrackResult>;
  identify(namespace: string, id: string): Promise<UpdateResult>;
  setConsent(purposes: Partial<Record<ConsentPurpose, ConsentState>>): Promise<UpdateResult>;
  setAttributes(attributes: Record<string, unknown>): Promise<UpdateResult>;
  decide(placement: string): Decision | null;
  /** Compiles a condition once; see RekindleEngine.condition(). */
  condition(rule: Condition | string): CompiledCondition;
  /** Renders every [data-rk-placement] element from the current decisions. */
  render(): void;
  /** Calls `handler` for each effect of that type ('*' for all); returns an unsubscribe function. */
  on<T extends Effect['type'] | '*'>(type: T, handler: (effect: T extends '*' ? Effect : Extract<Effect, { type: T }>) => void): () => void;
  /** Sends what waits in the outbox now (nothing during a backoff: see retryAt). */
  flush(): Promise<{ sent: number; acked: number; dropped: number; retryAt?: number | null }>;
  segments(): SegmentMembership[];
  nextDeadline(): number | null;
  state(): EngineState;
  snapshot(): string;
  /**
   * Applies queued changes and saves, then frees everything; later calls reject or throw a
   * {@link RekindleDestroyedError}: a plain `Error` whose `name` is `'RekindleDestroyedError'`
   * (test the name; there is no class to test with `instanceof`).
   */
  destroy(): Promise<void>;
}

/** Starts the page runtime: restores state, processes deadlines that passed, renders tiles. */
export function createRekindle(options?: RekindleOptions): Promise<Rekindle>;

/** Loads the bare engine. */
export function createEngine(options?: EngineOptions): Promise<RekindleEngine>;
