// An in-memory network with real threads, for running ReplicaCore nodes concurrently (under
// ThreadSanitizer, label tsan), where the simulated network (sim_network.h) runs them on one
// thread.
//
// A node's calls to a peer go through PeerBatchers, a GetRegister lane and a Store lane per
// peer as GrpcPeerTransport makes them, with one DeadlineWatch for the whole network. Each
// Batch is answered by the callee's AnswerBatch (replica/batch_handler.h), as the gRPC
// service answers it, on a task of the network's thread pool; the reply is delivered on
// another task. Crash-stop marks are honoured as AnswerBatch honours them: the silent
// entries' calls fail at their deadline, on the watch's thread. Probes and Hellos are not
// batched: answered on the pool too, except that a probe about a token the callee is
// crash-stopped for fails at once with DEADLINE_EXCEEDED (these tests never rebuild).
// No other faults: nothing is dropped or delayed on purpose.
//
// Thread-safety: safe for concurrent use; add every node before its peers call it.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/mutex.h"
#include "replica/deadline_watch.h"
#include "replica/executor.h"
#include "replica/peer_transport.h"
#include "replica/replica_core.h"

namespace tokenstore::testing {

class ThreadedNetwork {
 public:
  explicit ThreadedNetwork(unsigned threads);
  ~ThreadedNetwork();  // Close()
  ThreadedNetwork(const ThreadedNetwork&) = delete;
  ThreadedNetwork& operator=(const ThreadedNetwork&) = delete;

  // `core` must stay alive until Close() returned.
  void AddNode(const std::string& node, ReplicaCore* core);
  // The outgoing side of `node`; lives as long as the network.
  PeerTransport& TransportOf(const std::string& node);

  // Fails the calls still waiting for an answer or their deadline (UNAVAILABLE) and later
  // calls at once, stops the watch, and runs what the pool still holds; deliveries posted
  // from then on run on the posting thread.
  void Close();

  // Over all lanes: batches sent so far, the calls they carried, and the calls not ended yet.
  struct Traffic {
    uint64_t batches = 0;
    uint64_t entries = 0;
    uint64_t pending = 0;
  };
  Traffic traffic();

 private:
  class NodeTransport;

  // Runs `task` on the pool; on the calling thread once closed.
  void Post(std::function<void()> task);
  ReplicaCore* Find(const std::string& node);

  DeadlineWatch watch_;
  Mutex mu_;
  std::map<std::string, ReplicaCore*> nodes_ GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<NodeTransport>> transports_ GUARDED_BY(mu_);
  std::unique_ptr<ThreadPool> pool_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
};

}  // namespace tokenstore::testing
