#include "core/offers/template.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/common/json_depth.h"

namespace rekindle::offers {
namespace {

using nlohmann::json;

// Length of the well-formed UTF-8 sequence starting at `i`, or 0. Overlong
// forms, surrogates and code points past U+10FFFF are not well-formed.
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  size_t len;
  uint32_t cp;
  uint32_t min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// Appends `text` as well-formed UTF-8, HTML-escaped if asked.
void append_text(std::string& out, std::string_view text, bool html) {
  for (size_t i = 0; i < text.size();) {
    size_t len = utf8_sequence(text, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (len > 1 || !html) {
      out.append(text.substr(i, len));
    } else {
      switch (text[i]) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        case '`': out += "&#96;"; break;
        default: out += text[i]; break;
      }
    }
    i += len;
  }
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

std::string at(size_t offset) { return " at offset " + std::to_string(offset); }

// A template split into literal text and tokens; views into the template.
struct Piece {
  std::string_view text;  // literal text, or the token's path
  std::string_view fallback;
  bool is_token = false;
};

// A problem appended by copy: vector<string> keeps one push_back (the
// const& one, which other containers of strings use) in the wasm. Problems
// only arise for a template that is refused.
void add_problem(std::vector<std::string>& problems, const std::string& problem) { problems.push_back(problem); }

// Checks the path of a token; `base` is the offset of `path` in the template.
void check_path(std::string_view path, size_t base, std::vector<std::string>& problems) {
  bool segment_empty = true;
  for (size_t k = 0; k < path.size(); ++k) {
    char c = path[k];
    if (c == '.') {
      if (segment_empty) {
        add_problem(problems, "empty key in path '" + std::string(path) + "'" + at(base + k));
        return;
      }
      segment_empty = true;
    } else if (!is_key_char(c)) {
      add_problem(problems, "path '" + std::string(path) +
                         "' may only hold letters, digits, '_', '-' and '.'" + at(base + k));
      return;
    } else {
      segment_empty = false;
    }
  }
  if (segment_empty)
    add_problem(problems, "empty key in path '" + std::string(path) + "'" + at(base + path.size()));
}

// Splits and checks a template; `problems` are reasons without the path.
std::vector<Piece> scan(std::string_view tpl, std::vector<std::string>& problems) {
  std::vector<Piece> pieces;
  if (tpl.size() > kMaxTemplateBytes) {
    add_problem(problems, with_numbers("template is ", tpl.size(), " bytes, over the limit of ", kMaxTemplateBytes, ""));
    return pieces;
  }
  for (size_t i = 0; i < tpl.size();) {
    size_t len = utf8_sequence(tpl, i);
    if (len == 0) {
      add_problem(problems, "not valid UTF-8" + at(i));
      break;
    }
    i += len;
  }

  size_t literal = 0;
  auto flush = [&](size_t end) {
    if (end > literal) pieces.push_back({tpl.substr(literal, end - literal), {}, false});
  };
  size_t i = 0;
  while (i < tpl.size()) {
    if (tpl.compare(i, 2, "}}") == 0) {
      bool triple = tpl.compare(i, 3, "}}}") == 0;
      add_problem(problems, triple ? "'}}}' (triple braces are not supported)" + at(i)
                                : "'}}' without an opening '{{'" + at(i));
      while (i < tpl.size() && tpl[i] == '}') ++i;
      continue;
    }
    if (tpl.compare(i, 2, "{{") != 0) {
      ++i;
      continue;
    }
    flush(i);
    const size_t open = i;
    if (tpl.compare(i, 3, "{{{") == 0) {
      add_problem(problems, "'{{{' (triple braces: raw insertion is not supported)" + at(i));
      size_t close = tpl.find("}}", i + 3);
      if (close == std::string_view::npos) return pieces;
      for (i = close; i < tpl.size() && tpl[i] == '}';) ++i;
      literal = i;
      continue;
    }
    // Find the closing `}}`; any other brace inside the token is nesting.
    size_t close = std::string_view::npos;
    bool bad = false;
    for (size_t k = open + 2; k < tpl.size(); ++k) {
      if (tpl[k] == '}' && k + 1 < tpl.size() && tpl[k + 1] == '}') {
        close = k;
        break;
      }
      if ((tpl[k] == '{' || tpl[k] == '}') && !bad) {
        add_problem(problems, std::string("nested '") + tpl[k] + "' inside '{{ }}'" + at(k));
        bad = true;
      }
    }
    if (close == std::string_view::npos) {
      if (!bad) add_problem(problems, "unclosed '{{'" + at(open));
      return pieces;
    }
    if (close + 2 < tpl.size() && tpl[close + 2] == '}') {
      add_problem(problems, "'}}}' (triple braces are not supported)" + at(close));
      bad = true;
    }
    std::string_view body = tpl.substr(open + 2, close - open - 2);
    size_t bar = body.find('|');
    std::string_view raw_path = body.substr(0, bar);
    std::string_view path = trim(raw_path);
    if (!bad) {
      if (path.empty()) {
        add_problem(problems, "empty path in '{{ }}'" + at(open));
      } else {
        size_t path_offset = open + 2 + static_cast<size_t>(path.data() - raw_path.data());
        check_path(path, path_offset, problems);
      }
    }
    std::string_view fallback =
        bar == std::string_view::npos ? std::string_view() : trim(body.substr(bar + 1));
    pieces.push_back({path, fallback, true});
    for (i = close; i < tpl.size() && tpl[i] == '}';) ++i;
    literal = i;
  }
  flush(tpl.size());
  return pieces;
}

// The text the value at `path` under `v` inserts, or nullopt for the default.
std::optional<std::string> value_text(const json* v, std::string_view path) {
  // An empty path is `v` itself (a template path naming a root alone).
  for (size_t start = 0; !path.empty();) {
    size_t dot = path.find('.', start);
    std::string_view key = path.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!v->is_object()) return std::nullopt;
    auto it = member(*v, key);
    if (it == nullptr) return std::nullopt;
    v = &*it;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  switch (v->type()) {
    case json::value_t::string:
      // An empty name reads "Hi !" on a tile; the default reads better.
      if (v->get_ref<const std::string&>().empty()) return std::nullopt;
      return v->get_ref<const std::string&>();
    case json::value_t::boolean: return v->get<bool>() ? "true" : "false";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return dump(*v);
    case json::value_t::number_float: {
      double d = v->get<double>();
      if (!std::isfinite(d)) return std::nullopt;
      // 80.0 reads as "80" on a tile; 2^53 bounds exact integers.
      if (std::trunc(d) == d && std::fabs(d) < 9007199254740992.0)
        return std::to_string(static_cast<int64_t>(d));
      return dump(*v);
    }
    default: return std::nullopt;
  }
}

}  // namespace

Errors validate_template(std::string_view tpl, std::string_view path, std::initializer_list<std::string_view> roots) {
  std::vector<std::string> problems;
  std::vector<Piece> pieces = scan(tpl, problems);
  if (problems.empty() && roots.size() > 0) {
    for (const Piece& p : pieces) {
      if (!p.is_token) continue;
      std::string_view root = p.text.substr(0, p.text.find('.'));
      const bool exact = std::find(roots.begin(), roots.end(), p.text) != roots.end();
      if (exact || (root != p.text && std::find(roots.begin(), roots.end(), root) != roots.end())) continue;
      // Roots ("profile") admit every path under them; paths ("offer.title")
      // only themselves.
      std::string starts, paths;
      for (std::string_view r : roots) {
        std::string& list = r.find('.') == std::string_view::npos ? starts : paths;
        list += (list.empty() ? "" : ", ") + std::string(r) + (&list == &starts ? "." : "");
      }
      add_problem(problems, "'{{" + std::string(p.text) + "}}' " +
                         (paths.empty() ? "does not start with " + starts
                                        : "is neither a path under " + starts + " nor one of " + paths) +
                         " (it would always insert its default)");
    }
  }
  Errors errors;
  for (auto& reason : problems) add_error(errors, std::string(path), std::move(reason));
  return errors;
}

// Renders with `lookup(path)`, the text a token's path inserts or nullopt.
template <class Lookup>
std::string render_with(std::string_view tpl, Escape escape, const Lookup& lookup) {
  std::vector<std::string> problems;
  std::vector<Piece> pieces = scan(tpl, problems);
  if (!problems.empty()) return {};
  const bool html = escape == Escape::kHtml;
  std::string out;
  out.reserve(tpl.size());
  for (const Piece& p : pieces) {
    if (!p.is_token) {
      out.append(p.text);
    } else if (auto text = lookup(p.text)) {
      append_text(out, *text, html);
    } else {
      append_text(out, p.fallback, html);
    }
  }
  return out;
}

std::string render(std::string_view tpl, const json& context, Escape escape) {
  return render_with(tpl, escape, [&](std::string_view path) { return value_text(&context, path); });
}

std::string render(std::string_view tpl, std::initializer_list<Root> roots, Escape escape) {
  return render_with(tpl, escape, [&](std::string_view path) -> std::optional<std::string> {
    const size_t dot = path.find('.');
    const std::string_view name = path.substr(0, dot);
    for (const Root& r : roots) {
      if (r.name != name) continue;
      if (dot == std::string_view::npos) return value_text(r.value, {});
      return value_text(r.value, path.substr(dot + 1));
    }
    return std::nullopt;
  });
}

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_text(out, text, /*html=*/true);
  return out;
}

}  // namespace rekindle::offers
