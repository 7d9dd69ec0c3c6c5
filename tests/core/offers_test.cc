#include "core/offers/offers.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/common/json_depth.h"
#include "core/offers/template.h"
#include "tests/core/error_matchers.h"

namespace rekindle::offers {
namespace {

using nlohmann::json;

constexpr TimeMs kT0 = 1767261600000;  // 2026-01-01T10:00:00Z

json parse(const char* text) { return json::parse(text, nullptr, /*allow_exceptions=*/false); }

// The spec's example offer, valid as it is.
json cart_offer() {
  return parse(R"({
    "id": "cart-10", "name": "10 % off your cart", "priority": 10, "placements": ["hero"],
    "content": {"title": "Still thinking it over, {{profile.firstName|friend}}?",
                "body": "Your cart is waiting: take 10 % off today.",
                "image": "https://shop.example/img/cart.png",
                "cta": {"label": "Back to my cart", "url": "https://shop.example/cart"}},
    "html": "<strong>{{offer.title}}</strong>"})");
}

json placements() { return parse(R"([{"id": "hero", "name": "Hero banner"}, {"id": "sidebar"}])"); }

json artifact(const json& offers, const json& places = placements()) {
  return json{{"version", "1"}, {"placements", places}, {"offers", offers}};
}

bool segment_exists(std::string_view id) { return id == "vip" || id == "lapsed"; }

// Errors of a document that must not parse.
Errors errors_of(const json& doc) {
  Errors errors;
  auto catalog = parse_catalog(doc, segment_exists, errors);
  EXPECT_FALSE(catalog.has_value());
  EXPECT_FALSE(errors.empty());
  return errors;
}

// The errors of the cart offer after `edit`.
template <class Edit>
Errors offer_errors(Edit edit) {
  json o = cart_offer();
  edit(o);
  return errors_of(artifact(json::array({o})));
}

Catalog catalog_of(const json& doc) {
  Errors errors;
  auto catalog = parse_catalog(doc, segment_exists, errors);
  EXPECT_TRUE(catalog.has_value()) << describe(errors);
  return catalog ? *catalog : Catalog{};
}

// ---------------------------------------------------------------- catalog

TEST(OfferCatalog, ParsesTheSpecExample) {
  json o = cart_offer();
  o["placements"] = {"hero", "sidebar"};
  o["eligibility"] = parse(R"({"and": [{"path": "profile.tier", "op": "eq", "value": "gold"}, {"segment": "vip"}]})");
  Catalog c = catalog_of(artifact(json::array({o})));
  ASSERT_EQ(c.placements.size(), 2u);
  EXPECT_EQ(c.placements[0].id, "hero");
  EXPECT_EQ(c.placements[0].name, "Hero banner");
  EXPECT_EQ(c.placements[1].name, "");
  ASSERT_EQ(c.offers.size(), 1u);
  const Offer& offer = c.offers[0];
  EXPECT_EQ(offer.id, "cart-10");
  EXPECT_EQ(offer.name, "10 % off your cart");
  EXPECT_EQ(offer.priority, 10);
  EXPECT_EQ(offer.placements, (std::vector<std::string>{"hero", "sidebar"}));
  EXPECT_TRUE(offer.shows_in("sidebar"));
  EXPECT_FALSE(offer.shows_in("footer"));
  ASSERT_TRUE(offer.eligibility.has_value());
  EXPECT_EQ(offer.eligibility->segment_refs, (std::vector<std::string>{"vip"}));
  EXPECT_EQ(offer.eligibility->segment_ref_paths, (std::vector<std::string>{"$.offers[0].eligibility.and[1].segment"}));
  EXPECT_EQ(offer.html, "<strong>{{offer.title}}</strong>");
  EXPECT_EQ(offer.content, o["content"]);
  EXPECT_EQ(c.find_offer("cart-10"), 0);
  EXPECT_EQ(c.find_offer("nope"), -1);
  EXPECT_EQ(c.find_placement("sidebar"), 1);
  EXPECT_EQ(c.find_placement("nope"), -1);
}

TEST(OfferCatalog, DefaultsAndMissingLists) {
  Catalog empty = catalog_of(json{{"version", "1"}});
  EXPECT_TRUE(empty.placements.empty());
  EXPECT_TRUE(empty.offers.empty());

  json o = cart_offer();
  o.erase("priority");
  o.erase("html");
  o.erase("name");
  o["content"] = json{{"title", "Hi"}};
  Catalog c = catalog_of(artifact(json::array({o})));
  ASSERT_EQ(c.offers.size(), 1u);
  EXPECT_EQ(c.offers[0].priority, 0);
  EXPECT_EQ(c.offers[0].html, "");
  EXPECT_FALSE(c.offers[0].eligibility.has_value());

  json d = cart_offer();
  d["priority"] = -5;
  d["description"] = "for the winter sale";
  EXPECT_EQ(catalog_of(artifact(json::array({d}))).offers[0].priority, -5);
}

TEST(OfferCatalog, RefusesNonObjectsAndNonArrays) {
  EXPECT_TRUE(has_error(errors_of(json::array()), "$", "must be an object"));
  Errors e = errors_of(json{{"placements", json::object()}, {"offers", "x"}});
  EXPECT_TRUE(has_error(e, "$.placements", "must be an array")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers", "must be an array")) << describe(e);
  e = errors_of(artifact(json::array({5}), json::array({"hero"})));
  EXPECT_TRUE(has_error(e, "$.placements[0]", "a placement must be an object")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0]", "an offer must be an object")) << describe(e);
}

TEST(OfferCatalog, PlacementIds) {
  Errors e = errors_of(artifact(json::array(), parse(R"([{"id": "hero"}, {"id": "hero"}, {"id": "Hero"},
      {"name": "no id"}, {"id": 3}, {"id": "-x"}, {"id": ""}])")));
  EXPECT_TRUE(has_error(e, "$.placements[1].id", "duplicates the id of $.placements[0]")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.placements[2].id", "lowercase")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.placements[3].id", "is required")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.placements[4].id", "lowercase")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.placements[5].id", "lowercase")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.placements[6].id", "lowercase")) << describe(e);
  EXPECT_EQ(e.size(), 6u) << describe(e);
}

TEST(OfferCatalog, OfferIds) {
  json a = cart_offer(), b = cart_offer(), c = cart_offer(), d = cart_offer(), f = cart_offer();
  c["id"] = std::string(65, 'a');
  d.erase("id");
  f["id"] = "a b";
  Errors e = errors_of(artifact(json::array({a, b, c, d, f})));
  EXPECT_TRUE(has_error(e, "$.offers[1].id", "duplicates the id of $.offers[0]")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[2].id", "at most 64")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[3].id", "is required")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[4].id", "lowercase")) << describe(e);
  EXPECT_EQ(e.size(), 4u) << describe(e);

  json longest = cart_offer();
  longest["id"] = "a" + std::string(63, '-');
  EXPECT_EQ(catalog_of(artifact(json::array({longest}))).offers[0].id.size(), 64u);
}

TEST(OfferCatalog, UnknownKeys) {
  json places = placements();
  places[1]["color"] = "red";
  json o = cart_offer();
  o["colour"] = "red";
  o["content"]["subtitle"] = "x";
  o["content"]["cta"]["target"] = "_blank";
  Errors e = errors_of(artifact(json::array({o}), places));
  EXPECT_TRUE(has_error(e, "$.placements[1].color", "is not a known placement field")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].colour", "is not a known offer field")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].content.subtitle", "is not a known content field")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].content.cta.target", "is not a known cta field")) << describe(e);
  EXPECT_EQ(e.size(), 4u) << describe(e);
}

