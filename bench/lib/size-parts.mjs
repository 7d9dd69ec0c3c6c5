// What Rekindle's download is made of (item 5): the wasm by part of the code
// base, the script-tag build by source file.
//
// The wasm: every function body is named through rekindle.symbols (the
// module's symbol map, written by its link: wasm/CMakeLists.txt) and put in
// the part its name belongs to (core/<folder>, the C ABI, nlohmann_json,
// libc++, libc). A part's weight is what gzip -9 of the whole module loses
// when the part's bodies are left out: gzip shares its window across parts,
// so the weights add up to a little less than the total. With LTO a function
// used once is inlined into its caller and counts where the caller does: the
// engine's methods mostly sit inside the C ABI's rk_* functions.
//
// The script-tag build: esbuild's metafile (web/dist/rekindle.global.meta.json,
// scripts/build-web.mjs) gives each source file's minified bytes.
import { readFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const SECTION_CODE = 10;
const SECTION_DATA = 11;
const SECTION_IMPORT = 2;

function reader(bytes) {
  let p = 0;
  return {
    get pos() { return p; },
    set pos(v) { p = v; },
    byte() { return bytes[p++]; },
    u32() {
      let result = 0;
      let shift = 0;
      let b;
      do {
        b = bytes[p++];
        result |= (b & 0x7f) << shift;
        shift += 7;
      } while (b & 0x80);
      return result >>> 0;
    },
    skipName() { const n = this.u32(); p += n; },
  };
}

/** A wasm binary's sections, its code bodies and how many functions it imports. */
export function readWasm(bytes) {
  if (bytes.readUInt32LE(0) !== 0x6d736100) throw new Error('not a WebAssembly module (bad magic)');
  const r = reader(bytes);
  r.pos = 8;
  const sections = [];
  const bodies = [];
  let importedFunctions = 0;
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    const content = r.pos;
    const end = content + size;
    sections.push({ id, start, end });
    if (id === SECTION_IMPORT) {
      const n = r.u32();
      for (let i = 0; i < n; ++i) {
        r.skipName();
        r.skipName();
        const kind = r.byte();
        if (kind === 0) { r.u32(); ++importedFunctions; } // function: type index
        else if (kind === 1) { r.byte(); const flags = r.byte(); r.u32(); if (flags & 1) r.u32(); } // table
        else if (kind === 2) { const flags = r.byte(); r.u32(); if (flags & 1) r.u32(); } // memory
        else if (kind === 3) { r.byte(); r.byte(); } // global: type, mutability
        else throw new Error(`import of unknown kind ${kind} at byte ${r.pos - 1}`);
      }
    } else if (id === SECTION_CODE) {
      const n = r.u32();
      for (let i = 0; i < n; ++i) {
        const bodySize = r.u32();
        bodies.push({ start: r.pos, end: r.pos + bodySize });
        r.pos += bodySize;
      }
    }
    r.pos = end;
  }
  return { sections, bodies, importedFunctions };
}

