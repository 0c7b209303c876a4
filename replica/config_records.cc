#include "replica/config_records.h"

#include <charconv>

namespace tokenstore {
namespace {

constexpr std::string_view kRecordPrefix = "config/";
constexpr std::string_view kRecordMagic = "token-config/1";

// "EPOCH WRITER READER..." (access points hold no spaces).
std::string SetLine(const ReplicaSet& s) {
  std::string out = std::to_string(s.epoch) + " " + s.writer;
  for (const std::string& r : s.readers) out += " " + r;
  return out;
}

std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty()) {
    const size_t sp = line.find(' ');
    out.push_back(line.substr(0, sp));
    if (sp == std::string_view::npos) break;
    line.remove_prefix(sp + 1);
  }
  return out;
}

StatusOr<ReplicaSet> ParseSetLine(std::string_view line, std::string_view what) {
  const std::vector<std::string_view> words = Words(line);
  if (words.size() < 3) {
    return Status::DataLoss("token config record: the " + std::string(what) +
                            " set needs an epoch, a writer and a reader");
  }
  ReplicaSet set;
  const auto [end, ec] = std::from_chars(words[0].data(), words[0].data() + words[0].size(),
                                         set.epoch);
  if (ec != std::errc() || end != words[0].data() + words[0].size()) {
    return Status::DataLoss("token config record: bad epoch \"" + std::string(words[0]) + "\"");
  }
  for (size_t i = 1; i < words.size(); ++i) {
    if (words[i].empty()) return Status::DataLoss("token config record: an empty access point");
  }
  set.writer = std::string(words[1]);
  for (size_t i = 2; i < words.size(); ++i) set.readers.emplace_back(words[i]);
  set.fingerprint = set.ComputeFingerprint();
  return set;
}

}  // namespace

const char* TokenConfigStateName(TokenConfigState s) {
  switch (s) {
    case TokenConfigState::kSealed:
      return "sealed";
    case TokenConfigState::kActive:
      return "active";
    case TokenConfigState::kRetired:
      return "retired";
  }
  return "unknown";
}

std::string RecordString(const TokenConfigRecord& r) {
  std::string out = std::string(TokenConfigStateName(r.state)) + " at " + r.current->ViewString();
  if (r.current->epoch == 0) out += " at epoch 0";
  if (r.target != nullptr) out += ", towards " + r.target->ViewString();
  return out;
}

std::string EncodeTokenConfigRecord(const TokenConfigRecord& r) {
  std::string out(kRecordMagic);
  out += " " + std::to_string(static_cast<int>(r.state)) + "\n" + SetLine(*r.current) + "\n";
  if (r.target != nullptr) out += SetLine(*r.target) + "\n";
  return out;
}

StatusOr<DecodedTokenConfigRecord> DecodeTokenConfigRecord(std::string_view bytes) {
  std::vector<std::string_view> lines;
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      return Status::DataLoss("token config record: the last line is not terminated");
    }
    lines.push_back(bytes.substr(0, nl));
    bytes.remove_prefix(nl + 1);
  }
  if (lines.empty() || !lines[0].starts_with(kRecordMagic) ||
      lines[0].size() != kRecordMagic.size() + 2 || lines[0][kRecordMagic.size()] != ' ') {
    return Status::DataLoss("token config record: unknown format");
  }
  const char state = lines[0].back();
  DecodedTokenConfigRecord out;
  if (state < '1' || state > '3') {
    return Status::DataLoss(std::string("token config record: bad state ") + state);
  }
  out.state = static_cast<TokenConfigState>(state - '0');
  const bool has_target = out.state != TokenConfigState::kActive;
  if (lines.size() != (has_target ? 3u : 2u)) {
    return Status::DataLoss("token config record: " + std::to_string(lines.size()) +
                            " lines for a " + TokenConfigStateName(out.state) + " record");
  }
  StatusOr<ReplicaSet> current = ParseSetLine(lines[1], "current");
  if (!current.ok()) return current.status();
  out.current = std::move(current).value();
  if (has_target) {
    StatusOr<ReplicaSet> target = ParseSetLine(lines[2], "target");
    if (!target.ok()) return target.status();
    if (target->epoch <= out.current.epoch) {
      return Status::DataLoss("token config record: the target's epoch is not above the current");
    }
    out.target = std::move(target).value();
  }
  return out;
}

Status ConfigRecords::Load() {
  StatusOr<std::vector<std::pair<std::string, std::string>>> all =
      store_.ScanNodeRecords(kRecordPrefix);
  if (!all.ok()) return all.status().WithContext("loading the token configuration records");
  for (const auto& [name, bytes] : *all) {
    const std::string token = name.substr(kRecordPrefix.size());
    StatusOr<DecodedTokenConfigRecord> d = DecodeTokenConfigRecord(bytes);
    if (!d.ok()) return d.status().WithContext("the configuration record of token \"" + token + "\"");
    TokenConfigRecord r;
    r.state = d->state;
    r.current = Intern(d->current);
    if (d->target) r.target = Intern(*d->target);
    WriterMutexLock lock(&mu_);
    records_.insert_or_assign(token, r);
    any_.store(true, std::memory_order_release);
  }
  return Status::Ok();
}

std::optional<TokenConfigRecord> ConfigRecords::Find(std::string_view token) const {
  if (!any_.load(std::memory_order_acquire)) return std::nullopt;
  ReaderMutexLock lock(&mu_);
  auto it = records_.find(token);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

const ReplicaSet* ConfigRecords::Intern(const ReplicaSet& set) {
  const std::string key = SetLine(set);
  {
    ReaderMutexLock lock(&mu_);
    if (auto it = sets_.find(key); it != sets_.end()) return it->second.get();
  }
  auto copy = std::make_unique<ReplicaSet>(set);
  copy->line = 0;
  copy->fingerprint = copy->ComputeFingerprint();
  WriterMutexLock lock(&mu_);
  return sets_.try_emplace(key, std::move(copy)).first->second.get();
}

Status ConfigRecords::Put(std::string_view token, const TokenConfigRecord& record) {
  MutexLock serial(&put_mu_);
  TOKENSTORE_RETURN_IF_ERROR(
      store_.PutNodeRecord(std::string(kRecordPrefix) + std::string(token),
                           EncodeTokenConfigRecord(record)));
  WriterMutexLock lock(&mu_);
  records_.insert_or_assign(std::string(token), record);
  any_.store(true, std::memory_order_release);
  return Status::Ok();
}

size_t ConfigRecords::size() const {
  ReaderMutexLock lock(&mu_);
  return records_.size();
}

std::vector<std::pair<std::string, TokenConfigRecord>> ConfigRecords::All() const {
  ReaderMutexLock lock(&mu_);
  return {records_.begin(), records_.end()};
}

}  // namespace tokenstore
