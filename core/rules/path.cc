#include "core/rules/path.h"

#include "core/common/error.h"

namespace rekindle::rules {
namespace {

bool ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$'; }
bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9') || c == '-'; }

}  // namespace

bool Path::has_any_item() const {
  for (const auto& s : steps)
    if (s.any_item) return true;
  return false;
}

std::optional<Path> parse_path(std::string_view text, std::string& why) {
  Path path;
  path.text = std::string(text);
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t dot = text.find('.', start);
    // An lvalue, as everywhere: vector<string_view> keeps one push_back in the wasm.
    const std::string_view part =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    parts.push_back(part);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts[0] == "profile") {
    path.root = Root::kProfile;
  } else if (parts[0] == "event") {
    path.root = Root::kEvent;
  } else {
    why = "must start with 'profile.' or 'event.'";
    return std::nullopt;
  }
  if (parts.size() < 2) {
    why = with_text("names no field after '", std::string(parts[0]), "'");
    return std::nullopt;
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    PathStep step;
    if (part.size() >= 2 && part.substr(part.size() - 2) == "[]") {
      step.any_item = true;
      part.remove_suffix(2);
    }
    bool ok = !part.empty() && ident_start(part[0]);
    for (char c : part) ok = ok && ident_char(c);
    if (!ok) {
      why = "has an invalid segment '" + std::string(parts[i]) +
            "' (letters, digits, '_', '$', '-', optionally followed by '[]')";
      return std::nullopt;
    }
    step.key = std::string(part);
    path.steps.push_back(std::move(step));
  }
  return path;
}

}  // namespace rekindle::rules
