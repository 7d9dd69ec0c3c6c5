// Journey scenarios with a virtual clock over the shipped example artifact
// (examples/abandoned-cart.json): tile at qualification, email at +1 day with
// consent, SMS at +3 days, conversion ends everything at once.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <sstream>

#include "core/engine/engine.h"
#include "tests/core/error_matchers.h"

namespace rekindle {
namespace {

using nlohmann::json;

constexpr TimeMs kT0 = 1767261600000;  // 2026-01-01T10:00:00Z
constexpr TimeMs kQualified = kT0 + 30 * kMinute;

std::string example() {
  std::ifstream in(std::string(REKINDLE_SOURCE_DIR) + "/examples/abandoned-cart.json");
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string event(const std::string& id, std::string_view type, TimeMs ts, json extra = json::object()) {
  extra["_id"] = id;
  extra["eventType"] = type;
  extra["timestamp"] = format_iso8601(ts);
  return dump(extra);
}

std::vector<std::string> types(const std::vector<journeys::Effect>& effects) {
  std::vector<std::string> out;
  for (const auto& e : effects) out.push_back(e.type);
  return out;
}

const journeys::Effect* find(const std::vector<journeys::Effect>& effects, std::string_view type) {
  for (const auto& e : effects)
    if (e.type == type) return &e;
  return nullptr;
}

// Whether the split puts this profile in the holdout arm.
bool in_holdout(const std::string& profile) {
  engine::Engine e(profile);
  e.load_artifact(example(), kT0);
  e.ingest(event("a", "commerce.productListAdds", kT0), kT0);
  auto r = e.advance(kQualified);
  return find(r.effects, "offer.show") == nullptr;
}

std::string profile_in(bool holdout) {
  for (int i = 0; i < 200; ++i) {
    std::string id = "visitor-" + std::to_string(i);
    if (in_holdout(id) == holdout) return id;
  }
  ADD_FAILURE() << "no profile found in the " << (holdout ? "holdout" : "treatment") << " arm";
  return {};
}

engine::Engine started(const std::string& profile, bool email_consent) {
  engine::Engine e(profile);
  auto loaded = e.load_artifact(example(), kT0);
  EXPECT_TRUE(loaded.ok) << describe(loaded.errors);
  if (email_consent) EXPECT_TRUE(e.set_consent(R"({"marketing.email":"granted"})", kT0).ok);
  e.set_attributes(R"({"firstName":"<b>Ada</b>"})", kT0);
  e.ingest(event("add-1", "commerce.productListAdds", kT0), kT0);
  return e;
}

TEST(Journeys, TreatmentGetsTileThenEmailThenSmsAtTheirTrueTimes) {
  auto e = started(profile_in(false), true);
  // The visitor comes back four days later: everything is stamped when it was due.
  auto r = e.advance(kT0 + 4 * kDay);
  ASSERT_TRUE(r.ok);
  std::vector<std::string> expected = {"segment.realized", "journey.entered", "journey.step", "journey.step",
                                       "offer.show",       "journey.step",    "journey.step", "dispatch.request",
                                       "journey.step",     "journey.step",    "action.suppressed"};
  EXPECT_EQ(types(r.effects), expected);
  const auto* show = find(r.effects, "offer.show");
  ASSERT_TRUE(show);
  EXPECT_EQ(show->at, kQualified);
  EXPECT_EQ(show->fields["placement"], "hero");
  EXPECT_EQ(show->fields["content"]["title"], "Still thinking it over, <b>Ada</b>?");  // text: inserted with textContent
  EXPECT_NE(show->fields["content"]["html"].get<std::string>().find("&lt;b&gt;Ada&lt;/b&gt;"), std::string::npos);
  const auto* email = find(r.effects, "dispatch.request");
  ASSERT_TRUE(email);
  EXPECT_EQ(email->at, kQualified + kDay);
  EXPECT_EQ(email->fields["channel"], "email");
  EXPECT_EQ(email->fields["template"], "cart-reminder");
  EXPECT_FALSE(email->fields.contains("email")) << "a dispatch never names its recipient";
  const auto* sms = find(r.effects, "action.suppressed");
  ASSERT_TRUE(sms);
  EXPECT_EQ(sms->at, kQualified + 3 * kDay);
  EXPECT_EQ(sms->fields["reason"], "consent:marketing.sms:pending");
  // The email waits in the outbox; the suppressed SMS is recorded too.
  bool dispatch_pending = false, suppressed_recorded = false;
  for (const auto& rec : e.pending(100, 1 << 20)) {
    dispatch_pending = dispatch_pending || rec.id == email->fields["dispatch"];
    suppressed_recorded = suppressed_recorded || rec.kind == "suppressed";
  }
  EXPECT_TRUE(dispatch_pending);
  EXPECT_TRUE(suppressed_recorded);
}

TEST(Journeys, WithoutEmailConsentTheEmailIsSuppressedAndTheJourneyGoesOn) {
  auto e = started(profile_in(false), false);
  auto r = e.advance(kQualified + kDay);
  const auto* s = find(r.effects, "action.suppressed");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->fields["step"], "email");
  EXPECT_EQ(s->fields["reason"], "consent:marketing.email:pending");
  EXPECT_EQ(find(r.effects, "dispatch.request"), nullptr);
  for (const auto& rec : e.pending(100, 1 << 20)) EXPECT_NE(rec.kind, "dispatch");
  EXPECT_EQ(e.next_deadline(), kQualified + 3 * kDay);  // the SMS step is still ahead
}

TEST(Journeys, APurchaseEndsEverythingAtOnce) {
  auto e = started(profile_in(false), true);
  auto before = e.advance(kQualified + kDay + kHour);
  const auto* email = find(before.effects, "dispatch.request");
  ASSERT_TRUE(email);
  const TimeMs buy = kQualified + kDay + 2 * kHour;
  auto r = e.ingest(event("buy", "commerce.purchases", buy, {{"commerce", {{"order", {{"priceTotal", 120}}}}}}), buy);
  std::vector<std::string> expected = {"offer.withdraw", "dispatch.cancelled", "journey.converted", "segment.exited"};
  EXPECT_EQ(types(r.effects), expected);
  const auto* conv = find(r.effects, "journey.converted");
  EXPECT_EQ(conv->fields["journey"], "cart-recovery");
  EXPECT_EQ(conv->fields["arm"], "treatment");
  EXPECT_EQ(conv->fields["step"], "email");
  EXPECT_EQ(conv->fields["offer"], "cart-10");
  EXPECT_EQ(conv->fields["event"], "buy");
  EXPECT_EQ(find(r.effects, "dispatch.cancelled")->fields["dispatch"], email->fields["dispatch"]);
  // Nothing more is ever dispatched.
  auto later = e.advance(kT0 + 30 * kDay);
  EXPECT_EQ(find(later.effects, "dispatch.request"), nullptr);
  EXPECT_EQ(find(later.effects, "action.suppressed"), nullptr);
  bool cancel_recorded = false;
  for (const auto& rec : e.pending(100, 1 << 20)) {
    EXPECT_NE(rec.id, email->fields["dispatch"]) << "a cancelled dispatch must not be sent";
    cancel_recorded = cancel_recorded || rec.kind == "dispatch.cancel";
  }
  EXPECT_TRUE(cancel_recorded);
}

// An offline sale imported hours later (the server's clock has moved on)
// still ends the journey: the history keeps a journey's whole lifetime, not
// only what its segments need (30 minutes here, so an hour).
TEST(Journeys, ALatePurchaseWithinTheJourneysLifetimeStillEndsIt) {
  const char* artifact = R"({"version":"1",
    "segments":[{"id":"ac","rule":{"sequence":[{"event":{"type":"commerce.productListAdds"}},
      {"absent":{"type":"commerce.purchases"},"for":"30m"}]}}],
    "consent":{"defaults":{"marketing.email":"granted"}},
    "journeys":[{"id":"cart","entry":{"segment":"ac"},"maxDuration":"7d","goal":{"event":{"type":"commerce.purchases"}},
      "steps":[{"id":"w","wait":"1d"},{"id":"email","action":{"channel":"email","template":"cart-reminder"}}]}]})";
  engine::Engine e("v1");
  ASSERT_TRUE(e.load_artifact(artifact, kT0).ok);
  EXPECT_EQ(e.artifact().retention, 7 * kDay);
  ASSERT_TRUE(e.ingest(event("add", "commerce.productListAdds", kT0), kT0).ok);
  e.advance(kT0 + 3 * kHour);
  auto r = e.ingest(event("pos-1", "commerce.purchases", kT0 + kHour), kT0 + 3 * kHour);
  ASSERT_TRUE(r.ok) << describe(r.errors);
  EXPECT_TRUE(r.late);
  EXPECT_NE(find(r.effects, "journey.converted"), nullptr);
  // The day-1 email is never asked for.
  EXPECT_EQ(find(e.advance(kT0 + 2 * kDay).effects, "dispatch.request"), nullptr);
}

