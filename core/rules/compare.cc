#include <algorithm>

#include "core/rules/rule.h"

namespace rekindle::rules {
namespace {

using nlohmann::json;

bool equal(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
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

}  // namespace

bool compare(const Comparison& c, const json& doc) {
  if (c.op == Op::kExists) {
    bool present = any_value(c.path, doc, [](const json& v) { return !v.is_null(); });
    return present == c.expect_exists;
  }
  bool reached = false;
  bool hit = any_value(c.path, doc, [&](const json& v) {
    reached = true;
    return test(c, v);
  });
  if (!reached) return c.op == Op::kNe || c.op == Op::kNotIn;
  return hit;
}

}  // namespace rekindle::rules
