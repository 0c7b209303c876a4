#include "storage/testing/dir_snapshot.h"

#include <fstream>
#include <iterator>

namespace tokenstore {

namespace {

namespace fs = std::filesystem;

FileSnapshot SnapshotOf(const fs::path& path) {
  FileSnapshot f;
  f.is_directory = fs::is_directory(path);
  f.mtime = fs::last_write_time(path);
  if (!f.is_directory) {
    f.size = fs::file_size(path);
    std::ifstream in(path, std::ios::binary);
    f.content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return f;
}

}  // namespace

DirSnapshot SnapshotDir(const std::string& dir) {
  DirSnapshot snapshot;
  snapshot["."] = SnapshotOf(dir);
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir)) {
    snapshot[fs::relative(e.path(), dir).string()] = SnapshotOf(e.path());
  }
  return snapshot;
}

std::vector<std::string> DirChanges(const DirSnapshot& before, const DirSnapshot& after) {
  std::vector<std::string> changes;
  for (const auto& [name, was] : before) {
    auto it = after.find(name);
    if (it == after.end()) {
      changes.push_back("removed " + name);
      continue;
    }
    const FileSnapshot& now = it->second;
    if (was.size != now.size) {
      changes.push_back(name + ": size " + std::to_string(was.size) + " -> " +
                        std::to_string(now.size));
    } else if (was.content != now.content) {
      changes.push_back(name + ": contents changed");
    }
    if (was.mtime != now.mtime) changes.push_back(name + ": modification time changed");
  }
  for (const auto& [name, now] : after) {
    if (!before.contains(name)) changes.push_back("added " + name);
  }
  return changes;
}

}  // namespace tokenstore
