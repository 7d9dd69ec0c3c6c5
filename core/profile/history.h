#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/time.h"
#include "core/event/event.h"

namespace rekindle::profile {

// How much history a device keeps: rules look back at most this far.
struct HistoryLimits {
  size_t max_events = 10000;
  size_t max_bytes = 4 * 1024 * 1024;  // sum of the events' serialized bodies
  DurationMs retention = kHour;        // events older than now - retention expire

  bool operator==(const HistoryLimits&) const = default;
};

// The visitor's recent events in timestamp order, without duplicate ids, and
// bounded in count, bytes and age.
class History {
 public:
  explicit History(HistoryLimits limits = {});
  // Moves only: entries_ points into ids_, whose nodes a move takes along.
  History(History&&) = default;
  History& operator=(History&&) = default;
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  const HistoryLimits& limits() const { return limits_; }
  // Enforces max_events and max_bytes at once (counted as dropped); the new
  // retention applies at the next prune().
  void set_limits(HistoryLimits limits);

  // Inserts in timestamp order; an event with an equal timestamp goes after
  // the ones already held. Returns the stored event, valid until the next
  // insert or prune; nullptr, and nothing inserted, if the id is already
  // held. Does not enforce the limits: call prune() after inserting.
  // `bytes` is dump(ev.body).size() when the caller has it (0: computed here).
  const event::Event* insert(event::Event ev, size_t bytes = 0);
  bool contains(const std::string& id) const { return ids_.count(id) != 0; }

  // Removes events with timestamp < now - retention (counted as expired),
  // then the oldest ones until max_events and max_bytes hold (counted as
  // dropped).
  void prune(TimeMs now);

  const std::deque<event::Event>& events() const { return events_; }  // oldest first
  size_t size() const { return events_.size(); }
  size_t bytes() const { return bytes_; }
  uint64_t expired() const { return expired_; }
  uint64_t dropped() const { return dropped_; }
  std::optional<TimeMs> latest() const;

  // Snapshot: {"limits": {"maxEvents", "maxBytes", "retentionMs"},
  // "expired": n, "dropped": n, "events": [event bodies, oldest first]},
  // appended to `out` as JSON text (what dump() writes: keys in order). The
  // bodies are written where they are held: a tree of the whole history would
  // copy every event first.
  void write(std::string& out) const;
  // Restores a snapshot, re-validating every event; a snapshot held over
  // its limits is trimmed (counted as dropped).
  // Takes the value (a restore moves the snapshot's events in rather than copying them).
  static std::optional<History> from_json(nlohmann::json value, Errors& errors);

 private:
  void pop_oldest();
  void enforce_size();

  HistoryLimits limits_;
  std::deque<event::Event> events_;
  // Ordered rather than hashed: the module then carries no hash table code
  // (libc++'s is ~2 KB gzip in the wasm), at O(log n) string compares.
  std::set<std::string> ids_;
  // Parallel to events_: dump(body).size(), and the event's id in ids_, which
  // the prune erases without looking it up again (with 100,000 events that
  // lookup, a cache miss per level, was half of an ingest).
  struct Entry {
    size_t bytes;
    std::set<std::string>::iterator id;
  };
  // From entries_head_ on: a vector whose popped front is erased once it is
  // half of the storage (pop_front amortized O(1), as a deque's, for less
  // code in the wasm than a second std::deque).
  std::vector<Entry> entries_;
  size_t entries_head_ = 0;
  size_t bytes_ = 0;
  uint64_t expired_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace rekindle::profile
