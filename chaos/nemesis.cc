// Fault injection for token-chaos (see nemesis.h).
#include "chaos/nemesis.h"

#include <sys/wait.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <iterator>
#include <thread>

namespace tokenstore::chaos {
namespace {

// How long a restart waits for SERVING before the node is left to PollStarting: long enough
// for a replica that starts at once, short enough not to hold the nemesis up during a rebuild.
constexpr std::chrono::milliseconds kServingWait{2000};
// A restarted node that is still not SERVING after this long is reported (once).
constexpr double kSlowStartS = 15.0;
// Bias::kLagThenLoseData: L's kill and the pause last 1-3 s (writes to miss, reads to catch
// the stale value), 0.5-1 s between scenarios. The window in which L still lags after its
// restart is short under load (any read at L with a peer's newer answer repairs it), so the
// scenario is repeated as often as it can be.
constexpr double kScenarioMinLengthS = 1.0, kScenarioMaxLengthS = 3.0;
constexpr double kScenarioMinGapS = 0.5, kScenarioMaxGapS = 1.0;

}  // namespace

Nemesis::Nemesis(NemesisOptions options, ReplicaSet& replicas, Network* network,
                 std::vector<TokenNodes> tokens, const RunClock& clock,
                 std::vector<std::FILE*> logs, Workload* clients)
    : options_(std::move(options)),
      replicas_(replicas),
      network_(network),
      tokens_(std::move(tokens)),
      clock_(clock),
      logs_(std::move(logs)),
      clients_(clients),
      rng_(options_.seed) {
  next_injection_s_ = NowSeconds() + Uniform(options_.min_gap_s, options_.max_gap_s);
  for (int i = 0; i < replicas_.size(); ++i) node_of_[replicas_.spec(i).address] = i;
  if (options_.kinds.count(FaultKind::kReconfigure)) {
    assert(options_.config != nullptr && !options_.config_path.empty());
    options_.config->ForEach([this](const TokenReplication& t) {
      ::tokenstore::ReplicaSet s = *t.set;
      s.fingerprint = s.ComputeFingerprint();
      configs_[t.id] = std::move(s);
      return true;
    });
    reconfig_nodes_ =
        std::make_unique<GrpcReconfigNodes>(AdminOptions{std::chrono::milliseconds(2000)});
  }
}

void Nemesis::Log(const std::string& what) {
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "[%8.3fs] ", NowSeconds());
  for (std::FILE* f : logs_) {
    std::fprintf(f, "%snemesis: %s\n", prefix, what.c_str());
    std::fflush(f);
  }
}

std::string Nemesis::Who(int node) const {
  return "n" + std::to_string(node + 1) + " (" + replicas_.spec(node).address + ")";
}

void Nemesis::Step() {
  // A replica that died without being killed is a finding of its own; bring it back.
  while (auto exited = replicas_.ReapUnexpected()) {
    const int node = exited->first;
    ++unexpected_exits_;
    Log("UNEXPECTED: replica n" + std::to_string(node + 1) + " exited by itself (wait status " +
        std::to_string(exited->second) + "); restarting it, see " + replicas_.spec(node).log_path);
    if (!state_.down.count(node)) {
      state_.down.insert(node);
      Restart(node, std::chrono::seconds(15));
    }
  }
  PollStarting();
  FinishUnfinishedMoves();
  const double now = NowSeconds();
  if (options_.bias == Bias::kLagThenLoseData) {
    StepScenario(now);  // first: it heals L's kill itself, with the clients held
    HealDue(now);
  } else {
    HealDue(now);
    if (now >= next_injection_s_) {
      TryInject();
      next_injection_s_ = NowSeconds() + Uniform(options_.min_gap_s, options_.max_gap_s);
    }
  }
}

void Nemesis::HoldClients(bool on) {
  if (clients_ == nullptr || holding_ == on) return;
  clients_->Hold(on);
  holding_ = on;
  Log(on ? "clients held (no operation in flight)" : "clients go on");
}

void Nemesis::HealDue(double now) {
  for (auto it = active_.begin(); it != active_.end();) {
    if (it->until_s <= now && Heal(*it)) {
      it = active_.erase(it);
    } else {
      ++it;
    }
  }
}

