#include "admin/reconfigure.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <utility>

#include "admin.grpc.pb.h"
#include "admin/bulk.h"
#include "client/channel.h"
#include "proto/convert.h"

namespace tokenstore {
namespace {

std::string Quoted(std::string_view id) { return "\"" + std::string(id) + "\""; }

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::vector<std::string> SortedReaders(const ReplicaSet& s) {
  std::vector<std::string> r = s.readers;
  std::sort(r.begin(), r.end());
  return r;
}

std::vector<std::string> SortedReplicas(const ReplicaSet& s) {
  std::vector<std::string> r = s.Replicas();
  std::sort(r.begin(), r.end());
  return r;
}

std::vector<std::string> Minus(const std::vector<std::string>& a,
                               const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// A copy of `s` at `epoch`, standing alone (no file line), with its fingerprint.
ReplicaSet AtEpoch(const ReplicaSet& s, uint64_t epoch) {
  ReplicaSet out;
  out.writer = s.writer;
  out.readers = s.readers;
  out.line = s.line;
  out.epoch = epoch;
  out.fingerprint = out.ComputeFingerprint();
  return out;
}

std::string TokensLabel(const std::vector<std::string>& tokens) {
  if (tokens.size() == 1) return "token " + tokens.front();
  return "tokens " + tokens.front() + ".." + tokens.back() + " (" + std::to_string(tokens.size()) +
         ")";
}

}  // namespace

// ---- The plan ----

bool SameReplication(const ReplicaSet& a, const ReplicaSet& b) {
  return a.writer == b.writer && SortedReaders(a) == SortedReaders(b);
}

bool SameConfig(const ReplicaSet& a, const ReplicaSet& b) {
  return a.epoch == b.epoch && SameReplication(a, b);
}

std::string ConfigString(const ReplicaSet& s) {
  return "writer " + s.writer + " readers [" + JoinList(SortedReaders(s)) + "] at epoch " +
         std::to_string(s.epoch);
}

std::vector<std::string> ReconfigMove::Added() const {
  return Minus(SortedReplicas(to), SortedReplicas(from));
}

std::vector<std::string> ReconfigMove::Removed() const {
  return Minus(SortedReplicas(from), SortedReplicas(to));
}

uint64_t ReconfigPlan::TokensToMove() const {
  uint64_t n = 0;
  for (const ReconfigMove& m : moves) n += m.tokens.size();
  return n;
}

StatusOr<ReconfigPlan> PlanReconfiguration(const ClusterConfig& current,
                                           const ClusterConfig& next) {
  constexpr size_t kNamed = 10;
  ReconfigPlan plan;
  plan.current_tokens = current.size();
  std::map<std::pair<const ReplicaSet*, const ReplicaSet*>, size_t> index;
  std::vector<std::string> missing;
  uint64_t missing_count = 0;
  current.ForEach([&](const TokenReplication& t) {
    const std::optional<TokenReplication> n = next.Find(t.id);
    if (!n) {
      if (missing.size() < kNamed) {
        missing.push_back(Quoted(t.id) + " (" + current.source + " line " +
                          std::to_string(t.line()) + ")");
      }
      ++missing_count;
      return true;
    }
    if (SameReplication(*t.set, *n->set)) {
      ++plan.unchanged;
      return true;
    }
    auto [it, inserted] = index.try_emplace({t.set, n->set}, plan.moves.size());
    if (inserted) {
      ReconfigMove m;
      m.from = AtEpoch(*t.set, t.set->epoch);
      m.to = AtEpoch(*n->set, t.set->epoch + 1);
      m.to.line = n->set->line;
      m.new_line = n->set->line;
      plan.moves.push_back(std::move(m));
    }
    plan.moves[it->second].tokens.push_back(t.id);
    return true;
  });
  if (missing_count > 0) {
    std::string more = missing_count > missing.size()
                           ? " and " + std::to_string(missing_count - missing.size()) + " more"
                           : "";
    return Status::InvalidArgument(
        std::to_string(missing_count) + " token(s) of " + current.source + " are not in " +
        next.source + ": " + JoinList(missing) + more +
        "; reconfigure moves tokens and never removes one: keep them in " + next.source);
  }
  next.ForEach([&](const TokenReplication& t) {
    if (!current.Find(t.id)) {
      if (plan.only_in_new_first.size() < kNamed) plan.only_in_new_first.push_back(t.id);
      ++plan.only_in_new;
    }
    return true;
  });
  return plan;
}

std::string FormatPlan(const ReconfigPlan& plan, const ClusterConfig& current,
                       const ClusterConfig& next) {
  std::ostringstream out;
  for (const ReconfigMove& m : plan.moves) {
    out << TokensLabel(m.tokens) << ": " << ConfigString(m.from) << " -> " << ConfigString(m.to);
    std::vector<std::string> parts;
    if (std::vector<std::string> a = m.Added(); !a.empty()) parts.push_back("adds " + JoinList(a));
    if (std::vector<std::string> r = m.Removed(); !r.empty()) {
      parts.push_back("removes " + JoinList(r));
    }
    if (m.from.writer != m.to.writer) {
      parts.push_back("writer moves " + m.from.writer + " -> " + m.to.writer);
    }
    for (const std::string& node : {m.from.writer, m.to.writer}) {
      const bool was = m.from.IsReader(node);
      const bool is = m.to.IsReader(node);
      if (m.from.RoleOf(node) != Role::kNone && m.to.RoleOf(node) != Role::kNone && was != is) {
        parts.push_back(node + (is ? " becomes a reader" : " stops reading"));
      }
      if (m.from.writer == m.to.writer) break;
    }
    if (!parts.empty()) out << "; " << JoinList(parts);
    out << " (" << current.source << " line " << m.from.line << " -> " << next.source << " line "
        << m.new_line << ")\n";
  }
  out << plan.TokensToMove() << " token(s) to move in " << plan.moves.size() << " group(s), "
      << plan.unchanged << " unchanged, of " << plan.current_tokens << " in " << current.source
      << "\n";
  if (plan.only_in_new > 0) {
    out << "note: " << plan.only_in_new << " token(s) only in " << next.source
        << " are ignored (not moved; they are new tokens, served once their nodes have the new "
           "file): "
        << JoinList(plan.only_in_new_first) << (plan.only_in_new > plan.only_in_new_first.size()
                                                     ? ", ..."
                                                     : "")
        << "\n";
  }
  return out.str();
}

// ---- gRPC ----

namespace {

NodeReconfigReply::State StateFromProto(v1::ReconfigReply::State s) {
  switch (s) {
    case v1::ReconfigReply::SEALED:
      return NodeReconfigReply::State::kSealed;
    case v1::ReconfigReply::ACTIVE:
      return NodeReconfigReply::State::kActive;
    case v1::ReconfigReply::RETIRED:
      return NodeReconfigReply::State::kRetired;
    default:
      return NodeReconfigReply::State::kYaml;
  }
}

StatusOr<NodeReconfigReply> ReplyFromProto(const v1::ReconfigReply& r) {
  NodeReconfigReply out;
  out.state = StateFromProto(r.state());
  StatusOr<ReplicaSet> current = FromProto(r.current(), "the answer's configuration");
  if (!current.ok()) return current.status();
  out.current = *std::move(current);
  if (r.has_target()) {
    StatusOr<ReplicaSet> target = FromProto(r.target(), "the answer's target");
    if (!target.ok()) return target.status();
    out.target = *std::move(target);
  }
  StatusOr<Register> reg = FromProto(r.reg());
  if (!reg.ok()) return reg.status();
  out.reg = *std::move(reg);
  return out;
}

}  // namespace

class GrpcReconfigNodes::Impl {
 public:
  explicit Impl(AdminOptions options) : options_(std::move(options)) {}
  ~Impl() {
    MutexLock lock(&mu_);
    cv_.Wait(&mu_, [this]() REQUIRES(mu_) { return in_flight_ == 0; });
  }

