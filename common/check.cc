#include "common/check.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace tokenstore {

void CheckFailed(const char* file, int line, const char* cond, std::string_view what) {
  std::string text(what);
  std::fprintf(stderr, "%s:%d: TS_CHECK(%s) failed: %s\n", file, line, cond, text.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace tokenstore
