#include "core/segments/segments.h"

#include <algorithm>

#include "core/common/json_time.h"

namespace rekindle::segments {
namespace {

using nlohmann::json;

}  // namespace

Segments::Segments() : artifact_(artifact::empty()) {}

void Segments::set_deadline(size_t s, std::optional<TimeMs> t) {
  State& st = states_[s];
  if (st.deadline == t) return;
  if (st.deadline) deadlines_.erase({*st.deadline, s});
  st.deadline = t;
  if (t) deadlines_.insert({*t, s});
}

bool Segments::evaluate(size_t s, const rules::ProfileView& profile, TimeMs at) {
  const artifact::Segment& seg = artifact_->segments[s];
  State& st = states_[s];
  std::optional<TimeMs> next;
  for (size_t k = 0; k < seg.rule.aggregates.size(); ++k) {
    rules::expire(seg.rule.aggregates[k], st.aggregates[k], at);
    auto t = rules::next_change(seg.rule.aggregates[k], st.aggregates[k], at);
    if (t && (!next || *t < *next)) next = t;
  }
  set_deadline(s, next);
  rules::Context ctx{profile.tree, nullptr, profile.slots};
  auto member = [&](int ref) { return states_[static_cast<size_t>(seg.refs[static_cast<size_t>(ref)])].member; };
  return rules::evaluate(seg.rule, seg.rule.root, ctx, &st.aggregates, at, member);
}

void Segments::evaluate_dirty(Flags& dirty, const rules::ProfileView& profile, TimeMs at, std::vector<Transition>& out) {
  for (int i : artifact_->order) {
    size_t s = static_cast<size_t>(i);
    if (!dirty[s]) continue;
    bool now_member = evaluate(s, profile, at);
    State& st = states_[s];
    if (now_member == st.member) continue;
    st.member = now_member;
    st.since = at;
    out.push_back({artifact_->segments[s].id, now_member, at});
    for (int d : artifact_->dependents[s]) dirty[static_cast<size_t>(d)] = true;
  }
}

void Segments::rebuild(size_t s, const std::deque<event::Event>& history, const rules::ProfileView& profile,
                       const Known& known) {
  const rules::Rule& rule = artifact_->segments[s].rule;
  State& st = states_[s];
  // Fresh states built and moved in, a kept one copied and moved in: no copy
  // assignment of AggregateState (nor vector::assign) in the wasm.
  st.aggregates = std::vector<rules::AggregateState>(rule.aggregates.size());
  Flags from_history(rule.aggregates.size(), true);
  for (size_t k = 0; k < rule.aggregates.size(); ++k) {
    for (const auto& [aggregate, state] : known) {
      if (aggregate->source != rule.aggregates[k].source) continue;
      st.aggregates[k] = rules::AggregateState(*state);
      from_history[k] = false;
      break;
    }
  }
  for (const auto& ev : history) {
    for (size_t k = 0; k < rule.aggregates.size(); ++k) {
      if (!from_history[k] || !rule.aggregates[k].watches(ev.type)) continue;
      rules::expire(rule.aggregates[k], st.aggregates[k], ev.timestamp);
      rules::observe(rule, rule.aggregates[k], st.aggregates[k], ev, *profile.tree, false, nullptr);
    }
  }
}

void Segments::load(std::shared_ptr<const artifact::Artifact> next, const std::deque<event::Event>& history,
                    const rules::ProfileView& profile, TimeMs now, std::vector<Transition>& out) {
  std::vector<State> old = std::move(states_);
  std::shared_ptr<const artifact::Artifact> before = artifact_;
  switch_to(std::move(next));
  Flags dirty(states_.size(), true);
  Flags kept(old.size(), false);
  // The old artifact's aggregates by source: a changed rule keeps the state of
  // those it still has (a lapsed rule's threshold edited from 30 to 28 days
  // keeps the last visit, which the history no longer holds).
  Known known;
  for (size_t o = 0; o < old.size(); ++o) {
    const rules::Rule& rule = before->segments[o].rule;
    for (size_t k = 0; k < rule.aggregates.size() && k < old[o].aggregates.size(); ++k)
      known.emplace_back(&rule.aggregates[k], &old[o].aggregates[k]);
  }
  // Each segment's unchanged predecessor in `old`, or -1.
  std::vector<int> same(states_.size(), -1);
  for (size_t s = 0; s < states_.size(); ++s) {
    const artifact::Segment& seg = artifact_->segments[s];
    int o = before->find_segment(seg.id);
    if (o >= 0 && before->segments[static_cast<size_t>(o)].canonical == seg.canonical) same[s] = o;
  }
  // Changed rules first: they copy from `old`, which kept ones then move from.
  for (size_t s = 0; s < states_.size(); ++s)
    if (same[s] < 0) rebuild(s, history, profile, known);
  for (size_t s = 0; s < states_.size(); ++s) {
    if (same[s] < 0) continue;
    states_[s] = std::move(old[static_cast<size_t>(same[s])]);
    states_[s].deadline.reset();
    kept[static_cast<size_t>(same[s])] = true;
  }
  // Memberships of segments that are gone end now.
  for (size_t o = 0; o < old.size(); ++o)
    if (!kept[o] && old[o].member && artifact_->find_segment(before->segments[o].id) < 0)
      out.push_back({before->segments[o].id, false, now});
  // A replaced rule starts from "not a member" unless it was one under the
  // same id, so that an unchanged truth value makes no transition.
  for (size_t s = 0; s < states_.size(); ++s) {
    int o = before->find_segment(artifact_->segments[s].id);
    if (o >= 0 && !kept[static_cast<size_t>(o)]) {
      states_[s].member = old[static_cast<size_t>(o)].member;
      states_[s].since = old[static_cast<size_t>(o)].since;
    }
  }
  evaluate_dirty(dirty, profile, now, out);
}

void Segments::switch_to(std::shared_ptr<const artifact::Artifact> artifact) {
  artifact_ = std::move(artifact);
  index_types();
  deadlines_.clear();
  states_ = std::vector<State>(artifact_->segments.size());  // moved in, as the aggregates in rebuild()
}

void Segments::index_types() {
  watchers_.clear();
  for (size_t s = 0; s < artifact_->segments.size(); ++s) {
    const rules::Rule& rule = artifact_->segments[s].rule;
    for (size_t k = 0; k < rule.aggregates.size(); ++k) {
      const rules::Aggregate& a = rule.aggregates[k];
      // Its filters: the aggregate's, each step's, then the absent one's (by
      // index rather than gathered in a vector: no vector of pointers in the wasm).
      const size_t filters = 1 + a.steps.size() + (a.absent ? 1 : 0);
      // Pairs are visited in increasing (s, k) order, so each list comes out
      // sorted, and a type named by several filters of one aggregate is listed
      // once by comparing with the last entry only.
      for (size_t i = 0; i < filters; ++i) {
        const rules::EventFilter& f = i == 0 ? a.filter : i <= a.steps.size() ? a.steps[i - 1].filter : *a.absent;
        for (const auto& type : f.types) {
          auto& list = watchers_[type];
          if (list.empty() || list.back() != std::make_pair(s, k)) list.emplace_back(s, k);
        }
      }
    }
  }
}

void Segments::on_event(const event::Event& ev, const rules::ProfileView& profile, bool late, TimeMs at,
                        const std::deque<event::Event>& history, std::vector<Transition>& out) {
  auto it = watchers_.find(ev.type);
  if (it == watchers_.end()) return;
  Flags dirty(states_.size(), false);
  for (const auto& [s, k] : it->second) {
    const rules::Rule& rule = artifact_->segments[s].rule;
    rules::observe(rule, rule.aggregates[k], states_[s].aggregates[k], ev, *profile.tree, late, &history);
    dirty[s] = true;
  }
  evaluate_dirty(dirty, profile, at, out);
}

void Segments::on_profile_change(const rules::ProfileView& profile, TimeMs at, std::vector<Transition>& out) {
  Flags dirty(states_.size(), false);
  for (size_t s = 0; s < states_.size(); ++s) dirty[s] = artifact_->segments[s].rule.reads_profile;
  evaluate_dirty(dirty, profile, at, out);
}

void Segments::advance(TimeMs to, const rules::ProfileView& profile, std::vector<Transition>& out) {
  Flags dirty(states_.size(), false);
  while (!deadlines_.empty() && deadlines_.begin()->first <= to) {
    const TimeMs t = deadlines_.begin()->first;
    std::fill(dirty.begin(), dirty.end(), false);
    while (!deadlines_.empty() && deadlines_.begin()->first == t) {
      size_t s = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      states_[s].deadline.reset();
      dirty[s] = true;
    }
    evaluate_dirty(dirty, profile, t, out);
  }
}

std::optional<TimeMs> Segments::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

std::vector<Membership> Segments::members() const {
  std::vector<Membership> out;
  for (size_t s = 0; s < states_.size(); ++s)
    if (states_[s].member) out.push_back({artifact_->segments[s].id, states_[s].since});
  return out;
}

bool Segments::is_member(std::string_view segment) const {
  int s = artifact_->find_segment(segment);
  return s >= 0 && states_[static_cast<size_t>(s)].member;
}

json Segments::to_json() const {
  json out = json(json::value_t::array);
  for (size_t s = 0; s < states_.size(); ++s) {
    json aggs = json(json::value_t::array);
    for (const auto& a : states_[s].aggregates) aggs.push_back(rules::to_json(a));
    out.push_back(json_object({{"id", artifact_->segments[s].id},
                               {"rule", artifact_->segments[s].canonical},
                               {"member", states_[s].member},
                               {"since", states_[s].since},
                               {"aggregates", std::move(aggs)}}));
  }
  return out;
}

bool Segments::load_saved(std::shared_ptr<const artifact::Artifact> artifact, const json& saved,
                          const std::deque<event::Event>& history, const rules::ProfileView& profile, TimeMs now) {
  switch_to(std::move(artifact));
  Flags restored(states_.size(), false);
  if (!restore(saved, restored)) return false;
  Flags dirty(states_.size(), false);
  for (size_t s = 0; s < states_.size(); ++s) {
    if (restored[s]) continue;
    rebuild(s, history, profile);
    dirty[s] = true;
  }
  std::vector<Transition> ignored;
  evaluate_dirty(dirty, profile, now, ignored);
  refresh_deadlines(now);
  return true;
}

bool Segments::restore(const json& j, Flags& restored) {
  if (!j.is_array()) return false;
  for (const auto& e : array_items(j)) {
    if (!e.is_object()) return false;
    auto id = member(e, "id");
    auto rule = member(e, "rule");
    auto is_member = member(e, "member");
    auto since = member(e, "since");
    auto aggs = member(e, "aggregates");
    if (id == nullptr || !id->is_string() || rule == nullptr || !rule->is_string() || is_member == nullptr ||
        !is_member->is_boolean() || since == nullptr || !time_from_json(*since) || aggs == nullptr ||
        !aggs->is_array())
      return false;
    int s = artifact_->find_segment(id->get_ref<const std::string&>());
    if (s < 0 || artifact_->segments[static_cast<size_t>(s)].canonical != rule->get_ref<const std::string&>()) continue;
    State st;
    if (aggs->size() != artifact_->segments[static_cast<size_t>(s)].rule.aggregates.size()) return false;
    for (const auto& a : array_items(*aggs)) {
      auto state = rules::state_from_json(a);
      if (!state) return false;
      st.aggregates.push_back(std::move(*state));
    }
    st.member = is_member->get<bool>();
    st.since = *time_from_json(*since);
    set_deadline(static_cast<size_t>(s), std::nullopt);
    states_[static_cast<size_t>(s)] = std::move(st);
    restored[static_cast<size_t>(s)] = true;
  }
  return true;
}

void Segments::refresh_deadlines(TimeMs now) {
  for (size_t s = 0; s < states_.size(); ++s) {
    const rules::Rule& rule = artifact_->segments[s].rule;
    std::optional<TimeMs> next;
    for (size_t k = 0; k < rule.aggregates.size(); ++k) {
      auto t = rules::next_change(rule.aggregates[k], states_[s].aggregates[k], now);
      if (t && (!next || *t < *next)) next = t;
    }
    set_deadline(s, next);
  }
}

json to_json(const Transition& t) {
  return json_object(
      {{"segment", t.segment}, {"status", t.entered ? "realized" : "exited"}, {"at", format_iso8601(t.at)}});
}

}  // namespace rekindle::segments
