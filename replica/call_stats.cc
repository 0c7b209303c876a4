#include "replica/call_stats.h"

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "client.grpc.pb.h"

namespace tokenstore {

uint64_t CallStats::answered(ClientOp op, int code) const {
  if (code < 0 || code >= kGrpcCodes) return 0;
  return of(op).answered[code].load(std::memory_order_relaxed);
}

int64_t CallStats::in_flight(ClientOp op) const {
  return of(op).in_flight.load(std::memory_order_relaxed);
}

const LatencyHistogram& CallStats::latency(ClientOp op) const { return of(op).latency; }

// One per intercepted call: counts it in flight from arrival until gRPC destroys the call,
// and records its status code and latency when the status is sent.
class CallStatsInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit CallStatsInterceptor(CallStats::PerOp& stats)
      : stats_(stats), start_(std::chrono::steady_clock::now()) {
    stats_.in_flight.fetch_add(1, std::memory_order_relaxed);
  }
  ~CallStatsInterceptor() override { stats_.in_flight.fetch_sub(1, std::memory_order_relaxed); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const int code = methods->GetSendStatus().error_code();
      if (code >= 0 && code < CallStats::kGrpcCodes) {
        stats_.answered[code].fetch_add(1, std::memory_order_relaxed);
      }
      stats_.latency.Record(std::chrono::steady_clock::now() - start_);
    }
    methods->Proceed();
  }

 private:
  CallStats::PerOp& stats_;
  const std::chrono::steady_clock::time_point start_;
};

namespace {

class CallStatsFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  using Make = std::function<grpc::experimental::Interceptor*(ClientOp)>;
  explicit CallStatsFactory(Make make) : make_(std::move(make)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    std::optional<ClientOp> op = OpOf(info->method());
    return op ? make_(*op) : nullptr;
  }

 private:
  // "/tokenstore.v1.TokenService/Write" -> kWrite; nullopt for any other method.
  static std::optional<ClientOp> OpOf(std::string_view method) {
    static const std::string prefix =
        std::string("/") + v1::TokenService::service_full_name() + "/";
    if (!method.starts_with(prefix)) return std::nullopt;
    method.remove_prefix(prefix.size());
    if (method == "Write") return ClientOp::kWrite;
    if (method == "Read") return ClientOp::kRead;
    if (method == "Create") return ClientOp::kCreate;
    if (method == "Drop") return ClientOp::kDrop;
    return std::nullopt;
  }

  Make make_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
CallStats::InterceptorFactory() {
  return std::make_unique<CallStatsFactory>(
      [this](ClientOp op) { return new CallStatsInterceptor(of(op)); });
}

}  // namespace tokenstore
