// Parsing and validation of rules: JSON in, a compiled `Rule` out, with every
// problem reported at its path.
#include <algorithm>
#include <array>
#include <cmath>

#include "core/common/json_depth.h"
#include "core/event/event.h"
#include "core/rules/rule.h"

namespace rekindle::rules {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<std::string_view, Op>, 12> kOps = {{
    {"eq", Op::kEq}, {"ne", Op::kNe}, {"gt", Op::kGt}, {"gte", Op::kGte}, {"lt", Op::kLt},
    {"lte", Op::kLte}, {"in", Op::kIn}, {"notIn", Op::kNotIn}, {"contains", Op::kContains},
    {"startsWith", Op::kStartsWith}, {"endsWith", Op::kEndsWith}, {"exists", Op::kExists}}};


bool is_numeric_op(Op op) {
  return op == Op::kEq || op == Op::kNe || op == Op::kGt || op == Op::kGte || op == Op::kLt || op == Op::kLte;
}

bool is_scalar(const json& v) { return v.is_string() || v.is_number() || v.is_boolean(); }

class Compiler {
 public:
  Compiler(Rule& rule, Errors& errors) : rule_(rule), errors_(errors) {}

  // Compiles any rule node. `in_filter`: inside an event filter's `where`,
  // where event paths are allowed and aggregates are not.
  int node(const json& j, const std::string& path, bool in_filter) {
    if (!j.is_object()) {
      type_error(path, "a rule must be an object, not ", j);
      return -1;
    }
    static constexpr std::array<std::string_view, 9> kForms = {
        "and", "or", "not", "count", "sum", "since", "sequence", "segment", "path"};
    std::vector<std::string_view> forms;
    for (auto f : kForms)
      if (member(j, f) != nullptr) forms.push_back(f);
    // kForms.back() is "path": an lvalue, as everywhere (one push_back in the wasm).
    if (forms.empty() && member(j, "op") != nullptr) forms.push_back(kForms.back());
    if (forms.empty()) {
      error(path, "is not a rule: expected one of and, or, not, path/op/value, count, sum, since, "
                  "sequence, segment");
      return -1;
    }
    if (forms.size() > 1 && !(forms.size() == 2 && forms[1] == "path")) {
      error(path, "mixes '" + std::string(forms[0]) + "' and '" + std::string(forms[1]) +
                      "' in one rule node; nest them instead");
      return -1;
    }
    std::string_view form = forms[0];
    if (form == "and" || form == "or") return boolean(j, path, form, in_filter);
    if (form == "not") return negation(j, path, in_filter);
    if (form == "path") return comparison(j, path, in_filter);
    if (in_filter) {
      error(child(path, form), "is not allowed inside an event filter's 'where'");
      return -1;
    }
    if (form == "segment") return segment(j, path);
    if (form == "sequence") return sequence(j, path);
    return aggregate(j, path, form);
  }

  std::optional<EventFilter> standalone_filter(const json& j, const std::string& path) { return filter(j, path); }

 private:
  // Through the out-of-line add_error: literals stay pointers at the many sites.
  template <class P, class R>
  void error(const P& path, const R& reason) { add_error(errors_, path, reason); }
  void type_error(const std::string& path, const char* prefix, const json& value) { add_type_error(errors_, path, prefix, value); }
  template <class R>
  void error_at(const std::string& path, const char* key, const R& reason) { add_child_error(errors_, path, key, reason); }

  // Reports keys that are not in `allowed`.
  void only_keys(const json& j, const std::string& path, std::initializer_list<std::string_view> allowed) {
    unknown_keys(j, path, allowed, "is not a known key here (expected ", errors_);
  }

  int add(Node n) {
    rule_.nodes.push_back(std::move(n));
    return static_cast<int>(rule_.nodes.size()) - 1;
  }

  int boolean(const json& j, const std::string& path, std::string_view form, bool in_filter) {
    only_keys(j, path, {form});
    const json& list = j[std::string(form)];
    std::string lpath = child(path, form);
    if (!list.is_array() || list.empty()) {
      error(lpath, "must be a non-empty array of rules");
      return -1;
    }
    Node n{form == "and" ? Node::Kind::kAnd : Node::Kind::kOr, {}, -1};
    for (size_t i = 0; i < list.size(); ++i) {
      // Pushed as an lvalue, as everywhere: vector<int> keeps one push_back in the wasm.
      const int c = node(list[i], index(lpath, i), in_filter);
      n.children.push_back(c);
    }
    return add(std::move(n));
  }

