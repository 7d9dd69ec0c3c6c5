// The module's strtod, strtoll and strtoull, linked in place of the C
// library's by `-Wl,--wrap=...` (wasm/CMakeLists.txt). Their one caller is
// nlohmann's lexer, which hands them a validated JSON number.
//
// Why: musl's strtod computes in 128-bit long double, which wasm only has in
// software; with this file instead the module is ~5 KB gzip smaller (of
// ~104 KB). The results are the same, each correctly rounded (to nearest, ties
// to even, as musl's): exact doubles for short inputs (Clinger's fast path),
// else a close estimate corrected by comparing the exact decimal value with
// the halfway points between neighbouring doubles, in big-integer arithmetic.
//
// Accepted syntax: leading white space, a sign, digits with an optional '.',
// an optional exponent. Hexadecimal, "inf" and "nan" are not recognised (no
// conversion, *end = the input), which JSON never needs.
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>

namespace {

// Decimal digits kept; a longer input keeps these plus one nonzero digit when
// any dropped digit is nonzero. A halfway point between doubles has at most
// 767 significant digits, so that never changes how the value rounds.
constexpr int kMaxDigits = 780;

// An unsigned integer in little-endian 32-bit limbs. 160 limbs (5120 bits)
// bound every comparison below: N < 10^781 (2595 bits) times 5^308 (716) and
// 2^1385, or the halfway point (55 bits) times 5^1105 (2566) and 2^2080.
struct Big {
  static constexpr int kLimbs = 160;
  uint32_t limb[kLimbs];
  int size = 0;

