// The gRPC services of a replica: thin adapters that parse a request, call ReplicaCore and
// reply. All use the callback API, so no call ever holds a thread while it waits — on
// peers, on hashing, or parked because this node is crash-stopped for its token.
//
// Fail-silent: a request about a token this node is crash-stopped for is parked (never
// answered) and released only when its caller gives up; so is the answer of an operation
// that was already running when the token was crash-stopped.
//
// Thread-safety: gRPC calls the handlers concurrently; they share only the core and the log.
#pragma once

#include <functional>

#include "admin.grpc.pb.h"
#include "client.grpc.pb.h"
#include "replica/authorizer.h"
#include "replica/executor.h"
#include "replica/op_log.h"
#include "replica/replica_core.h"
#include "replication.grpc.pb.h"

namespace tokenstore {

class TokenServiceImpl final : public v1::TokenService::CallbackService {
 public:
  TokenServiceImpl(ReplicaCore& core, OpLog& log, const Authorizer& auth)
      : core_(core), log_(log), auth_(auth) {}

  grpc::ServerUnaryReactor* Write(grpc::CallbackServerContext* ctx, const v1::WriteRequest* req,
                                  v1::WriteResponse* resp) override;
  grpc::ServerUnaryReactor* Read(grpc::CallbackServerContext* ctx, const v1::ReadRequest* req,
                                 v1::ReadResponse* resp) override;
  grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* ctx,
                                   const v1::CreateRequest* req,
                                   v1::CreateResponse* resp) override;
  grpc::ServerUnaryReactor* Drop(grpc::CallbackServerContext* ctx, const v1::DropRequest* req,
                                 v1::DropResponse* resp) override;
  // The four operations pipelined over one stream (proto/client.proto).
  grpc::ServerBidiReactor<v1::SessionRequest, v1::SessionResponse>* Session(
      grpc::CallbackServerContext* ctx) override;

  // Operations one session may have running on this node at once; the stream is not read
  // while that many run.
  static constexpr size_t kMaxSessionOps = 1024;

 private:
  class SessionReactor;
  template <typename T>
  using Done = std::function<void(const Status&, T)>;

  // The operations behind both the unary calls and the sessions: run on the core, recorded
  // in the op log, then `done` gets the status and the response (meaningful when ok).
  void RunWrite(const v1::WriteRequest& req, const OpContext& ctx, Done<v1::WriteResponse> done);
  void RunRead(const std::string& id, const OpContext& ctx, Done<v1::ReadResponse> done);
  void RunReset(const std::string& id, ValueKind kind, const OpContext& ctx, Done<uint64_t> done);
  OpContext SessionContext(uint32_t timeout_ms, const std::shared_ptr<std::atomic<bool>>& cancelled,
                           uint64_t config_fingerprint) const;

  template <typename Response>
  grpc::ServerUnaryReactor* Reset(grpc::CallbackServerContext* ctx, const std::string& id,
                                  uint64_t fingerprint, ValueKind kind, Response* resp);

  ReplicaCore& core_;
  OpLog& log_;
  const Authorizer& auth_;
};

class ReplicaServiceImpl final : public v1::ReplicaService::CallbackService {
 public:
  // Stores sync to disk: they run on `storage_executor`, never on gRPC's threads.
  ReplicaServiceImpl(ReplicaCore& core, Executor& storage_executor, const Authorizer& auth)
      : core_(core), storage_executor_(storage_executor), auth_(auth) {}

