#include "core/engine/engine.h"

#include <algorithm>

#include "rekindle/version.h"

namespace rekindle::engine {
namespace {

using nlohmann::json;

json transitions_json(const std::vector<segments::Transition>& ts) {
  json out = json::array();
  for (const auto& t : ts) out.push_back(segments::to_json(t));
  return out;
}

profile::HistoryLimits history_limits(const artifact::Artifact& a) {
  profile::HistoryLimits l;
  l.max_events = a.limits.history_events;
  l.max_bytes = a.limits.history_bytes;
  l.retention = a.retention;
  return l;
}

}  // namespace

Engine::Engine(std::string device_id)
    : artifact_(artifact::empty()), profile_(std::move(device_id)), history_(history_limits(*artifact::empty())) {}

TimeMs Engine::tick(TimeMs now) {
  if (clock_ && now < *clock_) return *clock_;
  return now;
}

LoadResult Engine::load_artifact(std::string_view text, TimeMs now) {
  LoadResult out;
  auto parsed = artifact::parse(text);
  if (!parsed.ok()) {
    out.errors = std::move(parsed.errors);
    return out;
  }
  now = tick(now);
  segments_.advance(now, profile_.attributes(), out.transitions);
  artifact_ = parsed.artifact;
  history_.set_limits(history_limits(*artifact_));
  segments_.load(artifact_, history_.events(), profile_.attributes(), now, out.transitions);
  clock_ = now;
  out.ok = true;
  return out;
}

IngestResult Engine::ingest(std::string_view event_json, TimeMs now) {
  auto parsed = event::parse(event_json);
  if (!parsed.ok()) {
    IngestResult out;
    out.errors = std::move(parsed.errors);
    return out;
  }
  return ingest(std::move(*parsed.event), now);
}

IngestResult Engine::ingest(event::Event ev, TimeMs now) {
  IngestResult out;
  now = tick(now);
  out.event_id = ev.id;
  const TimeMs tolerance = artifact_->limits.future_tolerance;
  if (ev.timestamp > now + tolerance) {
    out.errors.push_back({"$.timestamp", "is " + format_duration(ev.timestamp - now) +
                                             " in the future, beyond the tolerance of " + format_duration(tolerance)});
    return out;
  }
  out.ok = true;
  if (history_.contains(ev.id)) {
    out.duplicate = true;
    ++duplicates_;
    return out;
  }
  const bool late = clock_ && ev.timestamp < *clock_;
  if (late && ev.timestamp < *clock_ - artifact_->retention) {
    out.ok = false;
    out.errors.push_back({"$.timestamp", "is older than the retained history (" + format_duration(artifact_->retention) +
                                             " before " + format_iso8601(*clock_) + ")"});
    return out;
  }
  out.late = late;
  const json& attributes = profile_.attributes();
  if (!late) segments_.advance(ev.timestamp, attributes, out.transitions);
  const TimeMs at = late ? *clock_ : ev.timestamp;
  history_.insert(ev);
  ++accepted_;
  segments_.on_event(ev, attributes, late, at, history_.events(), out.transitions);
  clock_ = std::max(at, now);
  segments_.advance(*clock_, attributes, out.transitions);
  history_.prune(*clock_);
  return out;
}

UpdateResult Engine::set_attributes(std::string_view text, TimeMs now) {
  UpdateResult out;
  ParsedJson parsed = parse_json(text, {64 * 1024, 32}, "attributes");
  if (!parsed.ok()) {
    out.ok = false;
    out.errors = std::move(parsed.errors);
    return out;
  }
  now = tick(now);
  segments_.advance(now, profile_.attributes(), out.transitions);
  clock_ = now;
  auto set = profile_.set_attributes(parsed.value, now, "device:" + profile_.device_id());
  if (!set.errors.empty()) {
    out.ok = false;
    out.errors = std::move(set.errors);
    return out;
  }
  if (!set.changed.empty()) segments_.on_profile_change(profile_.attributes(), now, out.transitions);
  return out;
}

UpdateResult Engine::advance(TimeMs now) {
  UpdateResult out;
  now = tick(now);
  segments_.advance(now, profile_.attributes(), out.transitions);
  clock_ = now;
  history_.prune(now);
  return out;
}

const char* Engine::version() { return kVersion; }

json to_json(const IngestResult& r) {
  return {{"ok", r.ok},
          {"duplicate", r.duplicate},
          {"late", r.late},
          {"eventId", r.event_id},
          {"errors", rekindle::to_json(r.errors)},
          {"transitions", transitions_json(r.transitions)}};
}

json to_json(const LoadResult& r) {
  return {{"ok", r.ok}, {"errors", rekindle::to_json(r.errors)}, {"transitions", transitions_json(r.transitions)}};
}

json to_json(const UpdateResult& r) {
  return {{"ok", r.ok}, {"errors", rekindle::to_json(r.errors)}, {"transitions", transitions_json(r.transitions)}};
}

json to_json(const std::vector<segments::Membership>& members) {
  json out = json::array();
  for (const auto& m : members)
    out.push_back({{"segment", m.segment}, {"status", "existing"}, {"since", format_iso8601(m.since)}});
  return out;
}

}  // namespace rekindle::engine
