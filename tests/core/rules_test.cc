#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/core/error_matchers.h"

#include "core/rules/aggregate.h"
#include "core/rules/rule.h"

namespace rekindle::rules {
namespace {

using nlohmann::json;


Rule must_compile(const json& j) {
  Errors errors;
  auto r = compile(j, "$", errors);
  EXPECT_TRUE(r.has_value()) << describe(errors);
  return r.value_or(Rule{});
}

bool eval_profile(const json& rule_json, const json& profile) {
  Rule r = must_compile(rule_json);
  Context ctx{&profile, nullptr};
  return evaluate(r, r.root, ctx, nullptr, 0, [](int) { return false; });
}

TEST(RulePath, ParsesRootsAndAnyItem) {
  std::string why;
  auto p = parse_path("event.productListItems[].SKU", why);
  ASSERT_TRUE(p) << why;
  EXPECT_EQ(p->root, Root::kEvent);
  ASSERT_EQ(p->steps.size(), 2u);
  EXPECT_TRUE(p->steps[0].any_item);
  EXPECT_EQ(p->steps[1].key, "SKU");
  for (const char* bad : {"tier", "profile", "profile.", "profile..a", "profile.a b", "user.tier", "profile.[]"}) {
    EXPECT_FALSE(parse_path(bad, why)) << bad;
  }
}

TEST(RuleCompare, EveryOperatorOverProfilePaths) {
  json p = {{"tier", "gold"}, {"age", 42}, {"score", 4.5}, {"tags", {"vip", "eu"}}, {"email", "ada@example.com"},
            {"address", {{"city", "Lyon"}}}, {"nothing", nullptr}};
  auto cmp = [&](const char* path, const char* op, json value) {
    return eval_profile({{"path", path}, {"op", op}, {"value", value}}, p);
  };
  EXPECT_TRUE(cmp("profile.tier", "eq", "gold"));
  EXPECT_FALSE(cmp("profile.tier", "eq", "silver"));
  EXPECT_TRUE(cmp("profile.age", "eq", 42.0));
  EXPECT_TRUE(cmp("profile.tier", "ne", "silver"));
  EXPECT_TRUE(cmp("profile.age", "gt", 41));
  EXPECT_FALSE(cmp("profile.age", "gt", 42));
  EXPECT_TRUE(cmp("profile.age", "gte", 42));
  EXPECT_TRUE(cmp("profile.score", "lt", 5));
  EXPECT_TRUE(cmp("profile.score", "lte", 4.5));
  EXPECT_TRUE(cmp("profile.tier", "gt", "bronze"));  // code-point order
  EXPECT_FALSE(cmp("profile.age", "gt", "10"));      // type mismatch
  EXPECT_TRUE(cmp("profile.tier", "in", json::array({"gold", "platinum"})));
  EXPECT_FALSE(cmp("profile.tier", "notIn", json::array({"gold", "platinum"})));
  EXPECT_TRUE(cmp("profile.email", "contains", "@example"));
  EXPECT_TRUE(cmp("profile.tags", "contains", "vip"));
  EXPECT_FALSE(cmp("profile.tags", "contains", "us"));
  EXPECT_TRUE(cmp("profile.email", "startsWith", "ada@"));
  EXPECT_TRUE(cmp("profile.email", "endsWith", ".com"));
  EXPECT_TRUE(cmp("profile.address.city", "eq", "Lyon"));
  EXPECT_TRUE(eval_profile({{"path", "profile.tier"}, {"op", "exists"}}, p));
  EXPECT_FALSE(eval_profile({{"path", "profile.nothing"}, {"op", "exists"}}, p));
  EXPECT_TRUE(cmp("profile.missing", "exists", false));
}

TEST(RuleCompare, MissingFieldsAreFalseExceptNegations) {
  json p = json::object();
  for (const char* op : {"eq", "gt", "gte", "lt", "lte", "contains", "startsWith", "endsWith"}) {
    json v = std::string(op) == "gt" || std::string(op) == "gte" || std::string(op) == "lt" || std::string(op) == "lte" ? json(1) : json("x");
    EXPECT_FALSE(eval_profile({{"path", "profile.tier"}, {"op", op}, {"value", v}}, p)) << op;
  }
  EXPECT_TRUE(eval_profile({{"path", "profile.tier"}, {"op", "ne"}, {"value", "gold"}}, p));
  EXPECT_TRUE(eval_profile({{"path", "profile.tier"}, {"op", "notIn"}, {"value", {"gold"}}}, p));
}

TEST(RuleCompare, BooleanLogic) {
  json p = {{"a", 1}, {"b", 2}};
  json a1 = {{"path", "profile.a"}, {"op", "eq"}, {"value", 1}};
  json b3 = {{"path", "profile.b"}, {"op", "eq"}, {"value", 3}};
  EXPECT_FALSE(eval_profile({{"and", {a1, b3}}}, p));
  EXPECT_TRUE(eval_profile({{"or", {a1, b3}}}, p));
  EXPECT_TRUE(eval_profile({{"not", b3}}, p));
  EXPECT_TRUE(eval_profile({{"and", {a1, {{"not", b3}}}}}, p));
}

TEST(RuleCompile, ReportsEveryErrorWithItsPath) {
  json rule = {{"and",
                {{{"path", "profile.tier"}, {"op", "equals"}, {"value", "gold"}},
                 {{"path", "profile.age"}, {"op", "gt"}, {"value", {1, 2}}},
                 {{"count", {{"event", {{"type", "commerce.purchases"}}}, {"within", "7 days"}}}, {"op", "gte"}, {"value", 1}},
                 {{"path", "event.commerce.order.priceTotal"}, {"op", "gt"}, {"value", 1}},
                 {{"sequence", {{{"absent", {{"type", "a.b"}}}, {"for", "1h"}}, {{"event", {{"type", "c.d"}}}}}}},
                 {{"segment", 42}},
                 {{"path", "profile.x"}, {"op", "in"}, {"value", json::array()}},
                 {{"since", {{"event", {{"type", "x.y"}}}}}, {"op", "eq"}, {"value", "1d"}},
                 {{"bogus", true}},
                 {{"path", "profile.x"}, {"op", "eq"}, {"value", 1}, {"extra", 2}}}}};
  Errors errors;
  EXPECT_FALSE(compile(rule, "$.segments[0].rule", errors));
  auto has = [&](const std::string& path, const std::string& part) { return has_error(errors, path, part); };
  const std::string r = "$.segments[0].rule.and";
  EXPECT_TRUE(has(r + "[0].op", "unknown operator 'equals'")) << describe(errors);
  EXPECT_TRUE(has(r + "[1].value", "must be a number or a string")) << describe(errors);
  EXPECT_TRUE(has(r + "[2].count.within", "is not a duration")) << describe(errors);
  EXPECT_TRUE(has(r + "[3].path", "only allowed inside an event filter")) << describe(errors);
  EXPECT_TRUE(has(r + "[4].sequence[0].absent", "must be the last step")) << describe(errors);
  EXPECT_TRUE(has(r + "[4].sequence[1].within", "is required")) << describe(errors);
  EXPECT_TRUE(has(r + "[5].segment", "must be a segment id")) << describe(errors);
  EXPECT_TRUE(has(r + "[6].value", "non-empty array")) << describe(errors);
  EXPECT_TRUE(has(r + "[7].op", "gt, gte, lt, lte")) << describe(errors);
  EXPECT_TRUE(has(r + "[8]", "is not a rule")) << describe(errors);
  EXPECT_TRUE(has(r + "[9].extra", "is not a known key")) << describe(errors);
}

TEST(RuleCompile, RetentionCoversTheLongestWindow) {
  Rule r = must_compile(json::parse(R"({"or": [
    {"count": {"event": {"type": "a.b"}, "within": "7d"}, "op": "gte", "value": 1},
    {"sequence": [{"event": {"type": "a.b"}}, {"event": {"type": "c.d"}, "within": "10m"},
                  {"absent": {"type": "e.f"}, "for": "1h"}]}]})"));
  EXPECT_EQ(r.longest_window, 7 * kDay);
  EXPECT_TRUE(r.aggregates[1].watches("e.f"));
  EXPECT_FALSE(r.aggregates[0].watches("e.f"));
}

event::Event make(const std::string& type, TimeMs ts, json extra = json::object()) {
  event::Event ev;
  ev.id = type + std::to_string(ts);
  ev.type = type;
  ev.timestamp = ts;
  ev.body = extra;
  ev.body["eventType"] = type;
  return ev;
}

TEST(Aggregates, SumOverAnyItemWithWindowEdges) {
  Rule r = must_compile({{"sum",
                          {{"event", {{"type", "commerce.purchases"}}},
                           {"field", "event.productListItems[].priceTotal"},
                           {"within", "1h"}}},
                         {"op", "gte"},
                         {"value", 100}});
  const Aggregate& a = r.aggregates[0];
  AggregateState s;
  json profile = json::object();
  observe(r, a, s, make("commerce.purchases", 0, {{"productListItems", {{{"priceTotal", 60}}, {{"priceTotal", 30}}}}}), profile, false, nullptr);
  observe(r, a, s, make("commerce.purchases", 10, {{"productListItems", {{{"priceTotal", 10}}, {{"priceTotal", "n/a"}}}}}), profile, false, nullptr);
  expire(a, s, kHour);
  EXPECT_TRUE(truth(a, s, kHour));  // the first purchase is exactly 1h old: still inside
  EXPECT_EQ(next_change(a, s, kHour), kHour + 1);
  expire(a, s, kHour + 1);
  EXPECT_FALSE(truth(a, s, kHour + 1));
  EXPECT_DOUBLE_EQ(s.total, 10);
}

TEST(Aggregates, StateRoundTripsThroughJson) {
  AggregateState s;
  s.window = {{1, 2.5}, {3, 1}};
  s.total = 3.5;
  s.last = 99;
  s.matched = {5, kNever};
  s.broken = true;
  auto back = state_from_json(to_json(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, s);
  EXPECT_FALSE(state_from_json(json{{"window", 1}}));
}

// Found by fuzz/event_fuzzer.cc (fuzz/corpus/event/finding-sum-to-infinity.json):
// two prices of 1e308 summed to infinity, which JSON writes as null, so the
// engine wrote a snapshot that its own restore refused. Sums saturate instead.
TEST(Aggregates, SumsSaturateAtTheLargestFiniteNumber) {
  Rule r = must_compile({{"sum", {{"event", {{"type", "commerce.purchases"}}},
                                  {"field", "event.productListItems[].priceTotal"}, {"within", "1h"}}},
                         {"op", "gte"}, {"value", 100}});
  const Aggregate& a = r.aggregates[0];
  AggregateState s;
  json profile = json::object();
  const json huge = {{"productListItems", {{{"priceTotal", 1e308}}, {{"priceTotal", 1e308}}}}};
  observe(r, a, s, make("commerce.purchases", 0, huge), profile, false, nullptr);
  observe(r, a, s, make("commerce.purchases", 10, huge), profile, false, nullptr);
  const double kMax = std::numeric_limits<double>::max();
  EXPECT_EQ(s.total, kMax);
  EXPECT_EQ(s.window.front().second, kMax);
  EXPECT_TRUE(truth(a, s, 10));
  auto back = state_from_json(to_json(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, s);
  // The first purchase leaves the window: the second still saturates the sum.
  expire(a, s, kHour + 1);
  EXPECT_EQ(s.total, kMax);
  expire(a, s, kHour + 11);
  EXPECT_EQ(s.total, 0);
}

// Found by fuzz/snapshot_fuzzer.cc (fuzz/corpus/snapshot/patch-segments-extreme.json):
// a restored sequence anchored at INT64_MAX overflowed anchor + "for". Times
// in a state are events' or the clock's, within kMaxTime of 1970.
TEST(Aggregates, StateWithTimesOutsideADateIsRefused) {
  AggregateState s;
  s.window = {{-kMaxTime, 1}, {kMaxTime, 1}};
  s.total = 2;
  s.last = kMaxTime;
  s.matched = {-kMaxTime, kNever};
  ASSERT_TRUE(state_from_json(to_json(s)));
  for (json bad : {json(kMaxTime + 1), json(-kMaxTime - 1), json(std::numeric_limits<int64_t>::max()),
                   json(std::numeric_limits<uint64_t>::max()), json(1.5)}) {
    json window = to_json(s), last = to_json(s), matched = to_json(s);
    window["window"][0][0] = bad;
    last["last"] = bad;
    matched["matched"][0] = bad;
    EXPECT_FALSE(state_from_json(window)) << bad;
    EXPECT_FALSE(state_from_json(last)) << bad;
    EXPECT_FALSE(state_from_json(matched)) << bad;
  }
}

}  // namespace
}  // namespace rekindle::rules
