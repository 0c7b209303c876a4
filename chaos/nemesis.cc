// Fault injection for token-chaos (see nemesis.h).
#include "chaos/nemesis.h"

#include <sys/wait.h>

#include <algorithm>

namespace tokenstore::chaos {

const char* FaultKindName(FaultKind k) {
  switch (k) {
    case FaultKind::kCrashStop:
      return "crash-stop";
    case FaultKind::kKill:
      return "kill";
    case FaultKind::kPause:
      return "pause";
    case FaultKind::kPartition:
      return "partition";
  }
  return "?";
}

Nemesis::Nemesis(NemesisOptions options, ReplicaSet& replicas, Network* network,
                 std::vector<TokenNodes> tokens, const RunClock& clock, std::vector<std::FILE*> logs)
    : options_(std::move(options)),
      replicas_(replicas),
      network_(network),
      tokens_(std::move(tokens)),
      clock_(clock),
      logs_(std::move(logs)),
      rng_(options_.seed) {
  next_injection_s_ = NowSeconds() + Uniform(options_.min_gap_s, options_.max_gap_s);
}

void Nemesis::Log(const std::string& what) {
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "[%8.3fs] ", NowSeconds());
  for (std::FILE* f : logs_) {
    std::fprintf(f, "%snemesis: %s\n", prefix, what.c_str());
    std::fflush(f);
  }
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
      if (replicas_.Start(node).ok() && replicas_.WaitReady(node, std::chrono::seconds(15))) {
        state_.down.erase(node);
      }
    }
  }
  const double now = NowSeconds();
  for (auto it = active_.begin(); it != active_.end();) {
    if (it->until_s <= now && Heal(*it)) {
      it = active_.erase(it);
    } else {
      ++it;
    }
  }
  if (now >= next_injection_s_) {
    TryInject();
    next_injection_s_ = NowSeconds() + Uniform(options_.min_gap_s, options_.max_gap_s);
  }
}

bool Nemesis::TryInject() {
  std::vector<FaultKind> kinds(options_.kinds.begin(), options_.kinds.end());
  if (network_ == nullptr) std::erase(kinds, FaultKind::kPartition);
  if (kinds.empty()) return false;
  const int n = replicas_.size();
  // A few random candidates; the first one the safety rule allows is injected.
  for (int attempt = 0; attempt < 10; ++attempt) {
    Active f;
    f.kind = kinds[Pick(static_cast<int>(kinds.size()))];
    f.until_s = NowSeconds() + Uniform(options_.min_length_s, options_.max_length_s);
    FaultState next = state_;
    const auto busy = [&](int node) { return next.down.count(node) || next.paused.count(node); };
    switch (f.kind) {
      case FaultKind::kCrashStop: {
        f.node = Pick(n);
        f.token = tokens_[1 + Pick(static_cast<int>(tokens_.size()) - 1)].token;
        // The admin call needs a running node.
        if (busy(f.node) || next.marks.count({f.node, f.token})) continue;
        next.marks.insert({f.node, f.token});
        break;
      }
      case FaultKind::kKill:
      case FaultKind::kPause:
        f.node = Pick(n);
        if (busy(f.node)) continue;
        (f.kind == FaultKind::kKill ? next.down : next.paused).insert(f.node);
        break;
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
        bool overlaps = false;
        for (const auto& link : f.cut) overlaps |= next.cuts.count(link) > 0;
        if (overlaps) continue;
        next.cuts.insert(f.cut.begin(), f.cut.end());
        break;
      }
    }
    if (!EveryTokenHasHealthyMajority(next, tokens_)) continue;

    const std::string who = f.node >= 0 ? "n" + std::to_string(f.node + 1) + " (" +
                                              replicas_.spec(f.node).address + ")"
                                        : "";
    switch (f.kind) {
      case FaultKind::kCrashStop: {
        // Counted as marked even when the call fails: it may have reached the node, and a
        // revive of an unmarked token is harmless.
        StatusOr<bool> r = admin_.Crash(replicas_.spec(f.node).address, f.token);
        Log("crash-stop token " + f.token + " at " + who +
            (r.ok() ? "" : " (admin call failed: " + r.status().ToString() + ")"));
        break;
      }
      case FaultKind::kKill:
        replicas_.Kill(f.node);
        Log("kill -9 " + who);
        break;
      case FaultKind::kPause:
        replicas_.Pause(f.node);
        Log("SIGSTOP " + who);
        break;
      case FaultKind::kPartition: {
        std::string links;
        for (const auto& [a, b] : f.cut) {
          if (Status st = network_->Cut(a, b); !st.ok()) Log("cut failed: " + st.ToString());
          links += " n" + std::to_string(a + 1) + "-n" + std::to_string(b + 1);
        }
        Log("partition: cut" + links);
        break;
      }
    }
    state_ = std::move(next);
    injected_[f.kind]++;
    active_.push_back(std::move(f));
    return true;
  }
  return false;
}

bool Nemesis::Heal(const Active& f) {
  const std::string who =
      f.node >= 0 ? "n" + std::to_string(f.node + 1) + " (" + replicas_.spec(f.node).address + ")"
                  : "";
  switch (f.kind) {
    case FaultKind::kCrashStop: {
      if (state_.down.count(f.node) || state_.paused.count(f.node)) return false;
      StatusOr<bool> r = admin_.Revive(replicas_.spec(f.node).address, f.token);
      if (!r.ok()) {
        Log("revive of token " + f.token + " at " + who + " failed, will retry: " +
            r.status().ToString());
        return false;
      }
      state_.marks.erase({f.node, f.token});
      Log("revive token " + f.token + " at " + who);
      return true;
    }
    case FaultKind::kKill: {
      Status st = replicas_.Start(f.node);
      if (!st.ok()) {
        Log("restart of " + who + " failed: " + st.ToString());
        return false;
      }
      if (!replicas_.WaitReady(f.node, std::chrono::seconds(15))) {
        Log("restarted " + who + " but it does not answer; see " + replicas_.spec(f.node).log_path);
        replicas_.Kill(f.node);
        return false;
      }
      state_.down.erase(f.node);
      Log("restarted " + who);
      return true;
    }
    case FaultKind::kPause:
      replicas_.Resume(f.node);
      state_.paused.erase(f.node);
      Log("SIGCONT " + who);
      return true;
    case FaultKind::kPartition: {
      std::string links;
      for (const auto& [a, b] : f.cut) {
        if (Status st = network_->Restore(a, b); !st.ok()) Log("restore failed: " + st.ToString());
        state_.cuts.erase({a, b});
        links += " n" + std::to_string(a + 1) + "-n" + std::to_string(b + 1);
      }
      Log("partition healed:" + links);
      return true;
    }
  }
  return true;
}

bool Nemesis::HealAll() {
  // Node-level faults first: a crash-stop mark can only be revived on a running node.
  std::stable_partition(active_.begin(), active_.end(),
                        [](const Active& f) { return f.kind != FaultKind::kCrashStop; });
  for (int round = 0; round < 3 && !active_.empty(); ++round) {
    for (auto it = active_.begin(); it != active_.end();) {
      it = Heal(*it) ? active_.erase(it) : it + 1;
    }
  }
  if (!active_.empty()) Log(std::to_string(active_.size()) + " fault(s) could not be healed");
  return active_.empty();
}

}  // namespace tokenstore::chaos
