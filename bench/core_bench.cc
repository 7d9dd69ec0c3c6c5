// Core costs without the JS boundary: one compiled rule evaluation, and one
// ingest with 50 segments loaded over a 10,000-event history.
#include <benchmark/benchmark.h>

#include <string>

#include "core/engine/engine.h"
#include "core/rules/aggregate.h"

namespace {

using nlohmann::json;
using rekindle::TimeMs;

constexpr TimeMs kT0 = 1796399580000;  // 2026-12-04T15:53:00Z

// The rule of the peer comparison (bench/README): an `and` of five
// comparisons over a nested profile, one of them an `in` list.
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

void BM_CompiledRule5Comparisons(benchmark::State& state) {
  rekindle::Errors errors;
  auto rule = rekindle::rules::compile(five_comparisons(), "$", errors);
  json profile = nested_profile();
  rekindle::rules::Context ctx{&profile, nullptr};
  for (auto _ : state) {
    bool v = rekindle::rules::evaluate(*rule, rule->root, ctx, nullptr, 0, [](int) { return false; });
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_CompiledRule5Comparisons);

// 50 segments of the kinds a real artifact holds: counts, sums, since,
// sequences with absence, profile comparisons, segment references.
std::string artifact_with_segments(int n) {
  json segs = json::array();
  const char* types[] = {"commerce.productViews", "commerce.productListAdds", "commerce.purchases",
                         "web.webpagedetails.pageViews", "commerce.checkouts"};
  for (int i = 0; i < n; ++i) {
    std::string type = types[i % 5];
    json rule;
    switch (i % 5) {
      case 0:
        rule = {{"count", {{"event", {{"type", type}, {"where", {{"path", "event.productListItems[].productCategory"}, {"op", "eq"}, {"value", "c" + std::to_string(i % 7)}}}}}, {"within", "7d"}}}, {"op", "gte"}, {"value", 3}};
        break;
      case 1:
        rule = {{"sequence", {{{"event", {{"type", type}}}}, {{"absent", {{"type", "commerce.purchases"}}}, {"for", std::to_string(30 + i) + "m"}}}}};
        break;
      case 2:
        rule = {{"sum", {{"event", {{"type", type}}}, {"field", "event.commerce.order.priceTotal"}, {"within", "90d"}}}, {"op", "gte"}, {"value", 500 + i}};
        break;
      case 3:
        rule = {{"and", {{{"count", {{"event", {{"type", type}}}}}, {"op", "gte"}, {"value", 1}}, {{"since", {{"event", {{"type", type}}}}}, {"op", "gte"}, {"value", "30d"}}}}};
        break;
      default:
        rule = {{"and", {{{"segment", "s" + std::to_string(i - 1)}}, five_comparisons()}}};
        break;
    }
    segs.push_back({{"id", "s" + std::to_string(i)}, {"rule", rule}});
  }
  return rekindle::dump(json{{"version", "bench"}, {"limits", {{"historyEvents", 100000}, {"historyBytes", 64 * 1024 * 1024}}}, {"segments", segs}});
}

std::string event_json(int i, TimeMs ts) {
  const char* types[] = {"commerce.productViews", "commerce.productListAdds", "web.webpagedetails.pageViews",
                         "commerce.productViews", "commerce.purchases"};
  json ev = {{"_id", "e" + std::to_string(i)}, {"eventType", types[i % 5]}, {"timestamp", rekindle::format_iso8601(ts)},
             {"productListItems", {{{"SKU", "sku-" + std::to_string(i % 100)}, {"productCategory", "c" + std::to_string(i % 7)}, {"priceTotal", 20 + i % 50}}}}};
  if (i % 5 == 4) ev["commerce"] = {{"order", {{"priceTotal", 40 + i % 70}}}};
  return rekindle::dump(ev);
}

void BM_IngestWithSegments(benchmark::State& state) {
  const int segments = static_cast<int>(state.range(0));
  const int history = static_cast<int>(state.range(1));
  rekindle::engine::Engine engine("bench-device");
  engine.load_artifact(artifact_with_segments(segments), kT0);
  TimeMs t = kT0;
  for (int i = 0; i < history; ++i) engine.ingest(event_json(i, t += 60000), t);
  engine.set_attributes(rekindle::dump(nested_profile()), t);
  // Pre-render the measured events so only the engine is timed.
  std::vector<std::string> events;
  for (int i = 0; i < 4096; ++i) events.push_back(event_json(history + i, t + 1000 * (i + 1)));
  size_t k = 0;
  for (auto _ : state) {
    const std::string& text = events[k % events.size()];
    auto r = engine.ingest(text, t + 1000 * static_cast<TimeMs>(k + 1));
    benchmark::DoNotOptimize(r);
    ++k;
    if (k % events.size() == 0) {
      // Fresh ids and later times for the next round.
      state.PauseTiming();
      t += 1000 * static_cast<TimeMs>(events.size()) + 1;
      for (size_t j = 0; j < events.size(); ++j) events[j] = event_json(history + static_cast<int>(k + j), t + 1000 * static_cast<TimeMs>(j + 1));
      k = 0;
      state.ResumeTiming();
    }
  }
  state.counters["history"] = static_cast<double>(engine.history().size());
  state.counters["segments"] = segments;
}
BENCHMARK(BM_IngestWithSegments)->Args({50, 10000})->Args({10, 10000})->Args({500, 10000})->Args({50, 100})->Args({50, 100000})->Unit(benchmark::kMicrosecond);

void BM_ParseEventOnly(benchmark::State& state) {
  std::string text = event_json(1, kT0);
  for (auto _ : state) {
    auto r = rekindle::event::parse(text);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseEventOnly);

}  // namespace

BENCHMARK_MAIN();
