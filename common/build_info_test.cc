#include "common/build_info.h"

#include <gtest/gtest.h>

#include <regex>

#include "common/cli.h"

namespace tokenstore {
namespace {

TEST(BuildInfo, VersionIsTheProjectsAndGitAHashOrUnknown) {
  EXPECT_EQ(BuildVersion(), TOKENSTORE_VERSION);  // CMake's project(VERSION)
  EXPECT_TRUE(
      std::regex_match(std::string(BuildGit()), std::regex("[0-9a-f]{4,40}(-dirty)?|unknown")))
      << BuildGit();
  EXPECT_TRUE(std::regex_match(std::string(BuildDate()), std::regex("\\d{4}-\\d{2}-\\d{2}")))
      << BuildDate();
}

TEST(BuildInfo, VersionLine) {
  EXPECT_EQ(VersionLine("token-client"), "token-client " + std::string(TOKENSTORE_VERSION) +
                                             " (git " + std::string(BuildGit()) + ", built " +
                                             std::string(BuildDate()) + ")");
}

TEST(BuildInfo, VersionFlagPrintsTheLineAndExitsZero) {
  CLI::App app;
  app.require_subcommand(1);  // --version wins over what else the command needs
  std::string config;
  app.add_option("--config", config)->required();
  app.add_subcommand("read");
  AddVersionFlag(app, "token-x");
  const char* argv[] = {"token-x", "--version"};
  std::optional<CliExit> exit = ParseCommandLine(app, 2, argv, "token-x", "hint");
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->code, 0);
  EXPECT_EQ(exit->out, VersionLine("token-x") + "\n");
  EXPECT_EQ(exit->err, "");
}

}  // namespace
}  // namespace tokenstore
