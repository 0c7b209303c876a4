#include "replica/peer_stats.h"

#include <algorithm>

#include "common/log.h"

namespace tokenstore {

PeerStats::Evidence PeerStats::Classify(StatusCode code, bool channel_connected) {
  switch (code) {
    case StatusCode::kCancelled:         // we gave up on it
    case StatusCode::kDeadlineExceeded:  // slow, paused, or a crash-stopped token
      return Evidence::kNone;
    case StatusCode::kUnavailable:
      // Over a connected channel UNAVAILABLE is the peer's own answer ("is starting",
      // "does not serve"); otherwise gRPC could not reach it.
      return channel_connected ? Evidence::kAnswered : Evidence::kUnreachable;
    default:
      return Evidence::kAnswered;
  }
}

PeerStats::Peer& PeerStats::PeerLocked(const std::string& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) it = peers_.emplace(peer, std::make_unique<Peer>()).first;
  return *it->second;
}

void PeerStats::RecordRpc(const std::string& peer, const Status& status, bool channel_connected,
                          std::chrono::nanoseconds rtt) {
  const Evidence evidence = Classify(status.code(), channel_connected);
  const Clock::time_point now = Clock::now();
  enum { kNoChange, kNotYet, kFirstReached, kWentDown, kCameBack } change = kNoChange;
  double down_seconds = 0;
  uint64_t failed = 0;
  {
    MutexLock lock(&mu_);
    Peer& p = PeerLocked(peer);
    const int code = static_cast<int>(status.code());
    // CANCELLED is this node's own doing (a quorum was reached without the peer, or every
    // call of a batch gave up): not an error of the peer's.
    if (!status.ok() && status.code() != StatusCode::kCancelled && code >= 0 && code < kCodes) {
      ++p.errors[code];
    }
    if (evidence == Evidence::kAnswered) {
      p.rtt.Record(rtt);
      if (!p.up) {
        p.up = true;
        change = p.reached ? kCameBack : kFirstReached;
        down_seconds = std::chrono::duration<double>(now - p.down_since).count();
        failed = p.failed_while_down;
      }
      p.reached = true;
    } else if (evidence == Evidence::kUnreachable) {
      if (p.up) {
        p.up = false;
        p.down_since = now;
        p.failed_while_down = 0;
        if (p.reached) {
          ++p.unreachable_events;
          change = kWentDown;
        } else {
          change = kNotYet;
        }
      }
      ++p.failed_while_down;
    }
  }
  // Logged outside the lock; two transitions of one peer racing may log in either order,
  // but each is logged once.
  switch (change) {
    case kNoChange:
      break;
    case kNotYet:
      LogInfo("peer not reachable yet", {{"peer", peer},
                                         {"code", StatusCodeName(status.code())},
                                         {"error", status.message()}});
      break;
    case kFirstReached:
      LogInfo("peer reachable", {{"peer", peer},
                                 {"after_seconds", down_seconds},
                                 {"failed_rpcs", failed}});
      break;
    case kWentDown:
      LogWarn("peer unreachable", {{"peer", peer},
                                   {"code", StatusCodeName(status.code())},
                                   {"error", status.message()}});
      break;
    case kCameBack:
      LogInfo("peer reachable again",
              {{"peer", peer}, {"down_seconds", down_seconds}, {"failed_rpcs", failed}});
      break;
  }
}

void PeerStats::RecordBatch(const std::string& peer, size_t entries) {
  const auto bucket = static_cast<size_t>(
      std::lower_bound(kBatchBounds.begin(), kBatchBounds.end(), static_cast<double>(entries)) -
      kBatchBounds.begin());
  MutexLock lock(&mu_);
  Peer& p = PeerLocked(peer);
  ++p.batch[bucket];
  ++p.batch_count;
  p.batch_entries += entries;
}

std::vector<PeerStats::PeerSnapshot> PeerStats::Snapshot() const {
  std::vector<PeerSnapshot> out;
  MutexLock lock(&mu_);
  for (const auto& [name, p] : peers_) {
    PeerSnapshot s;
    s.peer = name;
    s.up = p->up;
    s.errors = p->errors;
    s.rtt = p->rtt.Read();
    s.batch = p->batch;
    s.batch_count = p->batch_count;
    s.batch_entries = p->batch_entries;
    s.unreachable_events = p->unreachable_events;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tokenstore
