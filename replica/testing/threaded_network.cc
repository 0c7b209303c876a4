#include "replica/testing/threaded_network.h"

#include <atomic>
#include <utility>
#include <vector>

#include "replica/batch_handler.h"
#include "replica/peer_batcher.h"

namespace tokenstore::testing {
namespace {

// One Batch RPC in flight: completes exactly once, by its answer or its cancel handle.
class Rpc {
 public:
  using Done = std::function<void(Status, const v1::BatchResponse&)>;
  explicit Rpc(Done done) : done_(std::move(done)) {}

  void Finish(const Status& status, const v1::BatchResponse& response) {
    if (finished_.exchange(true)) return;
    Done done = std::move(done_);  // the only one to touch it: the batcher's reference goes
    done(status, response);
  }

 private:
  std::atomic<bool> finished_{false};
  Done done_;
};

Status AllowAll(const std::string&) { return Status::Ok(); }

}  // namespace

class ThreadedNetwork::NodeTransport final : public PeerTransport {
 public:
  NodeTransport(ThreadedNetwork& net, std::string self) : net_(net), self_(std::move(self)) {}

  CancelFn GetRegister(const std::string& node, const std::string& token, uint64_t fingerprint,
                       Clock::time_point deadline,
                       std::function<void(StatusOr<Register>)> done) override {
    return LanesTo(node).gets->GetRegister(token, fingerprint, deadline, std::move(done));
  }

  CancelFn Store(const std::string& node, const std::string& token, uint64_t fingerprint,
                 const Register& reg, Clock::time_point deadline,
                 std::function<void(StatusOr<Stamp>)> done) override {
    return LanesTo(node).stores->Store(token, fingerprint, reg, deadline, std::move(done));
  }

  CancelFn Probe(const std::string& node, const std::string& token, uint64_t fingerprint,
                 Clock::time_point, std::function<void(StatusOr<ProbeReply>)> done) override {
    return Unary<ProbeReply>(node, std::move(done),
                             [token, fingerprint, from = self_](ReplicaCore& core)
                                 -> StatusOr<ProbeReply> {
                               if (!core.MayAnswer(token)) {
                                 return Status::DeadlineExceeded("crash-stopped: no answer");
                               }
                               TOKENSTORE_RETURN_IF_ERROR(
                                   core.CheckPeerCall(token, from, fingerprint));
                               return core.HandleProbe(token);
                             });
  }

  CancelFn Hello(const std::string& node, const HelloArgs& args, Clock::time_point,
                 std::function<void(StatusOr<HelloReply>)> done) override {
    return Unary<HelloReply>(node, std::move(done), [args, from = self_](ReplicaCore& core) {
      return core.lifecycle().HandleHello(from, args);
    });
  }

  void Close() {
    std::vector<std::shared_ptr<PeerBatcher>> batchers;
    {
      MutexLock lock(&mu_);
      for (auto& [node, lanes] : lanes_) {
        batchers.push_back(lanes.gets);
        batchers.push_back(lanes.stores);
      }
    }
    for (auto& b : batchers) b->Close(Status::Unavailable("the network is closed"));
  }

  void AddTraffic(Traffic* total) {
    MutexLock lock(&mu_);
    for (auto& [node, lanes] : lanes_) {
      for (const auto& b : {lanes.gets, lanes.stores}) {
        total->batches += b->batches_sent();
        total->entries += b->entries_sent();
        total->pending += b->pending();
      }
    }
  }

 private:
  struct Lanes {
    std::shared_ptr<PeerBatcher> gets;
    std::shared_ptr<PeerBatcher> stores;
  };

  Lanes& LanesTo(const std::string& node) {
    MutexLock lock(&mu_);
    Lanes& lanes = lanes_[node];
    if (!lanes.gets) {
      PeerBatcher::SendFn send = [this, node](v1::BatchRequest request, Clock::time_point,
                                              Rpc::Done done) { return Send(node, std::move(request), std::move(done)); };
      lanes.gets = PeerBatcher::Create(node, send, net_.watch_, PeerBatcher::Options());
      lanes.stores = PeerBatcher::Create(node, send, net_.watch_, PeerBatcher::Options());
    }
    return lanes;
  }

  CancelFn Send(const std::string& to, v1::BatchRequest request, Rpc::Done done) {
    request.set_from(self_);
    auto rpc = std::make_shared<Rpc>(std::move(done));
    ThreadedNetwork& net = net_;
    net.Post([&net, to, request = std::move(request), rpc] {
      ReplicaCore* core = net.Find(to);
      if (core == nullptr) {
        return rpc->Finish(Status::Unavailable(to + " is not on the network"), {});
      }
      AnswerBatch(*core, request, AllowAll, [&net, rpc](v1::BatchResponse response) {
        net.Post([rpc, response = std::move(response)] { rpc->Finish(Status::Ok(), response); });
      });
    });
    return [rpc] { rpc->Finish(Status::Cancelled("cancelled by the caller"), {}); };
  }

  template <typename Reply>
  CancelFn Unary(const std::string& to, std::function<void(StatusOr<Reply>)> done,
                 std::function<StatusOr<Reply>(ReplicaCore&)> handle) {
    ThreadedNetwork& net = net_;
    net.Post([&net, to, done = std::move(done), handle = std::move(handle)]() mutable {
      ReplicaCore* core = net.Find(to);
      StatusOr<Reply> reply =
          core ? handle(*core) : StatusOr<Reply>(Status::Unavailable(to + " is not on the network"));
      net.Post([done = std::move(done), reply = std::move(reply)] { done(reply); });
    });
    return nullptr;
  }

  ThreadedNetwork& net_;
  const std::string self_;
  Mutex mu_;
  std::map<std::string, Lanes> lanes_ GUARDED_BY(mu_);
};

ThreadedNetwork::ThreadedNetwork(unsigned threads)
    : pool_(std::make_unique<ThreadPool>(threads, "ts-wire")) {}

ThreadedNetwork::~ThreadedNetwork() { Close(); }

void ThreadedNetwork::AddNode(const std::string& node, ReplicaCore* core) {
  MutexLock lock(&mu_);
  nodes_[node] = core;
}

PeerTransport& ThreadedNetwork::TransportOf(const std::string& node) {
  MutexLock lock(&mu_);
  auto& slot = transports_[node];
  if (!slot) slot = std::make_unique<NodeTransport>(*this, node);
  return *slot;
}

void ThreadedNetwork::Close() {
  std::vector<NodeTransport*> transports;
  {
    MutexLock lock(&mu_);
    for (auto& [node, t] : transports_) transports.push_back(t.get());
  }
  for (NodeTransport* t : transports) t->Close();
  watch_.Stop();
  std::unique_ptr<ThreadPool> pool;
  {
    MutexLock lock(&mu_);
    closed_ = true;
    pool = std::move(pool_);
  }
  pool.reset();  // runs what is queued; what that posts runs inline
}

ThreadedNetwork::Traffic ThreadedNetwork::traffic() {
  Traffic total;
  MutexLock lock(&mu_);
  for (auto& [node, t] : transports_) t->AddTraffic(&total);
  return total;
}

void ThreadedNetwork::Post(std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    if (!closed_) return pool_->Submit(std::move(task));
  }
  task();
}

ReplicaCore* ThreadedNetwork::Find(const std::string& node) {
  MutexLock lock(&mu_);
  auto it = nodes_.find(node);
  return it == nodes_.end() ? nullptr : it->second;
}

}  // namespace tokenstore::testing
