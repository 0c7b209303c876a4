#include "client/node_transport.h"

#include <algorithm>
#include <map>
#include <thread>
#include <utility>

#include "common/mutex.h"
#include "proto/convert.h"

namespace tokenstore {
namespace {

using Clock = std::chrono::steady_clock;

// gRPC deadlines are wall-clock; our bookkeeping is on the steady clock.
std::chrono::system_clock::time_point ToSystem(Clock::time_point t) {
  if (t == Clock::time_point::max()) return std::chrono::system_clock::time_point::max();
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(t - Clock::now());
}

grpc::Status ClientDeadline() {
  return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded");
}

// ---- unary ----

// One unary call: owns what gRPC writes into until its callback has run.
class UnaryCall final : public NodeCall {
 public:
  void Cancel() override { ctx_.TryCancel(); }

  template <typename Request, typename Response, typename Method, typename Put>
  static std::shared_ptr<NodeCall> Run(Clock::time_point deadline, const Request& req,
                                       Method method, Put put, NodeCallDone done) {
    auto call = std::make_shared<UnaryCall>();
    call->ctx_.set_deadline(ToSystem(deadline));
    auto state = std::make_shared<std::pair<Request, Response>>(req, Response());
    method(&call->ctx_, &state->first, &state->second,
           [call, state, put, done = std::move(done)](grpc::Status st) {
             v1::SessionResult r;
             if (st.ok()) {
               put(r, std::move(state->second));
             } else {
               call->TakeAttachedConfig(&r);
             }
             done(st, std::move(r));
           });
    return call;
  }

 private:
  // A refusal's attached configuration (trailing metadata, a serialized TokenConfig) into
  // `r->config`. Called in the call's callback, once the trailing metadata is in.
  void TakeAttachedConfig(v1::SessionResult* r) {
    const auto& trailers = ctx_.GetServerTrailingMetadata();
    auto it = trailers.find(kConfigMetadataKey);
    if (it == trailers.end()) return;
    if (!r->mutable_config()->ParseFromArray(it->second.data(),
                                             static_cast<int>(it->second.size()))) {
      r->clear_config();  // damaged: as if none was attached
    }
  }

  grpc::ClientContext ctx_;
};

class UnaryTransport final : public NodeTransport {
 public:
  explicit UnaryTransport(const Security& security) : security_(security) {}

  std::shared_ptr<NodeCall> Start(const std::string& node, v1::SessionOp op,
                                  Clock::time_point deadline, NodeCallDone done) override {
    v1::TokenService::StubInterface::async_interface* a = StubFor(node)->async();
    switch (op.op_case()) {
      case v1::SessionOp::kWrite:
        return UnaryCall::Run<v1::WriteRequest, v1::WriteResponse>(
            deadline, op.write(),
            [a](auto* c, auto* q, auto* p, auto cb) { a->Write(c, q, p, std::move(cb)); },
            [](v1::SessionResult& r, v1::WriteResponse p) { *r.mutable_write() = std::move(p); },
            std::move(done));
      case v1::SessionOp::kRead:
        return UnaryCall::Run<v1::ReadRequest, v1::ReadResponse>(
            deadline, op.read(),
            [a](auto* c, auto* q, auto* p, auto cb) { a->Read(c, q, p, std::move(cb)); },
            [](v1::SessionResult& r, v1::ReadResponse p) { *r.mutable_read() = std::move(p); },
            std::move(done));
      case v1::SessionOp::kCreate:
        return UnaryCall::Run<v1::CreateRequest, v1::CreateResponse>(
            deadline, op.create(),
            [a](auto* c, auto* q, auto* p, auto cb) { a->Create(c, q, p, std::move(cb)); },
            [](v1::SessionResult& r, v1::CreateResponse p) { *r.mutable_create() = std::move(p); },
            std::move(done));
      case v1::SessionOp::kDrop:
        return UnaryCall::Run<v1::DropRequest, v1::DropResponse>(
            deadline, op.drop(),
            [a](auto* c, auto* q, auto* p, auto cb) { a->Drop(c, q, p, std::move(cb)); },
            [](v1::SessionResult& r, v1::DropResponse p) { *r.mutable_drop() = std::move(p); },
            std::move(done));
      case v1::SessionOp::OP_NOT_SET:
        break;
    }
    done(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no operation"), {});
    return nullptr;
  }

 private:
  v1::TokenService::Stub* StubFor(const std::string& node) {
    MutexLock lock(&mu_);
    std::unique_ptr<v1::TokenService::Stub>& stub = stubs_[node];
    if (!stub) stub = v1::TokenService::NewStub(security_.NewNodeChannel(node));
    return stub.get();
  }

  const Security security_;
  Mutex mu_;
  std::map<std::string, std::unique_ptr<v1::TokenService::Stub>> stubs_ GUARDED_BY(mu_);
};

// ---- session ----

// Fails operations whose deadline passed: one thread, woken for the earliest deadline.
class DeadlineTimer {
 public:
  using Key = std::pair<Clock::time_point, uint64_t>;