Nemesis::Active Nemesis::RandomFault(FaultKind kind) {
  const int n = replicas_.size();
  Active f;
  f.kind = kind;
  f.until_s = NowSeconds() + Uniform(options_.min_length_s, options_.max_length_s);
  switch (f.kind) {
    case FaultKind::kCrashStop:
      f.node = Pick(n);
      f.token = tokens_[1 + Pick(static_cast<int>(tokens_.size()) - 1)].token;
      break;
    case FaultKind::kKill:
    case FaultKind::kPause:
    case FaultKind::kWipe:
    case FaultKind::kRestore:
      f.node = Pick(n);
      break;
    case FaultKind::kReconfigure: {
      const double until = f.until_s;
      f = RandomMove();
      f.until_s = until;
      break;
    }
    case FaultKind::kPartition: {
      std::vector<int> order(n);
      for (int i = 0; i < n; ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), rng_);
      if (std::bernoulli_distribution(0.3)(rng_)) {
        // A single link: both ends still reach a majority through the others.
        f.cut.push_back({std::min(order[0], order[1]), std::max(order[0], order[1])});
      } else {
        const int minority = (n - 1) / 2;
        const int size = 1 + Pick(minority);
        for (int i = 0; i < size; ++i) {
          for (int j = size; j < n; ++j) {
            f.cut.push_back({std::min(order[i], order[j]), std::max(order[i], order[j])});
          }
        }
      }
      break;
    }
  }
  return f;
}

std::optional<FaultState> Nemesis::After(const Active& f) const {
  FaultState next = state_;
  // Every node fault needs a node that runs and serves: the admin call of a crash-stop
  // needs it, and a node that is still starting is left to finish.
  if (f.node >= 0 && next.NodeFaulty(f.node)) return std::nullopt;
  switch (f.kind) {
    case FaultKind::kCrashStop:
      if (next.marks.count({f.node, f.token})) return std::nullopt;
      next.marks.insert({f.node, f.token});
      break;
    case FaultKind::kKill:
      next.down.insert(f.node);
      break;
    case FaultKind::kPause:
      next.paused.insert(f.node);
      break;
    case FaultKind::kRestore:
      if (!replicas_.HasCopy(f.node)) return std::nullopt;
      if (const auto it = marks_at_copy_.find(f.node); it != marks_at_copy_.end()) {
        for (const std::string& token : it->second) next.marks.insert({f.node, token});
      }
      [[fallthrough]];
    case FaultKind::kWipe:
      next.down.insert(f.node);
      next.lost_data.insert(f.node);
      break;
    case FaultKind::kPartition:
      for (const auto& link : f.cut) {
        if (next.cuts.count(link)) return std::nullopt;
      }
      next.cuts.insert(f.cut.begin(), f.cut.end());
      break;
    case FaultKind::kReconfigure:
      // No node becomes faulty; the move itself must keep the rule.
      if (f.token.empty() || !MoveAllowed(f.token, f.to)) return std::nullopt;
      break;
  }
  if (!EveryTokenHasHealthyMajority(next, tokens_)) return std::nullopt;
  return next;
}

