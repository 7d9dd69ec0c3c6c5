#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/common/time.h"

namespace rekindle {

// A time read back from a snapshot: an integer within kMaxTime of 1970 (from
// 1970 on when `signed_range` is false). Anything else is damage, and adding a
// duration to it could overflow, so restore refuses it.
inline std::optional<TimeMs> time_from_json(const nlohmann::json& v, bool signed_range = true) {
  const TimeMs low = signed_range ? -kMaxTime : 0;
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() <= static_cast<uint64_t>(kMaxTime)) return v.get<TimeMs>();
  } else if (v.is_number_integer()) {
    TimeMs t = v.get<TimeMs>();
    if (t >= low && t <= kMaxTime) return t;
  }
  return std::nullopt;
}

}  // namespace rekindle
