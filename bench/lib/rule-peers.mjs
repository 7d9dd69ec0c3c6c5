// Item 1 of the comparison: one condition, written in each library's own
// language, evaluated over the same nested profile. The condition is the one
// of bench/core_bench.cc (workload.mjs FIVE_COMPARISONS): an `and` of five
// comparisons, one an `in` list:
//
//   tier in [gold, platinum, diamond] and stats.orders >= 3 and
//   address.country == "FR" and stats.spend > 250.5 and optIn == true
//
// This module runs in Node and, bundled by esbuild, in Chromium. Rekindle's
// two evaluators need the engine, which each side loads its own way: `env`
// gives `createEngine(options)` (web/node.js or web/index.js) and
// `loadRuleHarness(variant)` (bench/wasm/rule_eval.cc built to wasm).
import jsonLogic from 'json-logic-js';
import { evalCondition } from '@growthbook/growthbook';
import RulesEngine from '@adobe/aep-rules-engine';
import { FIVE_COMPARISONS, NESTED_PROFILE, T0 } from './workload.mjs';

/** Profiles the evaluators must agree on before anything is timed, with the expected truth. */
export const CHECK_PROFILES = [
  { name: 'all five hold', profile: NESTED_PROFILE, expect: true },
  { name: 'boundaries that hold (orders 3, spend 250.51)', profile: { ...NESTED_PROFILE, tier: 'gold', stats: { orders: 3, spend: 250.51 } }, expect: true },
  { name: 'tier not in the list', profile: { ...NESTED_PROFILE, tier: 'silver' }, expect: false },
  { name: 'orders 2', profile: { ...NESTED_PROFILE, stats: { orders: 2, spend: 812.4 } }, expect: false },
  { name: 'country DE', profile: { ...NESTED_PROFILE, address: { country: 'DE', city: 'Köln' } }, expect: false },
  { name: 'spend exactly 250.5 (gt)', profile: { ...NESTED_PROFILE, stats: { orders: 7, spend: 250.5 } }, expect: false },
  { name: 'optIn false', profile: { ...NESTED_PROFILE, optIn: false }, expect: false },
  { name: 'no stats object', profile: { tier: 'diamond', optIn: true, address: { country: 'FR' } }, expect: false },
];

const TIERS = ['gold', 'platinum', 'diamond'];

/** json-logic-js: the rule as JsonLogic (strict equality, `in` over an array). */
export const JSON_LOGIC_RULE = {
  and: [
    { in: [{ var: 'tier' }, TIERS] },
    { '>=': [{ var: 'stats.orders' }, 3] },
    { '===': [{ var: 'address.country' }, 'FR'] },
    { '>': [{ var: 'stats.spend' }, 250.5] },
    { '===': [{ var: 'optIn' }, true] },
  ],
};

/** GrowthBook: a MongoDB-style condition with dotted paths (an implicit `and`). */
export const GROWTHBOOK_CONDITION = {
  tier: { $in: TIERS },
  'stats.orders': { $gte: 3 },
  'address.country': 'FR',
  'stats.spend': { $gt: 250.5 },
  optIn: true,
};

function matcher(key, name, values) {
  return { type: 'matcher', definition: { key, matcher: name, values } };
}

/**
 * @adobe/aep-rules-engine: a ruleset of one rule (a group `and` of matchers,
 * `eq` with several values being "any of"), with one consequence. The engine
 * reads `context[key]` with flat dotted keys: Adobe's Web SDK flattens the
 * event and context once per event before evaluating its rules.
 */
export const AEP_RULESET = {
  version: 1,
  rules: [{
    condition: {
      type: 'group',
      definition: {
        logic: 'and',
        conditions: [
          matcher('tier', 'eq', TIERS),
          matcher('stats.orders', 'ge', [3]),
          matcher('address.country', 'eq', ['FR']),
          matcher('stats.spend', 'gt', [250.5]),
          matcher('optIn', 'eq', [true]),
        ],
      },
    },
    consequences: [{ id: 'offer', type: 'item', detail: { offer: 'evergreen' } }],
  }],
};

