// WGL search over a doubly linked list of call/return entries ("lift" an operation when it is
// linearized, "unlift" it on backtracking), memoizing (linearized set, register value) so no
// configuration is explored twice. Hashes of the set are kept incrementally (Zobrist), so a
// step costs O(1) apart from the bitset comparison on a hash hit.
#include "checker/register_search.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace tokenstore::checker {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct Entry {
  int op = -1;       // -1 for the head sentinel
  bool is_call = false;
  int match = -1;    // call: index of its return entry
  int prev = -1;
  int next = -1;
};

// Memo of visited (linearized set, value) configurations. Bitsets live in one flat pool.
class Cache {
 public:
  explicit Cache(size_t words) : words_(words) {}

  // Inserts; false if it was already present.
  bool Insert(uint64_t hash, int value, const std::vector<uint64_t>& bits) {
    auto [it, inserted] = index_.try_emplace(hash);
    for (uint32_t slot : it->second) {
      if (values_[slot] == value &&
          std::memcmp(&pool_[size_t{slot} * words_], bits.data(), words_ * sizeof(uint64_t)) == 0) {
        return false;
      }
    }
    it->second.push_back(static_cast<uint32_t>(values_.size()));
    values_.push_back(value);
    pool_.insert(pool_.end(), bits.begin(), bits.end());
    return true;
  }
  size_t bytes() const { return pool_.size() * sizeof(uint64_t) + values_.size() * 48; }

 private:
  size_t words_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> index_;
  std::vector<int> values_;
  std::vector<uint64_t> pool_;
};

}  // namespace

SearchResult SearchLinearization(const std::vector<SearchOp>& ops, const SearchBudget& budget,
                                 uint64_t* steps_used) {
  const int n = static_cast<int>(ops.size());
  if (steps_used != nullptr) *steps_used = 0;
  if (n == 0) return SearchResult::kLinearizable;

  // Entries 0..2n-1 sorted by time; calls before returns at equal times (concurrent).
  struct Point {
    int64_t time;
    bool is_call;
    int op;
  };
  std::vector<Point> points;
  points.reserve(2 * n);
  for (int i = 0; i < n; ++i) {
    points.push_back({ops[i].call, true, i});
    points.push_back({ops[i].ret, false, i});
  }
  std::stable_sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
    if (a.time != b.time) return a.time < b.time;
    return a.is_call && !b.is_call;
  });
  const int head = 2 * n;
  std::vector<Entry> list(2 * n + 1);
  std::vector<int> return_entry(n), call_entry(n);
  for (int i = 0; i < 2 * n; ++i) {
    list[i].op = points[i].op;
    list[i].is_call = points[i].is_call;
    (points[i].is_call ? call_entry : return_entry)[points[i].op] = i;
    list[i].prev = i == 0 ? head : i - 1;
    list[i].next = i + 1 < 2 * n ? i + 1 : -1;
  }
  list[head].next = 0;
  for (int i = 0; i < n; ++i) list[call_entry[i]].match = return_entry[i];

  auto lift = [&](int e) {
    Entry& c = list[e];
    list[c.prev].next = c.next;
    if (c.next != -1) list[c.next].prev = c.prev;
    Entry& r = list[c.match];
    list[r.prev].next = r.next;
    if (r.next != -1) list[r.next].prev = r.prev;
  };
  auto unlift = [&](int e) {
    Entry& c = list[e];
    Entry& r = list[c.match];
    list[r.prev].next = c.match;
    if (r.next != -1) list[r.next].prev = c.match;
    list[c.prev].next = e;
    if (c.next != -1) list[c.next].prev = e;
  };

  std::vector<uint64_t> zobrist(n);
  for (int i = 0; i < n; ++i) zobrist[i] = SplitMix64(static_cast<uint64_t>(i) + 1);
  const size_t words = (static_cast<size_t>(n) + 63) / 64;
  std::vector<uint64_t> bits(words, 0);
  uint64_t set_hash = 0;
  Cache cache(words);

  struct Frame {
    int entry;
    int value;  // register value before this operation
  };
  std::vector<Frame> stack;
  stack.reserve(n);
  int value = 0;  // undefined
  int entry = list[head].next;
  uint64_t steps = 0;
  SearchResult result = SearchResult::kLinearizable;

  while (list[head].next != -1) {
    if (++steps > budget.max_steps || cache.bytes() > budget.max_cache_bytes) {
      result = SearchResult::kUnknown;
      break;
    }
    const Entry& cur = list[entry];
    if (cur.is_call) {
      const SearchOp& op = ops[cur.op];
      const bool legal = op.is_write || op.value == value;
      if (legal) {
        const int new_value = op.is_write ? op.value : value;
        bits[cur.op / 64] |= uint64_t{1} << (cur.op % 64);
        set_hash ^= zobrist[cur.op];
        const uint64_t key = set_hash ^ SplitMix64(static_cast<uint64_t>(new_value) << 32);
        if (cache.Insert(key, new_value, bits)) {
          stack.push_back({entry, value});
          value = new_value;
          lift(entry);
          entry = list[head].next;
          continue;
        }
        bits[cur.op / 64] &= ~(uint64_t{1} << (cur.op % 64));
        set_hash ^= zobrist[cur.op];
      }
      entry = cur.next;
    } else {
      // An operation's return came before it was linearized: undo the last choice.
      if (stack.empty()) {
        result = SearchResult::kViolation;
        break;
      }
      const Frame f = stack.back();
      stack.pop_back();
      const int op = list[f.entry].op;
      value = f.value;
      bits[op / 64] &= ~(uint64_t{1} << (op % 64));
      set_hash ^= zobrist[op];
      unlift(f.entry);
      entry = list[f.entry].next;
    }
  }
  if (steps_used != nullptr) *steps_used = steps;
  return result;
}

}  // namespace tokenstore::checker
