// How TokenClient's operations travel to a node (ClientOptions::transport):
//   - unary:   one gRPC call per operation (TokenService.Write, Read, Create, Drop);
//   - session: one bidirectional stream per node (TokenService.Session) that carries every
//              operation of every thread using the client: operations started while a
//              message is on its way leave together in the next one, and results come back
//              the same way. Cheaper per operation than a unary call (no new HTTP/2 stream,
//              no metadata per operation) and shared by all the client's threads.
// Both speak in SessionOp and SessionResult (proto/client.proto), so the client's routing,
// failover and error messages are the same code for either.
//
// Errors: a deadline that passes is DEADLINE_EXCEEDED with gRPC's own message "Deadline
// Exceeded" (IsClientSideDeadline); a node that cannot be reached is UNAVAILABLE; a session
// stream that breaks fails every operation on it with UNAVAILABLE (an operation already sent
// may still take effect), and the next operation opens a new stream.
//
// Thread-safety: Start may be called from any thread, and NodeCall::Cancel too.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "client.grpc.pb.h"
#include "proto/security.h"

namespace tokenstore {

// A started operation.
class NodeCall {
 public:
  virtual ~NodeCall() = default;
  // Ends the operation soon: its callback then runs with CANCELLED, unless it already ran.
  // A cancelled write may still take effect.
  virtual void Cancel() = 0;
};

// Runs exactly once per started operation, on any thread (possibly inside Start). When
// `status` is OK, `result` holds the answer. When the node refused the operation, `result`
// carries only what the node attached to the refusal: `config`, the node's configuration of
// the token (with FAILED_PRECONDITION, docs/reconfiguration.md), from the trailing metadata
// kConfigMetadataKey (unary) or the SessionResult (session); otherwise it is empty.
using NodeCallDone = std::function<void(const grpc::Status& status, v1::SessionResult result)>;

class NodeTransport {
 public:
  virtual ~NodeTransport() = default;
  // Starts `op` (its seq is the transport's business) at `node`; it fails with
  // DEADLINE_EXCEEDED at `deadline` if no answer came.
  virtual std::shared_ptr<NodeCall> Start(const std::string& node, v1::SessionOp op,
                                          std::chrono::steady_clock::time_point deadline,
                                          NodeCallDone done) = 0;
};

std::unique_ptr<NodeTransport> NewUnaryTransport(const Security& security);
// The destructor cancels what is still pending (callbacks run with CANCELLED) and waits
// until every stream has ended.
std::unique_ptr<NodeTransport> NewSessionTransport(const Security& security);

}  // namespace tokenstore
