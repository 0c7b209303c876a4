// Exit codes of token-replica (table in docs/operations.md). A supervisor or a test harness
// tells "the address is taken: pick another" from "fix the command" without parsing the log.
//
// Thread-safety: constants and a pure function.
#pragma once

#include "common/cli_exit.h"  // kExitUsage (2): bad command line, configuration or data dir
#include "common/status.h"

namespace tokenstore {

inline constexpr int kReplicaExitStopped = 0;      // stopped cleanly on SIGINT/SIGTERM
inline constexpr int kReplicaExitCannotStart = 1;  // storage, TLS, an address not local
inline constexpr int kReplicaExitUnsafe = 3;       // started, then stopped: cannot serve safely
// Another socket holds the --listen or --metrics-listen address; nothing is left running.
inline constexpr int kReplicaExitAddressInUse = 4;

// The exit code when ReplicaServer::Start() returned `st` (not OK).
inline int ReplicaExitCodeForStart(const Status& st) {
  switch (st.code()) {
    case StatusCode::kFailedPrecondition:  // --listen not in the file, a data dir refused
      return kExitUsage;
    case StatusCode::kAlreadyExists:
      return kReplicaExitAddressInUse;
    default:
      return kReplicaExitCannotStart;
  }
}

}  // namespace tokenstore
