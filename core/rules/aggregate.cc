#include "core/rules/aggregate.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/common/json_time.h"

namespace rekindle::rules {
namespace {

using nlohmann::json;

bool compare_number(Op op, double a, double b) {
  switch (op) {
    case Op::kEq: return a == b;
    case Op::kNe: return a != b;
    case Op::kGt: return a > b;
    case Op::kGte: return a >= b;
    case Op::kLt: return a < b;
    case Op::kLte: return a <= b;
    default: return false;
  }
}

// Sums saturate at the largest finite double: an infinite amount or total
// has no JSON form, and a snapshot holding one would not restore.
constexpr double kMaxAmount = std::numeric_limits<double>::max();

double saturated(double x) { return std::clamp(x, -kMaxAmount, kMaxAmount); }

double amount_of(const Aggregate& a, const event::Event& ev) {
  if (a.kind == AggregateKind::kCount) return 1;
  double total = 0;
  any_value(*a.field, ev.body, [&](const json& v) {
    if (v.is_number()) total = saturated(total + v.get<double>());
    return false;
  });
  return total;
}

void add_to_window(const Aggregate& a, AggregateState& s, TimeMs ts, double amount, bool late) {
  s.total = saturated(s.total + amount);
  if (a.within < 0) return;
  if (!late || s.window.empty() || s.window.back().first <= ts) {
    s.window.emplace_back(ts, amount);
    return;
  }
  auto at = std::upper_bound(s.window.begin(), s.window.end(), ts,
                             [](TimeMs t, const std::pair<TimeMs, double>& e) { return t < e.first; });
  s.window.insert(at, {ts, amount});
}

// A late event that moved the anchor: the absence holds again unless an
// absent event already sits after the new anchor in the history.
bool absence_broken_since(const Rule& rule, const Aggregate& a, TimeMs anchor, const event::Event& self,
                          const json& profile, const std::deque<event::Event>& history) {
  for (auto it = history.rbegin(); it != history.rend() && it->timestamp >= anchor; ++it) {
    if (it->id == self.id) continue;
    if (matches(rule, *a.absent, *it, profile)) return true;
  }
  return false;
}

void observe_sequence(const Rule& rule, const Aggregate& a, AggregateState& s, const event::Event& ev,
                      const json& profile, bool late, const std::deque<event::Event>* history) {
  const size_t n = a.steps.size();
  if (s.matched.size() != n) s.matched.assign(n, kNever);
  const TimeMs ts = ev.timestamp;
  const TimeMs anchor_before = s.matched[n - 1];
  if (a.absent && anchor_before != kNever && ts >= anchor_before && matches(rule, *a.absent, ev, profile))
    s.broken = true;
  // From the last step to the first, so one event never advances two steps.
  for (size_t i = n - 1; i >= 1; --i) {
    TimeMs prev = s.matched[i - 1];
    if (prev == kNever || ts < prev || ts - prev > a.steps[i].within) continue;
    if (late && s.matched[i] != kNever && ts <= s.matched[i]) continue;
    if (matches(rule, a.steps[i].filter, ev, profile)) s.matched[i] = ts;
  }
  if ((!late || s.matched[0] == kNever || ts > s.matched[0]) && matches(rule, a.steps[0].filter, ev, profile))
    s.matched[0] = ts;
  const TimeMs anchor = s.matched[n - 1];
  if (anchor != anchor_before && a.absent) {
    s.broken = late && history ? absence_broken_since(rule, a, anchor, ev, profile, *history) : false;
  }
}

}  // namespace

bool matches(const Rule& rule, const EventFilter& f, const event::Event& ev, const json& profile) {
  if (std::find(f.types.begin(), f.types.end(), ev.type) == f.types.end()) return false;
  if (f.where < 0) return true;
  Context ctx{&profile, &ev.body};
  return evaluate(rule, f.where, ctx, nullptr, ev.timestamp, [](int) { return false; });
}

void observe(const Rule& rule, const Aggregate& a, AggregateState& s, const event::Event& ev,
             const json& profile, bool late, const std::deque<event::Event>* history) {
  switch (a.kind) {
    case AggregateKind::kCount:
    case AggregateKind::kSum:
      if (matches(rule, a.filter, ev, profile)) add_to_window(a, s, ev.timestamp, amount_of(a, ev), late);
      break;
    case AggregateKind::kSince:
      if (matches(rule, a.filter, ev, profile)) s.last = std::max(s.last, ev.timestamp);
      break;
    case AggregateKind::kSequence:
      observe_sequence(rule, a, s, ev, profile, late, history);
      break;
  }
}

void expire(const Aggregate& a, AggregateState& s, TimeMs now) {
  if (a.within < 0 || a.kind == AggregateKind::kSince || a.kind == AggregateKind::kSequence) return;
  const size_t before = s.window.size();
  // A total that reached the largest double no longer knows its parts.
  bool recount = std::fabs(s.total) == kMaxAmount;
  while (!s.window.empty() && now - s.window.front().first > a.within) {
    s.total = saturated(s.total - s.window.front().second);
    recount = recount || std::fabs(s.total) == kMaxAmount;
    s.window.pop_front();
  }
  if (s.window.empty()) {
    s.total = 0;  // no drift from repeated float subtraction
  } else if (recount && s.window.size() != before) {
    s.total = 0;
    for (const auto& entry : s.window) s.total = saturated(s.total + entry.second);
  }
}

bool truth(const Aggregate& a, const AggregateState& s, TimeMs now) {
  switch (a.kind) {
    case AggregateKind::kCount:
    case AggregateKind::kSum:
      return compare_number(a.op, s.total, a.number);
    case AggregateKind::kSince:
      if (s.last == kNever) return false;
      return compare_number(a.op, static_cast<double>(now - s.last), static_cast<double>(a.duration));
    case AggregateKind::kSequence: {
      if (s.matched.empty() || s.matched.back() == kNever) return false;
      TimeMs done = s.matched.back();
      if (a.absent) {
        if (s.broken) return false;
        done += a.absent_for;
        if (now < done) return false;
      }
      return a.within < 0 || now - done <= a.within;
    }
  }
  return false;
}

std::optional<TimeMs> next_change(const Aggregate& a, const AggregateState& s, TimeMs now) {
  std::optional<TimeMs> t;
  switch (a.kind) {
    case AggregateKind::kCount:
    case AggregateKind::kSum:
      if (a.within >= 0 && !s.window.empty()) t = s.window.front().first + a.within + 1;
      break;
    case AggregateKind::kSince:
      if (s.last != kNever)
        t = s.last + a.duration + ((a.op == Op::kGt || a.op == Op::kLte) ? 1 : 0);
      break;
    case AggregateKind::kSequence: {
      if (s.matched.empty() || s.matched.back() == kNever) break;
      TimeMs done = s.matched.back();
      if (a.absent) {
        if (s.broken) break;
        done += a.absent_for;
        if (done > now) {
          t = done;
          break;
        }
      }
      if (a.within >= 0) t = done + a.within + 1;
      break;
    }
  }
  if (t && *t <= now) return std::nullopt;
  return t;
}

json to_json(const AggregateState& s) {
  json w = json(json::value_t::array);
  for (const auto& [ts, amount] : s.window) {
    json entry(json::value_t::array);
    entry.push_back(ts);
    entry.push_back(amount);
    w.push_back(std::move(entry));
  }
  json m = json(json::value_t::array);
  for (TimeMs t : s.matched) m.push_back(t == kNever ? json(nullptr) : json(t));
  return json_object({{"window", std::move(w)}, {"total", s.total},
                      {"last", s.last == kNever ? json(nullptr) : json(s.last)},
                      {"matched", std::move(m)}, {"broken", s.broken}});
}

std::optional<AggregateState> state_from_json(const json& j) {
  if (!j.is_object()) return std::nullopt;
  AggregateState s;
  auto w = member(j, "window");
  auto total = member(j, "total");
  auto last = member(j, "last");
  auto m = member(j, "matched");
  auto broken = member(j, "broken");
  if (w == nullptr || !w->is_array() || total == nullptr || !total->is_number() || last == nullptr ||
      !(last->is_null() || last->is_number_integer()) || m == nullptr || !m->is_array() ||
      broken == nullptr || !broken->is_boolean())
    return std::nullopt;
  for (const auto& e : array_items(*w)) {
    if (!e.is_array() || e.size() != 2 || !e[1].is_number() || !std::isfinite(e[1].get<double>())) return std::nullopt;
    auto ts = time_from_json(e[0]);
    if (!ts) return std::nullopt;
    s.window.emplace_back(*ts, e[1].get<double>());
  }
  s.total = total->get<double>();
  if (!std::isfinite(s.total)) return std::nullopt;
  if (!last->is_null()) {
    auto t = time_from_json(*last);
    if (!t) return std::nullopt;
    s.last = *t;
  }
  for (const auto& t : array_items(*m)) {
    auto time = t.is_null() ? std::optional<TimeMs>(kNever) : time_from_json(t);
    if (!time) return std::nullopt;
    s.matched.push_back(*time);
  }
  s.broken = broken->get<bool>();
  return s;
}

}  // namespace rekindle::rules
