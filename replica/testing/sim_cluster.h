// A cluster of ReplicaCore nodes over the simulated network (sim_network.h), for the unit
// tests of the protocol and of the node lifecycle: each node has an in-memory store that
// survives its "restarts", and every operation runs to its end in virtual time.
//
// Thread-safety: none; one test thread.
#pragma once

#include <chrono>
#include <deque>
#include <random>
#include <vector>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "checker/history.h"
#include "checker/linearizability.h"
#include "replica/replica_core.h"
#include "replica/testing/sim_network.h"
#include "storage/memory_register_store.h"

namespace tokenstore::testing {

using namespace std::chrono_literals;

inline constexpr char kA[] = "127.0.0.1:1";
inline constexpr char kB[] = "127.0.0.1:2";
inline constexpr char kC[] = "127.0.0.1:3";
inline constexpr char kD[] = "127.0.0.1:4";

// Token 1: writer A, readers A B C. Token 2: writer B, readers C D (replicas B C D).
// Token 3: writer A, readers A B C (for isolation checks).
inline constexpr char kConfig[] = R"(
- token: 1
  writer: 127.0.0.1:1
  readers: [127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3]
- token: 2
  writer: 127.0.0.1:2
  readers: [127.0.0.1:3, 127.0.0.1:4]
- token: 3
  writer: 127.0.0.1:1
  readers: [127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3]
)";

// Reference values for name "abc", domain [5, 25, 100). Derivation (Python 3):
//   import hashlib
//   H = lambda n, x: int.from_bytes(hashlib.sha256(f'{n} {x}'.encode()).digest()[:8], 'big')
//   min((H('abc', x), x) for x in range(5, 25))   -> (902613196918738813, 15)
//   min((H('abc', x), x) for x in range(5, 100))  -> (60570345165277511, 70)
inline constexpr uint64_t kAbcPartial = 902613196918738813ull;
inline constexpr uint64_t kAbcPartialX = 15;
inline constexpr uint64_t kAbcFinal = 60570345165277511ull;
inline constexpr uint64_t kAbcFinalX = 70;

class Cluster {
 public:
  explicit Cluster(uint64_t seed, const char* yaml = kConfig) : net_(seed) {
    auto cfg = ParseClusterConfig(yaml, "test.yaml");
    EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
    config_ = std::move(cfg).value();
    for (const auto& node : config_.Nodes()) {
      stores_[node] = std::make_unique<MemoryRegisterStore>();
      Restart(node, UnsafeBug::kNone, /*bring_up=*/false);
    }
    EXPECT_TRUE(BringUp()) << "the new cluster's nodes never all served";
  }

  // One step of `node`'s lifecycle (NodeLifecycle::Advance), run to its end.
  LifecycleProgress Advance(const std::string& node) {
    std::optional<LifecycleProgress> p;
    core(node).lifecycle().Advance([&p](LifecycleProgress r) { p = std::move(r); });
    net_.RunWhile([&] { return !p.has_value(); });
    EXPECT_TRUE(p.has_value()) << "lifecycle step never completed";
    if (p && p->wait_until > net_.now()) {
      // A rebuild waiting out its quiet period: let the virtual time (and whatever the
      // network carries meanwhile) run to its end, as the server's retries would.
      const auto until = std::chrono::duration_cast<SimNetwork::Duration>(
          p->wait_until.time_since_epoch());
      bool reached = false;
      net_.At(until, [&reached] { reached = true; });
      net_.RunWhile([&] { return !reached; });
    }
    return p ? *p : LifecycleProgress{};
  }

  // Steps every node that does not serve yet until all serve; false if some still does not
  // after `rounds` rounds (or one stopped with a refusal).
  bool BringUp(int rounds = 20) {
    for (int r = 0; r < rounds; ++r) {
      bool all = true;
      for (auto& [node, c] : cores_) {
        if (c->lifecycle().state() == NodeState::kServing) continue;
        all = false;
        if (!Advance(node).fatal.ok()) return false;
      }
      if (all) return true;
    }
    return false;
  }

  // How a node (re)starts, beyond the defaults.
  struct Setup {
    UnsafeBug bug = UnsafeBug::kNone;
    bool bring_up = true;                  // step its lifecycle until it serves
    const ClusterConfig* config = nullptr;  // another view of the scheme (ParseOther)
    LifecycleOptions lifecycle;
    Executor* storage = nullptr;           // where its disk work runs (inline by default)
  };

