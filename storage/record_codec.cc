#include "storage/record_codec.h"

#include <cstddef>

namespace tokenstore {

namespace {

constexpr uint8_t kFlagHasPartial = 0x01;

void PutVarint64(std::string* dst, uint64_t v) {
  while (v >= 0x80) {
    dst->push_back(static_cast<char>(static_cast<uint8_t>(v) | 0x80));
    v >>= 7;
  }
  dst->push_back(static_cast<char>(v));
}

void PutFixed64(std::string* dst, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    dst->push_back(static_cast<char>(static_cast<uint8_t>(v >> (8 * i))));
  }
}

uint64_t LoadFixed64(std::string_view bytes) {  // REQUIRES: bytes.size() >= 8
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) {
    v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  }
  return v;
}

// A cursor over untrusted input. Every read checks the remaining length first, and every
// failure names the field and the offset, so a corrupt record on disk can be diagnosed
// from the error message alone.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }

  Status Byte(const char* field, uint8_t* out) {
    if (remaining() < 1) return Truncated(field);
    *out = static_cast<uint8_t>(in_[pos_++]);
    return Status::Ok();
  }

  Status Fixed64(const char* field, uint64_t* out) {
    if (remaining() < 8) return Truncated(field);
    *out = LoadFixed64(in_.substr(pos_, 8));
    pos_ += 8;
    return Status::Ok();
  }

  // Minimal-length LEB128 only: rejecting padded forms (a trailing 0x00 group) keeps
  // the encoding canonical, so equal registers always have equal bytes.
  Status Varint64(const char* field, uint64_t* out) {
    const size_t start = pos_;
    uint64_t v = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      if (remaining() < 1) return Truncated(field);
      const uint8_t b = static_cast<uint8_t>(in_[pos_++]);
      if (shift == 63 && b > 1) {
        return Bad(start, std::string(field) + " varint overflows 64 bits");
      }
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        if (b == 0 && pos_ - start > 1) {
          return Bad(start, std::string(field) + " varint is not minimal");
        }
        *out = v;
        return Status::Ok();
      }
    }
    return Bad(start, std::string(field) + " varint is longer than 10 bytes");
  }

  Status Bytes(const char* field, size_t n, std::string* out) {
    if (remaining() < n) return Truncated(field);
    out->assign(in_.data() + pos_, n);
    pos_ += n;
    return Status::Ok();
  }

  Status Truncated(const char* field) const {
    return Status::DataLoss("register record: truncated at byte " + std::to_string(pos_) + " (" +
                            std::to_string(in_.size()) + " bytes) reading " + field);
  }

  static Status Bad(size_t at, const std::string& what) {
    return Status::DataLoss("register record: " + what + " at byte " + std::to_string(at));
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

Register CanonicalRegister(Register reg) {
  TokenValue& v = reg.value;
  if (v.kind != ValueKind::kDefined) {
    const ValueKind kind = v.kind;
    v = TokenValue{};
    v.kind = kind;
  } else if (!v.has_partial) {
    v.partial = 0;
    v.partial_x = 0;
  }
  return reg;
}

Status CheckEncodable(const Register& reg) {
  switch (reg.value.kind) {
    case ValueKind::kUndefined:
    case ValueKind::kDefined:
    case ValueKind::kDropped:
      return Status::Ok();
  }
  return Status::InvalidArgument("register value kind " +
                                 std::to_string(static_cast<int>(reg.value.kind)) +
                                 " is not a ValueKind");
}

void AppendRegister(std::string* dst, const Register& reg) {
  const TokenValue& v = reg.value;
  const uint8_t format = reg.epoch != 0   ? kRegisterFormatV3
                         : reg.origin == 0 ? kRegisterFormatV1
                                           : kRegisterFormatV2;
  dst->push_back(static_cast<char>(format));
  if (format == kRegisterFormatV3) PutVarint64(dst, reg.epoch);
  PutVarint64(dst, reg.ts);
  if (format != kRegisterFormatV1) PutVarint64(dst, reg.origin);
  dst->push_back(static_cast<char>(v.kind));
  if (v.kind != ValueKind::kDefined) return;
  PutVarint64(dst, v.name.size());
  dst->append(v.name);
  PutVarint64(dst, v.low);
  PutVarint64(dst, v.mid);
  PutVarint64(dst, v.high);
  dst->push_back(static_cast<char>(v.has_partial ? kFlagHasPartial : 0));
  if (!v.has_partial) return;
  PutFixed64(dst, v.partial);
  PutVarint64(dst, v.partial_x);
}

std::string EncodeRegister(const Register& reg) {
  std::string out;
  AppendRegister(&out, reg);
  return out;
}

StatusOr<Register> DecodeRegister(std::string_view bytes) {
  if (bytes.empty()) return Status::DataLoss("register record: empty");
  Reader r(bytes);
  Register reg;
  TokenValue& v = reg.value;

  uint8_t format = 0;
  TOKENSTORE_RETURN_IF_ERROR(r.Byte("format version", &format));
  if (format != kRegisterFormatV1 && format != kRegisterFormatV2 &&
      format != kRegisterFormatV3) {
    return Status::DataLoss("register record: unknown format version " + std::to_string(format) +
                            " (this build reads versions " + std::to_string(kRegisterFormatV1) +
                            " to " + std::to_string(kRegisterFormatV3) + ")");
  }
  if (format == kRegisterFormatV3) {
    const size_t epoch_at = r.offset();
    TOKENSTORE_RETURN_IF_ERROR(r.Varint64("epoch", &reg.epoch));
    // Keeps the encoding canonical: epoch 0 is written as version 1 or 2.
    if (reg.epoch == 0) return Reader::Bad(epoch_at, "epoch 0 in a version 3 record");
  }
  TOKENSTORE_RETURN_IF_ERROR(r.Varint64("ts", &reg.ts));
  if (format == kRegisterFormatV3) {
    TOKENSTORE_RETURN_IF_ERROR(r.Varint64("origin", &reg.origin));
  } else if (format == kRegisterFormatV2) {
    const size_t origin_at = r.offset();
    TOKENSTORE_RETURN_IF_ERROR(r.Varint64("origin", &reg.origin));
    // Keeps the encoding canonical: origin 0 has exactly one form, version 1.
    if (reg.origin == 0) return Reader::Bad(origin_at, "origin 0 in a version 2 record");
  }

  const size_t kind_at = r.offset();
  uint8_t kind = 0;
  TOKENSTORE_RETURN_IF_ERROR(r.Byte("kind", &kind));
  switch (kind) {
    case static_cast<uint8_t>(ValueKind::kUndefined):
    case static_cast<uint8_t>(ValueKind::kDefined):
    case static_cast<uint8_t>(ValueKind::kDropped):
      v.kind = static_cast<ValueKind>(kind);
      break;
    default:
      return Reader::Bad(kind_at, "bad value kind " + std::to_string(kind));
  }

  if (v.kind == ValueKind::kDefined) {
    const size_t len_at = r.offset();
    uint64_t name_len = 0;
    TOKENSTORE_RETURN_IF_ERROR(r.Varint64("name length", &name_len));
    // Compare before converting: a huge length must not wrap or allocate.
    if (name_len > r.remaining()) {
      return Reader::Bad(len_at, "name length " + std::to_string(name_len) + " exceeds the " +
                                     std::to_string(r.remaining()) + " bytes left");
    }
    TOKENSTORE_RETURN_IF_ERROR(r.Bytes("name", static_cast<size_t>(name_len), &v.name));
    TOKENSTORE_RETURN_IF_ERROR(r.Varint64("low", &v.low));
    TOKENSTORE_RETURN_IF_ERROR(r.Varint64("mid", &v.mid));
    TOKENSTORE_RETURN_IF_ERROR(r.Varint64("high", &v.high));
    const size_t flags_at = r.offset();
    uint8_t flags = 0;
    TOKENSTORE_RETURN_IF_ERROR(r.Byte("flags", &flags));
    if ((flags & ~kFlagHasPartial) != 0) {
      return Reader::Bad(flags_at, "unknown flag bits " + std::to_string(flags));
    }
    v.has_partial = (flags & kFlagHasPartial) != 0;
    if (v.has_partial) {
      TOKENSTORE_RETURN_IF_ERROR(r.Fixed64("partial", &v.partial));
      TOKENSTORE_RETURN_IF_ERROR(r.Varint64("partial_x", &v.partial_x));
    }
  }

  if (r.remaining() != 0) {
    return Reader::Bad(r.offset(), std::to_string(r.remaining()) + " trailing bytes");
  }
  return reg;
}

std::string EncodeReservation(uint64_t upto) {
  std::string out;
  PutFixed64(&out, upto);
  return out;
}

StatusOr<uint64_t> DecodeReservation(std::string_view bytes) {
  if (bytes.size() != 8) {
    return Status::DataLoss("reservation record: " + std::to_string(bytes.size()) +
                            " bytes, expected 8");
  }
  return LoadFixed64(bytes);
}

}  // namespace tokenstore
