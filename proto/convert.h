// Conversions between the wire messages (proto/*.proto) and the core's plain values, and
// between grpc::Status and tokenstore::Status. Shared by every adapter.
#pragma once

#include <grpcpp/support/status.h>

#include "common.pb.h"
#include "common/status.h"
#include "common/token_value.h"
#include "config/cluster_config.h"
#include "replica/peer_transport.h"
#include "replication.pb.h"

namespace tokenstore {

void ToProto(const TokenValue& in, v1::TokenValue* out);
void ToProto(const Register& in, v1::Register* out);
// INVALID_ARGUMENT when the message holds an unknown kind.
StatusOr<TokenValue> FromProto(const v1::TokenValue& in);
StatusOr<Register> FromProto(const v1::Register& in);

v1::HelloResponse::State ToProto(NodeState in);
NodeState FromProto(v1::HelloResponse::State in);
void ToProto(const HelloReply& in, v1::HelloResponse* out);
StatusOr<HelloReply> FromProto(const v1::HelloResponse& in);
HelloArgs FromProto(const v1::HelloRequest& in);

// A token's configuration (docs/reconfiguration.md). FromProto validates the access points
// (canonical form, no duplicates, at least one reader) and fills the fingerprint; the error
// names `what` ("the seal's target").
void ToProto(std::string_view token, const ReplicaSet& in, v1::TokenConfig* out);
StatusOr<ReplicaSet> FromProto(const v1::TokenConfig& in, std::string_view what);
// The trailing metadata key of a refusal's attached configuration (a serialized TokenConfig).
inline constexpr char kConfigMetadataKey[] = "tokenstore-config-bin";

grpc::Status ToGrpc(const Status& st);
Status FromGrpc(const grpc::Status& st);

}  // namespace tokenstore
