// The two ways a page gets Rekindle without the repo's own module paths, in
// headless Chromium against the recording server:
// - the script-tag build, web/dist/rekindle.global.js, loaded by a classic
//   <script src> and used from an inline classic script through the global
//   `Rekindle` (the .wasm found next to the script);
// - a tiny app (tests/fixtures/bundler-app) that imports 'rekindle' by name,
//   installed from the tarball `npm pack` makes, bundled with esbuild;
// and both given the wasm's bytes (`wasmBinary`: the ES module, and the
// script-tag build run inline, where it has no URL of its own), fetching none.
// All fail on any console error. (tests/e2e/package.test.js installs the
// tarball with npm and checks it from Node.) The wasm is not rebuilt: the test uses
// web/dist as `bash scripts/build.sh module` left it, and refreshes the
// script-tag build from it (scripts/build-web.mjs, which writes only on change).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { startRecordingServer } from './recording-server.js';
import { launchChromium, watchConsole } from './browser.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/bundler-app/', import.meta.url));

let tmp;
let app;
let server;
let browser;

before(async () => {
  for (const f of ['rekindle.mjs', 'rekindle.wasm']) {
    assert.ok(existsSync(join(root, 'web/dist', f)), `web/dist/${f} is missing: run \`bash scripts/build.sh module\``);
  }
  execFileSync(process.execPath, ['scripts/build-web.mjs'], { cwd: root, stdio: 'pipe' });

  // The consumer's app: its sources, and the package as npm would install it
  // (the packed tarball, extracted into node_modules/rekindle).
  tmp = await mkdtemp(join(tmpdir(), 'rekindle-bundle-'));
  app = join(tmp, 'app');
  await cp(fixture, app, { recursive: true });
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  const pkg = join(app, 'node_modules', 'rekindle');
  await mkdir(pkg, { recursive: true });
  execFileSync('tar', ['-xzf', join(tmp, packed.filename), '-C', pkg, '--strip-components=1']);

  server = await startRecordingServer({
    mounts: {
      '/rekindle/': join(root, 'web/'),
      '/pages/': fileURLToPath(new URL('./pages/', import.meta.url)),
      '/app/': join(app, 'dist/'),
    },
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// Waits for the page to set body[data-ready]; a page that fails first is reported with its console errors.
async function ready(page, problems) {
  try {
    await page.waitForFunction(() => document.body?.dataset.ready === '1' || document.body?.dataset.failed === '1',
      null, { timeout: 10000 });
  } catch (err) {
    assert.fail(`the page never got ready (${err.message}); console: ${problems.join(' | ') || 'nothing'}`);
  }
  assert.equal(await page.getAttribute('body', 'data-ready'), '1', `the page failed: ${problems.join(' | ')}`);
}

test('the script-tag build defines one global, finds rekindle.wasm next to itself and renders a tile', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.addInitScript(() => { window.globalsBefore = Object.keys(window); });
  const start = server.requests.length;
  await page.goto(`${server.origin}/pages/script-tag.html`);
  await ready(page, problems);

  assert.equal(await page.evaluate(() => window.before), null, 'no tile before the profile has a first name');
  assert.equal((await page.textContent('#hero .rk-tile__title')).trim(), 'Hello, Ada');
  assert.match(await page.textContent('#hero'), /Shown by the script-tag build/);
  assert.deepEqual(await page.evaluate(() => window.rkErrors), []);

  // The wasm came from next to the script, not from next to the page.
  const paths = server.requests.slice(start).map((r) => r.path);
  assert.ok(paths.includes('/rekindle/dist/rekindle.global.js'), paths.join(', '));
  assert.ok(paths.includes('/rekindle/dist/rekindle.wasm'), `rekindle.wasm fetched from /rekindle/dist/ (${paths.join(', ')})`);

  // One global, `Rekindle`, with the API of the ES module; the page's own are rk, rkErrors, before.
  const api = await page.evaluate(() => ({
    keys: Object.keys(window.Rekindle).sort(),
    added: Object.keys(window).filter((k) => k !== 'globalsBefore' && !window.globalsBefore.includes(k)).sort(),
  }));
  assert.deepEqual(api.keys, ['RekindleArtifactError', 'RekindleConditionError', 'RekindleOptionsError', 'createEngine', 'createRekindle']);
  assert.deepEqual(api.added, ['Rekindle', 'before', 'rk', 'rkErrors']);

  // The bare engine and the error classes work through the global too.
  const engine = await page.evaluate(async () => {
    const e = await Rekindle.createEngine();
    const tracked = e.track('commerce.productViews', { productListItems: [{ SKU: 'sku-1' }] });
    e.destroy();
    let error = null;
    try {
      await Rekindle.createRekindle({ storage: 'memory', colour: 'red' });
    } catch (err) {
      error = { isOptionsError: err instanceof Rekindle.RekindleOptionsError, option: err.option };
    }
    return { ok: tracked.ok, error };
  });
  assert.deepEqual(engine, { ok: true, error: { isOptionsError: true, option: 'colour' } });

  assert.deepEqual(problems, []);
  await context.close();
});

test('an app bundled with esbuild from the packed package tracks an event and shows the tile', async () => {
  // Only what `files` in package.json lists is installed: a missing module fails the bundle.
  const result = await esbuild.build({
    absWorkingDir: app,
    entryPoints: ['main.js'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    outdir: 'dist',
    logLevel: 'silent',
  });
  assert.deepEqual(result.warnings.map((w) => w.text), []);
  const bundle = await readFile(join(app, 'dist/main.js'), 'utf8');
  assert.doesNotMatch(bundle, /node:fs/, 'the browser entry of the package was bundled, not the Node one');
  // The app's build copies the package's wasm (its "./rekindle.wasm" export) next to the bundle.
  const wasm = createRequire(join(app, 'package.json')).resolve('rekindle/rekindle.wasm');
  assert.ok(wasm.startsWith(join(app, 'node_modules/rekindle/')), wasm);
  await cp(wasm, join(app, 'dist/rekindle.wasm'));
  await cp(join(app, 'index.html'), join(app, 'dist/index.html'));

  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  const start = server.requests.length;
  await page.goto(`${server.origin}/app/index.html`);
  await ready(page, problems);
  assert.equal((await page.textContent('#hero')).trim(), 'Our newsletter');
  await page.click('#signup');
  await page.waitForSelector('#hero .rk-tile', { timeout: 5000 });
  assert.equal((await page.textContent('#hero .rk-tile__title')).trim(), 'Thanks for subscribing');
  assert.match(await page.textContent('#result'), /^tracked [0-9a-f-]{36}; segments: subscriber$/);

  const paths = server.requests.slice(start).map((r) => r.path);
  assert.ok(paths.includes('/app/rekindle.wasm'), `rekindle.wasm fetched from next to the bundle (${paths.join(', ')})`);
  assert.ok(!paths.some((p) => p.startsWith('/rekindle/')), 'nothing loaded from the repo');
  assert.deepEqual(problems, []);
  await context.close();
});

test('wasmBinary: the ES module and the script-tag build compile the bytes given and fetch no rekindle.wasm', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(`${server.origin}/pages/blank.html`);
  const start = server.requests.length;
  const result = await page.evaluate(async () => {
    const bytes = await (await fetch('/rekindle/dist/rekindle.wasm')).arrayBuffer();
    const event = ['commerce.productViews', { productListItems: [{ SKU: 'sku-1' }] }];
    // The ES module (web/index.js), with a wasmUrl that would fail: the bytes win.
    const m = await import('/rekindle/index.js');
    const engine = await m.createEngine({ wasmBinary: bytes, wasmUrl: '/nowhere/rekindle.wasm' });
    const module = engine.track(...event).ok;
    engine.destroy();
    const rk = await m.createRekindle({ storage: 'memory', autoTrack: false, render: false, wasmBinary: new Uint8Array(bytes), wasmUrl: '/nowhere/rekindle.wasm' });
    const page = (await rk.track(...event)).ok;
    await rk.destroy();
    let refused = null;
    try {
      await m.createEngine({ wasmBinary: 'rekindle.wasm' });
    } catch (err) {
      refused = err instanceof m.RekindleOptionsError ? err.option : String(err);
    }
    // The script-tag build run inline: no <script src>, so no URL of its own for the wasm.
    const script = document.createElement('script');
    script.textContent = await (await fetch('/rekindle/dist/rekindle.global.js')).text();
    document.head.append(script);
    const global = await window.Rekindle.createEngine({ wasmBinary: bytes });
    const tag = global.track(...event).ok;
    global.destroy();
    const tagPage = await window.Rekindle.createRekindle({ storage: 'memory', autoTrack: false, render: false, wasmBinary: bytes });
    const tagRuntime = (await tagPage.track(...event)).ok;
    await tagPage.destroy();
    let noUrl = null;
    try {
      await window.Rekindle.createEngine();
    } catch (err) {
      noUrl = err instanceof window.Rekindle.RekindleOptionsError ? err.option : String(err);
    }
    return { module, page, refused, tag, tagRuntime, noUrl };
  });
  assert.deepEqual(result, { module: true, page: true, refused: 'wasmBinary', tag: true, tagRuntime: true, noUrl: 'wasmUrl' });
  const wasmFetches = server.requests.slice(start).map((r) => r.path).filter((p) => p.endsWith('.wasm'));
  assert.deepEqual(wasmFetches, ['/rekindle/dist/rekindle.wasm'], 'only the page\'s own fetch of the bytes');
  assert.deepEqual(problems, []);
  await context.close();
});