TEST(Journeys, AnAlreadySentDispatchIsNotCancelledAgain) {
  auto e = started(profile_in(false), true);
  auto r = e.advance(kQualified + kDay);
  const auto* email = find(r.effects, "dispatch.request");
  ASSERT_TRUE(email);
  e.ack({email->fields["dispatch"].get<std::string>()});
  auto bought = e.ingest(event("buy", "commerce.purchases", kQualified + kDay + 1), kQualified + kDay + 1);
  EXPECT_EQ(find(bought.effects, "dispatch.cancelled"), nullptr);
  EXPECT_TRUE(find(bought.effects, "journey.converted"));
}

TEST(Journeys, HoldoutVisitorsGetNoActionsButTheirConversionsCount) {
  auto e = started(profile_in(true), true);
  auto r = e.advance(kT0 + 4 * kDay);
  EXPECT_EQ(find(r.effects, "offer.show"), nullptr);
  EXPECT_EQ(find(r.effects, "dispatch.request"), nullptr);
  EXPECT_EQ(find(r.effects, "action.suppressed"), nullptr);
  EXPECT_TRUE(find(r.effects, "journey.entered"));
  auto bought = e.ingest(event("buy", "commerce.purchases", kT0 + 4 * kDay + 1), kT0 + 4 * kDay + 1);
  const auto* conv = find(bought.effects, "journey.converted");
  ASSERT_TRUE(conv);
  EXPECT_EQ(conv->fields["arm"], "holdout");
  EXPECT_EQ(conv->fields["offer"], "");
}

