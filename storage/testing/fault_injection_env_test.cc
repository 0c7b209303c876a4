// Tests of the power-cut model itself: the durability tests of the store are only as good as
// what FaultInjectionEnv drops. Each test pins one rule of the file comment; a model that
// kept too much (and so let a missing sync pass) fails one of them.
#include "storage/testing/fault_injection_env.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>

#include "tests/test_support.h"

namespace tokenstore {
namespace {

namespace fs = std::filesystem;

class FaultInjectionEnvTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return tmp_.File(name); }

  // A file written through the env: `synced` bytes then Sync, then `unsynced` bytes.
  std::unique_ptr<rocksdb::WritableFile> Write(const std::string& name, const std::string& synced,
                                               const std::string& unsynced = "") {
    std::unique_ptr<rocksdb::WritableFile> f;
    EXPECT_TRUE(env_.NewWritableFile(Path(name), &f, {}).ok());
    if (f == nullptr) return f;
    EXPECT_TRUE(f->Append(synced).ok());
    EXPECT_TRUE(f->Sync().ok());
    EXPECT_TRUE(f->Append(unsynced).ok());
    return f;
  }

  void SyncDir() {
    std::unique_ptr<rocksdb::Directory> dir;
    ASSERT_TRUE(env_.NewDirectory(tmp_.path(), &dir).ok());
    ASSERT_TRUE(dir->Fsync().ok());
  }

  // What the file holds on disk; "<missing>" when it does not exist.
  std::string Read(const std::string& name) {
    if (!fs::exists(Path(name))) return "<missing>";
    std::string content;
    EXPECT_TRUE(rocksdb::ReadFileToString(rocksdb::Env::Default(), Path(name), &content).ok());
    return content;
  }