  template <typename Request, typename Send>
  void Call(const std::string& what, const std::string& node, const std::string& token,
            Request req, Send send, ReconfigCallback done) {
    struct State {
      grpc::ClientContext ctx;
      Request req;
      v1::ReconfigReply resp;
    };
    auto state = std::make_shared<State>();
    state->req = std::move(req);
    state->ctx.set_deadline(std::chrono::system_clock::now() + options_.timeout);
    {
      MutexLock lock(&mu_);
      ++in_flight_;
    }
    v1::AdminService::Stub* stub = StubFor(node);
    send(stub->async(), &state->ctx, &state->req, &state->resp,
         [this, state, what, node, token, done = std::move(done)](grpc::Status st) {
           if (st.ok()) {
             StatusOr<NodeReconfigReply> reply = ReplyFromProto(state->resp);
             done(reply.ok() ? reply
                             : StatusOr<NodeReconfigReply>(reply.status().WithContext(
                                   what + " of " + Quoted(token) + " at " + node)));
           } else {
             done(CallError(what + " of " + Quoted(token), node, st));
           }
           MutexLock lock(&mu_);
           if (--in_flight_ == 0) cv_.SignalAll();
         });
  }

 private:
  v1::AdminService::Stub* StubFor(const std::string& node) {
    MutexLock lock(&mu_);
    std::unique_ptr<v1::AdminService::Stub>& stub = stubs_[node];
    if (!stub) stub = v1::AdminService::NewStub(options_.security.NewNodeChannel(node));
    return stub.get();
  }

