#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/json_depth.h"
#include "core/common/time.h"

namespace rekindle::event {

// Event types of the Adobe XDM ExperienceEvent vocabulary that Rekindle knows
// by name. Custom types are allowed too (see `is_valid_type`).
namespace types {
inline constexpr std::string_view kPageView = "web.webpagedetails.pageViews";
inline constexpr std::string_view kProductView = "commerce.productViews";
inline constexpr std::string_view kCartAdd = "commerce.productListAdds";
inline constexpr std::string_view kCartRemove = "commerce.productListRemovals";
inline constexpr std::string_view kCheckout = "commerce.checkouts";
inline constexpr std::string_view kPurchase = "commerce.purchases";
inline constexpr std::string_view kPropositionDisplay = "decisioning.propositionDisplay";
inline constexpr std::string_view kPropositionInteract = "decisioning.propositionInteract";
}  // namespace types

// Size and nesting limits of one event, checked before it is parsed.
inline constexpr JsonLimits kEventLimits{32 * 1024, 32};

// A validated behavioural event. `body` keeps the whole document (with XDM
// field names) so rules can read any path of it and it can be forwarded as is.
struct Event {
  std::string id;         // `_id`, unique per event; duplicates are ignored
  std::string type;       // `eventType`
  TimeMs timestamp = 0;   // `timestamp`, parsed
  nlohmann::json body;    // the event as received
};

// Either an event or every problem found in the input, each with its path.
struct ParseResult {
  std::optional<Event> event;
  Errors errors;
  bool ok() const { return event.has_value(); }
};

// Parses and validates an event from JSON text. Never throws.
ParseResult parse(std::string_view json_text);

// Validates an already-parsed JSON value as an event. Never throws.
ParseResult from_json(nlohmann::json value);

// Custom event types are dotted names of letters, digits, `_` and `-`.
bool is_valid_type(std::string_view type);

}  // namespace rekindle::event
