// The campaign dashboard (server/dashboard) in headless Chromium, on the
// reference server with the demo's artifact: a journey nobody has entered yet
// says so instead of drawing an empty chart, and a server that stops answering
// is shown as such, with the age of the figures on screen, instead of old
// figures that still look fresh. The page's clock is Playwright's, so the
// 5 s refresh and the 10 s answer limit pass without waiting.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dashboardPlugin } from '../../server/dashboard/plugin.js';
import { launchChromium, watchConsole } from './browser.js';
import { startDemoSite } from './demo-site.js';

let app;
let browser;
let base;

before(async () => {
  ({ app, base } = await startDemoSite({ plugins: [dashboardPlugin({ localToken: true })], scheduler: false }));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await app?.close();
});

test('no activity yet is said in words; a server that hangs is reported with the age of the figures shown', async () => {
  const page = await browser.newPage();
  const problems = watchConsole(page);
  await page.clock.install();
  await page.goto(`${base}/dashboard`);
  await page.waitForSelector('body[data-loaded="1"]');
  const status = () => page.textContent('#db-status');
  const fresh = (await status()).match(/^updated (\d\d?:\d\d:\d\d(?: [AP]M)?) · refreshes every 5 s$/);
  assert.ok(fresh, await status());
  const updated = fresh[1];
  // The demo journey, entered by nobody: a sentence, no chart.
  assert.equal(await page.isVisible('.db-chart__empty'), true);
  assert.match(await page.textContent('.db-chart__empty'), /No activity yet/);
  assert.equal(await page.locator('.uplot').count(), 0);

  // From now on the server takes every report request and never answers.
  let held = 0;
  await page.route('**/v1/admin/reports/journeys*', () => { held += 1; });
  await page.clock.fastForward(5_000);   // the next refresh asks
  await page.clock.fastForward(10_500);  // and gives up
  await page.waitForFunction(() => document.getElementById('db-status').textContent.startsWith('not updated'));
  assert.ok(held >= 1);
  assert.equal(await status(),
    `not updated: the server did not answer within 10 s · the figures shown are from ${updated} · retrying every 5 s`);
  assert.match(await page.getAttribute('#db-status', 'class'), /db-status--error/);
  // It goes on asking.
  const before = held;
  await page.clock.fastForward(5_500);
  for (let i = 0; i < 50 && held === before; ++i) await new Promise((r) => setTimeout(r, 100));
  assert.ok(held > before, `asked again (${held} requests held)`);
  assert.deepEqual(problems, []);
  await page.close();
});
