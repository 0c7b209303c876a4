#include "replica/services.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "common/log.h"
#include "proto/convert.h"
#include "replica/batch_handler.h"
#include "replica/server_call.h"

namespace tokenstore {
namespace {

using Handle = std::shared_ptr<ServerCall::Handle>;

OpContext ContextOf(const ReplicaCore& core, grpc::CallbackServerContext* ctx,
                    const Handle& handle, uint64_t config_fingerprint) {
  OpContext op;
  op.config_fingerprint = config_fingerprint;
  // gRPC reports the caller's deadline on the system clock, and a far-future one when the
  // caller set none; the core's own cap (--max-op-seconds) bounds that case.
  const auto left = ctx->deadline() - std::chrono::system_clock::now();
  if (left < std::chrono::hours(24 * 365)) {
    op.deadline = core.clock().now() + std::chrono::duration_cast<Clock::duration>(left);
  }
  op.cancelled = handle->cancelled();
  return op;
}

// The caller's identity, looked up only when the authorizer enforces (TLS).
std::optional<PeerIdentity> CallerOf(const Authorizer& auth, grpc::CallbackServerContext* ctx) {
  if (!auth.enforced()) return std::nullopt;
  std::shared_ptr<const grpc::AuthContext> context = ctx->auth_context();
  return context ? PeerIdentityOf(*context) : std::nullopt;
}

// With TLS, a peer's claimed address must be the one its certificate names.
Status CheckFrom(const Authorizer& auth, const std::optional<PeerIdentity>& caller,
                 const std::string& from) {
  if (!auth.enforced() || from.empty()) return Status::Ok();  // empty: names no one else
  if (caller && caller->role == PeerRole::kNode && caller->name == from) return Status::Ok();
  return Status::PermissionDenied("the call says it comes from " + from + " but the caller is " +
                                  (caller ? caller->ToString() : std::string("unknown")));
}

// Calls not about one token (Batch, where each entry is checked on its own, and Hello): from
// a node, the one it says it is.
Status AllowNode(const Authorizer& auth, const std::optional<PeerIdentity>& caller,
                 const std::string& from) {
  if (auth.enforced() && !(caller && caller->role == PeerRole::kNode)) {
    return auth.AllowPeer(caller, "");  // not a node at all
  }
  return CheckFrom(auth, caller, from);
}

// Who made an admin call, for its audit event: the gRPC peer ("ipv4:127.0.0.1:41234") and
// the common name of its client certificate ("none" without TLS).
struct AdminCaller {
  std::string peer;
  std::string cn = "none";
};

AdminCaller AdminCallerOf(grpc::CallbackServerContext* ctx) {
  AdminCaller caller;
  caller.peer = ctx->peer();
  if (std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
      auth && auth->IsPeerAuthenticated()) {
    std::vector<grpc::string_ref> cn = auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
    if (!cn.empty()) caller.cn.assign(cn[0].data(), cn[0].size());
  }
  return caller;
}

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Finishes `handle` with `st` after `fill` — unless the core withholds answers about the
// token now (ReplicaCore::MayAnswer); the call then stays parked until its caller gives up.
// A refusal for a view that differs (FAILED_PRECONDITION) carries the node's configuration of
// the token in the trailing metadata, for a client with an older epoch to adopt
// (docs/reconfiguration.md). `ctx` is valid here: the call is claimed and not yet finished.
template <typename Fill>
void Answer(ReplicaCore& core, const std::string& token, grpc::CallbackServerContext* ctx,
            const Handle& handle, const Status& st, Fill fill) {
  if (!core.MayAnswer(token)) return;
  ServerCall* call = handle->Claim();
  if (call == nullptr) return;  // the caller already gave up
  if (st.ok()) fill();
  if (ctx != nullptr && st.code() == StatusCode::kFailedPrecondition) {
    if (std::optional<ReplicaSet> c = core.ConfigToAttach(token)) {
      v1::TokenConfig config;
      ToProto(token, *c, &config);
      ctx->AddTrailingMetadata(kConfigMetadataKey, config.SerializeAsString());
    }
  }
  call->Finish(ToGrpc(st));
}

}  // namespace

// ---- TokenService ----

OpContext TokenServiceImpl::SessionContext(uint32_t timeout_ms,
                                           const std::shared_ptr<std::atomic<bool>>& cancelled,
                                           uint64_t config_fingerprint) const {
  OpContext op;
  op.config_fingerprint = config_fingerprint;
  if (timeout_ms > 0) op.deadline = core_.clock().now() + std::chrono::milliseconds(timeout_ms);
  op.cancelled = cancelled;
  return op;
}

void TokenServiceImpl::RunWrite(const v1::WriteRequest& req, const OpContext& ctx,
                                Done<v1::WriteResponse> done) {
  WriteArgs args{req.id(), req.name(), req.low(), req.mid(), req.high()};
  const auto start = Clock::now();
  core_.Write(args, ctx, [this, args, start, done = std::move(done)](StatusOr<CoreWriteResult> r) {
    OpRecord rec{"write", args.id, r.status()};
    rec.millis = MillisSince(start);
    v1::WriteResponse resp;
    if (r.ok()) {
      rec.ts = r->ts;
      TokenValue v{ValueKind::kDefined, args.name, args.low, args.mid, args.high};
      resp.set_id(args.id);
      resp.set_ts(r->ts);
      if (r->partial) {
        v.has_partial = true;
        v.partial = r->partial->value;
        v.partial_x = r->partial->x;
        resp.set_partial(r->partial->value);
        resp.set_partial_x(r->partial->x);
      }
      rec.value = v;
    }
    done(r.status(), std::move(resp));
    log_.Record(rec);
  });
}

void TokenServiceImpl::RunRead(const std::string& id, const OpContext& ctx,
                               Done<v1::ReadResponse> done) {
  const auto start = Clock::now();
  core_.Read(id, ctx, [this, id, start, done = std::move(done)](StatusOr<CoreReadResult> r) {
    OpRecord rec{"read", id, r.status()};
    rec.millis = MillisSince(start);
    v1::ReadResponse resp;
    if (r.ok()) {
      rec.ts = r->ts;
      rec.value = r->value;
      rec.final_min = r->final_min;
      rec.fast_path = r->fast_path;
      const TokenValue& v = r->value;
      resp.set_id(id);
      resp.set_ts(r->ts);
      resp.set_fast_path(r->fast_path);
      if (v.kind == ValueKind::kDefined) {
        resp.set_defined(true);
        resp.set_name(v.name);
        resp.set_low(v.low);
        resp.set_mid(v.mid);
        resp.set_high(v.high);
        if (v.has_partial) {
          resp.set_partial(v.partial);
          resp.set_partial_x(v.partial_x);
        }
        if (r->final_min) {
          resp.set_final(r->final_min->value);
          resp.set_final_x(r->final_min->x);
        }
      }
    }
    done(r.status(), std::move(resp));
    log_.Record(rec);
  });
}

// create and drop differ only in the value the writer issues (undefined or a tombstone).
void TokenServiceImpl::RunReset(const std::string& id, ValueKind kind, const OpContext& ctx,
                                Done<uint64_t> done) {
  const auto start = Clock::now();
  auto finish = [this, id, kind, start, done = std::move(done)](StatusOr<uint64_t> ts) {
    OpRecord rec{kind == ValueKind::kDropped ? "drop" : "create", id, ts.status()};
    rec.millis = MillisSince(start);
    if (ts.ok()) {
      rec.ts = *ts;
      rec.value = TokenValue{kind};
    }
    done(ts.status(), ts.ok() ? *ts : 0);
    log_.Record(rec);
  };
  if (kind == ValueKind::kDropped) {
    core_.Drop(id, ctx, std::move(finish));
  } else {
    core_.Create(id, ctx, std::move(finish));
  }
}

grpc::ServerUnaryReactor* TokenServiceImpl::Write(grpc::CallbackServerContext* ctx,
                                                  const v1::WriteRequest* req,
                                                  v1::WriteResponse* resp) {
  auto* call = new ServerCall();
  if (Status st = auth_.AllowClient(CallerOf(auth_, ctx)); !st.ok()) {
    return call->FinishNow(ToGrpc(st));
  }
  if (!core_.MayAnswer(req->id())) return call;  // fail-silent: parked
  Handle handle = call->handle();
  RunWrite(*req, ContextOf(core_, ctx, handle, req->config_fingerprint()),
           [this, ctx, handle, resp, id = req->id()](const Status& st, v1::WriteResponse r) {
             Answer(core_, id, ctx, handle, st, [&] { *resp = std::move(r); });
           });
  return call;
}

grpc::ServerUnaryReactor* TokenServiceImpl::Read(grpc::CallbackServerContext* ctx,
                                                 const v1::ReadRequest* req,
                                                 v1::ReadResponse* resp) {
  auto* call = new ServerCall();
  if (Status st = auth_.AllowClient(CallerOf(auth_, ctx)); !st.ok()) {
    return call->FinishNow(ToGrpc(st));
  }
  if (!core_.MayAnswer(req->id())) return call;
  Handle handle = call->handle();
  RunRead(req->id(), ContextOf(core_, ctx, handle, req->config_fingerprint()),
          [this, ctx, handle, resp, id = req->id()](const Status& st, v1::ReadResponse r) {
            Answer(core_, id, ctx, handle, st, [&] { *resp = std::move(r); });
          });
  return call;
}

template <typename Response>
grpc::ServerUnaryReactor* TokenServiceImpl::Reset(grpc::CallbackServerContext* ctx,
                                                  const std::string& id, uint64_t fingerprint,
                                                  ValueKind kind, Response* resp) {
  auto* call = new ServerCall();
  if (Status st = auth_.AllowClient(CallerOf(auth_, ctx)); !st.ok()) {
    return call->FinishNow(ToGrpc(st));
  }
  if (!core_.MayAnswer(id)) return call;
  Handle handle = call->handle();
  RunReset(id, kind, ContextOf(core_, ctx, handle, fingerprint),
           [this, ctx, handle, resp, id](const Status& st, uint64_t ts) {
             Answer(core_, id, ctx, handle, st, [&] {
               resp->set_id(id);
               resp->set_ts(ts);
             });
           });
  return call;
}

grpc::ServerUnaryReactor* TokenServiceImpl::Create(grpc::CallbackServerContext* ctx,
                                                   const v1::CreateRequest* req,
                                                   v1::CreateResponse* resp) {
  return Reset(ctx, req->id(), req->config_fingerprint(), ValueKind::kUndefined, resp);
}

grpc::ServerUnaryReactor* TokenServiceImpl::Drop(grpc::CallbackServerContext* ctx,
                                                 const v1::DropRequest* req,
                                                 v1::DropResponse* resp) {
  return Reset(ctx, req->id(), req->config_fingerprint(), ValueKind::kDropped, resp);
}

// One client's stream of operations (TokenService.Session). Reads the client's batches of
// operations, starts each on the core, and writes results back as they finish, those that
// finish while a write is in flight together in the next one. At most kMaxSessionOps run at
// once: beyond that the stream is not read until some finish, so gRPC's flow control holds
// the client back.
//
// Lifetime: gRPC calls OnDone after Finish, and Finish is called only when the client has
// stopped sending (or gone), no operation is running and no write is in flight; so every
// operation's callback runs while the reactor is alive. Operations parked by a crash-stop
// mark are never started, and those whose token was crash-stopped while they ran are
// finished without a result.
//
// Thread-safety: the reactions and the operations' callbacks run on any thread; `mu_` guards
// the stream's state. Start* and Finish are called with `mu_` released (gRPC may run a
// reaction at once on the calling thread).
class TokenServiceImpl::SessionReactor final
    : public grpc::ServerBidiReactor<v1::SessionRequest, v1::SessionResponse> {
 public:
  SessionReactor(TokenServiceImpl& service, grpc::CallbackServerContext* ctx)
      : service_(service) {
    if (Status st = service_.auth_.AllowClient(CallerOf(service_.auth_, ctx)); !st.ok()) {
      Finish(ToGrpc(st));
      return;
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client is done sending, or gone
      Next next;
      {
        MutexLock lock(&mu_);
        reading_ = false;
        reads_done_ = true;
        next = DecideLocked();
      }
      Perform(next);
      return;
    }
    {
      MutexLock lock(&mu_);
      running_ += request_.ops_size();  // before any can finish
    }
    for (v1::SessionOp& op : *request_.mutable_ops()) Start(op);
    Next next;
    {
      MutexLock lock(&mu_);
      reading_ = false;
      next = DecideLocked();
    }
    Perform(next);
  }

  void OnWriteDone(bool ok) override {
    Next next;
    {
      MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) broken_ = true;  // the client is gone: nothing more can be sent
      next = DecideLocked();
    }
    Perform(next);
  }

