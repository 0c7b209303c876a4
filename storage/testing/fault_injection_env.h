// FaultInjectionEnv: a RocksDB Env for tests that simulates a power cut and injects I/O
// errors, in the manner of LevelDB's db/fault_injection_test.cc and RocksDB's
// FaultInjectionTestEnv. Test code only (library tokenstore_storage_testing).
//
// It wraps an Env of real files (the default one; it truncates them with std::filesystem). Writes
// reach the files at once, as they reach a page cache; the env remembers what a disk would have
// made durable so far:
//   - per file written through it, the size at its last Sync or Fsync (Flush, RangeSync and
//     Close make nothing durable);
//   - per directory, the changes of names in it (a file created, renamed, deleted) since the
//     last Fsync of that directory: a created file whose directory was never synced can
//     vanish, a rename can be undone, a deleted file can come back.
// PowerCut() turns the power off: from then on every write, sync and change of names fails,
// so a database still running cannot make anything more durable. Once it is closed,
// DropUnsyncedData() leaves on disk what the disk would hold after the cut, and turns the
// power back on:
//   1. each change of names not made durable by a directory Fsync is undone, newest first:
//      a created file is removed, a renamed file gets its old name back (and the file it
//      replaced returns with its synced contents), a deleted file returns with its synced
//      contents;
//   2. each file written through the env is cut back to its size at its last sync.
// This is the harshest outcome a disk may give: a real one may keep some unsynced data, never
// more than was written. Sync and Fsync do not call the real fsync (the model decides what
// survives a simulated cut, and the tests stay fast).
//
// Not modeled: torn or reordered writes within the synced size; creating and deleting
// directories (they pass through); hard links, random-access writes and file reuse
// (NewRandomRWFile, PositionedAppend, ReuseWritableFile, LinkFile: NotSupported; RocksDB uses
// them for direct I/O, WAL recycling, file ingestion and checkpoints, none of which the
// store enables). Files the env did not write (there before it, or RocksDB's info LOG) count
// as durable.
//
// Errors: InjectError(op, path_part, err) makes every later `op` on a path containing
// `path_part` fail, without touching the file, as RocksDB's own POSIX env fails when the
// system call returns errno `err` (same status, same message, naming the real file), until
// ClearErrors(). So an injected ENOSPC or EACCES reaches the code under test as a real one.
//
// Thread-safety: safe for concurrent use, as RocksDB requires of an Env. The env must outlive
// every database opened on it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "rocksdb/env.h"
#include "rocksdb/status.h"

namespace tokenstore {

// The status RocksDB's POSIX env (io_posix.h, IOError()) returns when `context` on `path`
// fails with errno `err`: NoSpace for ENOSPC, PathNotFound for ENOENT, IOError otherwise,
// each reading "<context>: <path>: <strerror(err)>".
rocksdb::Status PosixError(const std::string& context, const std::string& path, int err);

class FaultInjectionEnv : public rocksdb::EnvWrapper {
 public:
  // The operations an error can be injected into.
  enum class Op {
    kOpenForRead,  // NewSequentialFile, NewRandomAccessFile
    kCreate,       // NewWritableFile, ReopenWritableFile
    kAppend,       // WritableFile::Append
    kSync,         // WritableFile::Sync, Fsync
  };

  // `base` (not owned) holds the real files; it must outlive this env.
  explicit FaultInjectionEnv(rocksdb::Env* base = rocksdb::Env::Default());
  ~FaultInjectionEnv() override;

  static const char* kClassName() { return "FaultInjectionEnv"; }
  const char* Name() const override { return kClassName(); }

  // Turns the power off (see the file comment). Idempotent.
  void PowerCut();
  // Leaves on disk what survives the cut and turns the power back on; afterwards everything
  // on disk counts as durable. REQUIRES: no database open on this env. Returns the first
  // error of restoring the disk (a test bug or a disk problem: the state is then unknown).
  rocksdb::Status DropUnsyncedData();

  void InjectError(Op op, std::string path_part, int err);
  void ClearErrors();

  // Syncs of files that made data durable, since construction (proves the env is in use).
  uint64_t file_syncs() const;
  // Syncs of directories that made names durable, since construction.
  uint64_t dir_syncs() const;

