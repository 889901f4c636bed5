// The scheduler against fake executors that record what they were asked to do. Nothing here
// asserts on time: where concurrency must be proven, the fakes meet each other through a
// condition variable with a generous deadline that fails the test instead of hanging it.
#include "engine/applier.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>

namespace replplan {
namespace {

using State = ActionOutcome::State;
using Hook = std::function<Status(const Action&, const ProgressFn&)>;

constexpr auto kDeadline = std::chrono::seconds(20);  // only reached when the scheduler is broken

PlannedAction Step(const std::string& id, const std::string& host, std::vector<std::string> deps = {},
                   ActionKind kind = ActionKind::kSetGlobal) {
  PlannedAction pa;
  pa.action.id = id;
  pa.action.kind = kind;
  pa.action.host = host;
  pa.action.summary = "test step " + id;
  pa.depends_on = std::move(deps);
  return pa;
}

Plan PlanOf(std::vector<PlannedAction> actions) {
  Plan plan;
  plan.cluster = "lab";
  plan.actions = std::move(actions);
  return plan;
}

// Records "start <id>" / "end <id>" in the order they happened; per-action hooks decide the result.
class RecordingExecutor : public ActionExecutor {
 public:
  Status Execute(const Action& action, const ProgressFn& progress) override {
    Hook hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back("start " + action.id);
      auto it = hooks_.find(action.id);
      if (it != hooks_.end()) hook = it->second;
      if (!hook) hook = default_hook_;
    }
    Status s = hook ? hook(action, progress) : Status::OK();
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back("end " + action.id);
    return s;
  }

  void On(const std::string& id, Hook hook) { hooks_[id] = std::move(hook); }
  void OnEvery(Hook hook) { default_hook_ = std::move(hook); }

  std::vector<std::string> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  // Position of an event, or -1 when it never happened.
  int Index(const std::string& event) {
    std::vector<std::string> e = events();
    auto it = std::find(e.begin(), e.end(), event);
    return it == e.end() ? -1 : static_cast<int>(it - e.begin());
  }
  bool Ran(const std::string& id) { return Index("start " + id) >= 0; }

 private:
  std::mutex mu_;
  std::vector<std::string> events_;
  std::map<std::string, Hook> hooks_;
  Hook default_hook_;
};

class RecordingObserver : public ApplyObserver {
 public:
  void Started(const Action& a) override { Add("started " + a.id); }
  void Progress(const Action& a, const std::string& line) override { Add("progress " + a.id + ": " + line); }
  void Finished(const Action& a, const ActionOutcome& o) override {
    Add("finished " + a.id + (o.state == State::kDone ? " done" : " failed"));
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  void Add(std::string line) {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.push_back(std::move(line));
  }
  std::mutex mu_;
  std::vector<std::string> lines_;
};

// "venus/app" or "venus/server": the lane of its host an action runs in.
std::string LaneName(const Action& a) { return a.host + (LaneOf(a.kind) == ActionLane::kApp ? "/app" : "/server"); }

// Tracks how many actions are in flight, overall, per host and per lane of a host, and the most
// ever seen.
struct InFlight {
  std::mutex mu;
  std::condition_variable cv;
  int now = 0;
  int max = 0;
  std::map<std::string, int> per_host;
  std::map<std::string, int> per_lane;
  bool host_overlap = false;
  bool lane_overlap = false;

