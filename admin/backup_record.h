// One line of a backup file (token-admin backup and restore): a token's state as an atomic
// read saw it. One JSON object per line, 64-bit integers as decimal strings (SPEC section 8):
//
//   {"id":"1","state":"defined","ts":"3","name":"abc","low":"5","mid":"25","high":"100",
//    "partial":"902613196918738813","partial_x":"15","final":"60570345165277511","final_x":"70"}
//   {"id":"2","state":"undefined","ts":"0","name":null,...,"final_x":null}
//   {"id":"3","state":"dropped","ts":null,"name":null,...}
//
// Every key is always present; a value the state does not have is null (partial and
// partial_x are null also for a defined token with low == mid). A dropped token's ts is null:
// a read of a dropped token answers NOT_FOUND and carries no timestamp. Names are bytes: each
// byte >= 0x80 is written as \u00XX (common/json.h) and read back as that byte.
// ParseBackupLine accepts exactly this form: unknown keys, numbers where strings belong and
// values that contradict each other (low > mid, partial on an undefined token) are errors.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "client/token_client.h"
#include "common/status.h"
#include "common/token_value.h"

namespace tokenstore {

struct BackupRecord {
  std::string id;
  ValueKind state = ValueKind::kUndefined;
  std::optional<uint64_t> ts;  // absent only for dropped tokens
  // Meaningful only when state == kDefined.
  std::string name;
  uint64_t low = 0;
  uint64_t mid = 0;
  uint64_t high = 0;
  std::optional<uint64_t> partial;  // absent when low == mid
  uint64_t partial_x = 0;
  std::optional<uint64_t> final;
  uint64_t final_x = 0;
  int line = 0;  // where ParseBackupLine found it (1-based); 0 otherwise

  friend bool operator==(const BackupRecord&, const BackupRecord&) = default;
};

// One JSON object, without a newline.
std::string FormatBackupLine(const BackupRecord& record);

// Parses line `line_number` of `source`; INVALID_ARGUMENT "SOURCE:LINE: problem" otherwise.
StatusOr<BackupRecord> ParseBackupLine(std::string_view text, const std::string& source,
                                       int line_number);

// The state one TokenClient::Read reported for token `id`: a record for a defined or undefined
// value, a dropped record for the NOT_FOUND of a dropped token, and `read`'s error otherwise
// (among them the NOT_FOUND of a node that lacks the token in its configuration).
StatusOr<BackupRecord> RecordFromRead(std::string_view id, const StatusOr<ReadResult>& read);

// Whether a failed read means "the token is dropped". The wire has no marker for it: a
// dropped token answers NOT_FOUND "... was dropped; create it to use it again"
// (replica/replica_core.cc FinishRead), a token missing from a node's configuration NOT_FOUND
// "... is not in the replication scheme". This is the one place that tells them apart.
bool IsDroppedRead(const Status& status);

}  // namespace tokenstore
