// The compiled rule of the peer comparison, evaluated inside WebAssembly
// without the JS API: the figure a JS call to the engine can at best approach.
// Built by bench/lib/build.mjs with the shipped module's compiler flags (-Oz
// -flto -fno-exceptions, the rule evaluator core/rules/compare.cc at -O2 as in
// core/CMakeLists.txt) from the core's rule sources, and called from
// bench/lib/rule-peers.mjs in Node and in Chromium. Benchmark code only: the
// shipped module never contains it.
#include <emscripten/emscripten.h>

#include <optional>
#include <string>

#include "core/rules/aggregate.h"

namespace {

using nlohmann::json;

std::optional<rekindle::rules::Rule> g_rule;
json g_profile = json::object();
// As in the engine: the rule's profile paths, looked up once per profile.
rekindle::rules::ProfilePaths g_paths;
std::vector<const json*> g_slots;

}  // namespace

extern "C" {

// Compiles the rule (JSON text); returns the number of errors (0 when ready).
EMSCRIPTEN_KEEPALIVE int bench_set_rule(const char* text) {
  rekindle::Errors errors;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return 1;
  g_rule = rekindle::rules::compile(j, "$", errors);
  g_paths = {};
  if (g_rule) {
    g_paths.assign(*g_rule);
    g_paths.resolve(g_profile, g_slots);
  }
  return g_rule ? 0 : static_cast<int>(errors.size()) + 1;
}

// Sets the profile attributes (JSON text); returns 0 when it is an object.
EMSCRIPTEN_KEEPALIVE int bench_set_profile(const char* text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return 1;
  g_profile = std::move(j);
  g_paths.resolve(g_profile, g_slots);
  return 0;
}

// Evaluates the rule `n` times over the profile; returns how many were true.
EMSCRIPTEN_KEEPALIVE int bench_evaluate(int n) {
  if (!g_rule) return -1;
  // Read through a volatile pointer so that no evaluation can be hoisted out
  // of the loop.
  const json* volatile profile = &g_profile;
  int hits = 0;
  for (int i = 0; i < n; ++i) {
    rekindle::rules::Context ctx{profile, nullptr, g_slots.data()};
    hits += rekindle::rules::evaluate(*g_rule, g_rule->root, ctx, nullptr, 0, [](int) { return false; }) ? 1 : 0;
  }
  return hits;
}

// The same, the profile paths looked up again before every evaluation: the
// cost of the first evaluation after a change of the profile.
EMSCRIPTEN_KEEPALIVE int bench_evaluate_lookup(int n) {
  if (!g_rule) return -1;
  const json* volatile profile = &g_profile;
  int hits = 0;
  for (int i = 0; i < n; ++i) {
    g_paths.resolve(*profile, g_slots);
    rekindle::rules::Context ctx{profile, nullptr, g_slots.data()};
    hits += rekindle::rules::evaluate(*g_rule, g_rule->root, ctx, nullptr, 0, [](int) { return false; }) ? 1 : 0;
  }
  return hits;
}

}  // extern "C"