  void OnCancel() override { cancelled_->store(true); }

  void OnDone() override { delete this; }

 private:
  // Starts one operation; `running_` already counts it.
  void Start(v1::SessionOp& op) {
    const uint64_t seq = op.seq();
    auto reply = [this, seq](const std::string& token) {
      return [this, seq, token](const Status& st, auto fill) {
        v1::SessionResult r;
        r.set_seq(seq);
        if (st.ok()) {
          fill(r);
        } else {
          r.set_code(static_cast<int>(st.code()));
          r.set_message(st.message());
          if (st.code() == StatusCode::kFailedPrecondition) {
            if (std::optional<ReplicaSet> c = service_.core_.ConfigToAttach(token)) {
              ToProto(token, *c, r.mutable_config());
            }
          }
        }
        Finished(token, std::move(r));
      };
    };
    const uint32_t timeout = op.timeout_ms();
    switch (op.op_case()) {
      case v1::SessionOp::kWrite: {
        const v1::WriteRequest& req = op.write();
        if (!Admit(req.id())) return;
        service_.RunWrite(req, service_.SessionContext(timeout, cancelled_, req.config_fingerprint()),
                          [done = reply(req.id())](const Status& st, v1::WriteResponse w) mutable {
                            done(st, [&](v1::SessionResult& r) { *r.mutable_write() = std::move(w); });
                          });
        return;
      }
      case v1::SessionOp::kRead: {
        const v1::ReadRequest& req = op.read();
        if (!Admit(req.id())) return;
        service_.RunRead(req.id(), service_.SessionContext(timeout, cancelled_, req.config_fingerprint()),
                         [done = reply(req.id())](const Status& st, v1::ReadResponse rd) mutable {
                           done(st, [&](v1::SessionResult& r) { *r.mutable_read() = std::move(rd); });
                         });
        return;
      }
      case v1::SessionOp::kCreate:
      case v1::SessionOp::kDrop: {
        const bool drop = op.op_case() == v1::SessionOp::kDrop;
        const std::string& id = drop ? op.drop().id() : op.create().id();
        const uint64_t fp = drop ? op.drop().config_fingerprint() : op.create().config_fingerprint();
        if (!Admit(id)) return;
        service_.RunReset(id, drop ? ValueKind::kDropped : ValueKind::kUndefined,
                          service_.SessionContext(timeout, cancelled_, fp),
                          [done = reply(id), drop, id](const Status& st, uint64_t ts) mutable {
                            done(st, [&](v1::SessionResult& r) {
                              if (drop) {
                                r.mutable_drop()->set_id(id);
                                r.mutable_drop()->set_ts(ts);
                              } else {
                                r.mutable_create()->set_id(id);
                                r.mutable_create()->set_ts(ts);
                              }
                            });
                          });
        return;
      }
      case v1::SessionOp::OP_NOT_SET:
        break;
    }
    v1::SessionResult r;
    r.set_seq(seq);
    r.set_code(static_cast<int>(StatusCode::kInvalidArgument));
    r.set_message("session operation " + std::to_string(seq) + " names no operation");
    Finished("", std::move(r));
  }

