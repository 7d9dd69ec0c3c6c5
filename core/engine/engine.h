#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/time.h"

namespace rekindle::engine {

// What one `ingest` call did: the event was accepted, recognised as a
// duplicate, or refused with every error found.
struct IngestResult {
  bool ok = false;
  bool duplicate = false;
  std::string event_id;
  Errors errors;
};

// The facade the page runtime and the server call. It owns all state of one
// profile; time is always an argument.
class Engine {
 public:
  // Parses, validates and applies one event. Never throws.
  IngestResult ingest(std::string_view event_json, TimeMs now);

  // Number of events accepted so far (duplicates excluded).
  uint64_t accepted() const { return accepted_; }
  // Number of events ignored because their `_id` had been seen.
  uint64_t duplicates() const { return duplicates_; }

  // The engine's version string.
  static const char* version();

 private:
  std::unordered_set<std::string> seen_ids_;
  uint64_t accepted_ = 0;
  uint64_t duplicates_ = 0;
};

// The boundary form of a result: `{ok, duplicate, eventId, errors: [{path, reason}]}`.
nlohmann::json to_json(const IngestResult& result);

}  // namespace rekindle::engine
