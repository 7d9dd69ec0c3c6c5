// Campaign reporting: per journey and step, from the stored records (both
// evaluators' journey, conversion and suppression records, the page's
// feedback events) and the dispatch table (what was sent, suppressed at send
// time, cancelled or dead-lettered). Holdout vs treatment compares conversion
// rates over every instance whose split chose an arm.
import { stableId } from './ids.js';

const Z95 = 1.959963984540054;

/** Wilson's score interval for a proportion of `conversions` in `n` (n > 0), at 95 %. */
export function wilsonInterval(conversions, n) {
  const p = conversions / n;
  const z2 = Z95 * Z95;
  const centre = 2 * n * p + z2;
  const spread = Z95 * Math.sqrt(z2 + 4 * n * p * (1 - p));
  return { low: (centre - spread) / (2 * (n + z2)), high: (centre + spread) / (2 * (n + z2)) };
}

/**
 * The difference of two proportions a - b with Newcombe's hybrid score
 * interval (method 10, Statistics in Medicine 17:873, 1998), built from each
 * side's Wilson interval. Unlike the Wald interval it stays honest with small
 * groups and zero counts: 0 of 3 against 10 of 37 is inconclusive.
 */
export function differenceInterval(a, b) {
  const pa = a.conversions / a.n;
  const pb = b.conversions / b.n;
  const wa = wilsonInterval(a.conversions, a.n);
  const wb = wilsonInterval(b.conversions, b.n);
  const value = pa - pb;
  return { value, low: value - Math.hypot(pa - wa.low, wb.high - pb), high: value + Math.hypot(wa.high - pa, pb - wb.low) };
}

/** Conversion rates of two groups: the difference and the relative lift, each with a 95 % interval. */
export function compareRates(treatment, holdout) {
  const rate = (g) => (g.n > 0 ? g.conversions / g.n : null);
  const pt = rate(treatment);
  const ph = rate(holdout);
  if (pt === null || ph === null) return { treatment: { ...treatment, rate: pt }, holdout: { ...holdout, rate: ph }, difference: null, lift: null };
  const difference = differenceInterval(treatment, holdout);
  // Relative lift pt/ph - 1, interval from the log of the risk ratio (Katz); undefined without conversions on a side.
  let lift = null;
  if (pt > 0 && ph > 0) {
    const seLog = Math.sqrt((1 - pt) / (treatment.n * pt) + (1 - ph) / (holdout.n * ph));
    const log = Math.log(pt / ph);
    lift = { value: pt / ph - 1, low: Math.exp(log - Z95 * seLog) - 1, high: Math.exp(log + Z95 * seLog) - 1 };
  }
  return { treatment: { ...treatment, rate: pt }, holdout: { ...holdout, rate: ph }, difference, lift };
}

// Every step id of a journey definition, with the channel of action steps.
function stepsOf(steps, out = []) {
  for (const step of steps ?? []) {
    out.push({ step: step.id, channel: step.action?.channel ?? null });
    if (Array.isArray(step.split)) for (const arm of step.split) stepsOf(arm.steps, out);
    if (step.branch) {
      stepsOf(step.branch.then, out);
      stepsOf(step.branch.else, out);
    }
  }
  return out;
}

// The ids of the holdout arms of a journey's splits (at any depth).
function holdoutArms(steps, out = new Set()) {
  for (const s of steps ?? []) {
    if (Array.isArray(s.split)) for (const a of s.split) (a.holdout === true ? out.add(a.id) : holdoutArms(a.steps, out));
    if (s.branch !== undefined) {
      holdoutArms(s.branch.then, out);
      holdoutArms(s.branch.else, out);
    }
  }
  return out;
}

function defaultBucket(span) {
  if (span <= 6 * 3_600_000) return 60_000;
  if (span <= 14 * 86_400_000) return 3_600_000;
  return 86_400_000;
}

