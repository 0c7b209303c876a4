#include "storage/testing/fault_injection_env.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

namespace tokenstore {

namespace {

// One spelling per path, so that "dir/x", "dir//x" and "dir/./x" share their state.
std::string Normal(const std::string& path) {
  std::string out = std::filesystem::path(path).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string DirOf(const std::string& normal_path) {
  const size_t slash = normal_path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : normal_path.substr(0, slash);
}

}  // namespace

rocksdb::Status PosixError(const std::string& context, const std::string& path, int err) {
  const std::string msg = path.empty() ? context : context + ": " + path;
  const char* reason = std::strerror(err);
  switch (err) {
    case ENOSPC:
      return rocksdb::Status::NoSpace(msg, reason);
    case ENOENT:
      return rocksdb::Status::PathNotFound(msg, reason);
    default:
      return rocksdb::Status::IOError(msg, reason);
  }
}

// A file open for writing: its bytes go through to the real file, and the env keeps count.
class FaultInjectionEnv::File : public rocksdb::WritableFileWrapper {
 public:
  File(FaultInjectionEnv* env, std::string path, std::shared_ptr<FileState> state,
       std::unique_ptr<rocksdb::WritableFile> target)
      : rocksdb::WritableFileWrapper(target.get()),
        env_(env),
        path_(std::move(path)),
        state_(std::move(state)),
        target_(std::move(target)) {}

  rocksdb::Status Append(const rocksdb::Slice& data) override {
    return env_->Append(path_, *state_, *target_, data);
  }
  rocksdb::Status Append(const rocksdb::Slice& data,
                         const rocksdb::DataVerificationInfo&) override {
    return env_->Append(path_, *state_, *target_, data);
  }
  rocksdb::Status PositionedAppend(const rocksdb::Slice&, uint64_t) override {
    return rocksdb::Status::NotSupported("FaultInjectionEnv: PositionedAppend (direct I/O)");
  }
  rocksdb::Status PositionedAppend(const rocksdb::Slice&, uint64_t,
                                   const rocksdb::DataVerificationInfo&) override {
    return rocksdb::Status::NotSupported("FaultInjectionEnv: PositionedAppend (direct I/O)");
  }
  rocksdb::Status Truncate(uint64_t size) override {
    return env_->TruncateOpen(path_, *state_, *target_, size);
  }
  rocksdb::Status Sync() override {
    return env_->Sync(path_, *state_, *target_, "While fdatasync");
  }
  rocksdb::Status Fsync() override { return env_->Sync(path_, *state_, *target_, "While fsync"); }
  bool IsSyncThreadSafe() const override { return true; }  // Sync takes the env's mutex
  // Starts writeback and waits for nothing: durable only after a Sync.
  rocksdb::Status RangeSync(uint64_t, uint64_t) override { return rocksdb::Status::OK(); }
  // Close releases the descriptor even without power, and makes nothing durable.

 private:
  FaultInjectionEnv* const env_;
  const std::string path_;
  const std::shared_ptr<FileState> state_;
  const std::unique_ptr<rocksdb::WritableFile> target_;
};

class FaultInjectionEnv::Dir : public rocksdb::DirectoryWrapper {
 public:
  Dir(FaultInjectionEnv* env, std::string path, std::unique_ptr<rocksdb::Directory> target)
      : rocksdb::DirectoryWrapper(target.get()),
        env_(env),
        path_(std::move(path)),
        target_(std::move(target)) {}

  rocksdb::Status Fsync() override { return env_->SyncDir(path_); }

