// strtod.cc against the C library it replaces in the module (musl, correctly
// rounded): the same bits and the same end pointer for every input, above all
// the exact halfway points between doubles, where rounding is decided.
// Built under emcmake with the tests: node build/wasm/wasm/rekindle_libc_tests.cjs
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" double __wrap_strtod(const char* text, char** end);
extern "C" unsigned long long __wrap_strtoull(const char* text, char** end, int base);
extern "C" long long __wrap_strtoll(const char* text, char** end, int base);

namespace {

uint64_t bits_of(double x) {
  uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

double from_bits(uint64_t u) {
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// Same bits and same end as the C library's strtod; returns false (with a
// message) on the first difference.
::testing::AssertionResult same_as_libc(const std::string& text) {
  char* end_libc = nullptr;
  char* end_ours = nullptr;
  const double libc = std::strtod(text.c_str(), &end_libc);
  const double ours = __wrap_strtod(text.c_str(), &end_ours);
  if (bits_of(libc) == bits_of(ours) && end_libc == end_ours) return ::testing::AssertionSuccess();
  char buf[128];
  std::snprintf(buf, sizeof buf, "libc %.17g (end +%d), ours %.17g (end +%d)", libc,
                static_cast<int>(end_libc - text.c_str()), ours, static_cast<int>(end_ours - text.c_str()));
  return ::testing::AssertionFailure() << text.substr(0, 200) << ": " << buf;
}

// Decimal digits of a nonnegative integer held as little-endian 32-bit limbs.
std::string decimal(std::vector<uint32_t> limbs) {
  std::string out;
  while (!limbs.empty()) {
    uint64_t rest = 0;
    for (size_t i = limbs.size(); i-- > 0;) {
      uint64_t cur = (rest << 32) | limbs[i];
      limbs[i] = static_cast<uint32_t>(cur / 10);
      rest = cur % 10;
    }
    out.insert(out.begin(), static_cast<char>('0' + rest));
    while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
  }
  return out.empty() ? "0" : out;
}

void multiply(std::vector<uint32_t>& limbs, uint32_t m) {
  uint64_t carry = 0;
  for (auto& l : limbs) {
    uint64_t p = uint64_t{l} * m + carry;
    l = static_cast<uint32_t>(p);
    carry = p >> 32;
  }
  if (carry != 0) limbs.push_back(static_cast<uint32_t>(carry));
}

// The exact decimal form of h * 2^e, as "<digits>e<exp>".
std::string exact(uint64_t h, int e) {
  std::vector<uint32_t> limbs = {static_cast<uint32_t>(h), static_cast<uint32_t>(h >> 32)};
  while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
  int exp10 = 0;
  for (; e > 0; --e) multiply(limbs, 2);
  for (; e < 0; ++e) {
    multiply(limbs, 5);
    --exp10;
  }
  return decimal(limbs) + "e" + std::to_string(exp10);
}

// For the positive finite double with bits u: the exact halfway points to
// its neighbours, and inputs just above and below each (a far extra digit,
// or one unit less in the last digit).
std::vector<std::string> halfway_cases(uint64_t u) {
  std::vector<std::string> out;
  const uint64_t biased = u >> 52, fraction = u & ((uint64_t{1} << 52) - 1);
  const uint64_t m = biased == 0 ? fraction : fraction | (uint64_t{1} << 52);
  const int k = biased == 0 ? -1074 : static_cast<int>(biased) - 1075;
  std::vector<std::string> points = {exact(2 * m + 1, k - 1)};
  if (u > 0) points.push_back(fraction == 0 && biased > 1 ? exact(4 * m - 1, k - 2) : exact(2 * m - 1, k - 1));
  for (const auto& p : points) {
    out.push_back(p);
    const auto e = p.find('e');
    const std::string digits = p.substr(0, e);
    const int exp10 = std::stoi(p.substr(e + 1));
    out.push_back(digits + std::string(40, '0') + "1e" + std::to_string(exp10 - 41));  // above
    std::string below = digits;
    size_t i = below.size();
    while (i > 0 && below[i - 1] == '0') below[--i] = '9';
    if (i > 0) {
      --below[i - 1];
      out.push_back(below + "e" + std::to_string(exp10));  // one unit below
    }
  }
  return out;
}

TEST(Strtod, FixedCases) {
  const char* cases[] = {
      "0", "-0", "0.0", "-0.0", "00000.0000", "1", "-1", "0.1", "0.2", "0.3", "49.99", "1e23", "8.5e-1",
      "123456789012345678901234567890", "9007199254740993", "9007199254740992.5", "9007199254740993.0000000001",
      "5e-324", "2.4703282292062327e-324", "2.4703282292062328e-324", "4.9406564584124654e-324",
      "2.2250738585072011e-308", "2.2250738585072012e-308", "2.2250738585072014e-308",
      "1.7976931348623157e308", "1.7976931348623158e308", "1.797693134862315807e308", "1.7976931348623159e308",
      "1e308", "1e309", "1e400", "-1e400", "1e-400", "0e999999999", "1e-999999999", "1e999999999",
      "1e-324", "3e-324", "1.5e-323", ".5", "5.", "+3.25", "  7.5", "1e+5", "1E5", "1.5e", "1.5e+", "-", "",
      "x", ".", "-.e1", "12abc", "1.2.3", "0.000000000000000000000000000000000000000000001e45",
  };
  for (const char* c : cases) EXPECT_TRUE(same_as_libc(c));
  // Thousands of digits: kept digits plus a sticky one must round the same.
  EXPECT_TRUE(same_as_libc("1" + std::string(5000, '0')));
  EXPECT_TRUE(same_as_libc("1" + std::string(5000, '0') + "e-5000"));
  EXPECT_TRUE(same_as_libc("0." + std::string(400, '0') + "1e400"));
  EXPECT_TRUE(same_as_libc("4." + std::string(2000, '9') + "e-324"));
}

TEST(Strtod, ShortestAndLongForms) {
  std::mt19937_64 rng(7);
  char buf[64];
  for (int i = 0; i < 100000; ++i) {
    const double x = from_bits(rng() % 0x7ff0000000000000);
    std::snprintf(buf, sizeof buf, "%.*g", static_cast<int>(1 + rng() % 17), x);
    ASSERT_TRUE(same_as_libc(buf));
    std::snprintf(buf, sizeof buf, "%.17e", -x);
    ASSERT_TRUE(same_as_libc(buf));
  }
  for (int i = 0; i < 100000; ++i) {
    std::snprintf(buf, sizeof buf, "%llue%d", static_cast<unsigned long long>(rng() >> (rng() % 64)),
                  static_cast<int>(rng() % 80) - 40);
    ASSERT_TRUE(same_as_libc(buf));
  }
}

TEST(Strtod, HalfwayPoints) {
  std::vector<uint64_t> bits = {0, 1, 2, 0x000fffffffffffff, 0x0010000000000000, 0x0010000000000001, 0x0020000000000000,
                                0x3ff0000000000000, 0x433fffffffffffff, 0x4340000000000000, 0x7fefffffffffffff};
  std::mt19937_64 rng(11);
  for (int i = 0; i < 300; ++i) {
    bits.push_back(rng() % 0x7ff0000000000000);
    bits.push_back((rng() % 2047) << 52);  // a power of two: the gap below is half the gap above
    bits.push_back(rng() % 0x0010000000000000);  // subnormal
  }
  for (uint64_t u : bits)
    for (const auto& text : halfway_cases(u)) ASSERT_TRUE(same_as_libc(text));
}

TEST(Strtoll, SameAsLibc) {
  const char* cases[] = {"0", "-0", "7", "-7", "+5", "  12", "12abc", "x", "", "-", "9223372036854775807",
                         "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
                         "18446744073709551615", "18446744073709551616", "-18446744073709551615",
                         "-18446744073709551616", "99999999999999999999999", "000000000000000000000000042"};
  for (const char* c : cases) {
    char* end_libc = nullptr;
    char* end_ours = nullptr;
    errno = 0;
    const unsigned long long u_libc = std::strtoull(c, &end_libc, 10);
    const int errno_libc = errno;
    errno = 0;
    const unsigned long long u_ours = __wrap_strtoull(c, &end_ours, 10);
    EXPECT_EQ(u_libc, u_ours) << c;
    EXPECT_EQ(end_libc, end_ours) << c;
    EXPECT_EQ(errno_libc, errno) << c;
    errno = 0;
    const long long s_libc = std::strtoll(c, &end_libc, 10);
    const int serrno_libc = errno;
    errno = 0;
    const long long s_ours = __wrap_strtoll(c, &end_ours, 10);
    EXPECT_EQ(s_libc, s_ours) << c;
    EXPECT_EQ(end_libc, end_ours) << c;
    EXPECT_EQ(serrno_libc, errno) << c;
  }
}

}  // namespace
