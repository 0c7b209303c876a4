#include "bench/floor.h"

#include <gtest/gtest.h>

namespace tokenstore::bench {
namespace {

FloorMeasure At(const std::string& name, uint64_t ns) {
  FloorMeasure m;
  m.name = name;
  m.seconds = 1;
  m.latency.Record(ns);
  return m;
}

TEST(FloorTest, DerivesTheFloorsFromTheMedians) {
  FloorResult r;
  r.measures = {At("sync_write_1", 200'000), At("unary_callback_1", 100'000),
                At("unary_async_1", 90'000), At("stream_1", 70'000)};
  const std::vector<Floor> floors = DeriveFloors(r);
  ASSERT_EQ(floors.size(), 4u);
  EXPECT_EQ(floors[0].transport, "unary_callback");
  EXPECT_DOUBLE_EQ(floors[0].write_us(), 2 * 100 + 200);
  EXPECT_DOUBLE_EQ(floors[0].read_us(), 2 * 100);
  EXPECT_EQ(floors[1].transport, "unary_async");
  EXPECT_DOUBLE_EQ(floors[1].read_us(), 2 * 90);
  // "unary" is the faster of the two server APIs.
  EXPECT_EQ(floors[2].transport, "unary");
  EXPECT_EQ(floors[2].api, "async");
  EXPECT_DOUBLE_EQ(floors[2].write_us(), 2 * 90 + 200);
  EXPECT_EQ(floors[3].transport, "stream");
  EXPECT_DOUBLE_EQ(floors[3].write_us(), 2 * 70 + 200);
  EXPECT_DOUBLE_EQ(floors[3].read_us(), 2 * 70);
}

TEST(FloorTest, NoFloorsWithoutTheirMeasures) {
  FloorResult r;
  r.measures = {At("sync_write_1", 200'000)};
  EXPECT_TRUE(DeriveFloors(r).empty());
}

}  // namespace
}  // namespace tokenstore::bench