  // False (and the operation is over, unanswered) when the node withholds answers about
  // `token`: fail-silent parks it, as a unary call is parked.
  bool Admit(const std::string& token) {
    if (service_.core_.MayAnswer(token)) return true;
    Next next;
    {
      MutexLock lock(&mu_);
      running_--;
      next = DecideLocked();
    }
    Perform(next);
    return false;
  }

  // An operation is over: its result goes out unless the node now withholds answers about
  // its token (crash-stopped meanwhile).
  void Finished(const std::string& token, v1::SessionResult result) {
    const bool answer = token.empty() || service_.core_.MayAnswer(token);
    Next next;
    {
      MutexLock lock(&mu_);
      running_--;
      if (answer && !broken_) *outbox_.add_results() = std::move(result);
      next = DecideLocked();
    }
    Perform(next);
  }

  // What the state calls for next: the next read, the next write, or the end. Decided with
  // `mu_` held, started with it released (Perform).
  struct Next {
    bool read = false, write = false, finish = false;
  };
  Next DecideLocked() REQUIRES(mu_) {
    Next next;
    if (!reading_ && !reads_done_ && !broken_ && running_ < kMaxSessionOps) {
      reading_ = next.read = true;
    }
    if (!writing_ && !broken_ && outbox_.results_size() > 0) {
      response_.Swap(&outbox_);
      outbox_.Clear();
      writing_ = next.write = true;
    }
    if (!finished_ && (reads_done_ || broken_) && !reading_ && running_ == 0 && !writing_) {
      finished_ = next.finish = true;
    }
    return next;
  }
  void Perform(const Next& next) {
    if (next.read) StartRead(&request_);
    if (next.write) StartWrite(&response_);
    if (next.finish) Finish(grpc::Status::OK);
  }

