// Rolling restarts (issue 15): the planner chains a cluster's restarts so no two servers are down
// at once, replicas first, each replica's restart waiting until it caught up; the applier keeps
// that order whatever --parallelism says; settings marked on_next_restart plan no restart alone.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/applier.h"
#include "engine/plan.h"
#include "engine/planner.h"
#include "engine/planner_fixtures.h"

namespace replplan {
namespace {

using testing::InSyncLive;
using testing::LabTopology;

Plan MustPlan(const Topology& t, const LiveState& live) {
  auto plan = BuildPlan(t, live);
  REQUIRE(plan.ok());
  return std::move(plan).value();
}

const PlannedAction& Find(const Plan& plan, const std::string& id) {
  for (const auto& pa : plan.actions) {
    if (pa.action.id == id) return pa;
  }
  FAIL("no action " << id);
  throw 0;
}

bool DependsOn(const Plan& plan, const std::string& id, const std::string& before) {
  const auto& deps = Find(plan, id).depends_on;
  return std::find(deps.begin(), deps.end(), before) != deps.end();
}

bool AnyContains(const std::vector<std::string>& lines, const std::string& needle) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

std::vector<std::string> Restarts(const Plan& plan) {
  std::vector<std::string> out;
  for (const auto& pa : plan.actions) {
    if (pa.action.kind == ActionKind::kRestartServer) out.push_back(pa.action.host);
  }
  return out;
}

// The hand-built cluster of issue 15: a serving cluster whose servers all run without
// log_slave_updates and with report_host set to their IP (both static).
LiveState HandBuilt(const Topology& t) {
  LiveState live = InSyncLive(t);
  for (const ServerSpec& spec : t.servers) {
    ServerState& s = live.servers[spec.name];
    s.log_slave_updates = false;
    s.report_host = spec.address;
  }
  return live;
}

TEST_CASE("a serving cluster restarts one server at a time: replicas in file order, each waited for, then the primary") {
  Topology t = LabTopology(3);
  t.cluster.restart_catch_up_timeout = 45;
  Plan plan = MustPlan(t, HandBuilt(t));
  REQUIRE(Restarts(plan) == std::vector<std::string>{"uranus", "venus", "mercury"});
  CHECK(DependsOn(plan, "venus/restart-server", "uranus/restart-server"));
  CHECK(DependsOn(plan, "mercury/restart-server", "venus/restart-server"));
  CHECK_FALSE(DependsOn(plan, "uranus/restart-server", "mercury/restart-server"));
  for (const char* replica : {"uranus", "venus"}) {
    const Action& r = Find(plan, std::string(replica) + "/restart-server").action;
    const auto& args = r.Args<RestartServerArgs>();
    CHECK(args.catch_up_from == "mercury");
    CHECK(args.catch_up_timeout_s == 45);
    CHECK(AnyContains(r.reasons, "rolling restart: one server of the cluster down at a time"));
    CHECK(r.summary.find("wait until it replicates and has caught up with mercury") != std::string::npos);
  }
  const Action& p = Find(plan, "mercury/restart-server").action;
  CHECK(p.Args<RestartServerArgs>().catch_up_from.empty());
  CHECK(AnyContains(p.reasons, "the primary restarts after every replica's restart and catch-up"));
}

TEST_CASE("a replica that does not replicate now is not waited for, but still restarts in the chain") {
  Topology t = LabTopology(3);
  LiveState live = HandBuilt(t);
  live.servers["venus"].channels[0].io_running = "Connecting";
  Plan plan = MustPlan(t, live);
  CHECK(Find(plan, "venus/restart-server").action.Args<RestartServerArgs>().catch_up_from.empty());
  CHECK(DependsOn(plan, "venus/restart-server", "uranus/restart-server"));
  CHECK(DependsOn(plan, "mercury/restart-server", "venus/restart-server"));
}

TEST_CASE("a bootstrap still restarts one at a time, the primary first") {
  Topology t = LabTopology(3);
  Plan plan = MustPlan(t, testing::FreshLive(t));
  REQUIRE(Restarts(plan) == std::vector<std::string>{"mercury", "uranus", "venus"});
  CHECK(DependsOn(plan, "uranus/restart-server", "mercury/restart-server"));
  CHECK(DependsOn(plan, "venus/restart-server", "uranus/restart-server"));
  CHECK(Find(plan, "uranus/restart-server").action.Args<RestartServerArgs>().catch_up_from.empty());
}

TEST_CASE("the catch-up wait survives a saved plan, and a bad bound is refused") {
  Topology t = LabTopology(2);
  Plan plan = MustPlan(t, HandBuilt(t));
  auto json = PlanToJson(plan);
  auto back = PlanFromJson(json);
  REQUIRE(back.ok());
  const Action& r = Find(*back, "uranus/restart-server").action;
  CHECK(r.Args<RestartServerArgs>().catch_up_from == "mercury");
  CHECK(r.Args<RestartServerArgs>().catch_up_timeout_s == 300);
  for (auto& a : json["actions"]) {
    if (a["id"] == "uranus/restart-server") a["params"]["catch_up_timeout_s"] = "0";
  }
  CHECK_FALSE(PlanFromJson(json).ok());
}

// --parallelism is how many actions may run at once, never an order: the restarts' chain holds.
TEST_CASE("apply with a high parallelism never has two restarts running at once, and keeps the order") {
  Topology t = LabTopology(4);
  Plan plan = MustPlan(t, HandBuilt(t));
  REQUIRE(Restarts(plan) == std::vector<std::string>{"uranus", "venus", "mars", "mercury"});

  class Executor : public ActionExecutor {
   public:
    Status Execute(const Action& action, const ProgressFn&) override {
      if (action.kind != ActionKind::kRestartServer) return Status::OK();
      int now = ++down_;
      {
        std::lock_guard<std::mutex> lock(mu_);
        max_down_ = std::max(max_down_, now);
        order_.push_back(action.host);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(30));  // long enough for a second one to start
      --down_;
      return Status::OK();
    }
    std::atomic<int> down_{0};
    std::mutex mu_;
    int max_down_ = 0;
    std::vector<std::string> order_;
  } executor;
  ApplyReport report = ApplyPlan(plan, executor, 16, nullptr);
  CHECK(report.ok());
  CHECK(executor.max_down_ == 1);
  CHECK(executor.order_ == std::vector<std::string>{"uranus", "venus", "mars", "mercury"});
}

TEST_CASE("a replica restart that fails (no catch-up in time) leaves every later restart unattempted") {
  Topology t = LabTopology(3);
  Plan plan = MustPlan(t, HandBuilt(t));
  class Executor : public ActionExecutor {
   public:
    Status Execute(const Action& action, const ProgressFn&) override {
      if (action.id == "uranus/restart-server") return Status::Unavailable("uranus did not catch up");
      return Status::OK();
    }
  } executor;
  ApplyReport report = ApplyPlan(plan, executor, 16, nullptr);
  for (const ActionOutcome& o : report.outcomes) {
    if (o.id == "venus/restart-server" || o.id == "mercury/restart-server") {
      CHECK(o.state == ActionOutcome::State::kNotAttempted);
    }
  }
}

TEST_CASE("on_next_restart: a deferred setting alone plans no restart, a note says when it applies") {
  Topology t = LabTopology(3);
  t.cluster.on_next_restart = {"report_host"};
  LiveState live = InSyncLive(t);
  for (const ServerSpec& spec : t.servers) live.servers[spec.name].report_host = spec.address;
  Plan plan = MustPlan(t, live);
  CHECK(Restarts(plan).empty());
  CHECK_FALSE(plan.has_changes());
  bool noted = false;
  for (const HostReport& h : plan.hosts) {
    noted = noted || AnyContains(h.notes, "report_host applies at next restart (on_next_restart in [cluster]");
  }
  CHECK(noted);

  // With a setting that needs a restart anyway, the deferred one comes along in it.
  live.servers["uranus"].log_slave_updates = false;
  Plan both = MustPlan(t, live);
  REQUIRE(Restarts(both) == std::vector<std::string>{"uranus"});
  CHECK(Find(both, "uranus/restart-server").action.Args<RestartServerArgs>().settings ==
        std::vector<std::string>{"log_slave_updates", "report_host"});
}

TEST_CASE("a serving primary's restart is a switchover to the least lagging replica and back, said in the plan") {
  Topology t = LabTopology(3);
  LiveState live = HandBuilt(t);
  live.servers["uranus"].channels[0].seconds_behind = 3;
  live.servers["venus"].channels[0].seconds_behind = 0;
  Plan plan = MustPlan(t, live);
  const Action& p = Find(plan, "mercury/restart-server").action;
  CHECK(p.Args<RestartServerArgs>().switchover_to == "venus");
  CHECK(p.summary == "restart mercury as a replica to apply log_slave_updates, report_host: switch over to venus, "
                     "restart mercury, switch back to mercury");
  CHECK(AnyContains(p.reasons, "venus is the most caught-up replica (0 s behind)"));
  CHECK(RenderParams(p.args).at("switchover_to") == "venus");
  auto back = PlanFromJson(PlanToJson(plan));
  REQUIRE(back.ok());
  CHECK(Find(*back, "mercury/restart-server").action.Args<RestartServerArgs>().switchover_to == "venus");

  // A replica without log_slave_updates whose config cannot be read gets no restart that would
  // give it one: the switchover would refuse it.
  live.servers["venus"].ssh_ok = false;
  live.servers["venus"].ssh_error = "connection refused";
  CHECK(Find(MustPlan(t, live), "mercury/restart-server").action.Args<RestartServerArgs>().switchover_to == "uranus");
  live.servers["venus"].ssh_ok = true;

  // promotion = "never" is never the candidate.
  t.servers[2].promotion = Promotion::kNever;
  CHECK(Find(MustPlan(t, live), "mercury/restart-server").action.Args<RestartServerArgs>().switchover_to == "uranus");
}

TEST_CASE("a primary no replica can take over from is restarted in place, and the plan says why") {
  Topology t = LabTopology(2);
  t.servers[1].promotion = Promotion::kNever;
  LiveState live = HandBuilt(t);
  Plan plan = MustPlan(t, live);
  const Action& p = Find(plan, "mercury/restart-server").action;
  CHECK(p.Args<RestartServerArgs>().switchover_to.empty());
  CHECK(AnyContains(p.reasons, "restarted in place: no replica can take over for the restart"));
}

TEST_CASE("primary_restart = \"stay\": the replica stays the primary, said in the plan and kept by a saved plan") {
  Topology t = LabTopology(3);
  t.cluster.primary_restart_switch_back = false;
  Plan plan = MustPlan(t, HandBuilt(t));
  const Action& p = Find(plan, "mercury/restart-server").action;
  CHECK(p.Args<RestartServerArgs>().switchover_to == "uranus");
  CHECK_FALSE(p.Args<RestartServerArgs>().switch_back);
  CHECK(p.summary.find("uranus stays the primary (primary_restart = \"stay\": lab.toml is rewritten to name it)") !=
        std::string::npos);
  CHECK(RenderParams(p.args).at("switch_back") == "no");
  auto back = PlanFromJson(PlanToJson(plan));
  REQUIRE(back.ok());
  CHECK_FALSE(Find(*back, "mercury/restart-server").action.Args<RestartServerArgs>().switch_back);
  // The default switches back and says nothing of it in params.
  t.cluster.primary_restart_switch_back = true;
  CHECK(RenderParams(Find(MustPlan(t, HandBuilt(t)), "mercury/restart-server").action.args).count("switch_back") == 0);
}

}  // namespace
}  // namespace replplan