TEST(Journeys, MaximumDurationEndsTheInstanceAndWithdrawsTheTile) {
  auto e = started(profile_in(false), false);
  auto r = e.advance(kT0 + 10 * kDay);
  const auto* exit = find(r.effects, "journey.exited");
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->at, kQualified + 7 * kDay);
  EXPECT_EQ(exit->fields["reason"], "maxDuration");
  const auto* withdraw = find(r.effects, "offer.withdraw");
  ASSERT_TRUE(withdraw);
  EXPECT_EQ(withdraw->at, kQualified + 7 * kDay);
  EXPECT_FALSE(e.decide("hero", kT0 + 10 * kDay).has_value());
}

TEST(Journeys, ReentryWaitsForTheCooldown) {
  auto e = started(profile_in(false), false);
  e.advance(kQualified);
  const TimeMs buy = kQualified + kHour;
  e.ingest(event("buy", "commerce.purchases", buy), buy);
  // Abandoned again 12 hours later: inside the 1-day cooldown, no new instance.
  e.ingest(event("add-2", "commerce.productListAdds", buy + 12 * kHour), buy + 12 * kHour);
  auto soon = e.advance(buy + 12 * kHour + 30 * kMinute);
  EXPECT_TRUE(find(soon.effects, "segment.realized"));
  EXPECT_EQ(find(soon.effects, "journey.entered"), nullptr);
  // After the cooldown, a new qualification enters again, with a new instance id.
  e.ingest(event("buy-2", "commerce.purchases", buy + 13 * kHour), buy + 13 * kHour);
  e.ingest(event("add-3", "commerce.productListAdds", buy + 2 * kDay), buy + 2 * kDay);
  auto again = e.advance(buy + 2 * kDay + kHour);
  const auto* entered = find(again.effects, "journey.entered");
  ASSERT_TRUE(entered);
  EXPECT_EQ(entered->at, buy + 2 * kDay + 30 * kMinute);
}

