// token-admin restore: writes the tokens of a backup file (admin/backup_record.h) back through
// each token's writer. The way to move data between clusters or onto a changed replica set:
// the values come back, their timestamps do not (the target's writers issue new ones).
//
// Thread-safety: RestoreTokens runs its own threads; call it from one thread.
#pragma once

#include <string>
#include <vector>

#include "admin/backup_record.h"
#include "admin/bulk.h"
#include "client/token_client.h"
#include "common/status.h"
#include "config/cluster_config.h"

namespace tokenstore {

// Reads and checks the whole file before anything is written: every line a backup record, no
// id twice, every id a token of `config`. INVALID_ARGUMENT listing the problems, one per line
// as "FILE:LINE: problem" (the first 20, then how many more), or the records in file order.
StatusOr<std::vector<BackupRecord>> LoadBackupFile(const std::string& path,
                                                   const ClusterConfig& config);

struct RestoreSummary {
  size_t total = 0;
  size_t restored = 0;
  size_t skipped = 0;  // not undefined when read, and no --force
  // One per token that failed, in file order: "FILE:LINE: token \"7\": problem". A restored
  // value whose recomputed partial differs from the backup's is written and counted here.
  std::vector<std::string> failures;
};

// For each record: reads the token's current state; unless `force`, a token that is not
// undefined is skipped. Then a defined record is written (write(name, low, mid, high), after a
// create when the token is dropped), a dropped one dropped, an undefined one created.
// `source` names the file in failures.
RestoreSummary RestoreTokens(TokenClient& client, const std::vector<BackupRecord>& records,
                             const std::string& source, bool force, const BulkOptions& options);

}  // namespace tokenstore
