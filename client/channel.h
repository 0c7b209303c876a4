// Helpers for calls to replica nodes, shared by the client library and the admin tool.
// Channels themselves come from Security::NewNodeChannel (proto/security.h).
//
// Thread-safety: pure functions.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>


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