  int negation(const json& j, const std::string& path, bool in_filter) {
    only_keys(j, path, {"not"});
    int c = node(*member(j, "not"), child(path, "not"), in_filter);
    return add(Node{Node::Kind::kNot, {c}, -1});
  }

  std::optional<Op> op_at(const json& j, const std::string& path) {
    auto it = member(j, "op");
    if (it == nullptr) {
      error_at(path, "op", "is required");
      return std::nullopt;
    }
    if (!it->is_string()) {
      error_at(path, "op", not_type("must be a string, not ", *it));
      return std::nullopt;
    }
    auto op = parse_op(it->get_ref<const std::string&>());
    if (!op)
      error_at(path, "op",
               with_text("unknown operator '", it->get_ref<const std::string&>(),
                         "' (expected one of eq, ne, gt, gte, lt, lte, in, notIn, contains, startsWith, endsWith, exists)"));
    return op;
  }

  std::optional<Path> path_at(const json& j, const std::string& jpath, bool in_filter) {
    if (!j.is_string()) {
      type_error(jpath, "must be a path string, not ", j);
      return std::nullopt;
    }
    std::string why;
    auto p = parse_path(j.get_ref<const std::string&>(), why);
    if (!p) {
      error(jpath, with_text("'", j.get_ref<const std::string&>(), "' ") + why);
      return std::nullopt;
    }
    if (p->root == Root::kEvent && !in_filter) {
      error(jpath, "event paths are only allowed inside an event filter's 'where'");
      return std::nullopt;
    }
    return p;
  }

  int comparison(const json& j, const std::string& path, bool in_filter) {
    only_keys(j, path, {"path", "op", "value"});
    std::optional<Path> p;
    if (auto it = member(j, "path"); it == nullptr) error_at(path, "path", "is required");
    else p = path_at(*it, child(path, "path"), in_filter);
    auto op = op_at(j, path);
    Comparison c;
    if (op) {
      c.op = *op;
      std::string vpath = child(path, "value");
      auto v = member(j, "value");
      bool has = v != nullptr;
      if (!has && c.op != Op::kExists) {
        error(vpath, "is required");
      } else if (has) {
        c.value = *v;
        switch (c.op) {
          case Op::kEq:
          case Op::kNe:
            if (!is_scalar(*v) && !v->is_null()) type_error(vpath, "must be a string, number, boolean or null, not ", *v);
            break;
          case Op::kGt: case Op::kGte: case Op::kLt: case Op::kLte:
            if (!v->is_number() && !v->is_string()) type_error(vpath, "must be a number or a string, not ", *v);
            break;
          case Op::kIn:
          case Op::kNotIn:
            if (!v->is_array() || v->empty()) {
              error(vpath, "must be a non-empty array of strings, numbers or booleans");
            } else {
              for (size_t i = 0; i < v->size(); ++i)
                if (!is_scalar((*v)[i])) error(index(vpath, i), not_type("must be a string, number or boolean, not ", (*v)[i]));
            }
            break;
          case Op::kContains: case Op::kStartsWith: case Op::kEndsWith:
            if (!v->is_string()) type_error(vpath, "must be a string, not ", *v);
            break;
          case Op::kExists:
            if (!v->is_boolean()) type_error(vpath, "must be a boolean, not ", *v);
            else c.expect_exists = v->get<bool>();
            break;
        }
        if (v->is_number()) {
          c.literal = Literal::kNumber;
          c.number = v->get<double>();
        } else if ((c.op == Op::kEq || c.op == Op::kNe) && v->is_boolean()) {
          c.literal = Literal::kBoolean;
          c.number = v->get<bool>() ? 1 : 0;
        } else if ((c.op == Op::kEq || c.op == Op::kNe) && v->is_string()) {
          c.literal = Literal::kStrings;
          c.strings = v->get_ref<const std::string&>();
          c.string_ends.push_back(static_cast<uint32_t>(c.strings.size()));
        } else if ((c.op == Op::kIn || c.op == Op::kNotIn) && v->is_array() &&
                   std::all_of(array_items(*v).begin(), array_items(*v).end(),
                               [](const json& x) { return x.is_string(); })) {
          c.literal = Literal::kStrings;
          for (const auto& x : array_items(*v)) {
            c.strings += x.get_ref<const std::string&>();
            c.string_ends.push_back(static_cast<uint32_t>(c.strings.size()));
          }
        }
      }
    }
    if (!p || !op) return -1;
    c.path = std::move(*p);
    if (c.path.root == Root::kProfile && !in_filter) rule_.reads_profile = true;
    rule_.comparisons.push_back(std::move(c));
    return add(Node{Node::Kind::kCompare, {}, static_cast<int>(rule_.comparisons.size()) - 1});
  }

