// The disk form of the register store's values: a Register and a timestamp reservation
// to and from bytes.
//
// Register record, format version 1, 2 or 3 (all varints are unsigned LEB128, minimal length):
//
//   u8      format version: kRegisterFormatV3 when the epoch is not 0, else kRegisterFormatV1
//           when origin is 0, else kRegisterFormatV2
//   -- only in version 3:
//   varint  epoch (never 0: a register of epoch 0 is written as version 1 or 2)
//   varint  ts
//   -- only in versions 2 and 3:
//   varint  origin (never 0 in version 2: a register of origin 0 is written as version 1)
//   u8      kind: 0 undefined, 1 defined, 2 dropped
//   -- only when kind == defined:
//   varint  name length, then that many bytes of name
//   varint  low, varint mid, varint high
//   u8      flags: bit 0 = has_partial; the other bits must be zero
//   -- only when has_partial:
//   fixed64 partial (little-endian; a hash, so a varint would not save anything)
//   varint  partial_x
//
// Nothing may follow. Fields that are meaningless for the kind (the name of a dropped
// value, the partial when has_partial is false) are not written, so the encoding is of
// CanonicalRegister(reg). Decoding validates every byte and never trusts a length: any
// input, however broken, yields either a Register or a DATA_LOSS Status naming what is
// wrong. Every accepted input is canonical: EncodeRegister(*DecodeRegister(b)) == b,
// a property a fuzzer can check.
//
// Reservation record: fixed64, little-endian, exactly 8 bytes.
//
// Thread-safety: pure functions; safe to call concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/token_value.h"

namespace tokenstore {

inline constexpr uint8_t kRegisterFormatV1 = 1;  // before stamps had an origin
inline constexpr uint8_t kRegisterFormatV2 = 2;
inline constexpr uint8_t kRegisterFormatV3 = 3;  // a register written after a reconfiguration

// `reg` with the fields that are meaningless for its kind reset to their defaults: what
// the stores keep, so that a register reads back the same from memory and from disk.
Register CanonicalRegister(Register reg);

// INVALID_ARGUMENT when `reg` cannot be stored: its kind is none of the ValueKind values.
// The stores check this before accepting a register, so what they hold always encodes.
Status CheckEncodable(const Register& reg);

// Appends the encoding of CanonicalRegister(reg) to `dst`. REQUIRES: CheckEncodable(reg).
void AppendRegister(std::string* dst, const Register& reg);
std::string EncodeRegister(const Register& reg);

// Decodes a whole register record; DATA_LOSS when `bytes` is not exactly one valid record.
StatusOr<Register> DecodeRegister(std::string_view bytes);

std::string EncodeReservation(uint64_t upto);
// DATA_LOSS unless `bytes` is exactly 8 bytes long.
StatusOr<uint64_t> DecodeReservation(std::string_view bytes);

}  // namespace tokenstore
