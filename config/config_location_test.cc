#include "config/config_location.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tokenstore {
namespace {

class ConfigLocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "config-location-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    existing_ = dir_ + "/cluster.yaml";
    std::ofstream(existing_) << "- token: 1\n";
    missing_ = dir_ + "/etc/cluster.yaml";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_, existing_, missing_;
};

TEST_F(ConfigLocationTest, FlagThenEnvironmentThenTheFirstDefaultPathThatExists) {
  ConfigLookup lookup;
  lookup.flag = "flag.yaml";
  lookup.env = "env.yaml";
  lookup.default_paths = {missing_, existing_};
  StatusOr<ConfigLocation> found = FindConfigFile(lookup);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->path, "flag.yaml");
  EXPECT_EQ(found->source, "--config");
  EXPECT_EQ(Describe(*found), "flag.yaml");

  lookup.flag.reset();
  found = FindConfigFile(lookup);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->path, "env.yaml");  // taken as named, whether it exists or not
  EXPECT_EQ(Describe(*found), "env.yaml (from TOKENSTORE_CONFIG)");

  lookup.env.reset();
  found = FindConfigFile(lookup);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->path, existing_);  // the missing one before it is skipped
  EXPECT_EQ(found->source, "default path");
}

TEST_F(ConfigLocationTest, NoneFoundSaysEveryPlaceItLooked) {
  ConfigLookup lookup;
  lookup.default_paths = {"tokenstore-absent-cluster.yaml", missing_};
  StatusOr<ConfigLocation> found = FindConfigFile(lookup);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(found.status().message(),
            "no configuration file: --config not given, TOKENSTORE_CONFIG not set, no "
            "tokenstore-absent-cluster.yaml in the current directory, no " +
                missing_ + " (give --config FILE or set TOKENSTORE_CONFIG=FILE)");
}

TEST_F(ConfigLocationTest, DefaultsAreTheDocumentedPaths) {
  EXPECT_EQ(ConfigLookup{}.default_paths,
            (std::vector<std::string>{"cluster.yaml", "/etc/tokenstore/cluster.yaml"}));
}

TEST_F(ConfigLocationTest, EnvironmentIsReadAndEmptyMeansUnset) {
  ::setenv("TOKENSTORE_CONFIG", "from-env.yaml", 1);
  ConfigLookup lookup = ConfigLookupFromEnvironment(std::nullopt);
  EXPECT_EQ(lookup.env, "from-env.yaml");
  EXPECT_EQ(lookup.default_paths.size(), 2u);
  EXPECT_TRUE(ConfigLookupFromEnvironment("f.yaml", /*default_paths=*/false).default_paths.empty());
  ::setenv("TOKENSTORE_CONFIG", "", 1);
  EXPECT_FALSE(ConfigLookupFromEnvironment(std::nullopt).env.has_value());
  ::unsetenv("TOKENSTORE_CONFIG");
  EXPECT_FALSE(ConfigLookupFromEnvironment(std::nullopt).env.has_value());
}

// token-replica looks at --config and TOKENSTORE_CONFIG only.
TEST_F(ConfigLocationTest, WithoutDefaultPathsTheMessageSaysSo) {
  ::unsetenv("TOKENSTORE_CONFIG");
  StatusOr<ConfigLocation> found =
      FindConfigFile(ConfigLookupFromEnvironment(std::nullopt, /*default_paths=*/false));
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().message(),
            "no configuration file: --config not given, TOKENSTORE_CONFIG not set (give "
            "--config FILE or set TOKENSTORE_CONFIG=FILE)");
}

}  // namespace
}  // namespace tokenstore
