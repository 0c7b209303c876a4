#include "replica/replica_core.h"

#include <algorithm>
#include <utility>

#include "common/log.h"
#include "replica/quorum_round.h"

namespace tokenstore {
namespace {

std::string Quoted(std::string_view id) { return "token \"" + std::string(id) + "\""; }

std::string JoinNodes(const std::vector<std::string>& nodes) {
  std::string out;
  for (const auto& n : nodes) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::vector<std::string> TokenIdsOf(const ClusterConfig& config, const std::string& node) {
  std::vector<std::string> ids;
  ids.reserve(config.CountOf(node));
  config.ForEachOf(node, [&ids](const TokenReplication& t) {
    ids.push_back(t.id);
    return true;
  });
  return ids;
}

LifecycleOptions LifecycleOf(const ReplicaOptions& o) {
  LifecycleOptions l = o.lifecycle;
  if (o.unsafe_bug == UnsafeBug::kSkipRebuild) l.skip_rebuild = true;
  // Every Store round ends, done or failed, at most max_store_round_time after it began
  // (StoreRound never succeeds later); a rebuild waits that long, plus 1 % and a second for
  // clocks that run at slightly different rates.
  l.rebuild_quiet = o.max_store_round_time + o.max_store_round_time / 100 + std::chrono::seconds(1);
  return l;
}

std::string Hex(uint64_t v) {
  std::string out = "0x";
  for (int shift = 60; shift >= 0; shift -= 4) out.push_back("0123456789abcdef"[(v >> shift) & 0xf]);
  return out;
}

void CountRound(LatencyHistogram& wait, std::atomic<uint64_t>& failed, Clock::duration took,
                const Status& st) {
  if (st.ok()) {
    wait.Record(took);
  } else {
    failed++;
  }
}

}  // namespace

ReplicaCore::ReplicaCore(const ClusterConfig& config, ReplicaOptions options,
                         RegisterStore& store, PeerTransport& transport,
                         Executor& storage_executor, Executor& hash_executor,
                         const CoreClock& clock)
    : config_(config),
      options_(std::move(options)),
      clock_(clock),
      store_(store),
      transport_(transport),
      storage_executor_(storage_executor),
      hash_executor_(hash_executor),
      allocator_(store, options_.timestamp_block,
                 options_.unsafe_bug == UnsafeBug::kReuseTimestamp),
      token_ids_(TokenIdsOf(config, options_.self)),
      admission_(options_.admission),
      lifecycle_(config, options_.self, token_ids_, store, transport, LifecycleOf(options_),
                 clock),
      records_(store),
      committer_(storage_executor,
                 [this](std::span<const StoreItem> items) { return HandleStoreBatch(items); }) {
  lifecycle_.SetConfigLookup([this](std::string_view id) { return ActiveConfig(id); });
}

Status ReplicaCore::Start() {
  TOKENSTORE_RETURN_IF_ERROR(lifecycle_.Open());
  TOKENSTORE_RETURN_IF_ERROR(records_.Load());
  TOKENSTORE_RETURN_IF_ERROR(CheckRecordsAgainstFile());
  StatusOr<std::vector<std::string>> marks = store_.CrashedTokens();
  if (!marks.ok()) return marks.status().WithContext("loading crash-stop marks");
  WriterMutexLock lock(&crashed_mu_);
  crashed_.clear();
  crashed_.insert(marks->begin(), marks->end());
  return Status::Ok();
}

// ---- validation ----

StatusOr<TokenReplication> ReplicaCore::ActiveConfig(std::string_view id) const {
  std::optional<TokenReplication> yaml = config_.Find(id);
  const std::optional<TokenConfigRecord> rec = records_.Find(id);
  // A record decides unless the file is newer (written after a reconfiguration this node
  // missed): docs/reconfiguration.md, "Configurations have epochs".
  if (rec && (!yaml || rec->epoch() >= yaml->set->epoch)) {
    switch (rec->state) {
      case TokenConfigState::kSealed:
        // ABORTED: nothing was started, so a client may retry the operation as it is.
        return Status::Aborted(options_.self + " is sealed for " + Quoted(id) +
                                   ": it is being reconfigured from " +
                                   rec->current->ViewString() + " to " +
                                   rec->target->ViewString() +
                                   "; retry shortly (token-admin reconfigure completes it)");
      case TokenConfigState::kRetired:
        return Status::FailedPrecondition(options_.self + " no longer keeps " + Quoted(id) +
                                          ": it moved to " + rec->target->ViewString());
      case TokenConfigState::kActive:
        return TokenReplication{std::string(id), rec->current};
    }
  }
  if (!yaml) {
    return Status::NotFound(Quoted(id) + " is not in the replication scheme " + config_.source);
  }
  return *std::move(yaml);
}

StatusOr<TokenReplication> ReplicaCore::KeptConfig(std::string_view token) const {
  TOKENSTORE_RETURN_IF_ERROR(ValidateTokenId("token", token, options_.limits));
  StatusOr<TokenReplication> t = ActiveConfig(token);
  if (!t.ok()) return t.status();
  if (t->RoleOf(options_.self) == Role::kNone) {
    return Status::NotFound(options_.self + " does not keep " + Quoted(token) +
                            "; its replicas are " + JoinNodes(t->Replicas()));
  }
  return t;
}

Status ReplicaCore::CheckKeeps(std::string_view token, uint64_t fingerprint) const {
  const StatusOr<TokenReplication> t = KeptConfig(token);
  if (!t.ok()) return t.status();
  if (fingerprint == 0 || fingerprint == t->Fingerprint()) return Status::Ok();
  return Status::FailedPrecondition(Quoted(token) + ": the call was made for another "
                                    "configuration than " + options_.self + "'s, " +
                                    t->ViewString() + " (fingerprint " + Hex(t->Fingerprint()) +
                                    ")");
}

StatusOr<TokenReplication> ReplicaCore::CheckWriter(std::string_view id,
                                                    const OpContext& ctx) const {
  TOKENSTORE_RETURN_IF_ERROR(ValidateTokenId("id", id, options_.limits));
  StatusOr<TokenReplication> t = ActiveConfig(id);
  if (!t.ok()) return t.status();
  TOKENSTORE_RETURN_IF_ERROR(CheckServes(*t, ctx));
  if (t->writer() != options_.self) {
    return Status::FailedPrecondition(options_.self + " is not the writer of " + Quoted(id) +
                                      "; send writes to " + t->writer());
  }
  return t;
}

StatusOr<TokenReplication> ReplicaCore::CheckReader(std::string_view id,
                                                    const OpContext& ctx) const {
  TOKENSTORE_RETURN_IF_ERROR(ValidateTokenId("id", id, options_.limits));
  StatusOr<TokenReplication> t = ActiveConfig(id);
  if (!t.ok()) return t.status();
  TOKENSTORE_RETURN_IF_ERROR(CheckServes(*t, ctx));
  if (!t->IsReader(options_.self)) {
    return Status::FailedPrecondition(options_.self + " is not a reader of " + Quoted(id) +
                                      "; its readers are " + JoinNodes(t->readers()));
  }
  return t;
}

Status ReplicaCore::CheckServes(const TokenReplication& token, const OpContext& ctx) const {
  if (ctx.config_fingerprint != 0 && ctx.config_fingerprint != token.Fingerprint()) {
    return Status::FailedPrecondition(
        Quoted(token.id) + ": the client's configuration differs from " + options_.self +
        "'s: the node has " + token.ViewString() + " (fingerprint " + Hex(token.Fingerprint()) +
        "), the client's file gives another view (fingerprint " + Hex(ctx.config_fingerprint) +
        "); every node and client must use the same file, or the one token-admin reconfigure "
        "wrote");
  }
  if (!lifecycle_.Serves(token.id)) {
    return Status::Unavailable(options_.self + " does not serve " + Quoted(token.id) +
                               " yet: it is " + NodeStateName(lifecycle_.state()) +
                               " (see its log); ask another replica");
  }
  return Status::Ok();
}

Status ReplicaCore::CheckPeerCall(std::string_view token, std::string_view from,
                                  uint64_t fingerprint) const {
  const StatusOr<TokenReplication> t = KeptConfig(token);
  if (!t.ok()) return t.status();
  if (fingerprint != 0 && fingerprint != t->Fingerprint()) {
    return Status::FailedPrecondition(
        Quoted(token) + ": " + options_.self + " and " + std::string(from) +
        " disagree on its replication: " + options_.self + " has " + t->ViewString() +
        " (fingerprint " + Hex(t->Fingerprint()) + "), " + std::string(from) +
        " has another view (fingerprint " + Hex(fingerprint) +
        "); every node must use the same file (docs/operations.md: changing a replica set)");
  }
  return Status::Ok();
}

Status ReplicaCore::IssueError(const TokenReplication& token, const Register& reg,
                               const Status& st) const {
  Status err = RoundError(token, st);
  if (err.code() != StatusCode::kFailedPrecondition) return err;
  // A refusal for another view after the value went out: if this node's own configuration
  // of the token changed meanwhile (a reconfiguration), the answer must not look like an
  // up-front refusal, which a client may resend at the new writer: the value may be stored
  // at some replicas, so its outcome is unknown.
  const StatusOr<TokenReplication> now = ActiveConfig(token.id);
  if (now.ok() && now->Fingerprint() == token.Fingerprint()) return err;
  return Status::Unavailable(Quoted(token.id) + ": the write at ts " + std::to_string(reg.ts) +
                             " may or may not have taken effect: the token's configuration "
                             "changed while it ran (" + err.message() + ")");
}

Status ReplicaCore::RoundError(const TokenReplication& token, const Status& st) const {
  if (st.code() != StatusCode::kFailedPrecondition) return st;
  return Status(st.code(), st.message() + "; " + options_.self + " has " + token.ViewString() +
                               " (fingerprint " + Hex(token.Fingerprint()) + ")");
}

template <typename T>
bool ReplicaCore::Admit(std::string_view id, std::function<void(T)>& done) {
  StatusOr<std::shared_ptr<Admission::Ticket>> ticket = admission_.Enter(id);
  if (!ticket.ok()) {
    done(ticket.status());
    return false;
  }
  done = [ticket = std::move(ticket).value(), done = std::move(done)](T result) {
    ticket->Release();
    done(std::move(result));
  };
  return true;
}

OpContext ReplicaCore::Bounded(const OpContext& ctx) const {
  OpContext out = ctx;
  const Clock::time_point cap = clock_.now() + options_.max_op_time;
  if (out.deadline > cap) out.deadline = cap;
  return out;
}

Status ReplicaCore::StopStatus(const OpContext& ctx) const {
  if (ctx.cancelled && ctx.cancelled->load()) return Status::Cancelled("the caller cancelled");
  if (clock_.now() >= ctx.deadline) return Status::DeadlineExceeded("the deadline passed");
  return Status::Ok();
}

ReplicaCore::WriterState& ReplicaCore::WriterStateOf(const std::string& token) {
  MutexLock lock(&writers_mu_);
  return writers_.try_emplace(token).first->second;
}

// ---- quorum rounds ----

void ReplicaCore::GetRound(const TokenReplication& token, const OpContext& ctx,
                           std::function<void(StatusOr<std::vector<Register>>)> done) {
  using Round = QuorumRound<Register>;
  auto round = std::make_shared<Round>(
      token.Replicas(), "read of " + Quoted(token.id), /*cancel_stragglers=*/true,
      [this, start = clock_.now(), done = std::move(done)](Status st,
                                                           std::vector<Round::Answer> answers) {
        CountRound(counters_.get_round_wait, counters_.get_rounds_failed, clock_.now() - start, st);
        if (!st.ok()) return done(std::move(st));
        std::vector<Register> regs;
        regs.reserve(answers.size());
        for (auto& a : answers) regs.push_back(std::move(a.reply));
        done(std::move(regs));
      });
  const auto& nodes = round->nodes();
  // This node's own answer first: it costs nothing, and it is then always part of the first
  // majority, so a reader whose register lags always imposes the newer one on itself too
  // (otherwise two fast peers could decide the round before it is even asked).
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i] == options_.self) round->OnReply(i, HandleGetRegister(token.id, token.Fingerprint()));
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i] == options_.self) continue;
    round->SetCancel(i, transport_.GetRegister(nodes[i], token.id, token.Fingerprint(), ctx.deadline,
                                               [round, i](StatusOr<Register> r) {
                                                 round->OnReply(i, std::move(r));
                                               }));
  }
}