  std::optional<DurationMs> duration_at(const json& j, const std::string& path) {
    if (!j.is_string()) {
      type_error(path, "must be a duration string like \"30m\", not ", j);
      return std::nullopt;
    }
    auto d = parse_duration(j.get_ref<const std::string&>());
    if (!d || *d <= 0) {
      error(path, with_text("'", j.get_ref<const std::string&>(),
                            "' is not a duration (a positive integer and a unit: ms, s, m, h, d, w; e.g. \"30m\")"));
      return std::nullopt;
    }
    return d;
  }

  std::optional<EventFilter> filter(const json& j, const std::string& path) {
    if (!j.is_object()) {
      type_error(path, "an event filter must be an object, not ", j);
      return std::nullopt;
    }
    only_keys(j, path, {"type", "where"});
    EventFilter f;
    bool ok = true;
    auto type_ok = [&](const json& t, const std::string& tpath) {
      if (!t.is_string() || !event::is_valid_type(t.get_ref<const std::string&>())) {
        error(tpath, "must be an event type such as \"commerce.purchases\"");
        ok = false;
      } else {
        f.types.push_back(t.get_ref<const std::string&>());
      }
    };
    std::string tpath = child(path, "type");
    if (auto t = member(j, "type"); t == nullptr) {
      error(tpath, "is required");
      ok = false;
    } else if (t->is_array()) {
      if (t->empty()) {
        error(tpath, "must name at least one event type");
        ok = false;
      }
      for (size_t i = 0; i < t->size(); ++i) type_ok((*t)[i], index(tpath, i));
    } else {
      type_ok(*t, tpath);
    }
    if (auto w = member(j, "where"); w != nullptr) {
      f.where = node(*w, child(path, "where"), /*in_filter=*/true);
      ok = ok && f.where >= 0;
    }
    if (!ok) return std::nullopt;
    return f;
  }