  // rocksdb::Env.
  rocksdb::Status NewSequentialFile(const std::string& fname,
                                    std::unique_ptr<rocksdb::SequentialFile>* result,
                                    const rocksdb::EnvOptions& options) override;
  rocksdb::Status NewRandomAccessFile(const std::string& fname,
                                      std::unique_ptr<rocksdb::RandomAccessFile>* result,
                                      const rocksdb::EnvOptions& options) override;
  rocksdb::Status NewWritableFile(const std::string& fname,
                                  std::unique_ptr<rocksdb::WritableFile>* result,
                                  const rocksdb::EnvOptions& options) override;
  rocksdb::Status ReopenWritableFile(const std::string& fname,
                                     std::unique_ptr<rocksdb::WritableFile>* result,
                                     const rocksdb::EnvOptions& options) override;
  rocksdb::Status ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                    std::unique_ptr<rocksdb::WritableFile>* result,
                                    const rocksdb::EnvOptions& options) override;
  rocksdb::Status NewRandomRWFile(const std::string& fname,
                                  std::unique_ptr<rocksdb::RandomRWFile>* result,
                                  const rocksdb::EnvOptions& options) override;
  rocksdb::Status NewDirectory(const std::string& name,
                               std::unique_ptr<rocksdb::Directory>* result) override;
  rocksdb::Status DeleteFile(const std::string& fname) override;
  rocksdb::Status Truncate(const std::string& fname, size_t size) override;
  rocksdb::Status RenameFile(const std::string& src, const std::string& dst) override;
  rocksdb::Status LinkFile(const std::string& src, const std::string& dst) override;
  rocksdb::Status CreateDir(const std::string& dirname) override;
  rocksdb::Status CreateDirIfMissing(const std::string& dirname) override;
  rocksdb::Status DeleteDir(const std::string& dirname) override;

 private:
  class File;
  class Dir;

  // What a disk has made durable of one file written through the env. Shared with the open
  // File, so that a rename moves it along.
  struct FileState {
    uint64_t size = 0;    // bytes written
    uint64_t synced = 0;  // bytes durable: the size at the last Sync or Fsync
  };

  // One change of names not yet made durable by an Fsync of `dir`.
  struct NameChange {
    enum class Kind { kCreate, kRename, kDelete } kind;
    std::string dir;
    std::string path;                    // created or deleted; for a rename: the new name
    std::string from;                    // rename only: the old name
    std::optional<std::string> content;  // the durable contents a rename replaced or a
                                         // delete removed; nullopt when there were none
  };

  // Take mu_ for CheckPowered and InjectedError below.
  rocksdb::Status LockedCheckPowered(const std::string& what) const EXCLUDES(mu_);
  rocksdb::Status LockedInjectedError(Op op, const char* context, const std::string& path) const
      EXCLUDES(mu_);

  // These need mu_ held.
  rocksdb::Status CheckPowered(const std::string& what) const REQUIRES(mu_);
  // The injected error of `op` on `path`, as the POSIX env words it for `context`.
  rocksdb::Status InjectedError(Op op, const char* context, const std::string& path) const
      REQUIRES(mu_);
  // The contents of `path` a power cut now would leave; nullopt when it does not exist.
  std::optional<std::string> DurableContent(const std::string& path) REQUIRES(mu_);
  rocksdb::Status TruncateFile(const std::string& path, uint64_t size) REQUIRES(mu_);
  // Moves the state of the file `from` to `to` (a rename), replacing that of `to`.
  void MoveState(const std::string& from, const std::string& to) REQUIRES(mu_);
  rocksdb::Status Undo(const NameChange& change) REQUIRES(mu_);
  rocksdb::Status OpenForWrite(const std::string& fname, bool reopen,
                               std::unique_ptr<rocksdb::WritableFile>* result,
                               const rocksdb::EnvOptions& options);

  // Called by File and Dir.
  rocksdb::Status Append(const std::string& path, FileState& state, rocksdb::WritableFile& file,
                         const rocksdb::Slice& data);
  rocksdb::Status TruncateOpen(const std::string& path, FileState& state,
                               rocksdb::WritableFile& file, uint64_t size);
  rocksdb::Status Sync(const std::string& path, FileState& state, rocksdb::WritableFile& file,
                       const char* context);
  rocksdb::Status SyncDir(const std::string& dir);

  struct ErrorRule {
    Op op;
    std::string path_part;
    int err;
  };

  mutable Mutex mu_;
  bool powered_ GUARDED_BY(mu_) = true;
  std::map<std::string, std::shared_ptr<FileState>> files_ GUARDED_BY(mu_);
  std::vector<NameChange> changes_ GUARDED_BY(mu_);  // oldest first
  std::vector<ErrorRule> errors_ GUARDED_BY(mu_);
  uint64_t file_syncs_ GUARDED_BY(mu_) = 0;
  uint64_t dir_syncs_ GUARDED_BY(mu_) = 0;
};

}  // namespace tokenstore
