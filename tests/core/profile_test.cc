#include "core/profile/profile.h"

#include <gtest/gtest.h>

#include "tests/core/error_matchers.h"

#include <string>
#include <vector>

#include "core/common/json_depth.h"

namespace rekindle::profile {
namespace {

using nlohmann::json;
using Strings = std::vector<std::string>;

constexpr TimeMs kT0 = 1796399580000;  // 2026-12-04T15:53:00Z


TEST(ProfileIdentity, TheDeviceIdIsAnIdentity) {
  Profile p("dev-1");
  EXPECT_EQ(p.device_id(), "dev-1");
  EXPECT_EQ(p.identities(), (Identities{{"device", "dev-1"}}));
  EXPECT_TRUE(Profile().identities().empty());

  // Identities only grow: the old device id stays.
  p.set_device_id("dev-2");
  EXPECT_EQ(p.device_id(), "dev-2");
  EXPECT_EQ(p.identities(), (Identities{{"device", "dev-1"}, {"device", "dev-2"}}));
}

TEST(ProfileIdentity, IdentifyAddsOnceAndRefusesInvalidOnes) {
  Profile p("dev-1");
  EXPECT_TRUE(p.identify("email", "ada@example.com", kT0));
  EXPECT_FALSE(p.identify("email", "ada@example.com", kT0 + 1));
  EXPECT_FALSE(p.identify("device", "dev-1", kT0));
  EXPECT_FALSE(p.identify("", "x", kT0));
  EXPECT_FALSE(p.identify("email", "", kT0));
  EXPECT_FALSE(p.identify("bad namespace", "x", kT0));
  EXPECT_FALSE(p.identify("email", std::string(kMaxIdentityLength + 1, 'x'), kT0));
  EXPECT_EQ(p.identities().size(), 2u);

  for (size_t i = p.identities().size(); i < kMaxIdentities; ++i)
    EXPECT_TRUE(p.identify("crm", std::to_string(i), kT0));
  EXPECT_FALSE(p.identify("crm", "one-too-many", kT0));
}

TEST(ProfileAttributes, FlattensNestedObjectsIntoLeafFields) {
  Profile p("dev-1");
  auto r = p.set_attributes({{"firstName", "Ada"}, {"tier", "gold"},
                             {"address", {{"city", "Paris"}, {"geo", {{"lat", 48.85}}}}},
                             {"tags", {"a", "b"}}, {"empty", json::object()}},
                            kT0, "device:dev-1");
  ASSERT_TRUE(r.errors.empty()) << describe(r.errors);
  EXPECT_EQ(r.changed, (Strings{"address.city", "address.geo.lat", "firstName", "tags", "tier"}));
  EXPECT_EQ(p.attributes()["tier"], "gold");
  EXPECT_EQ(p.attributes()["address"]["geo"]["lat"], 48.85);
  EXPECT_EQ(p.attributes()["tags"], json::array({"a", "b"}));
  EXPECT_FALSE(p.attributes().contains("empty"));
  const FieldValue* city = p.field("attributes.address.city");
  ASSERT_NE(city, nullptr);
  EXPECT_EQ(*city, (FieldValue{"Paris", kT0, "device:dev-1"}));
  EXPECT_EQ(p.field("attributes.address"), nullptr);
}

TEST(ProfileAttributes, ReportsOnlyValuesThatChanged) {
  Profile p("dev-1");
  p.set_attributes({{"tier", "gold"}, {"city", "Paris"}}, kT0, "device:dev-1");
  auto r = p.set_attributes({{"tier", "gold"}, {"city", "Lyon"}}, kT0 + 1, "device:dev-1");
  EXPECT_EQ(r.changed, Strings{"city"});
  // Same value, newer write: stored (it orders later merges) but no change.
  EXPECT_EQ(p.field("attributes.tier")->ts, kT0 + 1);
}

TEST(ProfileAttributes, AnOlderWriteLosesAndTiesBreakByOrigin) {
  Profile p("dev-1");
  p.set_attributes({{"tier", "gold"}}, kT0, "device:dev-1");
  auto older = p.set_attributes({{"tier", "silver"}}, kT0 - 1, "server");
  EXPECT_TRUE(older.errors.empty());
  EXPECT_TRUE(older.changed.empty());
  EXPECT_EQ(p.attributes()["tier"], "gold");

  EXPECT_EQ(p.set_attributes({{"tier", "bronze"}}, kT0, "device:dev-0").changed, Strings{});
  EXPECT_EQ(p.set_attributes({{"tier", "bronze"}}, kT0, "server").changed, Strings{"tier"});
  EXPECT_EQ(p.attributes()["tier"], "bronze");
}

TEST(ProfileAttributes, NullDeletesALeafOrAWholeObject) {
  Profile p("dev-1");
  p.set_attributes({{"tier", "gold"}, {"address", {{"city", "Paris"}, {"zip", "75001"}}}}, kT0, "o");
  auto r = p.set_attributes({{"tier", nullptr}, {"address", nullptr}, {"never", nullptr}}, kT0 + 1, "o");
  EXPECT_EQ(r.changed, Strings{"tier"});  // "address" and "never" held no value themselves
  EXPECT_EQ(p.attributes(), json::object());
  // The deletions are kept, so they reach the other copies of the profile.
  ASSERT_NE(p.field("attributes.tier"), nullptr);
  EXPECT_TRUE(p.field("attributes.tier")->value.is_null());
  EXPECT_TRUE(p.field("attributes.never")->value.is_null());
  EXPECT_EQ(p.fragment().fields.size(), 5u);

  // A later value comes back; the deleted siblings stay deleted.
  p.set_attributes({{"address", {{"country", "FR"}}}}, kT0 + 2, "o");
  EXPECT_EQ(p.attributes(), (json{{"address", {{"country", "FR"}}}}));
}

TEST(ProfileAttributes, ALeafCanBecomeAnObjectAndBack) {
  Profile p("dev-1");
  p.set_attributes({{"plan", "free"}}, kT0, "o");
  p.set_attributes({{"plan", {{"name", "pro"}, {"seats", 3}}}}, kT0 + 1, "o");
  EXPECT_EQ(p.attributes()["plan"], (json{{"name", "pro"}, {"seats", 3}}));
  p.set_attributes({{"plan", "free"}}, kT0 + 2, "o");
  EXPECT_EQ(p.attributes()["plan"], "free");
}

TEST(ProfileAttributes, RefusesBadInputWithPathsAndWritesNothing) {
  Profile p("dev-1");
  p.set_attributes({{"tier", "gold"}}, kT0, "o");
  json deep = 1;
  for (int i = 0; i < 40; ++i) deep = json{{"k", deep}};
  auto r = p.set_attributes({{"tier", "silver"},
                             {"bad name", 1},
                             {"a.b", 1},
                             {"bio", std::string(kMaxStringBytes + 1, 'x')},
                             {"list", {1, std::nan("")}},
                             {"nested", {{"ok", 1}, {"", 2}}},
                             {"deep", deep}},
                            kT0 + 1, "o");
  EXPECT_TRUE(has_error(r.errors, "$[\"bad name\"]", "not a valid attribute name")) << describe(r.errors);
  EXPECT_TRUE(has_error(r.errors, "$[\"a.b\"]", "not a valid attribute name")) << describe(r.errors);
  EXPECT_TRUE(has_error(r.errors, "$.bio", "4097 bytes, over the limit of 4096 bytes")) << describe(r.errors);
  EXPECT_TRUE(has_error(r.errors, "$.list[1]", "finite")) << describe(r.errors);
  EXPECT_TRUE(has_error(r.errors, "$.nested[\"\"]", "not a valid attribute name")) << describe(r.errors);
  std::string deep_path = "$.deep";
  for (int i = 0; i < kMaxDepth - 1; ++i) deep_path += ".k";  // "$.deep" is level 2
  EXPECT_TRUE(has_error(r.errors, deep_path, "deeper than 32")) << deep_path << "\n" << describe(r.errors);
  EXPECT_EQ(r.errors.size(), 6u) << describe(r.errors);
  EXPECT_TRUE(r.changed.empty());
  EXPECT_EQ(p.attributes(), (json{{"tier", "gold"}}));

  for (const json& bad : {json(nullptr), json("x"), json::array({1})}) {
    auto nr = p.set_attributes(bad, kT0, "o");
    ASSERT_EQ(nr.errors.size(), 1u);
    EXPECT_EQ(nr.errors[0].path, "$");
  }
  EXPECT_TRUE(has_error(p.set_attributes({{"x", 1}}, kT0, "").errors, "$", "origin"));
  EXPECT_TRUE(has_error(p.set_attributes({{std::string(kMaxKeyLength, 'k'), 1}}, kT0, "o").errors,
                        "$." + std::string(kMaxKeyLength, 'k'), "longer than 256"));
}

TEST(ProfileAttributes, TheDeepestWriteIsAValidFieldKey) {
  Profile p("dev-1");
  json leaf = {{"k", 1}};
  for (int i = 0; i < kMaxDepth - 1; ++i) leaf = json{{"k", leaf}};  // 32 levels with the root
  auto r = p.set_attributes(leaf, kT0, "o");
  ASSERT_TRUE(r.errors.empty()) << describe(r.errors);
  ASSERT_EQ(r.changed.size(), 1u);
  EXPECT_TRUE(is_valid_field_key("attributes." + r.changed[0]));
  Errors errors;
  EXPECT_TRUE(Profile::from_json(p.to_json(), errors)) << describe(errors);
}

TEST(ProfileAttributes, RefusesWritesPastTheFieldLimit) {
  Profile p("dev-1");
  json many = json::object();
  for (size_t i = 0; i < kMaxFields; ++i) many["f" + std::to_string(i)] = static_cast<int>(i);
  ASSERT_TRUE(p.set_attributes(many, kT0, "o").errors.empty());
  auto r = p.set_attributes({{"one_more", 1}}, kT0 + 1, "o");
  EXPECT_TRUE(has_error(r.errors, "$", "1001 fields, over the limit of 1000")) << describe(r.errors);
  // Existing fields can still be written, and deleted.
  EXPECT_TRUE(p.set_attributes({{"f0", nullptr}, {"f1", 2}}, kT0 + 1, "o").errors.empty());
  EXPECT_FALSE(p.set_field("consent.analytics", "granted", kT0, "o"));
  EXPECT_FALSE(p.attributes().contains("f0"));
}

TEST(ProfileFields, SetFieldIsLastWriterWinsOnOneKey) {
  Profile p("dev-1");
  EXPECT_TRUE(p.set_field("consent.marketing.email", "granted", kT0, "device:dev-1"));
  EXPECT_FALSE(p.set_field("consent.marketing.email", "denied", kT0 - 1, "server"));
  EXPECT_FALSE(p.set_field("consent.marketing.email", "granted", kT0, "device:dev-1"));  // same write
  EXPECT_EQ(p.field("consent.marketing.email")->value, "granted");
  EXPECT_TRUE(p.set_field("consent.marketing.email", "denied", kT0 + 1, "server"));
  EXPECT_EQ(p.field("consent.marketing.email")->value, "denied");
  EXPECT_EQ(p.attributes(), json::object());  // consent is not an attribute

  EXPECT_TRUE(p.set_field("attributes.tier", "gold", kT0, "o"));
  EXPECT_EQ(p.attributes()["tier"], "gold");

  EXPECT_FALSE(p.set_field("tier", "gold", kT0, "o"));
  EXPECT_FALSE(p.set_field("attributes.obj", json{{"a", 1}}, kT0, "o"));
  EXPECT_FALSE(p.set_field("attributes.x", 1, kT0, ""));
  EXPECT_EQ(p.field("tier"), nullptr);
}

TEST(ProfileFragments, FragmentSinceHoldsNewerFieldsAndAllIdentities) {
  Profile p("dev-1");
  p.identify("email", "ada@example.com", kT0);
  p.set_attributes({{"a", 1}}, kT0, "o");
  p.set_attributes({{"b", 2}}, kT0 + 10, "o");
  p.set_field("consent.analytics", "granted", kT0 + 20, "o");

  Fragment all = p.fragment();
  EXPECT_EQ(all.profile_id, "dev-1");
  EXPECT_EQ(all.fields.size(), 3u);
  Fragment since = p.fragment_since(kT0);
  EXPECT_EQ(since.profile_id, "dev-1");
  EXPECT_EQ(since.fields.size(), 2u);
  EXPECT_EQ(since.fields.count("attributes.a"), 0u);
  EXPECT_EQ(since.identities, p.identities());
  EXPECT_TRUE(p.fragment_since(kT0 + 20).fields.empty());
}

TEST(ProfileFragments, ApplyReportsChangedKeysAndIdentities) {
  Profile p("dev-1");
  p.set_attributes({{"tier", "gold"}, {"city", "Paris"}}, kT0, "device:dev-1");
  Fragment server;
  server.profile_id = "srv-9";
  server.fields["attributes.tier"] = {"platinum", kT0 + 5, "server"};
  server.fields["attributes.city"] = {"Lyon", kT0 - 5, "server"};  // older: loses
  server.fields["consent.analytics"] = {"granted", kT0, "server"};
  server.identities = {{"email", "ada@example.com"}, {"device", "dev-1"}};

  EXPECT_EQ(p.apply(server), (Strings{"attributes.tier", "consent.analytics", "identities"}));
  EXPECT_EQ(p.attributes(), (json{{"tier", "platinum"}, {"city", "Paris"}}));
  EXPECT_EQ(p.fragment().profile_id, "dev-1");  // a merge does not rename the device's profile
  EXPECT_TRUE(p.apply(server).empty());          // idempotent
}

// The device and the server exchange what changed since their last sync, in
// either order, and end up with the same profile.
TEST(ProfileFragments, TwoCopiesConvergeByExchangingFragments) {
  Profile device("dev-1"), server("dev-1");
  device.set_attributes({{"tier", "gold"}, {"address", {{"city", "Paris"}}}}, kT0, "device:dev-1");
  server.set_attributes({{"tier", "silver"}, {"address", "unknown"}}, kT0 + 1, "server");
  server.identify("email", "ada@example.com", kT0);
  device.set_attributes({{"address", {{"zip", "75001"}}}}, kT0 + 2, "device:dev-1");

  Fragment from_device = device.fragment_since(0);
  Fragment from_server = server.fragment_since(0);
  device.apply(from_server);
  server.apply(from_device);
  EXPECT_EQ(device.fragment(), server.fragment());
  EXPECT_EQ(device.attributes(), server.attributes());
  EXPECT_EQ(device.attributes(), (json{{"tier", "silver"}, {"address", {{"zip", "75001"}}}}));
}

TEST(ProfileSnapshot, RoundTrips) {
  Profile p("dev-1");
  p.identify("email", "ada@example.com", kT0);
  p.set_attributes({{"tier", "gold"}, {"gone", nullptr}, {"address", {{"city", "Paris"}}}}, kT0, "o");
  p.set_field("consent.analytics", "granted", kT0, "o");

  json snapshot = p.to_json();
  EXPECT_EQ(snapshot["deviceId"], "dev-1");
  EXPECT_FALSE(snapshot.contains("profileId"));
  json reparsed = json::parse(dump(snapshot), nullptr, false);
  Errors errors;
  auto back = Profile::from_json(reparsed, errors);
  ASSERT_TRUE(back) << describe(errors);
  EXPECT_EQ(back->device_id(), "dev-1");
  EXPECT_EQ(back->fragment(), p.fragment());
  EXPECT_EQ(back->attributes(), p.attributes());
  EXPECT_EQ(back->to_json(), snapshot);
}

TEST(ProfileSnapshot, ReportsProblemsWithPaths) {
  Errors errors;
  EXPECT_FALSE(Profile::from_json({{"deviceId", 5},
                                   {"profileId", "x"},
                                   {"fields", {{"attributes.a", {{"value", 1}, {"ts", "now"}, {"origin", "o"}}}}}},
                                  errors));
  EXPECT_TRUE(has_error(errors, "$.deviceId", "must be a string")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.profileId", "is not a known field")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.fields[\"attributes.a\"].ts", "integer")) << describe(errors);
  EXPECT_EQ(errors.size(), 3u) << describe(errors);

  errors.clear();
  EXPECT_FALSE(Profile::from_json(json::object(), errors));
  EXPECT_TRUE(has_error(errors, "$.deviceId", "is required")) << describe(errors);
  errors.clear();
  EXPECT_FALSE(Profile::from_json("profile", errors));
  EXPECT_TRUE(has_error(errors, "$", "must be an object")) << describe(errors);
}

TEST(ProfileSnapshot, KeepsAProfileThatMergesTookPastTheWireLimit) {
  Profile p("dev-1");
  Fragment big;
  for (size_t i = 0; i <= kMaxFields; ++i)
    big.fields["attributes.f" + std::to_string(i)] = {static_cast<int>(i), kT0, "server"};
  p.apply(big);
  Errors errors;
  auto back = Profile::from_json(p.to_json(), errors);
  ASSERT_TRUE(back) << describe(errors);
  EXPECT_EQ(back->fragment().fields.size(), kMaxFields + 1);
}

}  // namespace
}  // namespace rekindle::profile
