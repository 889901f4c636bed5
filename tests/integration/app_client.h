// A client of the Secondhand app (examples/secondhand) as the lab runs it (tests/lab/app.sh): puma
// on a lab host's address, port 3000. Tests use it the way a shop's users would, through HTTP, to
// prove that writes acknowledged by the app survive what replplan does to the databases below.
//
// HTTP/1.1 over a plain TCP socket with deadlines on connect, send and receive (no curl): a test
// must never hang on a server that is half gone. Free of doctest, like lab_client.h.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "integration/lab_client.h"

namespace lab::app {

using Clock = std::chrono::steady_clock;

inline constexpr int kPort = 3000;

struct HttpResponse {
  int status = 0;     // 0: no HTTP answer at all; `error` says why (refused, timeout...)
  std::string body;   // de-chunked
  std::string error;
};

// One request to the app on lab host `host` (its lab address, port 3000), Connection: close.
// `timeout` bounds the whole exchange.
HttpResponse Request(const std::string& host, const std::string& method, const std::string& target,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

struct PostResult {
  bool ok = false;   // 201: the app acknowledged the write
  int64_t id = 0;    // the row's id, when ok
  int status = 0;    // HTTP status; 0 when there was no answer
  std::string error; // when !ok: the transport error or the app's answer
};

// `bash tests/lab/app.sh ARGS...` on the lab (deploy, setup, start, stop, restart, reload, toml),
// with `extra_env` ("K=V") added to the test's environment (APP_RESTART=hot for `toml`, say).
CommandResult Script(const std::vector<std::string>& args, const std::vector<std::string>& extra_env = {});

// POST /items?seq=SEQ.
PostResult Post(const std::string& host, int64_t seq,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// GET /up: its HTTP status (200 up and writable, 503 not), 0 when nothing answered.
int Up(const std::string& host, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

struct Ack {
  int64_t seq = 0;
  int64_t id = 0;
  Clock::time_point at;  // when the 201 arrived
};

struct Failure {
  int64_t seq = 0;
  int status = 0;
  std::string error;
  Clock::time_point at;
};

// Posts seq = first, first+1, ... from a background thread, one request at a time, as fast as the
// app answers (or one every `interval`), recording each acknowledged seq and each failure. A
// failed seq is not retried: its write may or may not have happened, and only acknowledged writes
// carry a promise. The destructor stops the thread.
class Writer {
 public:
  explicit Writer(std::string host, std::chrono::milliseconds interval = std::chrono::milliseconds(0),
                  int64_t first_seq = 1);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void Stop();  // waits for the request in flight; idempotent
  std::vector<Ack> Acknowledged() const;
  std::vector<Failure> Failures() const;
  // The first acknowledgement that arrived after `t`, if any.
  std::optional<Ack> FirstSuccessAfter(Clock::time_point t) const;
  int64_t Attempts() const { return next_seq_.load() - first_seq_; }

 private:
  void Loop();

  const std::string host_;
  const std::chrono::milliseconds interval_;
  const int64_t first_seq_;
  std::atomic<int64_t> next_seq_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<Ack> acks_;
  std::vector<Failure> failures_;
  std::thread thread_;
};

// The acknowledged seqs absent from secondhand_production.items on lab server `server` (read as
// root over its socket): writes the app promised and the database lost. Throws when it cannot read.
std::vector<int64_t> MissingOn(const std::string& server, const std::vector<Ack>& acknowledged);

}  // namespace lab::app
