// token-client batch: many operations from one process over one session stream per node
// (client/node_transport.h), for scripts that would otherwise start a process per operation.
//
// Input, one operation per line (blank lines and lines starting with # are skipped):
//   write ID NAME LOW MID HIGH
//   read ID
//   create ID
//   drop ID
// Output, one JSON object per operation, in the order they complete (not the input order):
// the same object `token-client --json` prints, with "line" (the input line's number) first;
// a failed operation gives {"line":N,"op":...,"id":...,"error":{"code":"NOT_FOUND",
// "message":...}}, a malformed line the same with code INVALID_ARGUMENT.
//
// Up to `parallel` operations are in flight at once, so operations of one batch are
// concurrent: a read may run before, during or after a write that precedes it in the input.
// With parallel = 1 they run one after another, in input order.
//
// Thread-safety: RunBatch runs its own threads; call it from one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "client/token_client.h"
#include "common/client_op.h"
#include "common/status.h"

namespace tokenstore {

struct BatchOp {
  size_t line = 0;
  ClientOp op = ClientOp::kRead;
  std::string id;
  std::string name;  // write only
  uint64_t low = 0, mid = 0, high = 0;
};

// nullopt for a line to skip (blank or comment); INVALID_ARGUMENT saying what is wrong.
StatusOr<std::optional<BatchOp>> ParseBatchLine(std::string_view text, size_t line);

struct BatchCounts {
  size_t ok = 0;
  size_t failed = 0;  // malformed lines included
};

// Runs every line of `in` through `client`, writing one JSON line per operation to `out`.
BatchCounts RunBatch(TokenClient& client, std::istream& in, std::ostream& out, int parallel);

}  // namespace tokenstore
