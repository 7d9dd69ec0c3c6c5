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
import { createRekindle } from 'rekindle';
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

// What the engine itself says, so that reasons are compared exactly.
async function engineErrors(call) {
  const rk = await createRekindle({ now: () => Date.parse('2026-01-01T00:00:00Z') });
  try {
    return call(rk).errors;
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
    assert.equal(r.stdout, [
      ...FIXTURE_TIMELINE,
      REJECTED_LINE_9,
      // Last clock 10:45 (line 9 has no usable time) + 30 days: the lapsed deadline of 10:40 is inside.
      '2026-01-31T10:40:00.000Z  realized  lapsed',
      'summary: 3 events accepted, 1 duplicate, 1 rejected; clock at 2026-01-31T10:45:00.000Z',
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
      { at: '2026-01-31T10:45:00.000Z', kind: 'summary', accepted: 3, duplicates: 1, rejected: 1, deadlines: 2,
        members: [{ segment: 'lapsed', since: '2026-01-31T10:40:00.000Z' }] },
    ]);
    const times = got.map((h) => Date.parse(h.at));
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'in time order');
  });

  test('simulate --until: deadlines up to and including that time, not one millisecond past', async () => {
    const before = await run(['simulate', ARTIFACT, EVENTS, '--until', '2026-01-31T10:39:59.999Z']);
    assert.equal(before.code, 0);
    assert.equal(before.stdout, [
      ...FIXTURE_TIMELINE,
      REJECTED_LINE_9,
      'summary: 3 events accepted, 1 duplicate, 1 rejected; clock at 2026-01-31T10:39:59.999Z',
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
    assert.equal(r.stdout, [
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
      'summary: 3 events accepted, 0 duplicates, 6 rejected; clock at 2026-01-02T00:00:00.000Z',
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
    const missing = await run(['simulate', ARTIFACT, `${F}/missing.jsonl`, '--json']);
    assert.deepEqual(missing, { code: 1, stdout: '', stderr: `${F}/missing.jsonl: cannot read: no such file\n` });
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
});