TEST(OfferCatalog, WrongTypes) {
  json places = placements();
  places[0]["name"] = 1;
  json o = cart_offer();
  o["name"] = 5;
  o["html"] = 3;
  o["content"]["title"] = 5;
  o["content"]["body"] = json::array();
  o["content"]["image"] = false;
  o["content"]["cta"]["label"] = nullptr;
  o["content"]["cta"]["url"] = 7;
  Errors e = errors_of(artifact(json::array({o}), places));
  EXPECT_TRUE(has_error(e, "$.placements[0].name", "must be a string")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].name", "must be a string")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].html", "must be a template string")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].content.title", "must be a template string")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].content.body", "must be a template string")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].content.image", "must be a URL string")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].content.cta.label", "must be a template string")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].content.cta.url", "must be a URL string")) << describe(e);
  EXPECT_EQ(e.size(), 8u) << describe(e);

  e = offer_errors([](json& x) { x["content"] = "Hello"; });
  EXPECT_TRUE(has_error(e, "$.offers[0].content", "must be an object")) << describe(e);
  e = offer_errors([](json& x) { x["content"]["cta"] = "Buy"; });
  EXPECT_TRUE(has_error(e, "$.offers[0].content.cta", "must be an object")) << describe(e);
}

TEST(OfferCatalog, RequiredFields) {
  Errors e = offer_errors([](json& x) { x.erase("content"); x.erase("placements"); });
  EXPECT_TRUE(has_error(e, "$.offers[0].content", "is required")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].placements", "is required")) << describe(e);
  e = offer_errors([](json& x) { x["content"].erase("title"); x["content"]["cta"] = json::object(); });
  EXPECT_TRUE(has_error(e, "$.offers[0].content.title", "is required")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].content.cta.label", "is required")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].content.cta.url", "is required")) << describe(e);
  e = offer_errors([](json& x) { x["content"]["title"] = ""; });
  EXPECT_TRUE(has_error(e, "$.offers[0].content.title", "must not be empty")) << describe(e);
}

