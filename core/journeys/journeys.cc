#include "core/journeys/journeys.h"

#include <algorithm>

#include "core/artifact/artifact.h"
#include "core/common/json_time.h"
#include "core/rules/aggregate.h"

namespace rekindle::journeys {
namespace {

using nlohmann::json;

bool filter_matches(const rules::FilterRule& f, const event::Event& ev, const json& profile) {
  return rules::matches(f.rule, f.filter, ev, profile);
}

// The proposition ids of a display or interaction event (XDM decisioning).
std::vector<std::string> propositions_of(const event::Event& ev) {
  std::vector<std::string> out;
  auto exp = member(ev.body, "_experience");
  if (exp == nullptr || !exp->is_object()) return out;
  auto dec = member(*exp, "decisioning");
  if (dec == nullptr || !dec->is_object()) return out;
  auto props = member(*dec, "propositions");
  if (props == nullptr || !props->is_array()) return out;
  for (const auto& p : array_items(*props))
    if (p.is_object())
      if (auto id = member(p, "id"); id != nullptr && id->is_string()) out.push_back(id->get_ref<const std::string&>());
  return out;
}

// {"journey": id, "instance": id}, what most effects and records start from.
// Out of line: nlohmann's initializer-list constructor is large at each site.
__attribute__((noinline)) json ids(const std::string& journey, const std::string& instance) {
  json out = json(json::value_t::object);
  set_member(out, "journey", journey);
  set_member(out, "instance", instance);
  return out;
}

// A "journey.step" effect's fields (four kinds of instruction emit one).
__attribute__((noinline)) json step_fields(const std::string& journey, const std::string& instance,
                                           const std::string& step) {
  json out = ids(journey, instance);
  set_member(out, "step", step);
  return out;
}

// An "offer.withdraw" effect's fields (three places withdraw a tile).
__attribute__((noinline)) json withdrawn(const std::string& placement, const std::string& offer,
                                         const std::string& proposition, const std::string& journey,
                                         const std::string& instance) {
  json out = ids(journey, instance);
  set_member(out, "placement", placement);
  set_member(out, "offer", offer);
  set_member(out, "proposition", proposition);
  return out;
}

}  // namespace

json to_json(const Effect& e) {
  json out = e.fields;
  set_member(out, "type", e.type);
  set_member(out, "at", format_iso8601(e.at));
  return out;
}

Journeys::Journeys() : artifact_(artifact::empty()) {}

void Journeys::emit(Host& host, const char* type, TimeMs at, json fields) {
  if (host.effects) host.effects->push_back({type, at, std::move(fields)});
}

void Journeys::record(Host& host, const std::string& id, const char* kind, const char* purpose, TimeMs at,
                      const json& body) {
  // A denied purpose collects nothing more: the record would never be sent.
  if (host.consent && purpose[0] != '\0' && host.consent->get(purpose) == consent::State::kDenied) return;
  if (host.outbox) host.outbox->add({id, kind, at, purpose, body});
}

std::optional<TimeMs> Journeys::deadline_of(const Instance& in) const {
  const Journey& j = artifact_->journeys[static_cast<size_t>(in.journey)];
  TimeMs t = in.entered + j.max_duration;
  if (in.wake) t = std::min(t, *in.wake);
  if (j.end) t = std::min(t, *j.end);
  return t;
}

std::optional<TimeMs> Journeys::next_deadline() const {
  std::optional<TimeMs> next;
  for (const auto& in : active_) {
    auto t = deadline_of(in);
    if (t && (!next || *t < *next)) next = t;
  }
  return next;
}

void Journeys::load(std::shared_ptr<const artifact::Artifact> next, TimeMs now, Host& host) {
  std::shared_ptr<const artifact::Artifact> before = artifact_;
  // End instances whose journey changed or is gone, under the old definitions.
  for (size_t i = active_.size(); i-- > 0;) {
    const Journey& old = before->journeys[static_cast<size_t>(active_[i].journey)];
    auto same = std::find_if(next->journeys.begin(), next->journeys.end(),
                             [&](const Journey& j) { return j.id == old.id && j.canonical == old.canonical; });
    if (same == next->journeys.end()) end(i, now, "artifact", host, nullptr);
  }
  artifact_ = std::move(next);
  for (auto& in : active_) {
    const std::string& id = before->journeys[static_cast<size_t>(in.journey)].id;
    for (size_t j = 0; j < artifact_->journeys.size(); ++j)
      if (artifact_->journeys[j].id == id) in.journey = static_cast<int>(j);
    // Offers may have moved in the catalog; a tile whose offer is gone is withdrawn.
    for (size_t k = in.shown.size(); k-- > 0;) {
      const std::string& offer = before->catalog.offers[static_cast<size_t>(in.shown[k].offer)].id;
      int now_at = artifact_->catalog.find_offer(offer);
      if (now_at >= 0) {
        in.shown[k].offer = now_at;
        continue;
      }
      emit(host, "offer.withdraw", now, withdrawn(in.shown[k].placement, offer, in.shown[k].proposition, id, in.id));
      in.shown.erase(in.shown.begin() + static_cast<long>(k));
    }
  }
  // Deliveries keep their channel; offer indices are re-read by id.
  for (auto& d : deliveries_) {
    if (d.offer < 0) continue;
    const std::string& id = before->catalog.offers[static_cast<size_t>(d.offer)].id;
    d.offer = artifact_->catalog.find_offer(id);
  }
}

void Journeys::enter(size_t j, TimeMs at, Host& host) {
  const Journey& journey = artifact_->journeys[j];
  for (const auto& in : active_)
    if (in.journey == static_cast<int>(j)) return;  // one instance at a time
  if ((journey.start && at < *journey.start) || (journey.end && at >= *journey.end)) return;
  if (auto last = member(last_end_, journey.id); last != nullptr) {
    if (!journey.reentry || at < last->get<TimeMs>() + journey.cooldown) return;
  }
  Instance in;
  in.journey = static_cast<int>(j);
  in.entered = at;
  in.id = stable_id({host.profile_id, journey.id, std::to_string(at)});
  json fields = ids(journey.id, in.id);
  emit(host, "journey.entered", at, fields);
  set_member(fields, "event", "entered");
  set_member(fields, "at", format_iso8601(at));
  record(host, stable_id({in.id, "entered"}), "journey", "analytics", at, fields);
  active_.push_back(std::move(in));
  run(active_.back(), at, host);
}

void Journeys::act(Instance& in, const Instruction& ins, TimeMs at, Host& host) {
  const Journey& journey = artifact_->journeys[static_cast<size_t>(in.journey)];
  const char* purpose = purpose_of(ins.channel);
  json base = step_fields(journey.id, in.id, ins.step);
  set_member(base, "channel", to_string(ins.channel));
  std::string reason;
  if (host.consent && !host.consent->granted(purpose)) {
    reason = std::string("consent:") + purpose + ":" + consent::to_string(host.consent->get(purpose));
  } else {
    reason = cap_reached(ins.channel, ins.offer, at);
  }
  if (!reason.empty()) {
    json fields = base;
    set_member(fields, "reason", reason);
    emit(host, "action.suppressed", at, fields);
    json body = fields;
    set_member(body, "at", format_iso8601(at));
    record(host, stable_id({in.id, ins.step, "suppressed"}), "suppressed", "analytics", at, body);
    return;
  }
  in.last_step = ins.step;
  if (ins.channel == Channel::kWeb) {
    const offers::Offer& offer = artifact_->catalog.offers[static_cast<size_t>(ins.offer)];
    std::string proposition = stable_id({in.id, ins.step, "proposition"});
    // One tile per placement per instance: a later action replaces the earlier one.
    for (size_t k = 0; k < in.shown.size(); ++k) {
      if (in.shown[k].placement != ins.placement) continue;
      emit(host, "offer.withdraw", at,
           withdrawn(ins.placement, artifact_->catalog.offers[static_cast<size_t>(in.shown[k].offer)].id,
                     in.shown[k].proposition, journey.id, in.id));
      in.shown.erase(in.shown.begin() + static_cast<long>(k));
      break;
    }
    in.shown.push_back({ins.placement, ins.offer, proposition, ins.step});
    in.last_offer = offer.id;
    in.last_proposition = proposition;
    json fields = base;
    set_member(fields, "placement", ins.placement);
    set_member(fields, "offer", offer.id);
    set_member(fields, "proposition", proposition);
    set_member(fields, "content",
               offers::to_json(offers::render(offer, host.profile ? *host.profile : json(json::value_t::object))));
    emit(host, "offer.show", at, fields);
    return;
  }
  std::string dispatch = stable_id({in.id, ins.step, "dispatch"});
  json fields = base;
  set_member(fields, "dispatch", dispatch);
  set_member(fields, "template", ins.template_id);
  set_member(fields, "due", format_iso8601(at));
  emit(host, "dispatch.request", at, fields);
  record(host, dispatch, "dispatch", purpose, at, fields);
  in.dispatches.push_back(dispatch);
  deliveries_.push_back({at, ins.channel, -1});
}

void Journeys::run(Instance& in, TimeMs at, Host& host) {
  const Journey& journey = artifact_->journeys[static_cast<size_t>(in.journey)];
  while (true) {
    const Instruction& ins = journey.program[static_cast<size_t>(in.pc)];
    switch (ins.kind) {
      case Instruction::Kind::kAction:
        emit(host, "journey.step", at, step_fields(journey.id, in.id, ins.step));
        act(in, ins, at, host);
        ++in.pc;
        break;
      case Instruction::Kind::kWait:
        if (!in.wake) {
          emit(host, "journey.step", at, step_fields(journey.id, in.id, ins.step));
          in.wake = at + ins.wait;
        }
        if (at < *in.wake) return;
        in.wake.reset();
        ++in.pc;
        break;
      case Instruction::Kind::kBranch: {
        emit(host, "journey.step", at, step_fields(journey.id, in.id, ins.step));
        rules::Context ctx{host.profile, nullptr};
        const rules::Rule& rule = *ins.rule;
        auto member = [&](int ref) { return host.member(rule.segment_refs[static_cast<size_t>(ref)]); };
        bool yes = rules::evaluate(rule, rule.root, ctx, nullptr, at, member);
        in.pc = yes ? in.pc + 1 : ins.target;
        break;
      }
      case Instruction::Kind::kSplit: {
        emit(host, "journey.step", at, step_fields(journey.id, in.id, ins.step));
        // Deterministic per profile and journey: the same visitor always lands in the same arm.
        uint64_t total = 0;
        for (const auto& arm : ins.arms) total += static_cast<uint64_t>(arm.weight);
        const std::string hash = stable_id({host.profile_id, journey.id, "split", ins.step});
        // stable_id() is 16 lowercase hex digits: read here rather than by
        // std::from_chars, whose integer parser is more code in the wasm.
        uint64_t bucket = 0;
        for (char c : hash) bucket = bucket * 16 + static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
        bucket %= total;
        const Arm* chosen = &ins.arms.back();
        for (const auto& arm : ins.arms) {
          if (bucket < static_cast<uint64_t>(arm.weight)) {
            chosen = &arm;
            break;
          }
          bucket -= static_cast<uint64_t>(arm.weight);
        }
        in.arm = chosen->id;
        in.holdout = chosen->holdout;
        in.pc = chosen->pc;
        // Reporting compares arms over every instance, converted or not, so the arm leaves the device.
        json body = step_fields(journey.id, in.id, ins.step);
        set_member(body, "event", "arm");
        set_member(body, "arm", in.arm);
        set_member(body, "holdout", in.holdout);
        set_member(body, "at", format_iso8601(at));
        record(host, stable_id({in.id, ins.step, "arm"}), "journey", "analytics", at, body);
        break;
      }
      case Instruction::Kind::kHold:
      case Instruction::Kind::kEnd:
        return;  // stays active until an exit, the goal or its maximum duration
      case Instruction::Kind::kJump:
        in.pc = ins.target;
        break;
    }
  }
}

void Journeys::end(size_t index, TimeMs at, const std::string& reason, Host& host, const event::Event* converted) {
  Instance in = std::move(active_[index]);
  active_.erase(active_.begin() + static_cast<long>(index));
  const Journey& journey = artifact_->journeys[static_cast<size_t>(in.journey)];
  for (const auto& s : in.shown)
    emit(host, "offer.withdraw", at,
         withdrawn(s.placement, artifact_->catalog.offers[static_cast<size_t>(s.offer)].id, s.proposition, journey.id, in.id));
  for (const auto& d : in.dispatches) {
    if (!host.outbox || !host.outbox->cancel(d)) continue;
    json fields = ids(journey.id, in.id);
    set_member(fields, "dispatch", d);
    emit(host, "dispatch.cancelled", at, fields);
    set_member(fields, "at", format_iso8601(at));
    record(host, stable_id({d, "cancel"}), "dispatch.cancel", "", at, fields);
  }
  json fields = ids(journey.id, in.id);
  if (converted) {
    set_member(fields, "arm", in.arm);
    set_member(fields, "step", in.last_step);
    set_member(fields, "offer", in.last_offer);
    set_member(fields, "proposition", in.last_proposition);
    set_member(fields, "event", converted->id);
    emit(host, "journey.converted", at, fields);
    set_member(fields, "at", format_iso8601(at));
    record(host, stable_id({in.id, "converted"}), "conversion", "analytics", at, fields);
  } else {
    set_member(fields, "reason", reason);
    emit(host, "journey.exited", at, fields);
    set_member(fields, "at", format_iso8601(at));
    set_member(fields, "event", "exited");
    record(host, stable_id({in.id, "exited"}), "journey", "analytics", at, fields);
  }
  last_end_[journey.id] = at;
}

void Journeys::on_event(const event::Event& ev, TimeMs at, Host& host) {
  // Both branches lvalues: a reference, not a copy of the profile.
  static const json kNoProfile = json(json::value_t::object);
  const json& profile = host.profile ? *host.profile : kNoProfile;
  // Impressions count toward caps.
  if (ev.type == event::types::kPropositionDisplay) {
    for (const auto& p : propositions_of(ev)) {
      int offer = offer_of(p, host.profile_id);
      if (offer >= 0) deliveries_.push_back({at, Channel::kWeb, offer});
    }
  }
  for (size_t i = active_.size(); i-- > 0;) {
    const Journey& journey = artifact_->journeys[static_cast<size_t>(active_[i].journey)];
    if (journey.goal && filter_matches(*journey.goal, ev, profile)) {
      end(i, at, "goal", host, &ev);
      continue;
    }
    for (const auto& exit : journey.exits) {
      if (exit.event && filter_matches(*exit.event, ev, profile)) {
        end(i, at, "event", host, nullptr);
        break;
      }
    }
  }
  for (size_t j = 0; j < artifact_->journeys.size(); ++j) {
    const Journey& journey = artifact_->journeys[j];
    if (journey.entry_event && filter_matches(*journey.entry_event, ev, profile)) enter(j, at, host);
  }
}

void Journeys::on_transitions(const std::vector<segments::Transition>& transitions, Host& host) {
  for (const auto& t : transitions) {
    if (!t.entered) {
      for (size_t i = active_.size(); i-- > 0;) {
        const Journey& journey = artifact_->journeys[static_cast<size_t>(active_[i].journey)];
        for (const auto& exit : journey.exits) {
          if (exit.segment == t.segment) {
            end(i, t.at, "segment", host, nullptr);
            break;
          }
        }
      }
      continue;
    }
    for (size_t j = 0; j < artifact_->journeys.size(); ++j)
      if (artifact_->journeys[j].entry_segment == t.segment) enter(j, t.at, host);
  }
}

void Journeys::advance(TimeMs to, Host& host) {
  while (true) {
    // The earliest due instance first, so effects come out in time order.
    size_t best = active_.size();
    TimeMs best_t = 0;
    for (size_t i = 0; i < active_.size(); ++i) {
      auto t = deadline_of(active_[i]);
      if (t && *t <= to && (best == active_.size() || *t < best_t)) {
        best = i;
        best_t = *t;
      }
    }
    if (best == active_.size()) break;
    Instance& in = active_[best];
    const Journey& journey = artifact_->journeys[static_cast<size_t>(in.journey)];
    if (best_t >= in.entered + journey.max_duration) {
      end(best, in.entered + journey.max_duration, "maxDuration", host, nullptr);
    } else if (journey.end && best_t >= *journey.end) {
      end(best, *journey.end, "ended", host, nullptr);
    } else {
      run(in, best_t, host);
    }
  }
  // Deliveries older than the longest cap window no longer matter.
  auto kept = std::find_if(deliveries_.begin(), deliveries_.end(),
                           [&](const Delivery& d) { return d.at > to - artifact_->longest_cap; });
  deliveries_.erase(deliveries_.begin(), kept);
}

std::string Journeys::cap_reached(std::optional<Channel> channel, int offer, TimeMs at) const {
  for (const auto& cap : artifact_->caps) {
    bool applies = (cap.channel && channel && *cap.channel == *channel) || (cap.offer >= 0 && cap.offer == offer);
    if (!applies) continue;
    int count = 0;
    for (const auto& d : deliveries_) {
      if (d.at <= at - cap.per || d.at > at) continue;
      if (cap.channel ? d.channel == *cap.channel : d.offer == cap.offer) ++count;
    }
    if (count >= cap.max)
      return cap.channel ? std::string("cap:") + to_string(*cap.channel)
                         : "cap:offer:" + artifact_->catalog.offers[static_cast<size_t>(cap.offer)].id;
  }
  return {};
}

int Journeys::offer_of(const std::string& proposition, const std::string& profile_id) const {
  for (const auto& in : active_)
    for (const auto& s : in.shown)
      if (s.proposition == proposition) return s.offer;
  const auto& offers = artifact_->catalog.offers;
  for (size_t o = 0; o < offers.size(); ++o)
    for (const auto& p : offers[o].placements)
      if (stable_id({profile_id, "offer", offers[o].id, p}) == proposition) return static_cast<int>(o);
  return -1;
}

std::vector<offers::Assignment> Journeys::assignments(TimeMs now) const {
  std::vector<offers::Assignment> out;
  for (const auto& in : active_) {
    const Journey& journey = artifact_->journeys[static_cast<size_t>(in.journey)];
    // An instance past its end shows nothing, even before `advance` ends it.
    if (now >= in.entered + journey.max_duration || (journey.end && now >= *journey.end)) continue;
    for (const auto& s : in.shown) out.push_back({s.offer, s.placement, s.proposition, journey.id, in.id, s.step});
  }
  return out;
}

json Journeys::to_json() const {
  json active = json(json::value_t::array);
  for (const auto& in : active_) {
    json shown = json(json::value_t::array);
    for (const auto& s : in.shown)
      shown.push_back(json_object({{"placement", s.placement},
                                   {"offer", artifact_->catalog.offers[static_cast<size_t>(s.offer)].id},
                                   {"proposition", s.proposition},
                                   {"step", s.step}}));
    active.push_back(json_object({{"journey", artifact_->journeys[static_cast<size_t>(in.journey)].id},
                                  {"id", in.id}, {"entered", in.entered}, {"pc", in.pc},
                                  {"wake", in.wake ? json(*in.wake) : json(nullptr)},
                                  {"arm", in.arm}, {"holdout", in.holdout},
                                  {"lastStep", in.last_step}, {"lastOffer", in.last_offer},
                                  {"lastProposition", in.last_proposition},
                                  {"shown", std::move(shown)}, {"dispatches", in.dispatches}}));
  }
  json deliveries = json(json::value_t::array);
  for (const auto& d : deliveries_) {
    json entry(json::value_t::array);
    entry.push_back(d.at);
    entry.push_back(to_string(d.channel));
    entry.push_back(d.offer >= 0 ? json(artifact_->catalog.offers[static_cast<size_t>(d.offer)].id) : json(nullptr));
    deliveries.push_back(std::move(entry));
  }
  return json_object({{"active", std::move(active)}, {"lastEnd", last_end_}, {"deliveries", std::move(deliveries)}});
}

bool Journeys::restore(const json& j) {
  if (!j.is_object()) return false;
  auto active = member(j, "active");
  auto last_end = member(j, "lastEnd");
  auto deliveries = member(j, "deliveries");
  if (active == nullptr || !active->is_array() || last_end == nullptr || !last_end->is_object() ||
      deliveries == nullptr || !deliveries->is_array())
    return false;
  std::vector<Instance> restored;
  for (const auto& a : array_items(*active)) {
    if (!a.is_object()) return false;
    auto str = [&](const char* k) -> const std::string* {
      auto it = member(a, k);
      return it != nullptr && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
    };
    auto num = [&](const char* k) -> std::optional<int64_t> {
      auto it = member(a, k);
      if (it == nullptr || !it->is_number_integer()) return std::nullopt;
      return it->get<int64_t>();
    };
    const std::string* jid = str("journey");
    const std::string* id = str("id");
    const json* entered_at = member(a, "entered");
    auto entered = entered_at != nullptr ? time_from_json(*entered_at) : std::nullopt;
    auto pc = num("pc");
    if (!jid || !id || !entered || !pc || !str("arm") || !str("lastStep") || !str("lastOffer") || !str("lastProposition"))
      return false;
    Instance in;
    in.journey = -1;
    for (size_t k = 0; k < artifact_->journeys.size(); ++k)
      if (artifact_->journeys[k].id == *jid) in.journey = static_cast<int>(k);
    if (in.journey < 0) continue;  // the journey is gone from this artifact
    const auto& program = artifact_->journeys[static_cast<size_t>(in.journey)].program;
    if (*pc < 0 || *pc >= static_cast<int64_t>(program.size())) return false;
    in.id = *id;
    in.entered = *entered;
    in.pc = static_cast<int>(*pc);
    if (auto w = member(a, "wake"); w != nullptr && !w->is_null()) {
      auto wake = time_from_json(*w);
      // Only a wait sets a wake: one elsewhere would stay due and never be
      // reset, and advance() would run the instance forever.
      if (!wake || program[in.pc].kind != Instruction::Kind::kWait) return false;
      in.wake = *wake;
    }
    in.arm = *str("arm");
    if (auto h = member(a, "holdout"); h != nullptr && h->is_boolean()) in.holdout = h->get<bool>();
    in.last_step = *str("lastStep");
    in.last_offer = *str("lastOffer");
    in.last_proposition = *str("lastProposition");
    auto shown = member(a, "shown");
    auto dispatches = member(a, "dispatches");
    if (shown == nullptr || !shown->is_array() || dispatches == nullptr || !dispatches->is_array()) return false;
    for (const auto& s : array_items(*shown)) {
      auto string_at = [&](const char* key) {
        auto v = member(s, key);
        return v != nullptr && v->is_string();
      };
      if (!string_at("placement") || !string_at("offer") || !string_at("proposition") || !string_at("step"))
        return false;
      int offer = artifact_->catalog.find_offer(member(s, "offer")->get_ref<const std::string&>());
      if (offer < 0) return false;
      in.shown.push_back({member(s, "placement")->get_ref<const std::string&>(), offer, member(s, "proposition")->get_ref<const std::string&>(), member(s, "step")->get_ref<const std::string&>()});
    }
    for (const auto& d : array_items(*dispatches)) {
      if (!d.is_string()) return false;
      in.dispatches.push_back(d.get_ref<const std::string&>());
    }
    restored.push_back(std::move(in));
  }
  json ends(json::value_t::object);
  for (const auto& [key, value] : last_end->get_ref<const json::object_t&>()) {
    auto t = time_from_json(value);
    if (!t) return false;
    ends[key] = *t;
  }
  std::vector<Delivery> ds;
  for (const auto& d : array_items(*deliveries)) {
    auto at = d.is_array() && d.size() == 3 ? time_from_json(d[0]) : std::nullopt;
    if (!at || !d[1].is_string()) return false;
    auto channel = parse_channel(d[1].get_ref<const std::string&>());
    if (!channel) return false;
    int offer = d[2].is_string() ? artifact_->catalog.find_offer(d[2].get_ref<const std::string&>()) : -1;
    ds.push_back({*at, *channel, offer});
  }
  active_ = std::move(restored);
  last_end_ = std::move(ends);
  deliveries_ = std::move(ds);
  return true;
}

}  // namespace rekindle::journeys
