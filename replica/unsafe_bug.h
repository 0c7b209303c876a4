// Deliberate protocol breaks, for showing that the fault tests and the simulator can fail
// (never for use). Selected by a hidden `--unsafe-bug NAME` of token-replica and token-sim.
//
// Thread-safety: pure values and functions.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace tokenstore {

enum class UnsafeBug {
  kNone,
  kSkipWriteBack,   // reads return the highest register of a majority without imposing it
  kReadLocal,       // reads return this node's own register without asking anyone
  kSkipRebuild,     // an empty or restored data dir serves at once (LifecycleOptions)
  kReuseTimestamp,  // after a restart the writer forgets its reservation and issues again
                    // the timestamps its previous run may have used (TimestampAllocator)
};

// "none", "skip-write-back", "read-local", "skip-rebuild", "reuse-timestamp".
std::string_view UnsafeBugName(UnsafeBug bug);
// The bug named `name` (as UnsafeBugName spells it); nullopt for any other name.
std::optional<UnsafeBug> ParseUnsafeBug(std::string_view name);
// Every name ParseUnsafeBug accepts, "none" first.
std::vector<std::string_view> UnsafeBugNames();

}  // namespace tokenstore
