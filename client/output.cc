#include "client/output.h"

#include "common/json.h"

namespace tokenstore {
namespace {

// "902613196918738813 at x=15", or "undefined".
std::string ValueAt(const std::optional<uint64_t>& v, uint64_t x) {
  if (!v) return "undefined";
  return std::to_string(*v) + " at x=" + std::to_string(x);
}

std::optional<uint64_t> XOf(const std::optional<uint64_t>& v, uint64_t x) {
  return v ? std::optional<uint64_t>(x) : std::nullopt;
}

std::string Where(uint64_t ts, const std::string& node) {
  return "(ts " + std::to_string(ts) + ", node " + node + ")";
}

}  // namespace

std::string FormatWrite(const WriteResult& r, bool json) {
  if (json) {
    JsonObject o;
    o.Add("op", "write")
        .Add("id", r.id)
        .AddUint64String("ts", r.ts)
        .AddUint64String("partial", r.partial)
        .AddUint64String("partial_x", XOf(r.partial, r.partial_x))
        .Add("node", r.node);
    return o.str();
  }
  return "token " + r.id + ": partial " +
         (r.partial ? ValueAt(r.partial, r.partial_x) : "undefined (empty range: low == mid)") +
         " " + Where(r.ts, r.node);
}

std::string FormatRead(const ReadResult& r, bool json) {
  if (json) {
    JsonObject o;
    o.Add("op", "read").Add("id", r.id).AddUint64String("ts", r.ts).Add("defined", r.defined);
    if (r.defined) {
      o.Add("name", r.name)
          .AddUint64String("low", r.low)
          .AddUint64String("mid", r.mid)
          .AddUint64String("high", r.high);
    } else {
      o.AddNull("name").AddNull("low").AddNull("mid").AddNull("high");
    }
    o.AddUint64String("partial", r.partial)
        .AddUint64String("partial_x", XOf(r.partial, r.partial_x))
        .AddUint64String("final", r.final)
        .AddUint64String("final_x", XOf(r.final, r.final_x))
        .Add("fast_path", r.fast_path)
        .Add("node", r.node);
    return o.str();
  }
  if (!r.defined) {
    return "token " + r.id + ": undefined (never written, or reset by create) " +
           Where(r.ts, r.node);
  }
  // The name is printed quoted and escaped: it is user data and may hold anything.
  return "token " + r.id + " " + Where(r.ts, r.node) + "\n" + "  name:    " + JsonQuote(r.name) +
         "\n" + "  domain:  low " + std::to_string(r.low) + ", mid " + std::to_string(r.mid) +
         ", high " + std::to_string(r.high) + "\n" +
         "  partial: " + ValueAt(r.partial, r.partial_x) + "\n" +
         "  final:   " + ValueAt(r.final, r.final_x);
}

std::string FormatAck(const std::string& op, const AckResult& r, bool json) {
  if (json) {
    JsonObject o;
    o.Add("op", op).Add("id", r.id).AddUint64String("ts", r.ts).Add("node", r.node);
    return o.str();
  }
  const char* what = op == "create" ? "created (reset to undefined)"
                                    : "dropped (reads and writes answer NOT_FOUND until create)";
  return "token " + r.id + ": " + what + " " + Where(r.ts, r.node);
}

}  // namespace tokenstore