  Status CallError(const std::string& what, const std::string& node, const grpc::Status& st) const {
    switch (st.error_code()) {
      case grpc::StatusCode::UNAVAILABLE:
        return Status::Unavailable(what + ": cannot reach " + node + " (" +
                                   RpcFailureReason(st) + ")");
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        return Status::DeadlineExceeded(what + ": " + node + " did not answer within " +
                                        FormatDuration(options_.timeout) + " (--timeout)");
      default:
        return Status(static_cast<StatusCode>(st.error_code()),
                      what + " at " + node + ": " + st.error_message());
    }
  }

  const AdminOptions options_;
  Mutex mu_;
  CondVar cv_;
  uint64_t in_flight_ GUARDED_BY(mu_) = 0;
  std::map<std::string, std::unique_ptr<v1::AdminService::Stub>> stubs_ GUARDED_BY(mu_);
};

GrpcReconfigNodes::GrpcReconfigNodes(AdminOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

GrpcReconfigNodes::~GrpcReconfigNodes() = default;

void GrpcReconfigNodes::Seal(const std::string& node, const std::string& token,
                             const ReplicaSet& from, const ReplicaSet& to, ReconfigCallback done) {
  v1::SealRequest req;
  ToProto(token, from, req.mutable_from());
  ToProto(token, to, req.mutable_to());
  impl_->Call(
      "seal", node, token, std::move(req),
      [](auto* async, grpc::ClientContext* ctx, const v1::SealRequest* r, v1::ReconfigReply* resp,
         std::function<void(grpc::Status)> cb) { async->Seal(ctx, r, resp, std::move(cb)); },
      std::move(done));
}

void GrpcReconfigNodes::Install(const std::string& node, const std::string& token,
                                const ReplicaSet& to, const Register& reg, ReconfigCallback done) {
  v1::InstallRequest req;
  ToProto(token, to, req.mutable_to());
  ToProto(reg, req.mutable_reg());
  impl_->Call(
      "install", node, token, std::move(req),
      [](auto* async, grpc::ClientContext* ctx, const v1::InstallRequest* r,
         v1::ReconfigReply* resp,
         std::function<void(grpc::Status)> cb) { async->Install(ctx, r, resp, std::move(cb)); },
      std::move(done));
}

void GrpcReconfigNodes::Activate(const std::string& node, const std::string& token,
                                 const ReplicaSet& to, ReconfigCallback done) {
  v1::ActivateRequest req;
  ToProto(token, to, req.mutable_to());
  impl_->Call(
      "activation", node, token, std::move(req),
      [](auto* async, grpc::ClientContext* ctx, const v1::ActivateRequest* r,
         v1::ReconfigReply* resp,
         std::function<void(grpc::Status)> cb) { async->Activate(ctx, r, resp, std::move(cb)); },
      std::move(done));
}

// ---- One token ----

void ActivationWarnings::Expect() {
  MutexLock lock(&mu_);
  ++pending_;
}

void ActivationWarnings::Answered(const std::string& node, const std::string& token,
                                  const Status& st) {
  MutexLock lock(&mu_);
  if (!st.ok()) {
    PerNode& n = nodes_[node];
    if (n.count++ == 0) n.first = "token " + Quoted(token) + ": " + st.ToString();
  }
  assert(pending_ > 0);
  if (--pending_ == 0) cv_.SignalAll();
}

void ActivationWarnings::WaitForAll() {
  MutexLock lock(&mu_);
  cv_.Wait(&mu_, [this]() REQUIRES(mu_) { return pending_ == 0; });
}

std::vector<std::string> ActivationWarnings::Lines() const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [node, n] : nodes_) {
    out.push_back(node + " did not take the new configuration of " + std::to_string(n.count) +
                  " token(s) (first: " + n.first +
                  "); the tokens are moved (a majority of their new replicas took it): run the "
                  "same command again once " + node + " is reachable, to tell it");
  }
  return out;
}

namespace {

// The answers to one phase's calls, each to one node. Wait() returns once `quorum` of the
// nodes that count answered OK, or `stop` said so of an answer, or the quorum is out of reach.
// Later answers land here too (the callbacks keep it alive) and are ignored.
class Fanout : public std::enable_shared_from_this<Fanout> {
 public:
  using StopFn = std::function<bool(const std::string& node, const StatusOr<NodeReconfigReply>&)>;