  TokenServiceImpl& service_;
  const std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
  v1::SessionRequest request_;  // owned by the read in flight, else by OnReadDone
  Mutex mu_;
  v1::SessionResponse response_;  // owned by the write in flight
  v1::SessionResponse outbox_ GUARDED_BY(mu_);  // results waiting for the next write
  size_t running_ GUARDED_BY(mu_) = 0;
  bool reading_ GUARDED_BY(mu_) = true;  // the constructor's read
  bool reads_done_ GUARDED_BY(mu_) = false;
  bool writing_ GUARDED_BY(mu_) = false;
  bool broken_ GUARDED_BY(mu_) = false;
  bool finished_ GUARDED_BY(mu_) = false;
};

grpc::ServerBidiReactor<v1::SessionRequest, v1::SessionResponse>* TokenServiceImpl::Session(
    grpc::CallbackServerContext* ctx) {
  return new SessionReactor(*this, ctx);
}

// ---- ReplicaService ----

grpc::ServerUnaryReactor* ReplicaServiceImpl::GetRegister(grpc::CallbackServerContext* ctx,
                                                          const v1::GetRegisterRequest* req,
                                                          v1::GetRegisterResponse* resp) {
  auto* call = new ServerCall();
  const std::optional<PeerIdentity> caller = CallerOf(auth_, ctx);
  Status st = auth_.AllowPeer(caller, req->token());
  if (st.ok()) st = CheckFrom(auth_, caller, req->from());
  if (!st.ok()) return call->FinishNow(ToGrpc(st));
  if (!core_.MayAnswer(req->token())) return call;
  st = core_.CheckPeerCall(req->token(), req->from(), req->config_fingerprint());
  if (st.ok() && req->rebuild()) {
    StatusOr<ProbeReply> probe = core_.HandleProbe(req->token());
    if (probe.ok()) {
      ToProto(probe->reg, resp->mutable_reg());
      resp->set_serving(probe->serving);
      resp->set_state(ToProto(probe->state));
    }
    st = probe.status();
  } else if (st.ok()) {
    StatusOr<Register> reg = core_.HandleGetRegister(req->token(), req->config_fingerprint());
    if (reg.ok()) ToProto(*reg, resp->mutable_reg());
    st = reg.status();
  }
  return call->FinishNow(ToGrpc(st));
}

