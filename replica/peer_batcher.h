// Coalesces the GetRegister and Store calls a node makes to one peer into Batch RPCs
// (proto/replication.proto), so that a busy node pays gRPC's per-call cost, and the peer its
// per-write sync, once per batch instead of once per call.
//
// Adaptive, without timers: a call is sent at once while fewer than `max_in_flight` batches
// occupy the peer's lane (so a lone call costs about what a unary call did); calls made
// while that many are in flight wait, and leave together in the next batch as soon as one
// leaves the lane. The busier the peer, the larger the batches.
//
// A batch occupies the lane while its RPC is outstanding and at least one of its calls still
// waits for its answer. Once none does (each one expired at its deadline or was cancelled),
// the batch leaves the lane at once and its RPC is cancelled through the handle `send`
// returned: a peer that black-holes an RPC (a partition that drops packets) delays later
// calls only until the calls of that batch gave up, not until the batch's own deadline.
// Once the RPC comes back (answered or failed), the batch leaves the lane too, also when
// some of its calls got no result (fail-silent entries, below): they wait for their deadline
// without holding the lane.
//
// Every call keeps the PeerTransport contract (replica/peer_transport.h) on its own:
// - a call whose deadline passed before it could be sent fails with DEADLINE_EXCEEDED and is
//   not sent;
// - a call not answered by its deadline fails with DEADLINE_EXCEEDED at its deadline (on the
//   DeadlineWatch's thread), also while the batch carrying it is still in flight. A batch's
//   own deadline is the latest of its calls', capped at `max_batch_time` from its sending;
// - the peer gives no answer at all about tokens it is crash-stopped for (fail-silent per
//   token): such a call stays pending until its deadline, while the other calls of the same
//   batch are answered as usual, so the token's quorum waits for other replicas;
// - cancelling a call fails it with CANCELLED at once, on the cancelling thread; a call still
//   waiting is then not sent, and the answer of one in flight is ignored;
// - a batch that fails as a whole (peer down: UNAVAILABLE) fails each of its calls with that
//   status;
// - a call is answered only by a result in the response to the batch that carried it, the
//   first one for its id; results repeated or naming any other call are ignored.
// Whoever ends the last waiting call of a batch in flight (the watch, a cancel) also sends
// the calls queued behind it, on its own thread.
//
// Thread-safety: safe for concurrent use. Callbacks, `send` and the RPC cancel handles run
// with no lock of the batcher held, on the thread that completed them (the send callback's,
// the watch's, or the caller's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "replica/deadline_watch.h"
#include "replica/peer_transport.h"
#include "replication.pb.h"

namespace tokenstore {

class PeerBatcher : public std::enable_shared_from_this<PeerBatcher> {
 public:
  // Sends one Batch RPC; `done` runs exactly once (possibly before `send` returns), with OK
  // and the peer's response, or with the error of the RPC as a whole. Returns a handle that
  // cancels the RPC (`done` then runs soon, with CANCELLED unless the answer came first), or
  // an empty one when the RPC cannot be cancelled; the handle follows the CancelFn contract
  // of replica/peer_transport.h.
  using SendFn =
      std::function<CancelFn(v1::BatchRequest request, Clock::time_point deadline,
                             std::function<void(Status, const v1::BatchResponse&)> done)>;

  struct Options {
    size_t max_in_flight = 1;   // batches in flight to the peer at once
    size_t max_entries = 1024;  // calls per batch at most
    Clock::duration max_batch_time = std::chrono::seconds(60);
  };

  // Registers with `watch`, which must outlive the batcher's use (until Close()).
  static std::shared_ptr<PeerBatcher> Create(std::string peer, SendFn send, DeadlineWatch& watch,
                                             Options options);

  // `fingerprint` is the caller's view of the token (PeerTransport).
  CancelFn GetRegister(const std::string& token, uint64_t fingerprint, Clock::time_point deadline,
                       std::function<void(StatusOr<Register>)> done);
  CancelFn Store(const std::string& token, uint64_t fingerprint, const Register& reg,
                 Clock::time_point deadline, std::function<void(StatusOr<Stamp>)> done);

