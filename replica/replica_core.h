// The protocol core of one replica node: read-impose write-majority (SPEC section 5) for
// every token whose replica set includes this node, plus the fail-silent marks (section 6).
//
// It is pure logic over three small interfaces — RegisterStore (disk), PeerTransport (the
// other replicas) and Executor (where blocking work runs) — so the unit tests drive it over
// an in-memory network, and the gRPC services are thin adapters around it.
//
// Client operations are asynchronous: each takes a callback that runs exactly once, on some
// thread, with the result. No lock is held across a network wait; a coordinator waits for a
// majority and never more; calls left behind are bounded by the operation's deadline.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/latency_histogram.h"
#include "common/mutex.h"
#include "common/status.h"
#include "common/token_value.h"
#include "config/cluster_config.h"
#include "hash/token_hash.h"
#include "replica/admission.h"
#include "replica/config_records.h"
#include "replica/executor.h"
#include "replica/final_cache.h"
#include "replica/node_lifecycle.h"
#include "replica/peer_transport.h"
#include "replica/request_validation.h"
#include "replica/store_committer.h"
#include "replica/timestamp_allocator.h"
#include "replica/unsafe_bug.h"
#include "storage/register_store.h"

namespace tokenstore {

struct ReplicaOptions {
  std::string self;                                  // this node's canonical access point
  RequestLimits limits;                              // id, name and range sizes
  AdmissionLimits admission;                         // client operations running at once
  Clock::duration max_op_time = std::chrono::seconds(60);  // cap on any operation's deadline
  // Cap on one Store round (a write's issue, a read's write-back) from its start: it fails
  // DEADLINE_EXCEEDED if no majority acknowledged it by then. A node that lost its disk waits
  // this long (plus a margin) before it rebuilds (LifecycleOptions::rebuild_quiet), so it
  // bounds how long a replaced disk keeps its node from serving.
  Clock::duration max_store_round_time = std::chrono::seconds(5);
  uint64_t timestamp_block = 1024;                   // timestamps reserved per disk sync
  MinHashOptions hash_options;
  UnsafeBug unsafe_bug = UnsafeBug::kNone;
  LifecycleOptions lifecycle;  // skip_rebuild is set from unsafe_bug
  // Issues of one write when replicas hold newer stamps of another writer incarnation.
  int max_issue_attempts = 3;
};

// What a client operation carries from its caller: when to give up, and a flag that the
// caller's cancellation sets.
struct OpContext {
  Clock::time_point deadline = Clock::time_point::max();
  std::shared_ptr<std::atomic<bool>> cancelled;  // may be null
  // The caller's view of the token (TokenReplication::Fingerprint); 0: not checked.
  uint64_t config_fingerprint = 0;
};

// What a write and a read return to the service (the client library has its own
// WriteResult and ReadResult, with the node that answered).
struct CoreWriteResult {
  uint64_t ts = 0;
  std::optional<HashMin> partial;  // nullopt when low == mid
};

struct CoreReadResult {
  uint64_t ts = 0;
  uint64_t origin = 0;               // with ts, the stamp of the register read
  uint64_t epoch = 0;                // and its configuration epoch (Stamp{epoch, ts, origin})
  TokenValue value;                  // kind is kDefined or kUndefined (dropped is NOT_FOUND)
  std::optional<HashMin> final_min;  // set when defined
  bool fast_path = false;            // the majority agreed; no write-back was needed
};

// What a reconfiguration call (docs/reconfiguration.md) answers: the token's state at this
// node, its configuration (the YAML's when no record decides) and its register.
struct ReconfigAnswer {
  std::optional<TokenConfigState> state;  // nullopt: no record decides, the YAML's holds
  ReplicaSet current;                     // the configuration the node is (or was) at
  std::optional<ReplicaSet> target;       // sealed: where it moves; retired: where it went
  Register reg;
};

struct ReplicaCounters {
  std::atomic<uint64_t> writes{0};
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> fast_reads{0};
  std::atomic<uint64_t> slow_reads{0};  // reads that imposed (wrote back) the value
  std::atomic<uint64_t> final_cache_hits{0};
  std::atomic<uint64_t> creates{0};
  std::atomic<uint64_t> drops{0};
  std::atomic<uint64_t> stores_applied{0};  // Store whose ts is the one held afterwards
  std::atomic<uint64_t> stores_ignored{0};  // Store older than the held register
  // How long a coordinator waits for a majority: from sending a round to its first majority
  // of answers, for rounds that reach one; the others are counted as failed.
  LatencyHistogram get_round_wait;
  LatencyHistogram store_round_wait;
  std::atomic<uint64_t> get_rounds_failed{0};
  std::atomic<uint64_t> store_rounds_failed{0};
};

class ReplicaCore {
 public:
  // Everything passed in must outlive the core. `storage_executor` runs disk syncs,
  // `hash_executor` runs hashing; they may be the same. `clock` is the only time the core
  // (and its lifecycle) reads: CoreClock::Real() in a server, virtual time in the simulator.
  ReplicaCore(const ClusterConfig& config, ReplicaOptions options, RegisterStore& store,
              PeerTransport& transport, Executor& storage_executor, Executor& hash_executor,
              const CoreClock& clock);

