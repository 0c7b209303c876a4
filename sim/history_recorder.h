// The history of one simulated run, as the linearizability checker reads it (SPEC section 9,
// checker/history.h): one process per client operation, times in virtual nanoseconds.
//
// The checker knows registers with writes and reads only. create and drop are kept in the
// workload and recorded soundly as writes of values nobody else writes:
//   - create(id) is a write named "create-N" (N unique in the run); a read that answers
//     "undefined" at a stamp above 0 read the create that issued that stamp, known from the
//     create's answer (its ts, and the origin of the writer that issued it). A read of a
//     stamp no create answered for (the create timed out, or was issued again at another
//     stamp) cannot be named, and is recorded with an unknown outcome (it constrains nothing).
//   - drop(id) is a write named "drop-N". A read that answers NOT_FOUND (dropped) carries no
//     stamp, so it is recorded with an unknown outcome too; a write refused because the
//     token is dropped certainly did not take effect (fail). What is checked: after a drop
//     completed, no read returns a value written before it, and creates and writes after it
//     order as any writes do.
// Ties in virtual time are broken by the order of the events, which is the real order in a
// one-threaded simulation.
//
// Thread-safety: none; the simulator's one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "checker/history.h"
#include "common/token_value.h"
#include "replica/testing/sim_network.h"

namespace tokenstore::sim {

class HistoryRecorder {
 public:
  // `net` (the virtual time) must outlive the recorder.
  explicit HistoryRecorder(const testing::SimNetwork& net) : net_(net) {}

  // The invoke of a write (also create and drop, under their own names) or a read; returns
  // the process the operation runs as.
  int64_t InvokeWrite(const std::string& token, const std::string& name, uint64_t low,
                      uint64_t mid, uint64_t high);
  int64_t InvokeRead(const std::string& token);

  void WriteOk(int64_t process);
  // The operation certainly did not take effect.
  void Failed(int64_t process);
  // Unknown outcome (a timeout, an error after the value may have left the writer; for a
  // read, any error).
  void Unknown(int64_t process);
  void ReadDefined(int64_t process, const std::string& name, std::optional<uint64_t> final_value);
  // A read that answered "undefined" with the register's stamp.
  void ReadUndefined(int64_t process, Stamp stamp);
  // The create that wrote the value named `name` issued it at `stamp`.
  void NameStamp(const std::string& token, Stamp stamp, const std::string& name);

  // The events in order, each with its line number (1-based), the reads of undefined values
  // resolved to the creates they read (or made unknown).
  std::vector<checker::Event> Finish();
  size_t reads_unresolved() const { return unresolved_; }

 private:
  checker::Event& Append(int64_t process, checker::EventType type);
  int64_t Now();

  const testing::SimNetwork& net_;
  std::vector<checker::Event> events_;
  std::vector<size_t> invoke_of_;  // process - 1 -> index of its invoke in events_
  int64_t last_us_ = -1;
  int64_t tie_ = 0;
  std::vector<std::pair<size_t, Stamp>> undefined_reads_;  // event index, stamp read
  std::map<std::pair<std::string, Stamp>, std::string> create_of_stamp_;
  size_t unresolved_ = 0;
};

}  // namespace tokenstore::sim
