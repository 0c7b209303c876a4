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
  // Every register `node` keeps, with its metadata.
  StatusOr<NodeDump> Dump(const std::string& node);

 private:
  v1::AdminService::Stub* StubFor(const std::string& node);
  // `what` is e.g. "crash of token \"1\"".
  Status CallError(const std::string& what, const std::string& node, const grpc::Status& st) const;

  const AdminOptions options_;
  Mutex mu_;
  std::map<std::string, std::unique_ptr<v1::AdminService::Stub>> stubs_ GUARDED_BY(mu_);
};

// The plain form of a DumpResponse. INVALID_ARGUMENT when a register holds an unknown kind.
StatusOr<NodeDump> NodeDumpFromProto(const v1::DumpResponse& resp);

}  // namespace tokenstore
