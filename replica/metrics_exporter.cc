#include "replica/metrics_exporter.h"

#include <prometheus/exposer.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <limits>
#include <thread>
#include <utility>

#include "common/build_info.h"

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

void AddHistogram(MetricFamily& f, const LatencyHistogram& h, Labels labels = {}) {
  const LatencyHistogram::Snapshot s = h.Read();
  ClientMetric m;
  m.label = std::move(labels);
  m.histogram.sample_count = s.count;
  m.histogram.sample_sum = s.sum_seconds;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    cumulative += s.counts[i];
    const double bound = i < LatencyHistogram::kBoundsSeconds.size()
                             ? LatencyHistogram::kBoundsSeconds[i]
                             : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back({cumulative, bound});
  }
  f.metric.push_back(std::move(m));
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
  return out;
}

StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& listen, std::shared_ptr<prometheus::Collectable> collectable) {
  if (listen.starts_with("[")) {
    return Status::InvalidArgument("cannot serve metrics on " + listen +
                                   ": the HTTP server (Debian's civetweb) is built without IPv6; "
                                   "use an IPv4 address");
  }
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint());
  endpoint->listen_ = listen;
  endpoint->collectable_ = std::move(collectable);
  try {
    // civetweb's options: listen exactly there; two threads answer scrapes.
    endpoint->exposer_ = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", listen, "num_threads", "2"});
  } catch (const std::exception& e) {
    return Status::Unavailable("cannot serve metrics on " + listen + ": " + e.what() +
                               " (the address is in use or not local to this machine?)");
  }
  endpoint->exposer_->RegisterCollectable(endpoint->collectable_);
  const std::vector<int> ports = endpoint->exposer_->GetListeningPorts();
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
  if (!exposer_) return;
  // civetweb notices that it is being stopped only when its listening poll wakes up, which
  // it does every 2 s; a connection wakes it at once.
  std::atomic<bool> stopped{false};
  std::thread waker([&] {
    while (!stopped.load()) {
      Knock(listen_, port_);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  exposer_.reset();
  stopped = true;
  waker.join();
}

}  // namespace tokenstore
