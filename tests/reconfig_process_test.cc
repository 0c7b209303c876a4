// Online reconfiguration (docs/reconfiguration.md, docs/operations.md "Changing a replica set
// online") with the real binaries, under a concurrent workload whose history the project's
// checker must find linearizable:
//   1. three replicas A B C on cur.yaml;
//   2. grow 3 -> 5: D and E start on new addresses with the next file on empty data dirs,
//      `token-admin reconfigure --to` moves every token (and a second run is a no-op success);
//   3. C is killed (-9) and replaced by F at a new address: reconfigure from step 2's applied
//      file, which warns about C;
//   4. the writer moves from A to B;
//   5. the workload stops, final reads; a node restarted on the final applied file serves.
// The clients start on the ORIGINAL cur.yaml and follow the moves on their own.
//
// Addresses: like every cluster test, the nodes listen on 127.0.0.1 ports drawn by
// CandidateLoopbackAddresses (tests/test_support.h: random, below the kernel's ephemeral
// range, started again on new ones when taken), never on a fixed range.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "checker/history.h"
#include "checker/linearizability.h"
#include "client/token_client.h"
#include "common/mutex.h"
#include "config/cluster_config.h"
#include "replica/exit_codes.h"
#include "tests/process_cluster.h"
#include "tests/test_support.h"

namespace tokenstore {
namespace {

using checker::Event;
using checker::EventType;
using checker::OpFunction;
using testing::CommandResult;
using testing::ProcessCluster;
using testing::RunCommand;
using namespace std::chrono_literals;

// One token of its own plus a small range: two entries, moved as two groups.
const std::vector<std::string> kTokens = {"solo", "t0", "t1", "t2", "t3"};

std::string Yaml(const std::string& writer, const std::vector<std::string>& readers) {
  std::string list;
  for (const std::string& r : readers) list += (list.empty() ? "" : ", ") + r;
  return "- token: solo\n  writer: " + writer + "\n  readers: [" + list +
         "]\n- tokens: {prefix: t, from: 0, to: 3}\n  writer: " + writer + "\n  readers: [" +
         list + "]\n";
}

// The history, in real-time order (each event's time is taken under the lock that appends it).
class History {
 public:
  void Record(Event e) {
    MutexLock lock(&mu_);
    e.time = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::steady_clock::now() - start_)
                 .count();
    e.line = static_cast<int>(events_.size()) + 1;  // its line in the file a failure writes
    events_.push_back(std::move(e));
  }
  std::vector<Event> events() {
    MutexLock lock(&mu_);
    return events_;
  }

 private:
  Mutex mu_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::vector<Event> events_ GUARDED_BY(mu_);
};

// Several Jepsen processes: each thread its own TokenClient on `config` (half unary, half
// session streams), random writes with unique names and unpinned reads. A write is `fail` only
// on the refusals after which the library says nothing was started (ABORTED: sealed until the
// timeout; FAILED_PRECONDITION, NOT_FOUND, INVALID_ARGUMENT); any other error is `info` and
// retires the thread's process id. A failed read is `fail` (its write-back only stores a value
// some write issued). Outcomes are counted per phase (the phase when the operation completed).
class Workload {
 public:
  static constexpr int kPhases = 6;
  struct Counts {
    std::atomic<int> write_ok{0}, write_fail{0}, write_info{0}, read_ok{0}, read_fail{0};
  };

  Workload(const ClusterConfig& config, History& history, int threads)
      : config_(config), history_(history), threads_n_(threads) {}
  ~Workload() { Stop(); }

  void Start() {
    for (int i = 0; i < threads_n_; ++i) {
      ClientOptions o;
      o.timeout = 3s;
      o.attempt_timeout = 1s;
      o.seed = 7 + i;
      o.transport = i % 2 == 0 ? ClientOptions::Transport::kUnary
                               : ClientOptions::Transport::kSession;
      o.on_config_change = [this, i](const std::string& token, const ReplicaSet& newer) {
        ++config_changes_;
        MutexLock lock(&mu_);
        uint64_t& e = adopted_[{i, token}];
        e = std::max(e, newer.epoch);
      };
      clients_.push_back(std::make_unique<TokenClient>(config_, o));
    }
    for (int i = 0; i < threads_n_; ++i) threads_.emplace_back([this, i] { Run(i); });
  }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  void SetPhase(int p) { phase_ = p; }
  const Counts& counts(int phase) const { return counts_[phase]; }
  int config_changes() const { return config_changes_; }
  std::string Describe(int phase) const {
    const Counts& c = counts_[phase];
    std::ostringstream s;
    s << "phase " << phase << ": writes ok " << c.write_ok << " fail " << c.write_fail << " info "
      << c.write_info << ", reads ok " << c.read_ok << " fail " << c.read_fail;
    return s.str();
  }
  // The first few errors, for the test's messages.
  std::string Errors() {
    MutexLock lock(&mu_);
    std::string out;
    for (const auto& [text, n] : errors_) out += "  " + std::to_string(n) + "x " + text + "\n";
    return out;
  }