void ReplicaCore::StoreRound(const TokenReplication& token, const Register& reg,
                             const OpContext& ctx, bool writer_issue,
                             std::function<void(Status, std::optional<Stamp>)> done) {
  using Round = QuorumRound<Stamp>;
  // The highest stamp of another writer incarnation that a replica answered with, when that
  // made its acknowledgement not count.
  struct Superseded {
    Mutex mu;
    std::optional<Stamp> by GUARDED_BY(mu);
  };
  auto superseded = std::make_shared<Superseded>();
  const Clock::time_point deadline =
      std::min(ctx.deadline, clock_.now() + options_.max_store_round_time);
  auto round = std::make_shared<Round>(
      token.Replicas(), "store of " + Quoted(token.id) + " at ts " + std::to_string(reg.ts),
      /*cancel_stragglers=*/false,
      [this, superseded, start = clock_.now(), deadline, what = token.id,
       done = std::move(done)](Status st, std::vector<Round::Answer>) {
        // A majority reached after the deadline does not count: a node that lost its disk
        // waits out the deadlines of the rounds that may have counted its acknowledgements
        // before it rebuilds (LifecycleOptions::rebuild_quiet), and a round that completed
        // later could count an acknowledgement the rebuild no longer holds.
        if (st.ok() && clock_.now() > deadline) {
          st = Status::DeadlineExceeded("store of " + Quoted(what) +
                                        " reached a majority only after its deadline");
        }
        CountRound(counters_.store_round_wait, counters_.store_rounds_failed,
                   clock_.now() - start, st);
        std::optional<Stamp> by;
        {
          MutexLock lock(&superseded->mu);
          by = superseded->by;
        }
        done(std::move(st), by);
      });
  // A write counts a replica that holds the issued stamp, or a later one of this same writer
  // incarnation (its own later write). A replica holding a newer stamp of another incarnation
  // would make the write invisible: that answer does not count (SPEC section 5). A read's
  // write-back only needs the replica to hold at least what it imposes.
  const Stamp issued = reg.stamp();
  auto reply = [round, superseded, issued, writer_issue](size_t i, StatusOr<Stamp> held) {
    if (writer_issue && held.ok() && *held != issued &&
        (held->origin != issued.origin || held->epoch != issued.epoch)) {
      {
        MutexLock lock(&superseded->mu);
        if (!superseded->by || *superseded->by < *held) superseded->by = *held;
      }
      held = Status::Unavailable("holds the newer stamp " + StampString(*held) +
                                 " of another writer incarnation");
    }
    round->OnReply(i, std::move(held));
  };
  const auto& nodes = round->nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i] == options_.self) {
      std::vector<StoreItem> items;
      items.push_back(StoreItem{token.id, reg, token.Fingerprint()});
      committer_.Submit(std::move(items), [reply, i](std::vector<StatusOr<Stamp>> held) {
        reply(i, std::move(held[0]));
      });
      continue;
    }
    round->SetCancel(i, transport_.Store(nodes[i], token.id, token.Fingerprint(), reg,
                                         deadline, [reply, i](StatusOr<Stamp> r) {
                                           reply(i, std::move(r));
                                         }));
  }
}

