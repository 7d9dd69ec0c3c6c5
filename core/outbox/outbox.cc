#include "core/outbox/outbox.h"

#include <utility>

#include "core/common/json_depth.h"
#include "core/common/json_time.h"

namespace rekindle::outbox {
namespace {

using nlohmann::json;

const std::string* string_field(const json& obj, const char* key, const std::string& path,
                                Errors& errors, bool required = true) {
  auto it = member(obj, key);
  if (it == nullptr) {
    if (required) add_error(errors, child(path, key), "is required");
    return nullptr;
  }
  if (!it->is_string()) {
    add_error(errors, child(path, key), not_type("must be a string, not ", *it));
    return nullptr;
  }
  return &it->get_ref<const std::string&>();
}

// Validates one snapshot record; nullopt (with errors) if it is not usable.
std::optional<Record> read_record(const json& v, const std::string& path, Errors& errors) {
  if (!v.is_object()) {
    add_type_error(errors, path, "must be an object, not ", v);
    return std::nullopt;
  }
  const size_t before = errors.size();
  Record r;
  if (const auto* id = string_field(v, "id", path, errors)) {
    if (id->empty()) add_child_error(errors, path, "id", "must not be empty");
    r.id = *id;
  }
  if (const auto* kind = string_field(v, "kind", path, errors)) {
    if (!is_known_kind(*kind))
      add_child_error(errors, path, "kind", "is not a known record kind");
    r.kind = *kind;
  }
  if (const auto* purpose = string_field(v, "purpose", path, errors, /*required=*/false))
    r.purpose = *purpose;
  auto at = member(v, "at");
  if (at == nullptr || !time_from_json(*at)) {
    add_child_error(errors, path, "at", "must be an integer (ms since epoch) within 8.64e15 of 1970");
  } else {
    r.at = *time_from_json(*at);
  }
  auto body = member(v, "body");
  if (body == nullptr) {
    add_child_error(errors, path, "body", "is required");
  } else {
    r.body = *body;
  }
  if (errors.size() != before) return std::nullopt;
  return r;
}

}  // namespace

bool is_known_kind(std::string_view kind) {
  for (auto k : kKnownKinds)
    if (k == kind) return true;
  return false;
}

json to_json(const Record& record) {
  return json_object({{"id", record.id},
                      {"kind", record.kind},
                      {"at", record.at},
                      {"purpose", record.purpose},
                      {"body", record.body}});
}

Outbox::Outbox(Limits limits) : limits_(limits) {}

// The index holds iterators into records_, so a copy must point at its own list.
Outbox::Outbox(const Outbox& other)
    : limits_(other.limits_),
      records_(other.records_),
      remembered_(other.remembered_),
      remembered_next_(other.remembered_next_),
      remembered_set_(other.remembered_set_),
      bytes_(other.bytes_),
      dropped_(other.dropped_) {
  rebuild_index();
}

Outbox& Outbox::operator=(const Outbox& other) {
  if (this != &other) {
    Outbox copy(other);
    *this = std::move(copy);
  }
  return *this;
}

void Outbox::rebuild_index() {
  index_.clear();
  for (auto it = records_.begin(); it != records_.end(); ++it) index_.emplace(it->record.id, it);
}

void Outbox::remove(List::iterator it) {
  bytes_ -= it->bytes;
  index_.erase(it->record.id);
  records_.erase(it);
}

void Outbox::remember(const std::string& id) {
  if (!remembered_set_.insert(id).second) return;
  if (remembered_.size() < kRememberedIds) {
    remembered_.push_back(id);
    return;
  }
  remembered_set_.erase(remembered_[remembered_next_]);
  remembered_[remembered_next_] = id;
  remembered_next_ = (remembered_next_ + 1) % kRememberedIds;
}

bool Outbox::add(Record record, size_t bytes) {
  if (record.id.empty() || remembered_set_.count(record.id)) return false;
  // One lookup finds a queued id and reserves the slot of a new one.
  auto [slot, inserted] = index_.try_emplace(record.id);
  if (!inserted) return false;
  const size_t size = bytes != 0 ? bytes : dumped_size(record.body);
  if (size > limits_.max_bytes || limits_.max_records == 0) {
    index_.erase(slot);
    ++dropped_;
    return false;
  }
  records_.push_back(Entry{std::move(record), size});
  slot->second = std::prev(records_.end());
  bytes_ += size;
  while (records_.size() > limits_.max_records || bytes_ > limits_.max_bytes) {
    remove(records_.begin());
    ++dropped_;
  }
  return true;
}

std::vector<Record> Outbox::pending(
    size_t max_records, size_t max_bytes,
    const std::function<bool(const std::string&)>& sendable) const {
  std::vector<Record> out;
  size_t total = 0;
  for (const Entry& e : records_) {
    if (out.size() >= max_records) break;
    const std::string& purpose = e.record.purpose;
    if (!purpose.empty() && !(sendable && sendable(purpose))) continue;
    // Stop rather than skip, so a large record is not overtaken by newer ones.
    if (!out.empty() && total + e.bytes > max_bytes) break;
    total += e.bytes;
    out.push_back(e.record);
  }
  return out;
}

size_t Outbox::ack(const std::vector<std::string>& ids) {
  size_t removed = 0;
  for (const auto& id : ids) {
    if (id.empty()) continue;
    if (auto it = index_.find(id); it != index_.end()) {
      remove(it->second);
      ++removed;
    }
    remember(id);
  }
  return removed;
}

bool Outbox::cancel(const std::string& id) {
  auto it = index_.find(id);
  if (it == index_.end()) return false;
  remove(it->second);
  remember(id);
  return true;
}

size_t Outbox::purge(const std::string& purpose) {
  if (purpose.empty()) return 0;
  size_t removed = 0;
  for (auto it = records_.begin(); it != records_.end();) {
    auto next = std::next(it);
    if (it->record.purpose == purpose) {
      remove(it);
      ++removed;
    }
    it = next;
  }
  return removed;
}

json Outbox::to_json() const {
  json records = json(json::value_t::array);
  for (const Entry& e : records_) records.push_back(outbox::to_json(e.record));
  json acked = json(json::value_t::array);
  for (size_t i = 0; i < remembered_.size(); ++i)  // oldest first
    acked.push_back(remembered_[(remembered_next_ + i) % remembered_.size()]);
  return json_object({{"records", std::move(records)}, {"acked", std::move(acked)}, {"dropped", dropped_}});
}

std::optional<Outbox> Outbox::from_json(const json& value, Errors& errors, Limits limits) {
  const size_t before = errors.size();
  if (!value.is_object()) {
    add_type_error(errors, "$", "must be an object, not ", value);
    return std::nullopt;
  }
  Outbox out(limits);

  auto acked = member(value, "acked");
  if (acked != nullptr) {
    if (!acked->is_array()) {
      add_type_error(errors, "$.acked", "must be an array, not ", *acked);
    } else {
      for (size_t i = 0; i < acked->size(); ++i) {
        const json& id = (*acked)[i];
        if (!id.is_string() || id.get_ref<const std::string&>().empty()) {
          add_error(errors, index("$.acked", i), "must be a non-empty string");
          continue;
        }
        out.remember(id.get_ref<const std::string&>());
      }
    }
  }

  auto dropped = member(value, "dropped");
  if (dropped != nullptr) {
    if (!dropped->is_number_unsigned()) {
      add_error(errors, "$.dropped", "must be a non-negative integer");
    } else {
      out.dropped_ = dropped->get<uint64_t>();
    }
  }

  auto records = member(value, "records");
  if (records == nullptr || !records->is_array()) {
    add_error(errors, "$.records", records == nullptr
                                       ? std::string("is required")
                                       : not_type("must be an array, not ", *records));
  } else {
    for (size_t i = 0; i < records->size(); ++i) {
      std::string path = index("$.records", i);
      auto r = read_record((*records)[i], path, errors);
      if (!r) continue;
      if (out.index_.count(r->id)) {
        add_child_error(errors, path, "id", "repeats an earlier record's id");
      } else if (out.remembered_set_.count(r->id)) {
        add_child_error(errors, path, "id", "is also listed as acknowledged");
      } else {
        out.add(std::move(*r));
      }
    }
  }

  unknown_keys(value, "$", {"records", "acked", "dropped"}, nullptr, errors);
  if (errors.size() != before) return std::nullopt;
  return out;
}

}  // namespace rekindle::outbox
