#include "config/config_cache.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>


namespace tokenstore {
namespace {

namespace fs = std::filesystem;

constexpr char kSuffix[] = ".config";

std::string HexSha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return "";
  }
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    const unsigned char b = digest[i];
    hex.push_back("0123456789abcdef"[b >> 4]);
    hex.push_back("0123456789abcdef"[b & 0xf]);
  }
  return hex;
}

bool ReadWhole(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buf;
  buf << in.rdbuf();
  *out = std::move(buf).str();
  return !in.bad();
}

// Writes `bytes` as `path` through a temporary file in the same directory; false on any error.
bool WriteAtomically(const fs::path& path, const std::string& bytes) {
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return false;
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fs::remove(tmp, ec);
  return !ec;
}

// Keeps the `keep` most recently written entries of `dir`.
void Prune(const fs::path& dir, size_t keep) {
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != kSuffix) continue;
    std::error_code time_ec;
    const fs::file_time_type when = e.last_write_time(time_ec);
    if (!time_ec) entries.emplace_back(when, e.path());
  }
  if (entries.size() <= keep) return;
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = keep; i < entries.size(); ++i) fs::remove(entries[i].second, ec);
}

}  // namespace

std::string DefaultConfigCacheDir() {
  if (const char* explicit_dir = std::getenv("TOKENSTORE_CONFIG_CACHE")) {
    const std::string dir = explicit_dir;
    return dir == "off" ? "" : dir;
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/') {
    return std::string(xdg) + "/tokenstore";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    return std::string(home) + "/.cache/tokenstore";
  }
  return "";
}

StatusOr<ClusterConfig> LoadClusterConfigCached(const std::string& path,
                                                const ConfigCacheOptions& options) {
  StatusOr<std::string> text = ReadClusterConfigFile(path);
  if (!text.ok()) return text.status();
  if (options.dir.empty() || text->size() < options.min_bytes) {
    return ParseClusterConfig(*text, path);
  }
  const std::string key = HexSha256(*text);
  if (key.empty()) return ParseClusterConfig(*text, path);
  const fs::path entry = fs::path(options.dir) / (key + kSuffix);
  std::string cached;
  if (ReadWhole(entry, &cached)) {
    StatusOr<ClusterConfig> config = DecodeClusterConfig(cached, path);
    if (config.ok()) return config;
  }
  StatusOr<ClusterConfig> config = ParseClusterConfig(*text, path);
  if (!config.ok()) return config;  // invalid files are not cached: each call says why
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (!ec) {
    fs::permissions(options.dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (WriteAtomically(entry, EncodeClusterConfig(*config))) Prune(options.dir, options.max_entries);
  }
  return config;
}

}  // namespace tokenstore
