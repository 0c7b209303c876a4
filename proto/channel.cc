#include "proto/channel.h"

namespace tokenstore {

grpc::ChannelArguments StandardChannelArguments() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  // gRPC also takes this as the least time one connection attempt may take; 100 ms cut TCP +
  // TLS handshakes short on a loaded machine (UNAVAILABLE "tcp handshaker shutdown").
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 5000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return args;
}

}  // namespace tokenstore
