#pragma once

#include <deque>
#include <optional>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/time.h"
#include "core/event/event.h"
#include "core/rules/rule.h"

namespace rekindle::rules {

inline constexpr TimeMs kNever = INT64_MIN;

// Per-profile state of one aggregate, updated incrementally: an event touches
// it once, and time only drops entries off the front of a window.
struct AggregateState {
  std::deque<std::pair<TimeMs, double>> window;  // count/sum with `within`: (timestamp, amount)
  double total = 0;                              // count or sum over the window, or all-time
  TimeMs last = kNever;                          // since: latest match
  std::vector<TimeMs> matched;                   // sequence: latest match time of each event step
  bool broken = false;                           // sequence: absence broken since the anchor

  bool operator==(const AggregateState&) const = default;
};

// Everything an evaluation reads besides the rule's own state.
struct Context {
  const nlohmann::json* profile = nullptr;  // attributes
  const nlohmann::json* event = nullptr;    // event body (inside filters)
  // The values at the rule's artifact's ProfilePaths in `profile`, by slot,
  // or nullptr: comparisons then walk `profile`.
  const nlohmann::json* const* slots = nullptr;
};

// True if the event passes the filter (type and `where`).
bool matches(const Rule& rule, const EventFilter& f, const event::Event& ev, const nlohmann::json& profile);

// Feeds an event to aggregate `a` (in time order, or late: `late` true).
// `history` is only read for late events of sequences with an absence.
void observe(const Rule& rule, const Aggregate& a, AggregateState& s, const event::Event& ev,
             const nlohmann::json& profile, bool late, const std::deque<event::Event>* history);

// Drops window entries that are out of the window at `now`.
void expire(const Aggregate& a, AggregateState& s, TimeMs now);

// The aggregate's truth at `now` (after `expire(now)`).
bool truth(const Aggregate& a, const AggregateState& s, TimeMs now);

// The earliest time after `now` at which the truth may change without a new event.
std::optional<TimeMs> next_change(const Aggregate& a, const AggregateState& s, TimeMs now);

// Evaluates node `n` of `rule` (aggregates read from `states`, segment
// references through `member`).
bool evaluate(const Rule& rule, int n, const Context& ctx, const std::vector<AggregateState>* states, TimeMs now,
              MemberOf member);

// Snapshot form of a state.
nlohmann::json to_json(const AggregateState& s);
std::optional<AggregateState> state_from_json(const nlohmann::json& j);

}  // namespace rekindle::rules
