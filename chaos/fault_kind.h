// The kinds of fault a fault run injects (see nemesis.h for what each does), by name.
//
// Thread-safety: constants and pure functions.
#pragma once

#include <optional>
#include <string_view>

namespace tokenstore::chaos {

enum class FaultKind { kCrashStop, kKill, kPause, kPartition, kWipe, kRestore, kReconfigure };
inline constexpr FaultKind kAllFaultKinds[] = {
    FaultKind::kCrashStop, FaultKind::kKill,    FaultKind::kPause,      FaultKind::kPartition,
    FaultKind::kWipe,      FaultKind::kRestore, FaultKind::kReconfigure};
const char* FaultKindName(FaultKind k);
// The kind named `name` ("crash-stop", ...), or nullopt.
std::optional<FaultKind> ParseFaultKind(std::string_view name);

}  // namespace tokenstore::chaos
