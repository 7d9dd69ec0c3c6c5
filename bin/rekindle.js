#!/usr/bin/env node
// The rekindle command: validates campaign artifacts and replays event streams
// with a virtual clock, running the same wasm engine as the npm module.
//
//   rekindle validate ARTIFACT.json [--json]
//   rekindle simulate ARTIFACT.json EVENTS.jsonl [--until ISO] [--profile ID] [--verbose] [--json]
//   rekindle serve [--config FILE]
//   rekindle import FILE.jsonl --server URL [--token TOKEN] [--site ID]
//
// Exit status: 0 done, 1 invalid artifact or unreadable file, 2 usage error.
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createEngine } from 'rekindle';

/** Most deadlines one walk of the virtual clock processes before it stops. */
export const DEADLINE_GUARD = 10_000;
const DEFAULT_HORIZON_MS = 30 * 86_400_000;
/** The profile simulate runs as when --profile is not given. */
export const DEFAULT_PROFILE = 'visitor-1';

const USAGE = `Usage: rekindle <command> [options]

Commands:
  validate ARTIFACT.json                 check a campaign artifact; every error with its JSON path
  simulate ARTIFACT.json EVENTS.jsonl    replay events with a virtual clock and print the timeline
  serve                                  run the reference server (collection, engine runs, email and SMS)
  import FILE.jsonl                      bulk-import fragments and offline events into a server, with progress

Options:
  --json          machine-readable output (validate: {"ok","errors"};
                  simulate: one JSON object per line)
  --until ISO     simulate: after the last line, process deadlines up to this time
                  (default: 30 days after the latest time in EVENTS.jsonl;
                  at most ${DEADLINE_GUARD} deadlines)
  --profile ID    simulate: the profile id (default: ${DEFAULT_PROFILE}); it is part of every
                  journey instance and dispatch id, and it decides the profile's split arm
  --verbose       simulate: also list every journey step as it runs (--json always does)
  --config FILE   serve: the server's configuration file (docs/deploy.md); environment
                  variables override it
  --server URL    import: the server's base URL, e.g. http://127.0.0.1:8080
  --token TOKEN   import: the admin token (default: $REKINDLE_ADMIN_TOKEN)
  --site ID       import: the site to import into (default: the server's first site)
  -h, --help      show this help
  -v, --version   show the versions of the command and of the engine

EVENTS.jsonl holds one JSON object per line, replayed in file order ('-' reads stdin):
  an XDM event         {"_id": "e1", "eventType": "commerce.productListAdds", "timestamp": "2026-01-01T10:00:00Z"}
  profile attributes   {"attributes": {"tier": "gold"}, "at": "2026-01-01T09:00:00Z"}
  consent decisions    {"consent": {"marketing.email": "granted"}, "at": "2026-01-01T09:00:00Z"}
Blank lines and lines starting with # are skipped. Before each line the clock moves to
its time through every deadline in between, each processed at its own time.

The simulated device never syncs: every record stays in its outbox, so a message
requested by a journey is still pending when its instance ends, and is cancelled then.

Exit status: 0 done (rejected lines included), 1 invalid artifact or unreadable file,
2 usage error.
`;

/**
 * A problem that ends the command: `status` is the exit code, `json` the form
 * printed on stdout with --json, `toStdout` when the message is the command's
 * result (validate's report) rather than a failure to run it.
 */
class CliError extends Error {
  constructor(message, status, { json, toStdout = false } = {}) {
    super(message);
    this.status = status;
    this.json = json;
    this.toStdout = toStdout;
  }
}

const usageError = (problem) => new CliError(`rekindle: ${problem}\n\n${USAGE}`, 2);

// ---------------------------------------------------------------------------
// Times: the engine's ISO 8601 parser (core/common/time.cc), so the virtual
// clock reads a timestamp exactly as the engine will.

function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;