  int aggregate(const json& j, const std::string& path, std::string_view form) {
    only_keys(j, path, {form, "op", "value"});
    Aggregate a;
    a.kind = form == "count" ? AggregateKind::kCount : form == "sum" ? AggregateKind::kSum : AggregateKind::kSince;
    std::string spec_path = child(path, form);
    const json& spec = j[std::string(form)];
    bool ok = true;
    if (!spec.is_object()) {
      type_error(spec_path, "must be an object, not ", spec);
      ok = false;
    } else {
      if (a.kind == AggregateKind::kCount) only_keys(spec, spec_path, {"event", "within"});
      if (a.kind == AggregateKind::kSum) only_keys(spec, spec_path, {"event", "field", "within"});
      if (a.kind == AggregateKind::kSince) only_keys(spec, spec_path, {"event"});
      if (auto e = member(spec, "event"); e == nullptr) {
        error_at(spec_path, "event", "is required");
        ok = false;
      } else if (auto f = filter(*e, child(spec_path, "event"))) {
        a.filter = std::move(*f);
      } else {
        ok = false;
      }
      if (auto w = member(spec, "within"); w != nullptr) {
        auto d = duration_at(*w, child(spec_path, "within"));
        if (d) a.within = *d;
        else ok = false;
      }
      if (a.kind == AggregateKind::kSum) {
        if (auto f = member(spec, "field"); f == nullptr) {
          error_at(spec_path, "field", "is required");
          ok = false;
        } else {
          a.field = path_at(*f, child(spec_path, "field"), /*in_filter=*/true);
          if (a.field && a.field->root != Root::kEvent) {
            error_at(spec_path, "field", "must be an event path (event.…)");
            a.field.reset();
          }
          ok = ok && a.field.has_value();
        }
      }
    }
    auto op = op_at(j, path);
    std::string vpath = child(path, "value");
    if (op && a.kind == AggregateKind::kSince) {
      if (*op != Op::kGt && *op != Op::kGte && *op != Op::kLt && *op != Op::kLte) {
        error_at(path, "op", "must be one of gt, gte, lt, lte for 'since'");
        ok = false;
      } else {
        a.op = *op;
      }
      if (auto v = member(j, "value"); v == nullptr) {
        error(vpath, "is required");
        ok = false;
      } else if (auto d = duration_at(*v, vpath)) {
        a.duration = *d;
      } else {
        ok = false;
      }
    } else if (op) {
      if (!is_numeric_op(*op)) {
        error_at(path, "op", with_text("must be one of eq, ne, gt, gte, lt, lte for '", std::string(form), "'"));
        ok = false;
      } else {
        a.op = *op;
      }
      if (auto v = member(j, "value"); v == nullptr) {
        error(vpath, "is required");
        ok = false;
      } else if (!v->is_number()) {
        type_error(vpath, "must be a number, not ", *v);
        ok = false;
      } else {
        a.number = v->get<double>();
      }
    }
    if (!ok || !op) return -1;
    if (a.within > 0) rule_.longest_window = std::max(rule_.longest_window, a.within);
    a.source = std::string(form) + dump(spec);
    rule_.aggregates.push_back(std::move(a));
    return add(Node{Node::Kind::kAggregate, {}, static_cast<int>(rule_.aggregates.size()) - 1});
  }

  int sequence(const json& j, const std::string& path) {
    only_keys(j, path, {"sequence", "within"});
    Aggregate a;
    a.kind = AggregateKind::kSequence;
    bool ok = true;
    std::string spath = child(path, "sequence");
    const json& steps = *member(j, "sequence");
    if (!steps.is_array() || steps.size() < 2) {
      error(spath, "must be an array of at least 2 steps");
      return -1;
    }
    DurationMs span = 0;
    for (size_t i = 0; i < steps.size(); ++i) {
      std::string ipath = index(spath, i);
      const json& s = steps[i];
      if (!s.is_object()) {
        type_error(ipath, "a step must be an object, not ", s);
        ok = false;
        continue;
      }
      if (member(s, "absent") != nullptr) {
        only_keys(s, ipath, {"absent", "for"});
        if (i + 1 != steps.size()) {
          error_at(ipath, "absent", "an absence must be the last step of a sequence");
          ok = false;
        }
        if (i == 0) {
          error_at(ipath, "absent", "a sequence must start with an event step");
          ok = false;
        }
        auto f = filter(*member(s, "absent"), child(ipath, "absent"));
        std::optional<DurationMs> d;
        if (auto fr = member(s, "for"); fr == nullptr) error_at(ipath, "for", "is required");
        else d = duration_at(*fr, child(ipath, "for"));
        if (f && d) {
          a.absent = std::move(*f);
          a.absent_for = *d;
          span += *d;
        } else {
          ok = false;
        }
        continue;
      }
      if (member(s, "event") == nullptr) {
        error(ipath, "a step must have 'event' or 'absent'");
        ok = false;
        continue;
      }
      only_keys(s, ipath, {"event", "within"});
      SequenceStep step;
      auto f = filter(*member(s, "event"), child(ipath, "event"));
      if (f) step.filter = std::move(*f);
      else ok = false;
      if (auto w = member(s, "within"); w != nullptr) {
        if (i == 0) {
          error_at(ipath, "within", "the first step has no 'within' (it starts the sequence)");
          ok = false;
        } else if (auto d = duration_at(*w, child(ipath, "within"))) {
          step.within = *d;
          span += *d;
        } else {
          ok = false;
        }
      } else if (i > 0) {
        error_at(ipath, "within", "is required after the first step (the longest gap allowed after the previous step)");
        ok = false;
      }
      a.steps.push_back(std::move(step));
    }
    if (auto w = member(j, "within"); w != nullptr) {
      auto d = duration_at(*w, child(path, "within"));
      if (d) {
        a.within = *d;
        span += *d;
      } else {
        ok = false;
      }
    }
    if (!ok) return -1;
    rule_.longest_window = std::max(rule_.longest_window, span);
    a.source = dump(j);
    rule_.aggregates.push_back(std::move(a));
    return add(Node{Node::Kind::kAggregate, {}, static_cast<int>(rule_.aggregates.size()) - 1});
  }

