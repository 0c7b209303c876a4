// Where a program finds the replication scheme (SPEC section 8): the first of
//   1. --config FILE
//   2. the environment variable TOKENSTORE_CONFIG (when set and not empty)
//   3. ./cluster.yaml, if it exists
//   4. /etc/tokenstore/cluster.yaml, if it exists
// token-client and token-admin use all four. token-replica uses 1 and 2 only: a server that
// picked up whichever cluster.yaml lay in the directory it was started from could join the
// wrong cluster, so it is told which file to serve.
//
// A --config or TOKENSTORE_CONFIG naming a missing file is not skipped: loading it fails and
// says so. Only the default paths are tried "if it exists".
//
// Thread-safety: FindConfigFile is pure; ConfigLookupFromEnvironment reads the environment.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace tokenstore {

inline constexpr char kConfigEnvVar[] = "TOKENSTORE_CONFIG";
inline constexpr char kLocalConfigPath[] = "cluster.yaml";
inline constexpr char kSystemConfigPath[] = "/etc/tokenstore/cluster.yaml";

struct ConfigLookup {
  std::optional<std::string> flag;  // --config, when given
  std::optional<std::string> env;   // TOKENSTORE_CONFIG, when set and not empty
  std::vector<std::string> default_paths = {kLocalConfigPath, kSystemConfigPath};
};

// `flag` with TOKENSTORE_CONFIG from this process's environment; the default paths unless
// `default_paths` is false (token-replica).
ConfigLookup ConfigLookupFromEnvironment(std::optional<std::string> flag,
                                         bool default_paths = true);

struct ConfigLocation {
  std::string path;
  // How it was found: "--config", "TOKENSTORE_CONFIG" or "default path".
  std::string source;
};

// The file to load. INVALID_ARGUMENT naming every place looked at when there is none:
//   "no configuration file: --config not given, TOKENSTORE_CONFIG not set, no cluster.yaml in
//    the current directory, no /etc/tokenstore/cluster.yaml"
StatusOr<ConfigLocation> FindConfigFile(const ConfigLookup& lookup);

// "config.yaml (from TOKENSTORE_CONFIG)" and the like, for messages; just the path for
// --config.
std::string Describe(const ConfigLocation& location);

}  // namespace tokenstore
