#include "common/check.h"

#include <gtest/gtest.h>

#include <string>

namespace tokenstore {
namespace {

TEST(TsCheck, PassingCheckDoesNotBuildItsMessage) {
  int built = 0;
  auto what = [&] {
    ++built;
    return std::string("unused");
  };
  TS_CHECK(1 + 1 == 2, what());
  EXPECT_EQ(built, 0);
}

TEST(TsCheckDeathTest, FailingCheckNamesFileLineAndConditionThenAborts) {
  const int stored = 5;
  EXPECT_DEATH(TS_CHECK(stored < 3, "stored is " + std::to_string(stored)),
               "check_test.cc:[0-9]+: TS_CHECK\\(stored < 3\\) failed: stored is 5");
}

}  // namespace
}  // namespace tokenstore
