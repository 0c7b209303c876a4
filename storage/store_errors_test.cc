// The RocksDB store's I/O errors, injected through FaultInjectionEnv (issue 11, item 9):
// after a failed write it refuses writes until reopened, and each kind of error reaches the
// caller as the status code the store documents, naming the directory. Tests run as root in
// CI, where chmod does not deny anything, so permission errors are injected too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "storage/rocksdb_register_store.h"
#include "storage/testing/fault_injection_env.h"
#include "storage/testing/test_registers.h"
#include "tests/test_support.h"

namespace tokenstore {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

class StoreErrorsTest : public ::testing::Test {
 protected:
  std::string Dir() const { return tmp_.File("store"); }

  StatusOr<std::unique_ptr<RocksDbRegisterStore>> Open(bool create = true) {
    RocksDbOptions opts;
    opts.create_if_missing = create;
    opts.env_for_tests = &env_;
    return RocksDbRegisterStore::Open(Dir(), opts);
  }

  std::unique_ptr<RocksDbRegisterStore> OpenOrDie() {
    StatusOr<std::unique_ptr<RocksDbRegisterStore>> store = Open();
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Makes the store once, so that later opens find it.
  void MakeStore() { ASSERT_NE(OpenOrDie(), nullptr); }

  testing::TempDir tmp_{"store_errors_test"};
  FaultInjectionEnv env_;
};

// RocksDbRegisterStore::Write: "A failed write leaves the disk state uncertain; the store
// then refuses further writes until it is reopened, which reloads the truth from disk."
// Reads go on from memory, which holds what was acknowledged. Catches a store that forgot
// the error (its later writes would reach RocksDB and fail with RocksDB's own message, or,
// once RocksDB recovers, succeed against a memory copy that no longer matches the disk), and
// one that applied the failed write to memory. Verified: with CheckWritable returning OK,
// every refused call returns RocksDB's INTERNAL "write failed: IO error: While fdatasync ..."
// instead.
TEST_F(StoreErrorsTest, AFailedWriteMakesTheStoreRefuseWritesUntilReopened) {
  std::unique_ptr<RocksDbRegisterStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->StoreIfNewer("t", Defined(1, "acked")).ok());

  env_.InjectError(FaultInjectionEnv::Op::kSync, ".log", EIO);
  StatusOr<Stamp> failed = store->StoreIfNewer("t", Defined(2, "failed"));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kInternal) << failed.status().ToString();
  EXPECT_THAT(failed.status().message(),
              MatchesRegex(Dir() + ": write failed: IO error: While fdatasync: " + Dir() +
                           "/[0-9]+\\.log: Input/output error"));
  env_.ClearErrors();  // the disk works again; the store must not trust its memory all the same

  EXPECT_EQ(*store->Get("t"), Defined(1, "acked"));  // never the failed write
  const std::string refusal = Dir() +
                              ": refusing writes after an earlier write error (reopen the "
                              "store): " +
                              failed.status().message();
  auto expect_refused = [&](const Status& st, const char* call) {
    EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << call << ": " << st.ToString();
    EXPECT_EQ(st.message(), refusal) << call;
  };
  expect_refused(store->StoreIfNewer("t", Defined(3, "later")).status(), "StoreIfNewer");
  expect_refused(store->StoreIfNewer("other", Defined(1, "x")).status(), "StoreIfNewer other");
  const std::vector<StoreItem> items = {{"a", Defined(1, "a")}, {"b", Dropped(2)}};
  for (const StatusOr<Stamp>& held : store->StoreIfNewerBatch(items)) {
    expect_refused(held.status(), "StoreIfNewerBatch");
  }
  expect_refused(store->ReserveTimestamps("t", 100), "ReserveTimestamps");
  expect_refused(store->SetCrashed("t", true), "SetCrashed");
  expect_refused(store->PutNodeRecord("identity", "x"), "PutNodeRecord");
  EXPECT_EQ(*store->Get("t"), Defined(1, "acked"));
  EXPECT_EQ(store->Get("other")->ts, 0u);
  EXPECT_EQ(*store->GetReservedTimestamp("t"), 0u);

  // Reopened, the store reads the truth from disk (the failed write may or may not be
  // there) and writes again.
  store.reset();
  store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(*store->Get("t"), AnyOf(Eq(Defined(1, "acked")), Eq(Defined(2, "failed"))));
  EXPECT_TRUE(store->StoreIfNewer("t", Defined(3, "after reopen")).ok());
  EXPECT_TRUE(store->PutNodeRecord("identity", "x").ok());
}

