// PeerBatcher over a fake peer that the test answers by hand: coalescing, per-call
// deadlines, fail-silent entries, cancellation, a black-holed batch, a peer that is down,
// shutdown.
#include "replica/peer_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "proto/convert.h"

namespace tokenstore {
namespace {

using namespace std::chrono_literals;

Register Reg(uint64_t ts, const std::string& name) {
  Register r;
  r.ts = ts;
  r.value.kind = ValueKind::kDefined;
  r.value.name = name;
  r.value.low = 1;
  r.value.mid = 2;
  r.value.high = 3;
  return r;
}

// Records every batch the batcher sends; the test answers or fails them.
class FakePeer {
 public:
  struct Sent {
    v1::BatchRequest request;
    Clock::time_point deadline;
    std::function<void(Status, const v1::BatchResponse&)> done;
    int cancels = 0;  // how often the batcher invoked the RPC's cancel handle
  };

  // Cancelling a batch only counts: the test decides when (and whether) its RPC completes, as
  // a black hole would keep it until the test fails it.
  PeerBatcher::SendFn Fn() {
    return [this](v1::BatchRequest request, Clock::time_point deadline,
                  std::function<void(Status, const v1::BatchResponse&)> done) -> CancelFn {
      std::lock_guard<std::mutex> lock(mu_);
      const size_t i = sent_.size();
      sent_.push_back(Sent{std::move(request), deadline, std::move(done)});
      return [this, i] {
        std::lock_guard<std::mutex> lock(mu_);
        ++sent_.at(i).cancels;
      };
    };
  }

  size_t batches() {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_.size();
  }
  v1::BatchRequest request(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_.at(i).request;
  }
  Clock::time_point deadline(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_.at(i).deadline;
  }
  int cancels(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_.at(i).cancels;
  }
  std::vector<std::string> tokens(size_t i) {
    std::vector<std::string> out;
    const v1::BatchRequest req = request(i);
    for (const auto& e : req.entries()) out.push_back(e.token());
    return out;
  }

  // Answers batch i as a replica holding Reg(7, token) for every token would, except that it
  // leaves out the entries about `silent` tokens (crash-stopped) and answers those about the
  // tokens in `errors` with that error.
  void Answer(size_t i, const std::set<std::string>& silent = {},
              const std::map<std::string, Status>& errors = {}) {
    v1::BatchResponse response;
    const v1::BatchRequest req = request(i);
    for (const auto& e : req.entries()) {
      if (silent.count(e.token())) continue;
      v1::BatchResult* r = response.add_results();
      r->set_id(e.id());
      if (auto error = errors.find(e.token()); error != errors.end()) {
        r->set_code(static_cast<int>(error->second.code()));
        r->set_message(error->second.message());
      } else if (e.call_case() == v1::BatchEntry::kStore) {
        r->set_stored_ts(std::max<uint64_t>(e.store().ts(), 7));
      } else {
        ToProto(Reg(7, e.token()), r->mutable_reg());
      }
    }
    Take(i)(Status::Ok(), response);
  }
  void Fail(size_t i, const Status& st) { Take(i)(st, v1::BatchResponse()); }
  void Reply(size_t i, const v1::BatchResponse& response) { Take(i)(Status::Ok(), response); }

 private:
  std::function<void(Status, const v1::BatchResponse&)> Take(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(sent_.at(i).done);
  }

  std::mutex mu_;
  std::vector<Sent> sent_;
};

// The outcome of one call, waited for across threads (the deadline watch answers some).
template <typename T>
class Result {
 public:
  std::function<void(StatusOr<T>)> Callback() {
    return [this](StatusOr<T> r) {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls_;
      value_.emplace(std::move(r));
      at_ = Clock::now();
      cv_.notify_all();
    };
  }
  bool done() {
    std::lock_guard<std::mutex> lock(mu_);
    return value_.has_value();
  }
  // Waits up to `timeout` for the outcome. The default only ends a hang: every outcome a
  // test waits for is due, or comes from a deadline a fraction of a second away.
  StatusOr<T> Get(Clock::duration timeout = 60s) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [this] { return value_.has_value(); })) {
      return Status::Internal("no outcome");
    }
    return *value_;
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  Clock::time_point at() {
    std::lock_guard<std::mutex> lock(mu_);
    return at_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<StatusOr<T>> value_;
  int calls_ = 0;
  Clock::time_point at_;
};

class PeerBatcherTest : public ::testing::Test {
 protected:
  std::shared_ptr<PeerBatcher> Make(PeerBatcher::Options options = {}) {
    return PeerBatcher::Create("peer:1", peer_.Fn(), watch_, options);
  }
  static Clock::time_point In(Clock::duration d) { return Clock::now() + d; }

