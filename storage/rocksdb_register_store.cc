#include "storage/rocksdb_register_store.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdarg>
#include <filesystem>
#include <system_error>

#include "common/check.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/options.h"
#include "rocksdb/status.h"
#include "rocksdb/utilities/options_util.h"
#include "rocksdb/write_batch.h"
#include "storage/record_codec.h"
#include "storage/rocksdb_options.h"

namespace tokenstore {

namespace {

namespace fs = std::filesystem;

constexpr char kRegistersCf[] = "registers";
constexpr char kMetaCf[] = "meta";
constexpr std::string_view kSchemaVersionKey = "schema_version";
constexpr std::string_view kReservedPrefix = "reserved_ts/";
constexpr std::string_view kCrashedPrefix = "crashed/";
constexpr std::string_view kNodePrefix = "node/";

std::string ReservedKey(std::string_view token) {
  return std::string(kReservedPrefix) + std::string(token);
}
std::string CrashedKey(std::string_view token) {
  return std::string(kCrashedPrefix) + std::string(token);
}

// Keys come from disk and may be anything; keep error messages on one printable line.
std::string Printable(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && u != '\\') {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

bool IsLockError(const rocksdb::Status& s) {
  // RocksDB reports a held lock as an IO error on the LOCK file: "While lock file:
  // <dir>/LOCK: Resource temporarily unavailable" when another process holds it, or
  // "lock hold by current process ...: <dir>/LOCK: No locks available" for a second
  // open in this process. There is no dedicated subcode, so match the file name.
  return s.IsIOError() && s.ToString().find("/LOCK") != std::string::npos;
}

// The single place where RocksDB statuses become ours. `dir` names the store in every
// message, because an operator reading a log line must know which directory is meant.
Status FromRocks(const rocksdb::Status& s, const std::string& dir, const std::string& what) {
  const std::string msg = dir + ": " + what + ": " + s.ToString();
  if (s.ok()) return Status::Ok();
  if (IsLockError(s)) {
    return Status::FailedPrecondition(dir +
                                      " is in use by another process (a running "
                                      "token-replica?): " +
                                      s.ToString());
  }
  if (s.IsCorruption()) return Status::DataLoss(msg);
  if (s.IsIOError()) {
    if (s.IsNoSpace()) return Status::ResourceExhausted(msg);
    if (s.ToString().find("Permission denied") != std::string::npos) {
      return Status::PermissionDenied(msg);
    }
    // A file the database refers to is gone: the database is damaged, not "not found".
    if (s.IsPathNotFound()) return Status::DataLoss(msg);
    return Status::Internal(msg);
  }
  if (s.IsInvalidArgument()) return Status::FailedPrecondition(msg);
  if (s.IsNotSupported()) return Status::FailedPrecondition(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return Status::Unavailable(msg);
  if (s.IsAborted()) return Status(StatusCode::kAborted, msg);
  return Status::Internal(msg);
}

// The names in `dir`, sorted.
StatusOr<std::vector<std::string>> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) return Status::Internal(dir + ": cannot list the directory: " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

// "a, b, c" of the first few names, for error messages.
std::string SomeNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 5; ++i) {
    if (i > 0) out += ", ";
    out += Printable(names[i]);
  }
  if (names.size() > 5) out += ", ...";
  return out;
}

// Files RocksDB makes in a directory before it writes CURRENT: what a first start killed
// halfway through (or any failed RocksDB open of an empty directory) leaves behind.
// Without CURRENT no batch of ours was ever written, so such a directory holds no data.
// Data files (*.sst, *.log) are deliberately not in this list: a database that lost its
// CURRENT but still has data must be refused, not recreated.
bool IsCreationLeftover(const std::string& name) {
  return name == "LOCK" || name == "LOG" || name.starts_with("LOG.old.") || name == "IDENTITY" ||
         name == "MANIFEST-000001" || name.ends_with(".dbtmp");
}

// When the MANIFEST does not list our column families, tells "a database that never was a
// token store" from "a token store whose MANIFEST lost its tail": RocksDB also records the
// column families in its OPTIONS file, which a truncated MANIFEST leaves intact.
bool OptionsFileNamesOurFamilies(const std::string& dir, rocksdb::Env* env) {
  rocksdb::ConfigOptions config;
  if (env != nullptr) config.env = env;
  config.ignore_unknown_options = true;
  config.ignore_unsupported_options = true;
  rocksdb::DBOptions db_opts;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  if (!rocksdb::LoadLatestOptions(config, dir, &db_opts, &cfs).ok()) return false;
  bool registers = false, meta = false;
  for (const auto& cf : cfs) {
    registers |= cf.name == kRegistersCf;
    meta |= cf.name == kMetaCf;
  }
  return registers && meta;
}

// RocksDB's info log of a read-only open: reading a store must not rotate or write its LOG.
class DiscardingLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

// Opens the database of the store in `dir` (read-only when opts.read_only) with its three
// column families. A read-only open first takes the LOCK a running replica holds, so that it
// is refused as a read-write open is; when there is no LOCK file, no replica can hold it, and
// none is made.
rocksdb::Status OpenDb(const std::string& dir, const RocksDbOptions& opts, bool create,
                       rocksdb::Env* env, rocksdb::FileLock** lock,
                       std::vector<rocksdb::ColumnFamilyHandle*>* handles, rocksdb::DB** db) {
  const rocksdb::ColumnFamilyOptions cf_opts = RegisterStoreCfOptions();
  const std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, cf_opts},
      {kRegistersCf, cf_opts},
      {kMetaCf, cf_opts},
  };
  rocksdb::DBOptions db_opts = RegisterStoreDbOptions(create, env);
  if (!opts.read_only) return rocksdb::DB::Open(db_opts, dir, descriptors, handles, db);

