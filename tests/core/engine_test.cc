#include "core/engine/engine.h"

#include <gtest/gtest.h>

#include "tests/core/error_matchers.h"

namespace rekindle::engine {
namespace {

constexpr const char* kEvent =
    R"({"_id":"e1","eventType":"commerce.productListAdds","timestamp":"2026-12-04T15:53:00Z"})";

TEST(Engine, IngestsAndIgnoresDuplicates) {
  Engine engine;
  auto first = engine.ingest(kEvent, 1796399580000);
  EXPECT_TRUE(first.ok);
  EXPECT_FALSE(first.duplicate);
  EXPECT_EQ(first.event_id, "e1");
  auto again = engine.ingest(kEvent, 1796399581000);
  EXPECT_TRUE(again.ok);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(engine.accepted(), 1u);
  EXPECT_EQ(engine.duplicates(), 1u);
}

TEST(Engine, ReturnsErrorsAsValues) {
  Engine engine;
  auto r = engine.ingest("{not json", 0);
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.errors.size(), 1u);
  auto j = to_json(r);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["errors"][0]["path"], "$");
  EXPECT_EQ(engine.accepted(), 0u);
}

TEST(Engine, ResultsAreWrittenAsJsonTextWithEveryField) {
  Engine engine;
  const std::string text = to_text(engine.ingest(kEvent, 1796399580000));
  auto ok = nlohmann::json::parse(text, nullptr, false);
  EXPECT_EQ(rekindle::dump(ok), text) << "the keys in dump()'s order";
  EXPECT_EQ(ok, (nlohmann::json{{"ok", true}, {"errors", nlohmann::json::array()},
                                {"transitions", nlohmann::json::array()}, {"effects", nlohmann::json::array()},
                                {"duplicate", false}, {"late", false}, {"eventId", "e1"}}));
  // Text that JSON escapes, in a reason: quotes, a backslash, a control character.
  auto bad = engine.ingest(R"({"_id":"e\"2\n","eventType":7,"timestamp":"2026-12-04T15:53:00Z"})", 1796399580000);
  ASSERT_FALSE(bad.ok);
  auto j = nlohmann::json::parse(to_text(bad), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << to_text(bad);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["errors"].size(), bad.errors.size());
  EXPECT_EQ(j["errors"][0]["reason"], bad.errors[0].reason);
  auto load = nlohmann::json::parse(to_text(engine.load_artifact(R"({"version":"1"})", 1796399580000)), nullptr, false);
  EXPECT_EQ(load["same"], false);
  const std::string load_text = to_text(engine.load_artifact(R"({"version":"2"})", 1796399580000));
  EXPECT_EQ(rekindle::dump(nlohmann::json::parse(load_text, nullptr, false)), load_text);
  EXPECT_EQ(load["ok"], true);
}

std::vector<std::string> member_ids(const Engine& engine) {
  std::vector<std::string> ids;
  for (const auto& m : engine.segments()) ids.push_back(m.segment);
  return ids;
}

std::string offer_in(Engine& engine, const char* placement, TimeMs now) {
  auto d = engine.decide(placement, now);
  return d ? d->offer_id : "";
}

