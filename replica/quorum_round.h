// One quorum round: a call to every replica of a token at once, completed at a majority.
//
// The round owns the bookkeeping the protocol needs and nothing else: it counts replies with
// a QuorumCounter, remembers which replica said what, and calls `done` exactly once — when a
// majority answered, or as soon as a majority can no longer answer. Calls still running then
// are cancelled when the round was built with cancel_stragglers (reads: their answers no
// longer matter); otherwise they are left to finish by their own deadline (stores: a late
// acknowledgement still brings that replica up to date).
//
// Thread-safety: OnReply/SetCancel may be called concurrently from any threads. `done` runs
// on the thread of the reply that decided the round, with no lock held.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/check.h"
#include "common/mutex.h"
#include "common/status.h"
#include "replica/peer_transport.h"
#include "replica/quorum.h"

namespace tokenstore {

template <typename Reply>
class QuorumRound : public std::enable_shared_from_this<QuorumRound<Reply>> {
 public:
  struct Answer {
    std::string node;
    Reply reply;
  };
  // On success: OK and the first `needed` answers. On failure: the combined error.
  using Done = std::function<void(Status, std::vector<Answer>)>;

  // `what` names the round in error messages, e.g. `store of token "1"`.
  QuorumRound(std::vector<std::string> nodes, std::string what, bool cancel_stragglers, Done done)
      : nodes_(std::move(nodes)),
        what_(std::move(what)),
        cancel_stragglers_(cancel_stragglers),
        counter_(nodes_.size(), MajorityOf(nodes_.size())),
        cancels_(nodes_.size()),
        answered_(nodes_.size(), false),
        done_(std::move(done)) {}

  const std::vector<std::string>& nodes() const { return nodes_; }

  // Registers how to cancel the call to nodes()[i]. When the round already decided and
  // cancels stragglers, the call is cancelled at once.
  void SetCancel(size_t i, CancelFn cancel) {
    if (!cancel) return;
    bool cancel_now = false;
    {
      MutexLock lock(&mu_);
      if (decided_ && cancel_stragglers_ && !answered_[i]) {
        cancel_now = true;
      } else if (!answered_[i]) {
        cancels_[i] = std::move(cancel);
      }
    }
    if (cancel_now) cancel();
  }

  // The reply of nodes()[i]. Replies after the decision are ignored.
  void OnReply(size_t i, StatusOr<Reply> reply) {
    Done done;
    Status result;
    std::vector<Answer> answers;
    std::vector<CancelFn> to_cancel;
    {
      MutexLock lock(&mu_);
      TS_CHECK(i < nodes_.size(), "a reply from a replica outside the round");
      // A second reply from one replica would count it twice towards the majority.
      TS_CHECK(!answered_[i], "replica " + nodes_[i] + " answered twice in one quorum round");
      answered_[i] = true;
      cancels_[i] = nullptr;
      if (decided_) return;
      QuorumState state;
      if (reply.ok()) {
        answers_.push_back(Answer{nodes_[i], std::move(reply).value()});
        state = counter_.AddSuccess();
      } else {
        errors_.emplace_back(nodes_[i], reply.status());
        state = counter_.AddFailure();
      }
      if (state == QuorumState::kPending) return;
      decided_ = true;
      done = std::move(done_);
      if (state == QuorumState::kReached) {
        answers = std::move(answers_);
      } else {
        result = CombinedErrorLocked();
      }
      if (cancel_stragglers_) {
        for (auto& c : cancels_) {
          if (c) to_cancel.push_back(std::move(c));
        }
      }
    }
    for (auto& c : to_cancel) c();
    done(std::move(result), std::move(answers));
  }

 private:
  Status CombinedErrorLocked() const REQUIRES(mu_) {
    StatusCode code = StatusCode::kUnavailable;
    std::string detail;
    // A replica that sees the token's replication otherwise (FAILED_PRECONDITION) is the
    // reason an operator must act on; a timeout the next most telling.
    for (const auto& [node, st] : errors_) {
      if (st.code() == StatusCode::kFailedPrecondition) {
        code = StatusCode::kFailedPrecondition;
      } else if (st.code() == StatusCode::kDeadlineExceeded && code != StatusCode::kFailedPrecondition) {
        code = StatusCode::kDeadlineExceeded;
      }
      if (!detail.empty()) detail += "; ";
      detail += node + ": " + st.ToString();
    }
    return Status(code, what_ + ": " + std::to_string(counter_.successes()) + " of " +
                            std::to_string(nodes_.size()) + " replicas answered, " +
                            std::to_string(counter_.needed()) + " needed (" + detail + ")");
  }

  const std::vector<std::string> nodes_;
  const std::string what_;
  const bool cancel_stragglers_;
  Mutex mu_;
  QuorumCounter counter_ GUARDED_BY(mu_);
  std::vector<CancelFn> cancels_ GUARDED_BY(mu_);
  std::vector<bool> answered_ GUARDED_BY(mu_);
  std::vector<Answer> answers_ GUARDED_BY(mu_);
  std::vector<std::pair<std::string, Status>> errors_ GUARDED_BY(mu_);
  bool decided_ GUARDED_BY(mu_) = false;
  Done done_ GUARDED_BY(mu_);
};

}  // namespace tokenstore
