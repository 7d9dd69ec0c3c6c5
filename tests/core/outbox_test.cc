#include "core/outbox/outbox.h"

#include <gtest/gtest.h>

#include "tests/core/error_matchers.h"

#include <string>

#include "core/common/json_depth.h"

namespace rekindle::outbox {
namespace {

using nlohmann::json;

Record rec(std::string id, std::string purpose = "", json body = {{"n", 1}}) {
  return Record{std::move(id), "event", 1000, std::move(purpose), std::move(body)};
}

std::vector<std::string> ids(const std::vector<Record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.id);
  return out;
}

const auto kAll = [](const std::string&) { return true; };
const auto kNone = [](const std::string&) { return false; };


TEST(OutboxKinds, KnowsTheServerKinds) {
  for (auto k : kKnownKinds) EXPECT_TRUE(is_known_kind(k));
  EXPECT_FALSE(is_known_kind("dispatch.send"));
  EXPECT_FALSE(is_known_kind(""));
}

TEST(Outbox, AddsOnceAndCountsBodyBytes) {
  Outbox box;
  EXPECT_TRUE(box.add(rec("a")));
  EXPECT_TRUE(box.add(rec("b", "", "hello")));
  EXPECT_FALSE(box.add(rec("a", "", "different body, same id")));
  EXPECT_FALSE(box.add(rec("")));
  EXPECT_EQ(box.size(), 2u);
  EXPECT_EQ(box.bytes(), dump(json{{"n", 1}}).size() + dump(json("hello")).size());
  EXPECT_TRUE(box.contains("a"));
  EXPECT_EQ(box.pending(10, 1 << 20, kAll)[0].body, (json{{"n", 1}}));
}

TEST(Outbox, DropsOldestPastRecordLimit) {
  Outbox box(Limits{3, 1 << 20});
  for (const char* id : {"a", "b", "c", "d", "e"}) EXPECT_TRUE(box.add(rec(id)));
  EXPECT_EQ(box.size(), 3u);
  EXPECT_EQ(box.dropped(), 2u);
  EXPECT_EQ(ids(box.pending(10, 1 << 20, kAll)), (std::vector<std::string>{"c", "d", "e"}));
  // A dropped id was never sent, so it may come back.
  EXPECT_TRUE(box.add(rec("a")));
}

TEST(Outbox, DropsOldestPastByteLimitAndRefusesOversizedRecords) {
  const json body = std::string(98, 'x');  // 100 bytes serialized
  Outbox box(Limits{100, 250});
  EXPECT_TRUE(box.add(rec("a", "", body)));
  EXPECT_TRUE(box.add(rec("b", "", body)));
  EXPECT_TRUE(box.add(rec("c", "", body)));
  EXPECT_EQ(ids(box.pending(10, 1 << 20, kAll)), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(box.bytes(), 200u);
  EXPECT_EQ(box.dropped(), 1u);

  // Taking it would empty the outbox and still not fit.
  EXPECT_FALSE(box.add(rec("huge", "", std::string(300, 'x'))));
  EXPECT_EQ(box.size(), 2u);
  EXPECT_EQ(box.dropped(), 2u);
}

TEST(Outbox, PendingIsOldestFirstWithinBudgets) {
  Outbox box;
  const json body = std::string(8, 'x');  // 10 bytes serialized
  for (const char* id : {"a", "b", "c", "d"}) box.add(rec(id, "", body));
  EXPECT_EQ(ids(box.pending(2, 1000, kAll)), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ids(box.pending(10, 25, kAll)), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ids(box.pending(10, 30, kAll)), (std::vector<std::string>{"a", "b", "c"}));
  // The first record goes even when over budget, or it would never leave.
  EXPECT_EQ(ids(box.pending(10, 1, kAll)), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(box.pending(0, 1000, kAll).empty());
  EXPECT_EQ(box.size(), 4u);  // pending() only looks
}

TEST(Outbox, PendingSkipsRecordsWithoutConsent) {
  Outbox box;
  box.add(rec("a", "marketing.email"));
  box.add(rec("b"));
  box.add(rec("c", "analytics"));
  box.add(rec("d", "marketing.email"));
  auto analytics_only = [](const std::string& p) { return p == "analytics"; };
  EXPECT_EQ(ids(box.pending(10, 1 << 20, analytics_only)), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(ids(box.pending(10, 1 << 20, kNone)), (std::vector<std::string>{"b"}));
  EXPECT_EQ(ids(box.pending(10, 1 << 20, nullptr)), (std::vector<std::string>{"b"}));
  EXPECT_EQ(ids(box.pending(3, 1 << 20, kAll)), (std::vector<std::string>{"a", "b", "c"}));
  // The skipped record is not "first", so the byte budget still holds after it.
  EXPECT_EQ(ids(box.pending(1, 1, analytics_only)), (std::vector<std::string>{"b"}));
}

TEST(Outbox, AckRemovesAndRefusesReAdds) {
  Outbox box;
  for (const char* id : {"a", "b", "c"}) box.add(rec(id));
  const size_t before = box.bytes();
  EXPECT_EQ(box.ack({"a", "c", "unknown", "a", ""}), 2u);
  EXPECT_EQ(box.size(), 1u);
  EXPECT_EQ(box.bytes(), before * 1 / 3);
  EXPECT_FALSE(box.add(rec("a")));
  EXPECT_FALSE(box.add(rec("c")));
  // Acked elsewhere (another tab) before this outbox derived it.
  EXPECT_FALSE(box.add(rec("unknown")));
  EXPECT_TRUE(box.add(rec("d")));
}

TEST(Outbox, RemembersABoundedNumberOfAckedIds) {
  Outbox box;
  std::vector<std::string> acked;
  for (size_t i = 0; i <= Outbox::kRememberedIds; ++i) acked.push_back("id-" + std::to_string(i));
  EXPECT_EQ(box.ack(acked), 0u);
  EXPECT_EQ(box.to_json()["acked"].size(), Outbox::kRememberedIds);
  EXPECT_TRUE(box.add(rec("id-0")));  // forgotten: the oldest
  EXPECT_FALSE(box.add(rec("id-1")));
  EXPECT_FALSE(box.add(rec(acked.back())));
}

TEST(Outbox, CancelWithdrawsOnlyUnsentDispatches) {
  Outbox box;
  box.add(Record{"d1", "dispatch", 1, "marketing.email", {{"channel", "email"}}});
  box.add(Record{"d2", "dispatch", 2, "marketing.email", {{"channel", "email"}}});
  box.ack({"d2"});
  EXPECT_TRUE(box.cancel("d1"));
  EXPECT_EQ(box.size(), 0u);
  EXPECT_EQ(box.bytes(), 0u);
  EXPECT_FALSE(box.cancel("d1"));
  EXPECT_FALSE(box.cancel("d2"));  // already sent
  EXPECT_FALSE(box.cancel("nope"));
  // Re-deriving the cancelled dispatch must not resurrect it.
  EXPECT_FALSE(box.add(Record{"d1", "dispatch", 1, "marketing.email", {}}));
  EXPECT_TRUE(box.add(Record{"d1.cancel", "dispatch.cancel", 3, "", {{"dispatch", "d1"}}}));
}

TEST(Outbox, PurgeRemovesRecordsNeedingADeniedPurpose) {
  Outbox box;
  box.add(rec("a", "marketing.sms"));
  box.add(rec("b"));
  box.add(rec("c", "marketing.sms"));
  box.add(rec("d", "analytics"));
  EXPECT_EQ(box.purge(""), 0u);
  EXPECT_EQ(box.purge("marketing.sms"), 2u);
  EXPECT_EQ(box.purge("marketing.sms"), 0u);
  EXPECT_EQ(ids(box.pending(10, 1 << 20, kAll)), (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(box.bytes(), 2 * dump(json{{"n", 1}}).size());
  EXPECT_TRUE(box.add(rec("a", "marketing.sms")));  // purged is not sent
}

TEST(Outbox, RecordSerializes) {
  EXPECT_EQ(to_json(Record{"x", "feedback", 5, "analytics", {{"k", "v"}}}),
            (json{{"id", "x"}, {"kind", "feedback"}, {"at", 5}, {"purpose", "analytics"},
                  {"body", {{"k", "v"}}}}));
}

TEST(Outbox, SnapshotRoundTrips) {
  Outbox box(Limits{2, 1 << 20});
  box.add(rec("a"));
  box.add(rec("b", "analytics", json::array({1, 2})));
  box.add(Record{"c", "conversion", -5, "", nullptr});
  box.ack({"z"});
  json snap = box.to_json();
  EXPECT_EQ(snap["dropped"], 1);
  EXPECT_EQ(snap["acked"], json::array({"z"}));
  ASSERT_EQ(snap["records"].size(), 2u);

  Errors errors;
  auto back = Outbox::from_json(json::parse(snap.dump()), errors, Limits{2, 1 << 20});
  ASSERT_TRUE(back) << describe(errors);
  EXPECT_EQ(back->to_json(), snap);
  EXPECT_EQ(back->bytes(), box.bytes());
  EXPECT_EQ(back->pending(10, 1 << 20, kAll), box.pending(10, 1 << 20, kAll));
  EXPECT_FALSE(back->add(rec("z")));
  EXPECT_FALSE(back->add(rec("b")));

  // Restoring into smaller limits drops the oldest.
  auto small = Outbox::from_json(snap, errors, Limits{1, 1 << 20});
  ASSERT_TRUE(small);
  EXPECT_EQ(small->size(), 1u);
  EXPECT_EQ(small->dropped(), 2u);
}

TEST(Outbox, CopiesAreIndependent) {
  Outbox a;
  a.add(rec("x"));
  a.add(rec("y"));
  Outbox b = a;
  EXPECT_EQ(b.ack({"x"}), 1u);  // would corrupt `a` if b's index pointed into a's list
  EXPECT_EQ(a.size(), 2u);
  EXPECT_TRUE(a.cancel("x"));
  Outbox c;
  c = b;
  EXPECT_TRUE(c.cancel("y"));
  EXPECT_TRUE(b.contains("y"));
  Outbox moved = std::move(c);
  EXPECT_TRUE(moved.add(rec("w")));
  EXPECT_TRUE(moved.cancel("w"));
}

TEST(Outbox, SnapshotErrorsHavePaths) {
  json bad = {{"records",
               {{{"id", "a"}, {"kind", "event"}, {"at", 1}, {"body", 1}},
                {{"id", "a"}, {"kind", "event"}, {"at", 1}, {"body", 1}},
                {{"id", ""}, {"kind", "letter"}, {"at", "soon"}, {"purpose", 3}},
                "record",
                {{"id", "z"}, {"kind", "event"}, {"at", 1}, {"body", 1}}}},
              {"acked", {"z", 7}},
              {"dropped", -1},
              {"extra", true}};
  Errors errors;
  EXPECT_FALSE(Outbox::from_json(bad, errors));
  EXPECT_TRUE(has_error(errors, "$.records[1].id", "repeats")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.records[2].id", "must not be empty")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.records[2].kind", "not a known")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.records[2].at", "integer")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.records[2].purpose", "must be a string")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.records[2].body", "is required")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.records[3]", "must be an object")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.records[4].id", "acknowledged")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.acked[1]", "non-empty string")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.dropped", "non-negative")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.extra", "not a known field")) << describe(errors);
  EXPECT_EQ(errors.size(), 11u) << describe(errors);

  errors.clear();
  EXPECT_FALSE(Outbox::from_json(json::object(), errors));
  EXPECT_TRUE(has_error(errors, "$.records", "is required"));
  errors.clear();
  EXPECT_FALSE(Outbox::from_json(json::array(), errors));
  EXPECT_TRUE(has_error(errors, "$", "must be an object"));
}

TEST(Outbox, FullOutboxStaysFast) {
  // Guards the O(1) id lookup: quadratic code would take seconds here.
  Outbox box;
  std::vector<std::string> all;
  for (int i = 0; i < 20000; ++i) {
    all.push_back("r-" + std::to_string(i));
    box.add(rec(all.back()));
  }
  EXPECT_EQ(box.size(), 5000u);
  EXPECT_EQ(box.dropped(), 15000u);
  for (int i = 15000; i < 20000; ++i) EXPECT_FALSE(box.add(rec(all[i]))) << i;
  EXPECT_EQ(box.ack(all), 5000u);
  EXPECT_EQ(box.size(), 0u);
  EXPECT_EQ(box.bytes(), 0u);
}

}  // namespace
}  // namespace rekindle::outbox