  // Enters, then lingers until `leave_when` holds or `linger` passes, so that a scheduler that
  // would start too much gets the chance to; the linger only makes a bug visible.
  Status Visit(const Action& a, std::chrono::milliseconds linger, const std::function<bool()>& leave_when) {
    std::unique_lock<std::mutex> lock(mu);
    max = std::max(max, ++now);
    if (++per_host[a.host] > 1) host_overlap = true;
    if (++per_lane[LaneName(a)] > 1) lane_overlap = true;
    cv.notify_all();
    cv.wait_for(lock, linger, leave_when);
    --now;
    --per_host[a.host];
    --per_lane[LaneName(a)];
    cv.notify_all();
    return Status::OK();
  }
};

const ActionOutcome& OutcomeOf(const ApplyReport& report, const std::string& id) {
  for (const ActionOutcome& o : report.outcomes) {
    if (o.id == id) return o;
  }
  FAIL("no outcome for " << id);
  throw std::logic_error("unreachable");
}

TEST_CASE("an action starts only after everything it depends on has finished") {
  // A diamond on three hosts plus a chain: mercury/a -> {uranus/b, venus/c} -> mercury/d -> venus/e.
  Plan plan = PlanOf({Step("mercury/a", "mercury"), Step("uranus/b", "uranus", {"mercury/a"}),
                      Step("venus/c", "venus", {"mercury/a"}), Step("mercury/d", "mercury", {"uranus/b", "venus/c"}),
                      Step("venus/e", "venus", {"mercury/d"})});
  RecordingExecutor executor;
  ApplyReport report = ApplyPlan(plan, executor, 4, nullptr);
  CHECK(report.ok());
  CHECK(report.done() == 5);
  for (const PlannedAction& pa : plan.actions) {
    int start = executor.Index("start " + pa.action.id);
    REQUIRE(start >= 0);
    for (const std::string& dep : pa.depends_on) {
      int dep_end = executor.Index("end " + dep);
      CHECK_MESSAGE(dep_end >= 0, dep);
      CHECK_MESSAGE(dep_end < start, pa.action.id << " started before " << dep << " ended");
    }
  }
  CHECK(executor.events().size() == 10);
}

TEST_CASE("outcomes come back in plan order with their timing") {
  Plan plan = PlanOf({Step("uranus/x", "uranus"), Step("mercury/y", "mercury")});
  RecordingExecutor executor;
  auto before = std::chrono::system_clock::now();
  ApplyReport report = ApplyPlan(plan, executor, 2, nullptr);
  auto after = std::chrono::system_clock::now();
  REQUIRE(report.outcomes.size() == 2);
  CHECK(report.outcomes[0].id == "uranus/x");
  CHECK(report.outcomes[0].host == "uranus");
  CHECK(report.outcomes[1].id == "mercury/y");
  for (const ActionOutcome& o : report.outcomes) {
    CHECK(o.state == State::kDone);
    CHECK(o.started >= before);
    CHECK(o.started <= after);
    CHECK(o.duration.count() >= 0);
  }
}

TEST_CASE("two independent actions on different hosts really run at the same time") {
  Plan plan = PlanOf({Step("mercury/a", "mercury"), Step("uranus/b", "uranus")});
  RecordingExecutor executor;
  std::mutex mu;
  std::condition_variable cv;
  bool b_started = false;
  // A cannot finish until B has started: a scheduler that ran them one after the other would
  // make A wait out the deadline and fail.
  executor.On("mercury/a", [&](const Action&, const ProgressFn&) {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, kDeadline, [&] { return b_started; })) {
      return Status::Unavailable("uranus/b never started while mercury/a ran");
    }
    return Status::OK();
  });
  executor.On("uranus/b", [&](const Action&, const ProgressFn&) {
    std::lock_guard<std::mutex> lock(mu);
    b_started = true;
    cv.notify_all();
    return Status::OK();
  });
  ApplyReport report = ApplyPlan(plan, executor, 2, nullptr);
  CHECK(RenderApplyReport(report) == "Apply complete: 2 actions done.\n");
}

TEST_CASE("two actions on the same host never overlap, and run in plan order") {
  // Independent of each other, so only the one-per-host rule keeps them apart.
  Plan plan = PlanOf({Step("mercury/1", "mercury"), Step("mercury/2", "mercury"), Step("uranus/1", "uranus"),
                      Step("mercury/3", "mercury"), Step("uranus/2", "uranus"), Step("mercury/4", "mercury")});
  RecordingExecutor executor;
  InFlight flight;
  executor.OnEvery([&](const Action& a, const ProgressFn&) {
    return flight.Visit(a, std::chrono::milliseconds(30), [&] { return flight.host_overlap; });
  });
  ApplyReport report = ApplyPlan(plan, executor, 4, nullptr);
  CHECK(report.ok());
  CHECK_FALSE(flight.host_overlap);
  CHECK(executor.Index("start mercury/1") < executor.Index("start mercury/2"));
  CHECK(executor.Index("start mercury/2") < executor.Index("start mercury/3"));
  CHECK(executor.Index("start mercury/3") < executor.Index("start mercury/4"));
  CHECK(executor.Index("start uranus/1") < executor.Index("start uranus/2"));
}