  const std::string lock_file = dir + "/LOCK";
  if (env->FileExists(lock_file).ok()) {
    rocksdb::Status s = env->LockFile(lock_file, lock);
    if (!s.ok()) return s;
  }
  db_opts.info_log = std::make_shared<DiscardingLogger>();
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(db_opts, dir, descriptors, handles, db);
  if (!s.ok() && *lock != nullptr) {
    env->UnlockFile(*lock).PermitUncheckedError();
    *lock = nullptr;
  }
  return s;
}

}  // namespace

StatusOr<std::unique_ptr<RocksDbRegisterStore>> RocksDbRegisterStore::Open(
    const std::string& dir, const RocksDbOptions& opts) {
  if (opts.read_only && opts.create_if_missing) {
    return Status::InvalidArgument(dir + ": a read-only open cannot create a store");
  }
  const fs::path path(dir);
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Status::Internal(dir + ": cannot inspect the directory: " + ec.message());
  }
  if (!fs::exists(st)) {
    if (!opts.create_if_missing) {
      return Status::NotFound(dir + ": no token store here (missing directory)");
    }
    fs::create_directories(path, ec);
    if (ec) return Status::Internal(dir + ": cannot create the directory: " + ec.message());
  } else if (!fs::is_directory(st)) {
    return Status::FailedPrecondition(dir + ": not a token store (not a directory)");
  }

  // Decide between "create" and "open existing" before RocksDB sees the directory, so
  // that RocksDB never creates a database next to unrelated files.
  bool create = false;
  if (!fs::exists(path / "CURRENT", ec)) {
    StatusOr<std::vector<std::string>> names = ListDir(dir);
    if (!names.ok()) return names.status();
    if (!std::all_of(names->begin(), names->end(), IsCreationLeftover)) {
      // RocksDB writes the OPTIONS file only after CURRENT: one naming our column families
      // means a token store that lost its CURRENT, damage to report rather than a stranger.
      if (OptionsFileNamesOurFamilies(dir, opts.env_for_tests)) {
        return Status::DataLoss(dir +
                                ": the database is damaged: its CURRENT file is missing, but "
                                "its OPTIONS file is a token store's (files: " +
                                SomeNames(*names) + ")");
      }
      return Status::FailedPrecondition(
          dir + ": not a token store (the directory holds files but no RocksDB database: " +
          SomeNames(*names) + ")");
    }
    if (!opts.create_if_missing) {
      return Status::NotFound(
          dir + ": no token store here (" +
          (names->empty() ? std::string("empty directory")
                          : "only the leftovers of an interrupted creation: " + SomeNames(*names)) +
          ")");
    }
    create = true;
  } else {
    std::vector<std::string> families;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(
        RegisterStoreDbOptions(false, opts.env_for_tests), dir, &families);
    if (!s.ok()) return FromRocks(s, dir, "cannot read the database");
    std::sort(families.begin(), families.end());
    const std::vector<std::string> expected = {rocksdb::kDefaultColumnFamilyName, kMetaCf,
                                               kRegistersCf};
    if (families != expected) {
      std::string found;
      for (const std::string& f : families) found += (found.empty() ? "" : ", ") + f;
      if (OptionsFileNamesOurFamilies(dir, opts.env_for_tests)) {
        return Status::DataLoss(dir +
                                ": the database is damaged: its MANIFEST lists column "
                                "families " +
                                found +
                                ", but its OPTIONS file is a token store's (a truncated or "
                                "corrupt MANIFEST?)");
      }
      return Status::FailedPrecondition(
          dir + ": not a token store (a RocksDB database with column families " + found +
          "; a token store has default, meta, registers)");
    }
  }

  rocksdb::Env* const env = opts.env_for_tests ? opts.env_for_tests : rocksdb::Env::Default();
  rocksdb::FileLock* lock = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = OpenDb(dir, opts, create, env, &lock, &handles, &db);
  if (!s.ok()) {
    return FromRocks(s, dir, create ? "cannot create the database" : "cannot open the database");
  }
  std::unique_ptr<RocksDbRegisterStore> store(
      new RocksDbRegisterStore(dir, opts, env, lock, db, std::move(handles)));

  // The schema version gates everything else: check it before decoding any record.
  std::string version;
  s = db->Get(rocksdb::ReadOptions(), store->meta_cf_, kSchemaVersionKey, &version);
  if (s.IsNotFound()) {
    // A new store, or one whose creation was cut short after RocksDB made the column
    // families but before our first batch: with no data at all there is nothing to lose
    // by (re)initializing it. A store with data but no version is not ours to touch.
    std::unique_ptr<rocksdb::Iterator> reg_it(db->NewIterator({}, store->registers_cf_));
    std::unique_ptr<rocksdb::Iterator> meta_it(db->NewIterator({}, store->meta_cf_));
    reg_it->SeekToFirst();
    meta_it->SeekToFirst();
    if (!reg_it->status().ok()) return FromRocks(reg_it->status(), dir, "cannot read");
    if (!meta_it->status().ok()) return FromRocks(meta_it->status(), dir, "cannot read");
    if (reg_it->Valid() || meta_it->Valid()) {
      return Status::FailedPrecondition(dir +
                                        " holds no schema version; this build reads version " +
                                        std::to_string(kSchemaVersion));
    }
    if (!opts.create_if_missing) {
      return Status::NotFound(dir +
                              ": no token store here (an empty database without a schema "
                              "version: its creation was interrupted)");
    }
    // Everything a new store starts with goes into this one batch, so a store on disk
    // either has its schema version or is empty.
    rocksdb::WriteBatch batch;
    batch.Put(store->meta_cf_, kSchemaVersionKey, std::to_string(kSchemaVersion));
    TOKENSTORE_RETURN_IF_ERROR(store->Write(&batch));
  } else if (!s.ok()) {
    return FromRocks(s, dir, "cannot read the schema version");
  } else {
    int v = 0;
    const char* end = version.data() + version.size();
    auto [ptr, err] = std::from_chars(version.data(), end, v);
    if (err != std::errc() || ptr != end || version.empty()) {
      return Status::DataLoss(dir + ": unreadable schema version '" + Printable(version) + "'");
    }
    if (v != kSchemaVersion) {
      return Status::FailedPrecondition(dir + " holds schema version " + std::to_string(v) +
                                        "; this build reads version " +
                                        std::to_string(kSchemaVersion));
    }
  }

  TOKENSTORE_RETURN_IF_ERROR(store->Load());
  return store;
}