TEST(Journeys, DecideReturnsTheJourneyTileAndTheEligibleEvergreenOffer) {
  auto e = started(profile_in(false), false);
  EXPECT_FALSE(e.decide("hero", kT0 + kMinute).has_value());
  e.advance(kQualified);
  auto hero = e.decide("hero", kQualified);
  ASSERT_TRUE(hero.has_value());
  EXPECT_EQ(e.artifact().catalog.offers[static_cast<size_t>(hero->offer)].id, "cart-10");
  EXPECT_EQ(hero->journey, "cart-recovery");
  EXPECT_FALSE(e.decide("sidebar", kQualified).has_value());
  e.ingest(event("v1", "web.webpagedetails.pageViews", kQualified + 1), kQualified + 1);
  e.ingest(event("v2", "web.webpagedetails.pageViews", kQualified + 2), kQualified + 2);
  auto side = e.decide("sidebar", kQualified + 2);
  ASSERT_TRUE(side.has_value());
  EXPECT_TRUE(side->journey.empty());
  // Without personalization consent nothing is decided.
  e.set_consent(R"({"personalize":"denied"})", kQualified + 3);
  EXPECT_FALSE(e.decide("hero", kQualified + 3).has_value());
}

TEST(Journeys, TileImpressionsAreCappedAcrossTheDay) {
  std::string art = example();
  json doc = json::parse(art);
  // A journey that shows a tile five times in a row, an hour apart.
  json steps = json::array();
  for (int i = 0; i < 5; ++i) {
    steps.push_back({{"id", "tile-" + std::to_string(i)}, {"action", {{"channel", "web"}, {"placement", "hero"}, {"offer", "cart-10"}}}});
    steps.push_back({{"id", "wait-" + std::to_string(i)}, {"wait", "1h"}});
  }
  doc["journeys"][0]["steps"] = steps;
  engine::Engine e("capped");
  ASSERT_TRUE(e.load_artifact(dump(doc), kT0).ok);
  e.ingest(event("a", "commerce.productListAdds", kT0), kT0);
  int shown = 0, capped = 0;
  for (int h = 0; h < 6; ++h) {
    auto r = e.advance(kQualified + h * kHour);
    for (const auto& eff : r.effects) {
      if (eff.type == "offer.show") {
        ++shown;
        // The page reports the impression; three a day is the cap.
        e.ingest(event("d" + std::to_string(h), "decisioning.propositionDisplay", eff.at,
                       {{"_experience", {{"decisioning", {{"propositions", {{{"id", eff.fields["proposition"]}}}}}}}}}),
                 eff.at);
      }
      if (eff.type == "action.suppressed") {
        EXPECT_EQ(eff.fields["reason"], "cap:web");
        ++capped;
      }
    }
  }
  EXPECT_EQ(shown, 3);
  EXPECT_EQ(capped, 2);
}

