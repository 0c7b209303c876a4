// Which build this is: the version of CMake's project(VERSION), the git commit the tree was
// built from and the build date, for every program's --version and the replica's
// tokenstore_build_info metric. build_info_values.cc.in is filled in at build time by
// build_info.cmake (git rev-parse, no network); outside a git checkout the commit is
// "unknown".
//
// Thread-safety: constants.
#pragma once

#include <string>
#include <string_view>

namespace tokenstore {

std::string_view BuildVersion();  // "0.1.0"
// The commit's short hash, with "-dirty" when tracked files differed from it at build time;
// "unknown" when the source tree was not a git checkout (or git was missing).
std::string_view BuildGit();
std::string_view BuildDate();  // UTC, "2026-11-30" (SOURCE_DATE_EPOCH when set)

// "token-client 0.1.0 (git 1a2b3c4-dirty, built 2026-11-30)": what --version prints.
std::string VersionLine(std::string_view program);

}  // namespace tokenstore
