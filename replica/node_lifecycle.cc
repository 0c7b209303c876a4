#include "replica/node_lifecycle.h"

#include <cstdio>
#include <algorithm>
#include <charconv>
#include <memory>
#include <random>
#include <utility>

namespace tokenstore {

const char* NodeStateName(NodeState state) {
  switch (state) {
    case NodeState::kFresh: return "fresh";
    case NodeState::kStarting: return "starting";
    case NodeState::kRebuilding: return "rebuilding";
    case NodeState::kServing: return "serving";
  }
  return "unknown";
}

namespace {

constexpr std::string_view kIdentityRecord = "identity";

// Records are "key=value" lines: readable in a dump, and strict to parse.
using Fields = std::map<std::string, std::string, std::less<>>;

std::string EncodeFields(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) out += k + "=" + v + "\n";
  return out;
}

StatusOr<Fields> DecodeFields(std::string_view what, std::string_view bytes) {
  Fields fields;
  size_t line = 0;
  while (!bytes.empty()) {
    ++line;
    const size_t end = bytes.find('\n');
    if (end == std::string_view::npos) {
      return Status::DataLoss(std::string(what) + " record: line " + std::to_string(line) +
                              " has no end (truncated?)");
    }
    std::string_view text = bytes.substr(0, end);
    bytes.remove_prefix(end + 1);
    const size_t eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Status::DataLoss(std::string(what) + " record: line " + std::to_string(line) +
                              " is not key=value");
    }
    fields.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return fields;
}

Status GetU64(std::string_view what, const Fields& f, const char* key, uint64_t* out) {
  auto it = f.find(key);
  if (it == f.end()) return Status::DataLoss(std::string(what) + " record: no " + key);
  const std::string& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
    return Status::DataLoss(std::string(what) + " record: " + key + " '" + s +
                            "' is not a number");
  }
  return Status::Ok();
}

Status GetString(std::string_view what, const Fields& f, const char* key, std::string* out) {
  auto it = f.find(key);
  if (it == f.end()) return Status::DataLoss(std::string(what) + " record: no " + key);
  *out = it->second;
  return Status::Ok();
}