TEST(Journeys, TwoEnginesFedTheSameRecordsEmitTheSameEffectsAndIds) {
  const std::string profile = profile_in(false);
  auto a = started(profile, true);
  auto b = started(profile, true);
  std::vector<std::pair<std::string, TimeMs>> events = {
      {event("v1", "web.webpagedetails.pageViews", kT0 + kHour), kT0 + kHour},
      {event("add-2", "commerce.productListAdds", kT0 + 2 * kHour), kT0 + 2 * kHour},
      {event("v2", "web.webpagedetails.pageViews", kT0 + 26 * kHour), kT0 + 26 * kHour},
      {event("buy", "commerce.purchases", kT0 + 50 * kHour), kT0 + 50 * kHour},
      {event("add-3", "commerce.productListAdds", kT0 + 80 * kHour), kT0 + 80 * kHour}};
  for (size_t i = 0; i < events.size(); ++i) {
    if (i == 2) {
      // b is restored from a snapshot halfway, into a fresh engine.
      engine::Engine fresh("somebody-else");
      ASSERT_TRUE(fresh.restore(b.snapshot()).ok);
      b = std::move(fresh);
    }
    auto ra = a.ingest(events[i].first, events[i].second);
    auto rb = b.ingest(events[i].first, events[i].second);
    EXPECT_EQ(ra.effects, rb.effects) << "event " << i;
  }
  EXPECT_EQ(a.advance(kT0 + 20 * kDay).effects, b.advance(kT0 + 20 * kDay).effects);
  EXPECT_EQ(a.snapshot(), b.snapshot());
}

TEST(Journeys, InvalidJourneysAreRefusedWithPaths) {
  json doc = json::parse(example());
  doc["journeys"][0]["entry"] = {{"segment", "nope"}};
  doc["journeys"][0]["steps"][0]["split"][1]["steps"][0]["action"]["offer"] = "missing";
  doc["journeys"][0]["steps"][0]["split"][1]["steps"][1]["wait"] = "soon";
  doc["journeys"][0]["steps"][0]["split"][1]["steps"][2]["action"]["channel"] = "fax";
  doc["caps"][0]["per"] = 3;
  doc["consent"]["defaults"]["marketing.fax"] = "granted";
  engine::Engine e("x");
  auto r = e.load_artifact(dump(doc), kT0);
  ASSERT_FALSE(r.ok);
  const std::string steps = "$.journeys[0].steps[0].split[1].steps";
  EXPECT_TRUE(has_error(r.errors, "$.journeys[0].entry.segment", "unknown segment 'nope'")) << describe(r.errors);
  EXPECT_TRUE(has_error(r.errors, steps + "[0].action.offer", "must name an offer")) << describe(r.errors);
  EXPECT_TRUE(has_error(r.errors, steps + "[1].wait", "must be a duration")) << describe(r.errors);
  EXPECT_TRUE(has_error(r.errors, steps + "[2].action.channel", "web, email, sms, push")) << describe(r.errors);
  EXPECT_TRUE(has_error(r.errors, "$.caps[0].per", "must be a duration")) << describe(r.errors);
  EXPECT_TRUE(has_error(r.errors, "$.consent.defaults[\"marketing.fax\"]", "")) << describe(r.errors);
}

// Every error at once: a journey with an error of its own still holds its id.
TEST(Journeys, ADuplicateJourneyIdIsReportedBesideTheJourneysOtherErrors) {
  json doc = json::parse(example());
  json copy = doc["journeys"][0];
  doc["journeys"][0]["maxDuration"] = "1x";
  doc["journeys"].push_back(copy);
  engine::Engine e("x");
  auto r = e.load_artifact(dump(doc), kT0);
  ASSERT_FALSE(r.ok);
  EXPECT_TRUE(has_error(r.errors, "$.journeys[0].maxDuration", "")) << describe(r.errors);
  EXPECT_TRUE(has_error(r.errors, "$.journeys[1].id", "duplicates the id of $.journeys[0]")) << describe(r.errors);
}

}  // namespace
}  // namespace rekindle

