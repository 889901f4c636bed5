// The apply scheduler. One mutex guards all scheduling state; worker threads (as many as the
// parallelism allows) take the first runnable action in plan order, run it without the lock, and
// record the outcome under it. A condition variable wakes idle workers whenever an action finishes,
// so nothing polls or sleeps. Because there are never more workers than `parallelism`, the cap on
// actions in flight holds by construction; the one-per-lane-of-a-host rule is checked when picking.
#include "engine/applier.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>

#include "engine/terminal_text.h"

namespace replplan {
namespace {

using State = ActionOutcome::State;

class Scheduler {
 public:
  Scheduler(const Plan& plan, ActionExecutor& executor, ApplyObserver* observer)
      : plan_(plan), executor_(executor), observer_(observer), slots_(plan.actions.size()) {
    report_.outcomes.resize(plan.actions.size());
    for (size_t i = 0; i < plan.actions.size(); ++i) {
      report_.outcomes[i].id = plan.actions[i].action.id;
      report_.outcomes[i].host = plan.actions[i].action.host;
    }
    BuildDependencies();
  }

  ApplyReport Run(int parallelism) {
    size_t workers = std::min(static_cast<size_t>(std::max(parallelism, 1)), plan_.actions.size());
    std::vector<std::thread> threads;
    threads.reserve(workers);
    for (size_t i = 0; i < workers; ++i) threads.emplace_back([this] { WorkLoop(); });
    for (std::thread& t : threads) t.join();
    return std::move(report_);
  }

 private:
  enum class Phase { kWaiting, kRunning, kFinished };
  struct Slot {
    Phase phase = Phase::kWaiting;
    int unfinished_deps = 0;        // dependencies not yet kDone
    std::vector<size_t> dependents; // actions that list this one in depends_on
  };

  // Ids that name no action are ignored: the planner drops edges to hosts it does not know, and
  // a missing action cannot be waited for. A repeated id counts once.
  void BuildDependencies() {
    std::unordered_map<std::string, size_t> index;
    for (size_t i = 0; i < plan_.actions.size(); ++i) index.emplace(plan_.actions[i].action.id, i);
    for (size_t i = 0; i < plan_.actions.size(); ++i) {
      std::set<size_t> deps;
      for (const std::string& id : plan_.actions[i].depends_on) {
        auto it = index.find(id);
        if (it != index.end()) deps.insert(it->second);
      }
      for (size_t dep : deps) {
        slots_[dep].dependents.push_back(i);
        ++slots_[i].unfinished_deps;
      }
    }
  }

  void WorkLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (finished_ < slots_.size()) {
      std::optional<size_t> next = PickRunnable();
      if (!next) {
        if (running_ == 0) {
          // Nothing runs and nothing can start: only a dependency cycle gets here (a valid plan
          // is in execution order). Give up on the rest rather than wait forever.
          AbandonStuck();
          continue;
        }
        wake_.wait(lock);
        continue;
      }
      Start(*next);
      lock.unlock();
      ActionOutcome outcome = Execute(*next);
      // Told before the outcome is published, so no observer hears of a dependent starting before
      // the action it waited for has finished.
      if (observer_ != nullptr) observer_->Finished(plan_.actions[*next].action, outcome);
      lock.lock();
      Finish(*next, std::move(outcome));
      wake_.notify_all();
    }
    wake_.notify_all();
  }

  // The queue of a host an action runs in: one of its two lanes (applier.h).
  using LaneKey = std::pair<std::string, ActionLane>;
  static LaneKey LaneKeyOf(const Action& action) { return {action.host, LaneOf(action.kind)}; }

