// token-client batch's input lines (client/batch.h). RunBatch itself runs against real nodes
// in tests/cluster_test.cc.
#include "client/batch.h"

#include <gtest/gtest.h>

namespace tokenstore {
namespace {

TEST(BatchLine, ParsesEachOperation) {
  StatusOr<std::optional<BatchOp>> w = ParseBatchLine("write 7 abc 5 25 100", 3);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(w->has_value());
  EXPECT_EQ((*w)->line, 3u);
  EXPECT_EQ((*w)->op, ClientOp::kWrite);
  EXPECT_EQ((*w)->id, "7");
  EXPECT_EQ((*w)->name, "abc");
  EXPECT_EQ((*w)->low, 5u);
  EXPECT_EQ((*w)->mid, 25u);
  EXPECT_EQ((*w)->high, 100u);
  for (auto [text, op] : {std::pair{"read 1", ClientOp::kRead},
                          std::pair{"  create\t1 ", ClientOp::kCreate},
                          std::pair{"drop 1\r", ClientOp::kDrop}}) {
    StatusOr<std::optional<BatchOp>> r = ParseBatchLine(text, 1);
    ASSERT_TRUE(r.ok() && r->has_value()) << text;
    EXPECT_EQ((*r)->op, op) << text;
    EXPECT_EQ((*r)->id, "1") << text;
  }
}

TEST(BatchLine, SkipsBlankLinesAndComments) {
  for (const char* text : {"", "   ", "# write 1 a 1 2 3", "\t#x"}) {
    StatusOr<std::optional<BatchOp>> r = ParseBatchLine(text, 1);
    ASSERT_TRUE(r.ok()) << text;
    EXPECT_FALSE(r->has_value()) << text;
  }
}

TEST(BatchLine, SaysWhatIsWrongAndWhere) {
  struct Case {
    const char* text;
    const char* says;
  };
  for (const Case& c : {
           Case{"wrte 1", "line 9: unknown operation \"wrte\" (write, read, create or drop)"},
           Case{"read", "line 9: \"read\" takes 1 argument(s): read ID (got 0)"},
           Case{"read 1 2", "\"read\" takes 1 argument(s)"},
           Case{"write 1 abc 5 25", "write ID NAME LOW MID HIGH (got 4)"},
           Case{"write 1 abc 5 x 100", "line 9: MID must be a whole number"},
           Case{"write 1 abc -5 25 100", "LOW must be a whole number"},
           Case{"write 1 abc 5 25 99999999999999999999", "HIGH must be a whole number"},
       }) {
    StatusOr<std::optional<BatchOp>> r = ParseBatchLine(c.text, 9);
    ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos)
        << c.text << ": " << r.status().message();
  }
}

}  // namespace
}  // namespace tokenstore
