// Prometheus metrics of a replica. The only place that knows prometheus-cpp: the protocol
// core, the store and the call statistics keep plain atomic counters and LatencyHistograms
// (common/latency_histogram.h); on each scrape MetricsExporter reads them and builds the
// metric families, and MetricsEndpoint serves them over HTTP at /metrics.
//
// The metric names and their meaning are listed in README.md, section "Operations".
//
// Thread-safety: Collect() runs on the HTTP server's threads, concurrently with the replica;
// it only reads atomics and takes the core's crash-mark lock briefly.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <memory>
#include <string>
#include <vector>

#include "common/latency_histogram.h"
#include "common/status.h"
#include "replica/call_stats.h"
#include "replica/replica_core.h"

namespace prometheus {
class Exposer;
}

namespace tokenstore {

struct MetricsSources {
  const ReplicaCore* core = nullptr;
  const CallStats* calls = nullptr;
  const LatencyHistogram* storage_sync = nullptr;  // null: no durable store, no metric
};

class MetricsExporter final : public prometheus::Collectable {
 public:
  // Everything in `sources` must outlive the exporter (and any endpoint serving it).
  explicit MetricsExporter(MetricsSources sources) : sources_(sources) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  MetricsSources sources_;
};

// An HTTP server that answers GET /metrics with `collectable`'s families in Prometheus'
// text format. Binds exactly `listen` ("<ipv4>:<port>"; port 0 picks a free one). IPv6 is
// refused: Debian's civetweb, which serves the requests, is built without it.
class MetricsEndpoint {
 public:
  static StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& listen, std::shared_ptr<prometheus::Collectable> collectable);
  ~MetricsEndpoint();  // stops serving; a scrape in progress is finished first

  int port() const { return port_; }

 private:
  MetricsEndpoint() = default;
  std::string listen_;
  std::shared_ptr<prometheus::Collectable> collectable_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace tokenstore