// A failover's plan where the app lives on a replica that is repointed (venus): its database.yml
// is rewritten once the new primary is promoted, not once venus follows it.
std::vector<PlannedAction> FailoverWithAppOnReplica() {
  return {Step("uranus/promote-replica", "uranus", {}, ActionKind::kPromoteReplica),
          Step("venus/change-source", "venus", {"uranus/promote-replica"}, ActionKind::kChangeSource),
          Step("venus/start-replica", "venus", {"venus/change-source"}, ActionKind::kStartReplica),
          Step("venus/rewrite-app-config/shop", "venus", {"uranus/promote-replica"}, ActionKind::kRewriteAppConfig),
          Step("venus/restart-app/shop", "venus", {"venus/rewrite-app-config/shop"}, ActionKind::kRestartApp)};
}

TEST_CASE("an app's actions on a host run while a slow server action on the same host runs") {
  Plan plan = PlanOf(FailoverWithAppOnReplica());
  RecordingExecutor executor;
  std::mutex mu;
  std::condition_variable cv;
  bool replica_starting = false;
  bool app_restarted = false;
  std::vector<std::string> ran_during_start;  // app actions that began and ended while start-replica ran
  // start-replica (its running checks take a while) cannot end until the app has been repointed
  // and restarted: a scheduler that queued the app behind it makes it wait out the deadline and fail.
  executor.On("venus/start-replica", [&](const Action&, const ProgressFn&) {
    std::unique_lock<std::mutex> lock(mu);
    replica_starting = true;
    cv.notify_all();
    bool met = cv.wait_for(lock, kDeadline, [&] { return app_restarted; });
    replica_starting = false;
    return met ? Status::OK() : Status::Unavailable("the app was not restarted while venus/start-replica ran");
  });
  auto app_step = [&](const Action& a, const ProgressFn&) {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, kDeadline, [&] { return replica_starting; })) {
      return Status::Unavailable(a.id + " never ran while venus/start-replica ran");
    }
    ran_during_start.push_back(a.id);
    if (a.kind == ActionKind::kRestartApp) app_restarted = true;
    cv.notify_all();
    return Status::OK();
  };
  executor.On("venus/rewrite-app-config/shop", app_step);
  executor.On("venus/restart-app/shop", app_step);

  ApplyReport report = ApplyPlan(plan, executor, 4, nullptr);
  CHECK(RenderApplyReport(report) == "Apply complete: 5 actions done.\n");
  CHECK(ran_during_start == std::vector<std::string>{"venus/rewrite-app-config/shop", "venus/restart-app/shop"});
  // That is the overlap: each app action's body ran while start-replica's did (replica_starting),
  // and start-replica could not end before restart-app had run. The executor's own start/end
  // records are not compared: they are taken outside the bodies, so their order is the threads'.
}

TEST_CASE("two app actions on one host never overlap, nor two server actions, and each lane keeps plan order") {
  // Independent of each other, so only the one-per-lane rule keeps them apart.
  Plan plan = PlanOf({Step("venus/rewrite-app-config/shop", "venus", {}, ActionKind::kRewriteAppConfig),
                      Step("venus/change-source", "venus", {}, ActionKind::kChangeSource),
                      Step("venus/rewrite-app-config/blog", "venus", {}, ActionKind::kRewriteAppConfig),
                      Step("venus/restart-app/shop", "venus", {}, ActionKind::kRestartApp),
                      Step("venus/start-replica", "venus", {}, ActionKind::kStartReplica),
                      Step("venus/check-health/shop", "venus", {}, ActionKind::kCheckHealth),
                      Step("uranus/restart-app/shop", "uranus", {}, ActionKind::kRestartApp)});
  RecordingExecutor executor;
  InFlight flight;
  executor.OnEvery([&](const Action& a, const ProgressFn&) {
    return flight.Visit(a, std::chrono::milliseconds(30), [&] { return flight.lane_overlap; });
  });
  ApplyReport report = ApplyPlan(plan, executor, 6, nullptr);
  CHECK(report.ok());
  CHECK_FALSE(flight.lane_overlap);
  CHECK(executor.Index("start venus/rewrite-app-config/shop") < executor.Index("start venus/rewrite-app-config/blog"));
  CHECK(executor.Index("start venus/rewrite-app-config/blog") < executor.Index("start venus/restart-app/shop"));
  CHECK(executor.Index("start venus/restart-app/shop") < executor.Index("start venus/check-health/shop"));
  CHECK(executor.Index("start venus/change-source") < executor.Index("start venus/start-replica"));
}

