#include "core/consent/consent.h"

#include <gtest/gtest.h>

#include "tests/core/error_matchers.h"

#include <string>

namespace rekindle::consent {
namespace {

using nlohmann::json;


TEST(ConsentState, NamesRoundTrip) {
  for (State s : {State::kGranted, State::kDenied, State::kPending})
    EXPECT_EQ(parse_state(to_string(s)), s);
  EXPECT_EQ(parse_state("Granted"), std::nullopt);
  EXPECT_EQ(parse_state(""), std::nullopt);
  EXPECT_EQ(parse_state("yes"), std::nullopt);
}

TEST(ConsentState, KnowsExactlyTheFivePurposes) {
  for (auto p : kKnownPurposes) EXPECT_TRUE(is_known_purpose(p)) << p;
  EXPECT_FALSE(is_known_purpose(""));
  EXPECT_FALSE(is_known_purpose("marketing"));
  EXPECT_FALSE(is_known_purpose("marketing.fax"));
  EXPECT_FALSE(is_known_purpose("Analytics"));
  // Changes are reported in this order, so it must be sorted.
  for (size_t i = 1; i < kKnownPurposes.size(); ++i)
    EXPECT_LT(kKnownPurposes[i - 1], kKnownPurposes[i]);
}

TEST(Consent, StartsPendingAndNeverGrantsUnknownPurposes) {
  Consent c;
  for (auto p : kKnownPurposes) {
    EXPECT_EQ(c.get(p), State::kPending) << p;
    EXPECT_FALSE(c.granted(p)) << p;
  }
  EXPECT_EQ(c.get("marketing.fax"), State::kDenied);
  EXPECT_EQ(c.get(""), State::kDenied);
  EXPECT_FALSE(c.granted("marketing.fax"));
}

TEST(Consent, DefaultsApplyToUndecidedPurposes) {
  Consent c;
  ASSERT_TRUE(c.set_defaults({{"personalize", "granted"}, {"analytics", "denied"}},
                             "$.consent.defaults")
                  .empty());
  EXPECT_TRUE(c.granted("personalize"));
  EXPECT_EQ(c.get("analytics"), State::kDenied);
  EXPECT_EQ(c.get("marketing.email"), State::kPending);

  // A new artifact replaces the defaults: omitted purposes go back to pending.
  ASSERT_TRUE(c.set_defaults({{"marketing.email", "granted"}}, "$.consent.defaults").empty());
  EXPECT_EQ(c.get("personalize"), State::kPending);
  EXPECT_EQ(c.get("analytics"), State::kPending);
  EXPECT_TRUE(c.granted("marketing.email"));

  // The visitor's decision outranks any later default.
  ASSERT_TRUE(c.set({{"marketing.email", "denied"}}, 1000).errors.empty());
  ASSERT_TRUE(c.set_defaults({{"marketing.email", "granted"}}, "$.consent.defaults").empty());
  EXPECT_EQ(c.get("marketing.email"), State::kDenied);
  EXPECT_TRUE(c.set_defaults(json::object(), "$.consent.defaults").empty());
}

TEST(Consent, InvalidDefaultsAreReportedWithPathsAndNotApplied) {
  Consent c;
  ASSERT_TRUE(c.set_defaults({{"personalize", "granted"}}, "$.consent.defaults").empty());
  Errors errors = c.set_defaults({{"analytics", "granted"},
                                  {"marketing.fax", "granted"},
                                  {"marketing.sms", "maybe"},
                                  {"marketing.push", true}},
                                 "$.consent.defaults");
  EXPECT_EQ(errors.size(), 3u) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.consent.defaults[\"marketing.fax\"]", "not a known consent"))
      << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.consent.defaults[\"marketing.sms\"]", "\"granted\""))
      << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.consent.defaults[\"marketing.push\"]", "\"granted\""))
      << describe(errors);
  // All or nothing: the previous defaults stay.
  EXPECT_TRUE(c.granted("personalize"));
  EXPECT_EQ(c.get("analytics"), State::kPending);

  errors = c.set_defaults(json::array({"analytics"}), "$.consent.defaults");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], (Error{"$.consent.defaults", "must be an object, not array"}));
}

TEST(Consent, SetReportsOnlyEffectiveChangesInPurposeOrder) {
  Consent c;
  ASSERT_TRUE(c.set_defaults({{"personalize", "granted"}}, "$.consent.defaults").empty());
  auto r = c.set({{"personalize", "granted"},
                  {"marketing.sms", "denied"},
                  {"marketing.email", "granted"},
                  {"analytics", "granted"}},
                 5000);
  ASSERT_TRUE(r.errors.empty()) << describe(r.errors);
  // personalize was already granted by default: decided now, but not a change.
  std::vector<Change> want = {{"analytics", State::kPending, State::kGranted, 5000},
                              {"marketing.email", State::kPending, State::kGranted, 5000},
                              {"marketing.sms", State::kPending, State::kDenied, 5000}};
  EXPECT_EQ(r.changes, want);

  // Same decisions again: nothing changes.
  r = c.set({{"analytics", "granted"}, {"marketing.sms", "denied"}}, 6000);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_TRUE(r.changes.empty());

  r = c.set({{"marketing.email", "denied"}}, 7000);
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_EQ(r.changes[0], (Change{"marketing.email", State::kGranted, State::kDenied, 7000}));
  EXPECT_FALSE(c.granted("marketing.email"));
  EXPECT_TRUE(c.set(json::object(), 8000).changes.empty());
}

