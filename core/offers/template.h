#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/common/error.h"

namespace rekindle::offers {

// Personalization templates: literal text with tokens `{{ path }}` or
// `{{ path | default text }}`, e.g. `Hi {{profile.firstName|there}}!`.
//
// `path` is dotted keys (letters, digits, `_`, `-`) looked up through objects
// of the context, e.g. {"profile": {...attributes...}, "offer": {...}}. The
// default is everything after the first `|`. Whitespace around both is
// trimmed. Strings are inserted as they are, numbers as JSON writes them (an
// integral value without ".0"), booleans as true/false; a missing value,
// null, object or array inserts the default (empty if none). Invalid UTF-8 in
// values becomes U+FFFD.

// Longest template accepted, in bytes.
inline constexpr size_t kMaxTemplateBytes = 16 * 1024;

// How inserted text is escaped. kHtml escapes every inserted value and
// default, never the literal template text, which is the marketer's markup.
enum class Escape { kHtml, kNone };

// Checks a template: length, UTF-8, unclosed `{{`, stray `}}`, empty path,
// bad path characters, nested braces and triple braces (`{{{` / `}}}`: raw,
// unescaped insertion does not exist). Every error is reported at `path`
// with the byte offset in its reason. With `roots`, a path must also start
// with one of those without a dot ("profile": {{profile.firstName}}) or be
// one of those with a dot ("offer.title"): {{firstName}} or {{offer.bogus}}
// would only ever render its default.
Errors validate_template(std::string_view tpl, std::string_view path,
                         std::initializer_list<std::string_view> roots = {});

// Renders a template against `context`. A template that does not validate
// renders as "" rather than half-rendered. Never throws.
std::string render(std::string_view tpl, const nlohmann::json& context,
                   Escape escape = Escape::kHtml);

// A named value a template's paths start from ("profile" in
// {{profile.firstName}}), given by reference rather than copied into a context.
struct Root {
  std::string_view name;
  const nlohmann::json* value;
};

// The same, the first segment of each path naming one of `roots`.
std::string render(std::string_view tpl, std::initializer_list<Root> roots, Escape escape = Escape::kHtml);

// Escapes & < > " ' ` as &amp; &lt; &gt; &quot; &#39; &#96;, enough for text
// and quoted attribute values; invalid UTF-8 becomes U+FFFD, so a lenient
// decoder cannot turn an overlong sequence back into `<`.
std::string escape_html(std::string_view text);

}  // namespace rekindle::offers
