#include "core/profile/fragment.h"

#include <gtest/gtest.h>

#include "tests/core/error_matchers.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/common/json_depth.h"

namespace rekindle::profile {
namespace {

using nlohmann::json;

FieldValue fv(json value, TimeMs ts, std::string origin) { return {std::move(value), ts, std::move(origin)}; }

std::string describe(const Fragment& f) { return rekindle::dump(to_json(f)); }


// Random fragments drawn from small pools, so that keys collide, timestamps
// tie, origins tie, and only the value tells two writes apart.
class FragmentGenerator {
 public:
  explicit FragmentGenerator(uint32_t seed) : rng_(seed) {}

  Fragment next() {
    Fragment f;
    static const char* kIds[] = {"", "", "dev-a", "dev-b", "server-1"};
    f.profile_id = kIds[pick(std::size(kIds))];
    static const char* kKeys[] = {"attributes.tier", "attributes.firstName", "attributes.address",
                                  "attributes.address.city", "attributes.address.zip",
                                  "attributes.a-b", "consent.marketing.email", "consent.analytics"};
    for (size_t n = pick(6); n > 0; --n) f.fields[kKeys[pick(std::size(kKeys))]] = value();
    static const Identity kIdentities[] = {{"device", "dev-a"}, {"device", "dev-b"},
                                           {"email", "ada@example.com"}, {"email", "ada@work.example"},
                                           {"phone", "+33600000000"}, {"crm", "42"}};
    for (size_t n = pick(4); n > 0; --n) f.identities.insert(kIdentities[pick(std::size(kIdentities))]);
    return f;
  }

  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  std::mt19937& rng() { return rng_; }

 private:
  FieldValue value() {
    // Integer vs float and 0 vs -0.0 are distinct writes with distinct text.
    static const json kValues[] = {nullptr, nullptr, 1, 1.0, -0.0, 0, "gold", "silver", "",
                                   true, false, json::array({1, 2}), json::array({2, 1}),
                                   json::array({json{{"k", "v"}}})};
    static const char* kOrigins[] = {"device:dev-a", "device:dev-b", "server"};
    return fv(kValues[pick(std::size(kValues))], static_cast<TimeMs>(1000 + pick(3)),
              kOrigins[pick(std::size(kOrigins))]);
  }

