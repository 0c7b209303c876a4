#include "admin/backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#include "admin/backup_record.h"
#include "common/mutex.h"

namespace tokenstore {
namespace {

Status IoError(const std::string& what, const std::string& path) {
  return Status::Internal(what + " " + path + ": " + std::strerror(errno));
}

// A file that replaces `path` only on Commit(): written under a temporary name in the same
// directory, synced, renamed, the directory synced. Removed if never committed.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path) : path_(std::move(path)) {}
  ~AtomicFile() {
    if (file_ != nullptr) std::fclose(file_);
    if (!temp_.empty()) ::unlink(temp_.c_str());
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  Status Open() {
    std::string name = path_ + ".tmp-XXXXXX";
    const int fd = ::mkstemp(name.data());
    if (fd < 0) return IoError("cannot create a temporary file beside", path_);
    temp_ = name;
    file_ = ::fdopen(fd, "w");
    if (file_ == nullptr) {
      ::close(fd);
      return IoError("cannot open", temp_);
    }
    return Status::Ok();
  }
  std::FILE* file() { return file_; }

  Status Commit() {
    assert(file_ != nullptr);
    const bool flushed = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!flushed || !closed) return IoError("cannot write", temp_);
    if (std::rename(temp_.c_str(), path_.c_str()) != 0) return IoError("cannot rename to", path_);
    temp_.clear();
    std::filesystem::path dir = std::filesystem::path(path_).parent_path();
    const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
      ::fsync(dfd);  // best effort: the rename is durable once the directory is
      ::close(dfd);
    }
    return Status::Ok();
  }

 private:
  const std::string path_;
  std::string temp_;  // empty once renamed
  std::FILE* file_ = nullptr;
};

// Writes lines in index order although they arrive in any order; a failed token (nullopt)
// only moves the order on. Holds at most the lines that finished ahead of a slower one.
class OrderedLines {
 public:
  explicit OrderedLines(std::FILE* out) : out_(out) {}

  void Put(size_t index, std::optional<std::string> line) {
    MutexLock lock(&mu_);
    assert(index >= next_ && pending_.count(index) == 0);
    pending_.emplace(index, std::move(line));
    for (auto it = pending_.begin(); it != pending_.end() && it->first == next_;
         it = pending_.erase(it), ++next_) {
      if (!it->second) continue;
      *it->second += '\n';
      if (std::fwrite(it->second->data(), 1, it->second->size(), out_) != it->second->size()) {
        if (write_errno_ == 0) write_errno_ = errno;
      }
      ++written_;
    }
  }
  // REQUIRES: every index was Put.
  size_t written() const {
    MutexLock lock(&mu_);
    return written_;
  }
  int write_errno() const {  // 0: every line was written
    MutexLock lock(&mu_);
    return write_errno_;
  }

 private:
  std::FILE* const out_;
  mutable Mutex mu_;
  size_t next_ GUARDED_BY(mu_) = 0;
  std::map<size_t, std::optional<std::string>> pending_ GUARDED_BY(mu_);
  size_t written_ GUARDED_BY(mu_) = 0;
  int write_errno_ GUARDED_BY(mu_) = 0;
};

}  // namespace

StatusOr<BackupSummary> BackupTokens(TokenClient& client, const ClusterConfig& config,
                                     const std::string& out_path, const BulkOptions& options) {
  AtomicFile file(out_path);
  if (Status st = file.Open(); !st.ok()) return st;
  std::vector<std::string> ids;
  ids.reserve(config.size());
  config.ForEach([&ids](const TokenReplication& t) {
    ids.push_back(t.id);
    return true;
  });
  const size_t n = ids.size();
  BackupSummary summary;
  summary.tokens = n;
  std::vector<std::optional<Status>> failed(n);  // each slot written by one thread only
  OrderedLines lines(file.file());
  BulkProgress progress("backup", n, options);
  ForEachConcurrently(n, options.concurrency, [&](size_t i) {
    const std::string& id = ids[i];
    StatusOr<BackupRecord> record = RecordFromRead(id, client.Read(id));
    if (record.ok()) {
      lines.Put(i, FormatBackupLine(*record));
    } else {
      failed[i] = record.status();
      lines.Put(i, std::nullopt);
    }
    progress.Done(!record.ok());
  });
  for (size_t i = 0; i < n; ++i) {
    if (failed[i]) {
      summary.failures.push_back("token \"" + ids[i] + "\": " + failed[i]->ToString());
    }
  }
  summary.written = lines.written();
  assert(summary.written + summary.failures.size() == n);
  if (lines.write_errno() != 0) {
    errno = lines.write_errno();
    return IoError("cannot write the backup to", out_path);
  }
  if (!summary.failures.empty()) {
    progress.Finish(out_path + " not written");
    return summary;
  }
  if (Status st = file.Commit(); !st.ok()) return st;
  progress.Finish("written to " + out_path);
  return summary;
}

}  // namespace tokenstore
