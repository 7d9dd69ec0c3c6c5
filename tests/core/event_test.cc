#include "core/event/event.h"

#include <gtest/gtest.h>

#include <string>

namespace rekindle::event {
namespace {

using nlohmann::json;

json base(std::string_view type) {
  return {{"_id", "e-1"}, {"eventType", type}, {"timestamp", "2026-12-04T15:53:00Z"}};
}

bool has_error(const ParseResult& r, std::string_view path, std::string_view reason_part) {
  for (const auto& e : r.errors)
    if (e.path == path && e.reason.find(reason_part) != std::string::npos) return true;
  return false;
}

std::string describe(const ParseResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.path + ": " + e.reason + "\n";
  return out;
}

TEST(EventParse, AcceptsEveryStandardType) {
  json page = base(types::kPageView);
  page["web"] = {{"webPageDetails", {{"name", "home"}, {"URL", "https://shop.example/"}}}};
  json view = base(types::kProductView);
  view["productListItems"] = {{{"SKU", "sku-1"}, {"name", "Shoe"}, {"priceTotal", 80}}};
  view["commerce"] = {{"productViews", {{"value", 1}}}};
  json add = base(types::kCartAdd);
  add["productListItems"] = {{{"SKU", "sku-1"}, {"quantity", 2}, {"priceTotal", 160.5}}};
  add["commerce"] = {{"productListAdds", {{"value", 1}}}};
  json remove = base(types::kCartRemove);
  remove["productListItems"] = {{{"SKU", "sku-1"}}};
  json checkout = base(types::kCheckout);
  checkout["commerce"] = {{"checkouts", {{"value", 1}}}};
  json purchase = base(types::kPurchase);
  purchase["commerce"] = {{"order", {{"priceTotal", 99.9}, {"currencyCode", "EUR"}, {"purchaseID", "o1"}}},
                          {"purchases", {{"value", 1}}}};
  purchase["identityMap"] = {{"email", {{{"id", "ada@example.com"}, {"primary", true}}}}};
  json display = base(types::kPropositionDisplay);
  display["_experience"] = {{"decisioning", {{"propositions", {{{"id", "p-1"}}}}}}};
  json interact = base(types::kPropositionInteract);
  interact["data"] = {{"action", "click"}};
  json custom = base("acme.newsletter-signup");

  for (const json& doc : {page, view, add, remove, checkout, purchase, display, interact, custom}) {
    auto r = parse(doc.dump());
    ASSERT_TRUE(r.ok()) << doc.dump() << "\n" << describe(r);
    EXPECT_EQ(r.event->id, "e-1");
    EXPECT_EQ(r.event->type, doc["eventType"]);
    EXPECT_EQ(r.event->timestamp, 1796399580000);
    EXPECT_EQ(r.event->body, doc);
  }
}

// The errors come in a fixed order, whatever the order of the keys in the
// text: unknown fields (by name), then the fields in the order the event
// format lists them, an item's fields in its own fixed order.
TEST(EventParse, ReportsProblemsInAFixedOrder) {
  const std::string text =
      R"({"zzz":1,"web":{"webPageDetails":{"URL":5}},"timestamp":"x","productListItems":[)"
      R"({"quantity":"2","priceTotal":"9","SKU":7,"productCategory":1,"name":2,"currencyCode":3}],)"
      R"("identityMap":[],"eventType":1,"data":3,"commerce":[],"aaa":2,"_experience":4,"_id":""})";
  auto r = parse(text);
  ASSERT_FALSE(r.ok());
  std::vector<std::string> paths;
  for (const auto& e : r.errors) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "$.aaa", "$.zzz", "$._id", "$.eventType", "$.timestamp", "$.identityMap", "$.commerce",
                       "$.productListItems[0].SKU", "$.productListItems[0].name",
                       "$.productListItems[0].currencyCode", "$.productListItems[0].productCategory",
                       "$.productListItems[0].quantity", "$.productListItems[0].priceTotal", "$.web.webPageDetails.URL",
                       "$.data", "$._experience"}))
      << describe(r);
}