TEST(OfferCatalog, PriorityMustBeAnInteger) {
  for (const json& bad : {json(1.5), json(10.0), json("10"), json(true), json(nullptr), json(3000000000LL),
                          json(-3000000000LL), json(UINT64_MAX)}) {
    Errors e = offer_errors([&](json& x) { x["priority"] = bad; });
    EXPECT_TRUE(has_error(e, "$.offers[0].priority", "must be an integer")) << dump(bad) << "\n" << describe(e);
    EXPECT_EQ(e.size(), 1u) << describe(e);
  }
}

TEST(OfferCatalog, PlacementReferences) {
  Errors e = offer_errors([](json& x) { x["placements"] = {"hero", "footer", "hero", 4, "Sidebar"}; });
  EXPECT_TRUE(has_error(e, "$.offers[0].placements[1]", "names unknown placement 'footer'")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].placements[2]", "lists placement 'hero' twice")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].placements[3]", "must be a placement id")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].placements[4]", "must be a placement id")) << describe(e);
  EXPECT_EQ(e.size(), 4u) << describe(e);
  for (const json& bad : {json::array(), json("hero"), json::object()}) {
    e = offer_errors([&](json& x) { x["placements"] = bad; });
    EXPECT_TRUE(has_error(e, "$.offers[0].placements", "non-empty array")) << describe(e);
  }
  // No placements declared at all: every reference is unknown.
  e = errors_of(json{{"offers", json::array({cart_offer()})}});
  EXPECT_TRUE(has_error(e, "$.offers[0].placements[0]", "names unknown placement 'hero'")) << describe(e);
}

TEST(OfferCatalog, Templates) {
  json o = cart_offer();
  o["content"]["title"] = "Hi {{profile.firstName";
  o["content"]["body"] = "oops }}";
  o["content"]["cta"]["label"] = "{{{profile.firstName}}}";
  o["html"] = "<b>{{ }}</b>";
  Errors e = errors_of(artifact(json::array({o})));
  EXPECT_TRUE(has_error(e, "$.offers[0].content.title", "unclosed '{{'")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].content.body", "without an opening")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].content.cta.label", "triple braces")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].html", "empty path")) << describe(e);

  e = offer_errors([](json& x) { x["html"] = std::string(kMaxTemplateBytes + 1, 'x'); });
  EXPECT_TRUE(has_error(e, "$.offers[0].html", "over the limit")) << describe(e);
}

// A path that starts with nothing the field is rendered with would only ever
// insert its default: content fields read profile.*, html profile.* and offer.*.
TEST(OfferCatalog, TemplatePathsStartWithWhatTheFieldIsRenderedWith) {
  json o = cart_offer();
  o["content"]["title"] = "Hi {{firstName|there}}";
  o["content"]["body"] = "{{offer.title|T}} and {{profile.firstName}}";
  o["content"]["cta"]["label"] = "{{event.x|Go}}";
  o["html"] = "<b>{{offer.title}}</b> {{profile.tier|}} {{user.name|you}} {{offer.cta.url}} {{offer.bogus|x}} {{offer}}";
  Errors e = errors_of(artifact(json::array({o})));
  EXPECT_TRUE(has_error(e, "$.offers[0].content.title", "'{{firstName}}' does not start with profile.")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].content.body", "'{{offer.title}}' does not start with profile.")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].content.cta.label", "'{{event.x}}'")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].html",
                        "'{{user.name}}' is neither a path under profile. nor one of offer.title, offer.body, "
                        "offer.image, offer.cta.label, offer.cta.url")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].html", "'{{offer.bogus}}' is neither")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].html", "'{{offer}}' is neither")) << describe(e);
  EXPECT_EQ(e.size(), 6u) << describe(e);
}

