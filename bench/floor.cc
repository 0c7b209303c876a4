#include "bench/floor.h"

#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "floor.grpc.pb.h"
#include "proto/channel.h"
#include "rocksdb/db.h"
#include "storage/rocksdb_options.h"

namespace tokenstore::bench {

const char kWriteFloorFormula[] =
    "write = client round trip + peer round trip + one synced write (the peer's; the writer's "
    "own sync overlaps the peer round trip)";
const char kReadFloorFormula[] = "read = client round trip + peer round trip";

namespace {

using Clock = std::chrono::steady_clock;
using floorpb::PingMessage;

Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Runs op(thread) in a closed loop on `threads` threads: `warmup_s` unmeasured, then
// `seconds` measured. The first failed operation stops every thread and is the result.
StatusOr<FloorMeasure> ClosedLoop(std::string name, std::string what, int threads, double warmup_s,
                                  double seconds, const std::function<Status(int)>& op) {
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::mutex error_mu;
  Status error;
  std::vector<Histogram> latencies(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      while (!stop.load(std::memory_order_relaxed)) {
        const bool measured = measuring.load(std::memory_order_acquire);
        const Clock::time_point t0 = Clock::now();
        Status st = op(t);
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0);
        if (!st.ok()) {
          std::lock_guard<std::mutex> lock(error_mu);
          if (error.ok()) error = st;
          stop.store(true);
          return;
        }
        if (measured) latencies[t].Record(static_cast<uint64_t>(ns.count()));
      }
    });
  }
  // Sleeps until `until`, or until a failed operation stopped the threads.
  auto sleep_until = [&](Clock::time_point until) {
    while (!stop.load() && Clock::now() < until) {
      std::this_thread::sleep_for(
          std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(50)));
    }
  };
  sleep_until(Clock::now() + Seconds(warmup_s));
  const Clock::time_point start = Clock::now();
  measuring.store(true, std::memory_order_release);
  sleep_until(start + Seconds(seconds));
  stop.store(true);
  for (std::thread& w : workers) w.join();
  if (!error.ok()) return Status(error.code(), name + ": " + error.message());
  FloorMeasure m;
  m.name = std::move(name);
  m.what = std::move(what);
  m.concurrency = threads;
  m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (const Histogram& h : latencies) m.latency.Merge(h);
  return m;
}

Status FromGrpc(const grpc::Status& st) {
  return Status(static_cast<StatusCode>(static_cast<int>(st.error_code())), st.error_message());
}

// --- the synced RocksDB write ---

// A fresh RocksDB database with the register store's options and column families, in a
// temporary directory that the destructor removes.
class ScratchDb {
 public:
  static StatusOr<std::unique_ptr<ScratchDb>> Open() {
    char tmpl[] = "/tmp/token-bench-floor.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return Status::Internal("cannot create a directory in /tmp");
    auto db = std::unique_ptr<ScratchDb>(new ScratchDb(tmpl));
    const rocksdb::ColumnFamilyOptions cf = RegisterStoreCfOptions();
    const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, cf}, {"registers", cf}, {"meta", cf}};
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(RegisterStoreDbOptions(/*create=*/true, nullptr),
                                          db->dir_, families, &db->handles_, &raw);
    if (!s.ok()) return Status::Internal(db->dir_ + ": cannot open RocksDB: " + s.ToString());
    db->db_ = raw;
    return db;
  }

  ~ScratchDb() {
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    delete db_;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A synced write of ~100 bytes (key + value) to the registers column family.
  Status Write(int writer) {
    const std::string key = "floor-token-" + std::to_string(writer);
    const std::string value(100 - key.size(), 'v');
    rocksdb::WriteOptions wo;
    wo.sync = true;  // as the store: OK means fsync'ed
    rocksdb::Status s = db_->Put(wo, handles_[1], key, value);
    if (!s.ok()) return Status::Internal("RocksDB write failed: " + s.ToString());
    return Status::Ok();
  }

 private:
  explicit ScratchDb(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// --- the servers ---

// Echoes every message of a Stream call until the client half-closes.
class EchoReactor final : public grpc::ServerBidiReactor<PingMessage, PingMessage> {
 public:
  EchoReactor() { StartRead(&message_); }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    StartWrite(&message_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::CANCELLED);
      return;
    }
    StartRead(&message_);
  }
  void OnDone() override { delete this; }

 private:
  PingMessage message_;
};

