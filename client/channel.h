// Helpers for calls to replica nodes, shared by the client library and the admin tool.
//
// Channels reconnect quickly (backoff 100 ms, at most 1 s) so that a node restarted while a
// long-lived client holds a channel to it is reachable again within about a second, instead
// of after gRPC's default backoff of up to two minutes.
//
// Thread-safety: free functions; the channels they return are safe for concurrent use.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "proto/channel.h"  // NewNodeChannel

namespace tokenstore {


// A failed call's code and a short reason, for messages: "UNAVAILABLE (connection refused)",
// "DEADLINE_EXCEEDED (no answer in time)", "FAILED_PRECONDITION (<server's message>)".
std::string DescribeRpcFailure(const grpc::Status& st);
// Just the reason part of DescribeRpcFailure: "connection refused", "no answer in time".
std::string RpcFailureReason(const grpc::Status& st);

// True when gRPC itself ended the call at the caller's deadline (as opposed to a server
// that answered DEADLINE_EXCEEDED with its own message).
bool IsClientSideDeadline(const grpc::Status& st);

// A duration as a person reads it in a message: "10s", "0.5s", "1.25s", "250ms".
std::string FormatDuration(std::chrono::nanoseconds d);

}  // namespace tokenstore
