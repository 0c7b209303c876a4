#include "bench/load.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "bench/zipf.h"
#include "client.grpc.pb.h"
#include "client/token_client.h"
#include "config/cluster_config.h"
#include "etcd_kv.grpc.pb.h"
#include "proto/channel.h"

namespace tokenstore::bench {
namespace {

using Clock = std::chrono::steady_clock;

const char* GrpcCodeName(grpc::StatusCode code) {
  return StatusCodeName(static_cast<StatusCode>(static_cast<int>(code)));
}

// One client's view of the cluster: issues one operation at a time.
class Driver {
 public:
  virtual ~Driver() = default;
  virtual grpc::Status Write(size_t token, const std::string& name, uint64_t low, uint64_t mid,
                             uint64_t high) = 0;
  virtual grpc::Status Read(size_t token) = 0;
};

// channels[node][conn]: every channel its own TCP connection.
using ChannelTable = std::vector<std::vector<std::shared_ptr<grpc::Channel>>>;

ChannelTable MakeChannels(const std::vector<std::string>& nodes, int conns) {
  ChannelTable table(nodes.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (int c = 0; c < conns; ++c) {
      grpc::ChannelArguments args = StandardChannelArguments();
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      table[n].push_back(
          grpc::CreateCustomChannel(nodes[n], grpc::InsecureChannelCredentials(), args));
    }
  }
  return table;
}

struct TokenRoute {
  std::string id;
  size_t writer = 0;            // node index
  std::vector<size_t> readers;  // node indexes
};

class TokenStoreDriver : public Driver {
 public:
  TokenStoreDriver(const std::vector<TokenRoute>* routes, const ChannelTable& channels,
                   int client, std::chrono::milliseconds timeout, uint64_t seed)
      : routes_(routes), timeout_(timeout), rng_(seed) {
    for (const auto& per_node : channels) {
      stubs_.push_back(v1::TokenService::NewStub(per_node[client % per_node.size()]));
    }
  }

  grpc::Status Write(size_t token, const std::string& name, uint64_t low, uint64_t mid,
                     uint64_t high) override {
    const TokenRoute& r = (*routes_)[token];
    v1::WriteRequest req;
    req.set_id(r.id);
    req.set_name(name);
    req.set_low(low);
    req.set_mid(mid);
    req.set_high(high);
    v1::WriteResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
    return stubs_[r.writer]->Write(&ctx, req, &resp);
  }

  grpc::Status Read(size_t token) override {
    const TokenRoute& r = (*routes_)[token];
    const size_t node = r.readers[std::uniform_int_distribution<size_t>(
        0, r.readers.size() - 1)(rng_)];
    v1::ReadRequest req;
    req.set_id(r.id);
    v1::ReadResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
    return stubs_[node]->Read(&ctx, req, &resp);
  }

 private:
  const std::vector<TokenRoute>* routes_;
  std::chrono::milliseconds timeout_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<v1::TokenService::Stub>> stubs_;  // per node
};

// The client library over its session transport: the clients sharing a TokenClient share its
// one stream per node, and their operations travel together.
class SessionDriver : public Driver {
 public:
  SessionDriver(const std::vector<TokenRoute>* routes, TokenClient* client)
      : routes_(routes), client_(client) {}

  grpc::Status Write(size_t token, const std::string& name, uint64_t low, uint64_t mid,
                     uint64_t high) override {
    return ToGrpc(client_->Write((*routes_)[token].id, name, low, mid, high).status());
  }
  grpc::Status Read(size_t token) override {
    return ToGrpc(client_->Read((*routes_)[token].id).status());
  }

 private:
  static grpc::Status ToGrpc(const Status& st) {
    return grpc::Status(static_cast<grpc::StatusCode>(static_cast<int>(st.code())), st.message());
  }

  const std::vector<TokenRoute>* routes_;
  TokenClient* client_;
};

std::string EtcdKey(size_t token) { return "token/" + std::to_string(token); }

class EtcdDriver : public Driver {
 public:
  EtcdDriver(const ChannelTable& channels, int client, std::chrono::milliseconds timeout,
             uint64_t seed)
      : timeout_(timeout), rng_(seed) {
    for (const auto& per_node : channels) {
      stubs_.push_back(etcdserverpb::KV::NewStub(per_node[client % per_node.size()]));
    }
  }

