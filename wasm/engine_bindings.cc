// The embind layer: turns JS values into core calls and core results into JS
// values. It only passes strings and numbers; results are JSON text that the
// JS layer parses, so one call crosses the boundary per event.
#include <emscripten/bind.h>

#include <string>

#include "core/common/json_depth.h"
#include "core/engine/engine.h"

namespace {

using rekindle::engine::Engine;

std::string ingest(Engine& engine, const std::string& event_json, double now_ms) {
  return rekindle::dump(rekindle::engine::to_json(
      engine.ingest(event_json, static_cast<rekindle::TimeMs>(now_ms))));
}

std::string version() { return Engine::version(); }

}  // namespace

EMSCRIPTEN_BINDINGS(rekindle_engine) {
  emscripten::class_<Engine>("_Engine")
      .constructor<>()
      .function("_ingest", &ingest)
      .function("_accepted", emscripten::optional_override([](const Engine& e) {
                  return static_cast<double>(e.accepted());
                }))
      .function("_duplicates", emscripten::optional_override([](const Engine& e) {
                  return static_cast<double>(e.duplicates());
                }));
  emscripten::function("_version", &version);
}
