// The life of a replica node across its starts: which data dir it runs on, whether that dir
// can be trusted, and the rebuild of a dir that cannot (SPEC section 10).
//
// A data dir records an identity: the cluster, the node, an incarnation (raised whenever the
// node's registers had to be rebuilt), the incarnation's origin (the random number that breaks
// ties between timestamps of different writer incarnations, common/token_value.h), and its
// last start: a boot counter and a random run. Peers remember the last start they heard of
// each node (incarnation, boot, run), so an older copy of a dir gives itself away.
//
// A start is announced only after a check found the dir current, and the dir records it
// before announcing it: so every start a peer heard of is one the dir (or a later state of
// it) recorded, and a start that crashes before its check ends leaves no trace at all. A
// peer records an announced start only when it continues the one it heard of before
// (Explains below); a start of a diverged copy (a fork) never replaces it.
//
// How a node starts:
//   no identity   (empty or new dir)  kFresh: asks every peer. All answered and none holds
//                 data: a new cluster: records its identity, then kStarting (announcing).
//                 Some peer holds data or rebuilds: this node lost its data: kRebuilding.
//                 Else wait.
//   identity      (intact or restored) kStarting, in two steps. Check: a Hello that changes
//                 nothing; a peer heard of a start the dir does not explain (a later
//                 incarnation or boot, or another run of its boot): the dir is an older copy:
//                 kRebuilding. Every peer answered (or some did, after `start_rounds`): the
//                 dir records the next boot and a new run. Announce: a Hello of that start,
//                 which the peers record; answered the same way: serve.
//   identity with state rebuilding (a crash mid-rebuild), or --rebuild: kRebuilding.
// Rebuilding token T (n replicas; r = a majority of the n - 1 others): probe every other
// replica. Done when r of them serve T (the highest stamp of all answers is stored durably),
// or when all n - 1 answered and no replica holds anything for T. Refused when fewer than r
// could ever serve T (more than a minority lost their data) while some copy holds data: a
// rebuild could then miss acknowledged writes, so the node stops and says so, unless
// accept_data_loss. A rebuild ends only once a majority of the peers answered its Hello
// without having heard of this incarnation number before: a peer that did makes it take a
// higher one (the same origin), so the numbers of two incarnations that served are never
// equal (the majorities they were told to intersect).
//
// What counts in a quorum (Acknowledges): a node acknowledges Stores, and its registers
// count (GetRegister answers, a probe's "serving", its own part of the operations it
// coordinates), only once its current start is recorded by its peers: once it serves (the
// announce was answered), or, rebuilding, once a majority of its peers recorded this
// incarnation; from then on tokens are served one by one as they are rebuilt. Before that a
// copy of the dir taken before this start would pass its check (no peer heard of anything
// the copy does not explain) and forget what this start acknowledged. Stores that arrive
// before are still applied (they only move a register forward), only not acknowledged; in
// kFresh, where the node has not decided yet whether it is new, they are not applied either.
//
// Pure logic over RegisterStore and PeerTransport: the unit tests drive it over the simulated
// network, and a driver (ReplicaServer) calls Advance() until the node serves.
//
// Thread-safety: Advance() is called by one driver at a time; everything else is safe to call
// concurrently (the state and the set of rebuilt tokens are read on every operation).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "common/thread_annotations.h"
#include "config/cluster_config.h"
#include "replica/peer_transport.h"
#include "storage/register_store.h"

