// TS_CHECK: an invariant of the protocol checked where it could break, always on (also in
// release builds), in the spirit of TigerBeetle's assertions. A failed check writes
// "file:line: TS_CHECK(cond) failed: what" to stderr and aborts: a replica that has broken
// an invariant stops rather than answer from a state it cannot trust. Keep the condition
// cheap (no scans on hot paths); `what` is built only when the check fails.
#pragma once

#include <string_view>

namespace tokenstore {

[[noreturn]] void CheckFailed(const char* file, int line, const char* cond, std::string_view what);

}  // namespace tokenstore

#define TS_CHECK(cond, what)                                        \
  do {                                                              \
    if (!(cond)) [[unlikely]] {                                     \
      ::tokenstore::CheckFailed(__FILE__, __LINE__, #cond, (what)); \
    }                                                               \
  } while (0)