  // Loads the durable crash-stop marks and opens the node's lifecycle (NodeLifecycle::Open:
  // the data dir's identity and how this start begins). Call once before serving; the node
  // then serves once lifecycle().Advance() has brought it to kServing.
  Status Start();
  NodeLifecycle& lifecycle() { return lifecycle_; }
  const NodeLifecycle& lifecycle() const { return lifecycle_; }

  const std::string& self() const { return options_.self; }
  const ClusterConfig& config() const { return config_; }
  // The time the core goes by; adapters turn their callers' deadlines into it.
  const CoreClock& clock() const { return clock_; }
  // Ids of the tokens this node keeps (writer or reader), in configuration order.
  const std::vector<std::string>& token_ids() const { return token_ids_; }
  const ReplicaCounters& counters() const { return counters_; }
  // Client operations running now (admitted and not yet answered).
  size_t in_flight() const { return admission_.in_flight(); }

  // ---- Client operations (SPEC section 3). `done` runs exactly once. ----
  void Write(const WriteArgs& args, const OpContext& ctx,
             std::function<void(StatusOr<CoreWriteResult>)> done);
  void Read(const std::string& id, const OpContext& ctx,
            std::function<void(StatusOr<CoreReadResult>)> done);
  // Create and Drop return the ts of the value they wrote.
  void Create(const std::string& id, const OpContext& ctx,
              std::function<void(StatusOr<uint64_t>)> done);
  void Drop(const std::string& id, const OpContext& ctx,
            std::function<void(StatusOr<uint64_t>)> done);

  // ---- Replica side: what peers (and this node's own coordinator) call. ----
  // Checks a peer's call about `token` before any of the handlers below: this node keeps the
  // token, and `from` sees its replication as this node does (`fingerprint`, 0: not checked);
  // FAILED_PRECONDITION naming the token, both nodes and both views otherwise.
  Status CheckPeerCall(std::string_view token, std::string_view from, uint64_t fingerprint) const;
  // Cheap; never blocks on disk. UNAVAILABLE while this node does not serve the token.
  // `fingerprint` is the caller's view (0: not checked), compared with the node's as the
  // answer is taken, also for the node's own coordinator, whose view is the one it began with.
  StatusOr<Register> HandleGetRegister(std::string_view token, uint64_t fingerprint = 0);
  // A rebuilding peer's probe: answered in every state.
  StatusOr<ProbeReply> HandleProbe(std::string_view token);
  // Blocks until the register is synced: run it on a storage executor. UNAVAILABLE while the
  // node has no identity yet (kFresh), where it acknowledges nothing.
  StatusOr<Stamp> HandleStore(std::string_view token, const Register& reg,
                              uint64_t fingerprint = 0);
  // HandleStore of every item, synced together (RegisterStore::StoreIfNewerBatch); result i
  // answers items[i]. Blocks: run it on a storage executor.
  std::vector<StatusOr<Stamp>> HandleStoreBatch(std::span<const StoreItem> items);
  // HandleStoreBatch through the node's group commit (replica/store_committer.h): `done` runs
  // on the storage executor once the items are synced, together with the Stores that queued
  // up meanwhile. The node's own Stores as coordinator go the same way.
  void StoreBatchAsync(std::vector<StoreItem> items, StoreCommitter::Done done);

