// Validation of what a replica receives, before any work is done for it: the arguments of a
// client write, a token id, and a register a peer asks this node to store.
//
// These are pure functions of the request and the node's limits, so the fuzzers
// (fuzz/fuzz_request_validation) and unit tests call them without a server. Every refusal
// is INVALID_ARGUMENT with a message that names the field and the limit.
//
// Thread-safety: pure functions; safe to call concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/token_value.h"

namespace tokenstore {

// The size limits of one request. Every node of a cluster should use the same values: a
// register the writer accepted is refused by a reader with a smaller limit.
struct RequestLimits {
  size_t max_id_bytes = kMaxTokenIdBytes;  // token ids (the configuration allows no longer)
  size_t max_name_bytes = 1024;            // token names
  uint64_t max_range = 100'000'000;        // high - low of one write (values hashed)
};

// What a client's write asks for (SPEC section 3).
struct WriteArgs {
  std::string id;
  std::string name;
  uint64_t low = 0;
  uint64_t mid = 0;
  uint64_t high = 0;
};

// A token id as a request carries it (`field` names it in the message: "id", "token").
// Non-empty and at most max_id_bytes; whether the token exists is the caller's question.
Status ValidateTokenId(std::string_view field, std::string_view id, const RequestLimits& limits);

// A write's id, name and domain: low <= mid < high, high - low <= max_range.
Status ValidateWriteArgs(const WriteArgs& args, const RequestLimits& limits);

// A register a peer asks this node to store: a defined value has a name within the limit, a
// domain low <= mid < high, a partial exactly when low < mid, and partial_x in [low, mid).
// The range limit is not applied: it bounds the hashing a writer does, and the register was
// hashed already.
Status ValidateRegister(const Register& reg, const RequestLimits& limits);

}  // namespace tokenstore