  Fanout(size_t quorum, StopFn stop) : quorum_(quorum), stop_(std::move(stop)) {}

  // The callback for the call to `node`.
  ReconfigCallback Expect(const std::string& node, bool counts) {
    {
      MutexLock lock(&mu_);
      if (counts) ++counting_pending_;
    }
    return [self = shared_from_this(), node, counts](StatusOr<NodeReconfigReply> r) {
      self->Answer(node, counts, std::move(r));
    };
  }

  struct Result {
    bool reached = false;  // the quorum answered OK
    bool stopped = false;  // `stop` said so
    std::string stop_node;
    Status stop_status;  // of the answer that stopped it, when an error
    std::vector<std::pair<std::string, NodeReconfigReply>> ok;  // answers so far
    std::vector<std::pair<std::string, Status>> errors;
  };

  Result Wait() {
    MutexLock lock(&mu_);
    cv_.Wait(&mu_, [this]() REQUIRES(mu_) {
      return result_.stopped || counting_ok_ >= quorum_ || counting_ok_ + counting_pending_ < quorum_;
    });
    result_.reached = counting_ok_ >= quorum_;
    closed_ = true;  // `stop` may refer to the caller's frame: not called from now on
    return result_;
  }

 private:
  void Answer(const std::string& node, bool counts, StatusOr<NodeReconfigReply> r) {
    MutexLock lock(&mu_);
    if (counts) --counting_pending_;
    if (closed_) return;
    if (stop_ && !result_.stopped && stop_(node, r)) {
      result_.stopped = true;
      result_.stop_node = node;
      if (!r.ok()) result_.stop_status = r.status();
    }
    if (r.ok()) {
      if (counts) ++counting_ok_;
      result_.ok.emplace_back(node, *std::move(r));
    } else {
      result_.errors.emplace_back(node, r.status());
    }
    cv_.SignalAll();
  }

