// The RocksDB options of the register store (storage/rocksdb_register_store.h), in one place
// so that whatever measures RocksDB on the store's behalf (token-bench floor) opens it the
// same way the store does.
//
// Thread-safety: free functions returning values.
#pragma once

#include "rocksdb/env.h"
#include "rocksdb/options.h"

namespace tokenstore {

// Database options. `create`: create the database and its column families (only for an
// empty or new directory; the database must not exist yet). `env`: the Env for all file I/O,
// nullptr for RocksDB's default.
rocksdb::DBOptions RegisterStoreDbOptions(bool create, rocksdb::Env* env);

// Options of every column family (default, registers, meta).
rocksdb::ColumnFamilyOptions RegisterStoreCfOptions();

}  // namespace tokenstore