  DeadlineTimer() : thread_([this] { Run(); }) {}
  ~DeadlineTimer() {
    {
      MutexLock lock(&mu_);
      stopping_ = true;
      cv_.SignalAll();
    }
    thread_.join();
  }

  Key Add(Clock::time_point when, std::function<void()> fn) {
    MutexLock lock(&mu_);
    const Key key{when, next_id_++};
    const bool earliest = due_.empty() || when < due_.begin()->first.first;
    due_.emplace(key, std::move(fn));
    if (earliest) cv_.SignalAll();
    return key;
  }

  void Remove(const Key& key) {
    MutexLock lock(&mu_);
    due_.erase(key);
  }

 private:
  void Run() {
    MutexLock lock(&mu_);
    while (!stopping_) {
      if (due_.empty()) {
        cv_.Wait(&mu_);
        continue;
      }
      auto first = due_.begin();
      // A copy: Remove may erase the entry (and its key) while this thread waits.
      const Clock::time_point when = first->first.first;
      if (Clock::now() < when) {
        cv_.WaitUntil(&mu_, when);
        continue;
      }
      std::function<void()> fn = std::move(first->second);
      due_.erase(first);
      lock.Unlock();
      fn();
      lock.Lock();
    }
  }

  Mutex mu_;
  CondVar cv_;
  std::map<Key, std::function<void()>> due_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// One open Session stream to one node. Operations queue in `outbox_` while a message is on
// its way and leave together in the next one. The stream keeps itself alive (`self_`) until
// gRPC calls OnDone; a hold keeps gRPC from ending it while a write may still be started.
class SessionStream final
    : public grpc::ClientBidiReactor<v1::SessionRequest, v1::SessionResponse>,
      public std::enable_shared_from_this<SessionStream> {
 public:
  SessionStream(v1::TokenService::Stub* stub, DeadlineTimer* timer) : stub_(stub), timer_(timer) {}

  void Begin() {
    self_ = shared_from_this();
    stub_->async()->Session(&ctx_, this);
    AddHold();
    StartRead(&response_);
    StartCall();
  }

  // Sends `op`; false (and nothing done) when the stream has broken: use a new one.
  bool Send(v1::SessionOp op, Clock::time_point deadline, NodeCallDone done, uint64_t* seq) {
    MutexLock lock(&mu_);
    if (broken_) return false;
    *seq = next_seq_++;
    op.set_seq(*seq);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    op.set_timeout_ms(static_cast<uint32_t>(std::clamp<int64_t>(left.count(), 1, UINT32_MAX)));
    Pending& p = pending_[*seq];
    p.done = std::move(done);
    if (deadline != Clock::time_point::max()) {
      p.timer_key = timer_->Add(deadline, [weak = weak_from_this(), s = *seq] {
        if (auto stream = weak.lock()) stream->Fail(s, ClientDeadline(), /*from_timer=*/true);
      });
      p.timed = true;
    }
    *outbox_.add_ops() = std::move(op);
    if (writing_) return true;  // leaves with the next write
    writing_ = true;
    request_.Swap(&outbox_);
    outbox_.Clear();
    lock.Unlock();
    StartWrite(&request_);
    return true;
  }

  // Ends one operation with `st` unless it has ended already.
  void Fail(uint64_t seq, const grpc::Status& st, bool from_timer = false) {
    NodeCallDone done;
    {
      MutexLock lock(&mu_);
      auto it = pending_.find(seq);
      if (it == pending_.end()) return;
      done = std::move(it->second.done);
      if (it->second.timed && !from_timer) timer_->Remove(it->second.timer_key);
      pending_.erase(it);
    }
    done(st, {});
  }

  bool broken() {
    MutexLock lock(&mu_);
    return broken_;
  }

  // Ends the stream; operations still pending fail with CANCELLED.
  void Close() { ctx_.TryCancel(); }

  void WaitDone() {
    MutexLock lock(&mu_);
    cv_.Wait(&mu_, [this]() REQUIRES(mu_) { return done_; });
  }

  // How the stream ended (what its pending operations were failed with), once gRPC said so;
  // waits for that until `deadline`.
  grpc::Status WaitEnd(Clock::time_point deadline) {
    MutexLock lock(&mu_);
    while (!done_ && Clock::now() < deadline) cv_.WaitUntil(&mu_, deadline);
    if (done_) return end_;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the session stream broke");
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the stream ended; OnDone says how
      Break();
      return;
    }
    std::vector<std::pair<NodeCallDone, v1::SessionResult>> ready;
    {
      MutexLock lock(&mu_);
      for (v1::SessionResult& r : *response_.mutable_results()) {
        auto it = pending_.find(r.seq());
        if (it == pending_.end()) continue;  // cancelled or timed out meanwhile
        if (it->second.timed) timer_->Remove(it->second.timer_key);
        ready.emplace_back(std::move(it->second.done), std::move(r));
        pending_.erase(it);
      }
    }
    response_.Clear();
    StartRead(&response_);
    for (auto& [done, r] : ready) {
      if (r.code() == 0) {
        done(grpc::Status::OK, std::move(r));
      } else {
        const grpc::Status st(static_cast<grpc::StatusCode>(r.code()), r.message());
        v1::SessionResult refusal;  // only what the node attached to its refusal
        if (r.has_config()) *refusal.mutable_config() = std::move(*r.mutable_config());
        done(st, std::move(refusal));
      }
    }
  }