  grpc::Status Write(size_t token, const std::string& name, uint64_t low, uint64_t mid,
                     uint64_t high) override {
    etcdserverpb::PutRequest req;
    req.set_key(EtcdKey(token));
    req.set_value(name + " " + std::to_string(low) + " " + std::to_string(mid) + " " +
                  std::to_string(high));
    etcdserverpb::PutResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
    return Pick()->Put(&ctx, req, &resp);
  }

  grpc::Status Read(size_t token) override {
    etcdserverpb::RangeRequest req;
    req.set_key(EtcdKey(token));
    req.set_serializable(false);
    etcdserverpb::RangeResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
    grpc::Status st = Pick()->Range(&ctx, req, &resp);
    if (st.ok() && resp.kvs_size() != 1) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "key " + req.key() + " not found");
    }
    return st;
  }

 private:
  etcdserverpb::KV::Stub* Pick() {
    return stubs_[std::uniform_int_distribution<size_t>(0, stubs_.size() - 1)(rng_)].get();
  }

  std::chrono::milliseconds timeout_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs_;  // per endpoint
};

struct ClientStats {
  Histogram all, reads, writes;
  std::map<std::string, uint64_t> errors;
  std::map<std::string, std::string> error_examples;
};

double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

// The latency fields of `h`: p50_ms, p90_ms, p99_ms, p999_ms, max_ms, mean_ms.
void AddLatencies(JsonObject& o, const Histogram& h) {
  o.Add("p50_ms", Ms(h.Percentile(0.5)));
  o.Add("p90_ms", Ms(h.Percentile(0.9)));
  o.Add("p99_ms", Ms(h.Percentile(0.99)));
  o.Add("p999_ms", Ms(h.Percentile(0.999)));
  o.Add("max_ms", Ms(h.max()));
  o.Add("mean_ms", h.mean() / 1e6);
}

JsonObject HistJson(const Histogram& h) {
  JsonObject o;
  o.Add("ops", h.count());
  AddLatencies(o, h);
  return o;
}

}  // namespace

uint64_t LoadResult::error_count() const {
  uint64_t n = 0;
  for (const auto& [code, count] : errors) n += count;
  return n;
}

double LoadResult::ops_per_s() const { return seconds > 0 ? all.count() / seconds : 0; }

