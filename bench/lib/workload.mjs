// The workload every ingest figure uses, in Node and in Chromium: a campaign
// artifact with S segments (the five kinds a real artifact holds: windowed
// counts with a `where`, sequences with an absence, sums, since, segment
// references with profile comparisons) and J journeys entered from the
// absence segments, and a deterministic event stream. bench/core_bench.cc
// builds the same artifact and events in C++ (keep the two in step).
//
// Events are 30 s apart, with a 90-minute pause every 200 events (before
// events 103, 303, ...: after an add to cart, before the next purchase), so
// every absence segment is realized, every journey starts and shows its tile,
// and the next purchase ends them: the stream exercises deadlines, journeys
// and effects, not only counters. 100,000 events span 66 days, inside the
// longest window (90 days), so no event leaves the history by age.

export const T0 = Date.UTC(2026, 11, 4, 15, 53, 0); // 2026-12-04T15:53:00Z
const STEP_MS = 30_000;
const PAUSE_EVERY = 200;
const PAUSE_BEFORE = 103; // events 103, 303, 503, ... come after a pause
const PAUSE_MS = 90 * 60_000;

const EVENT_TYPES = [
  'commerce.productViews', 'commerce.productListAdds', 'web.webpagedetails.pageViews',
  'commerce.productViews', 'commerce.purchases',
];
const SEGMENT_TYPES = [
  'commerce.productViews', 'commerce.productListAdds', 'commerce.purchases',
  'web.webpagedetails.pageViews', 'commerce.checkouts',
];

/** The rule of the peer comparison: an `and` of five comparisons over a nested profile, one an `in` list. */
export const FIVE_COMPARISONS = {
  and: [
    { path: 'profile.tier', op: 'in', value: ['gold', 'platinum', 'diamond'] },
    { path: 'profile.stats.orders', op: 'gte', value: 3 },
    { path: 'profile.address.country', op: 'eq', value: 'FR' },
    { path: 'profile.stats.spend', op: 'gt', value: 250.5 },
    { path: 'profile.optIn', op: 'eq', value: true },
  ],
};

/** The profile the rule is evaluated on (the rule is true for it). */
export const NESTED_PROFILE = {
  tier: 'platinum',
  optIn: true,
  address: { country: 'FR', city: 'Lyon' },
  stats: { orders: 7, spend: 812.4 },
};

function segmentRule(i) {
  const type = SEGMENT_TYPES[i % 5];
  switch (i % 5) {
    case 0:
      return {
        count: { event: { type, where: { path: 'event.productListItems[].productCategory', op: 'eq', value: `c${i % 7}` } }, within: '7d' },
        op: 'gte', value: 3,
      };
    case 1:
      return { sequence: [{ event: { type } }, { absent: { type: 'commerce.purchases' }, for: `${30 + i}m` }] };
    case 2:
      return { sum: { event: { type }, field: 'event.commerce.order.priceTotal', within: '90d' }, op: 'gte', value: 500 + i };
    case 3:
      return { and: [{ count: { event: { type } }, op: 'gte', value: 1 }, { since: { event: { type } }, op: 'gte', value: '30d' }] };
    default:
      return { and: [{ segment: `s${i - 1}` }, FIVE_COMPARISONS] };
  }
}

const PLACEMENTS = ['hero', 'sidebar', 'footer'];

/**
 * The campaign artifact: `segments` segments, `journeys` journeys (each
 * entered from one of the absence segments s1, s6, s11, ...; a tile, a day's
 * wait, an email; ended by a purchase) with one offer each, and an evergreen
 * offer per placement whose eligibility is FIVE_COMPARISONS. `historyEvents`
 * caps the on-device history (the oldest events fall out first).
 */
export function buildArtifact({ segments = 50, journeys = 10, historyEvents = 10000 } = {}) {
  const absenceSegments = [];
  for (let i = 1; i < segments; i += 5) absenceSegments.push(`s${i}`);
  if (journeys > absenceSegments.length) throw new Error(`${journeys} journeys need ${journeys * 5} segments`);
  const offers = PLACEMENTS.map((p, k) => ({
    id: `evergreen-${p}`, priority: 1, placements: [p], eligibility: FIVE_COMPARISONS,
    content: { title: `Welcome back, {{profile.firstName|there}} (${k})`, body: 'Free returns within 60 days.' },
  }));
  const js = [];
  for (let j = 0; j < journeys; ++j) {
    const placement = PLACEMENTS[j % PLACEMENTS.length];
    offers.push({
      id: `cart-${j}`, priority: 10 + j, placements: [placement],
      content: { title: `Still thinking it over, {{profile.firstName|there}}? (${j})`, body: 'Take 10 % off today.', cta: { label: 'Back to my cart', url: '/cart' } },
    });
    js.push({
      id: `journey-${j}`, entry: { segment: absenceSegments[j] }, maxDuration: '7d',
      reentry: { allowed: true, cooldown: '1h' },
      goal: { event: { type: 'commerce.purchases' } },
      exit: [{ event: { type: 'commerce.purchases' } }],
      steps: [
        { id: 'tile', action: { channel: 'web', placement, offer: `cart-${j}` } },
        { id: 'wait', wait: '1d' },
        { id: 'email', action: { channel: 'email', template: `cart-reminder-${j}` } },
      ],
    });
  }
  const segs = [];
  for (let i = 0; i < segments; ++i) segs.push({ id: `s${i}`, rule: segmentRule(i) });
  return {
    version: `bench-${segments}-${journeys}-${historyEvents}`,
    limits: { historyEvents, historyBytes: 64 * 1024 * 1024 },
    segments: segs,
    consent: { defaults: { analytics: 'granted', personalize: 'granted', 'marketing.email': 'granted' } },
    placements: PLACEMENTS.map((id) => ({ id })),
    offers,
    caps: [{ channel: 'web', max: 1000, per: '1d' }],
    journeys: js,
  };
}

/** The timestamp (ms) of event `i`. */
export function eventTime(i) {
  return T0 + STEP_MS * i + PAUSE_MS * Math.floor((i + PAUSE_EVERY - PAUSE_BEFORE) / PAUSE_EVERY);
}

/** Event `i` of the stream, as an XDM event object. */
export function buildEvent(i) {
  const event = {
    _id: `e${i}`,
    eventType: EVENT_TYPES[i % 5],
    timestamp: new Date(eventTime(i)).toISOString(),
    productListItems: [{ SKU: `sku-${i % 100}`, productCategory: `c${i % 7}`, priceTotal: 20 + (i % 50) }],
  };
  if (i % 5 === 4) event.commerce = { order: { priceTotal: 40 + (i % 70) } };
  return event;
}