std::string JoinNodes(const std::vector<std::string>& nodes) {
  std::string out;
  for (const auto& n : nodes) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::string EncodeIdentity(const NodeIdentity& id) {
  return EncodeFields({{"cluster", id.cluster_id},
                       {"node", id.node},
                       {"incarnation", std::to_string(id.incarnation)},
                       {"origin", std::to_string(id.origin)},
                       {"boot", std::to_string(id.boot)},
                       {"run", std::to_string(id.run)},
                       {"state", id.rebuilding ? "rebuilding" : "serving"}});
}

StatusOr<NodeIdentity> DecodeIdentity(std::string_view bytes) {
  StatusOr<Fields> f = DecodeFields("identity", bytes);
  if (!f.ok()) return f.status();
  NodeIdentity id;
  std::string state;
  TOKENSTORE_RETURN_IF_ERROR(GetString("identity", *f, "cluster", &id.cluster_id));
  TOKENSTORE_RETURN_IF_ERROR(GetString("identity", *f, "node", &id.node));
  TOKENSTORE_RETURN_IF_ERROR(GetU64("identity", *f, "incarnation", &id.incarnation));
  TOKENSTORE_RETURN_IF_ERROR(GetU64("identity", *f, "origin", &id.origin));
  TOKENSTORE_RETURN_IF_ERROR(GetU64("identity", *f, "boot", &id.boot));
  TOKENSTORE_RETURN_IF_ERROR(GetU64("identity", *f, "run", &id.run));
  TOKENSTORE_RETURN_IF_ERROR(GetString("identity", *f, "state", &state));
  if (state != "serving" && state != "rebuilding") {
    return Status::DataLoss("identity record: state '" + state + "' is neither serving nor rebuilding");
  }
  if (id.origin == 0 || id.incarnation == 0) {
    return Status::DataLoss("identity record: origin and incarnation must not be 0");
  }
  id.rebuilding = state == "rebuilding";
  return id;
}

NodeLifecycle::NodeLifecycle(const ClusterConfig& config, std::string self,
                             const std::vector<std::string>& token_ids, RegisterStore& store,
                             PeerTransport& transport, LifecycleOptions options,
                             const CoreClock& clock)
    : config_(config),
      self_(std::move(self)),
      token_ids_(token_ids),
      store_(store),
      transport_(transport),
      options_(std::move(options)),
      clock_(clock) {
  std::set<std::string> peers;
  for (const ReplicaSet* set : config_.ReplicaSets()) {
    if (set->RoleOf(self_) == Role::kNone) continue;
    for (const std::string& n : set->Replicas()) {
      if (n != self_) peers.insert(n);
    }
  }
  peers_.assign(peers.begin(), peers.end());
}

uint64_t NodeLifecycle::Random() {
  MutexLock lock(&random_mu_);
  uint64_t v = 0;
  while (v == 0) {
    if (options_.random) {
      v = options_.random();
    } else {
      std::random_device rd;
      v = (uint64_t{rd()} << 32) ^ rd();
    }
  }
  return v;
}

std::string NodeLifecycle::DerivedClusterId() const {
  // Every node of a brand-new cluster derives the same id from the file, with no round of
  // agreement; a node that joins later adopts its peers' id instead.
  ReplicaSet all;
  std::vector<std::string> nodes = config_.Nodes();
  all.writer = nodes.empty() ? "" : nodes.front();
  all.readers = nodes;
  char hex[17];
  const uint64_t h = all.ComputeFingerprint();
  for (int i = 0; i < 16; ++i) hex[i] = "0123456789abcdef"[(h >> (60 - 4 * i)) & 0xf];
  hex[16] = 0;
  return std::string("c-") + hex;
}

Status NodeLifecycle::SaveIdentity(const NodeIdentity& id) {
  TOKENSTORE_RETURN_IF_ERROR(store_.PutNodeRecord(kIdentityRecord, EncodeIdentity(id)));
  SetIdentity(id);
  return Status::Ok();
}

void NodeLifecycle::SetIdentity(const NodeIdentity& id) {
  WriterMutexLock lock(&mu_);
  identity_ = id;
  origin_.store(id.origin, std::memory_order_release);
}

std::string NodeLifecycle::PeerRecordName(std::string_view node) {
  return "peer/" + std::string(node);
}

StatusOr<bool> NodeLifecycle::ExplainsPeerRecord(const NodeIdentity& dir,
                                                 const std::optional<std::string>& peer_record) {
  if (!peer_record) return true;
  StatusOr<Fields> f = DecodeFields("peer", *peer_record);
  if (!f.ok()) return f.status();
  PeerRecord seen;
  TOKENSTORE_RETURN_IF_ERROR(GetU64("peer", *f, "incarnation", &seen.incarnation));
  TOKENSTORE_RETURN_IF_ERROR(GetU64("peer", *f, "boot", &seen.boot));
  TOKENSTORE_RETURN_IF_ERROR(GetU64("peer", *f, "run", &seen.run));
  return Explains(PeerRecord{dir.incarnation, dir.boot, dir.run}, seen);
}

bool NodeLifecycle::Explains(const PeerRecord& mine, const PeerRecord& seen) {
  if (seen.incarnation != mine.incarnation) return seen.incarnation < mine.incarnation;
  return seen.boot < mine.boot || (seen.boot == mine.boot && seen.run == mine.run);
}

NodeLifecycle::PeerRecord NodeLifecycle::LastStart() const {
  ReaderMutexLock lock(&mu_);
  return PeerRecord{identity_.incarnation, identity_.boot, identity_.run};
}

Status NodeLifecycle::Open() {
  opened_at_ = clock_.now();
  StatusOr<std::vector<std::pair<std::string, Register>>> regs = store_.Scan();
  if (!regs.ok()) return regs.status();
  for (const auto& [token, reg] : *regs) {
    if (reg.ts > 0) holds_data_ = true;
  }
  for (const std::string& peer : peers_) {
    StatusOr<std::optional<std::string>> rec = store_.GetNodeRecord(PeerRecordName(peer));
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) continue;
    StatusOr<Fields> f = DecodeFields("peer", **rec);
    PeerRecord p;
    if (f.ok()) {
      Status st = GetU64("peer", *f, "incarnation", &p.incarnation);
      if (st.ok()) st = GetU64("peer", *f, "boot", &p.boot);
      if (st.ok()) st = GetU64("peer", *f, "run", &p.run);
      if (!st.ok()) return st.WithContext("what this node knows of " + peer);
    } else {
      return f.status().WithContext("what this node knows of " + peer);
    }
    WriterMutexLock lock(&mu_);  // nothing runs concurrently with Open; the analysis asks
    seen_[peer] = p;
  }

  StatusOr<std::optional<std::string>> rec = store_.GetNodeRecord(kIdentityRecord);
  if (!rec.ok()) return rec.status();
  if (!rec->has_value()) {
    if (holds_data_ || options_.skip_rebuild) {
      // A data dir written before identities existed (or the deliberate bug): take it as is.
      NodeIdentity id{DerivedClusterId(), self_, 1, Random(), 1, Random(), false};
      TOKENSTORE_RETURN_IF_ERROR(SaveIdentity(id));
      state_ = NodeState::kServing;
      return Status::Ok();
    }
    if (peers_.empty()) {  // nobody to ask: this node alone keeps its tokens
      NodeIdentity id{DerivedClusterId(), self_, 1, Random(), 1, Random(), false};
      TOKENSTORE_RETURN_IF_ERROR(SaveIdentity(id));
      state_ = NodeState::kServing;
      return Status::Ok();
    }
    state_ = NodeState::kFresh;
    return Status::Ok();
  }
  StatusOr<NodeIdentity> id = DecodeIdentity(**rec);
  if (!id.ok()) return id.status();
  if (id->node != self_) {
    return Status::FailedPrecondition(
        "the data dir belongs to node " + id->node + " (cluster " + id->cluster_id +
        "), not to " + self_ + ": start " + id->node + " on it, or give " + self_ +
        " its own data dir");
  }
  SetIdentity(*id);
  // A crash mid-rebuild resumes it under a new incarnation and origin: the dir may also be a
  // copy taken mid-rebuild, whose origin has since issued stamps its reservations lack.
  if ((options_.force_rebuild || id->rebuilding) && !options_.skip_rebuild) {
    return BeginRebuild(id->incarnation, id->cluster_id);
  }
  // Nothing is written before the check: a start that ends before it is as if never made.
  announcing_ = false;
  state_ = options_.skip_rebuild || peers_.empty() ? NodeState::kServing : NodeState::kStarting;
  return Status::Ok();
}

