// The failover settings end to end on the pure side: read from canned SHOW rows, compared with the
// file, planned as SET GLOBAL (dynamic, no restart) and as a change-source for a heartbeat period.
#include <doctest/doctest.h>

#include <algorithm>

#include "engine/live_state.h"
#include "engine/planner.h"
#include "engine/planner_fixtures.h"

namespace replplan {
namespace {

using testing::FreshLive;
using testing::InSyncLive;
using testing::LabTopology;

Plan MustPlan(const Topology& t, const LiveState& live) {
  auto plan = BuildPlan(t, live);
  REQUIRE(plan.ok());
  return std::move(plan).value();
}

std::vector<std::string> Ids(const Plan& plan) { return testing::ActionIds(plan); }

size_t Position(const Plan& plan, const std::string& id) {
  for (size_t i = 0; i < plan.actions.size(); ++i) {
    if (plan.actions[i].action.id == id) return i;
  }
  return plan.actions.size();
}

const Action* Find(const Plan& plan, const std::string& id) {
  for (const auto& pa : plan.actions) {
    if (pa.action.id == id) return &pa.action;
  }
  return nullptr;
}

bool AnyContains(const std::vector<std::string>& lines, const std::string& needle) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

// A cluster in sync with the file that also runs the failover settings the file asks for.
LiveState InSyncWithFailoverSettings(const Topology& t) {
  LiveState live = InSyncLive(t);
  for (auto& [name, s] : live.servers) {
    s.slave_net_timeout = t.replication.slave_net_timeout;
    s.semi_sync_master_enabled = t.replication.semi_sync && name == t.cluster.primary;
    s.semi_sync_slave_enabled = t.replication.semi_sync;
    s.semi_sync_master_wait_point = t.replication.semi_sync ? "AFTER_SYNC" : "AFTER_COMMIT";
    s.semi_sync_master_timeout = t.replication.semi_sync ? t.replication.semi_sync_timeout_ms : 10000;
    for (ReplicaChannel& c : s.channels) c.heartbeat_period = t.replication.heartbeat_period;
  }
  return live;
}

TEST_CASE("SHOW GLOBAL VARIABLES and SHOW ALL SLAVES STATUS rows give the failover settings") {
  RawServerState raw;
  raw.name = "uranus";
  raw.sql_ok = true;
  raw.variables = {{"slave_net_timeout", "60"},
                   {"rpl_semi_sync_master_enabled", "OFF"},
                   {"rpl_semi_sync_slave_enabled", "ON"},
                   {"rpl_semi_sync_master_wait_point", "after_commit"},
                   {"rpl_semi_sync_master_timeout", "10000"}};
  raw.replica_status = {{{"Connection_name", ""}, {"Master_Host", "127.0.0.61"}, {"Slave_Heartbeat_Period", "30.000"}}};
  ServerState s = ParseServerState(raw);
  CHECK(s.slave_net_timeout == 60);
  CHECK(s.semi_sync_master_enabled == false);
  CHECK(s.semi_sync_slave_enabled == true);
  CHECK(s.semi_sync_master_wait_point == "AFTER_COMMIT");
  CHECK(s.semi_sync_master_timeout == 10000);
  REQUIRE(s.channels.size() == 1);
  CHECK(s.channels[0].heartbeat_period == doctest::Approx(30.0));

  // A server that does not report them (MySQL without the plugins): unknown, not OFF.
  raw.variables.clear();
  raw.replica_status[0].erase("Slave_Heartbeat_Period");
  ServerState bare = ParseServerState(raw);
  CHECK_FALSE(bare.slave_net_timeout.has_value());
  CHECK_FALSE(bare.semi_sync_master_enabled.has_value());
  CHECK(bare.semi_sync_master_wait_point.empty());
  CHECK(bare.channels[0].heartbeat_period < 0);
}

TEST_CASE("a cluster running the file's failover settings plans nothing") {
  Topology t = LabTopology(3);
  CHECK(Ids(MustPlan(t, InSyncWithFailoverSettings(t))).empty());
  t.replication.semi_sync = true;
  CHECK(Ids(MustPlan(t, InSyncWithFailoverSettings(t))).empty());
}

TEST_CASE("turning semi_sync on: the files and every running server, replicas restart their IO thread") {
  Topology t = LabTopology(2);
  LiveState live = InSyncWithFailoverSettings(t);  // running without semi-sync
  t.replication.semi_sync = true;
  t.replication.semi_sync_timeout_ms = 2000;
  Plan plan = MustPlan(t, live);
  CHECK(Ids(plan) == std::vector<std::string>{"mercury/edit-config", "mercury/set-global", "uranus/edit-config",
                                              "uranus/set-global", "mercury/set-global/semi-sync"});
  const Action* primary = Find(plan, "mercury/set-global");
  REQUIRE(primary != nullptr);
  const Action* semi_on = Find(plan, "mercury/set-global/semi-sync");
  REQUIRE(semi_on != nullptr);
  CHECK(RenderParams(semi_on->args).at("rpl_semi_sync_master_enabled") == "ON");
  CHECK(RenderParams(primary->args).count("rpl_semi_sync_master_enabled") == 0);
  CHECK(RenderParams(primary->args).at("rpl_semi_sync_slave_enabled") == "ON");
  CHECK(RenderParams(primary->args).at("rpl_semi_sync_master_wait_point") == "AFTER_SYNC");
  CHECK(RenderParams(primary->args).at("rpl_semi_sync_master_timeout") == "2000");
  CHECK(RenderParams(primary->args).count("read_only") == 0);
  CHECK(AnyContains(primary->reasons, "rpl_semi_sync_master_timeout is 10000, file wants 2000"));
  CHECK(AnyContains(semi_on->reasons, "rpl_semi_sync_master_enabled is OFF"));
  // The replicas turn their side on (and reconnect) first: no commit waits for an ACK meanwhile.
  CHECK(Position(plan, "uranus/set-global") < Position(plan, "mercury/set-global/semi-sync"));
  // The primary has no IO thread to restart; the replica has one running.
  CHECK(primary->summary.find("IO thread") == std::string::npos);
  const Action* replica = Find(plan, "uranus/set-global");
  REQUIRE(replica != nullptr);
  CHECK(RenderParams(replica->args).at("rpl_semi_sync_slave_enabled") == "ON");
  CHECK(replica->summary.find("restarts the replica IO thread") != std::string::npos);
  const Action* edit = Find(plan, "uranus/edit-config");
  REQUIRE(edit != nullptr);
  CHECK(edit->changes.size() == 3);  // the replica side, the wait point and the timeout
  // The primary side stays OFF in every file and on every replica: on a replica it would make each
  // commit of its SQL thread wait for an ACK that never comes.
  CHECK(RenderParams(replica->args).count("rpl_semi_sync_master_enabled") == 0);
  CHECK(Find(plan, "uranus/restart-server") == nullptr);  // all dynamic
}

TEST_CASE("turning semi_sync off sets both switches OFF at runtime: the file decides") {
  Topology t = LabTopology(2);
  t.replication.semi_sync = true;
  LiveState live = InSyncWithFailoverSettings(t);
  t.replication.semi_sync = false;
  Plan plan = MustPlan(t, live);
  const Action* primary = Find(plan, "mercury/set-global");
  REQUIRE(primary != nullptr);
  CHECK(RenderParams(primary->args).at("rpl_semi_sync_master_enabled") == "OFF");
  const Action* replica = Find(plan, "uranus/set-global");
  REQUIRE(replica != nullptr);
  CHECK(RenderParams(replica->args).at("rpl_semi_sync_slave_enabled") == "OFF");
  // Wait point and timeout only matter while semi-sync is on: left as they are.
  CHECK(RenderParams(replica->args).count("rpl_semi_sync_master_wait_point") == 0);
  CHECK(RenderParams(replica->args).count("rpl_semi_sync_master_timeout") == 0);
}

TEST_CASE("slave_net_timeout: a server running MariaDB's default 60 gets SET GLOBAL, not a restart") {
  Topology t = LabTopology(2);
  LiveState live = InSyncWithFailoverSettings(t);
  live.servers["mercury"].slave_net_timeout = 60;
  live.servers["mercury"].config["slave_net_timeout"] = "60";
  Plan plan = MustPlan(t, live);
  CHECK(Ids(plan) == std::vector<std::string>{"mercury/edit-config", "mercury/set-global"});
  const Action* set = Find(plan, "mercury/set-global");
  REQUIRE(set != nullptr);
  CHECK(RenderParams(set->args).at("slave_net_timeout") == "5");
  CHECK(AnyContains(set->reasons, "slave_net_timeout is 60, file wants 5"));
}

TEST_CASE("failover settings the server does not report are not planned at runtime") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);  // nothing reported: nullopt everywhere
  CHECK(Find(MustPlan(t, live), "mercury/set-global") == nullptr);
}

