#include "core/common/json_depth.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <vector>

namespace rekindle {
namespace {

// A scanner that only tracks structure: strings (with escapes), brackets and
// the current key or index of each open container. It finds the first place
// where nesting passes the limit, with its path, in one pass and O(depth)
// memory. Every text parsed goes through it, so keys are kept as views into
// the text (nothing copied) and decoded only for the path of an error.
struct Frame {
  bool is_object;
  size_t index = 0;
  std::string_view key;  // raw, between its quotes
  // The object's keys so far, when keys must be unique (authored
  // documents: nlohmann keeps the last of two equal keys without a word).
  std::vector<std::string_view> keys;
};

// A raw key as the path names it: escapes reduced to the escaped character,
// at most 256 characters besides those.
std::string decode_key(std::string_view raw) {
  std::string key;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size()) key += raw[++i];
    else if (key.size() < 256) key += raw[i];
  }
  return key;
}

// The path of the first `depth` frames' current keys or indexes.
std::string path_of(const std::vector<Frame>& stack, size_t depth) {
  std::string path = "$";
  for (size_t i = 0; i < depth; ++i) {
    const Frame& f = stack[i];
    path = f.is_object ? child(path, decode_key(f.key)) : index(path, f.index);
  }
  return path;
}

// Keys compared per object when keys must be unique: a linear search (no
// sort, whose code would weigh more than the check), bounded so that a huge
// object cannot make it quadratic. Authored objects have a few keys, and an
// object with more is one whose keys are mostly unknown, refused anyway.
constexpr size_t kUniqueKeysChecked = 256;
std::optional<Error> check_structure(std::string_view text, const JsonLimits& limits, std::string_view what) {
  std::vector<Frame> stack;
  std::string_view last_string;
  bool in_string = false;
  bool escaped = false;
  size_t string_start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
        last_string = text.substr(string_start, i - string_start);
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        string_start = i + 1;
        break;
      case ':':
        if (!stack.empty() && stack.back().is_object) {
          Frame& f = stack.back();
          f.key = last_string;
          if (limits.unique_keys && f.keys.size() < kUniqueKeysChecked) {
            // Compared as written: a key spelt once with escapes and once without is not caught.
            if (std::find(f.keys.begin(), f.keys.end(), last_string) != f.keys.end()) {
              return Error{path_of(stack, stack.size()), "is given twice in the same object: only the last would be read"};
            }
            f.keys.push_back(last_string);
          }
        }
        break;
      case ',':
        if (!stack.empty() && !stack.back().is_object) ++stack.back().index;
        break;
      case '{':
      case '[':
        if (static_cast<int>(stack.size()) >= limits.max_depth) {
          return Error{path_of(stack, stack.size()), std::string(what) + " nests deeper than " +
                                                         std::to_string(limits.max_depth) + " levels"};
        }
        stack.push_back(Frame{c == '{', 0, {}, {}});
        break;
      case '}':
      case ']':
        if (!stack.empty()) stack.pop_back();
        break;
      default:
        break;
    }
  }
  return std::nullopt;
}

// nlohmann's DOM builder, keeping the message of a syntax error. The one
// parse builds the value and, on bad input, says where and why: no second
// pass, and no callback parser (json::parse instantiates one as well).
struct DomBuilder : nlohmann::detail::json_sax_dom_parser<nlohmann::json> {
  using Base = nlohmann::detail::json_sax_dom_parser<nlohmann::json>;
  explicit DomBuilder(nlohmann::json& root) : Base(root, /*allow_exceptions=*/false) {}
  std::string message;
  template <class Exception>
  bool parse_error(std::size_t position, const std::string& last_token, const Exception& ex) {
    message = ex.what();
    return Base::parse_error(position, last_token, ex);
  }
};

// nlohmann's message starts with "[json.exception.parse_error.101] parse error at line 1, ...".
std::string describe_syntax_error(const std::string& message) {
  if (message.empty()) return "not valid JSON";
  auto pos = message.find("] ");
  return "not valid JSON: " + (pos == std::string::npos ? message : message.substr(pos + 2));
}

}  // namespace

