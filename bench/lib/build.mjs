// Builds what the benchmark needs, so that `npm run bench` works from a fresh
// clone after `npm ci`:
//   - the native Google Benchmark program (build/bench, Release);
//   - the wasm module and the script-tag build (web/dist), only when missing:
//     what is there is what ships, and is measured as it is;
//   - the rule harness (bench/wasm/rule_eval.cc) compiled to wasm with the
//     module's compiler flags, when missing or older than its sources;
//   - the Chromium pages' bundles (esbuild).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, statSync, readdirSync, mkdirSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PATHS, ROOT, ruleHarness } from './paths.mjs';

function run(cmd, args, options = {}) {
  console.log(`bench: $ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', ...options });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

function newest(paths) {
  let t = 0;
  for (const p of paths) if (existsSync(p)) t = Math.max(t, statSync(p).mtimeMs);
  return t;
}

function filesUnder(dir, pattern) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(p, pattern));
    else if (pattern.test(entry.name)) out.push(p);
  }
  return out;
}

/** The native benchmark program, configured once and rebuilt incrementally. */
export function buildNative() {
  if (!existsSync(join(PATHS.nativeBuild, 'CMakeCache.txt'))) {
    run('cmake', ['-S', '.', '-B', PATHS.nativeBuild, '-DCMAKE_BUILD_TYPE=Release', '-DREKINDLE_BENCH=ON', '-DREKINDLE_TESTS=OFF']);
  }
  run('cmake', ['--build', PATHS.nativeBuild, '-j2', '--target', 'rekindle_core_bench']);
}

/** web/dist: built by the project's own script when a file is missing. */
export function buildModule() {
  const missing = [PATHS.wasmModule, PATHS.wasmGlue, PATHS.wasmSymbols, PATHS.globalBuild, PATHS.globalMeta].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    console.log(`bench: ${missing.map((p) => p.slice(ROOT.length)).join(', ')} missing`);
    run('bash', ['scripts/build.sh', 'module']);
  }
}

function nlohmannInclude() {
  for (const dir of ['/usr/include', '/usr/local/include']) {
    if (existsSync(join(dir, 'nlohmann', 'json.hpp'))) return join(dir, 'nlohmann');
  }
  throw new Error('nlohmann/json.hpp not found (bash scripts/setup.sh installs nlohmann-json3-dev)');
}

/**
 * bench/wasm/rule_eval.cc -> build/bench-run/wasm/rule_eval.{mjs,wasm} with
 * the module's flags (-Oz -finline-functions, CMakeLists.txt), and
 * rule_eval_o2.* with -O2 everywhere for comparison.
 */
export function buildRuleHarness() {
  const sources = [
    join(ROOT, 'bench/wasm/rule_eval.cc'),
    ...filesUnder(join(ROOT, 'core/rules'), /\.cc$/),
    ...filesUnder(join(ROOT, 'core/common'), /\.cc$/),
    join(ROOT, 'core/event/event.cc'),
  ];
  const inputs = [...sources, ...filesUnder(join(ROOT, 'core'), /\.h$/)];
  const dir = join(PATHS.out, 'wasm');
  // Only the nlohmann headers on the include path: -I/usr/include would put
  // the host's libc headers in front of Emscripten's (as in CMakeLists.txt).
  const inc = join(dir, 'include');
  mkdirSync(inc, { recursive: true });
  if (!existsSync(join(inc, 'nlohmann'))) symlinkSync(nlohmannInclude(), join(inc, 'nlohmann'));
  const env = { ...process.env, NODE_PATH: '/usr/share/nodejs' };
  // As CMakeLists.txt compiles the module; -finline-functions because emcc's
  // -Oz would turn inlining off altogether; the module's wasm features.
  const compile = ['-std=c++20', '-flto', '-fno-exceptions', '-fno-rtti', '-finline-functions',
    '-mbulk-memory', '-mnontrapping-fptoint', '-msign-ext', '-DNDEBUG', `-I${ROOT}`, `-I${inc}`];
  for (const [variant, opt] of [['shipped', '-Oz'], ['o2', '-O2']]) {
    const out = ruleHarness(variant);
    const args = [
      ...compile, opt, ...sources,
      '-sMODULARIZE=1', '-sEXPORT_ES6=1', '-sEXPORT_NAME=createRuleHarness', '-sENVIRONMENT=web,worker',
      '-sFILESYSTEM=0', '-sALLOW_MEMORY_GROWTH=1', '-sMALLOC=emmalloc',
      '-sINCOMING_MODULE_JS_API=[wasmBinary,locateFile]', '-sEXPORTED_RUNTIME_METHODS=[ccall]',
      ...(variant === 'shipped' ? ['-sBINARYEN_EXTRA_PASSES=-Oz'] : []),
      '-o', out.js,
    ];
    // Rebuilt when a source is newer or a command changed.
    const stamp = `${out.wasm}.cmd`;
    const command = JSON.stringify(args);
    const fresh = existsSync(out.wasm) && existsSync(stamp) && readFileSync(stamp, 'utf8') === command
      && statSync(out.wasm).mtimeMs >= newest(inputs);
    if (fresh) continue;
    run('em++', args, { env });
    writeFileSync(stamp, command);
  }
}

/** The Chromium pages' scripts, bundled with the peers they import. */
export async function buildPages() {
  const esbuild = await import('esbuild');
  mkdirSync(PATHS.pages, { recursive: true });
  for (const name of ['rule-page', 'ingest-page', 'ready-page']) {
    await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: [`bench/pages/${name}.mjs`],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: false,
      outfile: join(PATHS.pages, `${name}.js`),
      logLevel: 'warning',
    });
  }
}

/** Everything, in order; returns a description of what is measured. */
export async function buildAll() {
  buildNative();
  buildModule();
  buildRuleHarness();
  await buildPages();
  const wasm = readFileSync(PATHS.wasmModule);
  const info = {
    wasmSha256: createHash('sha256').update(wasm).digest('hex').slice(0, 16),
    wasmBuilt: statSync(PATHS.wasmModule).mtime.toISOString(),
  };
  writeFileSync(join(PATHS.out, 'built.json'), JSON.stringify(info));
  return info;
}