/** Milliseconds since the epoch for an ISO 8601 date-time with offset, or null. */
export function parseIso(text) {
  if (typeof text !== 'string') return null;
  const m = ISO_RE.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const millis = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  let offset = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return null;
    offset = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (month < 1 || month > 12 || day < 1 || day > monthDays[month - 1] || hour > 23 || minute > 59 || second > 59) {
    return null;
  }
  const secs = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset * 60;
  return secs * 1000 + millis;
}

const iso = (ms) => new Date(ms).toISOString();
const NOT_ISO = 'is not an ISO 8601 date-time with offset (e.g. 2026-12-04T15:53:00Z)';

// ---------------------------------------------------------------------------
// Happenings: what the timeline shows, one object each; the --json output
// prints them as they are, the text output through formatHappening().

/**
 * The happenings in an engine result: its transitions and (when the engine
 * returns them) its effects, in time order. `at` stands in for an item without
 * a time of its own.
 */
export function happeningsOf(result, at) {
  const list = [];
  const effects = Array.isArray(result?.effects) ? result.effects : [];
  // The engine's effects hold the transitions too (segment.realized, segment.exited), in
  // the order things happened (a purchase: the journey's effects, then the exit); a result
  // without effects lists its transitions alone.
  const transitionEffects = effects.some((e) => typeof e?.type === 'string' && e.type.startsWith('segment.'));
  if (!transitionEffects) for (const t of result?.transitions ?? []) list.push({ at: t.at, kind: t.status, segment: t.segment });
  for (const effect of effects) {
    const own = effect !== null && typeof effect === 'object' && typeof effect.at === 'string' ? effect.at : null;
    if (effect?.type === 'segment.realized' || effect?.type === 'segment.exited') {
      list.push({ at: own ?? at, kind: effect.type.slice('segment.'.length), segment: effect.segment });
    } else {
      list.push({ at: own ?? at, kind: 'effect', effect });
    }
  }
  // Stable: items at the same time keep the engine's order.
  const time = (h) => parseIso(h.at) ?? Number.POSITIVE_INFINITY;
  return list.map((h, i) => [h, i]).sort((a, b) => time(a[0]) - time(b[0]) || a[1] - b[1]).map(([h]) => h);
}

const LABELS = { attributes: 'profile' };

// The start of a text line: the time, then a word naming what happened, in a
// column of its own (a longer word pushes the rest of its line one place on).
const head = (at, word) => `${at}  ${word.padEnd(9)} `;

// Ids are 16 hex digits: the first 8 tell instances and dispatches apart in a timeline.
const short = (id) => (id.length > 8 ? `${id.slice(0, 8)}…` : id);

function genericEffect(effect) {
  if (effect === null || typeof effect !== 'object' || Array.isArray(effect)) return JSON.stringify(effect);
  const { type, at, ...rest } = effect;
  const name = typeof type === 'string' && type ? type : '(untyped)';
  return Object.keys(rest).length === 0 ? name : `${name}  ${JSON.stringify(rest)}`;
}

const known = (value) => (typeof value === 'string' && value !== '' ? value : null);

/**
 * The effects the text timeline knows, by type: the fields they need (an
 * effect without one is printed as it is), and their [word, details].
 * `dispatches` maps the ids of the dispatches requested so far to their
 * requests, to name what a cancellation cancels.
 */