  void set(uint64_t v) {
    size = 0;
    for (; v != 0; v >>= 32) limb[size++] = static_cast<uint32_t>(v);
  }
  // *this = *this * m + add
  void mul_add(uint32_t m, uint32_t add) {
    uint64_t carry = add;
    for (int i = 0; i < size; ++i) {
      uint64_t p = uint64_t{limb[i]} * m + carry;
      limb[i] = static_cast<uint32_t>(p);
      carry = p >> 32;
    }
    if (carry != 0) limb[size++] = static_cast<uint32_t>(carry);
  }
  void mul_pow5(int e) {
    for (; e >= 13; e -= 13) mul_add(1220703125, 0);  // 5^13
    uint32_t p = 1;
    while (e-- > 0) p *= 5;
    mul_add(p, 0);
  }
  void shift_left(int bits) {
    if (size == 0) return;
    const int words = bits / 32, rest = bits % 32;
    limb[size] = 0;
    for (int i = size; i >= 0; --i) {
      uint64_t v = (uint64_t{limb[i]} << rest) | (i > 0 && rest != 0 ? limb[i - 1] >> (32 - rest) : 0);
      limb[i + words] = static_cast<uint32_t>(v);
    }
    for (int i = 0; i < words; ++i) limb[i] = 0;
    size += words + 1;
    while (size > 0 && limb[size - 1] == 0) --size;
  }
};

int compare(const Big& a, const Big& b) {
  if (a.size != b.size) return a.size < b.size ? -1 : 1;
  for (int i = a.size - 1; i >= 0; --i)
    if (a.limb[i] != b.limb[i]) return a.limb[i] < b.limb[i] ? -1 : 1;
  return 0;
}

// The significant digits of a decimal number: value = digits * 10^exp10.
struct Decimal {
  char digits[kMaxDigits + 1];
  int count = 0;
  int64_t exp10 = 0;
  Big integer;  // the digits as an integer, built once for the comparisons
};

// Compares digits * 10^exp10 with half * 2^exp2.
int compare_with(const Decimal& d, uint64_t half, int exp2) {
  Big a = d.integer, b;
  b.set(half);
  const int e = static_cast<int>(d.exp10);
  if (e >= 0) a.mul_pow5(e); else b.mul_pow5(-e);
  if (e >= exp2) a.shift_left(e - exp2); else b.shift_left(exp2 - e);
  return compare(a, b);
}

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

// The nearest double to d, given a positive estimate within a few units in
// the last place: steps to the neighbour while d lies beyond a halfway point.
double refine(const Decimal& d, double estimate) {
  uint64_t u = bits_of(estimate);
  if (u >= 0x7ff0000000000000) u = 0x7fefffffffffffff;  // largest finite
  for (;;) {
    const uint64_t biased = u >> 52, fraction = u & ((uint64_t{1} << 52) - 1);
    const uint64_t m = biased == 0 ? fraction : fraction | (uint64_t{1} << 52);
    const int k = biased == 0 ? -1074 : static_cast<int>(biased) - 1075;  // u is m * 2^k
    int up = compare_with(d, 2 * m + 1, k - 1);
    if (up > 0 || (up == 0 && (m & 1) != 0)) {
      if (++u == 0x7ff0000000000000) return from_bits(u);  // infinity
      continue;
    }
    if (u == 0) return 0.0;
    int down = fraction == 0 && biased > 1 ? compare_with(d, 4 * m - 1, k - 2)
                                           : compare_with(d, 2 * m - 1, k - 1);
    if (down < 0 || (down == 0 && (m & 1) != 0)) {
      --u;
      continue;
    }
    return from_bits(u);
  }
}

constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

double magnitude(const Decimal& d) {
  // The leading digit's power of ten: beyond these bounds no double is near.
  const int64_t lead = d.exp10 + d.count - 1;
  if (lead > 308) {
    errno = ERANGE;
    return __builtin_inf();
  }
  if (lead < -324) {  // below 10^-323, under half the smallest subnormal
    errno = ERANGE;
    return 0.0;
  }
  uint64_t w = 0;
  const int head = d.count < 19 ? d.count : 19;
  for (int i = 0; i < head; ++i) w = w * 10 + static_cast<uint64_t>(d.digits[i] - '0');
  int64_t e = d.exp10 + (d.count - head);
  // Exact: w and 10^|e| are doubles, so one operation rounds correctly.
  if (head <= 15 && e >= -22 && e <= 22 + 15 - head) {
    if (e < 0) return static_cast<double>(w) / kPow10[-e];
    double x = static_cast<double>(w);
    if (e > 22) {
      x *= kPow10[e - 22];  // still an integer below 10^15: exact
      e = 22;
    }
    return x * kPow10[e];
  }
  double x = static_cast<double>(w);
  for (; e >= 22; e -= 22) x *= 1e22;
  for (; e <= -22; e += 22) x /= 1e22;
  x = e >= 0 ? x * kPow10[e] : x / kPow10[-e];
  x = refine(d, x);
  if (x == 0.0 || x > 1.7976931348623157e308) errno = ERANGE;
  return x;
}

const char* skip_space(const char* p) {
  while (std::isspace(static_cast<unsigned char>(*p))) ++p;
  return p;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Space, a sign and base-10 digits; the magnitude, or `overflow` past 2^64 - 1.
unsigned long long parse_integer(const char* text, char** end, bool& negative, bool& overflow) {
  const char* p = skip_space(text);
  negative = *p == '-';
  if (*p == '-' || *p == '+') ++p;
  if (!is_digit(*p)) {
    if (end) *end = const_cast<char*>(text);
    return 0;
  }
  unsigned long long v = 0;
  for (; is_digit(*p); ++p) {
    const unsigned digit = static_cast<unsigned>(*p - '0');
    if (v > (ULLONG_MAX - digit) / 10) overflow = true;
    v = v * 10 + digit;
  }
  if (end) *end = const_cast<char*>(p);
  return v;
}

}  // namespace

extern "C" {

double __wrap_strtod(const char* text, char** end) {
  static Decimal d;  // ~1.5 KB: not on the small wasm stack
  d.count = 0;
  d.exp10 = 0;
  const char* p = skip_space(text);
  const bool negative = *p == '-';
  if (*p == '-' || *p == '+') ++p;
  bool any = false, dropped = false, fraction = false;
  for (;; ++p) {
    if (*p == '.' && !fraction) {
      fraction = true;
      continue;
    }
    if (!is_digit(*p)) break;
    any = true;
    if (d.count == 0 && *p == '0') {
      if (fraction) --d.exp10;  // a leading zero of the fraction
    } else if (d.count < kMaxDigits) {
      d.digits[d.count++] = *p;
      if (fraction) --d.exp10;
    } else {
      if (!fraction) ++d.exp10;
      dropped |= *p != '0';
    }
  }
  if (!any) {
    if (end) *end = const_cast<char*>(text);
    return 0.0;
  }
  if (*p == 'e' || *p == 'E') {
    const char* q = p + 1;
    const bool minus = *q == '-';
    if (*q == '-' || *q == '+') ++q;
    if (is_digit(*q)) {
      int64_t exp = 0;
      for (; is_digit(*q); ++q)
        if (exp < 100000) exp = exp * 10 + (*q - '0');  // saturates far beyond any double
      d.exp10 += minus ? -exp : exp;
      p = q;
    }
  }
  if (end) *end = const_cast<char*>(p);
  if (dropped) {
    d.digits[d.count++] = '1';
    --d.exp10;
  }
  while (d.count > 0 && d.digits[d.count - 1] == '0') {
    --d.count;
    ++d.exp10;
  }
  double x = 0.0;
  if (d.count > 0) {
    d.integer.set(0);
    for (int i = 0; i < d.count; ++i) d.integer.mul_add(10, static_cast<uint32_t>(d.digits[i] - '0'));
    x = magnitude(d);
  }
  return negative ? -x : x;
}

// Base 10 only (the lexer's), with C's rules: a '-' negates in unsigned
// arithmetic; past the type's range, ERANGE and the nearest bound.
unsigned long long __wrap_strtoull(const char* text, char** end, int /*base*/) {
  bool negative = false, overflow = false;
  const unsigned long long v = parse_integer(text, end, negative, overflow);
  if (overflow) {
    errno = ERANGE;
    return ULLONG_MAX;
  }
  return negative ? 0 - v : v;
}

long long __wrap_strtoll(const char* text, char** end, int /*base*/) {
  bool negative = false, overflow = false;
  const unsigned long long v = parse_integer(text, end, negative, overflow);
  const unsigned long long limit = negative ? 0 - static_cast<unsigned long long>(LLONG_MIN) : LLONG_MAX;
  if (overflow || v > limit) {
    errno = ERANGE;
    return negative ? LLONG_MIN : LLONG_MAX;
  }
  return negative ? static_cast<long long>(0 - v) : static_cast<long long>(v);
}

}  // extern "C"