// The flattening Adobe's Web SDK (alloy 2.33, DecisioningEngine) applies to the
// context before every evaluation, copied from its dist/alloy.js (Apache-2.0).
function isPlainObject(obj) {
  return obj !== null && typeof obj === 'object' && Object.getPrototypeOf(obj) === Object.prototype;
}
function flattenInto(obj, result = {}, keys = []) {
  Object.keys(obj).forEach((key) => {
    if (isPlainObject(obj[key]) || Array.isArray(obj[key])) flattenInto(obj[key], result, [...keys, key]);
    else result[[...keys, key].join('.')] = obj[key];
  });
  return result;
}
export function flattenObject(obj) {
  return isPlainObject(obj) ? flattenInto(obj) : obj;
}

/** The artifact whose only offer's eligibility is the rule: decide('slot') evaluates it. */
export const DECIDE_ARTIFACT = {
  version: 'bench-rule',
  consent: { defaults: { personalize: 'granted' } },
  placements: [{ id: 'slot' }],
  offers: [{ id: 'rule', placements: ['slot'], eligibility: FIVE_COMPARISONS, content: { title: 'Offer' } }],
};

async function prepareHarness(variant, profile, env, lookup = false) {
  const harness = await env.loadRuleHarness(variant);
  if (harness.setRule(JSON.stringify(FIVE_COMPARISONS)) !== 0) throw new Error('rule harness: the rule does not compile');
  if (harness.setProfile(JSON.stringify(profile)) !== 0) throw new Error('rule harness: the profile is not an object');
  const loop = lookup ? harness.evaluateLookup : harness.evaluate;
  return {
    evaluate: () => loop(1) === 1,
    run: (n) => loop(n),
  };
}

/**
 * The evaluators, in the order of the results table. `prepare(profile, env)` returns
 * `{ evaluate() -> boolean, run(n) -> number of true results }`; `run` holds
 * the timed loop. Each loop is written out per peer (not a shared helper taking
 * a function) so that no call site is shared between peers.
 */
export const PEERS = [
  {
    id: 'closure',
    label: 'hand-written JS closure',
    what: 'a JS function written for this one rule: the floor',
    async prepare(profile) {
      const tiers = TIERS;
      const rule = (p) => tiers.includes(p.tier) && p.stats?.orders >= 3 && p.address?.country === 'FR'
        && p.stats?.spend > 250.5 && p.optIn === true;
      return {
        evaluate: () => rule(profile),
        run(n) {
          let hits = 0;
          for (let i = 0; i < n; ++i) if (rule(profile)) ++hits;
          return hits;
        },
      };
    },
  },
  {
    id: 'rekindle-wasm',
    label: 'Rekindle compiled rule, inside wasm',
    what: 'rules::evaluate on the compiled rule, looped inside WebAssembly (bench/wasm/rule_eval.cc, built with the shipped module\'s flags: -Oz -finline-functions): no JS boundary per evaluation. As in the engine, the rule\'s profile paths were looked up once, when the profile last changed (rules::ProfilePaths), and each evaluation reads the values found',
    prepare: (profile, env) => prepareHarness('shipped', profile, env),
  },
  {
    id: 'rekindle-wasm-lookup',
    label: 'Rekindle compiled rule, inside wasm, paths looked up each time',
    what: 'the same loop, the profile paths looked up again before every evaluation: the cost of the first evaluation after the profile changed',
    prepare: (profile, env) => prepareHarness('shipped', profile, env, true),
  },
  {
    id: 'rekindle-wasm-o2',
    label: 'Rekindle compiled rule, inside wasm, -O2 (not shipped)',
    what: 'the same loop with every source built -O2, to show what the size flags still cost',
    prepare: (profile, env) => prepareHarness('o2', profile, env),
  },
  {
    id: 'aep',
    label: '@adobe/aep-rules-engine',
    what: 'ruleset.execute(context) on a context flattened once beforehand',
    async prepare(profile) {
      const engine = RulesEngine(AEP_RULESET);
      const context = flattenObject(profile);
      return {
        evaluate: () => engine.execute(context).length > 0,
        run(n) {
          let hits = 0;
          for (let i = 0; i < n; ++i) if (engine.execute(context).length > 0) ++hits;
          return hits;
        },
      };
    },
  },
  {
    id: 'aep-flatten',
    label: '@adobe/aep-rules-engine + flatten',
    what: 'flattenObject(profile) then execute, as the Adobe Web SDK does for each event',
    async prepare(profile) {
      const engine = RulesEngine(AEP_RULESET);
      return {
        evaluate: () => engine.execute(flattenObject(profile)).length > 0,
        run(n) {
          let hits = 0;
          for (let i = 0; i < n; ++i) if (engine.execute(flattenObject(profile)).length > 0) ++hits;
          return hits;
        },
      };
    },
  },
  {
    id: 'growthbook',
    label: 'GrowthBook evalCondition',
    what: 'evalCondition(profile, condition) from @growthbook/growthbook',
    async prepare(profile) {
      const condition = GROWTHBOOK_CONDITION;
      return {
        evaluate: () => evalCondition(profile, condition),
        run(n) {
          let hits = 0;
          for (let i = 0; i < n; ++i) if (evalCondition(profile, condition)) ++hits;
          return hits;
        },
      };
    },
  },
  {
    id: 'json-logic',
    label: 'json-logic-js',
    what: 'jsonLogic.apply(rule, profile)',
    async prepare(profile) {
      const rule = JSON_LOGIC_RULE;
      return {
        evaluate: () => Boolean(jsonLogic.apply(rule, profile)),
        run(n) {
          let hits = 0;
          for (let i = 0; i < n; ++i) if (jsonLogic.apply(rule, profile)) ++hits;
          return hits;
        },
      };
    },
  },
  {
    id: 'rekindle-test',
    label: 'Rekindle compiled condition through the JS API',
    what: 'condition.test() on the rule compiled once by engine.condition(rule): one call from JS into wasm per evaluation (consent, the profile paths\' values looked up once per change of the profile, the rule), a number back, no text',
    async prepare(profile, env) {
      const engine = await env.createEngine({ now: () => T0, artifact: DECIDE_ARTIFACT });
      const set = engine.setAttributes(profile);
      if (!set.ok) throw new Error(`setAttributes failed: ${JSON.stringify(set.errors)}`);
      const condition = engine.condition(FIVE_COMPARISONS);
      return {
        evaluate: () => condition.test(),
        run(n) {
          let hits = 0;
          for (let i = 0; i < n; ++i) if (condition.test()) ++hits;
          return hits;
        },
      };
    },
  },
  {
    id: 'rekindle-decide',
    label: 'Rekindle decide() through the JS API',
    what: 'engine.decide(placement) where the placement\'s only offer has the rule as eligibility: JS -> C ABI -> engine (consent, journeys, caps, the rule, rendering the offer) -> JSON text -> JSON.parse',
    async prepare(profile, env) {
      const engine = await env.createEngine({ now: () => T0, artifact: DECIDE_ARTIFACT });
      const set = engine.setAttributes(profile);
      if (!set.ok) throw new Error(`setAttributes failed: ${JSON.stringify(set.errors)}`);
      return {
        evaluate: () => engine.decide('slot') !== null,
        run(n) {
          let hits = 0;
          for (let i = 0; i < n; ++i) if (engine.decide('slot') !== null) ++hits;
          return hits;
        },
      };
    },
  },
];

