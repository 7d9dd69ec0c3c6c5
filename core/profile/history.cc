#include "core/profile/history.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "core/common/json_depth.h"

namespace rekindle::profile {
namespace {

using nlohmann::json;

// A non-negative integer no larger than `max`, or an error at `path`.
std::optional<uint64_t> read_count(const json& object, const char* key, const std::string& path,
                                   uint64_t max, Errors& errors) {
  auto it = member(object, key);
  if (it == nullptr) {
    add_error(errors, path, "is required");
    return std::nullopt;
  }
  if (!it->is_number_integer() || (!it->is_number_unsigned() && it->get<int64_t>() < 0)) {
    add_error(errors, path, std::string("must be a non-negative integer, not ") +
                                (it->is_number() ? "a negative or fractional number" : type_name(*it)));
    return std::nullopt;
  }
  auto n = it->is_number_unsigned() ? it->get<uint64_t>() : static_cast<uint64_t>(it->get<int64_t>());
  if (n > max) {
    add_error(errors, path, "is over the largest allowed value, " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

std::optional<HistoryLimits> read_limits(const json& value, Errors& errors) {
  auto it = member(value, "limits");
  if (it == nullptr) {
    add_error(errors, "$.limits", "is required");
    return std::nullopt;
  }
  if (!it->is_object()) {
    add_type_error(errors, "$.limits", "must be an object, not ", *it);
    return std::nullopt;
  }
  unknown_keys(*it, "$.limits", {"maxEvents", "maxBytes", "retentionMs"}, nullptr, errors);
  constexpr uint64_t kMaxSize = std::numeric_limits<size_t>::max();
  constexpr uint64_t kMaxDuration = std::numeric_limits<DurationMs>::max();
  auto events = read_count(*it, "maxEvents", "$.limits.maxEvents", kMaxSize, errors);
  auto bytes = read_count(*it, "maxBytes", "$.limits.maxBytes", kMaxSize, errors);
  auto retention = read_count(*it, "retentionMs", "$.limits.retentionMs", kMaxDuration, errors);
  if (!events || !bytes || !retention) return std::nullopt;
  return HistoryLimits{static_cast<size_t>(*events), static_cast<size_t>(*bytes),
                       static_cast<DurationMs>(*retention)};
}

}  // namespace

History::History(HistoryLimits limits) : limits_(limits) {}

void History::set_limits(HistoryLimits limits) {
  limits_ = limits;
  enforce_size();
}

const event::Event* History::insert(event::Event ev, size_t bytes) {
  auto [id, added] = ids_.insert(ev.id);  // one lookup: the id is new
  if (!added) return nullptr;
  if (bytes == 0) bytes = dumped_size(ev.body);
  const TimeMs t = ev.timestamp;
  events_.push_back(std::move(ev));
  entries_.push_back({bytes, id});
  bytes_ += bytes;
  // A late event moves back past every later one, so it lands after the
  // events with its own timestamp; an in-order event stays at the end. (One
  // swap per later event: smaller code than a deque's insert in the middle.)
  size_t i = events_.size() - 1;
  for (; i > 0 && events_[i - 1].timestamp > t; --i) {
    std::swap(events_[i], events_[i - 1]);
    std::swap(entries_[entries_head_ + i], entries_[entries_head_ + i - 1]);
  }
  return &events_[i];
}

void History::prune(TimeMs now) {
  // retention <= 0 keeps nothing older than now; a huge one must not overflow.
  DurationMs retention = std::max<DurationMs>(limits_.retention, 0);
  TimeMs cutoff = now >= std::numeric_limits<TimeMs>::min() + retention
                      ? now - retention
                      : std::numeric_limits<TimeMs>::min();
  while (!events_.empty() && events_.front().timestamp < cutoff) {
    pop_oldest();
    ++expired_;
  }
  enforce_size();
}

std::optional<TimeMs> History::latest() const {
  if (events_.empty()) return std::nullopt;
  return events_.back().timestamp;
}

void History::write(std::string& out) const {
  ObjectWriter w(out);
  w.field("dropped", dropped_);
  std::string& events = w.key("events");
  events += '[';
  for (size_t i = 0; i < events_.size(); ++i) {
    if (i != 0) events += ',';
    w.value(events_[i].body);
  }
  events += ']';
  w.field("expired", expired_);
  w.field("limits", json_object({{"maxBytes", limits_.max_bytes},
                                 {"maxEvents", limits_.max_events},
                                 {"retentionMs", limits_.retention}}));
  w.close();
}

std::optional<History> History::from_json(nlohmann::json value, Errors& errors) {
  if (!value.is_object()) {
    add_type_error(errors, "$", "a history snapshot must be an object, not ", value);
    return std::nullopt;
  }
  size_t before = errors.size();
  unknown_keys(value, "$", {"limits", "expired", "dropped", "events"}, nullptr, errors);
  auto limits = read_limits(value, errors);
  constexpr uint64_t kMaxCount = std::numeric_limits<uint64_t>::max();
  auto expired = read_count(value, "expired", "$.expired", kMaxCount, errors);
  auto dropped = read_count(value, "dropped", "$.dropped", kMaxCount, errors);

  History history(limits.value_or(HistoryLimits{}));
  auto events = member(value, "events");
  if (events == nullptr) {
    add_error(errors, "$.events", "is required");
  } else if (!events->is_array()) {
    add_type_error(errors, "$.events", "must be an array, not ", *events);
  } else {
    for (size_t i = 0; i < events->size(); ++i) {
      auto parsed = event::from_json(std::move((*events)[i]));
      // The event's own paths start at "$"; rebase them on its place here
      // (the place's path is built only for an error: a restore reads
      // thousands of sound events).
      for (auto& e : parsed.errors) add_error(errors, index("$.events", i) + e.path.substr(1), e.reason);
      if (parsed.event && !history.insert(std::move(*parsed.event)))
        add_error(errors, index("$.events", i) + "._id", "duplicates the _id of an earlier event");
    }
  }
  if (errors.size() != before) return std::nullopt;
  history.expired_ = *expired;
  history.dropped_ = *dropped;
  history.enforce_size();
  return history;
}

void History::pop_oldest() {
  const Entry& oldest = entries_[entries_head_];
  ids_.erase(oldest.id);
  bytes_ -= oldest.bytes;
  events_.pop_front();
  if (++entries_head_ * 2 < entries_.size()) return;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(entries_head_));
  entries_head_ = 0;
}

void History::enforce_size() {
  while (!events_.empty() && (events_.size() > limits_.max_events || bytes_ > limits_.max_bytes)) {
    pop_oldest();
    ++dropped_;
  }
}

}  // namespace rekindle::profile
