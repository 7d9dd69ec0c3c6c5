// Evaluation of compiled rules: the condition tree and its comparisons, the
// hot path of segments, offers and journey branches. Nothing here allocates.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/rules/aggregate.h"
#include "core/rules/rule.h"

namespace rekindle::rules {
namespace {

using nlohmann::json;

// Equality of `n` bytes, eight at a time (one 64-bit load each in the wasm)
// and without a call: the strings rules compare are short.
inline bool same_bytes(const char* a, const char* b, size_t n) {
  for (; n >= 8; a += 8, b += 8, n -= 8) {
    uint64_t x, y;
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    if (x != y) return false;
  }
  for (; n > 0; ++a, ++b, --n)
    if (*a != *b) return false;
  return true;
}

bool equal(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  // The common case (tiers, countries) without nlohmann's general operator==.
  if (a.is_string() && b.is_string()) return *a.get_ptr<const json::string_t*>() == *b.get_ptr<const json::string_t*>();
  return a == b;
}

// The comparison by its literal's decoded form (Literal), without
// nlohmann's dispatch on the literal's type. False when that form does not
// decide it (a general literal): `test` then compares the JSON values.
// Inlined into the evaluation loop.
[[gnu::always_inline]] inline bool by_literal(const Comparison& c, const json& v, bool& result) {
  switch (c.literal) {
    case Literal::kNumber:
      if (v.is_number()) {
        const double a = v.get<double>(), b = c.number;
        switch (c.op) {
          case Op::kEq: result = a == b; return true;
          case Op::kNe: result = a != b; return true;
          case Op::kGt: result = a > b; return true;
          case Op::kGte: result = a >= b; return true;
          case Op::kLt: result = a < b; return true;
          case Op::kLte: result = a <= b; return true;
          default: return false;
        }
      }
      // A number literal against any other type: only `ne` holds.
      result = c.op == Op::kNe;
      return c.op != Op::kIn && c.op != Op::kNotIn;
    case Literal::kBoolean: {
      const auto* b = v.get_ptr<const json::boolean_t*>();
      const bool same = b != nullptr && *b == (c.number != 0);
      result = c.op == Op::kEq ? same : !same;
      return true;
    }
    case Literal::kStrings: {
      bool found = false;
      if (const auto* s = v.get_ptr<const json::string_t*>()) {
        const char* text = s->data();
        const size_t n = s->size();
        const char* all = c.strings.data();
        uint32_t start = 0;
        for (uint32_t end : c.string_ends) {
          if (end - start == n && same_bytes(all + start, text, n)) {
            found = true;
            break;
          }
          start = end;
        }
      }
      result = c.op == Op::kIn || c.op == Op::kEq ? found : !found;
      return true;
    }
    case Literal::kGeneral:
      break;
  }
  return false;
}

// The comparison for one reached value, from the literal as written (the
// reference for by_literal); `ne`/`notIn` are the negations of `eq`/`in` so
// that mismatched types count as "not equal".
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
      // The literal is a non-empty array (compile checks it): walked as its
      // vector, without nlohmann's iterators.
      const auto& items = array_items(x);
      bool found = std::any_of(items.begin(), items.end(), [&](const json& item) { return equal(v, item); });
      return c.op == Op::kIn ? found : !found;
    }
    case Op::kContains:
      if (v.is_string()) return v.get_ref<const std::string&>().find(x.get_ref<const std::string&>()) != std::string::npos;
      if (v.is_array()) {
        const auto& items = array_items(v);
        return std::any_of(items.begin(), items.end(), [&](const json& item) { return equal(item, x); });
      }
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

// Here rather than with assign (compile.cc): the key lookups are built for
// speed in this file, and a change of the profile runs this.
void ProfilePaths::resolve(const nlohmann::json& attributes, std::vector<const nlohmann::json*>& out) const {
  out.assign(paths_.size(), nullptr);
  for (size_t i = 0; i < paths_.size(); ++i) {
    const nlohmann::json* cur = &attributes;
    for (const PathStep& step : paths_[i].steps) {
      cur = member(*cur, step.key);
      if (cur == nullptr) break;
    }
    out[i] = cur;
  }
}

bool compare(const Comparison& c, const json& doc) {
  bool reached = false;
  bool hit = any_value(c.path, doc, [&](const json& v) {
    reached = true;
    return test(c, v);
  });
  if (c.op == Op::kExists) return hit == c.expect_exists;  // hit: a value is present and not null
  return reached ? hit : unreached(c);
}

namespace {

// A comparison node, read from the slots when the caller has them.
[[gnu::always_inline]] inline bool leaf(const Rule& rule, const Node& node, const Context& ctx) {
  const Comparison& c = rule.comparisons[static_cast<size_t>(node.index)];
  if (c.slot >= 0 && ctx.slots != nullptr) {
    const json* v = ctx.slots[c.slot];
    if (v == nullptr) return unreached(c);
    if (bool result; by_literal(c, *v, result)) return result;
    return c.op == Op::kExists ? !v->is_null() == c.expect_exists : test(c, *v);
  }
  const json* doc = c.path.root == Root::kEvent ? ctx.event : ctx.profile;
  return doc ? compare(c, *doc) : unreached(c);
}

}  // namespace

bool evaluate(const Rule& rule, int n, const Context& ctx, const std::vector<AggregateState>* states, TimeMs now,
              MemberOf member) {
  const Node& node = rule.nodes[static_cast<size_t>(n)];
  switch (node.kind) {
    case Node::Kind::kAnd:
    case Node::Kind::kOr: {
      // and: the first false child decides; or: the first true one. Leaf
      // comparisons are tested here rather than through a call each.
      const bool decisive = node.kind == Node::Kind::kOr;
      for (int c : node.children) {
        const Node& child = rule.nodes[static_cast<size_t>(c)];
        bool v = child.kind == Node::Kind::kCompare ? leaf(rule, child, ctx)
                                                     : evaluate(rule, c, ctx, states, now, member);
        if (v == decisive) return decisive;
      }
      return !decisive;
    }
    case Node::Kind::kNot:
      return !evaluate(rule, node.children[0], ctx, states, now, member);
    case Node::Kind::kCompare:
      return leaf(rule, node, ctx);
    case Node::Kind::kAggregate:
      return truth(rule.aggregates[static_cast<size_t>(node.index)], (*states)[static_cast<size_t>(node.index)], now);
    case Node::Kind::kSegment:
      return member(node.index);
  }
  return false;
}

}  // namespace rekindle::rules
