#pragma once

#include <algorithm>
#include <deque>
#include <initializer_list>
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

// A count/sum window's entries, oldest first: they arrive at the back (in the
// middle for a late event) and leave from the front. A vector whose dropped
// front is erased once it is half of the storage: pop_front stays amortized
// O(1), as a deque's, for much less code in the wasm than std::deque's.
class Window {
 public:
  using Entry = std::pair<TimeMs, double>;
  using const_iterator = std::vector<Entry>::const_iterator;

  Window() = default;
  Window(std::initializer_list<Entry> entries) : items_(entries) {}

  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  const Entry& front() const { return items_[head_]; }
  const Entry& back() const { return items_.back(); }
  const_iterator begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  const_iterator end() const { return items_.end(); }

  void emplace_back(TimeMs ts, double amount) { items_.emplace_back(ts, amount); }
  void insert(const_iterator at, const Entry& entry) { items_.insert(at, entry); }
  void pop_front() {
    if (++head_ * 2 < items_.size()) return;
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }

  bool operator==(const Window& other) const { return std::equal(begin(), end(), other.begin(), other.end()); }

 private:
  std::vector<Entry> items_;
  size_t head_ = 0;  // entries before it have left the window
};

// Per-profile state of one aggregate, updated incrementally: an event touches
// it once, and time only drops entries off the front of a window.
struct AggregateState {
  Window window;                                 // count/sum with `within`: (timestamp, amount)
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
