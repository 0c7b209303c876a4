// What a node sees of the RPCs it makes to its peers (GrpcPeerTransport reports each one):
// per peer, the round-trip time of the RPCs the peer answered, the RPCs that failed by gRPC
// status code (not counting CANCELLED: the node cancels the calls a quorum did not need), the
// number of calls each Batch RPC carried, and whether the peer is reachable.
//
// Reachability is edge-triggered: a peer is unreachable from the first RPC that could not
// reach it (Classify: UNAVAILABLE while the channel to it is not connected) until the next
// RPC it answered (any status the peer itself gave, errors included). Each change is one
// event in the log (common/log.h):
//
//   level=warn msg="peer unreachable" peer=127.0.0.1:50052 code=UNAVAILABLE error="..."
//   level=info msg="peer reachable again" peer=127.0.0.1:50052 down_seconds=4.2 failed_rpcs=17
//
// A peer never reached yet (this node's start, the peer not listening yet: every cold start
// of a cluster has some) is reported at info level only, as "peer not reachable yet" and then
// "peer reachable" (after_seconds, failed_rpcs), and not counted as a loss.
//
// A peer is taken as reachable until an RPC says otherwise; RPCs that end without evidence
// either way (CANCELLED, DEADLINE_EXCEEDED: a crash-stopped token, a slow or paused peer)
// change nothing. A node makes RPCs only while it has work, so an idle node notices a peer's
// loss at its next operation.
//
// MetricsExporter (replica/metrics_exporter.h) reads Snapshot() on each scrape.
//
// Thread-safety: every method may be called from any thread, concurrently.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/core_clock.h"
#include "common/latency_histogram.h"
#include "common/mutex.h"
#include "common/status.h"

namespace tokenstore {

class PeerStats {
 public:
  static constexpr int kCodes = 17;  // gRPC status codes 0..16
  // Upper bounds of the batch-size buckets (calls per Batch RPC); one more bucket above.
  static constexpr std::array<double, 11> kBatchBounds = {1,  2,   4,   8,   16,  32,
                                                          64, 128, 256, 512, 1024};

  // What an RPC's outcome says of its peer.
  enum class Evidence { kAnswered, kUnreachable, kNone };
  // `channel_connected`: the channel to the peer was READY when the RPC ended. Pure.
  static Evidence Classify(StatusCode code, bool channel_connected);

  // An RPC to `peer` ended with `status` after `rtt` (from its sending).
  void RecordRpc(const std::string& peer, const Status& status, bool channel_connected,
                 std::chrono::nanoseconds rtt);
  // A Batch RPC to `peer` carried `entries` calls.
  void RecordBatch(const std::string& peer, size_t entries);

  struct PeerSnapshot {
    std::string peer;
    bool up = true;
    std::array<uint64_t, kCodes> errors{};  // failed RPCs by code (OK and CANCELLED: 0)
    LatencyHistogram::Snapshot rtt;                         // RPCs the peer answered
    std::array<uint64_t, kBatchBounds.size() + 1> batch{};  // per bucket, not cumulative
    uint64_t batch_count = 0;
    uint64_t batch_entries = 0;
    uint64_t unreachable_events = 0;  // losses so far (after it had been reached)
  };
  // Every peer an RPC was reported for, by address.
  std::vector<PeerSnapshot> Snapshot() const;

 private:
  struct Peer {
    bool up = true;
    bool reached = false;  // it answered an RPC once
    Clock::time_point down_since;
    uint64_t failed_while_down = 0;
    std::array<uint64_t, kCodes> errors{};
    LatencyHistogram rtt;
    std::array<uint64_t, kBatchBounds.size() + 1> batch{};
    uint64_t batch_count = 0;
    uint64_t batch_entries = 0;
    uint64_t unreachable_events = 0;
  };
  Peer& PeerLocked(const std::string& peer) REQUIRES(mu_);

  mutable Mutex mu_;
  std::map<std::string, std::unique_ptr<Peer>, std::less<>> peers_ GUARDED_BY(mu_);
};

}  // namespace tokenstore
