#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/common/error.h"

namespace rekindle {

// Limits applied before a document is turned into a DOM, so that hostile input
// (huge or deeply nested) is refused without being built in memory.
struct JsonLimits {
  size_t max_bytes = 32 * 1024;
  int max_depth = 32;
  // Refuse an object that gives a key twice (authored documents: an artifact
  // with a second "segments" block pasted in would otherwise lose the first).
  bool unique_keys = false;
};

// The result of parsing untrusted JSON text: a value, or the errors that
// prevented it. Never throws, never aborts.
struct ParsedJson {
  nlohmann::json value;
  Errors errors;
  bool ok() const { return errors.empty(); }
};

// Parses `text` within `limits`; `what` names the document in messages
// ("event", "artifact"). Errors carry the path where they were found.
ParsedJson parse_json(std::string_view text, const JsonLimits& limits, std::string_view what);

// Serializes without throwing on invalid UTF-8 (replaced by U+FFFD).
std::string dump(const nlohmann::json& value);
// The same text, appended to `out`: a large document (a snapshot) is written
// part by part without first being copied into one tree.
void dump_to(std::string& out, const nlohmann::json& value);

// Writes values into `out` one after another with one serializer, as dump_to
// does for one: dump_to sets a serializer up per value (a zeroed 576-byte
// buffer and an allocation), which a snapshot paid once per event. The
// separators between values are the caller's to append to `out`.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out);
  void write(const nlohmann::json& value);

 private:
  nlohmann::detail::serializer<nlohmann::json> serializer_;
};

// Writes one JSON object into `out` field by field, without a tree of the
// whole object first: for large documents (a snapshot) and for the results
// returned on every call. Names are written as given: plain identifiers that
// need no escaping.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out), values_(out) {}
  // Writes the field's name; the caller then appends its value to the text.
  std::string& key(std::string_view name);
  void field(std::string_view name, const nlohmann::json& value) {
    key(name);
    values_.write(value);
  }
  // Writes a value with the fields' serializer, after key() and whatever
  // the caller appended (the items of an array, say).
  void value(const nlohmann::json& v) { values_.write(v); }
  void close() { out_ += sep_ == '{' ? "{}" : "}"; }

 private:
  std::string& out_;
  JsonWriter values_;  // one serializer for all the fields
  char sep_ = '{';
};

// dump(value).size(), counted without writing the text: the history and the
// outbox count their bytes by it for every event they take.
size_t dumped_size(const nlohmann::json& value);

}  // namespace rekindle
