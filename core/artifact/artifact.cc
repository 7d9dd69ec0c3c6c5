#include "core/artifact/artifact.h"

#include <algorithm>
#include <map>

#include "core/consent/consent.h"

namespace rekindle::artifact {
namespace {

using nlohmann::json;

void parse_limits(const json& j, Limits& limits, Errors& errors) {
  const std::string path = "$.limits";
  if (!j.is_object()) {
    add_type_error(errors, path, "must be an object, not ", j);
    return;
  }
  for (const auto& item : j.get_ref<const json::object_t&>()) {
    // Named copies: clang 14 cannot capture structured bindings in lambdas.
    const std::string& key = item.first;
    const json& value = item.second;
    std::string p = child(path, key);
    auto integer = [&](size_t lo, size_t hi, size_t& out) {
      if (!value.is_number_integer() || value.get<int64_t>() < static_cast<int64_t>(lo) ||
          value.get<int64_t>() > static_cast<int64_t>(hi)) {
        add_error(errors, p, with_numbers("must be an integer from ", lo, " to ", hi, ""));
      } else {
        out = static_cast<size_t>(value.get<int64_t>());  // in range: checked above
      }
    };
    if (key == "historyEvents") {
      integer(1, 100000, limits.history_events);
    } else if (key == "historyBytes") {
      integer(1024, 64 * 1024 * 1024, limits.history_bytes);
    } else if (key == "futureTolerance") {
      auto d = value.is_string() ? parse_duration(value.get_ref<const std::string&>()) : std::nullopt;
      if (!d) add_error(errors, p, "must be a duration such as \"5m\"");
      else limits.future_tolerance = *d;
    } else {
      add_error(errors, p, "is not a known limit (expected historyEvents, historyBytes, futureTolerance)");
    }
  }
}

// Resolves segment references and orders segments so that each comes after
// the ones it reads; reports unknown references and cycles.
void link(Artifact& a, Errors& errors) {
  const size_t n = a.segments.size();
  a.dependents = std::vector<std::vector<int>>(n);  // built and moved in: no copies of an empty vector in the wasm
  bool resolved = true;
  for (size_t i = 0; i < n; ++i) {
    Segment& s = a.segments[i];
    for (size_t r = 0; r < s.rule.segment_refs.size(); ++r) {
      int target = a.find_segment(s.rule.segment_refs[r]);
      if (target < 0) {
        add_unknown_segment(errors, s.rule.segment_ref_paths[r], s.rule.segment_refs[r]);
        resolved = false;
        continue;
      }
      s.refs.push_back(target);
      const int dependent = static_cast<int>(i);  // an lvalue: one vector<int>::push_back in the wasm
      a.dependents[static_cast<size_t>(target)].push_back(dependent);
    }
  }
  if (!resolved) return;
  // Depth-first search; a grey node met again closes a cycle.
  std::vector<int> color(n, 0);
  std::vector<int> stack;
  std::vector<char> reported(n, 0);
  // Recursive through its own reference (no std::function: smaller wasm).
  auto visit = [&](auto& self, int i) -> void {
    color[static_cast<size_t>(i)] = 1;
    stack.push_back(i);
    const Segment& seg = a.segments[static_cast<size_t>(i)];
    for (size_t k = 0; k < seg.refs.size(); ++k) {
      int r = seg.refs[k];
      if (color[static_cast<size_t>(r)] == 1) {
        // Reported once per cycle, at the reference that closes it.
        auto from = std::find(stack.begin(), stack.end(), r);
        std::string cycle;
        for (auto it = from; it != stack.end(); ++it) cycle += a.segments[static_cast<size_t>(*it)].id + " -> ";
        cycle += a.segments[static_cast<size_t>(r)].id;
        if (!reported[static_cast<size_t>(r)]) {
          reported[static_cast<size_t>(r)] = true;
          add_error(errors, seg.rule.segment_ref_paths[k], "closes a cycle of segment references: " + cycle);
        }
      } else if (color[static_cast<size_t>(r)] == 0) {
        self(self, r);
      }
    }
    stack.pop_back();
    color[static_cast<size_t>(i)] = 2;
    a.order.push_back(i);
  };
  for (size_t i = 0; i < n; ++i)
    if (color[i] == 0) visit(visit, static_cast<int>(i));
}

}  // namespace

int Artifact::find_segment(std::string_view id) const {
  for (size_t i = 0; i < segments.size(); ++i)
    if (segments[i].id == id) return static_cast<int>(i);
  return -1;
}

ParseResult from_json(const json& doc) {
  ParseResult out;
  Errors& errors = out.errors;
  if (!doc.is_object()) {
    add_type_error(errors, "$", "an artifact must be an object, not ", doc);
    return out;
  }
  auto a = std::make_shared<Artifact>();
  static constexpr std::string_view kKeys[] = {"version", "limits", "segments", "journeys", "offers", "placements", "caps", "consent", "name", "description"};
  for (const auto& [key, _] : doc.get_ref<const json::object_t&>()) {
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys))
      add_error(errors, child("$", key), "is not a known artifact field");
  }
  if (auto v = member(doc, "version"); v == nullptr) {
    add_error(errors, "$.version", "is required");
  } else if (!v->is_string() || v->get_ref<const std::string&>().empty()) {
    add_error(errors, "$.version", "must be a non-empty string");
  } else {
    a->version = v->get_ref<const std::string&>();
  }
  if (auto l = member(doc, "limits"); l != nullptr) parse_limits(*l, a->limits, errors);

  if (auto segs = member(doc, "segments"); segs != nullptr) {
    if (!segs->is_array()) {
      add_error(errors, "$.segments", "must be an array");
    } else {
      IdHolders seen;
      for (size_t i = 0; i < segs->size(); ++i) {
        std::string p = index("$.segments", i);
        const json& s = (*segs)[i];
        if (!s.is_object()) {
          add_type_error(errors, p, "a segment must be an object, not ", s);
          continue;
        }
        Segment seg;
        unknown_keys(s, p, {"id", "name", "description", "rule"}, "is not a known segment field (expected ", errors);
        if (auto id = member(s, "id"); id == nullptr) {
          add_child_error(errors, p, "id", "is required");
        } else if (!id->is_string() || !is_valid_id(id->get_ref<const std::string&>())) {
          add_child_error(errors, p, "id", kIdRule);
        } else {
          seg.id = id->get_ref<const std::string&>();
          claim_id(seen, seg.id, p, errors);
        }
        if (auto name = member(s, "name"); name != nullptr) {
          if (!name->is_string()) add_child_error(errors, p, "name", "must be a string");
          else seg.name = name->get_ref<const std::string&>();
        }
        if (auto d = member(s, "description"); d != nullptr && !d->is_string())
          add_child_error(errors, p, "description", "must be a string");
        if (auto rule = member(s, "rule"); rule == nullptr) {
          add_child_error(errors, p, "rule", "is required");
        } else if (auto compiled = rules::compile(*rule, child(p, "rule"), errors)) {
          seg.rule = std::move(*compiled);
          seg.canonical = dump(*rule);
        }
        a->segments.push_back(std::move(seg));
      }
    }
  }
  link(*a, errors);

  auto segment_exists = [&](std::string_view id) { return a->find_segment(id) >= 0; };
  Errors catalog_errors;
  if (auto catalog = offers::parse_catalog(doc, segment_exists, catalog_errors)) a->catalog = std::move(*catalog);
  append_errors(errors, catalog_errors);
  if (catalog_errors.empty()) journeys::parse_journeys(doc, segment_exists, a->catalog, a->journeys, a->caps, errors);
  for (const auto& cap : a->caps) a->longest_cap = std::max(a->longest_cap, cap.per);

  if (auto c = member(doc, "consent"); c != nullptr) {
    if (!c->is_object()) {
      add_error(errors, "$.consent", "must be an object {\"defaults\": {purpose: state}}");
    } else {
      unknown_keys(*c, "$.consent", {"defaults"}, "is not a known key here (expected ", errors);
      if (auto d = member(*c, "defaults"); d != nullptr) {
        consent::Consent probe;
        Errors ce = probe.set_defaults(*d, "$.consent.defaults");
        append_errors(errors, ce);
        if (ce.empty()) a->consent_defaults = *d;
      }
    }
  }
  if (!errors.empty()) return out;
  for (const auto& s : a->segments) a->retention = std::max(a->retention, s.rule.longest_window);
  // A journey's goal and exits read every event of its lifetime: a purchase
  // imported late (offline sales, another device) must still end it.
  for (const auto& j : a->journeys) a->retention = std::max(a->retention, j.max_duration);
  for (auto& s : a->segments) a->profile_paths.assign(s.rule);
  for (auto& o : a->catalog.offers)
    if (o.eligibility) a->profile_paths.assign(*o.eligibility);
  a->document = doc;
  out.artifact = std::move(a);
  return out;
}

ParseResult parse(std::string_view text) {
  ParsedJson parsed = parse_json(text, kArtifactLimits, "artifact");
  if (!parsed.ok()) {
    ParseResult out;
    out.errors = std::move(parsed.errors);
    return out;
  }
  return from_json(parsed.value);
}

std::shared_ptr<const Artifact> empty() {
  static const std::shared_ptr<const Artifact> kEmpty = [] {
    auto a = std::make_shared<Artifact>();
    a->version = "";
    return a;
  }();
  return kEmpty;
}

}  // namespace rekindle::artifact