  void OnWriteDone(bool ok) override {
    MutexLock lock(&mu_);
    if (!ok) broken_ = true;
    if (broken_ || outbox_.ops_size() == 0) {
      writing_ = false;
      const bool release = broken_ && !hold_released_;
      hold_released_ = hold_released_ || release;
      lock.Unlock();
      if (release) RemoveHold();
      return;
    }
    request_.Swap(&outbox_);
    outbox_.Clear();
    lock.Unlock();
    StartWrite(&request_);
  }

  void OnDone(const grpc::Status& status) override {
    std::map<uint64_t, Pending> pending;
    {
      MutexLock lock(&mu_);
      broken_ = true;
      pending.swap(pending_);
    }
    const grpc::Status st =
        status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "the node ended the session")
        : status.error_code() == grpc::StatusCode::UNAVAILABLE
            ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                           status.error_message() + " (session stream broken)")
            : status;
    {
      MutexLock lock(&mu_);
      end_ = st;
    }
    for (auto& [seq, p] : pending) {
      if (p.timed) timer_->Remove(p.timer_key);
      p.done(st, {});
    }
    std::shared_ptr<SessionStream> keep = std::move(self_);
    MutexLock lock(&mu_);
    done_ = true;
    cv_.SignalAll();
  }

 private:
  struct Pending {
    NodeCallDone done;
    DeadlineTimer::Key timer_key;
    bool timed = false;
  };

  // No more operations will be sent; gRPC may end the stream once no write is in flight.
  void Break() {
    MutexLock lock(&mu_);
    broken_ = true;
    const bool release = !writing_ && !hold_released_;
    hold_released_ = hold_released_ || release;
    lock.Unlock();
    if (release) RemoveHold();
  }

  v1::TokenService::Stub* const stub_;
  DeadlineTimer* const timer_;
  grpc::ClientContext ctx_;
  v1::SessionRequest request_;    // owned by the write in flight
  v1::SessionResponse response_;  // owned by the read in flight
  std::shared_ptr<SessionStream> self_;
  Mutex mu_;
  CondVar cv_;
  v1::SessionRequest outbox_ GUARDED_BY(mu_);
  std::map<uint64_t, Pending> pending_ GUARDED_BY(mu_);
  uint64_t next_seq_ GUARDED_BY(mu_) = 1;
  bool writing_ GUARDED_BY(mu_) = false;
  bool broken_ GUARDED_BY(mu_) = false;
  bool hold_released_ GUARDED_BY(mu_) = false;
  bool done_ GUARDED_BY(mu_) = false;
  grpc::Status end_ GUARDED_BY(mu_);  // set in OnDone
};

class SessionCall final : public NodeCall {
 public:
  SessionCall(std::weak_ptr<SessionStream> stream, uint64_t seq)
      : stream_(std::move(stream)), seq_(seq) {}
  void Cancel() override {
    if (auto s = stream_.lock()) s->Fail(seq_, grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled"));
  }

 private:
  std::weak_ptr<SessionStream> stream_;
  uint64_t seq_;
};

class SessionTransport final : public NodeTransport {
 public:
  explicit SessionTransport(const Security& security) : security_(security) {}

