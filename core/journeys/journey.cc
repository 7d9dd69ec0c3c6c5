// Parsing of journey definitions and caps: JSON in, compiled programs out,
// every problem at its path.
#include "core/journeys/journey.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/common/json_depth.h"
#include "core/offers/offers.h"

namespace rekindle::journeys {
namespace {

// An instruction with nothing but its kind (a jump or a hold, filled in later).
Instruction of_kind(Instruction::Kind kind) {
  Instruction ins;
  ins.kind = kind;
  return ins;
}

using nlohmann::json;

constexpr std::pair<Channel, const char*> kChannels[] = {
    {Channel::kWeb, "web"}, {Channel::kEmail, "email"}, {Channel::kSms, "sms"}, {Channel::kPush, "push"}};

class Parser {
 public:
  Parser(const std::function<bool(std::string_view)>& segment_exists, const offers::Catalog& catalog, Errors& errors)
      : segment_exists_(segment_exists), catalog_(catalog), errors_(errors) {}

  std::optional<Journey> journey(const json& j, const std::string& path) {
    if (!j.is_object()) {
      type_error(path, "a journey must be an object, not ", j);
      return std::nullopt;
    }
    const size_t before = errors_.size();
    only_keys(j, path, {"id", "name", "description", "entry", "start", "end", "maxDuration", "reentry", "exit", "goal", "steps"});
    Journey out;
    out.id = id_at(j, path);
    if (auto n = member(j, "name"); n != nullptr && !n->is_string()) error_at(path, "name", "must be a string");
    else if (n != nullptr) out.name = n->get_ref<const std::string&>();
    entry(j, path, out);
    for (const char* key : {"start", "end"}) {
      auto t = member(j, key);
      if (t == nullptr) continue;
      auto parsed = t->is_string() ? parse_iso8601(t->get_ref<const std::string&>()) : std::nullopt;
      if (!parsed) error(child(path, key), "must be an ISO 8601 date-time with offset");
      else (std::string_view(key) == "start" ? out.start : out.end) = parsed;
    }
    if (out.start && out.end && *out.end <= *out.start) error_at(path, "end", "must be after start");
    if (auto m = member(j, "maxDuration"); m == nullptr) error_at(path, "maxDuration", "is required");
    else if (auto d = duration(*m, child(path, "maxDuration"))) out.max_duration = *d;
    if (auto r = member(j, "reentry"); r != nullptr) reentry(*r, child(path, "reentry"), out);
    if (auto e = member(j, "exit"); e != nullptr) exits(*e, child(path, "exit"), out);
    if (auto g = member(j, "goal"); g != nullptr) {
      std::string gpath = child(path, "goal");
      if (!g->is_object()) {
        error(gpath, "must be an object {\"event\": filter}");
      } else {
        only_keys(*g, gpath, {"event"});
        if (auto ev = member(*g, "event"); ev == nullptr) error_at(gpath, "event", "is required");
        else out.goal = rules::compile_filter(*ev, child(gpath, "event"), errors_);
      }
    }
    std::set<std::string> step_ids;
    if (auto s = member(j, "steps"); s == nullptr) {
      error_at(path, "steps", "is required");
    } else {
      steps(*s, child(path, "steps"), out.program, step_ids);
      out.program.push_back(Instruction{});  // the end
    }
    if (errors_.size() != before) return std::nullopt;
    out.canonical = dump(j);
    return out;
  }

  // Through the out-of-line add_error: literals stay pointers at the many sites.
  template <class P, class R>
  void error(const P& path, const R& reason) { add_error(errors_, path, reason); }
  void type_error(const std::string& path, const char* prefix, const json& value) { add_type_error(errors_, path, prefix, value); }
  template <class R>
  void error_at(const std::string& path, const char* key, const R& reason) { add_child_error(errors_, path, key, reason); }

  void only_keys(const json& j, const std::string& path, std::initializer_list<std::string_view> allowed) {
    unknown_keys(j, path, allowed, "is not a known key here (expected ", errors_);
  }

  std::optional<DurationMs> duration(const json& j, const std::string& path) {
    auto d = j.is_string() ? parse_duration(j.get_ref<const std::string&>()) : std::nullopt;
    if (!d || *d <= 0) {
      error(path, "must be a duration such as \"30m\", \"1d\" (a positive integer and ms, s, m, h, d or w)");
      return std::nullopt;
    }
    return d;
  }

  std::string id_at(const json& j, const std::string& path) {
    auto id = member(j, "id");
    if (id == nullptr) {
      error_at(path, "id", "is required");
      return {};
    }
    if (!id->is_string() || !is_valid_id(id->get_ref<const std::string&>())) {
      error_at(path, "id", kIdRule);
      return {};
    }
    return id->get_ref<const std::string&>();
  }