class CallbackFloorService final : public floorpb::Floor::CallbackService {
  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* ctx, const PingMessage* request,
                                 PingMessage* response) override {
    *response = *request;
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerBidiReactor<PingMessage, PingMessage>* Stream(grpc::CallbackServerContext*) override {
    return new EchoReactor;
  }
};

// One Ping on the async server: requested, then answered, then deleted.
class AsyncPingCall {
 public:
  AsyncPingCall(floorpb::Floor::AsyncService* service, grpc::ServerCompletionQueue* cq)
      : service_(service), cq_(cq), responder_(&ctx_) {
    service_->RequestPing(&ctx_, &request_, &responder_, cq_, cq_, this);
  }
  // The completion of this call's last step; `ok` false when the server is shutting down.
  void Proceed(bool ok) {
    if (answered_ || !ok) {
      delete this;
      return;
    }
    new AsyncPingCall(service_, cq_);  // the next call on this queue
    answered_ = true;
    responder_.Finish(request_, grpc::Status::OK, this);
  }

 private:
  floorpb::Floor::AsyncService* service_;
  grpc::ServerCompletionQueue* cq_;
  grpc::ServerContext ctx_;
  PingMessage request_;
  grpc::ServerAsyncResponseWriter<PingMessage> responder_;
  bool answered_ = false;
};

// A server on 127.0.0.1, port 0 (read back). With `async`: the completion-queue API, one
// queue and one polling thread per core; otherwise the callback API.
class FloorServer {
 public:
  static StatusOr<std::unique_ptr<FloorServer>> Start(bool async) {
    auto s = std::unique_ptr<FloorServer>(new FloorServer);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &s->port_);
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    if (async) {
      builder.RegisterService(&s->async_);
      for (unsigned i = 0; i < cores; ++i) s->cqs_.push_back(builder.AddCompletionQueue());
    } else {
      builder.RegisterService(&s->callback_);
    }
    s->server_ = builder.BuildAndStart();
    if (!s->server_ || s->port_ == 0) {
      s->cqs_.clear();  // never polled; nothing was requested on them
      return Status::Unavailable("cannot start a gRPC server on 127.0.0.1");
    }
    for (auto& cq : s->cqs_) {
      // A few calls requested ahead per queue, so concurrent clients need not wait for one.
      for (int i = 0; i < 8; ++i) new AsyncPingCall(&s->async_, cq.get());
      s->threads_.emplace_back([q = cq.get()] {
        void* tag = nullptr;
        bool ok = false;
        while (q->Next(&tag, &ok)) static_cast<AsyncPingCall*>(tag)->Proceed(ok);
      });
    }
    return s;
  }

  ~FloorServer() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    for (auto& cq : cqs_) cq->Shutdown();
    for (std::thread& t : threads_) t.join();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  FloorServer() = default;
  CallbackFloorService callback_;
  floorpb::Floor::AsyncService async_;
  int port_ = 0;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::thread> threads_;
};

StatusOr<std::unique_ptr<floorpb::Floor::Stub>> Connect(const std::string& address) {
  grpc::ChannelArguments args = StandardChannelArguments();
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
    return Status::Unavailable("cannot connect to the floor server at " + address);
  }
  return floorpb::Floor::NewStub(channel);
}

Status Ping(floorpb::Floor::Stub& stub) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  PingMessage request, response;
  return FromGrpc(stub.Ping(&ctx, request, &response));
}