// ---------------------------------------------------------------- URLs

TEST(OfferUrls, RefusesDangerousAndMalformedUrls) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"javascript:alert(1)", "javascript:"},
      {" javascript:alert(1)", "javascript:"},
      {"JaVaScRiPt:alert(1)", "javascript:"},
      {"\tjavascript:alert(1)", "javascript:"},
      {"data:text/html,<script>alert(1)</script>", "data:"},
      {"vbscript:msgbox(1)", "vbscript:"},
      {"ftp://shop.example/x", "http://"},
      {"cart", "path starting with '/'"},
      {"", "must not be empty"},
      {"//evil.example/x", "protocol-relative"},
      {"/\\evil.example", "'\\'"},
      {"/\t/evil.example", "control characters"},
      {"/cart\n", "control characters"},
      {"https://shop.example/a b", "spaces"},
      {"https://", "must name a host"},
      {"https:///evil.example", "must name a host"},
      {"https:\\\\evil.example", "http://"},
      {"https://" + std::string(kMaxUrlBytes, 'a'), "over the limit of 2048"},
  };
  for (const auto& item : bad) {
    const std::string& url = item.first;
    const std::string& reason = item.second;
    Errors e = offer_errors([&](json& x) {
      x["content"]["image"] = url;
      x["content"]["cta"]["url"] = url;
    });
    EXPECT_TRUE(has_error(e, "$.offers[0].content.image", reason)) << url << "\n" << describe(e);
    EXPECT_TRUE(has_error(e, "$.offers[0].content.cta.url", reason)) << url << "\n" << describe(e);
    EXPECT_EQ(e.size(), 2u) << url << "\n" << describe(e);
  }
}

TEST(OfferUrls, AcceptsHttpAndRootRelativeUrls) {
  std::string longest = "https://a.example/";
  longest += std::string(kMaxUrlBytes - longest.size(), 'x');
  for (const std::string& url : {std::string("https://shop.example/cart?x=1&y=2#top"), std::string("http://shop.example"),
                                 std::string("HTTPS://Shop.Example/Cart"), std::string("/"), std::string("/cart/10%20off"),
                                 std::string("/img/caf\xC3\xA9.png"), longest}) {
    json o = cart_offer();
    o["content"]["image"] = url;
    o["content"]["cta"]["url"] = url;
    Errors errors;
    EXPECT_TRUE(parse_catalog(artifact(json::array({o})), segment_exists, errors).has_value()) << url << "\n"
                                                                                               << describe(errors);
  }
}

// ---------------------------------------------------------------- eligibility rules

TEST(OfferCatalog, RefusesBehaviouralEligibility) {
  const char* reason = "behavioural conditions belong in a segment";
  Errors e = offer_errors([](json& x) {
    x["eligibility"] = parse(R"({"and": [
      {"path": "profile.tier", "op": "eq", "value": "gold"},
      {"count": {"event": {"type": "commerce.productViews"}, "within": "1d"}, "op": "gte", "value": 2},
      {"or": [{"segment": "vip"}, {"not": {"since": {"event": {"type": "commerce.purchases"}}, "op": "gt", "value": "30d"}}]}]})");
  });
  EXPECT_TRUE(has_error(e, "$.offers[0].eligibility.and[1].count", reason)) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].eligibility.and[2].or[1].not.since", reason)) << describe(e);
  EXPECT_EQ(e.size(), 2u) << describe(e);

  e = offer_errors([](json& x) {
    x["eligibility"] = parse(R"({"sum": {"event": {"type": "commerce.purchases"}, "field": "event.commerce.order.priceTotal"},
                                 "op": "gt", "value": 100})");
  });
  EXPECT_TRUE(has_error(e, "$.offers[0].eligibility.sum", reason)) << describe(e);
  e = offer_errors([](json& x) {
    x["eligibility"] = parse(R"({"sequence": [{"event": {"type": "commerce.productListAdds"}},
                                 {"absent": {"type": "commerce.purchases"}, "for": "30m"}]})");
  });
  EXPECT_TRUE(has_error(e, "$.offers[0].eligibility.sequence", reason)) << describe(e);
  // A malformed aggregate is still reported as behavioural, next to the rule's own error.
  e = offer_errors([](json& x) { x["eligibility"] = parse(R"({"count": {}, "op": "gte", "value": 1})"); });
  EXPECT_TRUE(has_error(e, "$.offers[0].eligibility.count", reason)) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].eligibility.count.event", "is required")) << describe(e);
}

