#include "core/profile/history.h"

#include <gtest/gtest.h>

#include "tests/core/error_matchers.h"

#include <limits>
#include <string>
#include <vector>

#include "core/common/json_depth.h"

namespace rekindle::profile {
namespace {

using nlohmann::json;

constexpr TimeMs kT0 = 1796399580000;  // 2026-12-04T15:53:00Z

event::Event make(const std::string& id, TimeMs ts, std::string_view type = event::types::kPageView) {
  json body = {{"_id", id}, {"eventType", type}, {"timestamp", format_iso8601(ts)}};
  auto parsed = event::from_json(body);
  EXPECT_TRUE(parsed.ok()) << id;
  return parsed.ok() ? *parsed.event : event::Event{};
}

std::vector<std::string> ids(const History& h) {
  std::vector<std::string> out;
  for (const auto& ev : h.events()) out.push_back(ev.id);
  return out;
}

size_t body_bytes(const event::Event& ev) { return dump(ev.body).size(); }

// The snapshot text, checked to be what dump() writes for the value it holds.
json snapshot_of(const History& h) {
  std::string text = "[1,";  // write() appends
  h.write(text);
  text += ']';
  json parsed = json::parse(text, nullptr, false);
  EXPECT_FALSE(parsed.is_discarded()) << text;
  if (parsed.is_discarded()) return nullptr;
  EXPECT_EQ(dump(parsed), text);
  return parsed[1];
}


using Ids = std::vector<std::string>;

TEST(HistoryInsert, KeepsTimestampOrderAndIsStableForTies) {
  History h;
  EXPECT_TRUE(h.insert(make("b", kT0 + 10)));
  EXPECT_TRUE(h.insert(make("c", kT0 + 20)));
  EXPECT_TRUE(h.insert(make("a", kT0)));            // late, goes first
  EXPECT_TRUE(h.insert(make("b2", kT0 + 10)));      // equal time: after "b"
  EXPECT_TRUE(h.insert(make("b3", kT0 + 10)));
  EXPECT_EQ(ids(h), (Ids{"a", "b", "b2", "b3", "c"}));
  EXPECT_EQ(h.latest(), kT0 + 20);
}

TEST(HistoryInsert, RefusesADuplicateIdWithoutChangingAnything) {
  History h;
  ASSERT_TRUE(h.insert(make("e-1", kT0)));
  size_t bytes = h.bytes();
  EXPECT_FALSE(h.insert(make("e-1", kT0 + 5, event::types::kPurchase)));
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.bytes(), bytes);
  EXPECT_EQ(h.events()[0].type, event::types::kPageView);
  EXPECT_TRUE(h.contains("e-1"));
  EXPECT_FALSE(h.contains("e-2"));
}

TEST(HistoryInsert, CountsTheBytesOfEachBody) {
  History h;
  EXPECT_EQ(h.bytes(), 0u);
  EXPECT_EQ(h.latest(), std::nullopt);
  auto a = make("a", kT0);
  auto b = make("bbbbbbbbbbbbbbbb", kT0 + 1, event::types::kCartAdd);
  size_t expected = body_bytes(a) + body_bytes(b);
  h.insert(a);
  h.insert(b);
  EXPECT_EQ(h.bytes(), expected);
}

TEST(HistoryPrune, ExpiresEventsOlderThanTheRetention) {
  History h(HistoryLimits{100, 1 << 20, 30 * kMinute});
  h.insert(make("old", kT0));
  h.insert(make("edge", kT0 + 10 * kMinute));
  h.insert(make("new", kT0 + 40 * kMinute));
  h.prune(kT0 + 40 * kMinute);  // cutoff kT0 + 10m: "edge" is not older, so it stays
  EXPECT_EQ(ids(h), (Ids{"edge", "new"}));
  EXPECT_EQ(h.expired(), 1u);
  EXPECT_EQ(h.dropped(), 0u);
  EXPECT_FALSE(h.contains("old"));
  EXPECT_EQ(h.bytes(), body_bytes(h.events()[0]) + body_bytes(h.events()[1]));
  // The id can come back once it has left the history.
  EXPECT_TRUE(h.insert(make("old", kT0 + 41 * kMinute)));
}

TEST(HistoryPrune, DropsTheOldestPastTheCountOrByteLimit) {
  History h(HistoryLimits{3, 1 << 20, kDay});
  for (int i = 0; i < 5; ++i) h.insert(make("e" + std::to_string(i), kT0 + i));
  EXPECT_EQ(h.size(), 5u);  // insert alone does not enforce
  h.prune(kT0 + 10);
  EXPECT_EQ(ids(h), (Ids{"e2", "e3", "e4"}));
  EXPECT_EQ(h.dropped(), 2u);
  EXPECT_EQ(h.expired(), 0u);

  size_t two = body_bytes(h.events()[1]) + body_bytes(h.events()[2]);
  h.set_limits(HistoryLimits{3, two, kDay});  // applies at once
  EXPECT_EQ(ids(h), (Ids{"e3", "e4"}));
  EXPECT_EQ(h.bytes(), two);
  EXPECT_EQ(h.dropped(), 3u);

  h.set_limits(HistoryLimits{3, 0, kDay});
  EXPECT_EQ(h.size(), 0u);
  EXPECT_EQ(h.bytes(), 0u);
  EXPECT_EQ(h.latest(), std::nullopt);
}

TEST(HistoryPrune, ExpiryIsCountedBeforeTheSizeLimits) {
  History h(HistoryLimits{1, 1 << 20, kMinute});
  h.insert(make("stale", kT0));
  h.insert(make("a", kT0 + 2 * kMinute));
  h.insert(make("b", kT0 + 3 * kMinute));
  h.prune(kT0 + 3 * kMinute);
  EXPECT_EQ(ids(h), Ids{"b"});
  EXPECT_EQ(h.expired(), 1u);
  EXPECT_EQ(h.dropped(), 1u);
}

TEST(HistoryPrune, ExtremeRetentionsDoNotOverflow) {
  History h(HistoryLimits{10, 1 << 20, std::numeric_limits<DurationMs>::max()});
  h.insert(make("a", 0));
  h.prune(kT0);
  EXPECT_EQ(h.size(), 1u);
  h.set_limits(HistoryLimits{10, 1 << 20, -5});  // treated as 0
  h.prune(kT0);
  EXPECT_EQ(h.size(), 0u);
}

TEST(HistorySnapshot, RoundTrips) {
  History h(HistoryLimits{50, 1 << 16, 2 * kHour});
  h.insert(make("b", kT0 + 1, event::types::kCartAdd));
  h.insert(make("a", kT0));
  h.insert(make("x", kT0 - 3 * kHour));
  h.prune(kT0);
  json snapshot = snapshot_of(h);
  EXPECT_EQ(snapshot["limits"], (json{{"maxEvents", 50}, {"maxBytes", 1 << 16}, {"retentionMs", 2 * kHour}}));
  EXPECT_EQ(snapshot["expired"], 1);
  EXPECT_EQ(snapshot["events"].size(), 2u);

  Errors errors;
  auto back = History::from_json(json::parse(dump(snapshot), nullptr, false), errors);
  ASSERT_TRUE(back) << describe(errors);
  EXPECT_EQ(back->limits(), h.limits());
  EXPECT_EQ(ids(*back), (Ids{"a", "b"}));
  EXPECT_EQ(back->bytes(), h.bytes());
  EXPECT_EQ(back->expired(), 1u);
  EXPECT_EQ(back->dropped(), 0u);
  EXPECT_TRUE(back->contains("b"));
  EXPECT_EQ(back->events()[1].type, event::types::kCartAdd);
  EXPECT_EQ(snapshot_of(*back), snapshot);
}

TEST(HistorySnapshot, TrimsASnapshotHeldOverItsLimits) {
  History h(HistoryLimits{10, 1 << 20, kHour});
  for (int i = 0; i < 4; ++i) h.insert(make("e" + std::to_string(i), kT0 + i));
  json snapshot = snapshot_of(h);
  snapshot["limits"]["maxEvents"] = 2;
  Errors errors;
  auto back = History::from_json(snapshot, errors);
  ASSERT_TRUE(back) << describe(errors);
  EXPECT_EQ(ids(*back), (Ids{"e2", "e3"}));
  EXPECT_EQ(back->dropped(), 2u);
}

TEST(HistorySnapshot, ReportsProblemsWithPaths) {
  json bad_event = {{"_id", "e-2"}, {"eventType", 5}, {"timestamp", "2026-12-04T15:53:00Z"}};
  json good = make("e-1", kT0).body;
  json snapshot = {{"limits", {{"maxEvents", -1}, {"maxBytes", "big"}, {"ttl", 1}}},
                   {"expired", 1.5},
                   {"surprise", true},
                   {"events", {good, bad_event, good, "text"}}};
  Errors errors;
  EXPECT_FALSE(History::from_json(snapshot, errors));
  EXPECT_TRUE(has_error(errors, "$.limits.maxEvents", "non-negative integer")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.limits.maxBytes", "non-negative integer, not string")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.limits.retentionMs", "is required")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.limits.ttl", "is not a known field")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.expired", "non-negative integer")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.dropped", "is required")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.surprise", "is not a known field")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.events[1].eventType", "must be a string")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.events[2]._id", "duplicates")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.events[3]", "must be an object")) << describe(errors);
  EXPECT_EQ(errors.size(), 10u) << describe(errors);

  errors.clear();
  EXPECT_FALSE(History::from_json(json::array(), errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "$");
}

}  // namespace
}  // namespace rekindle::profile
