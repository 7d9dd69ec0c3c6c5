// Hostile input in the page (issue 9), in headless Chromium with the real
// engine: a corpus of XSS payloads (tests/fixtures/xss-payloads.txt) as
// profile attributes, offer content and URLs rendered in tiles — no script
// runs (the canary window.__xss stays unset, no dialog, no request leaves the
// origin) and text shows as text; "__proto__" / "constructor" keys in events,
// attributes, consent, options and server answers pollute no prototype in the
// JS layer (web/runtime.js, web/page/*.js). The tile renderer's own unit
// cases with hand-made decisions are in tiles.test.js.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startRecordingServer } from './recording-server.js';
import { launchChromium } from './browser.js';

const PAYLOADS = readFileSync(new URL('../fixtures/xss-payloads.txt', import.meta.url), 'utf8')
  .split('\n').filter((line) => line !== '' && !line.startsWith('# '));

// Always true: every offer is eligible for every visitor.
const EVERYONE = { path: 'profile.optedOut', op: 'exists', value: false };

let server;
let browser;

before(async () => {
  server = await startRecordingServer();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh page of hostile.html; fails the test on a dialog or a request to another origin. */
async function openPage(t) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on('request', (req) => {
    const url = req.url();
    // (A javascript: URL left in CSS, e.g. a style attribute's url(), is
    // "requested" and refused by the browser without running: not counted.)
    if (/^https?:/.test(url) && !url.startsWith(server.origin)) problems.push(`request to ${url}`);
  });
  t.after(() => context.close());
  await page.goto(`${server.origin}/pages/hostile.html`);
  await page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
  return { page, problems };
}

// The URLs the engine takes as an offer's image and CTA URL; the others are refused at load.
let acceptedUrls = [];

test('URLs: the engine refuses every script-capable payload as an image or CTA URL, naming the field', async (t) => {
  const { page, problems } = await openPage(t);
  const results = await page.evaluate(async (payloads) => {
    const engine = await window.Rekindle.createEngine({});
    const out = payloads.map((p) => {
      const r = engine.loadArtifact({
        version: 'url', placements: [{ id: 'hero' }],
        offers: [{ id: 'o', placements: ['hero'], content: { title: 't', image: p, cta: { label: 'go', url: p } } }],
      });
      return { payload: p, ok: r.ok, paths: r.errors.map((e) => e.path) };
    });
    engine.destroy();
    return out;
  }, PAYLOADS);
  for (const r of results) {
    if (r.ok) {
      assert.match(r.payload, /^(\/(?!\/)|https?:\/\/[^/])[^\s\\]*$/, `accepted only as http(s) or a site path: ${r.payload}`);
    } else {
      assert.deepEqual(r.paths.sort(), ['$.offers[0].content.cta.url', '$.offers[0].content.image'], r.payload);
    }
  }
  acceptedUrls = results.filter((r) => r.ok).map((r) => r.payload);
  const scriptable = results.filter((r) => /^\s*(javascript|vbscript|data)/i.test(r.payload.replace(/[\s\u0000-\u001f]/g, '')));
  assert.ok(scriptable.length >= 6 && scriptable.every((r) => !r.ok), 'every javascript:, vbscript: and data: URL is refused');
  assert.deepEqual(problems, []);
});

// The campaign artifact holding the corpus: for payload i, tiles that insert
// it as a profile attribute (text mode; HTML mode in quoted and unquoted
// attributes, href and src), as offer content (title, body, CTA label; the
// offer's own html), and as the image and CTA URL when the engine takes it.
function hostileArtifact() {
  const placements = [];
  const offers = [];
  const add = (id, offer) => {
    placements.push({ id });
    offers.push({ id, placements: [id], eligibility: EVERYONE, ...offer });
  };
  const template = (p) => p.includes('{{') || p.includes('}}');  // not a valid template: only a value
  PAYLOADS.forEach((p, i) => {
    const v = `{{profile.p${i}}}`;
    add(`a-t-${i}`, { content: { title: v, body: `[${v}]`, cta: { label: `${v}|`, url: '/cart' } } });
    add(`a-h-${i}`, { content: { title: 'h' }, html: `<div class="o"><strong title="${v}">${v}</strong><a href="${v}">link</a><img alt="" src="${v}"><span class=${v}>u</span><a href=${v}>u</a></div>` });
    if (!template(p)) {
      add(`c-t-${i}`, { content: { title: p, body: p, cta: { label: p, url: '/cart' } } });
      add(`c-h-${i}`, { content: { title: 'h' }, html: p });
    }
    if (acceptedUrls.includes(p)) {
      add(`u-t-${i}`, { content: { title: 'u', image: p, cta: { label: 'go', url: p } } });
      add(`u-h-${i}`, { content: { title: 'u', image: p, cta: { label: 'go', url: p } }, html: '<a href="{{offer.cta.url}}"><img alt="" src="{{offer.image}}">{{offer.cta.label}}</a>' });
    }
  });
  return { version: 'xss-corpus', consent: { defaults: { analytics: 'granted', personalize: 'granted' } }, placements, offers };
}

test('XSS payloads in profile attributes, offer content and URLs: shown as text, no script runs', async (t) => {
  const { page, problems } = await openPage(t);
  const artifact = hostileArtifact();
  const attributes = Object.fromEntries(PAYLOADS.map((p, i) => [`p${i}`, p]));
  const out = await page.evaluate(async ({ artifact, attributes }) => {
    const errors = [];
    const options = { artifact, storage: 'indexeddb', deviceId: 'dev-xss', autoTrack: false, onError: (e) => errors.push(e.message) };
    // A first visit stores the profile; the returning visitor's tiles show it.
    const first = await window.Rekindle.createRekindle({ ...options, render: false });
    const set = await first.setAttributes(attributes);
    await first.destroy();
    const root = document.getElementById('tiles');
    for (const { id } of artifact.placements) {
      const el = document.createElement('div');
      el.setAttribute('data-rk-placement', id);
      el.textContent = `fallback ${id}`;
      root.appendChild(el);
    }
    const rk = await window.Rekindle.createRekindle(options);
    window.rk = rk;
    // Safe links and forms (a site path, http(s)) would navigate away: keep the page.
    document.addEventListener('click', (e) => {
      const a = e.target.closest?.('a[href]');
      if (a && /^https?:$/.test(a.protocol)) e.preventDefault();
    });
    document.addEventListener('submit', (e) => {
      if (e.target instanceof HTMLFormElement && /^https?:$/.test(new URL(e.target.action).protocol)) e.preventDefault();
    });
    const tiles = [...document.querySelectorAll('.rk-tile')];
    for (const el of document.querySelectorAll('.rk-tile *:not([data-rk-dismiss])')) {
      el.click?.();
      el.focus?.();
      for (const type of ['mouseover', 'mouseenter', 'focusin', 'error', 'load', 'toggle', 'animationstart', 'submit', 'begin']) {
        el.dispatchEvent(new Event(type, { bubbles: true, cancelable: true }));
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    const text = (sel) => Object.fromEntries([...document.querySelectorAll(`[data-rk-placement] ${sel}`)]
      .map((el) => [el.closest('[data-rk-placement]').getAttribute('data-rk-placement'), el.textContent]));
    const attrs = [];
    for (const el of document.querySelectorAll('.rk-tile, .rk-tile *')) {
      for (const a of el.attributes) attrs.push({ el: el.localName, name: a.name, value: a.value });
    }
    return {
      setOk: set.ok, setErrors: set.errors, errors,
      placements: artifact.placements.length, tiles: tiles.length,
      titles: text('.rk-tile__title'), bodies: text('.rk-tile__body'), ctas: text('.rk-tile__cta'), strongs: text('.o > strong'),
      elements: [...new Set([...document.querySelectorAll('.rk-tile *')].map((el) => el.localName))],
      attrs, canary: window.__xss, location: location.pathname,
    };
  }, { artifact, attributes });

  assert.equal(out.setOk, true, JSON.stringify(out.setErrors));
  assert.deepEqual(out.errors, []);
  assert.equal(out.tiles, out.placements, 'every placement shows its tile');
  assert.equal(out.canary, undefined, 'no script ran');
  assert.equal(out.location, '/pages/hostile.html');
  PAYLOADS.forEach((p, i) => {
    assert.equal(out.titles[`a-t-${i}`], p, `attribute ${i} as a title`);
    assert.equal(out.bodies[`a-t-${i}`], `[${p}]`, `attribute ${i} as a body`);
    assert.equal(out.ctas[`a-t-${i}`], `${p}|`, `attribute ${i} as a CTA label`);
    assert.equal(out.strongs[`a-h-${i}`], p, `attribute ${i} escaped into html`);
    if (out.titles[`c-t-${i}`] !== undefined) assert.equal(out.titles[`c-t-${i}`], p, `offer title ${i}`);
  });
  const blocked = ['script', 'iframe', 'frame', 'object', 'embed', 'base', 'meta', 'link', 'template', 'noscript', 'animate', 'set'];
  assert.deepEqual(out.elements.filter((e) => blocked.includes(e)), [], 'no element that runs code or loads a document');
  const urlAttributes = new Set(['href', 'src', 'xlink:href', 'action', 'formaction', 'srcset', 'data', 'poster']);
  for (const a of out.attrs) {
    const where = `${a.el}[${a.name}="${a.value}"]`;
    assert.doesNotMatch(a.name, /^on/i, where);
    assert.notEqual(a.name, 'srcdoc', where);
    assert.doesNotMatch(a.value.replace(/[\s\u0000-\u001f\u007f]+/g, ''), /^(javascript|vbscript|livescript|data):/i, where);
    if (urlAttributes.has(a.name) && a.value !== '' && !a.value.startsWith('#')) {
      assert.match(a.value, /^(\/(?!\/)|https?:\/\/[^/]|mailto:|tel:)/i, where);
    }
  }
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no script ran, later either');
  assert.deepEqual(problems, []);
});

test('"__proto__" and "constructor" keys in options, events, attributes, consent and server answers pollute nothing', async (t) => {
  const { page, problems } = await openPage(t);
  const routed = [];
  await page.route('**/v1/collect', async (route) => {
    routed.push(route.request().postDataJSON());
    // A hostile server: the real lists hide behind "__proto__".
    const ids = route.request().postDataJSON().records.map((r) => r.id);
    await route.fulfill({
      status: 200,
      headers: { 'content-type': 'application/json', 'access-control-allow-origin': server.origin },
      body: `{"__proto__":{"accepted":${JSON.stringify(ids)},"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"accepted":[],"duplicates":[],"rejected":[]}`,
    });
  });
  const out = await page.evaluate(async () => {
    const before = {
      object: Object.getOwnPropertyNames(Object.prototype).sort(),
      array: Object.getOwnPropertyNames(Array.prototype).sort(),
      fn: Object.getOwnPropertyNames(Function.prototype).sort(),
    };
    const { createRekindle, createEngine } = window.Rekindle;
    const refused = [];
    const attempt = async (make) => {
      try {
        const rk = await make();
        await rk.destroy();
        refused.push('accepted');
      } catch (err) {
        refused.push(`${err.name}: ${err.message}`);
      }
    };
    // Options: unknown keys, whatever their name, are refused.
    await attempt(() => createRekindle(JSON.parse('{"storage":"memory","__proto__":{"endpoint":"https://evil.example"}}')));
    await attempt(() => createRekindle(JSON.parse('{"storage":"memory","constructor":{"prototype":{"polluted":"yes"}}}')));
    await attempt(() => createEngine(JSON.parse('{"__proto__":{"deviceId":"evil"}}')));
    // Consent purposes named "__proto__" or "constructor" are no purposes.
    await attempt(() => createRekindle(JSON.parse('{"storage":"memory","consent":{"__proto__":"granted","constructor":"denied","analytics":"granted"}}')));
    const artifact = {
      version: 'proto', consent: { defaults: { analytics: 'granted', personalize: 'granted' } },
      placements: [{ id: 'hero' }],
      offers: [{ id: 'o', placements: ['hero'], eligibility: { path: 'profile.optedOut', op: 'exists', value: false },
        content: { title: 'Hi {{profile.constructor|there}} {{profile.__proto__|you}}' } }],
    };
    // Handlers under own keys named "__proto__" and "constructor" (as JSON.parse would make them).
    const seen = [];
    const on = {};
    for (const key of ['__proto__', 'constructor']) {
      Object.defineProperty(on, key, { value: (e) => seen.push(e.type), enumerable: true, configurable: true, writable: true });
    }
    const errors = [];
    const rk = await createRekindle({
      artifact, storage: 'indexeddb', deviceId: 'dev-proto', autoTrack: false, render: false, endpoint: location.origin,
      consent: { analytics: 'granted' },
      on, onError: (e) => errors.push(e.message),
    });
    const hostile = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"}}';
    const results = [];
    results.push(await rk.track('commerce.productViews', { data: JSON.parse(hostile) }));
    results.push(await rk.track('commerce.productViews', JSON.parse(hostile)));
    results.push(await rk.track(JSON.parse(`{"_id":"proto-event","eventType":"x.y","timestamp":"${new Date().toISOString()}","data":${hostile}}`)));
    results.push(await rk.setAttributes(JSON.parse(hostile)));
    results.push(await rk.setAttributes(JSON.parse('{"profile":{"__proto__":{"polluted":"yes"}},"nested":{"constructor":{"prototype":{"polluted":"yes"}}}}')));
    results.push(await rk.setConsent(JSON.parse('{"__proto__":"granted","constructor":"granted"}')));
    results.push(await rk.identify('__proto__', 'polluted'));
    results.push(await rk.identify('constructor', 'prototype'));
    const decision = rk.decide('hero');
    const unsubscribe = rk.on('__proto__', () => {});
    unsubscribe();
    await rk.flush();
    const outbox = JSON.parse(rk.snapshot()).outbox.records.length;
    await rk.destroy();
    // The stored state, with those keys inside, restores cleanly.
    const again = await createRekindle({ artifact, storage: 'indexeddb', deviceId: 'dev-proto', autoTrack: false, render: false, onError: (e) => errors.push(e.message) });
    const restoredDecision = again.decide('hero');
    await again.destroy();
    const after = {
      object: Object.getOwnPropertyNames(Object.prototype).sort(),
      array: Object.getOwnPropertyNames(Array.prototype).sort(),
      fn: Object.getOwnPropertyNames(Function.prototype).sort(),
    };
    const probe = {};
    return {
      refused, before, after, errors, seen: [...new Set(seen)], outbox,
      results: results.map((r) => ({ ok: r.ok, errors: r.errors })),
      title: decision?.content.title ?? null, restoredTitle: restoredDecision?.content.title ?? null,
      polluted: [probe.polluted, [].polluted, (() => {}).polluted, probe.accepted, probe.endpoint, probe.deviceId],
    };
  });
  assert.match(out.refused[0], /^RekindleOptionsError: rekindle: option "__proto__" is not a known option$/);
  assert.match(out.refused[1], /^RekindleOptionsError: rekindle: option "constructor" is not a known option$/);
  assert.match(out.refused[2], /^RekindleOptionsError: rekindle: option "__proto__" is not a known option$/);
  assert.match(out.refused[3], /^RekindleOptionsError: rekindle: option "consent" has "__proto__", not a purpose/);
  assert.deepEqual(out.after, out.before, 'no prototype gained a property');
  assert.deepEqual(out.polluted, [undefined, undefined, undefined, undefined, undefined, undefined]);
  // The keys were data: each call answered (taken, or refused with a path), none threw.
  for (const r of out.results) assert.ok(r.ok || r.errors.every((e) => typeof e.path === 'string' && e.path.startsWith('$')), JSON.stringify(r));
  assert.equal(out.title, out.restoredTitle, 'the restored profile decides the same');
  assert.ok(out.outbox > 0, 'the server\'s "__proto__".accepted acknowledged nothing');
  assert.ok(routed.length >= 1, 'the batch went to the (hostile) server');
  assert.ok(out.errors.some((m) => /names none of the records sent/.test(m)), out.errors.join(' | '));
  assert.deepEqual(problems, []);
});
