#pragma once

// What the libFuzzer targets share: the input as text, a fixed clock, a
// property check that fails like a crash, and the snapshot round trip that
// every engine target checks.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/common/time.h"
#include "core/engine/engine.h"

namespace rekindle::fuzz {

// 2026-01-01T10:00:00Z, the conformance cases' first instant.
inline constexpr TimeMs kT0 = 1767261600000;

// Segments over every kind of event path, a journey and offers, so that an
// ingested event reaches filters, sums, sequences and journey exits.
inline constexpr const char* kArtifact = R"({"version":"fuzz",
 "segments":[
  {"id":"abandoned-cart","rule":{"sequence":[{"event":{"type":"commerce.productListAdds"}},
     {"absent":{"type":"commerce.purchases"},"for":"30m"}]}},
  {"id":"shoes","rule":{"count":{"event":{"type":["commerce.productViews","commerce.productListAdds"],
     "where":{"path":"event.productListItems[].productCategory","op":"eq","value":"shoes"}},"within":"7d"},
     "op":"gte","value":1}},
  {"id":"big-spender","rule":{"sum":{"event":{"type":"commerce.purchases"},
     "field":"event.commerce.order.priceTotal","within":"90d"},"op":"gt","value":100}},
  {"id":"items","rule":{"sum":{"event":{"type":"commerce.productListAdds"},
     "field":"event.productListItems[].priceTotal"},"op":"gte","value":50}},
  {"id":"lapsed","rule":{"since":{"event":{"type":"web.webpagedetails.pageViews"}},"op":"gte","value":"30d"}},
  {"id":"campaign","rule":{"count":{"event":{"type":["app.custom","web.webpagedetails.pageViews"],
     "where":{"or":[{"path":"event.data.campaign","op":"startsWith","value":"spring"},
                    {"path":"event.web.webPageDetails.URL","op":"contains","value":"/sale"},
                    {"path":"event.data.level","op":"gte","value":3}]}}},"op":"gte","value":1}},
  {"id":"quick","rule":{"sequence":[{"event":{"type":"commerce.productViews"}},
     {"event":{"type":"commerce.productListAdds"},"within":"10m"},
     {"event":{"type":"commerce.checkouts"},"within":"1h"}],"within":"2h"}},
  {"id":"gold-cart","rule":{"and":[{"segment":"abandoned-cart"},
     {"or":[{"path":"profile.tier","op":"eq","value":"gold"},{"not":{"segment":"big-spender"}}]}]}}],
 "placements":[{"id":"hero"}],
 "offers":[{"id":"cart-10","priority":10,"placements":["hero"],
   "content":{"title":"Hi {{profile.firstName|there}}","cta":{"label":"Cart","url":"/cart"}},
   "html":"<b>{{offer.title}}</b>"}],
 "journeys":[{"id":"cart-recovery","entry":{"segment":"abandoned-cart"},"maxDuration":"7d",
   "goal":{"event":{"type":"commerce.purchases"}},"exit":[{"event":{"type":"commerce.purchases"}}],
   "steps":[{"id":"tile","action":{"channel":"web","placement":"hero","offer":"cart-10"}},
            {"id":"wait","wait":"1d"},{"id":"email","action":{"channel":"email","template":"cart"}}]}]})";

// The fuzz input as text (any bytes, not necessarily UTF-8).
inline std::string_view text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A violated property: prints what and aborts, so libFuzzer keeps the input.
[[noreturn]] inline void fail(const char* property, std::string_view detail = {}) {
  std::fprintf(stderr, "\n== property violated: %s\n%.*s\n", property, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

inline void check(bool holds, const char* property, std::string_view detail = {}) {
  if (!holds) fail(property, detail);
}

// Well-formed UTF-8: no overlong forms, surrogates or code points past U+10FFFF.
inline bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp, min;
    if (b0 < 0x80) {
      ++i;
      continue;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// A snapshot restores into a fresh engine, which then writes the same snapshot.
inline void check_snapshot_round_trip(const engine::Engine& e) {
  const std::string snap = e.snapshot();
  engine::Engine copy("other-profile");
  auto restored = copy.restore(snap);
  if (!restored.ok) fail("a snapshot restores", dump(to_json(restored.errors)) + "\n" + snap);
  const std::string again = copy.snapshot();
  if (again != snap) fail("snapshot(restore(s)) == s", snap + "\n--- became\n" + again);
}

// Exercises an engine that holds state: the same calls the page makes over a
// day and a month, each result only required not to crash; `now` is where
// the engine's clock is.
inline void exercise(engine::Engine& e, TimeMs now) {
  const std::string ts = format_iso8601(now);
  e.ingest(R"({"_id":"fz-add","eventType":"commerce.productListAdds","timestamp":")" + ts +
               R"(","productListItems":[{"SKU":"s1","productCategory":"shoes","priceTotal":120,"quantity":1}]})",
           now);
  e.set_attributes(R"({"firstName":"Ada <b>","tier":"gold","address":{"city":"Paris"}})", now);
  e.set_consent(R"({"marketing.email":"granted","marketing.sms":"granted"})", now);
  e.identify("email", "ada@example.com", now);
  for (TimeMs t : {now + 30 * kMinute, now + kDay, now + 4 * kDay}) {
    e.advance(t);
    for (const auto& p : e.artifact().catalog.placements) {
      if (auto d = e.decide(p.id, t)) offers::to_json(*d);
    }
  }
  e.ingest(R"({"_id":"fz-buy","eventType":"commerce.purchases","timestamp":")" + format_iso8601(now + 4 * kDay) +
               R"(","commerce":{"order":{"priceTotal":99.5,"currencyCode":"EUR"}}})",
           now + 4 * kDay);
  e.advance(now + 40 * kDay);
  auto records = e.pending(50, 64 * 1024);
  std::vector<std::string> ids;
  for (const auto& r : records) ids.push_back(r.id);
  if (!ids.empty()) ids.pop_back();
  e.ack(ids);
  e.next_deadline();
  engine::to_json(e.segments());
}

}  // namespace rekindle::fuzz