  // ---- Fail-silent emulation (SPEC section 6). ----
  // Whether an answer about `token` may leave this node now: the one rule every adapter
  // (the gRPC services, the simulator) follows. Asked when a call arrives (false: park it,
  // holding no thread, until its caller gives up) and again just before its answer is sent
  // (false: withhold it, so a mark set while the call ran silences it too); inside a batch,
  // per entry. An empty `token` (a call about no token, such as Hello) is always answered.
  bool MayAnswer(std::string_view token) const;
  // True when this node is crash-stopped for `token` (what an operator's dump shows).
  // Cheap (a shared lock and a set lookup).
  bool IsCrashed(std::string_view token) const;
  // Durably sets or clears the mark; returns whether it was set before.
  // NOT_FOUND when this node does not keep `token`.
  StatusOr<bool> SetCrashed(std::string_view token, bool crashed);

  // ---- Online reconfiguration (docs/reconfiguration.md). Each blocks on a disk sync when
  // it changes something: run it on a storage executor. ----
  // Seal the token at `from` towards `to` (`to`'s epoch is `from`'s plus one): from then on
  // this node answers nothing about it until Activate. Answers the register held once every
  // Store that began before the seal is over. FAILED_PRECONDITION when the node is sealed
  // towards another target or at another configuration than `from`.
  StatusOr<ReconfigAnswer> HandleSeal(std::string_view token, const ReplicaSet& from,
                                      const ReplicaSet& to);
  // The transfer: stores `reg` if newer. This node must be a replica of `to`.
  StatusOr<ReconfigAnswer> HandleInstall(std::string_view token, const ReplicaSet& to,
                                         const Register& reg);
  // Takes `to` as the token's configuration, or retires from the token when `to` does not
  // name this node.
  StatusOr<ReconfigAnswer> HandleActivate(std::string_view token, const ReplicaSet& to);
  // The token's state here, changing nothing.
  StatusOr<ReconfigAnswer> HandleTokenState(std::string_view token);
  // The configuration a refusal of a client's call about `token` attaches, for the client to
  // compare with its own: the node's (where the token went, once retired). nullopt while
  // sealed, or when the node knows no configuration of the token.
  std::optional<ReplicaSet> ConfigToAttach(std::string_view token) const;
  const ConfigRecords& config_records() const { return records_; }

  // ---- Validation shared with the adapters. ----
  // OK when `token` is configured and this node keeps it at its current configuration;
  // NOT_FOUND otherwise, ABORTED while it is sealed, FAILED_PRECONDITION once retired, and
  // FAILED_PRECONDITION when `fingerprint` (the caller's view; 0: not checked) is not the
  // node's view of the token now.
  Status CheckKeeps(std::string_view token, uint64_t fingerprint = 0) const;

 private:
  struct WriterState {
    Mutex mu;
    bool initialized GUARDED_BY(mu) = false;                     // learned from a quorum read
    uint64_t epoch GUARDED_BY(mu) = 0;  // the configuration epoch it was learned at
    ValueKind last_kind GUARDED_BY(mu) = ValueKind::kUndefined;  // kind of the last issued value
  };
  struct QuorumReadOutcome {
    Register reg;
    bool fast_path = false;
  };

  // The token's configuration at this node: its record's when the record's epoch is at least
  // the YAML's, else the YAML's. UNAVAILABLE while sealed, FAILED_PRECONDITION once retired,
  // NOT_FOUND when neither knows the token.
  StatusOr<TokenReplication> ActiveConfig(std::string_view id) const;
  // Client operations: the client's view must be the node's, then the role must fit.
  StatusOr<TokenReplication> CheckWriter(std::string_view id, const OpContext& ctx) const;
  StatusOr<TokenReplication> CheckReader(std::string_view id, const OpContext& ctx) const;
  // What the reconfiguration calls answer about `token` (ReconfigAnswer without the register).
  StatusOr<ReconfigAnswer> StateOf(std::string_view token) const;
  // At start: a record whose epoch equals its token's epoch in the file must be the same
  // configuration (else the start is refused, naming both); one older than the file gives
  // way to the file; one newer than the file decides, and the log says the file is older.
  Status CheckRecordsAgainstFile();
  // Takes a place for one client operation on `id` (admission control) and makes `done` give
  // it back just before it runs, so the caller may start its next operation as soon as it
  // has the answer. False, after answering `done` with the refusal, when there is no place.
  template <typename T>
  bool Admit(std::string_view id, std::function<void(T)>& done);
  OpContext Bounded(const OpContext& ctx) const;
  Status StopStatus(const OpContext& ctx) const;
  WriterState& WriterStateOf(const std::string& token);