TEST_CASE("a fresh host gets its failover settings from the file and the restart, not from SET GLOBAL") {
  Topology t = LabTopology(2);
  t.replication.semi_sync = true;
  LiveState live = FreshLive(t);
  testing::RunFailoverDefaults(live);
  Plan plan = MustPlan(t, live);
  const Action* set = Find(plan, "mercury/set-global");
  REQUIRE(set != nullptr);
  CHECK(RenderParams(set->args).size() == 1);  // read_only
  // The primary side of semi-sync: only once the replica replicates, or the bootstrap's first
  // writes would each wait out the timeout for an ACK.
  const Action* semi_on = Find(plan, "mercury/set-global/semi-sync");
  REQUIRE(semi_on != nullptr);
  CHECK(RenderParams(semi_on->args).at("rpl_semi_sync_master_enabled") == "ON");
  auto deps = [&] {
    for (const auto& pa : plan.actions) {
      if (pa.action.id == "mercury/set-global/semi-sync") return pa.depends_on;
    }
    return std::vector<std::string>{};
  }();
  CHECK(std::find(deps.begin(), deps.end(), "uranus/start-replica") != deps.end());
  CHECK(std::find(deps.begin(), deps.end(), "mercury/create-database/secondhand_production") != deps.end());
  CHECK(Find(plan, "uranus/set-global") == nullptr);
  const Action* edit = Find(plan, "uranus/edit-config");
  REQUIRE(edit != nullptr);
  CHECK(std::any_of(edit->changes.begin(), edit->changes.end(),
                    [](const Change& c) { return c.key == "rpl_semi_sync_slave_enabled" && c.to == "ON"; }));
}