bool Nemesis::Inject(Active f) {
  std::optional<FaultState> next = After(f);
  if (!next) return false;
  const std::string who = f.node >= 0 ? Who(f.node) : "";
  switch (f.kind) {
    case FaultKind::kCrashStop: {
      // Marked even when the call fails (it may have reached the node, and a revive of an
      // unmarked token is harmless), but then not counted as injected.
      StatusOr<bool> r = admin_.Crash(replicas_.spec(f.node).address, f.token);
      f.took_effect = r.ok();
      Log("crash-stop token " + f.token + " at " + who +
          (r.ok() ? "" : " (admin call failed: " + r.status().ToString() + ")"));
      break;
    }
    case FaultKind::kKill:
    case FaultKind::kWipe: {
      replicas_.Kill(f.node);
      // The copy a later restore goes back to: this node's dir as it is while stopped.
      std::string copied;
      if (Status st = replicas_.CopyData(f.node); st.ok()) {
        copied_at_s_[f.node] = NowSeconds();
        std::set<std::string>& marks = marks_at_copy_[f.node];
        marks.clear();
        for (const auto& [node, token] : state_.marks) {
          if (node == f.node) marks.insert(token);
        }
        copied = ", data dir copied";
      } else {
        Log("copy failed: " + st.ToString());
      }
      if (f.kind == FaultKind::kKill) {
        Log("kill -9 " + who + copied);
        break;
      }
      Status st = replicas_.WipeData(f.node);
      f.took_effect = st.ok();
      Log("wipe " + who + ": kill -9" + copied + ", data dir removed" +
          (st.ok() ? "" : " (FAILED: " + st.ToString() + ")"));
      break;
    }
    case FaultKind::kRestore: {
      replicas_.Kill(f.node);
      Status st = replicas_.RestoreData(f.node);
      f.took_effect = st.ok();
      char age[64];
      std::snprintf(age, sizeof age, "the copy taken at %.3fs", copied_at_s_[f.node]);
      Log("restore " + who + ": kill -9, data dir replaced by " + age +
          (st.ok() ? "" : " (FAILED: " + st.ToString() + ")"));
      // The copy's crash-stop marks are back: faults to heal (revive) like any other, but not
      // counted, as the nemesis did not choose them.
      for (const std::string& token : marks_at_copy_[f.node]) {
        if (state_.marks.count({f.node, token})) continue;
        Active mark;
        mark.kind = FaultKind::kCrashStop;
        mark.node = f.node;
        mark.token = token;
        mark.until_s = f.until_s;
        mark.took_effect = false;
        Log("crash-stop token " + token + " at " + who + " is back with the restored copy");
        active_.push_back(std::move(mark));
      }
      break;
    }
    case FaultKind::kPause:
      replicas_.Pause(f.node);
      Log("SIGSTOP " + who);
      break;
    case FaultKind::kPartition: {
      std::string links;
      for (const auto& [a, b] : f.cut) {
        if (Status st = network_->Cut(a, b); !st.ok()) {
          Log("cut failed: " + st.ToString());
          f.took_effect = false;
        }
        links += " n" + std::to_string(a + 1) + "-n" + std::to_string(b + 1);
      }
      Log("partition: cut" + links);
      break;
    }
    case FaultKind::kReconfigure:
      f.took_effect = Move(f.token, f.to, "");
      break;
  }
  state_ = std::move(*next);
  if (f.took_effect) faults_[f.kind].injected++;
  active_.push_back(std::move(f));
  return true;
}

bool Nemesis::TryInject() {
  // The kinds injected least so far first (ties in random order), a few random candidates of
  // each; the first one the safety rule allows is injected. So every kind asked for gets its
  // share: with the kind drawn uniformly, a 180 s run had 28 partitions but 3 kills, because
  // cutting off a node that is already faulty is nearly always allowed and a node fault only
  // while no other node is faulty.
  std::vector<FaultKind> kinds(options_.kinds.begin(), options_.kinds.end());
  if (network_ == nullptr) std::erase(kinds, FaultKind::kPartition);
  std::shuffle(kinds.begin(), kinds.end(), rng_);
  const auto injected = [this](FaultKind k) {
    const auto it = faults_.find(k);
    return it == faults_.end() ? 0 : it->second.injected;
  };
  std::stable_sort(kinds.begin(), kinds.end(),
                   [&](FaultKind a, FaultKind b) { return injected(a) < injected(b); });
  constexpr int kCandidatesPerKind = 4;
  for (FaultKind kind : kinds) {
    for (int attempt = 0; attempt < kCandidatesPerKind; ++attempt) {
      if (Inject(RandomFault(kind))) return true;
    }
  }
  return false;
}

int Nemesis::PickNodeOtherThan(std::initializer_list<int> not_these) {
  std::vector<int> nodes;
  for (int i = 0; i < replicas_.size(); ++i) {
    if (std::find(not_these.begin(), not_these.end(), i) == not_these.end()) nodes.push_back(i);
  }
  assert(!nodes.empty());
  return nodes[Pick(static_cast<int>(nodes.size()))];
}

