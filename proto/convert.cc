#include "proto/convert.h"

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
  return Register{in.ts(), std::move(v).value()};
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
