// The landing-page template (web/templates/landing.html) as a marketer ships
// it: the script-tag build and data attributes only. In headless Chromium
// against the bare server with the demo's artifact; the page's clock is
// moved past the 30-second abandonment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchChromium, watchConsole } from './browser.js';
import { treatmentDeviceId, pinDevice } from './demo-visitor.js';
import { startDemoSite } from './demo-site.js';

const RESULTS = fileURLToPath(new URL('../../test-results/', import.meta.url));

let app;
let browser;
let base;

before(async () => {
  ({ app, base } = await startDemoSite());
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await app?.close();
});

test('the template: consent banner, sign-up form, add to cart, then the campaign tile in the hero placement', async () => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  await pinDevice(context, treatmentDeviceId()); // not one of the 1 in 10 the journey holds out
  const page = await context.newPage();
  const problems = watchConsole(page);
  const sent = [];
  page.on('request', (r) => {
    if (r.url().includes('/v1/collect')) sent.push(...JSON.parse(r.postData()).records);
  });
  await page.clock.install();
  await page.goto(`${base}/rekindle/templates/landing.html`);
  await page.waitForSelector('html[data-rk-ready]');
  assert.match(await page.textContent('[data-rk-placement="hero"]'), /The autumn collection is here/);
  assert.equal(await page.isVisible('[data-rk-consent-banner]'), true);
  // From the keyboard the banner comes first, before the page's links and buttons.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.closest('[data-rk-consent-banner]') !== null), true);

  await page.click('[data-rk-consent-accept-all]');
  assert.equal(await page.isVisible('[data-rk-consent-banner]'), false);
  await page.fill('[data-rk-attribute="firstName"]', 'Grace');
  await page.fill('[data-rk-identity="email"]', 'grace@example.com');
  await page.check('#signup [data-rk-consent="marketing.email"]');
  await page.click('#signup button[type="submit"]');
  await page.waitForSelector('[data-rk-identify-done]:not([hidden])');

  await page.click('[data-rk-sku="rain-jacket"] [data-rk-event="commerce.productListAdds"]');
  await page.evaluate(() => window.RekindleLanding.ready.then((rk) => rk.flush()));
  const add = sent.find((r) => r.body.eventType === 'commerce.productListAdds');
  assert.deepEqual(add.body.productListItems, [{ SKU: 'rain-jacket', name: 'Rain jacket', productCategory: 'outerwear', priceTotal: 129, currencyCode: 'EUR', quantity: 1 }]);
  assert.ok(sent.some((r) => r.kind === 'fragment' && (r.body.identities?.email ?? []).includes('grace@example.com')), 'the email identity was sent');
  assert.ok(sent.some((r) => r.kind === 'fragment' && r.body.fields?.['attributes.firstName']?.value === 'Grace'), 'the first name was sent');

  // 30 seconds later the cart is abandoned: the journey's tile takes the hero placement.
  await page.clock.fastForward(31_000);
  const tile = await page.waitForSelector('[data-rk-placement="hero"] .rk-tile');
  assert.match(await tile.textContent(), /Still thinking it over, Grace\?/);
  assert.equal(await page.getAttribute('[data-rk-placement="hero"] .rk-tile__cta', 'href'), '/cart');
  assert.match(await page.textContent('[data-rk-placement="sidebar"]'), /Free returns/);

  // "Privacy choices" opens the banner again, showing what was decided.
  await page.click('.lp-nav [data-rk-consent-open]');
  assert.equal(await page.isVisible('[data-rk-consent-banner]'), true);
  assert.equal(await page.isChecked('[data-rk-consent-banner] [data-rk-consent="personalize"]'), true);
  // The focus is in it; Escape closes it and gives the focus back to the link.
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-rk-consent')), 'analytics');
  await page.keyboard.press('Escape');
  assert.equal(await page.isVisible('[data-rk-consent-banner]'), false);
  assert.equal(await page.evaluate(() => document.activeElement.hasAttribute('data-rk-consent-open')), true);
  await page.click('.lp-nav [data-rk-consent-open]');
  await page.click('[data-rk-consent-banner] [data-rk-consent-save]');

  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: `${RESULTS}landing.png` });
  assert.deepEqual(problems, []);
  await context.close();
});
