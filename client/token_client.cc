#include "client/token_client.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "client.grpc.pb.h"
#include "client/channel.h"
#include "client/node_transport.h"
#include "proto/convert.h"

namespace tokenstore {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kFirstRetryPause{100};
constexpr std::chrono::milliseconds kMaxRetryPause{1000};

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string JoinNodes(const std::vector<std::string>& nodes) {
  std::string out;
  for (const std::string& n : nodes) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

StatusCode CodeOf(const grpc::Status& st) { return static_cast<StatusCode>(st.error_code()); }

// The node answered, but does not serve the token yet: it is starting or rebuilding
// (replica/node_lifecycle.h). Not "unreachable".
bool NotServingYet(const grpc::Status& st) {
  return st.error_code() == grpc::StatusCode::UNAVAILABLE &&
         st.error_message().find(" does not serve ") != std::string::npos;
}

// An UNAVAILABLE that the node itself answered (its quorum round failed: too few replicas
// acknowledged, some of them sealed or unreachable from it), not a transport failure of the
// call to it: the node's own words say what happened, and the node is not "unreachable".
bool AnsweredByTheNode(const grpc::Status& st) {
  const std::string& m = st.error_message();
  return st.error_code() == grpc::StatusCode::UNAVAILABLE &&
         (m.find("replicas answered") != std::string::npos ||
          m.find("may or may not have taken effect") != std::string::npos ||
          m.find(" does not serve ") != std::string::npos);
}

// A node's message, with this client's own view of the token added when the node says the
// two views differ (the node only knows the fingerprint of the client's).
std::string NodeMessage(const grpc::Status& st, const TokenReplication& token,
                        const std::string& source) {
  std::string msg = st.error_message();
  if (st.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
      msg.find("the client's file gives another view") != std::string::npos) {
    msg += "; this client's " + (source.empty() ? std::string("file") : source) + " has " +
           token.ViewString();
  }
  return msg;
}

// A reader at its concurrency limit (RESOURCE_EXHAUSTED) is like one that is slow: another
// reader may have room. One sealed for the token (ABORTED: being reconfigured) started
// nothing; it or another reader may serve once the reconfiguration is done.
bool IsRetryableReadFailure(const grpc::Status& st) {
  return st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         st.error_code() == grpc::StatusCode::UNAVAILABLE ||
         st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
         st.error_code() == grpc::StatusCode::ABORTED;
}

// How many newer configurations one operation adopts before it gives up: a token moved
// twice while the client was away is followed; nodes that keep pointing elsewhere are not.
constexpr int kMaxAdoptions = 3;

// "<node> has not learned ...": a node whose configuration of the token is older than the
// client's (it missed the reconfiguration).
std::string BehindMessage(const std::string& node, const TokenReplication& token,
                          uint64_t node_epoch) {
  return node + " has not learned the newer configuration of token " + Quote(token.id) +
         " yet (it is at epoch " + std::to_string(node_epoch) + ", this client at epoch " +
         std::to_string(token.set->epoch) + "): run `token-admin reconfigure` again, or restart it with the newer file";
}

// Sleeps the pause after the `retries`-th ABORTED answer; false (without sleeping) when the
// retry would start at or after `deadline`.
bool PauseBeforeRetry(int retries, std::chrono::steady_clock::time_point deadline) {
  const auto at = std::chrono::steady_clock::now() + ReadRetryPause(retries);
  if (at >= deadline) return false;
  std::this_thread::sleep_until(at);
  return true;
}

// The error of an operation whose node stayed sealed (ABORTED) until its deadline: nothing
// was done.
Status StillSealed(const std::string& subject, const std::string& node, const grpc::Status& st,
                   std::chrono::milliseconds timeout, int attempts) {
  return Status::Aborted(subject + " at " + node + ": " + st.error_message() + " (still sealed after " +
                         std::to_string(attempts) + " attempts within " + FormatDuration(timeout) +
                         "; nothing was done: retry it)");
}

// The read result carried by a ReadResponse; `node` is the reader that sent it.
ReadResult ReadResultFromProto(const v1::ReadResponse& resp, const std::string& node) {
  ReadResult r;
  r.id = resp.id();
  r.ts = resp.ts();
  r.defined = resp.defined();
  r.node = node;
  r.fast_path = resp.fast_path();
  if (!r.defined) return r;
  r.name = resp.name();
  r.low = resp.low();
  r.mid = resp.mid();
  r.high = resp.high();
  if (resp.has_partial()) {
    r.partial = resp.partial();
    r.partial_x = resp.partial_x();
  }
  if (resp.has_final()) {
    r.final = resp.final();
    r.final_x = resp.final_x();
  }
  return r;
}

}  // namespace

std::chrono::milliseconds ReadRetryPause(int failures) {
  std::chrono::milliseconds pause = kFirstRetryPause;
  for (int i = 1; i < failures && pause < kMaxRetryPause; ++i) pause *= 2;
  return std::min(pause, kMaxRetryPause);
}

TokenClient::TokenClient(const ClusterConfig& config, ClientOptions options)
    : config_(config),
      options_(std::move(options)),
      transport_(options_.transport == ClientOptions::Transport::kSession
                     ? NewSessionTransport(options_.security)
                     : NewUnaryTransport(options_.security)) {
  rng_.seed(options_.seed ? *options_.seed : std::random_device{}());
}

TokenClient::~TokenClient() = default;

StatusOr<TokenReplication> TokenClient::Lookup(std::string_view id) const {
  {
    MutexLock lock(&overrides_mu_);
    auto it = overrides_.find(id);
    if (it != overrides_.end()) return TokenReplication{std::string(id), it->second};
  }
  if (std::optional<TokenReplication> t = config_.Find(id)) return *std::move(t);
  std::string known;
  constexpr size_t kMaxListed = 10;
  for (const std::string& listed : config_.FirstIds(kMaxListed)) {
    if (!known.empty()) known += ", ";
    known += listed;
  }
  if (config_.size() > kMaxListed) known += ", ...";
  return Status::NotFound("token " + Quote(id) + " is not in the configuration " +
                          (config_.source.empty() ? std::string("") : config_.source + " ") +
                          "(configured tokens: " + (known.empty() ? "none" : known) +
                          "); check the id or the --config file");
}

const ReplicaSet* TokenClient::Intern(ReplicaSet set) {
  std::vector<std::unique_ptr<ReplicaSet>>& same = interned_[set.Fingerprint()];
  for (const std::unique_ptr<ReplicaSet>& s : same) {
    if (s->epoch == set.epoch && s->writer == set.writer && s->readers == set.readers) {
      return s.get();
    }
  }
  same.push_back(std::make_unique<ReplicaSet>(std::move(set)));
  return same.back().get();
}

TokenClient::ViewCheck TokenClient::Adopt(const grpc::Status& st, const v1::SessionResult& result,
                                          TokenReplication* token, uint64_t* node_epoch) {
  if (st.error_code() != grpc::StatusCode::FAILED_PRECONDITION || !result.has_config()) {
    return ViewCheck::kNone;
  }
  const v1::TokenConfig& attached = result.config();
  if (!attached.token().empty() && attached.token() != token->id) return ViewCheck::kNone;
  StatusOr<ReplicaSet> newer = FromProto(attached, "the node's configuration");
  if (!newer.ok()) return ViewCheck::kNone;  // a damaged one: the refusal stands as it is
  *node_epoch = newer->epoch;
  if (newer->epoch < token->set->epoch) return ViewCheck::kOlder;
  if (newer->epoch == token->set->epoch) return ViewCheck::kSameEpoch;
  const ReplicaSet* adopted = nullptr;
  bool installed = false;
  {
    MutexLock lock(&overrides_mu_);
    const ReplicaSet*& current = overrides_[token->id];
    if (current == nullptr || current->epoch < newer->epoch) {
      current = Intern(*std::move(newer));
      installed = true;
    }
    adopted = current;  // another thread's, when it was at least as new
  }
  if (installed && options_.on_config_change) options_.on_config_change(token->id, *adopted);
  token->set = adopted;
  return ViewCheck::kNewer;
}

const std::string& TokenClient::WriterOf(const TokenReplication& token) const {
  return options_.node ? *options_.node : token.writer();
}

grpc::Status TokenClient::Call(const std::string& node, v1::SessionOp op,
                               Clock::time_point deadline, v1::SessionResult* result) {
  struct Outcome {
    Mutex mu;
    CondVar cv;
    bool done GUARDED_BY(mu) = false;
    grpc::Status status GUARDED_BY(mu);
    v1::SessionResult result GUARDED_BY(mu);
  };
  auto outcome = std::make_shared<Outcome>();
  transport_->Start(node, std::move(op), deadline,
                    [outcome](const grpc::Status& st, v1::SessionResult r) {
                      MutexLock lock(&outcome->mu);
                      outcome->status = st;
                      outcome->result = std::move(r);
                      outcome->done = true;
                      outcome->cv.SignalAll();
                    });
  // The transport fails the call at its deadline, so this wait ends.
  MutexLock lock(&outcome->mu);
  outcome->cv.Wait(&outcome->mu, [&]() REQUIRES(outcome->mu) { return outcome->done; });
  *result = std::move(outcome->result);
  return outcome->status;
}

Status TokenClient::WriterError(std::string_view op, const TokenReplication& token,
                                const std::string& node, const grpc::Status& st) const {
  const std::string where = options_.node && node != token.writer()
                                ? node + " (chosen with --node; the writer is " + token.writer() + ")"
                                : node;
  const std::string subject = std::string(op) + " of token " + Quote(token.id);
  switch (st.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED: {
      std::string msg = subject + " at " + where + " timed out after " +
                        FormatDuration(options_.timeout) +
                        ": the writer may be down or crash-stopped for this token, or too few of "
                        "its replicas (" +
                        JoinNodes(token.Replicas()) +
                        ") answer; writes only go to the writer. Its outcome is unknown: it may "
                        "still take effect. Check the writer with `token-admin dump --node " +
                        node + "`";
      if (!IsClientSideDeadline(st)) msg += " (server said: " + st.error_message() + ")";
      return Status::DeadlineExceeded(msg);
    }
    case grpc::StatusCode::UNAVAILABLE:
      if (NotServingYet(st)) return Status::Unavailable(subject + " at " + where + ": " + st.error_message());
      if (AnsweredByTheNode(st)) {
        return Status::Unavailable(subject + " at " + where + ": " + st.error_message() +
                                   "; its outcome is unknown: it may still take effect");
      }
      return Status::Unavailable(subject + ": " + where + " is unreachable (" +
                                 RpcFailureReason(st) + ")" +
                                 ": start token-replica there or check the address; writes only "
                                 "go to the writer");
    default:
      return Status(CodeOf(st), subject + " at " + where + ": " + NodeMessage(st, token, config_.source));
  }
}

template <typename Result, typename Build, typename Finish>
StatusOr<Result> TokenClient::WriterOp(std::string_view op_name, std::string_view id, Build build,
                                       Finish finish) {
  StatusOr<TokenReplication> token = Lookup(id);
  if (!token.ok()) return token.status();
  const Clock::time_point deadline = Clock::now() + options_.timeout;
  const std::string subject = std::string(op_name) + " of token " + Quote(id);
  int adoptions = 0;
  int sealed = 0;  // ABORTED answers so far
  while (true) {
    const std::string node = WriterOf(*token);
    v1::SessionOp op;
    build(op, *token);
    v1::SessionResult result;
    const grpc::Status st = Call(node, std::move(op), deadline, &result);
    if (st.ok()) return finish(result, node);
    // Only refusals that started nothing at the node are retried: the operation as it is
    // cannot apply twice. Every other failure may have taken effect (or is final).
    if (st.error_code() == grpc::StatusCode::ABORTED) {
      // Sealed for a reconfiguration: once it is done, the writer (this one, or the one a
      // refusal then names) serves again.
      if (!PauseBeforeRetry(++sealed, deadline)) {
        return StillSealed(subject, node, st, options_.timeout, sealed);
      }
      continue;
    }
    uint64_t node_epoch = 0;
    switch (Adopt(st, result, &*token, &node_epoch)) {
      case ViewCheck::kNewer:
        if (++adoptions <= kMaxAdoptions) continue;  // at once, at the new writer
        break;
      case ViewCheck::kOlder:
        return Status::FailedPrecondition(subject + " at " + node + ": " +
                                          BehindMessage(node, *token, node_epoch) +
                                          " (server said: " + st.error_message() + ")");
      case ViewCheck::kNone:
      case ViewCheck::kSameEpoch:
        break;
    }
    return WriterError(op_name, *token, node, st);
  }
}

StatusOr<WriteResult> TokenClient::Write(std::string_view id, std::string_view name, uint64_t low,
                                         uint64_t mid, uint64_t high) {
  return WriterOp<WriteResult>(
      "write", id,
      [&](v1::SessionOp& op, const TokenReplication& token) {
        v1::WriteRequest& req = *op.mutable_write();
        req.set_id(std::string(id));
        req.set_config_fingerprint(token.Fingerprint());
        req.set_name(std::string(name));
        req.set_low(low);
        req.set_mid(mid);
        req.set_high(high);
      },
      [](const v1::SessionResult& result, const std::string& node) {
        const v1::WriteResponse& resp = result.write();
        WriteResult r;
        r.id = resp.id();
        r.ts = resp.ts();
        if (resp.has_partial()) {
          r.partial = resp.partial();
          r.partial_x = resp.partial_x();
        }
        r.node = node;
        return r;
      });
}

StatusOr<AckResult> TokenClient::Create(std::string_view id) {
  return WriterOp<AckResult>(
      "create", id,
      [&](v1::SessionOp& op, const TokenReplication& token) {
        op.mutable_create()->set_id(std::string(id));
        op.mutable_create()->set_config_fingerprint(token.Fingerprint());
      },
      [](const v1::SessionResult& result, const std::string& node) {
        return AckResult{result.create().id(), result.create().ts(), node};
      });
}

StatusOr<AckResult> TokenClient::Drop(std::string_view id) {
  return WriterOp<AckResult>(
      "drop", id,
      [&](v1::SessionOp& op, const TokenReplication& token) {
        op.mutable_drop()->set_id(std::string(id));
        op.mutable_drop()->set_config_fingerprint(token.Fingerprint());
      },
      [](const v1::SessionResult& result, const std::string& node) {
        return AckResult{result.drop().id(), result.drop().ts(), node};
      });
}

StatusOr<ReadResult> TokenClient::Read(std::string_view id) {
  StatusOr<TokenReplication> token = Lookup(id);
  if (!token.ok()) return token.status();
  const Clock::time_point deadline = Clock::now() + options_.timeout;
  if (options_.node) return ReadPinned(*token, *options_.node, deadline);
  for (int adoptions = 0;; ++adoptions) {
    bool moved = false;
    StatusOr<ReadResult> r = ReadWithFailover(*token, deadline, &moved);
    // Moved: a reader named a newer configuration, adopted now; read there at once.
    if (r.ok() || !moved || adoptions == kMaxAdoptions) return r;
    token = Lookup(id);
    if (!token.ok()) return token.status();
  }
}

StatusOr<ReadResult> TokenClient::ReadPinned(TokenReplication token, const std::string& node,
                                             Clock::time_point deadline) {
  // The user chose the node: there is nobody to fail over to, so it gets the whole timeout.
  const std::string subject = "read of token " + Quote(token.id);
  int adoptions = 0;
  int sealed = 0;
  grpc::Status st;
  while (true) {
    v1::SessionOp op;
    op.mutable_read()->set_id(token.id);
    op.mutable_read()->set_config_fingerprint(token.Fingerprint());
    v1::SessionResult result;
    st = Call(node, std::move(op), deadline, &result);
    if (st.ok()) return ReadResultFromProto(result.read(), node);
    if (st.error_code() == grpc::StatusCode::ABORTED) {
      if (!PauseBeforeRetry(++sealed, deadline)) {
        return StillSealed(subject, node, st, options_.timeout, sealed);
      }
      continue;
    }
    uint64_t node_epoch = 0;
    const ViewCheck check = Adopt(st, result, &token, &node_epoch);
    if (check == ViewCheck::kNewer && ++adoptions <= kMaxAdoptions) continue;
    if (check == ViewCheck::kOlder) {
      return Status::FailedPrecondition(subject + " at " + node + ": " +
                                        BehindMessage(node, token, node_epoch) +
                                        "; or leave out --node to read at another reader (" +
                                        JoinNodes(token.readers()) +
                                        ") (server said: " + st.error_message() + ")");
    }
    break;
  }
  switch (st.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED: {
      std::string msg = subject + " at " + node + " timed out after " +
                        FormatDuration(options_.timeout) +
                        ": that node may be down or crash-stopped for this token, or too few of "
                        "the token's replicas (" +
                        JoinNodes(token.Replicas()) +
                        ") answer it; leave out --node to let the client fail over to another "
                        "reader (" +
                        JoinNodes(token.readers()) + ")";
      if (!IsClientSideDeadline(st)) msg += " (server said: " + st.error_message() + ")";
      return Status::DeadlineExceeded(msg);
    }
    case grpc::StatusCode::UNAVAILABLE:
      if (AnsweredByTheNode(st)) return Status::Unavailable(subject + " at " + node + ": " + st.error_message());
      return Status::Unavailable(subject + ": " + node + " is unreachable (" +
                                 RpcFailureReason(st) + ")" +
                                 ": start token-replica there, or leave out --node to use "
                                 "another reader (" +
                                 JoinNodes(token.readers()) + ")");
    default:
      return Status(CodeOf(st), subject + " at " + node + ": " + NodeMessage(st, token, config_.source));
  }
}

// The reads in flight of one ReadWithFailover call. Callbacks run on gRPC's threads; the
// calling thread owns the object and waits for every callback before it goes away.
struct TokenClient::ReadRace {
  struct Attempt {
    size_t reader = 0;  // index into the shuffled reader order
    std::shared_ptr<NodeCall> call;
    v1::SessionResult result;
    grpc::Status status;
  };