 private:
  void segment_ref(const json& j, const std::string& path, std::string& out) {
    if (!j.is_string()) {
      error(path, "must be a segment id");
    } else if (!segment_exists_(j.get_ref<const std::string&>())) {
      add_unknown_segment(errors_, path, j.get_ref<const std::string&>());
    } else {
      out = j.get_ref<const std::string&>();
    }
  }

  void entry(const json& j, const std::string& path, Journey& out) {
    std::string epath = child(path, "entry");
    auto e = member(j, "entry");
    if (e == nullptr) {
      error(epath, "is required");
      return;
    }
    if (!e->is_object() || e->size() != 1 || !(member(*e, "segment") != nullptr || member(*e, "event") != nullptr)) {
      error(epath, "must be {\"segment\": id} or {\"event\": filter}");
      return;
    }
    if (auto seg = member(*e, "segment"); seg != nullptr) segment_ref(*seg, child(epath, "segment"), out.entry_segment);
    else out.entry_event = rules::compile_filter(*member(*e, "event"), child(epath, "event"), errors_);
  }

  void reentry(const json& j, const std::string& path, Journey& out) {
    if (!j.is_object()) {
      error(path, "must be an object {\"allowed\": boolean, \"cooldown\": duration}");
      return;
    }
    only_keys(j, path, {"allowed", "cooldown"});
    if (auto a = member(j, "allowed"); a == nullptr || !a->is_boolean()) error_at(path, "allowed", "must be a boolean");
    else out.reentry = a->get<bool>();
    if (auto c = member(j, "cooldown"); c != nullptr)
      if (auto d = duration(*c, child(path, "cooldown"))) out.cooldown = *d;
  }

  void exits(const json& j, const std::string& path, Journey& out) {
    if (!j.is_array()) {
      error(path, "must be an array of {\"event\": filter} or {\"segmentExit\": id}");
      return;
    }
    for (size_t i = 0; i < j.size(); ++i) {
      std::string ipath = index(path, i);
      const json& e = j[i];
      ExitCriterion c;
      const json* ev = e.is_object() && e.size() == 1 ? member(e, "event") : nullptr;
      const json* seg = e.is_object() && e.size() == 1 ? member(e, "segmentExit") : nullptr;
      if (ev != nullptr) {
        c.event = rules::compile_filter(*ev, child(ipath, "event"), errors_);
      } else if (seg != nullptr) {
        segment_ref(*seg, child(ipath, "segmentExit"), c.segment);
      } else {
        error(ipath, "must be {\"event\": filter} or {\"segmentExit\": id}");
        continue;
      }
      out.exits.push_back(std::move(c));
    }
  }

  void steps(const json& j, const std::string& path, std::vector<Instruction>& program, std::set<std::string>& ids) {
    if (!j.is_array()) {
      error(path, "must be an array of steps");
      return;
    }
    for (size_t i = 0; i < j.size(); ++i) step(j[i], index(path, i), program, ids);
  }

  void step(const json& j, const std::string& path, std::vector<Instruction>& program, std::set<std::string>& ids) {
    if (!j.is_object()) {
      type_error(path, "a step must be an object, not ", j);
      return;
    }
    Instruction ins;
    ins.step = id_at(j, path);
    if (!ins.step.empty() && !ids.insert(ins.step).second) error_at(path, "id", "duplicates another step id of this journey");
    std::vector<std::string_view> forms;
    // string_views pushed as lvalues, as everywhere: one push_back in the wasm.
    for (std::string_view f : {"action", "wait", "branch", "split"})
      if (member(j, f) != nullptr) forms.push_back(f);
    if (forms.size() != 1) {
      error(path, "a step must have exactly one of action, wait, branch, split");
      return;
    }
    const std::string form(forms[0]);
    only_keys(j, path, {"id", "name", forms[0]});
    const json& body = j[form];
    const std::string bpath = child(path, form);
    if (form == "action") {
      action(body, bpath, ins);
      ins.kind = Instruction::Kind::kAction;
      program.push_back(std::move(ins));
    } else if (form == "wait") {
      ins.kind = Instruction::Kind::kWait;
      if (auto d = duration(body, bpath)) ins.wait = *d;
      program.push_back(std::move(ins));
    } else if (form == "branch") {
      branch(body, bpath, std::move(ins), program, ids);
    } else {
      split(body, bpath, std::move(ins), program, ids);
    }
  }

