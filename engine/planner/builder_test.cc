#include "engine/planner/builder.h"

#include <doctest/doctest.h>

namespace replplan::planner {
namespace {

TEST_CASE("an action's id is its host, its kind and its object") {
  CHECK(PlanBuilder::Id("uranus", ActionKind::kSeedReplica) == "uranus/seed-replica");
  CHECK(PlanBuilder::Id("mercury", ActionKind::kCreateUser, "pierre@%") == "mercury/create-user/pierre@%");
  Action a = PlanBuilder::Make("venus", ActionKind::kStartReplica);
  CHECK(a.id == "venus/start-replica");
  CHECK(a.host == "venus");
  CHECK(a.kind == ActionKind::kStartReplica);
  CHECK(std::holds_alternative<StartReplicaArgs>(a.args));
}

TEST_CASE("a host's actions enter the graph at Flush, in the order they were added, each in its slot") {
  PlanBuilder plan(2);
  plan.Add("mercury", ActionKind::kEditConfig);
  plan.Add("mercury", ActionKind::kCreateDatabase, "shop");
  CHECK(plan.graph().size() == 0);
  plan.Flush(0);
  plan.Add("uranus", ActionKind::kSetGlobal);
  plan.Add("uranus", ActionKind::kSetGlobal, "semi-sync", Slot::kSemiSyncOn);
  plan.Add("uranus", ActionKind::kGrantPrivileges, "repl@%", Slot::kReplicationGrant);
  plan.Add("uranus", ActionKind::kGrantPrivileges, "pierre@%");
  plan.Add("uranus", ActionKind::kResetReplica, "");
  plan.Add("uranus", ActionKind::kResetReplica, "other");
  plan.Flush(1);

  REQUIRE(plan.graph().size() == 8);
  CHECK(plan.graph().at(0).id == "mercury/edit-config");
  CHECK(plan.graph().at(1).id == "mercury/create-database/shop");
  CHECK(plan.graph().at(7).id == "uranus/reset-replica/other");
  const HostActions& mercury = plan.slots(0);
  CHECK(mercury.edit == 0);
  CHECK(mercury.objects == std::vector<size_t>{1});
  CHECK(mercury.set_global == kNone);
  const HostActions& uranus = plan.slots(1);
  CHECK(uranus.set_global == 2);
  CHECK(uranus.semi_sync_on == 3);
  CHECK(uranus.repl_grant == 4);
  CHECK(uranus.objects == std::vector<size_t>{5});
  CHECK(uranus.resets == std::vector<size_t>{6, 7});
  CHECK(uranus.edit == kNone);
}

TEST_CASE("app steps enter the graph at once and fill no host slot") {
  PlanBuilder plan(1);
  size_t restart = plan.AddNow(PlanBuilder::Make("mercury", ActionKind::kRestartApp, "shop"));
  CHECK(restart == 0);
  CHECK(plan.graph().at(0).id == "mercury/restart-app/shop");
  plan.Add("mercury", ActionKind::kStartReplica);
  plan.Flush(0);
  CHECK(plan.slots(0).start == 1);
}

TEST_CASE("a dependency on or of an action nobody planned links nothing") {
  PlanBuilder plan(1);
  size_t edit = plan.AddNow(PlanBuilder::Make("mercury", ActionKind::kEditConfig));
  size_t restart = plan.AddNow(PlanBuilder::Make("mercury", ActionKind::kRestartServer));
  plan.Depend(restart, {kNone, edit, kNone});
  plan.Depend(kNone, {edit, restart});
  plan.Depend(kNone, std::vector<size_t>{edit});
  CHECK(plan.graph().DependenciesOf(restart) == std::vector<size_t>{edit});
  CHECK(plan.graph().DependenciesOf(edit).empty());
}

TEST_CASE("the reports are one per server, in file order, handed over with the graph") {
  PlanBuilder plan(2);
  plan.report(1).name = "uranus";
  plan.report(0).name = "mercury";
  plan.report(1).notes.push_back("a note");
  auto [graph, reports] = std::move(plan).Release();
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].name == "mercury");
  CHECK(reports[1].name == "uranus");
  CHECK(reports[1].notes == std::vector<std::string>{"a note"});
  CHECK(graph.size() == 0);
}

}  // namespace
}  // namespace replplan::planner
