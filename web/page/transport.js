// The page's transport: drains the engine's outbox to the collection endpoint
// (POST {endpoint}/v1/collect, docs/http-api.md) in batches, and removes a
// record from the outbox only once the server acknowledged it (accepted or
// duplicate) or refused it for good (rejected, reported through onError).
//
// Failures the server may recover from (network errors, timeouts, 408, 429,
// 5xx) leave every record in the outbox and retry after an exponential backoff
// with full jitter, never earlier than a Retry-After. A batch that is too large
// (413) or that the server refuses without naming a record (other 4xx) is
// split in halves until the bad record is isolated. Nothing here throws into
// the page: every failure ends up in onError.
//
// A transport on standby sends only when asked (flush(), beacon()): the page
// runtime keeps the transports of the tabs that are not the device's sender
// on standby (web/page/tabs.js), so that one tab drains the shared outbox.
//
// Browser-first, no dependencies; it also runs in Node 20 (global fetch).

import { isObject } from './common.js';

// Statuses that say nothing about the records: the site's configuration
// (write key, endpoint) is wrong. Splitting and dropping records would lose
// the whole outbox to a rotated key, so these back off and keep everything.
const CONFIG_STATUSES = new Set([401, 403, 404]);

const BEACON_MAX_BYTES = 60 * 1024;  // keepalive requests share a 64 KiB quota
const MAX_ROUNDS = 10000;            // requests per drain, a guard against a source that never empties

function isRetryableStatus(status) {
  return status === 408 || status === 429 || status >= 500;
}

/** Milliseconds to wait from a Retry-After value (delay-seconds or HTTP date), or null. */
export function parseRetryAfter(value, now = Date.now()) {
  if (typeof value !== 'string') return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/[a-z]/i.test(v)) return null;  // not a number and not a date
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}

/** UTF-8 length of a string without allocating. */
function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { n += 4; i++; } else n += 3;
    } else n += 3;
  }
  return n;
}

function positiveInteger(name, value) {
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(`rekindle transport: option "${name}" must be a positive integer, not ${String(value)}`);
  }
  return value;
}

function nonNegativeInteger(name, value) {
  if (!Number.isInteger(value) || value < 0) {
    throw new TypeError(`rekindle transport: option "${name}" must be a non-negative integer, not ${String(value)}`);
  }
  return value;
}

function describe(err) {
  if (err && typeof err === 'object' && typeof err.message === 'string') return err.message;
  return String(err);
}

/**
 * Drains an outbox to `{endpoint}/v1/collect`.
 *
 * onError receives `{ kind, ids?, status?, reason }`:
 * - `rejected`: the server refused these records for good (200 `rejected`, or
 *   400 naming them); they were dropped from the outbox;
 * - `http`: an HTTP failure; with `ids`, a single record the server kept
 *   refusing (413, or a 4xx without names) that was dropped; without `ids`,
 *   the batch stays in the outbox and is retried;
 * - `network`: the request failed or timed out; the batch is retried;
 * - `source`: the outbox itself failed (e.g. the engine was destroyed).
 *
 * onStateChange receives `'idle' | 'scheduled' | 'sending' | 'backoff' | 'stopped'`
 * and, second, `{ retryAt, attempt }`.
 *
 * onEvents receives the `events` of a successful answer: events of the visitor from
 * elsewhere (another device, an import) that end journeys, for the page's engine.
 */
export class Transport {
  #collectUrl;
  #source;
  #deviceId;
  #writeKey;
  #fetch;
  #maxRecords;
  #maxBytes;
  #intervalMs;
  #timeoutMs;
  #backoffBaseMs;
  #backoffMaxMs;
  #retryAfterMaxMs;
  #onError;
  #onEvents;
  #onStateChange;
  #random;
  #now;

