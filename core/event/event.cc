#include "core/event/event.h"

#include <array>

namespace rekindle::event {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 9> kTopLevel = {
    "_id", "eventType", "timestamp", "identityMap", "commerce",
    "productListItems", "web", "data", "_experience"};
// Their places in kTopLevel.
enum TopLevel : size_t { kId, kEventType, kTimestamp, kIdentityMap, kCommerce, kItems, kWeb, kData, kExperience };

constexpr size_t kMaxIdLength = 128;

// A product item's typed fields: four strings, then two numbers.
constexpr std::array<std::string_view, 6> kItemFields = {
    "SKU", "name", "currencyCode", "productCategory", "quantity", "priceTotal"};

// The index of `key` in `names`, or names.size().
template <size_t N>
size_t position(const std::array<std::string_view, N>& names, std::string_view key) {
  size_t k = 0;
  while (k < N && names[k] != key) ++k;
  return k;
}

bool has_type(const json& v, json::value_t want) {
  return v.type() == want || (want == json::value_t::number_float && v.is_number());
}

void expect_type(const json& v, json::value_t want, const std::string& path, Errors& errors) {
  if (!has_type(v, want)) {
    const char* name = want == json::value_t::object   ? "an object"
                       : want == json::value_t::array  ? "an array"
                       : want == json::value_t::string ? "a string"
                       : want == json::value_t::boolean ? "a boolean"
                                                        : "a number";
    add_error(errors, path, std::string("must be ") + name + ", not " + type_name(v));
  }
}

// The same for the field `key` of the object at `parent`: the path is built
// only for an error (every ingest and every event of a restore comes here).
void expect_field_type(const json& v, json::value_t want, const std::string& parent, std::string_view key,
                       Errors& errors) {
  if (!has_type(v, want)) expect_type(v, want, child(parent, key), errors);
}

void check_identity_map(const json& v, const std::string& path, Errors& errors) {
  if (!v.is_object()) return expect_type(v, json::value_t::object, path, errors);
  for (const auto& [ns, ids] : v.get_ref<const json::object_t&>()) {
    std::string ns_path = child(path, ns);
    if (!ids.is_array()) {
      expect_type(ids, json::value_t::array, ns_path, errors);
      continue;
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      std::string id_path = index(ns_path, i);
      const json& entry = ids[i];
      if (!entry.is_object()) {
        expect_type(entry, json::value_t::object, id_path, errors);
        continue;
      }
      auto id = member(entry, "id");
      if (id == nullptr) {
        add_child_error(errors, id_path, "id", "is required");
      } else if (!id->is_string() || id->get_ref<const std::string&>().empty()) {
        add_child_error(errors, id_path, "id", "must be a non-empty string");
      }
      if (auto p = member(entry, "primary"); p != nullptr)
        expect_field_type(*p, json::value_t::boolean, id_path, "primary", errors);
    }
  }
}

void check_commerce(const json& v, const std::string& path, Errors& errors) {
  if (!v.is_object()) return expect_type(v, json::value_t::object, path, errors);
  for (const auto& [key, value] : v.get_ref<const json::object_t&>()) {
    std::string p = child(path, key);
    if (!value.is_object()) {
      expect_type(value, json::value_t::object, p, errors);
      continue;
    }
    if (key == "order") {
      if (auto t = member(value, "priceTotal"); t != nullptr)
        expect_field_type(*t, json::value_t::number_float, p, "priceTotal", errors);
      if (auto c = member(value, "currencyCode"); c != nullptr)
        expect_field_type(*c, json::value_t::string, p, "currencyCode", errors);
    } else if (auto n = member(value, "value"); n != nullptr) {
      expect_field_type(*n, json::value_t::number_float, p, "value", errors);
    }
  }
}

void check_items(const json& v, const std::string& path, Errors& errors) {
  if (!v.is_array()) return expect_type(v, json::value_t::array, path, errors);
  for (size_t i = 0; i < v.size(); ++i) {
    std::string p = index(path, i);
    const json& item = v[i];
    if (!item.is_object()) {
      expect_type(item, json::value_t::object, p, errors);
      continue;
    }
    // One pass over the item's members, then the checks in a fixed order.
    std::array<const json*, kItemFields.size()> field{};
    for (const auto& [key, member] : item.get_ref<const json::object_t&>())
      if (size_t k = position(kItemFields, key); k < kItemFields.size()) field[k] = &member;
    for (size_t k = 0; k < kItemFields.size(); ++k)
      if (field[k] != nullptr)
        expect_field_type(*field[k], k < 4 ? json::value_t::string : json::value_t::number_float, p, kItemFields[k],
                          errors);
  }
}

void check_web(const json& v, const std::string& path, Errors& errors) {
  if (!v.is_object()) return expect_type(v, json::value_t::object, path, errors);
  for (const char* section : {"webPageDetails", "webReferrer"}) {
    auto s = member(v, section);
    if (s == nullptr) continue;
    std::string p = child(path, section);
    if (!s->is_object()) {
      expect_type(*s, json::value_t::object, p, errors);
      continue;
    }
    for (const char* key : {"name", "URL"})
      if (auto f = member(*s, key); f != nullptr)
        expect_field_type(*f, json::value_t::string, p, key, errors);
  }
}

}  // namespace