TEST(OfferCatalog, EligibilityRuleErrors) {
  Errors e = offer_errors([](json& x) {
    x["eligibility"] = parse(R"({"or": [{"segment": "vip"}, {"segment": "ghost"}, {"not": {"segment": "spirit"}}]})");
  });
  EXPECT_TRUE(has_error(e, "$.offers[0].eligibility.or[1].segment", "names unknown segment 'ghost'")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.offers[0].eligibility.or[2].not.segment", "names unknown segment 'spirit'")) << describe(e);
  EXPECT_EQ(e.size(), 2u) << describe(e);

  e = offer_errors([](json& x) { x["eligibility"] = parse(R"({"path": "event.x", "op": "eq", "value": 1})"); });
  EXPECT_TRUE(has_error(e, "$.offers[0].eligibility.path", "event paths")) << describe(e);
  e = offer_errors([](json& x) { x["eligibility"] = parse(R"({"path": "profile.tier", "op": "is", "value": 1})"); });
  EXPECT_TRUE(has_error(e, "$.offers[0].eligibility.op", "unknown operator")) << describe(e);
  e = offer_errors([](json& x) { x["eligibility"] = "vip"; });
  EXPECT_TRUE(has_error(e, "$.offers[0].eligibility", "must be an object")) << describe(e);
}

TEST(OfferCatalog, ReportsEveryErrorAtOnceAndKeepsEarlierOnes) {
  json a = cart_offer(), b = cart_offer();
  b["id"] = "b";
  a["content"]["image"] = "javascript:alert(1)";
  b["priority"] = "high";
  b["placements"] = {"nowhere"};
  Errors errors{{"$.version", "earlier"}};
  EXPECT_FALSE(parse_catalog(artifact(json::array({a, b})), segment_exists, errors).has_value());
  EXPECT_EQ(errors.size(), 4u) << describe(errors);
  EXPECT_EQ(errors[0].path, "$.version");
  EXPECT_TRUE(has_error(errors, "$.offers[0].content.image", "javascript:")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.offers[1].priority", "integer")) << describe(errors);
  EXPECT_TRUE(has_error(errors, "$.offers[1].placements[0]", "unknown placement")) << describe(errors);

  // Errors from elsewhere in the artifact do not refuse a valid catalog.
  Errors earlier{{"$.segments[0]", "elsewhere"}};
  EXPECT_TRUE(parse_catalog(artifact(json::array({cart_offer()})), segment_exists, earlier).has_value());
  EXPECT_EQ(earlier.size(), 1u);
}

// ---------------------------------------------------------------- render

TEST(OfferRender, TextFieldsRawHtmlEscaped) {
  json o = cart_offer();
  o["html"] = R"(<strong>{{offer.title}}</strong><p>{{ profile.firstName }}</p><a href="{{offer.cta.url}}"><img src="{{offer.image}}">{{offer.cta.label}}</a>)";
  o["content"]["cta"]["label"] = "Go, {{profile.firstName}}";
  o["content"]["cta"]["url"] = "https://shop.example/cart?a=1&b=2";
  o["content"]["body"] = "{{profile.firstName}} & co";
  Catalog c = catalog_of(artifact(json::array({o})));
  const std::string evil = "<img src=x onerror=alert(1)>";
  Rendered r = render(c.offers[0], json{{"firstName", evil}});
  EXPECT_EQ(r.title, "Still thinking it over, " + evil + "?");
  EXPECT_EQ(r.body, evil + " & co");
  EXPECT_EQ(r.cta_label, "Go, " + evil);
  EXPECT_EQ(r.cta_url, "https://shop.example/cart?a=1&b=2");
  EXPECT_EQ(r.image, "https://shop.example/img/cart.png");
  const std::string escaped = "&lt;img src=x onerror=alert(1)&gt;";
  EXPECT_EQ(r.html, "<strong>Still thinking it over, " + escaped + "?</strong><p>" + escaped +
                        "</p><a href=\"https://shop.example/cart?a=1&amp;b=2\"><img "
                        "src=\"https://shop.example/img/cart.png\">Go, " + escaped + "</a>");
  EXPECT_EQ(r.html.find("<img src=x"), std::string::npos);
}

TEST(OfferRender, DefaultsAndMissingFields) {
  json o = cart_offer();
  o["content"] = json{{"title", "Hi {{profile.firstName|friend}}, {{profile.points}} points"}};
  o["html"] = "[{{offer.body}}|{{offer.image}}|{{offer.cta.url}}|{{profile.nothing|none}}]";
  Catalog c = catalog_of(artifact(json::array({o})));
  Rendered r = render(c.offers[0], json::object());
  EXPECT_EQ(r.title, "Hi friend,  points");
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.image, "");
  EXPECT_EQ(r.cta_label, "");
  EXPECT_EQ(r.cta_url, "");
  EXPECT_EQ(r.html, "[|||none]");
  // Attributes that are not an object read as an empty profile.
  EXPECT_EQ(render(c.offers[0], json(nullptr)).title, "Hi friend,  points");
  EXPECT_EQ(render(c.offers[0], json{{"firstName", "Ada"}, {"points", 1200}}).title, "Hi Ada, 1200 points");
  // Default text is escaped in html mode too.
  o["html"] = "{{profile.firstName|<you>}}";
  EXPECT_EQ(render(catalog_of(artifact(json::array({o}))).offers[0], json::object()).html, "&lt;you&gt;");
}

TEST(OfferRender, ToJsonOmitsEmptyOptionalFields) {
  Rendered r;
  r.title = "T";
  EXPECT_EQ(to_json(r), (json{{"title", "T"}, {"body", ""}}));
  r.body = "B";
  r.image = "/i.png";
  r.cta_label = "Go";
  r.cta_url = "/go";
  r.html = "<b>T</b>";
  EXPECT_EQ(to_json(r), (json{{"title", "T"},
                              {"body", "B"},
                              {"image", "/i.png"},
                              {"cta", {{"label", "Go"}, {"url", "/go"}}},
                              {"html", "<b>T</b>"}}));
}

// ---------------------------------------------------------------- eligible

TEST(OfferEligibility, ProfileComparisonsAndSegments) {
  json gold = cart_offer();
  gold["eligibility"] = parse(R"({"and": [{"path": "profile.tier", "op": "eq", "value": "gold"},
                                          {"not": {"segment": "lapsed"}}]})");
  json plain = cart_offer();
  plain["id"] = "plain";
  Catalog c = catalog_of(artifact(json::array({gold, plain})));
  std::vector<std::string> asked;
  auto none = [&](std::string_view s) {
    asked.emplace_back(s);
    return false;
  };
  auto lapsed = [](std::string_view s) { return s == "lapsed"; };
  EXPECT_TRUE(eligible(c.offers[0], json{{"tier", "gold"}}, none, kT0));
  EXPECT_EQ(asked, (std::vector<std::string>{"lapsed"}));
  EXPECT_FALSE(eligible(c.offers[0], json{{"tier", "gold"}}, lapsed, kT0));
  EXPECT_FALSE(eligible(c.offers[0], json{{"tier", "silver"}}, none, kT0));
  EXPECT_FALSE(eligible(c.offers[0], json(nullptr), none, kT0));
  // Without a rule an offer is never eligible on its own.
  EXPECT_FALSE(eligible(c.offers[1], json{{"tier", "gold"}}, none, kT0));
}