RocksDbRegisterStore::RocksDbRegisterStore(std::string dir, const RocksDbOptions& opts,
                                           rocksdb::Env* env, rocksdb::FileLock* dir_lock,
                                           rocksdb::DB* db,
                                           std::vector<rocksdb::ColumnFamilyHandle*> handles)
    : dir_(std::move(dir)),
      sync_(!opts.unsafe_no_sync_for_tests),
      read_only_(opts.read_only),
      env_(env),
      dir_lock_(dir_lock),
      db_(db),
      handles_(std::move(handles)),
      registers_cf_(handles_.at(1)),
      meta_cf_(handles_.at(2)) {}

RocksDbRegisterStore::~RocksDbRegisterStore() {
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    db_->DestroyColumnFamilyHandle(h);
  }
  // Every acknowledged write is already synced; Close only releases files and the LOCK.
  db_->Close().PermitUncheckedError();
  delete db_;
  if (dir_lock_ != nullptr) env_->UnlockFile(dir_lock_).PermitUncheckedError();
}

Status RocksDbRegisterStore::Load() {
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = false;  // read once; the memory copy is the cache

  std::map<std::string, Register, std::less<>> registers;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, registers_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    StatusOr<Register> reg =
        DecodeRegister(std::string_view(it->value().data(), it->value().size()));
    if (!reg.ok()) {
      return Status::DataLoss(dir_ + ": register of token '" + Printable(it->key().ToStringView()) +
                              "': " + reg.status().message());
    }
    registers.emplace_hint(registers.end(), it->key().ToString(), std::move(reg).value());
  }
  if (!it->status().ok()) return FromRocks(it->status(), dir_, "cannot read the registers");

  std::map<std::string, uint64_t, std::less<>> reserved;
  std::set<std::string, std::less<>> crashed;
  std::map<std::string, std::string, std::less<>> node_records;
  it.reset(db_->NewIterator(ro, meta_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    const std::string_view value = it->value().ToStringView();
    if (key == kSchemaVersionKey) continue;  // checked by Open
    if (key.starts_with(kReservedPrefix)) {
      StatusOr<uint64_t> upto = DecodeReservation(value);
      if (!upto.ok()) {
        return Status::DataLoss(dir_ + ": meta key '" + Printable(key) +
                                "': " + upto.status().message());
      }
      reserved.emplace(std::string(key.substr(kReservedPrefix.size())), *upto);
    } else if (key.starts_with(kCrashedPrefix)) {
      if (!value.empty()) {
        return Status::DataLoss(dir_ + ": meta key '" + Printable(key) + "' holds " +
                                std::to_string(value.size()) + " bytes, expected none");
      }
      crashed.emplace(key.substr(kCrashedPrefix.size()));
    } else if (key.starts_with(kNodePrefix)) {
      node_records.emplace(std::string(key.substr(kNodePrefix.size())), std::string(value));
    } else {
      // There are no other keys; one we do not understand means the data is
      // not what this build thinks it is, so refuse rather than ignore it.
      return Status::DataLoss(dir_ + ": unexpected meta key '" + Printable(key) + "'");
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), dir_, "cannot read the metadata");

  WriterMutexLock lock(&mu_);
  registers_ = std::move(registers);
  reserved_ = std::move(reserved);
  crashed_ = std::move(crashed);
  node_records_ = std::move(node_records);
  return Status::Ok();
}

