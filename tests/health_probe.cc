#include "tests/health_probe.h"

#include <algorithm>
#include <thread>

#include "tests/raw_call.h"

namespace tokenstore::testing {

HealthAnswer CheckHealth(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                         std::chrono::milliseconds timeout) {
  probe::HealthCheckRequest req;
  req.set_service(service);
  std::string bytes;
  HealthAnswer answer;
  answer.call = RawCall::Unary(channel, "/grpc.health.v1.Health/Check", req.SerializeAsString(),
                               &bytes, timeout);
  probe::HealthCheckResponse resp;
  if (answer.call.ok() && !resp.ParseFromString(bytes)) {
    answer.call = grpc::Status(grpc::StatusCode::INTERNAL, "unparsable HealthCheckResponse");
  }
  answer.serving = resp.status();
  return answer;
}

namespace {

// The first answer of the server at `address` that `accept` takes, polling every 100 ms
// for at most `timeout`.
template <typename Accept>
std::optional<ServingStatus> PollHealth(const std::string& address,
                                        std::chrono::milliseconds timeout, Accept accept) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds(0)) return std::nullopt;
    // A fresh channel with its own connection each time: a shared one would back off
    // (for up to minutes) after the failures of a server that was not up yet.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    HealthAnswer a = CheckHealth(channel, "", std::min(left, std::chrono::milliseconds(1000)));
    if (a.call.ok() && accept(a.serving)) return a.serving;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

bool WaitForHealth(const std::string& address, ServingStatus wanted,
                   std::chrono::milliseconds timeout) {
  return PollHealth(address, timeout, [&](ServingStatus s) { return s == wanted; }).has_value();
}

std::optional<ServingStatus> WaitForHealthAnswer(const std::string& address,
                                                 std::chrono::milliseconds timeout) {
  return PollHealth(address, timeout, [](ServingStatus) { return true; });
}

}  // namespace tokenstore::testing