// ---------------------------------------------------------------- decide

// An offer for `places` with a priority and an optional eligibility rule.
json offer(const std::string& id, int priority, const json& places, const char* eligibility = nullptr) {
  json o = cart_offer();
  o["id"] = id;
  o["priority"] = priority;
  o["placements"] = places;
  o.erase("html");
  if (eligibility) o["eligibility"] = parse(eligibility);
  return o;
}

constexpr const char* kGold = R"({"path": "profile.tier", "op": "eq", "value": "gold"})";
constexpr const char* kVip = R"({"segment": "vip"})";

struct Decider {
  Catalog catalog;
  json profile = json{{"tier", "gold"}, {"firstName", "Ada"}};
  std::vector<std::string> members;
  std::vector<int> capped_offers;

  std::optional<Decision> operator()(std::string_view placement, const std::vector<Assignment>& assignments = {},
                                     std::string_view profile_id = "p1") const {
    auto member = [&](std::string_view s) {
      return std::find(members.begin(), members.end(), s) != members.end();
    };
    auto capped = [&](int o) {
      return std::find(capped_offers.begin(), capped_offers.end(), o) != capped_offers.end();
    };
    return decide(catalog, placement, assignments, profile, member, capped, profile_id, kT0);
  }
};

Assignment assign(int offer, const std::string& placement, const std::string& journey = "cart-recovery") {
  return Assignment{offer, placement, "prop-" + journey, journey, "inst-" + journey, "tile"};
}

