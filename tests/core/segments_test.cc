// Engine-level segment behaviour that the conformance format cannot express:
// reloading artifacts, keeping the old one on errors, and many deadlines at once.
#include <gtest/gtest.h>

#include "core/engine/engine.h"

namespace rekindle {
namespace {

using nlohmann::json;

constexpr TimeMs kT0 = 1767261600000;  // 2026-01-01T10:00:00Z

const char* kAbandoned = R"({"id":"abandoned-cart","rule":{"sequence":[
  {"event":{"type":"commerce.productListAdds"}},{"absent":{"type":"commerce.purchases"},"for":"30m"}]}})";

std::string artifact(const std::string& version, const std::string& segments) {
  return R"({"version":")" + version + R"(","segments":[)" + segments + "]}";
}

std::string event(const std::string& id, const std::string& type, TimeMs ts) {
  return dump(json{{"_id", id}, {"eventType", type}, {"timestamp", format_iso8601(ts)}});
}

TEST(Segments, AbandonedCartQualifiesAtTheDeadlineNotOnReturn) {
  engine::Engine e("d1");
  ASSERT_TRUE(e.load_artifact(artifact("1", kAbandoned), kT0).ok);
  EXPECT_TRUE(e.ingest(event("a", "commerce.productListAdds", kT0), kT0).transitions.empty());
  EXPECT_EQ(e.next_deadline(), kT0 + 30 * kMinute);
  // The visitor returns two days later: the entry is stamped at +30m.
  auto r = e.advance(kT0 + 2 * kDay);
  ASSERT_EQ(r.transitions.size(), 1u);
  EXPECT_EQ(r.transitions[0], (segments::Transition{"abandoned-cart", true, kT0 + 30 * kMinute}));
  auto bought = e.ingest(event("p", "commerce.purchases", kT0 + 2 * kDay + 1), kT0 + 2 * kDay + 1);
  ASSERT_EQ(bought.transitions.size(), 1u);
  EXPECT_FALSE(bought.transitions[0].entered);
}

// A page loads its artifact at every start. The same artifact again (an
// equal document, however written) only catches up, exactly as advance()
// would: the deadline that passed is processed at its time, and the state is
// that of a twin engine that advanced instead. Another artifact is a load.
TEST(Segments, TheSameArtifactAgainOnlyCatchesUp) {
  const std::string a = artifact("1", kAbandoned);
  const std::string respelled = R"({ "segments": [ )" + std::string(kAbandoned) + R"( ], "version": "1" })";
  engine::Engine e("d1");
  engine::Engine twin("d1");
  for (auto* x : {&e, &twin}) {
    auto first = x->load_artifact(a, kT0);
    ASSERT_TRUE(first.ok);
    EXPECT_FALSE(first.same);
    ASSERT_TRUE(x->ingest(event("a", "commerce.productListAdds", kT0), kT0).ok);
  }
  auto again = e.load_artifact(respelled, kT0 + kDay);
  ASSERT_TRUE(again.ok);
  EXPECT_TRUE(again.same);
  EXPECT_EQ(engine::to_json(again)["same"], true);
  ASSERT_EQ(again.transitions.size(), 1u);
  EXPECT_EQ(again.transitions[0], (segments::Transition{"abandoned-cart", true, kT0 + 30 * kMinute}));
  auto advanced = twin.advance(kT0 + kDay);
  EXPECT_EQ(engine::to_json(advanced)["transitions"], engine::to_json(again)["transitions"]);
  EXPECT_EQ(engine::to_json(advanced)["effects"], engine::to_json(again)["effects"]);
  EXPECT_EQ(e.snapshot(), twin.snapshot());

  // Another artifact is loaded; so is one that only writes a number otherwise.
  auto other = e.load_artifact(artifact("2", kAbandoned), kT0 + kDay + 1);
  ASSERT_TRUE(other.ok);
  EXPECT_FALSE(other.same);
  EXPECT_EQ(e.artifact().version, "2");
  const char* counted = R"({"id":"views","rule":{"count":{"event":{"type":"commerce.productViews"}},"op":"gte","value":1}})";
  const char* counted_float = R"({"id":"views","rule":{"count":{"event":{"type":"commerce.productViews"}},"op":"gte","value":1.0}})";
  ASSERT_TRUE(e.load_artifact(artifact("3", counted), kT0 + kDay + 2).ok);
  auto respelled_number = e.load_artifact(artifact("3", counted_float), kT0 + kDay + 3);
  ASSERT_TRUE(respelled_number.ok);
  EXPECT_FALSE(respelled_number.same);
}