TEST(Consent, PendingWithdrawsTheDecisionSoTheDefaultAppliesAgain) {
  Consent c;
  ASSERT_TRUE(c.set_defaults({{"personalize", "granted"}}, "$.consent.defaults").empty());
  ASSERT_EQ(c.set({{"personalize", "denied"}}, 1000).changes.size(), 1u);
  auto r = c.set({{"personalize", "pending"}, {"analytics", "pending"}}, 2000);
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_EQ(r.changes[0], (Change{"personalize", State::kDenied, State::kGranted, 2000}));
  EXPECT_EQ(c.to_json()["personalize"]["decided"], false);
}

TEST(Consent, InvalidDecisionsAreReportedAndNothingIsApplied) {
  Consent c;
  auto r = c.set({{"marketing.email", "granted"},
                  {"marketing.fax", "granted"},
                  {"analytics", "GRANTED"},
                  {"odd key", nullptr}},
                 1000);
  EXPECT_TRUE(r.changes.empty());
  EXPECT_EQ(r.errors.size(), 3u) << describe(r.errors);
  EXPECT_TRUE(has_error(r.errors, "$[\"marketing.fax\"]", "not a known consent purpose"));
  EXPECT_TRUE(has_error(r.errors, "$.analytics", "must be \"granted\", \"denied\" or \"pending\""));
  EXPECT_TRUE(has_error(r.errors, "$[\"odd key\"]", "not a known consent purpose"));
  EXPECT_EQ(c.get("marketing.email"), State::kPending);

  for (const json& bad : {json(nullptr), json("granted"), json::array(), json(1)}) {
    r = c.set(bad, 1000);
    ASSERT_EQ(r.errors.size(), 1u) << bad;
    EXPECT_EQ(r.errors[0].path, "$");
  }
}

TEST(Consent, ChangeSerializes) {
  EXPECT_EQ(to_json(Change{"marketing.sms", State::kPending, State::kDenied, 42}),
            (json{{"purpose", "marketing.sms"}, {"from", "pending"}, {"to", "denied"},
                  {"at", 42}}));
}

TEST(Consent, SnapshotRoundTripsEffectiveStates) {
  Consent c;
  ASSERT_TRUE(c.set_defaults({{"personalize", "granted"}, {"analytics", "denied"}}, "$").empty());
  auto set = c.set({{"marketing.email", "granted"}, {"marketing.sms", "denied"}}, 1234);
  ASSERT_TRUE(set.errors.empty());
  json snap = c.to_json();
  EXPECT_EQ(snap["marketing.email"], (json{{"state", "granted"}, {"decided", true}, {"at", 1234}}));
  EXPECT_EQ(snap["personalize"], (json{{"state", "granted"}, {"decided", false}, {"at", 0}}));
  EXPECT_EQ(snap["marketing.push"], (json{{"state", "pending"}, {"decided", false}, {"at", 0}}));

  Errors errors;
  auto back = Consent::from_json(json::parse(snap.dump()), errors);
  ASSERT_TRUE(back) << describe(errors);
  EXPECT_EQ(back->to_json(), snap);
  for (auto p : kKnownPurposes) EXPECT_EQ(back->get(p), c.get(p)) << p;
  // Restored undecided states act as defaults until the artifact's are set again.
  ASSERT_TRUE(back->set_defaults(json::object(), "$").empty());
  EXPECT_EQ(back->get("personalize"), State::kPending);
  EXPECT_TRUE(back->granted("marketing.email"));

  // Purposes missing from a snapshot are pending.
  auto partial = Consent::from_json(json::object(), errors);
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->get("analytics"), State::kPending);
}

TEST(Consent, SnapshotErrorsHavePaths) {
  Errors errors;
  json bad = {{"analytics", {{"state", "yes"}, {"decided", "no"}}},
              {"marketing.fax", {{"state", "granted"}, {"decided", true}, {"at", 1}}},
              {"personalize", "granted"},
              {"marketing.sms", {{"state", "denied"}, {"decided", true}, {"at", -1.5}}}};
  EXPECT_FALSE(Consent::from_json(bad, errors));
  EXPECT_TRUE(has_error(errors, "$.analytics.state", "must be")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.analytics.decided", "boolean")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.analytics.at", "integer")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$[\"marketing.fax\"]", "not a known")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.personalize", "must be an object")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$[\"marketing.sms\"].at", "integer")) << describe(errors);
  EXPECT_EQ(errors.size(), 6u) << describe(errors);

  errors.clear();
  EXPECT_FALSE(Consent::from_json(json("granted"), errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "$");
  errors.clear();
  json huge = {{"analytics", {{"state", "granted"}, {"decided", true}, {"at", UINT64_MAX}}}};
  EXPECT_FALSE(Consent::from_json(huge, errors));
  EXPECT_TRUE(has_error(errors, "$.analytics.at", "integer"));
}

}  // namespace
}  // namespace rekindle::consent
