// The page transport (web/page/transport.js) in headless Chromium against a
// real recording server on another origin (so CORS and the preflight are
// exercised), with the engine's own outbox as the source. Every test proves
// that what the engine queued reaches the server exactly once, whatever the
// server does in between. A few fast Node tests with a scripted fetch cover
// the edges that are awkward to provoke from a browser.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRecordingServer } from './recording-server.js';
import { launchChromium } from './browser.js';
import { Transport, parseRetryAfter } from '../../web/page/transport.js';

const WRITE_KEY = 'site-key-e2e';
const DEVICE = 'dev-e2e';

const sorted = (a) => [...a].sort();

describe('transport in Chromium', () => {
  let pages;    // serves the test page and the module (one origin)
  let browser;

  before(async () => {
    pages = await startRecordingServer();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await pages?.close();
  });

  // A fresh collector (another origin) and page per test. Console errors fail
  // the test, except the "Failed to load resource" lines Chromium prints for
  // collect requests a test made fail on purpose.
  async function open(t, { server = {}, options = {}, fixedRandom, expectFailures = false } = {}) {
    const collector = await startRecordingServer({ writeKey: WRITE_KEY, ...server });
    const page = await browser.newPage();
    const problems = [];
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const url = msg.location()?.url ?? '';
      if (expectFailures && /^Failed to load resource/.test(msg.text()) && url.startsWith(`${collector.origin}/v1/collect`)) return;
      problems.push(`console.error: ${msg.text()} (${url})`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    t.after(async () => {
      await page.close();
      await collector.close();
    });
    await page.goto(`${pages.origin}/pages/transport.html`);
    await page.waitForSelector('body[data-ready="1"]');
    await page.evaluate((args) => window.harness.setup(args), {
      endpoint: collector.origin,
      deviceId: DEVICE,
      fixedRandom,
      options: { writeKey: WRITE_KEY, intervalMs: 20, timeoutMs: 1000, backoffBaseMs: 50, backoffMaxMs: 200, ...options },
    });
    const h = (fn, arg) => page.evaluate(fn, arg);
    // Waits for the server's condition; on a timeout, says where the page was.
    const until = async (predicate, timeoutMs = 4000) => {
      try {
        await collector.waitFor(predicate, timeoutMs);
      } catch (err) {
        const where = await h(() => ({ ...window.harness.status(), states: window.harness.states, errors: window.harness.errors }));
        const seen = collector.requests.map((r) => `${r.method} ${r.path} ${r.json?.records?.length ?? ''}:${r.status ?? 'open'}`);
        throw new Error(`${err.message}\npage: ${JSON.stringify(where)}\nserver saw: ${seen.join(', ')}`);
      }
    };
    return { collector, page, problems, h, until };
  }

  function assertExactlyOnce(collector, ids) {
    const stored = collector.stored().map((r) => r.id);
    assert.equal(new Set(stored).size, stored.length, 'the store holds each id once');
    assert.deepEqual(sorted(stored), sorted(ids), 'every tracked record is stored');
  }

  test('every record arrives exactly once, in batches of at most 50 records and 64 KiB, oldest first', async (t) => {
    const { collector, problems, h, until } = await open(t);
    const ids = await h(() => window.harness.track(120, { schedule: false }));
    const result = await h(() => window.harness.flush());
    assert.equal(ids.length, 120);
    assert.deepEqual(result, { sent: 120, acked: 120, dropped: 0, retryAt: null });
    assertExactlyOnce(collector, ids);
    assert.deepEqual(collector.stored().map((r) => r.id), ids, 'stored in the order tracked');
    for (const [id, n] of collector.receivedCounts()) assert.equal(n, 1, `${id} sent once`);

    const posts = collector.collects();
    assert.deepEqual(posts.map((p) => p.json.records.length), [50, 50, 20]);
    for (const p of posts) {
      assert.ok(p.size <= 65536);
      assert.match(p.headers['content-type'], /^application\/json/);
      assert.equal(p.headers['x-rekindle-key'], WRITE_KEY);
      assert.equal(p.headers.cookie, undefined);
      assert.equal(p.json.deviceId, DEVICE);
      assert.ok(!Number.isNaN(Date.parse(p.json.sentAt)));
      for (const r of p.json.records) assert.deepEqual(Object.keys(r).sort(), ['at', 'body', 'id', 'kind', 'purpose']);
    }
    // The cross-origin preflight asked for the write key header and got it.
    const preflight = collector.requests.find((r) => r.method === 'OPTIONS');
    assert.ok(preflight, 'a CORS preflight was made');
    assert.match(preflight.headers['access-control-request-headers'], /x-rekindle-key/);

    assert.equal(await h(() => window.harness.outbox()), 0);
    assert.deepEqual(await h(() => window.harness.flush()), { sent: 0, acked: 0, dropped: 0, retryAt: null });
    assert.equal(collector.collects().length, 3, 'an empty outbox sends nothing');
    assert.deepEqual(await h(() => window.harness.errors), []);
    assert.deepEqual(problems, []);
  });

  test('request bodies stay within maxBytes: large records go in smaller batches', async (t) => {
    const { collector, problems, h, until } = await open(t);
    const ids = await h(() => window.harness.track(40, { pad: 3000, schedule: false }));
    const result = await h(() => window.harness.flush());
    assert.equal(result.acked, 40);
    const posts = collector.collects();
    assert.ok(posts.length >= 2);
    for (const p of posts) assert.ok(p.size <= 65536, `a body of ${p.size} bytes`);
    assertExactlyOnce(collector, ids);
    assert.deepEqual(problems, []);
  });

  test('schedule() coalesces: ten changes, one request', async (t) => {
    const { collector, problems, h, until } = await open(t, { options: { intervalMs: 100 } });
    const ids = await h(() => window.harness.track(10));
    await until(() => collector.stored().length === ids.length);
    assert.equal(collector.collects().length, 1);
    assertExactlyOnce(collector, ids);
    await assertIdle(h);
    assert.deepEqual(problems, []);
  });

  async function assertIdle(h) {
    // The ack happens right after the response: wait for the drain to settle.
    for (let i = 0; i < 50; i++) {
      const s = await h(() => window.harness.status());
      if (s.state === 'idle' && s.outbox === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(await h(() => window.harness.status()), { state: 'idle', outbox: 0 });
  }

  test('500 twice, then recovery: backoff, and every record exactly once', async (t) => {
    const { collector, problems, h, until } = await open(t, { expectFailures: true });
    collector.fail(2, 500);
    const ids = await h(() => window.harness.track(30));
    await until(() => collector.stored().length === ids.length, 4000);
    await assertIdle(h);
    assertExactlyOnce(collector, ids);
    const posts = collector.collects();
    assert.equal(posts.length, 3);
    for (const p of posts) assert.deepEqual(p.json.records.map((r) => r.id), ids, 'the same batch each time');
    const errors = await h(() => window.harness.errors);
    assert.deepEqual(errors.map((e) => [e.kind, e.status, e.ids]), [['http', 500, undefined], ['http', 500, undefined]]);
    const states = await h(() => window.harness.states);
    assert.ok(states.includes('backoff'), `states: ${states.join(' ')}`);
    assert.deepEqual(problems, []);
  });

  test('429 with Retry-After: 1 is honoured: the retry comes at least 1 s later', async (t) => {
    const { collector, problems, h, until } = await open(t, { expectFailures: true });
    collector.fail(1, 429, { 'retry-after': '1' });
    const ids = await h(() => window.harness.track(5, { schedule: false }));
    const before = Date.now();
    const result = await h(() => window.harness.flush());
    assert.equal(result.acked, 0);
    assert.ok(result.retryAt >= before + 1000, `retryAt ${result.retryAt - before} ms after`);
    // flush() during the wait sends nothing and says when the retry is.
    const again = await h(() => window.harness.flush());
    assert.equal(again.sent, 0);
    assert.equal(again.retryAt, result.retryAt);
    await until(() => collector.stored().length === ids.length, 4000);
    const posts = collector.collects();
    assert.equal(posts.length, 2);
    assert.ok(posts[1].at - posts[0].at >= 1000, `retried after ${posts[1].at - posts[0].at} ms`);
    assertExactlyOnce(collector, ids);
    await assertIdle(h);
    assert.deepEqual((await h(() => window.harness.errors)).map((e) => e.status), [429]);
    assert.deepEqual(problems, []);
  });

  test('a server that never answers: the request is aborted after timeoutMs and retried, nothing lost', async (t) => {
    const { collector, problems, h, until } = await open(t, { expectFailures: true, options: { timeoutMs: 300 } });
    collector.hang(1);
    const ids = await h(() => window.harness.track(10, { schedule: false }));
    const started = Date.now();
    const result = await h(() => window.harness.flush());
    const waited = Date.now() - started;
    assert.ok(waited >= 290 && waited < 2000, `flush settled after ${waited} ms`);
    assert.equal(result.acked, 0);
    assert.notEqual(result.retryAt, null);
    const errors = await h(() => window.harness.errors);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].kind, 'network');
    assert.match(errors[0].reason, /no answer within 300 ms/);
    await until(() => collector.stored().length === ids.length, 4000);
    assert.equal(collector.collects().length, 2);
    assertExactlyOnce(collector, ids);
    await assertIdle(h);
    assert.deepEqual(problems, []);
  });

  test('a response lost on the way back: the resend comes back as duplicates and nothing is stored twice', async (t) => {
    const { collector, problems, h, until } = await open(t, { expectFailures: true, options: { timeoutMs: 300 } });
    collector.hang(1, { store: true });
    const ids = await h(() => window.harness.track(10, { schedule: false }));
    await h(() => window.harness.flush());
    assert.equal(collector.stored().length, ids.length, 'stored, but the answer never came');
    assert.equal(await h(() => window.harness.outbox()), ids.length, 'unacknowledged records stay in the outbox');
    await until(() => collector.collects().length === 2, 4000);
    await assertIdle(h);
    assertExactlyOnce(collector, ids);
    for (const id of ids) assert.equal(collector.receivedCounts().get(id), 2);
    assert.deepEqual(problems, []);
  });

  test('413: the batch is split in halves until it fits, and later batches stay at the size that fit', async (t) => {
    const { collector, problems, h, until } = await open(t, { expectFailures: true, server: { maxRecords: 8 } });
    const ids = await h(() => window.harness.track(30, { schedule: false }));
    const result = await h(() => window.harness.flush());
    assert.deepEqual(result, { sent: 75, acked: 30, dropped: 0, retryAt: null });
    assertExactlyOnce(collector, ids);
    assert.deepEqual(collector.collects().map((p) => `${p.json.records.length}:${p.status}`),
      ['30:413', '15:413', '8:200', '7:200', '8:200', '7:200']);
    assert.deepEqual(await h(() => window.harness.errors), []);
    assert.equal(await h(() => window.harness.outbox()), 0);
    assert.deepEqual(problems, []);
  });

  test('413 for a record too large on its own: it is isolated, dropped and reported; the others arrive', async (t) => {
    const { collector, problems, h, until } = await open(t, { expectFailures: true, server: { maxBytes: 10000 } });
    const ids = await h(() => window.harness.track(6, { schedule: false }));
    const big = (await h(() => window.harness.track(1, { pad: 15000, schedule: false })))[0];
    const more = await h(() => window.harness.track(3, { schedule: false }));
    const result = await h(() => window.harness.flush());
    assert.equal(result.acked, 9);
    assert.equal(result.dropped, 1);
    assert.equal(result.retryAt, null);
    assertExactlyOnce(collector, [...ids, ...more]);
    for (const p of collector.collects()) {
      assert.equal(p.status, p.json.records.some((r) => r.id === big) ? 413 : 200);
    }
    const errors = await h(() => window.harness.errors);
    assert.deepEqual(errors.map((e) => [e.kind, e.status, e.ids]), [['http', 413, [big]]]);
    assert.match(errors[0].reason, /too large/);
    assert.equal(await h(() => window.harness.outbox()), 0);
    assert.deepEqual(problems, []);
  });

  test('400 naming one record drops only that one, reports it, and stores the rest', async (t) => {
    const { collector, problems, h, until } = await open(t, { expectFailures: true });
    const ids = await h(() => window.harness.track(10, { schedule: false }));
    collector.reject(ids[3], 'productListItems[0].SKU is unknown');
    const result = await h(() => window.harness.flush());
    assert.deepEqual(result, { sent: 19, acked: 9, dropped: 1, retryAt: null });
    assertExactlyOnce(collector, ids.filter((id) => id !== ids[3]));
    const errors = await h(() => window.harness.errors);
    assert.deepEqual(errors.map(({ t: _t, ...e }) => e),
      [{ kind: 'rejected', status: 400, ids: [ids[3]], reason: 'productListItems[0].SKU is unknown' }]);
    assert.deepEqual(collector.collects().map((p) => p.json.records.length), [10, 9]);
    assert.equal(await h(() => window.harness.outbox()), 0);
    assert.deepEqual(problems, []);
  });

  test('200 with a rejected id: the others are acknowledged, the rejected one dropped and reported', async (t) => {
    const { collector, problems, h, until } = await open(t);
    const ids = await h(() => window.harness.track(6, { schedule: false }));
    collector.reject(ids[5], 'kind not allowed for this site', 200);
    const result = await h(() => window.harness.flush());
    assert.deepEqual(result, { sent: 6, acked: 5, dropped: 1, retryAt: null });
    assertExactlyOnce(collector, ids.slice(0, 5));
    const errors = await h(() => window.harness.errors);
    assert.deepEqual(errors.map((e) => [e.kind, e.ids, e.reason]), [['rejected', [ids[5]], 'kind not allowed for this site']]);
    assert.equal(await h(() => window.harness.outbox()), 0);
    assert.deepEqual(problems, []);
  });

  test('a 4xx that names nothing: halves isolate the bad record, which alone is dropped', async (t) => {
    const { collector, problems, h, until } = await open(t, { expectFailures: true });
    const ids = await h(() => window.harness.track(16, { schedule: false }));
    collector.poison(ids[6], 422);
    const result = await h(() => window.harness.flush());
    assert.equal(result.acked, 15);
    assert.equal(result.dropped, 1);
    assertExactlyOnce(collector, ids.filter((id) => id !== ids[6]));
    const errors = await h(() => window.harness.errors);
    assert.deepEqual(errors.map((e) => [e.kind, e.status, e.ids]), [['http', 422, [ids[6]]]]);
    // 16 -> 8 -> 4 -> 2 -> 1: log2(16) + 1 failing requests.
    assert.equal(collector.collects().filter((p) => p.json.records.some((r) => r.id === ids[6])).length, 5);
    assert.deepEqual(problems, []);
  });

  test('offline: nothing is lost while the server is down, and online() drains at once when it is back', async (t) => {
    // A long backoff (random fixed near 1): only online() can explain a quick drain.
    const { collector, problems, h, until } = await open(t, {
      expectFailures: true, fixedRandom: 0.99, options: { backoffBaseMs: 30000, backoffMaxMs: 60000 },
    });
    await collector.down();
    const first = await h(() => window.harness.track(10, { schedule: false }));
    const result = await h(() => window.harness.flush());
    assert.equal(result.acked, 0);
    assert.ok(result.retryAt > Date.now() + 20000, 'a long backoff');
    const second = await h(() => window.harness.track(5));
    assert.equal((await h(() => window.harness.status())).state, 'backoff');
    assert.equal(await h(() => window.harness.outbox()), first.length + second.length);
    const errors = await h(() => window.harness.errors);
    assert.deepEqual(errors.map((e) => e.kind), ['network']);

    await collector.up();
    await h(() => window.harness.online());
    await until(() => collector.stored().length === first.length + second.length, 3000);
    assertExactlyOnce(collector, [...first, ...second]);
    await assertIdle(h);
    assert.equal((await h(() => window.harness.status())).attempt, 0);
    assert.deepEqual(problems, []);
  });

  test('beacon(): fire and forget, records stay until a later acknowledged send', async (t) => {
    const { collector, problems, h, until } = await open(t);
    const ids = await h(() => window.harness.track(5, { schedule: false }));
    assert.equal(await h(() => window.harness.beacon()), true);
    await until(() => collector.stored().length === ids.length);
    const beacon = collector.collects()[0];
    assert.match(beacon.headers['content-type'], /^text\/plain/);
    assert.equal(new URL(beacon.url, collector.origin).searchParams.get('key'), WRITE_KEY);
    assert.equal(await h(() => window.harness.outbox()), ids.length, 'not acknowledged');

    const result = await h(() => window.harness.flush());
    assert.equal(result.acked, 5, 'acknowledged as duplicates');
    assertExactlyOnce(collector, ids);
    for (const id of ids) assert.equal(collector.receivedCounts().get(id), 2);
    assert.equal(await h(() => window.harness.outbox()), 0);
    assert.deepEqual(problems, []);
  });

  test('pagehide: the beacon leaves while the page unloads', async (t) => {
    const { collector, problems, page, h, until } = await open(t);
    const ids = await h(() => {
      window.harness.beaconOnPagehide = true;
      return window.harness.track(3, { schedule: false });
    });
    await page.goto('about:blank');
    await until(() => collector.stored().length === ids.length);
    assertExactlyOnce(collector, ids);
    assert.deepEqual(problems, []);
  });

  test('the artifact endpoint answers 200 with an ETag, then 304 for If-None-Match', async (t) => {
    const { collector, problems, h, until } = await open(t);
    const etag = collector.setArtifact({ version: '2026-12-04.1', segments: [] });
    const out = await h(async (endpoint) => {
      const a = await fetch(`${endpoint}/v1/artifact`);
      const etag = a.headers.get('etag');
      const body = await a.json();
      const b = await fetch(`${endpoint}/v1/artifact`, { headers: { 'if-none-match': etag }, cache: 'no-store' });
      return { status: a.status, etag, version: body.version, second: b.status };
    }, collector.origin);
    assert.deepEqual(out, { status: 200, etag, version: '2026-12-04.1', second: 304 });
    assert.deepEqual(problems, []);
  });
});

// --- Node: a scripted fetch for the edges ---

/** An outbox like the engine's: oldest first, body bytes counted, ack removes. */
function memorySource(n, { stubborn = false } = {}) {
  let records = Array.from({ length: n }, (_, i) => ({ id: `r${i}`, kind: 'event', at: 1000 + i, purpose: '', body: { i } }));
  return {
    pending(maxRecords, maxBytes) {
      const out = [];
      let bytes = 0;
      for (const r of records) {
        const b = JSON.stringify(r.body).length;
        if (out.length >= maxRecords || (out.length > 0 && bytes + b > maxBytes)) break;
        out.push(r);
        bytes += b;
      }
      return out;
    },
    ack(ids) {
      if (stubborn) return 0;
      const set = new Set(ids);
      const before = records.length;
      records = records.filter((r) => !set.has(r.id));
      return before - records.length;
    },
    get size() { return records.length; },
  };
}

function scriptedFetch(answers) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init, body: init.body ? JSON.parse(init.body) : null });
    const next = answers.length > 1 ? answers.shift() : answers[0];
    const a = typeof next === 'function' ? await next(JSON.parse(init.body), init) : next;
    if (a instanceof Error) throw a;
    return new Response(a.body === undefined ? '' : JSON.stringify(a.body), { status: a.status, headers: a.headers ?? {} });
  };
  return { fetch, calls };
}

