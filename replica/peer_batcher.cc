#include "replica/peer_batcher.h"

#include <algorithm>
#include <utility>

#include "proto/convert.h"

namespace tokenstore {

std::shared_ptr<PeerBatcher> PeerBatcher::Create(std::string peer, SendFn send,
                                                 DeadlineWatch& watch, Options options) {
  std::shared_ptr<PeerBatcher> batcher(
      new PeerBatcher(std::move(peer), std::move(send), watch, options));
  watch.Add([weak = std::weak_ptr<PeerBatcher>(batcher)](Clock::time_point now) {
    std::shared_ptr<PeerBatcher> b = weak.lock();
    return b ? b->Expire(now) : Clock::time_point::max();
  });
  return batcher;
}

PeerBatcher::PeerBatcher(std::string peer, SendFn send, DeadlineWatch& watch, Options options)
    : peer_(std::move(peer)), send_(std::move(send)), watch_(watch), options_(options) {
  if (options_.max_in_flight == 0) options_.max_in_flight = 1;
  if (options_.max_entries == 0) options_.max_entries = 1;
}

CancelFn PeerBatcher::GetRegister(const std::string& token, uint64_t fingerprint,
                                  Clock::time_point deadline,
                                  std::function<void(StatusOr<Register>)> done) {
  auto entry = std::make_unique<v1::BatchEntry>();
  entry->set_token(token);
  entry->set_config_fingerprint(fingerprint);
  entry->set_get_register(true);
  Pending call;
  call.deadline = deadline;
  call.on_get = std::move(done);
  return Enqueue(std::move(entry), std::move(call));
}

CancelFn PeerBatcher::Store(const std::string& token, uint64_t fingerprint, const Register& reg,
                            Clock::time_point deadline,
                            std::function<void(StatusOr<Stamp>)> done) {
  auto entry = std::make_unique<v1::BatchEntry>();
  entry->set_token(token);
  entry->set_config_fingerprint(fingerprint);
  ToProto(reg, entry->mutable_store());
  Pending call;
  call.is_store = true;
  call.deadline = deadline;
  call.on_store = std::move(done);
  return Enqueue(std::move(entry), std::move(call));
}

CancelFn PeerBatcher::Enqueue(std::unique_ptr<v1::BatchEntry> entry, Pending call) {
  const Clock::time_point deadline = call.deadline;
  uint64_t id;
  bool earliest;
  {
    MutexLock lock(&mu_);
    if (is_closed_) {
      Finished failed;
      failed.outcomes.push_back(Outcome{std::move(call), closed_});
      lock.Unlock();
      Deliver(failed);
      return nullptr;
    }
    id = next_id_++;
    entry->set_id(id);
    earliest = by_deadline_.empty() || deadline < by_deadline_.begin()->first;
    auto it = pending_.emplace(id, std::move(call)).first;
    it->second.by_deadline = by_deadline_.emplace(deadline, id);
    queue_.push_back(std::move(entry));
    Pump();
  }
  if (earliest && deadline != Clock::time_point::max()) watch_.Poke(deadline);
  return [weak = weak_from_this(), id] {
    if (std::shared_ptr<PeerBatcher> b = weak.lock()) b->Cancel(id);
  };
}

void PeerBatcher::Cancel(uint64_t id) {
  Finished finished;
  {
    MutexLock lock(&mu_);
    TakeLocked(id, &finished, Status::Cancelled("the call to " + peer_ + " was cancelled"));
    // Its batch may have left the lane: the calls queued behind it go now.
    Pump();
  }
  Deliver(finished);
}

bool PeerBatcher::TakeLocked(uint64_t id, Finished* out, const Status& status,
                             const v1::BatchResult* result) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return false;
  const uint64_t batch = it->second.batch;
  by_deadline_.erase(it->second.by_deadline);
  out->outcomes.push_back(Outcome{std::move(it->second), status, result});
  pending_.erase(it);
  auto b = in_flight_.find(batch);
  if (b == in_flight_.end()) return true;  // never sent, or its batch came back already
  if (--b->second.waiting == 0) {
    // Nobody waits for this RPC's answer any more: free the lane, stop the RPC.
    if (b->second.cancel) out->cancels.push_back(std::move(b->second.cancel));
    in_flight_.erase(b);
    ++batches_abandoned_;
  }
  return true;
}

v1::BatchRequest PeerBatcher::NextBatchLocked(Clock::time_point now, std::vector<uint64_t>* ids,
                                              Clock::time_point* latest, Finished* expired) {
  v1::BatchRequest request;
  while (!queue_.empty() && ids->size() < options_.max_entries) {
    std::unique_ptr<v1::BatchEntry> entry = std::move(queue_.front());
    queue_.pop_front();
    auto it = pending_.find(entry->id());
    if (it == pending_.end()) continue;  // cancelled or expired while it waited
    if (it->second.deadline <= now) {
      TakeLocked(entry->id(), expired,
                 Status::DeadlineExceeded("the deadline passed before the call could be sent to " +
                                          peer_));
      continue;
    }
    *latest = std::max(*latest, it->second.deadline);
    ids->push_back(entry->id());
    request.mutable_entries()->AddAllocated(entry.release());
  }
  return request;
}

