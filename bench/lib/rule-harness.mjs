// The API of bench/wasm/rule_eval.cc (the compiled rule looped inside wasm)
// over an instantiated module, for Node (node-env.mjs) and Chromium
// (pages/browser-env.mjs).

/**
 * `{ setRule(json text), setProfile(json text), evaluate(n) -> true results,
 * evaluateLookup(n) -> true results }` (evaluateLookup looks the profile paths
 * up again before each evaluation).
 */
export function wrapRuleHarness(module) {
  return {
    setRule: (text) => module.ccall('bench_set_rule', 'number', ['string'], [text]),
    setProfile: (text) => module.ccall('bench_set_profile', 'number', ['string'], [text]),
    evaluate: (n) => module._bench_evaluate(n),
    evaluateLookup: (n) => module._bench_evaluate_lookup(n),
  };
}
