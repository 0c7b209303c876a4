#include "replica/batch_handler.h"

#include <utility>
#include <vector>

#include "proto/convert.h"

namespace tokenstore {
namespace {

void SetResultStatus(v1::BatchResult* r, const Status& st) {
  r->set_code(static_cast<int32_t>(st.code()));
  r->set_message(st.message());
}

}  // namespace

void AnswerBatch(ReplicaCore& core, const v1::BatchRequest& request,
                 const std::function<Status(const std::string& token)>& allow,
                 std::function<void(v1::BatchResponse)> done) {
  v1::BatchResponse response;
  std::vector<StoreItem> stores;
  std::vector<uint64_t> store_ids;
  for (const v1::BatchEntry& e : request.entries()) {
    // Authorization first: a refused caller learns nothing, not even a crash-stop mark.
    if (Status st = allow(e.token()); !st.ok()) {
      v1::BatchResult* r = response.add_results();
      r->set_id(e.id());
      SetResultStatus(r, st);
      continue;
    }
    if (!core.MayAnswer(e.token())) continue;  // fail-silent: no result for this entry
    Status st = core.CheckPeerCall(e.token(), request.from(), e.config_fingerprint());
    if (st.ok() && e.call_case() == v1::BatchEntry::kStore) {
      StatusOr<Register> reg = FromProto(e.store());
      if (reg.ok()) {
        stores.push_back(StoreItem{e.token(), std::move(reg).value(), e.config_fingerprint()});
        store_ids.push_back(e.id());
        continue;
      }
      st = reg.status();
    }
    v1::BatchResult* r = response.add_results();
    r->set_id(e.id());
    if (!st.ok()) {
      SetResultStatus(r, st);
      continue;
    }
    StatusOr<Register> reg = core.HandleGetRegister(e.token(), e.config_fingerprint());
    if (reg.ok()) {
      ToProto(*reg, r->mutable_reg());
    } else {
      SetResultStatus(r, reg.status());
    }
  }
  if (stores.empty()) return done(std::move(response));
  std::vector<std::string> tokens;
  tokens.reserve(stores.size());
  for (const StoreItem& item : stores) tokens.push_back(item.token);
  core.StoreBatchAsync(
      std::move(stores),
      [&core, response = std::move(response), tokens = std::move(tokens),
       ids = std::move(store_ids), done = std::move(done)](
          std::vector<StatusOr<Stamp>> held) mutable {
        for (size_t i = 0; i < held.size(); ++i) {
          // Crash-stopped while the batch was stored: the answer is withheld.
          if (!core.MayAnswer(tokens[i])) continue;
          v1::BatchResult* r = response.add_results();
          r->set_id(ids[i]);
          if (held[i].ok()) {
            r->set_stored_ts(held[i]->ts);
            r->set_stored_origin(held[i]->origin);
            r->set_stored_epoch(held[i]->epoch);
          } else {
            SetResultStatus(r, held[i].status());
          }
        }
        done(std::move(response));
      });
}

}  // namespace tokenstore
