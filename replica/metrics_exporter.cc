#include "replica/metrics_exporter.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <prometheus/text_serializer.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <exception>
#include <limits>
#include <thread>
#include <utility>

#include "common/build_info.h"
#include "replica/process_metrics.h"

namespace tokenstore {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void AddCounter(MetricFamily& f, double value, Labels labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = value;
  f.metric.push_back(std::move(m));
}

void AddGauge(MetricFamily& f, double value, Labels labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

// A histogram sample from per-bucket (not cumulative) `counts`: one per bound in `bounds`,
// then one above the last.
template <size_t N>
void AddBuckets(MetricFamily& f, Labels labels, uint64_t count, double sum,
                const std::array<uint64_t, N + 1>& counts, const std::array<double, N>& bounds) {
  ClientMetric m;
  m.label = std::move(labels);
  m.histogram.sample_count = count;
  m.histogram.sample_sum = sum;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    m.histogram.bucket.push_back(
        {cumulative, i < N ? bounds[i] : std::numeric_limits<double>::infinity()});
  }
  f.metric.push_back(std::move(m));
}

void AddHistogram(MetricFamily& f, const LatencyHistogram::Snapshot& s, Labels labels = {}) {
  AddBuckets(f, std::move(labels), s.count, s.sum_seconds, s.counts,
             LatencyHistogram::kBoundsSeconds);
}

void AddHistogram(MetricFamily& f, const LatencyHistogram& h, Labels labels = {}) {
  AddHistogram(f, h.Read(), std::move(labels));
}

double Load(const std::atomic<uint64_t>& a) {
  return static_cast<double>(a.load(std::memory_order_relaxed));
}

// A counter family with one sample per value of `label`: {value, count}.
MetricFamily LabeledCounters(std::string name, std::string help, const std::string& label,
                             std::initializer_list<std::pair<const char*, double>> samples) {
  MetricFamily f = Family(std::move(name), std::move(help), MetricType::Counter);
  for (const auto& [value, count] : samples) AddCounter(f, count, {{label, value}});
  return f;
}

// A family of one unlabelled sample.
MetricFamily Single(std::string name, std::string help, MetricType type, double value) {
  MetricFamily f = Family(std::move(name), std::move(help), type);
  (type == MetricType::Counter ? AddCounter : AddGauge)(f, value, {});
  return f;
}

// Per peer (PeerStats): reachability, round-trip time, failed RPCs, batch sizes.
void AppendPeerMetrics(const PeerStats& stats, std::vector<MetricFamily>& out) {
  MetricFamily up = Family("tokenstore_peer_up",
                           "1 while the peer is reachable, 0 from an RPC that could not reach "
                           "it until the next one it answers",
                           MetricType::Gauge);
  MetricFamily downs = Family("tokenstore_peer_unreachable_total",
                              "Times the peer, once reached, became unreachable", MetricType::Counter);
  MetricFamily rtt = Family("tokenstore_peer_rtt_seconds",
                            "Round-trip time of the RPCs to the peer that it answered (Batch, "
                            "and the unary calls of a start)",
                            MetricType::Histogram);
  MetricFamily errors = Family("tokenstore_peer_rpc_errors_total",
                               "RPCs to the peer that failed, by gRPC status code (not "
                               "CANCELLED: calls a quorum did not need are cancelled)",
                               MetricType::Counter);
  MetricFamily batch = Family("tokenstore_peer_batch_entries",
                              "Calls carried by each Batch RPC to the peer", MetricType::Histogram);
  for (const PeerStats::PeerSnapshot& p : stats.Snapshot()) {
    const Labels peer = {{"peer", p.peer}};
    AddGauge(up, p.up ? 1 : 0, peer);
    AddCounter(downs, static_cast<double>(p.unreachable_events), peer);
    AddHistogram(rtt, p.rtt, peer);
    for (int code = 1; code < PeerStats::kCodes; ++code) {
      if (p.errors[code] == 0) continue;
      AddCounter(errors, static_cast<double>(p.errors[code]),
                 {{"peer", p.peer}, {"code", StatusCodeName(static_cast<StatusCode>(code))}});
    }
    AddBuckets(batch, peer, p.batch_count, static_cast<double>(p.batch_entries), p.batch,
               PeerStats::kBatchBounds);
  }
  for (MetricFamily* f : {&up, &downs, &rtt, &errors, &batch}) out.push_back(std::move(*f));
}

// The names every Prometheus client library uses for its process.
void AppendProcessMetrics(std::vector<MetricFamily>& out) {
  const std::optional<ProcessStats> p = ReadProcessStats();
  if (!p) return;
  out.push_back(Single("process_cpu_seconds_total", "Total user and system CPU time spent in seconds",
                       MetricType::Counter, p->cpu_seconds));
  out.push_back(Single("process_resident_memory_bytes", "Resident memory size in bytes",
                       MetricType::Gauge, p->resident_bytes));
  out.push_back(Single("process_virtual_memory_bytes", "Virtual memory size in bytes",
                       MetricType::Gauge, p->virtual_bytes));
  out.push_back(Single("process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds", MetricType::Gauge,
                       p->start_time_seconds));
  out.push_back(Single("process_open_fds", "Number of open file descriptors", MetricType::Gauge,
                       p->open_fds));
  if (p->max_fds > 0) {
    out.push_back(Single("process_max_fds", "Maximum number of open file descriptors",
                         MetricType::Gauge, p->max_fds));
  }
  out.push_back(Single("process_threads", "Number of OS threads in the process",
                       MetricType::Gauge, p->threads));
}

}  // namespace

