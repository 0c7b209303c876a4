// How every node and tool of the project opens a gRPC channel to a replica.
//
// gRPC's default reconnect backoff grows to two minutes; a replica restarted after kill -9
// must be reachable again within about a second, by its peers and by long-lived clients.
//
// Thread-safety: free functions; the channels they return are safe for concurrent use.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace tokenstore {

// Channel arguments with the fast reconnect backoff (100 ms, at most 1 s between attempts;
// each attempt may take up to 5 s).
grpc::ChannelArguments StandardChannelArguments();

}  // namespace tokenstore