grpc::ServerUnaryReactor* ReplicaServiceImpl::Store(grpc::CallbackServerContext* ctx,
                                                    const v1::StoreRequest* req,
                                                    v1::StoreResponse* resp) {
  auto* call = new ServerCall();
  const std::optional<PeerIdentity> caller = CallerOf(auth_, ctx);
  Status st = auth_.AllowPeer(caller, req->token());
  if (st.ok()) st = CheckFrom(auth_, caller, req->from());
  if (!st.ok()) return call->FinishNow(ToGrpc(st));
  if (!core_.MayAnswer(req->token())) return call;
  st = core_.CheckPeerCall(req->token(), req->from(), req->config_fingerprint());
  if (!st.ok()) return call->FinishNow(ToGrpc(st));
  StatusOr<Register> reg = FromProto(req->reg());
  if (!reg.ok()) return call->FinishNow(ToGrpc(reg.status()));
  Handle handle = call->handle();
  storage_executor_.Submit([this, handle, resp, token = req->token(), reg = *reg,
                            fingerprint = req->config_fingerprint()] {
    if (handle->cancelled()->load()) return;  // the caller is gone; OnCancel answered it
    StatusOr<Stamp> held = core_.HandleStore(token, reg, fingerprint);
    Answer(core_, token, nullptr, handle, held.status(), [&] {
      resp->set_stored_ts(held->ts);
      resp->set_stored_origin(held->origin);
      resp->set_stored_epoch(held->epoch);
    });
  });
  return call;
}

grpc::ServerUnaryReactor* ReplicaServiceImpl::Batch(grpc::CallbackServerContext* ctx,
                                                    const v1::BatchRequest* req,
                                                    v1::BatchResponse* resp) {
  auto* call = new ServerCall();
  const std::optional<PeerIdentity> caller = CallerOf(auth_, ctx);
  if (Status st = AllowNode(auth_, caller, req->from()); !st.ok()) {
    return call->FinishNow(ToGrpc(st));
  }
  Handle handle = call->handle();
  AnswerBatch(
      core_, *req, [this, &caller](const std::string& token) { return auth_.AllowPeer(caller, token); },
      [handle, resp](v1::BatchResponse response) {
        ServerCall* c = handle->Claim();
        if (c == nullptr) return;  // the caller is gone; OnCancel answered it
        *resp = std::move(response);
        c->Finish(grpc::Status::OK);
      });
  return call;
}