  #state = 'idle';
  #stopped = false;
  #standby = false;        // schedule(), online() and the backoff timer do not send
  #attempt = 0;            // consecutive retryable failures
  #retryAt = 0;            // no request before this time (ms since epoch)
  #retryAfterUntil = 0;    // the part of #retryAt the server asked for (Retry-After)
  #timer = null;
  #timerAt = 0;
  #inflight = null;        // the running drain's promise
  #controller = null;      // the request in flight
  #again = false;          // schedule() was called during a drain
  #scheduledCalls = 0;     // schedule() calls since the timer was set
  #recordLimit;            // lowered after a 413, grows back on success

  constructor({
    endpoint,
    source,
    deviceId,
    writeKey,
    fetch = globalThis.fetch ? globalThis.fetch.bind(globalThis) : undefined,
    maxRecords = 50,
    maxBytes = 64 * 1024,
    intervalMs = 2000,
    timeoutMs = 10000,
    backoffBaseMs = 1000,
    backoffMaxMs = 60000,
    retryAfterMaxMs = 60 * 60 * 1000,
    onError = () => {},
    onEvents = () => {},
    onStateChange = () => {},
    random = Math.random,
    now = Date.now,
    standby = false,
  } = {}) {
    if ((typeof endpoint !== 'string' || endpoint.length === 0) && !(endpoint instanceof URL)) {
      throw new TypeError('rekindle transport: option "endpoint" must be the base URL of the server');
    }
    if (!source || typeof source.pending !== 'function' || typeof source.ack !== 'function') {
      throw new TypeError('rekindle transport: option "source" must have pending(maxRecords, maxBytes) and ack(ids)');
    }
    if (!((typeof deviceId === 'string' && deviceId.length > 0) || typeof deviceId === 'function')) {
      throw new TypeError('rekindle transport: option "deviceId" must be a non-empty string (or a function returning one)');
    }
    if (writeKey !== undefined && writeKey !== null && typeof writeKey !== 'string') {
      throw new TypeError('rekindle transport: option "writeKey" must be a string');
    }
    if (typeof fetch !== 'function') throw new TypeError('rekindle transport: option "fetch" must be a function');
    for (const [name, fn] of [['onError', onError], ['onEvents', onEvents], ['onStateChange', onStateChange], ['random', random], ['now', now]]) {
      if (typeof fn !== 'function') throw new TypeError(`rekindle transport: option "${name}" must be a function`);
    }
    this.#collectUrl = `${String(endpoint).replace(/\/+$/, '')}/v1/collect`;
    this.#source = source;
    this.#deviceId = deviceId;
    this.#writeKey = writeKey || null;
    this.#fetch = fetch;
    this.#maxRecords = positiveInteger('maxRecords', maxRecords);
    this.#maxBytes = positiveInteger('maxBytes', maxBytes);
    this.#intervalMs = nonNegativeInteger('intervalMs', intervalMs);
    this.#timeoutMs = positiveInteger('timeoutMs', timeoutMs);
    this.#backoffBaseMs = positiveInteger('backoffBaseMs', backoffBaseMs);
    this.#backoffMaxMs = positiveInteger('backoffMaxMs', backoffMaxMs);
    this.#retryAfterMaxMs = positiveInteger('retryAfterMaxMs', retryAfterMaxMs);
    this.#onError = onError;
    this.#onEvents = onEvents;
    this.#onStateChange = onStateChange;
    this.#random = random;
    this.#now = now;
    this.#recordLimit = this.#maxRecords;
    this.#standby = standby === true;
  }