  const size_t quorum_;
  const StopFn stop_;
  Mutex mu_;
  CondVar cv_;
  size_t counting_pending_ GUARDED_BY(mu_) = 0;
  size_t counting_ok_ GUARDED_BY(mu_) = 0;
  bool closed_ GUARDED_BY(mu_) = false;
  Result result_ GUARDED_BY(mu_);
};

std::string ErrorsString(const std::vector<std::pair<std::string, Status>>& errors) {
  std::string out;
  for (const auto& [node, st] : errors) {
    if (!out.empty()) out += "; ";
    out += st.ToString();
  }
  return out.empty() ? "no answer" : out;
}

bool IsOtherReconfiguration(const Status& st) {
  return st.code() == StatusCode::kFailedPrecondition &&
         st.message().find("by another reconfiguration") != std::string::npos;
}

}  // namespace

TokenReconfigResult ReconfigureToken(ReconfigNodes& nodes, const std::string& token,
                                     const ReplicaSet& from, const ReplicaSet& to,
                                     ActivationWarnings& warnings) {
  TokenReconfigResult result;
  const std::vector<std::string> old_nodes = from.Replicas();
  const std::vector<std::string> new_nodes = to.Replicas();
  // UNAVAILABLE when the nodes did not answer, else the code of the first refusal.
  auto fail = [&](const std::string& message,
                  const std::vector<std::pair<std::string, Status>>& errors) {
    StatusCode code = StatusCode::kUnavailable;
    for (const auto& [node, st] : errors) {
      if (st.code() != StatusCode::kUnavailable && st.code() != StatusCode::kDeadlineExceeded) {
        code = st.code();
        break;
      }
    }
    result.status = Status(code, "token " + Quoted(token) + ": " + message);
    return result;
  };

  // 1. Seal C_e on a majority of it (or find that a previous run activated C_{e+1}).
  auto activated = [to](const NodeReconfigReply& r) {
    return (r.state == NodeReconfigReply::State::kActive && SameConfig(r.current, to)) ||
           (r.state == NodeReconfigReply::State::kRetired && r.target &&
            SameConfig(*r.target, to));
  };
  auto seal = std::make_shared<Fanout>(
      from.Quorum(), [activated](const std::string&, const StatusOr<NodeReconfigReply>& r) {
        return r.ok() ? activated(*r) : IsOtherReconfiguration(r.status());
      });
  for (const std::string& node : old_nodes) {
    nodes.Seal(node, token, from, to, seal->Expect(node, /*counts=*/true));
  }
  Fanout::Result sealed = seal->Wait();
  if (sealed.stopped && !sealed.stop_status.ok()) {
    result.concurrent = true;
    result.status = Status::FailedPrecondition(
        "token " + Quoted(token) + ": a concurrent reconfiguration of the token is in progress: " +
        sealed.stop_status.message());
    return result;
  }
  result.resumed = sealed.stopped;
  if (!result.resumed) {
    if (!sealed.reached) {
      return fail("no majority of " + ConfigString(from) + " was sealed (" +
                  std::to_string(sealed.ok.size()) + " of " + std::to_string(old_nodes.size()) +
                  " answered, " + std::to_string(from.Quorum()) +
                  " needed): " + ErrorsString(sealed.errors),
                  sealed.errors);
    }
    // M: the newest register among the answers, by (epoch, ts, origin).
    const Register* newest = nullptr;
    for (const auto& [node, r] : sealed.ok) {
      if (newest == nullptr || newest->stamp() < r.reg.stamp()) newest = &r.reg;
    }
    assert(newest != nullptr);
    const Register m = *newest;

    // 2. Install M on a majority of C_{e+1}.
    auto install = std::make_shared<Fanout>(to.Quorum(), nullptr);
    for (const std::string& node : new_nodes) {
      nodes.Install(node, token, to, m, install->Expect(node, /*counts=*/true));
    }
    Fanout::Result installed = install->Wait();
    if (!installed.reached) {
      return fail("the newest register (" + StampString(m.stamp()) +
                  ") reached no majority of " + ConfigString(to) + " (" +
                  std::to_string(installed.ok.size()) + " of " +
                  std::to_string(new_nodes.size()) + ", " + std::to_string(to.Quorum()) +
                  " needed): " + ErrorsString(installed.errors) +
                  "; the token stays sealed until the same command is run again",
                  installed.errors);
    }
  }

  // 3. Activate C_{e+1} on every node of C_e ∪ C_{e+1}; a majority of C_{e+1} must take it.
  std::vector<std::string> all = new_nodes;
  for (const std::string& node : old_nodes) {
    if (std::find(all.begin(), all.end(), node) == all.end()) all.push_back(node);
  }
  auto activate = std::make_shared<Fanout>(to.Quorum(), nullptr);
  for (const std::string& node : all) {
    const bool counts = to.RoleOf(node) != Role::kNone;
    ReconfigCallback collect = activate->Expect(node, counts);
    warnings.Expect();
    nodes.Activate(node, token, to,
                   [collect = std::move(collect), &warnings, node,
                    token](StatusOr<NodeReconfigReply> r) {
                     warnings.Answered(node, token, r.status());
                     collect(std::move(r));
                   });
  }
  Fanout::Result active = activate->Wait();
  if (!active.reached) {
    size_t counted = 0;
    for (const auto& [node, r] : active.ok) counted += to.RoleOf(node) != Role::kNone;
    return fail("no majority of " + ConfigString(to) + " took the new configuration (" +
                std::to_string(counted) + " of " + std::to_string(new_nodes.size()) + ", " +
                std::to_string(to.Quorum()) + " needed): " + ErrorsString(active.errors) +
                "; run the same command again",
                active.errors);
  }
  return result;
}

// ---- A run ----

namespace {

class ReconfigProgress {
 public:
  ReconfigProgress(uint64_t total, const ReconfigRunOptions& options)
      : total_(total), options_(options), start_(std::chrono::steady_clock::now()), last_(start_) {}