TEST_CASE("an app action that depends on a server action on its own host waits for it, and the other way round") {
  // The app on the promoted host: it is repointed once its own server is promoted. And a server
  // action the plan makes wait for an app's (no planner does today; the scheduler must still obey).
  Plan plan = PlanOf({Step("uranus/promote-replica", "uranus", {}, ActionKind::kPromoteReplica),
                      Step("uranus/rewrite-app-config/shop", "uranus", {"uranus/promote-replica"},
                           ActionKind::kRewriteAppConfig),
                      Step("uranus/restart-app/shop", "uranus", {"uranus/rewrite-app-config/shop"}, ActionKind::kRestartApp),
                      Step("uranus/set-global", "uranus", {"uranus/restart-app/shop"}, ActionKind::kSetGlobal)});
  RecordingExecutor executor;
  InFlight flight;
  // Each lingers so that a dependent started too early would be seen in flight beside it.
  executor.OnEvery([&](const Action& a, const ProgressFn&) {
    return flight.Visit(a, std::chrono::milliseconds(30), [&] { return flight.now > 1; });
  });
  ApplyReport report = ApplyPlan(plan, executor, 4, nullptr);
  CHECK(report.ok());
  CHECK(flight.max == 1);
  for (const PlannedAction& pa : plan.actions) {
    for (const std::string& dep : pa.depends_on) {
      CHECK_MESSAGE(executor.Index("end " + dep) < executor.Index("start " + pa.action.id),
                    pa.action.id << " started before " << dep << " ended");
    }
  }
}

TEST_CASE("a failed server action stops the app actions that depend on it, not the independent ones") {
  Plan plan = PlanOf(FailoverWithAppOnReplica());
  RecordingExecutor executor;
  executor.On("uranus/promote-replica", [](const Action&, const ProgressFn&) {
    return Status::Internal("uranus is not promoted: read_only=1");
  });
  ApplyReport report = ApplyPlan(plan, executor, 4, nullptr);
  CHECK(report.failed() == 1);
  CHECK(report.not_attempted() == 4);
  CHECK(OutcomeOf(report, "venus/rewrite-app-config/shop").blocked_by == "uranus/promote-replica");
  CHECK(OutcomeOf(report, "venus/restart-app/shop").blocked_by == "uranus/promote-replica");
  CHECK_FALSE(executor.Ran("venus/rewrite-app-config/shop"));
}

TEST_CASE("concurrency never exceeds the parallelism") {
  std::vector<PlannedAction> steps;
  for (int i = 0; i < 8; ++i) steps.push_back(Step("host" + std::to_string(i) + "/x", "host" + std::to_string(i)));
  Plan plan = PlanOf(steps);
  for (int parallelism : {1, 3}) {
    CAPTURE(parallelism);
    RecordingExecutor executor;
    InFlight flight;
    executor.OnEvery([&](const Action& a, const ProgressFn&) {
      return flight.Visit(a, std::chrono::milliseconds(30), [&] { return flight.now > parallelism; });
    });
    ApplyReport report = ApplyPlan(plan, executor, parallelism, nullptr);
    CHECK(report.done() == 8);
    CHECK(flight.max <= parallelism);
    CHECK(flight.max >= 1);
  }
}

