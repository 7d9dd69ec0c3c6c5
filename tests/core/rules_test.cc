#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

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

// Evaluates both ways the engine can: walking the profile, and reading the
// values looked up beforehand at the rule's profile paths (ProfilePaths).
// Every test through here checks that the two agree.
bool eval_profile(const json& rule_json, const json& profile) {
  Rule r = must_compile(rule_json);
  Context walked{&profile, nullptr};
  const bool result = evaluate(r, r.root, walked, nullptr, 0, [](int) { return false; });
  ProfilePaths paths;
  paths.assign(r);
  std::vector<const json*> slots;
  paths.resolve(profile, slots);
  Context looked_up{&profile, nullptr, slots.data()};
  EXPECT_EQ(evaluate(r, r.root, looked_up, nullptr, 0, [](int) { return false; }), result)
      << "with the profile paths looked up: " << rule_json.dump() << " on " << profile.dump();
  return result;
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

// The comparison semantics of docs/rules.md on one JSON value, written
// directly: the evaluator (compiled paths, the member search, the any-item
// walk, missing values) must agree with it for every value, literal and
// operator, numbers against strings, booleans and nulls included.
bool reference_equal(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a == b;
}

bool reference_test(const std::string& op, const json& x, const json& v) {
  if (op == "eq") return reference_equal(v, x);
  if (op == "ne") return !reference_equal(v, x);
  if (op == "gt" || op == "gte" || op == "lt" || op == "lte") {
    int cmp;
    if (v.is_number() && x.is_number()) {
      double a = v.get<double>(), b = x.get<double>();
      cmp = a < b ? -1 : a > b ? 1 : 0;
    } else if (v.is_string() && x.is_string()) {
      int r = v.get<std::string>().compare(x.get<std::string>());
      cmp = r < 0 ? -1 : r > 0 ? 1 : 0;
    } else {
      return false;
    }
    return op == "gt" ? cmp > 0 : op == "gte" ? cmp >= 0 : op == "lt" ? cmp < 0 : cmp <= 0;
  }
  if (op == "in" || op == "notIn") {
    bool found = std::any_of(x.begin(), x.end(), [&](const json& item) { return reference_equal(v, item); });
    return op == "in" ? found : !found;
  }
  if (op == "contains") {
    if (v.is_string()) return v.get<std::string>().find(x.get<std::string>()) != std::string::npos;
    if (v.is_array()) return std::any_of(v.begin(), v.end(), [&](const json& item) { return reference_equal(item, x); });
    return false;
  }
  if (op == "startsWith") return v.is_string() && v.get<std::string>().starts_with(x.get<std::string>());
  if (op == "endsWith") return v.is_string() && v.get<std::string>().ends_with(x.get<std::string>());
  ADD_FAILURE() << "unknown op " << op;
  return false;
}

TEST(RuleCompare, AgreesWithTheReferenceOnEveryTypeAndOperator) {
  const json values = json::parse(R"([null, true, false, 0, -0.0, 1, 1.0, 3, 42, 42.0, 42.5, -3, 1e300,
    18446744073709551615, -9223372036854775808, "", "a", "gold", "Gold", "golden", "platinum", "42", "1", "FR",
    "\u00e9", "z", "Z", [], ["gold"], ["gold", 42], [["gold"]], {}, {"gold": 1}])");
  const std::vector<std::pair<std::string, json>> cases = {
      {"eq", nullptr}, {"eq", true}, {"eq", false}, {"eq", 0}, {"eq", 1}, {"eq", 42}, {"eq", 42.0}, {"eq", 42.5},
      {"eq", ""}, {"eq", "gold"}, {"eq", "42"}, {"eq", "\u00e9"}, {"eq", 18446744073709551615ull},
      {"ne", nullptr}, {"ne", true}, {"ne", 42}, {"ne", "gold"}, {"ne", ""},
      {"gt", 0}, {"gt", 42}, {"gte", 42}, {"gte", 42.5}, {"lt", -1}, {"lt", 42}, {"lte", 42.0}, {"lte", 1e300},
      {"gt", ""}, {"gt", "a"}, {"gte", "gold"}, {"lt", "z"}, {"lte", "\u00e9"}, {"gt", "Z"},
      {"in", {"gold"}}, {"in", {"gold", "platinum", "diamond"}}, {"in", {42}}, {"in", {42.0, "42"}},
      {"in", {true}}, {"in", {false, 0}}, {"in", {"", 1.0, true}}, {"in", {"gold", "gold"}},
      {"notIn", {"gold"}}, {"notIn", {3, "3", false}}, {"notIn", {"platinum", "golden", "Gold"}},
      {"contains", ""}, {"contains", "o"}, {"contains", "gold"}, {"contains", "42"},
      {"startsWith", ""}, {"startsWith", "go"}, {"startsWith", "gold"}, {"endsWith", "en"}, {"endsWith", "d"}};
  for (const auto& [op, x] : cases) {
    json rule = {{"path", "profile.v"}, {"op", op}, {"value", x}};
    for (const json& v : values) {
      SCOPED_TRACE(op + " " + x.dump() + " on " + v.dump());
      EXPECT_EQ(eval_profile(rule, {{"v", v}}), reference_test(op, x, v));
      // Any item: true when one item satisfies the comparison.
      json any = {{"path", "profile.v[]"}, {"op", op}, {"value", x}};
      EXPECT_EQ(eval_profile(any, {{"v", {v, "gold"}}}), reference_test(op, x, v) || reference_test(op, x, "gold"));
    }
  }
}