  void Done(bool failed) {
    MutexLock lock(&mu_);
    ++done_;
    if (failed) ++failed_;
    if (!options_.interactive || options_.progress == nullptr) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ >= options_.progress_interval && done_ < total_) {
      last_ = now;
      PrintLocked("");
    }
  }
  void Finish(const std::string& detail) {
    MutexLock lock(&mu_);
    if (options_.progress != nullptr) PrintLocked(detail);
  }

 private:
  void PrintLocked(const std::string& detail) REQUIRES(mu_) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0;
    std::fprintf(options_.progress,
                 "token-admin reconfigure: %llu of %llu tokens done, %llu failed, %.0f tokens/s, "
                 "%.1f s%s%s\n",
                 static_cast<unsigned long long>(done_), static_cast<unsigned long long>(total_),
                 static_cast<unsigned long long>(failed_), rate, seconds,
                 detail.empty() ? "" : ", ", detail.c_str());
    std::fflush(options_.progress);
  }

  const uint64_t total_;
  const ReconfigRunOptions options_;
  const std::chrono::steady_clock::time_point start_;
  Mutex mu_;
  std::chrono::steady_clock::time_point last_ GUARDED_BY(mu_);
  uint64_t done_ GUARDED_BY(mu_) = 0;
  uint64_t failed_ GUARDED_BY(mu_) = 0;
};

}  // namespace

