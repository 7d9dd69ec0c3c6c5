#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/json_depth.h"
#include "core/common/time.h"
#include "core/journeys/journey.h"
#include "core/offers/offers.h"
#include "core/rules/rule.h"

namespace rekindle::artifact {

// Size and nesting limits of a campaign artifact's JSON text.
inline constexpr JsonLimits kArtifactLimits{4 * 1024 * 1024, 64, true};

// The artifact's `limits`, with their defaults.
struct Limits {
  size_t history_events = 10000;
  size_t history_bytes = 4 * 1024 * 1024;
  DurationMs future_tolerance = 5 * kMinute;
};

// Retention never goes below this, so slightly late events are re-evaluated
// even when no rule has a window.
inline constexpr DurationMs kMinRetention = kHour;

// A segment definition, its rule compiled.
struct Segment {
  std::string id;
  std::string name;
  rules::Rule rule;
  std::string canonical;           // the rule's JSON, to recognise an unchanged rule on reload
  std::vector<int> refs;           // segment indices this rule reads, resolved
};

// A validated campaign artifact.
struct Artifact {
  std::string version;
  Limits limits;
  std::vector<Segment> segments;   // as declared
  std::vector<int> order;          // evaluation order: every segment after those it reads
  std::vector<std::vector<int>> dependents;  // segment -> segments that read it
  DurationMs retention = kMinRetention;
  offers::Catalog catalog;                 // placements and offers
  std::vector<journeys::Journey> journeys;
  std::vector<journeys::Cap> caps;
  DurationMs longest_cap = 0;              // how long deliveries must be remembered
  nlohmann::json consent_defaults = nlohmann::json(nlohmann::json::value_t::object);
  nlohmann::json document;         // the whole artifact as given
  rules::ProfilePaths profile_paths;  // the slots of segment and eligibility rules

  int find_segment(std::string_view id) const;
};

struct ParseResult {
  std::shared_ptr<const Artifact> artifact;
  Errors errors;
  bool ok() const { return artifact != nullptr; }
};

// Validates an artifact completely; every error comes with its path.
ParseResult parse(std::string_view json_text);
ParseResult from_json(const nlohmann::json& document);

// An artifact with no segments, the engine's state before any is loaded.
std::shared_ptr<const Artifact> empty();

}  // namespace rekindle::artifact
