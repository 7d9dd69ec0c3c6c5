#pragma once

#include <string>
#include <initializer_list>
#include <map>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace rekindle {

// One problem found in an input, located by a JSONPath-like string such as
// `$.productListItems[2].SKU`. Validation collects all of them at once.
struct Error {
  std::string path;
  std::string reason;

  bool operator==(const Error&) const = default;
};

using Errors = std::vector<Error>;

// Appends {path, reason}. Out of line on purpose: each of the many error sites
// is then one call, not two strings built, moved in and destroyed in place
// (literals stay pointers; a std::string_view would be built at every site).
void add_error(Errors& errors, const char* path, const char* reason);
void add_error(Errors& errors, const char* path, const std::string& reason);
void add_error(Errors& errors, const std::string& path, const char* reason);
void add_error(Errors& errors, const std::string& path, const std::string& reason);

// Appends `more` to `errors`, in order. Out of line, through add_error: a
// vector's range insert weighs ~0.6 KB of wasm for the five sites.
void append_errors(Errors& errors, const Errors& more);

// Id -> path of the object that holds it first, for the ids that must be
// unique within an array (segments, offers, placements, journeys).
// A JSON object's map (the paths as JSON strings): the same order and
// lookups, and no map instantiation of its own in the wasm.
using IdHolders = nlohmann::json::object_t;
// Records the object at `path` as the holder of `id`; when another holds it
// already, reports "duplicates the id of <its path>" at `path`.id and returns
// false. Out of line: one map insertion in the wasm for the four arrays.
bool claim_id(IdHolders& holders, const std::string& id, const std::string& path, Errors& errors);

// `before` + `n` in decimal + `after` ("is longer than 128 bytes"): one
// out-of-line body for the limit messages, not two concatenations per site.
std::string with_number(const char* before, size_t n, const char* after);
// `before` + `text` + `after` ("lists placement 'x' twice"), out of line.
std::string with_text(const char* before, const std::string& text, const char* after);
// The same with two numbers ("is 5000 bytes, over the limit of 4096 bytes").
std::string with_numbers(const char* before, size_t a, const char* middle, size_t b, const char* after);

// Reports "names unknown segment '<id>'" at `path`: one body for the
// artifact's, the offers' and the journeys' segment references.
void add_unknown_segment(Errors& errors, const std::string& path, const std::string& id);

// add_error(errors, child(path, key), reason) out of line: ~80 sites would
// each build the child path and destroy it.
void add_child_error(Errors& errors, const std::string& path, const char* key, const char* reason);
void add_child_error(Errors& errors, const std::string& path, const char* key, const std::string& reason);

// Reports each key of `object` (an object: callers check) that is not in
// `allowed`, at its path, as `reason_start` + the allowed keys joined by ", "
// + ")", or as "is not a known field" when `reason_start` is null. One body
// for the rule compiler, the journey, offer and snapshot parsers.
void unknown_keys(const nlohmann::json& object, const std::string& path,
                  std::initializer_list<std::string_view> allowed, const char* reason_start, Errors& errors);

// Builds child paths: `child("$", "commerce")` is `$.commerce`, keys that are
// not plain identifiers are quoted (`$["a b"]`), `index("$.x", 2)` is `$.x[2]`.
std::string child(std::string_view path, std::string_view key);
// The common case, a std::string path and a literal key, out of line: the
// string_views would be built at each of the ~100 sites.
std::string child(const std::string& path, const char* key);
std::string child(const std::string& path, const std::string& key);
std::string child(const char* path, const std::string& key);
std::string index(std::string_view path, size_t i);
// As for child(): std::string and literal paths through out-of-line overloads.
std::string index(const std::string& path, size_t i);
std::string index(const char* path, size_t i);

// Errors as a JSON array of {path, reason} objects, the boundary format.
nlohmann::json to_json(const Errors& errors);

// Ids of artifact objects (segments, journeys, steps, offers, placements):
// lowercase letters, digits, '.', '_', '-', starting with a letter or digit, at most 64.
bool is_valid_id(std::string_view id);
inline constexpr const char* kIdRule =
    "must be lowercase letters, digits, '.', '_' or '-', starting with a letter or digit (at most 64)";

// The member `key` of `value`, or nullptr when `value` is not an object or
// has no such member: what `find(key)` compared with `end()` tells, as a
// pointer. Out of line: nlohmann's iterators (find, end, ==, ->) were several
// calls at each of the many lookups of the validation code.
const nlohmann::json* member(const nlohmann::json& value, std::string_view key);
nlohmann::json* member(nlohmann::json& value, std::string_view key);
// object[key] = value, out of line: the lookup by a literal key, the
// assignment and the old value's destruction were inline at ~50 sites that
// build effects, records and results member by member.
void set_member(nlohmann::json& object, const char* key, nlohmann::json value);
// The items of `value`, which the caller has checked to be an array, as the
// vector they are: iterated without nlohmann's iterators (less code at each
// loop). Not for anything else: get_ref of another type would abort.
inline const nlohmann::json::array_t& array_items(const nlohmann::json& value) {
  return value.get_ref<const nlohmann::json::array_t&>();
}
// Only a json: anything else would be converted to a temporary json first.
template <class T>
void member(const T&, std::string_view) = delete;

// One member of an object built by json_object(): a literal key and its
// value, moved into the object (mutable: initializer_list elements are const).
struct JsonMember {
  const char* key;
  mutable nlohmann::json value;
};
// The object {key: value, ...}, as nlohmann's initializer-list constructor
// builds it from {{"key", value}, ...}, but out of line: that constructor
// makes each pair a two-element array first and then an object member,
// which was inlined code at each of ~20 sites. Empty ones are built as
// json(json::value_t::object) or (::array), arrays item by item: json::object()
// and json::array() go through that constructor too, which then leaves the
// module.
nlohmann::json json_object(std::initializer_list<JsonMember> members);

// `prefix` followed by type_name(value) ("must be an array, not " "object"):
// out of line, as the ~50 sites would each build and append the string.
std::string not_type(const char* prefix, const nlohmann::json& value);
// add_error(errors, path, not_type(prefix, value)), out of line.
void add_type_error(Errors& errors, const std::string& path, const char* prefix, const nlohmann::json& value);
void add_type_error(Errors& errors, const char* path, const char* prefix, const nlohmann::json& value);

// Names a JSON value's type the way error messages speak of it.
const char* type_name(const nlohmann::json& value);

}  // namespace rekindle
