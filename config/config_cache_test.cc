#include "config/config_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace tokenstore {
namespace {

namespace fs = std::filesystem;

const char kYaml[] =
    "- token: one\n"
    "  writer: 127.0.0.1:1\n"
    "  readers: [127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3]\n"
    "- tokens: [b, a, c]\n"
    "  writer: 127.0.0.1:2\n"
    "  readers: [127.0.0.1:3, 127.0.0.1:2]\n"
    "- tokens: {prefix: t, from: 5, to: 99999}\n"
    "  writer: 127.0.0.1:3\n"
    "  readers: [127.0.0.1:1, 127.0.0.1:3]\n"
    "- tokens: {prefix: t, from: 100000, to: 100002}\n"
    "  writer: 127.0.0.1:1\n"
    "  readers: [127.0.0.1:1]\n";

// What a config says, token by token, in file order: id, writer, sorted readers, line.
std::vector<std::string> Describe(const ClusterConfig& config) {
  std::vector<std::string> out;
  config.ForEach([&out](const TokenReplication& t) {
    if (out.size() < 20 || t.id == "t99999" || t.id == "t100002") {
      out.push_back(t.id + " " + t.ViewString() + " line " + std::to_string(t.line()));
    }
    return true;
  });
  out.push_back("size " + std::to_string(config.size()));
  return out;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/config-cache-test.XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

size_t Entries(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().extension() == ".config";
  return n;
}

TEST(ConfigEncoding, RoundTripKeepsEveryTokenAndLookup) {
  StatusOr<ClusterConfig> parsed = ParseClusterConfig(kYaml, "c.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const std::string bytes = EncodeClusterConfig(*parsed);
  StatusOr<ClusterConfig> decoded = DecodeClusterConfig(bytes, "c.yaml");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(Describe(*decoded), Describe(*parsed));
  EXPECT_EQ(decoded->source, "c.yaml");
  for (const char* id : {"one", "a", "b", "c", "t5", "t77777", "t100001"}) {
    ASSERT_TRUE(decoded->Find(id)) << id;
    EXPECT_EQ(decoded->Find(id)->writer(), parsed->Find(id)->writer()) << id;
    EXPECT_EQ(decoded->Find(id)->Fingerprint(), parsed->Find(id)->Fingerprint()) << id;
  }
  EXPECT_FALSE(decoded->Find("t4"));
  EXPECT_FALSE(decoded->Find("d"));
  EXPECT_EQ(decoded->CountOf("127.0.0.1:1"), parsed->CountOf("127.0.0.1:1"));
  // The ranges stay ranges: the encoding is small.
  EXPECT_LT(bytes.size(), 400u);
}

// Damage anywhere is found (checksum, bounds, format), never decoded into another config.
TEST(ConfigEncoding, DamagedBytesAreRefused) {
  StatusOr<ClusterConfig> parsed = ParseClusterConfig(kYaml, "c.yaml");
  ASSERT_TRUE(parsed.ok());
  const std::string bytes = EncodeClusterConfig(*parsed);
  for (size_t at = 0; at < bytes.size(); ++at) {
    std::string flipped = bytes;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x10);
    EXPECT_FALSE(DecodeClusterConfig(flipped, "c.yaml").ok()) << "byte " << at;
  }
  for (size_t length = 0; length < bytes.size(); ++length) {
    EXPECT_FALSE(DecodeClusterConfig(bytes.substr(0, length), "c.yaml").ok()) << length;
  }
  const Status st = DecodeClusterConfig(bytes + "x", "c.yaml").status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("c.yaml"), std::string::npos) << st.message();
}

// The safety of the cache: its key is the file's bytes, so an edited file is parsed again and
// a cached parse of the old text is never used for the new one.
TEST(ConfigCache, AnEditedFileIsNeverAnsweredFromTheOldEntry) {
  TempDir dir;
  const std::string file = dir.path() + "/cluster.yaml";
  const ConfigCacheOptions options{dir.path() + "/cache", /*min_bytes=*/0, /*max_entries=*/8};
  WriteFile(file, kYaml);
  StatusOr<ClusterConfig> first = LoadClusterConfigCached(file, options);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(Entries(options.dir), 1u);
  StatusOr<ClusterConfig> again = LoadClusterConfigCached(file, options);  // from the entry
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Describe(*again), Describe(*first));
  EXPECT_EQ(again->source, file);

  // The writer of t5 ... t99999 moves from 127.0.0.1:3 to 127.0.0.1:1.
  std::string edited = kYaml;
  edited.replace(edited.find("  writer: 127.0.0.1:3"), 21, "  writer: 127.0.0.1:1");
  WriteFile(file, edited);
  StatusOr<ClusterConfig> after = LoadClusterConfigCached(file, options);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->Find("t500")->writer(), "127.0.0.1:1");
  EXPECT_EQ(Entries(options.dir), 2u);

  // An invalid file is reported as such, whatever the cache holds.
  WriteFile(file, edited + "- token: one\n  writer: 127.0.0.1:1\n  readers: [127.0.0.1:1]\n");
  const Status invalid = LoadClusterConfigCached(file, options).status();
  EXPECT_EQ(invalid.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(invalid.message().find("listed twice"), std::string::npos) << invalid.message();
}

TEST(ConfigCache, DamagedEntryIsReplacedAndOldEntriesPruned) {
  TempDir dir;
  const std::string file = dir.path() + "/cluster.yaml";
  const ConfigCacheOptions options{dir.path() + "/cache", 0, 2};
  WriteFile(file, kYaml);
  ASSERT_TRUE(LoadClusterConfigCached(file, options).ok());
  ASSERT_EQ(Entries(options.dir), 1u);
  const fs::path entry = fs::directory_iterator(options.dir)->path();
  WriteFile(entry, "tokenstore-config/1\ngarbage");
  StatusOr<ClusterConfig> loaded = LoadClusterConfigCached(file, options);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->size(), 1u + 3u + 99995u + 3u);
  StatusOr<ClusterConfig> reread = DecodeClusterConfig(
      [&] {
        std::ifstream in(entry, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
      }(),
      file);
  EXPECT_TRUE(reread.ok()) << "the damaged entry was rewritten";
  for (int i = 0; i < 3; ++i) {
    WriteFile(file, std::string(kYaml) + "# edit " + std::to_string(i) + "\n");
    ASSERT_TRUE(LoadClusterConfigCached(file, options).ok());
  }
  EXPECT_EQ(Entries(options.dir), 2u);
}

TEST(ConfigCache, SmallFilesAndNoDirectoryBypassTheCache) {
  TempDir dir;
  const std::string file = dir.path() + "/cluster.yaml";
  WriteFile(file, kYaml);
  ASSERT_TRUE(LoadClusterConfigCached(file, {dir.path() + "/cache", 1 << 20, 8}).ok());
  EXPECT_FALSE(fs::exists(dir.path() + "/cache"));
  ASSERT_TRUE(LoadClusterConfigCached(file, {"", 0, 8}).ok());
  EXPECT_EQ(LoadClusterConfigCached(dir.path() + "/missing.yaml", {dir.path(), 0, 8}).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace tokenstore