  // Fails every pending call with `status` and every later one at once. The RPCs of batches
  // in flight are cancelled; they still complete through `send`, but their answers are then
  // ignored.
  void Close(const Status& status);

  // Fails the calls whose deadline is not after `now`; returns the earliest deadline left
  // (time_point::max() when none). Called by the DeadlineWatch.
  Clock::time_point Expire(Clock::time_point now);

  // For tests and diagnostics: batches sent so far, calls they carried, and batches that left
  // the lane before their RPC came back (none of their calls waited any more).
  uint64_t batches_sent() const;
  uint64_t entries_sent() const;
  uint64_t batches_abandoned() const;
  // Calls not ended yet: waiting to be sent, in flight, or left without an answer.
  size_t pending() const;

 private:
  struct Pending {
    bool is_store = false;
    Clock::time_point deadline;
    std::multimap<Clock::time_point, uint64_t>::iterator by_deadline;
    uint64_t batch = 0;  // the batch that carried it; 0 while it waits to be sent
    std::function<void(StatusOr<Register>)> on_get;
    std::function<void(StatusOr<Stamp>)> on_store;
  };
  // A finished call: its callbacks, and the answer to give them.
  struct Outcome {
    Pending call;
    Status status;                            // the call's error, if not OK
    const v1::BatchResult* result = nullptr;  // the answer, when OK
  };

  // A batch in the lane.
  struct InFlight {
    size_t waiting = 0;  // its calls still pending
    CancelFn cancel;     // cancels its RPC; empty until `send` returned
  };
  // What a section under mu_ finished: outcomes to deliver and RPCs to cancel, after unlocking.
  struct Finished {
    std::vector<Outcome> outcomes;
    std::vector<CancelFn> cancels;
  };

  PeerBatcher(std::string peer, SendFn send, DeadlineWatch& watch, Options options);

  CancelFn Enqueue(std::unique_ptr<v1::BatchEntry> entry, Pending call);
  void Cancel(uint64_t id);
  // Removes the call from the pending set; false when it is not there. When it was the last
  // call waiting in a batch in flight, the batch leaves the lane and its RPC is added to
  // `out->cancels`.
  bool TakeLocked(uint64_t id, Finished* out, const Status& status,
                  const v1::BatchResult* result = nullptr) REQUIRES(mu_);
  // Takes the calls to send next out of the queue; fails those whose deadline passed into
  // `expired`.
  v1::BatchRequest NextBatchLocked(Clock::time_point now, std::vector<uint64_t>* ids,
                                   Clock::time_point* latest, Finished* expired) REQUIRES(mu_);
  // Sends batches while the in-flight limit allows. Releases mu_ while sending.
  void Pump() REQUIRES(mu_);
  void OnBatchDone(uint64_t batch, std::vector<uint64_t> ids, Status status,
                   const v1::BatchResponse& response);
  // Cancels the RPCs, then runs the callbacks. REQUIRES: mu_ not held.
  static void Deliver(Finished& finished);

  const std::string peer_;
  const SendFn send_;
  DeadlineWatch& watch_;
  Options options_;

  mutable Mutex mu_;
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
  std::unordered_map<uint64_t, Pending> pending_ GUARDED_BY(mu_);
  std::multimap<Clock::time_point, uint64_t> by_deadline_ GUARDED_BY(mu_);
  std::deque<std::unique_ptr<v1::BatchEntry>> queue_ GUARDED_BY(mu_);  // not yet sent
  uint64_t next_batch_ GUARDED_BY(mu_) = 1;
  std::unordered_map<uint64_t, InFlight> in_flight_ GUARDED_BY(mu_);  // the lane
  Status closed_ GUARDED_BY(mu_);                                     // set by Close
  bool is_closed_ GUARDED_BY(mu_) = false;
  uint64_t batches_sent_ GUARDED_BY(mu_) = 0;
  uint64_t entries_sent_ GUARDED_BY(mu_) = 0;
  uint64_t batches_abandoned_ GUARDED_BY(mu_) = 0;
};

}  // namespace tokenstore