ReconfigSummary RunReconfiguration(ReconfigNodes& nodes, const ReconfigPlan& plan,
                                   const ReconfigRunOptions& options) {
  assert(options.parallel >= 1 && options.parallel <= kMaxReconfigParallel);
  struct Item {
    size_t move;
    size_t token;
  };
  std::vector<Item> items;
  items.reserve(plan.TokensToMove());
  for (size_t m = 0; m < plan.moves.size(); ++m) {
    for (size_t t = 0; t < plan.moves[m].tokens.size(); ++t) items.push_back({m, t});
  }
  ReconfigSummary summary;
  summary.tokens = items.size();
  std::vector<TokenReconfigResult> results(items.size());  // each slot written by one thread
  ActivationWarnings warnings;
  ReconfigProgress progress(items.size(), options);
  if (!items.empty()) {
    ForEachConcurrently(items.size(), options.parallel, [&](size_t i) {
      const ReconfigMove& m = plan.moves[items[i].move];
      results[i] = ReconfigureToken(nodes, m.tokens[items[i].token], m.from, m.to, warnings);
      progress.Done(!results[i].status.ok());
    });
  }
  warnings.WaitForAll();  // each call ends by its deadline
  for (const TokenReconfigResult& r : results) {
    if (r.status.ok()) {
      ++summary.moved;
      if (r.resumed) ++summary.resumed;
    } else {
      ++summary.failed;
      summary.failures.push_back(r.status.ToString());
    }
  }
  summary.only_unreachable = summary.failed > 0;
  for (const TokenReconfigResult& r : results) {
    if (!r.status.ok() && r.status.code() != StatusCode::kUnavailable &&
        r.status.code() != StatusCode::kDeadlineExceeded) {
      summary.only_unreachable = false;
    }
  }
  summary.warnings = warnings.Lines();
  std::string detail = std::to_string(summary.moved) + " moved";
  if (summary.resumed > 0) {
    detail += " (" + std::to_string(summary.resumed) + " completing a previous run)";
  }
  progress.Finish(detail);
  return summary;
}

// ---- The applied file ----

std::string DefaultAppliedPath(const std::string& new_path) {
  const std::filesystem::path p(new_path);
  const std::string ext = p.extension().string();
  if (ext == ".yaml" || ext == ".yml") {
    std::filesystem::path out = p;
    out.replace_extension(".applied" + ext);
    return out.string();
  }
  return new_path + ".applied.yaml";
}

namespace {

// A YAML scalar the loader reads back as `s`: plain when it is made of characters that are
// plain in both block and flow context, double-quoted otherwise.
std::string YamlScalar(std::string_view s) {
  bool plain = !s.empty() && std::isalnum(static_cast<unsigned char>(s.front()));
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-' &&
        c != ':' && c != '/') {
      plain = false;
    }
  }
  if (plain && s.back() == ':') plain = false;
  for (std::string_view word : {"null", "Null", "NULL", "true", "false", "True", "False", "TRUE",
                                "FALSE", "yes", "no", "on", "off", "y", "n"}) {
    if (s == word) plain = false;
  }
  if (plain) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// Entries are written in the example file's form: token / tokens list / tokens range, then
// writer, readers (file order) and epoch when not 0.
void WriteEntryTail(std::ostringstream& out, const ReplicaSet& set, uint64_t epoch) {
  out << "  writer: " << YamlScalar(set.writer) << "\n  readers: [";
  for (size_t i = 0; i < set.readers.size(); ++i) {
    out << (i == 0 ? "" : ", ") << YamlScalar(set.readers[i]);
  }
  out << "]\n";
  if (epoch != 0) out << "  epoch: " << epoch << "\n";
}

void WriteListEntry(std::ostringstream& out, const std::vector<std::string_view>& ids,
                    const ReplicaSet& set, uint64_t epoch) {
  if (ids.size() == 1) {
    out << "- token: " << YamlScalar(ids.front()) << "\n";
  } else {
    out << "- tokens: [";
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) out << (i % 10 == 0 ? ",\n    " : ", ");
      out << YamlScalar(ids[i]);
    }
    out << "]\n";
  }
  WriteEntryTail(out, set, epoch);
}

void WriteRangeEntry(std::ostringstream& out, std::string_view prefix, uint64_t from, uint64_t to,
                     const ReplicaSet& set, uint64_t epoch) {
  out << "- tokens: {prefix: " << (prefix.empty() ? "\"\"" : YamlScalar(prefix))
      << ", from: " << from << ", to: " << to << "}\n";
  WriteEntryTail(out, set, epoch);
}

}  // namespace