Status NodeLifecycle::BeginRebuild(uint64_t incarnation_floor, const std::string& cluster_id) {
  NodeIdentity id;
  {
    ReaderMutexLock lock(&mu_);
    id = identity_;
  }
  id.cluster_id = !cluster_id.empty() ? cluster_id
                  : !id.cluster_id.empty() ? id.cluster_id
                                           : DerivedClusterId();
  id.node = self_;
  id.incarnation = std::max(incarnation_floor, id.incarnation) + 1;
  id.origin = Random();  // a new writer incarnation: its stamps never equal the old ones
  announced_from_ = PeerRecord{};  // a new incarnation continues no start of its own
  id.boot += 1;
  id.run = Random();
  id.rebuilding = true;
  TOKENSTORE_RETURN_IF_ERROR(SaveIdentity(id));
  {
    WriterMutexLock lock(&mu_);
    rebuilt_.clear();
  }
  registered_.clear();
  rebuild_recorded_ = false;  // this incarnation is new: no peer recorded it yet
  state_ = NodeState::kRebuilding;
  return Status::Ok();
}

bool NodeLifecycle::Serves(std::string_view token) const {
  const NodeState s = state();
  if (s == NodeState::kServing) return true;
  if (s != NodeState::kRebuilding || !rebuild_recorded_.load(std::memory_order_acquire)) {
    return false;
  }
  ReaderMutexLock lock(&mu_);
  return rebuilt_.contains(token);
}

bool NodeLifecycle::Acknowledges() const {
  // Before this start is recorded, a copy of the dir taken before it would pass its check
  // and forget what this start acknowledged (the header; docs/design.md).
  const NodeState s = state();
  return s == NodeState::kServing ||
         (s == NodeState::kRebuilding && rebuild_recorded_.load(std::memory_order_acquire));
}