TEST(Segments, AnInvalidArtifactKeepsTheOneLoaded) {
  engine::Engine e("d1");
  ASSERT_TRUE(e.load_artifact(artifact("1", kAbandoned), kT0).ok);
  auto bad = e.load_artifact(R"({"version":"2","segments":[{"id":"x","rule":{"path":"profile.a","op":"is"}}]})", kT0);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.errors.at(0).path, "$.segments[0].rule.op");
  EXPECT_EQ(e.artifact().version, "1");
  e.ingest(event("a", "commerce.productListAdds", kT0), kT0);
  EXPECT_EQ(e.advance(kT0 + kHour).transitions.size(), 1u);
}

TEST(Segments, ReloadKeepsUnchangedSegmentsAndRebuildsNewOnesFromHistory) {
  engine::Engine e("d1");
  ASSERT_TRUE(e.load_artifact(artifact("1", kAbandoned), kT0).ok);
  e.ingest(event("v1", "commerce.productViews", kT0), kT0);
  e.ingest(event("v2", "commerce.productViews", kT0 + 1000), kT0 + 1000);
  e.ingest(event("a", "commerce.productListAdds", kT0 + 2000), kT0 + 2000);
  e.advance(kT0 + kHour);
  ASSERT_TRUE(e.artifact().segments.size() == 1);
  const char* viewer = R"({"id":"viewer","rule":{"count":{"event":{"type":"commerce.productViews"},"within":"1d"},"op":"gte","value":2}})";
  auto r = e.load_artifact(artifact("2", std::string(kAbandoned) + "," + viewer), kT0 + kHour);
  ASSERT_TRUE(r.ok);
  // Only the new segment enters; the unchanged one keeps its membership silently.
  ASSERT_EQ(r.transitions.size(), 1u);
  EXPECT_EQ(r.transitions[0], (segments::Transition{"viewer", true, kT0 + kHour}));
  EXPECT_EQ(e.segments().size(), 2u);
  // Removing a segment ends its membership.
  auto removed = e.load_artifact(artifact("3", viewer), kT0 + kHour);
  ASSERT_EQ(removed.transitions.size(), 1u);
  EXPECT_EQ(removed.transitions[0], (segments::Transition{"abandoned-cart", false, kT0 + kHour}));
}

// Lapsed: at least one visit, the last one 30 days ago or more. Editing the
// threshold keeps the last visit, which the history (an hour) no longer holds.
TEST(Segments, AnEditedRuleKeepsTheStateOfTheAggregatesItStillHas) {
  auto lapsed = [](const std::string& days) {
    return R"({"id":"lapsed","rule":{"and":[{"count":{"event":{"type":"web.webpagedetails.pageViews"}},"op":"gte","value":1},)"
           R"({"since":{"event":{"type":"web.webpagedetails.pageViews"}},"op":"gte","value":")" + days + R"("}]}})";
  };
  engine::Engine e("d1");
  ASSERT_TRUE(e.load_artifact(artifact("30", lapsed("30d")), kT0).ok);
  ASSERT_TRUE(e.ingest(event("pv", "web.webpagedetails.pageViews", kT0), kT0).ok);
  auto realized = e.advance(kT0 + 32 * kDay);
  ASSERT_EQ(realized.transitions.size(), 1u);
  EXPECT_EQ(realized.transitions[0], (segments::Transition{"lapsed", true, kT0 + 30 * kDay}));
  ASSERT_EQ(e.history().size(), 0u);  // the visit is long out of the history

  // 28 days: still lapsed, silently.
  auto shorter = e.load_artifact(artifact("28", lapsed("28d")), kT0 + 32 * kDay);
  ASSERT_TRUE(shorter.ok);
  EXPECT_TRUE(shorter.transitions.empty());
  ASSERT_EQ(e.segments().size(), 1u);
  // 40 days: not yet; lapsed again at 40 days after the same last visit.
  auto longer = e.load_artifact(artifact("40", lapsed("40d")), kT0 + 32 * kDay);
  ASSERT_EQ(longer.transitions.size(), 1u);
  EXPECT_EQ(longer.transitions[0], (segments::Transition{"lapsed", false, kT0 + 32 * kDay}));
  EXPECT_EQ(e.next_deadline(), kT0 + 40 * kDay);
  // An aggregate the old rules did not have starts from the history (empty here).
  const char* ever = R"({"id":"ever","rule":{"count":{"event":{"type":"web.webpagedetails.productViews"}},"op":"gte","value":1}})";
  auto added = e.load_artifact(artifact("41", lapsed("40d") + "," + ever), kT0 + 32 * kDay);
  ASSERT_TRUE(added.ok);
  EXPECT_TRUE(added.transitions.empty());
}