  std::mt19937 rng_;
};

TEST(FragmentWins, OrdersByTimeThenOriginThenValueText) {
  EXPECT_TRUE(wins(fv("a", 2, "a"), fv("b", 1, "z")));
  EXPECT_FALSE(wins(fv("b", 1, "z"), fv("a", 2, "a")));
  // Equal times: the larger origin.
  EXPECT_TRUE(wins(fv("a", 1, "server"), fv("b", 1, "device:x")));
  // Equal time and origin: the larger serialized value, byte by byte.
  EXPECT_TRUE(wins(fv("b", 1, "o"), fv("a", 1, "o")));
  // Bytes, not numbers: "2" > "10".
  EXPECT_TRUE(wins(fv(2, 1, "o"), fv(10, 1, "o")));
}

TEST(FragmentWins, IsATotalOrder) {
  std::vector<FieldValue> all = {fv(1, 1, "o"), fv(1.0, 1, "o"), fv(-0.0, 1, "o"), fv(0, 1, "o"),
                                 fv(nullptr, 1, "o"), fv("x", 1, "o"), fv(json::array(), 1, "o"),
                                 fv(1, 1, "p"), fv(1, 2, "o")};
  for (const auto& a : all) {
    EXPECT_FALSE(wins(a, a));
    EXPECT_EQ(a, a);
    for (const auto& b : all) {
      if (&a == &b) continue;
      // Exactly one of two different writes wins.
      EXPECT_NE(wins(a, b), wins(b, a)) << dump(a.value) << " vs " << dump(b.value);
      for (const auto& c : all)
        if (wins(a, b) && wins(b, c)) EXPECT_TRUE(wins(a, c));
    }
  }
}

TEST(FragmentWins, StaysTotalForValuesThatSkippedValidation) {
  // Two invalid UTF-8 strings dump to the same replacement text.
  FieldValue a = fv(std::string("\xff"), 1, "o");
  FieldValue b = fv(std::string("\xfe"), 1, "o");
  ASSERT_EQ(dump(a.value), dump(b.value));
  EXPECT_NE(wins(a, b), wins(b, a));
}

TEST(FragmentMerge, KeepsTheWinningWriteOfEachField) {
  Fragment a;
  a.profile_id = "dev-b";
  a.fields["attributes.tier"] = fv("gold", 10, "device:dev-b");
  a.fields["attributes.city"] = fv("Paris", 5, "device:dev-b");
  a.identities = {{"device", "dev-b"}};
  Fragment b;
  b.profile_id = "dev-a";
  b.fields["attributes.tier"] = fv("silver", 9, "server");
  b.fields["attributes.city"] = fv(nullptr, 6, "server");  // a later deletion wins
  b.fields["consent.analytics"] = fv("granted", 1, "server");
  b.identities = {{"device", "dev-a"}, {"email", "ada@example.com"}};

  Fragment m = merge(a, b);
  EXPECT_EQ(m.profile_id, "dev-a");
  EXPECT_EQ(m.fields["attributes.tier"], fv("gold", 10, "device:dev-b"));
  EXPECT_EQ(m.fields["attributes.city"], fv(nullptr, 6, "server"));
  EXPECT_EQ(m.fields["consent.analytics"], fv("granted", 1, "server"));
  EXPECT_EQ(m.identities.size(), 3u);
}

TEST(FragmentMerge, TakesTheOnlyProfileId) {
  Fragment a, b;
  b.profile_id = "dev-z";
  EXPECT_EQ(merge(a, b).profile_id, "dev-z");
  EXPECT_EQ(merge(b, a).profile_id, "dev-z");
}

TEST(FragmentMerge, MergingIntoItselfChangesNothing) {
  FragmentGenerator gen(7);
  Fragment f = gen.next();
  Fragment copy = f;
  merge_into(f, f);
  EXPECT_EQ(f, copy);
}

// The properties that let the device, other tabs and the server merge in any
// order and still agree.
TEST(FragmentMergeProperties, CommutativeAssociativeIdempotent) {
  FragmentGenerator gen(20261204);
  for (int i = 0; i < 500; ++i) {
    Fragment a = gen.next(), b = gen.next(), c = gen.next();
    Fragment ab = merge(a, b);
    ASSERT_EQ(ab, merge(b, a)) << describe(a) << "\n" << describe(b);
    ASSERT_EQ(merge(ab, c), merge(a, merge(b, c))) << describe(a) << "\n" << describe(b) << "\n" << describe(c);
    ASSERT_EQ(merge(a, a), a) << describe(a);
    ASSERT_EQ(merge(ab, b), ab) << describe(a) << "\n" << describe(b);
  }
}

TEST(FragmentMergeProperties, AnyOrderOfManyFragmentsGivesTheSameProfile) {
  FragmentGenerator gen(4242);
  for (int i = 0; i < 100; ++i) {
    std::vector<Fragment> parts;
    for (size_t n = 2 + gen.pick(6); n > 0; --n) parts.push_back(gen.next());
    Fragment expected;
    for (const auto& p : parts) merge_into(expected, p);
    for (int round = 0; round < 5; ++round) {
      std::shuffle(parts.begin(), parts.end(), gen.rng());
      Fragment got;
      for (const auto& p : parts) merge_into(got, p);
      ASSERT_EQ(got, expected);
      // A split in two halves merged separately, as two tabs would.
      size_t cut = gen.pick(parts.size() + 1);
      Fragment left, right;
      for (size_t k = 0; k < parts.size(); ++k) merge_into(k < cut ? left : right, parts[k]);
      ASSERT_EQ(merge(right, left), expected);
      EXPECT_EQ(materialize(got.fields, "attributes"), materialize(expected.fields, "attributes"));
    }
  }
}

TEST(FragmentJson, RoundTripsRandomFragmentsThroughText) {
  FragmentGenerator gen(99);
  for (int i = 0; i < 200; ++i) {
    Fragment f = gen.next();
    std::string text = dump(to_json(f));
    json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
    auto back = fragment_from_json(parsed);
    ASSERT_TRUE(back.ok()) << text << "\n" << describe(back.errors);
    ASSERT_EQ(*back.fragment, f) << text;
  }
}

TEST(FragmentJson, ReadsTheDocumentedForm) {
  json doc = json::parse(R"({"profileId": "dev-1",
    "identities": {"email": ["ada@example.com"], "device": ["dev-1"]},
    "fields": {"attributes.firstName": {"value": "Ada", "ts": 1796399580000, "origin": "device:dev-1"},
               "consent.marketing.email": {"value": null, "ts": 1, "origin": "server"}}})");
  auto r = fragment_from_json(doc);
  ASSERT_TRUE(r.ok()) << describe(r.errors);
  EXPECT_EQ(r.fragment->profile_id, "dev-1");
  EXPECT_EQ(r.fragment->identities, (Identities{{"device", "dev-1"}, {"email", "ada@example.com"}}));
  EXPECT_EQ(r.fragment->fields.at("attributes.firstName"), fv("Ada", 1796399580000, "device:dev-1"));
  EXPECT_TRUE(r.fragment->fields.at("consent.marketing.email").value.is_null());
  EXPECT_EQ(to_json(*r.fragment), doc);
}

TEST(FragmentJson, ReportsEveryProblemWithItsPath) {
  json doc = {
      {"profileId", 7},
      {"surprise", true},
      {"identities", {{"email", {"ok@example.com", "", 3}}, {"bad ns", {"x"}}, {"phone", "+33"}}},
      {"fields",
       {{"attributes.ok", {{"value", 1}, {"ts", 1}, {"origin", "o"}}},
        {"profile.tier", {{"value", 1}, {"ts", 1}, {"origin", "o"}}},
        {"attributes..x", {{"value", 1}, {"ts", 1}, {"origin", "o"}}},
        {"attributes", {{"value", 1}, {"ts", 1}, {"origin", "o"}}},
        {"attributes.obj", {{"value", {{"a", 1}}}, {"ts", 1}, {"origin", "o"}}},
        {"attributes.noValue", {{"ts", 1}, {"origin", "o"}}},
        {"attributes.badTs", {{"value", 1}, {"ts", 1.5}, {"origin", "o"}}},
        {"attributes.negTs", {{"value", 1}, {"ts", -1}, {"origin", "o"}}},
        {"attributes.badOrigin", {{"value", 1}, {"ts", 1}, {"origin", ""}}},
        {"attributes.extra", {{"value", 1}, {"ts", 1}, {"origin", "o"}, {"why", 1}}},
        {"attributes.long", {{"value", std::string(4097, 'x')}, {"ts", 1}, {"origin", "o"}}},
        {"attributes.list", {{"value", {1, std::string(4097, 'x')}}, {"ts", 1}, {"origin", "o"}}},
        {"attributes.scalar", 5}}}};
  auto r = fragment_from_json(doc);
  const Errors& e = r.errors;
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(e, "$.profileId", "must be a non-empty string")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.surprise", "is not a known field")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.identities.email[1]", "non-empty string")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.identities.email[2]", "non-empty string")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.identities[\"bad ns\"]", "not a valid identity namespace")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.identities.phone", "must be an array")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.fields[\"profile.tier\"]", "must start with 'attributes.'")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.fields[\"attributes..x\"]", "dotted segments")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.fields.attributes", "must start with 'attributes.'")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.fields[\"attributes.obj\"].value", "must not be an object")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.fields[\"attributes.noValue\"].value", "is required")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.fields[\"attributes.badTs\"].ts", "integer")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.fields[\"attributes.negTs\"].ts", "between 0 and")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.fields[\"attributes.badOrigin\"].origin", "non-empty string")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.fields[\"attributes.extra\"].why", "is not a known field")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.fields[\"attributes.long\"].value", "4097 bytes, over the limit of 4096"))
      << describe(e);
  EXPECT_TRUE(has_error(e, "$.fields[\"attributes.list\"].value[1]", "over the limit")) << describe(e);
  EXPECT_TRUE(has_error(e, "$.fields[\"attributes.scalar\"]", "must be an object with value")) << describe(e);
  EXPECT_EQ(e.size(), 18u) << describe(e);
}

