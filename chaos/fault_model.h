// The nemesis's safety rule, kept apart from processes and networks so it can be tested:
// a fault may only be injected while, afterwards, every token still has a strict majority of
// its replicas that are running (not killed, not paused), serving (gRPC health SERVING since
// their last restart), not crash-stopped for that token, and pairwise connected. That is
// "never more than a minority faulty, counting every fault kind": the store must stay
// available, so every violation the checker finds is the protocol's, not the test's (a
// majority outage would only make operations time out).
//
// A wiped or restored replica has lost data until it reports SERVING again (it rebuilds from
// the others first, SPEC section 10); never more than a minority of a token's replicas may be
// in that state at once, or acknowledged writes could really be gone.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace tokenstore::chaos {

struct FaultState {
  std::set<int> down;       // killed (kill, wipe, restore), not restarted yet
  std::set<int> starting;   // restarted, gRPC health not SERVING yet
  std::set<int> lost_data;  // wiped or restored, not SERVING since: a subset of down + starting
  std::set<int> paused;     // SIGSTOP
  std::set<std::pair<int, std::string>> marks;  // (node, token) crash-stopped
  std::set<std::pair<int, int>> cuts;           // links cut, as (a, b) with a < b

  bool Cut(int a, int b) const { return cuts.count({std::min(a, b), std::max(a, b)}) > 0; }
  // Not running, not serving yet, or paused: faulty for every token it keeps.
  bool NodeFaulty(int n) const {
    return down.count(n) || starting.count(n) || lost_data.count(n) || paused.count(n);
  }
  bool Empty() const {
    return down.empty() && starting.empty() && lost_data.empty() && paused.empty() &&
           marks.empty() && cuts.empty();
  }
};

struct TokenNodes {
  std::string token;       // empty: "the cluster as a whole" (crash-stop marks do not count)
  std::vector<int> nodes;  // the token's replicas
};

// True when every entry of `tokens` keeps a healthy, connected strict majority under `s` and
// at most a minority of its replicas lost data.
bool EveryTokenHasHealthyMajority(const FaultState& s, const std::vector<TokenNodes>& tokens);

}  // namespace tokenstore::chaos
