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

}  // namespace tokenstore
