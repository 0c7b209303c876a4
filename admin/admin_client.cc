#include "admin/admin_client.h"

#include <algorithm>
#include <condition_variable>
#include <iterator>
#include <mutex>
#include <thread>

#include "client/channel.h"
#include "proto/convert.h"

namespace tokenstore {
namespace {

std::chrono::system_clock::time_point DeadlineAfter(std::chrono::milliseconds d) {
  return std::chrono::system_clock::now() + d;
}

// Cancels a call when `timeout` passes without Progress(): a per-message deadline for a
// stream of any length. Its thread ends when the watchdog is destroyed.
class Watchdog {
 public:
  Watchdog(grpc::ClientContext* ctx, std::chrono::milliseconds timeout)
      : thread_([this, ctx, timeout] {
          std::unique_lock<std::mutex> lock(mu_);
          while (!done_) {
            progressed_ = false;
            if (!cv_.wait_for(lock, timeout, [this] { return done_ || progressed_; })) {
              fired_ = true;
              ctx->TryCancel();
              return;
            }
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Progress() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      progressed_ = true;
    }
    cv_.notify_all();
  }
  bool fired() {
    std::lock_guard<std::mutex> lock(mu_);
    return fired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false, progressed_ = false, fired_ = false;
  std::thread thread_;  // last: starts once the fields above exist
};

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
  NodeDump dump;
  Status st = DumpStream(
      node,
      [&dump](const NodeDump& header, uint64_t /*tokens*/) {
        dump = header;
        return Status::Ok();
      },
      [&dump](std::vector<DumpEntry>& entries) {
        std::move(entries.begin(), entries.end(), std::back_inserter(dump.entries));
        return Status::Ok();
      });
  if (!st.ok()) return st;
  std::sort(dump.entries.begin(), dump.entries.end(),
            [](const DumpEntry& a, const DumpEntry& b) { return a.token < b.token; });
  return dump;
}

Status AdminClient::DumpStream(const std::string& node, const DumpHeaderFn& on_header,
                               const DumpEntriesFn& on_entries) {
  grpc::ClientContext ctx;
  bool header_seen = false;
  uint64_t announced = 0;  // the header's count
  uint64_t received = 0;
  Status failed;  // a callback's error, or a malformed chunk
  grpc::Status st;
  bool fired = false;
  {
    Watchdog watchdog(&ctx, options_.timeout);
    std::unique_ptr<grpc::ClientReader<v1::DumpChunk>> reader =
        StubFor(node)->DumpStream(&ctx, v1::DumpRequest());
    v1::DumpChunk chunk;
    std::vector<DumpEntry> entries;
    while (failed.ok() && reader->Read(&chunk)) {
      watchdog.Progress();
      if (!header_seen) {
        header_seen = true;
        NodeDump header;
        header.node = chunk.header().node().empty() ? node : chunk.header().node();
        header.state = chunk.header().state();
        header.identity = chunk.header().identity();
        announced = chunk.header().tokens();
        failed = on_header(header, announced);
      }
      entries.clear();
      for (const v1::DumpEntry& e : chunk.entries()) {
        StatusOr<DumpEntry> entry = DumpEntryFromProto(e);
        if (!entry.ok()) {
          failed = entry.status().WithContext("dump of " + node);
          break;
        }
        entries.push_back(std::move(entry).value());
      }
      received += entries.size();
      if (failed.ok() && !entries.empty()) failed = on_entries(entries);
      watchdog.Progress();  // a slow callback (a slow reader of stdout) is not the node's wait
    }
    if (!failed.ok()) ctx.TryCancel();
    st = reader->Finish();
    fired = watchdog.fired();
  }
  if (!failed.ok()) return failed;
  if (fired && !st.ok()) {
    st = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "no message in time");
  }
  if (st.error_code() == grpc::StatusCode::UNIMPLEMENTED && !header_seen) {
    return DumpUnary(node, on_header, on_entries);  // a node older than DumpStream
  }
  if (!st.ok()) return CallError("dump", node, st);
  if (!header_seen) return Status::Internal("dump of " + node + ": the stream had no header");
  if (received != announced) {
    return Status::Internal("dump of " + node + ": the node announced " +
                            std::to_string(announced) + " registers and sent " +
                            std::to_string(received));
  }
  return Status::Ok();
}

Status AdminClient::DumpUnary(const std::string& node, const DumpHeaderFn& on_header,
                              const DumpEntriesFn& on_entries) {
  v1::DumpRequest req;
  v1::DumpResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(options_.timeout));
  grpc::Status st = StubFor(node)->Dump(&ctx, req, &resp);
  if (!st.ok()) return CallError("dump", node, st);
  StatusOr<NodeDump> dump = NodeDumpFromProto(resp);
  if (!dump.ok()) return dump.status().WithContext("dump of " + node);
  if (dump->node.empty()) dump->node = node;
  std::vector<DumpEntry> entries = std::move(dump->entries);
  dump->entries.clear();
  if (Status s = on_header(*dump, entries.size()); !s.ok()) return s;
  return entries.empty() ? Status::Ok() : on_entries(entries);
}

StatusOr<DumpEntry> DumpEntryFromProto(const v1::DumpEntry& e) {
  StatusOr<Register> reg = FromProto(e.reg());
  if (!reg.ok()) return reg.status().WithContext("token \"" + e.token() + "\"");
  return DumpEntry{e.token(), *reg, e.crashed(), e.reserved_ts(), e.role()};
}

StatusOr<NodeDump> NodeDumpFromProto(const v1::DumpResponse& resp) {
  NodeDump dump;
  dump.node = resp.node();
  dump.state = resp.state();
  dump.identity = resp.identity();
  for (const v1::DumpEntry& e : resp.entries()) {
    StatusOr<DumpEntry> entry = DumpEntryFromProto(e);
    if (!entry.ok()) return entry.status();
    dump.entries.push_back(std::move(entry).value());
  }
  std::sort(dump.entries.begin(), dump.entries.end(),
            [](const DumpEntry& a, const DumpEntry& b) { return a.token < b.token; });
  return dump;
}

}  // namespace tokenstore