// Segment and eligibility rules read the profile through values looked up
// once per change (rules::ProfilePaths): every change of the attributes, of
// the artifact (other paths, other slots) and a restore must be seen.
TEST(Engine, ProfileRulesSeeEveryChangeOfTheProfileAndTheArtifact) {
  const TimeMs t0 = 1796399580000;
  const char* first = R"({"version":"1","consent":{"defaults":{"personalize":"granted"}},
    "segments":[{"id":"fr-gold","rule":{"and":[{"path":"profile.address.country","op":"eq","value":"FR"},
                                               {"path":"profile.tier","op":"in","value":["gold","platinum"]}]}}],
    "placements":[{"id":"hero"}],
    "offers":[{"id":"gold-offer","placements":["hero"],"eligibility":{"path":"profile.tier","op":"eq","value":"gold"},
               "content":{"title":"Gold"}}]})";
  const char* second = R"({"version":"2","consent":{"defaults":{"personalize":"granted"}},
    "segments":[{"id":"lyon","rule":{"path":"profile.address.city","op":"eq","value":"Lyon"}},
                {"id":"fr-gold","rule":{"and":[{"path":"profile.address.country","op":"eq","value":"FR"},
                                               {"path":"profile.tier","op":"in","value":["gold","platinum"]}]}}],
    "placements":[{"id":"hero"}],
    "offers":[{"id":"rich-offer","placements":["hero"],"eligibility":{"path":"profile.stats.spend","op":"gt","value":100},
               "content":{"title":"Rich"}}]})";
  Engine engine("device-1");
  ASSERT_TRUE(engine.load_artifact(first, t0).ok);
  EXPECT_EQ(member_ids(engine), std::vector<std::string>{});
  EXPECT_EQ(offer_in(engine, "hero", t0), "");
  ASSERT_TRUE(engine.set_attributes(R"({"tier":"gold","address":{"country":"FR"}})", t0 + 1).ok);
  EXPECT_EQ(member_ids(engine), std::vector<std::string>{"fr-gold"});
  EXPECT_EQ(offer_in(engine, "hero", t0 + 1), "gold-offer");
  ASSERT_TRUE(engine.set_attributes(R"({"tier":"silver"})", t0 + 2).ok);
  EXPECT_EQ(member_ids(engine), std::vector<std::string>{});
  EXPECT_EQ(offer_in(engine, "hero", t0 + 2), "");
  ASSERT_TRUE(engine.set_attributes(R"({"tier":"platinum","address":{"city":"Lyon"}})", t0 + 3).ok);
  EXPECT_EQ(member_ids(engine), std::vector<std::string>{"fr-gold"});
  EXPECT_EQ(offer_in(engine, "hero", t0 + 3), "");

  // Other paths in other slots: the city is now slot 0.
  ASSERT_TRUE(engine.load_artifact(second, t0 + 4).ok);
  EXPECT_EQ(member_ids(engine), (std::vector<std::string>{"lyon", "fr-gold"}));
  EXPECT_EQ(offer_in(engine, "hero", t0 + 4), "");
  ASSERT_TRUE(engine.set_attributes(R"({"stats":{"spend":150},"address":{"country":"DE"}})", t0 + 5).ok);
  EXPECT_EQ(member_ids(engine), std::vector<std::string>{"lyon"});
  EXPECT_EQ(offer_in(engine, "hero", t0 + 5), "rich-offer");

  // A restored engine reads its own profile, and sees its later changes.
  Engine restored("device-1");
  ASSERT_TRUE(restored.load_artifact(second, t0 + 6).ok);
  ASSERT_TRUE(restored.restore(engine.snapshot()).ok);
  EXPECT_EQ(offer_in(restored, "hero", t0 + 6), "rich-offer");
  ASSERT_TRUE(restored.set_attributes(R"({"stats":{"spend":null},"address":{"city":"Paris"}})", t0 + 7).ok);
  EXPECT_EQ(member_ids(restored), std::vector<std::string>{});
  EXPECT_EQ(offer_in(restored, "hero", t0 + 7), "");
  EXPECT_EQ(offer_in(engine, "hero", t0 + 7), "rich-offer");
}

Condition compiled(const char* text) {
  Errors errors;
  auto c = Condition::compile(text, errors);
  EXPECT_TRUE(c) << describe(errors);
  return c ? std::move(*c) : *Condition::compile("{\"segment\":\"never\"}", errors);
}

