// Carries a plan out: actions start when everything they depend on is done, independent actions
// run in parallel (at most `parallelism` at once), and the first failure stops everything that
// depends on it while independent branches finish. Pure scheduling: the work itself is the
// ActionExecutor's.
//
// Invariants:
// - An action starts only once every action it depends on (PlannedAction::depends_on) is done;
//   the lanes below add no dependency and remove none.
// - Each host has two lanes (engine/action.h LaneOf): the server's (every kind but an app's) and
//   its apps' (rewrite-app-config, restart-app, check-health). At most one action per lane of a
//   host runs at a time, and a lane's actions start in plan order among those ready, so a host's
//   server changes, and its app changes, each happen in plan order. An app action does not wait
//   for a server action on the same host (a repoint of the app is not queued behind the host's
//   change-source and start-replica) unless the plan says it depends on it; the executor gives
//   each lane its own connection (providers/live_executor.h).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "engine/executor.h"
#include "engine/plan.h"
#include "engine/status.h"

namespace replplan {

struct ActionOutcome {
  enum class State { kDone, kFailed, kNotAttempted };
  std::string id;
  std::string host;
  State state = State::kNotAttempted;
  Status status;                  // the failure, when kFailed
  std::string blocked_by;         // kNotAttempted: id of the failed action it (transitively) waited for
  std::chrono::system_clock::time_point started;
  std::chrono::milliseconds duration{0};
};

struct ApplyReport {
  std::vector<ActionOutcome> outcomes;  // plan order
  int done() const;
  int failed() const;
  int not_attempted() const;
  bool ok() const { return failed() == 0 && not_attempted() == 0; }
};

// Told of every start, finish and progress line, from the executing threads (implementations lock).
class ApplyObserver {
 public:
  virtual ~ApplyObserver() = default;
  virtual void Started(const Action& action) = 0;
  virtual void Progress(const Action& action, const std::string& line) = 0;
  virtual void Finished(const Action& action, const ActionOutcome& outcome) = 0;
};

ApplyReport ApplyPlan(const Plan& plan, ActionExecutor& executor, int parallelism, ApplyObserver* observer);

// "Apply: 12 done, 1 failed, 3 not attempted." plus a line per failure (with the server's text)
// and per action not attempted (with what it waited for).
std::string RenderApplyReport(const ApplyReport& report);

}  // namespace replplan
