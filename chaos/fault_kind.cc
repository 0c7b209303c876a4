// Fault kinds by name (see fault_kind.h).
#include "chaos/fault_kind.h"

namespace tokenstore::chaos {

const char* FaultKindName(FaultKind k) {
  switch (k) {
    case FaultKind::kCrashStop:
      return "crash-stop";
    case FaultKind::kKill:
      return "kill";
    case FaultKind::kPause:
      return "pause";
    case FaultKind::kPartition:
      return "partition";
    case FaultKind::kWipe:
      return "wipe";
    case FaultKind::kRestore:
      return "restore";
    case FaultKind::kReconfigure:
      return "reconfigure";
  }
  return "?";
}

std::optional<FaultKind> ParseFaultKind(std::string_view name) {
  for (FaultKind k : kAllFaultKinds) {
    if (name == FaultKindName(k)) return k;
  }
  return std::nullopt;
}

}  // namespace tokenstore::chaos
