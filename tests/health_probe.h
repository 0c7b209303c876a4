// gRPC health checking (grpc.health.v1.Health/Check, called by path over RawCall) for tests
// that ask whether a server (service "") or one of its services is SERVING.
//
// Thread-safety: stateless functions; each call uses its own RawCall.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "ops_probe.pb.h"

namespace tokenstore::testing {

using ServingStatus = probe::HealthCheckResponse::ServingStatus;

struct HealthAnswer {
  grpc::Status call;  // the Check call's own status (e.g. UNAVAILABLE: no server)
  ServingStatus serving = probe::HealthCheckResponse::UNKNOWN;  // meaningful when call.ok()
};

// Asks `channel`'s server for the health of `service` ("" for the server as a whole).
HealthAnswer CheckHealth(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Polls the plaintext server at `address` (service "") every 100 ms until it answers
// `wanted`, for at most `timeout`. True when it did; false when the time ran out.
bool WaitForHealth(const std::string& address, ServingStatus wanted,
                   std::chrono::milliseconds timeout);

// Polls the same way until the server answers a health check at all (its gRPC server is
// up, whether SERVING or not). Its answer, or nullopt when the time ran out.
std::optional<ServingStatus> WaitForHealthAnswer(const std::string& address,
                                                 std::chrono::milliseconds timeout);

}  // namespace tokenstore::testing