void ReplicaCore::QuorumRead(const TokenReplication& token, const OpContext& ctx,
                             std::function<void(StatusOr<QuorumReadOutcome>)> done) {
  if (options_.unsafe_bug == UnsafeBug::kReadLocal) {
    StatusOr<Register> local = HandleGetRegister(token.id);
    if (!local.ok()) return done(local.status());
    return done(QuorumReadOutcome{*local, /*fast_path=*/true});
  }
  GetRound(token, ctx, [this, token, ctx, done = std::move(done)](
                           StatusOr<std::vector<Register>> regs) mutable {
    if (!regs.ok()) return done(RoundError(token, regs.status()));
    const auto& all = *regs;
    auto highest = std::max_element(all.begin(), all.end(), [](const Register& a,
                                                               const Register& b) {
      return a.stamp() < b.stamp();
    });
    QuorumReadOutcome outcome{*highest, /*fast_path=*/true};
    for (const auto& r : all) {
      if (r.stamp() != highest->stamp()) outcome.fast_path = false;
    }
    if (outcome.fast_path || options_.unsafe_bug == UnsafeBug::kSkipWriteBack) {
      return done(std::move(outcome));
    }
    // The majority disagrees: impose the highest value on a majority before returning it,
    // so that no later read can return an older one.
    Register reg = outcome.reg;
    StoreRound(token, reg, ctx, /*writer_issue=*/false,
               [this, token, outcome = std::move(outcome), done = std::move(done)](
                   Status st, std::optional<Stamp>) mutable {
                 if (!st.ok()) return done(RoundError(token, st));
                 done(std::move(outcome));
               });
  });
}

