// Core costs without the JS boundary, for bench/run.mjs (which runs this
// program with --benchmark_format=json): one compiled rule evaluation, one
// decision, one ingest as the wasm binding does it (ingest + the result as
// JSON text) with S segments and J journeys over an H-event history, and
// snapshot / restore of a 10,000-event profile.
//
// The artifact and the event stream mirror bench/lib/workload.mjs, so the
// native figures and the wasm figures measure the same work: keep the two in
// step.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/common/json_depth.h"
#include "core/engine/engine.h"
#include "core/rules/aggregate.h"

namespace {

using nlohmann::json;
using rekindle::TimeMs;

constexpr TimeMs kT0 = 1796399580000;  // 2026-12-04T15:53:00Z
constexpr TimeMs kStepMs = 30000;
constexpr int kPauseEvery = 200;
constexpr int kPauseBefore = 103;
constexpr TimeMs kPauseMs = 90 * 60000;

// The rule of the peer comparison: an `and` of five comparisons over a nested
// profile, one of them an `in` list.
json five_comparisons() {
  return {{"and",
           {{{"path", "profile.tier"}, {"op", "in"}, {"value", {"gold", "platinum", "diamond"}}},
            {{"path", "profile.stats.orders"}, {"op", "gte"}, {"value", 3}},
            {{"path", "profile.address.country"}, {"op", "eq"}, {"value", "FR"}},
            {{"path", "profile.stats.spend"}, {"op", "gt"}, {"value", 250.5}},
            {{"path", "profile.optIn"}, {"op", "eq"}, {"value", true}}}}};
}

json nested_profile() {
  return {{"tier", "platinum"},
          {"optIn", true},
          {"address", {{"country", "FR"}, {"city", "Lyon"}}},
          {"stats", {{"orders", 7}, {"spend", 812.4}}}};
}

const char* const kEventTypes[] = {"commerce.productViews", "commerce.productListAdds", "web.webpagedetails.pageViews",
                                   "commerce.productViews", "commerce.purchases"};
const char* const kSegmentTypes[] = {"commerce.productViews", "commerce.productListAdds", "commerce.purchases",
                                     "web.webpagedetails.pageViews", "commerce.checkouts"};
const char* const kPlacements[] = {"hero", "sidebar", "footer"};

json segment_rule(int i) {
  const std::string type = kSegmentTypes[i % 5];
  switch (i % 5) {
    case 0:
      return {{"count",
               {{"event", {{"type", type}, {"where", {{"path", "event.productListItems[].productCategory"}, {"op", "eq"}, {"value", "c" + std::to_string(i % 7)}}}}},
                {"within", "7d"}}},
              {"op", "gte"},
              {"value", 3}};
    case 1:
      return {{"sequence", {{{"event", {{"type", type}}}}, {{"absent", {{"type", "commerce.purchases"}}}, {"for", std::to_string(30 + i) + "m"}}}}};
    case 2:
      return {{"sum", {{"event", {{"type", type}}}, {"field", "event.commerce.order.priceTotal"}, {"within", "90d"}}}, {"op", "gte"}, {"value", 500 + i}};
    case 3:
      return {{"and", {{{"count", {{"event", {{"type", type}}}}}, {"op", "gte"}, {"value", 1}}, {{"since", {{"event", {{"type", type}}}}}, {"op", "gte"}, {"value", "30d"}}}}};
    default:
      return {{"and", {{{"segment", "s" + std::to_string(i - 1)}}, five_comparisons()}}};
  }
}

// workload.mjs buildArtifact({segments, journeys, historyEvents}).
std::string workload_artifact(int segments, int journeys, int history_events) {
  json offers = json::array();
  for (int k = 0; k < 3; ++k) {
    std::string p = kPlacements[k];
    offers.push_back({{"id", "evergreen-" + p}, {"priority", 1}, {"placements", json::array({p})}, {"eligibility", five_comparisons()},
                      {"content", {{"title", "Welcome back, {{profile.firstName|there}} (" + std::to_string(k) + ")"}, {"body", "Free returns within 60 days."}}}});
  }
  json js = json::array();
  for (int j = 0; j < journeys; ++j) {
    std::string placement = kPlacements[j % 3];
    std::string n = std::to_string(j);
    offers.push_back({{"id", "cart-" + n}, {"priority", 10 + j}, {"placements", json::array({placement})},
                      {"content", {{"title", "Still thinking it over, {{profile.firstName|there}}? (" + n + ")"}, {"body", "Take 10 % off today."},
                                   {"cta", {{"label", "Back to my cart"}, {"url", "/cart"}}}}}});
    json purchase = {{"event", {{"type", "commerce.purchases"}}}};
    json tile = {{"id", "tile"}, {"action", {{"channel", "web"}, {"placement", placement}, {"offer", "cart-" + n}}}};
    json wait = {{"id", "wait"}, {"wait", "1d"}};
    json email = {{"id", "email"}, {"action", {{"channel", "email"}, {"template", "cart-reminder-" + n}}}};
    json journey = {{"id", "journey-" + n}, {"entry", {{"segment", "s" + std::to_string(1 + 5 * j)}}}, {"maxDuration", "7d"},
                    {"reentry", {{"allowed", true}, {"cooldown", "1h"}}}, {"goal", purchase}};
    journey["exit"] = json::array({purchase});
    journey["steps"] = json::array({tile, wait, email});
    js.push_back(journey);
  }
  json segs = json::array();
  for (int i = 0; i < segments; ++i) segs.push_back({{"id", "s" + std::to_string(i)}, {"rule", segment_rule(i)}});
  json placements = json::array();
  for (const char* p : kPlacements) placements.push_back({{"id", p}});
  return rekindle::dump(json{{"version", "bench"},
                             {"limits", {{"historyEvents", history_events}, {"historyBytes", 64 * 1024 * 1024}}},
                             {"segments", segs},
                             {"consent", {{"defaults", {{"analytics", "granted"}, {"personalize", "granted"}, {"marketing.email", "granted"}}}}},
                             {"placements", placements},
                             {"offers", offers},
                             {"caps", json::array({json{{"channel", "web"}, {"max", 1000}, {"per", "1d"}}})},
                             {"journeys", js}});
}

// workload.mjs eventTime(i).
TimeMs event_time(int i) { return kT0 + kStepMs * i + kPauseMs * ((i + kPauseEvery - kPauseBefore) / kPauseEvery); }

// workload.mjs buildEvent(i), as JSON text.
std::string event_json(int i) {
  json ev = {{"_id", "e" + std::to_string(i)},
             {"eventType", kEventTypes[i % 5]},
             {"timestamp", rekindle::format_iso8601(event_time(i))},
             {"productListItems", {{{"SKU", "sku-" + std::to_string(i % 100)}, {"productCategory", "c" + std::to_string(i % 7)}, {"priceTotal", 20 + i % 50}}}}};
  if (i % 5 == 4) ev["commerce"] = {{"order", {{"priceTotal", 40 + i % 70}}}};
  return rekindle::dump(ev);
}

// What the page's transport does now and then: take what waits and ack it.
void drain_outbox(rekindle::engine::Engine& engine) {
  std::vector<std::string> ids;
  for (const auto& r : engine.pending(100000, 1u << 30)) ids.push_back(r.id);
  engine.ack(ids);
}

int journeys_for(int segments) { return std::min(10, segments / 5); }

// An engine with the workload artifact (history limit `history`), the nested
// profile and `history` events ingested; returns the index of the next event.
// A workload that the engine refuses is a broken benchmark: stop loudly.
void require(const rekindle::engine::UpdateResult& r, const std::string& what) {
  if (r.ok) return;
  std::fprintf(stderr, "core_bench: %s failed: %s\n", what.c_str(), rekindle::dump(rekindle::to_json(r.errors)).c_str());
  std::exit(1);
}

int fill(rekindle::engine::Engine& engine, int segments, int history) {
  require(engine.load_artifact(workload_artifact(segments, journeys_for(segments), history), kT0), "the workload artifact");
  require(engine.set_attributes(rekindle::dump(nested_profile()), kT0), "set_attributes");
  for (int i = 0; i < history; ++i) {
    require(engine.ingest(event_json(i), event_time(i)), "event " + std::to_string(i));
    if (i % 200 == 199) drain_outbox(engine);
  }
  drain_outbox(engine);
  return history;
}

// The rule of the peer comparison over the nested profile, with its profile
// paths (rules::ProfilePaths) as the engine holds them.
struct RuleFixture {
  RuleFixture() {
    rekindle::Errors errors;
    rule = *rekindle::rules::compile(five_comparisons(), "$", errors);
    paths.assign(rule);
    paths.resolve(profile, slots);
  }
  bool evaluate() const {
    rekindle::rules::Context ctx{&profile, nullptr, slots.data()};
    return rekindle::rules::evaluate(rule, rule.root, ctx, nullptr, 0, [](int) { return false; });
  }
  rekindle::rules::Rule rule;
  rekindle::rules::ProfilePaths paths;
  json profile = nested_profile();
  std::vector<const json*> slots;
};

// As the engine evaluates a rule: the paths were looked up once, when the
// profile last changed, and the evaluation reads the values found.
void BM_CompiledRule5Comparisons(benchmark::State& state) {
  RuleFixture f;
  for (auto _ : state) {
    bool v = f.evaluate();
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_CompiledRule5Comparisons);

// The same rule when the profile changed before every evaluation: the paths
// are looked up again each time.
void BM_CompiledRule5ComparisonsLookup(benchmark::State& state) {
  RuleFixture f;
  for (auto _ : state) {
    f.paths.resolve(f.profile, f.slots);
    bool v = f.evaluate();
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_CompiledRule5ComparisonsLookup);

// decide() on a placement whose only offer has the rule as its eligibility,
// the result as JSON text (what the binding returns to JS).
void BM_DecideEligibility(benchmark::State& state) {
  rekindle::engine::Engine engine("bench-device");
  json offer = {{"id", "rule"}, {"eligibility", five_comparisons()}, {"content", {{"title", "Offer"}}}};
  offer["placements"] = json::array({"slot"});
  json artifact = {{"version", "bench-rule"}, {"consent", {{"defaults", {{"personalize", "granted"}}}}}};
  artifact["placements"] = json::array({json{{"id", "slot"}}});
  artifact["offers"] = json::array({offer});
  require(engine.load_artifact(rekindle::dump(artifact), kT0), "the decide artifact");
  require(engine.set_attributes(rekindle::dump(nested_profile()), kT0), "set_attributes");
  if (!engine.decide("slot", kT0)) {
    std::fprintf(stderr, "core_bench: decide(\"slot\") found no offer: the rule should hold\n");
    std::exit(1);
  }
  for (auto _ : state) {
    auto d = engine.decide("slot", kT0);
    std::string text = d ? rekindle::dump(rekindle::offers::to_json(*d)) : "null";
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_DecideEligibility);

// Engine::test on the rule compiled as a host's condition (what
// condition.test() runs in the wasm): consent, the condition's paths looked up
// once, the rule.
void BM_ConditionTest(benchmark::State& state) {
  rekindle::engine::Engine engine("bench-device");
  json artifact = {{"version", "bench-rule"}, {"consent", {{"defaults", {{"personalize", "granted"}}}}}};
  require(engine.load_artifact(rekindle::dump(artifact), kT0), "the condition artifact");
  require(engine.set_attributes(rekindle::dump(nested_profile()), kT0), "set_attributes");
  rekindle::Errors errors;
  auto condition = rekindle::engine::Condition::compile(rekindle::dump(five_comparisons()), errors);
  if (!condition || !engine.test(*condition)) {
    std::fprintf(stderr, "core_bench: the condition does not compile or does not hold\n");
    std::exit(1);
  }
  for (auto _ : state) {
    bool v = engine.test(*condition);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_ConditionTest);

// One ingest as the binding does it: the event as JSON text in, the result as
// JSON text out. Args: segments, history (also the history limit, so the
// history stays at that length while events are measured: the oldest fall out).
void BM_Ingest(benchmark::State& state) {
  const int segments = static_cast<int>(state.range(0));
  const int history = static_cast<int>(state.range(1));
  rekindle::engine::Engine engine("bench-device");
  int next = fill(engine, segments, history);
  // Pre-rendered so that only the engine is timed.
  const int batch = 2048;
  std::vector<std::string> events;
  auto render = [&] {
    events.clear();
    for (int i = 0; i < batch; ++i) events.push_back(event_json(next + i));
  };
  render();
  int k = 0;
  for (auto _ : state) {
    const int i = next + k;
    auto result = engine.ingest(events[static_cast<size_t>(k)], event_time(i));
    std::string text = rekindle::engine::to_text(result);
    benchmark::DoNotOptimize(text);
    if (!result.ok) {
      state.SkipWithError("an event was refused");
      break;
    }
    if (++k == batch || k % 200 == 0) {
      state.PauseTiming();
      drain_outbox(engine);
      if (k == batch) {
        next += batch;
        k = 0;
        render();
      }
      state.ResumeTiming();
    }
  }
  state.counters["history"] = static_cast<double>(engine.history().size());
  state.counters["segments"] = segments;
  state.counters["journeys"] = journeys_for(segments);
}
BENCHMARK(BM_Ingest)
    ->ArgNames({"segments", "history"})
    ->Args({50, 10000})
    ->Args({50, 100})
    ->Args({50, 1000})
    ->Args({50, 100000})
    ->Args({10, 10000})
    ->Args({100, 10000})
    ->Args({200, 10000})
    ->Args({500, 10000})
    ->Iterations(4096)
    ->Unit(benchmark::kMicrosecond);

void BM_ParseEventOnly(benchmark::State& state) {
  std::string text = event_json(1);
  for (auto _ : state) {
    auto r = rekindle::event::parse(text);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseEventOnly);

// snapshot() and restore() of the 10,000-event profile of the ingest figure.
void BM_Snapshot10k(benchmark::State& state) {
  rekindle::engine::Engine engine("bench-device");
  fill(engine, 50, 10000);
  for (auto _ : state) {
    std::string text = engine.snapshot();
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_Snapshot10k)->Iterations(20)->Unit(benchmark::kMillisecond);

void BM_Restore10k(benchmark::State& state) {
  rekindle::engine::Engine engine("bench-device");
  fill(engine, 50, 10000);
  const std::string text = engine.snapshot();
  rekindle::engine::Engine other("bench-device");
  for (auto _ : state) {
    auto r = other.restore(text);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Restore10k)->Iterations(10)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