StatusOr<LoadResult> RunLoad(const LoadOptions& options) {
  LoadResult result;
  result.options = options;
  LoadOptions& opt = result.options;
  if (opt.conns == 0) opt.conns = opt.clients;
  uint64_t seed = opt.seed;
  if (seed == 0) seed = std::random_device{}() | (uint64_t{std::random_device{}()} << 32);

  // Routes and nodes.
  std::vector<std::string> nodes;
  std::vector<TokenRoute> routes;
  std::optional<ClusterConfig> cluster;
  if (opt.etcd()) {
    nodes = opt.etcd_endpoints;
  } else {
    StatusOr<ClusterConfig> config = LoadClusterConfig(opt.config_path);
    if (!config.ok()) return config.status();
    cluster = *config;
    if (opt.tokens == 0) opt.tokens = config->size();
    if (opt.tokens > config->size()) {
      return Status::InvalidArgument("--tokens " + std::to_string(opt.tokens) + " but " +
                                     opt.config_path + " has only " +
                                     std::to_string(config->size()) + " tokens");
    }
    if (opt.cold_tokens > opt.tokens ||
        (opt.cold_tokens == opt.tokens && opt.cold_tokens > 0 && opt.read_ratio < 1)) {
      return Status::InvalidArgument("--cold-tokens " + std::to_string(opt.cold_tokens) +
                                     " must leave at least one of the " +
                                     std::to_string(opt.tokens) + " tokens for the writes");
    }
    std::map<std::string, size_t> index;
    auto node_index = [&](const std::string& n) {
      auto [it, inserted] = index.emplace(n, nodes.size());
      if (inserted) nodes.push_back(n);
      return it->second;
    };
    config->ForEach([&](const TokenReplication& t) {
      TokenRoute r{t.id, node_index(t.writer()), {}};
      for (const std::string& reader : t.readers()) r.readers.push_back(node_index(reader));
      routes.push_back(std::move(r));
      return routes.size() < opt.tokens;
    });
  }

  const bool session = !opt.etcd() && opt.api == LoadOptions::Api::kSession;
  const ChannelTable channels = MakeChannels(nodes, session ? 0 : opt.conns);
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(opt.timeout_s * 1000));
  // Session: one TokenClient per connection (each its own channels and streams).
  std::vector<std::unique_ptr<TokenClient>> session_clients;
  for (int c = 0; session && c < opt.conns; ++c) {
    ClientOptions o;
    o.transport = ClientOptions::Transport::kSession;
    o.timeout = timeout;
    o.attempt_timeout = timeout;  // no second reader asked: the same work as unary
    o.seed = seed + c;
    session_clients.push_back(std::make_unique<TokenClient>(*cluster, o));
  }
  std::vector<std::unique_ptr<Driver>> drivers;
  for (int c = 0; c < opt.clients; ++c) {
    const uint64_t client_seed = seed + 0x9e3779b97f4a7c15ULL * (c + 1);
    if (session) {
      drivers.push_back(
          std::make_unique<SessionDriver>(&routes, session_clients[c % opt.conns].get()));
    } else if (opt.etcd()) {
      drivers.push_back(std::make_unique<EtcdDriver>(channels, c, timeout, client_seed));
    } else {
      drivers.push_back(
          std::make_unique<TokenStoreDriver>(&routes, channels, c, timeout, client_seed));
    }
  }

  // Unique names across runs and clients: "b<run>-<client>-<seq>".
  char run_id[16];
  std::snprintf(run_id, sizeof run_id, "%08x", static_cast<unsigned>(seed & 0xffffffffu));
  const uint64_t half = opt.range / 2;

  // Every token written once, so that reads find a value; also checks the cluster answers.
  for (size_t t = 0; opt.initial_writes && t < opt.tokens; ++t) {
    const std::string name = std::string("b") + run_id + "-init-" + std::to_string(t);
    grpc::Status st = drivers[0]->Write(t, name, 0, half, opt.range);
    if (!st.ok()) {
      const std::string what = opt.etcd() ? EtcdKey(t) : "token " + routes[t].id;
      return Status(static_cast<StatusCode>(static_cast<int>(st.error_code())),
                    "initial write of " + what + " failed: " + st.error_message());
    }
  }

  std::optional<ZipfianChooser> zipf;
  if (opt.zipf > 0) zipf.emplace(opt.tokens, opt.zipf);

  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> issued{0};
  const bool by_ops = opt.ops > 0;
  std::vector<ClientStats> stats(opt.clients);
  std::vector<std::thread> threads;
  for (int c = 0; c < opt.clients; ++c) {
    threads.emplace_back([&, c] {
      Driver& d = *drivers[c];
      ClientStats& s = stats[c];
      std::mt19937_64 rng(seed ^ (0xc2b2ae3d27d4eb4fULL * (c + 1)));
      // With cold tokens, writes pick from the first tokens and reads from the cold rest.
      const size_t hot = opt.tokens - opt.cold_tokens;
      std::uniform_int_distribution<size_t> pick_written(
          0, (opt.cold_tokens > 0 ? std::max<size_t>(hot, 1) : opt.tokens) - 1);
      std::uniform_int_distribution<size_t> pick_read(opt.cold_tokens > 0 ? hot : 0,
                                                      opt.tokens - 1);
      std::uniform_real_distribution<double> coin(0, 1);
      const auto pick = [&](bool read) -> size_t {
        if (zipf) return zipf->Next(rng);
        return read ? pick_read(rng) : pick_written(rng);
      };
      const std::string prefix = std::string("b") + run_id + "-" + std::to_string(c) + "-";
      uint64_t seq = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const bool measured = measuring.load(std::memory_order_acquire);
        if (measured && by_ops && issued.fetch_add(1) >= opt.ops) break;
        const bool read = opt.read_ratio >= 1 || (opt.read_ratio > 0 && coin(rng) < opt.read_ratio);
        const size_t token = pick(read);
        grpc::Status st;
        const Clock::time_point t0 = Clock::now();
        if (read) {
          st = d.Read(token);
        } else {
          const uint64_t low = seq % 1'000'000;
          st = d.Write(token, prefix + std::to_string(seq), low, low + half, low + opt.range);
          ++seq;
        }
        const uint64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
        if (!measured) continue;
        if (st.ok()) {
          s.all.Record(ns);
          (read ? s.reads : s.writes).Record(ns);
        } else {
          const char* code = GrpcCodeName(st.error_code());
          if (s.errors[code]++ == 0) s.error_examples[code] = st.error_message();
        }
      }
    });
  }

  auto seconds = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  std::this_thread::sleep_for(seconds(opt.warmup_s));
  const Clock::time_point start = Clock::now();
  measuring.store(true, std::memory_order_release);
  if (!by_ops) {
    std::this_thread::sleep_for(seconds(opt.duration_s));
    stop.store(true);
  }
  for (std::thread& t : threads) t.join();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (const ClientStats& s : stats) {
    result.all.Merge(s.all);
    result.reads.Merge(s.reads);
    result.writes.Merge(s.writes);
    for (const auto& [code, n] : s.errors) result.errors[code] += n;
    for (const auto& [code, m] : s.error_examples) result.error_examples.emplace(code, m);
  }
  return result;
}