  int segment(const json& j, const std::string& path) {
    only_keys(j, path, {"segment"});
    const json& id = *member(j, "segment");
    if (!id.is_string() || id.get_ref<const std::string&>().empty()) {
      error_at(path, "segment", "must be a segment id string");
      return -1;
    }
    rule_.segment_refs.push_back(id.get_ref<const std::string&>());
    const std::string ref_path = child(path, "segment");
    rule_.segment_ref_paths.push_back(ref_path);  // as an lvalue: one push_back in the wasm
    return add(Node{Node::Kind::kSegment, {}, static_cast<int>(rule_.segment_refs.size()) - 1});
  }

  Rule& rule_;
  Errors& errors_;
};

// Reports every count/sum/since/sequence node reachable through and/or/not
// (literals are not conditions, whatever their keys).
void refuse_behaviour(const json& j, const std::string& path, Errors& errors) {
  if (!j.is_object()) return;
  for (const char* form : {"count", "sum", "since", "sequence"}) {
    if (member(j, form) != nullptr) {
      add_error(errors, child(path, form), "behavioural conditions belong in a segment; reference it with {\"segment\": ...}");
      return;
    }
  }
  for (const char* form : {"and", "or"}) {
    auto it = member(j, form);
    if (it == nullptr || !it->is_array()) continue;
    for (size_t i = 0; i < it->size(); ++i) refuse_behaviour((*it)[i], index(child(path, form), i), errors);
  }
  if (auto it = member(j, "not"); it != nullptr) refuse_behaviour(*it, child(path, "not"), errors);
}

}  // namespace

std::optional<FilterRule> compile_filter(const json& j, std::string_view path, Errors& errors) {
  FilterRule out;
  size_t before = errors.size();
  Compiler compiler(out.rule, errors);
  auto f = compiler.standalone_filter(j, std::string(path));
  if (!f || errors.size() != before) return std::nullopt;
  out.filter = std::move(*f);
  return out;
}

std::optional<Rule> compile_static(const json& j, std::string_view path, Errors& errors) {
  size_t before = errors.size();
  refuse_behaviour(j, std::string(path), errors);
  // Compiled even so: a malformed aggregate is reported next to the refusal.
  auto rule = compile(j, path, errors);
  if (errors.size() != before) return std::nullopt;
  return rule;
}

std::optional<Op> parse_op(std::string_view name) {
  for (const auto& [n, op] : kOps)
    if (n == name) return op;
  return std::nullopt;
}

bool Aggregate::watches(std::string_view type) const {
  auto in = [&](const EventFilter& f) {
    return std::find(f.types.begin(), f.types.end(), type) != f.types.end();
  };
  if (kind != AggregateKind::kSequence) return in(filter);
  for (const auto& s : steps)
    if (in(s.filter)) return true;
  return absent && in(*absent);
}

std::optional<Rule> compile(const json& j, std::string_view path, Errors& errors) {
  Rule rule;
  size_t before = errors.size();
  Compiler compiler(rule, errors);
  rule.root = compiler.node(j, std::string(path), false);
  if (errors.size() != before || rule.root < 0) return std::nullopt;
  return rule;
}

void ProfilePaths::assign(Rule& rule) {
  for (Comparison& c : rule.comparisons) {
    if (c.path.root != Root::kProfile || c.path.has_any_item()) continue;
    auto it = std::find_if(paths_.begin(), paths_.end(), [&](const Path& p) { return p.text == c.path.text; });
    c.slot = static_cast<int>(it - paths_.begin());
    if (it == paths_.end()) paths_.push_back(c.path);
  }
}

}  // namespace rekindle::rules
