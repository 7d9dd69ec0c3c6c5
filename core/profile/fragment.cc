#include "core/profile/fragment.h"

#include <cmath>
#include <cstdint>

#include "core/common/json_depth.h"
#include "core/common/json_time.h"

namespace rekindle::profile {
namespace {

using nlohmann::json;

// The latest instant a JavaScript Date can hold; later "times" are garbage.
constexpr TimeMs kMaxTs = kMaxTime;

bool is_valid_utf8(std::string_view s) {
  static constexpr uint32_t kMinOfLength[] = {0, 0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if (cp < kMinOfLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

void check_string(const std::string& s, const std::string& path, Errors& errors) {
  if (s.size() > kMaxStringBytes) {
    add_error(errors, path, with_numbers("is ", s.size(), " bytes, over the limit of ", kMaxStringBytes, " bytes"));
  } else if (!is_valid_utf8(s)) {
    add_error(errors, path, "is not valid UTF-8");
  }
}

// `depth` is the number of containers around `v`.
void check_nested(const json& v, const std::string& path, int depth, Errors& errors) {
  switch (v.type()) {
    case json::value_t::object:
    case json::value_t::array:
      if (depth + 1 > kMaxDepth) {
        add_error(errors, path, with_number("nests deeper than ", kMaxDepth, " levels"));
        return;
      }
      if (v.is_array()) {
        for (size_t i = 0; i < v.size(); ++i) check_nested(v[i], index(path, i), depth + 1, errors);
      } else {
        for (const auto& [key, item] : v.get_ref<const json::object_t&>()) {
          std::string p = child(path, key);
          check_string(key, p, errors);
          check_nested(item, p, depth + 1, errors);
        }
      }
      return;
    case json::value_t::string:
      return check_string(v.get_ref<const std::string&>(), path, errors);
    case json::value_t::number_float:
      // NaN and infinities have no JSON form (they would dump as null).
      if (!std::isfinite(v.get<double>())) add_error(errors, path, "must be a finite number");
      return;
    case json::value_t::binary:
    case json::value_t::discarded:
      add_error(errors, path, "must be a JSON value");
      return;
    default:
      return;
  }
}

bool is_namespace_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.' || c == '-';
}

bool is_valid_namespace(std::string_view ns) {
  if (ns.empty() || ns.size() > kMaxNamespaceLength) return false;
  for (char c : ns)
    if (!is_namespace_char(c)) return false;
  return true;
}

std::string key_problem(std::string_view key) {
  if (key.size() > kMaxKeyLength)
    return with_number("is longer than ", kMaxKeyLength, " characters");
  // starts_with, not rfind(prefix, 0): string_view::rfind is more code in the wasm.
  if (!key.starts_with("attributes.") && !key.starts_with("consent."))
    return "must start with 'attributes.' or 'consent.'";
  size_t dots = 0;
  for (char c : key) dots += c == '.' ? 1 : 0;
  if (dots > static_cast<size_t>(kMaxDepth))
    return with_number("has more than ", kMaxDepth, " segments below its root");
  return "must be dotted segments of letters, digits, '_', '$' and '-'";
}

void parse_profile_id(const json& v, const std::string& path, Fragment& f, Errors& errors) {
  if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
    add_error(errors, path, std::string("must be a non-empty string, not ") +
                                (v.is_string() ? "an empty one" : type_name(v)));
  } else if (v.get_ref<const std::string&>().size() > kMaxProfileIdLength) {
    add_error(errors, path, with_number("is longer than ", kMaxProfileIdLength, " bytes"));
  } else if (!is_valid_utf8(v.get_ref<const std::string&>())) {
    add_error(errors, path, "is not valid UTF-8");
  } else {
    f.profile_id = v.get_ref<const std::string&>();
  }
}

void parse_identities(const json& v, const std::string& path, Fragment& f, Errors& errors) {
  if (!v.is_object()) {
    add_type_error(errors, path, "must be an object, not ", v);
    return;
  }
  for (const auto& [ns, ids] : v.get_ref<const json::object_t&>()) {
    std::string ns_path = child(path, ns);
    if (!is_valid_namespace(ns)) {
      add_error(errors, ns_path, "is not a valid identity namespace: letters, digits, '_', '.' "
                                 "and '-', at most " + std::to_string(kMaxNamespaceLength));
      continue;
    }
    if (!ids.is_array()) {
      add_type_error(errors, ns_path, "must be an array of ids, not ", ids);
      continue;
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      std::string id_path = index(ns_path, i);
      const json& id = ids[i];
      if (!id.is_string() || id.get_ref<const std::string&>().empty()) {
        add_error(errors, id_path, "must be a non-empty string");
      } else if (id.get_ref<const std::string&>().size() > kMaxIdentityLength) {
        add_error(errors, id_path, with_number("is longer than ", kMaxIdentityLength, " bytes"));
      } else if (!is_valid_utf8(id.get_ref<const std::string&>())) {
        add_error(errors, id_path, "is not valid UTF-8");
      } else {
        f.identities.emplace(ns, id.get_ref<const std::string&>());
      }
    }
  }
  if (f.identities.size() > kMaxIdentities)
    add_error(errors, path,
              with_numbers("holds ", f.identities.size(), " identities, over the limit of ", kMaxIdentities, ""));
}

// Parses one entry of "fields"; returns nothing if it has a problem.
std::optional<FieldValue> parse_field(const json& entry, const std::string& path, Errors& errors) {
  if (!entry.is_object()) {
    add_type_error(errors, path, "must be an object with value, ts and origin, not ", entry);
    return std::nullopt;
  }
  size_t before = errors.size();
  unknown_keys(entry, path, {"value", "ts", "origin"}, nullptr, errors);

  FieldValue fv;
  if (auto v = member(entry, "value"); v == nullptr) {
    add_child_error(errors, path, "value", "is required (null for a deletion)");
  } else {
    check_value(*v, child(path, "value"), errors);
    fv.value = *v;
  }
  if (auto ts = member(entry, "ts"); ts == nullptr) {
    add_child_error(errors, path, "ts", "is required");
  } else if (auto t = time_from_json(*ts, false)) {
    fv.ts = *t;
  } else {
    add_child_error(errors, path, "ts", ts->is_number_integer()
                                             ? "must be between 0 and " + std::to_string(kMaxTs)
                                             : std::string("must be an integer number of "
                                                           "milliseconds, not ") + type_name(*ts));
  }
  if (auto o = member(entry, "origin"); o == nullptr) {
    add_child_error(errors, path, "origin", "is required");
  } else if (!o->is_string() || !is_valid_origin(o->get_ref<const std::string&>())) {
    add_child_error(errors, path, "origin", "must be a non-empty string of at most " +
                                                 std::to_string(kMaxOriginLength) + " bytes");
  } else if (!is_valid_utf8(o->get_ref<const std::string&>())) {
    add_child_error(errors, path, "origin", "is not valid UTF-8");
  } else {
    fv.origin = o->get_ref<const std::string&>();
  }
  if (errors.size() != before) return std::nullopt;
  return fv;
}

void parse_fields(const json& v, const std::string& path, size_t max_fields, Fragment& f,
                  Errors& errors) {
  if (!v.is_object()) {
    add_type_error(errors, path, "must be an object, not ", v);
    return;
  }
  if (v.size() > max_fields) {
    // Not looked into further: the count alone refuses it.
    add_error(errors, path, with_numbers("holds ", v.size(), " fields, over the limit of ", max_fields, ""));
    return;
  }
  for (const auto& [key, entry] : v.get_ref<const json::object_t&>()) {
    std::string p = child(path, key);
    if (!is_valid_field_key(key)) {
      add_error(errors, p, key_problem(key));
      continue;
    }
    if (auto fv = parse_field(entry, p, errors)) f.fields.emplace(key, std::move(*fv));
  }
}

// True if `it` beats every stored field above and below it (see materialize).
bool is_newest_on_its_line(const std::map<std::string, FieldValue>& fields,
                           std::map<std::string, FieldValue>::const_iterator it, size_t root_len) {
  const std::string& key = it->first;
  for (size_t dot = key.find('.', root_len); dot != std::string::npos; dot = key.find('.', dot + 1)) {
    auto above = fields.find(key.substr(0, dot));
    if (above != fields.end() && wins(above->second, it->second)) return false;
  }
  // Keys below `key` sort between "key." and "key/" ('/' follows '.').
  auto end = fields.lower_bound(key + '/');
  for (auto below = fields.lower_bound(key + '.'); below != end; ++below)
    if (wins(below->second, it->second)) return false;
  return true;
}

}  // namespace

int compare(const FieldValue& a, const FieldValue& b) {
  if (a.ts != b.ts) return a.ts < b.ts ? -1 : 1;
  if (int c = a.origin.compare(b.origin)) return c < 0 ? -1 : 1;
  std::string da = dump(a.value);
  std::string db = dump(b.value);
  if (int c = da.compare(db)) return c < 0 ? -1 : 1;
  // Equal text from different values only comes from invalid UTF-8 (replaced
  // when dumped), which validation keeps out; json's own order keeps the
  // tie-break total for a fragment that skipped validation.
  if (a.value < b.value) return -1;
  if (b.value < a.value) return 1;
  return 0;
}

bool wins(const FieldValue& a, const FieldValue& b) { return compare(a, b) > 0; }

bool operator==(const FieldValue& a, const FieldValue& b) { return compare(a, b) == 0; }

void merge_into(Fragment& into, const Fragment& from) {
  if (&into == &from) return;
  if (into.profile_id.empty() || (!from.profile_id.empty() && from.profile_id < into.profile_id))
    into.profile_id = from.profile_id;
  for (const auto& [key, fv] : from.fields) {
    auto [it, inserted] = into.fields.try_emplace(key, fv);
    if (!inserted && wins(fv, it->second)) it->second = fv;
  }
  into.identities.insert(from.identities.begin(), from.identities.end());
}

Fragment merge(Fragment a, const Fragment& b) {
  merge_into(a, b);
  return a;
}

nlohmann::json materialize(const std::map<std::string, FieldValue>& fields, std::string_view root) {
  json tree = json(json::value_t::object);
  std::string prefix = std::string(root) + '.';
  auto end = fields.lower_bound(std::string(root) + '/');
  for (auto it = fields.lower_bound(prefix); it != end; ++it) {
    if (it->second.value.is_null() || !is_newest_on_its_line(fields, it, prefix.size())) continue;
    // The leaves shown have no shown leaf above them, so every step down is
    // an object; the check only guards against a broken invariant.
    const std::string& key = it->first;
    json* node = &tree;
    size_t start = prefix.size();
    for (size_t dot; node && (dot = key.find('.', start)) != std::string::npos; start = dot + 1) {
      node = &(*node)[key.substr(start, dot - start)];
      if (node->is_null()) *node = json(json::value_t::object);
      if (!node->is_object()) node = nullptr;
    }
    if (node) (*node)[key.substr(start)] = it->second.value;
  }
  return tree;
}

bool is_valid_segment(std::string_view segment) {
  if (segment.empty()) return false;
  for (char c : segment) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '$' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_valid_field_key(std::string_view key) {
  if (key.size() > kMaxKeyLength) return false;
  size_t first = key.find('.');
  if (first == std::string_view::npos) return false;
  std::string_view root = key.substr(0, first);
  if (root != "attributes" && root != "consent") return false;
  // Below the root at most kMaxDepth segments: as deep as set_attributes goes.
  for (size_t start = first + 1, segments = 1; segments <= static_cast<size_t>(kMaxDepth); ++segments) {
    size_t dot = key.find('.', start);
    if (!is_valid_segment(key.substr(start, dot == std::string_view::npos ? dot : dot - start)))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
  return false;
}

bool is_valid_origin(std::string_view origin) {
  return !origin.empty() && origin.size() <= kMaxOriginLength;
}

bool is_valid_identity(std::string_view ns, std::string_view id) {
  return is_valid_namespace(ns) && !id.empty() && id.size() <= kMaxIdentityLength &&
         is_valid_utf8(id);
}

void check_value(const nlohmann::json& value, const std::string& path, Errors& errors) {
  if (value.is_object()) {
    add_error(errors, path, "must not be an object: a field holds one leaf value (nested "
                            "objects are written as dotted keys)");
    return;
  }
  check_nested(value, path, 0, errors);
}

nlohmann::json to_json(const Fragment& fragment) {
  json out = json(json::value_t::object);
  if (!fragment.profile_id.empty()) set_member(out, "profileId", fragment.profile_id);
  json& identities = out["identities"] = json(json::value_t::object);
  for (const auto& [ns, id] : fragment.identities) identities[ns].push_back(id);
  json& fields = out["fields"] = json(json::value_t::object);
  for (const auto& [key, fv] : fragment.fields) {
    json& entry = fields[key] = json(json::value_t::object);
    set_member(entry, "value", fv.value);
    set_member(entry, "ts", fv.ts);
    set_member(entry, "origin", fv.origin);
  }
  return out;
}

FragmentParse fragment_from_json(const nlohmann::json& value, std::string_view path_view,
                                 size_t max_fields) {
  FragmentParse out;
  std::string path(path_view);
  if (!value.is_object()) {
    add_type_error(out.errors, path, "a fragment must be an object, not ", value);
    return out;
  }
  Fragment f;
  for (const auto& [key, v] : value.get_ref<const json::object_t&>()) {
    std::string p = child(path, key);
    if (key == "profileId") {
      parse_profile_id(v, p, f, out.errors);
    } else if (key == "identities") {
      parse_identities(v, p, f, out.errors);
    } else if (key == "fields") {
      parse_fields(v, p, max_fields, f, out.errors);
    } else {
      add_error(out.errors, p, "is not a known field");
    }
  }
  if (out.errors.empty()) out.fragment = std::move(f);
  return out;
}

}  // namespace rekindle::profile