  ~SessionTransport() override {
    std::vector<std::shared_ptr<SessionStream>> streams;
    {
      MutexLock lock(&mu_);
      for (auto& [node, n] : nodes_) {
        if (n.stream) streams.push_back(n.stream);
        streams.insert(streams.end(), n.retired.begin(), n.retired.end());
      }
    }
    for (auto& s : streams) s->Close();
    for (auto& s : streams) s->WaitDone();
  }

  std::shared_ptr<NodeCall> Start(const std::string& node, v1::SessionOp op,
                                  Clock::time_point deadline, NodeCallDone done) override {
    if (Clock::now() >= deadline) {
      done(ClientDeadline(), {});
      return nullptr;
    }
    // A stream that broke is replaced by a new one; two tries cover a stream that breaks
    // between the lookup and the send.
    std::shared_ptr<SessionStream> stream;
    for (int attempt = 0; attempt < 2; ++attempt) {
      stream = StreamFor(node);
      uint64_t seq = 0;
      if (stream->Send(op, deadline, done, &seq)) {
        return std::make_shared<SessionCall>(stream, seq);
      }
    }
    // Broke before the operation could be sent (a node that refuses connections does that at
    // once): the operation fails the way the stream ended, e.g. "Connection refused".
    done(stream->WaitEnd(deadline), {});
    return nullptr;
  }

 private:
  struct Node {
    std::unique_ptr<v1::TokenService::Stub> stub;
    std::shared_ptr<SessionStream> stream;
    // Broken streams not yet ended: waited for at destruction.
    std::vector<std::shared_ptr<SessionStream>> retired;
  };

  std::shared_ptr<SessionStream> StreamFor(const std::string& node) {
    std::shared_ptr<SessionStream> fresh;
    {
      MutexLock lock(&mu_);
      Node& n = nodes_[node];
      if (!n.stub) n.stub = v1::TokenService::NewStub(security_.NewNodeChannel(node));
      if (n.stream && !n.stream->broken()) return n.stream;
      if (n.stream) n.retired.push_back(std::move(n.stream));
      std::erase_if(n.retired, [](const std::shared_ptr<SessionStream>& s) {
        return s.use_count() == 1 && s->broken();  // only ours left: it has ended
      });
      fresh = std::make_shared<SessionStream>(n.stub.get(), &timer_);
      n.stream = fresh;
      fresh->Begin();
    }
    return fresh;
  }

  const Security security_;
  DeadlineTimer timer_;  // before the streams: they use it until they have ended
  Mutex mu_;
  std::map<std::string, Node> nodes_ GUARDED_BY(mu_);
};

// gRPC 1.51 runs callback-API completions on a process-wide completion queue that lives while
// some channel that made a callback call lives, and is shut down and freed when the last such
// channel goes. Under AddressSanitizer, a client test that made and dropped many clients
// (hence channels) in a row hit a double free inside that teardown about once in 14 runs
// (grpc_cq_internal_unref on gRPC's own thread). One channel that made a callback call and is
// never destroyed keeps that queue for the life of the process, so it is never torn down
// and built again. The call goes nowhere (an expired deadline); the channel connects to
// nothing.
void KeepCallbackQueueAlive() {
  struct Kept {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::TokenService::Stub> stub;
    grpc::ClientContext ctx;
    v1::ReadRequest req;
    v1::ReadResponse resp;
  };
  // Reachable from this static pointer for the life of the process (not a leak).
  static Kept* const kept = [] {
    auto* k = new Kept;
    k->channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
    k->stub = v1::TokenService::NewStub(k->channel);
    k->ctx.set_deadline(std::chrono::system_clock::now());
    k->stub->async()->Read(&k->ctx, &k->req, &k->resp, [](grpc::Status) {});
    return k;
  }();
  (void)kept;
}

}  // namespace

std::unique_ptr<NodeTransport> NewUnaryTransport(const Security& security) {
  KeepCallbackQueueAlive();
  return std::make_unique<UnaryTransport>(security);
}

std::unique_ptr<NodeTransport> NewSessionTransport(const Security& security) {
  KeepCallbackQueueAlive();
  return std::make_unique<SessionTransport>(security);
}

}  // namespace tokenstore