// ---- client operations ----

void ReplicaCore::Read(const std::string& id, const OpContext& in_ctx,
                       std::function<void(StatusOr<CoreReadResult>)> done) {
  StatusOr<TokenReplication> token = CheckReader(id, in_ctx);
  if (!token.ok()) return done(token.status());
  if (!Admit(id, done)) return;
  const TokenReplication& t = *token;
  OpContext ctx = Bounded(in_ctx);
  counters_.reads++;
  QuorumRead(t, ctx, [this, t, ctx, done = std::move(done)](
                         StatusOr<QuorumReadOutcome> outcome) mutable {
    if (!outcome.ok()) return done(outcome.status());
    (outcome->fast_path ? counters_.fast_reads : counters_.slow_reads)++;
    FinishRead(t, std::move(outcome).value(), ctx, std::move(done));
  });
}

void ReplicaCore::FinishRead(const TokenReplication& token, QuorumReadOutcome outcome,
                             const OpContext& ctx,
                             std::function<void(StatusOr<CoreReadResult>)> done) {
  CoreReadResult result;
  result.ts = outcome.reg.ts;
  result.origin = outcome.reg.origin;
  result.epoch = outcome.reg.epoch;
  const Stamp stamp = outcome.reg.stamp();
  result.value = std::move(outcome.reg.value);
  result.fast_path = outcome.fast_path;
  if (result.value.kind == ValueKind::kDropped) {
    return done(Status::NotFound(Quoted(token.id) + " was dropped; create it to use it again"));
  }
  if (result.value.kind == ValueKind::kUndefined) return done(std::move(result));

  if (auto cached = final_cache_.Get(token.id, stamp)) {
    counters_.final_cache_hits++;
    result.final_min = *cached;
    return done(std::move(result));
  }
  hash_executor_.Submit([this, id = token.id, stamp, ctx, result = std::move(result),
                         done = std::move(done)]() mutable {
    const TokenValue& v = result.value;
    StopCondition stop{ctx.cancelled.get(), ctx.deadline, &clock_};
    StatusOr<std::optional<HashMin>> rest = MinHash(v.name, v.mid, v.high, stop,
                                                    options_.hash_options);
    if (!rest.ok()) return done(rest.status().WithContext("computing final of " + Quoted(id)));
    std::optional<HashMin> partial;
    if (v.has_partial) partial = HashMin{v.partial, v.partial_x};
    result.final_min = CombineMin(partial, *rest);
    final_cache_.Put(id, stamp, result.final_min);
    done(std::move(result));
  });
}

void ReplicaCore::Write(const WriteArgs& args, const OpContext& in_ctx,
                        std::function<void(StatusOr<CoreWriteResult>)> done) {
  StatusOr<TokenReplication> token = CheckWriter(args.id, in_ctx);
  if (!token.ok()) return done(token.status());
  if (Status st = ValidateWriteArgs(args, options_.limits); !st.ok()) return done(st);
  if (!Admit(args.id, done)) return;
  const TokenReplication& t = *token;
  OpContext ctx = Bounded(in_ctx);
  counters_.writes++;
  EnsureWriterInitialized(t, ctx, [this, t, args, ctx, done = std::move(done)](
                                      Status st) mutable {
    if (!st.ok()) return done(st);
    hash_executor_.Submit([this, t, args = std::move(args), ctx,
                           done = std::move(done)]() mutable {
      StopCondition stop{ctx.cancelled.get(), ctx.deadline, &clock_};
      StatusOr<std::optional<HashMin>> partial =
          MinHash(args.name, args.low, args.mid, stop, options_.hash_options);
      if (!partial.ok()) {
        return done(partial.status().WithContext("computing partial of " + Quoted(args.id)));
      }
      TokenValue value;
      value.kind = ValueKind::kDefined;
      value.name = std::move(args.name);
      value.low = args.low;
      value.mid = args.mid;
      value.high = args.high;
      if (partial->has_value()) {
        value.has_partial = true;
        value.partial = (*partial)->value;
        value.partial_x = (*partial)->x;
      }
      IssueValue(t, std::move(value), ctx,
                 [partial = *partial, done = std::move(done)](StatusOr<uint64_t> ts) {
                   if (!ts.ok()) return done(ts.status());
                   done(CoreWriteResult{*ts, partial});
                 });
    });
  });
}

void ReplicaCore::Create(const std::string& id, const OpContext& in_ctx,
                         std::function<void(StatusOr<uint64_t>)> done) {
  StatusOr<TokenReplication> token = CheckWriter(id, in_ctx);
  if (!token.ok()) return done(token.status());
  if (!Admit(id, done)) return;
  const TokenReplication& t = *token;
  OpContext ctx = Bounded(in_ctx);
  counters_.creates++;
  EnsureWriterInitialized(t, ctx, [this, t, ctx, done = std::move(done)](Status st) mutable {
    if (!st.ok()) return done(st);
    // Taking a ts may sync a reservation: off the caller's thread.
    storage_executor_.Submit([this, t, ctx, done = std::move(done)]() mutable {
      IssueValue(t, TokenValue{}, ctx, std::move(done));
    });
  });
}