  // Plan order wins: the lowest index whose dependencies are done and whose lane is idle.
  std::optional<size_t> PickRunnable() const {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].phase == Phase::kWaiting && slots_[i].unfinished_deps == 0 &&
          busy_lanes_.count(LaneKeyOf(plan_.actions[i].action)) == 0) {
        return i;
      }
    }
    return std::nullopt;
  }

  void Start(size_t i) {
    slots_[i].phase = Phase::kRunning;
    busy_lanes_.insert(LaneKeyOf(plan_.actions[i].action));
    ++running_;
  }

  // Runs without the lock. The executor promises not to throw; if it does anyway the apply must
  // still report every action, so the exception becomes this action's failure.
  ActionOutcome Execute(size_t i) {
    const Action& action = plan_.actions[i].action;
    ActionOutcome outcome;
    outcome.id = action.id;
    outcome.host = action.host;
    if (observer_ != nullptr) observer_->Started(action);
    ProgressFn progress = [this, &action](const std::string& line) {
      if (observer_ != nullptr) observer_->Progress(action, line);
    };
    outcome.started = std::chrono::system_clock::now();
    auto begin = std::chrono::steady_clock::now();
    Status status;
    try {
      status = executor_.Execute(action, progress);
    } catch (const std::exception& e) {
      status = Status::Internal(std::string("unexpected exception: ") + e.what());
    } catch (...) {
      status = Status::Internal("unexpected exception of unknown type");
    }
    outcome.duration =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);
    outcome.state = status.ok() ? State::kDone : State::kFailed;
    outcome.status = std::move(status);
    return outcome;
  }

  void Finish(size_t i, ActionOutcome outcome) {
    slots_[i].phase = Phase::kFinished;
    busy_lanes_.erase(LaneKeyOf(plan_.actions[i].action));
    --running_;
    ++finished_;
    bool done = outcome.state == State::kDone;
    report_.outcomes[i] = std::move(outcome);
    if (done) {
      for (size_t d : slots_[i].dependents) --slots_[d].unfinished_deps;
    } else {
      BlockDependents(i, plan_.actions[i].action.id);
    }
  }

  // Everything downstream of a failure, transitively, will not run. An action already blocked by
  // an earlier failure keeps that one as its reason.
  void BlockDependents(size_t failed, const std::string& failed_id) {
    std::vector<size_t> stack(slots_[failed].dependents);
    while (!stack.empty()) {
      size_t d = stack.back();
      stack.pop_back();
      if (slots_[d].phase != Phase::kWaiting) continue;
      slots_[d].phase = Phase::kFinished;
      ++finished_;
      report_.outcomes[d].state = State::kNotAttempted;
      report_.outcomes[d].blocked_by = failed_id;
      stack.insert(stack.end(), slots_[d].dependents.begin(), slots_[d].dependents.end());
    }
  }

  // Each stuck action names the first dependency it still waits for.
  void AbandonStuck() {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].phase != Phase::kWaiting) continue;
      std::string waits_for;
      for (const std::string& id : plan_.actions[i].depends_on) {
        for (size_t j = 0; j < slots_.size() && waits_for.empty(); ++j) {
          if (plan_.actions[j].action.id == id && report_.outcomes[j].state != State::kDone) waits_for = id;
        }
        if (!waits_for.empty()) break;
      }
      slots_[i].phase = Phase::kFinished;
      ++finished_;
      report_.outcomes[i].state = State::kNotAttempted;
      report_.outcomes[i].blocked_by = waits_for;
    }
  }

  const Plan& plan_;
  ActionExecutor& executor_;
  ApplyObserver* observer_;

  std::mutex mu_;
  std::condition_variable wake_;  // an action finished: something may have become runnable
  std::vector<Slot> slots_;       // by plan index
  std::set<LaneKey> busy_lanes_;  // lanes of hosts with an action running
  size_t running_ = 0;
  size_t finished_ = 0;  // done, failed or not attempted
  ApplyReport report_;
};

int Count(const ApplyReport& report, State state) {
  return static_cast<int>(std::count_if(report.outcomes.begin(), report.outcomes.end(),
                                        [state](const ActionOutcome& o) { return o.state == state; }));
}

}  // namespace

int ApplyReport::done() const { return Count(*this, State::kDone); }
int ApplyReport::failed() const { return Count(*this, State::kFailed); }
int ApplyReport::not_attempted() const { return Count(*this, State::kNotAttempted); }

ApplyReport ApplyPlan(const Plan& plan, ActionExecutor& executor, int parallelism, ApplyObserver* observer) {
  return Scheduler(plan, executor, observer).Run(parallelism);
}

std::string RenderApplyReport(const ApplyReport& report) {
  if (report.ok()) {
    int n = report.done();
    return "Apply complete: " + std::to_string(n) + (n == 1 ? " action" : " actions") + " done.\n";
  }
  std::string out = "Apply: " + std::to_string(report.done()) + " done, " + std::to_string(report.failed()) +
                    " failed, " + std::to_string(report.not_attempted()) + " not attempted.\n";
  for (const ActionOutcome& o : report.outcomes) {
    if (o.state == State::kFailed) out += TerminalSafe("  failed: " + o.id + ": " + o.status.message()) + "\n";
  }
  for (const ActionOutcome& o : report.outcomes) {
    if (o.state == State::kNotAttempted) {
      out += TerminalSafe("  not attempted: " + o.id + " (waits for " + o.blocked_by + ")") + "\n";
    }
  }
  return out;
}

}  // namespace replplan
