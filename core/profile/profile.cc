#include "core/profile/profile.h"

#include <atomic>
#include <limits>
#include <utility>

#include "core/common/json_depth.h"

namespace rekindle::profile {
namespace {

using nlohmann::json;

constexpr std::string_view kAttributes = "attributes";
constexpr std::string_view kDeviceNamespace = "device";

bool is_attribute_key(const std::string& key) {
  return key.size() > kAttributes.size() && key.compare(0, kAttributes.size(), kAttributes) == 0 &&
         key[kAttributes.size()] == '.';
}

using Leaves = std::vector<std::pair<std::string, const json*>>;

// Turns nested objects into dotted leaf keys; `depth` counts the objects
// around `object`, the attributes object itself being 1.
void flatten(const json& object, const std::string& key_prefix, const std::string& path, int depth,
             Leaves& leaves, Errors& errors) {
  for (const auto& [name, value] : object.get_ref<const json::object_t&>()) {
    std::string p = child(path, name);
    if (!is_valid_segment(name)) {
      add_error(errors, p, "is not a valid attribute name: letters, digits, '_', '$' and '-'");
      continue;
    }
    std::string key = key_prefix + '.' + name;
    if (key.size() > kMaxKeyLength) {
      add_error(errors, p, with_number("makes the field key longer than ", kMaxKeyLength, " characters"));
      continue;
    }
    if (!value.is_object()) {
      check_value(value, p, errors);
      leaves.emplace_back(std::move(key), &value);
    } else if (depth + 1 > kMaxDepth) {
      add_error(errors, p, with_number("nests deeper than ", kMaxDepth, " levels"));
    } else {
      flatten(value, key, p, depth + 1, leaves, errors);
    }
  }
}

}  // namespace

Profile::Profile(std::string device_id) { set_device_id(std::move(device_id)); }

void Profile::set_device_id(std::string device_id) {
  device_id_ = std::move(device_id);
  // The device's own identity is kept even past kMaxIdentities: it is what
  // ties this device's records to the profile.
  if (is_valid_identity(kDeviceNamespace, device_id_))
    identities_.emplace(std::string(kDeviceNamespace), device_id_);
}

bool Profile::identify(const std::string& ns, const std::string& id, TimeMs /*now*/) {
  // Identities carry no time: they only grow, so there is no write to order.
  if (!is_valid_identity(ns, id)) return false;
  Identity identity{ns, id};
  if (identities_.count(identity)) return false;
  if (identities_.size() >= kMaxIdentities) return false;
  identities_.insert(std::move(identity));
  return true;
}

Profile::SetResult Profile::set_attributes(const json& attributes, TimeMs now,
                                           const std::string& origin) {
  SetResult out;
  if (!attributes.is_object()) {
    add_type_error(out.errors, "$", "attributes must be an object, not ", attributes);
    return out;
  }
  if (!is_valid_origin(origin))
    add_error(out.errors, "$", "the origin must be a non-empty string of at most " +
                                   std::to_string(kMaxOriginLength) + " bytes");
  Leaves leaves;
  flatten(attributes, std::string(kAttributes), "$", 1, leaves, out.errors);
  size_t new_keys = 0;
  for (const auto& [key, _] : leaves) new_keys += fields_.count(key) == 0 ? 1 : 0;
  if (new_keys > 0 && fields_.size() + new_keys > kMaxFields)
    add_error(out.errors, "$", with_numbers("would make the profile hold ", fields_.size() + new_keys,
                                            " fields, over the limit of ", kMaxFields, ""));
  if (!out.errors.empty()) return out;

  bool stored = false;
  for (const auto& [key, value] : leaves) {
    bool value_changed = false;
    stored |= store(key, FieldValue{*value, now, origin}, &value_changed);
    // Pushed as an lvalue, as every vector<string> item: one push_back in the wasm.
    if (value_changed) {
      const std::string leaf = key.substr(kAttributes.size() + 1);
      out.changed.push_back(leaf);
    }
  }
  // A write that keeps the value can still change which leaf shows (the
  // newest on a line of descent wins), so any stored write refreshes.
  if (stored) refresh_attributes();
  return out;
}

const FieldValue* Profile::field(const std::string& key) const {
  auto it = fields_.find(key);
  return it == fields_.end() ? nullptr : &it->second;
}

bool Profile::set_field(const std::string& key, json value, TimeMs ts, const std::string& origin) {
  if (!is_valid_field_key(key) || !is_valid_origin(origin)) return false;
  Errors errors;
  check_value(value, key, errors);
  if (!errors.empty()) return false;
  if (fields_.size() >= kMaxFields && fields_.count(key) == 0) return false;
  bool value_changed = false;
  if (!store(key, FieldValue{std::move(value), ts, origin}, &value_changed)) return false;
  if (is_attribute_key(key)) refresh_attributes();
  return true;
}

Fragment Profile::fragment() const {
  // Copy-constructed, not assigned: the containers' copy assignment would be
  // more code in the wasm for what is always an empty target.
  return Fragment{device_id_, fields_, identities_};
}

Fragment Profile::fragment_since(TimeMs since) const {
  Fragment f;
  f.profile_id = device_id_;
  for (const auto& [key, fv] : fields_)
    if (fv.ts > since) f.fields.emplace(key, fv);
  f.identities.insert(identities_.begin(), identities_.end());  // into the empty set, as in fragment()
  return f;
}

std::vector<std::string> Profile::apply(const Fragment& fragment) {
  std::vector<std::string> changed;
  bool attributes_stored = false;
  for (const auto& [key, fv] : fragment.fields) {
    bool value_changed = false;
    if (!store(key, fv, &value_changed)) continue;
    attributes_stored |= is_attribute_key(key);
    if (value_changed) changed.push_back(key);
  }
  size_t before = identities_.size();
  identities_.insert(fragment.identities.begin(), fragment.identities.end());
  if (identities_.size() != before) changed.emplace_back("identities");
  if (attributes_stored) refresh_attributes();
  return changed;
}

json Profile::to_json() const {
  json out = profile::to_json(fragment());
  out.erase("profileId");
  set_member(out, "deviceId", device_id_);
  return out;
}

std::optional<Profile> Profile::from_json(const json& value, Errors& errors) {
  if (!value.is_object()) {
    add_type_error(errors, "$", "a profile snapshot must be an object, not ", value);
    return std::nullopt;
  }
  size_t before = errors.size();
  std::string device_id;
  json fragment_part = json(json::value_t::object);
  for (const auto& [key, v] : value.get_ref<const json::object_t&>()) {
    if (key == "deviceId") {
      if (!v.is_string()) {
        add_type_error(errors, "$.deviceId", "must be a string, not ", v);
      } else if (v.get_ref<const std::string&>().size() > kMaxProfileIdLength) {
        add_error(errors, "$.deviceId", with_number("is longer than ", kMaxProfileIdLength, " bytes"));
      } else {
        device_id = v.get_ref<const std::string&>();
      }
    } else if (key == "identities" || key == "fields") {
      fragment_part[key] = v;
    } else {
      add_error(errors, child("$", key), "is not a known field");
    }
  }
  if (member(value, "deviceId") == nullptr) add_error(errors, "$.deviceId", "is required");
  // A snapshot holds whatever merges produced; refusing it over the wire
  // limit would lose the profile.
  FragmentParse parsed =
      fragment_from_json(fragment_part, "$", std::numeric_limits<size_t>::max());
  append_errors(errors, parsed.errors);
  if (errors.size() != before) return std::nullopt;

  Profile profile(std::move(device_id));
  profile.fields_ = std::move(parsed.fragment->fields);
  profile.identities_.insert(parsed.fragment->identities.begin(), parsed.fragment->identities.end());
  profile.refresh_attributes();
  return profile;
}

bool Profile::store(const std::string& key, const FieldValue& fv, bool* value_changed) {
  auto [it, inserted] = fields_.try_emplace(key, fv);
  if (inserted) {
    *value_changed = !fv.value.is_null();
    return true;
  }
  if (!wins(fv, it->second)) return false;
  // Compared as text, like the tie-break: 1 and 1.0 are different writes.
  *value_changed = dump(it->second.value) != dump(fv.value);
  it->second = fv;
  return true;
}

void Profile::refresh_attributes() {
  attributes_ = materialize(fields_, kAttributes);
  generation_ = Generation();
}

uint64_t Profile::Generation::next() {
  // Atomic, so that profiles on several threads (native programs) never share a number.
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

}  // namespace rekindle::profile