std::vector<MetricFamily> MetricsExporter::Collect() const {
  std::vector<MetricFamily> out;
  // Which build runs (common/build_info.h): the labels say, the value is always 1.
  MetricFamily build = Family("tokenstore_build_info",
                              "Always 1; the labels name the running build: version and git "
                              "commit (as token-replica --version prints them)",
                              MetricType::Gauge);
  AddGauge(build, 1,
           {{"version", std::string(BuildVersion())}, {"git", std::string(BuildGit())}});
  out.push_back(std::move(build));
  const ReplicaCounters& c = sources_.core->counters();
  const CallStats& calls = *sources_.calls;

  MetricFamily ops = Family("tokenstore_operations_total",
                            "Client operations answered, by operation and gRPC status code",
                            MetricType::Counter);
  MetricFamily latency = Family("tokenstore_operation_duration_seconds",
                                "Time from a client operation's arrival to its answer",
                                MetricType::Histogram);
  MetricFamily in_flight = Family("tokenstore_operations_in_flight",
                                  "Client operations arrived and not yet done (parked ones too)",
                                  MetricType::Gauge);
  for (ClientOp op : kClientOps) {
    const std::string name(ClientOpName(op));
    for (int code = 0; code < CallStats::kGrpcCodes; ++code) {
      const uint64_t n = calls.answered(op, code);
      // OK is always present, so a rate can be taken from the first scrape on.
      if (n == 0 && code != 0) continue;
      AddCounter(ops, static_cast<double>(n),
                 {{"op", name}, {"code", StatusCodeName(static_cast<StatusCode>(code))}});
    }
    AddHistogram(latency, calls.latency(op), {{"op", name}});
    AddGauge(in_flight, static_cast<double>(calls.in_flight(op)), {{"op", name}});
  }
  out.push_back(std::move(ops));
  out.push_back(std::move(latency));
  out.push_back(std::move(in_flight));

  out.push_back(LabeledCounters("tokenstore_reads_total",
                                "Reads whose quorum round completed: fast (a majority agreed, "
                                "no write-back) or slow (the value was imposed on a majority)",
                                "path", {{"fast", Load(c.fast_reads)}, {"slow", Load(c.slow_reads)}}));
  out.push_back(Single("tokenstore_final_cache_hits_total",
                       "Reads whose final value came from the cache, without hashing",
                       MetricType::Counter, Load(c.final_cache_hits)));

  MetricFamily wait = Family("tokenstore_quorum_wait_seconds",
                             "Time a coordinator waited for a majority, by round kind "
                             "(rounds that reached one)",
                             MetricType::Histogram);
  AddHistogram(wait, c.get_round_wait, {{"round", "get"}});
  AddHistogram(wait, c.store_round_wait, {{"round", "store"}});
  out.push_back(std::move(wait));
  out.push_back(LabeledCounters(
      "tokenstore_quorum_rounds_failed_total",
      "Rounds that failed: a majority out of reach, deadline or cancel", "round",
      {{"get", Load(c.get_rounds_failed)}, {"store", Load(c.store_rounds_failed)}}));
  out.push_back(LabeledCounters("tokenstore_stores_total",
                                "Stores handled by this replica: applied (newer, written) or "
                                "ignored (older than the register held)",
                                "result",
                                {{"applied", Load(c.stores_applied)},
                                 {"ignored", Load(c.stores_ignored)}}));

  size_t crashed = 0;
  for (const std::string& id : sources_.core->token_ids()) crashed += sources_.core->IsCrashed(id);
  out.push_back(Single("tokenstore_crash_stopped_tokens",
                       "Tokens this node is crash-stopped (fail-silent) for", MetricType::Gauge,
                       static_cast<double>(crashed)));
  out.push_back(Single("tokenstore_tokens", "Tokens this node keeps (writer or reader)",
                       MetricType::Gauge, static_cast<double>(sources_.core->token_ids().size())));

  // The node's lifecycle (replica/node_lifecycle.h): which state it is in, and how many of
  // its tokens it serves (all but those not rebuilt yet while it rebuilds).
  const NodeLifecycle& life = sources_.core->lifecycle();
  MetricFamily state = Family("tokenstore_node_state",
                              "1 for the state this node is in: fresh, starting, rebuilding, serving",
                              MetricType::Gauge);
  for (NodeState s : {NodeState::kFresh, NodeState::kStarting, NodeState::kRebuilding,
                      NodeState::kServing}) {
    AddGauge(state, life.state() == s ? 1 : 0, {{"state", NodeStateName(s)}});
  }
  out.push_back(std::move(state));
  size_t served = 0;
  for (const std::string& id : sources_.core->token_ids()) served += life.Serves(id);
  out.push_back(Single("tokenstore_tokens_served",
                       "Tokens whose register counts in quorums here (the others are being "
                       "rebuilt, or the node is still starting)",
                       MetricType::Gauge, static_cast<double>(served)));

  if (sources_.storage_sync != nullptr) {
    MetricFamily sync = Family("tokenstore_storage_sync_seconds",
                               "Time of each synced RocksDB write (fsync of the WAL included)",
                               MetricType::Histogram);
    AddHistogram(sync, *sources_.storage_sync);
    out.push_back(std::move(sync));
  }
  if (sources_.peers != nullptr) AppendPeerMetrics(*sources_.peers, out);
  if (sources_.process) AppendProcessMetrics(out);
  return out;
}