void ReplicaCore::Drop(const std::string& id, const OpContext& in_ctx,
                       std::function<void(StatusOr<uint64_t>)> done) {
  StatusOr<TokenReplication> token = CheckWriter(id, in_ctx);
  if (!token.ok()) return done(token.status());
  if (!Admit(id, done)) return;
  const TokenReplication& t = *token;
  OpContext ctx = Bounded(in_ctx);
  counters_.drops++;
  EnsureWriterInitialized(t, ctx, [this, t, ctx, done = std::move(done)](Status st) mutable {
    if (!st.ok()) return done(st);
    storage_executor_.Submit([this, t, ctx, done = std::move(done)]() mutable {
      TokenValue tombstone;
      tombstone.kind = ValueKind::kDropped;
      IssueValue(t, std::move(tombstone), ctx, std::move(done));
    });
  });
}

void ReplicaCore::EnsureWriterInitialized(const TokenReplication& token, const OpContext& ctx,
                                          std::function<void(Status)> then) {
  WriterState& state = WriterStateOf(token.id);
  const uint64_t epoch = token.set->epoch;
  bool initialized;
  {
    MutexLock lock(&state.mu);
    initialized = state.initialized && state.epoch == epoch;
  }
  if (initialized) return then(Status::Ok());
  // First operation since start, or since this node became the writer at a new epoch (an
  // online reconfiguration): learn the token's current value from a majority of its
  // replicas at this epoch, and issue above it. The writer's own register may lag (its
  // local store need not be part of the majority).
  QuorumRead(token, ctx, [this, token, &state, then = std::move(then)](
                             StatusOr<QuorumReadOutcome> outcome) mutable {
    if (!outcome.ok()) {
      return then(outcome.status().WithContext("writer recovering the state of " +
                                               Quoted(token.id)));
    }
    storage_executor_.Submit([this, token, &state, reg = outcome->reg,
                              then = std::move(then)]() mutable {
      // A replica holding a ts above this node's reservations means the writer's disk lost
      // them; never issue a ts that could be ignored as old.
      if (Status st = allocator_.Observe(token.id, reg.ts); !st.ok()) return then(st);
      {
        MutexLock lock(&state.mu);
        if (!state.initialized || state.epoch != token.set->epoch) {
          state.initialized = true;
          state.epoch = token.set->epoch;
          state.last_kind = reg.value.kind;
        }
      }
      then(Status::Ok());
    });
  });
}

void ReplicaCore::IssueValue(const TokenReplication& token, TokenValue value,
                             const OpContext& ctx, std::function<void(StatusOr<uint64_t>)> done) {
  if (Status st = StopStatus(ctx); !st.ok()) return done(st);
  WriterState& state = WriterStateOf(token.id);
  Register reg;
  {
    // The ts order is the order of the writer's operations; the kind check and the ts are
    // taken together so a write cannot slip past a drop it follows.
    MutexLock lock(&state.mu);
    if (value.kind == ValueKind::kDefined && state.last_kind == ValueKind::kDropped) {
      return done(Status::NotFound(Quoted(token.id) + " was dropped; create it before writing"));
    }
    StatusOr<uint64_t> ts = allocator_.Next(token.id);
    if (!ts.ok()) return done(ts.status().WithContext("reserving a timestamp"));
    state.last_kind = value.kind;
    reg.ts = *ts;
  }
  reg.origin = lifecycle_.origin();
  reg.epoch = token.set->epoch;
  reg.value = std::move(value);
  if (reg.value.kind == ValueKind::kDefined) {
    return IssueAttempt(token, std::move(reg), ctx, options_.max_issue_attempts, std::move(done));
  }
  // Create and drop: on this node's disk first (see the header), then everywhere.
  std::vector<StoreItem> items;
  items.push_back(StoreItem{token.id, reg, token.Fingerprint()});
  committer_.Submit(std::move(items), [this, token, reg, ctx, done = std::move(done)](
                                          std::vector<StatusOr<Stamp>> held) mutable {
    if (!held[0].ok()) return done(held[0].status().WithContext("storing at the writer"));
    IssueAttempt(token, std::move(reg), ctx, options_.max_issue_attempts, std::move(done));
  });
}

void ReplicaCore::IssueAttempt(const TokenReplication& token, Register reg, const OpContext& ctx,
                               int attempts, std::function<void(StatusOr<uint64_t>)> done) {
  const Register issued = reg;
  StoreRound(token, issued, ctx, /*writer_issue=*/true,
             [this, token, reg = std::move(reg), ctx, attempts, done = std::move(done)](
                 Status st, std::optional<Stamp> superseded) mutable {
               if (st.ok()) return done(reg.ts);
               if (!superseded || attempts <= 1 || !StopStatus(ctx).ok()) {
                 return done(IssueError(token, reg, st));
               }
               // Replicas hold a newer stamp of another writer incarnation (this writer's
               // disk was lost or it moved): move above it and issue the value again. Taking a
               // ts may sync a reservation: off the caller's thread.
               storage_executor_.Submit([this, token, reg = std::move(reg), ctx, attempts,
                                         seen = *superseded, done = std::move(done)]() mutable {
                 if (Status st = allocator_.Observe(token.id, seen.ts); !st.ok()) return done(st);
                 StatusOr<uint64_t> ts = allocator_.Next(token.id);
                 if (!ts.ok()) return done(ts.status().WithContext("reserving a timestamp"));
                 reg.ts = *ts;
                 IssueAttempt(token, std::move(reg), ctx, attempts - 1, std::move(done));
               });
             });
}

// ---- replica side ----

StatusOr<Register> ReplicaCore::HandleGetRegister(std::string_view token, uint64_t fingerprint) {
  TOKENSTORE_RETURN_IF_ERROR(CheckKeeps(token, fingerprint));
  if (!lifecycle_.Serves(token)) {
    return Status::Unavailable(options_.self + " is " + NodeStateName(lifecycle_.state()) +
                               ": its register of " + Quoted(token) + " does not count yet");
  }
  return store_.Get(token);
}

