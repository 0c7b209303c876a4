#include "storage/rocksdb_options.h"

#include <memory>

#include "rocksdb/memtablerep.h"

namespace tokenstore {

rocksdb::DBOptions RegisterStoreDbOptions(bool create, rocksdb::Env* env) {
  rocksdb::DBOptions o;
  if (env != nullptr) o.env = env;
  // Create the database and its column families only when Open found an empty or new
  // directory; otherwise a missing piece is an error, never a silent fresh start.
  o.create_if_missing = create;
  o.create_missing_column_families = create;
  o.error_if_exists = create;
  o.paranoid_checks = true;
  // After kill -9 or power loss the WAL may end in a torn record, which was never
  // acknowledged (acks follow the fsync), so dropping it is right. Anything else is real
  // damage: the default kPointInTimeRecovery would silently stop replay at a corrupt
  // record in the middle of the WAL and lose the acknowledged writes after it, while
  // this mode refuses to open (DATA_LOSS) instead.
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // A register store is a few SST files; a bound keeps the replica's descriptor use
  // predictable next to its sockets, and is still far above what the store needs.
  o.max_open_files = 64;
  o.max_background_jobs = 2;
  // Two column families share the WAL; "meta" is written rarely, so bound the WAL so
  // its memtable is flushed and old logs can go.
  o.max_total_wal_size = 64 << 20;
  // No periodic statistics: the store is small and the dumps are only noise.
  o.stats_dump_period_sec = 0;
  o.stats_persist_period_sec = 0;
  // RocksDB's own LOG file stays in the directory (useful after an incident), bounded.
  o.max_log_file_size = 1 << 20;
  o.keep_log_file_num = 4;
  // The vector memtable (RegisterStoreCfOptions) does not take concurrent inserts; RocksDB's
  // write group inserts one batch after another instead.
  o.allow_concurrent_memtable_write = false;
  return o;
}

rocksdb::ColumnFamilyOptions RegisterStoreCfOptions() {
  rocksdb::ColumnFamilyOptions o;
  // Reads are served from memory, RocksDB is only read at Open: small memtables suffice.
  o.write_buffer_size = 4 << 20;
  o.max_write_buffer_number = 2;
  // Nothing reads the memtable while the store runs (reads are served from memory; RocksDB
  // is read only by Open), so an append-only vector, sorted once when it is flushed, beats a
  // skiplist that sorts on every insert: the skiplist insert was most of RocksDB's share of
  // a replica's CPU per Store. It takes one writer at a time (see RegisterStoreDbOptions).
  o.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
  return o;
}

}  // namespace tokenstore
