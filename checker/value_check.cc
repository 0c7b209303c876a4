// CheckReturnedValues (see value_check.h): each returned hash against MinHash of the value.
#include "checker/value_check.h"

#include <optional>
#include <unordered_map>

#include "hash/token_hash.h"

namespace tokenstore::checker {
namespace {

struct Range {
  uint64_t low = 0, mid = 0, high = 0;
  friend bool operator==(const Range&, const Range&) = default;
};

struct Expected {
  std::optional<uint64_t> partial, final_value;
  Status error;  // the hash engine refused the range (not a valid written value)
};

std::string Text(const std::optional<uint64_t>& v) {
  return v ? std::to_string(*v) : std::string("undefined");
}

std::string Text(const Range& r) {
  return "[" + std::to_string(r.low) + ", " + std::to_string(r.mid) + ", " +
         std::to_string(r.high) + ")";
}

Expected Compute(const std::string& name, const Range& r) {
  Expected out;
  StatusOr<std::optional<HashMin>> partial = MinHash(name, r.low, r.mid);
  StatusOr<std::optional<HashMin>> rest = MinHash(name, r.mid, r.high);
  if (!partial.ok() || !rest.ok()) {
    out.error = partial.ok() ? rest.status() : partial.status();
    return out;
  }
  if (*partial) out.partial = (*partial)->value;
  if (const auto final_min = CombineMin(*partial, *rest)) out.final_value = final_min->value;
  return out;
}

class Checker {
 public:
  explicit Checker(const std::vector<Event>& events) {
    for (const Event& e : events) {
      if (e.f == OpFunction::kWrite && e.type == EventType::kInvoke && e.name) {
        written_.emplace(*e.name, Range{e.low, e.mid, e.high});
      }
    }
  }

  void Check(const Event& e) {
    if (e.type != EventType::kOk) return;
    if (e.f == OpFunction::kWrite) {
      CheckWrite(e);
    } else {
      CheckRead(e);
    }
  }

  ValueCheck result() && { return std::move(result_); }

 private:
  void CheckWrite(const Event& e) {
    if (!e.full_value || !e.name) return;
    const auto range = written_.find(*e.name);
    if (range == written_.end()) return;  // no invoke: the history's validation says so
    ++result_.writes_checked;
    const Expected& want = ExpectedOf(*e.name, range->second);
    if (!want.error.ok()) {
      Mismatch(e, "returned ok for the range " + Text(range->second) +
                      ", which the hash engine refuses: " + want.error.ToString());
    } else if (e.partial_value != want.partial) {
      Mismatch(e, "returned partial " + Text(e.partial_value) + ", but min H over [" +
                      std::to_string(range->second.low) + ", " + std::to_string(range->second.mid) +
                      ") is " + Text(want.partial));
    }
  }

  void CheckRead(const Event& e) {
    if (!e.name) {
      ++result_.reads_checked;
      if (e.final_value) Mismatch(e, "returned no value but final " + Text(e.final_value));
      return;
    }
    const auto range = written_.find(*e.name);
    if (range == written_.end()) return;  // never written: the linearizability check's finding
    ++result_.reads_checked;
    const Range& written = range->second;
    const Expected& want = ExpectedOf(*e.name, written);
    if (!want.error.ok()) return;  // reported at the write, if it completed
    std::string wrong;
    const Range returned{e.low, e.mid, e.high};
    if (e.full_value && returned != written) {
      wrong +=
          "returned the range " + Text(returned) + " but it was written as " + Text(written) + "; ";
    }
    if (e.final_value != want.final_value) {
      wrong += "returned final " + Text(e.final_value) + ", but min H over [" +
               std::to_string(written.low) + ", " + std::to_string(written.high) + ") is " +
               Text(want.final_value) + "; ";
    }
    if (e.full_value && e.partial_value != want.partial) {
      wrong += "returned partial " + Text(e.partial_value) + ", but min H over [" +
               std::to_string(written.low) + ", " + std::to_string(written.mid) + ") is " +
               Text(want.partial) + "; ";
    }
    if (!wrong.empty()) Mismatch(e, wrong.substr(0, wrong.size() - 2));
  }

  const Expected& ExpectedOf(const std::string& name, const Range& r) {
    auto it = cache_.find(name);
    if (it == cache_.end()) it = cache_.emplace(name, Compute(name, r)).first;
    return it->second;
  }

  void Mismatch(const Event& e, const std::string& what) {
    if (++result_.mismatches > ValueCheck::kMaxExplained) return;
    result_.explanations.push_back("line " + std::to_string(e.line) + ": " + OpFunctionName(e.f) +
                                   " by process " + std::to_string(e.process) + " on token " +
                                   e.token + (e.name ? " of " + *e.name : std::string()) + " " +
                                   what);
  }

  std::unordered_map<std::string, Range> written_;   // name -> the range written
  std::unordered_map<std::string, Expected> cache_;  // name -> its hashes
  ValueCheck result_;
};

}  // namespace

ValueCheck CheckReturnedValues(const std::vector<Event>& events) {
  Checker checker(events);
  for (const Event& e : events) checker.Check(e);
  return std::move(checker).result();
}

}  // namespace tokenstore::checker