const EFFECT_TEXT = {
  'journey.entered': [['journey', 'instance'], (e) => {
    const arm = known(e.arm) ? `, arm ${e.arm}` : '';
    return ['entered', `${e.journey}  (instance ${short(e.instance)}${arm})`];
  }],
  'journey.step': [['journey', 'step'], (e) => ['step', `${e.journey}: ${e.step}`]],
  'offer.show': [['placement', 'offer'], (e) => {
    const title = known(e.content?.title);
    return ['show', `${e.placement} <- ${e.offer}${title ? `  ${JSON.stringify(title)}` : ''}`];
  }],
  'offer.withdraw': [['placement', 'offer'], (e) => ['withdraw', `${e.placement} -x ${e.offer}`]],
  'dispatch.request': [['channel', 'template', 'dispatch'], (e) => {
    const due = known(e.due) && e.due !== e.at ? `, due ${e.due}` : '';
    return ['dispatch', `${e.channel} ${e.template}  (id ${short(e.dispatch)}${due})`];
  }],
  'dispatch.cancelled': [['dispatch'], (e, { dispatches }) => {
    const request = dispatches?.get(e.dispatch);
    const what = request ? `${request.channel} ${request.template}` : 'dispatch';
    return ['cancelled', `${what}  (id ${short(e.dispatch)})`];
  }],
  'action.suppressed': [['channel', 'reason'], (e) => {
    const step = known(e.step) && e.step !== e.channel ? `  (step ${e.step})` : '';
    return ['suppressed', `${e.channel}: ${e.reason}${step}`];
  }],
  'journey.exited': [['journey', 'reason'], (e) => ['exited', `${e.journey}  (${e.reason})`]],
  'journey.converted': [['journey'], (e) => {
    const parts = ['arm', 'step', 'offer'].filter((k) => known(e[k])).map((k) => `${k} ${e[k]}`);
    return ['converted', parts.length === 0 ? e.journey : `${e.journey}  ${parts.join(', ')}`];
  }],
  'consent.changed': [['purpose', 'from', 'to'], (e) => ['consent', `${e.purpose} ${e.from} -> ${e.to}`]],
};

/** [word, details] of an effect; null when the text timeline leaves it out. */
function describeEffect(effect, { verbose = false, dispatches } = {}) {
  const entry = effect !== null && typeof effect === 'object' ? EFFECT_TEXT[effect.type] : undefined;
  if (entry === undefined || !entry[0].every((key) => known(effect[key]))) return ['effect', genericEffect(effect)];
  if (effect.type === 'journey.step' && !verbose) return null;
  return entry[1](effect, { dispatches });
}

/**
 * The text lines of one happening (a rejected line gives one per error, a
 * journey step none unless `verbose`). `dispatches`: see EFFECT_TEXT.
 */
export function formatHappening(h, { verbose = false, dispatches } = {}) {
  const start = head(h.at, LABELS[h.kind] ?? h.kind);
  switch (h.kind) {
    case 'event': {
      const notes = [h.eventId];
      if (h.duplicate) notes.push('duplicate');
      if (h.late) notes.push(`late: stamped ${h.timestamp}`);
      return [`${start}${h.eventType}  (${notes.join(', ')})`];
    }
    case 'rejected':
      return h.errors.map((e) => `${start}line ${h.line}: ${e.path}: ${e.reason}`);
    case 'attributes':
      return [`${start}${JSON.stringify(h.attributes)}`];
    case 'consent':
      return [`${start}${JSON.stringify(h.consent)}`];
    case 'effect': {
      const text = describeEffect(h.effect, { verbose, dispatches });
      return text === null ? [] : [`${head(h.at, text[0])}${text[1]}`];
    }
    case 'stopped':
      return [`${start}after ${h.deadlines} deadlines; the next one is at ${h.nextDeadline}`];
    default:
      return [`${start}${h.segment ?? ''}`];
  }
}

// ---------------------------------------------------------------------------
// Files

function describeIoError(err) {
  switch (err.code) {
    case 'ENOENT': return 'no such file';
    case 'EISDIR': return 'is a directory';
    case 'EACCES': case 'EPERM': return 'permission denied';
    default: return err.message;
  }
}