namespace {

void Respond(mg_connection* conn, int code, const char* reason, const char* type,
             const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\n\r\n",
            code, reason, type, body.size());
  mg_write(conn, body.data(), body.size());
}

// One path of the endpoint: GET answered by `answer`, which calls Respond.
class GetHandler final : public CivetHandler {
 public:
  explicit GetHandler(std::function<void(mg_connection*)> answer) : answer_(std::move(answer)) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    answer_(conn);
    return true;
  }

 private:
  std::function<void(mg_connection*)> answer_;
};

}  // namespace

StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& listen, std::shared_ptr<prometheus::Collectable> collectable,
    std::function<Readiness()> readiness) {
  if (listen.starts_with("[")) {
    return Status::InvalidArgument("cannot serve metrics on " + listen +
                                   ": the HTTP server (Debian's civetweb) is built without IPv6; "
                                   "use an IPv4 address");
  }
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint());
  endpoint->listen_ = listen;
  endpoint->collectable_ = std::move(collectable);
  endpoint->readiness_ = std::move(readiness);
  MetricsEndpoint* e = endpoint.get();
  auto add = [&](std::function<void(mg_connection*)> answer) {
    endpoint->handlers_.push_back(std::make_unique<GetHandler>(std::move(answer)));
    return endpoint->handlers_.back().get();
  };
  CivetHandler* metrics = add([e](mg_connection* conn) {
    Respond(conn, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
            prometheus::TextSerializer().Serialize(e->collectable_->Collect()));
  });
  CivetHandler* healthz = add([](mg_connection* conn) {
    Respond(conn, 200, "OK", "text/plain; charset=utf-8", "ok\n");
  });
  CivetHandler* readyz = add([e](mg_connection* conn) {
    const Readiness r = e->readiness_ ? e->readiness_() : Readiness{true, "serving"};
    if (r.ready) {
      Respond(conn, 200, "OK", "text/plain; charset=utf-8", "ready: " + r.state + "\n");
    } else {
      Respond(conn, 503, "Service Unavailable", "text/plain; charset=utf-8",
              "not ready: " + r.state + "\n");
    }
  });
  try {
    // civetweb's options: listen exactly there; two threads answer requests.
    endpoint->server_ = std::make_unique<CivetServer>(
        std::vector<std::string>{"listening_ports", listen, "num_threads", "2"});
  } catch (const std::exception& ex) {
    return Status::Unavailable("cannot serve metrics on " + listen + ": " + ex.what() +
                               " (the address is in use or not local to this machine?)");
  }
  endpoint->server_->addHandler("/metrics", metrics);
  endpoint->server_->addHandler("/healthz", healthz);
  endpoint->server_->addHandler("/readyz", readyz);
  const std::vector<int> ports = endpoint->server_->getListeningPorts();
  endpoint->port_ = ports.empty() ? 0 : ports.front();
  return endpoint;
}

namespace {

// Opens and closes one TCP connection to `listen` ("<ipv4>:<port>"; 0.0.0.0 is reached on
// loopback).
void Knock(const std::string& listen, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, listen.substr(0, listen.rfind(':')).c_str(), &addr.sin_addr) != 1) {
    return;
  }
  if (addr.sin_addr.s_addr == htonl(INADDR_ANY)) addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  close(fd);
}

}  // namespace

MetricsEndpoint::~MetricsEndpoint() {
  if (!server_) return;
  // civetweb notices that it is being stopped only when its listening poll wakes up, which
  // it does every 2 s; a connection wakes it at once.
  std::atomic<bool> stopped{false};
  std::thread waker([&] {
    while (!stopped.load()) {
      Knock(listen_, port_);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  server_.reset();
  stopped = true;
  waker.join();
}

}  // namespace tokenstore
