// Registers for the storage tests. Test code only.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "common/token_value.h"

namespace tokenstore {

// A defined register at `ts` named `name`, with a domain and (when has_partial) a partial
// derived from ts, so that two registers of one token differ in more than their ts.
inline Register Defined(uint64_t ts, std::string name, bool has_partial = true) {
  Register r;
  r.ts = ts;
  r.value.kind = ValueKind::kDefined;
  r.value.name = std::move(name);
  r.value.low = 10;
  r.value.mid = 15;
  r.value.high = 20;
  r.value.has_partial = has_partial;
  if (has_partial) {
    r.value.partial = 0x1234567890abcdefULL ^ ts;
    r.value.partial_x = 12;
  }
  return r;
}

// The tombstone a drop writes at `ts`.
inline Register Dropped(uint64_t ts) {
  Register r;
  r.ts = ts;
  r.value.kind = ValueKind::kDropped;
  return r;
}

// The undefined register a create writes at `ts`.
inline Register Created(uint64_t ts) {
  Register r;
  r.ts = ts;
  r.value.kind = ValueKind::kUndefined;
  return r;
}

}  // namespace tokenstore