StatusOr<ProbeReply> ReplicaCore::HandleProbe(std::string_view token) {
  TOKENSTORE_RETURN_IF_ERROR(CheckKeeps(token));
  StatusOr<Register> reg = store_.Get(token);
  if (!reg.ok()) return reg.status();
  return ProbeReply{std::move(reg).value(), lifecycle_.Serves(token), lifecycle_.state()};
}

StatusOr<Stamp> ReplicaCore::HandleStore(std::string_view token, const Register& reg,
                                         uint64_t fingerprint) {
  std::vector<StoreItem> items;
  items.push_back(StoreItem{std::string(token), reg, fingerprint});
  return std::move(HandleStoreBatch(items)[0]);
}

std::vector<StatusOr<Stamp>> ReplicaCore::HandleStoreBatch(std::span<const StoreItem> items) {
  // From the check that the node keeps each token (not sealed) to the answer: a seal waits
  // for this batch, and its register then includes what the batch acknowledges.
  ReaderMutexLock seal(&seal_mu_);
  std::vector<StatusOr<Stamp>> results;
  std::vector<size_t> kept;  // indexes of the valid items about tokens this node keeps
  kept.reserve(items.size());
  results.reserve(items.size());
  // A node with no identity yet may still turn out to be new: it acknowledges nothing until
  // it knows (replica/node_lifecycle.h). A node whose start its peers have not recorded yet
  // applies Stores but acknowledges none: a copy of its dir taken before this start would
  // pass for current and forget them (NodeLifecycle::Acknowledges). Decided before storing:
  // a start recorded by then is recorded before the acknowledgement leaves.
  const bool fresh = lifecycle_.state() == NodeState::kFresh;
  const bool acknowledges = lifecycle_.Acknowledges();
  for (size_t i = 0; i < items.size(); ++i) {
    Status st = CheckKeeps(items[i].token, items[i].config_fingerprint);
    if (st.ok()) st = ValidateRegister(items[i].reg, options_.limits);
    if (st.ok() && fresh) {
      st = Status::Unavailable(options_.self + " is starting on an empty data dir and "
                               "acknowledges no Store until it knows whether it is new");
    }
    results.push_back(st.ok() ? StatusOr<Stamp>(Stamp{}) : StatusOr<Stamp>(st));
    if (st.ok()) kept.push_back(i);
  }
  std::vector<StatusOr<Stamp>> held;
  if (kept.size() == items.size()) {
    held = store_.StoreIfNewerBatch(items);
  } else {
    std::vector<StoreItem> subset;
    subset.reserve(kept.size());
    for (size_t i : kept) subset.push_back(items[i]);
    held = store_.StoreIfNewerBatch(subset);
  }
  for (size_t k = 0; k < kept.size(); ++k) {
    const size_t i = kept[k];
    if (held[k].ok()) {
      const bool applied = *held[k] == items[i].reg.stamp();
      (applied ? counters_.stores_applied : counters_.stores_ignored)++;
      if (applied) lifecycle_.NoteStored(items[i].reg);
      if (!acknowledges) {
        held[k] = Status::Unavailable(
            options_.self + " is " + NodeStateName(lifecycle_.state()) +
            " and its peers have not recorded this start yet: the Store is applied but not "
            "acknowledged");
      }
    }
    results[i] = std::move(held[k]);
  }
  return results;
}

void ReplicaCore::StoreBatchAsync(std::vector<StoreItem> items, StoreCommitter::Done done) {
  committer_.Submit(std::move(items), std::move(done));
}

// ---- online reconfiguration ----

namespace {

bool SameConfig(const ReplicaSet& a, const ReplicaSet& b) {
  return a.epoch == b.epoch && a.Fingerprint() == b.Fingerprint();
}

std::string EpochView(const ReplicaSet& s) {
  return s.epoch == 0 ? s.ViewString() + " at epoch 0" : s.ViewString();
}

}  // namespace

StatusOr<ReconfigAnswer> ReplicaCore::StateOf(std::string_view token) const {
  ReconfigAnswer a;
  std::optional<TokenReplication> yaml = config_.Find(token);
  const std::optional<TokenConfigRecord> rec = records_.Find(token);
  if (rec && (!yaml || rec->epoch() >= yaml->set->epoch)) {
    a.state = rec->state;
    a.current = *rec->current;
    if (rec->target != nullptr) a.target = *rec->target;
  } else if (yaml) {
    a.current = *yaml->set;
  } else {
    return Status::NotFound(Quoted(token) + " is not in the replication scheme " +
                            config_.source + " and no reconfiguration brought it here");
  }
  return a;
}

Status ReplicaCore::CheckRecordsAgainstFile() {
  size_t older = 0;
  size_t newer = 0;
  std::string older_example;
  for (const auto& [token, rec] : records_.All()) {
    const std::optional<TokenReplication> yaml = config_.Find(token);
    if (!yaml) continue;  // a token the file does not name: the record alone knows it
    const uint64_t file_epoch = yaml->set->epoch;
    if (file_epoch == rec.epoch()) {
      const ReplicaSet& stored =
          rec.state == TokenConfigState::kRetired ? *rec.target : *rec.current;
      if (!SameConfig(stored, *yaml->set)) {
        return Status::FailedPrecondition(
            config_.source + " line " + std::to_string(yaml->line()) + ": " + Quoted(token) +
            " is " + EpochView(*yaml->set) + " in the file, but this node stored " +
            EpochView(stored) + " at the same epoch (" + RecordString(rec) +
            "); a configuration never changes without a new epoch: use the file token-admin "
            "reconfigure wrote");
      }
    } else if (file_epoch < rec.epoch()) {
      if (older++ == 0) {
        older_example = Quoted(token) + " is at epoch " + std::to_string(file_epoch) +
                        " in the file and " + RecordString(rec) + " here";
      }
    } else {
      newer++;
    }
  }
  if (older > 0) {
    LogWarn(config_.source + " is older than what this node stored for " +
                std::to_string(older) + " token(s) (" + older_example +
                "); the stored configurations hold. Distribute the file token-admin reconfigure "
                "wrote.",
            {{"tokens", std::to_string(older)}});
  }
  if (newer > 0) {
    LogInfo(config_.source + " is newer than what this node stored for " +
                std::to_string(newer) + " token(s); the file's configurations hold",
            {{"tokens", std::to_string(newer)}});
  }
  return Status::Ok();
}