TEST_CASE("a replica whose heartbeat period differs from the file is repointed in place and restarted") {
  Topology t = LabTopology(3);
  LiveState live = InSyncWithFailoverSettings(t);
  live.servers["uranus"].channels[0].heartbeat_period = 30.0;  // MariaDB's default: slave_net_timeout / 2
  live.servers["venus"].channels[0].heartbeat_period = 1.0004;  // the same to the millisecond
  Plan plan = MustPlan(t, live);
  CHECK(Ids(plan) == std::vector<std::string>{"uranus/change-source", "uranus/start-replica"});
  const Action* change = Find(plan, "uranus/change-source");
  REQUIRE(change != nullptr);
  CHECK(AnyContains(change->reasons, "heartbeat period is 30.000 s, file wants 1.000 s"));
  CHECK(RenderParams(change->args).at("position") == "keep");
  CHECK(RenderParams(change->args).at("source") == "mercury");
}


TEST_CASE("the primary side of semi-sync runs on the primary only: a replica running it is turned off") {
  Topology t = LabTopology(2);
  t.replication.semi_sync = true;
  LiveState live = InSyncWithFailoverSettings(t);
  live.servers["uranus"].semi_sync_master_enabled = true;
  Plan plan = MustPlan(t, live);
  const Action* replica = Find(plan, "uranus/set-global");
  REQUIRE(replica != nullptr);
  CHECK(RenderParams(replica->args).at("rpl_semi_sync_master_enabled") == "OFF");
  CHECK(Find(plan, "mercury/set-global") == nullptr);
}

}  // namespace
}  // namespace replplan
