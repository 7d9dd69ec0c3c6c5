// snprintf.cc against the C library's snprintf (not wrapped in this test):
// the same bytes written and the same length returned, with and without
// truncation, for the formats the module uses and random integer conversions
// (all that snprintf.cc formats).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

extern "C" int __wrap_snprintf(char* out, size_t size, const char* format, ...);

namespace {

#pragma clang diagnostic ignored "-Wformat-nonliteral"
#pragma clang diagnostic ignored "-Wformat-security"

template <class... Args>
::testing::AssertionResult same_as_libc(const std::string& format, size_t size, Args... args) {
  char libc[512], ours[512];
  std::memset(libc, 'Z', sizeof libc);
  std::memset(ours, 'Z', sizeof ours);
  const int n_libc = std::snprintf(libc, size, format.c_str(), args...);
  const int n_ours = __wrap_snprintf(ours, size, format.c_str(), args...);
  if (n_libc == n_ours && std::memcmp(libc, ours, sizeof libc) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << format << "\" size " << size << ": libc " << n_libc << " \""
                                       << std::string(libc, std::min<size_t>(size, 80)) << "\", ours " << n_ours
                                       << " \"" << std::string(ours, std::min<size_t>(size, 80)) << "\"";
}

TEST(Snprintf, TheModulesFormats) {
  for (size_t size : {0u, 1u, 5u, 10u, 24u, 25u, 64u}) {
    for (long long year : {0LL, 1970LL, 2026LL, 9999LL, -1LL, 275760LL, -271821LL}) {
      EXPECT_TRUE(same_as_libc("%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", size, year, 3u, 14u, 9LL, 26LL,
                               53LL, 5LL));
    }
  }
  for (unsigned c : {0u, 0x1fu, 0x7fu, 0xabu, 0xffu}) {
    EXPECT_TRUE(same_as_libc("\\u%04x", 7, c));
    EXPECT_TRUE(same_as_libc("<U+%.4X>", 9, c));
  }
}

TEST(Snprintf, RandomConversions) {
  std::mt19937_64 rng(5);
  const char* lengths[] = {"", "hh", "h", "l", "ll", "j", "z", "t"};
  for (int i = 0; i < 20000; ++i) {
    std::string spec = "%";
    for (char flag : std::string("-+ 0"))
      if (rng() % 4 == 0) spec += flag;
    if (rng() % 2) spec += std::to_string(rng() % 40);
    if (rng() % 3 == 0) spec += "." + std::to_string(rng() % 30);
    const char conversion = "diuxX"[rng() % 5];
    const std::string length = lengths[rng() % 8];
    const std::string format = "<" + spec + length + conversion + ">";
    const size_t size = std::vector<size_t>{0, 1, 3, 8, 64, 512}[rng() % 6];
    const uint64_t bits = rng() >> (rng() % 64);
    if (length == "ll") ASSERT_TRUE(same_as_libc(format, size, static_cast<long long>(bits)));
    else if (length == "j") ASSERT_TRUE(same_as_libc(format, size, static_cast<intmax_t>(bits)));
    else if (length == "l") ASSERT_TRUE(same_as_libc(format, size, static_cast<long>(bits)));
    else if (length == "z") ASSERT_TRUE(same_as_libc(format, size, static_cast<size_t>(bits)));
    else if (length == "t") ASSERT_TRUE(same_as_libc(format, size, static_cast<ptrdiff_t>(bits)));
    else ASSERT_TRUE(same_as_libc(format, size, static_cast<int>(bits)));
  }
  EXPECT_TRUE(same_as_libc("%d%% of %u, 100%%", 64, 50, 7u));
  EXPECT_TRUE(same_as_libc("no conversion", 5));
  EXPECT_TRUE(same_as_libc("%300d|%-300x|", 512, 7, 255u));  // longer than any buffer
  EXPECT_TRUE(same_as_libc("%.0d|%.0x|%5.0u|", 64, 0, 0u, 0u));  // zero with precision 0: no digit
}

}  // namespace
