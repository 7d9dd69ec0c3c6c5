#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rekindle {

// Milliseconds since the Unix epoch, UTC. The core never reads a clock: every
// time it uses is given to it as one of these.
using TimeMs = int64_t;
using DurationMs = int64_t;

inline constexpr DurationMs kSecond = 1000;
inline constexpr DurationMs kMinute = 60 * kSecond;
inline constexpr DurationMs kHour = 60 * kMinute;
inline constexpr DurationMs kDay = 24 * kHour;

// The latest instant a JavaScript Date can hold, 8.64e15 ms after 1970. The
// engine's clock stays within [0, kMaxTime]: adding any duration it accepts
// (at most ten thousand years) cannot overflow, and every time it writes
// (profile fields, snapshot clock) is one its own restore reads back.
inline constexpr TimeMs kMaxTime = 8'640'000'000'000'000;

// Parses ISO 8601 / RFC 3339 date-times that carry an offset:
// `2026-12-04T15:53:00Z`, `2026-12-04T16:53:00.250+01:00`, `...+0100`.
// A time without offset is ambiguous across devices and is refused.
std::optional<TimeMs> parse_iso8601(std::string_view text);

// Formats as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
std::string format_iso8601(TimeMs t);

// Parses a duration written as a positive integer and a unit: `500ms`, `30s`,
// `30m`, `24h`, `30d`, `2w`.
std::optional<DurationMs> parse_duration(std::string_view text);

// Formats a duration in the largest unit that divides it: 1800000 -> `30m`.
std::string format_duration(DurationMs d);

}  // namespace rekindle
