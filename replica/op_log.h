// The structured line a replica prints after each completed client operation (SPEC section
// 3): the operation, its outcome, the token's full state as this node now knows it, and the
// number of tokens the node keeps ("tokens":N; not their ids, so the line stays short on a
// node with a million tokens). One JSON object per line on stdout. The token's 64-bit
// integers (ts, low, mid, high, partial, partial_x, final, final_x) are decimal strings, as in
// token-client --json; time_ms, millis and tokens stay numbers (far below 2^53).
//
// Thread-safety: safe for concurrent use; lines never interleave.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

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
  // `token_count`: how many tokens the node keeps. `out` is stdout but in tests.
  OpLog(bool enabled, std::string node, size_t token_count, std::FILE* out = stdout);
  void Record(const OpRecord& r);
  bool enabled() const { return enabled_; }

 private:
  const bool enabled_;
  const std::string node_;
  const uint64_t token_count_;
  std::FILE* const out_;
};

}  // namespace tokenstore
