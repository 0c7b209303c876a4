// The offline dump: the registers and metadata in a stopped replica's data directory.
//
// The store is opened read-only and with create_if_missing=false: a mistyped path is an
// error and never a new empty store, and no file of the directory changes (not even
// RocksDB's LOG), so dumping a damaged node's only copy leaves it as it was. A directory held
// by a running replica is refused (the dump takes RocksDB's LOCK); its live state is what
// `token-admin dump --node` shows.
//
// Thread-safety: a free function; do not run it on a directory another thread has open.
#pragma once

#include <string>

#include "admin/admin_client.h"
#include "common/status.h"

namespace tokenstore {

// Every register stored in `dir`, and every token with a crash-stop mark, sorted by token.
// Errors name the directory: NOT_FOUND (no store there), FAILED_PRECONDITION (in use by a
// running token-replica, or not a token store), DATA_LOSS (damaged).
StatusOr<NodeDump> DumpDataDir(const std::string& dir);

}  // namespace tokenstore