void Nemesis::StepScenario(double now) {
  switch (phase_) {
    case Phase::kIdle:
      return ScenarioKill(now);
    case Phase::kLagging:
      return ScenarioLoseData(now);
    case Phase::kLosing:
      return ScenarioPause(now);
  }
}

void Nemesis::ScenarioKill(double now) {
  if (now < next_injection_s_) return;
  next_injection_s_ = now + Uniform(kScenarioMinGapS, kScenarioMaxGapS);
  if (!state_.Empty()) return;  // the previous pause (or a slow start) is not over yet
  lagging_ = Pick(replicas_.size());
  if (Inject({.kind = FaultKind::kKill,
              .node = lagging_,
              .until_s = now + Uniform(kScenarioMinLengthS, kScenarioMaxLengthS)})) {
    phase_ = Phase::kLagging;
  }
}

void Nemesis::ScenarioLoseData(double now) {
  // L misses every write while it is down; the moment it serves again, it lags.
  const bool due = std::any_of(active_.begin(), active_.end(), [&](const Active& f) {
    return f.kind == FaultKind::kKill && f.node == lagging_ && f.until_s <= now;
  });
  if (due) {
    HoldClients(true);
    // The writers' Stores to L of the last writes stay pending until their deadline (the
    // request's) and would reach L as soon as it is back: let them expire first.
    if (clients_ != nullptr) {
      std::this_thread::sleep_for(clients_->request_timeout() + std::chrono::milliseconds(200));
    }
    HealDue(NowSeconds());
  }
  if (state_.NodeFaulty(lagging_)) {
    HoldClients(false);  // not serving yet: go on when it does (its lag may be gone by then)
    return;
  }
  // X: a wipe, or a restore when X has a copy (the first scenario always wipes: only L has
  // a copy then), chosen at random when both are possible.
  std::vector<int> with_copy;
  for (int i = 0; i < replicas_.size(); ++i) {
    if (i != lagging_ && replicas_.HasCopy(i)) with_copy.push_back(i);
  }
  const bool wipe = options_.kinds.count(FaultKind::kWipe) > 0;
  const bool restore = options_.kinds.count(FaultKind::kRestore) > 0 && !with_copy.empty();
  if (!wipe && !restore) {
    HoldClients(false);
    phase_ = Phase::kIdle;  // restore only, and no copy yet: L's kill took one, next time
    return;
  }
  const FaultKind kind = restore && (!wipe || Pick(2) == 0) ? FaultKind::kRestore
                                                            : FaultKind::kWipe;
  losing_ = kind == FaultKind::kRestore ? with_copy[Pick(static_cast<int>(with_copy.size()))]
                                        : PickNodeOtherThan({lagging_});
  // Due at once: X is restarted in this step.
  const double t = NowSeconds();
  if (!Inject({.kind = kind, .node = losing_, .until_s = t})) {
    Log("scenario: " + std::string(FaultKindName(kind)) + " of " + Who(losing_) +
        " not allowed now; starting over");
    HoldClients(false);
    phase_ = Phase::kIdle;
    return;
  }
  HealDue(t);
  phase_ = Phase::kLosing;
  ScenarioPause(NowSeconds());  // X may serve already: pause the third node at once
}

void Nemesis::ScenarioPause(double now) {
  if (state_.NodeFaulty(losing_)) {  // rebuilding: not serving yet
    HoldClients(false);
    return;
  }
  if (Inject({.kind = FaultKind::kPause,
              .node = PickNodeOtherThan({lagging_, losing_}),
              .until_s = now + Uniform(kScenarioMinLengthS, kScenarioMaxLengthS)})) {
    ++scenarios_;
  } else {
    Log("scenario: pause not allowed now; starting over");
  }
  HoldClients(false);
  phase_ = Phase::kIdle;
  next_injection_s_ = now + Uniform(kScenarioMinGapS, kScenarioMaxGapS);
}