  void Cut() {
    env_.PowerCut();
    const rocksdb::Status s = env_.DropUnsyncedData();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  testing::TempDir tmp_{"storage_test"};
  FaultInjectionEnv env_;
};

TEST_F(FaultInjectionEnvTest, KeepsSyncedBytesAndDropsTheRest) {
  auto f = Write("f", "synced", "-lost");
  SyncDir();
  EXPECT_EQ(Read("f"), "synced-lost");  // written through, as into a page cache
  ASSERT_TRUE(f->Close().ok());
  Cut();
  EXPECT_EQ(Read("f"), "synced");
  EXPECT_EQ(env_.file_syncs(), 1u);
}

TEST_F(FaultInjectionEnvTest, FlushRangeSyncAndCloseMakeNothingDurable) {
  auto f = Write("f", "", "data");
  SyncDir();
  ASSERT_TRUE(f->Flush().ok());
  ASSERT_TRUE(f->RangeSync(0, 4).ok());
  ASSERT_TRUE(f->Close().ok());
  Cut();
  EXPECT_EQ(Read("f"), "");
}

TEST_F(FaultInjectionEnvTest, FsyncIsASyncToo) {
  std::unique_ptr<rocksdb::WritableFile> f;
  ASSERT_TRUE(env_.NewWritableFile(Path("f"), &f, {}).ok());
  ASSERT_TRUE(f->Append("kept").ok());
  ASSERT_TRUE(f->Fsync().ok());
  SyncDir();
  ASSERT_TRUE(f->Close().ok());
  Cut();
  EXPECT_EQ(Read("f"), "kept");
}

// LevelDB's rule: a synced file is not durable until its directory entry is.
TEST_F(FaultInjectionEnvTest, ACreatedFileVanishesUnlessItsDirectoryWasSynced) {
  Write("unnamed", "synced data")->Close().PermitUncheckedError();
  Write("named", "synced data")->Close().PermitUncheckedError();
  SyncDir();                                                     // makes both names durable ...
  Write("late", "synced data")->Close().PermitUncheckedError();  // ... not this one
  Cut();
  EXPECT_EQ(Read("named"), "synced data");
  EXPECT_EQ(Read("unnamed"), "synced data");
  EXPECT_EQ(Read("late"), "<missing>");
  EXPECT_EQ(env_.dir_syncs(), 1u);
}

// RocksDB's CURRENT: written to a temporary file, synced, renamed over the old one.
TEST_F(FaultInjectionEnvTest, AnUnsyncedRenameIsUndoneAndTheReplacedFileReturns) {
  Write("CURRENT", "old")->Close().PermitUncheckedError();
  SyncDir();
  Write("tmp", "new")->Close().PermitUncheckedError();
  ASSERT_TRUE(env_.RenameFile(Path("tmp"), Path("CURRENT")).ok());
  EXPECT_EQ(Read("CURRENT"), "new");
  Cut();
  EXPECT_EQ(Read("CURRENT"), "old");
  EXPECT_EQ(Read("tmp"), "<missing>");  // its creation was not durable either
}

TEST_F(FaultInjectionEnvTest, ASyncedRenameStays) {
  Write("CURRENT", "old")->Close().PermitUncheckedError();
  SyncDir();
  Write("tmp", "new", "-unsynced")->Close().PermitUncheckedError();
  ASSERT_TRUE(env_.RenameFile(Path("tmp"), Path("CURRENT")).ok());
  SyncDir();
  Cut();
  EXPECT_EQ(Read("CURRENT"), "new");  // and the unsynced tail, renamed along, is dropped
  EXPECT_EQ(Read("tmp"), "<missing>");
}

TEST_F(FaultInjectionEnvTest, AnUnsyncedDeleteIsUndoneWithTheSyncedContents) {
  Write("f", "synced", "-unsynced")->Close().PermitUncheckedError();
  SyncDir();
  ASSERT_TRUE(env_.DeleteFile(Path("f")).ok());
  Cut();
  EXPECT_EQ(Read("f"), "synced");

  ASSERT_TRUE(env_.DeleteFile(Path("f")).ok());
  SyncDir();
  Cut();
  EXPECT_EQ(Read("f"), "<missing>");
}

TEST_F(FaultInjectionEnvTest, FilesMadeBeforeTheEnvCountAsDurable) {
  ASSERT_TRUE(rocksdb::WriteStringToFile(rocksdb::Env::Default(), "outside", Path("f")).ok());
  ASSERT_TRUE(env_.DeleteFile(Path("f")).ok());
  Cut();
  EXPECT_EQ(Read("f"), "outside");
}

TEST_F(FaultInjectionEnvTest, WithoutPowerNothingChangesOnDisk) {
  auto f = Write("f", "synced");
  SyncDir();
  env_.PowerCut();
  EXPECT_FALSE(f->Append("more").ok());
  EXPECT_FALSE(f->Sync().ok());
  std::unique_ptr<rocksdb::WritableFile> g;
  EXPECT_FALSE(env_.NewWritableFile(Path("g"), &g, {}).ok());
  EXPECT_FALSE(env_.DeleteFile(Path("f")).ok());
  EXPECT_FALSE(env_.RenameFile(Path("f"), Path("h")).ok());
  EXPECT_EQ(Read("f"), "synced");
  EXPECT_EQ(Read("g"), "<missing>");
  EXPECT_TRUE(f->Close().ok());  // releases the descriptor all the same
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("f"), "synced");
  // The power is back.
  EXPECT_TRUE(env_.NewWritableFile(Path("g"), &g, {}).ok());
}

