#include "sim/invariants.h"

#include "storage/record_codec.h"

namespace tokenstore::sim {
namespace {

std::string Describe(const TokenValue& v) {
  if (v.kind != ValueKind::kDefined) return ValueKindName(v.kind);
  return "\"" + v.name + "\" [" + std::to_string(v.low) + ", " + std::to_string(v.mid) + ", " +
         std::to_string(v.high) + ")";
}

}  // namespace

void Invariants::OnOffered(std::string_view token, const Register& reg) {
  ++checks_;
  const Register canonical = CanonicalRegister(reg);
  auto key = std::make_pair(std::string(token), reg.stamp());
  auto [it, fresh] = value_of_stamp_.emplace(std::move(key), canonical.value);
  if (fresh || it->second == canonical.value) return;
  Report("two values carry one stamp: token " + std::string(token) + " at stamp " +
         StampString(reg.stamp()) + " holds " + Describe(it->second) + " and " +
         Describe(canonical.value));
}

void Invariants::OnHeld(std::string_view node, std::string_view token, Stamp held) {
  auto key = std::make_pair(std::string(node), std::string(token));
  auto [it, fresh] = high_water_.emplace(std::move(key), held);
  if (fresh || it->second <= held) {
    it->second = held;
    return;
  }
  Report("a stored stamp went back: " + std::string(node) + " held token " + std::string(token) +
         " at " + StampString(it->second) + " and now at " + StampString(held));
}

void Invariants::ForgetNode(std::string_view node) {
  for (auto it = high_water_.begin(); it != high_water_.end();) {
    it = it->first.first == node ? high_water_.erase(it) : std::next(it);
  }
}

void Invariants::Report(std::string what) {
  ++count_;
  if (first_) return;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      clock_.now().time_since_epoch()).count();
  first_ = "at " + std::to_string(us / 1000) + "." + std::to_string(1000 + us % 1000).substr(1) +
           " ms: " + what;
}

}  // namespace tokenstore::sim
