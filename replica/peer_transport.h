// The outgoing side of replica-to-replica calls, as the protocol core sees it.
//
// The gRPC adapter (GrpcPeerTransport) and the in-memory simulated network used by the unit
// tests both implement it, so the protocol runs unchanged over either.
//
// Contract for every call:
// - `done` runs exactly once, on any thread (possibly the caller's, before the call returns),
//   with the reply or a Status: DEADLINE_EXCEEDED when no answer came by `deadline`,
//   CANCELLED after the returned handle was invoked, UNAVAILABLE when the peer is unreachable.
// - The returned CancelFn may be called any number of times, from any thread, also after
//   `done` ran; it never blocks. It may be empty when the call cannot be cancelled.
//
// Thread-safety: implementations are safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "common/token_value.h"

namespace tokenstore {

using Clock = std::chrono::steady_clock;
using CancelFn = std::function<void()>;

class PeerTransport {
 public:
  virtual ~PeerTransport() = default;

  // GetRegister(token) at `node`: its current (ts, value).
  virtual CancelFn GetRegister(const std::string& node, const std::string& token,
                               Clock::time_point deadline,
                               std::function<void(StatusOr<Register>)> done) = 0;

  // Store(token, reg) at `node`: the replica's acknowledgement carries the ts it holds.
  virtual CancelFn Store(const std::string& node, const std::string& token, const Register& reg,
                         Clock::time_point deadline,
                         std::function<void(StatusOr<uint64_t>)> done) = 0;
};

}  // namespace tokenstore