bool Nemesis::Restart(int node, std::chrono::milliseconds wait) {
  assert(state_.down.count(node));
  Status st = replicas_.Start(node);
  if (!st.ok()) {
    Log("restart of " + Who(node) + " failed: " + st.ToString());
    return false;
  }
  state_.down.erase(node);
  if (replicas_.WaitServing(node, wait)) {
    const bool lost = state_.lost_data.count(node) > 0;
    MarkServing(node);
    Log("restarted " + Who(node) + (lost ? " on its lost data dir" : "") + ", SERVING");
    return true;
  }
  // Not serving yet (rebuilding, or still starting): faulty until PollStarting sees SERVING.
  state_.starting.insert(node);
  restarted_at_s_[node] = NowSeconds();
  Log("restarted " + Who(node) + ", not SERVING yet");
  return true;
}

std::chrono::milliseconds Nemesis::KillRestartWait() const {
  // The scenario goes on only once L serves, so there it is worth waiting for. Elsewhere a
  // long wait holds every other heal up: a node killed and then cut off by a partition serves
  // only once the partition heals (a 180 s run stood still for 15 s that way), and the
  // restarted node counts as faulty until it serves in any case.
  return options_.bias == Bias::kLagThenLoseData ? std::chrono::milliseconds(15000) : kServingWait;
}

void Nemesis::MarkServing(int node) {
  state_.starting.erase(node);
  state_.lost_data.erase(node);
  restarted_at_s_.erase(node);
  if (const auto it = restarting_.find(node); it != restarting_.end()) {
    faults_[it->second].healed++;
    restarting_.erase(it);
  }
}

void Nemesis::PollStarting() {
  const std::set<int> starting = state_.starting;
  for (int node : starting) {
    if (!replicas_.Running(node)) continue;  // exited: Step restarts it
    const Health h = replicas_.CheckHealth(node, std::chrono::milliseconds(200));
    const double since = restarted_at_s_[node];
    if (h == Health::kServing) {
      char took[64];
      std::snprintf(took, sizeof took, " %.3f s after its restart", NowSeconds() - since);
      MarkServing(node);
      Log(Who(node) + " SERVING" + took);
    } else if (since > 0 && NowSeconds() - since > kSlowStartS) {
      Log(Who(node) + " still not SERVING after " + std::to_string(int(kSlowStartS)) +
          " s (health " + (h == Health::kNoAnswer ? "does not answer" : "NOT_SERVING") +
          "), see " + replicas_.spec(node).log_path);
      restarted_at_s_[node] = -1;  // reported once
    }
  }
}

bool Nemesis::Heal(const Active& f) {
  const std::string who = f.node >= 0 ? Who(f.node) : "";
  switch (f.kind) {
    case FaultKind::kCrashStop: {
      if (state_.NodeFaulty(f.node)) return false;
      StatusOr<bool> r = admin_.Revive(replicas_.spec(f.node).address, f.token);
      if (!r.ok()) {
        Log("revive of token " + f.token + " at " + who + " failed, will retry: " +
            r.status().ToString());
        return false;
      }
      state_.marks.erase({f.node, f.token});
      Log("revive token " + f.token + " at " + who);
      if (f.took_effect) faults_[f.kind].healed++;
      return true;
    }
    case FaultKind::kKill:
    case FaultKind::kWipe:
    case FaultKind::kRestore:
      assert(state_.down.count(f.node));
      assert((f.kind == FaultKind::kKill) != (state_.lost_data.count(f.node) > 0));
      if (f.took_effect) restarting_[f.node] = f.kind;  // healed once it serves: MarkServing
      return Restart(f.node, f.kind == FaultKind::kKill ? KillRestartWait() : kServingWait);
    case FaultKind::kPause:
      replicas_.Resume(f.node);
      state_.paused.erase(f.node);
      Log("SIGCONT " + who);
      faults_[f.kind].healed++;
      return true;
    case FaultKind::kPartition: {
      std::string links;
      bool restored = f.took_effect;
      for (const auto& [a, b] : f.cut) {
        if (Status st = network_->Restore(a, b); !st.ok()) {
          Log("restore failed: " + st.ToString());
          restored = false;
        }
        state_.cuts.erase({a, b});
        links += " n" + std::to_string(a + 1) + "-n" + std::to_string(b + 1);
      }
      Log("partition healed:" + links);
      if (restored) faults_[f.kind].healed++;
      return true;
    }
    case FaultKind::kReconfigure: {
      if (unfinished_.count(f.token)) return false;  // its move completes first
      if (!f.took_effect) return true;  // nothing was moved: nothing to move back
      const ::tokenstore::ReplicaSet& now = configs_.at(f.token);
      bool readds = false;
      for (int n : NodesOf(f.from)) readds |= left_[f.token].count(n) > 0;
      if (!options_.reconfigure_readd && readds) {
        Log("reconfigure token " + f.token + ": stays at " + SetString(now) +
            " (moving back would add a replica that left it; see --reconfigure-readd)");
      } else if (!SameReplication(now, f.from)) {
        if (!MoveAllowed(f.token, f.from)) return false;  // not now: a later step
        if (!Move(f.token, f.from, " back")) return false;
      } else {
        Log("reconfigure token " + f.token + ": already back at " + SetString(now));
      }
      faults_[f.kind].healed++;
      return true;
    }
  }
  return true;
}

