#include "common/status.h"

#include <gtest/gtest.h>

namespace tokenstore {
namespace {

TEST(Status, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(Status::Ok().ToString(), "OK");
  Status st = Status::InvalidArgument("mid (30) must be below high (20)");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.ToString(), "INVALID_ARGUMENT: mid (30) must be below high (20)");
  EXPECT_EQ(st.WithContext("write").message(), "write: mid (30) must be below high (20)");
  EXPECT_EQ(static_cast<int>(StatusCode::kUnauthenticated), 16);  // mirrors gRPC
}

StatusOr<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd");
  return x / 2;
}

Status UseHalf(int x, int* out) {
  StatusOr<int> h = Half(x);
  TOKENSTORE_RETURN_IF_ERROR(h.status());
  *out = *h;
  return Status::Ok();
}

TEST(StatusOr, ValueOrError) {
  EXPECT_EQ(*Half(8), 4);
  EXPECT_EQ(Half(3).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Half(8).status().ok());
  int out = 0;
  EXPECT_TRUE(UseHalf(6, &out).ok());
  EXPECT_EQ(out, 3);
  EXPECT_FALSE(UseHalf(5, &out).ok());
}

}  // namespace
}  // namespace tokenstore
