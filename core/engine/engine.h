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
#include "core/consent/consent.h"
#include "core/event/event.h"
#include "core/journeys/journeys.h"
#include "core/outbox/outbox.h"
#include "core/profile/history.h"
#include "core/profile/profile.h"
#include "core/segments/segments.h"

namespace rekindle::engine {

// What a call did: its errors, the segment transitions it caused (each at its
// true time) and the effects for the host to apply, in order.
struct UpdateResult {
  bool ok = true;
  Errors errors;
  std::vector<segments::Transition> transitions;
  std::vector<journeys::Effect> effects;
};

// What one `ingest` did, besides the above: accepted (in order or late),
// recognised as a duplicate, or refused.
struct IngestResult : UpdateResult {
  bool duplicate = false;
  bool late = false;
  std::string event_id;
  IngestResult() { ok = false; }
};

// The result of loading an artifact: on errors the previous one stays.
// `same`: it is the artifact the engine runs already (the same JSON text once
// parsed and written again), so the call did exactly what advance(now) does
// (deadlines up to `now`, the history's retention): a host that journals its
// calls may record it as that instead of the artifact.
struct LoadResult : UpdateResult {
  bool same = false;
};

// A condition the host compiles once and tests whenever it likes
// (Engine::test): comparisons over the profile's attributes and segment
// memberships, the language of offer eligibility (docs/rules.md, "Conditions").
// It holds no state of an engine's, so one condition may be tested against
// any engine; like an engine, it is used by one thread at a time.
class Condition {
 public:
  // Parses and compiles JSON text. On errors, returns nothing and appends
  // each, with its JSON path (`$` is the condition).
  static std::optional<Condition> compile(std::string_view text, Errors& errors);

 private:
  friend class Engine;
  Condition() = default;
  rules::Rule rule_;
  rules::ProfilePaths paths_;
  // The values at `paths_` in the profile of generation `generation_` (no
  // profile has generation 0): looked up again only when the profile changed.
  mutable std::vector<const nlohmann::json*> slots_;
  mutable uint64_t generation_ = 0;
};

// The facade the page runtime and the server call. It owns all state of one
// profile; time is always an argument, and `now` never goes backwards: an
// earlier `now` is taken as the latest one seen, and one outside [0, kMaxTime]
// (before 1970 or past what a JavaScript Date holds) as the nearest bound. Every
// id it derives is a function of the profile id, the artifact and the records,
// so two engines fed the same records produce the same effects and ids.
class Engine {
 public:
  // `profile_id` names the profile in derived ids; the page passes its device id.
  explicit Engine(std::string profile_id = {});

  // Validates and switches to a campaign artifact (JSON text).
  LoadResult load_artifact(std::string_view artifact_json, TimeMs now);

  // Parses, validates and applies one event. Never throws.
  IngestResult ingest(std::string_view event_json, TimeMs now);
  IngestResult ingest(event::Event ev, TimeMs now);

  // Sets profile attributes from a JSON object (nested objects set nested attributes).
  UpdateResult set_attributes(std::string_view attributes_json, TimeMs now);

  // Links a known id (e.g. a hashed email, a customer id) to this profile;
  // the server joins records from several devices by it.
  UpdateResult identify(std::string_view ns, std::string_view id, TimeMs now);

  // The visitor's consent decisions, e.g. {"marketing.email": "granted"}. A
  // denied purpose purges the outbox records that need it.
  UpdateResult set_consent(std::string_view states_json, TimeMs now);

  // Processes every deadline (segments and journeys) up to `now`.
  UpdateResult advance(TimeMs now);

  // The best offer for a placement now, or nothing.
  std::optional<offers::Decision> decide(std::string_view placement, TimeMs now);

  // Whether the visitor meets `condition` now, from the profile and the
  // memberships as the last call left them. False without the visitor's
  // consent to personalization, as decide() then offers nothing.
  bool test(const Condition& condition) const;

  // Records waiting for the server that consent allows sending, oldest first.
  std::vector<outbox::Record> pending(size_t max_records, size_t max_bytes) const;
  // Acknowledged by the server: they leave the outbox. Returns how many did.
  size_t ack(const std::vector<std::string>& ids) { return outbox_.ack(ids); }

  // The whole state as JSON text with a format version.
  std::string snapshot() const;
  // What the visitor-facing state holds, as JSON text: {"clock", "profileId",
  // "profile", "consent", "journeys"}, each part in its snapshot form, without
  // the history, the segments' aggregates, the outbox and the artifact (an
  // inspector or a consent banner reads this; a snapshot grows with the history).
  std::string state() const;
  // Replaces the state with a snapshot. A damaged snapshot, or one written by
  // a newer format, is refused with errors and the engine keeps its state.
  UpdateResult restore(std::string_view snapshot_json);

  // When the truth of a segment or a journey step may next change without a new event.
  std::optional<TimeMs> next_deadline() const;
  std::vector<segments::Membership> segments() const { return segments_.members(); }
  const profile::Profile& profile() const { return profile_; }
  const profile::History& history() const { return history_; }
  const artifact::Artifact& artifact() const { return *artifact_; }
  const consent::Consent& consent() const { return consent_; }
  const outbox::Outbox& outbox() const { return outbox_; }
  const std::string& profile_id() const { return profile_id_; }

  uint64_t accepted() const { return accepted_; }
  uint64_t duplicates() const { return duplicates_; }

  static const char* version();

 private:
  TimeMs tick(TimeMs now);
  journeys::Host host(UpdateResult& out);
  void apply(const std::vector<segments::Transition>& transitions, UpdateResult& out);
  void run_until(TimeMs to, UpdateResult& out);
  TimeMs catch_up(TimeMs now, UpdateResult& out);
  void record_fragment(const profile::Fragment& fragment, TimeMs now);
  TimeMs write_time(TimeMs now) const;
  // The profile with its values at the artifact's profile paths, looked up
  // again only when the profile or the artifact changed since the last call.
  // Valid until either changes.
  rules::ProfileView profile_view();

  std::string profile_id_;
  std::shared_ptr<const artifact::Artifact> artifact_;
  profile::Profile profile_;
  profile::History history_;
  segments::Segments segments_;
  consent::Consent consent_;
  outbox::Outbox outbox_;
  journeys::Journeys journeys_;
  std::optional<TimeMs> clock_;
  uint64_t accepted_ = 0;
  uint64_t duplicates_ = 0;
  // profile_view()'s cache: the values, and what they were looked up for.
  std::vector<const nlohmann::json*> slots_;
  std::shared_ptr<const artifact::Artifact> slots_artifact_;  // held, so that its address is not reused
  uint64_t slots_generation_ = 0;
};

// The snapshot format this engine writes and the newest it reads.
inline constexpr int kSnapshotFormat = 1;

// Boundary forms.
// A result as the JSON text the binding returns: {"ok", "errors",
// "transitions", "effects"} and, for an ingest, "duplicate", "late",
// "eventId"; for an artifact load, "same".
std::string to_text(const IngestResult& result);
std::string to_text(const LoadResult& result);
std::string to_text(const UpdateResult& result);
// The same as a JSON value, for tests and tools.
nlohmann::json to_json(const IngestResult& result);
nlohmann::json to_json(const LoadResult& result);
nlohmann::json to_json(const UpdateResult& result);
nlohmann::json to_json(const std::vector<segments::Membership>& members);

}  // namespace rekindle::engine