StatusOr<std::string> AppliedConfigYaml(const ClusterConfig& current, const ClusterConfig& next,
                                        const std::string& comment) {
  // The epoch a token of `next` (in the entry `set`) has once the run is over.
  auto epoch_of = [&current](std::string_view id, const ReplicaSet& set) -> uint64_t {
    const std::optional<TokenReplication> cur = current.Find(id);
    if (!cur) return set.epoch;
    return SameReplication(*cur->set, set) ? cur->set->epoch : cur->set->epoch + 1;
  };
  std::ostringstream out;
  std::istringstream lines(comment);
  for (std::string line; std::getline(lines, line);) out << "# " << line << "\n";
  next.ForEachEntry([&](const ClusterConfig::EntryIds& e) {
    const ReplicaSet& set = *e.set;
    if (e.is_range) {
      std::string id;
      uint64_t run_from = e.from;
      uint64_t run_epoch = 0;
      for (uint64_t n = e.from;; ++n) {
        id.assign(e.prefix);
        id += std::to_string(n);
        const uint64_t epoch = epoch_of(id, set);
        if (n == e.from) {
          run_epoch = epoch;
        } else if (epoch != run_epoch) {
          WriteRangeEntry(out, e.prefix, run_from, n - 1, set, run_epoch);
          run_from = n;
          run_epoch = epoch;
        }
        if (n == e.to) break;
      }
      WriteRangeEntry(out, e.prefix, run_from, e.to, set, run_epoch);
      return;
    }
    std::vector<std::string_view> run;
    uint64_t run_epoch = 0;
    for (std::string_view id : e.ids) {
      const uint64_t epoch = epoch_of(id, set);
      if (!run.empty() && epoch != run_epoch) {
        WriteListEntry(out, run, set, run_epoch);
        run.clear();
      }
      run_epoch = epoch;
      run.push_back(id);
    }
    if (!run.empty()) WriteListEntry(out, run, set, run_epoch);
  });
  std::string text = out.str();

  // Loaded back, it must give every token of `next` its writer, readers and new epoch.
  StatusOr<ClusterConfig> loaded = ParseClusterConfig(text, "the file written for " + next.source);
  if (!loaded.ok()) {
    return Status::Internal("the file written from " + next.source +
                            " does not load: " + loaded.status().message());
  }
  if (loaded->size() != next.size()) {
    return Status::Internal("the file written from " + next.source + " names " +
                            std::to_string(loaded->size()) + " tokens, not " +
                            std::to_string(next.size()));
  }
  Status problem;
  next.ForEach([&](const TokenReplication& t) {
    const std::optional<TokenReplication> got = loaded->Find(t.id);
    const ReplicaSet want = AtEpoch(*t.set, epoch_of(t.id, *t.set));
    if (!got || !SameConfig(*got->set, want)) {
      problem = Status::Internal(
          "the file written from " + next.source + " gives token " + Quoted(t.id) + " " +
          (got ? ConfigString(*got->set) : std::string("no configuration")) + ", not " +
          ConfigString(want));
      return false;
    }
    return true;
  });
  if (!problem.ok()) return problem;
  return text;
}

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  auto io_error = [](const std::string& what, const std::string& p) {
    return Status::Internal(what + " " + p + ": " + std::strerror(errno));
  };
  std::string temp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) return io_error("cannot create a temporary file beside", path);
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = io_error("cannot write", temp);
      ::close(fd);
      ::unlink(temp.c_str());
      return st;
    }
    written += static_cast<size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0 || ::fsync(fd) != 0) {
    Status st = io_error("cannot write", temp);
    ::close(fd);
    ::unlink(temp.c_str());
    return st;
  }
  ::close(fd);
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    Status st = io_error("cannot rename to", path);
    ::unlink(temp.c_str());
    return st;
  }
  return Status::Ok();
}

}  // namespace tokenstore