Status RocksDbRegisterStore::Write(rocksdb::WriteBatch* batch) {
  rocksdb::WriteOptions wo;
  wo.sync = sync_;  // the durability contract: OK means fsync'ed
  const auto start = std::chrono::steady_clock::now();
  rocksdb::Status s = db_->Write(wo, batch);
  sync_latency_.Record(std::chrono::steady_clock::now() - start);
  if (s.ok()) return Status::Ok();
  Status err = FromRocks(s, dir_, "write failed");
  // The batch may or may not be on disk now, so memory can no longer be trusted to match
  // it. Refuse later writes: a store-if-newer comparing against stale memory could
  // otherwise overwrite a newer register on disk. Reopening reloads the truth.
  WriterMutexLock lock(&mu_);
  if (write_error_.ok()) write_error_ = err;
  return err;
}

Status RocksDbRegisterStore::CheckWritable() {
  if (read_only_) return Status::FailedPrecondition(dir_ + ": the store was opened read-only");
  ReaderMutexLock lock(&mu_);
  if (write_error_.ok()) return Status::Ok();
  return Status::FailedPrecondition(dir_ +
                                    ": refusing writes after an earlier write error (reopen "
                                    "the store): " +
                                    write_error_.message());
}

size_t RocksDbRegisterStore::StripeIndexOf(std::string_view token) {
  return std::hash<std::string_view>{}(token) & (kTokenStripes - 1);
}

