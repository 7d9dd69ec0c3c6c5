#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/time.h"
#include "core/profile/fragment.h"

namespace rekindle::profile {

// The visitor's profile as this device knows it: identities, and fields
// (attributes, consent decisions) each with its last write, so that copies on
// the device, in other tabs and on the server converge by merging fragments.
class Profile {
 public:
  // The device id is the identity ("device", device_id) and the profile id of
  // the fragments this profile sends.
  explicit Profile(std::string device_id = {});

  const std::string& device_id() const { return device_id_; }
  // Adds ("device", id) to the identities. Identities only grow (they are a
  // union across merges), so a previous device id stays.
  void set_device_id(std::string device_id);

  // Adds (namespace, id); true if it is new. An invalid identity (see
  // is_valid_identity) or one past kMaxIdentities is not added.
  bool identify(const std::string& ns, const std::string& id, TimeMs now);
  const Identities& identities() const { return identities_; }

  struct SetResult {
    std::vector<std::string> changed;  // leaf paths whose value changed, "address.city"
    Errors errors;
  };

  // Writes a JSON object of attributes: nested objects become leaf fields
  // "attributes.a.b", each written with (now, origin) if it beats the stored
  // write; null deletes (a tombstone); an empty object writes nothing.
  // All or nothing: with any error (non-object input, a bad name, a string
  // over 4096 bytes, nesting over 32, more than kMaxFields stored fields, an
  // invalid origin) nothing is written.
  SetResult set_attributes(const nlohmann::json& attributes, TimeMs now, const std::string& origin);

  // The live attributes as a tree (see materialize); rules read
  // attributes()["tier"]. Rebuilt whenever an attribute field changes.
  const nlohmann::json& attributes() const { return attributes_; }
  // A number never given before, renewed whenever the attribute tree is
  // rebuilt and on every copy or move of the profile: pointers into the tree
  // taken at one generation are valid while it lasts.
  uint64_t generation() const { return generation_.value; }

  // Any stored field, tombstones included; nullptr if never written.
  const FieldValue* field(const std::string& key) const;
  // Low-level write of one field (consent stores "consent.<purpose>" here).
  // True if it was stored: the key and value are valid, and it beats the
  // stored write. Unlike set_attributes it touches only that key.
  bool set_field(const std::string& key, nlohmann::json value, TimeMs ts, const std::string& origin);

  // The whole profile, with the device id as profile id.
  Fragment fragment() const;
  // What changed after `since`: fields with ts > since, and all identities
  // (few, and a union, so resending them is harmless).
  Fragment fragment_since(TimeMs since) const;
  // Merges a validated fragment in (its profile id is not taken). Returns the
  // keys whose value changed, "attributes.tier", and "identities" if any
  // identity was added. Never drops a field, so a merge can take the profile
  // past kMaxFields.
  std::vector<std::string> apply(const Fragment& fragment);

  // Snapshot: {"deviceId": ..., "identities": {...}, "fields": {...}} (the
  // fragment form, with deviceId in place of profileId).
  nlohmann::json to_json() const;
  static std::optional<Profile> from_json(const nlohmann::json& value, Errors& errors);

 private:
  // Stores `fv` at `key` if it beats the stored write; sets `*value_changed`.
  bool store(const std::string& key, const FieldValue& fv, bool* value_changed);
  void refresh_attributes();

  std::string device_id_;
  std::map<std::string, FieldValue> fields_;
  Identities identities_;
  nlohmann::json attributes_ = nlohmann::json(nlohmann::json::value_t::object);

  struct Generation {
    Generation() : value(next()) {}
    Generation(const Generation&) : value(next()) {}
    Generation& operator=(const Generation&) {
      value = next();
      return *this;
    }
    static uint64_t next();
    uint64_t value;
  };
  Generation generation_;
};

}  // namespace rekindle::profile
