// The replica side of a peer's Batch (proto/replication.proto): GetRegister and Store calls
// about many tokens in one request, each entry answered as its own unary call would be.
//
// - `allow(token)` authorizes each entry on its own (a node may only call about tokens it
//   keeps); a refusal is that entry's result.
// - An entry about a token this node may not answer about (ReplicaCore::MayAnswer: it is
//   crash-stopped for it) gets no result, also when the mark is set while the entry's Store
//   is being synced.
// - GetRegister entries are answered from memory at once; the Store entries are synced
//   together through the node's group commit (ReplicaCore::StoreBatchAsync).
//
// The gRPC service (replica/services.h) and the threaded in-memory network of the tests
// (replica/testing/threaded_network.h) both answer batches with it.
//
// Thread-safety: call from any thread; the core is safe for concurrent use.
#pragma once

#include <functional>
#include <string>

#include "common/status.h"
#include "replica/replica_core.h"
#include "replication.pb.h"

namespace tokenstore {

// Answers `request` against `core`. `allow` is called only before this returns. `done` runs
// exactly once with the response: before this returns when the batch holds no Store to
// sync, else on the storage executor once the Stores are synced.
void AnswerBatch(ReplicaCore& core, const v1::BatchRequest& request,
                 const std::function<Status(const std::string& token)>& allow,
                 std::function<void(v1::BatchResponse)> done);

}  // namespace tokenstore