StatusOr<ReconfigAnswer> ReplicaCore::HandleSeal(std::string_view token, const ReplicaSet& from,
                                                 const ReplicaSet& to) {
  TOKENSTORE_RETURN_IF_ERROR(ValidateTokenId("token", token, options_.limits));
  if (to.epoch != from.epoch + 1) {
    return Status::InvalidArgument("seal of " + Quoted(token) + ": the target's epoch " +
                                   std::to_string(to.epoch) + " is not the current epoch " +
                                   std::to_string(from.epoch) + " plus one");
  }
  MutexLock serial(&reconfig_mu_);
  StatusOr<ReconfigAnswer> state = StateOf(token);
  if (!state.ok()) return state.status();
  ReconfigAnswer a = *std::move(state);
  const bool moved_already =
      ((!a.state || *a.state == TokenConfigState::kActive) && SameConfig(a.current, to)) ||
      (a.state == TokenConfigState::kRetired && SameConfig(*a.target, to));
  if (!moved_already && !lifecycle_.Serves(token)) {
    // A node that lost its disk and is rebuilding holds a register that may lack acknowledged
    // writes: it must not count in the seal's majority, whose highest register is what the
    // transfer carries (the simulator found the lost write: seed 1497, 5 replicas).
    return Status::Unavailable(options_.self + " does not serve " + Quoted(token) +
                               " yet (it is " + NodeStateName(lifecycle_.state()) +
                               "): its register does not count in a seal; ask the others");
  }
  if (!a.state || *a.state == TokenConfigState::kActive) {
    if (SameConfig(a.current, to)) {
      // Activated already (a run that is being completed): nothing to seal.
    } else if (!SameConfig(a.current, from)) {
      return Status::FailedPrecondition(
          options_.self + " has " + Quoted(token) + " at " + EpochView(a.current) +
          ", not at " + EpochView(from) + " where the reconfiguration starts; run "
          "token-admin with the file the cluster uses now (--config)");
    } else if (from.RoleOf(options_.self) == Role::kNone) {
      return Status::FailedPrecondition(options_.self + " is not a replica of " +
                                        Quoted(token) + " at " + EpochView(from));
    } else {
      TokenConfigRecord rec{TokenConfigState::kSealed, records_.Intern(from),
                            records_.Intern(to)};
      // Every Store that passed its check before this point is over once the lock is ours;
      // every later one finds the record and is refused.
      WriterMutexLock seal(&seal_mu_);
      TOKENSTORE_RETURN_IF_ERROR(records_.Put(token, rec));
      a.state = TokenConfigState::kSealed;
      a.target = to;
      LogInfo("sealed " + Quoted(token) + " for a reconfiguration",
              {{"token", std::string(token)}, {"from", EpochView(from)}, {"to", EpochView(to)}});
    }
  } else if (*a.state == TokenConfigState::kSealed) {
    if (!SameConfig(*a.target, to) || !SameConfig(a.current, from)) {
      return Status::FailedPrecondition(
          options_.self + " is sealed for " + Quoted(token) + " by another reconfiguration, "
          "from " + EpochView(a.current) + " to " + EpochView(*a.target) +
          ": complete that one first (token-admin reconfigure --to its file)");
    }
  } else if (!SameConfig(*a.target, to)) {  // retired
    return Status::FailedPrecondition(options_.self + " left " + Quoted(token) + " when it moved to " +
                                      EpochView(*a.target) + ", not " + EpochView(to));
  }
  StatusOr<Register> reg = store_.Get(token);
  if (!reg.ok()) return reg.status();
  a.reg = *std::move(reg);
  return a;
}

StatusOr<ReconfigAnswer> ReplicaCore::HandleInstall(std::string_view token, const ReplicaSet& to,
                                                    const Register& reg) {
  TOKENSTORE_RETURN_IF_ERROR(ValidateTokenId("token", token, options_.limits));
  TOKENSTORE_RETURN_IF_ERROR(ValidateRegister(reg, options_.limits));
  if (to.RoleOf(options_.self) == Role::kNone) {
    return Status::InvalidArgument(options_.self + " is not a replica of " + Quoted(token) +
                                   " at " + EpochView(to) + ": nothing to install here");
  }
  if (reg.epoch >= to.epoch) {
    return Status::InvalidArgument("install of " + Quoted(token) + ": the register's epoch " +
                                   std::to_string(reg.epoch) + " is not below the target's " +
                                   std::to_string(to.epoch));
  }
  MutexLock serial(&reconfig_mu_);
  StatusOr<ReconfigAnswer> state = StateOf(token);
  ReconfigAnswer a;
  if (state.ok()) {
    a = *std::move(state);
  } else if (state.status().code() == StatusCode::kNotFound) {
    a.current = to;  // a new replica whose file does not name the token yet
  } else {
    return state.status();
  }
  if (a.current.epoch > to.epoch ||
      (a.current.epoch == to.epoch && !SameConfig(a.current, to))) {
    return Status::FailedPrecondition(options_.self + " has " + Quoted(token) + " at " +
                                      EpochView(a.current) + ", past or beside " +
                                      EpochView(to));
  }
  if (lifecycle_.state() == NodeState::kFresh || !lifecycle_.Acknowledges()) {
    return Status::Unavailable(options_.self + " is " + NodeStateName(lifecycle_.state()) +
                               " and acknowledges no Store yet; run the reconfiguration again "
                               "once it serves");
  }
  StatusOr<Stamp> held = store_.StoreIfNewer(token, reg);
  if (!held.ok()) return held.status().WithContext("installing the register of " + Quoted(token));
  if (*held == reg.stamp()) lifecycle_.NoteStored(reg);
  StatusOr<Register> now = store_.Get(token);
  if (!now.ok()) return now.status();
  a.reg = *std::move(now);
  return a;
}

