// bytes -> one request message a replica receives -> proto parse -> FromProto -> the checks of
// replica/request_validation.h, as the services and ReplicaCore apply them.
//
// The first byte picks the message (see RequestKind), the rest is its wire form. Properties:
// parsing never crashes; every check agrees exactly with the rule its header states (an
// independent model below) and refuses with INVALID_ARGUMENT naming the field; what FromProto
// yields is canonical and survives ToProto/FromProto and the record codec; and the register
// a writer issues for an accepted write is accepted by the peers that store it.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "admin.pb.h"
#include "client.pb.h"
#include "fuzz/fuzz_check.h"
#include "proto/convert.h"
#include "replication.pb.h"
#include "replica/request_validation.h"
#include "storage/record_codec.h"

namespace {

using tokenstore::Register;
using tokenstore::RequestLimits;
using tokenstore::Status;
using tokenstore::StatusCode;
using tokenstore::ValueKind;
using tokenstore::WriteArgs;

enum RequestKind : uint8_t {
  kWrite = 0,
  kRead = 1,
  kCreate = 2,
  kDrop = 3,
  kStore = 4,
  kGetRegister = 5,
  kCrash = 6,
  kRevive = 7,
  kKinds = 8,
};

// Small limits make both sides of each rule easy to reach; the defaults are checked too.
const RequestLimits kSmall{/*max_id_bytes=*/8, /*max_name_bytes=*/16, /*max_range=*/1000};
const RequestLimits kDefault{};

// A refusal is INVALID_ARGUMENT and its message starts with the field it is about.
void CheckRefusal(const Status& st, std::string_view field) {
  FUZZ_CHECK(st.code() == StatusCode::kInvalidArgument, st.ToString());
  FUZZ_CHECK(st.message().rfind(field, 0) == 0,
             "message does not start with \"" + std::string(field) + "\": " + st.message());
}

// The model of each rule, written from request_validation.h.
bool IdOk(std::string_view id, const RequestLimits& limits) {
  return !id.empty() && id.size() <= limits.max_id_bytes;
}
bool NameOk(std::string_view name, const RequestLimits& limits) {
  return !name.empty() && name.size() <= limits.max_name_bytes;
}
bool DomainOk(uint64_t low, uint64_t mid, uint64_t high) { return low <= mid && mid < high; }

void CheckTokenId(std::string_view field, const std::string& id) {
  for (const RequestLimits& limits : {kSmall, kDefault}) {
    const Status st = tokenstore::ValidateTokenId(field, id, limits);
    FUZZ_CHECK(st.ok() == IdOk(id, limits), st.ToString());
    if (!st.ok()) CheckRefusal(st, std::string(field) + ": ");
  }
}

void CheckRegister(const Register& reg, const RequestLimits& limits) {
  const tokenstore::TokenValue& v = reg.value;
  const bool expected = v.kind != ValueKind::kDefined ||
                        (NameOk(v.name, limits) && DomainOk(v.low, v.mid, v.high) &&
                         v.high - v.low <= limits.max_range &&
                         v.has_partial == (v.low < v.mid) &&
                         (!v.has_partial || (v.low <= v.partial_x && v.partial_x < v.mid)));
  const Status st = tokenstore::ValidateRegister(reg, limits);
  FUZZ_CHECK(st.ok() == expected, "ValidateRegister says " + st.ToString());
  if (!st.ok()) CheckRefusal(st, "register at ts " + std::to_string(reg.ts) + ": ");
  if (st.ok()) {
    // What a replica accepts, its store can keep: it encodes and decodes back unchanged.
    FUZZ_CHECK(tokenstore::CheckEncodable(reg).ok(), "accepted register does not encode");
    tokenstore::StatusOr<Register> back =
        tokenstore::DecodeRegister(tokenstore::EncodeRegister(reg));
    FUZZ_CHECK(back.ok() && *back == reg, "accepted register changes through the record codec");
  }
}

// The register a writer issues for `args` (replica_core.cc: Write): has a partial exactly
// when low < mid, reached at some x in [low, mid). Peers must accept it, at either end.
void CheckIssuedRegisterIsAccepted(const WriteArgs& args, const RequestLimits& limits) {
  for (const uint64_t x : {args.low, args.mid == 0 ? 0 : args.mid - 1}) {
    Register reg;
    reg.ts = 1;
    reg.value.kind = ValueKind::kDefined;
    reg.value.name = args.name;
    reg.value.low = args.low;
    reg.value.mid = args.mid;
    reg.value.high = args.high;
    reg.value.has_partial = args.low < args.mid;
    if (reg.value.has_partial) {
      reg.value.partial = 0x0123456789abcdef;
      reg.value.partial_x = x;
    }
    const Status st = tokenstore::ValidateRegister(reg, limits);
    FUZZ_CHECK(st.ok(), "a peer refuses what the writer issues for an accepted write: " +
                            st.ToString());
  }
}

void CheckWrite(const tokenstore::v1::WriteRequest& req) {
  const WriteArgs args{req.id(), req.name(), req.low(), req.mid(), req.high()};
  for (const RequestLimits& limits : {kSmall, kDefault}) {
    const bool expected = IdOk(args.id, limits) && NameOk(args.name, limits) &&
                          DomainOk(args.low, args.mid, args.high) &&
                          args.high - args.low <= limits.max_range;
    const Status st = tokenstore::ValidateWriteArgs(args, limits);
    FUZZ_CHECK(st.ok() == expected, "ValidateWriteArgs says " + st.ToString());
    if (!st.ok()) {
      FUZZ_CHECK(st.code() == StatusCode::kInvalidArgument, st.ToString());
      const std::string& m = st.message();
      FUZZ_CHECK(m.rfind("id: ", 0) == 0 || m.rfind("name: ", 0) == 0 ||
                     m.rfind("low (", 0) == 0 || m.rfind("mid (", 0) == 0 ||
                     m.rfind("range: ", 0) == 0,
                 "message names no field: " + m);
    } else {
      CheckIssuedRegisterIsAccepted(args, limits);
    }
  }
}

void CheckStore(const tokenstore::v1::StoreRequest& req) {
  CheckTokenId("token", req.token());
  tokenstore::StatusOr<Register> reg = tokenstore::FromProto(req.reg());
  const auto kind = req.reg().value().kind();
  const bool known_kind = kind == tokenstore::v1::TokenValue::UNDEFINED ||
                          kind == tokenstore::v1::TokenValue::DEFINED ||
                          kind == tokenstore::v1::TokenValue::DROPPED;
  FUZZ_CHECK(reg.ok() == known_kind, reg.status().ToString());
  if (!reg.ok()) {
    FUZZ_CHECK(reg.status().code() == StatusCode::kInvalidArgument, reg.status().ToString());
    return;
  }
  // FromProto keeps only what is meaningful for the kind, as the stores do.
  FUZZ_CHECK(tokenstore::CanonicalRegister(*reg) == *reg, "FromProto result is not canonical");
  tokenstore::v1::Register wire;
  tokenstore::ToProto(*reg, &wire);
  tokenstore::v1::Register reparsed;
  FUZZ_CHECK(reparsed.ParseFromString(wire.SerializeAsString()), "ToProto output does not parse");
  tokenstore::StatusOr<Register> back = tokenstore::FromProto(reparsed);
  FUZZ_CHECK(back.ok() && *back == *reg, "register changes through ToProto/FromProto");
  CheckRegister(*reg, kSmall);
  CheckRegister(*reg, kDefault);
}

// Runs `check` on the input parsed as a `Message`; input that does not parse is done with.
template <typename Message, typename Check>
void ParseThen(const uint8_t* data, size_t size, Check check) {
  Message message;
  if (message.ParseFromArray(data, static_cast<int>(size))) check(message);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // protobuf logs every string field with invalid UTF-8 it refuses; the refusal is the point.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t kind = data[0] % kKinds;
  ++data;
  --size;
  namespace v1 = tokenstore::v1;
  const auto id = [](const auto& request) { CheckTokenId("id", request.id()); };
  const auto token = [](const auto& request) { CheckTokenId("token", request.token()); };
  switch (kind) {
    case kWrite: ParseThen<v1::WriteRequest>(data, size, CheckWrite); break;
    case kRead: ParseThen<v1::ReadRequest>(data, size, id); break;
    case kCreate: ParseThen<v1::CreateRequest>(data, size, id); break;
    case kDrop: ParseThen<v1::DropRequest>(data, size, id); break;
    case kStore: ParseThen<v1::StoreRequest>(data, size, CheckStore); break;
    case kGetRegister: ParseThen<v1::GetRegisterRequest>(data, size, token); break;
    case kCrash: ParseThen<v1::CrashRequest>(data, size, token); break;
    case kRevive: ParseThen<v1::ReviveRequest>(data, size, token); break;
  }
  return 0;
}
