// Exit codes of token-client and token-admin (table in client/README.md). Scripts can tell
// "fix the command" from "retry later" from "no such token" without parsing messages.
//
// Thread-safety: constants and a pure function.
#pragma once

#include "common/cli_exit.h"  // kExitUsage (2): bad command line or configuration file
#include "common/status.h"

namespace tokenstore {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // the operation failed; see the message
inline constexpr int kExitNotFound = 3;     // NOT_FOUND: unknown or dropped token, no such dir
inline constexpr int kExitUnreachable = 4;  // DEADLINE_EXCEEDED or UNAVAILABLE: retry later;
                                            // a write's outcome is then unknown

// The exit code for an operation that ended with `st`.
inline int ExitCodeFor(const Status& st) {
  switch (st.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kNotFound:
      return kExitNotFound;
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kUnavailable:
      return kExitUnreachable;
    default:
      return kExitFailed;
  }
}

}  // namespace tokenstore
