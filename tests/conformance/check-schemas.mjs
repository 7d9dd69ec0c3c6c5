#!/usr/bin/env node
// Validates the conformance cases against the JSON Schemas in docs/schema:
//   - every tests/conformance/*.json against conformance-case.schema.json;
//   - the artifact of every case that has steps against artifact.schema.json
//     (artifact-error cases hold invalid artifacts on purpose: only their
//     envelope is checked);
//   - the event of every event step that does not expect a rejection against
//     event.schema.json.
//
//   node tests/conformance/check-schemas.mjs      # exits 1 and lists the problems
//
// Also usable from node:test:
//   import { checkConformanceCases } from '../conformance/check-schemas.mjs';
//   assert.deepEqual(checkConformanceCases().problems, []);
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
export const defaultCaseDir = here;
export const defaultSchemaDir = path.join(root, 'docs', 'schema');

const SCHEMAS = ['rule', 'artifact', 'event', 'conformance-case'];

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// One Ajv instance with every schema registered under its $id, so relative
// $refs ("rule.schema.json#/$defs/duration") resolve between the files.
export function createValidators(schemaDir = defaultSchemaDir) {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, strictTuples: false, allowUnionTypes: true });
  addFormats(ajv);
  const ids = {};
  for (const name of SCHEMAS) {
    const schema = readJson(path.join(schemaDir, `${name}.schema.json`));
    ajv.addSchema(schema);
    ids[name] = schema.$id;
  }
  const get = (name) => {
    const validate = ajv.getSchema(ids[name]);
    if (!validate) throw new Error(`schema ${name} did not compile`);
    return validate;
  };
  return { case: get('conformance-case'), artifact: get('artifact'), event: get('event'), ajv };
}

function describe(errors) {
  return (errors ?? []).map((e) => {
    const where = e.instancePath === '' ? '(root)' : e.instancePath;
    const extra = e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : '';
    return `${where} ${e.message}${extra}`;
  });
}

// Returns { files: [names checked], problems: [{ file, where, messages: [...] }] }.
export function checkConformanceCases({ caseDir = defaultCaseDir, schemaDir = defaultSchemaDir } = {}) {
  const v = createValidators(schemaDir);
  const files = fs.readdirSync(caseDir).filter((f) => f.endsWith('.json')).sort();
  const problems = [];
  const names = new Map();
  const report = (file, where, messages) => problems.push({ file, where, messages });

  for (const file of files) {
    let doc;
    try {
      doc = readJson(path.join(caseDir, file));
    } catch (e) {
      report(file, 'file', [`not valid JSON: ${e.message}`]);
      continue;
    }
    if (!v.case(doc)) {
      report(file, 'case', describe(v.case.errors));
      continue;
    }
    if (names.has(doc.name)) report(file, 'name', [`same name as ${names.get(doc.name)}: ${doc.name}`]);
    else names.set(doc.name, file);
    if (doc.expectArtifactErrors) continue; // invalid on purpose
    if (!v.artifact(doc.artifact)) report(file, 'artifact', describe(v.artifact.errors));
    doc.steps.forEach((step, i) => {
      if (!step.event || step.expect?.rejected === true) return;
      if (!v.event(step.event)) report(file, `steps[${i}].event`, describe(v.event.errors));
    });
  }
  return { files, problems };
}

function main() {
  const { files, problems } = checkConformanceCases();
  if (files.length === 0) {
    console.error('no conformance case found in', defaultCaseDir);
    return 1;
  }
  for (const p of problems) {
    console.error(`${p.file}: ${p.where}`);
    for (const m of p.messages) console.error(`  ${m}`);
  }
  const bad = new Set(problems.map((p) => p.file)).size;
  if (bad) {
    console.error(`${bad} of ${files.length} conformance case files have problems`);
    return 1;
  }
  console.log(`${files.length} conformance case files valid`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = main();
}
