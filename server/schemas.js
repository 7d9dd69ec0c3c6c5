// Request bodies are checked against the published JSON Schemas (docs/schema),
// the same files the docs link, so the contract and the check cannot drift.
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';

const schemaDir = new URL('../docs/schema/', import.meta.url);
const load = (name) => JSON.parse(readFileSync(new URL(name, schemaDir), 'utf8'));

const ajv = new Ajv2020({ allErrors: true, strict: false, verbose: true });
addFormats(ajv);
for (const name of ['event', 'fragment', 'collect', 'identify', 'import-line', 'rule', 'artifact']) {
  ajv.addSchema(load(`${name}.schema.json`));
}

const base = 'https://rekindle.dev/schema/';
const compiled = {
  collect: ajv.getSchema(`${base}collect.schema.json`),
  record: ajv.getSchema(`${base}collect.schema.json#/$defs/record`),
  fragment: ajv.getSchema(`${base}fragment.schema.json`),
  identify: ajv.getSchema(`${base}identify.schema.json`),
  importLine: ajv.getSchema(`${base}import-line.schema.json`),
};

// ajv's instancePath is a JSON Pointer; the project names places as JSONPath.
function toJsonPath(pointer, prefix) {
  let path = prefix;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path += /^\d+$/.test(part) ? `[${part}]` : /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
  }
  return path;
}

function describe(error) {
  if (error.keyword === 'additionalProperties') return `has an unknown field "${error.params.additionalProperty}"`;
  if (error.keyword === 'required') return `needs the field "${error.params.missingProperty}"`;
  if (error.keyword === 'enum') return `must be one of ${error.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  if (error.keyword === 'not') {
    if (error.schema?.type) return `must not be of type ${error.schema.type}`;
    if ('const' in (error.schema ?? {})) return `must not be ${JSON.stringify(error.schema.const)}`;
  }
  if (error.keyword === 'pattern' && error.parentSchema?.format === 'date-time') {
    return 'is not a time the engine reads: an ISO 8601 date-time with seconds 00-59 (no leap second), at most 9 fraction digits and an offset with its minutes';
  }
  if (error.keyword === 'propertyNames') return `has a field name that is not allowed (${error.params.propertyName})`;
  return error.message;
}

// Keeps the errors that say what is wrong; drops the if/then and oneOf wrappers ajv adds.
function errorsOf(validate, prefix) {
  const seen = new Set();
  const out = [];
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'if' || (['oneOf', 'anyOf'].includes(e.keyword) && validate.errors.length > 1)) continue;
    const item = { path: toJsonPath(e.instancePath, prefix), reason: describe(e) };
    const key = `${item.path} ${item.reason}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(item);
    }
  }
  return out;
}

/** Validates `value` against a named schema: `[]` when valid, else `[{path, reason}]`. */
export function check(name, value, prefix = '$') {
  const validate = compiled[name];
  return validate(value) ? [] : errorsOf(validate, prefix);
}