Nemesis::Active Nemesis::RandomMove() {
  Active f;
  f.kind = FaultKind::kReconfigure;
  if (configs_.empty()) return f;
  std::vector<std::string> ids;
  for (const auto& [id, s] : configs_) {
    if (!unfinished_.count(id)) ids.push_back(id);
  }
  if (ids.empty()) return f;
  const std::string& id = ids[Pick(static_cast<int>(ids.size()))];
  const ::tokenstore::ReplicaSet& cur = configs_.at(id);
  const std::vector<std::string> members = cur.Replicas();  // writer first
  std::vector<std::string> readers, outside;                // readers: other than the writer
  for (const std::string& m : members) {
    if (m != cur.writer) readers.push_back(m);
  }
  for (int i = 0; i < replicas_.size(); ++i) {
    const std::string& a = replicas_.spec(i).address;
    if (!options_.reconfigure_readd && left_[id].count(i)) continue;  // it would not rejoin
    if (std::find(members.begin(), members.end(), a) == members.end()) outside.push_back(a);
  }
  // Never below 3 replicas (2 with 3 nodes: else a 3-node cluster could only move writers).
  const size_t min_size = replicas_.size() <= 3 ? 2 : 3;
  enum Kind { kWriter, kSwap, kGrow, kShrink };
  std::vector<Kind> kinds;
  if (!readers.empty()) kinds.push_back(kWriter);
  if (!readers.empty() && !outside.empty()) kinds.push_back(kSwap);
  if (!outside.empty()) kinds.push_back(kGrow);
  // A shrink only when the heal can move the replica back.
  if (options_.reconfigure_readd && members.size() > min_size && !readers.empty()) {
    kinds.push_back(kShrink);
  }
  if (kinds.empty()) return f;
  // The new set: the writer is always one of the readers too (as the run's file has it).
  std::string writer = cur.writer;
  std::vector<std::string> set = members;
  switch (kinds[Pick(static_cast<int>(kinds.size()))]) {
    case kWriter:
      writer = readers[Pick(static_cast<int>(readers.size()))];
      break;
    case kSwap: {
      const std::string& gone = readers[Pick(static_cast<int>(readers.size()))];
      std::replace(set.begin(), set.end(), gone, outside[Pick(static_cast<int>(outside.size()))]);
      break;
    }
    case kGrow:
      set.push_back(outside[Pick(static_cast<int>(outside.size()))]);
      break;
    case kShrink:
      std::erase(set, readers[Pick(static_cast<int>(readers.size()))]);
      break;
  }
  f.token = id;
  f.from = cur;
  f.to.writer = writer;
  f.to.readers = set;
  return f;
}

std::vector<int> Nemesis::NodesOf(const ::tokenstore::ReplicaSet& s) const {
  std::vector<int> out;
  for (const std::string& a : s.Replicas()) {
    const auto it = node_of_.find(a);
    out.push_back(it == node_of_.end() ? -1 : it->second);
  }
  return out;
}