/** rekindle.symbols: "index:name" lines; names escape bytes as \xx (hex). */
export function readSymbols(text) {
  const names = new Map();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(colon + 1).replace(/\\([0-9a-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
    names.set(Number(line.slice(0, colon)), name);
  }
  return names;
}

/**
 * The qualified name a demangled symbol defines, without its return type and
 * parameters: "void rekindle::artifact::(anonymous namespace)::link(...)" ->
 * "rekindle::artifact::{anon}::link".
 */
export function qualifiedName(symbol) {
  const s = symbol.replaceAll('(anonymous namespace)', '{anon}');
  let depth = 0;
  let end = s.length;
  let lastSpace = -1;
  for (let i = 0; i < s.length; ++i) {
    const c = s[i];
    const operator = s.slice(Math.max(0, i - 8), i).endsWith('operator');
    if (c === '<' && !operator) ++depth;
    else if (c === '>' && depth > 0 && !operator) --depth;
    else if (c === '(' && depth === 0 && !operator) { end = i; break; }
    else if (c === ' ' && depth === 0) lastSpace = i;
  }
  return s.slice(lastSpace + 1, end);
}

/** A name for a table: template arguments shown as <…>. */
export function shortName(name) {
  let out = '';
  let depth = 0;
  for (let i = 0; i < name.length; ++i) {
    const c = name[i];
    const operator = name.slice(Math.max(0, i - 8), i).endsWith('operator');
    if (c === '<' && !operator) { if (depth++ === 0) out += '<…>'; }
    else if (c === '>' && depth > 0 && !operator) --depth;
    else if (depth === 0) out += c;
  }
  return out;
}

const CORE_FOLDERS = ['artifact', 'consent', 'engine', 'event', 'journeys', 'offers', 'outbox', 'profile', 'rules', 'segments'];

/** The part of the code base a function belongs to, from its name. */
export function partOf(symbol) {
  const name = qualifiedName(symbol);
  if (/^rk_/.test(name)) return 'wasm/engine_bindings.cc (the C ABI, with the engine inlined)';
  const core = name.match(/^rekindle::(\w+)::/);
  if (core && CORE_FOLDERS.includes(core[1])) return `core/${core[1]}/`;
  if (name.startsWith('rekindle::')) return 'core/common/';
  if (name.startsWith('nlohmann::')) return 'nlohmann_json (parser, serializer, DOM)';
  if (/^(std::|__cxxabiv1::|operator (new|delete))/.test(name)) return 'libc++ (containers, strings, for all of the above)';
  return 'libc, emmalloc, wasm/strtod.cc and snprintf.cc';
}

const gzip = (buffers) => gzipSync(Buffer.concat(buffers), { level: 9 }).length;

/** The wasm module's parts, heaviest first: raw bytes and gzip weight. */
export function wasmParts(wasmBytes, symbolsText) {
  const { sections, bodies, importedFunctions } = readWasm(wasmBytes);
  const names = readSymbols(symbolsText);
  const unnamed = bodies.filter((_, i) => !names.has(importedFunctions + i)).length;
  if (unnamed > 0) throw new Error(`rekindle.symbols names ${bodies.length - unnamed} of the ${bodies.length} functions: it is not this module's map (rebuild: bash scripts/build.sh module)`);
  const slice = ({ start, end }) => wasmBytes.subarray(start, end);
  // Everything but the code bodies: the other sections, each body's length.
  const rest = sections.filter((s) => s.id !== SECTION_CODE).map(slice);
  const data = sections.filter((s) => s.id === SECTION_DATA);
  const groups = new Map();
  bodies.forEach((body, i) => {
    const part = partOf(names.get(importedFunctions + i));
    if (!groups.has(part)) groups.set(part, []);
    groups.get(part).push(i);
  });
  const whole = gzip([...rest, ...bodies.map(slice)]);
  const parts = [...groups].map(([part, members]) => {
    const left = new Set(members);
    const raw = members.reduce((a, i) => a + bodies[i].end - bodies[i].start, 0);
    const biggest = members.reduce((a, i) => (bodies[i].end - bodies[i].start > bodies[a].end - bodies[a].start ? i : a));
    return {
      part,
      functions: members.length,
      raw,
      gzip: whole - gzip([...rest, ...bodies.filter((_, i) => !left.has(i)).map(slice)]),
      biggest: { name: shortName(qualifiedName(names.get(importedFunctions + biggest))), raw: bodies[biggest].end - bodies[biggest].start },
    };
  });
  const dataRaw = data.reduce((a, s) => a + s.end - s.start, 0);
  parts.push({
    part: 'data (error messages, tables, constants)',
    functions: 0,
    raw: dataRaw,
    gzip: whole - gzip([...sections.filter((s) => s.id !== SECTION_CODE && s.id !== SECTION_DATA).map(slice), ...bodies.map(slice)]),
    biggest: null,
  });
  parts.sort((a, b) => b.gzip - a.gzip);
  return { gzip: gzipSync(wasmBytes, { level: 9 }).length, raw: wasmBytes.length, functions: bodies.length, parts };
}

/** The script-tag build by source file (esbuild's bytesInOutput), heaviest first. */
export function jsParts(metafile, outputFile) {
  const output = Object.entries(metafile.outputs).find(([f]) => f === outputFile || f.endsWith(`/${outputFile}`))
    ?? Object.entries(metafile.outputs)[0];
  if (!output) throw new Error('the metafile has no output');
  const [, meta] = output;
  const files = Object.entries(meta.inputs)
    .map(([file, { bytesInOutput }]) => ({ file: file.replace(/^rekindle:/, ''), minified: bytesInOutput }))
    .filter((f) => f.minified > 0)
    .sort((a, b) => b.minified - a.minified);
  return { minified: meta.bytes, files };
}

/** Both, from the files next to the module (null where a file is missing). */
export function measureParts(paths) {
  const out = { wasm: null, js: null };
  if (existsSync(paths.wasmModule) && existsSync(paths.wasmSymbols)) {
    out.wasm = wasmParts(readFileSync(paths.wasmModule), readFileSync(paths.wasmSymbols, 'utf8'));
  }
  if (existsSync(paths.globalMeta)) {
    out.js = jsParts(JSON.parse(readFileSync(paths.globalMeta, 'utf8')), 'global-entry.js');
  }
  return out;
}