grpc::ServerUnaryReactor* ReplicaServiceImpl::Hello(grpc::CallbackServerContext* ctx,
                                                    const v1::HelloRequest* req,
                                                    v1::HelloResponse* resp) {
  auto* call = new ServerCall();
  const std::optional<PeerIdentity> caller = CallerOf(auth_, ctx);
  if (Status st = AllowNode(auth_, caller, req->from()); !st.ok()) {
    return call->FinishNow(ToGrpc(st));
  }
  // Recording the caller's boot is a synced write: on the storage executor.
  Handle handle = call->handle();
  storage_executor_.Submit([this, handle, resp, from = req->from(), args = FromProto(*req)] {
    StatusOr<HelloReply> reply = core_.lifecycle().HandleHello(from, args);
    if (ServerCall* c = handle->Claim()) {
      if (reply.ok()) ToProto(*reply, resp);
      c->Finish(ToGrpc(reply.status()));
    }
  });
  return call;
}

// ---- AdminService ----

// Crash and Revive differ only in the mark they set. The mark is synced to disk, so the
// work runs on the storage executor.
template <typename Response>
grpc::ServerUnaryReactor* AdminServiceImpl::SetMark(grpc::CallbackServerContext* ctx,
                                                    const std::string& token, bool crashed,
                                                    Response* resp) {
  auto* call = new ServerCall();
  // Every crash-stop and revive is logged with who asked (an audit trail), refusals too.
  const char* what = crashed ? "crash-stop" : "revive";
  AdminCaller caller = AdminCallerOf(ctx);
  if (Status st = auth_.AllowAdmin(CallerOf(auth_, ctx)); !st.ok()) {
    LogWarn("admin call refused", {{"call", what},
                                   {"token", token},
                                   {"peer", caller.peer},
                                   {"client_cn", caller.cn},
                                   {"error", st.message()}});
    return call->FinishNow(ToGrpc(st));
  }
  Handle handle = call->handle();
  storage_executor_.Submit([this, handle, resp, token, crashed, what,
                            caller = std::move(caller)] {
    StatusOr<bool> was = core_.SetCrashed(token, crashed);
    if (was.ok()) {
      Log(crashed ? LogLevel::kWarn : LogLevel::kInfo,
          crashed ? "token crash-stopped" : "token revived",
              {{"token", token},
               {"was_crashed", *was},
               {"peer", caller.peer},
               {"client_cn", caller.cn}});
    } else {
      LogWarn("admin call failed", {{"call", what},
                                    {"token", token},
                                    {"peer", caller.peer},
                                    {"client_cn", caller.cn},
                                    {"code", StatusCodeName(was.status().code())},
                                    {"error", was.status().message()}});
    }
    if (ServerCall* c = handle->Claim()) {
      if (was.ok()) resp->set_was_crashed(*was);
      c->Finish(ToGrpc(was.status()));
    }
  });
  return call;
}

grpc::ServerUnaryReactor* AdminServiceImpl::Crash(grpc::CallbackServerContext* ctx,
                                                  const v1::CrashRequest* req,
                                                  v1::CrashResponse* resp) {
  return SetMark(ctx, req->token(), true, resp);
}

grpc::ServerUnaryReactor* AdminServiceImpl::Revive(grpc::CallbackServerContext* ctx,
                                                   const v1::ReviveRequest* req,
                                                   v1::ReviveResponse* resp) {
  return SetMark(ctx, req->token(), false, resp);
}

namespace {

v1::ReconfigReply::State ToProto(std::optional<TokenConfigState> s) {
  if (!s) return v1::ReconfigReply::YAML;
  switch (*s) {
    case TokenConfigState::kSealed:
      return v1::ReconfigReply::SEALED;
    case TokenConfigState::kActive:
      return v1::ReconfigReply::ACTIVE;
    case TokenConfigState::kRetired:
      return v1::ReconfigReply::RETIRED;
  }
  return v1::ReconfigReply::YAML;
}

}  // namespace