export function peer(id) {
  const p = PEERS.find((x) => x.id === id);
  if (!p) throw new Error(`unknown evaluator "${id}"`);
  return p;
}

/**
 * Evaluates every peer on every check profile; returns the disagreements
 * (empty when every peer gives the expected truth value for every profile).
 */
export async function checkAgreement(env) {
  const problems = [];
  for (const p of PEERS) {
    for (const c of CHECK_PROFILES) {
      const ev = await p.prepare(c.profile, env);
      const got = ev.evaluate();
      if (got !== c.expect) problems.push(`${p.label}: "${c.name}" gives ${got}, expected ${c.expect}`);
    }
  }
  return problems;
}

/**
 * One timed batch: a warm-up of `warmup` evaluations (the JIT tiers up), then
 * `n` evaluations timed with performance.now(). Returns ns per evaluation.
 */
export async function timeBatch(id, n, warmup, env) {
  const ev = await peer(id).prepare(NESTED_PROFILE, env);
  // The warm-up in ten calls, then a pause: V8 moves a wasm function from its
  // baseline code to optimized code between calls (compiled in the
  // background), never inside a running loop as it does for JS (on-stack
  // replacement). One long warm-up call could leave the timed batch on the
  // baseline code; the JS peers lose nothing by this.
  const chunk = Math.ceil(warmup / 10);
  for (let i = 0; i < 10; ++i) {
    if (ev.run(chunk) !== chunk) throw new Error(`${id}: the warm-up did not evaluate to true`);
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  const t0 = performance.now();
  const hits = ev.run(n);
  const ms = performance.now() - t0;
  if (hits !== n) throw new Error(`${id}: ${hits} of ${n} evaluations were true`);
  return (ms * 1e6) / n;
}
