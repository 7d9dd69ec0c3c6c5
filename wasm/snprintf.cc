// The module's snprintf, linked in place of the C library's by
// `-Wl,--wrap=snprintf` (wasm/CMakeLists.txt). Every caller formats
// integers with a fixed format: nlohmann ("\u%04x" escapes, "<U+%.4X>" in
// parse errors; it formats numbers itself) and format_iso8601 ("%04lld",
// "%02u"). This formatter does integer conversions only (d i u x X with the
// flags '-' '0' '+' ' ', a width, a precision and the length modifiers),
// which leaves musl's printf (its printf_core, and the floating-point
// formatter) out of the module. Any other conversion, or a '*' width, traps:
// a RuntimeError in JS rather than wrong output. Checked against the C
// library's snprintf by snprintf_test.cc.
#include <cstdarg>
#include <cstddef>
#include <cstdint>

namespace {

// Writes what fits of the output (keeping room for the terminating NUL) and
// counts all of it, as snprintf returns the untruncated length.
struct Sink {
  char* out;
  size_t size;
  size_t n = 0;
  void put(char c) {
    if (n + 1 < size) out[n] = c;
    ++n;
  }
  void repeat(char c, size_t count) {
    for (size_t i = 0; i < count; ++i) put(c);
  }
};

size_t read_number(const char*& p) {
  size_t n = 0;
  for (; *p >= '0' && *p <= '9'; ++p) n = n < 100000000 ? n * 10 + static_cast<size_t>(*p - '0') : n;
  return n;
}

// One integer conversion from `p` (just past the '%'); advances `p`.
void convert(Sink& sink, const char*& p, va_list& ap) {
  bool left = false, zero = false, plus = false, space = false;
  for (;; ++p) {
    if (*p == '-') left = true;
    else if (*p == '0') zero = true;
    else if (*p == '+') plus = true;
    else if (*p == ' ') space = true;
    else break;
  }
  if (*p == '*') __builtin_trap();
  const size_t width = read_number(p);
  bool has_precision = false;
  size_t precision = 1;
  if (*p == '.') {
    ++p;
    if (*p == '*') __builtin_trap();
    has_precision = true;
    precision = read_number(p);
  }
  // Length modifiers: 0 int, 1 char (hh), 2 short (h), 3 long, 4 long long
  // (ll, j), 5 size_t / ptrdiff_t (z, t).
  int length = 0;
  if (p[0] == 'h') length = p[1] == 'h' ? 1 : 2;
  else if (p[0] == 'l') length = p[1] == 'l' ? 4 : 3;
  else if (p[0] == 'j') length = 4;
  else if (p[0] == 'z' || p[0] == 't') length = 5;
  p += length == 1 || (length == 4 && p[0] == 'l') ? 2 : length != 0 ? 1 : 0;
  const char conversion = *p++;
  const bool is_signed = conversion == 'd' || conversion == 'i';
  if (!is_signed && conversion != 'u' && conversion != 'x' && conversion != 'X') __builtin_trap();

  uint64_t magnitude;
  bool negative = false;
  if (is_signed) {
    int64_t v;
    switch (length) {
      case 1: v = static_cast<signed char>(va_arg(ap, int)); break;
      case 2: v = static_cast<short>(va_arg(ap, int)); break;
      case 3: v = va_arg(ap, long); break;
      case 4: v = va_arg(ap, long long); break;
      case 5: v = va_arg(ap, ptrdiff_t); break;
      default: v = va_arg(ap, int); break;
    }
    negative = v < 0;
    magnitude = negative ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  } else {
    switch (length) {
      case 1: magnitude = static_cast<unsigned char>(va_arg(ap, unsigned)); break;
      case 2: magnitude = static_cast<unsigned short>(va_arg(ap, unsigned)); break;
      case 3: magnitude = va_arg(ap, unsigned long); break;
      case 4: magnitude = va_arg(ap, unsigned long long); break;
      case 5: magnitude = va_arg(ap, size_t); break;
      default: magnitude = va_arg(ap, unsigned); break;
    }
  }

  char digits[24];
  size_t count = 0;
  const unsigned base = conversion == 'x' || conversion == 'X' ? 16 : 10;
  const char* alphabet = conversion == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  for (uint64_t v = magnitude; v != 0; v /= base) digits[count++] = alphabet[v % base];
  // '+' and ' ' apply to signed conversions only.
  const char sign = negative ? '-' : !is_signed ? 0 : plus ? '+' : space ? ' ' : 0;
  const size_t body = (precision > count ? precision : count) + (sign ? 1 : 0);
  const size_t pad = width > body ? width - body : 0;
  // '0' pads between the sign and the digits, unless '-' or a precision is given.
  const bool zero_pad = zero && !left && !has_precision;
  if (!left && !zero_pad) sink.repeat(' ', pad);
  if (sign) sink.put(sign);
  if (zero_pad) sink.repeat('0', pad);
  sink.repeat('0', precision > count ? precision - count : 0);
  while (count > 0) sink.put(digits[--count]);
  if (left) sink.repeat(' ', pad);
}

}  // namespace

extern "C" int __wrap_snprintf(char* out, size_t size, const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  Sink sink{out, size};
  for (const char* p = format; *p != '\0';) {
    if (*p != '%') {
      sink.put(*p++);
    } else if (p[1] == '%') {
      sink.put('%');
      p += 2;
    } else {
      ++p;
      convert(sink, p, ap);
    }
  }
  va_end(ap);
  if (size > 0) out[sink.n < size ? sink.n : size - 1] = '\0';
  return static_cast<int>(sink.n);
}