grpc::ServerUnaryReactor* AdminServiceImpl::Reconfig(
    grpc::CallbackServerContext* ctx, const char* what, std::string token,
    std::function<StatusOr<ReconfigAnswer>()> run, v1::ReconfigReply* resp) {
  auto* call = new ServerCall();
  AdminCaller caller = AdminCallerOf(ctx);
  if (Status st = auth_.AllowAdmin(CallerOf(auth_, ctx)); !st.ok()) {
    LogWarn("admin call refused", {{"call", what},
                                   {"token", token},
                                   {"peer", caller.peer},
                                   {"client_cn", caller.cn},
                                   {"error", st.message()}});
    return call->FinishNow(ToGrpc(st));
  }
  Handle handle = call->handle();
  storage_executor_.Submit([handle, resp, what, token = std::move(token), run = std::move(run),
                            caller = std::move(caller)] {
    StatusOr<ReconfigAnswer> a = run();
    if (!a.ok() && a.status().code() != StatusCode::kFailedPrecondition) {
      LogWarn("admin call failed", {{"call", what},
                                    {"token", token},
                                    {"peer", caller.peer},
                                    {"client_cn", caller.cn},
                                    {"code", StatusCodeName(a.status().code())},
                                    {"error", a.status().message()}});
    }
    if (ServerCall* c = handle->Claim()) {
      if (a.ok()) {
        resp->set_state(ToProto(a->state));
        ToProto(token, a->current, resp->mutable_current());
        if (a->target) ToProto(token, *a->target, resp->mutable_target());
        ToProto(a->reg, resp->mutable_reg());
      }
      c->Finish(ToGrpc(a.status()));
    }
  });
  return call;
}

// The requests are decoded inside `run`, after Reconfig's admin check: a caller that may not
// make admin calls learns nothing about its request's contents.
grpc::ServerUnaryReactor* AdminServiceImpl::Seal(grpc::CallbackServerContext* ctx,
                                                 const v1::SealRequest* req,
                                                 v1::ReconfigReply* resp) {
  return Reconfig(ctx, "seal", req->to().token(),
                  [this, req = *req]() -> StatusOr<ReconfigAnswer> {
                    StatusOr<ReplicaSet> from =
                        FromProto(req.from(), "the seal's current configuration");
                    if (!from.ok()) return from.status();
                    StatusOr<ReplicaSet> to = FromProto(req.to(), "the seal's target");
                    if (!to.ok()) return to.status();
                    if (req.from().token() != req.to().token()) {
                      return Status::InvalidArgument("the seal names two tokens");
                    }
                    return core_.HandleSeal(req.to().token(), *from, *to);
                  },
                  resp);
}

grpc::ServerUnaryReactor* AdminServiceImpl::Install(grpc::CallbackServerContext* ctx,
                                                    const v1::InstallRequest* req,
                                                    v1::ReconfigReply* resp) {
  return Reconfig(ctx, "install", req->to().token(),
                  [this, req = *req]() -> StatusOr<ReconfigAnswer> {
                    StatusOr<ReplicaSet> to = FromProto(req.to(), "the install's target");
                    if (!to.ok()) return to.status();
                    StatusOr<Register> reg = FromProto(req.reg());
                    if (!reg.ok()) return reg.status();
                    return core_.HandleInstall(req.to().token(), *to, *reg);
                  },
                  resp);
}

grpc::ServerUnaryReactor* AdminServiceImpl::Activate(grpc::CallbackServerContext* ctx,
                                                     const v1::ActivateRequest* req,
                                                     v1::ReconfigReply* resp) {
  return Reconfig(ctx, "activate", req->to().token(),
                  [this, req = *req]() -> StatusOr<ReconfigAnswer> {
                    StatusOr<ReplicaSet> to = FromProto(req.to(), "the activation's target");
                    if (!to.ok()) return to.status();
                    return core_.HandleActivate(req.to().token(), *to);
                  },
                  resp);
}

grpc::ServerUnaryReactor* AdminServiceImpl::TokenState(grpc::CallbackServerContext* ctx,
                                                       const v1::TokenStateRequest* req,
                                                       v1::ReconfigReply* resp) {
  const std::string token = req->token();
  return Reconfig(ctx, "token-state", token, [this, token] { return core_.HandleTokenState(token); },
                  resp);
}

Status AdminServiceImpl::FillDumpEntry(const std::string& id, v1::DumpEntry* e) {
  // Every token this node keeps, stored or not: a never-written token is ts 0, undefined.
  StatusOr<Register> reg = store_.Get(id);
  if (!reg.ok()) return reg.status();
  StatusOr<uint64_t> reserved = store_.GetReservedTimestamp(id);
  if (!reserved.ok()) return reserved.status();
  e->set_token(id);
  ToProto(*reg, e->mutable_reg());
  e->set_crashed(core_.IsCrashed(id));
  e->set_reserved_ts(*reserved);
  e->set_role(RoleName(core_.config().Find(id)->RoleOf(core_.self())));
  return Status::Ok();
}