std::string Nemesis::SetString(const ::tokenstore::ReplicaSet& s) const {
  std::vector<int> nodes = NodesOf(s);
  std::sort(nodes.begin(), nodes.end());
  std::string out = "writer " + std::string(node_of_.count(s.writer)
                                                ? "n" + std::to_string(node_of_.at(s.writer) + 1)
                                                : s.writer) +
                    " replicas [";
  for (size_t i = 0; i < nodes.size(); ++i) {
    out += (i ? " n" : "n") + std::to_string(nodes[i] + 1);
  }
  return out + "] epoch " + std::to_string(s.epoch);
}

bool Nemesis::MoveAllowed(const std::string& token, const ::tokenstore::ReplicaSet& to) const {
  const auto it = configs_.find(token);
  if (it == configs_.end() || unfinished_.count(token)) return false;
  const ::tokenstore::ReplicaSet& from = it->second;
  if (SameReplication(from, to)) return false;
  const std::vector<int> old_nodes = NodesOf(from), new_nodes = NodesOf(to);
  if (std::count(new_nodes.begin(), new_nodes.end(), -1)) return false;
  if (!options_.reconfigure_readd) {
    const auto gone = left_.find(token);
    for (int n : new_nodes) {
      if (gone != left_.end() && gone->second.count(n)) return false;
    }
  }
  // The new writer and every added replica run, serve, and are not crash-stopped for the
  // token: the writes go on at once, and the install reaches the added ones.
  const auto healthy = [&](int n) {
    return !state_.NodeFaulty(n) && !state_.marks.count({n, token});
  };
  if (!healthy(node_of_.at(to.writer))) return false;
  // No replica of either set is restarting (rebuilding): it refuses the install and does not
  // learn the move, and its rebuild is then refused by peers at the newer epoch ("disagree on
  // its replication") for as long as the moves go on (a 45 s run: 67 s NOT_SERVING).
  for (const std::vector<int>* nodes : {&old_nodes, &new_nodes}) {
    for (int n : *nodes) {
      if (state_.starting.count(n) || state_.lost_data.count(n)) return false;
    }
  }
  for (int n : new_nodes) {
    if (std::find(old_nodes.begin(), old_nodes.end(), n) == old_nodes.end() && !healthy(n)) {
      return false;
    }
  }
  // Every node keeps some token: one named by no token of the file cannot (re)start.
  std::set<int> kept;
  for (const auto& [id, s] : configs_) {
    for (int n : NodesOf(id == token ? to : s)) kept.insert(n);
  }
  if (static_cast<int>(kept.size()) != replicas_.size()) return false;
  // Seal: a healthy, connected majority of the old set; install and activate: of the new.
  return EveryTokenHasHealthyMajority(state_, {{token, old_nodes}, {token, new_nodes}});
}

bool Nemesis::Move(const std::string& token, const ::tokenstore::ReplicaSet& target,
                   const std::string& why) {
  const ::tokenstore::ReplicaSet from = configs_.at(token);
  ::tokenstore::ReplicaSet to;
  to.writer = target.writer;
  to.readers = target.readers;
  to.epoch = from.epoch + 1;
  to.fingerprint = to.ComputeFingerprint();
  // What changes, for the log.
  std::string change;
  if (from.writer != to.writer) {
    change += "writer moves n" + std::to_string(node_of_.at(from.writer) + 1) + " -> n" +
              std::to_string(node_of_.at(to.writer) + 1);
  }
  {
    std::vector<int> a = NodesOf(from), b = NodesOf(to);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    std::vector<int> added, removed;
    std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(added));
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(removed));
    for (int n : added) change += (change.empty() ? "" : ", ") + ("adds n" + std::to_string(n + 1));
    for (int n : removed) {
      change += (change.empty() ? "" : ", ") + ("removes n" + std::to_string(n + 1));
    }
  }
  const auto start = std::chrono::steady_clock::now();
  constexpr int kAttempts = 3;
  TokenReconfigResult r;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    r = ReconfigureToken(*reconfig_nodes_, token, from, to, warnings_);
    if (r.status.ok()) break;
    Log("reconfigure token " + token + why + ": attempt " + std::to_string(attempt) +
        " failed: " + r.status.ToString());
    if (attempt < kAttempts) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const long long took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count();
  if (!r.status.ok()) {
    if (!unfinished_.count(token)) ++failed_moves_;
    unfinished_[token] = to;
    Log("UNEXPECTED: reconfigure token " + token + why + " " + SetString(from) + " -> " +
        SetString(to) + " did not complete after " + std::to_string(kAttempts) +
        " attempts (" + std::to_string(took_ms) + " ms); tried again at each step");
    return false;
  }
  unfinished_.erase(token);
  {
    const std::vector<int> a = NodesOf(from), b = NodesOf(to);
    for (int n : a) {
      if (std::find(b.begin(), b.end(), n) == b.end()) left_[token].insert(n);
    }
  }
  configs_[token] = to;
  for (TokenNodes& t : tokens_) {
    if (t.token == token) t.nodes = NodesOf(to);
  }
  std::string file = "";
  if (Status st = WriteConfigFile(); !st.ok()) file = " (replicas' file NOT rewritten: " + st.ToString() + ")";
  Log("reconfigure token " + token + why + ": " + SetString(from) + " -> " + SetString(to) +
      " (" + change + "), took " + std::to_string(took_ms) + " ms" +
      (r.resumed ? " (resumed a previous attempt)" : "") + file);
  return true;
}

