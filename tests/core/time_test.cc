#include "core/common/time.h"

#include <gtest/gtest.h>

#include <limits>

namespace rekindle {
namespace {

TEST(Iso8601, ParsesUtcAndOffsets) {
  EXPECT_EQ(parse_iso8601("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_iso8601("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(parse_iso8601("2026-12-04T15:53:00Z"), 1796399580000);
  EXPECT_EQ(parse_iso8601("2026-12-04T16:53:00+01:00"), 1796399580000);
  EXPECT_EQ(parse_iso8601("2026-12-04T10:23:00-0530"), 1796399580000);
  EXPECT_EQ(parse_iso8601("2024-02-29T00:00:00.123456Z"), 1709164800123);
}

TEST(Iso8601, RefusesAmbiguousOrImpossibleTimes) {
  for (const char* bad : {"", "2026-12-04", "2026-12-04T15:53:00", "2026-13-01T00:00:00Z",
                          "2025-02-29T00:00:00Z", "2026-12-04T24:00:00Z", "2026-12-04T15:60:00Z",
                          "2026-12-04T15:53:00Zjunk", "2026-12-04T15:53:00+25:00", "not a date",
                          "2026-12-04T15:53:00.Z"}) {
    EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
  }
}

TEST(Iso8601, FormatsRoundTrip) {
  for (TimeMs t : {0LL, 1796399580123LL, -86400001LL, 951782400000LL}) {
    EXPECT_EQ(parse_iso8601(format_iso8601(t)), t) << format_iso8601(t);
  }
  EXPECT_EQ(format_iso8601(1796399580123), "2026-12-04T15:53:00.123Z");
}

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(parse_duration("250ms"), 250);
  EXPECT_EQ(parse_duration("30s"), 30 * kSecond);
  EXPECT_EQ(parse_duration("30m"), 30 * kMinute);
  EXPECT_EQ(parse_duration("24h"), 24 * kHour);
  EXPECT_EQ(parse_duration("30d"), 30 * kDay);
  EXPECT_EQ(parse_duration("2w"), 14 * kDay);
  for (const char* bad : {"", "m", "30", "-5m", "1.5h", "30 m", "30y", "99999999999999d"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
  EXPECT_EQ(format_duration(30 * kMinute), "30m");
  EXPECT_EQ(format_duration(90 * kSecond), "90s");
  EXPECT_EQ(format_duration(1500), "1500ms");
}

}  // namespace
// Any 64-bit time formats without overflow (an engine's snapshot may hold the
// extremes its restore then refuses; error messages still print them).
TEST(Iso8601, FormatsTheExtremesOfA64BitTime) {
  EXPECT_EQ(format_iso8601(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601(kMaxTime), "275760-09-13T00:00:00.000Z");
  EXPECT_FALSE(format_iso8601(std::numeric_limits<int64_t>::min()).empty());
  EXPECT_FALSE(format_iso8601(std::numeric_limits<int64_t>::max()).empty());
}

}  // namespace rekindle
