#include "core/engine/engine.h"

#include <gtest/gtest.h>

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

TEST(Engine, HasAVersion) { EXPECT_STREQ(Engine::version(), "0.1.0"); }

}  // namespace
}  // namespace rekindle::engine