// A failed batch fails the items that needed the write, and only those (RegisterStore).
TEST_F(StoreErrorsTest, AFailedBatchFailsTheItemsThatNeededTheWrite) {
  std::unique_ptr<RocksDbRegisterStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->StoreIfNewer("held", Defined(5, "held")).ok());
  env_.InjectError(FaultInjectionEnv::Op::kAppend, ".log", EIO);
  Register bad = Defined(9, "bad");
  bad.value.kind = static_cast<ValueKind>(7);
  const std::vector<StoreItem> items = {
      {"new", Defined(1, "new")}, {"held", Defined(4, "older")}, {"bad", bad}};
  const std::vector<StatusOr<Stamp>> held = store->StoreIfNewerBatch(items);
  ASSERT_EQ(held.size(), 3u);
  EXPECT_EQ(held[0].status().code(), StatusCode::kInternal) << held[0].status().ToString();
  EXPECT_THAT(held[0].status().message(), StartsWith(Dir() + ": write failed: IO error: "));
  ASSERT_TRUE(held[1].ok()) << held[1].status().ToString();  // not newer: needed no write
  EXPECT_EQ(held[1]->ts, 5u);
  EXPECT_EQ(held[2].status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Get("new")->ts, 0u);
}

// The mapping tests below were verified to fail (INTERNAL) without the IsNoSpace and the
// "Permission denied" cases of FromRocks in rocksdb_register_store.cc.

// A full disk is RESOURCE_EXHAUSTED (an operator frees space), not INTERNAL, in a write ...
TEST_F(StoreErrorsTest, NoSpaceInAWriteIsResourceExhausted) {
  std::unique_ptr<RocksDbRegisterStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  env_.InjectError(FaultInjectionEnv::Op::kAppend, ".log", ENOSPC);
  StatusOr<Stamp> held = store->StoreIfNewer("t", Defined(1, "x"));
  EXPECT_EQ(held.status().code(), StatusCode::kResourceExhausted) << held.status().ToString();
  EXPECT_THAT(held.status().message(),
              MatchesRegex(Dir() +
                           ": write failed: IO error: No space left on device: While "
                           "appending to file: " +
                           Dir() + "/[0-9]+\\.log: No space left on device"));
}

// ... and at open, where RocksDB writes a new WAL and MANIFEST before anything else.
TEST_F(StoreErrorsTest, NoSpaceAtOpenIsResourceExhausted) {
  MakeStore();
  env_.InjectError(FaultInjectionEnv::Op::kAppend, Dir(), ENOSPC);
  Status st = Open(/*create=*/false).status();
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted) << st.ToString();
  EXPECT_THAT(st.message(),
              MatchesRegex(Dir() +
                           ": cannot open the database: IO error: No space left on "
                           "device: While appending to file: " +
                           Dir() + "/[A-Z0-9-]+(\\.[a-z]+)?: No space left on device"));
  env_.ClearErrors();
  EXPECT_TRUE(Open(/*create=*/false).ok());  // nothing was lost on the way
}

// EACCES, as a data dir owned by another user gives, is PERMISSION_DENIED naming the file,
// whether RocksDB meets it reading the database ...
TEST_F(StoreErrorsTest, PermissionDeniedReadingIsPermissionDenied) {
  MakeStore();
  env_.InjectError(FaultInjectionEnv::Op::kOpenForRead, "/CURRENT", EACCES);
  Status st = Open(/*create=*/false).status();
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << st.ToString();
  EXPECT_EQ(st.message(), Dir() +
                              ": cannot read the database: IO error: While opening a file for "
                              "sequentially reading: " +
                              Dir() + "/CURRENT: Permission denied");
}

// ... or creating its files.
TEST_F(StoreErrorsTest, PermissionDeniedCreatingFilesIsPermissionDenied) {
  MakeStore();
  env_.InjectError(FaultInjectionEnv::Op::kCreate, Dir(), EACCES);
  Status st = Open(/*create=*/false).status();
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << st.ToString();
  EXPECT_THAT(st.message(),
              MatchesRegex(Dir() +
                           ": cannot open the database: IO error: While open a file for "
                           "appending: " +
                           Dir() + "/[A-Z0-9-]+(\\.[a-z]+)?: Permission denied"));
}

}  // namespace
}  // namespace tokenstore