 private:
  void NoteError(const Status& st) {
    MutexLock lock(&mu_);
    std::string key = std::string(StatusCodeName(st.code())) + ": " + st.message();
    if (errors_.size() < 30 || errors_.contains(key)) ++errors_[key];
  }

  void Run(int thread) {
    std::mt19937_64 rng(1000 + thread);
    auto uniform = [&rng](uint64_t n) {
      return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng);
    };
    int64_t process = next_process_++;
    TokenClient& client = *clients_[thread];
    while (!stop_) {
      Event ev;
      ev.process = process;
      ev.token = kTokens[uniform(kTokens.size())];
      EventType outcome;
      if (uniform(10) < 4) {
        ev.f = OpFunction::kWrite;
        ev.name = "w" + std::to_string(thread) + "-" + std::to_string(next_name_++);
        ev.low = uniform(1000);
        ev.mid = ev.low + uniform(8);
        ev.high = ev.mid + 1 + uniform(16);
        ev.type = EventType::kInvoke;
        history_.Record(ev);
        StatusOr<WriteResult> r = client.Write(ev.token, *ev.name, ev.low, ev.mid, ev.high);
        if (r.ok()) {
          outcome = EventType::kOk;
          MutexLock lock(&mu_);
          acked_[ev.token].emplace_back(r->ts, *ev.name);
        } else {
          NoteError(r.status());
          switch (r.status().code()) {
            case StatusCode::kAborted:
            case StatusCode::kFailedPrecondition:
            case StatusCode::kNotFound:
            case StatusCode::kInvalidArgument:
              outcome = EventType::kFail;
              break;
            default:
              outcome = EventType::kInfo;
          }
        }
      } else {
        ev.f = OpFunction::kRead;
        ev.type = EventType::kInvoke;
        history_.Record(ev);
        StatusOr<ReadResult> r = client.Read(ev.token);
        if (r.ok()) {
          outcome = EventType::kOk;
          if (r->defined) {
            ev.name = r->name;
            ev.final_value = r->final;
          }
        } else {
          NoteError(r.status());
          outcome = EventType::kFail;
        }
      }
      ev.type = outcome;
      history_.Record(ev);
      Counts& c = counts_[phase_];
      if (ev.f == OpFunction::kWrite) {
        (outcome == EventType::kOk     ? c.write_ok
         : outcome == EventType::kFail ? c.write_fail
                                       : c.write_info)++;
      } else {
        (outcome == EventType::kOk ? c.read_ok : c.read_fail)++;
      }
      if (outcome == EventType::kInfo) process = next_process_++;  // never reused
      std::this_thread::sleep_for(std::chrono::milliseconds(10 + uniform(20)));
    }
  }

 public:
  // The newest epoch each thread's client adopted for each token, by (thread, token).
  std::map<std::pair<int, std::string>, uint64_t> adopted() {
    MutexLock lock(&mu_);
    return adopted_;
  }
  int threads() const { return threads_n_; }
  // Acknowledged writes per token: (ts, name).
  std::map<std::string, std::vector<std::pair<uint64_t, std::string>>> acked() {
    MutexLock lock(&mu_);
    return acked_;
  }

 private:
  const ClusterConfig& config_;
  History& history_;
  const int threads_n_;
  std::vector<std::unique_ptr<TokenClient>> clients_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int> phase_{0};
  std::atomic<int64_t> next_process_{0};
  std::atomic<int64_t> next_name_{0};
  std::atomic<int> config_changes_{0};
  Counts counts_[kPhases];
  Mutex mu_;
  std::map<std::string, std::vector<std::pair<uint64_t, std::string>>> acked_ GUARDED_BY(mu_);
  std::map<std::string, int> errors_ GUARDED_BY(mu_);
  std::map<std::pair<int, std::string>, uint64_t> adopted_ GUARDED_BY(mu_);
};

