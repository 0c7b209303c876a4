// Internal entry points of the token hash engine, for tests and benchmarks in hash/.
//
// They behave like TokenHash() and MinHash() but take the SHA-256 implementation
// explicitly, so the portable and SHA-NI paths can be compared on the same machine
// regardless of which one the process selected. Asking for SHA-NI on a CPU without it
// silently uses the portable code (see ResolveSha256Impl).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/status.h"
#include "hash/sha256.h"
#include "hash/token_hash.h"

namespace tokenstore::hash_internal {

uint64_t TokenHashWith(Sha256Impl impl, std::string_view name, uint64_t x);

StatusOr<std::optional<HashMin>> MinHashWith(Sha256Impl impl, std::string_view name, uint64_t begin,
                                             uint64_t end, const StopCondition& stop,
                                             const MinHashOptions& options);

}  // namespace tokenstore::hash_internal