TEST(FragmentJson, RefusesNonObjectsAndNestsPaths) {
  auto r = fragment_from_json(json::array(), "$.fragments[3]");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "$.fragments[3]");
  auto nested = fragment_from_json(json{{"fields", 1}}, "$.fragments[3]");
  EXPECT_TRUE(has_error(nested.errors, "$.fragments[3].fields", "must be an object")) << describe(nested.errors);
}

TEST(FragmentJson, EnforcesCountAndLengthLimits) {
  json fields = json::object();
  for (size_t i = 0; i <= kMaxFields; ++i)
    fields["attributes.f" + std::to_string(i)] = {{"value", 1}, {"ts", 1}, {"origin", "o"}};
  auto r = fragment_from_json(json{{"fields", fields}});
  EXPECT_TRUE(has_error(r.errors, "$.fields", "1001 fields, over the limit of 1000")) << describe(r.errors);
  EXPECT_TRUE(fragment_from_json(json{{"fields", fields}}, "$", kMaxFields + 1).ok());

  std::string long_key = "attributes." + std::string(kMaxKeyLength, 'k');
  auto k = fragment_from_json(json{{"fields", {{long_key, {{"value", 1}, {"ts", 1}, {"origin", "o"}}}}}});
  EXPECT_TRUE(has_error(k.errors, "$.fields[\"" + long_key + "\"]", "longer than 256")) << describe(k.errors);

  json ids = json::array();
  for (size_t i = 0; i <= kMaxIdentities; ++i) ids.push_back("id-" + std::to_string(i));
  auto n = fragment_from_json(json{{"identities", {{"crm", ids}}}});
  EXPECT_TRUE(has_error(n.errors, "$.identities", "101 identities")) << describe(n.errors);

  json deep = 1;
  for (int i = 0; i < kMaxDepth + 1; ++i) deep = json::array({deep});
  auto d = fragment_from_json(json{{"fields", {{"attributes.deep", {{"value", deep}, {"ts", 1}, {"origin", "o"}}}}}});
  ASSERT_EQ(d.errors.size(), 1u) << describe(d.errors);
  EXPECT_NE(d.errors[0].reason.find("deeper than 32"), std::string::npos);
}