  FakePeer peer_;
  DeadlineWatch watch_;
};

TEST_F(PeerBatcherTest, ALoneCallIsSentAtOnce) {
  auto b = Make();
  Result<Register> get;
  b->GetRegister("t", 0, In(10s), get.Callback());
  ASSERT_EQ(peer_.batches(), 1u);
  EXPECT_EQ(peer_.tokens(0), std::vector<std::string>{"t"});
  EXPECT_FALSE(get.done());
  peer_.Answer(0);
  StatusOr<Register> r = get.Get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, Reg(7, "t"));
}

TEST_F(PeerBatcherTest, CallsMadeWhileABatchIsInFlightLeaveTogetherInTheNext) {
  auto b = Make();
  Result<Register> first;
  b->GetRegister("t0", 0, In(10s), first.Callback());
  ASSERT_EQ(peer_.batches(), 1u);
  std::vector<std::unique_ptr<Result<Register>>> gets;
  std::vector<std::unique_ptr<Result<Stamp>>> stores;
  for (int i = 1; i <= 3; ++i) {
    gets.push_back(std::make_unique<Result<Register>>());
    b->GetRegister("t" + std::to_string(i), 0, In(10s), gets.back()->Callback());
    stores.push_back(std::make_unique<Result<Stamp>>());
    b->Store("t" + std::to_string(i), 0, Reg(10 + i, "s"), In(10s), stores.back()->Callback());
  }
  EXPECT_EQ(peer_.batches(), 1u) << "nothing more may leave while one batch is in flight";
  peer_.Answer(0);
  EXPECT_TRUE(first.Get().ok());
  ASSERT_EQ(peer_.batches(), 2u);
  EXPECT_EQ(peer_.request(1).entries_size(), 6);
  peer_.Answer(1);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(*gets[i - 1]->Get(), Reg(7, "t" + std::to_string(i)));
    EXPECT_EQ(stores[i - 1]->Get()->ts, uint64_t(10 + i));
  }
  EXPECT_EQ(b->batches_sent(), 2u);
  EXPECT_EQ(b->entries_sent(), 7u);
}

TEST_F(PeerBatcherTest, MaxEntriesSplitsTheBacklog) {
  PeerBatcher::Options o;
  o.max_entries = 2;
  auto b = Make(o);
  std::vector<std::unique_ptr<Result<Register>>> gets;
  for (int i = 0; i < 6; ++i) {
    gets.push_back(std::make_unique<Result<Register>>());
    b->GetRegister("t" + std::to_string(i), 0, In(10s), gets.back()->Callback());
  }
  // One went alone; five wait. Each answer lets the next two go.
  ASSERT_EQ(peer_.batches(), 1u);
  peer_.Answer(0);
  ASSERT_EQ(peer_.batches(), 2u);
  EXPECT_EQ(peer_.request(1).entries_size(), 2);
  peer_.Answer(1);
  peer_.Answer(2);
  ASSERT_EQ(peer_.batches(), 4u);
  EXPECT_EQ(peer_.request(3).entries_size(), 1);
  peer_.Answer(3);
  for (auto& g : gets) EXPECT_TRUE(g->Get().ok());
}

TEST_F(PeerBatcherTest, MoreBatchesInFlightWhenAllowed) {
  PeerBatcher::Options o;
  o.max_in_flight = 2;
  auto b = Make(o);
  Result<Register> a, c, d;
  b->GetRegister("a", 0, In(10s), a.Callback());
  b->GetRegister("c", 0, In(10s), c.Callback());
  b->GetRegister("d", 0, In(10s), d.Callback());
  ASSERT_EQ(peer_.batches(), 2u);
  peer_.Answer(1);
  ASSERT_EQ(peer_.batches(), 3u);
  EXPECT_EQ(peer_.tokens(2), std::vector<std::string>{"d"});
  peer_.Answer(0);
  peer_.Answer(2);
  EXPECT_TRUE(a.Get().ok() && c.Get().ok() && d.Get().ok());
}

