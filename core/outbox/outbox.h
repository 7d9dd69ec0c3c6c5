#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/time.h"

namespace rekindle::outbox {

// Kinds of record the server accepts.
namespace kinds {
inline constexpr std::string_view kEvent = "event";
inline constexpr std::string_view kFeedback = "feedback";
inline constexpr std::string_view kFragment = "fragment";
inline constexpr std::string_view kDispatch = "dispatch";
inline constexpr std::string_view kDispatchCancel = "dispatch.cancel";
inline constexpr std::string_view kJourney = "journey";
inline constexpr std::string_view kTransition = "transition";
inline constexpr std::string_view kConversion = "conversion";
inline constexpr std::string_view kSuppressed = "suppressed";
}  // namespace kinds

inline constexpr std::array<std::string_view, 9> kKnownKinds = {
    kinds::kEvent,      kinds::kFeedback,       kinds::kFragment,
    kinds::kDispatch,   kinds::kDispatchCancel, kinds::kJourney,
    kinds::kTransition, kinds::kConversion,     kinds::kSuppressed};

bool is_known_kind(std::string_view kind);

// One thing that must reach the server.
struct Record {
  std::string id;       // stable, derived deterministically upstream: the dedupe key
  std::string kind;     // one of kKnownKinds
  TimeMs at = 0;
  std::string purpose;  // consent purpose that must be granted before sending; "" = none
  nlohmann::json body;

  bool operator==(const Record&) const = default;
};

// {"id", "kind", "at", "purpose", "body"}: the wire and snapshot form.
nlohmann::json to_json(const Record& record);

// Bounds on what the outbox keeps; bytes count serialized bodies.
struct Limits {
  size_t max_records = 5000;
  size_t max_bytes = 2 * 1024 * 1024;
};

// Records waiting to be sent, oldest first, each at most once: ids already
// queued or recently acknowledged are ignored, so re-deriving a record (after
// a restore, or in a second evaluator) never duplicates it.
class Outbox {
 public:
  // How many acknowledged or cancelled ids are remembered to refuse re-adds.
  static constexpr size_t kRememberedIds = 10000;

  explicit Outbox(Limits limits = {});
  Outbox(const Outbox& other);
  Outbox& operator=(const Outbox& other);
  Outbox(Outbox&&) = default;
  Outbox& operator=(Outbox&&) = default;

  // Queues a record. Returns false, and changes nothing, if its id is empty,
  // already queued, or remembered as acknowledged or cancelled. Past a limit
  // the oldest records are dropped (counted in dropped()); a record whose body
  // alone is over max_bytes is dropped at once and false returned.
  // `bytes` is dump(record.body).size() when the caller has it (0: computed here).
  bool add(Record record, size_t bytes = 0);

  // The next batch, oldest first: at most `max_records` records and
  // `max_bytes` bytes of serialized bodies, but always the first sendable
  // record even if it alone is larger. Records whose purpose `sendable`
  // refuses are skipped (they wait); "" purpose is always sendable, and an
  // empty `sendable` allows no purpose. Does not remove anything: see ack().
  std::vector<Record> pending(size_t max_records, size_t max_bytes,
                              const std::function<bool(const std::string&)>& sendable) const;

  // Removes the acknowledged records and remembers their ids (the last
  // kRememberedIds, including ids this outbox did not hold, e.g. acked for
  // another tab). Returns how many records were removed.
  size_t ack(const std::vector<std::string>& ids);

  // Withdraws a dispatch before it was sent: if `id` is queued it is removed,
  // remembered like an acked id (so it is not re-added) and true returned; the
  // caller then adds a "dispatch.cancel" record. False if already acked or
  // unknown.
  bool cancel(const std::string& id);

  // Consent for `purpose` was denied: removes every queued record that needs
  // it (they are not remembered) and returns how many. purge("") does nothing.
  size_t purge(const std::string& purpose);

  size_t size() const { return records_.size(); }
  size_t bytes() const { return bytes_; }
  uint64_t dropped() const { return dropped_; }
  bool contains(const std::string& id) const { return index_.count(id) != 0; }

  // Snapshot form: {"records": [...], "acked": [ids, oldest first], "dropped": n}.
  nlohmann::json to_json() const;

  // Restores a snapshot, validating it whole (errors with paths rooted at `$`).
  // Records over `limits` are dropped oldest first, as by add().
  static std::optional<Outbox> from_json(const nlohmann::json& value, Errors& errors,
                                         Limits limits = {});

 private:
  struct Entry {
    Record record;
    size_t bytes = 0;
  };
  using List = std::list<Entry>;

  void remove(List::iterator it);
  void remember(const std::string& id);
  void rebuild_index();

  Limits limits_;
  List records_;  // oldest first
  // Ordered containers rather than hashed ones keep libc++'s hash table out
  // of the wasm module (see History).
  std::map<std::string, List::iterator> index_;
  // The last kRememberedIds ids as a ring: once full, remembered_next_ is the
  // oldest, which the next id replaces. (A vector, not a deque: less code.)
  std::vector<std::string> remembered_;
  size_t remembered_next_ = 0;
  std::set<std::string> remembered_set_;
  size_t bytes_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace rekindle::outbox
