#include "proto/convert.h"

#include <algorithm>

namespace tokenstore {

void ToProto(const TokenValue& in, v1::TokenValue* out) {
  out->Clear();
  switch (in.kind) {
    case ValueKind::kUndefined: out->set_kind(v1::TokenValue::UNDEFINED); return;
    case ValueKind::kDropped: out->set_kind(v1::TokenValue::DROPPED); return;
    case ValueKind::kDefined: break;
  }
  out->set_kind(v1::TokenValue::DEFINED);
  out->set_name(in.name);
  out->set_low(in.low);
  out->set_mid(in.mid);
  out->set_high(in.high);
  if (in.has_partial) {
    out->set_partial(in.partial);
    out->set_partial_x(in.partial_x);
  }
}

void ToProto(const Register& in, v1::Register* out) {
  out->set_ts(in.ts);
  out->set_origin(in.origin);
  out->set_epoch(in.epoch);
  ToProto(in.value, out->mutable_value());
}

StatusOr<TokenValue> FromProto(const v1::TokenValue& in) {
  TokenValue v;
  switch (in.kind()) {
    case v1::TokenValue::UNDEFINED: return v;
    case v1::TokenValue::DROPPED: v.kind = ValueKind::kDropped; return v;
    case v1::TokenValue::DEFINED: break;
    default:
      return Status::InvalidArgument("register value has unknown kind " +
                                     std::to_string(static_cast<int>(in.kind())));
  }
  v.kind = ValueKind::kDefined;
  v.name = in.name();
  v.low = in.low();
  v.mid = in.mid();
  v.high = in.high();
  v.has_partial = in.has_partial();
  if (v.has_partial) {
    v.partial = in.partial();
    v.partial_x = in.partial_x();
  }
  return v;
}

StatusOr<Register> FromProto(const v1::Register& in) {
  StatusOr<TokenValue> v = FromProto(in.value());
  if (!v.ok()) return v.status();
  return Register{in.ts(), std::move(v).value(), in.origin(), in.epoch()};
}

v1::HelloResponse::State ToProto(NodeState in) {
  switch (in) {
    case NodeState::kFresh: return v1::HelloResponse::FRESH;
    case NodeState::kStarting: return v1::HelloResponse::STARTING;
    case NodeState::kRebuilding: return v1::HelloResponse::REBUILDING;
    case NodeState::kServing: return v1::HelloResponse::SERVING;
  }
  return v1::HelloResponse::FRESH;
}

NodeState FromProto(v1::HelloResponse::State in) {
  switch (in) {
    case v1::HelloResponse::STARTING: return NodeState::kStarting;
    case v1::HelloResponse::REBUILDING: return NodeState::kRebuilding;
    case v1::HelloResponse::SERVING: return NodeState::kServing;
    default: return NodeState::kFresh;  // FRESH, or a state this build does not know
  }
}

void ToProto(const HelloReply& in, v1::HelloResponse* out) {
  out->set_node(in.node);
  out->set_cluster_id(in.cluster_id);
  out->set_state(ToProto(in.state));
  out->set_holds_data(in.holds_data);
  out->set_seen_incarnation(in.seen_incarnation);
  out->set_seen_boot(in.seen_boot);
  out->set_seen_run(in.seen_run);
}

StatusOr<HelloReply> FromProto(const v1::HelloResponse& in) {
  HelloReply r;
  r.node = in.node();
  r.cluster_id = in.cluster_id();
  r.state = FromProto(in.state());
  r.holds_data = in.holds_data();
  r.seen_incarnation = in.seen_incarnation();
  r.seen_boot = in.seen_boot();
  r.seen_run = in.seen_run();
  return r;
}

HelloArgs FromProto(const v1::HelloRequest& in) {
  return HelloArgs{in.cluster_id(),    in.incarnation(),  in.boot(), in.previous_boot(),
                   in.run(),           in.previous_run(), in.version()};
}

void ToProto(std::string_view token, const ReplicaSet& in, v1::TokenConfig* out) {
  out->set_token(std::string(token));
  out->set_epoch(in.epoch);
  out->set_writer(in.writer);
  out->clear_readers();
  for (const std::string& r : in.readers) out->add_readers(r);
}

StatusOr<ReplicaSet> FromProto(const v1::TokenConfig& in, std::string_view what) {
  const auto bad = [what](const std::string& problem) {
    return Status::InvalidArgument(std::string(what) + ": " + problem);
  };
  ReplicaSet out;
  out.epoch = in.epoch();
  StatusOr<std::string> writer = ParseAccessPoint(in.writer());
  if (!writer.ok()) return bad("writer: " + writer.status().message());
  out.writer = *std::move(writer);
  if (in.readers().empty()) return bad("no readers");
  for (const std::string& r : in.readers()) {
    StatusOr<std::string> canonical = ParseAccessPoint(r);
    if (!canonical.ok()) return bad("reader: " + canonical.status().message());
    if (std::find(out.readers.begin(), out.readers.end(), *canonical) != out.readers.end()) {
      return bad("reader " + *canonical + " is named twice");
    }
    out.readers.push_back(*std::move(canonical));
  }
  out.fingerprint = out.ComputeFingerprint();
  return out;
}

grpc::Status ToGrpc(const Status& st) {
  if (st.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(st.code()), st.message());
}

Status FromGrpc(const grpc::Status& st) {
  if (st.ok()) return Status::Ok();
  return Status(static_cast<StatusCode>(st.error_code()), st.error_message());
}

}  // namespace tokenstore
