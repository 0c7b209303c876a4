// A gRPC call by method path with messages as bytes (grpc::GenericStub over a completion
// queue), for talking to services whose generated code this build does not have: gRPC's
// health checking and server reflection (tests/ops_probe.proto mirrors their messages).
// Works for unary and streaming methods alike: Write and Read as the method expects.
//
// Thread-safety: one thread drives one call.
#pragma once

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace tokenstore::testing {

class RawCall {
 public:
  // Starts `method` ("/package.Service/Method") on `channel`; the call ends by `timeout`.
  RawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
          std::chrono::milliseconds timeout);
  ~RawCall();  // finishes the call if Finish() was not called
  RawCall(const RawCall&) = delete;
  RawCall& operator=(const RawCall&) = delete;

  bool Write(const std::string& message);
  bool WritesDone();
  // The next message, or nullopt when the stream ended (or the call failed).
  std::optional<std::string> Read();
  grpc::Status Finish();

  // One request, one response: for unary methods.
  static grpc::Status Unary(const std::shared_ptr<grpc::Channel>& channel,
                            const std::string& method, const std::string& request,
                            std::string* response,
                            std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  bool Wait();  // the result of the operation just started

  grpc::GenericStub stub_;
  grpc::ClientContext ctx_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  bool started_ = false;
  std::optional<grpc::Status> status_;
};

}  // namespace tokenstore::testing
