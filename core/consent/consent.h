#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/time.h"

namespace rekindle::consent {

// What the visitor allows for one purpose. `kPending` means nobody has decided
// yet; like `kDenied`, it never allows acting on the purpose.
enum class State { kGranted, kDenied, kPending };

// "granted", "denied", "pending".
const char* to_string(State state);
std::optional<State> parse_state(std::string_view text);

// The purposes Rekindle asks consent for, in name order.
namespace purposes {
inline constexpr std::string_view kAnalytics = "analytics";
inline constexpr std::string_view kMarketingEmail = "marketing.email";
inline constexpr std::string_view kMarketingPush = "marketing.push";
inline constexpr std::string_view kMarketingSms = "marketing.sms";
inline constexpr std::string_view kPersonalize = "personalize";
}  // namespace purposes

inline constexpr std::array<std::string_view, 5> kKnownPurposes = {
    purposes::kAnalytics, purposes::kMarketingEmail, purposes::kMarketingPush,
    purposes::kMarketingSms, purposes::kPersonalize};

// Where personalize sits in kKnownPurposes, for checks on a hot path (Consent::state).
inline constexpr size_t kPersonalizeIndex = 4;
static_assert(kKnownPurposes[kPersonalizeIndex] == purposes::kPersonalize);

bool is_known_purpose(std::string_view purpose);

// One purpose whose effective state changed, so the caller can act on it
// (purge the outbox on a denial, send a consent record to the server).
struct Change {
  std::string purpose;
  State from = State::kPending;
  State to = State::kPending;
  TimeMs at = 0;

  bool operator==(const Change&) const = default;
};

// {"purpose": ..., "from": "...", "to": "...", "at": ms}.
nlohmann::json to_json(const Change& change);

// The consent state of one visitor. A purpose's effective state is the
// visitor's decision if there is one, else the campaign artifact's default,
// else pending.
class Consent {
 public:
  // Every known purpose pending, nothing decided.
  Consent();

  // Replaces the defaults with the artifact's `consent.defaults` object, e.g.
  // {"personalize": "granted"}; purposes it omits default to pending again.
  // Validates every entry first (errors are located under `path`, e.g.
  // `$.consent.defaults["marketing.fax"]`) and applies nothing if any is wrong.
  // Decided purposes are not affected.
  Errors set_defaults(const nlohmann::json& defaults, std::string_view path);

  // The effective state; an unknown purpose is denied, so it is never acted on.
  State get(std::string_view purpose) const;
  // The effective state of kKnownPurposes[i], without a lookup by name.
  State state(size_t i) const { return entries_[i].effective(); }
  bool granted(std::string_view purpose) const;

  struct SetResult {
    std::vector<Change> changes;
    Errors errors;
  };

  // Records the visitor's decisions, e.g. {"marketing.email": "granted",
  // "marketing.sms": "denied"}. "pending" withdraws a decision, so the default
  // applies again. Validates every entry first (paths rooted at `$`) and
  // applies nothing if any is wrong. Returns the purposes whose effective state
  // changed, in purpose-name order.
  SetResult set(const nlohmann::json& states, TimeMs now);

  // Snapshot form: {"purpose": {"state": "...", "decided": bool, "at": ms}}
  // with the effective state; `at` is when the visitor last set the purpose
  // (0 if never).
  nlohmann::json to_json() const;

  // Restores a snapshot. An undecided purpose's stored state becomes its
  // default until `set_defaults` is called again, so effective states survive
  // the round trip. Purposes missing from the snapshot are pending.
  static std::optional<Consent> from_json(const nlohmann::json& value, Errors& errors);

 private:
  struct Entry {
    State fallback = State::kPending;  // the default
    State decision = State::kPending;  // the visitor's, if `decided`
    bool decided = false;
    TimeMs at = 0;
    State effective() const { return decided ? decision : fallback; }
  };

  // Indexed like kKnownPurposes; nullptr for an unknown purpose.
  Entry* find(std::string_view purpose);
  const Entry* find(std::string_view purpose) const;

  std::array<Entry, kKnownPurposes.size()> entries_;
};

}  // namespace rekindle::consent
