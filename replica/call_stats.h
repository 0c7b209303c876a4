// What the client API (TokenService) did, per operation: calls answered by gRPC status
// code, their latency, and the calls in flight. A gRPC server interceptor gathers it, so
// the services themselves stay as they are; the counts are what the callers were told
// (a call parked by fail-silent is counted when its caller gives up, as CANCELLED).
//
// Thread-safety: the interceptors update it from gRPC's threads; the readers may read at
// any time. It must outlive the server whose interceptors write to it.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "common/client_op.h"
#include "common/latency_histogram.h"

namespace tokenstore {

class CallStats {
 public:
  static constexpr int kGrpcCodes = 17;  // OK (0) .. UNAUTHENTICATED (16)

  // Calls of `op` answered with gRPC status `code` (0..16).
  uint64_t answered(ClientOp op, int code) const;
  // Calls of `op` that arrived and are not yet done.
  int64_t in_flight(ClientOp op) const;
  // From the call's arrival to its status being sent.
  const LatencyHistogram& latency(ClientOp op) const;

  // For ServerBuilder::experimental().SetInterceptorCreators: interceptors that fill this
  // object for TokenService calls (other services are not intercepted).
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

 private:
  friend class CallStatsInterceptor;
  struct PerOp {
    std::array<std::atomic<uint64_t>, kGrpcCodes> answered{};
    std::atomic<int64_t> in_flight{0};
    LatencyHistogram latency;
  };
  PerOp& of(ClientOp op) { return ops_[static_cast<size_t>(op)]; }
  const PerOp& of(ClientOp op) const { return ops_[static_cast<size_t>(op)]; }

  std::array<PerOp, kClientOps.size()> ops_;
};

}  // namespace tokenstore
