#include "replica/unsafe_bug.h"

#include <array>

namespace tokenstore {
namespace {

constexpr std::array<std::pair<UnsafeBug, std::string_view>, 5> kNames = {{
    {UnsafeBug::kNone, "none"},
    {UnsafeBug::kSkipWriteBack, "skip-write-back"},
    {UnsafeBug::kReadLocal, "read-local"},
    {UnsafeBug::kSkipRebuild, "skip-rebuild"},
    {UnsafeBug::kReuseTimestamp, "reuse-timestamp"},
}};

}  // namespace

std::string_view UnsafeBugName(UnsafeBug bug) {
  for (const auto& [b, name] : kNames) {
    if (b == bug) return name;
  }
  return "unknown";
}

std::optional<UnsafeBug> ParseUnsafeBug(std::string_view name) {
  for (const auto& [b, n] : kNames) {
    if (n == name) return b;
  }
  return std::nullopt;
}

std::vector<std::string_view> UnsafeBugNames() {
  std::vector<std::string_view> names;
  for (const auto& entry : kNames) names.push_back(entry.second);
  return names;
}

}  // namespace tokenstore