const acceptAll = (body) => ({ status: 200, body: { accepted: body.records.map((r) => r.id), duplicates: [], rejected: [] } });

describe('transport in Node with a scripted fetch', () => {
  test('Retry-After: delay-seconds and HTTP dates', () => {
    const now = Date.parse('2026-12-04T10:00:00Z');
    assert.equal(parseRetryAfter('1', now), 1000);
    assert.equal(parseRetryAfter(' 120 ', now), 120000);
    assert.equal(parseRetryAfter('Fri, 04 Dec 2026 10:00:30 GMT', now), 30000);
    assert.equal(parseRetryAfter('Fri, 04 Dec 2026 09:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('-1', now), null);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter(null, now), null);
  });

  test('429 with an HTTP-date Retry-After waits until that date', async () => {
    let now = Date.parse('2026-12-04T10:00:00Z');
    const { fetch } = scriptedFetch([{ status: 429, headers: { 'retry-after': 'Fri, 04 Dec 2026 10:00:07 GMT' } }, acceptAll]);
    const tr = new Transport({ endpoint: 'https://c.example/', source: memorySource(3), deviceId: 'd', fetch, now: () => now, random: () => 0 });
    const r = await tr.flush();
    assert.equal(r.retryAt, now + 7000);
    tr.stop();
  });

  test('full jitter: each delay is below min(max, base * 2^(attempt-1))', async () => {
    const now = 1_000_000;
    const { fetch } = scriptedFetch([{ status: 503 }]);
    // Move the clock to each retryAt by hand.
    let clock = now;
    const tr3 = new Transport({ endpoint: 'https://c.example', source: memorySource(1), deviceId: 'd', fetch,
      now: () => clock, random: () => 0.999, backoffBaseMs: 100, backoffMaxMs: 1000 });
    const caps = [];
    for (let i = 0; i < 6; i++) {
      const r = await tr3.flush();
      caps.push(r.retryAt - clock);
      clock = r.retryAt;
    }
    assert.deepEqual(caps, [99, 199, 399, 799, 999, 999]);
    tr3.online();
    assert.equal(tr3.attempt, 0, 'online() resets the backoff');
    tr3.stop();
  });

  test('401/403/404 say nothing about the records: nothing is dropped, the batch waits', async () => {
    for (const status of [401, 403, 404]) {
      const source = memorySource(4);
      const errors = [];
      const { fetch, calls } = scriptedFetch([{ status, body: { error: 'bad key' } }]);
      const tr = new Transport({ endpoint: 'https://c.example', source, deviceId: 'd', fetch, onError: (e) => errors.push(e) });
      const r = await tr.flush();
      assert.equal(r.dropped, 0);
      assert.notEqual(r.retryAt, null);
      assert.equal(source.size, 4);
      assert.equal(calls.length, 1);
      assert.deepEqual(errors, [{ kind: 'http', status, reason: `HTTP ${status}: bad key (check the endpoint and write key)` }]);
      tr.stop();
    }
  });

  test('a 200 that names none of the records backs off instead of looping', async () => {
    const source = memorySource(2);
    const { fetch, calls } = scriptedFetch([{ status: 200, body: { accepted: ['other'], duplicates: [], rejected: [] } }]);
    const tr = new Transport({ endpoint: 'https://c.example', source, deviceId: 'd', fetch });
    const r = await tr.flush();
    assert.equal(calls.length, 1);
    assert.notEqual(r.retryAt, null);
    assert.equal(source.size, 2);
    tr.stop();
  });

  test('a source that keeps acknowledged records does not make it loop', async () => {
    const source = memorySource(2, { stubborn: true });
    const errors = [];
    const { fetch, calls } = scriptedFetch([acceptAll]);
    const tr = new Transport({ endpoint: 'https://c.example', source, deviceId: 'd', fetch, onError: (e) => errors.push(e) });
    await tr.flush();
    assert.equal(calls.length, 1);
    assert.equal(errors[0].kind, 'source');
    tr.stop();
  });

  test('a failing source or a throwing onError never throws into the page', async () => {
    const source = { pending() { throw new Error('rekindle: pending() called after destroy()'); }, ack() {} };
    const tr = new Transport({ endpoint: 'https://c.example', source, deviceId: 'd', fetch: async () => { throw new Error('no'); },
      onError: () => { throw new Error('handler bug'); }, onStateChange: () => { throw new Error('hook bug'); } });
    assert.deepEqual(await tr.flush(), { sent: 0, acked: 0, dropped: 0, retryAt: null });
    assert.equal(tr.beacon(), false);
    tr.schedule();
    tr.online();
    tr.stop();
  });

  test('stop() aborts the request in flight; its records stay', async () => {
    const source = memorySource(3);
    const fetch = (url, init) => new Promise((resolve, reject) => {
      init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
    });
    const errors = [];
    const tr = new Transport({ endpoint: 'https://c.example', source, deviceId: 'd', fetch, onError: (e) => errors.push(e) });
    const p = tr.flush();
    await new Promise((r) => setTimeout(r, 10));
    tr.stop();
    assert.deepEqual(await p, { sent: 0, acked: 0, dropped: 0, retryAt: null });
    assert.equal(source.size, 3);
    assert.deepEqual(errors, []);
    assert.equal(tr.state, 'stopped');
  });

  test('without sendBeacon, beacon() uses fetch keepalive with a text/plain body and the key in the query', async () => {
    const { fetch, calls } = scriptedFetch([acceptAll]);
    const source = memorySource(3);
    const saved = globalThis.navigator;
    Object.defineProperty(globalThis, 'navigator', { value: undefined, configurable: true });
    try {
      const tr = new Transport({ endpoint: 'https://c.example/base/', source, deviceId: () => 'dev-9', writeKey: 'k&1', fetch });
      assert.equal(tr.beacon(), true);
      await new Promise((r) => setTimeout(r, 0));
      assert.equal(calls.length, 1);
      assert.equal(calls[0].url, 'https://c.example/base/v1/collect?key=k%261');
      assert.equal(calls[0].init.keepalive, true);
      assert.match(calls[0].init.headers['content-type'], /^text\/plain/);
      assert.equal(calls[0].body.deviceId, 'dev-9');
      assert.equal(calls[0].body.records.length, 3);
      assert.equal(source.size, 3, 'a beacon acknowledges nothing');
      tr.stop();
    } finally {
      Object.defineProperty(globalThis, 'navigator', { value: saved, configurable: true });
    }
  });

  test('standby (a tab that is not the sender): schedule() and online() send nothing; flush() and beacon() still do', async () => {
    const source = memorySource(3);
    const { fetch, calls } = scriptedFetch([acceptAll]);
    const tr = new Transport({ endpoint: 'https://c.example', source, deviceId: 'd', fetch, intervalMs: 5, standby: true });
    assert.equal(tr.standby, true);
    tr.schedule();
    tr.online();
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(calls.length, 0, 'nothing sent on its own');
    assert.equal(tr.state, 'idle');
    assert.equal(tr.beacon(), true, 'the beacon leaves');
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(calls.length, 1);
    assert.equal(calls[0].init.keepalive, true, 'with fetch keepalive (Node has no sendBeacon)');
    const r = await tr.flush();
    assert.equal(r.acked, 3, 'flush() sends when asked');
    assert.equal(source.size, 0);
    tr.stop();
  });

  test('leaving standby drains; a backoff met on standby is kept without a timer and honoured after', async () => {
    let now = 1_000_000;
    const source = memorySource(2);
    const { fetch, calls } = scriptedFetch([{ status: 503, headers: { 'retry-after': '30' } }, acceptAll]);
    const tr = new Transport({ endpoint: 'https://c.example', source, deviceId: 'd', fetch, intervalMs: 5,
      now: () => now, random: () => 0, standby: true });
    const r = await tr.flush();
    assert.equal(r.retryAt, now + 30_000);
    assert.equal(tr.state, 'backoff');
    // Taking over during the Retry-After sends nothing before it.
    tr.standby = false;
    await new Promise((r2) => setTimeout(r2, 40));
    assert.equal(calls.length, 1, 'no request before Retry-After');
    // Back on standby, and the server's time has passed: still nothing on its own.
    tr.standby = true;
    now += 31_000;
    tr.schedule();
    await new Promise((r2) => setTimeout(r2, 40));
    assert.equal(calls.length, 1);
    // Leaving standby drains after the interval.
    tr.standby = false;
    assert.equal(tr.state, 'scheduled');
    await new Promise((r2) => setTimeout(r2, 40));
    assert.equal(calls.length, 2);
    assert.equal(source.size, 0);
    assert.equal(tr.state, 'idle');
    tr.stop();
  });

  test('options a developer must fix throw a TypeError naming the option', () => {
    const source = memorySource(0);
    assert.throws(() => new Transport({ source, deviceId: 'd' }), /"endpoint"/);
    assert.throws(() => new Transport({ endpoint: 'https://c.example', deviceId: 'd' }), /"source"/);
    assert.throws(() => new Transport({ endpoint: 'https://c.example', source }), /"deviceId"/);
    assert.throws(() => new Transport({ endpoint: 'https://c.example', source, deviceId: 'd', maxRecords: 0 }), /"maxRecords"/);
    assert.throws(() => new Transport({ endpoint: 'https://c.example', source, deviceId: 'd', timeoutMs: 1.5 }), /"timeoutMs"/);
  });
});