TEST_CASE("a parallelism below one runs the plan one action at a time") {
  Plan plan = PlanOf({Step("mercury/a", "mercury"), Step("uranus/b", "uranus"), Step("venus/c", "venus")});
  RecordingExecutor executor;
  InFlight flight;
  executor.OnEvery([&](const Action& a, const ProgressFn&) {
    return flight.Visit(a, std::chrono::milliseconds(20), [&] { return flight.now > 1; });
  });
  ApplyReport report = ApplyPlan(plan, executor, 0, nullptr);
  CHECK(report.done() == 3);
  CHECK(flight.max == 1);
}

TEST_CASE("a failure stops its dependents transitively but not an independent branch") {
  // mercury/a fails; uranus/b waits for it and venus/c for b. venus/d -> uranus/e is independent.
  Plan plan = PlanOf({Step("mercury/a", "mercury"), Step("uranus/b", "uranus", {"mercury/a"}),
                      Step("venus/c", "venus", {"uranus/b"}), Step("venus/d", "venus"),
                      Step("uranus/e", "uranus", {"venus/d"})});
  RecordingExecutor executor;
  executor.On("mercury/a", [](const Action&, const ProgressFn&) {
    return Status::Unavailable("ERROR 1045 (28000): Access denied for user 'admin'@'127.0.0.1'");
  });
  RecordingObserver observer;
  ApplyReport report = ApplyPlan(plan, executor, 2, &observer);

  CHECK(report.done() == 2);
  CHECK(report.failed() == 1);
  CHECK(report.not_attempted() == 2);
  CHECK_FALSE(report.ok());
  CHECK(OutcomeOf(report, "mercury/a").state == State::kFailed);
  CHECK(OutcomeOf(report, "uranus/b").state == State::kNotAttempted);
  CHECK(OutcomeOf(report, "uranus/b").blocked_by == "mercury/a");
  CHECK(OutcomeOf(report, "venus/c").blocked_by == "mercury/a");
  CHECK(OutcomeOf(report, "uranus/e").state == State::kDone);
  CHECK_FALSE(executor.Ran("uranus/b"));
  CHECK_FALSE(executor.Ran("venus/c"));
  CHECK(executor.Ran("uranus/e"));

  CHECK(RenderApplyReport(report) ==
        "Apply: 2 done, 1 failed, 2 not attempted.\n"
        "  failed: mercury/a: ERROR 1045 (28000): Access denied for user 'admin'@'127.0.0.1'\n"
        "  not attempted: uranus/b (waits for mercury/a)\n"
        "  not attempted: venus/c (waits for mercury/a)\n");

  // The observer hears only of actions that ran.
  std::vector<std::string> lines = observer.lines();
  CHECK(std::count(lines.begin(), lines.end(), "finished mercury/a failed") == 1);
  for (const std::string& line : lines) {
    CHECK_MESSAGE(line.find("uranus/b") == std::string::npos, line);
    CHECK_MESSAGE(line.find("venus/c") == std::string::npos, line);
  }
}

TEST_CASE("an executor that throws fails its action and stops its dependents") {
  Plan plan = PlanOf({Step("mercury/a", "mercury"), Step("mercury/b", "mercury", {"mercury/a"}),
                      Step("uranus/c", "uranus")});
  RecordingExecutor executor;
  executor.On("mercury/a", [](const Action&, const ProgressFn&) -> Status {
    throw std::runtime_error("bad_alloc in the fake");
  });
  ApplyReport report = ApplyPlan(plan, executor, 2, nullptr);
  const ActionOutcome& a = OutcomeOf(report, "mercury/a");
  CHECK(a.state == State::kFailed);
  CHECK(a.status.code() == Status::Code::kInternal);
  CHECK(OutcomeOf(report, "uranus/c").state == State::kDone);
  CHECK(RenderApplyReport(report) ==
        "Apply: 1 done, 1 failed, 1 not attempted.\n"
        "  failed: mercury/a: unexpected exception: bad_alloc in the fake\n"
        "  not attempted: mercury/b (waits for mercury/a)\n");
}

TEST_CASE("an action waiting for two failures names the first to fail") {
  Plan plan = PlanOf({Step("mercury/a", "mercury"), Step("mercury/b", "mercury"),
                      Step("uranus/c", "uranus", {"mercury/a", "mercury/b"})});
  RecordingExecutor executor;
  executor.OnEvery([](const Action& a, const ProgressFn&) { return Status::Internal(a.id + " broke"); });
  ApplyReport report = ApplyPlan(plan, executor, 1, nullptr);
  CHECK(report.failed() == 2);
  CHECK(OutcomeOf(report, "uranus/c").blocked_by == "mercury/a");
}