std::mutex& RocksDbRegisterStore::StripeOf(std::string_view token) {
  return stripes_[StripeIndexOf(token)];
}

StatusOr<Register> RocksDbRegisterStore::Get(std::string_view token) {
  ReaderMutexLock lock(&mu_);
  auto it = registers_.find(token);
  if (it == registers_.end()) return Register{};
  return it->second;
}

// Concurrency and durability. The compare ("is reg newer than what is held?"), the synced
// write and the memory update run under the mutex of the token's stripe, so for one
// token they happen one call at a time and the stored ts can only grow, on disk and in
// memory alike, whatever order concurrent calls finish in. Calls for tokens in other
// stripes do not wait for this one's fsync: they enter RocksDB's write path concurrently,
// and RocksDB group-commits concurrent synced writes into one WAL append and one fsync.
//
// Why not a max-ts merge operator instead: StoreIfNewer must answer with the ts held
// after the call, which a blind merge cannot tell without a read that races with other
// merges; a stale store would still cost a WAL record and an fsync instead of nothing;
// the memory copy would need the same compare under a lock anyway; and a corrupt operand
// would surface inside compaction instead of at this edge. Serializing one token is no
// loss: the outcome of a store depends on the store before it.
StatusOr<Stamp> RocksDbRegisterStore::StoreIfNewer(std::string_view token, const Register& reg) {
  TOKENSTORE_RETURN_IF_ERROR(CheckEncodable(reg));
  std::lock_guard<std::mutex> stripe(StripeOf(token));
  {
    ReaderMutexLock lock(&mu_);
    auto it = registers_.find(token);
    const Stamp held = it == registers_.end() ? Stamp{} : it->second.stamp();
    if (reg.stamp() <= held) return held;  // not newer: nothing to write
  }
  TOKENSTORE_RETURN_IF_ERROR(CheckWritable());
  Register canonical = CanonicalRegister(reg);
  rocksdb::WriteBatch batch;
  batch.Put(registers_cf_, rocksdb::Slice(token.data(), token.size()), EncodeRegister(canonical));
  TOKENSTORE_RETURN_IF_ERROR(Write(&batch));

  WriterMutexLock lock(&mu_);
  auto it = registers_.find(token);
  // The stripe kept the held stamp from moving since the compare above.
  TS_CHECK(it == registers_.end() || it->second.stamp() < canonical.stamp(),
           "StoreIfNewer would lower the stored stamp of a token");
  if (it == registers_.end()) {
    registers_.emplace(std::string(token), std::move(canonical));
  } else {
    it->second = std::move(canonical);
  }
  return reg.stamp();
}