TEST(FragmentJson, RefusesInvalidUtf8AndNonFiniteNumbers) {
  json bad_string = {{"fields", {{"attributes.s", {{"value", std::string("a\xc3")}, {"ts", 1}, {"origin", "o"}}}}}};
  EXPECT_TRUE(has_error(fragment_from_json(bad_string).errors, "$.fields[\"attributes.s\"].value", "UTF-8"));
  json nan = {{"fields", {{"attributes.n", {{"value", std::nan("")}, {"ts", 1}, {"origin", "o"}}}}}};
  EXPECT_TRUE(has_error(fragment_from_json(nan).errors, "$.fields[\"attributes.n\"].value", "finite"));
  // Surrogates and overlong forms are not UTF-8 either.
  for (std::string s : {std::string("\xed\xa0\x80"), std::string("\xc0\xaf"), std::string("\xf4\x90\x80\x80")})
    EXPECT_FALSE(is_valid_identity("email", s)) << s.size();
  EXPECT_TRUE(is_valid_identity("email", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
}

TEST(FragmentKeys, AcceptOnlyDottedIdentifiersUnderKnownRoots) {
  for (const char* ok : {"attributes.a", "attributes.address.city", "consent.marketing.email",
                         "attributes.$x", "attributes.a-b_c.9"})
    EXPECT_TRUE(is_valid_field_key(ok)) << ok;
  for (const char* bad : {"", "attributes", "attributes.", ".attributes.a", "attributes.a.",
                          "attributes..a", "attributes.a b", "other.a", "Attributes.a", "consent"})
    EXPECT_FALSE(is_valid_field_key(bad)) << bad;
  // As deep as set_attributes can write, and no deeper.
  std::string key = "attributes";
  for (int i = 0; i < kMaxDepth; ++i) key += ".a";
  EXPECT_TRUE(is_valid_field_key(key));
  EXPECT_FALSE(is_valid_field_key(key + ".a"));
  auto r = fragment_from_json(json{{"fields", {{key + ".a", {{"value", 1}, {"ts", 1}, {"origin", "o"}}}}}});
  EXPECT_TRUE(has_error(r.errors, "$.fields[\"" + key + ".a\"]", "more than 32 segments")) << describe(r.errors);
}

Fragment with_fields(std::initializer_list<std::pair<const std::string, FieldValue>> fields) {
  Fragment f;
  f.fields = fields;
  return f;
}

TEST(FragmentMaterialize, BuildsTheTreeOfLiveLeaves) {
  Fragment f = with_fields({{"attributes.firstName", fv("Ada", 1, "o")},
                            {"attributes.address.city", fv("Paris", 1, "o")},
                            {"attributes.address.zip", fv("75001", 1, "o")},
                            {"attributes.gone", fv(nullptr, 2, "o")},
                            {"consent.analytics", fv("granted", 1, "o")}});
  EXPECT_EQ(materialize(f.fields, "attributes"),
            (json{{"firstName", "Ada"}, {"address", {{"city", "Paris"}, {"zip", "75001"}}}}));
  EXPECT_EQ(materialize(f.fields, "consent"), (json{{"analytics", "granted"}}));
  EXPECT_EQ(materialize({}, "attributes"), json::object());
}

// "a" = 5 and "a.b" = 1 written concurrently: the newest write on the line
// of descent decides the shape, and an older write under a newer one stays
// hidden even when a still newer sibling brings the object back.
TEST(FragmentMaterialize, NewestWriteOnALineOfDescentDecides) {
  auto tree = [](std::initializer_list<std::pair<const std::string, FieldValue>> fields) {
    return materialize(with_fields(fields).fields, "attributes");
  };
  EXPECT_EQ(tree({{"attributes.a", fv(5, 2, "o")}, {"attributes.a.b", fv(1, 1, "o")}}), (json{{"a", 5}}));
  EXPECT_EQ(tree({{"attributes.a", fv(5, 1, "o")}, {"attributes.a.b", fv(1, 2, "o")}}),
            (json{{"a", {{"b", 1}}}}));
  EXPECT_EQ(tree({{"attributes.a", fv(5, 2, "o")}, {"attributes.a.x", fv(1, 1, "o")},
                  {"attributes.a.y", fv(2, 3, "o")}}),
            (json{{"a", {{"y", 2}}}}));
  // A deleted object hides what was under it, not what came after.
  EXPECT_EQ(tree({{"attributes.addr", fv(nullptr, 2, "o")}, {"attributes.addr.city", fv("Paris", 1, "o")},
                  {"attributes.addr.zip", fv("75001", 3, "o")}}),
            (json{{"addr", {{"zip", "75001"}}}}));
  // Deleting a leaf under a scalar turns the scalar into an empty object.
  EXPECT_EQ(tree({{"attributes.a", fv(5, 1, "o")}, {"attributes.a.b", fv(nullptr, 2, "o")}}), json::object());
  // "a-b" sorts between "a" and "a.b" but is not below "a".
  EXPECT_EQ(tree({{"attributes.a", fv(5, 2, "o")}, {"attributes.a-b", fv(1, 1, "o")}}),
            (json{{"a", 5}, {"a-b", 1}}));
  EXPECT_EQ(tree({{"attributes.a", fv(1, 1, "o")}, {"attributes.a.b", fv(2, 3, "o")},
                  {"attributes.a.b.c", fv(3, 2, "o")}}),
            (json{{"a", {{"b", 2}}}}));
}

}  // namespace
}  // namespace rekindle::profile
