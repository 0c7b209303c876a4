// PeerStats: what an RPC's outcome says of its peer, the edge-triggered unreachable and
// reachable-again events, and the counts the metrics are made of.
#include "replica/peer_stats.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "common/log_capture.h"

namespace tokenstore {
namespace {

using namespace std::chrono_literals;
using Evidence = PeerStats::Evidence;

TEST(PeerStatsClassify, OnlyUnavailableOverADisconnectedChannelMeansUnreachable) {
  EXPECT_EQ(PeerStats::Classify(StatusCode::kUnavailable, false), Evidence::kUnreachable);
  // The peer's own UNAVAILABLE ("is starting") comes over a connected channel.
  EXPECT_EQ(PeerStats::Classify(StatusCode::kUnavailable, true), Evidence::kAnswered);
  EXPECT_EQ(PeerStats::Classify(StatusCode::kOk, true), Evidence::kAnswered);
  EXPECT_EQ(PeerStats::Classify(StatusCode::kFailedPrecondition, true), Evidence::kAnswered);
  EXPECT_EQ(PeerStats::Classify(StatusCode::kPermissionDenied, false), Evidence::kAnswered);
  EXPECT_EQ(PeerStats::Classify(StatusCode::kCancelled, false), Evidence::kNone);
  EXPECT_EQ(PeerStats::Classify(StatusCode::kDeadlineExceeded, false), Evidence::kNone);
}

class PeerStatsLog : public ::testing::Test {
 protected:
  std::string Written() { return log_.Written(); }
  static size_t Count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }
  LogCapture log_;
  PeerStats stats_;
};

TEST_F(PeerStatsLog, OneEventPerTransitionWithErrorAndDowntime) {
  const std::string peer = "127.0.0.1:50052";
  stats_.RecordRpc(peer, Status::Ok(), true, 2ms);
  EXPECT_EQ(Written(), "");  // reachable from the start: nothing to say
  for (int i = 0; i < 3; ++i) {
    stats_.RecordRpc(peer, Status::Unavailable("failed to connect to all addresses"), false,
                     1ms);
  }
  stats_.RecordRpc(peer, Status::DeadlineExceeded("late"), false, 1ms);  // no evidence
  std::this_thread::sleep_for(20ms);
  stats_.RecordRpc(peer, Status::Ok(), true, 3ms);
  stats_.RecordRpc(peer, Status::Ok(), true, 3ms);
  const std::string out = Written();
  EXPECT_EQ(Count(out, "msg=\"peer unreachable\""), 1u) << out;
  EXPECT_EQ(Count(out, "msg=\"peer reachable again\""), 1u) << out;
  EXPECT_NE(out.find("level=warn msg=\"peer unreachable\" peer=127.0.0.1:50052 code=UNAVAILABLE "
                     "error=\"failed to connect to all addresses\"\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("level=info msg=\"peer reachable again\" peer=127.0.0.1:50052 down_seconds="),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(" failed_rpcs=3\n"), std::string::npos) << out;
  // The down time is at least the 20 ms slept.
  const size_t at = out.find("down_seconds=");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GE(std::stod(out.substr(at + 13)), 0.02) << out;
  EXPECT_LT(out.find("peer unreachable"), out.find("peer reachable again"));
}

TEST_F(PeerStatsLog, APeerNotReachedYetIsInfoAndNoLoss) {
  const std::string peer = "127.0.0.1:50053";
  stats_.RecordRpc(peer, Status::Unavailable("connection refused"), false, 1ms);
  stats_.RecordRpc(peer, Status::Unavailable("connection refused"), false, 1ms);
  EXPECT_FALSE(stats_.Snapshot()[0].up);
  stats_.RecordRpc(peer, Status::Ok(), true, 1ms);
  std::string out = Written();
  EXPECT_NE(out.find("level=info msg=\"peer not reachable yet\" peer=127.0.0.1:50053 "
                     "code=UNAVAILABLE error=\"connection refused\"\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("level=info msg=\"peer reachable\" peer=127.0.0.1:50053 after_seconds="),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(" failed_rpcs=2\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("level=warn"), std::string::npos) << out;
  EXPECT_EQ(stats_.Snapshot()[0].unreachable_events, 0u);
  EXPECT_TRUE(stats_.Snapshot()[0].up);

  // Once reached, a loss is a warning and counts.
  stats_.RecordRpc(peer, Status::Unavailable("connection refused"), false, 1ms);
  out = Written();
  EXPECT_NE(out.find("level=warn msg=\"peer unreachable\" peer=127.0.0.1:50053"),
            std::string::npos)
      << out;
  EXPECT_EQ(stats_.Snapshot()[0].unreachable_events, 1u);
}

TEST_F(PeerStatsLog, SnapshotCountsErrorsRttBatchesAndTransitions) {
  stats_.RecordRpc("a:1", Status::Ok(), true, 1ms);
  stats_.RecordRpc("a:1", Status::Unavailable("is starting"), true, 1ms);  // the peer's answer
  stats_.RecordRpc("b:2", Status::Unavailable("connection refused"), false, 1ms);
  stats_.RecordRpc("b:2", Status::Cancelled("abandoned"), false, 1ms);
  stats_.RecordBatch("a:1", 1);
  stats_.RecordBatch("a:1", 3);
  stats_.RecordBatch("a:1", 2000);
  const std::vector<PeerStats::PeerSnapshot> s = stats_.Snapshot();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].peer, "a:1");
  EXPECT_TRUE(s[0].up);
  EXPECT_EQ(s[0].rtt.count, 2u);  // both answered
  EXPECT_EQ(s[0].errors[static_cast<int>(StatusCode::kUnavailable)], 1u);
  EXPECT_EQ(s[0].batch_count, 3u);
  EXPECT_EQ(s[0].batch_entries, 2004u);
  EXPECT_EQ(s[0].batch[0], 1u);                          // <= 1
  EXPECT_EQ(s[0].batch[2], 1u);                          // <= 4
  EXPECT_EQ(s[0].batch[PeerStats::kBatchBounds.size()], 1u);  // above 1024
  EXPECT_EQ(s[0].unreachable_events, 0u);
  EXPECT_EQ(s[1].peer, "b:2");
  EXPECT_FALSE(s[1].up);
  EXPECT_EQ(s[1].rtt.count, 0u);
  EXPECT_EQ(s[1].unreachable_events, 0u);  // never reached: not a loss
  EXPECT_EQ(s[1].errors[static_cast<int>(StatusCode::kUnavailable)], 1u);
  // The node's own cancellations are not the peer's errors.
  EXPECT_EQ(s[1].errors[static_cast<int>(StatusCode::kCancelled)], 0u);
  const std::string out = Written();
  EXPECT_EQ(Count(out, "peer not reachable yet"), 1u) << out;
  EXPECT_NE(out.find("peer=b:2"), std::string::npos) << out;
  EXPECT_EQ(out.find("peer=a:1"), std::string::npos) << out;
}

}  // namespace
}  // namespace tokenstore
