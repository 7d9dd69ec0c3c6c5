#include "core/common/json_depth.h"

#include <vector>

namespace rekindle {
namespace {

// A scanner that only tracks structure: strings (with escapes), brackets and
// the current key or index of each open container. It finds the first place
// where nesting passes the limit, with its path, in one pass and O(depth) memory.
struct Frame {
  bool is_object;
  size_t index = 0;
  std::string key;
};

std::string path_of(const std::vector<Frame>& stack) {
  std::string path = "$";
  for (const auto& f : stack) {
    path = f.is_object ? child(path, f.key) : index(path, f.index);
  }
  return path;
}

std::optional<std::string> find_too_deep(std::string_view text, int max_depth) {
  std::vector<Frame> stack;
  std::string last_string;
  bool in_string = false;
  bool escaped = false;
  std::string current;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
        current += c;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
        last_string = current;
      } else if (current.size() < 256) {
        current += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        current.clear();
        break;
      case ':':
        if (!stack.empty() && stack.back().is_object) stack.back().key = last_string;
        break;
      case ',':
        if (!stack.empty() && !stack.back().is_object) ++stack.back().index;
        break;
      case '{':
      case '[':
        if (static_cast<int>(stack.size()) >= max_depth) return path_of(stack);
        stack.push_back(Frame{c == '{', 0, {}});
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

// Only asked to describe a syntax error: remembers where and why.
struct SyntaxErrorProbe : nlohmann::json_sax<nlohmann::json> {
  size_t position = 0;
  std::string message;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t pos, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    position = pos;
    message = ex.what();
    return false;
  }
};

std::string describe_syntax_error(std::string_view text) {
  SyntaxErrorProbe probe;
  nlohmann::json::sax_parse(text.begin(), text.end(), &probe);
  if (probe.message.empty()) return "not valid JSON";
  // nlohmann's message starts with "[json.exception.parse_error.101] parse error at line 1, ...".
  auto pos = probe.message.find("] ");
  std::string detail = pos == std::string::npos ? probe.message : probe.message.substr(pos + 2);
  return "not valid JSON: " + detail;
}

}  // namespace

ParsedJson parse_json(std::string_view text, const JsonLimits& limits, std::string_view what) {
  ParsedJson out;
  if (text.size() > limits.max_bytes) {
    out.errors.push_back({"$", std::string(what) + " is " + std::to_string(text.size()) +
                                   " bytes, over the limit of " +
                                   std::to_string(limits.max_bytes) + " bytes"});
    return out;
  }
  if (auto where = find_too_deep(text, limits.max_depth)) {
    out.errors.push_back({*where, std::string(what) + " nests deeper than " +
                                      std::to_string(limits.max_depth) + " levels"});
    return out;
  }
  out.value = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (out.value.is_discarded()) {
    out.value = nullptr;
    out.errors.push_back({"$", std::string(what) + " is " + describe_syntax_error(text)});
  }
  return out;
}

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace rekindle