/** The text of a file ('-': standard input), without a leading byte order mark. */
function readText(file, json) {
  let text;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    const reason = `cannot read ${file === '-' ? 'standard input' : file}: ${describeIoError(err)}`;
    throw new CliError(`${file}: cannot read: ${describeIoError(err)}`, 1,
      { json: json ? { ok: false, errors: [{ path: '$', reason }] } : undefined });
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function tryParse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * An invalid artifact as CliError: every error on its own line, then the
 * count. validate reports it on stdout; for simulate it is a failure (stderr).
 */
function artifactError(file, errors, { json = false, toStdout = false } = {}) {
  const lines = errors.map((e) => `${file}: ${e.path}: ${e.reason}`);
  lines.push(`${file}: invalid, ${plural(errors.length, 'error')}`);
  return new CliError(lines.join('\n'), 1, { json: json ? { ok: false, errors } : undefined, toStdout });
}

// ---------------------------------------------------------------------------
// Commands

async function validate(file, { json }, out) {
  const text = readText(file, json);
  const rk = await createEngine({ now: () => 0 });
  try {
    const loaded = rk.loadArtifact(text);
    if (!loaded.ok) throw artifactError(file, loaded.errors, { json, toStdout: true });
    if (json) {
      out(JSON.stringify({ ok: true, errors: [] }));
    } else {
      const artifact = tryParse(text);
      const segments = Array.isArray(artifact?.segments) ? artifact.segments.length : 0;
      out(`${file}: valid (version ${artifact?.version ?? '?'}, ${plural(segments, 'segment')})`);
    }
  } finally {
    rk.destroy();
  }
  return 0;
}

// The lines that set something on the profile rather than record an event,
// by their key (checked in this order): the engine call, and how the line
// names the time it is given.
const SETTERS = {
  attributes: { call: (rk, body) => rk.setAttributes(body), article: 'an', time: 'the time the attributes are set' },
  consent: { call: (rk, body) => rk.setConsent(body), article: 'a', time: 'the time of the decision' },
};

const keyPath = (key) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `$.${key}` : `$[${JSON.stringify(key)}]`);

// One line of the events file, read: what to do with it and when.
function classify(text) {
  const value = tryParse(text);
  const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
  const kind = isObject ? Object.keys(SETTERS).find((key) => key in value) : undefined;
  if (kind === undefined) {
    // An event, or something the engine will refuse with its own message.
    const at = value !== null && typeof value === 'object' ? parseIso(value.timestamp) : null;
    return { kind: 'event', text, at, eventType: value?.eventType };
  }
  const { article, time } = SETTERS[kind];
  const errors = [];
  for (const key of Object.keys(value)) {
    if (key !== kind && key !== 'at') {
      errors.push({ path: keyPath(key), reason: `is not a key of ${article} ${kind} line (${kind}, at)` });
    }
  }
  const body = value[kind];
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    errors.push({ path: `$.${kind}`, reason: `must be an object, not ${body === null ? 'null' : Array.isArray(body) ? 'array' : typeof body}` });
  }
  const at = parseIso(value.at);
  if (!('at' in value)) errors.push({ path: '$.at', reason: `is required: ${time}` });
  else if (at === null) errors.push({ path: '$.at', reason: NOT_ISO });
  return { kind, body, at, errors };
}

// The effects the summary counts, by type: the name of their counter.
const COUNTED = {
  'journey.entered': 'entered',
  'journey.converted': 'converted',
  'journey.exited': 'exited',
  'dispatch.request': 'requested',
  'dispatch.cancelled': 'cancelled',
  'action.suppressed': 'suppressed',
};

