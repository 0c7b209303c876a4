#include "common/token_value.h"

namespace tokenstore {

const char* ValueKindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kUndefined: return "undefined";
    case ValueKind::kDefined: return "defined";
    case ValueKind::kDropped: return "dropped";
  }
  return "unknown";
}

std::string StampString(const Stamp& s) {
  static const char kHex[] = "0123456789abcdef";
  std::string origin;
  for (int shift = 60; shift >= 0; shift -= 4) origin.push_back(kHex[(s.origin >> shift) & 0xf]);
  return std::to_string(s.ts) + "/" + origin;
}

}  // namespace tokenstore