TEST_F(FaultInjectionEnvTest, InjectedErrorsHitTheirOperationAndPathOnly) {
  env_.InjectError(FaultInjectionEnv::Op::kAppend, ".log", ENOSPC);
  std::unique_ptr<rocksdb::WritableFile> log, sst;
  ASSERT_TRUE(env_.NewWritableFile(Path("a.log"), &log, {}).ok());
  ASSERT_TRUE(env_.NewWritableFile(Path("b.sst"), &sst, {}).ok());
  const rocksdb::Status s = log->Append("x");
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_EQ(s.ToString(), PosixError("While appending to file", Path("a.log"), ENOSPC).ToString());
  EXPECT_EQ(Read("a.log"), "");  // the failed write did not happen
  EXPECT_TRUE(log->Sync().ok());
  EXPECT_TRUE(sst->Append("x").ok());

  env_.InjectError(FaultInjectionEnv::Op::kSync, ".sst", EIO);
  EXPECT_EQ(sst->Sync().ToString(),
            "IO error: While fdatasync: " + Path("b.sst") + ": Input/output error");
  EXPECT_EQ(sst->Fsync().ToString(),
            "IO error: While fsync: " + Path("b.sst") + ": Input/output error");

  env_.InjectError(FaultInjectionEnv::Op::kOpenForRead, "b.sst", EACCES);
  std::unique_ptr<rocksdb::SequentialFile> in;
  EXPECT_EQ(env_.NewSequentialFile(Path("b.sst"), &in, {}).ToString(),
            "IO error: While opening a file for sequentially reading: " + Path("b.sst") +
                ": Permission denied");
  EXPECT_TRUE(env_.NewSequentialFile(Path("a.log"), &in, {}).ok());

  env_.InjectError(FaultInjectionEnv::Op::kCreate, "c.", EACCES);
  std::unique_ptr<rocksdb::WritableFile> c;
  EXPECT_EQ(env_.NewWritableFile(Path("c.log"), &c, {}).ToString(),
            "IO error: While open a file for appending: " + Path("c.log") + ": Permission denied");
  EXPECT_EQ(Read("c.log"), "<missing>");

  env_.ClearErrors();
  EXPECT_TRUE(log->Append("x").ok());
  EXPECT_TRUE(sst->Sync().ok());
  EXPECT_TRUE(env_.NewSequentialFile(Path("b.sst"), &in, {}).ok());
  EXPECT_TRUE(env_.NewWritableFile(Path("c.log"), &c, {}).ok());
}

// An injected error must read as the real one, or a test of the mapping would test a fake.
TEST_F(FaultInjectionEnvTest, PosixErrorIsWhatRocksDbsPosixEnvReturns) {
  std::unique_ptr<rocksdb::SequentialFile> in;
  const rocksdb::Status real = rocksdb::Env::Default()->NewSequentialFile(Path("none"), &in, {});
  const rocksdb::Status made =
      PosixError("While opening a file for sequentially reading", Path("none"), ENOENT);
  EXPECT_EQ(made.ToString(), real.ToString());
  EXPECT_EQ(made.code(), real.code());
  EXPECT_EQ(made.subcode(), real.subcode());
  EXPECT_TRUE(made.IsPathNotFound());

  std::unique_ptr<rocksdb::RandomAccessFile> random;
  EXPECT_EQ(rocksdb::Env::Default()->NewRandomAccessFile(Path("none"), &random, {}).ToString(),
            PosixError("While open a file for random read", Path("none"), ENOENT).ToString());
  std::unique_ptr<rocksdb::WritableFile> out;
  EXPECT_EQ(rocksdb::Env::Default()->NewWritableFile(Path("no/such"), &out, {}).ToString(),
            PosixError("While open a file for appending", Path("no/such"), ENOENT).ToString());

  const rocksdb::Status full = PosixError("While appending to file", "/d/1.log", ENOSPC);
  EXPECT_TRUE(full.IsNoSpace());
  EXPECT_EQ(full.ToString(),
            "IO error: No space left on device: While appending to file: /d/1.log: No space "
            "left on device");
  EXPECT_EQ(PosixError("While open a file for appending", "/d/1.log", EACCES).ToString(),
            "IO error: While open a file for appending: /d/1.log: Permission denied");
}

}  // namespace
}  // namespace tokenstore
