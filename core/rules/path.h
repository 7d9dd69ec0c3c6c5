#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace rekindle::rules {

// Where a path starts: the profile's attributes or the event being matched.
enum class Root { kProfile, kEvent };

// One step of a path: an object key, optionally followed by `[]` ("any item").
struct PathStep {
  std::string key;
  bool any_item = false;
};

// A compiled path such as `event.productListItems[].SKU`: parsed once at load,
// then followed on each evaluation without re-reading the text.
struct Path {
  Root root = Root::kProfile;
  std::vector<PathStep> steps;
  std::string text;
  bool has_any_item() const;
};

// Parses a path; on failure returns nullopt and says why in `why`.
std::optional<Path> parse_path(std::string_view text, std::string& why);

// A key looked up in a JSON object, whose members are a std::map<std::string,
// json, std::less<>>: the map calls `operator<` below for each tree node it
// passes. Key comparisons (a memcmp call each) were most of the cost of a
// rule, so the first bytes are compared inline (they decide most of them),
// and the node whose key is equal is remembered, so that no second
// comparison of the whole key is needed after the search.
struct KeyProbe {
  std::string_view key;
  mutable const std::string* equal = nullptr;  // the map's key equal to `key`, once met
};

inline int compare_keys(std::string_view a, std::string_view b) {
  if (!a.empty() && !b.empty() && a[0] != b[0])
    return static_cast<unsigned char>(a[0]) < static_cast<unsigned char>(b[0]) ? -1 : 1;
  return a.compare(b);
}
inline bool operator<(const std::string& a, const KeyProbe& b) {
  int c = compare_keys(a, b.key);
  if (c == 0) b.equal = &a;
  return c < 0;
}
inline bool operator<(const KeyProbe& a, const std::string& b) {
  int c = compare_keys(a.key, b);
  if (c == 0) a.equal = &b;
  return c < 0;
}

// The member `key` of `obj`, or null when `obj` is not an object or has no such key.
inline const nlohmann::json* member(const nlohmann::json& obj, std::string_view key) {
  const auto* map = obj.get_ptr<const nlohmann::json::object_t*>();
  if (map == nullptr) return nullptr;
  KeyProbe probe{key};
  // lower_bound ends on the equal key if there is one, and compared it on the way.
  auto it = map->lower_bound(probe);
  return it != map->end() && probe.equal == &it->first ? &it->second : nullptr;
}

// Calls `visit(const json&)` for every value the path reaches from `doc` (the
// root object), stopping early when `visit` returns true. Returns true if any
// call returned true. A path with `[]` may reach several values; missing keys reach none.
template <class Visit>
bool any_value(const Path& path, const nlohmann::json& doc, Visit&& visit, size_t from = 0) {
  const nlohmann::json* cur = &doc;
  for (size_t i = from; i < path.steps.size(); ++i) {
    const PathStep& step = path.steps[i];
    cur = member(*cur, step.key);
    if (cur == nullptr) return false;
    if (step.any_item) {
      if (!cur->is_array()) return false;
      // The array as the vector it is: no nlohmann iterator in the loop.
      for (const auto& item : cur->get_ref<const nlohmann::json::array_t&>()) {
        if (i + 1 == path.steps.size()) {
          if (visit(item)) return true;
        } else if (any_value(path, item, visit, i + 1)) {
          return true;
        }
      }
      return false;
    }
  }
  return visit(*cur);
}

}  // namespace rekindle::rules