// The unary measures against one server: 1 and 16 client threads over one channel.
Status MeasureUnary(bool async, double warmup_s, double seconds, FloorResult& r) {
  StatusOr<std::unique_ptr<FloorServer>> server = FloorServer::Start(async);
  if (!server.ok()) return server.status();
  StatusOr<std::unique_ptr<floorpb::Floor::Stub>> stub = Connect((*server)->address());
  if (!stub.ok()) return stub.status();
  const std::string api = async ? "async" : "callback";
  const std::string server_what =
      async ? "completion-queue async API server, one queue and thread per core"
            : "callback API server";
  for (int clients : {1, 16}) {
    StatusOr<FloorMeasure> m =
        ClosedLoop("unary_" + api + "_" + std::to_string(clients),
                   "empty unary call, sync stub, one channel, " + std::to_string(clients) +
                       " client " + (clients == 1 ? "thread" : "threads") + ", " + server_what,
                   clients, warmup_s, seconds, [&](int) { return Ping(**stub); });
    if (!m.ok()) return m.status();
    r.measures.push_back(std::move(*m));
  }
  return Status::Ok();
}

Status MeasureStream(double warmup_s, double seconds, FloorResult& r) {
  StatusOr<std::unique_ptr<FloorServer>> server = FloorServer::Start(/*async=*/false);
  if (!server.ok()) return server.status();
  StatusOr<std::unique_ptr<floorpb::Floor::Stub>> stub = Connect((*server)->address());
  if (!stub.ok()) return stub.status();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + Seconds(warmup_s + seconds) +
                   std::chrono::seconds(30));
  std::unique_ptr<grpc::ClientReaderWriter<PingMessage, PingMessage>> stream =
      (*stub)->Stream(&ctx);
  PingMessage message;
  StatusOr<FloorMeasure> m =
      ClosedLoop("stream_1",
                 "one empty message each way on an open bidirectional stream, "
                 "callback API server",
                 1, warmup_s, seconds, [&](int) {
                   if (stream->Write(message) && stream->Read(&message)) return Status::Ok();
                   return Status::Unavailable("the stream broke");
                 });
  stream->WritesDone();
  grpc::Status end = stream->Finish();
  if (!m.ok())
    return Status(m.status().code(), m.status().message() + " (" + end.error_message() + ")");
  r.measures.push_back(std::move(*m));
  return Status::Ok();
}

double Us(uint64_t ns) { return static_cast<double>(ns) / 1e3; }

}  // namespace

