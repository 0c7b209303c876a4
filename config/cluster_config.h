// The replication scheme (SPEC section 4): which nodes keep which tokens.
//
// The YAML file is a list; each entry names one token, its writer and its readers:
//
//   - token: 1
//     writer: 127.0.0.1:50051
//     readers: [127.0.0.1:50051, 127.0.0.1:50052, 127.0.0.1:50053]
//
// or, with "tokens" instead of "token", many ids sharing one writer and readers: a list
// (tokens: [a, b, c]) or a numbered range (tokens: {prefix: t, from: 0, to: 999999} names
// t0, t1, ... t999999: "to" is inclusive, numbers are plain decimal, not zero-padded, at most
// 18 digits; prefix may be ""). A file names at most kMaxTokenIdsPerFile ids in all.
//
// LoadClusterConfig() validates the whole file before returning; any problem yields an
// INVALID_ARGUMENT Status whose message names the file, the line and the problem, e.g.
//   "cluster.yaml:7: token \"1\" is listed twice (first at line 2)" (two "token" entries)
//   "cluster.yaml:12: token \"t5\" at line 12 is also at line 3" (a list or range involved;
//    overlapping ranges are found from their bounds, without listing their ids).
// When several problems exist, all are reported, one per line. The loaded ClusterConfig has
// one TokenReplication per id whichever form named it.
//
// Thread-safety: a loaded ClusterConfig is immutable and safe to share between threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tokenstore {

// The most token ids one file may name, counting every id of every list and range.
inline constexpr uint64_t kMaxTokenIdsPerFile = 10'000'000;

// "<ipv4>:<port>" or "[<ipv6>]:<port>", port 1..65535. Access points are compared in
// canonical form (what ParseAccessPoint returns), so "127.0.0.1:050051" is not accepted.
StatusOr<std::string> ParseAccessPoint(std::string_view text);

enum class Role { kNone, kWriter, kReader, kWriterAndReader };
const char* RoleName(Role role);  // "none", "writer", "reader", "writer+reader"

struct TokenReplication {
  std::string id;
  std::string writer;                // canonical access point
  std::vector<std::string> readers;  // canonical, in file order, no duplicates
  int line = 0;                      // line of the entry naming it in the file (1-based)
  uint64_t fingerprint = 0;          // ComputeFingerprint(), filled by the loader

  // {writer} ∪ readers, writer first, then readers in file order.
  std::vector<std::string> Replicas() const;
  // Strict majority of Replicas().size().
  size_t Quorum() const;
  bool IsReader(std::string_view node) const;
  Role RoleOf(std::string_view node) const;
  // What nodes compare to tell whether they agree on this token's replication: a 64-bit
  // FNV-1a hash of the writer and the sorted readers (the readers' order in the file does not
  // matter). Never 0, which on the wire means "not checked".
  uint64_t ComputeFingerprint() const;
  // The loader's cached value, or ComputeFingerprint() for an entry built by hand.
  uint64_t Fingerprint() const { return fingerprint != 0 ? fingerprint : ComputeFingerprint(); }
  // "writer W, readers [R1, R2]" (readers sorted), for messages about disagreeing views.
  std::string ViewString() const;
};

struct ClusterConfig {
  std::string source;  // the file it came from, for messages
  std::vector<TokenReplication> tokens;  // in file order
  std::map<std::string, size_t, std::less<>> index;  // token id -> position in tokens

  // nullptr when the id is not configured.
  const TokenReplication* Find(std::string_view id) const;
  // Every access point named anywhere in the file, sorted, without duplicates.
  std::vector<std::string> Nodes() const;
  // The tokens `node` keeps (is writer or reader of), in file order.
  std::vector<const TokenReplication*> TokensOf(std::string_view node) const;
};

// Reads and validates the file at `path`; blocks only to read it. Errors: NOT_FOUND (no such
// file), PERMISSION_DENIED (not readable), INVALID_ARGUMENT (any other read error, and every
// problem in its content, as above).
StatusOr<ClusterConfig> LoadClusterConfig(const std::string& path);
// Validates YAML text; `source` names it in messages (a path, or "<inline>"). A file naming
// more than `max_token_ids` ids in all is refused (tests and the fuzzer pass a smaller limit).
StatusOr<ClusterConfig> ParseClusterConfig(std::string_view yaml, const std::string& source,
                                           uint64_t max_token_ids = kMaxTokenIdsPerFile);

}  // namespace tokenstore
