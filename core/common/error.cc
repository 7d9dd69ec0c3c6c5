#include "core/common/error.h"

#include <algorithm>

namespace rekindle {
namespace {

bool is_identifier(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '$';
    if (!ok) return false;
  }
  return !(key[0] >= '0' && key[0] <= '9');
}

}  // namespace

// noinline: LTO would otherwise put the body back at every site.
__attribute__((noinline)) void add_error(Errors& errors, const char* path, const char* reason) {
  errors.push_back({path, reason});
}
__attribute__((noinline)) void add_error(Errors& errors, const char* path, const std::string& reason) {
  errors.push_back({path, reason});
}
__attribute__((noinline)) void add_error(Errors& errors, const std::string& path, const char* reason) {
  errors.push_back({path, reason});
}
__attribute__((noinline)) void add_error(Errors& errors, const std::string& path, const std::string& reason) {
  errors.push_back({path, reason});
}

void append_errors(Errors& errors, const Errors& more) {
  for (const auto& e : more) add_error(errors, e.path, e.reason);
}

bool claim_id(IdHolders& holders, const std::string& id, const std::string& path, Errors& errors) {
  auto [first, fresh] = holders.emplace(id, path);
  if (!fresh) add_child_error(errors, path, "id", "duplicates the id of " + first->second.get_ref<const std::string&>());
  return fresh;
}

std::string with_number(const char* before, size_t n, const char* after) {
  std::string out = before;
  out += std::to_string(n);
  out += after;
  return out;
}

std::string with_text(const char* before, const std::string& text, const char* after) {
  std::string out = before;
  out += text;
  out += after;
  return out;
}

std::string with_numbers(const char* before, size_t a, const char* middle, size_t b, const char* after) {
  std::string out = with_number(before, a, middle);
  out += std::to_string(b);
  out += after;
  return out;
}

void add_unknown_segment(Errors& errors, const std::string& path, const std::string& id) {
  add_error(errors, path, with_text("names unknown segment '", id, "'"));
}

void add_child_error(Errors& errors, const std::string& path, const char* key, const char* reason) {
  errors.push_back({child(path, key), reason});
}
void add_child_error(Errors& errors, const std::string& path, const char* key, const std::string& reason) {
  errors.push_back({child(path, key), reason});
}

void unknown_keys(const nlohmann::json& object, const std::string& path,
                  std::initializer_list<std::string_view> allowed, const char* reason_start, Errors& errors) {
  // Every caller has checked `object` to be one: its members are walked as
  // the std::map they are, without nlohmann's items() proxy.
  if (!object.is_object()) return;
  for (const auto& item : object.get_ref<const nlohmann::json::object_t&>()) {
    const std::string& key = item.first;
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    if (reason_start == nullptr) {
      errors.push_back({child(path, key), "is not a known field"});
      continue;
    }
    std::string reason = reason_start;
    for (size_t i = 0; i < allowed.size(); ++i) {
      if (i > 0) reason += ", ";
      reason += allowed.begin()[i];
    }
    reason += ')';
    errors.push_back({child(path, key), std::move(reason)});
  }
}

const nlohmann::json* member(const nlohmann::json& value, std::string_view key) {
  if (!value.is_object()) return nullptr;
  const auto& object = value.get_ref<const nlohmann::json::object_t&>();
  auto it = object.find(key);
  return it == object.end() ? nullptr : &it->second;
}

void set_member(nlohmann::json& object, const char* key, nlohmann::json value) {
  object[key] = std::move(value);
}

nlohmann::json* member(nlohmann::json& value, std::string_view key) {
  return const_cast<nlohmann::json*>(member(static_cast<const nlohmann::json&>(value), key));
}

std::string child(std::string_view path, std::string_view key) {
  std::string out(path);
  if (is_identifier(key)) {
    out += '.';
    out += key;
  } else {
    out += '[';
    out += nlohmann::json(std::string(key)).dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);
    out += ']';
  }
  return out;
}

std::string child(const std::string& path, const char* key) {
  return child(std::string_view(path), std::string_view(key));
}
std::string child(const std::string& path, const std::string& key) {
  return child(std::string_view(path), std::string_view(key));
}
std::string child(const char* path, const std::string& key) {
  return child(std::string_view(path), std::string_view(key));
}

std::string index(std::string_view path, size_t i) {
  std::string out(path);
  out += '[';
  out += std::to_string(i);
  out += ']';
  return out;
}

std::string index(const std::string& path, size_t i) { return index(std::string_view(path), i); }
std::string index(const char* path, size_t i) { return index(std::string_view(path), i); }

nlohmann::json to_json(const Errors& errors) {
  auto out = nlohmann::json(nlohmann::json::value_t::array);
  for (const auto& e : errors) out.push_back(json_object({{"path", e.path}, {"reason", e.reason}}));
  return out;
}

nlohmann::json json_object(std::initializer_list<JsonMember> members) {
  nlohmann::json out(nlohmann::json::value_t::object);
  for (const auto& m : members) out[std::string(m.key)] = std::move(m.value);
  return out;
}

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(id[0])) return false;
  for (char c : id)
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

std::string not_type(const char* prefix, const nlohmann::json& value) {
  return std::string(prefix) + type_name(value);
}
void add_type_error(Errors& errors, const std::string& path, const char* prefix, const nlohmann::json& value) {
  errors.push_back({path, not_type(prefix, value)});
}
void add_type_error(Errors& errors, const char* path, const char* prefix, const nlohmann::json& value) {
  errors.push_back({path, not_type(prefix, value)});
}

const char* type_name(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "object";
    case nlohmann::json::value_t::array: return "array";
    case nlohmann::json::value_t::string: return "string";
    case nlohmann::json::value_t::boolean: return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: return "number";
    default: return "unknown";
  }
}

}  // namespace rekindle