TEST_CASE("an empty plan is a complete apply") {
  RecordingExecutor executor;
  ApplyReport report = ApplyPlan(Plan(), executor, 4, nullptr);
  CHECK(report.ok());
  CHECK(report.outcomes.empty());
  CHECK(RenderApplyReport(report) == "Apply complete: 0 actions done.\n");
}

TEST_CASE("one action done is said in the singular") {
  RecordingExecutor executor;
  ApplyReport report = ApplyPlan(PlanOf({Step("mercury/a", "mercury")}), executor, 4, nullptr);
  CHECK(RenderApplyReport(report) == "Apply complete: 1 action done.\n");
}

TEST_CASE("progress lines reach the observer between Started and Finished") {
  Plan plan = PlanOf({Step("uranus/seed-replica", "uranus")});
  RecordingExecutor executor;
  executor.On("uranus/seed-replica", [](const Action&, const ProgressFn& progress) {
    progress("512 MB, 85 MB/s, 6 s");
    progress("1.2 GB, 85 MB/s, 14 s");
    return Status::OK();
  });
  RecordingObserver observer;
  ApplyReport report = ApplyPlan(plan, executor, 1, &observer);
  CHECK(report.ok());
  CHECK(observer.lines() == std::vector<std::string>{"started uranus/seed-replica",
                                                     "progress uranus/seed-replica: 512 MB, 85 MB/s, 6 s",
                                                     "progress uranus/seed-replica: 1.2 GB, 85 MB/s, 14 s",
                                                     "finished uranus/seed-replica done"});
}

TEST_CASE("a dependency on an id that names no action is ignored") {
  Plan plan = PlanOf({Step("uranus/a", "uranus", {"pluto/edit-config"}), Step("uranus/b", "uranus", {"uranus/a"})});
  RecordingExecutor executor;
  ApplyReport report = ApplyPlan(plan, executor, 2, nullptr);
  CHECK(report.ok());
  CHECK(executor.Index("end uranus/a") < executor.Index("start uranus/b"));
}

TEST_CASE("a dependency cycle is given up on instead of waited for forever") {
  // Not a valid plan (PlanFromJson and the planner refuse cycles), but apply must still end.
  Plan plan = PlanOf({Step("mercury/a", "mercury", {"uranus/b"}), Step("uranus/b", "uranus", {"mercury/a"}),
                      Step("venus/c", "venus")});
  RecordingExecutor executor;
  ApplyReport report = ApplyPlan(plan, executor, 2, nullptr);
  CHECK(OutcomeOf(report, "venus/c").state == State::kDone);
  CHECK(report.not_attempted() == 2);
  CHECK(RenderApplyReport(report) ==
        "Apply: 1 done, 0 failed, 2 not attempted.\n"
        "  not attempted: mercury/a (waits for uranus/b)\n"
        "  not attempted: uranus/b (waits for mercury/a)\n");
}

}  // namespace
}  // namespace replplan

namespace replplan {

TEST_CASE("a server's error holding escape sequences is shown escaped in the apply report") {
  Plan plan = PlanOf({Step("mercury/a", "mercury"), Step("mercury/b", "mercury", {"mercury/a"})});
  RecordingExecutor executor;
  executor.On("mercury/a", [](const Action&, const ProgressFn&) -> Status {
    return Status::Unavailable("ERROR 1105: \x1b[1A\x1b[2K\r\xC2\x9B" "2K\nApply complete: 2 actions done.");
  });
  ApplyReport report = ApplyPlan(plan, executor, 1, nullptr);
  CHECK(RenderApplyReport(report) ==
        "Apply: 0 done, 1 failed, 1 not attempted.\n"
        "  failed: mercury/a: ERROR 1105: \\x1b[1A\\x1b[2K\\r\\u009b2K\\nApply complete: 2 actions done.\n"
        "  not attempted: mercury/b (waits for mercury/a)\n");
}

}  // namespace replplan