const FloorMeasure* FloorResult::Find(const std::string& name) const {
  for (const FloorMeasure& m : measures) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::vector<Floor> DeriveFloors(const FloorResult& r) {
  const FloorMeasure* sync = r.Find("sync_write_1");
  const FloorMeasure* callback = r.Find("unary_callback_1");
  const FloorMeasure* async = r.Find("unary_async_1");
  const FloorMeasure* stream = r.Find("stream_1");
  if (!sync || !callback || !async || !stream) return {};
  const double sync_us = sync->p50_us();
  std::vector<Floor> floors = {
      {"unary_callback", "callback", callback->p50_us(), sync_us},
      {"unary_async", "async", async->p50_us(), sync_us},
  };
  floors.push_back(floors[0].round_trip_us <= floors[1].round_trip_us ? floors[0] : floors[1]);
  floors.back().transport = "unary";
  floors.push_back({"stream", "callback", stream->p50_us(), sync_us});
  return floors;
}

StatusOr<FloorResult> RunFloor(const FloorOptions& options) {
  // As token-replica does: Debian's abseil checks lock order on every absl::Mutex operation
  // inside gRPC, which no production server of ours pays.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  FloorResult r;
  r.options = options;
  const double warmup_s = std::min(0.5, options.seconds / 4);
  {
    StatusOr<std::unique_ptr<ScratchDb>> db = ScratchDb::Open();
    if (!db.ok()) return db.status();
    for (int writers : {1, 2, 8}) {
      StatusOr<FloorMeasure> m = ClosedLoop(
          "sync_write_" + std::to_string(writers),
          "synced ~100-byte RocksDB write, the store's options, " + std::to_string(writers) +
              (writers == 1 ? " writer" : " concurrent writers"),
          writers, warmup_s, options.seconds, [&](int w) { return (*db)->Write(w); });
      if (!m.ok()) return m.status();
      r.measures.push_back(std::move(*m));
    }
  }
  TOKENSTORE_RETURN_IF_ERROR(MeasureUnary(/*async=*/false, warmup_s, options.seconds, r));
  TOKENSTORE_RETURN_IF_ERROR(MeasureUnary(/*async=*/true, warmup_s, options.seconds, r));
  TOKENSTORE_RETURN_IF_ERROR(MeasureStream(warmup_s, options.seconds, r));
  r.floors = DeriveFloors(r);
  return r;
}

std::string FormatFloorResult(const FloorResult& r) {
  std::ostringstream out;
  char buf[512];
  out << "token-bench floor: " << r.options.seconds << " s per measure, latencies in µs\n";
  std::snprintf(buf, sizeof buf, "%-18s %4s %9s %9s %9s %9s %10s\n", "measure", "conc", "ops",
                "p50", "p99", "mean", "ops/s");
  out << buf;
  for (const FloorMeasure& m : r.measures) {
    std::snprintf(buf, sizeof buf, "%-18s %4d %9llu %9.1f %9.1f %9.1f %10.0f   %s\n",
                  m.name.c_str(), m.concurrency, static_cast<unsigned long long>(m.latency.count()),
                  m.p50_us(), Us(m.latency.Percentile(0.99)), m.latency.mean() / 1e3, m.ops_per_s(),
                  m.what.c_str());
    out << buf;
  }
  out << "\nFloor of one operation at one client (p50s):\n  " << kWriteFloorFormula << "\n  "
      << kReadFloorFormula << "\n";
  for (const Floor& f : r.floors) {
    std::snprintf(buf, sizeof buf,
                  "  %-15s (%s server): round trip %.1f µs -> write floor %.1f µs "
                  "(2 x %.1f + %.1f), read floor %.1f µs\n",
                  f.transport.c_str(), f.api.c_str(), f.round_trip_us, f.write_us(),
                  f.round_trip_us, f.sync_write_us, f.read_us());
    out << buf;
  }
  return out.str();
}

JsonObject FloorResultJson(const FloorResult& r) {
  JsonObject j;
  j.Add("seconds_per_measure", r.options.seconds);
  j.Add("write_formula", kWriteFloorFormula);
  j.Add("read_formula", kReadFloorFormula);
  JsonObject measures;
  for (const FloorMeasure& m : r.measures) {
    JsonObject o;
    o.Add("what", m.what);
    o.Add("concurrency", m.concurrency);
    o.Add("ops", m.latency.count());
    o.Add("seconds", m.seconds);
    o.Add("ops_per_s", m.ops_per_s());
    o.Add("p50_us", m.p50_us());
    o.Add("p99_us", Us(m.latency.Percentile(0.99)));
    o.Add("mean_us", m.latency.mean() / 1e3);
    measures.Add(m.name, o);
  }
  j.Add("measures", measures);
  JsonObject floors;
  for (const Floor& f : r.floors) {
    JsonObject o;
    o.Add("api", f.api);
    o.Add("round_trip_us", f.round_trip_us);
    o.Add("sync_write_us", f.sync_write_us);
    o.Add("write_us", f.write_us());
    o.Add("read_us", f.read_us());
    floors.Add(f.transport, o);
  }
  j.Add("floors", floors);
  return j;
}

}  // namespace tokenstore::bench
