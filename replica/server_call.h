// A unary server call that is finished exactly once: by its operation, or when its caller
// gives up (cancel or deadline). Fail-silent emulation parks a call by simply never
// finishing it from the operation's side: it then holds no thread, only this small object,
// until gRPC reports the caller gone.
//
// Usage in a callback-API handler:
//   auto* call = new ServerCall();
//   auto handle = call->handle();
//   ... later, on any thread:  if (auto* c = handle->Claim()) { fill response; c->Finish(st); }
//   return call;
//
// Thread-safety: Claim() may race with OnCancel() from any thread; exactly one wins.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>

#include "common/mutex.h"

namespace tokenstore {

class ServerCall final : public grpc::ServerUnaryReactor {
 public:
  class Handle {
   public:
    // Returns the call if the caller may finish it now (nobody did yet and the call is still
    // alive); the winner must call Finish() on it. nullptr otherwise.
    ServerCall* Claim() {
      MutexLock lock(&mu_);
      if (call_ == nullptr || claimed_) return nullptr;
      claimed_ = true;
      return call_;
    }
    // Set when the caller cancelled or its deadline passed; operations poll it.
    const std::shared_ptr<std::atomic<bool>>& cancelled() const { return cancelled_; }

   private:
    friend class ServerCall;
    Mutex mu_;
    ServerCall* call_ GUARDED_BY(mu_) = nullptr;  // null once the call is done
    bool claimed_ GUARDED_BY(mu_) = false;
    std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
  };

  ServerCall() : handle_(std::make_shared<Handle>()) { handle_->call_ = this; }

  const std::shared_ptr<Handle>& handle() const { return handle_; }

  // Finishes at once with `st` (for answers known before any asynchronous work).
  ServerCall* FinishNow(const grpc::Status& st) {
    if (ServerCall* c = handle_->Claim()) c->Finish(st);
    return this;
  }

  void OnCancel() override {
    handle_->cancelled_->store(true);
    if (ServerCall* c = handle_->Claim()) {
      c->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the caller gave up"));
    }
  }

  void OnDone() override {
    {
      MutexLock lock(&handle_->mu_);
      handle_->call_ = nullptr;
    }
    delete this;
  }

 private:
  std::shared_ptr<Handle> handle_;
};

}  // namespace tokenstore
