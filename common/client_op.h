// The four client operations (SPEC section 3), with the names the CLI, the op log and the
// metrics give them.
//
// Thread-safety: constants and pure functions.
#pragma once

#include <array>
#include <cstddef>

namespace tokenstore {

enum class ClientOp : size_t { kWrite, kRead, kCreate, kDrop };

inline constexpr std::array<ClientOp, 4> kClientOps = {ClientOp::kWrite, ClientOp::kRead,
                                                       ClientOp::kCreate, ClientOp::kDrop};

// "write", "read", "create", "drop".
constexpr const char* ClientOpName(ClientOp op) {
  switch (op) {
    case ClientOp::kWrite: return "write";
    case ClientOp::kRead: return "read";
    case ClientOp::kCreate: return "create";
    case ClientOp::kDrop: return "drop";
  }
  return "unknown";
}

}  // namespace tokenstore
