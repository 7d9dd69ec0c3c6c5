// The embind layer: turns JS values into core calls and core results into JS
// values. It only passes strings and numbers; results are JSON text that the
// JS layer parses, so one call crosses the boundary per event.
#include <emscripten/bind.h>

#include <climits>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "core/common/json_depth.h"
#include "core/engine/engine.h"

namespace {

using rekindle::TimeMs;
using rekindle::engine::Engine;

// JS numbers are doubles; anything that is not a finite time becomes 0 so a
// bad argument cannot turn into undefined behaviour in the conversion.
// Clamped before the cast: converting a double beyond the range of int64 is undefined.
TimeMs to_time(double ms) { return std::isfinite(ms) ? static_cast<TimeMs>(std::clamp(ms, 0.0, 8.64e15)) : 0; }

std::string ingest(Engine& e, const std::string& event_json, double now) {
  return rekindle::dump(rekindle::engine::to_json(e.ingest(event_json, to_time(now))));
}

std::string load_artifact(Engine& e, const std::string& artifact_json, double now) {
  return rekindle::dump(rekindle::engine::to_json(e.load_artifact(artifact_json, to_time(now))));
}

std::string set_attributes(Engine& e, const std::string& attributes_json, double now) {
  return rekindle::dump(rekindle::engine::to_json(e.set_attributes(attributes_json, to_time(now))));
}

std::string advance(Engine& e, double now) {
  return rekindle::dump(rekindle::engine::to_json(e.advance(to_time(now))));
}

// NaN stands for "no deadline".
double next_deadline(const Engine& e) {
  auto t = e.next_deadline();
  return t ? static_cast<double>(*t) : std::nan("");
}

std::string identify(Engine& e, const std::string& ns, const std::string& id, double now) {
  return rekindle::dump(rekindle::engine::to_json(e.identify(ns, id, to_time(now))));
}

std::string set_consent(Engine& e, const std::string& states_json, double now) {
  return rekindle::dump(rekindle::engine::to_json(e.set_consent(states_json, to_time(now))));
}

// The decision as JSON, or "null" when no offer fits.
std::string decide(Engine& e, const std::string& placement, double now) {
  auto d = e.decide(placement, to_time(now));
  return d ? rekindle::dump(rekindle::offers::to_json(*d)) : "null";
}

// Up to `max_records` sendable records as a JSON array.
std::string pending(const Engine& e, double max_records, double max_bytes) {
  auto count = std::isfinite(max_records) && max_records > 0 ? static_cast<size_t>(max_records) : 0;
  auto bytes = std::isfinite(max_bytes) && max_bytes > 0 ? static_cast<size_t>(max_bytes) : 0;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : e.pending(count, bytes)) out.push_back(rekindle::outbox::to_json(r));
  return rekindle::dump(out);
}

// Acknowledged ids as a JSON array of strings; returns how many left the outbox.
double ack(Engine& e, const std::string& ids_json) {
  // The core's parser (one parser in the module), with no size or depth limit
  // of its own: the ids come from the host's own pending() batch.
  auto parsed = rekindle::parse_json(ids_json, {SIZE_MAX, INT_MAX}, "ids");
  if (!parsed.ok() || !parsed.value.is_array()) return 0;
  std::vector<std::string> ids;
  for (const auto& id : parsed.value)
    if (id.is_string()) ids.push_back(id.get<std::string>());
  return static_cast<double>(e.ack(ids));
}

std::string snapshot(const Engine& e) { return e.snapshot(); }

std::string restore(Engine& e, const std::string& text) {
  return rekindle::dump(rekindle::engine::to_json(e.restore(text)));
}

std::string segments(const Engine& e) { return rekindle::dump(rekindle::engine::to_json(e.segments())); }

std::string version() { return Engine::version(); }

}  // namespace

EMSCRIPTEN_BINDINGS(rekindle_engine) {
  emscripten::class_<Engine>("_Engine")
      .constructor<std::string>()
      .function("_ingest", &ingest)
      .function("_loadArtifact", &load_artifact)
      .function("_setAttributes", &set_attributes)
      .function("_advance", &advance)
      .function("_nextDeadline", &next_deadline)
      .function("_segments", &segments)
      .function("_setConsent", &set_consent)
      .function("_identify", &identify)
      .function("_decide", &decide)
      .function("_pending", &pending)
      .function("_ack", &ack)
      .function("_outboxSize", emscripten::optional_override([](const Engine& e) {
                  return static_cast<double>(e.outbox().size());
                }))
      .function("_snapshot", &snapshot)
      .function("_restore", &restore)
      .function("_accepted", emscripten::optional_override([](const Engine& e) {
                  return static_cast<double>(e.accepted());
                }))
      .function("_duplicates", emscripten::optional_override([](const Engine& e) {
                  return static_cast<double>(e.duplicates());
                }));
  emscripten::function("_version", &version);
}
