// How the Node measurements load Rekindle: the npm module's Node entry
// (web/node.js, the wasm read from web/dist) and the rule harness built by
// build.mjs.
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { createEngine } from '../../web/node.js';
import { wrapRuleHarness } from './rule-harness.mjs';
import { ruleHarness } from './paths.mjs';

const harnesses = new Map();

export const nodeEnv = {
  createEngine,
  async loadRuleHarness(variant) {
    if (!harnesses.has(variant)) {
      const files = ruleHarness(variant);
      const { default: create } = await import(pathToFileURL(files.js).href);
      harnesses.set(variant, wrapRuleHarness(await create({ wasmBinary: await readFile(files.wasm) })));
    }
    return harnesses.get(variant);
  },
};
