#include "config/config_location.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace tokenstore {

ConfigLookup ConfigLookupFromEnvironment(std::optional<std::string> flag, bool default_paths) {
  ConfigLookup lookup;
  lookup.flag = std::move(flag);
  if (const char* env = std::getenv(kConfigEnvVar); env != nullptr && *env != '\0') {
    lookup.env = env;
  }
  if (!default_paths) lookup.default_paths.clear();
  return lookup;
}

StatusOr<ConfigLocation> FindConfigFile(const ConfigLookup& lookup) {
  if (lookup.flag) return ConfigLocation{*lookup.flag, "--config"};
  if (lookup.env) return ConfigLocation{*lookup.env, kConfigEnvVar};
  std::string looked = "--config not given, " + std::string(kConfigEnvVar) + " not set";
  for (const std::string& path : lookup.default_paths) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) return ConfigLocation{path, "default path"};
    looked += path.find('/') == std::string::npos ? ", no " + path + " in the current directory"
                                                  : ", no " + path;
  }
  return Status::InvalidArgument("no configuration file: " + looked +
                                 " (give --config FILE or set " + kConfigEnvVar + "=FILE)");
}

std::string Describe(const ConfigLocation& location) {
  if (location.source == "--config") return location.path;
  return location.path + " (from " + location.source + ")";
}

}  // namespace tokenstore
