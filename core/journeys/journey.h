#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/time.h"
#include "core/rules/rule.h"

namespace rekindle::offers {
struct Catalog;
}

namespace rekindle::journeys {

// Where an action reaches the visitor; each channel needs its consent purpose.
enum class Channel { kWeb, kEmail, kSms, kPush };
const char* to_string(Channel channel);
std::optional<Channel> parse_channel(std::string_view name);
// web -> personalize, email -> marketing.email, sms -> marketing.sms, push -> marketing.push.
const char* purpose_of(Channel channel);

// One arm of a split; a holdout arm receives no actions but is measured.
struct Arm {
  std::string id;
  int weight = 0;
  bool holdout = false;
  int pc = -1;  // first instruction of the arm
};

// A journey's steps compiled to a flat program: nested branches and splits
// become jumps, so an instance's position is one number.
struct Instruction {
  enum class Kind { kAction, kWait, kBranch, kSplit, kHold, kJump, kEnd };
  Kind kind = Kind::kEnd;
  std::string step;                 // the step id ("" for jumps and the end)
  Channel channel = Channel::kWeb;  // action
  std::string placement;            // action, web
  int offer = -1;                   // action, web: index in the catalog
  std::string template_id;          // action, email / sms / push
  DurationMs wait = 0;              // wait
  std::optional<rules::Rule> rule;  // branch condition (profile and segments only)
  int target = -1;                  // branch: the else branch; jump: where to
  std::vector<Arm> arms;            // split
};

// How an instance can end early: an event, or leaving a segment.
struct ExitCriterion {
  std::optional<rules::FilterRule> event;
  std::string segment;
};

// A validated journey definition.
struct Journey {
  std::string id;
  std::string name;
  std::string entry_segment;                    // or
  std::optional<rules::FilterRule> entry_event;
  std::optional<TimeMs> start, end;
  DurationMs max_duration = 0;
  bool reentry = false;
  DurationMs cooldown = 0;
  std::vector<ExitCriterion> exits;
  std::optional<rules::FilterRule> goal;
  std::vector<Instruction> program;
  std::string canonical;  // the definition's JSON, to recognise it unchanged on reload
};

// A frequency cap: at most `max` deliveries per `per`, for a channel or an offer.
struct Cap {
  std::optional<Channel> channel;
  int offer = -1;
  int max = 0;
  DurationMs per = 0;
};

// Validates `journeys` and `caps` of an artifact document against its
// segments (`segment_exists`) and offer catalog; every error with its path.
bool parse_journeys(const nlohmann::json& artifact, const std::function<bool(std::string_view)>& segment_exists,
                    const offers::Catalog& catalog, std::vector<Journey>& journeys, std::vector<Cap>& caps,
                    Errors& errors);

}  // namespace rekindle::journeys