/** The report for a site between `from` and `to` (ms). */
export function journeyReport(store, site, { from = 0, to = Date.now(), bucketMs } = {}) {
  const artifactRow = store.getArtifact(site);
  const artifact = artifactRow ? JSON.parse(artifactRow.body) : { journeys: [] };
  const defs = new Map((artifact.journeys ?? []).map((j) => [j.id, j]));
  const holdoutsOf = new Map([...defs].map(([id, def]) => [id, holdoutArms(def.steps)]));
  const holdoutsOfJourney = (id) => holdoutsOf.get(id) ?? new Set();
  const journeys = new Map();
  const journeyOf = (id) => {
    if (!journeys.has(id)) {
      const def = defs.get(id);
      journeys.set(id, {
        id, name: def?.name ?? id, instances: new Map(), instanceIds: new Set(), steps: new Map(
          stepsOf(def?.steps).map((s) => [s.step, { ...s, sent: 0, suppressed: {}, cancelled: 0, dead: 0, pending: 0, displays: 0, clicks: 0, dismissals: 0, conversions: 0 }]),
        ), events: [],
        // The funnel counts instances: a tile shown again on a reload is one more display of its step, not one more visitor.
        displayedBy: new Set(), clickedBy: new Set(), dismissedBy: new Set(),
      });
    }
    return journeys.get(id);
  };
  for (const id of defs.keys()) journeyOf(id);
  const stepOf = (j, step) => {
    if (!j.steps.has(step)) j.steps.set(step, { step, channel: null, sent: 0, suppressed: {}, cancelled: 0, dead: 0, pending: 0, displays: 0, clicks: 0, dismissals: 0, conversions: 0 });
    return j.steps.get(step);
  };
  const records = store.recordsOfKinds(site, ['journey', 'conversion', 'suppressed'], from, to);
  // When an identity joins two profiles, the moved profile's journeys are replayed under the
  // surviving profile id: new instance ids, same profile (records move with it), same entry
  // time. One instance for the report, whichever id its records carry.
  const canonical = new Map();
  const firstOfEntry = new Map();
  for (const r of records) {
    if (r.kind !== 'journey' || r.body.event !== 'entered') continue;
    const entry = `${r.profileId}\u0000${r.body.journey}\u0000${r.at}`;
    if (!firstOfEntry.has(entry)) firstOfEntry.set(entry, r.body.instance);
    canonical.set(r.body.instance, firstOfEntry.get(entry));
  }
  const instanceOf = (j, raw) => {
    j.instanceIds.add(raw);
    const id = canonical.get(raw) ?? raw;
    if (!j.instances.has(id)) j.instances.set(id, { entered: false, arm: null, holdout: false, converted: false, suppressed: new Set() });
    return j.instances.get(id);
  };

  for (const r of records) {
    const j = journeyOf(r.body.journey);
    const inst = instanceOf(j, r.body.instance);
    if (r.kind === 'journey' && r.body.event === 'entered') {
      if (inst.entered) continue;
      inst.entered = true;
      j.events.push({ t: r.at, type: 'entered' });
    } else if (r.kind === 'journey' && r.body.event === 'arm') {
      if (inst.arm) continue;  // a replayed instance keeps the arm it was first in
      inst.arm = r.body.arm;
      inst.holdout = Boolean(r.body.holdout);
    } else if (r.kind === 'conversion') {
      if (inst.converted) continue;  // the same instance under its replayed id
      inst.converted = true;
      // The arm record normally comes first; when it has not arrived, the definition says whether the arm holds out.
      if (r.body.arm && !inst.arm) [inst.arm, inst.holdout] = [r.body.arm, holdoutsOfJourney(j.id).has(r.body.arm)];
      if (r.body.step) stepOf(j, r.body.step).conversions += 1;
      j.events.push({ t: r.at, type: 'converted' });
    } else if (r.kind === 'suppressed') {
      if (inst.suppressed.has(r.body.step)) continue;
      inst.suppressed.add(r.body.step);
      const s = stepOf(j, r.body.step);
      s.channel ??= r.body.channel;
      s.suppressed[r.body.reason] = (s.suppressed[r.body.reason] ?? 0) + 1;
    }
  }

  // Messages: what the dispatch table says happened to each.
  let deadLetters = 0;
  const known = new Set();
  const stepsWithMessage = new Set(); // instance (as the report counts it) and step
  for (const d of store.dispatchesOf(site)) {
    known.add(d.id);
    stepsWithMessage.add(`${canonical.get(d.instance) ?? d.instance}\u0000${d.step}`);
    if (d.due < from || d.due >= to) continue;
    const j = journeyOf(d.journey);
    const s = stepOf(j, d.step);
    s.channel ??= d.channel;
    if (d.status === 'sent') {
      s.sent += 1;
      j.events.push({ t: d.updated, type: `${d.channel}Sent` });
    } else if (d.status === 'suppressed') s.suppressed[d.reason] = (s.suppressed[d.reason] ?? 0) + 1;
    else if (d.status === 'cancelled') s.cancelled += 1;
    else if (d.status === 'dead') {
      s.dead += 1;
      deadLetters += 1;
    } else s.pending += 1;
  }

  // A message cancelled before it left the device (its journey ended as it
  // fell due) reaches the server as its cancel alone: the dispatch id,
  // H(instance, step, "dispatch"), names the step.
  for (const r of store.recordsOfKinds(site, ['dispatch.cancel'], from, to)) {
    if (known.has(r.body.dispatch) || !journeys.has(r.body.journey)) continue;
    const j = journeys.get(r.body.journey);
    const step = [...j.steps.values()].find((s) => stableId([r.body.instance, s.step, 'dispatch']) === r.body.dispatch);
    // A replay after a profile merge cancels its own copy of a message its twin already sent.
    if (step && !stepsWithMessage.has(`${canonical.get(r.body.instance) ?? r.body.instance}\u0000${step.step}`)) step.cancelled += 1;
  }

  // Tile feedback names a proposition: a journey tile's is H(instance, step, "proposition").
  const propositions = new Map();
  for (const j of journeys.values()) {
    for (const instance of j.instanceIds) {
      for (const s of j.steps.values()) {
        if (s.channel === 'web' || s.channel === null) {
          propositions.set(stableId([instance, s.step, 'proposition']), { j, step: s.step, instance: canonical.get(instance) ?? instance });
        }
      }
    }
  }
  for (const r of store.feedbackEvents(site, from, to)) {
    const items = r.body._experience?.decisioning?.propositions ?? [];
    for (const p of items) {
      const hit = propositions.get(p.id);
      if (!hit) continue;
      const s = stepOf(hit.j, hit.step);
      s.channel ??= 'web';
      let type;
      if (r.body.eventType === 'decisioning.propositionDisplay') {
        [type, s.displays] = ['displayed', s.displays + 1];
        hit.j.displayedBy.add(hit.instance);
      } else if (r.body.data?.action === 'dismiss') {
        [type, s.dismissals] = ['dismissed', s.dismissals + 1];
        hit.j.dismissedBy.add(hit.instance);
      } else {
        [type, s.clicks] = ['clicked', s.clicks + 1];
        hit.j.clickedBy.add(hit.instance);
      }
      hit.j.events.push({ t: r.at, type });
    }
  }

  const allTimes = [...journeys.values()].flatMap((j) => j.events.map((e) => e.t));
  const start = allTimes.length ? Math.min(...allTimes) : to;
  const bucket = bucketMs ?? defaultBucket(Math.max(0, to - start));
  const out = [];
  for (const j of journeys.values()) {
    const instances = [...j.instances.values()];
    const entered = instances.filter((i) => i.entered).length;
    const converted = instances.filter((i) => i.converted).length;
    const steps = [...j.steps.values()];
    const sum = (channel, f) => steps.filter((s) => channel === null || s.channel === channel).reduce((a, s) => a + f(s), 0);
    const suppressedCount = (s) => Object.values(s.suppressed).reduce((a, b) => a + b, 0);
    const arms = new Map();
    for (const i of instances) {
      if (!i.arm) continue;
      const a = arms.get(i.arm) ?? { arm: i.arm, holdout: i.holdout, entered: 0, converted: 0 };
      a.entered += 1;
      a.converted += i.converted ? 1 : 0;
      arms.set(i.arm, a);
    }
    const group = (holdout) => [...arms.values()].filter((a) => a.holdout === holdout)
      .reduce((g, a) => ({ n: g.n + a.entered, conversions: g.conversions + a.converted }), { n: 0, conversions: 0 });
    // A journey defined with a holdout is compared even before anyone falls in it (n = 0 there).
    const hasHoldout = holdoutsOfJourney(j.id).size > 0 || [...arms.values()].some((a) => a.holdout);
    const series = new Map();
    for (const e of j.events) {
      const t = Math.floor(e.t / bucket) * bucket;
      const row = series.get(t) ?? { t: new Date(t).toISOString(), entered: 0, displayed: 0, clicked: 0, dismissed: 0, converted: 0, emailSent: 0, smsSent: 0 };
      if (row[e.type] !== undefined) row[e.type] += 1;
      series.set(t, row);
    }
    out.push({
      id: j.id,
      name: j.name,
      entered,
      converted,
      conversionRate: entered > 0 ? converted / entered : null,
      funnel: {
        entered,
        displayed: j.displayedBy.size,
        clicked: j.clickedBy.size,
        dismissed: j.dismissedBy.size,
        converted,
        emailSent: sum('email', (s) => s.sent),
        emailSuppressed: sum('email', suppressedCount),
        smsSent: sum('sms', (s) => s.sent),
        smsSuppressed: sum('sms', suppressedCount),
      },
      arms: [...arms.values()].map((a) => ({ ...a, rate: a.entered > 0 ? a.converted / a.entered : null })),
      comparison: hasHoldout ? compareRates(group(false), group(true)) : null,
      deadLetters: sum(null, (s) => s.dead),
      steps: steps.map((s) => ({ ...s })),
      series: [...series.entries()].sort((a, b) => a[0] - b[0]).map((x) => x[1]),
    });
  }
  return { generatedAt: new Date(to).toISOString(), from: new Date(from).toISOString(), to: new Date(to).toISOString(), bucketMs: bucket, deadLetters, journeys: out };
}