void NodeLifecycle::NoteStored(const Register& reg) {
  if (reg.ts > 0) holds_data_.store(true, std::memory_order_relaxed);
}

std::string NodeLifecycle::identity_string() const {
  ReaderMutexLock lock(&mu_);
  if (state() == NodeState::kFresh) return "no identity yet";
  return "cluster " + identity_.cluster_id + ", incarnation " +
         std::to_string(identity_.incarnation) + ", boot " + std::to_string(identity_.boot);
}

HelloArgs NodeLifecycle::MyHello() const {
  HelloArgs a;
  const NodeState s = state();
  if (s == NodeState::kFresh) return a;
  ReaderMutexLock lock(&mu_);
  a.cluster_id = identity_.cluster_id;
  if (s == NodeState::kStarting && !announcing_) return a;  // a check: incarnation 0
  a.incarnation = identity_.incarnation;
  a.boot = identity_.boot;
  a.run = identity_.run;
  a.previous_boot = announced_from_.boot;
  a.previous_run = announced_from_.run;
  return a;
}

void NodeLifecycle::FillCounts(LifecycleProgress& p) const {
  p.state = state();
  p.tokens = token_ids_.size();
  if (p.state == NodeState::kServing) {
    p.tokens_ready = p.tokens;
  } else if (p.state == NodeState::kRebuilding && Acknowledges()) {
    ReaderMutexLock lock(&mu_);
    p.tokens_ready = rebuilt_.size();
  }
}

// The answers of one step's calls, gathered until the last one is in.
struct NodeLifecycle::Round {
  std::mutex mu;
  size_t pending = 0;
  std::vector<std::optional<HelloReply>> hellos;                 // by peer index
  // Why peers refused: by peer index in a Hello step, the first one in a rebuild step.
  std::vector<std::string> refusals;
  std::map<std::string, std::vector<std::optional<ProbeReply>>> probes;  // token -> by other
  std::function<void()> finish;

  // REQUIRES: called once per call started; runs `finish` after the last. The calls'
  // callbacks own the round (shared); `finish` only points at it, as it runs from Done(),
  // inside a callback that still holds it. So no cycle: a round whose calls' callbacks are
  // dropped unrun (a crashed node's, in the simulator) is freed with them.
  void Done() {
    std::function<void()> run;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (--pending == 0) run = std::move(finish);
    }
    if (run) run();
  }
};

void NodeLifecycle::Advance(std::function<void(LifecycleProgress)> done) {
  switch (state()) {
    case NodeState::kServing: {
      LifecycleProgress p;
      FillCounts(p);
      return done(std::move(p));
    }
    case NodeState::kFresh:
    case NodeState::kStarting: return AdvanceHello(std::move(done));
    case NodeState::kRebuilding: return AdvanceRebuild(std::move(done));
  }
}

void NodeLifecycle::AdvanceHello(std::function<void(LifecycleProgress)> done) {
  auto round = std::make_shared<Round>();
  round->hellos.resize(peers_.size());
  round->refusals.resize(peers_.size());
  round->pending = peers_.size() + 1;  // +1: released below, once every call is started
  round->finish = [this, raw = round.get(), done = std::move(done)] {
    Round* const round = raw;  // see Round::finish
    LifecycleProgress progress;
    FinishHello(round->hellos, progress);
    // A peer that refuses this node (another cluster's data dir) is why it cannot start.
    for (size_t i = 0; i < peers_.size() && progress.event.empty(); ++i) {
      if (!round->refusals[i].empty()) progress.event = peers_[i] + " refuses: " + round->refusals[i];
    }
    done(std::move(progress));
  };
  const HelloArgs args = MyHello();
  const Clock::time_point deadline = clock_.now() + options_.call_timeout;
  for (size_t i = 0; i < peers_.size(); ++i) {
    transport_.Hello(peers_[i], args, deadline, [round, i](StatusOr<HelloReply> r) {
      {
        std::lock_guard<std::mutex> lock(round->mu);
        if (r.ok()) {
          round->hellos[i] = std::move(r).value();
        } else if (r.status().code() == StatusCode::kFailedPrecondition) {
          round->refusals[i] = r.status().message();
        }
      }
      round->Done();
    });
  }
  round->Done();
}

