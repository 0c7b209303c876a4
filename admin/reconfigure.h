// token-admin reconfigure (SPEC section 11, docs/reconfiguration.md): moves every token whose
// writer or replica set differs between the cluster's current file and a new one, token by
// token: seal the old configuration C_e, install its newest register on the new one C_{e+1},
// activate C_{e+1}. Each phase needs a majority (of C_e, then of C_{e+1}), never every node.
//
// The pieces, each testable without a cluster:
//   PlanReconfiguration: the diff of two loaded files, grouped by (old entry, new entry);
//   ReconfigureToken:    one token's state machine over a ReconfigNodes (gRPC, or a fake);
//   RunReconfiguration:  every token of a plan, N at a time, progress on stderr;
//   AppliedConfigYaml:   the new file with each moved entry's new epoch, checked by loading it.
//
// Thread-safety: ReconfigNodes implementations are safe for concurrent use and call their
// callbacks from any thread; the other functions are called from one thread (the run starts
// its own).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "admin/admin_client.h"
#include "common/mutex.h"
#include "common/status.h"
#include "common/token_value.h"
#include "config/cluster_config.h"

namespace tokenstore {

// ---- The plan ----

// The tokens of one (CURRENT entry, NEW entry) pair that change, and the move they share.
struct ReconfigMove {
  ReplicaSet from;  // C_e: CURRENT's writer and readers at CURRENT's epoch e
  ReplicaSet to;    // C_{e+1}: NEW's writer and readers at e + 1
  int new_line = 0;  // the NEW entry's line
  std::vector<std::string> tokens;  // in CURRENT's order

  std::vector<std::string> Added() const;    // replicas of `to` not in `from`, sorted
  std::vector<std::string> Removed() const;  // replicas of `from` not in `to`, sorted
};

struct ReconfigPlan {
  std::vector<ReconfigMove> moves;  // in CURRENT's order of their first token
  uint64_t current_tokens = 0;
  uint64_t unchanged = 0;
  uint64_t only_in_new = 0;                // tokens of NEW that CURRENT does not name: ignored
  std::vector<std::string> only_in_new_first;  // the first few of them

  uint64_t TokensToMove() const;
};

// Writer and replica set equal (the readers' order does not matter); epochs are not compared.
bool SameReplication(const ReplicaSet& a, const ReplicaSet& b);
// The same, and the same epoch.
bool SameConfig(const ReplicaSet& a, const ReplicaSet& b);
// "writer W readers [A, B] at epoch E" (readers sorted).
std::string ConfigString(const ReplicaSet& s);

// Every token of `current` whose writer or replicas differ in `next`. INVALID_ARGUMENT naming
// the tokens (the first few, and how many) when `next` lacks tokens of `current`.
StatusOr<ReconfigPlan> PlanReconfiguration(const ClusterConfig& current, const ClusterConfig& next);
// The plan for people, one line per move and a summary line, e.g.
//   tokens t0..t999 (1000): writer A readers [A, B, C] at epoch 0 -> writer B readers [B, C, D]
//   at epoch 1; adds D, removes A, writer moves A -> B
std::string FormatPlan(const ReconfigPlan& plan, const ClusterConfig& current,
                       const ClusterConfig& next);

// ---- Talking to the nodes ----

// The plain form of a v1::ReconfigReply.
struct NodeReconfigReply {
  enum class State { kYaml, kSealed, kActive, kRetired };
  State state = State::kYaml;
  ReplicaSet current;
  std::optional<ReplicaSet> target;  // sealed: where it moves; retired: where it went
  Register reg;
};
using ReconfigCallback = std::function<void(StatusOr<NodeReconfigReply>)>;

// The three calls of a reconfiguration, to one node about one token. Each calls `done` once,
// from any thread (possibly before it returns), with the node's answer or an error naming the
// node: a call never blocks its caller on the node, so that a run waits for majorities only.
class ReconfigNodes {
 public:
  virtual ~ReconfigNodes() = default;
  virtual void Seal(const std::string& node, const std::string& token, const ReplicaSet& from,
                    const ReplicaSet& to, ReconfigCallback done) = 0;
  virtual void Install(const std::string& node, const std::string& token, const ReplicaSet& to,
                       const Register& reg, ReconfigCallback done) = 0;
  virtual void Activate(const std::string& node, const std::string& token, const ReplicaSet& to,
                        ReconfigCallback done) = 0;
};

// AdminService over gRPC: one channel per node (TLS per options.security), a deadline of
// options.timeout per call. The destructor waits for the calls in flight (each ends by its
// deadline).
class GrpcReconfigNodes final : public ReconfigNodes {
 public:
  explicit GrpcReconfigNodes(AdminOptions options);
  ~GrpcReconfigNodes() override;
  void Seal(const std::string& node, const std::string& token, const ReplicaSet& from,
            const ReplicaSet& to, ReconfigCallback done) override;
  void Install(const std::string& node, const std::string& token, const ReplicaSet& to,
               const Register& reg, ReconfigCallback done) override;
  void Activate(const std::string& node, const std::string& token, const ReplicaSet& to,
                ReconfigCallback done) override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- One token ----

// Failed activations of nodes that did not count towards the majority (or answered after
// it), gathered over a run: the token is moved, the node learns it on a later run.
class ActivationWarnings {
 public:
  void Expect();  // one more activation in flight
  void Answered(const std::string& node, const std::string& token, const Status& st);
  void WaitForAll();  // until every expected one answered
  // One line per node that failed some: "NODE did not take the new configuration of N
  // token(s) (first: token "T": ERROR); run the same command again once it is reachable".
  std::vector<std::string> Lines() const;

