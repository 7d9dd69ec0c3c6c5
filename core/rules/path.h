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

// Calls `visit(const json&)` for every value the path reaches from `doc` (the
// root object), stopping early when `visit` returns true. Returns true if any
// call returned true. A path with `[]` may reach several values; missing keys reach none.
template <class Visit>
bool any_value(const Path& path, const nlohmann::json& doc, Visit&& visit, size_t from = 0) {
  const nlohmann::json* cur = &doc;
  for (size_t i = from; i < path.steps.size(); ++i) {
    const PathStep& step = path.steps[i];
    if (!cur->is_object()) return false;
    auto it = cur->find(step.key);
    if (it == cur->end()) return false;
    cur = &*it;
    if (step.any_item) {
      if (!cur->is_array()) return false;
      for (const auto& item : *cur) {
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