  // Issues `value` with a fresh ts at the writer and stores it at a majority. A defined value
  // is refused (NOT_FOUND) when the last value the writer issued is a tombstone. Create and
  // drop are synced at the writer's own replica before any other sees them, so the writer's
  // recovery read after a restart (which counts its own register) finds them.
  void IssueValue(const TokenReplication& token, TokenValue value, const OpContext& ctx,
                  std::function<void(StatusOr<uint64_t>)> done);
  // One issue of `reg` (with a fresh ts); when replicas hold newer stamps of another writer
  // incarnation, moves above them and issues again, at most `attempts` times in all.
  void IssueAttempt(const TokenReplication& token, Register reg, const OpContext& ctx,
                    int attempts, std::function<void(StatusOr<uint64_t>)> done);
  // The refusal of a client operation while this node does not serve `id`, or when the
  // client's view of it differs.
  Status CheckServes(const TokenReplication& token, const OpContext& ctx) const;
  // Makes sure the writer knows the token's current kind (after a restart: by a quorum read).
  void EnsureWriterInitialized(const TokenReplication& token, const OpContext& ctx,
                               std::function<void(Status)> then);

  // Quorum rounds over the token's replicas; this node's own replica is called directly.
  void GetRound(const TokenReplication& token, const OpContext& ctx,
                std::function<void(StatusOr<std::vector<Register>>)> done);
  // `done` gets the round's status and, when a replica held a newer stamp of another origin
  // and `writer_issue` made that answer not count, the highest such stamp.
  void StoreRound(const TokenReplication& token, const Register& reg, const OpContext& ctx,
                  bool writer_issue, std::function<void(Status, std::optional<Stamp>)> done);
  // A round's error, with this node's own view added when a replica disagreed on it.
  // A failed issue of `reg`: RoundError, but UNAVAILABLE (outcome unknown) instead of
  // FAILED_PRECONDITION when this node's configuration of the token changed meanwhile.
  Status IssueError(const TokenReplication& token, const Register& reg, const Status& st) const;
  // ValidateTokenId, ActiveConfig, and this node must be one of its replicas (NOT_FOUND).
  StatusOr<TokenReplication> KeptConfig(std::string_view token) const;
  Status RoundError(const TokenReplication& token, const Status& st) const;
  // Read-impose: the highest register of a majority, written back unless they all agreed.
  void QuorumRead(const TokenReplication& token, const OpContext& ctx,
                  std::function<void(StatusOr<QuorumReadOutcome>)> done);
  void FinishRead(const TokenReplication& token, QuorumReadOutcome outcome, const OpContext& ctx,
                  std::function<void(StatusOr<CoreReadResult>)> done);

  const ClusterConfig& config_;
  const ReplicaOptions options_;
  const CoreClock& clock_;
  RegisterStore& store_;
  PeerTransport& transport_;
  Executor& storage_executor_;
  Executor& hash_executor_;
  TimestampAllocator allocator_;
  FinalCache final_cache_;
  ReplicaCounters counters_;
  std::vector<std::string> token_ids_;
  Admission admission_;
  NodeLifecycle lifecycle_;  // after token_ids_
  ConfigRecords records_;    // before committer_, whose Stores consult it
  StoreCommitter committer_;

  // Held shared by every Store (from the check that the node keeps the token to the answer)
  // and exclusively by a seal, so that a seal's register includes every Store acknowledged
  // before it and none is acknowledged after it.
  SharedMutex seal_mu_;
  Mutex reconfig_mu_;  // one reconfiguration call at a time

  mutable SharedMutex crashed_mu_;
  std::set<std::string, std::less<>> crashed_ GUARDED_BY(crashed_mu_);

  Mutex writers_mu_;
  // Held in the map's nodes (which never move): one allocation per token written here.
  std::map<std::string, WriterState, std::less<>> writers_ GUARDED_BY(writers_mu_);
};

}  // namespace tokenstore