class ReconfigProcessCluster : public ProcessCluster {
 protected:
  // A B C, A writes.
  std::string ClusterYaml(const std::vector<std::string>& n) const override {
    return Yaml(n[0], {n[0], n[1], n[2]});
  }

  // Starts `count` nodes at new addresses, on empty data dirs, with the file `yaml(addresses)`
  // written to `file`; until each listens (its log says so; it need not serve: a node the
  // cluster's file does not name yet serves only once a reconfiguration activated it). On new
  // addresses again when one was taken. Returns their indexes.
  std::vector<size_t> StartNewNodes(
      size_t count, const std::function<std::string(const std::vector<std::string>&)>& yaml,
      const std::string& file) {
    const size_t first = nodes_.size();
    for (int attempt = 0; attempt < testing::kStartAttempts; ++attempt) {
      std::vector<std::string> fresh;
      while (fresh.size() < count) {
        for (const std::string& a : testing::CandidateLoopbackAddresses(static_cast<int>(count))) {
          if (fresh.size() < count && std::find(nodes_.begin(), nodes_.end(), a) == nodes_.end() &&
              std::find(fresh.begin(), fresh.end(), a) == fresh.end()) {
            fresh.push_back(a);
          }
        }
      }
      nodes_.resize(first);
      nodes_.insert(nodes_.end(), fresh.begin(), fresh.end());
      testing::WriteFile(file, yaml(fresh));
      std::vector<size_t> idx;
      for (size_t k = 0; k < count; ++k) {
        const size_t i = first + k;
        std::filesystem::remove_all(DataDir(i));
        std::filesystem::remove_all(dir_.File("err" + std::to_string(i)));
        Start(i, file);
        idx.push_back(i);
      }
      bool in_use = false;
      for (size_t i : idx) {
        const auto until = std::chrono::steady_clock::now() + 20s;
        while (true) {
          if (Log(i).find("serving") != std::string::npos) break;  // "listening, not serving yet"
          if (auto st = procs_[i]->Wait(0ms)) {
            if (WIFEXITED(*st) && WEXITSTATUS(*st) == kReplicaExitAddressInUse) {
              in_use = true;
              break;
            }
            ADD_FAILURE() << nodes_[i] << " exited at its start: " << Log(i);
            return {};
          }
          if (std::chrono::steady_clock::now() > until) {
            ADD_FAILURE() << nodes_[i] << " did not listen within 20 s: " << Log(i);
            return {};
          }
          std::this_thread::sleep_for(50ms);
        }
      }
      if (!in_use) return idx;
      for (size_t i : idx) procs_[i].reset();  // kills them; new addresses next
    }
    ADD_FAILURE() << "every attempt to start new nodes found an address taken";
    return {};
  }

  // token-admin --config CURRENT reconfigure --to NEXT --out OUT, bounded.
  CommandResult Reconfigure(const std::string& current, const std::string& next,
                            const std::string& out) {
    const auto start = std::chrono::steady_clock::now();
    CommandResult r = RunCommand({testing::kBinDir + "/token-admin", "--config", current,
                                  "reconfigure", "--to", next, "--out", out},
                                 60s);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("reconfigure --config %s --to %s: exit %d in %.2f s\n%s%s",
                std::filesystem::path(current).filename().c_str(),
                std::filesystem::path(next).filename().c_str(), r.exit_code, s, r.out.c_str(),
                r.err.c_str());
    return r;
  }

  std::string AllLogs() {
    std::string out;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      out += "---- node " + std::to_string(i) + " " + nodes_[i] + ":\n" + Log(i);
    }
    return out;
  }
};

