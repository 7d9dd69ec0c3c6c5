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

std::string Engine::snapshot() const {
  json out = {{"format", "rekindle.snapshot"},
              {"formatVersion", kSnapshotFormat},
              {"engineVersion", kVersion},
              {"artifact", artifact_->document.is_null() ? json(nullptr) : artifact_->document},
              {"clock", clock_ ? json(*clock_) : json(nullptr)},
              {"profile", profile_.to_json()},
              {"history", history_.to_json()},
              {"segments", segments_.to_json()},
              {"counters", {{"accepted", accepted_}, {"duplicates", duplicates_}}}};
  return dump(out);
}

UpdateResult Engine::restore(std::string_view text) {
  UpdateResult out;
  out.ok = false;
  ParsedJson parsed = parse_json(text, {256 * 1024 * 1024, 64}, "snapshot");
  if (!parsed.ok()) {
    out.errors = std::move(parsed.errors);
    return out;
  }
  const json& j = parsed.value;
  Errors& errors = out.errors;
  auto format = j.is_object() ? j.find("format") : j.end();
  if (!j.is_object() || format == j.end() || !format->is_string() || *format != "rekindle.snapshot") {
    errors.push_back({"$.format", "is not \"rekindle.snapshot\": this is not a Rekindle snapshot"});
    return out;
  }
  auto version = j.find("formatVersion");
  if (version == j.end() || !version->is_number_integer() || version->get<int64_t>() < 1) {
    errors.push_back({"$.formatVersion", "must be a positive integer"});
    return out;
  }
  if (version->get<int64_t>() > kSnapshotFormat) {
    errors.push_back({"$.formatVersion", "is " + std::to_string(version->get<int64_t>()) +
                                             ", newer than this engine reads (" + std::to_string(kSnapshotFormat) +
                                             "); update the engine or start from a fresh state"});
    return out;
  }
  // Everything is rebuilt aside and swapped in only when all parts are sound.
  std::shared_ptr<const artifact::Artifact> art = artifact::empty();
  if (auto a = j.find("artifact"); a == j.end()) {
    errors.push_back({"$.artifact", "is required (null when none was loaded)"});
  } else if (!a->is_null()) {
    auto parsed_artifact = artifact::from_json(*a);
    for (auto& e : parsed_artifact.errors) errors.push_back({"$.artifact" + e.path.substr(1), e.reason});
    if (parsed_artifact.ok()) art = parsed_artifact.artifact;
  }
  std::optional<TimeMs> clock;
  if (auto c = j.find("clock"); c == j.end() || !(c->is_null() || c->is_number_integer())) {
    errors.push_back({"$.clock", "must be a time in milliseconds or null"});
  } else if (c->is_number_integer()) {
    clock = c->get<TimeMs>();
  }
  std::optional<profile::Profile> prof;
  if (auto p = j.find("profile"); p == j.end()) {
    errors.push_back({"$.profile", "is required"});
  } else {
    Errors pe;
    prof = profile::Profile::from_json(*p, pe);
    for (auto& e : pe) errors.push_back({"$.profile" + e.path.substr(1), e.reason});
    if (!prof && pe.empty()) errors.push_back({"$.profile", "is not a valid profile"});
  }
  std::optional<profile::History> hist;
  if (auto h = j.find("history"); h == j.end()) {
    errors.push_back({"$.history", "is required"});
  } else {
    Errors he;
    hist = profile::History::from_json(*h, he);
    for (auto& e : he) errors.push_back({"$.history" + e.path.substr(1), e.reason});
    if (!hist && he.empty()) errors.push_back({"$.history", "is not a valid history"});
  }
  uint64_t accepted = 0, duplicates = 0;
  if (auto c = j.find("counters"); c == j.end() || !c->is_object() || !c->value("accepted", json()).is_number_unsigned() ||
                                    !c->value("duplicates", json()).is_number_unsigned()) {
    errors.push_back({"$.counters", "must hold the accepted and duplicates counts"});
  } else {
    accepted = (*c)["accepted"].get<uint64_t>();
    duplicates = (*c)["duplicates"].get<uint64_t>();
  }
  if (!errors.empty() || !prof || !hist) return out;

  segments::Segments segs;
  std::vector<segments::Transition> ignored;
  const TimeMs at = clock.value_or(0);
  hist->set_limits(history_limits(*art));
  segs.load(art, hist->events(), prof->attributes(), at, ignored);
  auto s = j.find("segments");
  if (s == j.end() || !segs.restore(*s)) {
    errors.push_back({"$.segments", "is missing or damaged"});
    return out;
  }
  segs.refresh_deadlines(at);

  artifact_ = std::move(art);
  profile_ = std::move(*prof);
  history_ = std::move(*hist);
  segments_ = std::move(segs);
  clock_ = clock;
  accepted_ = accepted;
  duplicates_ = duplicates;
  out.ok = true;
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
