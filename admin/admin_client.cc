#include "admin/admin_client.h"

#include <algorithm>

#include "client/channel.h"
#include "proto/convert.h"

namespace tokenstore {
namespace {

std::chrono::system_clock::time_point DeadlineAfter(std::chrono::milliseconds d) {
  return std::chrono::system_clock::now() + d;
}

}  // namespace

v1::AdminService::Stub* AdminClient::StubFor(const std::string& node) {
  MutexLock lock(&mu_);
  std::unique_ptr<v1::AdminService::Stub>& stub = stubs_[node];
  if (!stub) stub = v1::AdminService::NewStub(options_.security.NewNodeChannel(node));
  return stub.get();
}

Status AdminClient::CallError(const std::string& what, const std::string& node,
                              const grpc::Status& st) const {
  switch (st.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return Status::Unavailable(what + ": cannot reach " + node + " (" + RpcFailureReason(st) +
                                 ")" +
                                 ": is token-replica running there? Check --node against the "
                                 "config's access points");
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::DeadlineExceeded(what + ": " + node + " did not answer within " +
                                      FormatDuration(options_.timeout) +
                                      ": it may be overloaded or hung; raise --timeout or check "
                                      "its log");
    default:
      return Status(static_cast<StatusCode>(st.error_code()),
                    what + " at " + node + ": " + st.error_message());
  }
}

StatusOr<bool> AdminClient::Crash(const std::string& node, const std::string& token) {
  v1::CrashRequest req;
  req.set_token(token);
  v1::CrashResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(options_.timeout));
  grpc::Status st = StubFor(node)->Crash(&ctx, req, &resp);
  if (!st.ok()) return CallError("crash of token \"" + token + "\"", node, st);
  return resp.was_crashed();
}

StatusOr<bool> AdminClient::Revive(const std::string& node, const std::string& token) {
  v1::ReviveRequest req;
  req.set_token(token);
  v1::ReviveResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(options_.timeout));
  grpc::Status st = StubFor(node)->Revive(&ctx, req, &resp);
  if (!st.ok()) return CallError("revive of token \"" + token + "\"", node, st);
  return resp.was_crashed();
}

StatusOr<NodeDump> AdminClient::Dump(const std::string& node) {
  v1::DumpRequest req;
  v1::DumpResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(options_.timeout));
  grpc::Status st = StubFor(node)->Dump(&ctx, req, &resp);
  if (!st.ok()) return CallError("dump", node, st);
  StatusOr<NodeDump> dump = NodeDumpFromProto(resp);
  if (!dump.ok()) return dump.status().WithContext("dump of " + node);
  if (dump->node.empty()) dump->node = node;
  return dump;
}

StatusOr<NodeDump> NodeDumpFromProto(const v1::DumpResponse& resp) {
  NodeDump dump;
  dump.node = resp.node();
  dump.state = resp.state();
  dump.identity = resp.identity();
  for (const v1::DumpEntry& e : resp.entries()) {
    StatusOr<Register> reg = FromProto(e.reg());
    if (!reg.ok()) return reg.status().WithContext("token \"" + e.token() + "\"");
    dump.entries.push_back(DumpEntry{e.token(), *reg, e.crashed(), e.reserved_ts(), e.role()});
  }
  std::sort(dump.entries.begin(), dump.entries.end(),
            [](const DumpEntry& a, const DumpEntry& b) { return a.token < b.token; });
  return dump;
}

}  // namespace tokenstore
