#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/time.h"
#include "core/rules/path.h"

namespace rekindle::rules {

// Comparison operators of the rule language (docs/rules.md).
enum class Op { kEq, kNe, kGt, kGte, kLt, kLte, kIn, kNotIn, kContains, kStartsWith, kEndsWith, kExists };

std::optional<Op> parse_op(std::string_view name);

// How a comparison's literal was decoded at compile time, for the common
// cases that then skip nlohmann's dispatch on the literal's type.
enum class Literal : uint8_t {
  kGeneral,  // compared as JSON (`value`)
  kNumber,   // `number`
  kBoolean,  // eq/ne: `number` is 1 or 0
  kStrings,  // eq/ne of a string, in/notIn of strings only: `strings`, `string_ends`
};

// `{"path": ..., "op": ..., "value": ...}`, with its operand decoded once.
// The fields an evaluation reads come first.
struct Comparison {
  // Index of the path in the artifact's ProfilePaths (assign), or -1: an
  // evaluation given the values found there reads its value directly.
  int slot = -1;
  Op op = Op::kEq;
  Literal literal = Literal::kGeneral;
  bool expect_exists = true;
  double number = 0;
  // kStrings: the strings end to end, and the offset where each ends (one
  // buffer, compared byte by byte without a call per string).
  std::string strings;
  std::vector<uint32_t> string_ends;
  Path path;
  nlohmann::json value;  // the literal as written (a JSON array for in/notIn)
};

// Which events an aggregate looks at: one of `types`, and `where` (a node
// index of the same rule, or -1) true for the event.
struct EventFilter {
  std::vector<std::string> types;
  int where = -1;
};

enum class AggregateKind { kCount, kSum, kSince, kSequence };

// One step of a sequence: an event (gap `within` after the previous step;
// -1 for the first step).
struct SequenceStep {
  EventFilter filter;
  DurationMs within = -1;
};

// An aggregate over the event stream; its per-profile state lives in
// `AggregateState` (aggregate.h) and is updated incrementally.
struct Aggregate {
  AggregateKind kind = AggregateKind::kCount;
  EventFilter filter;              // count, sum, since
  DurationMs within = -1;          // count/sum window, sequence completion window; -1 = none
  std::optional<Path> field;       // sum
  Op op = Op::kGte;                // compares the aggregate to `number` / `duration`
  double number = 0;               // count, sum
  DurationMs duration = 0;         // since
  std::vector<SequenceStep> steps; // sequence event steps
  std::optional<EventFilter> absent;  // sequence absence (last step)
  DurationMs absent_for = 0;
  // What the state depends on: the aggregate's form and canonical JSON,
  // without its op and value. An artifact that changes a rule carries over the state of
  // an aggregate with the same source (the history may no longer hold what
  // built it: a `since` months old).
  std::string source;

  // True if an event of this type can change the aggregate's state.
  bool watches(std::string_view event_type) const;
};

// A node of the compiled condition tree (indices into `Rule` vectors).
struct Node {
  enum class Kind { kAnd, kOr, kNot, kCompare, kAggregate, kSegment };
  Kind kind = Kind::kAnd;
  std::vector<int> children;  // and / or / not
  int index = -1;             // comparison, aggregate or segment-reference index
};

// A rule compiled once at load: evaluation walks these vectors, never JSON text.
struct Rule {
  std::vector<Node> nodes;
  int root = -1;
  std::vector<Comparison> comparisons;
  std::vector<Aggregate> aggregates;
  std::vector<std::string> segment_refs;  // ids named by {"segment": ...}, by index
  std::vector<std::string> segment_ref_paths;  // where each was written, for errors
  bool reads_profile = false;             // a profile comparison outside any event filter
  DurationMs longest_window = 0;          // what the history must retain for this rule
};

// Parses and validates a rule at `path`, appending every error found.
// Returns a rule only when there were no errors.
std::optional<Rule> compile(const nlohmann::json& json, std::string_view path, Errors& errors);

// A standalone event filter (journey entry, exit and goal): its `where`
// nodes live in `rule`, which has no root of its own.
struct FilterRule {
  Rule rule;
  EventFilter filter;
};

// Compiles `{"type": ..., "where": ...}` at `path`.
std::optional<FilterRule> compile_filter(const nlohmann::json& json, std::string_view path, Errors& errors);

// Compiles a rule that may only read the profile and segment memberships
// (offer eligibility, journey branches): behaviour belongs in a segment.
std::optional<Rule> compile_static(const nlohmann::json& json, std::string_view path, Errors& errors);

// Evaluates one comparison against the document its path starts from.
bool compare(const Comparison& c, const nlohmann::json& doc);

// A reference to any callable `bool(int)` (a lambda at every call site),
// valid for the call it is passed to: segment membership by segment-reference
// index as the caller knows it (evaluate), an offer's cap (offers::decide).
// `evaluate` then is one function compiled in the rules' own source
// (core/CMakeLists.txt builds it for speed in the wasm), not a template
// instantiated in each caller's; and no std::function is instantiated per
// caller (wasm size).
class MemberOf {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, MemberOf>>>
  MemberOf(const F& f)  // NOLINT: converts implicitly, as a function argument
      : f_(&f), call_([](const void* p, int i) { return static_cast<bool>((*static_cast<const F*>(p))(i)); }) {}
  bool operator()(int i) const { return call_(f_, i); }

 private:
  const void* f_;
  bool (*call_)(const void*, int);
};

// The profile as evaluations read it: the attribute tree and, when the
// caller has them, its values by slot (ProfilePaths, rules::Context). Converts
// from a bare tree, which is then read by walking it.
struct ProfileView {
  ProfileView(const nlohmann::json& tree) : tree(&tree) {}  // NOLINT: implicit by design
  ProfileView(const nlohmann::json& tree, const nlohmann::json* const* slots) : tree(&tree), slots(slots) {}
  const nlohmann::json* tree;
  const nlohmann::json* const* slots = nullptr;
};

// The distinct profile paths without `[]` that an artifact's rules compare.
// Rules walk the attribute tree key by key (std::map lookups) for each
// comparison; the engine instead looks each path up once per change of the
// profile (resolve) and hands the values to every evaluation (Context::slots).
class ProfilePaths {
 public:
  // Gives every comparison of `rule` on such a path its slot.
  void assign(Rule& rule);
  // The value at each path in `attributes` (nullptr where it reaches none),
  // by slot.
  void resolve(const nlohmann::json& attributes, std::vector<const nlohmann::json*>& out) const;
  size_t size() const { return paths_.size(); }

 private:
  std::vector<Path> paths_;
};

}  // namespace rekindle::rules
