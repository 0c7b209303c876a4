// AdminClient: calls a running replica's AdminService (fail-silent emulation and live dumps),
// and the plain form of a dump shared with the offline dump of a data directory.
//
// Errors are Status values naming the node and what to do, e.g.
//   UNAVAILABLE: cannot reach 127.0.0.1:50051 (connection refused): is token-replica
//   running there?
//
// Thread-safety: an AdminClient is safe for concurrent use; NodeDump is a plain value.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "admin.grpc.pb.h"
#include "common/mutex.h"
#include "common/status.h"
#include "common/token_value.h"
#include "proto/security.h"

namespace tokenstore {

struct DumpEntry {
  std::string token;
  Register reg;
  bool crashed = false;
  uint64_t reserved_ts = 0;  // the writer's timestamp reservation; 0 when not the writer
  std::string role;          // "writer", "reader", "writer+reader", "none"; empty offline
};

struct NodeDump {
  std::string node;                // the node that answered (live dump); empty offline
  std::string data_dir;            // the directory read (offline dump); empty live
  std::vector<DumpEntry> entries;  // sorted by token id
  std::string state;               // live: "serving", "rebuilding", ... (node_lifecycle.h)
  std::string identity;            // live: the data dir's cluster, incarnation and boot
};

struct AdminOptions {
  std::chrono::milliseconds timeout{5'000};
  // Plaintext, or mutual TLS; a replica with TLS takes admin calls only from an admin
  // certificate (common name admin:<name>).
  Security security;
};

class AdminClient {
 public:
  explicit AdminClient(AdminOptions options = {}) : options_(options) {}

  // Crash-stops `node` for `token`. Returns whether it already was crash-stopped.
  StatusOr<bool> Crash(const std::string& node, const std::string& token);
  // Clears the crash-stop mark. Returns whether it was crash-stopped.
  StatusOr<bool> Revive(const std::string& node, const std::string& token);
  // Every register `node` keeps, with its metadata, sorted by token id, all in memory: for
  // small nodes and tests. Built on DumpStream.
  StatusOr<NodeDump> Dump(const std::string& node);

  // Every register `node` keeps, handed over as it arrives: `on_header` once (a NodeDump
  // without entries, and how many entries follow), then `on_entries` per chunk (at most
  // 1,000 entries each, sorted by token id). Holds one chunk at a time, whatever the size of
  // the node. A callback's error stops the dump and is returned. --timeout bounds the wait
  // for each message, not the whole dump. A node without DumpStream (older version) is asked
  // with the unary Dump instead, limited to what fits in one message.
  using DumpHeaderFn = std::function<Status(const NodeDump& header, uint64_t tokens)>;
  using DumpEntriesFn = std::function<Status(std::vector<DumpEntry>& entries)>;
  Status DumpStream(const std::string& node, const DumpHeaderFn& on_header,
                    const DumpEntriesFn& on_entries);

 private:
  v1::AdminService::Stub* StubFor(const std::string& node);
  // DumpStream through the unary Dump, for nodes older than DumpStream.
  Status DumpUnary(const std::string& node, const DumpHeaderFn& on_header,
                   const DumpEntriesFn& on_entries);
  // `what` is e.g. "crash of token \"1\"".
  Status CallError(const std::string& what, const std::string& node, const grpc::Status& st) const;

  const AdminOptions options_;
  Mutex mu_;
  std::map<std::string, std::unique_ptr<v1::AdminService::Stub>> stubs_ GUARDED_BY(mu_);
};

// The plain form of a DumpResponse. INVALID_ARGUMENT when a register holds an unknown kind.
StatusOr<NodeDump> NodeDumpFromProto(const v1::DumpResponse& resp);
// The plain form of one entry; INVALID_ARGUMENT as above.
StatusOr<DumpEntry> DumpEntryFromProto(const v1::DumpEntry& e);

}  // namespace tokenstore
