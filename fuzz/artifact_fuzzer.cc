// Artifact parser and rule compiler: any bytes as a campaign artifact, loaded
// through the engine facade. A refused artifact must leave the engine as it
// was; a loaded one must run events, deadlines and decisions, load again
// unchanged, and survive a snapshot round trip.

#include "core/artifact/artifact.h"

#include "fuzz/fuzz_support.h"

using namespace rekindle;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = fuzz::text(data, size);
  engine::Engine e("fuzz-device");
  const std::string before = e.snapshot();
  auto loaded = e.load_artifact(input, fuzz::kT0);
  if (!loaded.ok) {
    fuzz::check(!loaded.errors.empty(), "a refused artifact has errors");
    for (const auto& err : loaded.errors)
      fuzz::check(!err.path.empty() && err.path[0] == '$', "an error path starts with $", err.path);
    fuzz::check(e.snapshot() == before, "a refused artifact changes nothing");
    return 0;
  }
  fuzz::exercise(e, fuzz::kT0);
  fuzz::check_snapshot_round_trip(e);
  // The same artifact again, later: accepted, whatever state it left, as the
  // one the engine runs (it only catches up, as advance() does).
  auto reloaded = e.load_artifact(input, fuzz::kT0 + 41 * kDay);
  fuzz::check(reloaded.ok, "an artifact that loaded once loads again", dump(to_json(reloaded.errors)));
  fuzz::check(reloaded.same, "an artifact loaded again is the same artifact");
  fuzz::check_snapshot_round_trip(e);
  return 0;
}