async function simulate(artifactFile, eventsFile, { json, until, profile = DEFAULT_PROFILE, verbose = false }, out) {
  const untilMs = until === undefined ? undefined : parseIso(until);
  if (untilMs === null) throw usageError(`--until "${until}" ${NOT_ISO}`);
  const artifactText = readText(artifactFile, json);
  const eventsText = readText(eventsFile, json);

  const lines = [];
  for (const [i, raw] of eventsText.split('\n').entries()) {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const trimmed = text.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    lines.push({ number: i + 1, ...classify(text) });
  }

  // The virtual clock starts at the first line's time, so that what the
  // artifact makes true at load is stamped with a time of the stream.
  const first = lines.find((l) => l.at !== null)?.at ?? null;
  let clock = first ?? untilMs ?? Date.now();
  const rk = await createEngine({ now: () => clock, deviceId: profile });
  let rejected = 0;
  let deadlines = 0;
  const counts = Object.fromEntries(Object.values(COUNTED).map((name) => [name, 0]));
  const dispatches = new Map();

  const emit = (h) => {
    if (h.kind === 'effect') {
      const counter = COUNTED[h.effect?.type];
      if (counter !== undefined) counts[counter]++;
      if (h.effect?.type === 'dispatch.request') dispatches.set(h.effect.dispatch, h.effect);
    }
    if (json) out(JSON.stringify(h));
    else for (const line of formatHappening(h, { verbose, dispatches })) out(line);
  };
  const emitResult = (result) => { for (const h of happeningsOf(result, iso(clock))) emit(h); };
  const reject = (line, errors) => {
    rejected++;
    emit({ at: iso(clock), kind: 'rejected', line: line.number, errors });
  };

  // Walks the clock through every deadline up to `target`, each processed at
  // its own time. False when the guard stopped the walk.
  const advanceTo = (target) => {
    for (let n = 0; ; n++) {
      const next = rk.nextDeadline();
      if (next === null || next > target) return true;
      if (n === DEADLINE_GUARD) {
        emit({ at: iso(clock), kind: 'stopped', deadlines: n, nextDeadline: iso(next) });
        return false;
      }
      clock = Math.max(clock, next);
      deadlines++;
      emitResult(rk.advance(next));
    }
  };

  try {
    const loaded = rk.loadArtifact(artifactText);
    if (!loaded.ok) throw artifactError(artifactFile, loaded.errors, { json });
    emitResult(loaded);

    for (const line of lines) {
      if (line.at !== null) {
        advanceTo(line.at);
        clock = Math.max(clock, line.at);
      }
      if (line.kind !== 'event') {
        if (line.errors.length > 0) {
          reject(line, line.errors);
          continue;
        }
        const result = SETTERS[line.kind].call(rk, line.body);
        if (!result.ok) {
          reject(line, result.errors.map((e) => ({ path: e.path.replace(/^\$/, `$.${line.kind}`), reason: e.reason })));
          continue;
        }
        emit({ at: iso(clock), kind: line.kind, line: line.number, [line.kind]: line.body });
        emitResult(result);
        continue;
      }
      const result = rk.trackJson(line.text);
      if (!result.ok) {
        reject(line, result.errors);
        continue;
      }
      emit({
        at: iso(clock), kind: 'event', line: line.number, eventId: result.eventId, eventType: line.eventType,
        timestamp: line.at === null ? null : iso(line.at), duplicate: result.duplicate, late: result.late,
      });
      emitResult(result);
    }

    // Without --until: 30 days past the latest time of the stream (none: no time passes).
    const end = untilMs ?? (first === null ? clock : clock + DEFAULT_HORIZON_MS);
    if (advanceTo(end) && end > clock) {
      clock = end;
      emitResult(rk.advance(end));
    }

    const stats = rk.stats();
    const members = rk.segments().map((m) => ({ segment: m.segment, since: m.since }));
    if (json) {
      out(JSON.stringify({
        at: iso(clock), kind: 'summary', profile, accepted: stats.accepted, duplicates: stats.duplicates, rejected, deadlines,
        journeys: { entered: counts.entered, converted: counts.converted, exited: counts.exited },
        dispatches: { requested: counts.requested, cancelled: counts.cancelled },
        suppressed: counts.suppressed, outbox: stats.outbox, members,
      }));
    } else {
      out(`summary (profile ${profile}): ${plural(stats.accepted, 'event')} accepted, ` +
        `${plural(stats.duplicates, 'duplicate')}, ${rejected} rejected; clock at ${iso(clock)}`);
      out(`journeys: ${counts.entered} entered, ${counts.converted} converted, ${counts.exited} exited; ` +
        `dispatches: ${counts.requested} requested, ${counts.cancelled} cancelled; ` +
        `${plural(counts.suppressed, 'action')} suppressed; ${plural(stats.outbox, 'record')} in the outbox`);
      out(`members: ${members.length === 0 ? 'none' : members.map((m) => `${m.segment} (since ${m.since})`).join(', ')}`);
    }
  } finally {
    rk.destroy();
  }
  return 0;
}