TEST(OfferDecide, HighestPriorityThenSmallestId) {
  Decider d{catalog_of(artifact(json::array({offer("low", 1, {"hero"}, kGold), offer("high", 5, {"hero"}, kGold),
                                             offer("tie-b", 3, {"sidebar"}, kGold),
                                             offer("tie-a", 3, {"sidebar"}, kGold)})))};
  auto hero = d("hero");
  ASSERT_TRUE(hero.has_value());
  EXPECT_EQ(hero->offer_id, "high");
  EXPECT_EQ(hero->offer, 1);
  auto side = d("sidebar");
  ASSERT_TRUE(side.has_value());
  EXPECT_EQ(side->offer_id, "tie-a");
  EXPECT_EQ(side->offer, 3);
  EXPECT_FALSE(d("footer").has_value());
}

TEST(OfferDecide, OffersWithoutEligibilityOnlyThroughJourneys) {
  Decider d{catalog_of(artifact(json::array({offer("cart-10", 10, {"hero", "sidebar"}), offer("other", 1, {"sidebar"})})))};
  EXPECT_FALSE(d("hero").has_value());
  // An assignment for another placement, or of an offer not listed there, shows nothing.
  EXPECT_FALSE(d("hero", {assign(0, "sidebar"), assign(1, "hero")}).has_value());
  EXPECT_FALSE(d("hero", {assign(-1, "hero"), assign(7, "hero")}).has_value());

  auto shown = d("hero", {assign(0, "hero")});
  ASSERT_TRUE(shown.has_value());
  EXPECT_EQ(shown->offer_id, "cart-10");
  EXPECT_EQ(shown->placement, "hero");
  EXPECT_EQ(shown->proposition, "prop-cart-recovery");
  EXPECT_EQ(shown->journey, "cart-recovery");
  EXPECT_EQ(shown->instance, "inst-cart-recovery");
  EXPECT_EQ(shown->step, "tile");
  EXPECT_EQ(shown->content.title, "Still thinking it over, Ada?");
}

TEST(OfferDecide, AssignmentsAndEligibilityCompeteOnPriority) {
  Decider d{catalog_of(artifact(json::array({offer("journey", 5, {"hero"}), offer("gold", 7, {"hero"}, kGold)})))};
  auto both = d("hero", {assign(0, "hero")});
  ASSERT_TRUE(both.has_value());
  EXPECT_EQ(both->offer_id, "gold");
  EXPECT_EQ(both->journey, "");
  d.profile["tier"] = "silver";
  auto journey = d("hero", {assign(0, "hero")});
  ASSERT_TRUE(journey.has_value());
  EXPECT_EQ(journey->offer_id, "journey");
}

TEST(OfferDecide, AnAssignedOfferKeepsItsJourneyEvenWhenEligible) {
  Decider d{catalog_of(artifact(json::array({offer("gold", 7, {"hero"}, kGold)})))};
  auto r = d("hero", {assign(0, "hero", "first"), assign(0, "hero", "second")});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->journey, "first");
  EXPECT_EQ(r->proposition, "prop-first");
}

