// Snapshots: taken at any point and restored, the engine continues exactly as
// the original; a damaged or newer snapshot is refused and changes nothing.
#include <gtest/gtest.h>

#include <limits>

#include "core/engine/engine.h"
#include "tests/core/error_matchers.h"

namespace rekindle {
namespace {

using nlohmann::json;

constexpr TimeMs kT0 = 1767261600000;  // 2026-01-01T10:00:00Z

const char* kArtifact = R"({"version":"s1","segments":[
  {"id":"abandoned-cart","rule":{"sequence":[{"event":{"type":"commerce.productListAdds"}},
     {"absent":{"type":"commerce.purchases"},"for":"30m"}]}},
  {"id":"browser","rule":{"count":{"event":{"type":"commerce.productViews"},"within":"1h"},"op":"gte","value":3}},
  {"id":"buyer","rule":{"count":{"event":{"type":"commerce.purchases"}},"op":"gte","value":1}},
  {"id":"quiet","rule":{"and":[{"segment":"buyer"},{"since":{"event":{"type":"web.webpagedetails.pageViews"}},"op":"gte","value":"2h"}]}},
  {"id":"gold-cart","rule":{"and":[{"segment":"abandoned-cart"},{"path":"profile.tier","op":"eq","value":"gold"}]}}]})";

struct Step {
  enum Kind { kEvent, kAdvance, kAttributes } kind;
  std::string text;
  TimeMs at;
};

// A day of activity with deadlines between most steps.
std::vector<Step> script() {
  std::vector<Step> steps;
  const char* types[] = {"commerce.productViews", "web.webpagedetails.pageViews", "commerce.productListAdds",
                         "commerce.productViews", "commerce.purchases", "commerce.productViews"};
  TimeMs t = kT0;
  for (int i = 0; i < 60; ++i) {
    t += (i % 7 + 1) * 7 * kMinute;
    std::string type = types[i % 6];
    steps.push_back({Step::kEvent, dump(json{{"_id", "e" + std::to_string(i)}, {"eventType", type},
                                             {"timestamp", format_iso8601(t)}}), t});
    if (i % 9 == 4) steps.push_back({Step::kAttributes, i % 2 ? R"({"tier":"gold"})" : R"({"tier":"silver"})", t + 1});
    if (i % 5 == 2) steps.push_back({Step::kAdvance, "", t + 40 * kMinute});
  }
  return steps;
}

std::vector<segments::Transition> run(engine::Engine& e, const Step& s) {
  switch (s.kind) {
    case Step::kEvent: return e.ingest(s.text, s.at).transitions;
    case Step::kAdvance: return e.advance(s.at).transitions;
    case Step::kAttributes: return e.set_attributes(s.text, s.at).transitions;
  }
  return {};
}