void NodeLifecycle::FinishHello(const std::vector<std::optional<HelloReply>>& replies,
                                LifecycleProgress& progress) {
  ++start_round_;
  size_t answered = 0;
  uint64_t max_incarnation = 0;
  std::string cluster_id, holder, stale_note;
  for (size_t i = 0; i < replies.size(); ++i) {
    if (!replies[i]) {
      progress.waiting_for.push_back(peers_[i]);
      continue;
    }
    const HelloReply& r = *replies[i];
    ++answered;
    registered_.insert(peers_[i]);
    max_incarnation = std::max(max_incarnation, r.seen_incarnation);
    if (cluster_id.empty()) cluster_id = r.cluster_id;
    if (holder.empty() && (r.holds_data || r.state == NodeState::kRebuilding)) holder = peers_[i];
    if (state() == NodeState::kStarting && stale_note.empty()) {
      // Checking: the dir's last start must explain what the peer heard. Announcing: so
      // must the start the announced one continues, unless the peer heard that one already.
      const PeerRecord mine = LastStart();
      PeerRecord from = mine;
      if (announcing_) from = PeerRecord{mine.incarnation, announced_from_.boot, announced_from_.run};
      const PeerRecord seen{r.seen_incarnation, r.seen_boot, r.seen_run};
      if (!Explains(from, seen) && !(announcing_ && seen == mine)) {
        stale_note = peers_[i] + " saw incarnation " + std::to_string(seen.incarnation) +
                     " boot " + std::to_string(seen.boot) +
                     (seen.incarnation == from.incarnation && seen.boot == from.boot
                          ? " (another run of it)" : "") +
                     " of this node, but the data dir is incarnation " +
                     std::to_string(from.incarnation) + " boot " + std::to_string(from.boot);
      }
    }
  }
  const bool all = answered == peers_.size();
  Status st;
  if (state() == NodeState::kFresh) {
    if (!holder.empty()) {
      st = BeginRebuild(max_incarnation, cluster_id);
      progress.event = "the data dir is empty but the cluster holds data (" + holder +
                       " does): rebuilding every token from the other replicas before serving";
    } else if (all || (options_.new_cluster && start_round_ >= options_.start_rounds)) {
      const bool is_new = cluster_id.empty();
      NodeIdentity id{is_new ? DerivedClusterId() : cluster_id, self_, max_incarnation + 1,
                      Random(), 1, Random(), false};
      st = SaveIdentity(id);
      // Not serving yet: one more round announces this identity, so that a later copy of
      // this data dir, or a rebuild after its loss, is told apart from it.
      announced_from_ = PeerRecord{};
      announcing_ = true;
      start_round_ = 0;
      if (st.ok()) state_ = NodeState::kStarting;
      const std::string why =
          all ? "every peer answered and none holds data"
              : "--new-cluster: " + std::to_string(answered) + " of " +
                    std::to_string(peers_.size()) + " peers answered, none holds data";
      progress.event = is_new ? "new cluster " + id.cluster_id + ": " + why
                              : "joined cluster " + id.cluster_id + ", which holds no data yet";
    }
  } else if (!stale_note.empty()) {
    st = BeginRebuild(max_incarnation, cluster_id);
    progress.event = "the data dir is older than this node's last run (" + stale_note +
                     "), a restored copy: rebuilding every token from the other replicas";
  } else if (all || (answered > 0 && start_round_ >= options_.start_rounds)) {
    const std::string how_many = std::to_string(answered) + " of " + std::to_string(peers_.size());
    if (announcing_) {
      state_ = NodeState::kServing;
      progress.event = "the peers recorded this start (" + how_many + "): serving";
    } else {
      // Current: the dir records the next start before any peer hears of it, so that every
      // start a peer heard of is one the dir knows.
      NodeIdentity next;
      {
        ReaderMutexLock lock(&mu_);
        next = identity_;
      }
      const PeerRecord from = LastStart();
      next.boot += 1;
      next.run = Random();
      st = SaveIdentity(next);
      announced_from_ = from;
      announcing_ = true;
      start_round_ = 0;
      progress.again = true;
      progress.event = "the data dir is current (" + how_many + " peers confirmed): boot " +
                       std::to_string(next.boot);
    }
  }
  if (!st.ok()) progress.fatal = st.WithContext("saving the node's identity");
  FillCounts(progress);
}

