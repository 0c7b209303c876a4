// The nemesis's safety rule (see fault_model.h): brute force over subsets, which is cheap for
// the 3 or 5 replicas a fault run uses.
#include "chaos/fault_model.h"

#include <bit>
#include <cstdint>

namespace tokenstore::chaos {
namespace {

bool LostDataIsMinority(const FaultState& s, const TokenNodes& t) {
  size_t lost = 0;
  for (int n : t.nodes) lost += s.lost_data.count(n);
  return lost <= (t.nodes.size() - 1) / 2;
}

bool HasHealthyMajority(const FaultState& s, const TokenNodes& t) {
  std::vector<int> healthy;
  for (int n : t.nodes) {
    if (s.NodeFaulty(n)) continue;
    if (!t.token.empty() && s.marks.count({n, t.token})) continue;
    healthy.push_back(n);
  }
  const size_t majority = t.nodes.size() / 2 + 1;
  if (healthy.size() < majority) return false;
  const uint32_t subsets = 1u << healthy.size();
  for (uint32_t m = 0; m < subsets; ++m) {
    if (static_cast<size_t>(std::popcount(m)) < majority) continue;
    bool connected = true;
    for (size_t i = 0; i < healthy.size() && connected; ++i) {
      if (!(m & (1u << i))) continue;
      for (size_t j = i + 1; j < healthy.size() && connected; ++j) {
        if ((m & (1u << j)) && s.Cut(healthy[i], healthy[j])) connected = false;
      }
    }
    if (connected) return true;
  }
  return false;
}

}  // namespace

bool EveryTokenHasHealthyMajority(const FaultState& s, const std::vector<TokenNodes>& tokens) {
  for (const TokenNodes& t : tokens) {
    // Implied by the healthy majority (a node that lost data is faulty), checked on its own
    // because it is the rule that keeps acknowledged writes recoverable.
    if (!LostDataIsMinority(s, t) || !HasHealthyMajority(s, t)) return false;
  }
  return true;
}

}  // namespace tokenstore::chaos
