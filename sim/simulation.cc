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

  const SimOptions options_;
  std::mt19937_64 rng_;
  ClusterConfig config_;
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
  n.core = std::make_unique<ReplicaCore>(config_, o, *n.disk, net_.TransportOf(n.address),
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
  const TokenReplication t = *config_.Find(op->args.id);
  const uint64_t r = Rand(100);
  op->kind = r < 50 ? OpKind::kRead : r < 88 ? OpKind::kWrite : r < 95 ? OpKind::kCreate
                                                                        : OpKind::kDrop;
  op->node = op->kind == OpKind::kRead ? t.readers()[Rand(t.readers().size())] : t.writer();
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
  Dispatch(op, *n.core, OpContext{deadline, std::make_shared<std::atomic<bool>>(false), 0});
}

void Simulation::Dispatch(const std::shared_ptr<ClientOp>& op, ReplicaCore& core,
                          const OpContext& ctx) {
  ReplicaCore* c = &core;
  switch (op->kind) {
    case OpKind::kRead:
      return core.Read(op->args.id, ctx, [this, op, c](StatusOr<CoreReadResult> r) {
        if (Answered(*op, *c)) Reply(op, [this, op, r] { RecordRead(*op, r); });
      });
    case OpKind::kWrite:
      return core.Write(op->args, ctx, [this, op, c](StatusOr<CoreWriteResult> r) {
        if (!Answered(*op, *c)) return;
        const StatusCode code = r.status().code();
        Reply(op, [this, op, code] {
          if (code == StatusCode::kOk) return history_.WriteOk(op->process);
          // Refused because the token is dropped: the writer issued nothing.
          if (code == StatusCode::kNotFound) return history_.Failed(op->process);
          history_.Unknown(op->process);
        });
      });
    case OpKind::kCreate:
    case OpKind::kDrop: {
      auto done = [this, op, c](StatusOr<uint64_t> ts) {
        // Ground truth, whatever the client hears: the value at this stamp is this one.
        if (ts.ok()) history_.NameStamp(op->args.id, Stamp{0, *ts, c->lifecycle().origin()}, op->args.name);
        if (!Answered(*op, *c)) return;
        const bool ok = ts.ok();
        Reply(op, [this, op, ok] {
          ok ? history_.WriteOk(op->process) : history_.Unknown(op->process);
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
  history_.ReadUndefined(op.process, Stamp{0, r->ts, r->origin});
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
  size_t marked = 0;
  for (const std::string& r : replicas) marked += marks_.count({token, r});
  if (marked + 1 > (replicas.size() - 1) / 2) return;  // a majority keeps answering
  const std::string& node = replicas[Rand(replicas.size())];
  Node& n = nodes_.at(node);
  if (!n.core || marks_.count({token, node})) return;
  ++stats_.faults;
  (void)n.core->SetCrashed(token, true);
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
  (void)n.core->SetCrashed(token, false);
  marks_.erase({token, node});
  Trace("revive " + node + " for token " + token);
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