  Mutex mu;
  CondVar cv;
  std::vector<std::unique_ptr<Attempt>> attempts GUARDED_BY(mu);
  std::vector<Attempt*> finished GUARDED_BY(mu);  // not yet looked at
  int outstanding GUARDED_BY(mu) = 0;
};

StatusOr<ReadResult> TokenClient::ReadWithFailover(const TokenReplication& token,
                                                    Clock::time_point deadline, bool* moved) {
  const Clock::time_point start = Clock::now();
  *moved = false;

  std::vector<std::string> order = token.readers();
  {
    MutexLock lock(&rng_mu_);
    std::shuffle(order.begin(), order.end(), rng_);
  }
  struct ReaderState {
    bool in_flight = false;
    int failures = 0;
    std::string last_failure;  // DescribeRpcFailure of the latest failed attempt
    bool only_unavailable = true;
    bool only_sealed = true;  // every failure was ABORTED (sealed for a reconfiguration)
    Clock::time_point not_before{};  // earliest retry after a failure
  };
  std::vector<ReaderState> readers(order.size());
  size_t cursor = 0;                      // next reader to consider, round robin
  Clock::time_point next_launch = start;  // when to ask one more reader
  std::optional<StatusOr<ReadResult>> outcome;

  ReadRace race;
  MutexLock lock(&race.mu);
  while (true) {
    for (ReadRace::Attempt* a : race.finished) {
      ReaderState& r = readers[a->reader];
      r.in_flight = false;
      if (a->status.ok()) {
        if (!outcome) outcome = ReadResultFromProto(a->result.read(), order[a->reader]);
      } else if (IsRetryableReadFailure(a->status)) {
        r.failures++;
        // gRPC ending the call at our deadline is the same "no answer" as a call still
        // running when the loop notices the deadline; say it the same way.
        r.last_failure =
            IsClientSideDeadline(a->status) ? "no answer" : DescribeRpcFailure(a->status);
        if (a->status.error_code() != grpc::StatusCode::UNAVAILABLE) r.only_unavailable = false;
        if (a->status.error_code() != grpc::StatusCode::ABORTED) r.only_sealed = false;
        const Clock::time_point now = Clock::now();
        r.not_before = now + ReadRetryPause(r.failures);
        // This reader is out of the race: ask another one now, not after the attempt timeout.
        next_launch = now;
      } else if (!outcome) {
        TokenReplication view = token;
        uint64_t node_epoch = 0;
        switch (Adopt(a->status, a->result, &view, &node_epoch)) {
          case ViewCheck::kNewer:
            // The token moved: the caller reads again at the new readers.
            *moved = true;
            break;
          case ViewCheck::kOlder: {
            // The reader missed the reconfiguration: it cannot help; the others may.
            r.failures++;
            r.last_failure = BehindMessage(order[a->reader], token, node_epoch);
            r.only_unavailable = false;
            r.only_sealed = false;
            const Clock::time_point now = Clock::now();
            r.not_before = now + ReadRetryPause(r.failures);
            next_launch = now;
            break;
          }
          case ViewCheck::kNone:
          case ViewCheck::kSameEpoch:
            outcome =
                Status(CodeOf(a->status), "read of token " + Quote(token.id) + " at " +
                                              order[a->reader] + ": " +
                                              NodeMessage(a->status, token, config_.source));
            break;
        }
      }
    }
    race.finished.clear();
    if (outcome || *moved) break;

    const Clock::time_point now = Clock::now();
    if (now >= deadline) break;
    if (now >= next_launch) {
      // The next reader round robin that is idle and not pausing: untried readers come
      // first because the cursor has not passed them yet.
      std::optional<size_t> pick;
      Clock::time_point earliest_retry = Clock::time_point::max();
      for (size_t k = 0; k < order.size(); ++k) {
        const size_t j = (cursor + k) % order.size();
        if (readers[j].in_flight) continue;
        if (now >= readers[j].not_before) {
          pick = j;
          break;
        }
        earliest_retry = std::min(earliest_retry, readers[j].not_before);
      }
      if (pick) {
        cursor = *pick + 1;
        readers[*pick].in_flight = true;
        race.attempts.push_back(std::make_unique<ReadRace::Attempt>());
        ReadRace::Attempt* a = race.attempts.back().get();
        a->reader = *pick;
        v1::SessionOp op;
        op.mutable_read()->set_id(token.id);
        op.mutable_read()->set_config_fingerprint(token.Fingerprint());
        race.outstanding++;
        next_launch = now + options_.attempt_timeout;
        // The callback may run inline; it takes race.mu, so start the call unlocked. Each
        // attempt may run until the overall deadline: a slow reader keeps its chance while
        // others are asked too.
        lock.Unlock();
        std::shared_ptr<NodeCall> call = transport_->Start(
            order[*pick], std::move(op), deadline,
            [&race, a](const grpc::Status& st, v1::SessionResult r) {
              MutexLock l(&race.mu);
              a->status = st;
              a->result = std::move(r);
              race.finished.push_back(a);
              race.outstanding--;
              race.cv.SignalAll();
            });
        lock.Lock();
        a->call = std::move(call);
        continue;
      }
      // Every reader is busy or pausing: wake when one may be retried.
      next_launch = earliest_retry;
    }
    race.cv.WaitUntil(&race.mu, std::min(deadline, next_launch));
  }

  // Stop the attempts still running (the losers, or all of them at the deadline) and wait
  // for their callbacks, which reference `race`.
  std::vector<ReadRace::Attempt*> running;
  for (auto& a : race.attempts) {
    if (readers[a->reader].in_flight) running.push_back(a.get());
  }
  lock.Unlock();
  for (ReadRace::Attempt* a : running) {
    if (a->call) a->call->Cancel();
  }
  lock.Lock();
  race.cv.Wait(&race.mu, [&race]() REQUIRES(race.mu) { return race.outstanding == 0; });
  // An answer that arrived while the loop was deciding to give up still counts.
  for (ReadRace::Attempt* a : race.finished) {
    if (!outcome && a->status.ok()) outcome = ReadResultFromProto(a->result.read(), order[a->reader]);
  }
  if (outcome) return *std::move(outcome);
  if (*moved) {
    // Only returned when the caller has followed as many moves as it will.
    return Status::FailedPrecondition(
        "read of token " + Quote(token.id) + ": its readers kept naming newer configurations (" +
        std::to_string(kMaxAdoptions) + " followed, the last at epoch " +
        std::to_string(token.set->epoch) + "); retry the read");
  }

  // The deadline passed: say which readers were tried and how each one failed.
  std::string tried;
  bool all_unavailable = true;
  bool all_sealed = true;
  for (size_t j = 0; j < order.size(); ++j) {
    const ReaderState& r = readers[j];
    if (r.failures == 0 && !r.in_flight) continue;
    if (!tried.empty()) tried += "; ";
    tried += order[j] + ": ";
    if (r.in_flight) {
      tried += "no answer";
      all_unavailable = false;
      all_sealed = false;
    } else {
      tried += r.last_failure;
      if (!r.only_unavailable) all_unavailable = false;
      if (!r.only_sealed) all_sealed = false;
    }
    if (r.failures > 1) tried += " (" + std::to_string(r.failures) + " failed attempts)";
  }
  if (all_sealed && !tried.empty()) {
    // Nothing was done anywhere: the token stayed sealed for a reconfiguration.
    return Status::Aborted("no reader of token " + Quote(token.id) + " served it within " +
                           FormatDuration(options_.timeout) +
                           ": it is being reconfigured (tried " + tried +
                           "); retry the read, or complete the reconfiguration with "
                           "`token-admin reconfigure`");
  }
  const std::string msg =
      "no reader of token " + Quote(token.id) + " answered within " +
      FormatDuration(options_.timeout) + " (tried " + tried + "). " +
      (all_unavailable
           ? "Start token-replica on those nodes or check the addresses."
           : "The readers may be down or crash-stopped for this token, or too few of its "
             "replicas (" +
                 JoinNodes(token.Replicas()) +
                 ") may answer; check them with `token-admin dump --node ADDR`, or raise --timeout "
                 "if the token's range takes long to hash.");
  return all_unavailable ? Status::Unavailable(msg) : Status::DeadlineExceeded(msg);
}

}  // namespace tokenstore
