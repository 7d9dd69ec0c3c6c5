#include "core/consent/consent.h"

#include <cstdint>

#include "core/common/json_time.h"

namespace rekindle::consent {
namespace {

using nlohmann::json;

std::optional<size_t> slot(std::string_view purpose) {
  for (size_t i = 0; i < kKnownPurposes.size(); ++i)
    if (kKnownPurposes[i] == purpose) return i;
  return std::nullopt;
}

std::string known_list() {
  std::string out;
  for (auto p : kKnownPurposes) {
    if (!out.empty()) out += ", ";
    out += p;
  }
  return out;
}

std::optional<State> read_state(const json& v) {
  if (!v.is_string()) return std::nullopt;
  return parse_state(v.get_ref<const std::string&>());
}

// Validates a {purpose: state} object; the parsed states are indexed like
// kKnownPurposes.
using Decisions = std::array<std::optional<State>, kKnownPurposes.size()>;

Decisions read_decisions(const json& states, const std::string& path, Errors& errors) {
  Decisions out;
  if (!states.is_object()) {
    add_type_error(errors, path, "must be an object, not ", states);
    return out;
  }
  for (const auto& [key, value] : states.get_ref<const json::object_t&>()) {
    auto i = slot(key);
    if (!i) {
      add_error(errors, child(path, key), "is not a known consent purpose (" + known_list() + ")");
      continue;
    }
    auto state = read_state(value);
    if (!state) {
      add_error(errors, child(path, key), R"(must be "granted", "denied" or "pending")");
      continue;
    }
    out[*i] = state;
  }
  return out;
}

}  // namespace

const char* to_string(State state) {
  switch (state) {
    case State::kGranted: return "granted";
    case State::kDenied: return "denied";
    case State::kPending: return "pending";
  }
  return "pending";
}

std::optional<State> parse_state(std::string_view text) {
  if (text == "granted") return State::kGranted;
  if (text == "denied") return State::kDenied;
  if (text == "pending") return State::kPending;
  return std::nullopt;
}

bool is_known_purpose(std::string_view purpose) { return slot(purpose).has_value(); }

json to_json(const Change& change) {
  return json_object({{"purpose", change.purpose},
                      {"from", to_string(change.from)},
                      {"to", to_string(change.to)},
                      {"at", change.at}});
}

Consent::Consent() = default;

Consent::Entry* Consent::find(std::string_view purpose) {
  auto i = slot(purpose);
  return i ? &entries_[*i] : nullptr;
}

const Consent::Entry* Consent::find(std::string_view purpose) const {
  auto i = slot(purpose);
  return i ? &entries_[*i] : nullptr;
}

Errors Consent::set_defaults(const json& defaults, std::string_view path) {
  Errors errors;
  Decisions parsed = read_decisions(defaults, std::string(path), errors);
  if (!errors.empty()) return errors;
  for (size_t i = 0; i < entries_.size(); ++i)
    entries_[i].fallback = parsed[i].value_or(State::kPending);
  return errors;
}

State Consent::get(std::string_view purpose) const {
  const Entry* e = find(purpose);
  return e ? e->effective() : State::kDenied;
}

bool Consent::granted(std::string_view purpose) const { return get(purpose) == State::kGranted; }

Consent::SetResult Consent::set(const json& states, TimeMs now) {
  SetResult result;
  Decisions parsed = read_decisions(states, "$", result.errors);
  if (!result.errors.empty()) return result;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (!parsed[i]) continue;
    Entry& e = entries_[i];
    State before = e.effective();
    e.decided = *parsed[i] != State::kPending;
    e.decision = e.decided ? *parsed[i] : State::kPending;
    e.at = now;
    if (e.effective() != before)
      result.changes.push_back({std::string(kKnownPurposes[i]), before, e.effective(), now});
  }
  return result;
}

json Consent::to_json() const {
  json out = json(json::value_t::object);
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    out[std::string(kKnownPurposes[i])] = json_object({
        {"state", to_string(e.effective())}, {"decided", e.decided}, {"at", e.at}});
  }
  return out;
}

std::optional<Consent> Consent::from_json(const json& value, Errors& errors) {
  const size_t before = errors.size();
  if (!value.is_object()) {
    add_type_error(errors, "$", "must be an object, not ", value);
    return std::nullopt;
  }
  Consent out;
  for (const auto& [key, v] : value.get_ref<const json::object_t&>()) {
    std::string path = child("$", key);
    Entry* e = out.find(key);
    if (!e) {
      add_error(errors, path, "is not a known consent purpose (" + known_list() + ")");
      continue;
    }
    if (!v.is_object()) {
      add_type_error(errors, path, "must be an object, not ", v);
      continue;
    }
    auto state = member(v, "state");
    auto decided = member(v, "decided");
    auto at = member(v, "at");
    std::optional<State> s = state == nullptr ? std::nullopt : read_state(*state);
    if (!s) add_child_error(errors, path, "state", R"(must be "granted", "denied" or "pending")");
    if (decided == nullptr || !decided->is_boolean())
      add_child_error(errors, path, "decided", "must be a boolean");
    if (at == nullptr || !time_from_json(*at))
      add_child_error(errors, path, "at", "must be an integer (ms since epoch) within 8.64e15 of 1970");
    if (errors.size() != before || !s) continue;
    const State state_value = *s;
    e->decided = decided->get<bool>() && state_value != State::kPending;
    e->decision = e->decided ? state_value : State::kPending;
    e->fallback = e->decided ? State::kPending : state_value;
    e->at = *time_from_json(*at);
  }
  if (errors.size() != before) return std::nullopt;
  return out;
}

}  // namespace rekindle::consent
