#include "common/build_info.h"

namespace tokenstore {

std::string VersionLine(std::string_view program) {
  return std::string(program) + " " + std::string(BuildVersion()) + " (git " +
         std::string(BuildGit()) + ", built " + std::string(BuildDate()) + ")";
}

}  // namespace tokenstore
