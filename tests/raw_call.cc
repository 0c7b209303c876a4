#include "tests/raw_call.h"

namespace tokenstore::testing {

RawCall::RawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                 std::chrono::milliseconds timeout)
    : stub_(channel) {
  ctx_.set_deadline(std::chrono::system_clock::now() + timeout);
  call_ = stub_.PrepareCall(&ctx_, method, &cq_);
  call_->StartCall(this);
  started_ = Wait();
}

RawCall::~RawCall() {
  if (!status_) Finish();
  cq_.Shutdown();
  void* tag;
  bool ok;
  while (cq_.Next(&tag, &ok)) {
  }
}

bool RawCall::Wait() {
  void* tag = nullptr;
  bool ok = false;
  return cq_.Next(&tag, &ok) && ok;
}

bool RawCall::Write(const std::string& message) {
  if (!started_) return false;
  grpc::Slice slice(message);
  grpc::ByteBuffer buffer(&slice, 1);
  call_->Write(buffer, this);
  return Wait();
}

bool RawCall::WritesDone() {
  if (!started_) return false;
  call_->WritesDone(this);
  return Wait();
}

std::optional<std::string> RawCall::Read() {
  if (!started_) return std::nullopt;
  grpc::ByteBuffer buffer;
  call_->Read(&buffer, this);
  if (!Wait()) return std::nullopt;
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return std::nullopt;
  std::string out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

grpc::Status RawCall::Finish() {
  if (status_) return *status_;
  grpc::Status st;
  call_->Finish(&st, this);
  Wait();
  status_ = st;
  return st;
}

grpc::Status RawCall::Unary(const std::shared_ptr<grpc::Channel>& channel,
                            const std::string& method, const std::string& request,
                            std::string* response, std::chrono::milliseconds timeout) {
  RawCall call(channel, method, timeout);
  call.Write(request);
  call.WritesDone();
  std::optional<std::string> got = call.Read();
  grpc::Status st = call.Finish();
  if (st.ok() && got) *response = std::move(*got);
  return st;
}

}  // namespace tokenstore::testing