  void action(const json& j, const std::string& path, Instruction& ins) {
    if (!j.is_object()) {
      error(path, "must be an object");
      return;
    }
    auto ch = member(j, "channel");
    auto channel = ch != nullptr && ch->is_string() ? parse_channel(ch->get_ref<const std::string&>()) : std::nullopt;
    if (!channel) {
      error_at(path, "channel", "must be one of web, email, sms, push");
      return;
    }
    ins.channel = *channel;
    if (*channel == Channel::kWeb) {
      only_keys(j, path, {"channel", "placement", "offer"});
      auto pl = member(j, "placement");
      auto of = member(j, "offer");
      if (pl == nullptr || !pl->is_string() || catalog_.find_placement(pl->get_ref<const std::string&>()) < 0) {
        error_at(path, "placement", "must name a placement of the artifact");
      } else {
        ins.placement = pl->get_ref<const std::string&>();
      }
      if (of == nullptr || !of->is_string() || catalog_.find_offer(of->get_ref<const std::string&>()) < 0) {
        error_at(path, "offer", "must name an offer of the artifact");
      } else {
        ins.offer = catalog_.find_offer(of->get_ref<const std::string&>());
        if (!ins.placement.empty() && !catalog_.offers[static_cast<size_t>(ins.offer)].shows_in(ins.placement))
          error_at(path, "offer", "offer '" + of->get_ref<const std::string&>() + "' does not list placement '" + ins.placement + "'");
      }
    } else {
      only_keys(j, path, {"channel", "template"});
      auto t = member(j, "template");
      if (t == nullptr || !t->is_string() || !is_valid_id(t->get_ref<const std::string&>())) {
        error_at(path, "template", std::string("must be a template id (") + kIdRule + ")");
      } else {
        ins.template_id = t->get_ref<const std::string&>();
      }
    }
  }

  void branch(const json& j, const std::string& path, Instruction ins, std::vector<Instruction>& program,
              std::set<std::string>& ids) {
    if (!j.is_object()) {
      error(path, "must be an object {\"if\": rule, \"then\": [steps], \"else\": [steps]}");
      return;
    }
    only_keys(j, path, {"if", "then", "else"});
    ins.kind = Instruction::Kind::kBranch;
    if (auto cond = member(j, "if"); cond == nullptr) error_at(path, "if", "is required");
    else ins.rule = rules::compile_static(*cond, child(path, "if"), errors_);
    if (ins.rule)
      for (size_t r = 0; r < ins.rule->segment_refs.size(); ++r)
        if (!segment_exists_(ins.rule->segment_refs[r]))
          add_unknown_segment(errors_, ins.rule->segment_ref_paths[r], ins.rule->segment_refs[r]);
    const size_t at = program.size();
    program.push_back(std::move(ins));
    if (auto then = member(j, "then"); then == nullptr) error_at(path, "then", "is required");
    else steps(*then, child(path, "then"), program, ids);
    const size_t jump = program.size();
    program.push_back(of_kind(Instruction::Kind::kJump));
    program[at].target = static_cast<int>(program.size());
    if (auto otherwise = member(j, "else"); otherwise != nullptr) steps(*otherwise, child(path, "else"), program, ids);
    program[jump].target = static_cast<int>(program.size());
  }

  void split(const json& j, const std::string& path, Instruction ins, std::vector<Instruction>& program,
             std::set<std::string>& ids) {
    if (!j.is_array() || j.size() < 2) {
      error(path, "must be an array of at least 2 arms");
      return;
    }
    ins.kind = Instruction::Kind::kSplit;
    const size_t at = program.size();
    program.push_back(std::move(ins));
    std::vector<size_t> jumps;
    int holdouts = 0;
    std::set<std::string> arm_ids;
    for (size_t i = 0; i < j.size(); ++i) {
      std::string apath = index(path, i);
      const json& a = j[i];
      if (!a.is_object()) {
        error(apath, "an arm must be an object");
        continue;
      }
      only_keys(a, apath, {"id", "weight", "holdout", "steps"});
      Arm arm;
      arm.id = id_at(a, apath);
      if (!arm.id.empty() && !arm_ids.insert(arm.id).second) error_at(apath, "id", "duplicates another arm id");
      auto w = member(a, "weight");
      if (w == nullptr || !w->is_number_integer() || w->get<int64_t>() < 1 || w->get<int64_t>() > 1000000) {
        error_at(apath, "weight", "must be an integer from 1 to 1000000");
      } else {
        arm.weight = static_cast<int>(w->get<int64_t>());  // in range: checked above (no get<int> in the wasm)
      }
      if (auto h = member(a, "holdout"); h != nullptr) {
        if (!h->is_boolean()) error_at(apath, "holdout", "must be a boolean");
        else arm.holdout = h->get<bool>();
      }
      arm.pc = static_cast<int>(program.size());
      if (arm.holdout) {
        ++holdouts;
        if (member(a, "steps") != nullptr) error_at(apath, "steps", "a holdout arm receives no actions: it has no steps");
        program.push_back(of_kind(Instruction::Kind::kHold));
      } else {
        if (auto arm_steps = member(a, "steps"); arm_steps == nullptr) error_at(apath, "steps", "is required");
        else steps(*arm_steps, child(apath, "steps"), program, ids);
        jumps.push_back(program.size());
        program.push_back(of_kind(Instruction::Kind::kJump));
      }
      program[at].arms.push_back(std::move(arm));
    }
    if (holdouts > 1) error(path, "has more than one holdout arm");
    for (size_t k : jumps) program[k].target = static_cast<int>(program.size());
  }

