// apply's last check before it changes anything: is the plan computed under the lock the approved
// one, in everything the executor reads? (engine/plan_compare.h)
#include "engine/plan_compare.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "engine/planner.h"
#include "engine/planner_fixtures.h"

namespace replplan {
namespace {

using testing::FreshLive;
using testing::InSyncLive;
using testing::LabTopology;

Plan MustPlan(const Topology& t, const LiveState& live) {
  auto plan = BuildPlan(t, live);
  REQUIRE_MESSAGE(plan.ok(), plan.status().message());
  return std::move(plan).value();
}

PlannedAction& Get(Plan& plan, const std::string& id) {
  for (auto& pa : plan.actions) {
    if (pa.action.id == id) return pa;
  }
  FAIL("no action " << id);
  throw 0;
}

bool AnyContains(const std::vector<std::string>& lines, const std::string& needle) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

TEST_CASE("the same plan computed twice has no differences") {
  Topology t = LabTopology(3);
  CHECK(ActionDifferences(MustPlan(t, FreshLive(t)).actions, MustPlan(t, FreshLive(t)).actions).empty());
}

TEST_CASE("a switchover planned again after the app kept writing is the approved one") {
  Topology t = LabTopology(3);
  LiveState before = InSyncLive(t);
  t.cluster.primary = "uranus";
  Plan approved = MustPlan(t, before);
  LiveState later = before;
  for (auto& [name, s] : later.servers) {
    s.gtid_binlog_pos = "0-1-9000";
    s.gtid_current_pos = "0-1-9000";
    s.gtid_slave_pos = "0-1-8990";
    for (auto& c : s.channels) {
      c.gtid_io_pos = "0-1-9000";
      c.seconds_behind = 3;
    }
  }
  CHECK(ActionDifferences(approved.actions, MustPlan(t, later).actions).empty());
}

TEST_CASE("an action added to a saved plan is found, even one the fingerprint cannot see") {
  Topology t = LabTopology(3);
  Plan approved = MustPlan(t, FreshLive(t));
  Plan now = approved;
  PlannedAction promote;
  promote.action.id = "venus/promote-replica";
  promote.action.kind = ActionKind::kPromoteReplica;
  promote.action.host = "venus";
  approved.actions.push_back(promote);
  auto diff = ActionDifferences(approved.actions, now.actions);
  REQUIRE(diff.size() == 1);
  CHECK(diff[0] == "venus/promote-replica: approved, but not in the plan computed now");
}

TEST_CASE("an action the approved plan lacks is found") {
  Topology t = LabTopology(3);
  Plan now = MustPlan(t, FreshLive(t));
  Plan approved = now;
  approved.actions.erase(approved.actions.begin());
  auto diff = ActionDifferences(approved.actions, now.actions);
  REQUIRE(diff.size() == 1);
  CHECK(diff[0] == now.actions.front().action.id + ": in the plan computed now, but not approved");
}

TEST_CASE("edited params, host, kind, destructive mark, changed keys or dependencies are each found") {
  Topology t = LabTopology(3);
  const Plan now = MustPlan(t, FreshLive(t));
  const std::string seed = "uranus/seed-replica";

  Plan edited = now;
  Action& set = Get(edited, "mercury/set-global").action;
  SetGlobalArgs args = set.Args<SetGlobalArgs>();
  args.server_id = 999;
  set.SetArgs(args);
  CHECK(AnyContains(ActionDifferences(edited.actions, now.actions), "mercury/set-global: params"));
  CHECK(AnyContains(ActionDifferences(edited.actions, now.actions), "server_id=999"));

  edited = now;
  Get(edited, seed).action.host = "mercury";
  CHECK(AnyContains(ActionDifferences(edited.actions, now.actions), seed + ": host mercury approved, uranus now"));

  edited = now;
  Get(edited, seed).action.kind = ActionKind::kResetReplica;
  CHECK(AnyContains(ActionDifferences(edited.actions, now.actions), seed + ": kind reset-replica approved"));

  edited = now;
  Get(edited, seed).action.destructive = !Get(edited, seed).action.destructive;
  CHECK(AnyContains(ActionDifferences(edited.actions, now.actions), seed + ":"));

  edited = now;
  Get(edited, "mercury/edit-config").action.changes.push_back({"skip_grant_tables", "", "ON", false});
  CHECK(AnyContains(ActionDifferences(edited.actions, now.actions), "mercury/edit-config: changes"));

  edited = now;
  Get(edited, seed).depends_on.clear();
  CHECK(AnyContains(ActionDifferences(edited.actions, now.actions), seed + ": waits for (none) approved"));
}

TEST_CASE("explanatory text alone (summary, reasons, a change's from and to) is not a difference") {
  Topology t = LabTopology(3);
  const Plan now = MustPlan(t, FreshLive(t));
  Plan edited = now;
  for (auto& pa : edited.actions) {
    pa.action.summary += " (reviewed)";
    pa.action.reasons.push_back("reviewed by the on-call");
    for (auto& c : pa.action.changes) c.from = "?";
  }
  CHECK(ActionDifferences(edited.actions, now.actions).empty());
}

}  // namespace
}  // namespace replplan