StatusOr<ReconfigAnswer> ReplicaCore::HandleActivate(std::string_view token,
                                                     const ReplicaSet& to) {
  TOKENSTORE_RETURN_IF_ERROR(ValidateTokenId("token", token, options_.limits));
  MutexLock serial(&reconfig_mu_);
  // As for a seal: no Store is between its check and its answer while the record changes.
  WriterMutexLock seal(&seal_mu_);
  StatusOr<ReconfigAnswer> state = StateOf(token);
  const bool member = to.RoleOf(options_.self) != Role::kNone;
  ReconfigAnswer a;
  if (state.ok()) {
    a = *std::move(state);
  } else if (state.status().code() == StatusCode::kNotFound && member) {
    a.current = to;
  } else {
    return state.status();
  }
  const bool sealed = a.state == TokenConfigState::kSealed;
  const bool retired = a.state == TokenConfigState::kRetired;
  // A configuration later than the one a sealed or retired node moves or moved to: the node
  // missed the moves in between (it was down or cut off), or is being added back. It takes
  // it like any node that is behind: a replica that may lag, which the protocol tolerates.
  const bool later = (sealed || retired) && to.epoch > a.target->epoch;
  if ((sealed || retired) && !later && !SameConfig(*a.target, to)) {
    return Status::FailedPrecondition(options_.self + " is " +
                                      TokenConfigStateName(*a.state) + " for " + Quoted(token) +
                                      " towards " + EpochView(*a.target) + ", not " +
                                      EpochView(to));
  }
  if (retired && !later) {
    // done before
  } else if (!sealed && !retired && SameConfig(a.current, to)) {
    if (!a.state && member) {
      // The file already says `to` (a node restarted with the new file): record it, so an
      // older file given later does not take the token back.
      TOKENSTORE_RETURN_IF_ERROR(
          records_.Put(token, TokenConfigRecord{TokenConfigState::kActive, records_.Intern(to)}));
      a.state = TokenConfigState::kActive;
    }
  } else if (!later && a.current.epoch >= to.epoch) {
    return Status::FailedPrecondition(options_.self + " has " + Quoted(token) + " at " +
                                      EpochView(a.current) + ", past or beside " +
                                      EpochView(to));
  } else if (member) {
    TOKENSTORE_RETURN_IF_ERROR(
        records_.Put(token, TokenConfigRecord{TokenConfigState::kActive, records_.Intern(to)}));
    a.state = TokenConfigState::kActive;
    a.current = to;
    a.target.reset();
    LogInfo("activated " + Quoted(token) + " at its new configuration",
            {{"token", std::string(token)}, {"config", EpochView(to)}});
  } else {
    const ReplicaSet& last = retired ? *a.target : a.current;  // the last one it knew
    TOKENSTORE_RETURN_IF_ERROR(records_.Put(
        token, TokenConfigRecord{TokenConfigState::kRetired, records_.Intern(last),
                                 records_.Intern(to)}));
    a.state = TokenConfigState::kRetired;
    a.current = last;
    a.target = to;
    LogInfo("retired from " + Quoted(token) + ": it moved to other replicas",
            {{"token", std::string(token)}, {"config", EpochView(to)}});
  }
  StatusOr<Register> reg = store_.Get(token);
  if (!reg.ok()) return reg.status();
  a.reg = *std::move(reg);
  return a;
}

StatusOr<ReconfigAnswer> ReplicaCore::HandleTokenState(std::string_view token) {
  TOKENSTORE_RETURN_IF_ERROR(ValidateTokenId("token", token, options_.limits));
  StatusOr<ReconfigAnswer> a = StateOf(token);
  if (!a.ok()) return a.status();
  StatusOr<Register> reg = store_.Get(token);
  if (!reg.ok()) return reg.status();
  a->reg = *std::move(reg);
  return a;
}

std::optional<ReplicaSet> ReplicaCore::ConfigToAttach(std::string_view token) const {
  StatusOr<ReconfigAnswer> a = StateOf(token);
  if (!a.ok() || a->state == TokenConfigState::kSealed) return std::nullopt;
  if (a->state == TokenConfigState::kRetired) return a->target;
  return a->current;
}

// ---- fail-silent ----

bool ReplicaCore::MayAnswer(std::string_view token) const {
  return token.empty() || !IsCrashed(token);
}

bool ReplicaCore::IsCrashed(std::string_view token) const {
  ReaderMutexLock lock(&crashed_mu_);
  return crashed_.find(token) != crashed_.end();
}

StatusOr<bool> ReplicaCore::SetCrashed(std::string_view token, bool crashed) {
  TOKENSTORE_RETURN_IF_ERROR(CheckKeeps(token));
  // Durable first: a mark that is in effect must survive a restart.
  TOKENSTORE_RETURN_IF_ERROR(store_.SetCrashed(token, crashed));
  WriterMutexLock lock(&crashed_mu_);
  const bool was = crashed_.find(token) != crashed_.end();
  if (crashed) {
    crashed_.emplace(token);
  } else if (was) {
    crashed_.erase(crashed_.find(token));
  }
  return was;
}

}  // namespace tokenstore
