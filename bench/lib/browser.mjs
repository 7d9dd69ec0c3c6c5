// The Chromium measurements, driven with playwright-core through the e2e
// tests' launcher (Debian's chromium, headless, off the network). Pages are
// served by server.mjs; each measurement gets a fresh page (and, where the
// cache or storage matters, a fresh browser context).
import { launchChromium } from '../../tests/e2e/browser.js';
import { startServer } from './server.mjs';
import { PATHS } from './paths.mjs';

const READY = (page) => page.waitForSelector('body[data-ready]', { state: 'attached' });

/** Opens Chromium and the server; `fn({ browser, origin, open })`; closes both. */
export async function withChromium(extra, fn) {
  const server = await startServer(PATHS.root, extra);
  const browser = await launchChromium();
  try {
    const open = async (context, path) => {
      const page = await context.newPage();
      const problems = [];
      page.on('pageerror', (err) => problems.push(err.message));
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(msg.text());
      });
      page.problems = problems;
      await page.goto(`${server.origin}${path}`);
      return page;
    };
    return await fn({ browser, origin: server.origin, open, version: browser.version() });
  } finally {
    await browser.close();
    await server.close();
  }
}

function fail(page, what, err) {
  const extra = page.problems.length ? ` (page: ${page.problems.join('; ')})` : '';
  return new Error(`${what}: ${err.message ?? err}${extra}`);
}

async function call(page, what, fn, arg) {
  try {
    return await page.evaluate(fn, arg);
  } catch (err) {
    throw fail(page, what, err);
  }
}

/** Item 1: every evaluator agrees on the check profiles (throws otherwise). */
export async function ruleCheck({ browser, open }) {
  const context = await browser.newContext();
  const page = await open(context, '/bench/pages/rule.html');
  await READY(page);
  const problems = await call(page, 'rule check', () => window.benchCheck());
  await context.close();
  if (problems.length > 0) throw new Error(`Chromium: the evaluators disagree:\n  ${problems.join('\n  ')}`);
}

/** Item 1: one timed batch of evaluator `id` in a fresh page; ns per evaluation. */
export async function ruleBatch({ browser, open }, id, n, warmup) {
  const context = await browser.newContext();
  const page = await open(context, '/bench/pages/rule.html');
  await READY(page);
  const ns = await call(page, `rule ${id}`, ([i, nn, w]) => window.benchTime(i, nn, w), [id, n, warmup]);
  await context.close();
  return ns;
}

/** Item 2 and 4: one ingest run (see ingest-page.mjs benchIngest). */
export async function ingestRun({ browser, open }, options) {
  const context = await browser.newContext();
  const page = await open(context, '/bench/pages/ingest.html');
  await READY(page);
  const out = await call(page, 'ingest', (o) => window.benchIngest(o), options);
  await context.close();
  // Without cross-origin isolation performance.now() ticks in 100 µs steps.
  if (!out.crossOriginIsolated) throw new Error('ingest: the page is not cross-origin isolated; per-event times would be rounded to 100 µs');
  return out;
}

/** The page runtime's cost per tracked event (ingest-page.mjs benchRuntimeIngest). */
export async function runtimeIngestRun({ browser, open }, options) {
  const context = await browser.newContext();
  const page = await open(context, '/bench/pages/ingest.html');
  await READY(page);
  const out = await call(page, 'runtime ingest', (o) => window.benchRuntimeIngest(o), options);
  await context.close();
  return out;
}

async function readyFigures(page) {
  try {
    await page.waitForFunction(() => window.benchReady !== undefined, null, { timeout: 60000 });
  } catch (err) {
    throw fail(page, 'time to ready', err);
  }
  const r = await page.evaluate(() => window.benchReady);
  if (r.error) throw fail(page, 'time to ready', new Error(r.error));
  if (r.problems.length > 0) throw fail(page, 'time to ready', new Error(r.problems.join('; ')));
  return r;
}

/**
 * Item 3: one time-to-ready run in a fresh context. `scenario`: 'cold' (no
 * state, nothing cached), 'restored' (the snapshot at `snapshotPath` saved
 * in the page runtime's storage, nothing cached) or 'repeat' (restored, and
 * a second visit: HTTP cache and compiled code warm).
 */
export async function readyRun({ browser, open }, scenario, snapshotPath) {
  const context = await browser.newContext();
  try {
    if (scenario !== 'cold') {
      const seedPage = await open(context, '/bench/pages/ingest.html');
      await READY(seedPage);
      await call(seedPage, 'seed', (url) => window.benchSeed(url), snapshotPath);
      await seedPage.close();
    }
    const prefix = scenario === 'repeat' ? '/cached' : '';
    if (scenario === 'repeat') {
      const first = await open(context, `${prefix}/bench/pages/ready.html`);
      await readyFigures(first);
      await first.close();
    }
    const page = await open(context, `${prefix}/bench/pages/ready.html`);
    const r = await readyFigures(page);
    if (scenario !== 'cold' && r.restoredChars < 1_000_000) {
      throw new Error(`time to ready (${scenario}): the runtime did not restore the seeded snapshot (${r.restoredChars} chars of state)`);
    }
    return r;
  } finally {
    await context.close();
  }
}

/** Renders an SVG document to a PNG file with a Chromium screenshot. */
export async function renderPng({ browser }, svg, width, height, file) {
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 2 });
  const page = await context.newPage();
  await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff">${svg}</body></html>`);
  await page.screenshot({ path: file, clip: { x: 0, y: 0, width, height } });
  await context.close();
}