// The batch form of StoreIfNewer, under the same rule: the stripes of all its tokens are
// held across the compare, the one synced write and the memory update. They are taken in
// index order, so batches and single stores never wait for each other in a cycle.
std::vector<StatusOr<Stamp>> RocksDbRegisterStore::StoreIfNewerBatch(
    std::span<const StoreItem> items) {
  std::vector<StatusOr<Stamp>> results;
  results.reserve(items.size());
  std::vector<size_t> stripes;
  stripes.reserve(items.size());
  for (const StoreItem& item : items) {
    Status st = CheckEncodable(item.reg);
    results.push_back(st.ok() ? StatusOr<Stamp>(Stamp{}) : StatusOr<Stamp>(st));
    if (st.ok()) stripes.push_back(StripeIndexOf(item.token));
  }
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(stripes.size());
  for (size_t s : stripes) locks.emplace_back(stripes_[s]);

  // The newest register of the batch for each token it makes newer.
  std::map<std::string_view, const Register*> newest;
  {
    ReaderMutexLock lock(&mu_);
    for (size_t i = 0; i < items.size(); ++i) {
      if (!results[i].ok()) continue;
      const StoreItem& item = items[i];
      auto it = registers_.find(item.token);
      const Stamp held = it == registers_.end() ? Stamp{} : it->second.stamp();
      if (item.reg.stamp() <= held) continue;
      const Register*& best = newest[item.token];
      if (best == nullptr || IsNewer(item.reg, *best)) best = &item.reg;
    }
  }
  if (!newest.empty()) {
    Status st = CheckWritable();
    std::vector<std::pair<std::string_view, Register>> canonical;
    if (st.ok()) {
      canonical.reserve(newest.size());
      rocksdb::WriteBatch batch;
      for (const auto& [token, reg] : newest) {
        canonical.emplace_back(token, CanonicalRegister(*reg));
        batch.Put(registers_cf_, rocksdb::Slice(token.data(), token.size()),
                  EncodeRegister(canonical.back().second));
      }
      st = Write(&batch);
    }
    if (!st.ok()) {
      for (size_t i = 0; i < items.size(); ++i) {
        if (results[i].ok() && newest.contains(items[i].token)) results[i] = st;
      }
    } else {
      WriterMutexLock lock(&mu_);
      for (auto& [token, reg] : canonical) {
        auto it = registers_.find(token);
        TS_CHECK(it == registers_.end() || it->second.stamp() < reg.stamp(),
                 "StoreIfNewerBatch would lower the stored stamp of a token");
        if (it == registers_.end()) {
          registers_.emplace(std::string(token), std::move(reg));
        } else {
          it->second = std::move(reg);
        }
      }
    }
  }
  // Every result is the stamp held after the batch (the stripes keep it from moving meanwhile).
  ReaderMutexLock lock(&mu_);
  for (size_t i = 0; i < items.size(); ++i) {
    if (!results[i].ok()) continue;
    auto it = registers_.find(items[i].token);
    results[i] = it == registers_.end() ? Stamp{} : it->second.stamp();
  }
  return results;
}

StatusOr<std::vector<std::pair<std::string, Register>>> RocksDbRegisterStore::Scan() {
  ReaderMutexLock lock(&mu_);
  return std::vector<std::pair<std::string, Register>>(registers_.begin(), registers_.end());
}

StatusOr<uint64_t> RocksDbRegisterStore::GetReservedTimestamp(std::string_view token) {
  ReaderMutexLock lock(&mu_);
  auto it = reserved_.find(token);
  return it == reserved_.end() ? uint64_t{0} : it->second;
}

