#include "sim/history_recorder.h"

namespace tokenstore::sim {

using checker::Event;
using checker::EventType;
using checker::OpFunction;

int64_t HistoryRecorder::Now() {
  // Nanoseconds of virtual time; events within one microsecond keep their order.
  const int64_t us = net_.elapsed().count();
  if (us != last_us_) {
    last_us_ = us;
    tie_ = 0;
  }
  return us * 1000 + std::min<int64_t>(tie_++, 999);
}

Event& HistoryRecorder::Append(int64_t process, EventType type) {
  Event e;
  e.process = process;
  e.type = type;
  e.time = Now();
  if (type != EventType::kInvoke) {
    const Event& invoke = events_[invoke_of_[process - 1]];
    e.f = invoke.f;
    e.token = invoke.token;
  }
  events_.push_back(std::move(e));
  return events_.back();
}

int64_t HistoryRecorder::InvokeWrite(const std::string& token, const std::string& name,
                                     uint64_t low, uint64_t mid, uint64_t high) {
  const int64_t process = static_cast<int64_t>(invoke_of_.size()) + 1;
  invoke_of_.push_back(events_.size());
  Event& e = Append(process, EventType::kInvoke);
  e.f = OpFunction::kWrite;
  e.token = token;
  e.name = name;
  e.low = low, e.mid = mid, e.high = high;
  return process;
}

int64_t HistoryRecorder::InvokeRead(const std::string& token) {
  const int64_t process = static_cast<int64_t>(invoke_of_.size()) + 1;
  invoke_of_.push_back(events_.size());
  Event& e = Append(process, EventType::kInvoke);
  e.f = OpFunction::kRead;
  e.token = token;
  return process;
}

void HistoryRecorder::WriteOk(int64_t process) {
  const Event invoke = events_[invoke_of_[process - 1]];
  Event& e = Append(process, EventType::kOk);
  e.name = invoke.name;
  e.low = invoke.low, e.mid = invoke.mid, e.high = invoke.high;
}

void HistoryRecorder::Failed(int64_t process) { Append(process, EventType::kFail); }

void HistoryRecorder::Unknown(int64_t process) { Append(process, EventType::kInfo); }

void HistoryRecorder::ReadDefined(int64_t process, const std::string& name,
                                  std::optional<uint64_t> final_value) {
  Event& e = Append(process, EventType::kOk);
  e.name = name;
  e.final_value = final_value;
}

void HistoryRecorder::ReadUndefined(int64_t process, Stamp stamp) {
  Append(process, EventType::kOk);
  if (stamp.ts > 0) undefined_reads_.emplace_back(events_.size() - 1, stamp);
}

void HistoryRecorder::NameStamp(const std::string& token, Stamp stamp, const std::string& name) {
  create_of_stamp_.emplace(std::make_pair(token, stamp), name);
}

std::vector<Event> HistoryRecorder::Finish() {
  for (const auto& [index, stamp] : undefined_reads_) {
    Event& e = events_[index];
    auto it = create_of_stamp_.find(std::make_pair(e.token, stamp));
    if (it != create_of_stamp_.end()) {
      e.name = it->second;
    } else {
      e.type = EventType::kInfo;  // which create it read is not known
      ++unresolved_;
    }
  }
  undefined_reads_.clear();
  for (size_t i = 0; i < events_.size(); ++i) events_[i].line = static_cast<int>(i + 1);
  return std::move(events_);
}

}  // namespace tokenstore::sim
