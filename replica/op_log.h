// The structured line a replica prints after each completed client operation (SPEC section
// 3): the operation, its outcome, the token's full state as this node now knows it, and the
// ids of every token the node keeps. One JSON object per line on stdout.
//
// Thread-safety: safe for concurrent use; lines never interleave.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/token_value.h"
#include "hash/token_hash.h"

namespace tokenstore {

struct OpRecord {
  std::string op;  // "write", "read", "create", "drop"
  std::string token;
  Status status;
  uint64_t ts = 0;
  std::optional<TokenValue> value;   // the token's value after the operation, when known
  std::optional<HashMin> final_min;  // for reads of a defined token
  bool fast_path = false;
  double millis = 0;
};

class OpLog {
 public:
  OpLog(bool enabled, std::string node, std::vector<std::string> token_ids);
  void Record(const OpRecord& r);
  bool enabled() const { return enabled_; }

 private:
  const bool enabled_;
  const std::string node_;
  const std::vector<std::string> token_ids_;
};

}  // namespace tokenstore
