#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/time.h"

namespace rekindle::profile {

// Limits of one fragment on the wire, and of what a profile accepts from
// local writes (so that a profile always fits in a fragment it sends).
inline constexpr size_t kMaxFields = 1000;
inline constexpr size_t kMaxKeyLength = 256;       // a field key, "attributes.a.b"
inline constexpr size_t kMaxStringBytes = 4096;    // any string inside a value
inline constexpr size_t kMaxOriginLength = 128;
inline constexpr size_t kMaxIdentities = 100;
inline constexpr size_t kMaxNamespaceLength = 64;  // identity namespace, "email"
inline constexpr size_t kMaxIdentityLength = 256;  // identity id, "ada@example.com"
inline constexpr size_t kMaxProfileIdLength = 128;
inline constexpr int kMaxDepth = 32;               // nesting of attributes and values

// One field's last write. A null value is a deletion (a tombstone): it is kept
// and merged like any value, so a deletion reaches every copy of the profile.
struct FieldValue {
  nlohmann::json value;
  TimeMs ts = 0;        // when it was written
  std::string origin;   // who wrote it: "device:dev-1", "server", "import:crm"
};

// Three-way order of writes: by ts, then origin, then the bytes of
// rekindle::dump(value). Total over validated values (valid UTF-8, finite
// numbers), so every copy picks the same winner whatever the merge order.
int compare(const FieldValue& a, const FieldValue& b);

// True if `a` beats `b` (compare(a, b) > 0).
bool wins(const FieldValue& a, const FieldValue& b);

// Same write: neither beats the other.
bool operator==(const FieldValue& a, const FieldValue& b);

using Identity = std::pair<std::string, std::string>;  // (namespace, id)
using Identities = std::set<Identity>;

// A partial profile: the fields it knows with their last write, and the
// identities known to belong to the person.
struct Fragment {
  std::string profile_id;
  // Key: dotted leaf path whose first segment is `attributes` or `consent`,
  // e.g. "attributes.address.city", "consent.marketing.email".
  std::map<std::string, FieldValue> fields;
  Identities identities;

  bool operator==(const Fragment&) const = default;
};

// Merges `from` into `into`: each field keeps the write that wins, identities
// are the union, and the profile id is the smaller non-empty one. The merge is
// commutative, associative and idempotent.
void merge_into(Fragment& into, const Fragment& from);
Fragment merge(Fragment a, const Fragment& b);

// The tree of the live values under `root` ("attributes"): {"address":
// {"city": "Paris"}}. Where a leaf and a leaf below it are both stored
// ("a" = 5 and "a.b" = 1, written concurrently on two devices), the newest
// write on that line of descent decides: a leaf shows only if it beats every
// stored field (tombstones included) above and below it. Depends only on the
// set of fields, so every copy that merged the same fragments shows the same.
nlohmann::json materialize(const std::map<std::string, FieldValue>& fields, std::string_view root);

// One segment of a field key: letters, digits, '_', '$' and '-'.
bool is_valid_segment(std::string_view segment);
// Dotted segments, first `attributes` or `consent`, then 1 to 32 more; at
// most 256 characters.
bool is_valid_field_key(std::string_view key);
// A non-empty string of at most 128 bytes.
bool is_valid_origin(std::string_view origin);
// Namespace: letters, digits, '_', '.', '-' (at most 64); id: non-empty valid
// UTF-8 of at most 256 bytes.
bool is_valid_identity(std::string_view ns, std::string_view id);

// Checks a field value: any JSON but an object (a field is one leaf; arrays
// are leaves), strings valid UTF-8 of at most 4096 bytes, numbers finite,
// nesting at most 32. Appends each problem with its path.
void check_value(const nlohmann::json& value, const std::string& path, Errors& errors);

// {"profileId": "dev-1", "identities": {"email": ["ada@example.com"]},
//  "fields": {"attributes.firstName": {"value": "Ada", "ts": 1796399580000,
//  "origin": "device:dev-1"}}}. An empty profile id is left out.
nlohmann::json to_json(const Fragment& fragment);

// Either a fragment or every problem found, each with its path.
struct FragmentParse {
  std::optional<Fragment> fragment;
  Errors errors;
  bool ok() const { return fragment.has_value(); }
};

// Validates a fragment in the JSON form above; `path` names where `value`
// sits in a larger document. `max_fields` is the wire limit; a profile's own
// snapshot may hold more (merges never drop a field).
FragmentParse fragment_from_json(const nlohmann::json& value, std::string_view path = "$",
                                 size_t max_fields = kMaxFields);

}  // namespace rekindle::profile