const readPackage = () => JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

async function printVersion(out) {
  const pkg = readPackage();
  const rk = await createEngine();
  out(`rekindle ${pkg.version} (engine ${rk.version})`);
  rk.destroy();
  return 0;
}

// ---------------------------------------------------------------------------

/** Runs the command line `argv`; resolves to the exit status. */
// ---------------------------------------------------------------------------
// serve: the reference server's own packages (fastify, better-sqlite3, …) are
// optional peer dependencies, which npm does not install with rekindle: a
// website needs only the engine and the page runtime. serve checks they are
// there before it loads server/, and otherwise names the command that adds them.

/** Whether `name` resolves from this package, as server/ imports it. */
function resolves(name) {
  try {
    if (typeof import.meta.resolve === 'function') import.meta.resolve(name);
    else createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** The server's dependencies (package.json peerDependencies) that do not resolve. */
export function missingServerDependencies(found = resolves) {
  return Object.keys(readPackage().peerDependencies ?? {}).filter((name) => !found(name));
}

/**
 * The error serve ends with when `missing` packages are not installed: exit 2,
 * with the `npm install` command that adds them at the versions the repo tests
 * with (devDependencies), or else the accepted range (peerDependencies).
 */
export function serverDependenciesError(missing) {
  const pkg = readPackage();
  const specs = missing.map((name) => `${name}@${pkg.devDependencies?.[name] ?? pkg.peerDependencies[name]}`);
  return new CliError(`rekindle: serve needs the reference server's packages, which rekindle lists as optional peer
dependencies and npm does not install with it. Missing: ${missing.join(', ')}.
Install them in the project that depends on rekindle, then run rekindle serve again:

  npm install ${specs.join(' ')}
`, 2);
}

// ---------------------------------------------------------------------------
// import: sends a JSONL file to POST /v1/admin/import in chunks of whole lines,
// with a progress bar on a terminal, and reports rejected lines by number.

const IMPORT_CHUNK_BYTES = 1024 * 1024;

/** What an import stopped before line `next` (1-based) had sent. */
function importedSoFar(next) {
  if (next <= 1) return 'no line was imported';
  return next === 2 ? 'line 1 was imported' : `lines 1-${next - 1} were imported`;
}

export async function importFile(file, { server, token, site, json }, out, err) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`rekindle: cannot read ${file}: ${describeIoError(e)}`, 1);
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const total = { lines: 0, accepted: 0, duplicates: 0, rejected: [] };
  const bar = process.stderr.isTTY && !json
    ? new (await import('cli-progress')).default.SingleBar({ format: 'import [{bar}] {percentage}% | {value}/{total} lines | {accepted} accepted, {rejected} rejected', hideCursor: true },
      (await import('cli-progress')).default.Presets.shades_classic)
    : null;
  bar?.start(lines.length, 0, { accepted: 0, rejected: 0 });
  let start = 0;
  while (start < lines.length) {
    let end = start;
    let bytes = 0;
    while (end < lines.length && (end === start || bytes + lines[end].length + 1 <= IMPORT_CHUNK_BYTES)) bytes += lines[end++].length + 1;
    // Relative to the base URL, path included (https://shop.example/rekindle -> …/rekindle/v1/admin/import).
    const url = new URL('v1/admin/import', server.endsWith('/') ? server : `${server}/`);
    url.searchParams.set('firstLine', String(start + 1));
    if (site) url.searchParams.set('site', site);
    let res;
    try {
      res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' }, body: lines.slice(start, end).join('\n') });
    } catch (e) {
      bar?.stop();
      throw new CliError(`rekindle: cannot reach ${server}: ${e.cause?.message ?? e.message} (${importedSoFar(start + 1)})`, 1);
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      bar?.stop();
      throw new CliError(`rekindle: the server refused lines ${start + 1}-${end}: ${res.status} ${body.error ?? ''} (${importedSoFar(start + 1)})`, 1);
    }
    total.lines += body.lines;
    total.accepted += body.accepted;
    total.duplicates += body.duplicates;
    total.rejected.push(...body.rejected);
    start = end;
    bar?.update(start, { accepted: total.accepted, rejected: total.rejected.length });
  }
  bar?.stop();
  if (json) out(JSON.stringify(total));
  else {
    out(`${file}: ${total.lines} lines, ${total.accepted} accepted, ${total.duplicates} duplicates, ${total.rejected.length} rejected`);
    for (const r of total.rejected) err(`${file}:${r.line}: ${r.reason}`);
  }
  return total.rejected.length > 0 ? 1 : 0;
}

