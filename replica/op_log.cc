#include "replica/op_log.h"

#include <chrono>

#include "common/json.h"
#include "common/log.h"

namespace tokenstore {

OpLog::OpLog(bool enabled, std::string node, size_t token_count, std::FILE* out)
    : enabled_(enabled), node_(std::move(node)), token_count_(token_count), out_(out) {}

void OpLog::Record(const OpRecord& r) {
  if (!enabled_) return;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  JsonObject line;
  line.Add("time_ms", static_cast<uint64_t>(
                          std::chrono::duration_cast<std::chrono::milliseconds>(now).count()))
      .Add("event", "op")
      .Add("node", node_)
      .Add("op", r.op)
      .Add("token", r.token)
      .Add("status", StatusCodeName(r.status.code()));
  if (!r.status.ok()) line.Add("error", r.status.message());
  line.Add("millis", r.millis);
  if (r.status.ok()) {
    JsonObject state;
    state.AddUint64String("ts", r.ts);
    if (r.value) {
      const TokenValue& v = *r.value;
      state.Add("kind", ValueKindName(v.kind));
      if (v.kind == ValueKind::kDefined) {
        state.Add("name", v.name)
            .AddUint64String("low", v.low)
            .AddUint64String("mid", v.mid)
            .AddUint64String("high", v.high);
        if (v.has_partial) {
          state.AddUint64String("partial", v.partial).AddUint64String("partial_x", v.partial_x);
        } else {
          state.AddNull("partial");
        }
      }
    }
    if (r.final_min) {
      state.AddUint64String("final", r.final_min->value).AddUint64String("final_x", r.final_min->x);
    }
    if (r.op == "read") state.Add("fast_path", r.fast_path);
    line.Add("state", state);
  }
  line.Add("tokens", token_count_);
  // Under the lock the event log (common/log.h) writes with: the two never interleave.
  WriteOutputLine(out_, line.str());
}

}  // namespace tokenstore
