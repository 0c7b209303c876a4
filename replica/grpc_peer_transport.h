// PeerTransport over gRPC: the replica-to-replica calls a node makes as coordinator.
//
// Calls to one peer are coalesced into Batch RPCs (replica/peer_batcher.h): one lane for
// GetRegister and one for Store per peer, so a read never waits behind a peer's disk sync.
// With batching off (for comparisons), every call is its own unary GetRegister or Store RPC.
//
// Calls use gRPC's callback API, so a call waiting on a silent peer holds no thread. One
// channel per peer, created on first use and kept; reconnect backoff is capped at one second
// so a peer that restarts is reached again quickly.
//
// Thread-safety: safe for concurrent use. Shutdown() cancels every call in flight and waits
// until their callbacks have run; calls made after it fail at once with UNAVAILABLE.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/mutex.h"
#include "proto/security.h"
#include "replica/deadline_watch.h"
#include "replica/peer_batcher.h"
#include "replica/peer_stats.h"
#include "replica/peer_transport.h"
#include "replication.grpc.pb.h"

namespace tokenstore {

struct GrpcPeerTransportOptions {
  std::string self;   // this node's access point, sent with every call
  bool batch = true;  // false: one unary RPC per call
  PeerBatcher::Options batcher;
};

class GrpcPeerTransport final : public PeerTransport {
 public:
  explicit GrpcPeerTransport(Security security, GrpcPeerTransportOptions options = {});
  ~GrpcPeerTransport() override;

  CancelFn GetRegister(const std::string& node, const std::string& token, uint64_t fingerprint,
                       Clock::time_point deadline,
                       std::function<void(StatusOr<Register>)> done) override;
  CancelFn Store(const std::string& node, const std::string& token, uint64_t fingerprint,
                 const Register& reg, Clock::time_point deadline,
                 std::function<void(StatusOr<Stamp>)> done) override;
  // Probes and Hellos are rare (a node's start): unary RPCs, never batched.
  CancelFn Probe(const std::string& node, const std::string& token, uint64_t fingerprint,
                 Clock::time_point deadline,
                 std::function<void(StatusOr<ProbeReply>)> done) override;
  CancelFn Hello(const std::string& node, const HelloArgs& args, Clock::time_point deadline,
                 std::function<void(StatusOr<HelloReply>)> done) override;

  void Shutdown();

  // Round-trip times, errors, batch sizes and reachability of every peer called so far.
  const PeerStats& peer_stats() const { return stats_; }

 private:
  struct CallBase;
  template <typename Req, typename Resp>
  struct Call;
  struct Peer {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::ReplicaService::Stub> stub;
    std::shared_ptr<PeerBatcher> gets;    // GetRegister lane
    std::shared_ptr<PeerBatcher> stores;  // Store lane
  };

  // The peer's stub and batchers, made on first use; nullptr after Shutdown().
  Peer* PeerFor(const std::string& node);
  CancelFn SendBatch(const std::string& node, Peer* peer, v1::BatchRequest request,
                     Clock::time_point deadline,
                     std::function<void(Status, const v1::BatchResponse&)> done);
  // One unary RPC of `rpc` with `request`; `done` gets `convert(response)` or the error.
  template <typename Req, typename Resp, typename Reply>
  CancelFn Unary(const std::string& node, Req request, Clock::time_point deadline,
                 void (v1::ReplicaService::StubInterface::async_interface::*rpc)(
                     grpc::ClientContext*, const Req*, Resp*, std::function<void(grpc::Status)>),
                 std::function<StatusOr<Reply>(const Resp&)> convert,
                 std::function<void(StatusOr<Reply>)> done);
  // Registers a call as in flight; false after Shutdown().
  bool Track(const std::shared_ptr<CallBase>& call);
  void Untrack(CallBase* call);
  // Reports a finished RPC to `node` to stats_.
  void Record(const std::string& node, grpc::Channel* channel, const Status& status,
              Clock::time_point sent);

  const Security security_;
  const GrpcPeerTransportOptions options_;
  DeadlineWatch watch_;
  PeerStats stats_;
  Mutex mu_;
  CondVar idle_;
  std::map<std::string, std::unique_ptr<Peer>, std::less<>> peers_ GUARDED_BY(mu_);
  std::map<CallBase*, std::weak_ptr<CallBase>> in_flight_ GUARDED_BY(mu_);
  bool shut_down_ GUARDED_BY(mu_) = false;
};

}  // namespace tokenstore