 private:
  struct PerNode {
    uint64_t count = 0;
    std::string first;
  };
  mutable Mutex mu_;
  CondVar cv_;
  uint64_t pending_ GUARDED_BY(mu_) = 0;
  std::map<std::string, PerNode> nodes_ GUARDED_BY(mu_);
};

struct TokenReconfigResult {
  Status status;          // OK: the token is at `to` on a majority of its new replicas
  bool resumed = false;   // a previous run had activated it: seal and install were skipped
  bool concurrent = false;  // refused: sealed by another reconfiguration
};

// Seal `from` (a majority of it), install the newest register on `to` (a majority of it),
// activate `to` on every node of both (a majority of `to`). Answers that arrive after their
// phase's majority are not waited for; failed activations go to `warnings`.
TokenReconfigResult ReconfigureToken(ReconfigNodes& nodes, const std::string& token,
                                     const ReplicaSet& from, const ReplicaSet& to,
                                     ActivationWarnings& warnings);

// ---- A run ----

inline constexpr int kDefaultReconfigParallel = 16;
inline constexpr int kMaxReconfigParallel = 64;

struct ReconfigRunOptions {
  int parallel = kDefaultReconfigParallel;  // tokens in flight, 1 .. kMaxReconfigParallel
  std::FILE* progress = stderr;             // nullptr: silent
  bool interactive = false;  // progress lines while it runs (a terminal); else only the last
  std::chrono::milliseconds progress_interval{1000};
};

struct ReconfigSummary {
  uint64_t tokens = 0;
  uint64_t moved = 0;
  uint64_t resumed = 0;  // of moved: completed a previous run's activation
  uint64_t failed = 0;
  std::vector<std::string> failures;  // "token \"T\": ERROR", in plan order
  bool only_unreachable = false;  // every failure was UNAVAILABLE or DEADLINE_EXCEEDED
  std::vector<std::string> warnings;  // ActivationWarnings::Lines()
};

ReconfigSummary RunReconfiguration(ReconfigNodes& nodes, const ReconfigPlan& plan,
                                   const ReconfigRunOptions& options);

// ---- The applied file ----

// NEW.yaml -> NEW.applied.yaml (also for .yml; "NEW.applied.yaml" without an extension).
std::string DefaultAppliedPath(const std::string& new_path);

// `next` as YAML, each entry split into runs of tokens that share an epoch: a token of the
// plan at e + 1, an unchanged token at CURRENT's epoch, a token only in NEW at NEW's. Loaded
// back (ParseClusterConfig) and checked: every token of `next` at its writer, readers and
// epoch; INTERNAL naming the first difference otherwise.
StatusOr<std::string> AppliedConfigYaml(const ClusterConfig& current, const ClusterConfig& next,
                                        const std::string& comment);
// Writes `text` to `path` through a temporary file, synced and renamed.
Status WriteFileAtomically(const std::string& path, const std::string& text);

}  // namespace tokenstore
