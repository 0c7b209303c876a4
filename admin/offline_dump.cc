#include "admin/offline_dump.h"

#include <map>

#include "storage/rocksdb_register_store.h"

namespace tokenstore {

StatusOr<NodeDump> DumpDataDir(const std::string& dir) {
  RocksDbOptions opts;
  opts.create_if_missing = false;
  opts.read_only = true;  // the data dir may be the only copy left: change nothing in it
  StatusOr<std::unique_ptr<RocksDbRegisterStore>> store = RocksDbRegisterStore::Open(dir, opts);
  if (!store.ok()) {
    const Status& st = store.status();
    if (st.code() == StatusCode::kFailedPrecondition &&
        st.message().find("in use") != std::string::npos) {
      return Status::FailedPrecondition(
          dir +
          " is in use by a running token-replica; use `token-admin dump --node ADDR` "
          "instead (ADDR: that replica's --listen address)");
    }
    return st;
  }
  StatusOr<std::vector<std::pair<std::string, Register>>> registers = (*store)->Scan();
  if (!registers.ok()) return registers.status();
  StatusOr<std::vector<std::string>> crashed = (*store)->CrashedTokens();
  if (!crashed.ok()) return crashed.status();

  StatusOr<std::vector<std::pair<std::string, uint64_t>>> reservations =
      (*store)->ScanReservations();
  if (!reservations.ok()) return reservations.status();

  // A token may be marked crashed, or hold a writer reservation, before anything was ever
  // stored for it: list it too, with its initial register (ts 0, undefined).
  std::map<std::string, DumpEntry> entries;
  auto entry = [&entries](const std::string& token) -> DumpEntry& {
    DumpEntry& e = entries[token];
    e.token = token;
    return e;
  };
  for (auto& [token, reg] : *registers) entry(token).reg = reg;
  for (const std::string& token : *crashed) entry(token).crashed = true;
  for (auto& [token, upto] : *reservations) entry(token).reserved_ts = upto;
  NodeDump dump;
  dump.data_dir = dir;
  for (auto& [token, e] : entries) dump.entries.push_back(std::move(e));
  return dump;
}

}  // namespace tokenstore
