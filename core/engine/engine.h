#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/artifact/artifact.h"
#include "core/common/error.h"
#include "core/common/time.h"
#include "core/event/event.h"
#include "core/profile/history.h"
#include "core/profile/profile.h"
#include "core/segments/segments.h"

namespace rekindle::engine {

// What one `ingest` call did: the event was accepted (in order or late),
// recognised as a duplicate, or refused with every error found; and the
// segment transitions it caused, each at its true time.
struct IngestResult {
  bool ok = false;
  bool duplicate = false;
  bool late = false;
  std::string event_id;
  Errors errors;
  std::vector<segments::Transition> transitions;
};

// The result of loading an artifact: on errors the previous one stays.
struct LoadResult {
  bool ok = false;
  Errors errors;
  std::vector<segments::Transition> transitions;
};

// The result of a call that only moves time or changes the profile.
struct UpdateResult {
  bool ok = true;
  Errors errors;
  std::vector<segments::Transition> transitions;
};

// The facade the page runtime and the server call. It owns all state of one
// profile; time is always an argument, and `now` never goes backwards: an
// earlier `now` is taken as the latest one seen.
class Engine {
 public:
  explicit Engine(std::string device_id = {});

  // Validates and switches to a campaign artifact (JSON text).
  LoadResult load_artifact(std::string_view artifact_json, TimeMs now);

  // Parses, validates and applies one event. Never throws.
  IngestResult ingest(std::string_view event_json, TimeMs now);
  IngestResult ingest(event::Event ev, TimeMs now);

  // Sets profile attributes from a JSON object (nested objects set nested attributes).
  UpdateResult set_attributes(std::string_view attributes_json, TimeMs now);

  // Processes every deadline up to `now`.
  UpdateResult advance(TimeMs now);

  // The whole state as JSON text with a format version: artifact, clock,
  // profile, history, segment states and counters.
  std::string snapshot() const;

  // Replaces the state with a snapshot. A damaged snapshot, or one written by
  // a newer format, is refused with errors and the engine keeps its state.
  UpdateResult restore(std::string_view snapshot_json);

  // When the truth of some segment may next change without a new event.
  std::optional<TimeMs> next_deadline() const { return segments_.next_deadline(); }
  std::vector<segments::Membership> segments() const { return segments_.members(); }
  const profile::Profile& profile() const { return profile_; }
  const profile::History& history() const { return history_; }
  const artifact::Artifact& artifact() const { return *artifact_; }

  // Number of events accepted so far, and of duplicates ignored.
  uint64_t accepted() const { return accepted_; }
  uint64_t duplicates() const { return duplicates_; }

  // The engine's version string.
  static const char* version();

 private:
  TimeMs tick(TimeMs now);

  std::shared_ptr<const artifact::Artifact> artifact_;
  profile::Profile profile_;
  profile::History history_;
  segments::Segments segments_;
  std::optional<TimeMs> clock_;
  uint64_t accepted_ = 0;
  uint64_t duplicates_ = 0;
};

// The snapshot format this engine writes and the newest it reads.
inline constexpr int kSnapshotFormat = 1;

// Boundary forms: `{ok, duplicate, late, eventId, errors, transitions}` etc.
nlohmann::json to_json(const IngestResult& result);
nlohmann::json to_json(const LoadResult& result);
nlohmann::json to_json(const UpdateResult& result);
nlohmann::json to_json(const std::vector<segments::Membership>& members);

}  // namespace rekindle::engine
