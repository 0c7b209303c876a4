#include "sim/simulation.h"

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "config/cluster_config.h"
#include "replica/replica_core.h"
#include "replica/testing/sim_network.h"
#include "sim/history_recorder.h"
#include "sim/invariants.h"
#include "sim/sim_disk.h"
#include "sim/sim_executor.h"

namespace tokenstore::sim {
namespace {

using namespace std::chrono_literals;
using Duration = testing::SimNetwork::Duration;

constexpr Duration kClientTimeout = 200ms;  // every client operation's deadline
constexpr Duration kBringUpLimit = 10s;     // for the first start of every node
constexpr Duration kDrainLimit = 30s;       // after the last operation, for what is left
// The simulated admin (token-admin reconfigure): each phase's calls wait this long for a
// majority, a phase is tried this many times in one run, and an interrupted run is resumed
// (the same target) at most this many times.
constexpr Duration kAdminCallTimeout = 30ms;
constexpr int kAdminPhaseAttempts = 6;
constexpr uint64_t kAdminMaxRuns = 40;
const char kAdmin[] = "admin";

bool SameConfig(const ReplicaSet& a, const ReplicaSet& b) {
  return a.epoch == b.epoch && a.Fingerprint() == b.Fingerprint();
}

std::string NodeAddress(int i) { return "127.0.0.1:" + std::to_string(7001 + i); }

enum class OpKind { kWrite, kRead, kCreate, kDrop };

// One client operation, from its invoke to its outcome at the client.
struct ClientOp {
  OpKind kind = OpKind::kRead;
  std::string client;
  std::string node;  // where the client sends it
  WriteArgs args;    // args.id is the token; the rest only for writes
  int64_t process = 0;
  bool answered = false;      // the client has its outcome (an answer or its timeout)
  bool dispatched = false;    // a core started it
  uint64_t core_process = 0;  // which process of `node` ran it
  int callbacks = 0;          // times the core's callback ran
  uint64_t view = 0;          // the fingerprint of the client's view of the token
};

struct Node {
  std::string address;
  std::unique_ptr<SimDisk> disk;
  std::unique_ptr<SimExecutor> storage;  // the current process's
  std::unique_ptr<ReplicaCore> core;     // null while the process is down
  uint64_t process = 0;                  // the current (or last) process, unique in the run
  bool lost_data = false;  // wiped or restored, and not serving since
  // Restored from a copy that must be found older, and not through its check yet; it may
  // crash meanwhile, any number of times (the check leaves no trace: docs/design.md, "Node
  // lifecycle"). It must be found older while one of `witnesses` keeps its disk: the peers
  // that, when the copy was restored, held a record of a start of this node that the copy
  // does not explain (a later start). A copy no peer can tell apart (every start after it
  // crashed before a peer recorded it) may pass for current: the nodes must then have
  // acknowledged nothing since the copy, which the history check judges.
  bool unconfirmed_copy = false;
  std::set<std::string> witnesses;
  int writes_in_flight = 0;  // writes (creates, drops) the current process coordinates
  // A copy of the disk taken while the node was stopped, and whether a peer that had heard
  // of a later start has lost that record since (its disk wiped or restored): the copy may
  // then be restored only while another peer still witnesses (docs/design.md, "Limits").
  std::unique_ptr<MemoryRegisterStore> backup;
  bool backup_witness_lost = false;
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& options);
  SimResult Run();

