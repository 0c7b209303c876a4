// DirSnapshot: what a test compares to tell that a directory was left untouched. Test code
// only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace tokenstore {

struct FileSnapshot {
  bool is_directory = false;
  uint64_t size = 0;
  std::string content;  // the whole file: test directories are small
  std::filesystem::file_time_type mtime;

  friend bool operator==(const FileSnapshot&, const FileSnapshot&) = default;
};

// Every file and directory below `dir` (and `dir` itself, as "."), by path relative to `dir`.
using DirSnapshot = std::map<std::string, FileSnapshot>;

DirSnapshot SnapshotDir(const std::string& dir);

// One line per difference ("added X", "removed X", "X: size 3 -> 5", "X: contents changed",
// "X: modification time changed"); empty when the snapshots are equal.
std::vector<std::string> DirChanges(const DirSnapshot& before, const DirSnapshot& after);

}  // namespace tokenstore