grpc::ServerUnaryReactor* AdminServiceImpl::Dump(grpc::CallbackServerContext* ctx,
                                                 const v1::DumpRequest* req,
                                                 v1::DumpResponse* resp) {
  auto* call = new ServerCall();
  if (Status st = auth_.AllowAdmin(CallerOf(auth_, ctx)); !st.ok()) {
    return call->FinishNow(ToGrpc(st));
  }
  Handle handle = call->handle();
  storage_executor_.Submit([this, handle, resp] {
    Status st;
    resp->set_node(core_.self());
    resp->set_state(NodeStateName(core_.lifecycle().state()));
    resp->set_identity(core_.lifecycle().identity_string());
    for (const std::string& id : core_.token_ids()) {
      st = FillDumpEntry(id, resp->add_entries());
      if (!st.ok()) break;
    }
    if (ServerCall* c = handle->Claim()) c->Finish(ToGrpc(st));
  });
  return call;
}

// One write in flight at a time: the storage executor reads a chunk and starts its write;
// OnWriteDone asks the executor for the next one. The reactor is deleted in OnDone, which
// gRPC calls only after Finish, and Finish is called only by the last step of that chain
// (never while an executor task holds `this`).
class AdminServiceImpl::DumpStreamReactor final : public grpc::ServerWriteReactor<v1::DumpChunk> {
 public:
  explicit DumpStreamReactor(AdminServiceImpl& service) : service_(service) {}

  void Start() {
    service_.storage_executor_.Submit([this] { WriteHeader(); });
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the caller went away"));
    if (next_ >= order_.size()) return Finish(grpc::Status::OK);
    service_.storage_executor_.Submit([this] { WriteNextChunk(); });
  }
  void OnCancel() override { cancelled_ = true; }
  void OnDone() override { delete this; }

 private:
  void WriteHeader() {
    ReplicaCore& core = service_.core_;
    const std::vector<std::string>& ids = core.token_ids();
    // Token order, as the unary form's clients print it: 4 bytes per token, not the entries.
    order_.resize(ids.size());
    for (uint32_t i = 0; i < order_.size(); ++i) order_[i] = i;
    std::sort(order_.begin(), order_.end(),
              [&ids](uint32_t a, uint32_t b) { return ids[a] < ids[b]; });
    v1::DumpHeader* h = chunk_.mutable_header();
    h->set_node(core.self());
    h->set_state(NodeStateName(core.lifecycle().state()));
    h->set_identity(core.lifecycle().identity_string());
    h->set_tokens(order_.size());
    StartWrite(&chunk_);
  }

  void WriteNextChunk() {
    if (cancelled_) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the caller gave up"));
    chunk_.Clear();
    const std::vector<std::string>& ids = service_.core_.token_ids();
    size_t bytes = 0;
    while (next_ < order_.size() && chunk_.entries_size() < static_cast<int>(kDumpChunkEntries) &&
           bytes < kDumpChunkBytes) {
      v1::DumpEntry* e = chunk_.add_entries();
      if (Status st = service_.FillDumpEntry(ids[order_[next_]], e); !st.ok()) {
        return Finish(ToGrpc(st));
      }
      bytes += e->ByteSizeLong();
      ++next_;
    }
    StartWrite(&chunk_);
  }

  AdminServiceImpl& service_;
  std::atomic<bool> cancelled_{false};
  // Touched by one step of the chain at a time (executor task, then OnWriteDone).
  std::vector<uint32_t> order_;  // positions in token_ids(), sorted by id
  size_t next_ = 0;              // the first position of order_ not yet sent
  v1::DumpChunk chunk_;          // the message being written
};

grpc::ServerWriteReactor<v1::DumpChunk>* AdminServiceImpl::DumpStream(
    grpc::CallbackServerContext* ctx, const v1::DumpRequest* /*req*/) {
  auto* reactor = new DumpStreamReactor(*this);
  if (Status st = auth_.AllowAdmin(CallerOf(auth_, ctx)); !st.ok()) {
    reactor->Finish(ToGrpc(st));
  } else {
    reactor->Start();
  }
  return reactor;
}

}  // namespace tokenstore