TEST(RuleCompare, MissingPathsAndNonObjectsReachNothing) {
  json p = {{"tier", "gold"}, {"address", {{"city", "Lyon"}}}, {"orders", json::array()}, {"nothing", nullptr},
            {"items", {{{"sku", "a"}}, {{"price", 3}}, 7}}};
  auto cmp = [&](const char* path, const char* op, json value) {
    return eval_profile({{"path", path}, {"op", op}, {"value", value}}, p);
  };
  // A step through a string, a number, null or a missing key reaches no value.
  for (const char* path : {"profile.missing", "profile.tier.name", "profile.address.zip", "profile.nothing.x",
                           "profile.address.city.x", "profile.orders[]", "profile.orders[].total", "profile.tier[]"}) {
    SCOPED_TRACE(path);
    EXPECT_FALSE(cmp(path, "eq", "gold"));
    EXPECT_FALSE(cmp(path, "gte", 0));
    EXPECT_FALSE(cmp(path, "in", {"gold"}));
    EXPECT_FALSE(cmp(path, "contains", ""));
    EXPECT_TRUE(cmp(path, "ne", "gold"));
    EXPECT_TRUE(cmp(path, "notIn", {"gold"}));
    EXPECT_FALSE(eval_profile({{"path", path}, {"op", "exists"}}, p));
    EXPECT_TRUE(cmp(path, "exists", false));
  }
  // Items without the key, or that are not objects, are skipped.
  EXPECT_TRUE(cmp("profile.items[].sku", "eq", "a"));
  EXPECT_FALSE(cmp("profile.items[].sku", "ne", "a"));
  EXPECT_TRUE(cmp("profile.items[].price", "gt", 2));
  EXPECT_TRUE(eval_profile({{"path", "profile.items[].price"}, {"op", "exists"}}, p));
  // A null value is reached: `exists` is false, `eq null` true.
  EXPECT_TRUE(cmp("profile.nothing", "eq", nullptr));
  EXPECT_FALSE(cmp("profile.nothing", "ne", nullptr));
  EXPECT_FALSE(cmp("profile.missing", "eq", nullptr));
}