  grpc::ServerUnaryReactor* GetRegister(grpc::CallbackServerContext* ctx,
                                        const v1::GetRegisterRequest* req,
                                        v1::GetRegisterResponse* resp) override;
  grpc::ServerUnaryReactor* Store(grpc::CallbackServerContext* ctx, const v1::StoreRequest* req,
                                  v1::StoreResponse* resp) override;
  // AnswerBatch (replica/batch_handler.h): GetRegisters are answered from memory on gRPC's
  // thread; the Stores of the batch go to the storage executor as one synced write, and the
  // batch is answered after it. Entries about crash-stopped tokens get no result (also when
  // the mark was set meanwhile).
  grpc::ServerUnaryReactor* Batch(grpc::CallbackServerContext* ctx, const v1::BatchRequest* req,
                                  v1::BatchResponse* resp) override;
  // Answered in every lifecycle state, never withheld (not about a token).
  grpc::ServerUnaryReactor* Hello(grpc::CallbackServerContext* ctx, const v1::HelloRequest* req,
                                  v1::HelloResponse* resp) override;

 private:
  ReplicaCore& core_;
  Executor& storage_executor_;
  const Authorizer& auth_;
};

class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  AdminServiceImpl(ReplicaCore& core, RegisterStore& store, Executor& storage_executor,
                   const Authorizer& auth)
      : core_(core), store_(store), storage_executor_(storage_executor), auth_(auth) {}

  grpc::ServerUnaryReactor* Crash(grpc::CallbackServerContext* ctx, const v1::CrashRequest* req,
                                  v1::CrashResponse* resp) override;
  grpc::ServerUnaryReactor* Revive(grpc::CallbackServerContext* ctx,
                                   const v1::ReviveRequest* req,
                                   v1::ReviveResponse* resp) override;
  // Every register in one response (limited by the caller's receive size; kept for
  // compatibility).
  grpc::ServerUnaryReactor* Dump(grpc::CallbackServerContext* ctx, const v1::DumpRequest* req,
                                 v1::DumpResponse* resp) override;
  // The same registers streamed in chunks of at most kDumpChunkEntries, read from the store
  // one chunk at a time on the storage executor as the caller takes them.
  grpc::ServerWriteReactor<v1::DumpChunk>* DumpStream(grpc::CallbackServerContext* ctx,
                                                      const v1::DumpRequest* req) override;

  // Online reconfiguration (docs/reconfiguration.md): ReplicaCore::HandleSeal, HandleInstall,
  // HandleActivate and HandleTokenState on the storage executor; each is logged with the
  // caller, as crash-stop is.
  grpc::ServerUnaryReactor* Seal(grpc::CallbackServerContext* ctx, const v1::SealRequest* req,
                                 v1::ReconfigReply* resp) override;
  grpc::ServerUnaryReactor* Install(grpc::CallbackServerContext* ctx,
                                    const v1::InstallRequest* req,
                                    v1::ReconfigReply* resp) override;
  grpc::ServerUnaryReactor* Activate(grpc::CallbackServerContext* ctx,
                                     const v1::ActivateRequest* req,
                                     v1::ReconfigReply* resp) override;
  grpc::ServerUnaryReactor* TokenState(grpc::CallbackServerContext* ctx,
                                       const v1::TokenStateRequest* req,
                                       v1::ReconfigReply* resp) override;

  static constexpr size_t kDumpChunkEntries = 1000;
  // A chunk also ends once its entries pass this size (names make entries large).
  static constexpr size_t kDumpChunkBytes = 512 << 10;

 private:
  class DumpStreamReactor;
  // Fills `e` with what this node holds about token `id`. Runs on the storage executor.
  Status FillDumpEntry(const std::string& id, v1::DumpEntry* e);

  // Runs `handle` (a reconfiguration call of the core) on the storage executor and answers.
  grpc::ServerUnaryReactor* Reconfig(grpc::CallbackServerContext* ctx, const char* what,
                                     std::string token,
                                     std::function<StatusOr<ReconfigAnswer>()> handle,
                                     v1::ReconfigReply* resp);

  template <typename Response>
  grpc::ServerUnaryReactor* SetMark(grpc::CallbackServerContext* ctx, const std::string& token,
                                    bool crashed, Response* resp);

  ReplicaCore& core_;
  RegisterStore& store_;
  Executor& storage_executor_;
  const Authorizer& auth_;
};

}  // namespace tokenstore
