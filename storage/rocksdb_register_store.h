// RocksDbRegisterStore: the durable RegisterStore of a replica, one RocksDB database in
// one directory.
//
// Layout (schema version 1):
//   column family "registers": key = token id, value = register record (record_codec.h)
//   column family "meta":      "schema_version"     -> decimal text, "1"
//                              "reserved_ts/<token>" -> reservation record (fixed64)
//                              "crashed/<token>"     -> empty (present = marked)
//                              "node/<name>"         -> a lifecycle record (opaque bytes)
// Every write is a synced WriteBatch (WriteOptions::sync), so a call that returns OK has
// reached the fsync'ed write-ahead log and survives kill -9 of the process.
//
// All of the database is loaded into memory at Open (it is small: one register per
// token) and kept in step with the disk, so reads never touch RocksDB. A failed write
// leaves the disk state uncertain; the store then refuses further writes until it is
// reopened, which reloads the truth from disk.
//
// Thread-safety: safe for concurrent use. Writes for the same token are serialized;
// writes for different tokens run concurrently and share fsyncs (see StoreIfNewer in the
// .cc file for why).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/latency_histogram.h"
#include "common/mutex.h"
#include "storage/register_store.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
class FileLock;
class WriteBatch;
}  // namespace rocksdb

namespace tokenstore {

struct RocksDbOptions {
  // A replica creates its (empty) directory on first start; the offline admin tools open
  // existing stores only, so a mistyped path is an error instead of a new empty store.
  bool create_if_missing = false;
  // Opens the database read-only (for token-admin dump --data-dir): nothing in the directory
  // changes, not even RocksDB's LOG, and every write is refused with FAILED_PRECONDITION. A
  // directory in use by a running replica is still refused: the store takes RocksDB's LOCK
  // itself. REQUIRES: !create_if_missing.
  bool read_only = false;

  // For tests only; no program sets these, and no command-line flag reaches them.
  //
  // The Env RocksDB does all its file I/O through (not owned; must outlive the store);
  // nullptr is the default, real one. Tests pass a fault-injecting one
  // (storage/testing/fault_injection_env.h) to cut the power or fail a write.
  rocksdb::Env* env_for_tests = nullptr;
  // UNSAFE: writes without WriteOptions::sync, so an acknowledged write may be lost on a
  // power cut. Exists only to show that the power-cut tests catch a missing sync.
  bool unsafe_no_sync_for_tests = false;
};

class RocksDbRegisterStore final : public RegisterStore {
 public:
  // The on-disk layout this build reads and writes.
  static constexpr int kSchemaVersion = 1;

  // Opens the store in `dir`, creating it when missing and opts.create_if_missing.
  // Errors name the directory:
  //   NOT_FOUND            (only when !create_if_missing) no such directory, an empty
  //                        one, or one left by a creation that was cut short
  //   FAILED_PRECONDITION  not a token store (unrelated files or database), another or
  //                        no schema version, or in use by another process
  //   DATA_LOSS            corrupt, truncated or missing database files (CURRENT, MANIFEST,
  //                        SST) or records; the files are left as found, never reset
  //   RESOURCE_EXHAUSTED   no space left on the device (also from the writes below)
  //   PERMISSION_DENIED    a file RocksDB must read or write is not accessible
  static StatusOr<std::unique_ptr<RocksDbRegisterStore>> Open(const std::string& dir,
                                                              const RocksDbOptions& opts);

  ~RocksDbRegisterStore() override;
  RocksDbRegisterStore(const RocksDbRegisterStore&) = delete;
  RocksDbRegisterStore& operator=(const RocksDbRegisterStore&) = delete;

  const std::string& dir() const { return dir_; }
  // Time of each synced write (WriteBatch with sync), successful or not.
  const LatencyHistogram& sync_latency() const { return sync_latency_; }

  StatusOr<Register> Get(std::string_view token) override;
  StatusOr<Stamp> StoreIfNewer(std::string_view token, const Register& reg) override;
  std::vector<StatusOr<Stamp>> StoreIfNewerBatch(std::span<const StoreItem> items) override;
  StatusOr<std::vector<std::pair<std::string, Register>>> Scan() override;
  StatusOr<uint64_t> GetReservedTimestamp(std::string_view token) override;
  StatusOr<std::vector<std::pair<std::string, uint64_t>>> ScanReservations() override;
  Status ReserveTimestamps(std::string_view token, uint64_t upto) override;
  Status SetCrashed(std::string_view token, bool crashed) override;
  StatusOr<std::vector<std::string>> CrashedTokens() override;
  StatusOr<std::optional<std::string>> GetNodeRecord(std::string_view name) override;
  Status PutNodeRecord(std::string_view name, std::string_view bytes) override;
  StatusOr<std::vector<std::pair<std::string, std::string>>> ScanNodeRecords(
      std::string_view prefix) override;

 private:
  // Power of two; enough that a few dozen concurrently written tokens rarely share one.
  static constexpr size_t kTokenStripes = 64;
  static_assert((kTokenStripes & (kTokenStripes - 1)) == 0, "a mask picks the stripe");

  // Takes `db` and, when not null, `dir_lock` (a read-only store's hold on RocksDB's LOCK,
  // taken through `env`).
  RocksDbRegisterStore(std::string dir, const RocksDbOptions& opts, rocksdb::Env* env,
                       rocksdb::FileLock* dir_lock, rocksdb::DB* db,
                       std::vector<rocksdb::ColumnFamilyHandle*> handles);

  // Reads the whole database into memory; called once by Open.
  Status Load();
  // Writes `batch` synced. On failure remembers the error so later writes fail fast.
  Status Write(rocksdb::WriteBatch* batch);
  Status CheckWritable();
  static size_t StripeIndexOf(std::string_view token);
  std::mutex& StripeOf(std::string_view token);

  const std::string dir_;
  const bool sync_;  // false only with RocksDbOptions::unsafe_no_sync_for_tests
  const bool read_only_;
  rocksdb::Env* const env_;
  rocksdb::FileLock* const dir_lock_;  // released by the destructor; null unless read-only
  rocksdb::DB* const db_;                                    // owned; closed by the destructor
  const std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default, registers, meta
  rocksdb::ColumnFamilyHandle* const registers_cf_;
  rocksdb::ColumnFamilyHandle* const meta_cf_;

  // Held around "compare with memory, write to disk, update memory" of one token, so
  // memory and disk change in the same order for that token. Plain std::mutex: they guard
  // no member (they order I/O), and a batch holds a run-time set of them.
  std::array<std::mutex, kTokenStripes> stripes_;
  Mutex node_records_mu_;  // serializes PutNodeRecord

  // Guards the in-memory copy of the database. Held only briefly, never across I/O.
  mutable SharedMutex mu_;
  std::map<std::string, Register, std::less<>> registers_ GUARDED_BY(mu_);
  std::map<std::string, uint64_t, std::less<>> reserved_ GUARDED_BY(mu_);
  std::set<std::string, std::less<>> crashed_ GUARDED_BY(mu_);
  std::map<std::string, std::string, std::less<>> node_records_ GUARDED_BY(mu_);
  Status write_error_ GUARDED_BY(mu_);

  LatencyHistogram sync_latency_;
};

}  // namespace tokenstore