  /** 'idle' | 'scheduled' | 'sending' | 'backoff' | 'stopped'. */
  get state() { return this.#state; }
  /** When the next attempt may happen after a failure (ms since epoch), or null. */
  get retryAt() { return this.#retryAt > this.#now() ? this.#retryAt : null; }

  /** Where the batches go. */
  get url() { return this.#collectUrl; }
  /** Consecutive retryable failures so far. */
  get attempt() { return this.#attempt; }

  /**
   * On standby the transport sends only when asked (flush(), beacon()):
   * schedule() and online() send nothing, and a failure's backoff is kept
   * (retryAt) without a timer. Leaving standby drains as schedule() does,
   * after any backoff or Retry-After still running.
   */
  get standby() { return this.#standby; }
  set standby(on) {
    const next = on === true;
    if (this.#stopped || next === this.#standby) return;
    this.#standby = next;
    if (next) {
      this.#disarm();
      if (!this.#inflight) this.#setState(this.#retryAt > this.#now() ? 'backoff' : 'idle');
      return;
    }
    this.schedule();
  }

  /** A drain soon: coalesced, at most one in flight, after any backoff. Call it after each change. */
  schedule() {
    try {
      if (this.#stopped || this.#standby) return;
      if (this.#inflight) {
        this.#again = true;
        return;
      }
      const now = this.#now();
      if (this.#retryAt > now) {
        this.#arm(this.#retryAt);  // the backoff timer drains then
        return;
      }
      if (this.#timer !== null) {
        // A full batch is waiting: do not wait for the interval.
        if (++this.#scheduledCalls >= this.#maxRecords) this.#arm(now, true);
        return;
      }
      this.#scheduledCalls = 1;
      this.#arm(now + this.#intervalMs);
      this.#setState('scheduled');
    } catch (err) {
      this.#failed('schedule', err);
    }
  }

  /**
   * Drains now until the outbox is empty or a retryable failure. Waits for a
   * drain in flight first. During a backoff it sends nothing and resolves with
   * the time of the next attempt (online() ends a backoff).
   */
  async flush() {
    const none = { sent: 0, acked: 0, dropped: 0, retryAt: null };
    try {
      while (this.#inflight) await this.#inflight;
      if (this.#stopped) return none;
      if (this.#retryAt > this.#now()) return { ...none, retryAt: this.#retryAt };
      return await this.#start();
    } catch (err) {
      this.#failed('flush', err);
      return none;
    }
  }

  /**
   * pagehide: sends the next batch with navigator.sendBeacon (or fetch with
   * keepalive) and forgets it: nothing is acknowledged, the records stay in
   * the outbox and the server reports them as duplicates when they are sent
   * again. The body is text/plain (a CORS-safelisted type: no preflight, so
   * it leaves even while the page unloads) and the write key goes in the
   * `key` query parameter (a beacon cannot set headers). Returns true when
   * the browser queued a request.
   */
  beacon() {
    try {
      if (this.#stopped) return false;
      const limit = Math.min(this.#maxBytes, BEACON_MAX_BYTES);
      const batch = this.#nextBatch(limit);
      if (batch === null || batch.length === 0) return false;
      const text = this.#envelope(batch);
      const url = this.#writeKey ? `${this.#collectUrl}?key=${encodeURIComponent(this.#writeKey)}` : this.#collectUrl;
      const type = 'text/plain;charset=UTF-8';
      const nav = globalThis.navigator;
      if (nav && typeof nav.sendBeacon === 'function') {
        try {
          if (nav.sendBeacon(url, new Blob([text], { type }))) return true;
        } catch {
          // fall through to fetch keepalive
        }
      }
      const p = this.#fetch(url, { method: 'POST', body: text, keepalive: true, credentials: 'omit', headers: { 'content-type': type } });
      if (p && typeof p.catch === 'function') p.catch(() => {});
      return true;
    } catch (err) {
      this.#failed('beacon', err);
      return false;
    }
  }

  /** The browser came back online: end the backoff (not a server's Retry-After) and drain now. */
  online() {
    try {
      if (this.#stopped) return;
      this.#attempt = 0;
      const now = this.#now();
      this.#retryAt = this.#retryAfterUntil > now ? this.#retryAfterUntil : 0;
      if (this.#standby) return;
      if (this.#inflight) {
        this.#again = true;
        return;
      }
      if (this.#retryAt > now) {
        this.#arm(this.#retryAt);
        return;
      }
      this.#arm(now, true);
    } catch (err) {
      this.#failed('online', err);
    }
  }

  /** Stops for good: no timer, the request in flight is aborted (its records stay in the outbox). */
  stop() {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#disarm();
    try { this.#controller?.abort(); } catch { /* nothing to do */ }
    this.#setState('stopped');
  }

  // --- internals ---

  #setState(state) {
    if (this.#state === state) return;
    this.#state = state;
    try {
      this.#onStateChange(state, { retryAt: this.retryAt, attempt: this.#attempt });
    } catch {
      // a diagnostics hook must not break the transport
    }
  }

  #report(err) {
    try {
      this.#onError(err);
    } catch {
      // an error handler that throws must not break the transport
    }
  }

  // A failure of the source, a callback or the transport itself: `<what> failed: <why>`.
  #failed(what, err) {
    this.#report({ kind: 'source', reason: `${what} failed: ${describe(err)}` });
  }

  #disarm() {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = 0;
  }

  // One timer: a drain at `at`. An earlier request replaces a later one;
  // `force` replaces any.
  #arm(at, force = false) {
    if (this.#timer !== null && !force && this.#timerAt <= at) return;
    this.#disarm();
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = 0;
      if (this.#standby) return;
      if (this.#stopped || this.#inflight) {
        if (this.#inflight) this.#again = true;
        return;
      }
      // Timers run on a monotonic clock: a backoff this timer was armed for
      // is over, even when the wall clock was set back meanwhile (comparing
      // with now() would then wait the whole jump again). Only a backoff that
      // ends after this timer's time still waits.
      if (this.#retryAt > at) {
        this.#arm(this.#retryAt);
        return;
      }
      this.#start();
    }, Math.max(0, at - this.#now()));
  }

  #start() {
    this.#disarm();
    const p = (async () => {
      try {
        return await this.#drain();
      } catch (err) {
        this.#failed('drain', err);
        return { sent: 0, acked: 0, dropped: 0, retryAt: null };
      } finally {
        this.#inflight = null;
        this.#controller = null;
        this.#afterDrain();
      }
    })();
    this.#inflight = p;
    return p;
  }

  #afterDrain() {
    if (this.#stopped) return;
    const now = this.#now();
    // A drain that ended in a failure leaves #retryAt set, and its retry is
    // armed even when that time has already passed (a jitter near 0, or a
    // page too busy to get here sooner): otherwise the records would wait for
    // the next change.
    if (this.#retryAt > 0) {
      this.#again = false;
      if (!this.#standby) this.#arm(Math.max(this.#retryAt, now));
      this.#setState('backoff');
      return;
    }
    this.#setState('idle');
    if (this.#again) {
      this.#again = false;
      this.schedule();
    }
  }

  #currentDeviceId() {
    const id = typeof this.#deviceId === 'function' ? this.#deviceId() : this.#deviceId;
    if (typeof id !== 'string' || id.length === 0) throw new Error('deviceId() did not return a non-empty string');
    return id;
  }

  #envelope(records) {
    return JSON.stringify({ deviceId: this.#currentDeviceId(), sentAt: new Date(this.#now()).toISOString(), records });
  }

  // The next batch from the source, trimmed so the whole request body fits
  // in `maxBytes` (the source counts bodies only). A single record larger
  // than that is still returned alone: the server may accept it (up to
  // 1 MiB), and a 413 for it drops it with a reported error.
  #nextBatch(maxBytes = this.#maxBytes) {
    let records;
    try {
      records = this.#source.pending(Math.min(this.#maxRecords, this.#recordLimit), maxBytes);
    } catch (err) {
      this.#failed('pending()', err);
      return null;
    }
    if (!Array.isArray(records)) {
      this.#report({ kind: 'source', reason: 'pending() did not return an array' });
      return null;
    }
    records = records.filter((r) => r && typeof r.id === 'string' && r.id.length > 0);
    const envelope = utf8Length(this.#envelope([]));
    let total = envelope;
    let n = 0;
    for (const r of records) {
      const size = utf8Length(JSON.stringify(r)) + (n > 0 ? 1 : 0);
      if (n > 0 && total + size > maxBytes) break;
      total += size;
      n++;
    }
    return records.slice(0, n);
  }

  #ack(ids) {
    if (ids.length === 0) return;
    try {
      this.#source.ack(ids);
    } catch (err) {
      this.#failed('ack()', err);
    }
  }

  #backoff(retryAfterMs) {
    this.#attempt++;
    const now = this.#now();
    let delay;
    if (retryAfterMs !== null) {
      // Never earlier than the server asked, plus up to one base of jitter so
      // that devices told the same thing do not come back at the same instant.
      const asked = Math.min(retryAfterMs, this.#retryAfterMaxMs);
      this.#retryAfterUntil = now + asked;
      delay = asked + Math.floor(this.#random() * this.#backoffBaseMs);
    } else {
      // Full jitter: uniform in [0, min(max, base * 2^(attempt-1))).
      const cap = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** Math.min(this.#attempt - 1, 30));
      delay = Math.floor(this.#random() * cap);
    }
    this.#retryAt = now + delay;
    return this.#retryAt;
  }

  // Sends one batch; classifies what happened.
  async #post(batch) {
    const text = this.#envelope(batch);
    const headers = { 'content-type': 'application/json' };
    if (this.#writeKey) headers['x-rekindle-key'] = this.#writeKey;
    const controller = new AbortController();
    this.#controller = controller;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.#timeoutMs);
    let status;
    let bodyText;
    let retryAfter = null;
    try {
      const res = await this.#fetch(this.#collectUrl, {
        method: 'POST', headers, body: text, signal: controller.signal, credentials: 'omit', cache: 'no-store',
      });
      status = res.status;
      retryAfter = parseRetryAfter(res.headers?.get?.('retry-after') ?? null, this.#now());
      bodyText = await res.text();  // still under the timeout: a body that never ends is a hang
    } catch (err) {
      if (this.#stopped) return { type: 'stopped' };
      if (timedOut) return { type: 'retry', error: { kind: 'network', reason: `no answer within ${this.#timeoutMs} ms` } };
      if (status !== undefined) return { type: 'retry', error: { kind: 'http', status, reason: `the response could not be read: ${describe(err)}` } };
      return { type: 'retry', error: { kind: 'network', reason: describe(err) } };
    } finally {
      clearTimeout(timer);
      if (this.#controller === controller) this.#controller = null;
    }
    if (this.#stopped) return { type: 'stopped' };

    let body;
    try { body = JSON.parse(bodyText); } catch { body = undefined; }
    // The status first, then what the server said of it.
    const reason = (what) => (body && typeof body.error === 'string' ? `${what}: ${body.error}` : what);

    if (status >= 200 && status < 300) {
      if (!isObject(body)) {
        return { type: 'retry', error: { kind: 'http', status, reason: 'the response is not the JSON object of the contract' } };
      }
      return { type: 'ok', body };
    }
    if (status === 413) return { type: 'tooLarge', status, reason: reason('HTTP 413, the batch is too large') };
    if (isRetryableStatus(status)) {
      return { type: 'retry', retryAfter, error: { kind: 'http', status, reason: reason(`HTTP ${status}`) } };
    }
    if (CONFIG_STATUSES.has(status)) {
      return { type: 'retry', retryAfter, error: { kind: 'http', status, reason: `${reason(`HTTP ${status}`)} (check the endpoint and write key)` } };
    }
    if (status >= 400 && status < 500) {
      const rejected = body && Array.isArray(body.rejected) ? body.rejected : [];
      if (rejected.length > 0) return { type: 'named', status, rejected, reason: reason(`HTTP ${status}`) };
      return { type: 'bad', status, reason: reason(`HTTP ${status}`) };
    }
    return { type: 'retry', retryAfter, error: { kind: 'http', status, reason: `unexpected HTTP ${status}` } };
  }

  async #drain() {
    const result = { sent: 0, acked: 0, dropped: 0, retryAt: null };
    this.#setState('sending');
    // After a 413 the limit stays low for the rest of that drain and doubles
    // back at each later drain (a 413 may have come from one large record).
    this.#recordLimit = Math.min(this.#maxRecords, this.#recordLimit * 2);
    const queue = [];           // halves of split batches, sent before new records
    const done = new Set();     // ids that left the outbox during this drain
    for (let round = 0; round < MAX_ROUNDS && !this.#stopped; round++) {
      let batch = queue.shift();
      if (batch && batch.length > this.#recordLimit) {
        // A half from before a later 413 lowered the limit: send what fits.
        queue.unshift(batch.slice(this.#recordLimit));
        batch = batch.slice(0, this.#recordLimit);
      }
      if (!batch) {
        batch = this.#nextBatch();
        if (batch === null || batch.length === 0) break;
        // A source that keeps returning what it was told to remove would loop forever.
        if (batch.every((r) => done.has(r.id))) {
          this.#report({ kind: 'source', reason: 'the outbox still returns acknowledged records' });
          break;
        }
      }
      const ids = batch.map((r) => r.id);
      const inBatch = new Set(ids);
      const outcome = await this.#post(batch);
      if (outcome.type === 'stopped') break;
      result.sent += batch.length;

      const drop = (dropIds, error) => {
        this.#ack(dropIds);
        for (const id of dropIds) done.add(id);
        result.dropped += dropIds.length;
        this.#report({ ...error, ids: dropIds });
      };
      const split = () => {
        const half = Math.ceil(batch.length / 2);
        queue.unshift(batch.slice(0, half), batch.slice(half));
      };

      switch (outcome.type) {
        case 'ok': {
          const list = (v) => (Array.isArray(v) ? v : []);
          const acked = [...new Set([...list(outcome.body.accepted), ...list(outcome.body.duplicates)])]
            .filter((id) => inBatch.has(id));
          const ackedSet = new Set(acked);
          const rejected = list(outcome.body.rejected)
            .filter((r) => r && inBatch.has(r.id) && !ackedSet.has(r.id));
          this.#ack(acked);
          for (const id of acked) done.add(id);
          result.acked += acked.length;
          const events = list(outcome.body.events).filter(isObject);
          if (events.length > 0) {
            try {
              this.#onEvents(events);
            } catch (err) {
              this.#failed('onEvents', err);
            }
          }
          for (const r of rejected) {
            drop([r.id], { kind: 'rejected', reason: typeof r.reason === 'string' ? r.reason : 'rejected by the server' });
          }
          if (acked.length === 0 && rejected.length === 0) {
            // Nothing of the batch was answered for: try again later rather than loop.
            this.#report({ kind: 'http', status: 200, reason: 'the response names none of the records sent' });
            result.retryAt = this.#backoff(null);
            return result;
          }
          this.#attempt = 0;
          break;
        }
        case 'tooLarge':
          // Halve the batch and the limit for later batches (a single record
          // that is too large says nothing about how many fit).
          if (batch.length > 1) {
            this.#recordLimit = Math.ceil(batch.length / 2);
            split();
          } else drop(ids, { kind: 'http', status: 413, reason: `the record is too large for the server: ${outcome.reason}` });
          break;
        case 'named': {
          const named = new Map();
          for (const r of outcome.rejected) {
            if (r && inBatch.has(r.id) && !named.has(r.id)) named.set(r.id, typeof r.reason === 'string' ? r.reason : outcome.reason);
          }
          if (named.size === 0) {
            // It names records we did not send: treat as unnamed.
            if (batch.length > 1) split();
            else drop(ids, { kind: 'http', status: outcome.status, reason: outcome.reason });
            break;
          }
          for (const [id, why] of named) drop([id], { kind: 'rejected', status: outcome.status, reason: why });
          const rest = batch.filter((r) => !named.has(r.id));
          if (rest.length > 0) queue.unshift(rest);
          break;
        }
        case 'bad':
          if (batch.length > 1) split();
          else drop(ids, { kind: 'http', status: outcome.status, reason: outcome.reason });
          break;
        case 'retry':
        default:
          this.#report(outcome.error);
          result.retryAt = this.#backoff(outcome.retryAfter ?? null);
          return result;
      }
    }
    // A drain that ran to the end ends any backoff (its time may lie ahead of
    // a wall clock that was set back).
    this.#retryAt = 0;
    this.#retryAfterUntil = 0;
    return result;
  }
}
