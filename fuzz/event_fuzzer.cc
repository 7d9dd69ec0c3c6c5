// Event parser: any bytes as an event. A parsed event must parse again from
// its own JSON to the same id, type and time, and its counted size must be
// that JSON's length; the engine then ingests it
// (on time, again as a duplicate, and late) under an artifact whose rules read
// event fields, and its snapshot must round-trip.

#include "core/event/event.h"

#include "fuzz/fuzz_support.h"

using namespace rekindle;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = fuzz::text(data, size);
  event::ParseResult parsed = event::parse(input);
  if (!parsed.ok()) {
    fuzz::check(!parsed.errors.empty(), "a refused event has errors");
    return 0;
  }
  const event::Event& ev = *parsed.event;
  const std::string again_text = dump(ev.body);
  fuzz::check(dumped_size(ev.body) == again_text.size(), "an event's counted size is the length of its JSON", again_text);
  event::ParseResult again = event::parse(again_text);
  fuzz::check(again.ok(), "a parsed event parses again from its JSON", again_text);
  fuzz::check(again.event->id == ev.id && again.event->type == ev.type &&
                  again.event->timestamp == ev.timestamp,
              "an event's JSON keeps its id, type and time", again_text);

  engine::Engine e("fuzz-device");
  auto load = e.load_artifact(fuzz::kArtifact, ev.timestamp);
  if (!load.ok) fuzz::fail("the event target's artifact loads", dump(to_json(load.errors)));
  auto first = e.ingest(input, ev.timestamp);
  // The engine's clock starts at 1970: an older event is late, and may be refused.
  if (ev.timestamp >= 0) {
    fuzz::check(first.ok && !first.duplicate, "a parsed event is accepted at its own time",
                dump(to_json(first)));
    auto dup = e.ingest(input, ev.timestamp + kMinute);
    fuzz::check(dup.ok && dup.duplicate, "the same event again is a duplicate", dump(to_json(dup)));
  }
  e.advance(ev.timestamp + kHour);
  event::Event late = ev;
  late.id = "late-" + stable_id({ev.id});
  late.body["_id"] = late.id;
  e.ingest(std::move(late), ev.timestamp + 2 * kHour);
  fuzz::exercise(e, ev.timestamp + 3 * kHour);
  fuzz::check_snapshot_round_trip(e);
  return 0;
}
