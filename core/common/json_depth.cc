#include "core/common/json_depth.h"

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

std::string path_of(const std::vector<Frame>& stack) {
  std::string path = "$";
  for (const auto& f : stack) {
    path = f.is_object ? child(path, decode_key(f.key)) : index(path, f.index);
  }
  return path;
}

std::optional<std::string> find_too_deep(std::string_view text, int max_depth) {
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
  DomBuilder builder(out.value);
  nlohmann::json::sax_parse(text.begin(), text.end(), &builder);
  if (builder.is_errored()) {
    out.value = nullptr;
    out.errors.push_back({"$", std::string(what) + " is " + describe_syntax_error(builder.message)});
  }
  return out;
}

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace rekindle
