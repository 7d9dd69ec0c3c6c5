#pragma once

// Shared by the core tests: readable error lists and a path + reason matcher.
#include <string>
#include <string_view>

#include "core/common/error.h"

namespace rekindle {

inline std::string describe(const Errors& errors) {
  std::string out;
  for (const auto& e : errors) out += e.path + ": " + e.reason + "\n";
  return out;
}

// True if some error sits exactly at `path` and its reason contains `reason_part`.
inline bool has_error(const Errors& errors, std::string_view path, std::string_view reason_part) {
  for (const auto& e : errors)
    if (e.path == path && e.reason.find(reason_part) != std::string::npos) return true;
  return false;
}

}  // namespace rekindle