void PeerBatcher::Pump() {
  while (!is_closed_ && in_flight_.size() < options_.max_in_flight && !queue_.empty()) {
    const Clock::time_point now = Clock::now();
    std::vector<uint64_t> ids;
    Clock::time_point latest = Clock::time_point::min();
    Finished expired;
    v1::BatchRequest request = NextBatchLocked(now, &ids, &latest, &expired);
    uint64_t batch = 0;
    if (!ids.empty()) {
      batch = next_batch_++;
      in_flight_.emplace(batch, InFlight{ids.size(), nullptr});
      for (uint64_t id : ids) pending_.at(id).batch = batch;
      ++batches_sent_;
      entries_sent_ += ids.size();
    }
    mu_.Unlock();
    Deliver(expired);
    CancelFn cancel;
    if (batch != 0) {
      const Clock::time_point deadline =
          latest - now > options_.max_batch_time ? now + options_.max_batch_time : latest;
      cancel = send_(std::move(request), deadline,
                     [self = shared_from_this(), batch, ids = std::move(ids)](
                         Status st, const v1::BatchResponse& response) mutable {
                       self->OnBatchDone(batch, std::move(ids), std::move(st), response);
                     });
    }
    mu_.Lock();
    if (!cancel) continue;
    auto it = in_flight_.find(batch);
    if (it != in_flight_.end()) {
      it->second.cancel = std::move(cancel);
      continue;
    }
    // Its calls all ended while it was being sent (or it came back already: then the cancel
    // is harmless).
    mu_.Unlock();
    cancel();
    mu_.Lock();
  }
}

void PeerBatcher::OnBatchDone(uint64_t batch, std::vector<uint64_t> ids, Status status,
                              const v1::BatchResponse& response) {
  Finished finished;
  {
    MutexLock lock(&mu_);
    // Not in the lane any more when every call of it ended before the answer: nobody to
    // answer, and the lane was freed then.
    if (in_flight_.erase(batch) == 0) return;
    if (status.ok()) {
      finished.outcomes.reserve(response.results_size());
      for (const v1::BatchResult& r : response.results()) {
        // Only a call this batch carried is answered, once: a result repeated or naming
        // another call (one queued or in another batch: a peer's mistake) is ignored.
        auto it = pending_.find(r.id());
        if (it == pending_.end() || it->second.batch != batch) continue;
        TakeLocked(r.id(), &finished, Status::Ok(), &r);
      }
      // A call without a result is about a token the peer is crash-stopped for: it stays
      // pending, to fail at its deadline unless cancelled first. It holds no lane.
    } else {
      finished.outcomes.reserve(ids.size());
      for (uint64_t id : ids) TakeLocked(id, &finished, status);
    }
    // Keep the peer busy first: the calls that waited leave now.
    Pump();
  }
  Deliver(finished);
}

Clock::time_point PeerBatcher::Expire(Clock::time_point now) {
  Finished finished;
  Clock::time_point earliest = Clock::time_point::max();
  {
    MutexLock lock(&mu_);
    if (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
      const Status late = Status::DeadlineExceeded("no answer from " + peer_ + " by the deadline");
      while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
        TakeLocked(by_deadline_.begin()->second, &finished, late);
      }
      // A batch whose calls all expired left the lane: the calls queued behind it go now.
      Pump();
    }
    if (!by_deadline_.empty()) earliest = by_deadline_.begin()->first;
  }
  Deliver(finished);
  return earliest;
}

void PeerBatcher::Close(const Status& status) {
  Finished finished;
  {
    MutexLock lock(&mu_);
    is_closed_ = true;
    closed_ = status;
    while (!pending_.empty()) TakeLocked(pending_.begin()->first, &finished, status);
    queue_.clear();
  }
  Deliver(finished);
}

void PeerBatcher::Deliver(Finished& finished) {
  for (CancelFn& cancel : finished.cancels) cancel();
  for (Outcome& o : finished.outcomes) {
    Status st = std::move(o.status);
    if (st.ok() && o.result->code() != 0) {
      st = Status(static_cast<StatusCode>(o.result->code()), o.result->message());
    }
    if (o.call.is_store) {
      if (!st.ok()) {
        o.call.on_store(std::move(st));
      } else {
        o.call.on_store(Stamp{o.result->stored_epoch(), o.result->stored_ts(), o.result->stored_origin()});
      }
    } else {
      if (!st.ok()) {
        o.call.on_get(std::move(st));
      } else {
        o.call.on_get(FromProto(o.result->reg()));
      }
    }
  }
}

uint64_t PeerBatcher::batches_sent() const {
  MutexLock lock(&mu_);
  return batches_sent_;
}

uint64_t PeerBatcher::entries_sent() const {
  MutexLock lock(&mu_);
  return entries_sent_;
}

uint64_t PeerBatcher::batches_abandoned() const {
  MutexLock lock(&mu_);
  return batches_abandoned_;
}

size_t PeerBatcher::pending() const {
  MutexLock lock(&mu_);
  return pending_.size();
}

}  // namespace tokenstore