  const std::function<bool(std::string_view)>& segment_exists_;
  const offers::Catalog& catalog_;
  Errors& errors_;
};

void parse_caps(const json& doc, const offers::Catalog& catalog, std::vector<Cap>& caps, Parser& p) {
  auto c = member(doc, "caps");
  if (c == nullptr) return;
  if (!c->is_array()) {
    p.error("$.caps", "must be an array");
    return;
  }
  for (size_t i = 0; i < c->size(); ++i) {
    std::string path = index("$.caps", i);
    const json& j = (*c)[i];
    if (!j.is_object()) {
      p.error(path, "a cap must be an object");
      continue;
    }
    Cap cap;
    bool has_channel = member(j, "channel") != nullptr, has_offer = member(j, "offer") != nullptr;
    if (has_channel == has_offer) {
      p.error(path, "names exactly one of channel or offer");
      continue;
    }
    p.only_keys(j, path, {has_channel ? "channel" : "offer", "max", "per"});
    if (has_channel) {
      const json& ch = *member(j, "channel");
      cap.channel = ch.is_string() ? parse_channel(ch.get_ref<const std::string&>()) : std::nullopt;
      if (!cap.channel) p.error(child(path, "channel"), "must be one of web, email, sms, push");
    } else {
      const json& of = *member(j, "offer");
      cap.offer = of.is_string() ? catalog.find_offer(of.get_ref<const std::string&>()) : -1;
      if (cap.offer < 0) p.error(child(path, "offer"), "must name an offer of the artifact");
    }
    auto m = member(j, "max");
    if (m == nullptr || !m->is_number_integer() || m->get<int64_t>() < 0 || m->get<int64_t>() > 1000000) {
      p.error(child(path, "max"), "must be an integer from 0 to 1000000");
    } else {
      cap.max = static_cast<int>(m->get<int64_t>());  // in range: checked above
    }
    if (auto per = member(j, "per"); per == nullptr) p.error(child(path, "per"), "is required");
    else if (auto d = p.duration(*per, child(path, "per"))) cap.per = *d;
    caps.push_back(cap);
  }
}

}  // namespace

const char* to_string(Channel channel) {
  for (const auto& [c, name] : kChannels)
    if (c == channel) return name;
  return "web";
}

std::optional<Channel> parse_channel(std::string_view name) {
  for (const auto& [c, n] : kChannels)
    if (name == n) return c;
  return std::nullopt;
}

const char* purpose_of(Channel channel) {
  switch (channel) {
    case Channel::kWeb: return "personalize";
    case Channel::kEmail: return "marketing.email";
    case Channel::kSms: return "marketing.sms";
    case Channel::kPush: return "marketing.push";
  }
  return "personalize";
}

bool parse_journeys(const json& doc, const std::function<bool(std::string_view)>& segment_exists,
                    const offers::Catalog& catalog, std::vector<Journey>& journeys, std::vector<Cap>& caps,
                    Errors& errors) {
  const size_t before = errors.size();
  Parser p(segment_exists, catalog, errors);
  if (auto js = member(doc, "journeys"); js != nullptr) {
    if (!js->is_array()) {
      add_error(errors, "$.journeys", "must be an array");
    } else {
      IdHolders ids;
      for (size_t i = 0; i < js->size(); ++i) {
        std::string path = index("$.journeys", i);
        const json& raw = (*js)[i];
        auto j = p.journey(raw, path);
        // A journey with other errors still holds its id: every error is reported at once.
        auto id = member(raw, "id");
        if (id != nullptr && id->is_string()) {
          if (!claim_id(ids, id->get_ref<const std::string&>(), path, errors)) continue;
        }
        if (j) journeys.push_back(std::move(*j));
      }
    }
  }
  parse_caps(doc, catalog, caps, p);
  return errors.size() == before;
}

}  // namespace rekindle::journeys
