#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/time.h"
#include "core/rules/rule.h"

namespace rekindle {

// Deterministic ids: FNV-1a 64 over the parts joined by '\x1f', as 16
// lowercase hex digits. `stable_id({"a", "b"})` differs from `{"b", "a"}`.
std::string stable_id(std::initializer_list<std::string_view> parts);

}  // namespace rekindle

namespace rekindle::offers {

// Longest URL accepted in `image` and `cta.url`, in bytes.
inline constexpr size_t kMaxUrlBytes = 2048;

// A place on a page where one offer at a time is shown (`hero`, `sidebar`).
struct Placement {
  std::string id;
  std::string name;
};

// An offer as the artifact declares it, validated.
struct Offer {
  std::string id, name;
  int priority = 0;                     // higher wins
  std::vector<std::string> placements;  // placement ids, all resolved
  // Restricted to profile comparisons, segment references and and/or/not; an
  // offer without one is only shown through journeys.
  std::optional<rules::Rule> eligibility;
  nlohmann::json content;  // {"title","body"?,"image"?,"cta"?:{"label","url"}} as written (templates)
  std::string html;        // optional template, "" if none

  // True if the offer lists `placement`.
  bool shows_in(std::string_view placement) const;
};

// The placements and offers of an artifact.
struct Catalog {
  std::vector<Placement> placements;
  std::vector<Offer> offers;

  // Index of the offer / placement with that id, -1 if none.
  int find_offer(std::string_view id) const;
  int find_placement(std::string_view id) const;
};

// Validates `placements` and `offers` of an artifact document, appending every
// error with its path (e.g. `$.offers[2].content.cta.url`): ids, duplicates,
// unknown keys, types, offer -> placement references, templates, URLs (http://
// or https://, or a path starting with "/" but not "//"; no spaces, control
// characters or '\'; at most kMaxUrlBytes), eligibility rules (no count, sum,
// since or sequence; every {"segment": id} must satisfy `segment_exists`).
// Missing `placements` / `offers` are empty lists. Returns a catalog only when
// this call added no error.
std::optional<Catalog> parse_catalog(const nlohmann::json& artifact,
                                     const std::function<bool(std::string_view)>& segment_exists,
                                     Errors& errors);

// An offer's content rendered for one profile. The text fields are rendered
// without escaping (the page inserts them with textContent); `html` is
// rendered with every inserted value HTML-escaped. URLs are literal.
struct Rendered {
  std::string title, body, image, cta_label, cta_url, html;
};

// Renders the content fields with context {"profile": attributes}, then `html`
// with {"profile": attributes, "offer": {title, body, image, cta: {label, url}}}
// holding the rendered text fields.
Rendered render(const Offer& offer, const nlohmann::json& profile_attributes);

// {"title","body","image"?,"cta"?:{"label","url"},"html"?}; empty optional
// fields are left out (cta when its url is empty).
nlohmann::json to_json(const Rendered& rendered);

// True if the offer has an eligibility rule and it holds for the profile now;
// `member(segment_id)` says whether the profile is in a segment. An offer
// without eligibility is never eligible on its own.
bool eligible(const Offer& offer, const rules::ProfileView& profile,
              const std::function<bool(std::string_view)>& member, TimeMs now);

// One offer a journey instance currently shows in a placement.
struct Assignment {
  int offer = -1;  // index in the catalog
  std::string placement, proposition, journey, instance, step;
};

// The offer chosen for a placement.
struct Decision {
  int offer = -1;        // index in the catalog
  std::string offer_id;  // the offer's id, for to_json
  std::string placement, proposition;
  std::string journey, instance, step;  // empty when chosen by eligibility alone
  Rendered content;
};

// The best offer for `placement`. Candidates: the assignments for that
// placement (the first one per offer when several journeys show the same
// offer), then the offers listing the placement whose eligibility rule is true
// and that no assignment already brought. `capped(offer_index)` removes a
// candidate. Highest priority wins, ties by smallest offer id. An
// eligibility-only candidate's proposition is
// stable_id({profile_id, "offer", offer id, placement}).
std::optional<Decision> decide(const Catalog& catalog, std::string_view placement,
                               const std::vector<Assignment>& assignments,
                               const rules::ProfileView& profile,
                               const std::function<bool(std::string_view)>& member,
                               rules::MemberOf capped, std::string_view profile_id,
                               TimeMs now);

// {"placement","offer","proposition","journey"?,"instance"?,"step"?,
//  "content":{"title","body","image"?,"cta"?},"html"?}: html sits next to
// content, as in the offer.show effect.
nlohmann::json to_json(const Decision& decision);

}  // namespace rekindle::offers
