#include "client/batch.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "client/client_cli.h"
#include "client/output.h"
#include "common/json.h"

namespace tokenstore {
namespace {

std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) ++i;
    const size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\r') ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

// The JSON line of one operation: `result` is token-client --json's object for it.
std::string WithLine(size_t line, const std::string& result) {
  return "{\"line\":" + std::to_string(line) + "," + result.substr(1);
}

std::string ErrorLine(size_t line, std::string_view op, std::string_view id, const Status& st) {
  JsonObject error;
  error.Add("code", StatusCodeName(st.code())).Add("message", st.message());
  JsonObject o;
  o.Add("line", uint64_t{line}).Add("op", op).Add("id", id).Add("error", error);
  return o.str();
}

}  // namespace

StatusOr<std::optional<BatchOp>> ParseBatchLine(std::string_view text, size_t line) {
  const std::vector<std::string_view> w = Words(text);
  if (w.empty() || w[0].front() == '#') return std::optional<BatchOp>();
  BatchOp op;
  op.line = line;
  const std::string where = "line " + std::to_string(line) + ": ";
  auto expect = [&](size_t n, const char* usage) -> Status {
    if (w.size() == n) return Status::Ok();
    return Status::InvalidArgument(where + "\"" + std::string(w[0]) + "\" takes " +
                                   std::to_string(n - 1) + " argument(s): " + usage + " (got " +
                                   std::to_string(w.size() - 1) + ")");
  };
  if (w[0] == "write") {
    if (Status st = expect(6, "write ID NAME LOW MID HIGH"); !st.ok()) return st;
    op.op = ClientOp::kWrite;
    op.name = std::string(w[2]);
    const char* names[] = {"LOW", "MID", "HIGH"};
    uint64_t* outs[] = {&op.low, &op.mid, &op.high};
    for (int i = 0; i < 3; ++i) {
      StatusOr<uint64_t> v = ParseUint64(names[i], w[3 + i]);
      if (!v.ok()) return Status::InvalidArgument(where + v.status().message());
      *outs[i] = *v;
    }
  } else if (w[0] == "read" || w[0] == "create" || w[0] == "drop") {
    if (Status st = expect(2, (std::string(w[0]) + " ID").c_str()); !st.ok()) return st;
    op.op = w[0] == "read" ? ClientOp::kRead : w[0] == "create" ? ClientOp::kCreate : ClientOp::kDrop;
  } else {
    return Status::InvalidArgument(where + "unknown operation \"" + std::string(w[0]) +
                                   "\" (write, read, create or drop)");
  }
  op.id = std::string(w[1]);
  return std::optional<BatchOp>(std::move(op));
}

BatchCounts RunBatch(TokenClient& client, std::istream& in, std::ostream& out, int parallel) {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<BatchOp> queue;  // guarded by mu
  bool input_done = false;    // guarded by mu
  BatchCounts counts;         // guarded by mu
  const size_t max_queued = static_cast<size_t>(parallel) * 4;

  auto emit = [&](const std::string& json, bool ok) {
    std::lock_guard<std::mutex> lock(mu);
    out << json << "\n";
    out.flush();
    (ok ? counts.ok : counts.failed)++;
  };
  auto run = [&](const BatchOp& op) {
    const char* name = ClientOpName(op.op);
    Status st;
    std::string json;
    switch (op.op) {
      case ClientOp::kWrite: {
        auto r = client.Write(op.id, op.name, op.low, op.mid, op.high);
        if (r.ok()) json = FormatWrite(*r, true);
        st = r.status();
        break;
      }
      case ClientOp::kRead: {
        auto r = client.Read(op.id);
        if (r.ok()) json = FormatRead(*r, true);
        st = r.status();
        break;
      }
      case ClientOp::kCreate:
      case ClientOp::kDrop: {
        auto r = op.op == ClientOp::kCreate ? client.Create(op.id) : client.Drop(op.id);
        if (r.ok()) json = FormatAck(name, *r, true);
        st = r.status();
        break;
      }
    }
    emit(st.ok() ? WithLine(op.line, json) : ErrorLine(op.line, name, op.id, st), st.ok());
  };

  std::vector<std::thread> workers;
  for (int i = 0; i < parallel; ++i) {
    workers.emplace_back([&] {
      while (true) {
        BatchOp op;
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return !queue.empty() || input_done; });
          if (queue.empty()) return;
          op = std::move(queue.front());
          queue.pop_front();
        }
        cv.notify_all();  // room in the queue for the reader
        run(op);
      }
    });
  }
  std::string text;
  for (size_t line = 1; std::getline(in, text); ++line) {
    StatusOr<std::optional<BatchOp>> op = ParseBatchLine(text, line);
    if (!op.ok()) {
      const std::vector<std::string_view> w = Words(text);
      emit(ErrorLine(line, w.empty() ? "" : w[0], w.size() > 1 ? w[1] : "", op.status()), false);
      continue;
    }
    if (!*op) continue;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return queue.size() < max_queued; });
    queue.push_back(std::move(**op));
    cv.notify_all();
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    input_done = true;
  }
  cv.notify_all();
  for (auto& t : workers) t.join();
  return counts;
}

}  // namespace tokenstore
