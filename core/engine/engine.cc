#include "core/engine/engine.h"

#include <algorithm>

#include "core/common/json_time.h"
#include "rekindle/version.h"

namespace rekindle::engine {
namespace {

using nlohmann::json;

UpdateResult refused(Errors errors) {
  UpdateResult out;
  out.ok = false;
  out.errors = std::move(errors);
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

Engine::Engine(std::string profile_id)
    : profile_id_(profile_id),
      artifact_(artifact::empty()),
      profile_(std::move(profile_id)),
      history_(history_limits(*artifact::empty())) {}

journeys::Host Engine::host(UpdateResult& out) {
  journeys::Host h;
  h.profile_id = profile_id_;
  h.profile = &profile_.attributes();
  h.member = [this](std::string_view segment) { return segments_.is_member(segment); };
  h.consent = &consent_;
  h.outbox = &outbox_;
  h.effects = &out.effects;
  return h;
}

void Engine::apply(const std::vector<segments::Transition>& transitions, UpdateResult& out) {
  if (transitions.empty()) return;
  for (const auto& t : transitions) {
    out.transitions.push_back(t);
    const char* type = t.entered ? "segment.realized" : "segment.exited";
    out.effects.push_back({type, t.at, json_object({{"segment", t.segment}})});
    json body = segments::to_json(t);
    if (consent_.get("analytics") == consent::State::kDenied) continue;
    outbox_.add({stable_id({profile_id_, "transition", t.segment, t.entered ? "realized" : "exited", std::to_string(t.at)}),
                 "transition", t.at, "analytics", body});
  }
  auto h = host(out);
  journeys_.on_transitions(transitions, h);
}

rules::ProfileView Engine::profile_view() {
  if (slots_artifact_ != artifact_ || slots_generation_ != profile_.generation()) {
    artifact_->profile_paths.resolve(profile_.attributes(), slots_);
    slots_artifact_ = artifact_;
    slots_generation_ = profile_.generation();
  }
  return {profile_.attributes(), slots_.data()};
}

// Moves the clock to `now` (never back), processing every deadline on the way.
TimeMs Engine::catch_up(TimeMs now, UpdateResult& out) {
  now = tick(now);
  run_until(now, out);
  clock_ = now;
  return now;
}

// Segment and journey deadlines interleaved in time order, each processed at its own time.
void Engine::run_until(TimeMs to, UpdateResult& out) {
  while (true) {
    auto ts = segments_.next_deadline();
    auto tj = journeys_.next_deadline();
    std::optional<TimeMs> t = ts;
    if (tj && (!t || *tj < *t)) t = tj;
    if (!t || *t > to) break;
    if (ts && *ts == *t) {
      std::vector<segments::Transition> transitions;
      segments_.advance(*t, profile_view(), transitions);
      apply(transitions, out);
    }
    auto h = host(out);
    journeys_.advance(*t, h);
  }
}

std::optional<TimeMs> Engine::next_deadline() const {
  auto ts = segments_.next_deadline();
  auto tj = journeys_.next_deadline();
  if (ts && tj) return std::min(*ts, *tj);
  return ts ? ts : tj;
}

TimeMs Engine::tick(TimeMs now) {
  now = std::clamp<TimeMs>(now, 0, kMaxTime);
  if (clock_ && now < *clock_) return *clock_;
  return now;
}

LoadResult Engine::load_artifact(std::string_view text, TimeMs now) {
  LoadResult out;
  auto parsed = artifact::parse(text);
  if (!parsed.ok()) {
    static_cast<UpdateResult&>(out) = refused(std::move(parsed.errors));
    return out;
  }
  // A page loads its artifact at every start: the same one only catches up.
  // Compared as text: 1 and 1.0 are equal JSON values but not the same artifact.
  if (dump(parsed.artifact->document) == dump(artifact_->document)) {
    static_cast<UpdateResult&>(out) = advance(now);
    out.same = true;
    return out;
  }
  now = tick(now);
  run_until(now, out);
  artifact_ = parsed.artifact;
  history_.set_limits(history_limits(*artifact_));
  consent_.set_defaults(artifact_->consent_defaults, "$.consent.defaults");
  auto h = host(out);
  journeys_.load(artifact_, now, h);
  std::vector<segments::Transition> transitions;
  segments_.load(artifact_, history_.events(), profile_view(), now, transitions);
  apply(transitions, out);
  clock_ = now;
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
    add_error(out.errors, "$.timestamp", "is " + format_duration(ev.timestamp - now) +
                                             " in the future, beyond the tolerance of " + format_duration(tolerance));
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
    add_error(out.errors, "$.timestamp", "is older than the retained history (" + format_duration(artifact_->retention) +
                                             " before " + format_iso8601(*clock_) + ")");
    return out;
  }
  out.late = late;
  if (!late) run_until(ev.timestamp, out);
  const TimeMs at = late ? *clock_ : ev.timestamp;
  // The body's size is measured once, for the history and the outbox; the
  // event is moved into the history and read there (valid until the prune).
  const size_t bytes = dumped_size(ev.body);
  const event::Event& stored = *history_.insert(std::move(ev), bytes);
  ++accepted_;
  if (consent_.get("analytics") != consent::State::kDenied)
    outbox_.add({stored.id, "event", stored.timestamp, "analytics", stored.body}, bytes);
  // Goals and exit events first: a purchase converts before it ends a segment.
  auto h = host(out);
  journeys_.on_event(stored, at, h);
  std::vector<segments::Transition> transitions;
  segments_.on_event(stored, profile_view(), late, at, history_.events(), transitions);
  apply(transitions, out);
  clock_ = std::max(at, now);
  run_until(*clock_, out);
  history_.prune(*clock_);
  return out;
}

UpdateResult Engine::set_attributes(std::string_view text, TimeMs now) {
  UpdateResult out;
  ParsedJson parsed = parse_json(text, {64 * 1024, 32}, "attributes");
  if (!parsed.ok()) return refused(std::move(parsed.errors));
  now = catch_up(now, out);
  const TimeMs written = write_time(now);
  auto set = profile_.set_attributes(parsed.value, written, "device:" + profile_.device_id());
  if (!set.errors.empty()) {
    out.ok = false;
    out.errors = std::move(set.errors);
    return out;
  }
  if (!set.changed.empty()) {
    record_fragment(profile_.fragment_since(written - 1), now);
    std::vector<segments::Transition> transitions;
    segments_.on_profile_change(profile_view(), now, transitions);
    apply(transitions, out);
  }
  return out;
}

// This device's writes must order as they happened even within one
// millisecond, or last-writer-wins would let an earlier value win a tie.
TimeMs Engine::write_time(TimeMs now) const {
  TimeMs latest = now;
  for (const auto& [key, field] : profile_.fragment().fields) latest = std::max(latest, field.ts + 1);
  return std::min(latest, kMaxTime);
}

void Engine::record_fragment(const profile::Fragment& fragment, TimeMs now) {
  json body = profile::to_json(fragment);
  outbox_.add({stable_id({profile_id_, "fragment", std::to_string(now), dump(body)}), "fragment", now, "", body});
}

UpdateResult Engine::identify(std::string_view ns, std::string_view id, TimeMs now) {
  UpdateResult out;
  if (!profile::is_valid_identity(ns, id) || ns == "device") {
    out.ok = false;
    add_error(out.errors, "$", "identify needs a namespace (letters, digits, '.', '_', '-', at most 64, not \"device\") "
                               "and a non-empty id (at most 256 bytes)");
    return out;
  }
  now = catch_up(now, out);
  if (profile_.identify(std::string(ns), std::string(id), now)) {
    profile::Fragment f;
    f.profile_id = profile_id_;
    // Inserted into the empty set rather than assigned: no set copy assignment in the wasm.
    f.identities.insert(profile_.identities().begin(), profile_.identities().end());
    record_fragment(f, now);
  }
  return out;
}

UpdateResult Engine::set_consent(std::string_view text, TimeMs now) {
  UpdateResult out;
  ParsedJson parsed = parse_json(text, {16 * 1024, 8}, "consent");
  if (!parsed.ok()) return refused(std::move(parsed.errors));
  now = catch_up(now, out);
  auto set = consent_.set(parsed.value, now);
  if (!set.errors.empty()) {
    out.ok = false;
    out.errors = std::move(set.errors);
    return out;
  }
  const TimeMs written = write_time(now);
  for (const auto& c : set.changes) {
    out.effects.push_back({"consent.changed", now,
                           json_object({{"purpose", c.purpose},
                                        {"from", consent::to_string(c.from)},
                                        {"to", consent::to_string(c.to)}})});
    // Denied: what waits for that purpose must never leave the device.
    if (c.to == consent::State::kDenied) outbox_.purge(c.purpose);
    profile_.set_field("consent." + c.purpose, consent::to_string(c.to), written, "device:" + profile_.device_id());
  }
  // The server checks consent at send time from its own copy of the profile.
  if (!set.changes.empty()) record_fragment(profile_.fragment_since(written - 1), now);
  return out;
}

std::optional<offers::Decision> Engine::decide(std::string_view placement, TimeMs now) {
  now = tick(now);
  if (!consent_.granted("personalize")) return std::nullopt;
  auto member = [this](std::string_view segment) { return segments_.is_member(segment); };
  auto capped = [&](int offer) { return journeys_.capped(journeys::Channel::kWeb, offer, now); };
  return offers::decide(artifact_->catalog, placement, journeys_.assignments(now), profile_view(), member, capped,
                        profile_id_, now);
}

std::vector<outbox::Record> Engine::pending(size_t max_records, size_t max_bytes) const {
  return outbox_.pending(max_records, max_bytes, [this](const std::string& purpose) { return consent_.granted(purpose); });
}

UpdateResult Engine::advance(TimeMs now) {
  UpdateResult out;
  now = catch_up(now, out);
  history_.prune(now);
  return out;
}

std::string Engine::snapshot() const {
  // Written part by part, the keys in the order dump() gives an object's
  // (sorted), so the text is what dump() of the whole would be; the history,
  // most of a snapshot, goes straight from its events into the text.
  std::string out;
  out.reserve(history_.bytes() + history_.size() + 64 * 1024);
  ObjectWriter w(out);
  w.field("artifact", artifact_->document);  // null before any artifact
  w.field("clock", clock_ ? json(*clock_) : json(nullptr));
  w.field("consent", consent_.to_json());
  w.field("counters", json_object({{"accepted", accepted_}, {"duplicates", duplicates_}}));
  w.field("engineVersion", kVersion);
  w.field("format", "rekindle.snapshot");
  w.field("formatVersion", kSnapshotFormat);
  history_.write(w.key("history"));
  w.field("journeys", journeys_.to_json());
  w.field("outbox", outbox_.to_json());
  w.field("profile", profile_.to_json());
  w.field("profileId", profile_id_);
  w.field("segments", segments_.to_json());
  w.close();
  return out;
}

std::string Engine::state() const {
  return dump(json_object({{"clock", clock_ ? json(*clock_) : json(nullptr)},
                          {"profileId", profile_id_},
                          {"profile", profile_.to_json()},
                          {"consent", consent_.to_json()},
                          {"journeys", journeys_.to_json()}}));
}

namespace {

// A snapshot part's errors re-rooted under `path` ($.key); "is damaged" when
// it failed without saying why. Out of line: one body for the five parts.
__attribute__((noinline)) void reroot(Errors& errors, const std::string& path, const Errors& own, bool parsed) {
  for (auto& e : own) add_error(errors, path + e.path.substr(1), e.reason);
  if (!parsed && own.empty()) add_error(errors, path, "is damaged");
}

// One part of a snapshot, read by `parse`, its errors re-rooted under `$.key`.
template <class T, class Parse>
std::optional<T> snapshot_part(json& j, const char* key, Errors& errors, Parse parse) {
  const std::string path = std::string("$.") + key;
  auto it = member(j, key);
  if (it == nullptr) {
    add_error(errors, path, "is required");
    return std::nullopt;
  }
  Errors own;
  std::optional<T> out = parse(*it, own);
  reroot(errors, path, own, out.has_value());
  return out;
}

}  // namespace

UpdateResult Engine::restore(std::string_view text) {
  UpdateResult out;
  out.ok = false;
  ParsedJson parsed = parse_json(text, {256 * 1024 * 1024, 64}, "snapshot");
  if (!parsed.ok()) {
    out.errors = std::move(parsed.errors);
    return out;
  }
  json& j = parsed.value;
  Errors& errors = out.errors;
  auto format = member(j, "format");
  if (format == nullptr || !format->is_string() || format->get_ref<const std::string&>() != "rekindle.snapshot") {
    add_error(errors, "$.format", "is not \"rekindle.snapshot\": this is not a Rekindle snapshot");
    return out;
  }
  auto version = member(j, "formatVersion");
  if (version == nullptr || !version->is_number_integer() || version->get<int64_t>() < 1) {
    add_error(errors, "$.formatVersion", "must be a positive integer");
    return out;
  }
  if (version->get<int64_t>() > kSnapshotFormat) {
    add_error(errors, "$.formatVersion", "is " + std::to_string(version->get<int64_t>()) +
                                             ", newer than this engine reads (" + std::to_string(kSnapshotFormat) +
                                             "); update the engine or start from a fresh state");
    return out;
  }
  static_assert(kMaxTime == 8'640'000'000'000'000, "the $.clock message names it");
  // Everything is rebuilt aside and swapped in only when all parts are sound.
  std::shared_ptr<const artifact::Artifact> art = artifact::empty();
  if (auto a = member(j, "artifact"); a == nullptr) {
    add_error(errors, "$.artifact", "is required (null when none was loaded)");
  } else if (!a->is_null()) {
    auto parsed_artifact = artifact::from_json(*a);
    reroot(errors, "$.artifact", parsed_artifact.errors, true);
    if (parsed_artifact.ok()) art = parsed_artifact.artifact;
  }
  std::optional<TimeMs> clock;
  if (auto c = member(j, "clock"); c == nullptr || !(c->is_null() || (clock = time_from_json(*c, false)))) {
    add_error(errors, "$.clock", "must be a time in milliseconds from 0 to 8640000000000000, or null");
  }
  auto prof = snapshot_part<profile::Profile>(j, "profile", errors, [](const json& v, Errors& e) {
    return profile::Profile::from_json(v, e);
  });
  auto hist = snapshot_part<profile::History>(j, "history", errors, [](json& v, Errors& e) {
    return profile::History::from_json(std::move(v), e);
  });
  uint64_t accepted = 0, duplicates = 0;
  auto unsigned_at = [](const json& c, const char* key) {
    auto v = member(c, key);
    return v != nullptr && v->is_number_unsigned();
  };
  if (auto c = member(j, "counters"); c == nullptr || !unsigned_at(*c, "accepted") || !unsigned_at(*c, "duplicates")) {
    add_error(errors, "$.counters", "must hold the accepted and duplicates counts");
  } else {
    accepted = member(*c, "accepted")->get<uint64_t>();
    duplicates = member(*c, "duplicates")->get<uint64_t>();
  }
  auto cons = snapshot_part<consent::Consent>(j, "consent", errors, [](const json& v, Errors& e) {
    return consent::Consent::from_json(v, e);
  });
  auto box = snapshot_part<outbox::Outbox>(j, "outbox", errors, [](const json& v, Errors& e) {
    return outbox::Outbox::from_json(v, e);
  });
  std::string profile_id;
  if (auto p = member(j, "profileId"); p == nullptr || !p->is_string()) {
    add_error(errors, "$.profileId", "must be a string");
  } else {
    profile_id = p->get_ref<const std::string&>();
  }
  if (!errors.empty() || !prof || !hist || !cons || !box) return out;

  segments::Segments segs;
  const TimeMs at = clock.value_or(0);
  hist->set_limits(history_limits(*art));
  auto s = member(j, "segments");
  if (s == nullptr || !segs.load_saved(art, *s, hist->events(), prof->attributes(), at)) {
    add_error(errors, "$.segments", "is missing or damaged");
    return out;
  }
  journeys::Journeys jrn;
  UpdateResult discarded;
  journeys::Host h;
  h.profile_id = profile_id;
  h.effects = &discarded.effects;
  jrn.load(art, at, h);
  auto jj = member(j, "journeys");
  if (jj == nullptr || !jrn.restore(*jj)) {
    add_error(errors, "$.journeys", "is missing or damaged");
    return out;
  }

  // The snapshot keeps a purpose's default only while the visitor has not
  // decided it: the artifact's defaults are what a decision falls back to.
  cons->set_defaults(art->consent_defaults, "$.artifact.consent.defaults");

  artifact_ = std::move(art);
  profile_ = std::move(*prof);
  history_ = std::move(*hist);
  segments_ = std::move(segs);
  consent_ = std::move(*cons);
  outbox_ = std::move(*box);
  journeys_ = std::move(jrn);
  profile_id_ = std::move(profile_id);
  clock_ = clock;
  accepted_ = accepted;
  duplicates_ = duplicates;
  out.ok = true;
  return out;
}

const char* Engine::version() { return kVersion; }

namespace {

// The field `name` of `w`, an array of the items, through `w`'s serializer.
template <class T, class ToJson>
void write_array(ObjectWriter& w, std::string_view name, const std::vector<T>& items, ToJson to_json) {
  std::string& out = w.key(name);
  out += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ',';
    w.value(to_json(items[i]));
  }
  out += ']';
}

// Results are written as text, not built as a tree and then dumped: one
// comes back from every call of the binding. The fields go in the order
// dump() gives an object's (sorted), so the text is what it always was.
void write_effects(ObjectWriter& w, const UpdateResult& r) {
  write_array(w, "effects", r.effects, [](const journeys::Effect& e) { return journeys::to_json(e); });
}

void write_errors(ObjectWriter& w, const UpdateResult& r) {
  write_array(w, "errors", r.errors,
              [](const Error& e) { return json_object({{"path", e.path}, {"reason", e.reason}}); });
}

void write_transitions(ObjectWriter& w, const UpdateResult& r) {
  write_array(w, "transitions", r.transitions, [](const segments::Transition& t) { return segments::to_json(t); });
}

}  // namespace

std::string to_text(const UpdateResult& r) {
  std::string out;
  ObjectWriter w(out);
  write_effects(w, r);
  write_errors(w, r);
  w.field("ok", r.ok);
  write_transitions(w, r);
  w.close();
  return out;
}

std::string to_text(const LoadResult& r) {
  std::string out;
  ObjectWriter w(out);
  write_effects(w, r);
  write_errors(w, r);
  w.field("ok", r.ok);
  w.field("same", r.same);
  write_transitions(w, r);
  w.close();
  return out;
}

std::string to_text(const IngestResult& r) {
  std::string out;
  ObjectWriter w(out);
  w.field("duplicate", r.duplicate);
  write_effects(w, r);
  write_errors(w, r);
  w.field("eventId", r.event_id);
  w.field("late", r.late);
  w.field("ok", r.ok);
  write_transitions(w, r);
  w.close();
  return out;
}

json to_json(const UpdateResult& r) { return json::parse(to_text(r), nullptr, false); }
json to_json(const LoadResult& r) { return json::parse(to_text(r), nullptr, false); }
json to_json(const IngestResult& r) { return json::parse(to_text(r), nullptr, false); }

json to_json(const std::vector<segments::Membership>& members) {
  json out = json(json::value_t::array);
  for (const auto& m : members)
    out.push_back(json_object({{"segment", m.segment}, {"status", "existing"}, {"since", format_iso8601(m.since)}}));
  return out;
}

}  // namespace rekindle::engine