 private:
  FaultInjectionEnv* const env_;
  const std::string path_;
  const std::unique_ptr<rocksdb::Directory> target_;
};

FaultInjectionEnv::FaultInjectionEnv(rocksdb::Env* base) : rocksdb::EnvWrapper(base) {}

FaultInjectionEnv::~FaultInjectionEnv() = default;

void FaultInjectionEnv::PowerCut() {
  MutexLock lock(&mu_);
  powered_ = false;
}

rocksdb::Status FaultInjectionEnv::DropUnsyncedData() {
  MutexLock lock(&mu_);
  rocksdb::Status first;
  auto keep_first = [&first](const rocksdb::Status& s) {
    if (first.ok() && !s.ok()) first = s;
  };
  for (auto it = changes_.rbegin(); it != changes_.rend(); ++it) keep_first(Undo(*it));
  for (const auto& [path, state] : files_) {
    keep_first(TruncateFile(path, state->synced));
  }
  changes_.clear();
  files_.clear();
  powered_ = true;
  return first;
}

rocksdb::Status FaultInjectionEnv::Undo(const NameChange& change) {
  switch (change.kind) {
    case NameChange::Kind::kCreate: {
      files_.erase(change.path);
      rocksdb::Status s = target()->DeleteFile(change.path);
      return s.IsNotFound() || s.IsPathNotFound() ? rocksdb::Status::OK() : s;
    }
    case NameChange::Kind::kRename: {
      rocksdb::Status s = target()->RenameFile(change.path, change.from);
      if (!s.ok()) return s;
      MoveState(change.path, change.from);
      if (!change.content) return rocksdb::Status::OK();
      return rocksdb::WriteStringToFile(target(), *change.content, change.path);
    }
    case NameChange::Kind::kDelete:
      if (!change.content) {
        return rocksdb::Status::IOError("FaultInjectionEnv: could not keep the contents of",
                                        change.path);
      }
      return rocksdb::WriteStringToFile(target(), *change.content, change.path);
  }
  return rocksdb::Status::Corruption("FaultInjectionEnv: unknown name change");
}

void FaultInjectionEnv::InjectError(Op op, std::string path_part, int err) {
  MutexLock lock(&mu_);
  errors_.push_back(ErrorRule{op, std::move(path_part), err});
}

void FaultInjectionEnv::ClearErrors() {
  MutexLock lock(&mu_);
  errors_.clear();
}

uint64_t FaultInjectionEnv::file_syncs() const {
  MutexLock lock(&mu_);
  return file_syncs_;
}

uint64_t FaultInjectionEnv::dir_syncs() const {
  MutexLock lock(&mu_);
  return dir_syncs_;
}

rocksdb::Status FaultInjectionEnv::CheckPowered(const std::string& what) const {
  if (powered_) return rocksdb::Status::OK();
  return rocksdb::Status::IOError("FaultInjectionEnv: the power is off", what);
}

rocksdb::Status FaultInjectionEnv::LockedCheckPowered(const std::string& what) const {
  MutexLock lock(&mu_);
  return CheckPowered(what);
}

rocksdb::Status FaultInjectionEnv::LockedInjectedError(Op op, const char* context,
                                                       const std::string& path) const {
  MutexLock lock(&mu_);
  return InjectedError(op, context, path);
}

rocksdb::Status FaultInjectionEnv::InjectedError(Op op, const char* context,
                                                 const std::string& path) const {
  for (const ErrorRule& rule : errors_) {
    if (rule.op == op && path.find(rule.path_part) != std::string::npos) {
      return PosixError(context, path, rule.err);
    }
  }
  return rocksdb::Status::OK();
}

std::optional<std::string> FaultInjectionEnv::DurableContent(const std::string& path) {
  if (!target()->FileExists(path).ok()) return std::nullopt;
  std::string content;
  if (!rocksdb::ReadFileToString(target(), path, &content).ok()) return std::nullopt;
  if (auto it = files_.find(path); it != files_.end()) {
    content.resize(std::min<uint64_t>(content.size(), it->second->synced));
  }
  return content;
}

// On the real file: RocksDB's POSIX file system does not implement Truncate by name.
rocksdb::Status FaultInjectionEnv::TruncateFile(const std::string& path, uint64_t size) {
  std::error_code ec;
  std::filesystem::resize_file(path, size, ec);
  return ec ? PosixError("FaultInjectionEnv: truncate", path, ec.value()) : rocksdb::Status::OK();
}

void FaultInjectionEnv::MoveState(const std::string& from, const std::string& to) {
  files_.erase(to);
  if (auto node = files_.extract(from)) {
    node.key() = to;
    files_.insert(std::move(node));
  }
}

rocksdb::Status FaultInjectionEnv::NewSequentialFile(
    const std::string& fname, std::unique_ptr<rocksdb::SequentialFile>* result,
    const rocksdb::EnvOptions& options) {
  if (rocksdb::Status s = LockedInjectedError(
          Op::kOpenForRead, "While opening a file for sequentially reading", fname);
      !s.ok()) {
    return s;
  }
  return target()->NewSequentialFile(fname, result, options);
}

rocksdb::Status FaultInjectionEnv::NewRandomAccessFile(
    const std::string& fname, std::unique_ptr<rocksdb::RandomAccessFile>* result,
    const rocksdb::EnvOptions& options) {
  if (rocksdb::Status s =
          LockedInjectedError(Op::kOpenForRead, "While open a file for random read", fname);
      !s.ok()) {
    return s;
  }
  return target()->NewRandomAccessFile(fname, result, options);
}

rocksdb::Status FaultInjectionEnv::NewWritableFile(const std::string& fname,
                                                   std::unique_ptr<rocksdb::WritableFile>* result,
                                                   const rocksdb::EnvOptions& options) {
  return OpenForWrite(fname, /*reopen=*/false, result, options);
}

rocksdb::Status FaultInjectionEnv::ReopenWritableFile(
    const std::string& fname, std::unique_ptr<rocksdb::WritableFile>* result,
    const rocksdb::EnvOptions& options) {
  return OpenForWrite(fname, /*reopen=*/true, result, options);
}

// A new file is a change of names in its directory. A reopened one keeps what it had; the
// bytes it held before the env saw it count as durable.
rocksdb::Status FaultInjectionEnv::OpenForWrite(const std::string& fname, bool reopen,
                                                std::unique_ptr<rocksdb::WritableFile>* result,
                                                const rocksdb::EnvOptions& options) {
  const std::string path = Normal(fname);
  MutexLock lock(&mu_);
  if (rocksdb::Status s = CheckPowered("create " + path); !s.ok()) return s;
  if (rocksdb::Status s = InjectedError(Op::kCreate, "While open a file for appending", path);
      !s.ok()) {
    return s;
  }
  const bool existed = target()->FileExists(path).ok();
  uint64_t size_before = 0;
  if (existed && reopen && !target()->GetFileSize(path, &size_before).ok()) size_before = 0;
  std::unique_ptr<rocksdb::WritableFile> file;
  rocksdb::Status s = reopen ? target()->ReopenWritableFile(path, &file, options)
                             : target()->NewWritableFile(path, &file, options);
  if (!s.ok()) return s;
  std::shared_ptr<FileState>& state = files_[path];
  if (state == nullptr || !reopen) {
    state = std::make_shared<FileState>();
    state->size = state->synced = size_before;
  }
  if (!existed) changes_.push_back({NameChange::Kind::kCreate, DirOf(path), path, "", {}});
  *result = std::make_unique<File>(this, path, state, std::move(file));
  return rocksdb::Status::OK();
}

rocksdb::Status FaultInjectionEnv::ReuseWritableFile(const std::string&, const std::string&,
                                                     std::unique_ptr<rocksdb::WritableFile>*,
                                                     const rocksdb::EnvOptions&) {
  return rocksdb::Status::NotSupported("FaultInjectionEnv: ReuseWritableFile (WAL recycling)");
}

rocksdb::Status FaultInjectionEnv::NewRandomRWFile(const std::string&,
                                                   std::unique_ptr<rocksdb::RandomRWFile>*,
                                                   const rocksdb::EnvOptions&) {
  return rocksdb::Status::NotSupported("FaultInjectionEnv: NewRandomRWFile");
}

rocksdb::Status FaultInjectionEnv::NewDirectory(const std::string& name,
                                                std::unique_ptr<rocksdb::Directory>* result) {
  std::unique_ptr<rocksdb::Directory> dir;
  rocksdb::Status s = target()->NewDirectory(name, &dir);
  if (!s.ok()) return s;
  *result = std::make_unique<Dir>(this, Normal(name), std::move(dir));
  return rocksdb::Status::OK();
}

rocksdb::Status FaultInjectionEnv::DeleteFile(const std::string& fname) {
  const std::string path = Normal(fname);
  MutexLock lock(&mu_);
  if (rocksdb::Status s = CheckPowered("delete " + path); !s.ok()) return s;
  std::optional<std::string> content = DurableContent(path);
  rocksdb::Status s = target()->DeleteFile(path);
  if (!s.ok()) return s;
  files_.erase(path);
  changes_.push_back({NameChange::Kind::kDelete, DirOf(path), path, "", std::move(content)});
  return s;
}

rocksdb::Status FaultInjectionEnv::Truncate(const std::string& fname, size_t size) {
  const std::string path = Normal(fname);
  MutexLock lock(&mu_);
  if (rocksdb::Status s = CheckPowered("truncate " + path); !s.ok()) return s;
  rocksdb::Status s = TruncateFile(path, size);
  if (!s.ok()) return s;
  if (auto it = files_.find(path); it != files_.end()) {
    it->second->size = std::min<uint64_t>(it->second->size, size);
    it->second->synced = std::min<uint64_t>(it->second->synced, size);
  }
  return s;
}

rocksdb::Status FaultInjectionEnv::RenameFile(const std::string& src, const std::string& dst) {
  const std::string from = Normal(src);
  const std::string to = Normal(dst);
  MutexLock lock(&mu_);
  if (rocksdb::Status s = CheckPowered("rename " + from); !s.ok()) return s;
  std::optional<std::string> replaced = DurableContent(to);
  rocksdb::Status s = target()->RenameFile(from, to);
  if (!s.ok()) return s;
  MoveState(from, to);
  changes_.push_back({NameChange::Kind::kRename, DirOf(to), to, from, std::move(replaced)});
  return s;
}

rocksdb::Status FaultInjectionEnv::LinkFile(const std::string&, const std::string&) {
  return rocksdb::Status::NotSupported("FaultInjectionEnv: LinkFile");
}

rocksdb::Status FaultInjectionEnv::CreateDir(const std::string& dirname) {
  if (rocksdb::Status s = LockedCheckPowered("create directory " + dirname); !s.ok()) return s;
  return target()->CreateDir(dirname);
}

rocksdb::Status FaultInjectionEnv::CreateDirIfMissing(const std::string& dirname) {
  if (rocksdb::Status s = LockedCheckPowered("create directory " + dirname); !s.ok()) return s;
  return target()->CreateDirIfMissing(dirname);
}

rocksdb::Status FaultInjectionEnv::DeleteDir(const std::string& dirname) {
  if (rocksdb::Status s = LockedCheckPowered("delete directory " + dirname); !s.ok()) return s;
  return target()->DeleteDir(dirname);
}

rocksdb::Status FaultInjectionEnv::Append(const std::string& path, FileState& state,
                                          rocksdb::WritableFile& file, const rocksdb::Slice& data) {
  MutexLock lock(&mu_);
  if (rocksdb::Status s = CheckPowered("append to " + path); !s.ok()) return s;
  if (rocksdb::Status s = InjectedError(Op::kAppend, "While appending to file", path); !s.ok()) {
    return s;
  }
  rocksdb::Status s = file.Append(data);
  if (s.ok()) state.size += data.size();
  return s;
}

rocksdb::Status FaultInjectionEnv::TruncateOpen(const std::string& path, FileState& state,
                                                rocksdb::WritableFile& file, uint64_t size) {
  MutexLock lock(&mu_);
  if (rocksdb::Status s = CheckPowered("truncate " + path); !s.ok()) return s;
  rocksdb::Status s = file.Truncate(size);
  if (!s.ok()) return s;
  state.size = std::min(state.size, size);
  state.synced = std::min(state.synced, size);
  return s;
}

rocksdb::Status FaultInjectionEnv::Sync(const std::string& path, FileState& state,
                                        rocksdb::WritableFile& file, const char* context) {
  MutexLock lock(&mu_);
  if (rocksdb::Status s = CheckPowered("sync " + path); !s.ok()) return s;
  if (rocksdb::Status s = InjectedError(Op::kSync, context, path); !s.ok()) return s;
  // Hands any bytes the real file still buffers to the OS; they are in `size` already.
  if (rocksdb::Status s = file.Flush(); !s.ok()) return s;
  state.synced = state.size;
  ++file_syncs_;
  return rocksdb::Status::OK();
}

rocksdb::Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  MutexLock lock(&mu_);
  if (rocksdb::Status s = CheckPowered("sync directory " + dir); !s.ok()) return s;
  std::erase_if(changes_, [&dir](const NameChange& c) { return c.dir == dir; });
  ++dir_syncs_;
  return rocksdb::Status::OK();
}

}  // namespace tokenstore
