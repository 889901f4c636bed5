// `watch`'s probe of the primary: one warm connection, a `SELECT 1` every interval, and the rule
// that tells a silent primary from a slow one's answer and from a dead one (docs/failover.md,
// "Detection").
//
// The rule: a probe's answer is awaited `timeout` to the millisecond (poll on the socket, not
// Connector/C's whole seconds). No answer within it: the primary is SILENT at once, with no
// reconnect (a reconnect to a silent server would only wait out a connect timeout to learn the
// same); the probe stays in flight, and its late answer is how the watcher learns the primary
// answers again (AnsweredAgain). A connection that fails at once (closed, reset) is reopened once:
// a connect refused is a dead primary, not a silent one; a connect that takes `silent_connect` or
// more before failing got no answer, and is silent too. Silence is suspicion only: the failover
// needs the replicas' testimony (engine/failover_choice.h). A probe left unanswered for 2 s is given
// up for a fresh connection (a partition healed, a restart).
//
// Bounds: a primary that goes silent is suspected within interval + timeout of its last answer.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "engine/status.h"
#include "engine/topology.h"
#include "providers/server_session.h"

namespace replplan::ops {

// One connection to the primary, as the probe uses it (the real one: a ServerSession's split round
// trip, SendQuery, AnswerWaiting and ReadAnswer, over Connector/C or a fake server; probe_test's: a
// fake that answers when told).
class ProbeLink {
 public:
  virtual ~ProbeLink() = default;
  virtual Status Send(const std::string& sql) = 0;
  // An answer (or the server closing the connection) is waiting, within `timeout_ms` (0: look).
  virtual bool AnswerWaiting(int timeout_ms) = 0;
  virtual Status ReadAnswer() = 0;
};

using ProbeConnect = std::function<Result<std::unique_ptr<ProbeLink>>()>;

class Probe {
 public:
  Probe(std::string primary, std::chrono::milliseconds timeout, ProbeConnect connect,
        std::chrono::milliseconds silent_connect = std::chrono::milliseconds(900));

  // OK while the primary answers; a broken connection is reopened once before giving up.
  Status Check();
  // Whether the last failed Check found the primary silent (no answer within a bound), not dead.
  bool silent() const { return silent_; }
  // After a silent Check: whether the probe left in flight has been answered since (no wait).
  bool AnsweredAgain();
  // Returns after `interval`, or at once when the server closes the connection (or sends anything),
  // or when `stop`.
  void Wait(std::chrono::milliseconds interval, const std::atomic<bool>& stop);
  // Connections opened so far (the first one included).
  int connects() const { return connects_; }

 private:
  using Steady = std::chrono::steady_clock;
  std::string primary_;
  std::chrono::milliseconds timeout_;
  ProbeConnect connect_;
  std::chrono::milliseconds silent_connect_;
  std::unique_ptr<ProbeLink> link_;
  bool pending_ = false;  // a probe was sent on link_ and its answer not read
  Steady::time_point pending_since_;
  bool silent_ = false;
  int connects_ = 0;
};

// A fresh session to `primary` from `sessions` (never a pooled connection: the probe's must be its
// own), connected at once, with SQL connect, read and write timeouts of `timeout` (the live
// session's Connector/C rounds them up to whole seconds). `sessions` and `primary` must outlive
// the ProbeConnect.
ProbeConnect SessionProbeConnect(SessionFactory& sessions, const ServerSpec& primary, std::chrono::milliseconds timeout);

}  // namespace replplan::ops