TEST(Snapshot, RestoredAtAnyStepContinuesIdentically) {
  const auto steps = script();
  size_t transitions = 0;
  for (size_t cut = 0; cut <= steps.size(); cut += 7) {
    engine::Engine original("device-1");
    ASSERT_TRUE(original.load_artifact(kArtifact, kT0).ok);
    for (size_t i = 0; i < cut; ++i) run(original, steps[i]);
    // Written part by part, the text must still be dump() of the value it
    // holds: keys in order, nothing missing or doubled.
    const std::string text = original.snapshot();
    json parsed = json::parse(text, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << "cut " << cut;
    EXPECT_EQ(dump(parsed), text) << "cut " << cut;
    EXPECT_EQ(parsed.size(), 13u);
    engine::Engine restored("other");
    auto r = restored.restore(text);
    ASSERT_TRUE(r.ok) << describe(r.errors);
    EXPECT_EQ(restored.snapshot(), original.snapshot()) << "cut " << cut;
    EXPECT_EQ(restored.next_deadline(), original.next_deadline()) << "cut " << cut;
    for (size_t i = cut; i < steps.size(); ++i) {
      auto expected = run(original, steps[i]);
      ASSERT_EQ(run(restored, steps[i]), expected) << "cut " << cut << ", step " << i;
      if (cut == 0) transitions += expected.size();
    }
    EXPECT_EQ(restored.snapshot(), original.snapshot());
  }
  // The script must exercise every kind of segment, or the comparison proves little.
  EXPECT_GE(transitions, 20u);
}

// A snapshot written another way than the engine writes it (indented, a key
// escaped) restores to the same state: the next snapshot is the engine's own
// text.
TEST(Snapshot, ASnapshotWrittenAnotherWayRestoresToTheSameState) {
  const auto steps = script();
  engine::Engine original("device-1");
  ASSERT_TRUE(original.load_artifact(kArtifact, kT0).ok);
  for (const auto& step : steps) run(original, step);
  const std::string text = original.snapshot();
  json parsed = json::parse(text, nullptr, false);
  ASSERT_GE(parsed["history"]["events"].size(), 3u);
  std::string escaped = text;
  escaped.replace(escaped.find(R"("events":[)"), 9, R"("even\u0074s":)");
  for (const std::string& other : {parsed.dump(2), escaped}) {
    engine::Engine restored("other");
    auto r = restored.restore(other);
    ASSERT_TRUE(r.ok) << describe(r.errors);
    EXPECT_EQ(restored.snapshot(), text);
    EXPECT_EQ(restored.history().size(), original.history().size());
  }
}

TEST(Snapshot, AnEngineWithoutAnArtifactRoundTrips) {
  engine::Engine fresh("device-1");
  const std::string text = fresh.snapshot();
  json parsed = json::parse(text, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded());
  EXPECT_EQ(dump(parsed), text);
  EXPECT_TRUE(parsed["artifact"].is_null());
  EXPECT_EQ(parsed["history"]["events"], json::array());
  engine::Engine restored("other");
  auto r = restored.restore(text);
  ASSERT_TRUE(r.ok) << describe(r.errors);
  EXPECT_EQ(restored.snapshot(), text);
}

// A segment the snapshot holds no state for (a snapshot from an older engine,
// or edited) is rebuilt from the history; the others take their saved state.
// A decided purpose's default is not in the snapshot: a restored engine takes
// it from the artifact, so a later "pending" falls back to the same state as
// in the engine that never stopped.
TEST(Snapshot, ARestoredEngineFallsBackToTheArtifactsConsentDefaults) {
  const char* with_defaults = R"({"version":"c1","consent":{"defaults":{"personalize":"granted","analytics":"denied"}}})";
  engine::Engine original("d1");
  ASSERT_TRUE(original.load_artifact(with_defaults, kT0).ok);
  ASSERT_TRUE(original.set_consent(R"({"personalize":"denied","analytics":"granted"})", kT0 + 1).ok);
  engine::Engine restored("d1");
  ASSERT_TRUE(restored.restore(original.snapshot()).ok);
  for (auto* e : {&original, &restored}) {
    ASSERT_TRUE(e->set_consent(R"({"personalize":"pending","analytics":"pending"})", kT0 + 2).ok);
    EXPECT_EQ(e->consent().get("personalize"), consent::State::kGranted);
    EXPECT_EQ(e->consent().get("analytics"), consent::State::kDenied);
  }
  EXPECT_EQ(restored.snapshot(), original.snapshot());
}

TEST(Snapshot, ASegmentMissingFromTheSnapshotIsRebuiltFromTheHistory) {
  const auto steps = script();
  const size_t cut = steps.size() / 2;
  engine::Engine original("device-1");
  ASSERT_TRUE(original.load_artifact(kArtifact, kT0).ok);
  for (size_t i = 0; i < cut; ++i) run(original, steps[i]);
  json snapshot = json::parse(original.snapshot());
  json kept = json::array();
  for (const auto& s : snapshot["segments"])
    if (s["id"] != "browser" && s["id"] != "gold-cart") kept.push_back(s);
  ASSERT_EQ(kept.size(), snapshot["segments"].size() - 2);
  snapshot["segments"] = kept;
  engine::Engine restored("other");
  auto r = restored.restore(dump(snapshot));
  ASSERT_TRUE(r.ok) << describe(r.errors);
  auto ids = [](const engine::Engine& e) {
    std::vector<std::string> out;
    for (const auto& m : e.segments()) out.push_back(m.segment + "@" + std::to_string(m.since));
    return out;
  };
  EXPECT_EQ(ids(restored), ids(original));
  EXPECT_EQ(restored.next_deadline(), original.next_deadline());
  size_t transitions = 0;
  for (size_t i = cut; i < steps.size(); ++i) {
    auto expected = run(original, steps[i]);
    ASSERT_EQ(run(restored, steps[i]), expected) << "step " << i;
    transitions += expected.size();
  }
  EXPECT_GE(transitions, 5u);
}

TEST(Snapshot, ADamagedOrNewerSnapshotIsRefusedAndChangesNothing) {
  engine::Engine e("device-1");
  ASSERT_TRUE(e.load_artifact(kArtifact, kT0).ok);
  e.ingest(dump(json{{"_id", "a"}, {"eventType", "commerce.productListAdds"}, {"timestamp", format_iso8601(kT0)}}), kT0);
  const std::string before = e.snapshot();
  json good = json::parse(before);

  auto refused = [&](const std::string& text, const std::string& path, const std::string& part) {
    auto r = e.restore(text);
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(has_error(r.errors, path, part)) << describe(r.errors);
    EXPECT_EQ(e.snapshot(), before);
  };
  refused(before.substr(0, before.size() / 2), "$", "not valid JSON");
  refused("[]", "$.format", "not a Rekindle snapshot");
  json newer = good;
  newer["formatVersion"] = engine::kSnapshotFormat + 1;
  refused(dump(newer), "$.formatVersion", "newer than this engine reads");
  json bad_event = good;
  bad_event["history"]["events"][0]["eventType"] = 5;
  refused(dump(bad_event), "$.history.events[0].eventType", "must be a string");
  json bad_artifact = good;
  bad_artifact["artifact"]["segments"][0]["rule"]["sequence"] = 1;
  refused(dump(bad_artifact), "$.artifact.segments[0].rule.sequence", "at least 2 steps");
  json bad_segments = good;
  bad_segments["segments"][0]["aggregates"] = json::array({1});
  refused(dump(bad_segments), "$.segments", "damaged");
  json no_counters = good;
  no_counters.erase("counters");
  refused(dump(no_counters), "$.counters", "accepted");

  // Still a working engine: the deadline fires as before.
  auto r = e.advance(kT0 + kHour);
  ASSERT_EQ(r.transitions.size(), 1u);
  EXPECT_EQ(r.transitions[0].at, kT0 + 30 * kMinute);
}

// Found by fuzz/snapshot_fuzzer.cc (fuzz/corpus/snapshot/edge-clock-max.json):
// a snapshot's clock was taken as any integer, and the next ingest computed
// clock + future tolerance past INT64_MAX (undefined behaviour).
TEST(Snapshot, AClockOutsideTheTimesOfADateIsRefused) {
  engine::Engine e("device-1");
  ASSERT_TRUE(e.load_artifact(kArtifact, kT0).ok);
  const std::string before = e.snapshot();
  json good = json::parse(before);
  for (json clock : {json(std::numeric_limits<int64_t>::max()), json(std::numeric_limits<uint64_t>::max()),
                     json(kMaxTime + 1), json(-1)}) {
    json bad = good;
    bad["clock"] = clock;
    auto r = e.restore(dump(bad));
    EXPECT_FALSE(r.ok) << clock;
    EXPECT_TRUE(has_error(r.errors, "$.clock", "from 0 to 8640000000000000")) << describe(r.errors);
    EXPECT_EQ(e.snapshot(), before);
  }
  json last = good;
  last["clock"] = kMaxTime;
  EXPECT_TRUE(e.restore(dump(last)).ok);
}

// Found by fuzz/event_fuzzer.cc (fuzz/corpus/event/edge-year-zero.json): with
// `now` before 1970 the engine wrote profile fields with a negative time, and
// its own restore refused the snapshot that held them; a field written at the
// last instant of a Date pushed the next write one past it, with the same end.
TEST(Snapshot, TimesOutsideTheRangeOfADateStillRestore) {
  for (TimeMs now : {std::numeric_limits<int64_t>::min(), TimeMs{-62167219200000}, TimeMs{-1}, kMaxTime,
                     std::numeric_limits<int64_t>::max()}) {
    engine::Engine e("device-1");
    ASSERT_TRUE(e.load_artifact(kArtifact, now).ok);
    // Refused as too far in the future or the past; only the clock matters here.
    e.ingest(dump(json{{"_id", "a"}, {"eventType", "commerce.productListAdds"}, {"timestamp", "2026-01-01T10:00:00Z"}}),
             now);
    EXPECT_TRUE(e.set_attributes(R"({"tier":"gold"})", now).ok);
    EXPECT_TRUE(e.set_attributes(R"({"tier":"silver"})", now).ok);
    EXPECT_TRUE(e.advance(now).ok);
    engine::Engine restored("other");
    auto r = restored.restore(e.snapshot());
    ASSERT_TRUE(r.ok) << now << "\n" << describe(r.errors);
    EXPECT_EQ(restored.snapshot(), e.snapshot());
    // Later writes win, except at the very last instant, where the value breaks the tie.
    if (now < kMaxTime) EXPECT_EQ(restored.profile().attributes()["tier"], "silver") << now;
  }
}

// Found by fuzz/event_fuzzer.cc (fuzz/corpus/event/finding-sum-to-infinity.json):
// a sum that overflowed to infinity was written as null, and the snapshot no
// longer restored (see Aggregates.SumsSaturateAtTheLargestFiniteNumber).
TEST(Snapshot, AHugeSumStillRestores) {
  engine::Engine e("device-1");
  ASSERT_TRUE(e.load_artifact(R"({"version":"s2","segments":[{"id":"big","rule":{"sum":{"event":{"type":"commerce.productListAdds"},
      "field":"event.productListItems[].priceTotal","within":"1d"},"op":"gte","value":100}}]})", kT0).ok);
  auto r = e.ingest(R"({"_id":"x","eventType":"commerce.productListAdds","timestamp":"2026-01-01T10:00:00Z",
                        "productListItems":[{"priceTotal":1e308},{"priceTotal":1e308}]})", kT0);
  ASSERT_TRUE(r.ok) << describe(r.errors);
  ASSERT_EQ(r.transitions.size(), 1u);
  engine::Engine restored("other");
  auto back = restored.restore(e.snapshot());
  ASSERT_TRUE(back.ok) << describe(back.errors);
  EXPECT_EQ(restored.snapshot(), e.snapshot());
}

}  // namespace
}  // namespace rekindle