void Nemesis::FinishUnfinishedMoves() {
  const auto unfinished = unfinished_;
  for (const auto& [token, to] : unfinished) {
    const std::vector<int> old_nodes = NodesOf(configs_.at(token)), new_nodes = NodesOf(to);
    // Only when it can succeed, so that a step is not held up by calls bound to time out.
    if (!EveryTokenHasHealthyMajority(state_, {{token, old_nodes}, {token, new_nodes}})) continue;
    Move(token, to, " (completing)");
  }
}

Status Nemesis::WriteConfigFile() {
  std::string yaml =
      "# token-chaos: the run's configuration after its online reconfigurations (epochs)\n";
  for (const TokenNodes& t : tokens_) {
    if (t.token.empty()) continue;
    const ::tokenstore::ReplicaSet& s = configs_.at(t.token);
    yaml += "- token: " + t.token + "\n  writer: " + s.writer + "\n  readers: [";
    for (size_t i = 0; i < s.readers.size(); ++i) yaml += (i ? ", " : "") + s.readers[i];
    yaml += "]\n";
    if (s.epoch != 0) yaml += "  epoch: " + std::to_string(s.epoch) + "\n";
  }
  StatusOr<ClusterConfig> parsed = ParseClusterConfig(yaml, options_.config_path);
  if (!parsed.ok()) return parsed.status();
  return WriteFileAtomically(options_.config_path, yaml);
}

bool Nemesis::HealAll() {
  HoldClients(false);
  // Node-level faults first: a crash-stop mark can only be revived on a running node; then
  // the marks; reconfigurations last (moving back needs healthy majorities).
  const auto order = [](const Active& f) {
    return f.kind == FaultKind::kReconfigure ? 2 : f.kind == FaultKind::kCrashStop ? 1 : 0;
  };
  std::stable_sort(active_.begin(), active_.end(),
                   [&](const Active& a, const Active& b) { return order(a) < order(b); });
  for (int round = 0; round < 3 && (!active_.empty() || !unfinished_.empty()); ++round) {
    FinishUnfinishedMoves();
    for (auto it = active_.begin(); it != active_.end();) {
      it = Heal(*it) ? active_.erase(it) : it + 1;
    }
    // A crash-stop mark waits for its node to serve (a rebuild may take a while).
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!state_.starting.empty() && std::chrono::steady_clock::now() < until) {
      PollStarting();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (!state_.starting.empty()) {
    Log(std::to_string(state_.starting.size()) + " restarted replica(s) never reported SERVING");
  }
  if (!active_.empty()) Log(std::to_string(active_.size()) + " fault(s) could not be healed");
  if (!unfinished_.empty()) {
    Log(std::to_string(unfinished_.size()) + " reconfiguration(s) could not be completed");
  }
  // Replicas that did not take an activation (the moves completed on a majority without them).
  for (const std::string& line : warnings_.Lines()) Log("reconfigure: " + line);
  return active_.empty() && state_.starting.empty() && unfinished_.empty();
}

}  // namespace tokenstore::chaos
