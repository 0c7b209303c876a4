// bytes -> DecodeRegister / DecodeReservation, and bytes -> a Register -> EncodeRegister.
// Properties (storage/record_codec.h): decoding yields a Register or DATA_LOSS; every
// accepted input is canonical (EncodeRegister(DecodeRegister(b)) == b); any register
// encodes to bytes that decode back to its canonical form.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "storage/record_codec.h"

namespace {

using tokenstore::Register;
using tokenstore::StatusCode;

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// The input as a record: accepted inputs must be canonical.
void CheckDecode(std::string_view bytes) {
  tokenstore::StatusOr<Register> reg = tokenstore::DecodeRegister(bytes);
  if (!reg.ok()) {
    FUZZ_CHECK(reg.status().code() == StatusCode::kDataLoss, reg.status().ToString());
  } else {
    FUZZ_CHECK(tokenstore::CheckEncodable(*reg).ok(), Hex(bytes));
    FUZZ_CHECK(tokenstore::CanonicalRegister(*reg) == *reg, "decoded register is not canonical");
    const std::string again = tokenstore::EncodeRegister(*reg);
    FUZZ_CHECK(again == bytes, "accepted " + Hex(bytes) + " re-encodes as " + Hex(again));
    tokenstore::StatusOr<Register> back = tokenstore::DecodeRegister(again);
    FUZZ_CHECK(back.ok() && *back == *reg, "re-encoded register does not decode back");
  }

  tokenstore::StatusOr<uint64_t> upto = tokenstore::DecodeReservation(bytes);
  FUZZ_CHECK(upto.ok() == (bytes.size() == 8), Hex(bytes));
  if (upto.ok()) {
    FUZZ_CHECK(tokenstore::EncodeReservation(*upto) == bytes, Hex(bytes));
  } else {
    FUZZ_CHECK(upto.status().code() == StatusCode::kDataLoss, upto.status().ToString());
  }
}

// The input as the fields of a register: whatever they hold, the encoding decodes back.
void CheckEncode(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Register reg;
  reg.ts = in.ConsumeIntegral<uint64_t>();
  reg.value.kind = static_cast<tokenstore::ValueKind>(in.ConsumeIntegralInRange<uint8_t>(0, 2));
  reg.value.low = in.ConsumeIntegral<uint64_t>();
  reg.value.mid = in.ConsumeIntegral<uint64_t>();
  reg.value.high = in.ConsumeIntegral<uint64_t>();
  reg.value.has_partial = in.ConsumeBool();
  reg.value.partial = in.ConsumeIntegral<uint64_t>();
  reg.value.partial_x = in.ConsumeIntegral<uint64_t>();
  reg.value.name = in.ConsumeRemainingBytesAsString();

  const std::string bytes = tokenstore::EncodeRegister(reg);
  tokenstore::StatusOr<Register> back = tokenstore::DecodeRegister(bytes);
  FUZZ_CHECK(back.ok(), "encoding " + Hex(bytes) + " is rejected: " + back.status().ToString());
  FUZZ_CHECK(*back == tokenstore::CanonicalRegister(reg),
             "encoding " + Hex(bytes) + " decodes to another register");
  std::string appended = "prefix";
  tokenstore::AppendRegister(&appended, reg);
  FUZZ_CHECK(appended == "prefix" + bytes, "AppendRegister differs from EncodeRegister");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckDecode(std::string_view(reinterpret_cast<const char*>(data), size));
  CheckEncode(data, size);
  return 0;
}
