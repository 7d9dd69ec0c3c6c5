// Snapshot restore: any bytes as a snapshot. A refused snapshot must leave
// the engine's state untouched; a restored one must write a snapshot that
// restores to the same, and keep working through events and deadlines.
//
// Whole snapshots are large, and random edits of their text rarely stay
// JSON. So an input that is a JSON object without "format" is taken as a
// merge patch (RFC 7386) of a snapshot taken mid-journey, which reaches the
// numbers and strings deep inside its parts: {"clock": -1},
// {"journeys": {"lastEnd": {"cart-recovery": 9e18}}}.

#include <algorithm>

#include "fuzz/fuzz_support.h"

namespace {

using namespace rekindle;
using nlohmann::json;

// An engine with something in every part: history, aggregates, an active
// journey waiting, deliveries, consent decisions, outbox records.
const json& base_snapshot() {
  static const json snapshot = [] {
    engine::Engine e("fuzz-device");
    if (!e.load_artifact(fuzz::kArtifact, fuzz::kT0).ok) fuzz::fail("the snapshot target's artifact loads");
    e.set_consent(R"({"personalize":"granted","marketing.email":"granted"})", fuzz::kT0);
    e.set_attributes(R"({"firstName":"Ada","tier":"gold","address":{"city":"Paris"}})", fuzz::kT0);
    e.identify("email", "ada@example.com", fuzz::kT0);
    e.ingest(R"({"_id":"v1","eventType":"commerce.productViews","timestamp":"2026-01-01T10:00:00Z",
                 "productListItems":[{"SKU":"s1","productCategory":"shoes","priceTotal":60}]})", fuzz::kT0);
    e.ingest(R"({"_id":"a1","eventType":"commerce.productListAdds","timestamp":"2026-01-01T10:05:00Z",
                 "productListItems":[{"SKU":"s1","productCategory":"shoes","priceTotal":60}]})", fuzz::kT0 + 5 * kMinute);
    e.ingest(R"({"_id":"p1","eventType":"web.webpagedetails.pageViews","timestamp":"2026-01-01T10:06:00Z"})",
             fuzz::kT0 + 6 * kMinute);
    e.advance(fuzz::kT0 + kHour);
    e.decide("hero", fuzz::kT0 + kHour);
    return json::parse(e.snapshot(), nullptr, false);
  }();
  return snapshot;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = fuzz::text(data, size);
  std::string patched;
  ParsedJson patch = parse_json(input, {1024 * 1024, 64}, "patch");
  if (patch.ok() && patch.value.is_object() && !patch.value.contains("format")) {
    json doc = base_snapshot();
    doc.merge_patch(patch.value);
    patched = dump(doc);
    input = patched;
  }

  engine::Engine e("fuzz-device");
  const std::string before = e.snapshot();
  auto restored = e.restore(input);
  if (!restored.ok) {
    fuzz::check(!restored.errors.empty(), "a refused snapshot has errors");
    fuzz::check(e.snapshot() == before, "a refused snapshot changes nothing");
    return 0;
  }
  fuzz::check_snapshot_round_trip(e);
  // The host's clock is a JavaScript Date; the engine's is at least that far.
  auto deadline = e.next_deadline();
  TimeMs now = std::clamp<TimeMs>(deadline.value_or(fuzz::kT0), 0, kMaxTime - 100 * kDay);
  fuzz::exercise(e, now);
  fuzz::check_snapshot_round_trip(e);
  return 0;
}
