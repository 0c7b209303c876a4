#include "replica/request_validation.h"

namespace tokenstore {
namespace {

std::string Num(uint64_t v) { return std::to_string(v); }

Status CheckName(std::string_view name, const RequestLimits& limits) {
  if (name.empty()) return Status::InvalidArgument("name: must not be empty");
  if (name.size() > limits.max_name_bytes) {
    return Status::InvalidArgument("name: " + Num(name.size()) +
                                   " bytes is longer than the limit of " +
                                   Num(limits.max_name_bytes));
  }
  return Status::Ok();
}

Status CheckDomain(uint64_t low, uint64_t mid, uint64_t high) {
  if (low > mid) {
    return Status::InvalidArgument("low (" + Num(low) + ") must not exceed mid (" + Num(mid) +
                                   ")");
  }
  if (mid >= high) {
    return Status::InvalidArgument("mid (" + Num(mid) + ") must be below high (" + Num(high) +
                                   ")");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateTokenId(std::string_view field, std::string_view id, const RequestLimits& limits) {
  if (id.empty()) return Status::InvalidArgument(std::string(field) + ": must not be empty");
  if (id.size() > limits.max_id_bytes) {
    return Status::InvalidArgument(std::string(field) + ": " + Num(id.size()) +
                                   " bytes is longer than the limit of " +
                                   Num(limits.max_id_bytes));
  }
  return Status::Ok();
}

Status ValidateWriteArgs(const WriteArgs& a, const RequestLimits& limits) {
  if (Status st = ValidateTokenId("id", a.id, limits); !st.ok()) return st;
  if (Status st = CheckName(a.name, limits); !st.ok()) return st;
  if (Status st = CheckDomain(a.low, a.mid, a.high); !st.ok()) return st;
  if (a.high - a.low > limits.max_range) {
    return Status::InvalidArgument(
        "range: high - low = " + Num(a.high - a.low) +
        " values is more than this server hashes for one token (limit " +
        Num(limits.max_range) + ", option --max-range)");
  }
  return Status::Ok();
}

Status ValidateRegister(const Register& reg, const RequestLimits& limits) {
  const TokenValue& v = reg.value;
  if (v.kind != ValueKind::kDefined) return Status::Ok();
  const auto context = [&](const Status& st) {
    return Status::InvalidArgument("register at ts " + Num(reg.ts) + ": " + st.message());
  };
  if (Status st = CheckName(v.name, limits); !st.ok()) return context(st);
  if (Status st = CheckDomain(v.low, v.mid, v.high); !st.ok()) return context(st);
  if (v.has_partial != (v.low < v.mid)) {
    return context(Status::InvalidArgument(
        v.has_partial ? "has a partial although its partial range [low, mid) is empty"
                      : "has no partial although its partial range [low, mid) is not empty"));
  }
  if (v.has_partial && (v.partial_x < v.low || v.partial_x >= v.mid)) {
    return context(Status::InvalidArgument("partial_x (" + Num(v.partial_x) +
                                           ") is outside [low, mid) = [" + Num(v.low) + ", " +
                                           Num(v.mid) + ")"));
  }
  return Status::Ok();
}

}  // namespace tokenstore