namespace tokenstore {

struct LifecycleOptions {
  bool force_rebuild = false;     // --rebuild: the operator knows the data dir is a copy
  bool accept_data_loss = false;  // --accept-data-loss: rebuild from what answers, even unsafely
  bool skip_rebuild = false;      // --unsafe-bug skip-rebuild: serve whatever the dir holds
  // --new-cluster: an empty data dir serves after `start_rounds` rounds of Hellos even if
  // some peers did not answer (a cluster created while a member is unreachable); it still
  // rebuilds when a peer that answered holds data.
  bool new_cluster = false;
  // Rounds a restarted node waits for every peer's Hello before it serves with those that
  // answered (at least one).
  int start_rounds = 3;
  Clock::duration call_timeout = std::chrono::seconds(2);  // per Hello or probe
  // A rebuilding node sends its first probes only this long after it opened its data dir.
  // Until then a round still running elsewhere may have counted an acknowledgement this node
  // gave before it lost its data, and may complete after a probe answered without the value
  // (docs/model.md, "The rebuild race"); every such round ends within the operations' cap
  // (ReplicaOptions::max_op_time), so ReplicaCore sets this to that cap plus a margin for
  // clock rate differences.
  Clock::duration rebuild_quiet = Clock::duration::zero();
  // Draws incarnation origins and run numbers; empty: std::random_device.
  std::function<uint64_t()> random;
};

// What a data dir says of itself (the "identity" node record).
struct NodeIdentity {
  std::string cluster_id;
  std::string node;
  uint64_t incarnation = 0;
  uint64_t origin = 0;
  uint64_t boot = 0;
  uint64_t run = 0;
  bool rebuilding = false;

  friend bool operator==(const NodeIdentity&, const NodeIdentity&) = default;
};
std::string EncodeIdentity(const NodeIdentity& id);
// DATA_LOSS naming the field when `bytes` is not a record EncodeIdentity wrote.
StatusOr<NodeIdentity> DecodeIdentity(std::string_view bytes);

// What one Advance() found, for the driver's log, health and metrics.
struct LifecycleProgress {
  NodeState state = NodeState::kFresh;
  size_t tokens = 0;          // tokens this node keeps
  size_t tokens_ready = 0;    // of those, served (all of them once kServing)
  std::vector<std::string> waiting_for;  // peers that did not answer this round
  std::string event;          // what changed this round (empty when nothing did)
  bool again = false;         // the next step has nothing to wait for: run it at once
  // A rebuild waiting out LifecycleOptions::rebuild_quiet: nothing changes before then.
  Clock::time_point wait_until{};
  Status fatal;               // not OK: the node must stop (a refusal that says why)
};

class NodeLifecycle {
 public:
  // `token_ids` are the tokens `self` keeps. Everything passed in must outlive the lifecycle;
  // `clock` times its calls (ReplicaCore passes its own).
  NodeLifecycle(const ClusterConfig& config, std::string self,
                const std::vector<std::string>& token_ids, RegisterStore& store,
                PeerTransport& transport, LifecycleOptions options, const CoreClock& clock);

  // Reads the data dir's identity and decides how this start begins; a restart raises the
  // boot counter (durably) first. FAILED_PRECONDITION when the dir belongs to another node;
  // DATA_LOSS when its identity record is damaged.
  Status Open();

  NodeState state() const { return state_.load(std::memory_order_acquire); }
  // True when this node's register of `token` counts: it serves, or rebuilt that token and
  // Acknowledges().
  bool Serves(std::string_view token) const;
  // True when a Store acknowledged now may count toward a quorum: this start is recorded by
  // the peers (kServing, or kRebuilding once a majority of them recorded this incarnation).
  bool Acknowledges() const;
  // The origin of this node's writer incarnation (0 until it has an identity).
  uint64_t origin() const { return origin_.load(std::memory_order_acquire); }
  bool holds_data() const { return holds_data_.load(std::memory_order_relaxed); }
  // Tells the lifecycle that `reg` was stored here (it may now hold data).
  void NoteStored(const Register& reg);
  std::string identity_string() const;

  // How the rebuild finds a token's configuration: by default the file's. ReplicaCore gives
  // its own (docs/reconfiguration.md: a token's record decides over the file), so a new node
  // that a reconfiguration activated rebuilds from the new set. ABORTED (the token is sealed
  // here) waits; any other error means the node no longer keeps the token: nothing to rebuild.
  void SetConfigLookup(std::function<StatusOr<TokenReplication>(std::string_view)> lookup) {
    lookup_ = std::move(lookup);
  }

  // One step: Hellos or rebuild probes to the peers, then what follows from the answers.
  // `done` runs once, on any thread, after every call of the step finished.
  void Advance(std::function<void(LifecycleProgress)> done);

  // A peer's Hello: what this node knows of it, then (durably) its new boot.
  // FAILED_PRECONDITION when the caller belongs to another cluster.
  StatusOr<HelloReply> HandleHello(const std::string& from, const HelloArgs& args);

