#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/artifact/artifact.h"
#include "core/common/time.h"
#include "core/event/event.h"
#include "core/rules/aggregate.h"

namespace rekindle::segments {

// A change of membership, stamped with the time it truly happened.
struct Transition {
  std::string segment;
  bool entered = false;  // "realized" when true, "exited" when false
  TimeMs at = 0;
  bool operator==(const Transition&) const = default;
};

// A current membership ("existing" in the platforms' words).
struct Membership {
  std::string segment;
  TimeMs since = 0;
};

// Incremental qualification of one profile for every segment of an artifact.
// An event touches only the segments whose rules watch its type; time only
// matters at registered deadlines, so `advance` is cheap between them.
class Segments {
 public:
  Segments();

  // Switches to `artifact`. Segments whose id and rule are unchanged keep
  // their state and membership; the others are rebuilt from `history` and
  // evaluated at `now`. Memberships that end (or whose segment is gone) are
  // reported as exits at `now`, new ones as entries.
  void load(std::shared_ptr<const artifact::Artifact> artifact, const std::deque<event::Event>& history,
            const rules::ProfileView& profile, TimeMs now, std::vector<Transition>& out);

  // Applies an event at its timestamp (`late`: older than what was already
  // processed; the history then holds it already).
  void on_event(const event::Event& ev, const rules::ProfileView& profile, bool late, TimeMs at,
                const std::deque<event::Event>& history, std::vector<Transition>& out);

  // Re-evaluates the segments that read profile attributes.
  void on_profile_change(const rules::ProfileView& profile, TimeMs at, std::vector<Transition>& out);

  // Processes every deadline up to and including `to`, in time order.
  void advance(TimeMs to, const rules::ProfileView& profile, std::vector<Transition>& out);

  std::optional<TimeMs> next_deadline() const;
  std::vector<Membership> members() const;
  bool is_member(std::string_view segment) const;
  const artifact::Artifact& artifact() const { return *artifact_; }

  // Snapshot form: per segment {id, rule, member, since, states}.
  nlohmann::json to_json() const;
  // Switches to `artifact` with the states `to_json` wrote (`saved`): a
  // segment found there with the same id and rule takes its saved state; only
  // the others are rebuilt from `history` and evaluated at `now` (a restore
  // must not replay the whole history for every segment). Deadlines are
  // derived as seen at `now`. False, and a state to discard, if `saved` is
  // damaged.
  bool load_saved(std::shared_ptr<const artifact::Artifact> artifact, const nlohmann::json& saved,
                  const std::deque<event::Event>& history, const rules::ProfileView& profile, TimeMs now);

  // Recomputes every segment's deadline as seen at `now`.
  void refresh_deadlines(TimeMs now);

 private:
  struct State {
    std::vector<rules::AggregateState> aggregates;
    bool member = false;
    TimeMs since = 0;
    std::optional<TimeMs> deadline;
  };

  // One flag per segment; bytes rather than std::vector<bool>, whose bit
  // twiddling costs more code in the wasm module than it saves memory here.
  using Flags = std::vector<char>;

  void evaluate_dirty(Flags& dirty, const rules::ProfileView& profile, TimeMs at,
                      std::vector<Transition>& out);
  bool evaluate(size_t s, const rules::ProfileView& profile, TimeMs at);
  void set_deadline(size_t s, std::optional<TimeMs> t);
  // An aggregate of the artifact being replaced and its state.
  using Known = std::vector<std::pair<const rules::Aggregate*, const rules::AggregateState*>>;
  // Rebuilds segment `s`'s aggregates from the history, except those with
  // the source of one in `known`, which take its state.
  void rebuild(size_t s, const std::deque<event::Event>& history, const rules::ProfileView& profile,
               const Known& known = {});

  // Takes `artifact` with a fresh state per segment (no deadlines).
  void switch_to(std::shared_ptr<const artifact::Artifact> artifact);
  void index_types();
  // Reads what `to_json` wrote into the segments of the loaded artifact with
  // the same id and rule, flagging them in `restored`; others are ignored.
  bool restore(const nlohmann::json& j, Flags& restored);

  std::shared_ptr<const artifact::Artifact> artifact_;
  std::vector<State> states_;
  // Event type -> the (segment, aggregate) pairs that watch it, so an event
  // touches only the rules its type can affect.
  // Ordered rather than hashed, like History's ids: no hash table in the module.
  std::map<std::string, std::vector<std::pair<size_t, size_t>>> watchers_;
  std::set<std::pair<TimeMs, size_t>> deadlines_;
};

nlohmann::json to_json(const Transition& t);

}  // namespace rekindle::segments