ParsedJson parse_json(std::string_view text, const JsonLimits& limits, std::string_view what) {
  ParsedJson out;
  if (text.size() > limits.max_bytes) {
    add_error(out.errors, "$", std::string(what) + " is " + std::to_string(text.size()) +
                                   " bytes, over the limit of " +
                                   std::to_string(limits.max_bytes) + " bytes");
    return out;
  }
  if (auto error = check_structure(text, limits, what)) {
    out.errors.push_back(std::move(*error));
    return out;
  }
  DomBuilder builder(out.value);
  nlohmann::json::sax_parse(text.begin(), text.end(), &builder);
  if (builder.is_errored()) {
    out.value = nullptr;
    add_error(out.errors, "$", std::string(what) + " is " + describe_syntax_error(builder.message));
  }
  return out;
}

std::string dump(const nlohmann::json& value) {
  std::string out;
  dump_to(out, value);
  return out;
}

JsonWriter::JsonWriter(std::string& out)
    : serializer_(nlohmann::detail::output_adapter<char, std::string>(out), ' ',
                  nlohmann::json::error_handler_t::replace) {}

void JsonWriter::write(const nlohmann::json& value) { serializer_.dump(value, false, false, 0); }

void dump_to(std::string& out, const nlohmann::json& value) { JsonWriter(out).write(value); }

std::string& ObjectWriter::key(std::string_view name) {
  out_ += sep_;
  out_ += '"';
  out_ += name;
  out_ += "\":";
  sep_ = ',';
  return out_;
}

namespace {

// What dump() writes for `s` between its quotes: control characters escaped
// (\n as two bytes, the others as \u00XX), the rest as it is. nullopt when `s`
// is not valid UTF-8: dump() then replaces what is invalid, and is asked.
std::optional<size_t> escaped_size(const std::string& s) {
  size_t n = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t len = s.size();
  for (size_t i = 0; i < len;) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      n += c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t' ? 2 : c < 0x20 ? 6 : 1;
      ++i;
      continue;
    }
    // A lead byte, its length, and the range of its first continuation byte
    // (no overlong forms, no surrogates, nothing past U+10FFFF).
    size_t k;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) k = 2;
    else if (c >= 0xE0 && c <= 0xEF) k = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) k = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return std::nullopt;
    if (i + k > len || p[i + 1] < lo || p[i + 1] > hi) return std::nullopt;
    for (size_t j = 2; j < k; ++j)
      if ((p[i + j] & 0xC0) != 0x80) return std::nullopt;
    n += k;
    i += k;
  }
  return n;
}

size_t digits(uint64_t v) {
  size_t n = 1;
  for (; v >= 10; v /= 10) ++n;
  return n;
}

}  // namespace

size_t dumped_size(const nlohmann::json& value) {
  using nlohmann::json;
  switch (value.type()) {
    case json::value_t::null: return 4;
    case json::value_t::boolean: return value.get<bool>() ? 4 : 5;
    case json::value_t::number_unsigned: return digits(value.get<uint64_t>());
    case json::value_t::number_integer: {
      const int64_t v = value.get<int64_t>();
      return v < 0 ? 1 + digits(0 - static_cast<uint64_t>(v)) : digits(static_cast<uint64_t>(v));
    }
    case json::value_t::number_float: {
      const double v = value.get<double>();
      if (!std::isfinite(v)) return 4;  // null
      char buf[64];
      return static_cast<size_t>(nlohmann::detail::to_chars(buf, buf + sizeof buf, v) - buf);
    }
    case json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      auto n = escaped_size(s);
      return n ? 2 + *n : dump(value).size();
    }
    case json::value_t::array: {
      size_t n = 2 + (value.empty() ? 0 : value.size() - 1);
      for (const auto& item : array_items(value)) n += dumped_size(item);
      return n;
    }
    case json::value_t::object: {
      size_t n = 2 + (value.empty() ? 0 : value.size() - 1);
      for (const auto& [key, item] : value.get_ref<const json::object_t&>()) {
        auto k = escaped_size(key);
        n += (k ? 2 + *k : dump(json(key)).size()) + 1 + dumped_size(item);
      }
      return n;
    }
    default: return dump(value).size();  // binary and discarded: never parsed from text
  }
}

}  // namespace rekindle
