// Promo tiles (web/page/tiles.js) and automatic collection (web/page/autotrack.js)
// in headless Chromium, with fake decisions: no engine needed.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { launchChromium, watchConsole } from './browser.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MOUNTS = [
  ['/rekindle/', path.resolve(here, '../../web')],
  ['/pages/', path.resolve(here, 'pages')],
];
const TYPES = {
  '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.css': 'text/css', '.html': 'text/html; charset=utf-8', '.json': 'application/json',
};

// A tiny static server: web/ at /rekindle/, tests/e2e/pages/ at /pages/, one image at /img/tile.svg.
function startServer() {
  const server = http.createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://x');
    if (pathname === '/img/tile.svg') {
      res.writeHead(200, { 'content-type': 'image/svg+xml' });
      res.end('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="#1d4ed8"/></svg>');
      return;
    }
    for (const [prefix, dir] of MOUNTS) {
      if (!pathname.startsWith(prefix)) continue;
      const file = path.resolve(dir, decodeURIComponent(pathname.slice(prefix.length)));
      if (!file.startsWith(dir + path.sep)) break;
      try {
        const body = await readFile(file);
        res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
        res.end(body);
        return;
      } catch {
        break;
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let server;
let browser;
let base;

before(async () => {
  server = await startServer();
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens the test page; returns the page and the list of console problems (must stay empty). */
async function openPage(options = {}) {
  const page = await browser.newPage();
  const problems = watchConsole(page);
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`${base}/pages/tiles.html`, options);
  await page.waitForSelector('body[data-ready="1"]');
  return { page, problems, requests };
}

const OFFER = {
  placement: 'hero', offer: 'cart-10', proposition: 'p-1', journey: 'cart-recovery', instance: 'i-1', step: 'tile',
  content: {
    title: 'Still thinking it over, Ada?', body: 'Take 10 % off today.', image: '/img/tile.svg',
    cta: { label: 'Back to my cart', url: '/cart' },
  },
};

// The pages are independent, and most of the time is spent waiting for dwell
// timers, so the tests run side by side (each in its own page).
describe('page tiles and autotrack in Chromium', { concurrency: true }, () => {
  test('a tile replaces the fallback, which comes back (the same nodes) on withdraw, null and destroy', async () => {
    const { page, problems } = await openPage();
    const out = await page.evaluate((offer) => {
      const hero = document.getElementById('hero');
      const original = [...hero.childNodes];
      const tiles = new window.Tiles({ onFeedback: window.record, dwellMs: 60_000 });
      const sameNodes = () => hero.childNodes.length === original.length && original.every((n, i) => hero.childNodes[i] === n);
      const r = { placements: tiles.placements() };

      // Synchronous render: the tile is in the DOM when render() returns.
      tiles.render('hero', { ...offer, content: { ...offer.content, image: undefined } });
      const tile = hero.querySelector('.rk-tile');
      r.rendered = {
        proposition: hero.dataset.rkProposition, offer: hero.dataset.rkOffer,
        title: tile.querySelector('.rk-tile__title').textContent, body: tile.querySelector('.rk-tile__body').textContent,
        ctaHref: tile.querySelector('a').getAttribute('href'), ctaText: tile.querySelector('a').textContent,
        dismissLabel: tile.querySelector('button').getAttribute('aria-label'), dismissText: tile.querySelector('button').textContent,
        fallbackGone: !document.getElementById('hero-fallback'), fallbackDetached: !original[0].isConnected,
      };
      // The same proposition again is a no-op: the very same tile node stays.
      tiles.render('hero', { ...offer, content: { title: 'changed' } });
      r.sameTileKept = hero.querySelector('.rk-tile') === tile && tile.querySelector('.rk-tile__title').textContent === offer.content.title;

      tiles.withdraw('p-1');
      r.afterWithdraw = { sameNodes: sameNodes(), marker: document.getElementById('fallback-button').marker, attr: hero.hasAttribute('data-rk-proposition') };
      document.getElementById('fallback-button').click();
      r.fallbackListenerAlive = window.fallbackClicks === 1;

      tiles.render('hero', offer);
      tiles.render('hero', { ...offer, proposition: 'p-2', offer: 'other', content: { title: 'Another offer' } });
      r.replaced = { proposition: hero.dataset.rkProposition, offer: hero.dataset.rkOffer, tiles: hero.querySelectorAll('.rk-tile').length, title: hero.querySelector('.rk-tile__title').textContent };
      tiles.render('hero', null);
      r.afterNull = sameNodes();

      tiles.render('sidebar', { ...offer, placement: 'sidebar', proposition: 'p-3' });
      tiles.render('hero', offer);
      tiles.destroy();
      r.afterDestroy = sameNodes() && document.getElementById('sidebar').textContent === 'Free returns, always.'
        && !document.querySelector('.rk-tile');
      let threw = false;
      try { tiles.render('hero', offer); } catch { threw = true; }
      r.renderAfterDestroyThrows = threw;
      return r;
    }, OFFER);

    assert.deepEqual(out.placements, ['hero', 'sidebar', 'below']);
    assert.deepEqual(out.rendered, {
      proposition: 'p-1', offer: 'cart-10', title: 'Still thinking it over, Ada?', body: 'Take 10 % off today.',
      ctaHref: '/cart', ctaText: 'Back to my cart', dismissLabel: 'Dismiss: Still thinking it over, Ada?', dismissText: '\u00d7',
      fallbackGone: true, fallbackDetached: true,
    });
    assert.equal(out.sameTileKept, true);
    assert.deepEqual(out.afterWithdraw, { sameNodes: true, marker: 'original node', attr: false });
    assert.equal(out.fallbackListenerAlive, true);
    assert.deepEqual(out.replaced, { proposition: 'p-2', offer: 'other', tiles: 1, title: 'Another offer' });
    assert.equal(out.afterNull, true);
    assert.equal(out.afterDestroy, true);
    assert.equal(out.renderAfterDestroyThrows, true);

    assert.deepEqual(problems, []);
    await page.close();
  });

  test('clicks on the CTA each count; the dismiss button counts once, restores the fallback and keeps that proposition away', async () => {
    const { page, problems } = await openPage();
    await page.evaluate((offer) => {
      window.tiles = new window.Tiles({ onFeedback: window.record, dwellMs: 60_000 });
      // A CTA that stays on the page, so clicks can be repeated.
      window.tiles.render('hero', { ...offer, content: { ...offer.content, image: undefined, cta: { label: 'Go', url: '/pages/tiles.html#cta' } } });
    }, OFFER);
    await page.click('#hero .rk-tile__cta');
    await page.click('#hero .rk-tile__cta');
    await page.click('#hero .rk-tile__title'); // not the CTA: nothing
    // From the keyboard: the focus moves to the placement, not to <body>.
    await page.focus('#hero .rk-tile__dismiss');
    await page.keyboard.press('Enter');
    const out = await page.evaluate((offer) => {
      const r = {
        feedback: window.feedback.map(({ kind, proposition, placement, offer }) => ({ kind, proposition, placement, offer })),
        fallback: !!document.getElementById('hero-fallback') && !document.querySelector('#hero .rk-tile'),
        focus: document.activeElement.id,
      };
      // The dismissed proposition is not shown again in this page view; another one is.
      window.tiles.render('hero', offer);
      r.dismissedStaysAway = !!document.getElementById('hero-fallback') && !document.querySelector('#hero .rk-tile');
      window.tiles.render('hero', { ...offer, proposition: 'p-other' });
      r.otherShown = document.getElementById('hero').dataset.rkProposition === 'p-other';
      return r;
    }, OFFER);
    const info = { proposition: 'p-1', placement: 'hero', offer: 'cart-10' };
    assert.deepEqual(out.feedback, [{ kind: 'click', ...info }, { kind: 'click', ...info }, { kind: 'dismiss', ...info }]);
    assert.equal(out.fallback, true);
    assert.equal(out.focus, 'hero');
    assert.equal(out.dismissedStaysAway, true);
    assert.equal(out.otherShown, true);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('hostile content runs no script and is shown as text', async () => {
    const { page, problems, requests } = await openPage();
    const evil = '<img src=x onerror=window.__xss=1>';
    await page.evaluate((evil) => {
      window.tiles = new window.Tiles({ onFeedback: window.record, dwellMs: 60_000 });
      // Text mode: every field hostile.
      window.tiles.render('hero', {
        placement: 'hero', offer: 'o-1', proposition: 'p-text',
        content: {
          title: evil, body: '<script>window.__xss=1</script>',
          image: 'data:image/svg+xml,<svg onload="window.__xss=1"/>',
          cta: { label: '<b onmouseover=window.__xss=1>go</b>', url: 'javascript:window.__xss=1' },
        },
      });
      // HTML mode: engine-escaped values, plus markup no template should ever hold.
      window.tiles.render('sidebar', {
        placement: 'sidebar', offer: 'o-2', proposition: 'p-html', content: { title: evil },
        html: '<div class="offer"><strong>&lt;img src=x onerror=window.__xss=1&gt;</strong>'
          + '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'
          + '<a id="js1" href="javascript:window.__xss=1">one</a><a id="js2" href=" JaVa&#x53;cript&colon;window.__xss=1">two</a>'
          + '<a id="js3" href="data:text/html,<script>parent.__xss=1</script>">three</a>'
          + '<a id="ok" href="#safe" data-x="kept">safe</a>'
          + '<iframe src="javascript:parent.__xss=1"></iframe><iframe srcdoc="<script>parent.__xss=1</script>"></iframe>'
          + '<object data="javascript:window.__xss=1"></object><embed src="javascript:window.__xss=1">'
          + '<svg><script>window.__xss=1</script><a xlink:href="javascript:window.__xss=1"><text>svg</text></a>'
          + '<animate attributeName="href" values="javascript:window.__xss=1"/></svg><svg onload="window.__xss=1"></svg>'
          + '<details open ontoggle="window.__xss=1"><summary>more</summary></details>'
          + '<button id="h-btn" type="button" onclick="window.__xss=1" formaction="javascript:window.__xss=1">btn</button>'
          + '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=1"><base href="javascript:">'
          + '<template><script>window.__xss=1</script></template></div>',
      });
    }, evil);

    // Click everything in both tiles except the dismiss buttons, with real clicks for links.
    for (const sel of ['#hero .rk-tile__cta', '#hero .rk-tile__title', '#js1', '#js2', '#js3', '#ok', '#h-btn', '#sidebar summary']) {
      await page.click(sel);
    }
    const out = await page.evaluate(() => {
      for (const el of document.querySelectorAll('.rk-tile *:not([data-rk-dismiss])')) {
        el.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }));
        if (typeof el.click === 'function') el.click();
        for (const type of ['error', 'load', 'mouseover', 'focus', 'toggle']) el.dispatchEvent(new Event(type));
      }
      const hero = document.querySelector('#hero .rk-tile');
      const side = document.querySelector('#sidebar .rk-tile');
      const attrs = [...side.querySelectorAll('*')].flatMap((el) => [...el.attributes].map((a) => `${el.localName}[${a.name}=${a.value}]`));
      return {
        heroTitle: hero.querySelector('.rk-tile__title').textContent,
        heroBody: hero.querySelector('.rk-tile__body').textContent,
        heroCta: { text: hero.querySelector('.rk-tile__cta').textContent, href: hero.querySelector('.rk-tile__cta').hasAttribute('href') },
        heroImages: hero.querySelectorAll('img').length,
        heroElements: [...hero.querySelectorAll('*')].map((el) => el.localName),
        sideStrong: side.querySelector('strong').textContent,
        sideBlocked: side.querySelectorAll('script, iframe, object, embed, meta, base, template, animate').length,
        attrs,
        location: location.pathname,
      };
    });
    // Dismiss last.
    await page.click('#hero [data-rk-dismiss]');
    await page.click('#sidebar [data-rk-dismiss]');
    await sleep(100);
    assert.equal(await page.evaluate(() => window.__xss), undefined);

    assert.equal(out.heroTitle, evil);
    assert.equal(out.heroBody, '<script>window.__xss=1</script>');
    assert.deepEqual(out.heroCta, { text: '<b onmouseover=window.__xss=1>go</b>', href: false });
    assert.equal(out.heroImages, 0);
    assert.deepEqual(out.heroElements, ['button', 'strong', 'p', 'a']);
    assert.equal(out.sideStrong, evil);
    assert.equal(out.sideBlocked, 0);
    for (const a of out.attrs) assert.doesNotMatch(a, /\[on|javascript|data:|srcdoc|\[src=x\]|formaction/i, a);
    assert.ok(out.attrs.includes('a[href=#safe]') && out.attrs.includes('a[data-x=kept]'), String(out.attrs));
    assert.equal(out.location, '/pages/tiles.html');
    // Nothing hostile was even fetched.
    assert.deepEqual(requests.filter((u) => !/\/(pages\/tiles\.html|rekindle\/page\/tiles\.(js|css)|rekindle\/page\/(autotrack|common)\.js)$/.test(u)), []);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a display is counted once after the dwell time, not again for the same proposition in the same view', async () => {
    const { page, problems } = await openPage();
    await page.evaluate((offer) => {
      window.tiles = new window.Tiles({ onFeedback: window.record, dwellMs: 300 });
      window.t0 = performance.now();
      window.tiles.render('hero', offer);
    }, OFFER);
    await page.waitForFunction(() => window.feedback.length >= 1);
    const first = await page.evaluate(() => ({ fb: window.feedback, t0: window.t0 }));
    assert.equal(first.fb.length, 1);
    assert.equal(first.fb[0].kind, 'display');
    assert.deepEqual({ ...first.fb[0], t: 0 }, { kind: 'display', proposition: 'p-1', placement: 'hero', offer: 'cart-10', t: 0 });
    assert.ok(first.fb[0].t - first.t0 >= 300, `display after ${first.fb[0].t - first.t0} ms`);

    // Same proposition again, and scrolling away and back: still one display in this view.
    await page.evaluate((offer) => window.tiles.render('hero', offer), OFFER);
    await page.evaluate(() => window.scrollTo(0, 2000));
    await sleep(100);
    await page.evaluate(() => window.scrollTo(0, 0));
    await sleep(450);
    assert.equal(await page.evaluate(() => window.feedback.length), 1);

    // A re-render after a withdraw is a new view: one more display.
    await page.evaluate((offer) => { window.tiles.withdraw('p-1'); window.tiles.render('hero', offer); }, OFFER);
    await page.waitForFunction(() => window.feedback.length >= 2);
    await sleep(250);
    assert.deepEqual(await page.evaluate(() => window.feedback.map((f) => `${f.kind}:${f.proposition}`)), ['display:p-1', 'display:p-1']);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('default 1 s dwell: no display when scrolled out at once; one display after 1 s of visibility', async () => {
    const { page, problems } = await openPage();
    await page.evaluate((offer) => {
      window.tiles = new window.Tiles({ onFeedback: window.record });
      window.tiles.render('below', { ...offer, placement: 'below', proposition: 'p-below' });
      // The page's own observer proves the tile really was at least half visible.
      window.maxRatio = 0;
      window.halfVisible = new Promise((resolve) => {
        new IntersectionObserver((entries) => {
          for (const e of entries) window.maxRatio = Math.max(window.maxRatio, e.intersectionRatio);
          if (window.maxRatio >= 0.5) resolve(performance.now());
        }, { threshold: [0, 0.5, 1] }).observe(document.querySelector('#below .rk-tile'));
      });
    }, OFFER);
    await sleep(100);
    assert.equal(await page.evaluate(() => window.maxRatio), 0, 'below the fold at first');

    // Into view, and out again within 200 ms (timed in the page, not over the wire).
    const inView = await page.evaluate(async () => {
      const t0 = performance.now();
      document.getElementById('below').scrollIntoView({ block: 'center' });
      await window.halfVisible;
      await new Promise((resolve) => setTimeout(resolve, 100));
      window.scrollTo(0, 0);
      return performance.now() - t0;
    });
    assert.ok(inView < 200, `in view for ${inView} ms`);
    await sleep(1200);
    assert.deepEqual(await page.evaluate(() => window.feedback), [], 'no display when scrolled out at once');

    // Into view and staying: one display, after at least 1 s.
    const t0 = await page.evaluate(() => {
      document.getElementById('below').scrollIntoView({ block: 'center' });
      return performance.now();
    });
    await page.waitForFunction(() => window.feedback.length >= 1, null, { timeout: 4000 });
    await sleep(300);
    const fb = await page.evaluate(() => window.feedback);
    assert.equal(fb.length, 1);
    assert.equal(fb[0].kind, 'display');
    assert.equal(fb[0].proposition, 'p-below');
    const elapsed = fb[0].t - t0;
    assert.ok(elapsed >= 1000 && elapsed < 3000, `display after ${elapsed} ms`);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a tile withdrawn or destroyed before its dwell time ends is never counted', async () => {
    const { page, problems } = await openPage();
    await page.evaluate((offer) => {
      const a = new window.Tiles({ onFeedback: window.record, dwellMs: 200 });
      a.render('hero', offer);
      setTimeout(() => a.withdraw('p-1'), 100);
      const b = new window.Tiles({ onFeedback: window.record, dwellMs: 200 });
      b.render('sidebar', { ...offer, placement: 'sidebar', proposition: 'p-side' });
      setTimeout(() => b.destroy(), 100);
    }, OFFER);
    await sleep(400);
    assert.deepEqual(await page.evaluate(() => window.feedback), []);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('two elements of one placement show one tile view: one display, both restored on withdraw', async () => {
    const { page, problems } = await openPage();
    await page.evaluate((offer) => {
      const twin = document.createElement('div');
      twin.id = 'hero-twin';
      twin.setAttribute('data-rk-placement', 'hero');
      twin.textContent = 'twin fallback';
      document.body.prepend(twin);
      window.tiles = new window.Tiles({ onFeedback: window.record, dwellMs: 200 });
      window.placements = window.tiles.placements();
      window.tiles.render('hero', offer);
    }, OFFER);
    await page.waitForFunction(() => window.feedback.length >= 1);
    await sleep(300);
    const out = await page.evaluate(() => {
      const r = {
        placements: window.placements,
        tiles: document.querySelectorAll('[data-rk-proposition="p-1"] > .rk-tile').length,
        feedback: window.feedback.map((f) => f.kind),
      };
      window.tiles.withdraw('p-1');
      r.restored = document.getElementById('hero-twin').textContent === 'twin fallback'
        && !!document.getElementById('hero-fallback') && !document.querySelector('.rk-tile');
      return r;
    }, OFFER);
    assert.deepEqual(out, { placements: ['hero', 'sidebar', 'below'], tiles: 2, feedback: ['display'], restored: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('autotrack: page views on start and per route change, commerce from data attributes, stop restores', async () => {
    const { page, problems } = await openPage({ referer: 'https://search.example/?q=shoes' });
    const out = await page.evaluate(async () => {
      const tracked = [];
      const originalPush = history.pushState;
      const stop = window.startAutoTrack({ track: (eventType, fields) => tracked.push({ eventType, fields }) });
      const tick = () => new Promise((r) => setTimeout(r, 30));
      const r = { start: tracked.splice(0) };

      history.pushState({}, '', '/pages/route-a');
      document.title = 'Route A'; // set after pushState, as routers do: reported with the view
      await tick();
      r.push = tracked.splice(0);
      history.pushState({}, '', '/pages/route-a');
      history.replaceState({}, '', '/pages/route-a?tab=2');
      location.hash = '#section';
      await tick();
      r.noChange = tracked.splice(0);
      history.replaceState({}, '', '/pages/route-b');
      await tick();
      r.replaceNewPath = tracked.splice(0);
      history.back();
      await new Promise((resolve) => addEventListener('popstate', resolve, { once: true }));
      await tick();
      r.pop = tracked.splice(0);

      document.getElementById('add-label').click();
      document.getElementById('add-from-container').click();
      document.getElementById('remove-malformed').click();
      document.getElementById('pay').click();
      document.getElementById('signup').click();
      document.getElementById('plain').click();
      r.clicks = tracked.splice(0);

      stop();
      r.restored = history.pushState === originalPush && !Object.prototype.hasOwnProperty.call(history, 'pushState')
        && !Object.prototype.hasOwnProperty.call(history, 'replaceState');
      history.pushState({}, '', '/pages/after-stop');
      document.getElementById('add').click();
      await tick();
      r.afterStop = tracked.splice(0);

      const stop2 = window.startAutoTrack({ track: (eventType, fields) => tracked.push({ eventType, fields }), pageViews: false, history: false, commerce: false });
      history.pushState({}, '', '/pages/off');
      document.getElementById('add').click();
      await tick();
      r.allOff = tracked.splice(0);
      r.notPatched = !Object.prototype.hasOwnProperty.call(history, 'pushState');
      stop2();
      return r;
    });

    const url = (p) => `${base}/pages/${p}`;
    assert.deepEqual(out.start, [
      { eventType: 'web.webpagedetails.pageViews', fields: { web: { webPageDetails: { name: 'Tiles test page', URL: url('tiles.html') }, webReferrer: { URL: 'https://search.example/?q=shoes' } } } },
      { eventType: 'commerce.productViews', fields: {
        productListItems: [{ SKU: 'sku-9', name: 'Viewed shoe', productCategory: 'shoes', priceTotal: 120, currencyCode: 'EUR', quantity: 1 }],
        commerce: { productViews: { value: 1 } } } },
    ]);
    assert.deepEqual(out.push, [
      { eventType: 'web.webpagedetails.pageViews', fields: { web: { webPageDetails: { name: 'Route A', URL: url('route-a') }, webReferrer: { URL: url('tiles.html') } } } },
    ]);
    assert.deepEqual(out.noChange, [], 'pushState to the same URL, replaceState on the same path and a #section jump are no page views');
    assert.deepEqual(out.replaceNewPath, [
      { eventType: 'web.webpagedetails.pageViews', fields: { web: { webPageDetails: { name: 'Route A', URL: url('route-b') }, webReferrer: { URL: url('route-a?tab=2#section') } } } },
    ]);
    assert.deepEqual(out.pop, [
      { eventType: 'web.webpagedetails.pageViews', fields: { web: { webPageDetails: { name: 'Route A', URL: url('route-a?tab=2') }, webReferrer: { URL: url('route-b') } } } },
    ]);
    assert.deepEqual(out.clicks, [
      { eventType: 'commerce.productListAdds', fields: {
        productListItems: [{ SKU: 'sku-1', name: 'Trail shoe', productCategory: 'shoes', priceTotal: 89.5, currencyCode: 'EUR', quantity: 2 }],
        commerce: { productListAdds: { value: 1 } } } },
      { eventType: 'commerce.productListAdds', fields: {
        productListItems: [{ SKU: 'sku-9', name: 'Viewed shoe', productCategory: 'shoes', priceTotal: 120, currencyCode: 'EUR', quantity: 1 }],
        commerce: { productListAdds: { value: 1 } } } },
      { eventType: 'commerce.productListRemovals', fields: {
        productListItems: [{ SKU: 'sku-2' }], commerce: { productListRemovals: { value: 1 } } } },
      { eventType: 'commerce.purchases', fields: {
        commerce: { purchases: { value: 1 }, order: { priceTotal: 178, purchaseID: 'A-1001', currencyCode: 'EUR' } } } },
      { eventType: 'acme.newsletter-signup', fields: {} },
    ]);
    assert.equal(out.restored, true);
    assert.deepEqual(out.afterStop, []);
    assert.deepEqual(out.allOff, []);
    assert.equal(out.notPatched, true);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('autotrack events are accepted by the real engine', { skip: !existsSync(path.resolve(here, '../../web/dist/rekindle.wasm')) && 'web/dist not built' }, async () => {
    const { page, problems } = await openPage();
    const results = await page.evaluate(async () => {
      const { createEngine } = await import('/rekindle/index.js');
      const rk = await createEngine();
      const out = [];
      const stop = window.startAutoTrack({ track: (type, fields) => out.push({ type, result: rk.track(type, fields) }) });
      history.pushState({}, '', '/pages/route-x');
      await new Promise((r) => setTimeout(r, 30));
      for (const id of ['add', 'add-from-container', 'remove-malformed', 'pay', 'signup']) document.getElementById(id).click();
      stop();
      rk.destroy();
      return out.map(({ type, result }) => ({ type, ok: result.ok, errors: result.errors }));
    });
    assert.equal(results.length, 8);
    for (const r of results) assert.deepEqual(r.errors, [], r.type);
    assert.ok(results.every((r) => r.ok));
    assert.deepEqual(problems, []);
    await page.close();
  });
});