TEST_F(ReconfigProcessCluster, GrowReplaceAndMoveTheWriterUnderLoadStayLinearizable) {
  const auto test_start = std::chrono::steady_clock::now();
  const size_t A = 0, B = 1, C = 2;
  const std::string cur = config_;  // the clients keep this file all along
  StatusOr<ClusterConfig> cur_config = LoadClusterConfig(cur);
  ASSERT_TRUE(cur_config.ok()) << cur_config.status().ToString();

  History history;
  Workload workload(*cur_config, history, 6);
  // Phase 1: A B C, workload running.
  workload.SetPhase(1);
  workload.Start();
  std::this_thread::sleep_for(3s);

  // Phase 2: grow 3 -> 5 with D and E.
  workload.SetPhase(2);
  const std::string new2 = dir_.File("grow.yaml"), applied2 = dir_.File("grow.applied.yaml");
  std::vector<size_t> de = StartNewNodes(
      2,
      [&](const std::vector<std::string>& n) {
        return Yaml(nodes_[A], {nodes_[A], nodes_[B], nodes_[C], n[0], n[1]});
      },
      new2);
  ASSERT_EQ(de.size(), 2u);
  const size_t D = de[0], E = de[1];
  CommandResult grow = Reconfigure(cur, new2, applied2);
  ASSERT_EQ(grow.exit_code, 0) << grow.out << grow.err << AllLogs() << workload.Errors();
  EXPECT_NE(grow.out.find("5 token(s) to move in 2 group(s)"), std::string::npos) << grow.out;
  EXPECT_NE(grow.out.find("wrote " + applied2), std::string::npos) << grow.out;
  ASSERT_TRUE(std::filesystem::exists(applied2));
  // The same command again (an interrupted run completed): every token is already active at
  // the target, so it succeeds and writes the same file.
  const std::string applied2_text = testing::ReadFile(applied2);
  CommandResult again = Reconfigure(cur, new2, applied2);
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(again.err.find("warning"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("5 moved (5 completing a previous run)"), std::string::npos)
      << again.err;
  EXPECT_EQ(testing::ReadFile(applied2), applied2_text);
  // The new nodes serve once activated (they rebuild from the new set).
  ASSERT_NO_FATAL_FAILURE(WaitReady(D));
  ASSERT_NO_FATAL_FAILURE(WaitReady(E));
  std::this_thread::sleep_for(3s);

  // Phase 3: kill -9 C, replace it by F at a new address.
  workload.SetPhase(3);
  ASSERT_NO_FATAL_FAILURE(Kill(C));
  const std::string new3 = dir_.File("replace.yaml"), applied3 = dir_.File("replace.applied.yaml");
  std::vector<size_t> f = StartNewNodes(
      1,
      [&](const std::vector<std::string>& n) {
        return Yaml(nodes_[A], {nodes_[A], nodes_[B], n[0], nodes_[D], nodes_[E]});
      },
      new3);
  ASSERT_EQ(f.size(), 1u);
  const size_t F = f[0];
  CommandResult replace = Reconfigure(applied2, new3, applied3);
  ASSERT_EQ(replace.exit_code, 0) << replace.out << replace.err << AllLogs() << workload.Errors();
  EXPECT_NE(replace.err.find("warning: " + nodes_[C]), std::string::npos)
      << "no warning about the dead node " << nodes_[C] << ":\n"
      << replace.err;
  ASSERT_NO_FATAL_FAILURE(WaitReady(F));
  std::this_thread::sleep_for(3s);

  // Phase 4: the writer moves from A to B.
  workload.SetPhase(4);
  const std::string new4 = dir_.File("move.yaml"), applied4 = dir_.File("move.applied.yaml");
  testing::WriteFile(new4, Yaml(nodes_[B], {nodes_[A], nodes_[B], nodes_[F], nodes_[D], nodes_[E]}));
  CommandResult move = Reconfigure(applied3, new4, applied4);
  ASSERT_EQ(move.exit_code, 0) << move.out << move.err << AllLogs() << workload.Errors();
  EXPECT_NE(move.out.find("writer moves " + nodes_[A] + " -> " + nodes_[B]), std::string::npos)
      << move.out;
  std::this_thread::sleep_for(3s);

  // Phase 5: stop, final reads (recorded too), with a new client on the original file.
  workload.SetPhase(5);
  workload.Stop();
  for (int p = 1; p <= 4; ++p) std::printf("%s\n", workload.Describe(p).c_str());
  std::printf("clients adopted %d newer configurations; errors:\n%s", workload.config_changes(),
              workload.Errors().c_str());
  TokenClient final_client(*cur_config, ClientOptions{});
  std::map<std::string, ReadResult> final_reads;
  int64_t final_process = 1'000'000;
  for (const std::string& token : kTokens) {
    Event ev;
    ev.process = final_process++;
    ev.f = OpFunction::kRead;
    ev.token = token;
    ev.type = EventType::kInvoke;
    history.Record(ev);
    StatusOr<ReadResult> r = final_client.Read(token);
    ASSERT_TRUE(r.ok()) << token << ": " << r.status().ToString();
    ev.type = EventType::kOk;
    if (r->defined) {
      ev.name = r->name;
      ev.final_value = r->final;
    }
    history.Record(ev);
    final_reads[token] = *r;
  }

  // Many operations succeeded in each phase.
  for (int p = 1; p <= 4; ++p) {
    EXPECT_GE(workload.counts(p).write_ok, 20) << workload.Describe(p) << "\n" << workload.Errors();
    EXPECT_GE(workload.counts(p).read_ok, 40) << workload.Describe(p) << "\n" << workload.Errors();
  }
  // Every client, started on cur.yaml (epoch 0), followed each token to epoch 3.
  const auto adopted = workload.adopted();
  for (int t = 0; t < workload.threads(); ++t) {
    for (const std::string& token : kTokens) {
      auto it = adopted.find({t, token});
      EXPECT_TRUE(it != adopted.end() && it->second == 3)
          << "client " << t << " is at epoch " << (it == adopted.end() ? 0 : it->second)
          << " for " << token;
    }
  }

  // No acknowledged write is lost: each token's final read is its acknowledged write with the
  // highest timestamp, or a write whose outcome stayed unknown (it may land after it).
  const std::vector<Event> events = history.events();
  std::set<std::string> unknown_writes;
  {
    std::set<std::string> completed;
    for (const Event& e : events) {
      if (e.f == OpFunction::kWrite && e.type != EventType::kInvoke &&
          e.type != EventType::kInfo) {
        completed.insert(*e.name);
      }
    }
    for (const Event& e : events) {
      if (e.f == OpFunction::kWrite && e.type == EventType::kInvoke && !completed.contains(*e.name)) {
        unknown_writes.insert(*e.name);
      }
    }
  }
  const auto acked = workload.acked();
  for (const std::string& token : kTokens) {
    auto it = acked.find(token);
    ASSERT_NE(it, acked.end()) << "no write of " << token << " was acknowledged";
    const auto last = *std::max_element(it->second.begin(), it->second.end());
    const ReadResult& r = final_reads[token];
    ASSERT_TRUE(r.defined) << token;
    EXPECT_GE(r.ts, last.first) << token << ": the final read is older than an acknowledged write";
    EXPECT_TRUE(r.name == last.second || unknown_writes.contains(r.name))
        << token << ": final read " << r.name << " at ts " << r.ts
        << " is neither the last acknowledged write " << last.second << " (ts " << last.first
        << ") nor a write of unknown outcome";
  }

  // The history is linearizable.
  const checker::Verdict verdict = checker::CheckHistory(events);
  if (!verdict.linearizable) {
    const std::string path = "/tmp/reconfig_process_test.history.jsonl";
    std::ofstream out(path);
    for (const Event& e : events) out << checker::ToJsonLine(e) << "\n";
    std::string why = verdict.input_error.ToString() + "\n";
    for (const auto& t : verdict.tokens) {
      if (!t.linearizable) why += t.token + ": " + t.explanation + "\n";
    }
    ADD_FAILURE() << "not linearizable (history in " << path << "):\n" << why;
  }
  std::printf("history: %zu events, %zu operations checked\n", events.size(), verdict.operations);

  // A node restarted on the final applied file serves, and has every token's final value.
  procs_[D]->Signal(SIGTERM);
  ASSERT_TRUE(procs_[D]->Wait(20s).has_value());
  Start(D, applied4);
  ASSERT_NO_FATAL_FAILURE(WaitReady(D));
  StatusOr<ClusterConfig> final_config = LoadClusterConfig(applied4);
  ASSERT_TRUE(final_config.ok()) << final_config.status().ToString();
  ClientOptions pinned;
  pinned.node = nodes_[D];
  TokenClient at_d(*final_config, pinned);
  for (const std::string& token : kTokens) {
    StatusOr<ReadResult> r = at_d.Read(token);
    ASSERT_TRUE(r.ok()) << token << " at the restarted " << nodes_[D] << ": "
                        << r.status().ToString() << "\n"
                        << Log(D);
    EXPECT_EQ(r->name, final_reads[token].name) << token;
  }
  std::printf("test took %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - test_start).count());
}

}  // namespace
}  // namespace tokenstore
