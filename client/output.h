// How token-client prints results: readable lines, or one JSON object per result (--json).
// Pure functions of the results, so the formats are tested without a cluster.
//
// JSON fields (one object on one line; undefined values are null). 64-bit integers (ts, low,
// mid, high, partial, partial_x, final, final_x) are decimal strings, as in protobuf's JSON
// mapping (SPEC section 8): jq 1.6 would round 60570345165277511 to 60570345165277510.
//   write:  op, id, ts, partial, partial_x, node
//   read:   op, id, ts, defined, name, low, mid, high, partial, partial_x, final, final_x,
//           fast_path, node
//   create, drop: op, id, ts, node
//
// Thread-safety: stateless functions.
#pragma once

#include <string>

#include "client/token_client.h"

namespace tokenstore {

std::string FormatWrite(const WriteResult& r, bool json);
std::string FormatRead(const ReadResult& r, bool json);
// `op` is "create" or "drop".
std::string FormatAck(const std::string& op, const AckResult& r, bool json);

}  // namespace tokenstore