// A segment added later is rebuilt from the history: its sum
// reads the events' fields and its `where` their items, as a segment that saw
// the events live did.
TEST(Segments, ARebuiltSegmentReadsTheHistorysEventsAsTheLiveOneDid) {
  auto spender = [](const std::string& id) {
    return R"({"id":")" + id + R"(","rule":{"sum":{"event":{"type":"commerce.purchases","where":{"path":"event.productListItems[].productCategory","op":"eq","value":"shoes"}},"field":"event.commerce.order.priceTotal","within":"1d"},"op":"gte","value":100}})";
  };
  auto purchase = [](const std::string& id, const std::string& category, int total, TimeMs ts) {
    return R"({"_id":")" + id + R"(","eventType":"commerce.purchases","timestamp":")" + format_iso8601(ts) +
           R"(","commerce":{"order":{"priceTotal":)" + std::to_string(total) +
           R"(}},"productListItems":[{"SKU":"s1","productCategory":")" + category + R"("}]})";
  };
  engine::Engine e("d1");
  ASSERT_TRUE(e.load_artifact(artifact("1", spender("live")), kT0).ok);
  ASSERT_TRUE(e.ingest(purchase("p1", "shoes", 60, kT0), kT0).ok);
  ASSERT_TRUE(e.ingest(purchase("p2", "hats", 500, kT0 + kMinute), kT0 + kMinute).ok);  // not shoes
  auto live = e.ingest(purchase("p3", "shoes", 45, kT0 + 2 * kMinute), kT0 + 2 * kMinute);
  ASSERT_EQ(live.transitions.size(), 1u);  // 60 + 45 of shoes
  // Two new segments at once, rebuilt in one pass over the history: one
  // qualifies as the live one did, the other (a higher total) does not.
  std::string higher = spender("big");
  higher.replace(higher.find(R"("value":100)"), 11, R"("value":106)");
  auto r = e.load_artifact(artifact("2", spender("live") + "," + spender("rebuilt") + "," + higher), kT0 + kHour);
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.transitions.size(), 1u);
  EXPECT_EQ(r.transitions[0], (segments::Transition{"rebuilt", true, kT0 + kHour}));
}

TEST(Segments, ManyDeadlinesBetweenTwoCallsComeOutInTimeOrder) {
  std::string segs;
  for (int i = 1; i <= 20; ++i) {
    if (i > 1) segs += ",";
    segs += R"({"id":"quiet-)" + std::to_string(i) + R"(","rule":{"since":{"event":{"type":"web.webpagedetails.pageViews"}},"op":"gte","value":")" +
            std::to_string(21 - i) + R"(m"}})";
  }
  engine::Engine e("d1");
  ASSERT_TRUE(e.load_artifact(artifact("1", segs), kT0).ok);
  e.ingest(event("v", "web.webpagedetails.pageViews", kT0), kT0);
  auto r = e.advance(kT0 + kDay);
  ASSERT_EQ(r.transitions.size(), 20u);
  for (size_t i = 0; i < r.transitions.size(); ++i) {
    EXPECT_EQ(r.transitions[i].at, kT0 + static_cast<TimeMs>(i + 1) * kMinute);
    EXPECT_EQ(r.transitions[i].segment, "quiet-" + std::to_string(20 - i));
  }
  EXPECT_FALSE(e.next_deadline().has_value());
}

TEST(Segments, ProfileAttributesQualifyAndSegmentsOfSegmentsFollow) {
  const char* gold = R"({"id":"gold","rule":{"path":"profile.tier","op":"eq","value":"gold"}})";
  const char* gold_cart = R"({"id":"gold-cart","rule":{"and":[{"segment":"gold"},{"segment":"abandoned-cart"}]}})";
  engine::Engine e("d1");
  ASSERT_TRUE(e.load_artifact(artifact("1", std::string(gold_cart) + "," + kAbandoned + "," + gold), kT0).ok);
  e.ingest(event("a", "commerce.productListAdds", kT0), kT0);
  auto q = e.advance(kT0 + 31 * kMinute);
  ASSERT_EQ(q.transitions.size(), 1u);
  auto g = e.set_attributes(R"({"tier":"gold"})", kT0 + kHour);
  ASSERT_EQ(g.transitions.size(), 2u);
  EXPECT_EQ(g.transitions[0], (segments::Transition{"gold", true, kT0 + kHour}));
  EXPECT_EQ(g.transitions[1], (segments::Transition{"gold-cart", true, kT0 + kHour}));
  auto bad = e.set_attributes("[1]", kT0 + kHour);
  EXPECT_FALSE(bad.ok);
}

}  // namespace
}  // namespace rekindle
