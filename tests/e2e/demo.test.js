// The demo page that `npm start` serves, in headless Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildServer } from '../../server/app.js';
import { launchChromium, watchConsole } from './browser.js';

let app;
let browser;
let base;

before(async () => {
  app = await buildServer();
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${app.server.address().port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await app?.close();
});

test('the demo page loads the engine, tracks an event and shows the result', async () => {
  const page = await browser.newPage();
  const problems = watchConsole(page);
  const wasmResponses = [];
  page.on('response', (r) => {
    if (r.url().endsWith('.wasm')) wasmResponses.push(r.headers()['content-type']);
  });
  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-tracked="1"]');
  assert.match(await page.textContent('#version'), /^\d+\.\d+\.\d+$/);
  assert.equal(await page.textContent('#status'), 'accepted');
  const result = JSON.parse(await page.textContent('#result'));
  assert.equal(result.ok, true);
  assert.deepEqual(result.errors, []);

  await page.click('#add');
  await page.waitForSelector('body[data-tracked="2"]');
  assert.equal(await page.textContent('#status'), 'accepted');
  assert.deepEqual(wasmResponses, ['application/wasm']);
  assert.deepEqual(problems, []);
  await page.close();
});

test('in the browser, invalid events are refused with paths and the engine survives', async () => {
  const page = await browser.newPage();
  const problems = watchConsole(page);
  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-tracked="1"]');
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
