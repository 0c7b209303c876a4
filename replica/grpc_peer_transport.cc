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

GrpcPeerTransport::GrpcPeerTransport(Security security) : security_(std::move(security)) {}

GrpcPeerTransport::~GrpcPeerTransport() { Shutdown(); }

v1::ReplicaService::Stub* GrpcPeerTransport::StubFor(const std::string& node) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& stub = stubs_[node];
  if (!stub) {
    stub = v1::ReplicaService::NewStub(security_.NewNodeChannel(node));
  }
  return stub.get();
}

bool GrpcPeerTransport::Track(const std::shared_ptr<CallBase>& call) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return false;
  in_flight_.emplace(call.get(), call);
  return true;
}

void GrpcPeerTransport::Untrack(CallBase* call) {
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_.erase(call);
  if (in_flight_.empty()) idle_.notify_all();
}

void GrpcPeerTransport::Shutdown() {
  std::vector<std::shared_ptr<CallBase>> calls;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
    for (auto& [raw, weak] : in_flight_) {
      if (auto c = weak.lock()) calls.push_back(std::move(c));
    }
  }
  for (auto& c : calls) c->context.TryCancel();
  calls.clear();
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return in_flight_.empty(); });
}


CancelFn GrpcPeerTransport::GetRegister(const std::string& node, const std::string& token,
                                        Clock::time_point deadline,
                                        std::function<void(StatusOr<Register>)> done) {
  using C = Call<v1::GetRegisterRequest, v1::GetRegisterResponse>;
  auto call = std::make_shared<C>();
  if (!Track(call)) {
    done(Status::Unavailable("node is shutting down"));
    return nullptr;
  }
  call->context.set_deadline(ToSystem(deadline));
  call->request.set_token(token);
  v1::ReplicaService::Stub* stub = StubFor(node);
  // The call keeps itself alive until its callback ran; the cancel function only observes.
  stub->async()->GetRegister(
      &call->context, &call->request, &call->response,
      [this, call, done = std::move(done)](grpc::Status st) {
        if (st.ok()) {
          done(FromProto(call->response.reg()));
        } else {
          done(FromGrpc(st));
        }
        Untrack(call.get());
      });
  std::shared_ptr<grpc::ClientContext> ctx(call, &call->context);
  return CancelOf(ctx);
}

CancelFn GrpcPeerTransport::Store(const std::string& node, const std::string& token,
                                  const Register& reg, Clock::time_point deadline,
                                  std::function<void(StatusOr<uint64_t>)> done) {
  using C = Call<v1::StoreRequest, v1::StoreResponse>;
  auto call = std::make_shared<C>();
  if (!Track(call)) {
    done(Status::Unavailable("node is shutting down"));
    return nullptr;
  }
  call->context.set_deadline(ToSystem(deadline));
  call->request.set_token(token);
  ToProto(reg, call->request.mutable_reg());
  v1::ReplicaService::Stub* stub = StubFor(node);
  stub->async()->Store(&call->context, &call->request, &call->response,
                       [this, call, done = std::move(done)](grpc::Status st) {
                         if (st.ok()) {
                           done(call->response.stored_ts());
                         } else {
                           done(FromGrpc(st));
                         }
                         Untrack(call.get());
                       });
  std::shared_ptr<grpc::ClientContext> ctx(call, &call->context);
  return CancelOf(ctx);
}

}  // namespace tokenstore
