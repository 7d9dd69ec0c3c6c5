// The rekindle command (bin/rekindle.js), spawned as users run it: validate
// and simulate over the fixtures of tests/fixtures/cli/, exit codes, and the
// exact timeline and JSON lines it prints.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine } from 'rekindle';
import { happeningsOf, formatHappening } from '../../bin/rekindle.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'rekindle.js');
const F = 'tests/fixtures/cli';
const ARTIFACT = `${F}/artifact.json`;
const INVALID = `${F}/invalid-artifact.json`;
const NOT_JSON = `${F}/not-json.json`;
const EVENTS = `${F}/events.jsonl`;

const tmp = mkdtempSync(join(tmpdir(), 'rekindle-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the command from the repository root; resolves to { code, stdout, stderr }. */
function run(args, { input, bin = BIN } = {}) {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, ...args], { cwd: ROOT, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

const lines = (text) => text.split('\n').filter((l) => l !== '');

// The outbox count of a text summary depends on the engine's records; the
// journey tests check it against the engine itself.
const someOutbox = (text) => text.replace(/; \d+ records? in the outbox$/m, '; N records in the outbox');
const NO_JOURNEYS = 'journeys: 0 entered, 0 converted, 0 exited; dispatches: 0 requested, 0 cancelled; ' +
  '0 actions suppressed; N records in the outbox';

// What the engine itself says, so that reasons are compared exactly.
async function engineErrors(call) {
  const rk = await createEngine({ now: () => Date.parse('2026-01-01T00:00:00Z') });
  try {
    return call(rk).errors;
  } finally {
    rk.destroy();
  }
}

// ---------------------------------------------------------------------------
// The journey of examples/abandoned-cart.json, through the command: the
// tests/fixtures/cli/cart*.events.jsonl streams all add to cart at ADD.

const EXAMPLE = 'examples/abandoned-cart.json';
const EXAMPLE_TEXT = readFileSync(join(ROOT, EXAMPLE), 'utf8');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const ADD = Date.parse('2026-12-04T10:00:00Z');
const ENTRY = ADD + 30 * MIN; // abandoned-cart: no purchase for 30 minutes
const t = (ms) => new Date(ms).toISOString();
const UNTIL = t(ADD + 10 * DAY);

/** The arm of a profile in the example's split, from the engine itself: a treatment instance shows the tile at entry. */
async function armOf(profile) {
  let clock = ADD;
  const rk = await createEngine({ now: () => clock, deviceId: profile });
  try {
    assert.ok(rk.loadArtifact(EXAMPLE_TEXT).ok);
    rk.track({ _id: 'add-1', eventType: 'commerce.productListAdds', timestamp: t(ADD) });
    clock = ENTRY;
    const { effects } = rk.advance(ENTRY);
    assert.ok(effects.some((e) => e.type === 'journey.entered'), `${profile} enters`);
    return effects.some((e) => e.type === 'offer.show') ? 'treatment' : 'holdout';
  } finally {
    rk.destroy();
  }
}

/** The first treatment-arm and the first holdout-arm profile among visitor-0..visitor-50. */
async function findArms() {
  const found = {};
  for (let i = 0; i <= 50 && !(found.treatment && found.holdout); i++) found[await armOf(`visitor-${i}`)] ??= `visitor-${i}`;
  assert.ok(found.treatment && found.holdout, `arms among visitor-0..50: ${JSON.stringify(found)}`);
  return found;
}
// Runs while the first commands are spawned.
const armsReady = findArms();

// FNV-1a 64 over the parts joined by U+001F: the engine's ids (docs/journeys.md#deterministic-ids).
function H(...parts) {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(parts.join('\u001f'))) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

const pick = (list, ...keys) => list.map((e) => Object.fromEntries(keys.map((k) => [k, e[k]])));

const simulations = new Map();
/**
 * `simulate --json` of the example artifact over tests/fixtures/cli/EVENTS,
 * once per argument list: its happenings, its effects (`of(type)`: those of a
 * type) and its summary.
 */
function simulateJson(events, ...options) {
  const args = ['simulate', EXAMPLE, `${F}/${events}`, '--json', ...options];
  const key = JSON.stringify(args);
  if (!simulations.has(key)) {
    simulations.set(key, run(args).then((r) => {
      assert.equal(r.stderr, '');
      assert.equal(r.code, 0);
      const happenings = lines(r.stdout).map((l) => JSON.parse(l));
      const effects = happenings.filter((h) => h.kind === 'effect').map((h) => h.effect);
      return { stdout: r.stdout, happenings, effects, of: (type) => effects.filter((e) => e.type === type), summary: happenings.at(-1) };
    }));
  }
  return simulations.get(key);
}

/** stats().outbox after the same stream straight through the engine, without the command. */
async function engineOutbox(events, profile, until) {
  const stream = lines(readFileSync(join(ROOT, F, events), 'utf8')).filter((l) => !l.startsWith('#')).map((l) => JSON.parse(l));
  let clock = Date.parse(stream[0].at ?? stream[0].timestamp);
  const rk = await createEngine({ now: () => clock, deviceId: profile });
  try {
    rk.loadArtifact(EXAMPLE_TEXT);
    for (const line of stream) {
      clock = Date.parse(line.at ?? line.timestamp);
      rk.advance(clock);
      if (line.attributes) rk.setAttributes(line.attributes);
      else if (line.consent) rk.setConsent(line.consent);
      else rk.track(line);
    }
    clock = Date.parse(until);
    rk.advance(clock);
    return rk.stats().outbox;
  } finally {
    rk.destroy();
  }
}

// The tests spawn processes and mostly wait: they run concurrently.
describe('rekindle command', { concurrency: true }, () => {
  // ---------------------------------------------------------------------------
  // validate

  test('validate: a valid artifact names its version and segment count, exit 0', async () => {
    const r = await run(['validate', ARTIFACT]);
    assert.deepEqual(r, { code: 0, stdout: `${ARTIFACT}: valid (version 2026-01-01.1, 3 segments)\n`, stderr: '' });
    const j = await run(['validate', '--json', ARTIFACT]);
    assert.deepEqual(j, { code: 0, stdout: '{"ok":true,"errors":[]}\n', stderr: '' });
  });

  test('validate: an invalid artifact prints every error with its path, then the count, exit 1', async () => {
    const errors = await engineErrors((rk) => rk.loadArtifact(readFileSync(join(ROOT, INVALID), 'utf8')));
    assert.deepEqual(errors.map((e) => e.path),
      ['$.segments[0].rule.op', '$.segments[1].rule.count.within', '$.segments[2].rule.and[0].segment']);
    const r = await run(['validate', INVALID]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, '');
    assert.deepEqual(lines(r.stdout), [...errors.map((e) => `${INVALID}: ${e.path}: ${e.reason}`), `${INVALID}: invalid, 3 errors`]);
    assert.match(r.stdout, /: \$\.segments\[0\]\.rule\.op: unknown operator 'bigger'/);
    assert.match(r.stdout, /: \$\.segments\[1\]\.rule\.count\.within: '7days' is not a duration/);
    assert.match(r.stdout, /: \$\.segments\[2\]\.rule\.and\[0\]\.segment: .*'abandoned-kart'/);

    const j = await run(['validate', INVALID, '--json']);
    assert.equal(j.code, 1);
    assert.equal(lines(j.stdout).length, 1);
    assert.deepEqual(JSON.parse(j.stdout), { ok: false, errors });
  });

  test('validate: text that is not JSON is one error at $ naming line and column, exit 1', async () => {
    const r = await run(['validate', NOT_JSON]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, '');
    const out = lines(r.stdout);
    assert.equal(out.length, 2);
    assert.match(out[0], /^tests\/fixtures\/cli\/not-json\.json: \$: artifact is not valid JSON: parse error at line 4, column 1\b/);
    assert.equal(out[1], `${NOT_JSON}: invalid, 1 error`);
  });

  test('validate: a missing file or a directory is a one-line message naming it, exit 1, no stack trace', async () => {
    const missing = await run(['validate', `${F}/missing.json`]);
    assert.deepEqual(missing, { code: 1, stdout: '', stderr: `${F}/missing.json: cannot read: no such file\n` });
    const dir = await run(['validate', F]);
    assert.deepEqual(dir, { code: 1, stdout: '', stderr: `${F}: cannot read: is a directory\n` });
    const j = await run(['validate', '--json', `${F}/missing.json`]);
    assert.equal(j.code, 1);
    assert.deepEqual(JSON.parse(j.stdout), { ok: false, errors: [{ path: '$', reason: `cannot read ${F}/missing.json: no such file` }] });
  });

  // ---------------------------------------------------------------------------
  // simulate

  const FIXTURE_TIMELINE = [
    '2026-01-01T09:00:00.000Z  profile   {"tier":"gold"}',
    '2026-01-01T10:00:00.000Z  event     commerce.productListAdds  (e1)',
    // The deadline between e1 and e2, processed at its own time before e2.
    '2026-01-01T10:30:00.000Z  realized  abandoned-cart',
    '2026-01-01T10:30:00.000Z  realized  gold-abandoned-cart',
    '2026-01-01T10:40:00.000Z  event     web.webpagedetails.pageViews  (e2)',
    '2026-01-01T10:40:00.000Z  event     commerce.productListAdds  (e1, duplicate)',
    '2026-01-01T10:45:00.000Z  event     commerce.purchases  (e3)',
    '2026-01-01T10:45:00.000Z  exited    abandoned-cart',
    '2026-01-01T10:45:00.000Z  exited    gold-abandoned-cart',
  ];
  const REJECTED_LINE_9 = '2026-01-01T10:45:00.000Z  rejected  line 9: $.timestamp: is not an ISO 8601 date-time with offset (e.g. 2026-12-04T15:53:00Z)';

  test('simulate: the timeline of the fixture, deadlines at their own time, default horizon of 30 days', async () => {
    const r = await run(['simulate', ARTIFACT, EVENTS]);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(someOutbox(r.stdout), [
      ...FIXTURE_TIMELINE,
      REJECTED_LINE_9,
      // Last clock 10:45 (line 9 has no usable time) + 30 days: the lapsed deadline of 10:40 is inside.
      '2026-01-31T10:40:00.000Z  realized  lapsed',
      'summary (profile visitor-1): 3 events accepted, 1 duplicate, 1 rejected; clock at 2026-01-31T10:45:00.000Z',
      NO_JOURNEYS,
      'members: lapsed (since 2026-01-31T10:40:00.000Z)',
      '',
    ].join('\n'));
  });

  test('simulate --json: one JSON object per line, in time order', async () => {
    const r = await run(['simulate', '--json', ARTIFACT, EVENTS]);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    const got = lines(r.stdout).map((l) => JSON.parse(l));
    const event = (at, line, eventId, eventType, timestamp, duplicate = false) =>
      ({ at, kind: 'event', line, eventId, eventType, timestamp, duplicate, late: false });
    assert.deepEqual(got, [
      { at: '2026-01-01T09:00:00.000Z', kind: 'attributes', line: 2, attributes: { tier: 'gold' } },
      event('2026-01-01T10:00:00.000Z', 3, 'e1', 'commerce.productListAdds', '2026-01-01T10:00:00.000Z'),
      { at: '2026-01-01T10:30:00.000Z', kind: 'realized', segment: 'abandoned-cart' },
      { at: '2026-01-01T10:30:00.000Z', kind: 'realized', segment: 'gold-abandoned-cart' },
      event('2026-01-01T10:40:00.000Z', 6, 'e2', 'web.webpagedetails.pageViews', '2026-01-01T10:40:00.000Z'),
      event('2026-01-01T10:40:00.000Z', 7, 'e1', 'commerce.productListAdds', '2026-01-01T10:00:00.000Z', true),
      event('2026-01-01T10:45:00.000Z', 8, 'e3', 'commerce.purchases', '2026-01-01T10:45:00.000Z'),
      { at: '2026-01-01T10:45:00.000Z', kind: 'exited', segment: 'abandoned-cart' },
      { at: '2026-01-01T10:45:00.000Z', kind: 'exited', segment: 'gold-abandoned-cart' },
      { at: '2026-01-01T10:45:00.000Z', kind: 'rejected', line: 9, errors: [
        { path: '$.timestamp', reason: 'is not an ISO 8601 date-time with offset (e.g. 2026-12-04T15:53:00Z)' }] },
      { at: '2026-01-31T10:40:00.000Z', kind: 'realized', segment: 'lapsed' },
      { at: '2026-01-31T10:45:00.000Z', kind: 'summary', profile: 'visitor-1', accepted: 3, duplicates: 1, rejected: 1,
        deadlines: 2, journeys: { entered: 0, converted: 0, exited: 0 }, dispatches: { requested: 0, cancelled: 0 },
        suppressed: 0, outbox: got.at(-1).outbox, members: [{ segment: 'lapsed', since: '2026-01-31T10:40:00.000Z' }] },
    ]);
    assert.ok(Number.isInteger(got.at(-1).outbox) && got.at(-1).outbox > 0, `outbox ${got.at(-1).outbox}`);
    const times = got.map((h) => Date.parse(h.at));
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'in time order');
  });

  test('simulate --until: deadlines up to and including that time, not one millisecond past', async () => {
    const before = await run(['simulate', ARTIFACT, EVENTS, '--until', '2026-01-31T10:39:59.999Z']);
    assert.equal(before.code, 0);
    assert.equal(someOutbox(before.stdout), [
      ...FIXTURE_TIMELINE,
      REJECTED_LINE_9,
      'summary (profile visitor-1): 3 events accepted, 1 duplicate, 1 rejected; clock at 2026-01-31T10:39:59.999Z',
      NO_JOURNEYS,
      'members: none',
      '',
    ].join('\n'));
    const at = await run(['simulate', ARTIFACT, EVENTS, '--until', '2026-01-31T11:40:00+01:00', '--json']);
    const got = lines(at.stdout).map((l) => JSON.parse(l));
    assert.deepEqual(got.at(-2), { at: '2026-01-31T10:40:00.000Z', kind: 'realized', segment: 'lapsed' });
    assert.equal(got.at(-1).at, '2026-01-31T10:40:00.000Z');
    assert.deepEqual(got.at(-1).members, [{ segment: 'lapsed', since: '2026-01-31T10:40:00.000Z' }]);
  });

  test('simulate: a deadline at the ms of an event falls due first; late events, bad lines, CRLF, stdin', async () => {
    const events = [
      '{"_id":"a1","eventType":"commerce.productListAdds","timestamp":"2026-01-01T10:00:00Z"}',
      'not json',
      '   # an indented comment',
      '{"attributes":{"tier":"gold"},"at":"2026-01-01T11:10:00+01:00"}',
      '{"attributes":{"tier":"gold"},"at":"2026-01-01T10:10:00Z","extra":1}',
      '{"attributes":[1],"at":"2026-01-01T10:10:00Z"}',
      '{"attributes":{"bad key":1},"at":"2026-01-01T10:10:00Z"}',
      '{"attributes":{"tier":"silver"}}',
      '{"_id":"v0","eventType":"web.webpagedetails.pageViews","timestamp":"2026-01-01T10:05:00Z"}',
      '{"_id":"p1","eventType":"commerce.purchases","timestamp":"2026-01-01T10:30:00Z","productListItems":[{"SKU":7}]}',
      '{"_id":"p1","eventType":"commerce.purchases","timestamp":"2026-01-01T10:30:00Z"}',
      '',
    ].join('\r\n');
    const notJson = await engineErrors((rk) => rk.trackJson('not json'));
    const badKey = await engineErrors((rk) => rk.setAttributes({ 'bad key': 1 }));
    const badSku = await engineErrors((rk) => rk.trackJson(
      '{"_id":"p1","eventType":"commerce.purchases","timestamp":"2026-01-01T00:00:00Z","productListItems":[{"SKU":7}]}'));
    assert.equal(notJson.length, 1);
    assert.equal(badKey.length, 1);
    assert.deepEqual(badSku.map((e) => e.path), ['$.productListItems[0].SKU']);

    const r = await run(['simulate', ARTIFACT, '-', '--until', '2026-01-02T00:00:00Z'], { input: events });
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(someOutbox(r.stdout), [
      '2026-01-01T10:00:00.000Z  event     commerce.productListAdds  (a1)',
      `2026-01-01T10:00:00.000Z  rejected  line 2: $: ${notJson[0].reason}`,
      '2026-01-01T10:10:00.000Z  profile   {"tier":"gold"}',
      '2026-01-01T10:10:00.000Z  rejected  line 5: $.extra: is not a key of an attributes line (attributes, at)',
      '2026-01-01T10:10:00.000Z  rejected  line 6: $.attributes: must be an object, not array',
      `2026-01-01T10:10:00.000Z  rejected  line 7: $.attributes["bad key"]: ${badKey[0].reason}`,
      '2026-01-01T10:10:00.000Z  rejected  line 8: $.at: is required: the time the attributes are set',
      '2026-01-01T10:10:00.000Z  event     web.webpagedetails.pageViews  (v0, late: stamped 2026-01-01T10:05:00.000Z)',
      // The purchase line with a bad SKU is refused, but the clock still moved to its time first.
      '2026-01-01T10:30:00.000Z  realized  abandoned-cart',
      '2026-01-01T10:30:00.000Z  realized  gold-abandoned-cart',
      `2026-01-01T10:30:00.000Z  rejected  line 10: $.productListItems[0].SKU: ${badSku[0].reason}`,
      '2026-01-01T10:30:00.000Z  event     commerce.purchases  (p1)',
      '2026-01-01T10:30:00.000Z  exited    abandoned-cart',
      '2026-01-01T10:30:00.000Z  exited    gold-abandoned-cart',
      'summary (profile visitor-1): 3 events accepted, 0 duplicates, 6 rejected; clock at 2026-01-02T00:00:00.000Z',
      NO_JOURNEYS,
      'members: none',
      '',
    ].join('\n'));
  });

  test('simulate: an invalid artifact or an unreadable events file stops before any output, exit 1', async () => {
    const bad = await run(['simulate', INVALID, EVENTS]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, '');
    const errs = lines(bad.stderr);
    assert.equal(errs.length, 4);
    assert.ok(errs[0].startsWith(`${INVALID}: $.segments[0].rule.op: `));
    assert.equal(errs[3], `${INVALID}: invalid, 3 errors`);
    const missing = await run(['simulate', ARTIFACT, `${F}/missing.jsonl`]);
    assert.deepEqual(missing, { code: 1, stdout: '', stderr: `${F}/missing.jsonl: cannot read: no such file\n` });
    // With --json the failure is JSON on stdout, as validate --json gives it.
    const missingJson = await run(['simulate', ARTIFACT, `${F}/missing.jsonl`, '--json']);
    assert.equal(missingJson.code, 1);
    assert.deepEqual(JSON.parse(missingJson.stdout), { ok: false, errors: [{ path: '$', reason: `cannot read ${F}/missing.jsonl: no such file` }] });
    const badJson = await run(['simulate', INVALID, EVENTS, '--json']);
    assert.equal(badJson.code, 1);
    const parsed = JSON.parse(badJson.stdout);
    assert.equal(parsed.ok, false);
    assert.equal(parsed.errors.length, 3);
    assert.ok(parsed.errors[0].path.startsWith('$.segments[0].rule.op'));
    const notJson = await run(['simulate', NOT_JSON, EVENTS]);
    assert.equal(notJson.code, 1);
    assert.match(notJson.stderr, /not-json\.json: \$: artifact is not valid JSON/);
  });

  test('simulate: the walk stops after 10000 deadlines and says so', async () => {
    const artifact = join(tmp, 'count.json');
    writeFileSync(artifact, JSON.stringify({ version: 'guard', limits: { historyEvents: 20000 }, segments: [
      { id: 'viewer', rule: { count: { event: { type: 'commerce.productViews' }, within: '1d' }, op: 'gte', value: 1 } }] }));
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const events = Array.from({ length: 10_002 }, (_, i) =>
      JSON.stringify({ _id: `v${i}`, eventType: 'commerce.productViews', timestamp: new Date(t0 + i * 1000).toISOString() }));
    const file = join(tmp, 'views.jsonl');
    writeFileSync(file, events.join('\n'));
    const r = await run(['simulate', '--json', artifact, file]);
    assert.equal(r.code, 0);
    const got = lines(r.stdout).map((l) => JSON.parse(l));
    // Each view leaves the 1-day window at its own deadline: 10002 of them after the last line.
    assert.deepEqual(got.at(-2), { at: '2026-01-02T02:46:39.001Z', kind: 'stopped', deadlines: 10000,
      nextDeadline: '2026-01-02T02:46:40.001Z' });
    assert.equal(got.at(-1).kind, 'summary');
    assert.equal(got.at(-1).accepted, 10_002);
    assert.deepEqual(got.at(-1).members.map((m) => m.segment), ['viewer']);
  });

  // ---------------------------------------------------------------------------
  // usage

  const USAGE_HEAD = 'Usage: rekindle <command> [options]';

  test('--help and --version print on stdout, exit 0', async () => {
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.ok(help.stdout.startsWith(USAGE_HEAD), help.stdout);
    assert.match(help.stdout, /validate ARTIFACT\.json/);
    assert.match(help.stdout, /simulate ARTIFACT\.json EVENTS\.jsonl/);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const version = await run(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, new RegExp(`^rekindle ${pkg.version.replaceAll('.', '\\.')} \\(engine \\d+\\.\\d+\\.\\d+\\)\\n$`));
  });

  test('usage errors print the usage on stderr, exit 2', async () => {
    const cases = [
      [['frobnicate'], 'rekindle: unknown command "frobnicate"'],
      [[], 'rekindle: a command is required'],
      [['validate', '--strict', ARTIFACT], "rekindle: Unknown option '--strict'"],
      [['validate', ARTIFACT, ARTIFACT], 'rekindle: validate takes one ARTIFACT.json'],
      [['validate', ARTIFACT, '--until', '2026-01-01T00:00:00Z'], 'rekindle: --until applies to simulate only'],
      [['validate', ARTIFACT, '--profile', 'p-1'], 'rekindle: --profile applies to simulate only'],
      [['validate', ARTIFACT, '--verbose'], 'rekindle: --verbose applies to simulate only'],
      [['simulate', ARTIFACT, EVENTS, '--profile', ''], 'rekindle: --profile needs a non-empty profile id'],
      [['simulate', ARTIFACT, EVENTS, '--profile'], "rekindle: Option '--profile <value>' argument missing"],
      [['simulate', ARTIFACT], 'rekindle: simulate takes ARTIFACT.json and EVENTS.jsonl'],
      [['simulate', ARTIFACT, EVENTS, '--until', '2026-01-31'], 'rekindle: --until "2026-01-31" is not an ISO 8601 date-time with offset'],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    for (const [i, [args, problem]] of cases.entries()) {
      const r = results[i];
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
      assert.ok(r.stderr.startsWith(problem), `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.includes(USAGE_HEAD), args.join(' '));
    }
  });

  test('runs through a symlink, as an npm bin link does', async () => {
    const link = join(tmp, 'rekindle');
    symlinkSync(BIN, link);
    const r = await run(['validate', ARTIFACT], { bin: link });
    assert.deepEqual(r, { code: 0, stdout: `${ARTIFACT}: valid (version 2026-01-01.1, 3 segments)\n`, stderr: '' });
  });

  // ---------------------------------------------------------------------------
  // effects: not returned by the engine yet; printed generically when they are

  test('effects in a result are printed generically, in time order with transitions', () => {
    const result = {
      transitions: [{ segment: 'abandoned-cart', status: 'realized', at: '2026-01-01T10:30:00.000Z' }],
      effects: [
        { type: 'email.send', at: '2026-01-02T10:30:00.000Z', journey: 'cart-drip', template: 'reminder' },
        { type: 'tile.show', placement: 'home-hero' },
      ],
    };
    const hs = happeningsOf(result, '2026-01-01T10:31:00.000Z');
    assert.deepEqual(hs, [
      { at: '2026-01-01T10:30:00.000Z', kind: 'realized', segment: 'abandoned-cart' },
      { at: '2026-01-01T10:31:00.000Z', kind: 'effect', effect: { type: 'tile.show', placement: 'home-hero' } },
      { at: '2026-01-02T10:30:00.000Z', kind: 'effect', effect: result.effects[0] },
    ]);
    assert.deepEqual(hs.flatMap(formatHappening), [
      '2026-01-01T10:30:00.000Z  realized  abandoned-cart',
      '2026-01-01T10:31:00.000Z  effect    tile.show  {"placement":"home-hero"}',
      '2026-01-02T10:30:00.000Z  effect    email.send  {"journey":"cart-drip","template":"reminder"}',
    ]);
    assert.deepEqual(happeningsOf({ ok: true, errors: [], transitions: [] }, '2026-01-01T00:00:00.000Z'), []);
  });

  test('known effects are printed in words, aligned; journey steps only with verbose', () => {
    const base = { at: '2026-12-04T10:30:00.000Z', journey: 'cart-recovery', instance: '0676371eb6b7c751' };
    const dispatch = { ...base, type: 'dispatch.request', at: '2026-12-05T10:30:00.000Z', dispatch: '2f793f3dbb86fba5',
      channel: 'email', template: 'cart-reminder', step: 'email', due: '2026-12-05T10:30:00.000Z' };
    const dispatches = new Map([[dispatch.dispatch, dispatch]]);
    const text = (effect, options) => formatHappening({ at: effect.at ?? base.at, kind: 'effect', effect }, options);
    const cases = [
      [{ ...base, type: 'journey.entered' }, '2026-12-04T10:30:00.000Z  entered   cart-recovery  (instance 0676371e…)'],
      [{ ...base, type: 'journey.entered', arm: 'treatment' }, '2026-12-04T10:30:00.000Z  entered   cart-recovery  (instance 0676371e…, arm treatment)'],
      [{ ...base, type: 'offer.show', step: 'tile', channel: 'web', placement: 'hero', offer: 'cart-10', proposition: '2ea8bbb0b89274e1',
        content: { title: 'Still thinking it over, "Ada"?', body: '…' } },
      '2026-12-04T10:30:00.000Z  show      hero <- cart-10  "Still thinking it over, \\"Ada\\"?"'],
      [{ ...base, type: 'offer.show', placement: 'hero', offer: 'cart-10' }, '2026-12-04T10:30:00.000Z  show      hero <- cart-10'],
      [dispatch, '2026-12-05T10:30:00.000Z  dispatch  email cart-reminder  (id 2f793f3d…)'],
      [{ ...dispatch, due: '2026-12-05T12:00:00.000Z' }, '2026-12-05T10:30:00.000Z  dispatch  email cart-reminder  (id 2f793f3d…, due 2026-12-05T12:00:00.000Z)'],
      [{ ...base, type: 'action.suppressed', step: 'sms', channel: 'sms', reason: 'consent:marketing.sms:pending' },
        '2026-12-04T10:30:00.000Z  suppressed sms: consent:marketing.sms:pending'],
      [{ ...base, type: 'action.suppressed', step: 'last-call', channel: 'sms', reason: 'cap:sms' },
        '2026-12-04T10:30:00.000Z  suppressed sms: cap:sms  (step last-call)'],
      [{ ...base, type: 'offer.withdraw', placement: 'hero', offer: 'cart-10', proposition: '2ea8bbb0b89274e1' },
        '2026-12-04T10:30:00.000Z  withdraw  hero -x cart-10'],
      [{ ...base, type: 'dispatch.cancelled', dispatch: '2f793f3dbb86fba5' }, '2026-12-04T10:30:00.000Z  cancelled dispatch  (id 2f793f3d…)'],
      [{ ...base, type: 'journey.converted', arm: 'treatment', step: 'email', offer: 'cart-10', proposition: 'p', event: 'e3' },
        '2026-12-04T10:30:00.000Z  converted cart-recovery  arm treatment, step email, offer cart-10'],
      [{ ...base, type: 'journey.converted', arm: 'holdout', step: null, offer: '', proposition: null, event: 'e3' },
        '2026-12-04T10:30:00.000Z  converted cart-recovery  arm holdout'],
      [{ ...base, type: 'journey.converted', arm: null, step: null, offer: null, event: 'e3' }, '2026-12-04T10:30:00.000Z  converted cart-recovery'],
      [{ ...base, type: 'journey.exited', reason: 'maxDuration' }, '2026-12-04T10:30:00.000Z  exited    cart-recovery  (maxDuration)'],
      [{ type: 'consent.changed', at: base.at, purpose: 'marketing.email', from: 'pending', to: 'granted' },
        '2026-12-04T10:30:00.000Z  consent   marketing.email pending -> granted'],
      // Without a field the words need: printed as it is.
      [{ ...base, type: 'offer.withdraw', placement: 'hero' },
        '2026-12-04T10:30:00.000Z  effect    offer.withdraw  {"journey":"cart-recovery","instance":"0676371eb6b7c751","placement":"hero"}'],
    ];
    for (const [effect, line] of cases) assert.deepEqual(text(effect), [line], effect.type);
    // A cancellation names the request it cancels when the timeline saw it.
    assert.deepEqual(text({ ...base, type: 'dispatch.cancelled', dispatch: '2f793f3dbb86fba5' }, { dispatches }),
      ['2026-12-04T10:30:00.000Z  cancelled email cart-reminder  (id 2f793f3d…)']);
    const step = { ...base, type: 'journey.step', step: 'wait-1d' };
    assert.deepEqual(text(step), []);
    assert.deepEqual(text(step, { verbose: true }), ['2026-12-04T10:30:00.000Z  step      cart-recovery: wait-1d']);
    assert.deepEqual(formatHappening({ at: base.at, kind: 'consent', line: 3, consent: { 'marketing.email': 'granted' } }),
      ['2026-12-04T10:30:00.000Z  consent   {"marketing.email":"granted"}']);
  });

  // ---------------------------------------------------------------------------
  // consent lines

  test('simulate: consent lines set the visitor\'s decisions; bad ones are rejected with their paths', async () => {
    const events = [
      '{"consent":{"marketing.email":"granted"},"at":"2026-01-01T10:00:00Z"}',
      '{"consent":{"marketing.email":"granted"},"at":"2026-01-01T10:01:00Z"}',
      '{"consent":{"marketing.fax":"granted"},"at":"2026-01-01T10:02:00Z"}',
      '{"consent":{"marketing.sms":"yes"},"at":"2026-01-01T10:02:00Z"}',
      '{"consent":"granted","at":"2026-01-01T10:02:00Z"}',
      '{"consent":{"analytics":"denied"}}',
      '{"consent":{"analytics":"denied"},"at":"yesterday"}',
      '{"consent":{"analytics":"denied"},"at":"2026-01-01T10:03:00Z","who":"me"}',
      '{"attributes":{"tier":"gold"},"consent":{"analytics":"denied"},"at":"2026-01-01T10:03:00Z"}',
      '{"consent":{"marketing.sms":"granted","marketing.email":"denied"},"at":"2026-01-01T10:04:00Z"}',
    ].join('\n');
    const [fax, yes] = await Promise.all([
      engineErrors((rk) => rk.setConsent({ 'marketing.fax': 'granted' })),
      engineErrors((rk) => rk.setConsent({ 'marketing.sms': 'yes' })),
    ]);
    assert.deepEqual([fax, yes].map((errors) => errors.map((e) => e.path)), [['$["marketing.fax"]'], ['$["marketing.sms"]']]);

    const r = await run(['simulate', ARTIFACT, '-', '--until', '2026-01-01T11:00:00Z'], { input: events });
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.deepEqual(lines(r.stdout).slice(0, -3), [
      '2026-01-01T10:00:00.000Z  consent   {"marketing.email":"granted"}',
      '2026-01-01T10:00:00.000Z  consent   marketing.email pending -> granted',
      // The same decision again changes nothing.
      '2026-01-01T10:01:00.000Z  consent   {"marketing.email":"granted"}',
      `2026-01-01T10:02:00.000Z  rejected  line 3: $.consent["marketing.fax"]: ${fax[0].reason}`,
      `2026-01-01T10:02:00.000Z  rejected  line 4: $.consent["marketing.sms"]: ${yes[0].reason}`,
      '2026-01-01T10:02:00.000Z  rejected  line 5: $.consent: must be an object, not string',
      '2026-01-01T10:02:00.000Z  rejected  line 6: $.at: is required: the time of the decision',
      '2026-01-01T10:02:00.000Z  rejected  line 7: $.at: is not an ISO 8601 date-time with offset (e.g. 2026-12-04T15:53:00Z)',
      '2026-01-01T10:03:00.000Z  rejected  line 8: $.who: is not a key of a consent line (consent, at)',
      '2026-01-01T10:03:00.000Z  rejected  line 9: $.consent: is not a key of an attributes line (attributes, at)',
      '2026-01-01T10:04:00.000Z  consent   {"marketing.sms":"granted","marketing.email":"denied"}',
      '2026-01-01T10:04:00.000Z  consent   marketing.email granted -> denied',
      '2026-01-01T10:04:00.000Z  consent   marketing.sms pending -> granted',
    ]);
    assert.match(r.stdout, /^summary \(profile visitor-1\): 0 events accepted, 0 duplicates, 7 rejected;/m);

    const j = await run(['simulate', '--json', ARTIFACT, '-'], { input: events.split('\n')[0] });
    assert.deepEqual(lines(j.stdout).slice(0, 2).map((l) => JSON.parse(l)), [
      { at: '2026-01-01T10:00:00.000Z', kind: 'consent', line: 1, consent: { 'marketing.email': 'granted' } },
      { at: '2026-01-01T10:00:00.000Z', kind: 'effect', effect: { type: 'consent.changed', at: '2026-01-01T10:00:00.000Z',
        purpose: 'marketing.email', from: 'pending', to: 'granted' } },
    ]);
  });

  // ---------------------------------------------------------------------------
  // the abandoned-cart journey (examples/abandoned-cart.json)

  test('journey: the profiles the examples name are in the arms they say', async () => {
    assert.equal(await armOf('visitor-1'), 'treatment', 'the default profile');
    assert.equal(await armOf('visitor-13'), 'holdout');
  });

  test('journey, treatment, email granted: tile at +30m, email at +1d, SMS suppressed at +3d, end at +7d', async () => {
    const { treatment } = await armsReady;
    const { of, effects, summary } = await simulateJson('cart-email.events.jsonl', '--profile', treatment, '--until', UNTIL);
    const END = ENTRY + 7 * DAY;
    assert.deepEqual(pick(of('consent.changed'), 'at', 'purpose', 'from', 'to'),
      [{ at: '2026-12-04T09:00:00.000Z', purpose: 'marketing.email', from: 'pending', to: 'granted' }]);
    assert.deepEqual(pick(of('journey.entered'), 'at', 'journey'), [{ at: t(ENTRY), journey: 'cart-recovery' }]);
    const [{ instance }] = of('journey.entered');
    assert.deepEqual(pick(of('offer.show'), 'at', 'step', 'channel', 'placement', 'offer'),
      [{ at: t(ENTRY), step: 'tile', channel: 'web', placement: 'hero', offer: 'cart-10' }]);
    const [show] = of('offer.show');
    assert.equal(show.content.title, 'Still thinking it over, Ada?');
    assert.deepEqual(pick(of('dispatch.request'), 'at', 'step', 'channel', 'template', 'due'),
      [{ at: t(ENTRY + DAY), step: 'email', channel: 'email', template: 'cart-reminder', due: t(ENTRY + DAY) }]);
    const [request] = of('dispatch.request');
    assert.deepEqual(pick(of('action.suppressed'), 'at', 'step', 'channel', 'reason'),
      [{ at: t(ENTRY + 3 * DAY), step: 'sms', channel: 'sms', reason: 'consent:marketing.sms:pending' }]);
    assert.deepEqual(pick(of('journey.exited'), 'at', 'reason'), [{ at: t(END), reason: 'maxDuration' }]);
    assert.deepEqual(pick(of('offer.withdraw'), 'at', 'placement', 'offer', 'proposition'),
      [{ at: t(END), placement: 'hero', offer: 'cart-10', proposition: show.proposition }]);
    // The simulated device never syncs: the email request is still pending when the instance ends.
    assert.deepEqual(pick(of('dispatch.cancelled'), 'at', 'dispatch'), [{ at: t(END), dispatch: request.dispatch }]);
    assert.deepEqual(of('journey.converted'), []);
    for (const e of effects.filter((x) => 'journey' in x)) assert.equal(e.instance, instance, e.type);
    assert.deepEqual(effects.filter((e) => Date.parse(e.at) > END), [], 'nothing after the end');

    assert.equal(summary.kind, 'summary');
    assert.equal(summary.profile, treatment);
    assert.deepEqual([summary.journeys, summary.dispatches, summary.suppressed],
      [{ entered: 1, converted: 0, exited: 1 }, { requested: 1, cancelled: 1 }, 1]);
    assert.equal(summary.outbox, await engineOutbox('cart-email.events.jsonl', treatment, UNTIL));
  });

  test('journey, treatment, email and SMS granted: both messages requested, nothing suppressed', async () => {
    const { treatment } = await armsReady;
    const { of } = await simulateJson('cart-email-sms.events.jsonl', '--profile', treatment, '--until', UNTIL);
    const END = ENTRY + 7 * DAY;
    assert.deepEqual(pick(of('offer.show'), 'at', 'placement', 'offer'), [{ at: t(ENTRY), placement: 'hero', offer: 'cart-10' }]);
    assert.deepEqual(pick(of('dispatch.request'), 'at', 'step', 'channel', 'template'), [
      { at: t(ENTRY + DAY), step: 'email', channel: 'email', template: 'cart-reminder' },
      { at: t(ENTRY + 3 * DAY), step: 'sms', channel: 'sms', template: 'cart-last-call' },
    ]);
    assert.deepEqual(of('action.suppressed'), []);
    assert.deepEqual(pick(of('journey.exited'), 'at', 'reason'), [{ at: t(END), reason: 'maxDuration' }]);
    assert.deepEqual(pick(of('offer.withdraw'), 'at', 'offer'), [{ at: t(END), offer: 'cart-10' }]);
    assert.deepEqual(pick(of('dispatch.cancelled'), 'at', 'dispatch'),
      of('dispatch.request').map((r) => ({ at: t(END), dispatch: r.dispatch })));
  });

  test('journey, treatment, consent defaults: the email is suppressed at +1d and the journey goes on to the SMS step', async () => {
    const { treatment } = await armsReady;
    const { of, summary } = await simulateJson('cart.events.jsonl', '--profile', treatment, '--until', UNTIL);
    assert.deepEqual(pick(of('offer.show'), 'at', 'offer'), [{ at: t(ENTRY), offer: 'cart-10' }]);
    assert.deepEqual(pick(of('action.suppressed'), 'at', 'step', 'channel', 'reason'), [
      { at: t(ENTRY + DAY), step: 'email', channel: 'email', reason: 'consent:marketing.email:pending' },
      { at: t(ENTRY + 3 * DAY), step: 'sms', channel: 'sms', reason: 'consent:marketing.sms:pending' },
    ]);
    assert.deepEqual(pick(of('journey.step'), 'at', 'step'), [
      { at: t(ENTRY), step: 'holdout-split' },
      { at: t(ENTRY), step: 'tile' },
      { at: t(ENTRY), step: 'wait-1d' },
      { at: t(ENTRY + DAY), step: 'email' },
      { at: t(ENTRY + DAY), step: 'wait-2d' },
      { at: t(ENTRY + 3 * DAY), step: 'sms' },
    ]);
    assert.deepEqual(of('dispatch.request'), []);
    assert.deepEqual(of('dispatch.cancelled'), []);
    assert.deepEqual(pick(of('journey.exited'), 'at', 'reason'), [{ at: t(ENTRY + 7 * DAY), reason: 'maxDuration' }]);
    assert.deepEqual([summary.dispatches, summary.suppressed], [{ requested: 0, cancelled: 0 }, 2]);
  });

  test('journey, treatment: a purchase at +1d+1h converts, withdraws the tile, cancels the pending email; nothing after', async () => {
    const { treatment } = await armsReady;
    const { of, effects, summary } = await simulateJson('cart-purchase-day1.events.jsonl', '--profile', treatment, '--until', UNTIL);
    const PURCHASE = ADD + DAY + HOUR;
    const [{ instance }] = of('journey.entered');
    const [show] = of('offer.show');
    assert.deepEqual(pick(of('dispatch.request'), 'at', 'channel'), [{ at: t(ENTRY + DAY), channel: 'email' }]);
    const [request] = of('dispatch.request');
    assert.deepEqual(pick(of('offer.withdraw'), 'at', 'placement', 'offer', 'proposition'),
      [{ at: t(PURCHASE), placement: 'hero', offer: 'cart-10', proposition: show.proposition }]);
    assert.deepEqual(pick(of('dispatch.cancelled'), 'at', 'dispatch', 'instance'), [{ at: t(PURCHASE), dispatch: request.dispatch, instance }]);
    assert.deepEqual(pick(of('journey.converted'), 'at', 'instance', 'arm', 'step', 'offer', 'proposition', 'event'), [
      { at: t(PURCHASE), instance, arm: 'treatment', step: 'email', offer: 'cart-10', proposition: show.proposition, event: 'buy-1' },
    ]);
    // No SMS step, no request, no suppression: nothing at all until --until, 10 days after the add to cart.
    assert.deepEqual(effects.filter((e) => Date.parse(e.at) > PURCHASE), []);
    assert.equal(summary.at, UNTIL);
    assert.deepEqual([summary.journeys.entered, summary.journeys.converted, summary.dispatches, summary.suppressed],
      [1, 1, { requested: 1, cancelled: 1 }, 0]);
  });

  test('journey, treatment: a purchase before the email step requests no message at all', async () => {
    const { treatment } = await armsReady;
    const { of, effects } = await simulateJson('cart-purchase-day0.events.jsonl', '--profile', treatment, '--until', UNTIL);
    const PURCHASE = ADD + HOUR;
    assert.deepEqual(pick(of('offer.show'), 'at'), [{ at: t(ENTRY) }]);
    assert.deepEqual(pick(of('journey.converted'), 'at', 'arm', 'step', 'offer', 'event'),
      [{ at: t(PURCHASE), arm: 'treatment', step: 'tile', offer: 'cart-10', event: 'buy-1' }]);
    assert.deepEqual(pick(of('offer.withdraw'), 'at'), [{ at: t(PURCHASE) }]);
    for (const type of ['dispatch.request', 'dispatch.cancelled', 'action.suppressed']) assert.deepEqual(of(type), [], type);
    assert.deepEqual(effects.filter((e) => Date.parse(e.at) > PURCHASE), []);
  });

  test('journey, holdout: entered, then no tile, no message, no suppression; the purchase converts with arm holdout', async () => {
    const { holdout, treatment } = await armsReady;
    const [{ of, effects, summary }, treated] = await Promise.all([
      simulateJson('cart-purchase-day1.events.jsonl', '--profile', holdout, '--until', UNTIL),
      simulateJson('cart-purchase-day1.events.jsonl', '--profile', treatment, '--until', UNTIL),
    ]);
    assert.deepEqual(pick(of('journey.entered'), 'at', 'journey'), [{ at: t(ENTRY), journey: 'cart-recovery' }]);
    const [{ instance }] = of('journey.entered');
    assert.notEqual(instance, treated.of('journey.entered')[0].instance, 'the profile is part of the instance id');
    for (const type of ['offer.show', 'offer.withdraw', 'dispatch.request', 'dispatch.cancelled', 'action.suppressed']) {
      assert.deepEqual(of(type), [], type);
    }
    assert.deepEqual(pick(of('journey.converted'), 'at', 'instance', 'arm', 'event'),
      [{ at: t(ADD + DAY + HOUR), instance, arm: 'holdout', event: 'buy-1' }]);
    // No step acted: nothing to attribute the conversion to (null in docs/journeys.md, "" from the engine).
    const [converted] = of('journey.converted');
    assert.ok(!converted.step && !converted.offer && !converted.proposition, JSON.stringify(converted));
    assert.deepEqual(effects.filter((e) => Date.parse(e.at) > ADD + DAY + HOUR), []);
    assert.deepEqual([summary.profile, summary.journeys.converted, summary.dispatches, summary.suppressed],
      [holdout, 1, { requested: 0, cancelled: 0 }, 0]);
  });

  test('journey re-entry: not within the 1-day cooldown after a conversion; after it, a new instance', async () => {
    const { treatment } = await armsReady;
    const { of, happenings } = await simulateJson('cart-reentry.events.jsonl', '--profile', treatment, '--until', UNTIL);
    const realized = happenings.filter((h) => h.kind === 'realized' && h.segment === 'abandoned-cart').map((h) => h.at);
    // Abandoned at 10:30; after the purchase at 11:00 (end of the instance), again at day 1 09:30
    // (cooldown until day 1 11:00) and, after the add to cart at 11:00, at 11:30.
    assert.deepEqual(realized, [t(ENTRY), '2026-12-05T09:30:00.000Z', '2026-12-05T11:30:00.000Z']);
    const entered = of('journey.entered');
    assert.deepEqual(entered.map((e) => e.at), [t(ENTRY), '2026-12-05T11:30:00.000Z']);
    assert.notEqual(entered[0].instance, entered[1].instance);
    assert.deepEqual(pick(of('journey.converted'), 'at', 'instance'), [{ at: t(ADD + HOUR), instance: entered[0].instance }]);
    assert.deepEqual(pick(of('offer.show'), 'at', 'instance'), entered.map((e) => ({ at: e.at, instance: e.instance })));
  });

  test('journey determinism: the same simulate twice gives the same output and the same ids, the documented hashes', async () => {
    const { treatment } = await armsReady;
    const [one, two] = await Promise.all([
      simulateJson('cart-email.events.jsonl', '--profile', treatment, '--until', UNTIL),
      // Not the cached run of that command: a second process. (The exact text timelines of the
      // tests below hold ids computed here, so they are the same on every run too.)
      run(['simulate', EXAMPLE, `${F}/cart-email.events.jsonl`, '--json', '--until', UNTIL, '--profile', treatment]),
    ]);
    assert.equal(two.stdout, one.stdout);
    const ids = (happenings) => happenings.filter((h) => h.effect?.type === 'dispatch.request').map((h) => h.effect.dispatch);
    assert.equal(ids(one.happenings).length, 1);
    assert.deepEqual(ids(lines(two.stdout).map((l) => JSON.parse(l))), ids(one.happenings));

    const instance = H(treatment, 'cart-recovery', String(ENTRY));
    assert.equal(one.of('journey.entered')[0].instance, instance);
    assert.deepEqual(ids(one.happenings), [H(instance, 'email', 'dispatch')]);
    assert.equal(one.of('offer.show')[0].proposition, H(instance, 'tile', 'proposition'));
  });

  test('journey timeline in text: one aligned line per effect, steps with --verbose', async () => {
    const { treatment } = await armsReady;
    const args = ['simulate', EXAMPLE, `${F}/cart-purchase-day1.events.jsonl`, '--profile', treatment, '--until', UNTIL];
    const [plain, verbose, outbox] = await Promise.all([
      run(args), run([...args, '--verbose']), engineOutbox('cart-purchase-day1.events.jsonl', treatment, UNTIL)]);
    assert.equal(plain.stderr, '');
    const instance = H(treatment, 'cart-recovery', String(ENTRY));
    const dispatch = H(instance, 'email', 'dispatch');
    assert.equal(plain.stdout, [
      '2026-12-04T09:00:00.000Z  profile   {"firstName":"Ada"}',
      '2026-12-04T09:00:00.000Z  consent   {"marketing.email":"granted"}',
      '2026-12-04T09:00:00.000Z  consent   marketing.email pending -> granted',
      '2026-12-04T10:00:00.000Z  event     commerce.productListAdds  (add-1)',
      '2026-12-04T10:30:00.000Z  realized  abandoned-cart',
      `2026-12-04T10:30:00.000Z  entered   cart-recovery  (instance ${instance.slice(0, 8)}…)`,
      '2026-12-04T10:30:00.000Z  show      hero <- cart-10  "Still thinking it over, Ada?"',
      `2026-12-05T10:30:00.000Z  dispatch  email cart-reminder  (id ${dispatch.slice(0, 8)}…)`,
      '2026-12-05T11:00:00.000Z  event     commerce.purchases  (buy-1)',
      // The engine's order (docs/journeys.md): the journey's effects, then the segment exit.
      '2026-12-05T11:00:00.000Z  withdraw  hero -x cart-10',
      `2026-12-05T11:00:00.000Z  cancelled email cart-reminder  (id ${dispatch.slice(0, 8)}…)`,
      '2026-12-05T11:00:00.000Z  converted cart-recovery  arm treatment, step email, offer cart-10',
      '2026-12-05T11:00:00.000Z  exited    abandoned-cart',
      `summary (profile ${treatment}): 2 events accepted, 0 duplicates, 0 rejected; clock at ${UNTIL}`,
      `journeys: 1 entered, 1 converted, 0 exited; dispatches: 1 requested, 1 cancelled; 0 actions suppressed; ${outbox} records in the outbox`,
      'members: none',
      '',
    ].join('\n'));
    const isStep = (l) => / {2}step {6}cart-recovery: /.test(l);
    assert.deepEqual(lines(verbose.stdout).filter((l) => !isStep(l)), lines(plain.stdout));
    assert.deepEqual(lines(verbose.stdout).filter(isStep).map((l) => l.replace(/ {2}step {6}cart-recovery: /, ' ')), [
      '2026-12-04T10:30:00.000Z holdout-split',
      '2026-12-04T10:30:00.000Z tile',
      '2026-12-04T10:30:00.000Z wait-1d',
      '2026-12-05T10:30:00.000Z email',
      '2026-12-05T10:30:00.000Z wait-2d',
    ]);
  });

  test('examples/README.md shows the real timeline of abandoned-cart.events.jsonl', async () => {
    const command = 'rekindle simulate examples/abandoned-cart.json examples/abandoned-cart.events.jsonl';
    const readme = readFileSync(join(ROOT, 'examples', 'README.md'), 'utf8');
    const shown = readme.split(`${command}\n\`\`\`\n\n\`\`\`text\n`)[1]?.split('```')[0];
    assert.ok(shown, 'the README shows the command and its output');
    const r = await run(command.split(' ').slice(1));
    assert.equal(r.code, 0);
    assert.equal(r.stdout, shown);
    // Ada agreed to emails: the email is requested.
    assert.match(r.stdout, /^2026-12-05T10:30:00\.000Z {2}dispatch {2}email cart-reminder /m);
  });
});