bool is_valid_type(std::string_view type) {
  if (type.empty() || type.size() > 128 || type.front() == '.' || type.back() == '.')
    return false;
  for (char c : type) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// By value: parse() hands its tree over, and the body is moved, not copied.
ParseResult from_json(json value) {
  ParseResult out;
  if (!value.is_object()) {
    add_type_error(out.errors, "$", "an event must be an object, not ", value);
    return out;
  }
  Event ev;
  Errors& errors = out.errors;

  // One pass over the members finds the known fields: a lookup per field
  // would compare the keys again for each (a restore validates every event
  // of the history).
  std::array<const json*, kTopLevel.size()> field{};
  for (const auto& [key, member] : value.get_ref<const json::object_t&>()) {
    if (size_t k = position(kTopLevel, key); k < kTopLevel.size()) field[k] = &member;
    else add_error(errors, child("$", key), "is not a known top-level field");
  }

  if (const json* id = field[kId]; id == nullptr) {
    add_error(errors, "$._id", "is required");
  } else if (!id->is_string() || id->get_ref<const std::string&>().empty()) {
    add_error(errors, "$._id", "must be a non-empty string");
  } else if (id->get_ref<const std::string&>().size() > kMaxIdLength) {
    add_error(errors, "$._id", with_number("is longer than ", kMaxIdLength, " characters"));
  } else {
    ev.id = id->get_ref<const std::string&>();
  }

  if (const json* type = field[kEventType]; type == nullptr) {
    add_error(errors, "$.eventType", "is required");
  } else if (!type->is_string()) {
    add_type_error(errors, "$.eventType", "must be a string, not ", *type);
  } else if (!is_valid_type(type->get_ref<const std::string&>())) {
    add_error(errors, "$.eventType",
              "must be a dotted name of letters, digits, '_' and '-' (at most 128)");
  } else {
    ev.type = type->get_ref<const std::string&>();
  }

  if (const json* ts = field[kTimestamp]; ts == nullptr) {
    add_error(errors, "$.timestamp", "is required");
  } else if (!ts->is_string()) {
    add_type_error(errors, "$.timestamp", "must be an ISO 8601 string, not ", *ts);
  } else if (auto t = parse_iso8601(ts->get_ref<const std::string&>())) {
    ev.timestamp = *t;
  } else {
    add_error(errors, "$.timestamp",
              "is not an ISO 8601 date-time with offset (e.g. 2026-12-04T15:53:00Z)");
  }

  if (field[kIdentityMap] != nullptr) check_identity_map(*field[kIdentityMap], "$.identityMap", errors);
  if (field[kCommerce] != nullptr) check_commerce(*field[kCommerce], "$.commerce", errors);
  if (field[kItems] != nullptr) check_items(*field[kItems], "$.productListItems", errors);
  if (field[kWeb] != nullptr) check_web(*field[kWeb], "$.web", errors);
  if (field[kData] != nullptr) expect_type(*field[kData], json::value_t::object, "$.data", errors);
  if (field[kExperience] != nullptr) expect_type(*field[kExperience], json::value_t::object, "$._experience", errors);

  if (errors.empty()) {
    ev.body = std::move(value);
    out.event = std::move(ev);
  }
  return out;
}

ParseResult parse(std::string_view json_text) {
  ParsedJson parsed = parse_json(json_text, kEventLimits, "event");
  if (!parsed.ok()) {
    ParseResult out;
    out.errors = std::move(parsed.errors);
    return out;
  }
  return from_json(std::move(parsed.value));
}

}  // namespace rekindle::event
