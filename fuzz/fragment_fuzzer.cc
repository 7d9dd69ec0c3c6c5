// Fragment merge: the input is a JSON array of two or three profile
// fragments. Every one that validates must survive its own JSON form, and
// their merges must be commutative, associative and idempotent, field by
// field, byte for byte; two profiles applying them in opposite orders must
// end up with the same state.

#include "core/profile/fragment.h"
#include "core/profile/profile.h"

#include <optional>
#include <vector>

#include "fuzz/fuzz_support.h"

namespace {

using namespace rekindle;
using profile::Fragment;

std::string text_of(const Fragment& f) { return dump(profile::to_json(f)); }

void check_same(const Fragment& a, const Fragment& b, const char* property) {
  const std::string ta = text_of(a), tb = text_of(b);
  if (ta != tb || !(a == b)) fuzz::fail(property, ta + "\n--- differs from\n" + tb);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ParsedJson parsed = parse_json(fuzz::text(data, size), {1024 * 1024, 64}, "fragments");
  if (!parsed.ok() || !parsed.value.is_array()) return 0;
  std::vector<Fragment> fragments;
  for (size_t i = 0; i < parsed.value.size() && i < 3; ++i) {
    auto f = profile::fragment_from_json(parsed.value[i], rekindle::index("$", i));
    if (!f.ok()) continue;
    // Its JSON form reads back as the same fragment.
    auto again = profile::fragment_from_json(profile::to_json(*f.fragment), "$", SIZE_MAX);
    if (!again.ok()) fuzz::fail("a fragment's JSON validates", text_of(*f.fragment));
    check_same(*again.fragment, *f.fragment, "to_json then fragment_from_json is the identity");
    fragments.push_back(std::move(*f.fragment));
  }
  if (fragments.size() < 2) return 0;
  const Fragment& a = fragments[0];
  const Fragment& b = fragments[1];
  const Fragment& c = fragments.size() > 2 ? fragments[2] : fragments[0];

  const Fragment ab = profile::merge(a, b);
  check_same(ab, profile::merge(b, a), "merge is commutative");
  check_same(profile::merge(a, a), a, "merge is idempotent");
  check_same(profile::merge(ab, b), ab, "merging again changes nothing");
  check_same(profile::merge(ab, c), profile::merge(a, profile::merge(b, c)), "merge is associative");
  fuzz::check(profile::materialize(ab.fields, "attributes") ==
                  profile::materialize(profile::merge(b, a).fields, "attributes"),
              "both merge orders show the same attributes");

  // Two copies of a profile that apply the fragments in opposite orders converge.
  profile::Profile p("dev-1"), q("dev-1");
  for (const Fragment* f : {&a, &b, &c}) p.apply(*f);
  for (const Fragment* f : {&c, &b, &a}) q.apply(*f);
  const std::string tp = dump(p.to_json()), tq = dump(q.to_json());
  if (tp != tq) fuzz::fail("profiles applying the same fragments converge", tp + "\n--- differs from\n" + tq);
  fuzz::check(p.attributes() == q.attributes(), "converged profiles show the same attributes", tp);
  return 0;
}