TEST(RuleCompare, NestedAnyItemPaths) {
  json p = {{"orders", {{{"lines", {{{"sku", "a"}, {"qty", 1}}, {{"sku", "b"}, {"qty", 5}}}}},
                        {{"lines", json::array()}},
                        {{"lines", {{{"sku", "c"}, {"qty", 2}}}}}}}};
  auto cmp = [&](const char* op, json value) {
    return eval_profile({{"path", "profile.orders[].lines[].sku"}, {"op", op}, {"value", value}}, p);
  };
  EXPECT_TRUE(cmp("eq", "c"));
  EXPECT_FALSE(cmp("eq", "d"));
  EXPECT_TRUE(cmp("in", {"x", "b"}));
  EXPECT_TRUE(cmp("notIn", {"a", "b"}));  // "c" is in neither
  EXPECT_FALSE(cmp("notIn", {"a", "b", "c"}));
  EXPECT_TRUE(eval_profile({{"path", "profile.orders[].lines[].qty"}, {"op", "gte"}, {"value", 5}}, p));
  EXPECT_FALSE(eval_profile({{"path", "profile.orders[].lines[].qty"}, {"op", "gt"}, {"value", 5}}, p));
}

// String literals are compared eight bytes at a time, then byte by byte:
// every length around those steps, with a difference at every position.
TEST(RuleCompare, StringLiteralsOfEveryLengthMatchOnlyThemselves) {
  for (size_t n = 0; n <= 20; ++n) {
    std::string text;
    for (size_t i = 0; i < n; ++i) text += static_cast<char>('a' + i % 26);
    SCOPED_TRACE(text);
    EXPECT_TRUE(eval_profile({{"path", "profile.v"}, {"op", "eq"}, {"value", text}}, {{"v", text}}));
    EXPECT_TRUE(eval_profile({{"path", "profile.v"}, {"op", "in"}, {"value", {"x", text, "y"}}}, {{"v", text}}));
    for (size_t i = 0; i < n; ++i) {
      std::string other = text;
      other[i] = static_cast<char>(other[i] ^ 0x80);  // a byte above 0x7f, as in UTF-8
      EXPECT_FALSE(eval_profile({{"path", "profile.v"}, {"op", "eq"}, {"value", text}}, {{"v", other}})) << i;
      EXPECT_TRUE(eval_profile({{"path", "profile.v"}, {"op", "notIn"}, {"value", {text, text + "z"}}}, {{"v", other}})) << i;
    }
    EXPECT_FALSE(eval_profile({{"path", "profile.v"}, {"op", "eq"}, {"value", text}}, {{"v", text + "a"}}));
  }
}

TEST(RuleCompare, LongInLists) {
  json skus = json::array();
  for (int i = 0; i < 200; ++i) skus.push_back("sku-" + std::to_string(1000 + i));
  json rule = {{"path", "profile.sku"}, {"op", "in"}, {"value", skus}};
  EXPECT_TRUE(eval_profile(rule, {{"sku", "sku-1000"}}));
  EXPECT_TRUE(eval_profile(rule, {{"sku", "sku-1199"}}));
  EXPECT_FALSE(eval_profile(rule, {{"sku", "sku-1200"}}));
  EXPECT_FALSE(eval_profile(rule, {{"sku", 1000}}));
}

// Object members are found by a search with an inline first-byte test: keys
// that share first bytes or prefixes, differ in case, or hold bytes above
// 0x7f (compared as unsigned, as the map orders them) must all be found.
TEST(RulePath, ProfilePathsAreSharedAcrossRulesAndSkipAnyItemPaths) {
  ProfilePaths paths;
  Rule a = must_compile({{"and", {{{"path", "profile.address.city"}, {"op", "eq"}, {"value", "Lyon"}},
                                  {{"path", "profile.tags[]"}, {"op", "eq"}, {"value", "vip"}}}}});
  Rule b = must_compile({{"and", {{{"path", "profile.tier"}, {"op", "exists"}},
                                  {{"path", "profile.address.city"}, {"op", "ne"}, {"value", "Paris"}}}}});
  paths.assign(a);
  paths.assign(b);
  EXPECT_EQ(paths.size(), 2u);
  EXPECT_EQ(a.comparisons[0].slot, 0);
  EXPECT_EQ(a.comparisons[1].slot, -1);  // `[]` may reach several values: walked
  EXPECT_EQ(b.comparisons[0].slot, 1);
  EXPECT_EQ(b.comparisons[1].slot, 0);
  std::vector<const json*> slots;
  json profile = {{"address", {{"city", "Lyon"}}}, {"tags", {"vip"}}};
  paths.resolve(profile, slots);
  ASSERT_EQ(slots.size(), 2u);
  ASSERT_NE(slots[0], nullptr);
  EXPECT_EQ(*slots[0], "Lyon");
  EXPECT_EQ(slots[1], nullptr);
  paths.resolve(json::array(), slots);  // not an object: every path reaches nothing
  EXPECT_EQ(slots, (std::vector<const json*>{nullptr, nullptr}));
}

