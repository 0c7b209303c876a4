// The outgoing side of replica-to-replica calls, as the protocol core sees it.
//
// The gRPC adapter (GrpcPeerTransport) and the in-memory simulated network used by the unit
// tests both implement it, so the protocol runs unchanged over either.
//
// Contract for every call:
// - `done` runs exactly once, on any thread (possibly the caller's, before the call returns),
//   with the reply or a Status: DEADLINE_EXCEEDED when no answer came by `deadline`,
//   CANCELLED after the returned handle was invoked, UNAVAILABLE when the peer is unreachable.
// - The returned CancelFn may be called any number of times, from any thread, also after
//   `done` ran; it never blocks. It may be empty when the call cannot be cancelled.
//
// Thread-safety: implementations are safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/core_clock.h"
#include "common/status.h"
#include "common/token_value.h"

namespace tokenstore {

using CancelFn = std::function<void()>;

// Where a node is in its life (replica/node_lifecycle.h). Only a kServing node's registers
// count in quorums; the others answer rebuild probes and Hellos.
enum class NodeState {
  kFresh,       // no identity yet: an empty data dir deciding how to start
  kStarting,    // restarted on its data dir, checking with its peers that the dir is current
  kRebuilding,  // rebuilding its registers from the others
  kServing,
};
const char* NodeStateName(NodeState state);  // "fresh", "starting", "rebuilding", "serving"

// A rebuild probe's answer: the callee's register, and whether it counts (the callee serves
// the token, its register is not a lost or restored copy).
struct ProbeReply {
  Register reg;
  bool serving = false;
  NodeState state = NodeState::kFresh;  // the callee's
};

// What a starting node says of itself in a Hello (SPEC section 10).
// Version 1: incarnation 0 is a check (the callee records nothing); otherwise it announces a
// start its data dir recorded, continuing (previous_boot, previous_run) of the same
// incarnation, or none (0, 0) when the incarnation is new. Version 0: a node from before
// checks existed, whose every Hello announces.
struct HelloArgs {
  std::string cluster_id;      // empty while it has no identity
  uint64_t incarnation = 0;    // 0: a check, or it has no identity
  uint64_t boot = 0;           // raised at every confirmed start
  uint64_t previous_boot = 0;  // the start this one continues
  uint64_t run = 0;            // random, drawn at each start
  uint64_t previous_run = 0;
  uint32_t version = 1;
};

struct HelloReply {
  std::string node;
  std::string cluster_id;  // empty while the callee has no identity
  NodeState state = NodeState::kFresh;
  bool holds_data = false;  // some register of the callee has ts > 0
  // What the callee had heard of the caller before this Hello.
  uint64_t seen_incarnation = 0;
  uint64_t seen_boot = 0;
  uint64_t seen_run = 0;
};

class PeerTransport {
 public:
  virtual ~PeerTransport() = default;

  // Every call about a token carries `fingerprint`, the caller's view of the token's
  // replication (TokenReplication::Fingerprint; 0: not checked); a callee that sees the token
  // otherwise answers FAILED_PRECONDITION. The transport adds the caller's own address.

  // GetRegister(token) at `node`: its current (ts, value). UNAVAILABLE while `node` does not
  // serve the token (it is starting or rebuilding).
  virtual CancelFn GetRegister(const std::string& node, const std::string& token,
                               uint64_t fingerprint, Clock::time_point deadline,
                               std::function<void(StatusOr<Register>)> done) = 0;

  // Store(token, reg) at `node`: the replica's acknowledgement carries the stamp it holds.
  virtual CancelFn Store(const std::string& node, const std::string& token, uint64_t fingerprint,
                         const Register& reg, Clock::time_point deadline,
                         std::function<void(StatusOr<Stamp>)> done) = 0;

  // A rebuilding node's probe of `node` for `token`: answered whatever the callee's state.
  virtual CancelFn Probe(const std::string& node, const std::string& token, uint64_t fingerprint,
                         Clock::time_point deadline,
                         std::function<void(StatusOr<ProbeReply>)> done) = 0;

  // The node-level handshake of a starting node (never withheld by crash-stop marks).
  virtual CancelFn Hello(const std::string& node, const HelloArgs& args,
                         Clock::time_point deadline,
                         std::function<void(StatusOr<HelloReply>)> done) = 0;
};

}  // namespace tokenstore
