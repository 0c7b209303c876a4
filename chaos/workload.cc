// Client workers of a fault run (see workload.h).
#include "chaos/workload.h"

#include <random>

namespace tokenstore::chaos {

using checker::Event;
using checker::EventType;
using checker::OpFunction;

void HistoryRecorder::Record(Event e) {
  MutexLock lock(&mu_);
  e.time = clock_.Now();
  writer_.Append(e);
}

Workload::Workload(const ClusterConfig& config, HistoryRecorder& history,
                   WorkloadOptions options)
    : config_(config), history_(history), options_(options) {
  config_.ForEach([this](const TokenReplication& t) {
    tokens_.push_back(t);
    return true;
  });
  // Even workers' operations travel as unary calls, odd workers' on session streams
  // (client/node_transport.h): the fault run checks both transports.
  for (int t = 0; t < 2; ++t) {
    ClientOptions base;
    base.timeout = options_.timeout;
    base.attempt_timeout = options_.timeout;
    base.seed = options_.seed + t;
    base.transport = t == 0 ? ClientOptions::Transport::kUnary : ClientOptions::Transport::kSession;
    base.on_config_change = [this](const std::string& token, const ::tokenstore::ReplicaSet& newer) {
      Learned(token, newer);
    };
    clients_[t].writer = std::make_unique<TokenClient>(config_, base);
    // Reads are pinned to the reader the worker picked, so that a stale reader is asked on
    // its own rather than hidden by the client's failover.
    for (const std::string& node : config_.Nodes()) {
      ClientOptions pinned = base;
      pinned.node = node;
      clients_[t].readers[node] = std::make_unique<TokenClient>(config_, pinned);
    }
  }
}

void Workload::Start() {
  {
    MutexLock lock(&counts_mu_);
    counts_.assign(options_.workers, ClientCounts{});
  }
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this, i] { Run(i); });
}

void Workload::Stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Workload::Hold(bool on) {
  held_ = on;
  if (!on) return;
  const auto until = std::chrono::steady_clock::now() + options_.timeout + options_.timeout / 2;
  while (in_flight_ > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void Workload::Learned(const std::string& token, const ::tokenstore::ReplicaSet& newer) {
  MutexLock lock(&views_mu_);
  const auto it = views_.find(token);
  if (it == views_.end() || it->second.epoch < newer.epoch) views_[token] = newer;
}

std::vector<std::string> Workload::ReadersOf(const TokenReplication& token) const {
  MutexLock lock(&views_mu_);
  const auto it = views_.find(token.id);
  return it == views_.end() ? token.readers() : it->second.readers;
}

std::vector<ClientCounts> Workload::counts() const {
  MutexLock lock(&counts_mu_);
  return counts_;
}

void Workload::Count(int worker, OpFunction f, EventType t) {
  MutexLock lock(&counts_mu_);
  OutcomeCounts& c = f == OpFunction::kWrite ? counts_[worker].writes : counts_[worker].reads;
  if (t == EventType::kOk) c.ok++;
  if (t == EventType::kFail) c.fail++;
  if (t == EventType::kInfo) c.info++;
}

void Workload::Run(int worker) {
  std::mt19937_64 rng(options_.seed * 1000003 + static_cast<uint64_t>(worker));
  auto uniform = [&rng](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  std::bernoulli_distribution is_write(options_.write_fraction);
  int64_t process = next_process_++;
  while (!stop_) {
    if (held_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      continue;
    }
    ++in_flight_;
    if (held_) {  // Hold(true) came in between: it may be waiting for in_flight_ to drop
      --in_flight_;
      continue;
    }
    const TokenReplication& token = tokens_[uniform(tokens_.size())];
    Event ev;
    ev.process = process;
    ev.token = token.id;
    EventType outcome;
    if (is_write(rng)) {
      // Unique names; small ranges keep hashing negligible next to the network.
      ev.f = OpFunction::kWrite;
      ev.name = "t" + token.id + "-" + std::to_string(next_name_++);
      ev.low = uniform(1000);
      ev.mid = ev.low + uniform(8);
      ev.high = ev.mid + 1 + uniform(16);
      ev.type = EventType::kInvoke;
      history_.Record(ev);
      StatusOr<WriteResult> r = clients_[worker % 2].writer->Write(token.id, *ev.name, ev.low, ev.mid, ev.high);
      if (r.ok()) {
        outcome = EventType::kOk;
        ev.full_value = true;  // checked against the hash engine (checker/value_check.h)
        ev.partial_value = r->partial;
      } else {
        switch (r.status().code()) {
          case StatusCode::kInvalidArgument:
          case StatusCode::kFailedPrecondition:
          case StatusCode::kNotFound:
            outcome = EventType::kFail;
            break;
          default:
            outcome = EventType::kInfo;
        }
      }
    } else {
      ev.f = OpFunction::kRead;
      const std::vector<std::string> readers = ReadersOf(token);
      const std::string node = readers[uniform(readers.size())];
      ev.type = EventType::kInvoke;
      history_.Record(ev);
      StatusOr<ReadResult> r = clients_[worker % 2].readers.at(node)->Read(token.id);
      if (r.ok()) {
        outcome = EventType::kOk;
        if (r->defined) {
          ev.name = r->name;
          ev.final_value = r->final;
          ev.full_value = true;
          ev.low = r->low;
          ev.mid = r->mid;
          ev.high = r->high;
          ev.partial_value = r->partial;
        }
      } else {
        outcome = EventType::kFail;
      }
    }
    ev.type = outcome;
    history_.Record(ev);
    --in_flight_;
    Count(worker, ev.f, outcome);
    if (outcome == EventType::kInfo) {
      // An unknown outcome retires the process id (SPEC section 9). The pause keeps a writer
      // that is down from turning the history into hundreds of unknown writes.
      process = next_process_++;
      std::this_thread::sleep_for(std::chrono::milliseconds(100 + uniform(200)));
    } else if (outcome == EventType::kFail) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10 + uniform(40)));
    }
  }
}

}  // namespace tokenstore::chaos
