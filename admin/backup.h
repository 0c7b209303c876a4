// token-admin backup: every token of a configuration, read atomically through its readers,
// into a JSON Lines file (admin/backup_record.h), written atomically.
//
// Thread-safety: BackupTokens runs its own threads; call it from one thread.
#pragma once

#include <string>
#include <vector>

#include "admin/bulk.h"
#include "client/token_client.h"
#include "common/status.h"
#include "config/cluster_config.h"

namespace tokenstore {

struct BackupSummary {
  size_t tokens = 0;  // in the configuration
  size_t written = 0;
  // One per token that could not be read, in configuration order: "token \"7\": STATUS".
  std::vector<std::string> failures;
};

// Reads every token of `config` with client.Read (one reader, failover on timeout) and writes
// one line per token, in configuration order, to a temporary file beside `out_path`
// (mode 0600), synced. Only when every token was read is it renamed to `out_path`; otherwise
// it is removed, `out_path` is left as it was and `failures` names every token that failed.
// A Status error means the file could not be written (nothing is left behind then either).
StatusOr<BackupSummary> BackupTokens(TokenClient& client, const ClusterConfig& config,
                                     const std::string& out_path, const BulkOptions& options);

}  // namespace tokenstore
