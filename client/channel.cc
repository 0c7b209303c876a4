#include "client/channel.h"

#include <cstdio>

#include "common/status.h"

namespace tokenstore {

bool IsClientSideDeadline(const grpc::Status& st) {
  return st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
         st.error_message() == "Deadline Exceeded";
}

std::string RpcFailureReason(const grpc::Status& st) {
  if (IsClientSideDeadline(st)) return "no answer in time";
  const std::string& m = st.error_message();
  // gRPC's connect failures are long ("failed to connect to all addresses; last error: ...
  // Connection refused"); the last words are what a person needs.
  if (st.error_code() == grpc::StatusCode::UNAVAILABLE &&
      m.find("Connection refused") != std::string::npos) {
    return "connection refused";
  }
  return m;
}

std::string DescribeRpcFailure(const grpc::Status& st) {
  std::string out = StatusCodeName(static_cast<StatusCode>(st.error_code()));
  const std::string reason = RpcFailureReason(st);
  if (!reason.empty()) out += " (" + reason + ")";
  return out;
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  const double ms = std::chrono::duration<double, std::milli>(d).count();
  char buf[32];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%.4gms", ms);
  } else {
    std::snprintf(buf, sizeof buf, "%.4gs", ms / 1000);
  }
  return buf;
}

}  // namespace tokenstore