// A host's condition reads the attributes and the memberships as the engine
// holds them after each call, through its own profile paths (looked up again
// after every change), only with consent to personalize, and one condition
// serves several engines.
TEST(Engine, TestsAConditionAgainstTheProfileAndTheMemberships) {
  const TimeMs t0 = 1796399580000;
  const char* artifact = R"({"version":"1","consent":{"defaults":{"personalize":"granted"}},
    "segments":[{"id":"carted","rule":{"count":{"event":{"type":"commerce.productListAdds"}},"op":"gte","value":1}}]})";
  Condition gold_fr = compiled(R"({"and":[{"path":"profile.tier","op":"in","value":["gold","platinum"]},
                                           {"path":"profile.address.country","op":"eq","value":"FR"}]})");
  Condition carted_or_big = compiled(R"({"or":[{"segment":"carted"},{"path":"profile.stats.spend","op":"gt","value":100}]})");
  Condition unknown_segment = compiled(R"({"segment":"no-such-segment"})");

  Engine engine("device-1");
  EXPECT_FALSE(engine.test(gold_fr));  // no consent yet: the defaults come with the artifact
  ASSERT_TRUE(engine.load_artifact(artifact, t0).ok);
  EXPECT_FALSE(engine.test(gold_fr));
  EXPECT_FALSE(engine.test(carted_or_big));
  ASSERT_TRUE(engine.set_attributes(R"({"tier":"gold","address":{"country":"FR"}})", t0 + 1).ok);
  EXPECT_TRUE(engine.test(gold_fr));
  ASSERT_TRUE(engine.set_attributes(R"({"address":{"country":"DE"}})", t0 + 2).ok);
  EXPECT_FALSE(engine.test(gold_fr));
  ASSERT_TRUE(engine.set_attributes(R"({"tier":"platinum","address":{"country":"FR"}})", t0 + 3).ok);
  EXPECT_TRUE(engine.test(gold_fr));

  EXPECT_FALSE(engine.test(carted_or_big));
  ASSERT_TRUE(engine.ingest(kEvent, t0 + 4).ok);
  EXPECT_TRUE(engine.test(carted_or_big));
  EXPECT_FALSE(engine.test(unknown_segment));

  ASSERT_TRUE(engine.set_consent(R"({"personalize":"denied"})", t0 + 5).ok);
  EXPECT_FALSE(engine.test(gold_fr));
  EXPECT_FALSE(engine.test(carted_or_big));
  ASSERT_TRUE(engine.set_consent(R"({"personalize":"granted"})", t0 + 6).ok);
  EXPECT_TRUE(engine.test(gold_fr));

  // Another engine, and a restored one, with the same conditions.
  Engine other("device-2");
  ASSERT_TRUE(other.load_artifact(artifact, t0).ok);
  EXPECT_FALSE(other.test(gold_fr));
  ASSERT_TRUE(other.set_attributes(R"({"stats":{"spend":250}})", t0 + 1).ok);
  EXPECT_TRUE(other.test(carted_or_big));
  EXPECT_FALSE(other.test(gold_fr));
  EXPECT_TRUE(engine.test(gold_fr));
  ASSERT_TRUE(other.restore(engine.snapshot()).ok);
  EXPECT_TRUE(other.test(gold_fr));
  ASSERT_TRUE(other.set_attributes(R"({"tier":"silver"})", t0 + 7).ok);
  EXPECT_FALSE(other.test(gold_fr));
  EXPECT_TRUE(engine.test(gold_fr));
}

TEST(Engine, RefusesAnInvalidConditionNamingEachProblem) {
  Errors errors;
  EXPECT_FALSE(Condition::compile("{\"and\":[", errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "$");
  errors.clear();
  EXPECT_FALSE(Condition::compile(R"({"and":[{"path":"profile.tier","op":"bigger","value":1},{"path":"tier","op":"eq","value":1}]})", errors));
  EXPECT_TRUE(has_error(errors, "$.and[0].op", "bigger")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.and[1].path", "")) << describe(errors);
  errors.clear();
  EXPECT_FALSE(Condition::compile(R"({"and":[{"count":{"event":{"type":"commerce.purchases"}},"op":"gte","value":1}]})", errors));
  EXPECT_TRUE(has_error(errors, "$.and[0].count", "belong in a segment")) << describe(errors);
  errors.clear();
  EXPECT_FALSE(Condition::compile(std::string(20000, ' ') + "true", errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "$");
}

TEST(Engine, HasAVersion) { EXPECT_STREQ(Engine::version(), "0.1.0"); }

}  // namespace
}  // namespace rekindle::engine