 private:
  // ---- randomness (one generator, consumed in event order) ----
  uint64_t Rand(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  Duration Between(Duration lo, Duration hi) {
    return Duration(std::uniform_int_distribution<int64_t>(lo.count(), hi.count())(rng_));
  }
  void Trace(std::string what);

  // ---- nodes ----
  void StartNode(Node& n);
  void CrashNode(Node& n);
  void AdvanceLifecycle(Node& n, uint64_t process);
  bool AllServing() const;
  // Whether `n` may lose its data now: for every token it keeps, at most a minority of the
  // replicas would then have lost theirs.
  bool MayLoseData(const Node& n) const;

  // ---- clients ----
  void ClientLoop(const std::string& client);
  std::shared_ptr<ClientOp> NewOp(const std::string& client);
  void Issue(const std::string& client);
  void Arrive(const std::shared_ptr<ClientOp>& op, Clock::time_point deadline);
  void Dispatch(const std::shared_ptr<ClientOp>& op, ReplicaCore& core, const OpContext& ctx);
  // The core's callback ran: counts it; false when no answer may leave (the process died,
  // or the token is fail-silent there).
  bool Answered(ClientOp& op, const ReplicaCore& core);
  // Carries an answer back to the client; `record` runs there unless the client gave up.
  void Reply(const std::shared_ptr<ClientOp>& op, std::function<void()> record);
  void RecordRead(const ClientOp& op, const StatusOr<CoreReadResult>& r);

  // ---- nemesis ----
  void Nemesis();
  void CrashAndRestart();
  // A random node's disk (or `target`'s) wiped, or replaced by its copy.
  void LoseDisk(bool restore, Node* target = nullptr);
  // The peers of `n` whose record of it the copy `backup` does not explain.
  std::set<std::string> Witnesses(const Node& n, MemoryRegisterStore& backup);
  // Whether one more process may go down now (a majority of them stays up).
  bool MayStopOneMore() const;
  void Partition();
  // Cuts the links from `side` to `other` (and back, when `both_ways`) for `how_long`.
  void Cut(const std::vector<std::string>& side, const std::vector<std::string>& other,
           bool both_ways, Duration how_long);
  void MarkCrashStopped();
  void Revive(const std::string& token, const std::string& node);
  // A running node that may be crashed now; with `writing`, one that coordinates a write if
  // there is one.
  Node* RandomRunningNode(bool writing = false);

  void CheckCallbacks();

  // ---- online reconfiguration (SimOptions::reconfigure; docs/simulation.md) ----
  enum class Phase { kSeal, kInstall, kActivate };
  struct Reconfig {
    ReplicaSet from, to;
    std::string kind;       // what it changes, for the trace
    uint64_t runs = 0;      // runs of the admin so far (the first and every resumption)
    bool running = false;   // false: interrupted; a later run resumes it, same target
  };
  // The file a process starts with: the last applied file (the operator distributes the file
  // token-admin wrote once a reconfiguration completed), the run's first file before any.
  const ClusterConfig& File() const { return files_.empty() ? config_ : *files_.back(); }
  std::string FileYaml() const;
  void Reconfigure();  // the nemesis's fault
  bool PlanReconfig(const std::string& token, Reconfig& rc);
  void StartRun(const std::string& token);
  void RunPhase(const std::string& token, uint64_t run, Phase phase, int attempt,
                Register highest);
  void StopRun(const std::string& token, const std::string& why);
  void Complete(const std::string& token, const std::set<std::string>& activated);
  void TellStragglers(const std::string& token, const ReplicaSet& to,
                      std::shared_ptr<std::set<std::string>> pending, int left);
  // Whether `node` is in the old or the new set of a reconfiguration in progress.
  bool Reconfiguring(const std::string& node) const;
  // The sets whose minority a fault about `token` must respect: its set, and while it is
  // reconfigured both the old and the new one.
  std::vector<std::vector<std::string>> SetsOf(const std::string& token) const;
  // A client's view of `token` (the run's first file until it adopts a newer one).
  const ReplicaSet& ViewOf(const std::string& client, const std::string& token);
  void Adopt(const std::string& client, const std::string& token,
             const std::optional<ReplicaSet>& attached);
  void CheckFinalConfigs();

  const SimOptions options_;
  std::mt19937_64 rng_;
  ClusterConfig config_;
  std::vector<std::unique_ptr<ClusterConfig>> files_;  // applied files; cores point into them
  std::map<std::string, ReplicaSet> current_;           // token -> its last completed config
  std::map<std::string, Reconfig> reconfigs_;           // token -> its reconfiguration under way
  std::map<std::string, std::map<std::string, ReplicaSet>> views_;  // client -> token -> view
  std::vector<std::string> tokens_;
  std::map<std::string, std::vector<std::string>> replicas_;  // token -> its replica set
  InlineExecutor inline_;
  uint64_t processes_ = 0;
  uint64_t seq_ = 0;  // names of written values
  uint64_t issued_ = 0, answered_ = 0;
  uint64_t partition_ = 0;  // the current partition's number (0: none)
  bool stopping_ = false;
  std::set<std::pair<std::string, std::string>> marks_;  // (token, node) crash-stopped
  std::vector<std::shared_ptr<ClientOp>> ops_;
  std::vector<TraceLine> trace_;
  SimStats stats_;

  // The network's pending events may hold operations of any process, current or dead, so
  // everything they refer to is declared before it (destroyed after it).
  std::map<std::string, Node> nodes_;
  std::vector<std::unique_ptr<ReplicaCore>> dead_cores_;
  std::vector<std::unique_ptr<SimExecutor>> dead_executors_;
  std::vector<std::unique_ptr<SimDisk>> old_disks_;
  testing::SimNetwork net_;
  Invariants invariants_{net_};
  HistoryRecorder history_{net_};
};

Simulation::Simulation(const SimOptions& options)
    : options_(options), rng_(options.seed), net_(options.seed * 0x9e3779b97f4a7c15ull + 1) {
  StatusOr<ClusterConfig> cfg = ParseClusterConfig(ClusterYaml(options_.replicas), "sim.yaml");
  config_ = std::move(cfg).value();  // ClusterYaml is valid by construction (sim_test)
  config_.ForEach([this](const TokenReplication& t) {
    tokens_.push_back(t.id);
    replicas_[t.id] = t.Replicas();
    current_[t.id] = *t.set;
    return true;
  });
  // Faults of the network, fixed for the run.
  net_.SetDelay(50us, 2000us);
  net_.SetSlowTail(0.05, 30ms);
  const double drops[] = {0, 0.01, 0.05};
  net_.SetDropProbability(drops[Rand(3)]);
  net_.SetDuplicateProbability(Chance(0.5) ? 0.02 : 0);
  for (const std::string& address : config_.Nodes()) {
    Node& n = nodes_[address];
    n.address = address;
    n.disk = std::make_unique<SimDisk>(address, std::make_unique<MemoryRegisterStore>(), invariants_);
  }
}

void Simulation::Trace(std::string what) {
  trace_.push_back(TraceLine{net_.elapsed().count() * 1000, std::move(what)});
}

// ---- nodes ----

void Simulation::StartNode(Node& n) {
  n.process = ++processes_;
  n.storage = std::make_unique<SimExecutor>(net_, [this] { return Between(20us, 500us); });
  ReplicaOptions o;
  o.self = n.address;
  o.unsafe_bug = options_.bug;
  o.timestamp_block = 4;
  o.limits.max_range = 1000;
  o.max_op_time = 1s;
  o.max_store_round_time = 1s;  // a rebuild waits 2 s (virtual) before its probes
  o.hash_options.max_threads = 1;
  o.lifecycle.random = [this] { return rng_(); };
  o.lifecycle.call_timeout = 50ms;
  // Wait for every peer's Hello before serving on an existing dir: a peer that heard of a
  // later start is then always asked (docs/design.md, "Limits").
  o.lifecycle.start_rounds = 1'000'000;
  n.core = std::make_unique<ReplicaCore>(File(), o, *n.disk, net_.TransportOf(n.address),
                                         *n.storage, inline_, net_);
  if (Status st = n.core->Start(); !st.ok()) {
    invariants_.Report(n.address + " failed to start: " + st.ToString());
    return;
  }
  net_.AddNode(n.address, n.core.get());
  if (n.unconfirmed_copy && n.core->lifecycle().state() == NodeState::kRebuilding) {
    ++stats_.copies_detected;  // copied mid-rebuild: it resumes the rebuild
    n.unconfirmed_copy = false;
  }
  if (n.backup && !stopping_ && Chance(0.25)) {
    // The copy restored while this start is under way (before its peers recorded it, or
    // soon after): a start that acknowledged Stores and crashed before any peer recorded it
    // must have acknowledged nothing the copy lacks (docs/design.md, "Node lifecycle").
    const uint64_t process = n.process;
    net_.After(Between(100us, 4ms), [this, &n, process] {
      if (n.process == process && n.core && n.backup && !stopping_ && !invariants_.violated()) {
        LoseDisk(/*restore=*/true, &n);
      }
    });
  }
  AdvanceLifecycle(n, n.process);
}

void Simulation::AdvanceLifecycle(Node& n, uint64_t process) {
  auto calls = std::make_shared<int>(0);
  n.core->lifecycle().Advance([this, &n, process, calls](LifecycleProgress p) {
    if (++*calls > 1) invariants_.Report("a lifecycle step of " + n.address + " ended twice");
    if (n.process != process || !n.core) return;  // the process died meanwhile
    if (!p.fatal.ok()) {
      // Not a safety violation: the node stops and says why (exit 3 of token-replica), and
      // stays down; the run goes on without it.
      ++stats_.refusals;
      Trace(n.address + " refused to start and stops: " + p.fatal.ToString());
      return CrashNode(n);
    }
    if (!p.event.empty()) Trace(n.address + ": " + p.event);
    if (n.unconfirmed_copy && p.state == NodeState::kRebuilding) ++stats_.copies_detected;
    if (n.unconfirmed_copy && p.state == NodeState::kServing) {
      invariants_.Report("a restored older copy of " + n.address + "'s data dir passed for current");
    }
    if (p.state != NodeState::kStarting) n.unconfirmed_copy = false;
    if (p.state == NodeState::kServing) {
      n.lost_data = false;
      return;
    }
    net_.After(Between(1ms, 10ms), [this, &n, process] {
      if (n.process == process && n.core) AdvanceLifecycle(n, process);
    });
  });
}

void Simulation::CrashNode(Node& n) {
  n.storage->Kill();  // the syncs not done yet are lost, with their acknowledgements
  n.writes_in_flight = 0;
  net_.Crash(n.address);
  dead_executors_.push_back(std::move(n.storage));
  dead_cores_.push_back(std::move(n.core));
}

bool Simulation::AllServing() const {
  return std::all_of(nodes_.begin(), nodes_.end(), [](const auto& entry) {
    const Node& n = entry.second;
    return n.core && n.core->lifecycle().state() == NodeState::kServing;
  });
}

bool Simulation::MayLoseData(const Node& n) const {
  // A seal is a durable record: a sealed replica that loses its disk is unsealed (it starts
  // again at its file's configuration), so no replica of either set of a reconfiguration
  // under way loses its data until the reconfiguration completed.
  if (Reconfiguring(n.address)) return false;
  if (n.lost_data) return true;
  for (const auto& [token, replicas] : replicas_) {
    if (std::find(replicas.begin(), replicas.end(), n.address) == replicas.end()) continue;
    size_t lost = 1;
    for (const std::string& r : replicas) lost += nodes_.at(r).lost_data ? 1 : 0;
    if (lost > (replicas.size() - 1) / 2) return false;
  }
  return true;
}

// ---- clients ----

void Simulation::ClientLoop(const std::string& client) {
  if (issued_ >= options_.ops || invariants_.violated()) return;
  ++issued_;
  net_.After(Between(0us, 2ms), [this, client] { Issue(client); });
}

std::shared_ptr<ClientOp> Simulation::NewOp(const std::string& client) {
  auto op = std::make_shared<ClientOp>();
  op->client = client;
  op->args.id = tokens_[Rand(tokens_.size())];
  const ReplicaSet& t = ViewOf(client, op->args.id);
  op->view = t.Fingerprint();
  const uint64_t r = Rand(100);
  op->kind = r < 50 ? OpKind::kRead : r < 88 ? OpKind::kWrite : r < 95 ? OpKind::kCreate
                                                                        : OpKind::kDrop;
  op->node = op->kind == OpKind::kRead ? t.readers[Rand(t.readers.size())] : t.writer;
  if (op->kind == OpKind::kWrite) {
    op->args.name = "w" + std::to_string(++seq_);
    op->args.low = Rand(4);
    op->args.mid = op->args.low + Rand(4);
    op->args.high = op->args.mid + 1 + Rand(4);
  } else if (op->kind != OpKind::kRead) {
    op->args.name = (op->kind == OpKind::kCreate ? "create-" : "drop-") + std::to_string(++seq_);
  }
  return op;
}

void Simulation::Issue(const std::string& client) {
  std::shared_ptr<ClientOp> op = NewOp(client);
  const WriteArgs& a = op->args;
  op->process = op->kind == OpKind::kRead
                    ? history_.InvokeRead(a.id)
                    : history_.InvokeWrite(a.id, a.name, a.low, a.mid, a.high);
  ops_.push_back(op);
  const Clock::time_point deadline = net_.now() + kClientTimeout;
  net_.After(kClientTimeout, [this, op] {
    if (op->answered) return;
    op->answered = true;
    ++answered_;
    history_.Unknown(op->process);
    ClientLoop(op->client);
  });
  net_.Send(op->client, op->node, [this, op, deadline] { Arrive(op, deadline); },
            /*may_duplicate=*/false);
}

void Simulation::Arrive(const std::shared_ptr<ClientOp>& op, Clock::time_point deadline) {
  Node& n = nodes_.at(op->node);
  if (!n.core) {  // no process there: refused at once, certainly without effect
    return Reply(op, [this, op] { history_.Failed(op->process); });
  }
  // Fail-silent: parked; the client times out.
  if (!n.core->MayAnswer(op->args.id)) return;
  op->dispatched = true;
  op->core_process = n.process;
  if (op->kind != OpKind::kRead) ++n.writes_in_flight;
  Dispatch(op, *n.core,
           OpContext{deadline, std::make_shared<std::atomic<bool>>(false), op->view});
}

void Simulation::Dispatch(const std::shared_ptr<ClientOp>& op, ReplicaCore& core,
                          const OpContext& ctx) {
  ReplicaCore* c = &core;
  switch (op->kind) {
    case OpKind::kRead:
      return core.Read(op->args.id, ctx, [this, op, c](StatusOr<CoreReadResult> r) {
        if (!Answered(*op, *c)) return;
        std::optional<ReplicaSet> attached;
        if (r.status().code() == StatusCode::kFailedPrecondition) {
          attached = c->ConfigToAttach(op->args.id);
        }
        Reply(op, [this, op, r, attached] {
          Adopt(op->client, op->args.id, attached);
          RecordRead(*op, r);
        });
      });
    case OpKind::kWrite:
      return core.Write(op->args, ctx, [this, op, c](StatusOr<CoreWriteResult> r) {
        if (!Answered(*op, *c)) return;
        const StatusCode code = r.status().code();
        std::optional<ReplicaSet> attached;
        if (code == StatusCode::kFailedPrecondition) attached = c->ConfigToAttach(op->args.id);
        Reply(op, [this, op, code, attached] {
          Adopt(op->client, op->args.id, attached);
          if (code == StatusCode::kOk) return history_.WriteOk(op->process);
          // Refused because the token is dropped, or sealed (ABORTED: a reconfiguration is
          // under way): the writer issued nothing.
          if (code == StatusCode::kNotFound || code == StatusCode::kAborted) {
            return history_.Failed(op->process);
          }
          history_.Unknown(op->process);
        });
      });
    case OpKind::kCreate:
    case OpKind::kDrop: {
      // The epoch the writer issues at: its configuration of the token now, which the core
      // checks as the call begins (CheckWriter) and issues the value at.
      const std::optional<ReplicaSet> at = core.ConfigToAttach(op->args.id);
      const uint64_t epoch = at ? at->epoch : 0;
      auto done = [this, op, c, epoch](StatusOr<uint64_t> ts) {
        // Ground truth, whatever the client hears: the value at this stamp is this one.
        if (ts.ok()) {
          history_.NameStamp(op->args.id, Stamp{epoch, *ts, c->lifecycle().origin()},
                             op->args.name);
        }
        if (!Answered(*op, *c)) return;
        const StatusCode code = ts.status().code();
        std::optional<ReplicaSet> attached;
        if (code == StatusCode::kFailedPrecondition) attached = c->ConfigToAttach(op->args.id);
        Reply(op, [this, op, code, attached] {
          Adopt(op->client, op->args.id, attached);
          if (code == StatusCode::kOk) return history_.WriteOk(op->process);
          if (code == StatusCode::kAborted) return history_.Failed(op->process);
          history_.Unknown(op->process);
        });
      };
      if (op->kind == OpKind::kCreate) return core.Create(op->args.id, ctx, std::move(done));
      return core.Drop(op->args.id, ctx, std::move(done));
    }
  }
}

bool Simulation::Answered(ClientOp& op, const ReplicaCore& core) {
  if (++op.callbacks > 1) {
    invariants_.Report("the callback of client operation " + std::to_string(op.process) + " (" +
                       op.args.id + " at " + op.node + ") ran " + std::to_string(op.callbacks) +
                       " times");
    return false;
  }
  Node& n = nodes_.at(op.node);
  if (n.process != op.core_process || !n.core) return false;  // died: sends nothing
  if (op.kind != OpKind::kRead) --n.writes_in_flight;
  return core.MayAnswer(op.args.id);  // withheld when crash-stopped meanwhile
}

void Simulation::Reply(const std::shared_ptr<ClientOp>& op, std::function<void()> record) {
  net_.Send(op->node, op->client, [this, op, record = std::move(record)] {
    if (op->answered) return;
    op->answered = true;
    ++answered_;
    record();
    ClientLoop(op->client);
  }, /*may_duplicate=*/false);
}

void Simulation::RecordRead(const ClientOp& op, const StatusOr<CoreReadResult>& r) {
  if (!r.ok()) return history_.Unknown(op.process);  // NOT_FOUND (dropped) included
  if (r->value.kind == ValueKind::kDefined) {
    std::optional<uint64_t> final_value;
    if (r->final_min) final_value = r->final_min->value;
    return history_.ReadDefined(op.process, r->value.name, final_value);
  }
  history_.ReadUndefined(op.process, Stamp{r->epoch, r->ts, r->origin});
}

// ---- nemesis ----

void Simulation::Nemesis() {
  if (stopping_ || invariants_.violated()) return;
  const uint64_t r = Rand(100);
  if (r < 25) {
    CrashAndRestart();
  } else if (r < 35) {
    LoseDisk(/*restore=*/false);
  } else if (r < 45) {
    LoseDisk(/*restore=*/true);
  } else if (r < 65) {
    Partition();
  } else if (r < 85) {
    MarkCrashStopped();
  } else if (r < 95 && options_.reconfigure) {
    Reconfigure();
  }
  net_.After(Between(2ms, 20ms), [this] { Nemesis(); });
}

bool Simulation::MayStopOneMore() const {
  size_t running = 0;
  for (const auto& [address, n] : nodes_) running += n.core ? 1 : 0;
  // Keep a majority of the processes up, so that operations mostly complete.
  return nodes_.size() - running + 1 <= (nodes_.size() - 1) / 2;
}

Node* Simulation::RandomRunningNode(bool writing) {
  std::vector<Node*> running;
  for (auto& [address, n] : nodes_) {
    if (n.core) running.push_back(&n);
  }
  if (!MayStopOneMore() || running.empty()) return nullptr;
  if (writing) {
    std::vector<Node*> busy;
    for (Node* n : running) {
      if (n->writes_in_flight > 0) busy.push_back(n);
    }
    if (!busy.empty()) running.swap(busy);
  }

  return running[Rand(running.size())];
}

void Simulation::CrashAndRestart() {
  // Often a writer in the middle of a write, back soon: the timestamps it handed out may be
  // on some replicas only, which its recovery must not issue again.
  Node* n = RandomRunningNode(/*writing=*/Chance(0.5));
  if (n == nullptr) return;
  const bool mid_write = n->writes_in_flight > 0;
  const std::vector<std::string> peers = n->core->lifecycle().peers();
  ++stats_.faults;
  CrashNode(*n);
  std::string what = "crash " + n->address;
  if (!n->backup && Chance(0.5)) {
    n->backup = n->disk->Copy();  // an operator's copy of the stopped node's data dir
    n->backup_witness_lost = false;
    what += " (its disk copied)";
  }
  Trace(what + (mid_write ? " in the middle of a write" : ""));
  if (mid_write && partition_ == 0 && Chance(0.5)) {
    // ... and cut from one peer while it recovers: its recovery read may then miss the
    // replicas its last write reached.
    Cut({n->address}, {peers[Rand(peers.size())]}, true, Between(5ms, 30ms));
  }
  net_.After(mid_write ? Between(100us, 2ms) : Between(1ms, 40ms), [this, n] {
    Trace("restart " + n->address);
    StartNode(*n);
  });
}

std::set<std::string> Simulation::Witnesses(const Node& n, MemoryRegisterStore& backup) {
  std::set<std::string> out;
  StatusOr<std::optional<std::string>> id = backup.GetNodeRecord("identity");
  if (!id.ok() || !id->has_value()) return out;  // an empty dir: nothing to tell apart
  StatusOr<NodeIdentity> dir = DecodeIdentity(**id);
  if (!dir.ok()) return out;
  std::set<std::string> peers;
  for (const auto& [token, replicas] : replicas_) {
    if (std::find(replicas.begin(), replicas.end(), n.address) == replicas.end()) continue;
    for (const std::string& r : replicas) {
      if (r != n.address) peers.insert(r);
    }
  }
  for (const std::string& peer : peers) {
    StatusOr<std::optional<std::string>> rec =
        nodes_.at(peer).disk->GetNodeRecord(NodeLifecycle::PeerRecordName(n.address));
    if (!rec.ok()) continue;
    StatusOr<bool> explained = NodeLifecycle::ExplainsPeerRecord(*dir, *rec);
    if (explained.ok() && !*explained) out.insert(peer);
  }
  return out;
}

void Simulation::LoseDisk(bool restore, Node* target) {
  Node* n = target;
  if (n == nullptr) {
    n = RandomRunningNode();
  } else if (!MayStopOneMore()) {
    return;
  }
  if (n == nullptr || !MayLoseData(*n)) return;
  // A copy restored in the past must meet its witnesses: their disks stay until it checked.
  for (const auto& [address, other] : nodes_) {
    if (other.unconfirmed_copy && other.witnesses.count(n->address)) return;
  }
  if (restore && !n->backup) return;
  // Whether the copy must be found older: some peer heard of a later start than the copy's.
  // None did: then no start since the copy acknowledged anything and the copy may pass for
  // current, unless a peer that did has lost that record since (beyond what the lifecycle
  // can see: docs/design.md, "Limits").
  std::set<std::string> witnesses = restore ? Witnesses(*n, *n->backup) : std::set<std::string>{};
  if (restore && witnesses.empty() && n->backup_witness_lost) return;
  for (auto& [address, other] : nodes_) {
    if (&other != n && other.backup && Witnesses(other, *other.backup).count(n->address)) {
      other.backup_witness_lost = true;
    }
  }
  ++stats_.faults;
  if (restore) ++stats_.restores;
  CrashNode(*n);
  std::unique_ptr<MemoryRegisterStore> contents =
      restore ? std::move(n->backup) : std::make_unique<MemoryRegisterStore>();
  // The marks on the lost disk are gone; a restored copy's are cleared by the operator.
  StatusOr<std::vector<std::string>> marked = contents->CrashedTokens();
  for (const std::string& token : marked.ok() ? *marked : std::vector<std::string>{}) {
    (void)contents->SetCrashed(token, false);
  }
  for (auto it = marks_.begin(); it != marks_.end();) {
    it = it->second == n->address ? marks_.erase(it) : std::next(it);
  }
  old_disks_.push_back(std::move(n->disk));
  n->disk = std::make_unique<SimDisk>(n->address, std::move(contents), invariants_);
  invariants_.ForgetNode(n->address);
  n->witnesses = std::move(witnesses);
  n->lost_data = true;
  n->unconfirmed_copy = !n->witnesses.empty();
  n->backup.reset();
  Trace((restore ? "restore an older copy of " : "wipe the disk of ") + n->address);
  net_.After(Between(1ms, 40ms), [this, n] {
    Trace("restart " + n->address);
    StartNode(*n);
  });
}

void Simulation::Partition() {
  if (partition_ != 0) return;  // one at a time
  // A random side with at least one node, cut from the rest.
  std::vector<std::string> side, other;
  const size_t lone = Rand(nodes_.size());
  size_t i = 0;
  for (const auto& [address, n] : nodes_) {
    (i++ == lone || (Chance(0.3) && side.size() + 2 < nodes_.size()) ? side : other)
        .push_back(address);
  }
  const bool both_ways = Chance(0.8);
  Cut(side, other, both_ways, Between(5ms, 60ms));
}

void Simulation::Cut(const std::vector<std::string>& side, const std::vector<std::string>& other,
                     bool both_ways, Duration how_long) {
  ++stats_.faults;
  const uint64_t number = ++partition_;
  for (const std::string& a : side) {
    for (const std::string& b : other) {
      net_.SetCut(a, b, true);
      if (both_ways) net_.SetCut(b, a, true);
    }
  }
  Trace("partition: " + std::to_string(side.size()) + " node(s) from " +
        std::to_string(other.size()) + (both_ways ? "" : " (one way)"));
  net_.After(how_long, [this, number] {
    if (partition_ != number) return;
    net_.HealCuts();
    partition_ = 0;
    Trace("partition healed");
  });
}

void Simulation::MarkCrashStopped() {
  const std::string& token = tokens_[Rand(tokens_.size())];
  const std::vector<std::string>& replicas = replicas_.at(token);
  const std::vector<std::vector<std::string>> sets = SetsOf(token);
  for (const std::vector<std::string>& set : sets) {
    size_t marked = 0;
    for (const std::string& r : set) marked += marks_.count({token, r});
    if (marked + 1 > (set.size() - 1) / 2) return;  // a majority keeps answering
  }
  const std::string node = replicas[Rand(replicas.size())];
  Node& n = nodes_.at(node);
  if (!n.core || marks_.count({token, node})) return;
  // Refused where the node does not keep the token now (sealed, retired).
  if (!n.core->SetCrashed(token, true).ok()) return;
  ++stats_.faults;
  marks_.insert({token, node});
  Trace("crash-stop " + node + " for token " + token);
  net_.After(Between(5ms, 80ms), [this, token, node] { Revive(token, node); });
}

void Simulation::Revive(const std::string& token, const std::string& node) {
  if (!marks_.count({token, node})) return;  // its disk was lost meanwhile
  Node& n = nodes_.at(node);
  if (!n.core) {  // the process is down: the operator tries again later
    net_.After(10ms, [this, token, node] { Revive(token, node); });
    return;
  }
  if (!n.core->SetCrashed(token, false).ok()) {
    // Sealed or retired meanwhile: the operator tries again later (the mark stays on disk).
    net_.After(10ms, [this, token, node] { Revive(token, node); });
    return;
  }
  marks_.erase({token, node});
  Trace("revive " + node + " for token " + token);
}

// ---- online reconfiguration ----

std::string Simulation::FileYaml() const {
  std::string yaml;
  for (const std::string& token : tokens_) {
    const ReplicaSet& s = current_.at(token);
    std::string readers;
    for (const std::string& r : s.readers) readers += (readers.empty() ? "" : ", ") + r;
    yaml += "- token: " + token + "\n  writer: " + s.writer + "\n  readers: [" + readers +
            "]\n  epoch: " + std::to_string(s.epoch) + "\n";
  }
  return yaml;
}

bool Simulation::Reconfiguring(const std::string& node) const {
  for (const auto& [token, rc] : reconfigs_) {
    if (rc.from.RoleOf(node) != Role::kNone || rc.to.RoleOf(node) != Role::kNone) return true;
  }
  return false;
}

std::vector<std::vector<std::string>> Simulation::SetsOf(const std::string& token) const {
  std::vector<std::vector<std::string>> sets = {replicas_.at(token)};
  auto it = reconfigs_.find(token);
  if (it != reconfigs_.end()) sets.push_back(it->second.to.Replicas());
  return sets;
}

const ReplicaSet& Simulation::ViewOf(const std::string& client, const std::string& token) {
  std::map<std::string, ReplicaSet>& views = views_[client];
  auto it = views.find(token);
  if (it == views.end()) it = views.emplace(token, *config_.Find(token)->set).first;
  return it->second;
}

void Simulation::Adopt(const std::string& client, const std::string& token,
                       const std::optional<ReplicaSet>& attached) {
  if (!attached) return;
  ReplicaSet& view = const_cast<ReplicaSet&>(ViewOf(client, token));
  if (attached->epoch <= view.epoch) return;  // an older one is not adopted (client library)
  view = *attached;
  ++stats_.views_adopted;
}

bool Simulation::PlanReconfig(const std::string& token, Reconfig& rc) {
  std::vector<std::string> all;
  for (const auto& [address, n] : nodes_) all.push_back(address);
  const ReplicaSet& from = rc.from;
  std::string writer = from.writer;
  std::vector<std::string> readers = from.readers;
  const std::vector<std::string> in = from.Replicas();
  std::vector<std::string> out;
  for (const std::string& a : all) {
    if (from.RoleOf(a) == Role::kNone) out.push_back(a);
  }
  auto is_reader = [&](const std::string& a) {
    return std::find(readers.begin(), readers.end(), a) != readers.end();
  };
  switch (Rand(5)) {
    case 0:  // add a reader
      if (out.empty()) return false;
      rc.kind = "add " + out[Rand(out.size())];
      readers.push_back(rc.kind.substr(4));
      break;
    case 1: {  // remove a reader (not the writer)
      std::vector<std::string> removable;
      for (const std::string& r : readers) {
        if (r != writer) removable.push_back(r);
      }
      if (removable.empty()) return false;
      const std::string gone = removable[Rand(removable.size())];
      readers.erase(std::find(readers.begin(), readers.end(), gone));
      rc.kind = "remove " + gone;
      break;
    }
    case 2: {  // replace a replica (often one that is down) by a node outside the set
      if (out.empty()) return false;
      std::vector<std::string> down;
      for (const std::string& a : in) {
        if (!nodes_.at(a).core) down.push_back(a);
      }
      const std::string old = !down.empty() && Chance(0.5) ? down[Rand(down.size())]
                                                            : in[Rand(in.size())];
      const std::string neu = out[Rand(out.size())];
      if (writer == old) writer = neu;
      for (std::string& r : readers) {
        if (r == old) r = neu;
      }
      rc.kind = "replace " + old + " by " + neu;
      break;
    }
    case 3: {  // move the writer to another replica
      std::vector<std::string> others;
      for (const std::string& a : in) {
        if (a != writer) others.push_back(a);
      }
      const std::string old = writer;
      writer = others[Rand(others.size())];
      if (!is_reader(writer)) readers.push_back(writer);
      if (!is_reader(old)) readers.push_back(old);  // the old writer stays, as a reader
      rc.kind = "move the writer from " + old + " to " + writer;
      break;
    }
    default:  // the writer stops or starts being a reader
      if (is_reader(writer)) {
        readers.erase(std::find(readers.begin(), readers.end(), writer));
        rc.kind = "the writer " + writer + " stops reading";
      } else {
        readers.push_back(writer);
        rc.kind = "the writer " + writer + " reads too";
      }
      break;
  }
  ReplicaSet to;
  to.writer = writer;
  to.readers = readers;
  to.epoch = from.epoch + 1;
  const std::vector<std::string> next = to.Replicas();
  if (readers.empty() || next.size() < 3 || next.size() > all.size()) return false;
  to.fingerprint = to.ComputeFingerprint();
  // A majority of the new set up (else it could not complete soon); one node may be down.
  size_t up = 0;
  for (const std::string& a : next) up += nodes_.at(a).core ? 1 : 0;
  if (up < to.Quorum()) return false;
  // The new set keeps the fault budget: at most a minority of it lost its data (and is not
  // serving since) or is crash-stopped for the token.
  size_t lost = 0, marked = 0;
  for (const std::string& a : next) {
    lost += nodes_.at(a).lost_data ? 1 : 0;
    marked += marks_.count({token, a});
  }
  if (lost > (next.size() - 1) / 2 || marked > (next.size() - 1) / 2) return false;
  // Every node keeps some token: a node in no set has no peers, and one that then starts on
  // an empty dir founds a cluster of its own (a brand-new node cannot join yet:
  // docs/operations.md), which its old peers refuse, and they wait for it forever.
  for (const std::string& a : all) {
    bool keeps = to.RoleOf(a) != Role::kNone;
    for (const auto& [other, set] : current_) {
      if (other != token && set.RoleOf(a) != Role::kNone) keeps = true;
    }
    if (!keeps) return false;
  }
  rc.to = std::move(to);
  return true;
}

void Simulation::Reconfigure() {
  if (!reconfigs_.empty()) return;  // one at a time in the whole cluster
  const std::string token = tokens_[Rand(tokens_.size())];
  Reconfig rc;
  rc.from = current_.at(token);
  bool planned = false;
  for (int tries = 0; tries < 4 && !planned; ++tries) planned = PlanReconfig(token, rc);
  if (!planned) return;
  ++stats_.faults;
  ++stats_.reconfigs_started;
  Trace("reconfigure " + token + " (" + rc.kind + "): epoch " + std::to_string(rc.from.epoch) +
        " " + rc.from.ViewString() + " -> epoch " + std::to_string(rc.to.epoch) + " " +
        rc.to.ViewString());
  reconfigs_[token] = std::move(rc);
  StartRun(token);
}

void Simulation::StartRun(const std::string& token) {
  auto it = reconfigs_.find(token);
  if (it == reconfigs_.end() || it->second.running) return;
  Reconfig& rc = it->second;
  if (rc.runs >= kAdminMaxRuns) {
    Trace("reconfigure " + token + ": the admin stops trying after " + std::to_string(rc.runs) +
          " runs; the token stays sealed");
    return;
  }
  ++rc.runs;
  rc.running = true;
  ++stats_.reconfig_runs;
  if (rc.runs > 1) Trace("reconfigure " + token + ": run " + std::to_string(rc.runs) + " (same target)");
  RunPhase(token, rc.runs, Phase::kSeal, 0, Register{});
}

void Simulation::StopRun(const std::string& token, const std::string& why) {
  auto it = reconfigs_.find(token);
  if (it == reconfigs_.end()) return;
  it->second.running = false;
  Trace("reconfigure " + token + ": " + why + "; a later run completes it");
  net_.After(Between(10ms, 80ms), [this, token] { StartRun(token); });
}

void Simulation::RunPhase(const std::string& token, uint64_t run, Phase phase, int attempt,
                          Register highest) {
  auto it = reconfigs_.find(token);
  if (it == reconfigs_.end() || it->second.runs != run || !it->second.running) return;
  const ReplicaSet from = it->second.from;
  const ReplicaSet to = it->second.to;
  static const char* const kNames[] = {"seal", "install", "activate"};
  static const char* const kDone[] = {"sealed", "installed", "activated"};
  const std::string name = kNames[static_cast<int>(phase)];
  // Who is asked, and whose answers make the majority the phase needs.
  const ReplicaSet& needed = phase == Phase::kSeal ? from : to;
  std::vector<std::string> asked = needed.Replicas();
  if (phase == Phase::kActivate) {
    for (const std::string& a : from.Replicas()) {
      if (to.RoleOf(a) == Role::kNone) asked.push_back(a);  // told to retire, best effort
    }
  }
  struct Tally {
    std::set<std::string> ok;     // of the needed set
    std::set<std::string> all_ok;
    Register highest;
    bool activated = false;       // a replica is at `to` already: skip to the activation
    bool decided = false;
    std::string first_error;
  };
  auto tally = std::make_shared<Tally>();
  tally->highest = highest;
  const std::string done = kDone[static_cast<int>(phase)];
  auto answer = [this, tally, token, run, phase, name, done, from, to](
                    const std::string& node, StatusOr<ReconfigAnswer> a) {
    if (tally->decided) return;
    if (!a.ok()) {
      if (tally->first_error.empty()) tally->first_error = node + ": " + a.status().ToString();
      return;
    }
    tally->all_ok.insert(node);
    if (phase == Phase::kSeal) {
      const bool at_to = (a->state == TokenConfigState::kActive && SameConfig(a->current, to)) ||
                         (a->state == TokenConfigState::kRetired && a->target &&
                          SameConfig(*a->target, to));
      if (at_to) {
        tally->activated = true;
      } else if (tally->highest.stamp() < a->reg.stamp()) {
        tally->highest = a->reg;
      }
    }
    const ReplicaSet& needed = phase == Phase::kSeal ? from : to;
    if (needed.RoleOf(node) == Role::kNone) return;
    tally->ok.insert(node);
    if (tally->ok.size() < needed.Quorum()) return;
    tally->decided = true;
    std::string what = "reconfigure " + token + ": " + done + " at " +
                       std::to_string(tally->ok.size()) + " of " +
                       std::to_string(needed.Replicas().size());
    if (phase == Phase::kSeal) {
      what += tally->activated ? " (a replica is at the target already)"
                               : ", highest stamp " + StampString(tally->highest.stamp());
    }
    Trace(what);
    if (phase == Phase::kActivate) {
      // The stragglers are told later; the calls of this attempt may still land.
      return Complete(token, tally->all_ok);
    }
    if (Chance(0.1)) return StopRun(token, "the admin is interrupted after the " + name);
    const bool skip = phase == Phase::kSeal &&
                      (tally->activated || options_.admin_skips_install);
    const Phase next = phase == Phase::kSeal && !skip ? Phase::kInstall : Phase::kActivate;
    RunPhase(token, run, next, 0, tally->highest);
  };
  for (const std::string& node : asked) {
    net_.Send(kAdmin, node, [this, token, phase, from, to, node, answer, highest] {
      Node& n = nodes_.at(node);
      if (!n.core || !n.core->MayAnswer(token)) return;  // down or fail-silent: no answer
      const uint64_t process = n.process;
      // Each call may sync a record or a register: on the node's storage executor.
      n.storage->Submit([this, &n, process, token, phase, from, to, node, answer, highest] {
        if (n.process != process || !n.core) return;
        StatusOr<ReconfigAnswer> a =
            phase == Phase::kSeal      ? n.core->HandleSeal(token, from, to)
            : phase == Phase::kInstall ? n.core->HandleInstall(token, to, highest)
                                       : n.core->HandleActivate(token, to);
        if (!n.core->MayAnswer(token)) return;
        net_.Send(node, kAdmin, [answer, node, a] { answer(node, a); });
      });
    });
  }
  net_.After(kAdminCallTimeout, [this, tally, token, run, phase, name, attempt] {
    if (tally->decided) return;
    tally->decided = true;
    if (attempt + 1 < kAdminPhaseAttempts) {
      return net_.After(Between(1ms, 20ms), [this, token, run, phase, attempt, tally] {
        RunPhase(token, run, phase, attempt + 1, tally->highest);
      });
    }
    StopRun(token, "the admin gives up in the " + name + " (" + std::to_string(tally->ok.size()) +
                       " answered; " +
                       (tally->first_error.empty() ? "the others were silent" : tally->first_error) +
                       ")");
  });
}

void Simulation::Complete(const std::string& token, const std::set<std::string>& activated) {
  auto it = reconfigs_.find(token);
  if (it == reconfigs_.end()) return;
  const Reconfig rc = it->second;
  reconfigs_.erase(it);
  ++stats_.reconfigs_completed;
  current_[token] = rc.to;
  replicas_[token] = rc.to.Replicas();
  // The operator distributes the file token-admin wrote: processes start with it from now on.
  StatusOr<ClusterConfig> file = ParseClusterConfig(FileYaml(), "sim.yaml");
  if (!file.ok()) {
    invariants_.Report("the applied file does not load: " + file.status().ToString());
    return;
  }
  files_.push_back(std::make_unique<ClusterConfig>(std::move(file).value()));
  Trace("reconfigure " + token + ": done at epoch " + std::to_string(rc.to.epoch));
  auto pending = std::make_shared<std::set<std::string>>();
  for (const std::vector<std::string>& set : {rc.from.Replicas(), rc.to.Replicas()}) {
    for (const std::string& a : set) {
      if (!activated.count(a)) pending->insert(a);
    }
  }
  net_.After(kAdminCallTimeout, [this, token, to = rc.to, pending] {
    TellStragglers(token, to, pending, 10);
  });
}

void Simulation::TellStragglers(const std::string& token, const ReplicaSet& to,
                                std::shared_ptr<std::set<std::string>> pending, int left) {
  if (pending->empty() || left == 0 || current_.at(token).epoch != to.epoch ||
      reconfigs_.count(token)) {
    return;
  }
  for (const std::string& node : *pending) {
    net_.Send(kAdmin, node, [this, token, to, node, pending] {
      Node& n = nodes_.at(node);
      if (!n.core || !n.core->MayAnswer(token)) return;
      const uint64_t process = n.process;
      n.storage->Submit([this, &n, process, token, to, node, pending] {
        if (n.process != process || !n.core) return;
        const bool ok = n.core->HandleActivate(token, to).ok();
        if (!n.core->MayAnswer(token)) return;
        net_.Send(node, kAdmin, [pending, node, ok] {
          if (ok) pending->erase(node);
        });
      });
    });
  }
  net_.After(Between(20ms, 60ms), [this, token, to, pending, left] {
    TellStragglers(token, to, pending, left - 1);
  });
}

void Simulation::CheckFinalConfigs() {
  for (const auto& [token, rc] : reconfigs_) {
    Trace("reconfigure " + token + " to epoch " + std::to_string(rc.to.epoch) +
          " never completed (" + std::to_string(rc.runs) + " runs)");
  }
  for (const std::string& token : tokens_) {
    const ReplicaSet& set = current_.at(token);
    for (const std::string& node : set.Replicas()) {
      Node& n = nodes_.at(node);
      if (!n.core) continue;
      StatusOr<ReconfigAnswer> a = n.core->HandleTokenState(token);
      if (a.ok() && a->state != TokenConfigState::kSealed &&
          a->state != TokenConfigState::kRetired && SameConfig(a->current, set)) {
        continue;
      }
      ++stats_.stuck_replicas;
      Trace("at the end " + node + " does not serve " + token + " at epoch " +
            std::to_string(set.epoch) + ": " +
            (a.ok() ? std::string(a->state ? TokenConfigStateName(*a->state) : "file") +
                          " at epoch " + std::to_string(a->current.epoch)
                    : a.status().ToString()));
    }
  }
}

// ---- the run ----

void Simulation::CheckCallbacks() {
  for (const auto& op : ops_) {
    if (!op->dispatched || op->callbacks > 0) continue;
    const Node& n = nodes_.at(op->node);
    const bool died = n.process != op->core_process || !n.core;
    if (!died) {
      invariants_.Report("the callback of client operation " + std::to_string(op->process) +
                         " (" + op->args.id + " at " + op->node + ") never ran");
    }
  }
}

SimResult Simulation::Run() {
  for (auto& [address, n] : nodes_) StartNode(n);
  net_.RunWhile([&] { return !AllServing() && net_.elapsed() < kBringUpLimit; });
  if (!AllServing()) invariants_.Report("the new cluster never served");
  Trace("cluster serving");
  for (int c = 0; c < options_.clients; ++c) ClientLoop("client-" + std::to_string(c));
  net_.After(Between(1ms, 10ms), [this] { Nemesis(); });
  net_.RunWhile([&] { return !invariants_.violated() && answered_ < issued_; }, SIZE_MAX);
  stopping_ = true;
  Trace("clients done; faults stop");
  const Duration end = net_.elapsed() + kDrainLimit;
  net_.RunWhile([&] { return !invariants_.violated() && net_.elapsed() < end; }, SIZE_MAX);
  if (!invariants_.violated()) CheckCallbacks();
  if (options_.reconfigure) CheckFinalConfigs();

  SimResult result;
  result.seed = options_.seed;
  result.history = history_.Finish();
  result.verdict = checker::CheckHistory(result.history);
  result.invariant = invariants_.first();
  result.trace = std::move(trace_);
  result.values = checker::CheckReturnedValues(result.history);
  result.outcome = result.invariant ? chaos::RunOutcome::kViolation
                                    : chaos::OutcomeOf(result.verdict, result.values.mismatches,
                                                       /*exercised=*/true);
  result.stats = stats_;
  result.stats.issued = issued_;
  result.stats.reads_unresolved = history_.reads_unresolved();
  result.stats.messages = net_.messages_sent();
  result.stats.invariant_checks = invariants_.checks();
  result.stats.virtual_seconds = std::chrono::duration<double>(net_.elapsed()).count();
  return result;
}

}  // namespace

std::string ValidateOptions(const SimOptions& o) {
  if (o.replicas != 3 && o.replicas != 5 && o.replicas != 7) {
    return "--replicas must be 3, 5 or 7 (got " + std::to_string(o.replicas) + ")";
  }
  if (o.clients < 1) return "at least one client is needed";
  return "";
}

std::string ClusterYaml(int replicas) {
  const std::vector<size_t> sizes = replicas == 7 ? std::vector<size_t>{3, 5, 7}
                                    : replicas == 5 ? std::vector<size_t>{3, 5}
                                                    : std::vector<size_t>{3};
  std::string yaml;
  for (int i = 0; i <= replicas; ++i) {
    const size_t size = sizes[i % sizes.size()];
    const int writer = i % replicas;
    std::string readers;
    for (size_t k = 0; k < size; ++k) {
      if (k == 0 && i % 4 == 3) continue;  // a writer that is not a reader
      if (!readers.empty()) readers += ", ";
      readers += NodeAddress((writer + static_cast<int>(k)) % replicas);
    }
    yaml += "- token: t" + std::to_string(i) + "\n  writer: " + NodeAddress(writer) +
            "\n  readers: [" + readers + "]\n";
  }
  return yaml;
}

SimResult RunSimulation(const SimOptions& options) { return Simulation(options).Run(); }

}  // namespace tokenstore::sim
