// Evaluation of compiled rules: the condition tree and its comparisons, the
// hot path of segments, offers and journey branches. Nothing here allocates.
// Built with -O2 inside the -Oz wasm build (core/CMakeLists.txt).
#include <algorithm>

#include "core/rules/aggregate.h"
#include "core/rules/rule.h"

namespace rekindle::rules {
namespace {

using nlohmann::json;

bool equal(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  // The common case (tiers, countries) without nlohmann's general operator==.
  if (a.is_string() && b.is_string()) return *a.get_ptr<const json::string_t*>() == *b.get_ptr<const json::string_t*>();
  return a == b;
}

// The comparison for one reached value; `ne`/`notIn` are the negations of
// `eq`/`in` so that mismatched types count as "not equal".
bool test(const Comparison& c, const json& v) {
  const json& x = c.value;
  switch (c.op) {
    case Op::kEq: return equal(v, x);
    case Op::kNe: return !equal(v, x);
    case Op::kGt: case Op::kGte: case Op::kLt: case Op::kLte: {
      int cmp;
      if (v.is_number() && x.is_number()) {
        double a = v.get<double>(), b = x.get<double>();
        cmp = a < b ? -1 : a > b ? 1 : 0;
      } else if (v.is_string() && x.is_string()) {
        int r = v.get_ref<const std::string&>().compare(x.get_ref<const std::string&>());
        cmp = r < 0 ? -1 : r > 0 ? 1 : 0;
      } else {
        return false;
      }
      return c.op == Op::kGt ? cmp > 0 : c.op == Op::kGte ? cmp >= 0 : c.op == Op::kLt ? cmp < 0 : cmp <= 0;
    }
    case Op::kIn:
    case Op::kNotIn: {
      bool found = std::any_of(x.begin(), x.end(), [&](const json& item) { return equal(v, item); });
      return c.op == Op::kIn ? found : !found;
    }
    case Op::kContains:
      if (v.is_string()) return v.get_ref<const std::string&>().find(x.get_ref<const std::string&>()) != std::string::npos;
      if (v.is_array()) return std::any_of(v.begin(), v.end(), [&](const json& item) { return equal(item, x); });
      return false;
    case Op::kStartsWith:
      return v.is_string() && v.get_ref<const std::string&>().starts_with(x.get_ref<const std::string&>());
    case Op::kEndsWith:
      return v.is_string() && v.get_ref<const std::string&>().ends_with(x.get_ref<const std::string&>());
    case Op::kExists:
      return !v.is_null();
  }
  return false;
}

// The result when the path reaches no value: every operator is false except
// ne, notIn and `exists false` (docs/rules.md, missing fields).
bool unreached(const Comparison& c) {
  if (c.op == Op::kExists) return !c.expect_exists;
  return c.op == Op::kNe || c.op == Op::kNotIn;
}

}  // namespace

bool compare(const Comparison& c, const json& doc) {
  bool reached = false;
  bool hit = any_value(c.path, doc, [&](const json& v) {
    reached = true;
    return test(c, v);
  });
  if (c.op == Op::kExists) return hit == c.expect_exists;  // hit: a value is present and not null
  return reached ? hit : unreached(c);
}

bool evaluate(const Rule& rule, int n, const Context& ctx, const std::vector<AggregateState>* states, TimeMs now,
              MemberOf member) {
  const Node& node = rule.nodes[static_cast<size_t>(n)];
  switch (node.kind) {
    case Node::Kind::kAnd:
      for (int c : node.children)
        if (!evaluate(rule, c, ctx, states, now, member)) return false;
      return true;
    case Node::Kind::kOr:
      for (int c : node.children)
        if (evaluate(rule, c, ctx, states, now, member)) return true;
      return false;
    case Node::Kind::kNot:
      return !evaluate(rule, node.children[0], ctx, states, now, member);
    case Node::Kind::kCompare: {
      const Comparison& c = rule.comparisons[static_cast<size_t>(node.index)];
      const json* doc = c.path.root == Root::kEvent ? ctx.event : ctx.profile;
      return doc ? compare(c, *doc) : unreached(c);
    }
    case Node::Kind::kAggregate:
      return truth(rule.aggregates[static_cast<size_t>(node.index)], (*states)[static_cast<size_t>(node.index)], now);
    case Node::Kind::kSegment:
      return member(node.index);
  }
  return false;
}

}  // namespace rekindle::rules