  // Replaces the node's core with a fresh one over the same store: a crash and restart.
  // With `bring_up`, steps the lifecycle until the node serves (its peers confirm its dir).
  void Restart(const std::string& node, UnsafeBug bug = UnsafeBug::kNone, bool bring_up = true) {
    Setup setup;
    setup.bug = bug;
    setup.bring_up = bring_up;
    Restart(node, setup);
  }
  void Restart(const std::string& node, const Setup& setup) {
    ReplicaOptions opts;
    opts.admission = admission_;
    opts.unsafe_bug = setup.bug;
    opts.self = node;
    opts.limits.max_range = 10'000;
    opts.timestamp_block = 4;
    opts.lifecycle = setup.lifecycle;
    opts.lifecycle.random = [this] { return random_(); };
    Executor& storage = setup.storage ? *setup.storage : inline_;
    auto core = std::make_unique<ReplicaCore>(setup.config ? *setup.config : config_, opts,
                                              *stores_[node], net_.TransportOf(node), storage,
                                              inline_, net_);
    Status st = core->Start();
    EXPECT_TRUE(st.ok()) << st.ToString();
    net_.AddNode(node, core.get());
    retired_.push_back(std::move(cores_[node]));  // callbacks in flight may still name it
    cores_[node] = std::move(core);
    if (setup.bring_up) {
      EXPECT_TRUE(BringUp()) << node << " never served after its restart";
    }
  }

  // Another view of the replication scheme, for a node started with an edited file.
  const ClusterConfig* ParseOther(const std::string& yaml) {
    auto cfg = ParseClusterConfig(yaml, "edited.yaml");
    EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
    others_.push_back(std::move(cfg).value());
    return &others_.back();
  }

  // A node new to the cluster, at an address `config` names (and the cluster's file may not),
  // started on an empty disk; its lifecycle is stepped by Advance or BringUp.
  void Join(const std::string& node, const ClusterConfig* config) {
    stores_[node] = std::make_unique<MemoryRegisterStore>();
    Setup setup;
    setup.bring_up = false;
    setup.config = config;
    Restart(node, setup);
  }

  // The node's disk is lost: a new empty store, then a restart on it.
  void Wipe(const std::string& node) { Replace(node, std::make_unique<MemoryRegisterStore>()); }

  // A copy of the node's disk as it is now (take it while the node is stopped), and the
  // disk replaced by such a copy: an operator restoring a data dir from a backup copy.
  std::unique_ptr<MemoryRegisterStore> Snapshot(const std::string& node) {
    return stores_.at(node)->Clone();
  }
  void Replace(const std::string& node, std::unique_ptr<MemoryRegisterStore> disk) {
    retired_stores_.push_back(std::move(stores_[node]));  // the running core still uses it
    stores_[node] = std::move(disk);
  }

  // Limits for the nodes restarted from now on.
  void SetAdmission(AdmissionLimits limits) { admission_ = limits; }

  const ClusterConfig& config() const { return config_; }
  ReplicaCore& core(const std::string& node) { return *cores_.at(node); }
  RegisterStore& store(const std::string& node) { return *stores_.at(node); }
  SimNetwork& net() { return net_; }

  // An operation's context: its deadline `timeout` from now in virtual time.
  OpContext Ctx(std::chrono::milliseconds timeout = 2000ms) const {
    return OpContext{net_.now() + timeout, std::make_shared<std::atomic<bool>>(false)};
  }

  // Each runs the operation to completion in virtual time (by default with Ctx()). Writes
  // and reads are recorded in history().
  StatusOr<CoreWriteResult> Write(const std::string& node, const WriteArgs& a) {
    return Write(node, a, Ctx());
  }
  StatusOr<CoreWriteResult> Write(const std::string& node, const WriteArgs& a, OpContext ctx) {
    const int64_t process = RecordInvoke(checker::OpFunction::kWrite, a);
    auto r = Run<CoreWriteResult>([&](auto cb) { core(node).Write(a, ctx, cb); });
    RecordWriteEnd(process, a, r.ok());
    return r;
  }
  StatusOr<CoreReadResult> Read(const std::string& node, const std::string& id) {
    return Read(node, id, Ctx());
  }
  StatusOr<CoreReadResult> Read(const std::string& node, const std::string& id, OpContext ctx) {
    const int64_t process = RecordInvoke(checker::OpFunction::kRead, WriteArgs{id});
    auto r = Run<CoreReadResult>([&](auto cb) { core(node).Read(id, ctx, cb); });
    if (r.ok()) RecordRead(process, id, *r);
    return r;
  }
  // Starts a write and returns at once; the network runs it along with what the test does
  // next. Recorded in history() (ok when it completes; otherwise it stays pending, which the
  // checker takes as "may take effect at any later time, or never").
  // The returned outcome is set when the write completes.
  std::shared_ptr<std::optional<Status>> StartWrite(const std::string& node, const WriteArgs& a) {
    return StartWrite(node, a, Ctx());
  }
  std::shared_ptr<std::optional<Status>> StartWrite(const std::string& node, const WriteArgs& a,
                                                    OpContext ctx) {
    const int64_t process = RecordInvoke(checker::OpFunction::kWrite, a);
    auto outcome = std::make_shared<std::optional<Status>>();
    core(node).Write(a, ctx, [this, process, a, outcome](StatusOr<CoreWriteResult> r) {
      RecordWriteEnd(process, a, r.ok());
      *outcome = r.status();
    });
    return outcome;
  }