// Time is driven by calling Expire() as the DeadlineWatch would; the deadlines are far enough
// ahead that the watch itself expires nothing during the test (before: a 200 ms deadline that
// a slow run could pass before the answer, and an upper bound on when it fired).
TEST_F(PeerBatcherTest, EntriesAboutCrashStoppedTokensWaitForTheirDeadlineOthersAreAnswered) {
  auto b = Make();
  Result<Register> blocker;
  b->GetRegister("other", 0, In(60s), blocker.Callback());
  Result<Register> silent_get, live_get;
  Result<Stamp> silent_store, live_store;
  const Clock::time_point deadline = In(30s);
  b->GetRegister("crashed", 0, deadline, silent_get.Callback());
  b->Store("crashed", 0, Reg(9, "x"), deadline, silent_store.Callback());
  b->GetRegister("live", 0, In(60s), live_get.Callback());
  b->Store("live", 0, Reg(9, "y"), In(60s), live_store.Callback());
  peer_.Answer(0);
  ASSERT_EQ(peer_.batches(), 2u);
  EXPECT_EQ(peer_.request(1).entries_size(), 4);
  peer_.Answer(1, /*silent=*/{"crashed"});
  EXPECT_EQ(*live_get.Get(), Reg(7, "live"));
  EXPECT_EQ(live_store.Get()->ts, 9u);
  // The silent ones fail at their own deadline, not before.
  b->Expire(deadline - 1ns);
  EXPECT_FALSE(silent_get.done());
  EXPECT_FALSE(silent_store.done());
  b->Expire(deadline);
  StatusOr<Register> g = silent_get.Get(0s);
  StatusOr<Stamp> s = silent_store.Get(0s);
  EXPECT_EQ(g.status().code(), StatusCode::kDeadlineExceeded) << g.status().ToString();
  EXPECT_EQ(s.status().code(), StatusCode::kDeadlineExceeded) << s.status().ToString();
}