namespace rekindle {
namespace {

TEST(Journeys, ASnapshotTakenAtAnyStepContinuesIdentically) {
  const std::string profile = profile_in(false);
  struct Step {
    std::string event;
    TimeMs at;
  };
  std::vector<Step> steps;
  const char* types[] = {"commerce.productListAdds", "web.webpagedetails.pageViews", "commerce.purchases",
                         "commerce.productListAdds"};
  TimeMs t = kT0;
  for (int i = 0; i < 24; ++i) {
    t += (i % 5 + 1) * 11 * kHour;
    steps.push_back({i % 6 == 5 ? "" : event("e" + std::to_string(i), types[i % 4], t), t});
  }
  size_t effects = 0;
  for (size_t cut = 0; cut <= steps.size(); cut += 3) {
    auto original = started(profile, true);
    auto apply = [](engine::Engine& e, const Step& s) {
      return s.event.empty() ? e.advance(s.at).effects : e.ingest(s.event, s.at).effects;
    };
    for (size_t i = 0; i < cut; ++i) apply(original, steps[i]);
    engine::Engine restored("someone-else");
    ASSERT_TRUE(restored.restore(original.snapshot()).ok);
    ASSERT_EQ(restored.snapshot(), original.snapshot());
    for (size_t i = cut; i < steps.size(); ++i) {
      auto expected = apply(original, steps[i]);
      ASSERT_EQ(apply(restored, steps[i]), expected) << "cut " << cut << ", step " << i;
      if (cut == 0) effects += expected.size();
    }
  }
  EXPECT_GE(effects, 30u);  // the script exercises entries, tiles, dispatches and conversions
}

// Found by fuzz/snapshot_fuzzer.cc (fuzz/corpus/snapshot/finding-journey-entered-near-min.json):
// the times of a journey's state were restored as any integer, and the next
// step computed `entered + duration` past INT64_MIN (undefined behaviour).
TEST(Journeys, ASnapshotWithTimesOutsideADateIsRefused) {
  auto e = started(profile_in(false), true);
  e.advance(kT0 + 2 * kDay);  // an instance waiting, with an email delivered
  const std::string before = e.snapshot();
  json good = json::parse(before);
  ASSERT_EQ(good["journeys"]["active"].size(), 1u);
  ASSERT_FALSE(good["journeys"]["deliveries"].empty());
  const std::vector<json> outside = {json(std::numeric_limits<int64_t>::min()), json(-kMaxTime - 1),
                                     json(kMaxTime + 1), json(std::numeric_limits<uint64_t>::max())};
  for (const json& t : outside) {
    json entered = good, wake = good, last_end = good, delivery = good;
    entered["journeys"]["active"][0]["entered"] = t;
    wake["journeys"]["active"][0]["wake"] = t;
    last_end["journeys"]["lastEnd"]["cart-recovery"] = t;
    delivery["journeys"]["deliveries"][0][0] = t;
    for (const json& bad : {entered, wake, last_end, delivery}) {
      auto r = e.restore(dump(bad));
      EXPECT_FALSE(r.ok) << t;
      EXPECT_TRUE(has_error(r.errors, "$.journeys", "")) << describe(r.errors);
      EXPECT_EQ(e.snapshot(), before);
    }
  }
  // The engine goes on as before: the SMS step at +3 days (no SMS consent here).
  auto r = e.advance(kT0 + 4 * kDay);
  ASSERT_TRUE(r.ok);
  EXPECT_NE(find(r.effects, "journey.step"), nullptr);
}

}  // namespace
}  // namespace rekindle

namespace rekindle {
namespace {

// Found by fuzz/snapshot_fuzzer.cc: an instance restored with a wake at a step
// that is not a wait (the program counter moved past its wait) stayed due
// forever, and advance() never returned.
TEST(Journeys, ASnapshotWithAWakeAwayFromAWaitIsRefused) {
  auto e = started(profile_in(false), true);
  e.advance(kT0 + 2 * kDay);  // an instance at its second wait, with a wake
  const std::string before = e.snapshot();
  json bad = json::parse(before);
  json& in = bad["journeys"]["active"][0];
  ASSERT_TRUE(in["wake"].is_number_integer());
  in["pc"] = in["pc"].get<int64_t>() + 1;  // the SMS step after the wait
  auto r = e.restore(dump(bad));
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(has_error(r.errors, "$.journeys", "")) << describe(r.errors);
  EXPECT_EQ(e.snapshot(), before);
  // Without the wake the same program counter is a state the engine can be in.
  in.erase("wake");
  EXPECT_TRUE(e.restore(dump(bad)).ok);
  EXPECT_TRUE(e.advance(kT0 + 4 * kDay).ok);
}

}  // namespace
}  // namespace rekindle
