// The binding layer: a plain C ABI over the engine (no embind). It only
// passes UTF-8 text (pointer + length, written into the module's memory by
// web/engine-abi.js) and doubles; results are JSON text that the JS layer
// parses, so one call crosses the boundary per event.
//
// A text result stays owned by the handle (valid until its next call); the
// function returns a pointer to it and leaves its length in the word whose
// address rk_result_size() gives. Nothing here throws (the module is built
// -fno-exceptions), so no C++ exception can reach JS.
#include <emscripten/emscripten.h>

#include <climits>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/json_depth.h"
#include "core/engine/engine.h"

namespace {

using rekindle::TimeMs;
using rekindle::engine::Condition;
using rekindle::engine::Engine;

// One engine, the conditions compiled for it (freed with it) and the text of
// its last result.
struct Handle {
  explicit Handle(std::string device_id) : engine(std::move(device_id)) {}
  Engine engine;
  std::vector<std::unique_ptr<Condition>> conditions;
  std::string result;
};

// The length of the last text result, read by JS right after each call.
uint32_t result_size = 0;

const char* give(Handle* h, std::string text) {
  h->result = std::move(text);
  result_size = static_cast<uint32_t>(h->result.size());
  return h->result.data();
}

std::string_view text(const char* data, size_t size) { return size ? std::string_view(data, size) : std::string_view(); }

// JS numbers are doubles; anything that is not a finite time becomes 0 so a
// bad argument cannot turn into undefined behaviour in the conversion.
// Clamped before the cast: converting a double beyond the range of int64 is undefined.
TimeMs to_time(double ms) { return std::isfinite(ms) ? static_cast<TimeMs>(std::clamp(ms, 0.0, 8.64e15)) : 0; }

// A count from JS, truncated; 0 unless it is positive and within the range of
// size_t (a NaN, an infinity or 1e20 give 0, as they always have: the cast of a
// double beyond that range would be undefined).
size_t to_count(double n) {
  return n > 0 && n < static_cast<double>(SIZE_MAX) ? static_cast<size_t>(n) : 0;
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE uint32_t* rk_result_size() { return &result_size; }

EMSCRIPTEN_KEEPALIVE Handle* rk_engine_new(const char* device_id, size_t size) {
  return new Handle(std::string(text(device_id, size)));
}

EMSCRIPTEN_KEEPALIVE void rk_engine_free(Handle* h) { delete h; }

EMSCRIPTEN_KEEPALIVE const char* rk_ingest(Handle* h, const char* event_json, size_t size, double now) {
  return give(h, rekindle::engine::to_text(h->engine.ingest(text(event_json, size), to_time(now))));
}

EMSCRIPTEN_KEEPALIVE const char* rk_load_artifact(Handle* h, const char* artifact_json, size_t size, double now) {
  return give(h, rekindle::engine::to_text(h->engine.load_artifact(text(artifact_json, size), to_time(now))));
}

EMSCRIPTEN_KEEPALIVE const char* rk_set_attributes(Handle* h, const char* attributes_json, size_t size, double now) {
  return give(h, rekindle::engine::to_text(h->engine.set_attributes(text(attributes_json, size), to_time(now))));
}

EMSCRIPTEN_KEEPALIVE const char* rk_identify(Handle* h, const char* ns, size_t ns_size, const char* id, size_t id_size,
                                            double now) {
  return give(h, rekindle::engine::to_text(h->engine.identify(text(ns, ns_size), text(id, id_size), to_time(now))));
}

EMSCRIPTEN_KEEPALIVE const char* rk_set_consent(Handle* h, const char* states_json, size_t size, double now) {
  return give(h, rekindle::engine::to_text(h->engine.set_consent(text(states_json, size), to_time(now))));
}

EMSCRIPTEN_KEEPALIVE const char* rk_advance(Handle* h, double now) {
  return give(h, rekindle::engine::to_text(h->engine.advance(to_time(now))));
}

// NaN stands for "no deadline".
EMSCRIPTEN_KEEPALIVE double rk_next_deadline(const Handle* h) {
  auto t = h->engine.next_deadline();
  return t ? static_cast<double>(*t) : std::nan("");
}

EMSCRIPTEN_KEEPALIVE const char* rk_segments(Handle* h) {
  return give(h, rekindle::dump(rekindle::engine::to_json(h->engine.segments())));
}

// Engine::state(): the state without the history, for inspectors and banners.
EMSCRIPTEN_KEEPALIVE const char* rk_state(Handle* h) { return give(h, h->engine.state()); }

// The decision as JSON, or "null" when no offer fits.
EMSCRIPTEN_KEEPALIVE const char* rk_decide(Handle* h, const char* placement, size_t size, double now) {
  auto d = h->engine.decide(text(placement, size), to_time(now));
  return give(h, d ? rekindle::dump(rekindle::offers::to_json(*d)) : std::string("null"));
}

// Up to `max_records` sendable records as a JSON array.
EMSCRIPTEN_KEEPALIVE const char* rk_pending(Handle* h, double max_records, double max_bytes) {
  nlohmann::json out = nlohmann::json(nlohmann::json::value_t::array);
  for (const auto& r : h->engine.pending(to_count(max_records), to_count(max_bytes))) out.push_back(rekindle::outbox::to_json(r));
  return give(h, rekindle::dump(out));
}

// Acknowledged ids as a JSON array of strings; returns how many left the outbox.
EMSCRIPTEN_KEEPALIVE double rk_ack(Handle* h, const char* ids_json, size_t size) {
  // The core's parser (one parser in the module), with no size or depth limit
  // of its own: the ids come from the host's own pending() batch.
  auto parsed = rekindle::parse_json(text(ids_json, size), {SIZE_MAX, INT_MAX}, "ids");
  if (!parsed.ok() || !parsed.value.is_array()) return 0;
  std::vector<std::string> ids;
  for (const auto& id : rekindle::array_items(parsed.value))
    if (id.is_string()) ids.push_back(id.get_ref<const std::string&>());
  return static_cast<double>(h->engine.ack(ids));
}

// A compiled condition's address (a JSON number: its handle for rk_test), or
// the errors that prevented it (a JSON array). A handle like the engine's:
// web/runtime.js never passes it on after rk_condition_free or rk_engine_free.
EMSCRIPTEN_KEEPALIVE const char* rk_condition(Handle* h, const char* condition_json, size_t size) {
  rekindle::Errors errors;
  auto c = Condition::compile(text(condition_json, size), errors);
  if (!c) return give(h, rekindle::dump(rekindle::to_json(errors)));
  h->conditions.push_back(std::make_unique<Condition>(std::move(*c)));
  return give(h, std::to_string(reinterpret_cast<uintptr_t>(h->conditions.back().get())));
}

// 1 if the visitor meets the condition, 0 if not: one call, no text.
EMSCRIPTEN_KEEPALIVE int rk_test(const Handle* h, const Condition* c) { return h->engine.test(*c) ? 1 : 0; }

EMSCRIPTEN_KEEPALIVE void rk_condition_free(Handle* h, const Condition* c) {
  auto& all = h->conditions;
  all.erase(std::remove_if(all.begin(), all.end(), [c](const auto& p) { return p.get() == c; }), all.end());
}

EMSCRIPTEN_KEEPALIVE double rk_outbox_size(const Handle* h) { return static_cast<double>(h->engine.outbox().size()); }
EMSCRIPTEN_KEEPALIVE double rk_outbox_dropped(const Handle* h) { return static_cast<double>(h->engine.outbox().dropped()); }
EMSCRIPTEN_KEEPALIVE double rk_accepted(const Handle* h) { return static_cast<double>(h->engine.accepted()); }
EMSCRIPTEN_KEEPALIVE double rk_duplicates(const Handle* h) { return static_cast<double>(h->engine.duplicates()); }

EMSCRIPTEN_KEEPALIVE const char* rk_snapshot(Handle* h) { return give(h, h->engine.snapshot()); }

EMSCRIPTEN_KEEPALIVE const char* rk_restore(Handle* h, const char* snapshot, size_t size) {
  return give(h, rekindle::engine::to_text(h->engine.restore(text(snapshot, size))));
}

// A static string: its length goes to the same word as the others'.
EMSCRIPTEN_KEEPALIVE const char* rk_version() {
  const char* v = Engine::version();
  result_size = static_cast<uint32_t>(std::strlen(v));
  return v;
}

}  // extern "C"