TEST(OfferDecide, CappedCandidatesAreRemoved) {
  Decider d{catalog_of(artifact(json::array({offer("a", 1, {"hero"}, kGold), offer("b", 9, {"hero"})})))};
  d.capped_offers = {1};
  auto r = d("hero", {assign(1, "hero")});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->offer_id, "a");
  d.capped_offers = {0, 1};
  EXPECT_FALSE(d("hero", {assign(1, "hero")}).has_value());
  // Nothing capped, no segment known.
  EXPECT_TRUE(decide(d.catalog, "hero", {}, d.profile, nullptr, [](int) { return false; }, "p1", kT0).has_value());
}

TEST(OfferDecide, SegmentEligibilityAsksMember) {
  Decider d{catalog_of(artifact(json::array({offer("vip-only", 1, {"hero"}, kVip)})))};
  EXPECT_FALSE(d("hero").has_value());
  d.members = {"vip"};
  auto r = d("hero");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->offer_id, "vip-only");
}

TEST(OfferDecide, EligibilityPropositionIdsAreStableAndDistinct) {
  Decider d{catalog_of(artifact(json::array({offer("cart-10", 1, {"hero", "sidebar"}, kGold)})))};
  auto hero = d("hero");
  auto side = d("sidebar");
  ASSERT_TRUE(hero && side);
  EXPECT_EQ(hero->proposition, stable_id({"p1", "offer", "cart-10", "hero"}));
  EXPECT_EQ(side->proposition, stable_id({"p1", "offer", "cart-10", "sidebar"}));
  EXPECT_NE(hero->proposition, side->proposition);
  EXPECT_EQ(d("hero")->proposition, hero->proposition);
  EXPECT_NE(d("hero", {}, "p2")->proposition, hero->proposition);
  EXPECT_EQ(hero->proposition.size(), 16u);
}

TEST(OfferDecide, ToJson) {
  json o = offer("cart-10", 1, {"hero"}, kGold);
  o["html"] = "<b>{{offer.title}}</b>";
  Decider d{catalog_of(artifact(json::array({o})))};
  auto alone = d("hero");
  ASSERT_TRUE(alone.has_value());
  json j = to_json(*alone);
  EXPECT_EQ(j["placement"], "hero");
  EXPECT_EQ(j["offer"], "cart-10");
  EXPECT_EQ(j["proposition"], alone->proposition);
  EXPECT_FALSE(j.contains("journey"));
  EXPECT_FALSE(j.contains("instance"));
  EXPECT_FALSE(j.contains("step"));
  EXPECT_EQ(j["content"]["html"], "<b>Still thinking it over, Ada?</b>");
  EXPECT_EQ(j["content"], to_json(alone->content));
  EXPECT_FALSE(j.contains("html"));

  json via = to_json(*d("hero", {assign(0, "hero")}));
  EXPECT_EQ(via["journey"], "cart-recovery");
  EXPECT_EQ(via["instance"], "inst-cart-recovery");
  EXPECT_EQ(via["step"], "tile");
  EXPECT_EQ(via["proposition"], "prop-cart-recovery");
}

// ---------------------------------------------------------------- stable_id

// FNV-1a 64 of `bytes` as 16 lowercase hex digits, written out independently.
std::string reference_fnv(const std::string& bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

TEST(OfferStableId, KnownValues) {
  EXPECT_EQ(stable_id({}), "cbf29ce484222325");   // FNV-1a 64 of ""
  EXPECT_EQ(stable_id({"a"}), "af63dc4c8601ec8c");  // FNV-1a 64 of "a"
  EXPECT_EQ(stable_id({"a", "b"}), reference_fnv("a\x1f" "b"));
  EXPECT_EQ(stable_id({"p1", "offer", "cart-10", "hero"}), reference_fnv("p1\x1foffer\x1f" "cart-10\x1fhero"));
  EXPECT_EQ(stable_id({"", ""}), reference_fnv("\x1f"));
}

TEST(OfferStableId, PartsAndTheirOrderMatter) {
  EXPECT_NE(stable_id({"a", "b"}), stable_id({"b", "a"}));
  EXPECT_NE(stable_id({"a", "b"}), stable_id({"ab"}));
  EXPECT_NE(stable_id({"a", "bc"}), stable_id({"ab", "c"}));
  std::string id = stable_id({"a", "b"});
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace
}  // namespace rekindle::offers
