#include "core/offers/offers.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <map>

#include "core/offers/template.h"
#include "core/rules/aggregate.h"

namespace rekindle {

std::string stable_id(std::initializer_list<std::string_view> parts) {
  constexpr uint64_t kOffset = 14695981039346656037ull;
  constexpr uint64_t kPrime = 1099511628211ull;
  uint64_t h = kOffset;
  auto feed = [&](unsigned char byte) {
    h ^= byte;
    h *= kPrime;
  };
  bool first = true;
  for (std::string_view part : parts) {
    if (!first) feed(0x1f);
    first = false;
    for (char c : part) feed(static_cast<unsigned char>(c));
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<size_t>(i)] = kHex[h & 0xf];
  return out;
}

}  // namespace rekindle

namespace rekindle::offers {
namespace {

using nlohmann::json;

// ^[a-z0-9][a-z0-9._-]{0,63}$
bool valid_id(std::string_view id) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (id.empty() || id.size() > 64 || !alnum(id[0])) return false;
  return std::all_of(id.begin(), id.end(), [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

// Reads the required `id` of `obj` at `path`, checking its form and that it is
// not already in `seen` (id -> path of its first holder).
std::string read_id(const json& obj, const std::string& path, IdHolders& seen,
                    Errors& errors) {
  std::string p = child(path, "id");
  auto it = member(obj, "id");
  if (it == nullptr) {
    add_error(errors, p, "is required");
    return {};
  }
  if (!it->is_string() || !valid_id(it->get_ref<const std::string&>())) {
    add_error(errors, p, "must be lowercase letters, digits, '.', '_' or '-', starting with a letter or digit (at most 64)");
    return {};
  }
  const std::string& id = it->get_ref<const std::string&>();
  claim_id(seen, id, path, errors);
  return id;
}

// Reads an optional string field into `out`.
void read_string(const json& obj, const std::string& path, const char* key, std::string& out, Errors& errors) {
  auto it = member(obj, key);
  if (it == nullptr) return;
  if (!it->is_string()) add_error(errors, child(path, key), not_type("must be a string, not ", *it));
  else out = it->get_ref<const std::string&>();
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// Why `url` may not be put in an href or src, or nullopt if it may.
std::optional<std::string> url_problem(std::string_view url) {
  if (url.empty()) return "must not be empty";
  if (url.size() > kMaxUrlBytes)
    return with_numbers("is ", url.size(), " bytes, over the limit of ", kMaxUrlBytes, "");
  bool absolute = starts_with_ci(url, "http://") || starts_with_ci(url, "https://");
  if (!absolute && url[0] != '/')
    return std::string("must be an absolute http:// or https:// URL or a path starting with '/' "
                       "(javascript:, data:, vbscript: and other schemes are refused)");
  if (!absolute && url.size() > 1 && url[1] == '/') return std::string("must not start with '//' (a protocol-relative URL)");
  // Browsers drop tabs and newlines and read '\' as '/', so "/\t/x" or "/\x"
  // would become protocol-relative: refuse them all.
  for (char c : url) {
    auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == 0x7f || c == '\\')
      return std::string("must not contain spaces, control characters or '\\' (percent-encode them)");
  }
  if (absolute) {
    std::string_view rest = url.substr(url.find("//") + 2);
    if (rest.empty() || rest[0] == '/') return std::string("must name a host after the scheme");
  }
  return std::nullopt;
}

void check_url(const json& v, const std::string& path, Errors& errors) {
  if (!v.is_string()) {
    add_type_error(errors, path, "must be a URL string, not ", v);
    return;
  }
  if (auto why = url_problem(v.get_ref<const std::string&>())) add_error(errors, path, *why);
}

// `roots`: what the template's paths may start with where it is rendered.
void check_template(const json& v, const std::string& path, bool non_empty, Errors& errors,
                    std::initializer_list<std::string_view> roots = {"profile"}) {
  if (!v.is_string()) {
    add_type_error(errors, path, "must be a template string, not ", v);
    return;
  }
  const std::string& text = v.get_ref<const std::string&>();
  if (non_empty && text.empty()) add_error(errors, path, "must not be empty");
  Errors found = validate_template(text, path, roots);
  append_errors(errors, found);
}

void parse_cta(const json& cta, const std::string& path, Errors& errors) {
  if (!cta.is_object()) {
    add_type_error(errors, path, "must be an object, not ", cta);
    return;
  }
  unknown_keys(cta, path, {"label", "url"}, "is not a known cta field (expected ", errors);
  if (auto l = member(cta, "label"); l == nullptr) add_child_error(errors, path, "label", "is required");
  else check_template(*l, child(path, "label"), true, errors);
  if (auto u = member(cta, "url"); u == nullptr) add_child_error(errors, path, "url", "is required");
  else check_url(*u, child(path, "url"), errors);
}

void parse_content(const json& c, const std::string& path, Errors& errors) {
  if (!c.is_object()) {
    add_type_error(errors, path, "must be an object, not ", c);
    return;
  }
  unknown_keys(c, path, {"title", "body", "image", "cta"}, "is not a known content field (expected ", errors);
  if (auto t = member(c, "title"); t == nullptr) add_child_error(errors, path, "title", "is required");
  else check_template(*t, child(path, "title"), true, errors);
  if (auto b = member(c, "body"); b != nullptr) check_template(*b, child(path, "body"), false, errors);
  if (auto i = member(c, "image"); i != nullptr) check_url(*i, child(path, "image"), errors);
  if (auto cta = member(c, "cta"); cta != nullptr) parse_cta(*cta, child(path, "cta"), errors);
}

std::optional<rules::Rule> parse_eligibility(const json& j, const std::string& path,
                                             const std::function<bool(std::string_view)>& segment_exists,
                                             Errors& errors) {
  size_t before = errors.size();
  auto rule = rules::compile_static(j, path, errors);
  if (!rule) return std::nullopt;
  for (size_t r = 0; r < rule->segment_refs.size(); ++r) {
    const std::string& ref = rule->segment_refs[r];
    if (!segment_exists || !segment_exists(ref))
      add_unknown_segment(errors, rule->segment_ref_paths[r], ref);
  }
  if (errors.size() != before) return std::nullopt;
  return rule;
}

void parse_priority(const json& v, const std::string& path, int& out, Errors& errors) {
  bool ok = v.is_number_integer();
  if (ok && v.is_number_unsigned()) ok = v.get<uint64_t>() <= static_cast<uint64_t>(INT_MAX);
  else if (ok) ok = v.get<int64_t>() >= INT_MIN && v.get<int64_t>() <= INT_MAX;
  if (!ok) add_error(errors, path, "must be an integer from -2147483648 to 2147483647");
  else out = static_cast<int>(v.get<int64_t>());  // in range: checked above (no get<int> in the wasm)
}

// The offer's placement ids: a non-empty array of declared, distinct ids.
void parse_offer_placements(const json& v, const std::string& path, const Catalog& catalog, Offer& offer,
                            Errors& errors) {
  if (!v.is_array() || v.empty()) {
    add_error(errors, path, "must be a non-empty array of placement ids");
    return;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    std::string p = index(path, i);
    const json& ref = v[i];
    if (!ref.is_string() || !valid_id(ref.get_ref<const std::string&>())) {
      add_error(errors, p, "must be a placement id");
      continue;
    }
    const std::string& id = ref.get_ref<const std::string&>();
    if (catalog.find_placement(id) < 0) add_error(errors, p, with_text("names unknown placement '", id, "'"));
    else if (offer.shows_in(id)) add_error(errors, p, with_text("lists placement '", id, "' twice"));
    else offer.placements.push_back(id);
  }
}

Offer parse_offer(const json& o, const std::string& p, const Catalog& catalog,
                  IdHolders& seen,
                  const std::function<bool(std::string_view)>& segment_exists, Errors& errors) {
  Offer offer;
  unknown_keys(o, p, {"id", "name", "description", "priority", "placements", "eligibility", "content", "html"},
               "is not a known offer field (expected ", errors);
  offer.id = read_id(o, p, seen, errors);
  read_string(o, p, "name", offer.name, errors);
  std::string description;
  read_string(o, p, "description", description, errors);
  if (auto v = member(o, "priority"); v != nullptr) parse_priority(*v, child(p, "priority"), offer.priority, errors);
  if (auto v = member(o, "placements"); v == nullptr) add_child_error(errors, p, "placements", "is required");
  else parse_offer_placements(*v, child(p, "placements"), catalog, offer, errors);
  if (auto v = member(o, "eligibility"); v != nullptr)
    offer.eligibility = parse_eligibility(*v, child(p, "eligibility"), segment_exists, errors);
  if (auto v = member(o, "content"); v == nullptr) {
    add_child_error(errors, p, "content", "is required");
  } else {
    parse_content(*v, child(p, "content"), errors);
    offer.content = *v;
  }
  if (auto v = member(o, "html"); v != nullptr) {
    check_template(*v, child(p, "html"), false, errors,
                   {"profile", "offer.title", "offer.body", "offer.image", "offer.cta.label", "offer.cta.url"});
    if (v->is_string()) offer.html = v->get_ref<const std::string&>();
  }
  return offer;
}

void parse_placements(const json& list, Catalog& catalog, Errors& errors) {
  if (!list.is_array()) {
    add_type_error(errors, "$.placements", "must be an array, not ", list);
    return;
  }
  IdHolders seen;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string p = index("$.placements", i);
    const json& pl = list[i];
    if (!pl.is_object()) {
      add_type_error(errors, p, "a placement must be an object, not ", pl);
      continue;
    }
    unknown_keys(pl, p, {"id", "name", "description"}, "is not a known placement field (expected ", errors);
    Placement placement;
    placement.id = read_id(pl, p, seen, errors);
    read_string(pl, p, "name", placement.name, errors);
    std::string description;
    read_string(pl, p, "description", description, errors);
    catalog.placements.push_back(std::move(placement));
  }
}

void parse_offers(const json& list, Catalog& catalog, const std::function<bool(std::string_view)>& segment_exists,
                  Errors& errors) {
  if (!list.is_array()) {
    add_type_error(errors, "$.offers", "must be an array, not ", list);
    return;
  }
  IdHolders seen;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string p = index("$.offers", i);
    const json& o = list[i];
    if (!o.is_object()) {
      add_type_error(errors, p, "an offer must be an object, not ", o);
      continue;
    }
    catalog.offers.push_back(parse_offer(o, p, catalog, seen, segment_exists, errors));
  }
}

// The string at `key` of `obj`, or "".
const std::string& text_at(const json& obj, const char* key) {
  static const std::string kNone;
  if (!obj.is_object()) return kNone;
  auto it = member(obj, key);
  return it != nullptr && it->is_string() ? it->get_ref<const std::string&>() : kNone;
}

const json& object_or_empty(const json& j) {
  static const json kEmpty = json(json::value_t::object);
  return j.is_object() ? j : kEmpty;
}

// A candidate of decide(): an offer index and the assignment that brought it, if any.
struct Candidate {
  int offer;
  const Assignment* assignment;
};

}  // namespace

bool Offer::shows_in(std::string_view placement) const {
  return std::find(placements.begin(), placements.end(), placement) != placements.end();
}

int Catalog::find_offer(std::string_view id) const {
  for (size_t i = 0; i < offers.size(); ++i)
    if (offers[i].id == id) return static_cast<int>(i);
  return -1;
}

int Catalog::find_placement(std::string_view id) const {
  for (size_t i = 0; i < placements.size(); ++i)
    if (placements[i].id == id) return static_cast<int>(i);
  return -1;
}

std::optional<Catalog> parse_catalog(const json& artifact, const std::function<bool(std::string_view)>& segment_exists,
                                     Errors& errors) {
  if (!artifact.is_object()) {
    add_type_error(errors, "$", "an artifact must be an object, not ", artifact);
    return std::nullopt;
  }
  size_t before = errors.size();
  Catalog catalog;
  if (auto it = member(artifact, "placements"); it != nullptr) parse_placements(*it, catalog, errors);
  if (auto it = member(artifact, "offers"); it != nullptr) parse_offers(*it, catalog, segment_exists, errors);
  if (errors.size() != before) return std::nullopt;
  return catalog;
}

Rendered render(const Offer& offer, const json& profile_attributes) {
  const json& c = offer.content;
  // The profile by reference: a decision does not copy the attributes.
  const json* profile = &object_or_empty(profile_attributes);
  Rendered r;
  r.title = render(text_at(c, "title"), {{"profile", profile}}, Escape::kNone);
  r.body = render(text_at(c, "body"), {{"profile", profile}}, Escape::kNone);
  r.image = text_at(c, "image");
  if (c.is_object()) {
    if (auto cta = member(c, "cta"); cta != nullptr) {
      r.cta_label = render(text_at(*cta, "label"), {{"profile", profile}}, Escape::kNone);
      r.cta_url = text_at(*cta, "url");
    }
  }
  if (!offer.html.empty()) {
    const json shown = json_object({{"title", r.title},
                                    {"body", r.body},
                                    {"image", r.image},
                                    {"cta", json_object({{"label", r.cta_label}, {"url", r.cta_url}})}});
    r.html = render(offer.html, {{"profile", profile}, {"offer", &shown}}, Escape::kHtml);
  }
  return r;
}

json to_json(const Rendered& r) {
  json j = json(json::value_t::object);
  set_member(j, "title", r.title);
  set_member(j, "body", r.body);
  if (!r.image.empty()) set_member(j, "image", r.image);
  if (!r.cta_url.empty()) set_member(j, "cta", json_object({{"label", r.cta_label}, {"url", r.cta_url}}));
  if (!r.html.empty()) set_member(j, "html", r.html);
  return j;
}

bool eligible(const Offer& offer, const rules::ProfileView& profile, const std::function<bool(std::string_view)>& member,
              TimeMs now) {
  if (!offer.eligibility) return false;
  const rules::Rule& rule = *offer.eligibility;
  // Aggregates were refused at load; without their state the rule is not evaluated.
  if (rule.root < 0 || !rule.aggregates.empty()) return false;
  rules::Context ctx{&object_or_empty(*profile.tree), nullptr, profile.slots};
  auto in_segment = [&](int ref) {
    return member && member(rule.segment_refs[static_cast<size_t>(ref)]);
  };
  return rules::evaluate(rule, rule.root, ctx, nullptr, now, in_segment);
}

std::optional<Decision> decide(const Catalog& catalog, std::string_view placement,
                               const std::vector<Assignment>& assignments, const rules::ProfileView& profile,
                               const std::function<bool(std::string_view)>& member,
                               rules::MemberOf capped, std::string_view profile_id, TimeMs now) {
  const int n = static_cast<int>(catalog.offers.size());
  std::vector<Candidate> candidates;
  auto known = [&](int o) {
    return std::any_of(candidates.begin(), candidates.end(), [&](const Candidate& c) { return c.offer == o; });
  };
  for (const Assignment& a : assignments) {
    if (a.placement != placement || a.offer < 0 || a.offer >= n || known(a.offer)) continue;
    if (!catalog.offers[static_cast<size_t>(a.offer)].shows_in(placement)) continue;
    candidates.push_back({a.offer, &a});
  }
  for (int i = 0; i < n; ++i) {
    const Offer& o = catalog.offers[static_cast<size_t>(i)];
    if (!o.shows_in(placement) || known(i) || !eligible(o, profile, member, now)) continue;
    candidates.push_back({i, nullptr});
  }
  const Candidate* best = nullptr;
  for (const Candidate& c : candidates) {
    if (capped(c.offer)) continue;
    const Offer& o = catalog.offers[static_cast<size_t>(c.offer)];
    if (best) {
      const Offer& b = catalog.offers[static_cast<size_t>(best->offer)];
      if (o.priority < b.priority || (o.priority == b.priority && o.id >= b.id)) continue;
    }
    best = &c;
  }
  if (!best) return std::nullopt;
  const Offer& offer = catalog.offers[static_cast<size_t>(best->offer)];
  Decision d;
  d.offer = best->offer;
  d.offer_id = offer.id;
  d.placement = std::string(placement);
  if (const Assignment* a = best->assignment) {
    d.proposition = a->proposition;
    d.journey = a->journey;
    d.instance = a->instance;
    d.step = a->step;
  } else {
    d.proposition = stable_id({profile_id, "offer", offer.id, placement});
  }
  d.content = render(offer, *profile.tree);
  return d;
}

json to_json(const Decision& d) {
  json j = json(json::value_t::object);
  set_member(j, "placement", d.placement);
  set_member(j, "offer", d.offer_id);
  set_member(j, "proposition", d.proposition);
  if (!d.journey.empty()) set_member(j, "journey", d.journey);
  if (!d.instance.empty()) set_member(j, "instance", d.instance);
  if (!d.step.empty()) set_member(j, "step", d.step);
  // The same shape as an offer.show effect: `html` sits inside `content`.
  set_member(j, "content", to_json(d.content));
  return j;
}

}  // namespace rekindle::offers
