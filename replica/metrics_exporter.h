// Prometheus metrics of a replica. The only place that knows prometheus-cpp: the protocol
// core, the store, the call statistics and the peer statistics keep plain atomic counters
// and LatencyHistograms (common/latency_histogram.h); on each scrape MetricsExporter reads
// them (and /proc/self, replica/process_metrics.h) and builds the metric families, and
// MetricsEndpoint serves them over HTTP at /metrics, with /healthz and /readyz beside them.
//
// The metric names and their meaning are listed in README.md, section "Operations".
//
// Thread-safety: Collect() runs on the HTTP server's threads, concurrently with the replica;
// it only reads atomics and takes the core's crash-mark lock and the peer statistics' lock
// briefly.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/latency_histogram.h"
#include "common/status.h"
#include "replica/call_stats.h"
#include "replica/peer_stats.h"
#include "replica/replica_core.h"

class CivetServer;
class CivetHandler;

namespace tokenstore {

struct MetricsSources {
  const ReplicaCore* core = nullptr;
  const CallStats* calls = nullptr;
  const LatencyHistogram* storage_sync = nullptr;  // null: no durable store, no metric
  const PeerStats* peers = nullptr;                // null: no per-peer metrics
  bool process = true;                             // the process_* metrics of /proc/self
};

class MetricsExporter final : public prometheus::Collectable {
 public:
  // Everything in `sources` must outlive the exporter (and any endpoint serving it).
  explicit MetricsExporter(MetricsSources sources) : sources_(sources) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  MetricsSources sources_;
};

// What /readyz reports: whether the node is ready for clients, and in which state it is.
struct Readiness {
  bool ready = false;
  std::string state;  // "serving", "rebuilding", "stopping", ...
};

// An HTTP server (plain HTTP, no client certificate) that answers
//   GET /metrics  `collectable`'s families in Prometheus' text format;
//   GET /healthz  200 "ok": the process is alive and answers;
//   GET /readyz   200 "ready: <state>" when `readiness` says ready, else 503
//                 "not ready: <state>" (always 200 when no `readiness` is given).
// Binds exactly `listen` ("<ipv4>:<port>"; port 0 picks a free one). IPv6 is refused:
// Debian's civetweb, which serves the requests, is built without it.
class MetricsEndpoint {
 public:
  static StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& listen, std::shared_ptr<prometheus::Collectable> collectable,
      std::function<Readiness()> readiness = nullptr);
  ~MetricsEndpoint();  // stops serving; a request in progress is finished first

  int port() const { return port_; }

 private:
  MetricsEndpoint() = default;
  std::string listen_;
  std::shared_ptr<prometheus::Collectable> collectable_;
  std::function<Readiness()> readiness_;
  std::vector<std::unique_ptr<CivetHandler>> handlers_;  // outlive server_
  std::unique_ptr<CivetServer> server_;
  int port_ = 0;
};

}  // namespace tokenstore
