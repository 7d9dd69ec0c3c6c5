#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/time.h"
#include "core/consent/consent.h"
#include "core/event/event.h"
#include "core/journeys/journey.h"
#include "core/offers/offers.h"
#include "core/outbox/outbox.h"
#include "core/segments/segments.h"

namespace rekindle::artifact {
struct Artifact;
}

namespace rekindle::journeys {

// What the engine asks its host to do or record, in order: show or withdraw
// a tile, request or cancel a dispatch, and the journey's own milestones.
struct Effect {
  std::string type;
  TimeMs at = 0;
  nlohmann::json fields = nlohmann::json(nlohmann::json::value_t::object);
  bool operator==(const Effect&) const = default;
};
nlohmann::json to_json(const Effect& e);

// What a journey run reads and writes outside its own state.
struct Host {
  std::string profile_id;
  const nlohmann::json* profile = nullptr;  // attributes
  std::function<bool(std::string_view)> member;
  consent::Consent* consent = nullptr;
  outbox::Outbox* outbox = nullptr;
  std::vector<Effect>* effects = nullptr;
};

// The journeys of one profile: at most one instance per journey, run at the
// true times of their steps, ended by exits, goals and their maximum duration.
class Journeys {
 public:
  Journeys();

  // Switches to an artifact. Instances of journeys whose definition is
  // unchanged go on; the others end with reason "artifact".
  void load(std::shared_ptr<const artifact::Artifact> artifact, TimeMs now, Host& host);

  // An event at its timestamp: goals, exit events, impressions, entries.
  void on_event(const event::Event& ev, TimeMs at, Host& host);
  // Segment transitions: entries on realization, exits on segment exit.
  void on_transitions(const std::vector<segments::Transition>& transitions, Host& host);
  // Runs every instance whose wait, maximum duration or end date falls at or before `to`.
  void advance(TimeMs to, Host& host);
  std::optional<TimeMs> next_deadline() const;

  // The offers journeys currently show, for `decide`.
  std::vector<offers::Assignment> assignments(TimeMs now) const;
  // Whether a cap already holds its maximum at `at` for this channel / offer.
  bool capped(std::optional<Channel> channel, int offer, TimeMs at) const { return !cap_reached(channel, offer, at).empty(); }
  // The first full cap, as "cap:<channel>" or "cap:offer:<id>", or "".
  std::string cap_reached(std::optional<Channel> channel, int offer, TimeMs at) const;
  // The offer a proposition id stands for (-1 if unknown).
  int offer_of(const std::string& proposition, const std::string& profile_id) const;

  nlohmann::json to_json() const;
  bool restore(const nlohmann::json& j);

 private:
  struct Shown {
    std::string placement;
    int offer = -1;
    std::string proposition, step;
  };
  struct Instance {
    int journey = -1;
    std::string id;
    TimeMs entered = 0;
    int pc = 0;
    std::optional<TimeMs> wake;
    std::string arm;
    bool holdout = false;
    std::string last_step, last_offer, last_proposition;
    std::vector<Shown> shown;
    std::vector<std::string> dispatches;
  };
  struct Delivery {
    TimeMs at = 0;
    Channel channel = Channel::kWeb;
    int offer = -1;
  };

  void enter(size_t j, TimeMs at, Host& host);
  void run(Instance& in, TimeMs at, Host& host);
  void act(Instance& in, const Instruction& ins, TimeMs at, Host& host);
  void end(size_t index, TimeMs at, const std::string& reason, Host& host, const event::Event* converted);
  std::optional<TimeMs> deadline_of(const Instance& in) const;
  void record(Host& host, const std::string& id, const char* kind, const char* purpose, TimeMs at,
              const nlohmann::json& body);
  void emit(Host& host, const char* type, TimeMs at, nlohmann::json fields);

  std::shared_ptr<const artifact::Artifact> artifact_;
  std::vector<Instance> active_;                 // in order of entry
  // Journey id -> when its last instance ended (a number), kept as the JSON
  // object the snapshot holds: the wasm then has no std::map<string, TimeMs>.
  nlohmann::json last_end_ = nlohmann::json(nlohmann::json::value_t::object);
  std::vector<Delivery> deliveries_;             // for caps, oldest first (few: a vector is smaller code than a deque)
};

}  // namespace rekindle::journeys
