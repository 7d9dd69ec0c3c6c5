#include "core/engine/engine.h"

#include "core/event/event.h"
#include "rekindle/version.h"

namespace rekindle::engine {

IngestResult Engine::ingest(std::string_view event_json, TimeMs /*now*/) {
  IngestResult out;
  auto parsed = event::parse(event_json);
  if (!parsed.ok()) {
    out.errors = std::move(parsed.errors);
    return out;
  }
  out.ok = true;
  out.event_id = parsed.event->id;
  if (!seen_ids_.insert(parsed.event->id).second) {
    out.duplicate = true;
    ++duplicates_;
    return out;
  }
  ++accepted_;
  return out;
}

const char* Engine::version() { return kVersion; }

nlohmann::json to_json(const IngestResult& r) {
  return {{"ok", r.ok},
          {"duplicate", r.duplicate},
          {"eventId", r.event_id},
          {"errors", rekindle::to_json(r.errors)}};
}

}  // namespace rekindle::engine