TEST_F(PeerBatcherTest, ACallWhoseDeadlinePassedWhileWaitingIsFailedAndNotSent) {
  auto b = Make();
  Result<Register> blocker, late, fine;
  b->GetRegister("blocker", 0, In(10s), blocker.Callback());
  const Clock::time_point short_deadline = In(100ms);
  b->GetRegister("late", 0, short_deadline, late.Callback());
  b->GetRegister("fine", 0, In(10s), fine.Callback());
  // It fails at its deadline while the batch ahead of it is still out.
  EXPECT_EQ(late.Get().status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_GE(late.at(), short_deadline);
  peer_.Answer(0);
  ASSERT_EQ(peer_.batches(), 2u);
  EXPECT_EQ(peer_.tokens(1), std::vector<std::string>{"fine"});
  peer_.Answer(1);
  EXPECT_TRUE(fine.Get().ok());
  EXPECT_EQ(late.calls(), 1);
}

TEST_F(PeerBatcherTest, ACallWithAPastDeadlineIsNeverSent) {
  auto b = Make();
  Result<Stamp> r;
  b->Store("t", 0, Reg(1, "x"), Clock::now() - 1ms, r.Callback());
  EXPECT_EQ(r.Get().status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(peer_.batches(), 0u);
}

// Time driven by Expire() (before: a 150 ms deadline that a slow run could pass while the
// call still waited to be sent, so the test passed without a call in flight expiring).
TEST_F(PeerBatcherTest, ACallInAnInFlightBatchFailsAtItsOwnDeadline) {
  auto b = Make();
  Result<Register> blocker, early, later;
  b->GetRegister("blocker", 0, In(60s), blocker.Callback());
  const Clock::time_point early_deadline = In(30s);
  const Clock::time_point later_deadline = In(50s);
  b->GetRegister("early", 0, early_deadline, early.Callback());
  b->GetRegister("later", 0, later_deadline, later.Callback());
  peer_.Answer(0);
  ASSERT_EQ(peer_.batches(), 2u);
  ASSERT_EQ(peer_.tokens(1), (std::vector<std::string>{"early", "later"}));
  // The batch lives as long as its latest call.
  EXPECT_EQ(peer_.deadline(1), later_deadline);
  b->Expire(early_deadline);
  EXPECT_EQ(early.Get(0s).status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(later.done());
  EXPECT_EQ(peer_.cancels(1), 0) << "\"later\" still waits for the batch";
  peer_.Answer(1);  // the early call's late answer is ignored
  EXPECT_TRUE(later.Get(0s).ok());
  EXPECT_EQ(early.calls(), 1);
}

// The real DeadlineWatch fails a call of a batch in flight that the peer never answers, on its
// own thread, not before the deadline; the batch then leaves the lane. Waits on the outcome
// (bounded only against a hang), never on an upper bound of when it came.
TEST_F(PeerBatcherTest, TheWatchFailsAnUnansweredCallAtItsDeadline) {
  auto b = Make();
  Result<Register> lost, next;
  const Clock::time_point deadline = In(300ms);
  b->GetRegister("lost", 0, deadline, lost.Callback());  // alone: sent at once
  b->GetRegister("next", 0, In(60s), next.Callback());
  StatusOr<Register> r = lost.Get();
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_GE(lost.at(), deadline);
  // "lost" went alone in batch 0 unless the run stalled for the whole 300 ms before sending
  // it; either way "next" is sent once "lost" is gone.
  if (peer_.tokens(0) == std::vector<std::string>{"lost"}) {
    EXPECT_EQ(peer_.cancels(0), 1) << "the RPC nobody waits for is cancelled";
  }
  ASSERT_EQ(peer_.tokens(peer_.batches() - 1), std::vector<std::string>{"next"});
  peer_.Answer(peer_.batches() - 1);
  EXPECT_TRUE(next.Get().ok());
  EXPECT_EQ(lost.calls(), 1);
}

// A peer that black-holes a Batch RPC (a partition dropping packets) never answers it; the
// transport would fail it only at the batch's own deadline, up to max_batch_time (60 s).
// Time is driven by calling Expire() directly, as the DeadlineWatch would at that instant;
// the deadlines are far enough ahead that the watch itself expires nothing during the test.
//
// Fails before the fix: the expired call's batch kept the lane (max_in_flight = 1) until its
// RPC completed, so "next" was not sent after "lost" expired (batches() stayed 1) and failed
// at its own deadline behind it, also after the network healed.
TEST_F(PeerBatcherTest, ABlackHoledBatchFreesTheLaneOnceItsCallsExpired) {
  auto b = Make();
  Result<Register> lost, next;
  const Clock::time_point lost_deadline = In(30s);
  b->GetRegister("lost", 0, lost_deadline, lost.Callback());
  b->GetRegister("next", 0, In(60s), next.Callback());
  ASSERT_EQ(peer_.batches(), 1u);  // "lost" went alone; the peer never answers it

  b->Expire(lost_deadline);
  EXPECT_EQ(lost.Get(0s).status().code(), StatusCode::kDeadlineExceeded);
  ASSERT_EQ(peer_.batches(), 2u) << "the call queued behind the black-holed batch goes at once";
  EXPECT_EQ(peer_.tokens(1), std::vector<std::string>{"next"});
  EXPECT_EQ(peer_.cancels(0), 1) << "the RPC nobody waits for is cancelled";
  EXPECT_EQ(b->batches_abandoned(), 1u);

  // The network healed: the new batch is answered.
  peer_.Answer(1);
  EXPECT_EQ(*next.Get(0s), Reg(7, "next"));

  // The cancelled RPC completes late; that must not free a second place in the lane.
  Result<Register> c, d;
  b->GetRegister("c", 0, In(60s), c.Callback());
  b->GetRegister("d", 0, In(60s), d.Callback());
  ASSERT_EQ(peer_.batches(), 3u);
  peer_.Fail(0, Status::Cancelled("cancelled by the client"));
  EXPECT_EQ(peer_.batches(), 3u) << "\"d\" still waits behind \"c\"";
  EXPECT_EQ(lost.calls(), 1);
  peer_.Answer(2);
  ASSERT_EQ(peer_.batches(), 4u);
  peer_.Answer(3);
  EXPECT_TRUE(c.Get(0s).ok());
  EXPECT_TRUE(d.Get(0s).ok());
}

// A read cancels the calls it no longer needs once it has a majority; a black-holed peer's
// batch must then stop holding the lane too.
// Fails before the fix: cancelling "lost" failed the call but left its batch in the lane, so
// "next" stayed queued (batches() stayed 1).
TEST_F(PeerBatcherTest, CancellingEveryCallOfABatchInFlightFreesTheLane) {
  auto b = Make();
  Result<Register> lost, next;
  CancelFn cancel = b->GetRegister("lost", 0, In(30s), lost.Callback());
  b->GetRegister("next", 0, In(30s), next.Callback());
  ASSERT_EQ(peer_.batches(), 1u);
  cancel();
  EXPECT_EQ(lost.Get(0s).status().code(), StatusCode::kCancelled);
  ASSERT_EQ(peer_.batches(), 2u);
  EXPECT_EQ(peer_.tokens(1), std::vector<std::string>{"next"});
  EXPECT_EQ(peer_.cancels(0), 1);
  peer_.Answer(1);
  EXPECT_TRUE(next.Get(0s).ok());
  peer_.Answer(0);  // the late answer reaches nobody
  EXPECT_EQ(lost.calls(), 1);
}

// The lane is freed only when *no* call of the batch waits any more: one expired call out of
// two keeps the batch (and its RPC) going for the other.
TEST_F(PeerBatcherTest, ABatchWithACallStillWaitingKeepsTheLane) {
  auto b = Make();
  Result<Register> blocker, early, later, queued;
  b->GetRegister("blocker", 0, In(30s), blocker.Callback());
  const Clock::time_point early_deadline = In(20s);
  b->GetRegister("early", 0, early_deadline, early.Callback());
  CancelFn cancel_later = b->GetRegister("later", 0, In(40s), later.Callback());
  peer_.Answer(0);
  ASSERT_EQ(peer_.batches(), 2u);
  b->GetRegister("queued", 0, In(50s), queued.Callback());

  b->Expire(early_deadline);
  EXPECT_EQ(early.Get(0s).status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(later.done());
  EXPECT_EQ(peer_.batches(), 2u) << "\"later\" still waits for batch 1";
  EXPECT_EQ(peer_.cancels(1), 0);

  cancel_later();
  EXPECT_EQ(later.Get(0s).status().code(), StatusCode::kCancelled);
  ASSERT_EQ(peer_.batches(), 3u);
  EXPECT_EQ(peer_.tokens(2), std::vector<std::string>{"queued"});
  EXPECT_EQ(peer_.cancels(1), 1);
  peer_.Answer(2);
  EXPECT_TRUE(queued.Get(0s).ok());
}

// A fail-silent entry (crash-stopped token) gets no result, but the RPC itself came back: the
// lane is free at once, and the entry's later expiry frees nothing a second time.
TEST_F(PeerBatcherTest, AFailSilentEntryDoesNotHoldTheLane) {
  auto b = Make();
  Result<Register> silent, next, after;
  const Clock::time_point silent_deadline = In(30s);
  b->GetRegister("crashed", 0, silent_deadline, silent.Callback());
  b->GetRegister("next", 0, In(60s), next.Callback());
  peer_.Answer(0, /*silent=*/{"crashed"});
  EXPECT_FALSE(silent.done());
  ASSERT_EQ(peer_.batches(), 2u) << "the answered batch left the lane";

  b->Expire(silent_deadline);
  EXPECT_EQ(silent.Get(0s).status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(peer_.cancels(0), 0) << "its RPC had come back already";
  b->GetRegister("after", 0, In(60s), after.Callback());
  EXPECT_EQ(peer_.batches(), 2u) << "batch 1 is still in flight and holds the only place";
  peer_.Answer(1);
  ASSERT_EQ(peer_.batches(), 3u);
  peer_.Answer(2);
  EXPECT_TRUE(next.Get(0s).ok());
  EXPECT_TRUE(after.Get(0s).ok());
  EXPECT_EQ(b->batches_abandoned(), 0u);
}

TEST_F(PeerBatcherTest, ABatchDeadlineIsBounded) {
  PeerBatcher::Options o;
  o.max_batch_time = 2s;
  auto b = Make(o);
  Result<Register> r;
  const Clock::time_point before = Clock::now();
  b->GetRegister("t", 0, Clock::time_point::max(), r.Callback());
  ASSERT_EQ(peer_.batches(), 1u);
  EXPECT_LE(peer_.deadline(0), Clock::now() + 2s);
  EXPECT_GE(peer_.deadline(0), before + 2s);
  peer_.Fail(0, Status::DeadlineExceeded("batch timed out"));
  EXPECT_EQ(r.Get().status().code(), StatusCode::kDeadlineExceeded);
}

TEST_F(PeerBatcherTest, APeerThatIsDownFailsEveryCallOfTheBatch) {
  auto b = Make();
  Result<Register> blocker, g;
  Result<Stamp> s;
  b->GetRegister("blocker", 0, In(10s), blocker.Callback());
  b->GetRegister("a", 0, In(10s), g.Callback());
  b->Store("b", 0, Reg(3, "b"), In(10s), s.Callback());
  peer_.Fail(0, Status::Unavailable("connection refused"));
  EXPECT_EQ(blocker.Get().status().code(), StatusCode::kUnavailable);
  // The next batch still goes (the peer may be back); it fails the same way.
  ASSERT_EQ(peer_.batches(), 2u);
  peer_.Fail(1, Status::Unavailable("connection refused"));
  EXPECT_EQ(g.Get().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.Get().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(g.calls(), 1);
}

// An entry's error (the peer does not keep the token, could not store it) reaches only its
// own call; the other calls of the batch, Stores and GetRegisters, get their answers. Catches
// an entry's error applied to the whole batch, or a Store's error taken for an acknowledgement.
TEST_F(PeerBatcherTest, AnEntrysErrorReachesOnlyItsCall) {
  auto b = Make();
  Result<Register> blocker, bad, good;
  Result<Stamp> refused, stored;
  b->GetRegister("blocker", 0, In(60s), blocker.Callback());
  b->GetRegister("unknown", 0, In(60s), bad.Callback());
  b->GetRegister("known", 0, In(60s), good.Callback());
  b->Store("full", 0, Reg(9, "x"), In(60s), refused.Callback());
  b->Store("fine", 0, Reg(9, "y"), In(60s), stored.Callback());
  peer_.Answer(0);
  ASSERT_EQ(peer_.batches(), 2u);
  ASSERT_EQ(peer_.request(1).entries_size(), 4);
  peer_.Answer(1, /*silent=*/{},
               /*errors=*/{{"unknown", Status::NotFound("not kept here")},
                           {"full", Status::ResourceExhausted("no space left on device")}});
  StatusOr<Register> r = bad.Get(0s);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "not kept here");
  EXPECT_EQ(*good.Get(0s), Reg(7, "known"));
  StatusOr<Stamp> st = refused.Get(0s);
  EXPECT_EQ(st.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(st.status().message(), "no space left on device");
  EXPECT_EQ(stored.Get(0s)->ts, 9u);
}

// A peer's response may repeat a result or carry ids the batch did not send (a bug at the
// peer, or a reply meant for another batch). Each call is answered once, by the first result
// for it in its own batch's response. Catches a callback run twice, and an acknowledgement
// taken from a response to another batch: before the fix, a result naming a call still queued
// completed that call, so a Store never sent counted as stored.
TEST_F(PeerBatcherTest, RepeatedAndForeignResultIdsAreIgnored) {
  PeerBatcher::Options o;
  o.max_in_flight = 2;
  auto b = Make(o);
  Result<Register> first, second, queued;
  Result<Stamp> queued_store;
  b->GetRegister("first", 0, In(60s), first.Callback());
  b->GetRegister("second", 0, In(60s), second.Callback());
  b->GetRegister("queued", 0, In(60s), queued.Callback());
  b->Store("queued", 0, Reg(9, "q"), In(60s), queued_store.Callback());
  ASSERT_EQ(peer_.batches(), 2u);  // two in flight; the last two wait
  const uint64_t first_id = peer_.request(0).entries(0).id();
  const uint64_t second_id = peer_.request(1).entries(0).id();
  ASSERT_NE(first_id, second_id);

  v1::BatchResponse response;
  auto add = [&response](uint64_t id, uint64_t ts) {
    v1::BatchResult* r = response.add_results();
    r->set_id(id);
    ToProto(Reg(ts, "r"), r->mutable_reg());
  };
  add(first_id, 1);
  add(first_id, 2);       // repeated: ignored
  add(second_id, 3);      // batch 1's call, in batch 0's response: ignored
  add(second_id + 1, 4);  // the queued GetRegister, never sent: ignored
  v1::BatchResult* ack = response.add_results();  // the queued Store, never sent: ignored
  ack->set_id(second_id + 2);
  ack->set_stored_ts(9);
  add(999'999, 5);        // nobody's
  peer_.Reply(0, response);

  EXPECT_EQ(first.Get(0s)->ts, 1u);
  EXPECT_EQ(first.calls(), 1);
  EXPECT_FALSE(second.done()) << "answered from another batch's response";
  EXPECT_FALSE(queued.done()) << "answered before it was sent";
  EXPECT_FALSE(queued_store.done()) << "a Store never sent was acknowledged";
  // Batch 0 left the lane: the queued calls go now, and are answered by their own batch.
  ASSERT_EQ(peer_.batches(), 3u);
  EXPECT_EQ(peer_.tokens(2), (std::vector<std::string>{"queued", "queued"}));
  peer_.Answer(1);
  peer_.Answer(2);
  EXPECT_EQ(*second.Get(0s), Reg(7, "second"));
  EXPECT_EQ(*queued.Get(0s), Reg(7, "queued"));
  EXPECT_EQ(queued_store.Get(0s)->ts, 9u);
  EXPECT_EQ(second.calls() + queued.calls() + queued_store.calls(), 3);
}

TEST_F(PeerBatcherTest, CancellingACallFailsItAtOnceAndKeepsItOutOfTheNextBatch) {
  auto b = Make();
  Result<Register> blocker, cancelled_waiting, kept;
  b->GetRegister("blocker", 0, In(10s), blocker.Callback());
  CancelFn cancel_waiting = b->GetRegister("gone", 0, In(10s), cancelled_waiting.Callback());
  b->GetRegister("kept", 0, In(10s), kept.Callback());
  ASSERT_TRUE(cancel_waiting);
  cancel_waiting();
  EXPECT_EQ(cancelled_waiting.Get(0s).status().code(), StatusCode::kCancelled);
  cancel_waiting();  // again: nothing happens
  peer_.Answer(0);
  ASSERT_EQ(peer_.batches(), 2u);
  EXPECT_EQ(peer_.tokens(1), std::vector<std::string>{"kept"});

  // A call in flight: cancelled at once, its answer ignored when it comes.
  Result<Register> in_flight;
  CancelFn cancel = b->GetRegister("late", 0, In(10s), in_flight.Callback());
  peer_.Answer(1);
  ASSERT_EQ(peer_.batches(), 3u);
  cancel();
  EXPECT_EQ(in_flight.Get(0s).status().code(), StatusCode::kCancelled);
  peer_.Answer(2);
  EXPECT_EQ(in_flight.calls(), 1);
  EXPECT_TRUE(kept.Get().ok());
}

TEST_F(PeerBatcherTest, CloseFailsWhatIsPendingAndEveryLaterCall) {
  auto b = Make();
  Result<Register> in_flight, waiting, after;
  b->GetRegister("a", 0, In(10s), in_flight.Callback());
  b->GetRegister("b", 0, In(10s), waiting.Callback());
  b->Close(Status::Unavailable("node is shutting down"));
  EXPECT_EQ(in_flight.Get(0s).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(waiting.Get(0s).status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(b->GetRegister("c", 0, In(10s), after.Callback()));
  EXPECT_EQ(after.Get(0s).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(peer_.cancels(0), 1) << "nobody waits for the batch in flight: its RPC is cancelled";
  peer_.Answer(0);  // the batch still in flight completes into nothing
  EXPECT_EQ(in_flight.calls(), 1);
  EXPECT_EQ(peer_.batches(), 1u);
}

TEST_F(PeerBatcherTest, CancelAfterTheBatcherIsGoneIsHarmless) {
  CancelFn cancel;
  Result<Register> r;
  {
    auto b = Make();
    cancel = b->GetRegister("t", 0, In(10s), r.Callback());
    peer_.Answer(0);
  }
  cancel();
  EXPECT_TRUE(r.Get().ok());
}

// A peer that answers on its own thread, as gRPC's callback threads do: each batch soon after
// it was sent, except that every seventh fails as a whole (UNAVAILABLE), entries about tokens
// named "silent..." get no result (crash-stopped), and a cancelled RPC ends CANCELLED.
class ThreadedPeer {
 public:
  ThreadedPeer() : thread_([this] { Run(); }) {}
  ~ThreadedPeer() { Stop(); }

  PeerBatcher::SendFn Fn() {
    return [this](v1::BatchRequest request, Clock::time_point,
                  std::function<void(Status, const v1::BatchResponse&)> done) -> CancelFn {
      auto rpc = std::make_shared<Rpc>();
      rpc->request = std::move(request);
      rpc->done = std::move(done);
      {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(rpc);
      }
      cv_.notify_one();
      return [rpc] { rpc->cancelled = true; };
    };
  }

  // Answers what is queued, then ends the thread.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Rpc {
    v1::BatchRequest request;
    std::function<void(Status, const v1::BatchResponse&)> done;
    std::atomic<bool> cancelled{false};
  };

  void Run() {
    for (uint64_t n = 1;; ++n) {
      std::shared_ptr<Rpc> rpc;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        rpc = std::move(queue_.front());
        queue_.pop_front();
      }
      if (rpc->cancelled) {
        rpc->done(Status::Cancelled("cancelled by the caller"), v1::BatchResponse());
      } else if (n % 7 == 0) {
        rpc->done(Status::Unavailable("connection reset"), v1::BatchResponse());
      } else {
        v1::BatchResponse response;
        for (const auto& e : rpc->request.entries()) {
          if (e.token().rfind("silent", 0) == 0) continue;
          v1::BatchResult* r = response.add_results();
          r->set_id(e.id());
          if (e.call_case() == v1::BatchEntry::kStore) {
            r->set_stored_ts(e.store().ts());
          } else {
            ToProto(Reg(7, e.token()), r->mutable_reg());
          }
        }
        rpc->done(Status::Ok(), response);
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Rpc>> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                   // GUARDED_BY(mu_)
  std::thread thread_;
};

// The outcomes of many calls made from many threads: how often each call's callback ran, and
// what it got.
class Outcomes {
 public:
  explicit Outcomes(size_t n) : runs_(n), codes_(n), wrong_(n) {}

  // `ok_is_right` checks a successful answer (the right register or stamp for that call).
  template <typename T>
  std::function<void(StatusOr<T>)> Callback(size_t i, std::function<bool(const T&)> ok_is_right) {
    return [this, i, ok_is_right = std::move(ok_is_right)](StatusOr<T> r) {
      codes_[i] = static_cast<int>(r.status().code());
      if (r.ok() && !ok_is_right(*r)) wrong_[i] = true;
      if (runs_[i]++ == 0) {
        std::lock_guard<std::mutex> lock(mu_);
        ++done_;
        cv_.notify_all();
      }
    };
  }
  // Waits until `n` calls have an outcome; only a hang fails it.
  bool WaitDone(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 60s, [&] { return done_ >= n; });
  }
  int runs(size_t i) const { return runs_[i].load(); }
  StatusCode code(size_t i) const { return static_cast<StatusCode>(codes_[i].load()); }
  bool wrong(size_t i) const { return wrong_[i].load(); }
  size_t size() const { return runs_.size(); }

 private:
  std::vector<std::atomic<int>> runs_;
  std::vector<std::atomic<int>> codes_;
  std::vector<std::atomic<bool>> wrong_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t done_ = 0;  // GUARDED_BY(mu_)
};

// Real threads (label tsan): callers on four threads, the peer answering on its own, the
// DeadlineWatch expiring calls on its own, cancels from the callers, then Close while calls
// are still being made. Catches a callback that runs twice or never (a hang: the wait gives
// up after a minute), an answer delivered to the wrong call, an outcome the contract does not
// allow for that kind of call, and data races between the batcher's entry points (TSan).
TEST_F(PeerBatcherTest, ManyThreadsCallingWhileThePeerAnswersAndTheWatchExpires) {
  ThreadedPeer peer;
  PeerBatcher::Options o;
  o.max_in_flight = 2;
  o.max_entries = 16;
  auto b = PeerBatcher::Create("peer:1", peer.Fn(), watch_, o);
  constexpr size_t kThreads = 4;
  constexpr size_t kEach = 250;
  // Kinds of call, by i % 5: 0, 1 GetRegister, 2 Store, 3 GetRegister about a crash-stopped
  // token with a deadline a few milliseconds away, 4 Store cancelled at once.
  Outcomes out(kThreads * kEach);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::uniform_int_distribution<int> ms(0, 20);
      for (size_t k = 0; k < kEach; ++k) {
        const size_t i = t * kEach + k;
        const std::string token = "t" + std::to_string(i % 8);
        const auto right_reg = [token](const Register& r) { return r == Reg(7, token); };
        const auto right_stamp = [i](const Stamp& s) { return s.ts == 1000 + i; };
        switch (i % 5) {
          case 0:
          case 1:
            b->GetRegister(token, 0, In(60s), out.Callback<Register>(i, right_reg));
            break;
          case 2:
            b->Store(token, 0, Reg(1000 + i, "s"), In(60s), out.Callback<Stamp>(i, right_stamp));
            break;
          case 3:
            b->GetRegister("silent" + token, 0, In(std::chrono::milliseconds(ms(rng))),
                           out.Callback<Register>(i, [](const Register&) { return false; }));
            break;
          case 4: {
            CancelFn cancel = b->Store(token, 0, Reg(1000 + i, "c"), In(60s),
                                       out.Callback<Stamp>(i, right_stamp));
            if (k % 2 == 0) std::this_thread::yield();
            cancel();
            break;
          }
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  ASSERT_TRUE(out.WaitDone(out.size())) << "some call never got an outcome";

  // Close while more calls are made: calls pending about silent tokens (far deadlines) fail
  // with Close's status, later calls at once; each still exactly once.
  Outcomes late(2 * kEach);
  std::atomic<size_t> made{0};
  std::thread caller([&] {
    for (size_t i = 0; i < late.size(); ++i, ++made) {
      const std::string token = (i % 2 ? "silent" : "t") + std::to_string(i % 8);
      b->GetRegister(token, 0, In(60s), late.Callback<Register>(i, [token](const Register& r) {
        return r == Reg(7, token);
      }));
    }
  });
  while (made < late.size() / 4) std::this_thread::yield();
  b->Close(Status::Unavailable("node is shutting down"));
  caller.join();
  ASSERT_TRUE(late.WaitDone(late.size())) << "some call never got an outcome";
  peer.Stop();  // answers what is still queued: into nothing

  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out.runs(i), 1) << "call " << i;
    EXPECT_FALSE(out.wrong(i)) << "call " << i << " got another call's answer";
    const StatusCode c = out.code(i);
    switch (i % 5) {
      case 0:
      case 1:
      case 2:
        EXPECT_TRUE(c == StatusCode::kOk || c == StatusCode::kUnavailable) << i << ": " << int(c);
        break;
      case 3:
        EXPECT_TRUE(c == StatusCode::kDeadlineExceeded || c == StatusCode::kUnavailable)
            << i << ": " << int(c);
        break;
      case 4:
        EXPECT_TRUE(c == StatusCode::kCancelled || c == StatusCode::kOk ||
                    c == StatusCode::kUnavailable)
            << i << ": " << int(c);
        break;
    }
  }
  for (size_t i = 0; i < late.size(); ++i) {
    ASSERT_EQ(late.runs(i), 1) << "late call " << i;
    EXPECT_FALSE(late.wrong(i)) << "late call " << i;
    const StatusCode c = late.code(i);
    if (i % 2) {
      EXPECT_EQ(c, StatusCode::kUnavailable) << "late call " << i << " about a silent token";
    } else {
      EXPECT_TRUE(c == StatusCode::kOk || c == StatusCode::kUnavailable) << i << ": " << int(c);
    }
  }
}

}  // namespace
}  // namespace tokenstore
