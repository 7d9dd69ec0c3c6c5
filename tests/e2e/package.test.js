// The package as a website installs it: `npm pack` (with its prepack build)
// makes the tarball, `npm install <tarball>` puts it in a fresh project, and
// that project uses it by name only. What a website needs installs and works
// without the reference server's packages (optional peer dependencies); the
// files the docs point to are shipped and exported; `rekindle serve` without
// the server's packages says which to install, and with them (linked from
// this repo's node_modules, not downloaded) starts from the installed copy.
// The install is --prefer-offline: the npm cache has what `npm ci` fetched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const repoPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const SERVER_PACKAGES = Object.keys(repoPkg.peerDependencies);

let tmp;
let app;
let installed;
let installLog = '';

/** Runs a command in the app; resolves with its exit code and output (never rejects). */
function run(file, args, { cwd = app, env = {}, timeout = 60_000 } = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: { ...process.env, ...env }, timeout, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? error.signal) : 0, stdout, stderr, killed: error?.killed ?? false });
    });
  });
}

/** Runs an ES module given as text in the app (so 'rekindle' resolves as the app's dependency). */
async function runModule(source, options) {
  const file = join(app, `check-${Math.random().toString(36).slice(2)}.mjs`);
  await writeFile(file, source);
  return run(process.execPath, [file], options);
}

before(async () => {
  for (const f of ['rekindle.mjs', 'rekindle.wasm']) {
    assert.ok(existsSync(join(root, 'web/dist', f)), `web/dist/${f} is missing: run \`bash scripts/build.sh module\``);
  }
  tmp = await mkdtemp(join(tmpdir(), 'rekindle-package-'));
  // The real `npm pack`: its prepack builds web/dist (a no-op on a built tree) and
  // prints the build on stderr, so stdout is the JSON alone.
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', tmp],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 }));
  app = join(tmp, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'a-website', version: '1.0.0', private: true, type: 'module' }));
  const tarball = join(tmp, packed.filename);
  const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { timeout: 180_000 });
  installLog = `${install.stdout}${install.stderr}`;
  assert.equal(install.code, 0, `npm install ${tarball} failed:\n${installLog}`);
  installed = join(app, 'node_modules', 'rekindle');
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('npm install of the tarball is small: no server packages, no engine warnings', () => {
  const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8'));
  const names = Object.keys(lock.packages).filter((p) => p.startsWith('node_modules/')).map((p) => p.slice('node_modules/'.length));
  assert.ok(names.includes('rekindle'), names.join(', '));
  assert.ok(names.includes('cli-progress'), 'rekindle import needs cli-progress, a dependency');
  for (const name of [...SERVER_PACKAGES, 'smtp-server', 'mailparser', '@fastify/cors']) {
    assert.ok(!names.some((n) => n === name || n.endsWith(`/node_modules/${name}`)), `${name} was installed`);
  }
  assert.ok(names.length <= 10, `${names.length} packages installed: ${names.join(', ')}`);
  assert.doesNotMatch(installLog, /EBADENGINE|ERESOLVE|peer dep/i, installLog);
});