namespace {

// "61s", "2.5s": a wait as the log says it.
std::string FormatSeconds(Clock::duration d) {
  const double s = std::chrono::duration<double>(d).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3gs", s < 0 ? 0.0 : s);
  return buf;
}

}  // namespace

void NodeLifecycle::AdvanceRebuild(std::function<void(LifecycleProgress)> done) {
  // No probe before the quiet period is over (LifecycleOptions::rebuild_quiet); the Hellos
  // that record this incarnation at the peers go on meanwhile.
  const Clock::time_point quiet_until = opened_at_ + options_.rebuild_quiet;
  const bool quiet = clock_.now() < quiet_until;
  std::vector<TokenReplication> pending;
  std::vector<std::string> no_longer_kept;
  if (!quiet) {
    ReaderMutexLock lock(&mu_);
    for (const std::string& id : token_ids_) {
      if (rebuilt_.contains(id)) continue;
      if (!lookup_) {
        pending.push_back(*config_.Find(id));
        continue;
      }
      StatusOr<TokenReplication> t = lookup_(id);
      if (t.ok() && t->RoleOf(self_) != Role::kNone) {
        pending.push_back(*std::move(t));
      } else if (t.ok() || t.status().code() != StatusCode::kAborted) {
        no_longer_kept.push_back(id);  // retired, or moved away: nothing to rebuild
      }
    }
  }
  if (!no_longer_kept.empty()) {
    WriterMutexLock lock(&mu_);
    rebuilt_.insert(no_longer_kept.begin(), no_longer_kept.end());
  }
  auto round = std::make_shared<Round>();
  std::vector<std::string> unregistered;
  for (const std::string& p : peers_) {
    if (!registered_.contains(p)) unregistered.push_back(p);
  }
  round->hellos.resize(unregistered.size());
  size_t calls = unregistered.size();
  for (const TokenReplication& t : pending) calls += t.Replicas().size() - 1;
  round->pending = calls + 1;
  round->finish = [this, raw = round.get(), pending, unregistered, quiet, quiet_until,
                   done = std::move(done)] {
    Round* const round = raw;  // see Round::finish
    LifecycleProgress progress;
    if (quiet) {
      progress.wait_until = quiet_until;
      progress.event =
          "rebuilding " + FormatSeconds(options_.rebuild_quiet) +
          " after the start, not sooner: a Store round still running elsewhere may have "
          "counted an acknowledgement this node gave before it lost its data";
    }
    bool renumbered = false;
    for (size_t i = 0; i < unregistered.size() && progress.fatal.ok(); ++i) {
      if (!round->hellos[i]) continue;
      progress.fatal = CheckIncarnation(unregistered[i], *round->hellos[i], &renumbered,
                                        &progress.event);
      if (!renumbered) registered_.insert(unregistered[i]);
    }
    if (renumbered) registered_.clear();  // the new number is announced to every peer again
    // Recorded by a majority of the peers: Stores are acknowledged and rebuilt tokens served
    // from now on (not before: Acknowledges).
    rebuild_recorded_ = registered_.size() * 2 > peers_.size();
    std::set<std::string> silent;
    for (const TokenReplication& t : pending) {
      std::vector<std::string> others;
      for (const std::string& n : t.Replicas()) {
        if (n != self_) others.push_back(n);
      }
      const auto& answers = round->probes[t.id];
      for (size_t k = 0; k < others.size(); ++k) {
        if (!answers[k]) silent.insert(others[k]);
      }
      bool token_done = false;
      Status st = DecideToken(t, answers, others, &token_done, &progress.event);
      if (!st.ok()) {
        progress.fatal = st;
        break;
      }
      if (token_done) {
        WriterMutexLock lock(&mu_);
        rebuilt_.insert(t.id);
      }
    }
    progress.waiting_for.assign(silent.begin(), silent.end());
    if (progress.event.empty() && !round->refusals.empty()) progress.event = round->refusals[0];
    // Ends once a majority of the peers know this incarnation's number: a later rebuild,
    // which hears a majority before it ends, takes a higher one.
    bool finished = !quiet && registered_.size() * 2 > peers_.size();
    {
      ReaderMutexLock lock(&mu_);
      finished = finished && rebuilt_.size() == token_ids_.size();
    }
    if (progress.fatal.ok() && finished) {
      NodeIdentity id;
      {
        ReaderMutexLock lock(&mu_);
        id = identity_;
      }
      id.rebuilding = false;
      if (Status st = SaveIdentity(id); !st.ok()) {
        progress.fatal = st.WithContext("saving the node's identity");
      } else {
        state_ = NodeState::kServing;
        progress.event = "rebuilt all " + std::to_string(token_ids_.size()) +
                         " tokens from the other replicas; serving";
      }
    }
    FillCounts(progress);
    done(std::move(progress));
  };
  const Clock::time_point deadline = clock_.now() + options_.call_timeout;
  const HelloArgs args = MyHello();
  for (size_t i = 0; i < unregistered.size(); ++i) {
    transport_.Hello(unregistered[i], args, deadline, [round, i](StatusOr<HelloReply> r) {
      if (r.ok()) {
        std::lock_guard<std::mutex> lock(round->mu);
        round->hellos[i] = std::move(r).value();
      }
      round->Done();
    });
  }
  for (const TokenReplication& t : pending) {
    std::vector<std::string> others;
    for (const std::string& n : t.Replicas()) {
      if (n != self_) others.push_back(n);
    }
    {
      std::lock_guard<std::mutex> lock(round->mu);
      round->probes[t.id].resize(others.size());
    }
    for (size_t k = 0; k < others.size(); ++k) {
      transport_.Probe(others[k], t.id, t.Fingerprint(), deadline,
                       [round, id = t.id, k, node = others[k]](StatusOr<ProbeReply> r) {
                         {
                           std::lock_guard<std::mutex> lock(round->mu);
                           if (r.ok()) {
                             round->probes[id][k] = std::move(r).value();
                           } else if (r.status().code() == StatusCode::kFailedPrecondition &&
                                      round->refusals.empty()) {
                             // e.g. a peer whose file gives the token other replicas
                             round->refusals.push_back(node + " refuses: " +
                                                       r.status().message());
                           }
                         }
                         round->Done();
                       });
    }
  }
  round->Done();
}

