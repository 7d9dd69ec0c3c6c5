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

/** A current membership. */
export interface SegmentMembership {
  segment: string;
  status: 'existing';
  since: string;
}

/** What a call that moves time or changes state did. */
export interface UpdateResult {
  ok: boolean;
  /** Every problem found; empty when `ok`. */
  errors: RekindleError[];
  /** Segment transitions caused, in time order. */
  transitions: SegmentTransition[];
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

export interface RekindleOptions {
  /** Where the browser fetches `rekindle.wasm` (default: next to the module). */
  wasmUrl?: string | URL;
  /** The wasm bytes themselves (Node, tests). */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /** The clock, in milliseconds since the epoch (default: `Date.now`). */
  now?: () => number;
  /** A stable id of this device, chosen by the host. */
  deviceId?: string;
  /** The campaign artifact to start with; an invalid one makes createRekindle reject with a RekindleArtifactError. */
  artifact?: CampaignArtifact;
}

export interface Rekindle {
  /** The engine's version, e.g. `0.1.0`. */
  readonly version: string;
  /** Tracks a whole event. */
  track(event: XdmEvent): TrackResult;
  /** Tracks an event of `eventType`; the id and timestamp are generated on the device. */
  track(eventType: EventType, fields?: EventFields): TrackResult;
  /** Tracks an event given as JSON text (for hosts that already hold the text). */
  trackJson(json: string): TrackResult;
  /** Switches to a campaign artifact; on errors the engine keeps the one it had. */
  loadArtifact(artifact: CampaignArtifact | string): UpdateResult;
  /** Sets profile attributes (nested objects set nested attributes). */
  setAttributes(attributes: Record<string, unknown>): UpdateResult;
  /** Processes every deadline up to `at` (default: now). */
  advance(at?: number): UpdateResult;
  /** When a segment may next change without a new event (ms since epoch), or null. */
  nextDeadline(): number | null;
  /** Current segment memberships. */
  segments(): SegmentMembership[];
  /** The whole engine state as JSON text (format-versioned), to persist and restore. */
  snapshot(): string;
  /** Replaces the state with a snapshot; a damaged or newer one is refused and nothing changes. */
  restore(snapshot: string): UpdateResult;
  /** Counts of accepted and duplicate events. */
  stats(): { accepted: number; duplicates: number };
  /** Frees the engine. */
  destroy(): void;
}

/** Thrown by `createRekindle` for an option a developer must fix. */
export class RekindleOptionsError extends Error {
  readonly option: string;
}

/** Thrown by `createRekindle` when the `artifact` option is invalid. */
export class RekindleArtifactError extends Error {
  readonly errors: RekindleError[];
}

/** Loads the engine and returns its API. */
export function createRekindle(options?: RekindleOptions): Promise<Rekindle>;