TEST(EventParse, ReportsEveryProblemAtOnceWithPaths) {
  json doc = {{"eventType", 42},
              {"timestamp", "yesterday"},
              {"surprise", true},
              {"productListItems", {{{"SKU", 7}}, "not an object"}},
              {"commerce", {{"order", {{"priceTotal", "free"}}}}},
              {"identityMap", {{"email", {{{"primary", "yes"}}}}}},
              {"web", {{"webPageDetails", {{"URL", 5}}}}},
              {"data", "x"}};
  auto r = parse(doc.dump());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r, "$._id", "is required")) << describe(r);
  EXPECT_TRUE(has_error(r, "$.eventType", "must be a string")) << describe(r);
  EXPECT_TRUE(has_error(r, "$.timestamp", "ISO 8601")) << describe(r);
  EXPECT_TRUE(has_error(r, "$.surprise", "not a known top-level field")) << describe(r);
  EXPECT_TRUE(has_error(r, "$.productListItems[0].SKU", "must be a string")) << describe(r);
  EXPECT_TRUE(has_error(r, "$.productListItems[1]", "must be an object")) << describe(r);
  EXPECT_TRUE(has_error(r, "$.commerce.order.priceTotal", "must be a number")) << describe(r);
  EXPECT_TRUE(has_error(r, "$.identityMap.email[0].id", "is required")) << describe(r);
  EXPECT_TRUE(has_error(r, "$.identityMap.email[0].primary", "must be a boolean")) << describe(r);
  EXPECT_TRUE(has_error(r, "$.web.webPageDetails.URL", "must be a string")) << describe(r);
  EXPECT_TRUE(has_error(r, "$.data", "must be an object")) << describe(r);
  EXPECT_EQ(r.errors.size(), 11u) << describe(r);
}

TEST(EventParse, RefusesTimestampsWithoutOffset) {
  json doc = base(types::kPageView);
  doc["timestamp"] = "2026-12-04T15:53:00";
  EXPECT_TRUE(has_error(parse(doc.dump()), "$.timestamp", "offset"));
  doc["timestamp"] = 1796399580000;
  EXPECT_TRUE(has_error(parse(doc.dump()), "$.timestamp", "must be an ISO 8601 string"));
}

TEST(EventParse, RefusesEmptyOrOverlongIds) {
  json doc = base(types::kPageView);
  doc["_id"] = "";
  EXPECT_TRUE(has_error(parse(doc.dump()), "$._id", "non-empty"));
  doc["_id"] = std::string(129, 'x');
  EXPECT_TRUE(has_error(parse(doc.dump()), "$._id", "longer than 128"));
  doc["_id"] = 12;
  EXPECT_TRUE(has_error(parse(doc.dump()), "$._id", "non-empty string"));
}

TEST(EventParse, RefusesOversizedEvents) {
  json doc = base(types::kPageView);
  doc["data"] = {{"blob", std::string(33 * 1024, 'a')}};
  auto r = parse(doc.dump());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "$");
  EXPECT_NE(r.errors[0].reason.find("over the limit of 32768 bytes"), std::string::npos);
}

TEST(EventParse, RefusesDeepNestingWithItsPath) {
  json doc = base(types::kPageView);
  json deep = 1;
  for (int i = 0; i < 40; ++i) deep = json{{"k", deep}};
  doc["data"] = deep;
  auto r = parse(doc.dump());
  ASSERT_EQ(r.errors.size(), 1u) << describe(r);
  EXPECT_NE(r.errors[0].reason.find("deeper than 32"), std::string::npos);
  EXPECT_EQ(r.errors[0].path.rfind("$.data.k.k", 0), 0u) << r.errors[0].path;

  // The path names escaped keys by their characters, and a long key by its
  // first 256 characters.
  deep = 1;
  for (int i = 0; i < 40; ++i) deep = json{{i == 39 ? std::string(300, 'x') : "q\"[", deep}};
  doc["data"] = deep;
  r = parse(doc.dump());
  ASSERT_EQ(r.errors.size(), 1u) << describe(r);
  EXPECT_EQ(r.errors[0].path.rfind("$.data." + std::string(256, 'x') + "[\"q\\\"[\"]", 0), 0u) << r.errors[0].path;

  // Brackets inside strings are not nesting.
  doc["data"] = {{"text", std::string(100, '[')}};
  EXPECT_TRUE(parse(doc.dump()).ok());
}

TEST(EventParse, NeverAbortsOnMalformedText) {
  for (std::string bad : {std::string(""), std::string("{"), std::string("null"),
                          std::string("[1,2]"), std::string("\"just a string\""),
                          std::string("{\"_id\": \"a\", }"), std::string("\xff\xfe{}"),
                          std::string("{\"_id\": \"\\ud800\"}"), std::string(100000, '['),
                          std::string(1 << 20, ' ')}) {
    auto r = parse(bad);
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.errors.empty());
    for (const auto& e : r.errors) EXPECT_FALSE(e.path.empty());
  }
  auto syntax = parse("{\"_id\": \"a\", }");
  ASSERT_EQ(syntax.errors.size(), 1u);
  EXPECT_NE(syntax.errors[0].reason.find("not valid JSON: parse error at line 1, column 14"), std::string::npos)
      << syntax.errors[0].reason;
}

TEST(EventParse, QuotesOddKeysInPaths) {
  json doc = base(types::kPageView);
  doc["odd key"] = 1;
  auto r = parse(doc.dump());
  EXPECT_TRUE(has_error(r, "$[\"odd key\"]", "not a known top-level field")) << describe(r);
}

}  // namespace
}  // namespace rekindle::event
