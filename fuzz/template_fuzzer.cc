// Template renderer: the input is a template, optionally followed by a NUL
// byte and a JSON context. Checked: a template renders only if it validates;
// the output of a valid template is valid UTF-8; HTML escaping leaves no
// character that could open a tag or leave an attribute value.

#include "core/offers/offers.h"
#include "core/offers/template.h"

#include "fuzz/fuzz_support.h"

namespace {

using namespace rekindle;
using nlohmann::json;

const json& fixed_context() {
  static const json context = json::parse(R"({
    "profile": {"firstName": "Ada", "empty": "", "tier": "gold", "points": 1200, "ratio": 0.25,
                "big": 1e300, "neg": -0.0, "vip": true, "none": null, "tags": ["a", "b"],
                "address": {"city": "Paris <3", "zip": "75001"}, "html": "<script>x</script>&'\"`",
                "emoji": "\u00e9\ud83d\ude00"},
    "offer": {"title": "10 % off", "cta": {"label": "Go", "url": "/cart?a=1&b=2"}}})",
                                          nullptr, false);
  return context;
}

// The escaped text must not hold a raw < > " ' ` and every & starts an entity.
void check_escaped(std::string_view out, std::string_view input) {
  fuzz::check(fuzz::is_valid_utf8(out), "escaped text is valid UTF-8", input);
  for (size_t i = 0; i < out.size(); ++i) {
    char c = out[i];
    fuzz::check(c != '<' && c != '>' && c != '"' && c != '\'' && c != '`', "escaped text has no raw markup",
                input);
    if (c == '&') {
      std::string_view rest = out.substr(i);
      bool entity = false;
      for (std::string_view e : {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&#96;"})
        entity = entity || rest.substr(0, e.size()) == e;
      fuzz::check(entity, "every & in escaped text starts an entity", input);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = fuzz::text(data, size);
  const size_t nul = input.find('\0');
  const std::string_view tpl = input.substr(0, nul);
  json context = fixed_context();
  if (nul != std::string_view::npos) {
    ParsedJson parsed = parse_json(input.substr(nul + 1), {64 * 1024, 32}, "context");
    if (parsed.ok()) context = std::move(parsed.value);
  }

  const bool valid = offers::validate_template(tpl, "$.tpl").empty();
  for (auto escape : {offers::Escape::kHtml, offers::Escape::kNone}) {
    std::string out = offers::render(tpl, context, escape);
    if (!valid) fuzz::check(out.empty(), "an invalid template renders as \"\"", input);
    if (valid) fuzz::check(fuzz::is_valid_utf8(out), "a valid template renders valid UTF-8", input);
  }
  check_escaped(offers::escape_html(input), input);

  // The same text as every field of an offer, as the artifact would hold it.
  if (valid) {
    offers::Offer offer;
    offer.id = "fuzz";
    offer.content = {{"title", tpl}, {"body", tpl}, {"cta", {{"label", tpl}, {"url", "/x"}}}};
    offer.html = std::string(tpl);
    const json& attributes = context.is_object() && context.contains("profile") ? context["profile"] : context;
    offers::Rendered r = offers::render(offer, attributes);
    for (const std::string* s : {&r.title, &r.body, &r.cta_label, &r.html})
      fuzz::check(fuzz::is_valid_utf8(*s), "a rendered offer is valid UTF-8", input);
    offers::to_json(r);
  }
  return 0;
}