  // The peers: every other node that keeps a token with this one, sorted.
  const std::vector<std::string>& peers() const { return peers_; }

  // Whether a data dir whose identity is `dir` explains what a peer recorded of its node
  // (`peer_record`: the peer's record of it as that peer's store holds it; nullopt: none).
  // False: the peer heard of a start the dir never made, and a start on the dir must find it
  // an older copy (or a fork). The simulator's ground truth; DATA_LOSS for a damaged record.
  static StatusOr<bool> ExplainsPeerRecord(const NodeIdentity& dir,
                                           const std::optional<std::string>& peer_record);
  static std::string PeerRecordName(std::string_view node);

 private:
  // A start of a node: what a peer heard of it, or what its data dir recorded.
  struct PeerRecord {
    uint64_t incarnation = 0, boot = 0, run = 0;
    friend bool operator==(const PeerRecord&, const PeerRecord&) = default;
  };
  // Whether a data dir whose last start is `mine` explains that a peer heard of `seen`: an
  // earlier incarnation or boot, or this very start. Otherwise `seen` was announced by a dir
  // that went further than this one (this one is an older copy) or apart from it (a fork).
  static bool Explains(const PeerRecord& mine, const PeerRecord& seen);
  PeerRecord LastStart() const;  // the identity's incarnation, boot and run
  struct Round;

  uint64_t Random();
  HelloArgs MyHello() const;
  Status SaveIdentity(const NodeIdentity& id);
  void SetIdentity(const NodeIdentity& id);  // in memory only
  // REQUIRES: the driver (Advance) is the caller. Becomes kRebuilding with a new incarnation.
  Status BeginRebuild(uint64_t incarnation_floor, const std::string& cluster_id);
  void AdvanceHello(std::function<void(LifecycleProgress)> done);
  void AdvanceRebuild(std::function<void(LifecycleProgress)> done);
  void FinishHello(const std::vector<std::optional<HelloReply>>& replies,
                   LifecycleProgress& progress);
  // kRebuilding: `seen` (what `peer` had heard of this node) shows that another incarnation
  // already took this number: takes a higher one. Sets *renumbered then.
  Status CheckIncarnation(const std::string& peer, const HelloReply& seen, bool* renumbered,
                          std::string* event);
  // Decides token `t` from the probes' answers; sets *done when the token is rebuilt.
  Status DecideToken(const TokenReplication& t, const std::vector<std::optional<ProbeReply>>& answers,
                     const std::vector<std::string>& others, bool* done, std::string* event);
  // Sets the state and token counts of `p` from where the node is now.
  void FillCounts(LifecycleProgress& p) const;
  std::string DerivedClusterId() const;

  const ClusterConfig& config_;
  std::function<StatusOr<TokenReplication>(std::string_view)> lookup_;
  const std::string self_;
  const std::vector<std::string> token_ids_;
  RegisterStore& store_;
  PeerTransport& transport_;
  LifecycleOptions options_;
  const CoreClock& clock_;
  std::vector<std::string> peers_;

  std::atomic<NodeState> state_{NodeState::kFresh};
  std::atomic<uint64_t> origin_{0};
  std::atomic<bool> holds_data_{false};
  // kRebuilding: a majority of the peers recorded this incarnation (registered_).
  std::atomic<bool> rebuild_recorded_{false};

  mutable SharedMutex mu_;
  NodeIdentity identity_ GUARDED_BY(mu_);  // meaningful unless kFresh
  std::set<std::string, std::less<>> rebuilt_ GUARDED_BY(mu_);  // while kRebuilding
  std::map<std::string, PeerRecord, std::less<>> seen_ GUARDED_BY(mu_);

  Mutex hello_mu_;  // serializes HandleHello's read-compare-persist of a peer's record

  // Driver-only state (Advance is never run concurrently with itself; Open before it).
  // kStarting: false while checking; true once the dir recorded the next start, announced
  // since (continuing `announced_from_`; all 0 when the incarnation is new).
  bool announcing_ = false;
  PeerRecord announced_from_;
  int start_round_ = 0;
  Clock::time_point opened_at_{};  // when Open() ran: the quiet period of a rebuild starts
  std::set<std::string> registered_;  // peers that heard this incarnation's Hello
  Mutex random_mu_;
};

}  // namespace tokenstore
