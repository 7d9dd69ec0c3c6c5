// The module's snprintf, linked in place of the C library's by
// `-Wl,--wrap=snprintf` (wasm/CMakeLists.txt): musl's integer-only printf
// (vsiprintf, Emscripten's iprintf family), which leaves the floating-point
// formatter out of the module (~1.7 KB gzip). Every caller formats integers:
// nlohmann (the "\u%04x" escapes, "<U+%.4X>" in parse errors; it formats
// numbers itself) and format_iso8601.
//
// Emscripten 3.1.6's vsniprintf writes through a null pointer when the output
// does not fit, so the output goes to a buffer sized from the format and the
// arguments, then is copied with snprintf's truncation. A conversion this
// cannot size or print (a, e, f, g, %n, wide %lc/%ls, positional %1$d) traps:
// a RuntimeError in JS rather than wrong output.
#include <cstdarg>
#include <cstddef>
#include <cstdlib>
#include <cstring>

extern "C" int vsiprintf(char* out, const char* format, va_list args);

namespace {

size_t read_number(const char*& p) {
  size_t n = 0;
  for (; *p >= '0' && *p <= '9'; ++p) n = n < 100000000 ? n * 10 + static_cast<size_t>(*p - '0') : n;
  return n;
}

// At least the length of what `format` prints with `args` (read from a copy).
size_t output_bound(const char* format, va_list args) {
  va_list ap;
  va_copy(ap, args);
  size_t bound = std::strlen(format) + 1;
  for (const char* p = std::strchr(format, '%'); p != nullptr; p = std::strchr(p, '%')) {
    ++p;
    if (*p == '%') {
      ++p;
      continue;
    }
    p += std::strspn(p, "-+ #0'");  // flags
    size_t width = 0, precision = 0;
    bool has_precision = false;
    if (*p == '*') {
      const int w = va_arg(ap, int);
      width = w < 0 ? 0 - static_cast<size_t>(w) : static_cast<size_t>(w);
      ++p;
    } else {
      width = read_number(p);
    }
    if (*p == '.') {
      ++p;
      has_precision = true;
      if (*p == '*') {
        const int q = va_arg(ap, int);
        has_precision = q >= 0;
        precision = q < 0 ? 0 : static_cast<size_t>(q);
        ++p;
      } else {
        precision = read_number(p);
      }
    }
    int longs = 0;  // 'l' counts; "ll" and 'j' are 64-bit, the rest 32-bit in wasm32
    for (; *p != '\0' && std::strchr("hljzt", *p) != nullptr; ++p) longs += *p == 'l' ? 1 : *p == 'j' ? 2 : 0;
    size_t natural = 0;
    switch (*p++) {
      case 'd': case 'i': case 'u': case 'o': case 'x': case 'X':
        if (longs >= 2) {
          (void)va_arg(ap, long long);
        } else {
          (void)va_arg(ap, int);
        }
        natural = 24;  // 22 octal digits of 2^64 - 1, a sign or prefix
        break;
      case 'p':
        (void)va_arg(ap, void*);
        natural = 24;
        break;
      case 'c':
        if (longs != 0) __builtin_trap();
        (void)va_arg(ap, int);
        natural = 1;
        break;
      case 's': {
        if (longs != 0) __builtin_trap();
        const char* s = va_arg(ap, const char*);
        natural = s == nullptr ? 6 : has_precision ? strnlen(s, precision) : std::strlen(s);  // "(null)"
        break;
      }
      default:
        __builtin_trap();
    }
    bound += (width > precision ? width : precision) + natural;
  }
  va_end(ap);
  return bound;
}

}  // namespace

extern "C" int __wrap_snprintf(char* out, size_t size, const char* format, ...) {
  va_list args;
  va_start(args, format);
  const size_t bound = output_bound(format, args);
  char local[256];
  char* full = bound <= sizeof local ? local : static_cast<char*>(std::malloc(bound));
  if (full == nullptr) __builtin_trap();
  const int n = vsiprintf(full, format, args);
  va_end(args);
  if (size > 0) {
    const size_t kept = n < 0 ? 0 : static_cast<size_t>(n) < size ? static_cast<size_t>(n) : size - 1;
    std::memcpy(out, full, kept);
    out[kept] = '\0';
  }
  if (full != local) std::free(full);
  return n;
}