Status NodeLifecycle::CheckIncarnation(const std::string& peer, const HelloReply& seen,
                                       bool* renumbered, std::string* event) {
  const PeerRecord mine = LastStart();
  const PeerRecord heard{seen.seen_incarnation, seen.seen_boot, seen.seen_run};
  if (heard.incarnation < mine.incarnation || heard == mine) return Status::Ok();
  // The number was taken before (the peers asked first had not heard of it), or a later one
  // was: a higher one, so that no start of another incarnation passes for one of this one.
  NodeIdentity id;
  {
    ReaderMutexLock lock(&mu_);
    id = identity_;
  }
  id.incarnation = std::max(id.incarnation, heard.incarnation) + 1;
  id.boot += 1;
  id.run = Random();
  TOKENSTORE_RETURN_IF_ERROR(SaveIdentity(id).WithContext("saving the node's identity"));
  *renumbered = true;
  *event = peer + " had heard of incarnation " + std::to_string(heard.incarnation) +
           " of this node already: rebuilding as incarnation " + std::to_string(id.incarnation);
  return Status::Ok();
}

Status NodeLifecycle::DecideToken(const TokenReplication& t,
                                  const std::vector<std::optional<ProbeReply>>& answers,
                                  const std::vector<std::string>& others, bool* done,
                                  std::string* event) {
  *done = false;
  StatusOr<Register> own = store_.Get(t.id);
  if (!own.ok()) return own.status();
  const size_t needed = others.size() / 2 + 1;  // a majority of the others
  size_t serving = 0, answered = 0;
  std::vector<std::string> lost;
  bool any_data = own->ts > 0;
  Register best = *own;
  for (size_t k = 0; k < answers.size(); ++k) {
    if (!answers[k]) continue;
    const ProbeReply& a = *answers[k];
    ++answered;
    if (a.serving) {
      ++serving;
    } else if (a.state == NodeState::kFresh || a.state == NodeState::kRebuilding) {
      lost.push_back(others[k]);
    }
    if (a.reg.ts > 0) any_data = true;
    if (IsNewer(a.reg, best)) best = a.reg;
  }
  bool take = others.empty() || serving >= needed || (answered == others.size() && !any_data);
  if (!take && any_data && others.size() - lost.size() < needed) {
    if (!options_.accept_data_loss) {
      lost.insert(lost.begin(), self_);
      return Status::FailedPrecondition(
          "cannot rebuild token \"" + t.id + "\" safely: " + std::to_string(lost.size()) +
          " of its " + std::to_string(others.size() + 1) + " replicas lost their data (" +
          JoinNodes(lost) + "), more than a minority, so an acknowledged write may have been " +
          "kept only by the lost copies and a rebuild from the others could silently lose it. " +
          "Bring back a replica that still has its data dir, or, accepting that acknowledged " +
          "writes may be lost, restart this node with --accept-data-loss (then restore from " +
          "a backup: token-admin restore)");
    }
    take = true;
    *event = "token \"" + t.id + "\" rebuilt WITHOUT a majority (--accept-data-loss): " +
             "acknowledged writes may be lost";
  }
  if (!take) return Status::Ok();
  if (IsNewer(best, *own)) {
    StatusOr<Stamp> held = store_.StoreIfNewer(t.id, best);
    if (!held.ok()) return held.status().WithContext("storing the rebuilt register of \"" + t.id + "\"");
    NoteStored(best);
  }
  *done = true;
  return Status::Ok();
}