export async function main(argv, out = (line) => process.stdout.write(`${line}\n`), err = (text) => process.stderr.write(`${text}\n`)) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        until: { type: 'string' },
        profile: { type: 'string' },
        verbose: { type: 'boolean' },
        config: { type: 'string' },
        server: { type: 'string' },
        token: { type: 'string' },
        site: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (e) {
    err(`rekindle: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...files] = positionals;
  try {
    if (values.help) {
      out(USAGE);
      return 0;
    }
    if (values.version) return await printVersion(out);
    if (command === undefined) throw usageError('a command is required');
    if (command === 'validate') {
      if (files.length !== 1) throw usageError('validate takes one ARTIFACT.json');
      for (const option of ['until', 'profile', 'verbose']) {
        if (values[option] !== undefined) throw usageError(`--${option} applies to simulate only`);
      }
      return await validate(files[0], values, out);
    }
    if (command === 'simulate') {
      if (files.length !== 2) throw usageError('simulate takes ARTIFACT.json and EVENTS.jsonl');
      if (values.profile === '') throw usageError('--profile needs a non-empty profile id');
      return await simulate(files[0], files[1], values, out);
    }
    if (command === 'serve') {
      if (files.length !== 0) throw usageError('serve takes no file; use --config FILE');
      const missing = missingServerDependencies();
      if (missing.length > 0) throw serverDependenciesError(missing);
      const { serve } = await import('../server/serve.js');
      try {
        await serve({ configFile: values.config ?? null, print: out });
      } catch (e) {
        throw new CliError(`rekindle: ${e.message}`, 1);
      }
      return null; // keeps running until a signal
    }
    if (command === 'import') {
      if (files.length !== 1) throw usageError('import takes one FILE.jsonl');
      if (!values.server) throw usageError('import needs --server URL');
      if (!URL.canParse(values.server) || !/^https?:$/.test(new URL(values.server).protocol)) {
        throw usageError(`--server "${values.server}" is not an http(s) URL, e.g. http://127.0.0.1:8080 or https://shop.example/rekindle`);
      }
      const token = values.token ?? process.env.REKINDLE_ADMIN_TOKEN;
      if (!token) throw usageError('import needs --token TOKEN or REKINDLE_ADMIN_TOKEN');
      return await importFile(files[0], { server: values.server, token, site: values.site, json: values.json }, out, err);
    }
    throw usageError(`unknown command "${command}"`);
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    if (e.json && values.json) out(JSON.stringify(e.json));
    else if (e.toStdout) out(e.message);
    else err(e.message);
    return e.status;
  }
}

// Run when executed (directly or through an npm bin link), not when imported.
const invoked = (() => {
  try {
    return realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
})();

if (invoked) {
  process.stdout.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  main(process.argv.slice(2)).then(
    (status) => { if (status !== null) process.exitCode = status; },
    (e) => {
      process.stderr.write(`rekindle: internal error: ${e?.stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