/** One CSV cell; a leading = + - @ would make a spreadsheet run a formula, so it is quoted as text. */
export function csvCell(value) {
  const text = value === null || value === undefined ? '' : String(value);
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The report as CSV: one row per journey step, then one per journey for the holdout comparison. */
export function reportCsv(report) {
  const cell = csvCell;
  const lines = [['journey', 'step', 'channel', 'sent', 'suppressed', 'suppressed_reasons', 'cancelled', 'dead', 'pending', 'displays', 'clicks', 'dismissals', 'conversions'].join(',')];
  for (const j of report.journeys) {
    for (const s of j.steps) {
      const reasons = Object.entries(s.suppressed).map(([k, v]) => `${k}=${v}`).join(' ');
      const suppressed = Object.values(s.suppressed).reduce((a, b) => a + b, 0);
      lines.push([j.id, s.step, s.channel ?? '', s.sent, suppressed, reasons, s.cancelled, s.dead, s.pending, s.displays, s.clicks, s.dismissals, s.conversions].map(cell).join(','));
    }
  }
  lines.push('');
  lines.push(['journey', 'entered', 'converted', 'conversion_rate', 'treatment_n', 'treatment_rate', 'holdout_n', 'holdout_rate', 'difference', 'difference_low', 'difference_high', 'lift', 'lift_low', 'lift_high'].join(','));
  for (const j of report.journeys) {
    const c = j.comparison;
    lines.push([j.id, j.entered, j.converted, j.conversionRate, c?.treatment.n, c?.treatment.rate, c?.holdout.n, c?.holdout.rate,
      c?.difference?.value, c?.difference?.low, c?.difference?.high, c?.lift?.value, c?.lift?.low, c?.lift?.high].map(cell).join(','));
  }
  return `${lines.join('\n')}\n`;
}
