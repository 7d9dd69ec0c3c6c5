// The demo store page that `npm start` serves at / (web/demo/index.html), in
// headless Chromium, on the server with the demo's plugin (the store pages,
// and the mailbox on a free port) and the demo's artifact: the template's attributes
// start Rekindle, the consent banner asks first, and nothing leaves the page
// before consent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { demoPlugin } from '../../server/demo/plugin.js';
import { Mailbox } from '../../server/demo/mailbox.js';
import { launchChromium, watchConsole } from './browser.js';
import { startDemoSite } from './demo-site.js';

let app;
let browser;
let base;

before(async () => {
  const mailbox = new Mailbox();
  await mailbox.listen(0);
  ({ app, base } = await startDemoSite({ plugins: [demoPlugin({ mailbox, webhookSecret: 'demo-test' })], scheduler: false }));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await app?.close();
});

test('the store starts Rekindle from the template, asks for consent, and sends nothing before it', async () => {
  const page = await browser.newPage();
  const problems = watchConsole(page);
  const wasmTypes = [];
  const collected = [];
  page.on('response', (r) => {
    if (r.url().endsWith('.wasm')) wasmTypes.push(r.headers()['content-type']);
  });
  page.on('request', (r) => {
    if (r.url().includes('/v1/collect')) collected.push(JSON.parse(r.postData()));
  });
  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-store-ready]');
  assert.deepEqual(wasmTypes, ['application/wasm']);
  assert.equal(await page.locator('.lp-product').count(), 4);
  assert.equal(await page.isVisible('[data-rk-consent-banner]'), true);
  assert.match(await page.textContent('#inspector-hint'), /privacy choices/);
  assert.equal(await page.getAttribute('#inspector-consent [data-purpose="analytics"]', 'data-state'), 'pending');

  // Before consent: the page view and an add to cart stay on the device.
  await page.click('[data-add-to-cart="wool-blanket"]');
  assert.equal(await page.textContent('#cart-count'), '1');
  await page.evaluate(() => window.RekindleLanding.ready.then((rk) => rk.flush()));
  assert.deepEqual(collected, []);

  await page.click('[data-rk-consent-accept-all]');
  await page.waitForSelector('#inspector-consent [data-purpose="analytics"][data-state="granted"]');
  await page.evaluate(() => window.RekindleLanding.ready.then((rk) => rk.flush()));
  const types = collected.flatMap((batch) => batch.records.map((r) => r.body.eventType ?? r.kind));
  assert.ok(types.includes('web.webpagedetails.pageViews'), `sent: ${types}`);
  assert.ok(types.includes('commerce.productListAdds'), `sent: ${types}`);
  assert.equal(await page.isVisible('[data-rk-consent-banner]'), false);

  // The inspector now counts down to the abandonment.
  await page.waitForFunction(() => /counts as abandoned in \d+ s/.test(document.getElementById('inspector-hint').textContent));
  assert.deepEqual(problems, []);
  await page.close();
});

test('in the browser, invalid events are refused with paths and the engine survives', async () => {
  const page = await browser.newPage();
  const problems = watchConsole(page);
  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-store-ready]');
  const results = await page.evaluate(async () => {
    const { createEngine } = await import('/rekindle/index.js');
    const rk = await createEngine();
    const out = {
      notJson: rk.trackJson('{oops'),
      deep: rk.trackJson('['.repeat(10000)),
      huge: rk.trackJson('z'.repeat(3_000_000)),
      missing: rk.track({ eventType: 'x' }),
      after: rk.track('commerce.checkouts'),
    };
    rk.destroy();
    return out;
  });
  assert.match(results.notJson.errors[0].reason, /not valid JSON/);
  assert.match(results.deep.errors[0].reason, /deeper than 32/);
  assert.match(results.huge.errors[0].reason, /over the limit/);
  assert.deepEqual(results.missing.errors.map((e) => e.path), ['$._id', '$.timestamp']);
  assert.equal(results.after.ok, true);
  assert.deepEqual(problems, []);
  await page.close();
});
