// The value a token's register holds, and the register itself: (ts, value).
//
// These are plain values shared by storage, the protocol core and the adapters.
// The wire form is proto/common.proto; the disk form belongs to storage/.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>

namespace tokenstore {

// Longest token id the replication scheme accepts (config/) and any request may carry.
inline constexpr size_t kMaxTokenIdBytes = 128;

enum class ValueKind : uint8_t {
  kUndefined = 0,  // never written, or reset by create
  kDefined = 1,    // holds name, domain and partial
  kDropped = 2,    // tombstone written by drop
};

const char* ValueKindName(ValueKind kind);  // "undefined", "defined", "dropped"

struct TokenValue {
  ValueKind kind = ValueKind::kUndefined;
  // The fields below are meaningful only when kind == kDefined.
  std::string name;
  uint64_t low = 0;
  uint64_t mid = 0;
  uint64_t high = 0;
  bool has_partial = false;  // false when low == mid (empty partial range)
  uint64_t partial = 0;      // min of H(name, x) over x in [low, mid)
  uint64_t partial_x = 0;    // the x where that minimum is reached (smallest such x)

  friend bool operator==(const TokenValue&, const TokenValue&) = default;
};

// The order of registers: the configuration epoch of the writer that issued it, then a
// writer-assigned counter, then the writer incarnation that issued it. `origin` is a random
// non-zero number drawn for each incarnation of a writer (a new data dir, a rebuild, another
// node taking the writer's place), so two incarnations that issue the same counter still give
// two different stamps: no two different values ever share a stamp, whatever disks were lost
// or writers moved. The epoch comes first so that a value written after an online
// reconfiguration is newer than anything the writer of an earlier epoch issued, whatever its
// counter reached (docs/reconfiguration.md). {0, 0, 0} is the initial register's stamp.
struct Stamp {
  uint64_t epoch = 0;
  uint64_t ts = 0;
  uint64_t origin = 0;

  friend auto operator<=>(const Stamp&, const Stamp&) = default;
};

// "ts/origin" in hex for the origin, for messages and logs.
std::string StampString(const Stamp& s);

// A replica's register for one token. ts 0 is the initial, undefined register that
// every configured token has before its first write; the writer issues ts >= 1.
struct Register {
  uint64_t ts = 0;
  TokenValue value;
  uint64_t origin = 0;  // the issuing writer incarnation; see Stamp
  uint64_t epoch = 0;   // the configuration epoch of the issuing writer; see Stamp

  Stamp stamp() const { return Stamp{epoch, ts, origin}; }
  friend bool operator==(const Register&, const Register&) = default;
};

// Register rule of read-impose write-majority: a Store(ts, v) replaces the current
// register only when its stamp is strictly newer.
inline bool IsNewer(const Register& incoming, const Register& current) {
  return incoming.stamp() > current.stamp();
}

}  // namespace tokenstore
