#include "core/offers/template.h"

#include <gtest/gtest.h>

#include "tests/core/error_matchers.h"

#include <string>

namespace rekindle::offers {
namespace {

using nlohmann::json;

json context() {
  return {{"profile",
           {{"firstName", "Ada"},
            {"points", 1200},
            {"balance", 80.0},
            {"rate", 19.99},
            {"delta", -3},
            {"vip", true},
            {"lapsed", false},
            {"nickname", nullptr},
            {"empty", ""},
            {"address", {{"city", "Lyon"}}},
            {"tags", {"a", "b"}},
            {"loyalty-tier", "gold"},
            {"big", UINT64_MAX}}},
          {"offer", {{"code", "SAVE10"}, {"percent", 10}}}};
}


// The single error of `tpl`, or a failure.
Error only_error(std::string_view tpl) {
  Errors errors = validate_template(tpl, "$.offers[0].title");
  EXPECT_EQ(errors.size(), 1u) << tpl << "\n" << describe(errors);
  return errors.empty() ? Error{} : errors[0];
}

// True when `s` is well-formed UTF-8: replacing and ignoring bad bytes agree only then.
bool is_utf8(const std::string& s) {
  json j = s;
  return j.dump(-1, ' ', false, json::error_handler_t::replace) ==
         j.dump(-1, ' ', false, json::error_handler_t::ignore);
}

TEST(Template, InsertsValuesAndDefaults) {
  const json ctx = context();
  EXPECT_EQ(render("Hi {{profile.firstName|there}}!", ctx), "Hi Ada!");
  EXPECT_EQ(render("Hi {{profile.lastName|there}}!", ctx), "Hi there!");
  EXPECT_EQ(render("Hi {{ profile.lastName }}!", ctx), "Hi !");
  EXPECT_EQ(render("{{  profile.firstName  |  dear friend  }}", ctx), "Ada");
  EXPECT_EQ(render("{{\tprofile.lastName\n|\tdear friend\n}}", ctx), "dear friend");
  EXPECT_EQ(render("{{profile.address.city}}", ctx), "Lyon");
  EXPECT_EQ(render("{{profile.loyalty-tier}}", ctx), "gold");
  EXPECT_EQ(render("Use {{offer.code}} for {{offer.percent}}% off", ctx), "Use SAVE10 for 10% off");
  EXPECT_EQ(render("{{a|}}", ctx), "");
  // The default is everything after the first bar.
  EXPECT_EQ(render("{{a|x | y}}", ctx), "x | y");
  EXPECT_EQ(render("no tokens at all { } {x}", ctx), "no tokens at all { } {x}");
  EXPECT_EQ(render("", ctx), "");
  EXPECT_EQ(render("{{offer.code}}{{offer.code}}", ctx), "SAVE10SAVE10");
}

TEST(Template, FormatsScalarsAndFallsBackForEverythingElse) {
  const json ctx = context();
  EXPECT_EQ(render("{{profile.points}}", ctx), "1200");
  EXPECT_EQ(render("{{profile.balance}}", ctx), "80");
  EXPECT_EQ(render("{{profile.rate}}", ctx), "19.99");
  EXPECT_EQ(render("{{profile.delta}}", ctx), "-3");
  EXPECT_EQ(render("{{profile.big}}", ctx), "18446744073709551615");
  EXPECT_EQ(render("{{profile.vip}}/{{profile.lapsed}}", ctx), "true/false");
  EXPECT_EQ(render("{{x.y}}", json{{"x", {{"y", 1e300}}}}), "1e+300");
  EXPECT_EQ(render("{{x.y}}", json{{"x", {{"y", -0.0}}}}), "0");
  EXPECT_EQ(render("[{{x|d}}]", json{{"x", std::numeric_limits<double>::quiet_NaN()}}), "[d]");
  EXPECT_EQ(render("[{{x|d}}]", json{{"x", std::numeric_limits<double>::infinity()}}), "[d]");
  // An empty string falls back to the default, like a missing one.
  EXPECT_EQ(render("[{{profile.empty|d}}]", ctx), "[d]");
  for (const char* path : {"profile.nickname", "profile.address", "profile.tags",
                           "profile.firstName.length", "profile.tags.0", "missing.deep.path",
                           "profile.address.city.x"})
    EXPECT_EQ(render(std::string("[{{") + path + "|d}}]", ctx), "[d]") << path;
  for (const json& not_object : {json(nullptr), json("profile"), json::array({1}), json(3)})
    EXPECT_EQ(render("[{{profile.firstName|d}}]", not_object), "[d]") << not_object;
}

TEST(Template, EscapesInsertedTextOnlyInHtmlMode) {
  json ctx = {{"v", "Tom & \"Jerry\" <b>'`"}};
  EXPECT_EQ(render("<b class=\"x\">{{v}}</b>", ctx),
            "<b class=\"x\">Tom &amp; &quot;Jerry&quot; &lt;b&gt;&#39;&#96;</b>");
  EXPECT_EQ(render("<i>{{missing|a < b & \"c\"}}</i>", ctx), "<i>a &lt; b &amp; &quot;c&quot;</i>");
  EXPECT_EQ(render("<b>{{v}}</b>", ctx, Escape::kNone), "<b>Tom & \"Jerry\" <b>'`</b>");
  EXPECT_EQ(render("{{missing|a < b}}", ctx, Escape::kNone), "a < b");
  // Already-escaped text is escaped again: values are text, never markup.
  EXPECT_EQ(render("{{v}}", json{{"v", "&lt;"}}), "&amp;lt;");
  EXPECT_EQ(escape_html("&<>\"'`"), "&amp;&lt;&gt;&quot;&#39;&#96;");
  EXPECT_EQ(escape_html("plain text, é ✓ 🎁"), "plain text, é ✓ 🎁");
  EXPECT_EQ(escape_html(""), "");
}

TEST(Template, HostileValuesNeverBecomeMarkup) {
  const std::vector<std::string> payloads = {
      "<script>alert(1)</script>",
      "\"><img src=x onerror=alert(1)>",
      "' onmouseover='x",
      "`onmouseover=alert(1)`",
      "</textarea><svg/onload=alert(1)>",
      "<!--",
      "]]><x>",
      "&#60;script&#62;",
      "{{profile.firstName}}",  // a value is not re-rendered
      "}}}{{{",
      std::string("a\0<b", 4),
  };
  const std::string tpl = "<a title=\"{{profile.name|friend}}\" data-x='{{profile.name}}'>"
                          "Hi {{profile.name}}</a>";
  for (const auto& p : payloads) {
    std::string html = render(tpl, json{{"profile", {{"name", p}}}});
    ASSERT_FALSE(html.empty()) << p;
    // Strip the template's own markup; what is left came from the value.
    std::string inserted = html;
    for (std::string_view literal : {"<a title=\"", "\" data-x='", "'>Hi ", "</a>"}) {
      auto at = inserted.find(literal);
      ASSERT_NE(at, std::string::npos) << html;
      inserted.erase(at, literal.size());
    }
    for (char c : {'<', '>', '"', '\'', '`'})
      EXPECT_EQ(inserted.find(c), std::string::npos) << "'" << c << "' survived from " << p;
    EXPECT_EQ(inserted, escape_html(p) + escape_html(p) + escape_html(p));
    // As a default, the same payload is escaped the same way.
    std::string as_default = render("{{missing|" + p + "}}", json::object());
    if (p.find('{') == std::string::npos && p.find('}') == std::string::npos) {
      EXPECT_EQ(as_default, escape_html(p)) << p;
    } else {
      EXPECT_EQ(as_default, "") << p;  // braces in a default do not validate
    }
  }
}

TEST(Template, UrlSchemesAreOnlyText) {
  // Not HTML-special: the DOM layer must validate URLs; here it stays inert text.
  json ctx = {{"offer", {{"url", "javascript:alert(1)"}}}};
  EXPECT_EQ(render("<a href=\"{{offer.url}}\">go</a>", ctx),
            "<a href=\"javascript:alert(1)\">go</a>");
  ctx["offer"]["url"] = "javascript:alert('x')";
  EXPECT_EQ(render("{{offer.url}}", ctx), "javascript:alert(&#39;x&#39;)");
  EXPECT_EQ(render("{{missing|javascript:alert(1)}}", ctx), "javascript:alert(1)");
}

TEST(Template, InvalidUtf8InValuesIsReplacedNotPassedOn) {
  const std::vector<std::string> bad = {
      "\xC0\xBC" "script\xC0\xBE",  // overlong '<' and '>': lenient decoders read them as such
      "\xE0\x80\xBC",               // 3-byte overlong '<'
      "\xF0\x80\x80\xBC",           // 4-byte overlong '<'
      "\xED\xA0\x80",               // UTF-16 surrogate
      "\xF4\x90\x80\x80",           // past U+10FFFF
      "\xFF\xFE",
      "abc\xE2\x82",                // truncated at the end
      "\x80\x80",                   // lone continuation bytes
      "\xC3",
  };
  for (const auto& v : bad) {
    for (Escape e : {Escape::kHtml, Escape::kNone}) {
      std::string out = render("[{{v}}]", json{{"v", v}}, e);
      EXPECT_TRUE(is_utf8(out)) << out;
      EXPECT_EQ(out.find('<'), std::string::npos) << out;
      EXPECT_NE(out.find("\xEF\xBF\xBD"), std::string::npos) << out;
    }
    EXPECT_TRUE(is_utf8(escape_html(v)));
  }
  EXPECT_EQ(escape_html("a\xC0\xBC" "b"), "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  EXPECT_EQ(render("{{v}}", json{{"v", "é\xFF"}}), "é\xEF\xBF\xBD");
}

TEST(TemplateValidate, AcceptsWellFormedTemplates) {
  for (std::string_view tpl :
       {"", "plain", "Hi {{profile.firstName|there}}!", "{{ a }}{{b|c}}{{ c_d.e-f.G9 }}",
        "{ single } braces {x} are text", "<p style=\"a:{b}\">{{x}}</p>", "{{a|}}",
        "{{a|default with spaces, punctuation: ok!? | even bars}}",
        "é ✓ 🎁 {{x|ünïcode}}"}) {
    Errors errors = validate_template(tpl, "$");
    EXPECT_TRUE(errors.empty()) << tpl << "\n" << describe(errors);
  }
}

TEST(TemplateValidate, LocatesEachProblem) {
  Error e = only_error("Hello {{profile.firstName");
  EXPECT_EQ(e.path, "$.offers[0].title");
  EXPECT_EQ(e.reason, "unclosed '{{' at offset 6");
  EXPECT_EQ(only_error("a {{ }} b").reason, "empty path in '{{ }}' at offset 2");
  EXPECT_EQ(only_error("{{|x}}").reason, "empty path in '{{ }}' at offset 0");
  EXPECT_EQ(only_error("{{ first name }}").reason,
            "path 'first name' may only hold letters, digits, '_', '-' and '.' at offset 8");
  EXPECT_EQ(only_error("{{ a[0]}}").reason,
            "path 'a[0]' may only hold letters, digits, '_', '-' and '.' at offset 4");
  EXPECT_EQ(only_error("{{a..b}}").reason, "empty key in path 'a..b' at offset 4");
  EXPECT_EQ(only_error("{{.a}}").reason, "empty key in path '.a' at offset 2");
  EXPECT_EQ(only_error("{{a.}}").reason, "empty key in path 'a.' at offset 4");
  EXPECT_EQ(only_error("x{{{name}}}").reason,
            "'{{{' (triple braces: raw insertion is not supported) at offset 1");
  EXPECT_EQ(only_error("{{name}}}").reason, "'}}}' (triple braces are not supported) at offset 6");
  EXPECT_EQ(only_error("a }} b").reason, "'}}' without an opening '{{' at offset 2");
  EXPECT_EQ(only_error("a }}} b").reason, "'}}}' (triple braces are not supported) at offset 2");
  EXPECT_EQ(only_error("{{a|{b}}").reason, "nested '{' inside '{{ }}' at offset 4");
  EXPECT_EQ(only_error("{{a } b}}").reason, "nested '}' inside '{{ }}' at offset 4");
  EXPECT_EQ(only_error("{{ {{x}} ").reason, "nested '{' inside '{{ }}' at offset 3");
  EXPECT_EQ(only_error("{{{x").reason,
            "'{{{' (triple braces: raw insertion is not supported) at offset 0");
  EXPECT_EQ(only_error("ok \xC0\xBC").reason, "not valid UTF-8 at offset 3");
  EXPECT_NE(only_error(std::string(kMaxTemplateBytes + 1, 'a')).reason.find("over the limit"),
            std::string::npos);
  EXPECT_TRUE(validate_template(std::string(kMaxTemplateBytes, 'a'), "$").empty());
}

TEST(TemplateValidate, ReportsEveryProblemAndRendersNothingWhenInvalid) {
  Errors errors = validate_template("{{}} {{a b}} }} {{c}}}", "$.t");
  EXPECT_EQ(errors.size(), 4u) << describe(errors);
  for (const auto& e : errors) EXPECT_EQ(e.path, "$.t");

  const json ctx = context();
  for (std::string_view tpl : {"Hi {{profile.firstName", "{{{profile.firstName}}}",
                               "{{profile.firstName}}}", "Hi {{ }}", "}} {{profile.firstName}}"})
    EXPECT_EQ(render(tpl, ctx), "") << tpl;
  EXPECT_EQ(render(std::string(kMaxTemplateBytes + 1, 'a'), ctx), "");
}

TEST(TemplateValidate, SurvivesGarbage) {
  // Brace soup and random bytes: must terminate quickly and never crash.
  std::string soup;
  uint32_t x = 12345;
  for (int i = 0; i < 4000; ++i) {
    x = x * 1103515245 + 12345;
    const char alphabet[] = "{}|. a\xC3\xA9\xFF";
    soup += alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
    if (i % 97 == 0) {
      validate_template(soup, "$");
      render(soup, context());
    }
  }
  std::string opens;
  for (int i = 0; i < 5000; ++i) opens += "{{";
  EXPECT_FALSE(validate_template(opens, "$").empty());
  EXPECT_EQ(render(opens, json::object()), "");
}

}  // namespace
}  // namespace rekindle::offers
