#include "replica/grpc_peer_transport.h"

#include "proto/convert.h"

namespace tokenstore {


namespace {

// gRPC takes deadlines on the system clock; the core keeps them on the steady clock.
std::chrono::system_clock::time_point ToSystem(Clock::time_point deadline) {
  const auto left = deadline - Clock::now();
  if (left > std::chrono::hours(24 * 365)) return std::chrono::system_clock::time_point::max();
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(left);
}

CancelFn CancelOf(const std::shared_ptr<grpc::ClientContext>& ctx) {
  std::weak_ptr<grpc::ClientContext> weak = ctx;
  return [weak] {
    if (auto c = weak.lock()) c->TryCancel();
  };
}

}  // namespace

struct GrpcPeerTransport::CallBase {
  virtual ~CallBase() = default;
  grpc::ClientContext context;
};

template <typename Req, typename Resp>
struct GrpcPeerTransport::Call : CallBase {
  Req request;
  Resp response;
};

GrpcPeerTransport::GrpcPeerTransport(Security security, GrpcPeerTransportOptions options)
    : security_(std::move(security)), options_(options) {}

GrpcPeerTransport::~GrpcPeerTransport() { Shutdown(); }

GrpcPeerTransport::Peer* GrpcPeerTransport::PeerFor(const std::string& node) {
  MutexLock lock(&mu_);
  if (shut_down_) return nullptr;
  auto it = peers_.find(node);
  if (it != peers_.end()) return it->second.get();
  auto peer = std::make_unique<Peer>();
  peer->channel = security_.NewNodeChannel(node);
  peer->stub = v1::ReplicaService::NewStub(peer->channel);
  if (options_.batch) {
    // The Peer lives as long as the transport (peers_ only grows).
    auto send = [this, node, raw = peer.get()](
                    v1::BatchRequest request, Clock::time_point deadline,
                    std::function<void(Status, const v1::BatchResponse&)> done) {
      return SendBatch(node, raw, std::move(request), deadline, std::move(done));
    };
    peer->gets = PeerBatcher::Create(node, send, watch_, options_.batcher);
    peer->stores = PeerBatcher::Create(node, send, watch_, options_.batcher);
  }
  return peers_.emplace(node, std::move(peer)).first->second.get();
}

bool GrpcPeerTransport::Track(const std::shared_ptr<CallBase>& call) {
  MutexLock lock(&mu_);
  if (shut_down_) return false;
  in_flight_.emplace(call.get(), call);
  return true;
}

void GrpcPeerTransport::Untrack(CallBase* call) {
  MutexLock lock(&mu_);
  in_flight_.erase(call);
  if (in_flight_.empty()) idle_.SignalAll();
}

void GrpcPeerTransport::Record(const std::string& node, grpc::Channel* channel,
                               const Status& status, Clock::time_point sent) {
  // Asked only after a failure: whether the channel is connected tells the peer's own
  // UNAVAILABLE from gRPC's (PeerStats::Classify).
  const bool connected =
      status.ok() || channel->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY;
  stats_.RecordRpc(node, status, connected, Clock::now() - sent);
}

void GrpcPeerTransport::Shutdown() {
  std::vector<std::shared_ptr<CallBase>> calls;
  std::vector<std::shared_ptr<PeerBatcher>> batchers;
  {
    MutexLock lock(&mu_);
    shut_down_ = true;
    for (auto& [raw, weak] : in_flight_) {
      if (auto c = weak.lock()) calls.push_back(std::move(c));
    }
    for (auto& [node, peer] : peers_) {
      if (peer->gets) batchers.push_back(peer->gets);
      if (peer->stores) batchers.push_back(peer->stores);
    }
  }
  for (auto& c : calls) c->context.TryCancel();
  calls.clear();
  {
    MutexLock lock(&mu_);
    idle_.Wait(&mu_, [this]() REQUIRES(mu_) { return in_flight_.empty(); });
  }
  // Calls still waiting to be sent, or for their deadline, fail now.
  for (auto& b : batchers) b->Close(Status::Unavailable("node is shutting down"));
  watch_.Stop();
}

CancelFn GrpcPeerTransport::GetRegister(const std::string& node, const std::string& token,
                                        uint64_t fingerprint, Clock::time_point deadline,
                                        std::function<void(StatusOr<Register>)> done) {
  Peer* peer = PeerFor(node);
  if (peer == nullptr) {
    done(Status::Unavailable("node is shutting down"));
    return nullptr;
  }
  if (peer->gets) return peer->gets->GetRegister(token, fingerprint, deadline, std::move(done));
  v1::GetRegisterRequest req;
  req.set_token(token);
  req.set_from(options_.self);
  req.set_config_fingerprint(fingerprint);
  return Unary<v1::GetRegisterRequest, v1::GetRegisterResponse, Register>(
      node, std::move(req), deadline, &v1::ReplicaService::StubInterface::async_interface::GetRegister,
      [](const v1::GetRegisterResponse& r) { return FromProto(r.reg()); }, std::move(done));
}

CancelFn GrpcPeerTransport::Store(const std::string& node, const std::string& token,
                                  uint64_t fingerprint, const Register& reg,
                                  Clock::time_point deadline,
                                  std::function<void(StatusOr<Stamp>)> done) {
  Peer* peer = PeerFor(node);
  if (peer == nullptr) {
    done(Status::Unavailable("node is shutting down"));
    return nullptr;
  }
  if (peer->stores) return peer->stores->Store(token, fingerprint, reg, deadline, std::move(done));
  v1::StoreRequest req;
  req.set_token(token);
  req.set_from(options_.self);
  req.set_config_fingerprint(fingerprint);
  ToProto(reg, req.mutable_reg());
  return Unary<v1::StoreRequest, v1::StoreResponse, Stamp>(
      node, std::move(req), deadline, &v1::ReplicaService::StubInterface::async_interface::Store,
      [](const v1::StoreResponse& r) -> StatusOr<Stamp> {
        return Stamp{r.stored_epoch(), r.stored_ts(), r.stored_origin()};
      },
      std::move(done));
}

CancelFn GrpcPeerTransport::Probe(const std::string& node, const std::string& token,
                                  uint64_t fingerprint, Clock::time_point deadline,
                                  std::function<void(StatusOr<ProbeReply>)> done) {
  v1::GetRegisterRequest req;
  req.set_token(token);
  req.set_from(options_.self);
  req.set_config_fingerprint(fingerprint);
  req.set_rebuild(true);
  return Unary<v1::GetRegisterRequest, v1::GetRegisterResponse, ProbeReply>(
      node, std::move(req), deadline, &v1::ReplicaService::StubInterface::async_interface::GetRegister,
      [](const v1::GetRegisterResponse& r) -> StatusOr<ProbeReply> {
        StatusOr<Register> reg = FromProto(r.reg());
        if (!reg.ok()) return reg.status();
        return ProbeReply{std::move(reg).value(), r.serving(), FromProto(r.state())};
      },
      std::move(done));
}

CancelFn GrpcPeerTransport::Hello(const std::string& node, const HelloArgs& args,
                                  Clock::time_point deadline,
                                  std::function<void(StatusOr<HelloReply>)> done) {
  v1::HelloRequest req;
  req.set_from(options_.self);
  req.set_cluster_id(args.cluster_id);
  req.set_incarnation(args.incarnation);
  req.set_boot(args.boot);
  req.set_previous_boot(args.previous_boot);
  req.set_run(args.run);
  req.set_previous_run(args.previous_run);
  req.set_version(args.version);
  return Unary<v1::HelloRequest, v1::HelloResponse, HelloReply>(
      node, std::move(req), deadline, &v1::ReplicaService::StubInterface::async_interface::Hello,
      [](const v1::HelloResponse& r) -> StatusOr<HelloReply> { return FromProto(r); },
      std::move(done));
}

CancelFn GrpcPeerTransport::SendBatch(const std::string& node, Peer* peer,
                                      v1::BatchRequest request, Clock::time_point deadline,
                                      std::function<void(Status, const v1::BatchResponse&)> done) {
  using C = Call<v1::BatchRequest, v1::BatchResponse>;
  auto call = std::make_shared<C>();
  if (!Track(call)) {
    done(Status::Unavailable("node is shutting down"), call->response);
    return nullptr;
  }
  call->context.set_deadline(ToSystem(deadline));
  call->request = std::move(request);
  call->request.set_from(options_.self);
  stats_.RecordBatch(node, static_cast<size_t>(call->request.entries_size()));
  peer->stub->async()->Batch(&call->context, &call->request, &call->response,
                             [this, call, node, channel = peer->channel.get(),
                              sent = Clock::now(), done = std::move(done)](grpc::Status st) {
                               const Status status = FromGrpc(st);
                               Record(node, channel, status, sent);
                               done(status, call->response);
                               Untrack(call.get());
                             });
  // The batcher cancels the RPC once none of its calls waits for the answer any more.
  std::shared_ptr<grpc::ClientContext> ctx(call, &call->context);
  return CancelOf(ctx);
}

template <typename Req, typename Resp, typename Reply>
CancelFn GrpcPeerTransport::Unary(
    const std::string& node, Req request, Clock::time_point deadline,
    void (v1::ReplicaService::StubInterface::async_interface::*rpc)(
        grpc::ClientContext*, const Req*, Resp*, std::function<void(grpc::Status)>),
    std::function<StatusOr<Reply>(const Resp&)> convert,
    std::function<void(StatusOr<Reply>)> done) {
  Peer* peer = PeerFor(node);
  using C = Call<Req, Resp>;
  auto call = std::make_shared<C>();
  if (peer == nullptr || !Track(call)) {
    done(Status::Unavailable("node is shutting down"));
    return nullptr;
  }
  call->context.set_deadline(ToSystem(deadline));
  call->request = std::move(request);
  // The call keeps itself alive until its callback ran; the cancel function only observes.
  (peer->stub->async()->*rpc)(&call->context, &call->request, &call->response,
                              [this, call, node, channel = peer->channel.get(),
                               sent = Clock::now(), convert = std::move(convert),
                               done = std::move(done)](grpc::Status st) {
                                Record(node, channel, FromGrpc(st), sent);
                                if (st.ok()) {
                                  done(convert(call->response));
                                } else {
                                  done(FromGrpc(st));
                                }
                                Untrack(call.get());
                              });
  std::shared_ptr<grpc::ClientContext> ctx(call, &call->context);
  return CancelOf(ctx);
}

}  // namespace tokenstore