std::string FormatLoadResult(const LoadResult& r) {
  const LoadOptions& o = r.options;
  std::ostringstream out;
  char buf[256];
  out << o.system() << ": workload " << WorkloadName(o.workload);
  if (o.workload == Workload::kMixed) out << " (read ratio " << o.read_ratio << ")";
  out << ", " << o.clients << " clients, " << o.conns << " connections per node, " << o.tokens
      << " tokens";
  if (o.zipf > 0) out << " (Zipfian, theta " << o.zipf << ")";
  if (o.cold_tokens > 0) {
    out << " (reads of the last " << o.cold_tokens << ", written once before the warm-up; "
        << "writes of the others)";
  }
  out << ", range " << o.range << "\n";
  std::snprintf(buf, sizeof buf, "measured %.2f s after %.1f s warm-up: %llu ok, %llu errors, %.1f ops/s\n",
                r.seconds, o.warmup_s, static_cast<unsigned long long>(r.all.count()),
                static_cast<unsigned long long>(r.error_count()), r.ops_per_s());
  out << buf;
  std::snprintf(buf, sizeof buf, "%-6s %9s %9s %9s %9s %9s %9s %9s\n", "ms", "ops", "p50", "p90",
                "p99", "p99.9", "max", "mean");
  out << buf;
  auto line = [&](const char* label, const Histogram& h) {
    if (h.count() == 0) return;
    std::snprintf(buf, sizeof buf, "%-6s %9llu %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n", label,
                  static_cast<unsigned long long>(h.count()), Ms(h.Percentile(0.5)),
                  Ms(h.Percentile(0.9)), Ms(h.Percentile(0.99)), Ms(h.Percentile(0.999)),
                  Ms(h.max()), h.mean() / 1e6);
    out << buf;
  };
  line("all", r.all);
  line("read", r.reads);
  line("write", r.writes);
  for (const auto& [code, n] : r.errors) {
    out << "errors " << code << ": " << n << " (e.g. \"" << r.error_examples.at(code) << "\")\n";
  }
  return out.str();
}

JsonObject LoadResultJson(const LoadResult& r) {
  const LoadOptions& o = r.options;
  JsonObject j;
  j.Add("system", o.system());
  j.Add("workload", WorkloadName(o.workload));
  j.Add("read_ratio", o.read_ratio);
  j.Add("clients", o.clients);
  j.Add("conns_per_node", o.conns);
  j.Add("tokens", static_cast<uint64_t>(o.tokens));
  j.Add("cold_tokens", static_cast<uint64_t>(o.cold_tokens));
  j.Add("zipf", o.zipf);
  j.Add("range", o.range);
  j.Add("warmup_s", o.warmup_s);
  j.Add("seconds", r.seconds);
  j.Add("ops", r.all.count());
  j.Add("errors", r.error_count());
  j.Add("ops_per_s", r.ops_per_s());
  AddLatencies(j, r.all);
  if (r.reads.count() > 0) j.Add("read", HistJson(r.reads));
  if (r.writes.count() > 0) j.Add("write", HistJson(r.writes));
  JsonObject codes;
  for (const auto& [code, n] : r.errors) codes.Add(code, n);
  j.Add("error_codes", codes);
  JsonObject examples;
  for (const auto& [code, m] : r.error_examples) examples.Add(code, m);
  j.Add("error_examples", examples);
  return j;
}

}  // namespace tokenstore::bench