TEST(RulePath, MemberFindsEveryKeyOfAnObject) {
  json obj = json::object();
  const std::vector<std::string> keys = {"", "c", "ci", "city", "co", "count", "country", "countries", "C", "City",
                                         "z", "Z", "_", "$", "\u00e9", "\u00e9t\u00e9", "\xff", "a-b", "a_b"};
  for (size_t i = 0; i < keys.size(); ++i) obj[keys[i]] = i;
  for (size_t i = 0; i < keys.size(); ++i) {
    const json* m = member(obj, keys[i]);
    ASSERT_NE(m, nullptr) << keys[i];
    EXPECT_EQ(*m, i) << keys[i];
  }
  for (const char* absent : {"cit", "cityx", "coun", "countr", "d", "CITY", "\u00e8", "\xfe", "a"}) {
    EXPECT_EQ(member(obj, absent), nullptr) << absent;
  }
  EXPECT_EQ(member(json::object(), "a"), nullptr);
  EXPECT_EQ(member(json::array({1}), "a"), nullptr);
  EXPECT_EQ(member(json("a"), "a"), nullptr);
}

TEST(RuleEvaluate, EventPathsWithoutAnEventReachNothing) {
  Errors errors;
  auto f = compile_filter({{"type", "commerce.purchases"},
                           {"where", {{"and", {{{"path", "event.commerce.order.priceTotal"}, {"op", "ne"}, {"value", 1}},
                                               {{"path", "event.data"}, {"op", "exists"}, {"value", false}}}}}}},
                          "$", errors);
  ASSERT_TRUE(f) << describe(errors);
  json profile = json::object();
  Context no_event{&profile, nullptr};
  EXPECT_TRUE(evaluate(f->rule, f->filter.where, no_event, nullptr, 0, [](int) { return false; }));
  json body = {{"commerce", {{"order", {{"priceTotal", 1}}}}}};
  Context with_event{&profile, &body};
  EXPECT_FALSE(evaluate(f->rule, f->filter.where, with_event, nullptr, 0, [](int) { return false; }));
}

TEST(RuleEvaluate, SegmentReferencesGoThroughTheCallersCallback) {
  Rule r = must_compile({{"or", {{{"segment", "a"}}, {{"and", {{{"segment", "b"}}, {{"not", {{"segment", "c"}}}}}}}}}});
  json profile = json::object();
  Context ctx{&profile, nullptr};
  std::vector<std::string> asked;
  auto member_of = [&](const std::set<std::string>& in) {
    return [&, in](int ref) {
      asked.push_back(r.segment_refs[static_cast<size_t>(ref)]);
      return in.count(r.segment_refs[static_cast<size_t>(ref)]) > 0;
    };
  };
  EXPECT_TRUE(evaluate(r, r.root, ctx, nullptr, 0, member_of({"a"})));
  EXPECT_EQ(asked, std::vector<std::string>({"a"}));  // `or` stops at the first true child
  asked.clear();
  EXPECT_TRUE(evaluate(r, r.root, ctx, nullptr, 0, member_of({"b"})));
  EXPECT_EQ(asked, std::vector<std::string>({"a", "b", "c"}));
  EXPECT_FALSE(evaluate(r, r.root, ctx, nullptr, 0, member_of({"b", "c"})));
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
