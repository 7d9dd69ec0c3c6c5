// The JSON helpers every part of the core shares (core/common/json_depth.h).
#include "core/common/json_depth.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace rekindle {
namespace {

using nlohmann::json;

// dumped_size is what dump writes, byte for byte, whatever the value.
TEST(DumpedSize, IsTheLengthOfWhatDumpWrites) {
  std::vector<json> values = {
      nullptr, true, false, 0, 7, -7, 10, 99, 100, -1000,
      std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
      std::numeric_limits<uint64_t>::max(), 0u,
      0.0, -0.0, 1.0, 1.5, -2.25, 0.1, 89.99, 1e21, 1e-7, 123456789.125, 5e-324, 1.7976931348623157e308,
      std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
      "", "plain", "quote \" backslash \\ slash /", "\b\f\n\r\t", std::string("\x01\x1f\x7f", 3),
      std::string("nul \0 inside", 12), "é ü ß", "日本語", "😀 U+1F600", "\xEF\xBF\xBD",
      json::array(), json::object(), json::array({1, "two", nullptr, json::array({json::object()})}),
      json::parse(R"({"_id":"e1","eventType":"commerce.productListAdds","timestamp":"2026-12-04T15:53:00Z",
                      "productListItems":[{"SKU":"sku-1","name":"Trail \"shoe\"","quantity":1,"priceTotal":89.0}],
                      "data":{"k\nkey":{"deep":[true,false,null,-3,4.5e-3]},"":""}})"),
  };
  for (const auto& v : values) EXPECT_EQ(dumped_size(v), dump(v).size()) << dump(v);
}

// Text that is not UTF-8 (a tree built by code, never parsed): dump replaces
// what is invalid, and the size follows it.
TEST(DumpedSize, FollowsDumpOnTextThatIsNotUtf8) {
  const std::vector<std::string> bad = {
      "\x80", "a\xC0\xAF", "\xC3", "\xE0\x80\x80", "\xED\xA0\x80", "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80",
      "\xF5\x80\x80\x80", "\xFF", "ok \xE2\x82 cut", "\xE2\x82\xAC\xE2",
  };
  for (const auto& s : bad) {
    EXPECT_EQ(dumped_size(json(s)), dump(json(s)).size()) << s.size();
    json keyed = json::object();
    keyed[s] = s;
    EXPECT_EQ(dumped_size(keyed), dump(keyed).size());
  }
}

// An authored document that gives a key twice is refused at the second one's
// path: nlohmann would keep the last and drop the first without a word.
TEST(ParseJson, RefusesAKeyGivenTwiceWhereKeysMustBeUnique) {
  const JsonLimits unique{1024, 8, true};
  auto twice = parse_json(R"({"segments":[1],"journeys":[],"segments":[2]})", unique, "artifact");
  ASSERT_EQ(twice.errors.size(), 1u);
  EXPECT_EQ(twice.errors[0].path, "$.segments");
  EXPECT_EQ(twice.errors[0].reason, "is given twice in the same object: only the last would be read");

  auto nested = parse_json(R"({"a":[{"id":"x"},{"id":"y","rule":{"op":"eq","op":"gt"}}]})", unique, "artifact");
  ASSERT_EQ(nested.errors.size(), 1u);
  EXPECT_EQ(nested.errors[0].path, "$.a[1].rule.op");

  // Equal keys in different objects, and equal values, are fine.
  auto apart = parse_json(R"({"a":{"id":"x"},"b":{"id":"x"},"c":["id","id"],"id":"id"})", unique, "artifact");
  EXPECT_TRUE(apart.ok());
  EXPECT_EQ(apart.value["b"]["id"], "x");

  // Documents that are not authored (events) keep JSON's last-wins reading.
  auto event = parse_json(R"({"k":1,"k":2})", JsonLimits{1024, 8}, "event");
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event.value["k"], 2);
}

// Nesting past the limit is named at the container that passes it.
TEST(ParseJson, NamesWhereNestingPassesTheLimit) {
  auto deep = parse_json(R"({"a":{"b":[[1]]}})", JsonLimits{1024, 3}, "event");
  ASSERT_EQ(deep.errors.size(), 1u);
  EXPECT_EQ(deep.errors[0].path, "$.a.b[0]");
  EXPECT_EQ(deep.errors[0].reason, "event nests deeper than 3 levels");
}

}  // namespace
}  // namespace rekindle