StatusOr<HelloReply> NodeLifecycle::HandleHello(const std::string& from, const HelloArgs& args) {
  HelloReply reply;
  reply.node = self_;
  reply.state = state();
  reply.holds_data = holds_data();
  {
    ReaderMutexLock lock(&mu_);
    if (reply.state != NodeState::kFresh) reply.cluster_id = identity_.cluster_id;
  }
  if (!args.cluster_id.empty() && !reply.cluster_id.empty() && args.cluster_id != reply.cluster_id) {
    return Status::FailedPrecondition(from + " belongs to cluster " + args.cluster_id + " but " +
                                      self_ + " to cluster " + reply.cluster_id +
                                      ": one of them runs on another cluster's data dir");
  }
  MutexLock serial(&hello_mu_);
  PeerRecord rec;
  {
    ReaderMutexLock lock(&mu_);
    if (auto it = seen_.find(from); it != seen_.end()) rec = it->second;
  }
  reply.seen_incarnation = rec.incarnation;
  reply.seen_boot = rec.boot;
  reply.seen_run = rec.run;
  const bool is_peer = std::binary_search(peers_.begin(), peers_.end(), from);
  // Recorded only when it continues what this node heard: a later incarnation (rebuilds take
  // one above what they heard), or a later boot of this incarnation whose dir explains the
  // record (a fork, a copy's start that diverged from the one heard of, never replaces it).
  // A node from before checks existed (version 0) announces at every start: a later boot.
  const bool later = std::pair(args.incarnation, args.boot) > std::pair(rec.incarnation, rec.boot);
  const bool continues =
      args.incarnation > rec.incarnation || args.version == 0 ||
      Explains(PeerRecord{args.incarnation, args.previous_boot, args.previous_run}, rec);
  if (is_peer && args.incarnation > 0 && later && continues) {
    PeerRecord next{args.incarnation, args.boot, args.run};
    TOKENSTORE_RETURN_IF_ERROR(store_.PutNodeRecord(
        PeerRecordName(from), EncodeFields({{"incarnation", std::to_string(next.incarnation)},
                                            {"boot", std::to_string(next.boot)},
                                            {"run", std::to_string(next.run)}})));
    WriterMutexLock lock(&mu_);
    seen_[from] = next;
  }
  return reply;
}

}  // namespace tokenstore
