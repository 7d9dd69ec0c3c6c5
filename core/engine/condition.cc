// A host's compiled conditions (engine.h): compiled once, then each test is
// one call from JS that reads consent by index and the profile through the
// condition's own slots (a segment reference is still looked up by id).
#include "core/engine/engine.h"

#include "core/common/json_depth.h"

namespace rekindle::engine {

using nlohmann::json;

std::optional<Condition> Condition::compile(std::string_view text, Errors& errors) {
  ParsedJson parsed = parse_json(text, {16 * 1024, 16, true}, "condition");
  if (!parsed.ok()) {
    append_errors(errors, parsed.errors);
    return std::nullopt;
  }
  auto rule = rules::compile_static(parsed.value, "$", errors);
  if (!rule) return std::nullopt;
  Condition c;
  c.rule_ = std::move(*rule);
  c.paths_.assign(c.rule_);
  return c;
}

bool Engine::test(const Condition& c) const {
  if (consent_.state(consent::kPersonalizeIndex) != consent::State::kGranted) return false;
  const json& attributes = profile_.attributes();
  if (c.generation_ != profile_.generation()) {
    c.paths_.resolve(attributes, c.slots_);
    c.generation_ = profile_.generation();
  }
  const rules::Rule& rule = c.rule_;
  auto member = [&](int ref) { return segments_.is_member(rule.segment_refs[static_cast<size_t>(ref)]); };
  rules::Context ctx{&attributes, nullptr, c.slots_.data()};
  return rules::evaluate(rule, rule.root, ctx, nullptr, clock_.value_or(0), member);
}

}  // namespace rekindle::engine