test('the tarball holds what the docs point to, and no demo', () => {
  for (const f of ['LICENSE', 'README.md', 'bin/rekindle.js', 'web/dist/rekindle.wasm', 'web/dist/rekindle.mjs',
    'web/dist/rekindle.global.js', 'web/index.d.ts', 'server/serve.js', 'server/engine-worker.js',
    'server/dashboard/public/index.html', 'docs/openapi.yaml', 'docs/schema/artifact.schema.json',
    'docs/schema/event.schema.json', 'examples/abandoned-cart.json', 'examples/messages.json']) {
    assert.ok(existsSync(join(installed, f)), `${f} is not in the package`);
  }
  for (const f of ['server/index.js', 'server/demo', 'web/demo', 'core', 'tests', 'web/global-entry.js']) {
    assert.ok(!existsSync(join(installed, f)), `${f} is in the package`);
  }
  assert.match(readFileSync(join(installed, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0[\s\S]*Copyright 2026 The Rekindle Authors/);
  // Every schema the repo has is shipped.
  const schemas = readdirSync(join(root, 'docs/schema')).filter((f) => f.endsWith('.schema.json')).sort();
  assert.deepEqual(readdirSync(join(installed, 'docs/schema')).sort(), schemas);
});

test("import('rekindle') works in Node, and the process ends after createRekindle without destroy()", async () => {
  const r = await runModule(`
    import { createRekindle, createEngine, RekindleOptionsError } from 'rekindle';
    const engine = await createEngine();
    const tracked = engine.track('commerce.productViews', { productListItems: [{ SKU: 'sku-1' }] });
    engine.destroy();
    const { readFileSync } = await import('node:fs');
    const { createRequire } = await import('node:module');
    const artifact = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('rekindle/examples/abandoned-cart.json'), 'utf8'));
    const rk = await createRekindle({ artifact });
    const event = await rk.track('commerce.productListAdds', { productListItems: [{ SKU: 'sku-1', quantity: 1 }] });
    // The abandoned cart's deadline is 30 minutes away: its timer must not hold the process either.
    if (rk.nextDeadline() === null) throw new Error('no deadline after an add to cart');
    let error = null;
    try { await createEngine({ wasmBinary: 'not bytes' }); } catch (e) { error = e instanceof RekindleOptionsError ? e.option : String(e); }
    console.log(JSON.stringify({ version: engine.version, engine: tracked.ok, page: event.ok, error }));
    // no rk.destroy(): nothing the runtime holds keeps the process alive
  `, { timeout: 20_000 });
  assert.equal(r.killed, false, `the process did not end by itself (killed after 20 s); stderr: ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.match(out.version, /\S/);
  assert.deepEqual({ ...out, version: null }, { version: null, engine: true, page: true, error: 'wasmBinary' });
});

test('the documented files resolve through the exports map', async () => {
  const subpaths = {
    'rekindle/web/templates/landing.js': 'web/templates/landing.js',
    'rekindle/web/templates/landing.html': 'web/templates/landing.html',
    'rekindle/web/templates/landing.css': 'web/templates/landing.css',
    'rekindle/web/page/tiles.css': 'web/page/tiles.css',
    'rekindle/tiles.css': 'web/page/tiles.css',
    'rekindle/rekindle.wasm': 'web/dist/rekindle.wasm',
    'rekindle/web/dist/rekindle.wasm': 'web/dist/rekindle.wasm',
    'rekindle/rekindle.global.js': 'web/dist/rekindle.global.js',
    'rekindle/web/dist/rekindle.global.js': 'web/dist/rekindle.global.js',
    'rekindle/docs/schema/artifact.schema.json': 'docs/schema/artifact.schema.json',
    'rekindle/docs/openapi.yaml': 'docs/openapi.yaml',
    'rekindle/examples/abandoned-cart.json': 'examples/abandoned-cart.json',
    'rekindle/package.json': 'package.json',
  };
  const r = await runModule(`
    import { createRequire } from 'node:module';
    import { fileURLToPath } from 'node:url';
    const require = createRequire(import.meta.url);
    const out = {};
    for (const s of ${JSON.stringify(Object.keys(subpaths))}) {
      out[s] = { imported: fileURLToPath(import.meta.resolve(s)), required: require.resolve(s) };
    }
    console.log(JSON.stringify(out));
  `);
  assert.equal(r.code, 0, r.stderr);
  const resolved = JSON.parse(r.stdout);
  for (const [specifier, file] of Object.entries(subpaths)) {
    const expected = join(installed, file);
    assert.deepEqual(resolved[specifier], { imported: expected, required: expected }, specifier);
    assert.ok(existsSync(expected), `${specifier}: ${expected} does not exist`);
  }
  // The browser entry is what bundlers get; Node gets its own.
  assert.equal((await runModule("console.log(import.meta.resolve('rekindle'))")).stdout.trim().endsWith('/rekindle/web/node.js'), true);
});

test('the types resolve from the installed package; RekindleDestroyedError is a type, checked by its name', async () => {
  await writeFile(join(app, 'types.ts'), `
    import { createRekindle, type RekindleDestroyedError } from 'rekindle';
    export async function main(): Promise<string> {
      const rk = await createRekindle({ storage: 'memory', wasmBinary: new Uint8Array(0) });
      await rk.destroy();
      try {
        await rk.flush();
      } catch (err) {
        if (err instanceof Error && err.name === 'RekindleDestroyedError') return (err as RekindleDestroyedError).name;
      }
      return '';
    }
  `);
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', types: [], skipLibCheck: false },
    files: ['types.ts'],
  }));
  const tsc = join(root, 'node_modules/.bin/tsc');
  const r = await run(tsc, ['-p', join(app, 'tsconfig.json')]);
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
});

test('npx rekindle validate and simulate work from a plain install', async () => {
  const artifact = join(installed, 'examples/abandoned-cart.json');
  const valid = await run('npx', ['--no', 'rekindle', 'validate', artifact, '--json']);
  assert.equal(valid.code, 0, valid.stderr);
  assert.deepEqual(JSON.parse(valid.stdout), { ok: true, errors: [] });

  const sim = await run('npx', ['--no', 'rekindle', 'simulate', artifact, join(installed, 'examples/abandoned-cart.events.jsonl'), '--json']);
  assert.equal(sim.code, 0, sim.stderr);
  const lines = sim.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.some((h) => h.kind === 'realized' && h.segment === 'abandoned-cart'), sim.stdout);

  const version = await run('npx', ['--no', '--', 'rekindle', '--version']);
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, new RegExp(`^rekindle ${repoPkg.version.replace(/\./g, '\\.')} \\(engine `));
});

test('npx rekindle serve without the server packages exits 2 and names the npm install command', async () => {
  const r = await run('npx', ['--no', 'rekindle', 'serve']);
  assert.equal(r.code, 2, `${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^rekindle: serve needs the reference server's packages/);
  assert.match(r.stderr, new RegExp(`Missing: ${SERVER_PACKAGES.join(', ')}\\.`));
  const command = `npm install ${SERVER_PACKAGES.map((n) => `${n}@${repoPkg.devDependencies[n] ?? repoPkg.peerDependencies[n]}`).join(' ')}`;
  assert.ok(r.stderr.split('\n').some((line) => line.trim() === command), `no line reads "${command}":\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error|ERR_MODULE_NOT_FOUND|at .*\.js:\d+/);
});

test('with the server packages present, rekindle serve runs from the installed copy', async (t) => {
  // This repo's copies, linked into the app (their own dependencies resolve from here).
  for (const name of SERVER_PACKAGES) {
    const link = join(app, 'node_modules', name);
    await mkdir(join(link, '..'), { recursive: true });
    await symlink(join(root, 'node_modules', name), link, 'dir');
  }
  t.after(async () => {
    for (const name of SERVER_PACKAGES) await rm(join(app, 'node_modules', name), { force: true });
  });
  const config = join(tmp, 'rekindle.config.json');
  await writeFile(config, JSON.stringify({ port: 0, database: 'data/rekindle.db', adminToken: 'package-test-admin-token',
    sites: [{ id: 'shop', writeKeys: ['k'], origins: ['*'], artifact: join(installed, 'examples/abandoned-cart.json') }] }));
  const child = spawn(process.execPath, [join(app, 'node_modules/.bin/rekindle'), 'serve', '--config', config],
    { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGTERM'));
  let output = '';
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 20 s: ${output}`)), 20_000);
    const read = (chunk) => {
      output += chunk;
      const m = /Rekindle server: (http:\/\/[^/\s]+)\//.exec(output);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited with ${code}: ${output}`)); });
  });
  const health = await fetch(`${base}/healthz`);
  assert.equal(health.status, 200);
  const artifact = await fetch(`${base}/v1/artifact`, { headers: { 'x-rekindle-key': 'k' } });
  assert.equal(artifact.status, 200, await artifact.clone().text());
  assert.equal((await artifact.json()).version, JSON.parse(readFileSync(join(installed, 'examples/abandoned-cart.json'), 'utf8')).version);
  // The module's files and the dashboard come from the installed package.
  assert.equal((await fetch(`${base}/rekindle/dist/rekindle.wasm`)).status, 200);
  assert.equal((await fetch(`${base}/dashboard`)).status, 200);
  assert.ok(existsSync(join(tmp, 'data/rekindle.db')), 'the database is where the configuration says');
});
