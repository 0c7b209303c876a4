// A cache of parsed cluster files for the command-line tools, so that one token-client call
// does not pay yaml-cpp's parse of a large file (100,000 per-token entries take seconds).
//
// An entry is the parsed config in its compact binary form (EncodeClusterConfig), stored under
// the SHA-256 of the file's exact bytes: a file that changes in any byte has another key, so
// a cached parse can never stand for a different file, and a client can never send a write to
// a writer the file no longer names. A damaged or unreadable entry (checksum, bounds, another
// format version) is ignored and replaced. Only files of at least `min_bytes` are cached;
// small ones parse faster than their cache entry loads. The cache is best effort: any error
// writing it is ignored, and the load answers as LoadClusterConfig would.
//
// Thread-safety: entries are written to a temporary file and renamed into place, so
// concurrent processes sharing a directory see whole entries or none.
#pragma once

#include <cstddef>
#include <string>

#include "common/status.h"
#include "config/cluster_config.h"

namespace tokenstore {

struct ConfigCacheOptions {
  std::string dir;                // "": no cache
  size_t min_bytes = 1 << 20;     // smaller files are parsed every time
  size_t max_entries = 8;         // older entries are removed when a new one is written
};

// $TOKENSTORE_CONFIG_CACHE if set ("" or "off": no cache), else $XDG_CACHE_HOME/tokenstore,
// else $HOME/.cache/tokenstore, else "" (no cache).
std::string DefaultConfigCacheDir();

// LoadClusterConfig(path), through the cache in options.dir.
StatusOr<ClusterConfig> LoadClusterConfigCached(const std::string& path,
                                                const ConfigCacheOptions& options);

}  // namespace tokenstore