  // The writes and reads run through this cluster as a history (checker/history.h), in the
  // order they happened: a scenario's outcome judged by the checker the fault run uses.
  const std::vector<checker::Event>& history() const { return history_; }
  checker::Verdict CheckHistory() const { return checker::CheckHistory(history_); }
  StatusOr<uint64_t> Create(const std::string& node, const std::string& id) {
    return Run<uint64_t>([&](auto cb) { core(node).Create(id, Ctx(), cb); });
  }
  StatusOr<uint64_t> Drop(const std::string& node, const std::string& id) {
    return Run<uint64_t>([&](auto cb) { core(node).Drop(id, Ctx(), cb); });
  }

 private:
  template <typename T, typename Start>
  StatusOr<T> Run(Start start) {
    std::optional<StatusOr<T>> result;
    start([&result](StatusOr<T> r) { result.emplace(std::move(r)); });
    net_.RunWhile([&] { return !result.has_value(); });
    EXPECT_TRUE(result.has_value()) << "operation never completed";
    if (!result) return Status::Internal("never completed");
    return std::move(*result);
  }

  int64_t RecordInvoke(checker::OpFunction f, const WriteArgs& a) {
    checker::Event e;
    e.process = next_process_++;
    e.f = f;
    e.token = a.id;
    if (f == checker::OpFunction::kWrite) {
      e.name = a.name;
      e.low = a.low, e.mid = a.mid, e.high = a.high;
    }
    e.time = ++event_time_;
    history_.push_back(e);
    return e.process;
  }
  // A failed write may still take effect: it stays pending (an info operation).
  void RecordWriteEnd(int64_t process, const WriteArgs& a, bool ok) {
    if (!ok) return;
    checker::Event e;
    e.process = process;
    e.type = checker::EventType::kOk;
    e.f = checker::OpFunction::kWrite;
    e.token = a.id;
    e.name = a.name;
    e.low = a.low, e.mid = a.mid, e.high = a.high;
    e.time = ++event_time_;
    history_.push_back(e);
  }
  void RecordRead(int64_t process, const std::string& id, const CoreReadResult& r) {
    checker::Event e;
    e.process = process;
    e.type = checker::EventType::kOk;
    e.f = checker::OpFunction::kRead;
    e.token = id;
    if (r.value.kind == ValueKind::kDefined) {
      e.name = r.value.name;
      if (r.final_min) e.final_value = r.final_min->value;
    }
    e.time = ++event_time_;
    history_.push_back(e);
  }

  std::vector<checker::Event> history_;
  int64_t next_process_ = 1;
  int64_t event_time_ = 0;  // a counter: the events' order is what the checker needs

  // Declared in the order things are needed: a core refers to its config, store and
  // executor; the network's pending events (destroyed first, as net_ comes last) may still
  // hold operations of any core, current or replaced, and those refer to their stores.
  AdmissionLimits admission_;
  InlineExecutor inline_;
  ClusterConfig config_;
  std::deque<ClusterConfig> others_;  // stable addresses: cores keep a reference
  std::mt19937_64 random_{42};        // origins and runs, reproducibly
  std::map<std::string, std::unique_ptr<MemoryRegisterStore>> stores_;
  std::vector<std::unique_ptr<MemoryRegisterStore>> retired_stores_;  // wiped or replaced disks
  std::map<std::string, std::unique_ptr<ReplicaCore>> cores_;
  std::vector<std::unique_ptr<ReplicaCore>> retired_;  // replaced cores; see Restart
  SimNetwork net_;
};

// A verdict's explanations, for a failed expectation's message.
inline std::string Explain(const checker::Verdict& v) {
  std::string out = v.input_error.ok() ? "" : v.input_error.ToString();
  for (const checker::TokenVerdict& t : v.tokens) {
    if (!t.explanation.empty()) out += "token " + t.token + ": " + t.explanation + "\n";
  }
  return out.empty() ? "linearizable" : out;
}

inline WriteArgs Abc(const std::string& id = "1") { return WriteArgs{id, "abc", 5, 25, 100}; }


}  // namespace tokenstore::testing
