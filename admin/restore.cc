#include "admin/restore.h"

#include <cassert>
#include <fstream>
#include <map>
#include <mutex>

namespace tokenstore {
namespace {

constexpr size_t kMaxListedProblems = 20;

enum class Outcome { kRestored, kSkipped };

// Writes a defined record and checks the partial the writer computed against the backup's.
Status WriteDefined(TokenClient& client, const BackupRecord& r) {
  StatusOr<WriteResult> w = client.Write(r.id, r.name, r.low, r.mid, r.high);
  if (!w.ok()) return w.status();
  if (w->partial != r.partial || (r.partial && w->partial_x != r.partial_x)) {
    auto show = [](const std::optional<uint64_t>& p, uint64_t x) {
      return p ? std::to_string(*p) + " at x=" + std::to_string(x) : std::string("undefined");
    };
    return Status::DataLoss("written, but its partial is " + show(w->partial, w->partial_x) +
                            " where the backup has " + show(r.partial, r.partial_x) +
                            " (a changed name or hash, or an edited backup)");
  }
  return Status::Ok();
}

StatusOr<Outcome> RestoreOne(TokenClient& client, const BackupRecord& r, bool force) {
  StatusOr<BackupRecord> current = RecordFromRead(r.id, client.Read(r.id));
  if (!current.ok()) return current.status().WithContext("reading its current state");
  if (!force && current->state != ValueKind::kUndefined) return Outcome::kSkipped;
  switch (r.state) {
    case ValueKind::kUndefined: {
      StatusOr<AckResult> ack = client.Create(r.id);
      if (!ack.ok()) return ack.status();
      return Outcome::kRestored;
    }
    case ValueKind::kDropped: {
      StatusOr<AckResult> ack = client.Drop(r.id);
      if (!ack.ok()) return ack.status();
      return Outcome::kRestored;
    }
    case ValueKind::kDefined:
      if (current->state == ValueKind::kDropped) {  // a dropped token refuses writes
        StatusOr<AckResult> ack = client.Create(r.id);
        if (!ack.ok()) return ack.status().WithContext("creating it again before the write");
      }
      if (Status st = WriteDefined(client, r); !st.ok()) return st;
      return Outcome::kRestored;
  }
  return Status::Internal("unknown state");
}

}  // namespace

StatusOr<std::vector<BackupRecord>> LoadBackupFile(const std::string& path,
                                                   const ClusterConfig& config) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot open " + path);
  std::vector<BackupRecord> records;
  std::vector<std::string> problems;
  size_t more = 0;
  auto problem = [&](std::string text) {
    if (problems.size() < kMaxListedProblems) {
      problems.push_back(std::move(text));
    } else {
      ++more;
    }
  };
  std::map<std::string, int, std::less<>> first_line;  // id -> line
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    StatusOr<BackupRecord> r = ParseBackupLine(text, path, line);
    if (!r.ok()) {
      problem(r.status().message());
      continue;
    }
    const std::string where = path + ":" + std::to_string(line) + ": token \"" + r->id + "\"";
    if (auto [it, fresh] = first_line.emplace(r->id, line); !fresh) {
      problem(where + " is listed twice (first at line " + std::to_string(it->second) + ")");
    } else if (!config.Find(r->id)) {
      problem(where + " is not in the replication scheme " + config.source);
    } else {
      records.push_back(std::move(*r));
    }
  }
  if (in.bad()) return Status::Internal("cannot read " + path);
  if (problems.empty()) return records;
  std::string message =
      std::to_string(problems.size() + more) + " problem(s) in " + path + ", nothing was restored:";
  for (const std::string& p : problems) message += "\n  " + p;
  if (more > 0) message += "\n  ... and " + std::to_string(more) + " more";
  return Status::InvalidArgument(message);
}

RestoreSummary RestoreTokens(TokenClient& client, const std::vector<BackupRecord>& records,
                             const std::string& source, bool force, const BulkOptions& options) {
  const size_t n = records.size();
  std::vector<std::optional<StatusOr<Outcome>>> outcomes(n);  // each slot written by one thread
  BulkProgress progress("restore", n, options);
  ForEachConcurrently(n, options.concurrency, [&](size_t i) {
    outcomes[i] = RestoreOne(client, records[i], force);
    progress.Done(!outcomes[i]->ok());
  });
  RestoreSummary summary;
  summary.total = n;
  for (size_t i = 0; i < n; ++i) {
    assert(outcomes[i].has_value());
    const StatusOr<Outcome>& o = *outcomes[i];
    if (!o.ok()) {
      summary.failures.push_back(source + ":" + std::to_string(records[i].line) + ": token \"" +
                                 records[i].id + "\": " + o.status().ToString());
    } else if (*o == Outcome::kSkipped) {
      ++summary.skipped;
    } else {
      ++summary.restored;
    }
  }
  assert(summary.restored + summary.skipped + summary.failures.size() == n);
  progress.Finish(std::to_string(summary.restored) + " restored, " +
                  std::to_string(summary.skipped) + " skipped (not undefined" +
                  (force ? "" : "; --force overwrites them") + ")");
  return summary;
}

}  // namespace tokenstore
