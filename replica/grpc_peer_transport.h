// PeerTransport over gRPC: the replica-to-replica calls a node makes as coordinator.
//
// Calls use gRPC's callback API, so a call waiting on a silent peer holds no thread. One
// channel per peer, created on first use and kept; reconnect backoff is capped at one second
// so a peer that restarts is reached again quickly.
//
// Thread-safety: safe for concurrent use. Shutdown() cancels every call in flight and waits
// until their callbacks have run; calls made after it fail at once with UNAVAILABLE.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "proto/security.h"
#include "replica/peer_transport.h"
#include "replication.grpc.pb.h"

namespace tokenstore {

class GrpcPeerTransport final : public PeerTransport {
 public:
  explicit GrpcPeerTransport(Security security);
  ~GrpcPeerTransport() override;

  CancelFn GetRegister(const std::string& node, const std::string& token,
                       Clock::time_point deadline,
                       std::function<void(StatusOr<Register>)> done) override;
  CancelFn Store(const std::string& node, const std::string& token, const Register& reg,
                 Clock::time_point deadline,
                 std::function<void(StatusOr<uint64_t>)> done) override;

  void Shutdown();

 private:
  struct CallBase;
  template <typename Req, typename Resp>
  struct Call;

  v1::ReplicaService::Stub* StubFor(const std::string& node);
  // Registers a call as in flight; false after Shutdown().
  bool Track(const std::shared_ptr<CallBase>& call);
  void Untrack(CallBase* call);

  const Security security_;
  std::mutex mu_;
  std::condition_variable idle_;
  std::map<std::string, std::unique_ptr<v1::ReplicaService::Stub>> stubs_;  // GUARDED_BY(mu_)
  std::map<CallBase*, std::weak_ptr<CallBase>> in_flight_;                   // GUARDED_BY(mu_)
  bool shut_down_ = false;                                                   // GUARDED_BY(mu_)
};

}  // namespace tokenstore
