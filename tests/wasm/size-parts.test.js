// The breakdown of the download that bench/RESULTS.md prints (item 5 of
// issue 8): the symbol map the build writes must name every function of the
// module it ships beside, and every byte of code must land in one part.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readWasm, wasmParts, jsParts, qualifiedName, partOf, shortName } from '../../bench/lib/size-parts.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const wasm = readFileSync(`${root}web/dist/rekindle.wasm`);
const symbols = readFileSync(`${root}web/dist/rekindle.symbols`, 'utf8');

test('a demangled name is reduced to what it defines', () => {
  assert.equal(qualifiedName('void rekindle::artifact::(anonymous namespace)::link(rekindle::artifact::Artifact&)'),
    'rekindle::artifact::{anon}::link');
  assert.equal(qualifiedName('char* nlohmann::json_abi_v3_11_2::detail::to_chars<double>(char*, char const*, double)'),
    'nlohmann::json_abi_v3_11_2::detail::to_chars<double>');
  assert.equal(qualifiedName('nlohmann::json_abi_v3_11_2::operator<(nlohmann::json_abi_v3_11_2::basic_json<> const&)'),
    'nlohmann::json_abi_v3_11_2::operator<');
  assert.equal(qualifiedName('rk_restore'), 'rk_restore');
  assert.equal(shortName('std::__2::deque<std::__2::pair<long long, double>, std::__2::allocator<x> >::__append'), 'std::__2::deque<…>::__append');
});

test('each name goes to its part of the code base', () => {
  assert.equal(partOf('rk_ingest'), 'wasm/engine_bindings.cc (the C ABI, with the engine inlined)');
  assert.equal(partOf('rekindle::rules::(anonymous namespace)::Compiler::node(nlohmann::json const&)'), 'core/rules/');
  assert.equal(partOf('rekindle::parse_json(std::__2::basic_string_view<char>)'), 'core/common/');
  assert.equal(partOf('std::__2::deque<rekindle::journeys::Journeys::Delivery>::push_back(rekindle::journeys::Journeys::Delivery&&)'),
    'libc++ (containers, strings, for all of the above)');
  assert.equal(partOf('bool nlohmann::json_abi_v3_11_2::operator==(nlohmann::json const&, nlohmann::json const&)'),
    'nlohmann_json (parser, serializer, DOM)');
  assert.equal(partOf('malloc'), 'libc, emmalloc, wasm/strtod.cc and snprintf.cc');
});

test('the symbol map beside the module names every function, and every code byte is in one part', () => {
  const { bodies, sections } = readWasm(wasm);
  const breakdown = wasmParts(wasm, symbols);
  assert.equal(breakdown.functions, bodies.length);
  const codeBytes = bodies.reduce((a, b) => a + b.end - b.start, 0);
  const dataBytes = sections.filter((s) => s.id === 11).reduce((a, s) => a + s.end - s.start, 0);
  assert.equal(breakdown.parts.reduce((a, p) => a + p.raw, 0), codeBytes + dataBytes);
  // gzip shares its window across parts: each weight is positive and they add up to no more than the whole.
  for (const p of breakdown.parts) assert.ok(p.gzip > 0 && p.gzip < p.raw, `${p.part}: ${p.gzip} B of ${p.raw} B`);
  assert.ok(breakdown.parts.reduce((a, p) => a + p.gzip, 0) <= breakdown.gzip);
  for (const folder of ['rules', 'journeys', 'artifact', 'profile']) {
    assert.ok(breakdown.parts.some((p) => p.part === `core/${folder}/`), `core/${folder}/ has a row`);
  }
});

test('a symbol map of another module is refused', () => {
  const cut = symbols.split('\n').slice(0, 100).join('\n');
  assert.throws(() => wasmParts(wasm, cut), /rekindle\.symbols names \d+ of the \d+ functions: it is not this module's map/);
});

test('the script-tag build is broken down by source file', () => {
  const meta = JSON.parse(readFileSync(`${root}web/dist/rekindle.global.meta.json`, 'utf8'));
  const { minified, files } = jsParts(meta, 'global-entry.js');
  assert.equal(minified, readFileSync(`${root}web/dist/rekindle.global.js`).length);
  assert.ok(files.some((f) => f.file === 'web/page/rekindle.js'));
  assert.ok(files.reduce((a, f) => a + f.minified, 0) <= minified);
});