StatusOr<std::vector<std::pair<std::string, uint64_t>>> RocksDbRegisterStore::ScanReservations() {
  ReaderMutexLock lock(&mu_);
  return std::vector<std::pair<std::string, uint64_t>>(reserved_.begin(), reserved_.end());
}

// Same locking as StoreIfNewer, for the same reason: the reservation never goes down.
Status RocksDbRegisterStore::ReserveTimestamps(std::string_view token, uint64_t upto) {
  std::lock_guard<std::mutex> stripe(StripeOf(token));
  {
    ReaderMutexLock lock(&mu_);
    auto it = reserved_.find(token);
    if (upto <= (it == reserved_.end() ? 0 : it->second)) return Status::Ok();
  }
  TOKENSTORE_RETURN_IF_ERROR(CheckWritable());
  rocksdb::WriteBatch batch;
  batch.Put(meta_cf_, ReservedKey(token), EncodeReservation(upto));
  TOKENSTORE_RETURN_IF_ERROR(Write(&batch));

  WriterMutexLock lock(&mu_);
  reserved_.insert_or_assign(std::string(token), upto);
  return Status::Ok();
}

// The stripe keeps memory and disk in the same order when a set and a clear race.
Status RocksDbRegisterStore::SetCrashed(std::string_view token, bool crashed) {
  std::lock_guard<std::mutex> stripe(StripeOf(token));
  {
    ReaderMutexLock lock(&mu_);
    if (crashed_.contains(token) == crashed) return Status::Ok();  // already durable
  }
  TOKENSTORE_RETURN_IF_ERROR(CheckWritable());
  rocksdb::WriteBatch batch;
  if (crashed) {
    batch.Put(meta_cf_, CrashedKey(token), rocksdb::Slice());
  } else {
    batch.Delete(meta_cf_, CrashedKey(token));
  }
  TOKENSTORE_RETURN_IF_ERROR(Write(&batch));

  WriterMutexLock lock(&mu_);
  if (crashed) {
    crashed_.emplace(token);
  } else if (auto it = crashed_.find(token); it != crashed_.end()) {
    crashed_.erase(it);
  }
  return Status::Ok();
}

StatusOr<std::vector<std::string>> RocksDbRegisterStore::CrashedTokens() {
  ReaderMutexLock lock(&mu_);
  return std::vector<std::string>(crashed_.begin(), crashed_.end());
}

StatusOr<std::optional<std::string>> RocksDbRegisterStore::GetNodeRecord(std::string_view name) {
  ReaderMutexLock lock(&mu_);
  auto it = node_records_.find(name);
  if (it == node_records_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

// Rare (a node's start, a peer's Hello): one lock for all of them keeps memory and disk in
// the same order.
Status RocksDbRegisterStore::PutNodeRecord(std::string_view name, std::string_view bytes) {
  MutexLock serial(&node_records_mu_);
  TOKENSTORE_RETURN_IF_ERROR(CheckWritable());
  rocksdb::WriteBatch batch;
  batch.Put(meta_cf_, std::string(kNodePrefix) + std::string(name),
            rocksdb::Slice(bytes.data(), bytes.size()));
  TOKENSTORE_RETURN_IF_ERROR(Write(&batch));
  WriterMutexLock lock(&mu_);
  node_records_.insert_or_assign(std::string(name), std::string(bytes));
  return Status::Ok();
}

StatusOr<std::vector<std::pair<std::string, std::string>>> RocksDbRegisterStore::ScanNodeRecords(
    std::string_view prefix) {
  ReaderMutexLock lock(&mu_);
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = node_records_.lower_bound(prefix);
       it != node_records_.end() && it->first.starts_with(prefix); ++it) {
    out.emplace_back(it->first, it->second);
  }
  return out;
}

}  // namespace tokenstore
