// snprintf.cc against the C library's snprintf (not wrapped in this test):
// the same bytes written and the same length returned, with and without
// truncation, for the formats the module uses and random integer, character,
// string and pointer conversions.
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
  const char* strings[] = {"", "a", "hello", "a longer string of forty-some characters", nullptr};
  for (int i = 0; i < 20000; ++i) {
    std::string spec = "%";
    for (char flag : std::string("-+ #0"))
      if (rng() % 4 == 0) spec += flag;
    const bool star_width = rng() % 6 == 0, star_precision = rng() % 6 == 0;
    const int width = static_cast<int>(rng() % 40) - (star_width ? 20 : 0);
    const int precision = static_cast<int>(rng() % 30) - (star_precision ? 5 : 0);
    if (star_width) spec += '*';
    else if (rng() % 2) spec += std::to_string(width);
    if (star_precision) spec += ".*";
    else if (rng() % 3 == 0) spec += "." + std::to_string(precision);
    const char conversion = "diuoxXcsp"[rng() % 9];
    const bool integer = std::strchr("diuoxX", conversion) != nullptr;
    const std::string length = integer ? lengths[rng() % 8] : "";
    const std::string format = "<" + spec + length + conversion + ">";
    const size_t size = std::vector<size_t>{0, 1, 3, 8, 64, 512}[rng() % 6];
    const uint64_t bits = rng() >> (rng() % 64);
    auto check = [&](auto... stars) {
      if (conversion == 's') return same_as_libc(format, size, stars..., strings[rng() % 5]);
      if (conversion == 'p') return same_as_libc(format, size, stars..., reinterpret_cast<void*>(bits & 0xffffffff));
      if (length == "ll") return same_as_libc(format, size, stars..., static_cast<long long>(bits));
      if (length == "j") return same_as_libc(format, size, stars..., static_cast<intmax_t>(bits));
      if (length == "l") return same_as_libc(format, size, stars..., static_cast<long>(bits));
      if (length == "z") return same_as_libc(format, size, stars..., static_cast<size_t>(bits));
      if (length == "t") return same_as_libc(format, size, stars..., static_cast<ptrdiff_t>(bits));
      return same_as_libc(format, size, stars..., static_cast<int>(bits));
    };
    if (star_width && star_precision) ASSERT_TRUE(check(width, precision));
    else if (star_width) ASSERT_TRUE(check(width));
    else if (star_precision) ASSERT_TRUE(check(precision));
    else ASSERT_TRUE(check());
  }
  EXPECT_TRUE(same_as_libc("%d%% of %s, 100%%", 64, 50, "all"));
  EXPECT_TRUE(same_as_libc("no conversion", 5));
  EXPECT_TRUE(same_as_libc("%300d|%-300s|", 512, 7, "x"));  // longer than the stack buffer
}

}  // namespace
