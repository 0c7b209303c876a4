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
// When several problems exist, all are reported, one per line. The loaded ClusterConfig keeps
// one ReplicaSet per entry; its ids are found without expanding ranges (ClusterConfig below).
//
// Thread-safety: a loaded ClusterConfig is immutable and safe to share between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
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

// The writer and readers that the ids of one entry share.
struct ReplicaSet {
  std::string writer;                // canonical access point
  std::vector<std::string> readers;  // canonical, in file order, no duplicates
  int line = 0;                      // line of the entry in the file (1-based)
  // The configuration's epoch (`epoch:` in the file, 0 when absent): raised by each online
  // reconfiguration of the entry's tokens (docs/reconfiguration.md).
  uint64_t epoch = 0;
  uint64_t fingerprint = 0;          // ComputeFingerprint(), filled by the loader

  // {writer} ∪ readers, writer first, then readers in file order.
  std::vector<std::string> Replicas() const;
  // Strict majority of Replicas().size().
  size_t Quorum() const;
  bool IsReader(std::string_view node) const;
  Role RoleOf(std::string_view node) const;
  // What nodes compare to tell whether they agree on a token's replication: a 64-bit FNV-1a
  // hash of the writer, the sorted readers (the readers' order in the file does not
  // matter) and the epoch when it is not 0. Never 0, which on the wire means "not checked".
  uint64_t ComputeFingerprint() const;
  // The loader's cached value, or ComputeFingerprint() for a set built by hand.
  uint64_t Fingerprint() const { return fingerprint != 0 ? fingerprint : ComputeFingerprint(); }
  // "writer W, readers [R1, R2]" (readers sorted), for messages about disagreeing views.
  std::string ViewString() const;
};

// One token: its id and the replica set of the entry that names it. A small value; `set`
// points into the ClusterConfig it came from (or a ReplicaSet the caller owns), which must
// outlive it.
struct TokenReplication {
  std::string id;
  const ReplicaSet* set = nullptr;

  const std::string& writer() const { return set->writer; }
  const std::vector<std::string>& readers() const { return set->readers; }
  int line() const { return set->line; }
  std::vector<std::string> Replicas() const { return set->Replicas(); }
  size_t Quorum() const { return set->Quorum(); }
  bool IsReader(std::string_view node) const { return set->IsReader(node); }
  Role RoleOf(std::string_view node) const { return set->RoleOf(node); }
  uint64_t Fingerprint() const { return set->Fingerprint(); }
  std::string ViewString() const { return set->ViewString(); }
};

// The loaded file. It costs memory per entry and per id named one by one, never per id of a
// range: a range of a million ids is a prefix and two numbers, and Find() recognizes its ids
// by their form. Copyable; the TokenReplications a copy hands out point into the copy.
class ClusterConfig {
 public:
  std::string source;  // the file it came from, for messages

  // The token, or nullopt when the id is not configured. O(log n) in the ids named one by
  // one, plus one lookup per trailing digit of `id` among the ranges' prefixes.
  std::optional<TokenReplication> Find(std::string_view id) const;
  // How many ids the file names in all.
  uint64_t size() const { return size_; }
  // Calls `fn` for every token in file order (ids of a range in increasing order) until it
  // returns false. The TokenReplication passed is valid only during the call.
  void ForEach(const std::function<bool(const TokenReplication&)>& fn) const;
  // The same, for the tokens `node` keeps (is writer or reader of).
  void ForEachOf(std::string_view node, const std::function<bool(const TokenReplication&)>& fn) const;
  // How many tokens `node` keeps. O(entries).
  uint64_t CountOf(std::string_view node) const;
  // The first `limit` ids in file order, for messages that show what is configured.
  std::vector<std::string> FirstIds(size_t limit) const;
  // Every access point named anywhere in the file, sorted, without duplicates. O(entries).
  std::vector<std::string> Nodes() const;
  // One per entry, in file order.
  std::vector<const ReplicaSet*> ReplicaSets() const;

  // One entry's ids as the file names them: a range (prefix + n for n in [from, to]) or the
  // ids named one by one (by "token" or a "tokens" list), for tools that write a file back.
  struct EntryIds {
    const ReplicaSet* set = nullptr;
    bool is_range = false;
    std::string_view prefix;
    uint64_t from = 0;
    uint64_t to = 0;
    std::vector<std::string_view> ids;  // when !is_range, in file order
  };
  // Calls `fn` for every entry in file order. The EntryIds is valid only during the call.
  void ForEachEntry(const std::function<void(const EntryIds&)>& fn) const;

 private:
  friend class ConfigBuilder;
  friend std::string EncodeClusterConfig(const ClusterConfig& config);
  friend StatusOr<ClusterConfig> DecodeClusterConfig(std::string_view bytes,
                                                     const std::string& source);

  struct Entry {
    ReplicaSet set;
    // A "tokens" range: prefix + n for n in [from, to]; otherwise ids_[first_id, end_id).
    bool is_range = false;
    std::string prefix;
    uint64_t from = 0;
    uint64_t to = 0;
    size_t first_id = 0;
    size_t end_id = 0;
    uint64_t count() const { return is_range ? to - from + 1 : end_id - first_id; }
  };
  // Entries are never added after loading, so pointers to their sets stay valid for the
  // config's life (a move keeps them too).
  std::vector<Entry> entries_;
  std::vector<std::string> ids_;           // ids named one by one, in file order
  std::vector<uint32_t> id_entry_;         // the entry of each of ids_
  std::vector<uint32_t> id_order_;         // positions in ids_, sorted by id
  // Range entries by prefix, each list sorted by `from` (ranges of one prefix never overlap).
  std::map<std::string, std::vector<uint32_t>, std::less<>> ranges_by_prefix_;
  uint64_t size_ = 0;
  // Derives ranges_by_prefix_, id_entry_, id_order_ and size_ from entries_ and ids_.
  void BuildIndex();
  bool ForEachIn(const Entry& entry, const std::function<bool(const TokenReplication&)>& fn) const;
};

// A compact binary form of a loaded config, for a cache of parsed files (config/config_cache.h):
// the entries and the ids named one by one, versioned and checksummed. Decoding checks every
// bound and the checksum: damaged bytes give INVALID_ARGUMENT, never a wrong config.
// `source` becomes the decoded config's source.
std::string EncodeClusterConfig(const ClusterConfig& config);
StatusOr<ClusterConfig> DecodeClusterConfig(std::string_view bytes, const std::string& source);

// The bytes of the file at `path`; errors as LoadClusterConfig's when it cannot be read.
StatusOr<std::string> ReadClusterConfigFile(const std::string& path);
// Reads and validates the file at `path`; blocks only to read it. Errors: NOT_FOUND (no such
// file), PERMISSION_DENIED (not readable), INVALID_ARGUMENT (any other read error, and every
// problem in its content, as above).
StatusOr<ClusterConfig> LoadClusterConfig(const std::string& path);
// Validates YAML text; `source` names it in messages (a path, or "<inline>"). A file naming
// more than `max_token_ids` ids in all is refused (tests and the fuzzer pass a smaller limit).
StatusOr<ClusterConfig> ParseClusterConfig(std::string_view yaml, const std::string& source,
                                           uint64_t max_token_ids = kMaxTokenIdsPerFile);

}  // namespace tokenstore
