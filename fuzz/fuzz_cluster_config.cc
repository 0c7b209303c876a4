// bytes -> ParseClusterConfig. Properties: it returns (never crashes or hangs); a config it
// accepts is consistent (ids unique and indexed, whichever form named them, access points
// canonical, readers present and distinct, fingerprints filled in); a rejection is INVALID_ARGUMENT and every line of its message starts with
// "<source>:<line>: " where line >= 1, as the header promises the operator.
#include <cstddef>
#include <cstdint>
#include <set>
#include <optional>
#include <string>
#include <string_view>

#include "config/cluster_config.h"
#include "fuzz/fuzz_check.h"

namespace {

constexpr char kSource[] = "fuzz.yaml";
// A few bytes can name a range of millions of ids; the real limit (10,000,000) would make
// such inputs slow and large without reaching other code.
constexpr uint64_t kMaxTokenIds = 10'000;

// "<source>:<digits, not starting with 0>: " at the start of `line`.
bool StartsWithSourceAndLine(std::string_view line) {
  const std::string prefix = std::string(kSource) + ":";
  if (line.substr(0, prefix.size()) != prefix) return false;
  size_t i = prefix.size();
  const size_t digits_at = i;
  while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
  if (i == digits_at || line[digits_at] == '0') return false;
  return line.substr(i, 2) == ": ";
}

void CheckAccepted(const tokenstore::ClusterConfig& config) {
  using tokenstore::ParseAccessPoint;
  FUZZ_CHECK(config.source == kSource, config.source);
  FUZZ_CHECK(config.size() > 0, "an accepted config has tokens");
  uint64_t seen = 0;
  std::set<std::string> ids;
  config.ForEach([&](const tokenstore::TokenReplication& token) {
    ++seen;
    FUZZ_CHECK(!token.id.empty(), "token id");
    FUZZ_CHECK(ids.insert(token.id).second, "id listed twice: " + token.id);
    // Find() recognizes every id ForEach() names, and gives it the same entry.
    const std::optional<tokenstore::TokenReplication> found = config.Find(token.id);
    FUZZ_CHECK(found && found->id == token.id && found->set == token.set, token.id);
    FUZZ_CHECK(token.line() >= 1, token.id);
    auto writer = ParseAccessPoint(token.writer());
    FUZZ_CHECK(writer.ok() && *writer == token.writer(), token.writer());
    FUZZ_CHECK(!token.readers().empty(), token.id);
    std::set<std::string> distinct;
    for (const std::string& reader : token.readers()) {
      auto canonical = ParseAccessPoint(reader);
      FUZZ_CHECK(canonical.ok() && *canonical == reader, reader);
      FUZZ_CHECK(distinct.insert(reader).second, "reader listed twice: " + reader);
    }
    const size_t replicas = token.Replicas().size();
    FUZZ_CHECK(token.Quorum() > replicas / 2 && token.Quorum() <= replicas, token.id);
    FUZZ_CHECK(token.RoleOf(token.writer()) != tokenstore::Role::kNone, token.writer());
    FUZZ_CHECK(token.set->fingerprint == token.set->ComputeFingerprint(), token.id);
    return true;
  });
  FUZZ_CHECK(seen == config.size(), "ForEach names size() ids");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  tokenstore::StatusOr<tokenstore::ClusterConfig> config =
      tokenstore::ParseClusterConfig(yaml, kSource, kMaxTokenIds);
  if (config.ok()) {
    CheckAccepted(*config);
    return 0;
  }
  const tokenstore::Status& st = config.status();
  FUZZ_CHECK(st.code() == tokenstore::StatusCode::kInvalidArgument, st.ToString());
  const std::string& message = st.message();
  size_t start = 0;
  while (true) {
    const size_t end = message.find('\n', start);
    const std::string_view line =
        std::string_view(message).substr(start, end == std::string::npos ? end : end - start);
    FUZZ_CHECK(StartsWithSourceAndLine(line),
               "error line without \"<source>:<line>: \": " + std::string(line) +
                   "\nin the message:\n" + message);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return 0;
}
