// A saved plan against the topology file apply reads (engine/plan_check.h): every plan the planner
// makes fits the file it was made from, survives the trip through JSON with the same typed args,
// and each way an edited plan or a changed file no longer fits is named, once, with the action.
#include "engine/plan_check.h"

#include <doctest/doctest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

#include "engine/planner.h"
#include "engine/planner_fixtures.h"

namespace replplan {
namespace {

using testing::FreshLive;
using testing::InSyncLive;
using testing::LabTopology;

struct Scenario {
  std::string name;
  Topology topology;
  LiveState live;
  PlanOptions options;
};

const char* const kDatabaseYml =
    "production:\n"
    "  adapter: mysql2\n"
    "  host: 127.0.0.61\n"
    "  port: 3306\n"
    "  database: secondhand_production\n";

// Plans that between them hold every kind of action (checked below).
std::vector<Scenario> Scenarios() {
  std::vector<Scenario> out;
  {
    Topology t = LabTopology(3);
    out.push_back({"fresh", t, FreshLive(t), {}});
  }
  {
    Topology t = testing::WithApp(LabTopology(3), {"mercury", "uranus"}, "http://127.0.0.61:3000/up");
    LiveState live = InSyncLive(t);
    testing::GiveApp(live, "mercury", kDatabaseYml);
    testing::GiveApp(live, "uranus", kDatabaseYml);
    t.cluster.primary = "uranus";
    out.push_back({"switchover with an app", t, live, {}});
  }
  {
    Topology t = LabTopology(3);
    LiveState live = InSyncLive(t);
    live.servers["mercury"].sql_ok = false;
    live.servers["mercury"].sql_error = "cannot connect";
    live.servers["uranus"].channels[0].io_running = "Connecting";
    live.servers["uranus"].channels[0].gtid_io_pos = "0-1-45";
    t.cluster.primary = "uranus";
    out.push_back({"failover", t, live, PlanOptions{"mercury", ""}});
  }
  {
    Topology t = LabTopology(2);
    LiveState live = InSyncLive(t);
    for (auto& u : live.servers["mercury"].users) {
      if (u.name == "repl") u.grants = {"GRANT USAGE ON *.* TO `repl`@`%`"};
      if (u.name == "pierre") u.grants = {"GRANT USAGE ON *.* TO `pierre`@`%`"};
    }
    ReplicaChannel c = testing::HealthyChannel(t.servers[1]);
    c.source_host = "127.0.0.99";
    live.servers["mercury"].channels.push_back(c);
    out.push_back({"grants and a stray channel", t, live, {}});
  }
  {
    // Semi-sync turned on while every server runs the other failover settings already.
    Topology t = LabTopology(3);
    LiveState live = InSyncLive(t);
    testing::RunFailoverDefaults(live);
    t.replication.semi_sync = true;
    t.replication.semi_sync_timeout_ms = 2000;
    out.push_back({"semi-sync on", t, live, {}});
  }
  {
    Topology t = LabTopology(2);
    t.replication.mode = ReplicationMode::kFile;
    out.push_back({"file/position", t, FreshLive(t), {}});
  }
  {
    // venus wrote 0-3-43..0-3-44 itself; the file chooses empty transactions on the primary.
    Topology t = LabTopology(3);
    t.cluster.errant_transactions = ErrantRemedy::kInjectEmpty;
    LiveState live = InSyncLive(t);
    live.servers["venus"].gtid_binlog_pos = "0-3-44";
    live.servers["venus"].gtid_current_pos = "0-3-44";
    out.push_back({"errant transactions, inject-empty", t, live, {}});
  }
  {
    // 1062 with on_data_error = "skip": skip-transaction of the GTID the relay log names.
    Topology t = LabTopology(2);
    t.cluster.on_data_error = DataErrorRemedy::kSkip;
    LiveState live = InSyncLive(t);
    live.servers["uranus"].gtid_slave_pos = "0-1-6";
    live.servers["uranus"].failed_gtid = "0-1-7";
    live.servers["uranus"].channels[0].sql_running = false;
    live.servers["uranus"].channels[0].last_sql_errno = 1062;
    out.push_back({"a skipped transaction", t, live, {}});
  }
  {
    // 1201 in file/position mode: change-source at the executed coordinates (position "at").
    Topology t = LabTopology(2);
    t.replication.mode = ReplicationMode::kFile;
    LiveState live = InSyncLive(t);
    ReplicaChannel& c = testing::StoppedFileChannel(live, "uranus");
    c.last_sql_errno = 1201;
    c.relay_source_log_file = "mysql-bin.000001";
    c.exec_source_log_pos = 1234;
    out.push_back({"file/position 1201", t, live, {}});
  }
  {
    // A Debian layout: bind-address set (wrong) in a file config_file includes, edited there.
    Topology t = LabTopology(2);
    LiveState live = InSyncLive(t);
    live.servers["uranus"].config["bind_address"] = "127.0.0.1";
    live.servers["uranus"].config_origin["bind_address"] = {"/etc/mysql/mariadb.conf.d/50-server.cnf", 28};
    out.push_back({"a key in an included file", t, live, {}});
  }
  return out;
}

Plan MustPlan(const Scenario& s) {
  auto plan = BuildPlan(s.topology, s.live, s.options);
  REQUIRE_MESSAGE(plan.ok(), plan.status().message());
  return std::move(plan).value();
}

Action& Get(Plan& plan, const std::string& id) {
  for (auto& pa : plan.actions) {
    if (pa.action.id == id) return pa.action;
  }
  FAIL("no action " << id);
  throw 0;
}

std::string Problems(const Plan& plan, const Topology& t) {
  Status status = CheckPlanAgainstTopology(plan, t);
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == Status::Code::kFailedPrecondition);
  return status.message();
}

template <typename T, typename Edit>
void EditArgs(Plan& plan, const std::string& id, Edit edit) {
  Action& a = Get(plan, id);
  T args = a.Args<T>();
  edit(args);
  a.SetArgs(args);
}

TEST_CASE("every plan the planner makes fits its file and reads back from JSON with the same args") {
  std::set<ActionKind> kinds;
  for (const Scenario& s : Scenarios()) {
    CAPTURE(s.name);
    Plan plan = MustPlan(s);
    Status fits = CheckPlanAgainstTopology(plan, s.topology);
    CHECK_MESSAGE(fits.ok(), fits.message());
    Result<Plan> back = PlanFromJson(PlanToJson(plan));
    REQUIRE_MESSAGE(back.ok(), back.status().message());
    REQUIRE(back->actions.size() == plan.actions.size());
    for (size_t i = 0; i < plan.actions.size(); ++i) {
      const Action& a = plan.actions[i].action;
      CAPTURE(a.id);
      kinds.insert(a.kind);
      CHECK(KindOf(a.args) == a.kind);
      CHECK(back->actions[i].action.args == a.args);
      if (a.kind == ActionKind::kSetGlobal) {
        // Every value set-global shows as a change is in its args, and nothing else.
        std::map<std::string, std::string> shown;
        for (const Change& c : a.changes) shown[c.key] = c.to;
        CHECK(RenderParams(a.args) == shown);
      }
    }
    CHECK(CheckPlanAgainstTopology(*back, s.topology).ok());
  }
  CHECK(kinds.size() == ActionKindNames().size());  // the scenarios cover every kind
}

TEST_CASE("inject-empty-transactions: off the primary, for an unknown replica, or past the bound is stale") {
  std::vector<Scenario> all = Scenarios();
  auto found = std::find_if(all.begin(), all.end(),
                           [](const Scenario& x) { return x.name == std::string("errant transactions, inject-empty"); });
  REQUIRE(found != all.end());
  Scenario s = *found;
  Plan plan = MustPlan(s);
  const std::string id = "mercury/inject-empty-transactions/venus";
  EditArgs<InjectEmptyTransactionsArgs>(plan, id, [](auto& a) { a.replica = "pluto"; });
  CHECK(Problems(plan, s.topology) == "stale plan: " + id + " has no valid replica server ('pluto') (plan again)");
  EditArgs<InjectEmptyTransactionsArgs>(plan, id, [](auto& a) {
    a.replica = "venus";
    a.gtids = {{0, 3, 1, kMaxInjectedTransactions + 1}};
  });
  CHECK(Problems(plan, s.topology) == "stale plan: " + id + " injects 10001 empty transactions (1..10000 allowed) (plan again)");
  EditArgs<InjectEmptyTransactionsArgs>(plan, id, [](auto& a) { a.gtids = {{0, 3, 43, 44}, {0, 3, 45, 45}}; });
  CHECK(Problems(plan, s.topology) == "stale plan: " + id + " names domain 0 twice (plan again)");
  Plan moved = MustPlan(s);
  Get(moved, id).host = "uranus";
  CHECK(Problems(moved, s.topology).find("runs on uranus, but lab.toml makes mercury the primary") != std::string::npos);
}

TEST_CASE("a saved plan that makes a replica writable is stale however its digests read (issue 11)") {
  Scenario s = Scenarios()[0];
  Plan plan = MustPlan(s);
  // Fresh servers get read_only from their files after the restart, so the replica has no
  // set-global: one is added by hand, as the attacker would.
  PlannedAction forged;
  forged.action.id = "venus/set-global";
  forged.action.host = "venus";
  SetGlobalArgs writable;
  writable.read_only = false;
  forged.action.SetArgs(writable);
  plan.actions.push_back(forged);
  CHECK(Problems(plan, s.topology) ==
        "stale plan: venus/set-global sets read_only=OFF, but lab.toml gives venus read_only=ON (plan again)");
}

TEST_CASE("set-global values other than the file's are each named") {
  Scenario s = Scenarios()[4];
  Plan plan = MustPlan(s);
  EditArgs<SetGlobalArgs>(plan, "uranus/set-global", [](SetGlobalArgs& a) {
    a.rpl_semi_sync_master_timeout = 5;
    a.rpl_semi_sync_master_enabled = true;  // on a replica
  });
  CHECK(Problems(plan, s.topology) ==
        "stale plan: uranus/set-global sets rpl_semi_sync_master_enabled=ON, but lab.toml gives uranus "
        "rpl_semi_sync_master_enabled=OFF (plan again)\n"
        "stale plan: uranus/set-global sets rpl_semi_sync_master_timeout=5, but lab.toml gives uranus "
        "rpl_semi_sync_master_timeout=2000 (plan again)");
  s.topology.replication.semi_sync = false;
  plan = MustPlan(s);
  EditArgs<SetGlobalArgs>(plan, "uranus/set-global", [](SetGlobalArgs& a) { a.rpl_semi_sync_master_wait_point = "AFTER_SYNC"; });
  CHECK(Problems(plan, s.topology) ==
        "stale plan: uranus/set-global sets rpl_semi_sync_master_wait_point, which lab.toml does not set on uranus "
        "(plan again)");
}

TEST_CASE("a plan made from an earlier version of the file is stale in every action the change touches") {
  Scenario s = Scenarios()[0];
  Plan plan = MustPlan(s);
  Topology changed = s.topology;
  changed.servers[1].config_file = "/etc/mysql/mariadb.cnf";  // uranus
  changed.replication.user = "replicator";
  changed.databases[0].charset = "latin1";
  CHECK(Problems(plan, changed) ==
        "stale plan: mercury/create-replication-user is not for the replication account 'replicator'@'%' (plan again)\n"
        "stale plan: mercury/create-database/secondhand_production creates secondhand_production with utf8mb4/(none), "
        "the topology says latin1/(none) (plan again)\n"
        "stale plan: uranus/edit-config edits /LAB/hosts/uranus/my.cnf, but uranus's config_file is "
        "/etc/mysql/mariadb.cnf (plan again)\n"
        "stale plan: uranus/create-replication-user is not for the replication account 'replicator'@'%' (plan again)\n"
        "stale plan: venus/create-replication-user is not for the replication account 'replicator'@'%' (plan again)");

  Topology moved = s.topology;
  moved.cluster.primary = "uranus";
  std::string problems = Problems(plan, moved);
  CHECK(problems.find("stale plan: its primary is 'mercury', lab.toml says 'uranus' (plan again)") == 0);
  CHECK(problems.find("stale plan: uranus/seed-replica runs on uranus, which lab.toml makes the primary") !=
        std::string::npos);
  CHECK(problems.find("stale plan: venus/change-source names source mercury, but lab.toml makes uranus the primary") !=
        std::string::npos);
}

TEST_CASE("edit-config: a key the file does not manage or a value it does not give is stale") {
  Scenario s = Scenarios()[0];
  Plan plan = MustPlan(s);
  Action& edit = Get(plan, "mercury/edit-config");
  edit.changes.push_back({"datadir", "", "/tmp", false});
  for (Change& c : edit.changes) {
    if (c.key == "server_id") c.to = "99";
  }
  CHECK(Problems(plan, s.topology) ==
        "stale plan: mercury/edit-config sets server_id = 99, but the topology wants 1 (plan again)\n"
        "stale plan: mercury/edit-config sets 'datadir', which replplan does not manage (plan again)");
}

TEST_CASE("edit-config: an included file for a key the action does not change is stale; a saved one reads back") {
  Scenario s = Scenarios().back();
  REQUIRE(s.name == "a key in an included file");
  Plan plan = MustPlan(s);
  const Action& edit = Get(plan, "uranus/edit-config");
  CHECK(edit.Args<EditConfigArgs>().files ==
        std::map<std::string, std::string>{{"bind_address", "/etc/mysql/mariadb.conf.d/50-server.cnf"}});
  CHECK(RenderParams(edit.args).at("file.bind_address") == "/etc/mysql/mariadb.conf.d/50-server.cnf");
  EditArgs<EditConfigArgs>(plan, "uranus/edit-config",
                           [](EditConfigArgs& a) { a.files["server_id"] = "/etc/mysql/conf.d/x.cnf"; });
  CHECK(Problems(plan, s.topology) ==
        "stale plan: uranus/edit-config edits server_id in /etc/mysql/conf.d/x.cnf, but changes no server_id (plan again)");

  // A saved plan's file must be an absolute path.
  nlohmann::json doc = PlanToJson(MustPlan(s));
  for (auto& action : doc["actions"]) {
    if (action["id"] == "uranus/edit-config") action["params"]["file.bind_address"] = "50-server.cnf";
  }
  Result<Plan> back = PlanFromJson(doc);
  REQUIRE_FALSE(back.ok());
  CHECK(back.status().message().find("'50-server.cnf' is not an absolute path (in uranus/edit-config)") != std::string::npos);
}

TEST_CASE("change-source: another mode, a GTID choice of the other mode, a rejoin without slave_pos") {
  Scenario s = Scenarios()[0];
  Plan plan = MustPlan(s);
  EditArgs<ChangeSourceArgs>(plan, "uranus/change-source", [](ChangeSourceArgs& a) { a.mode = ReplicationMode::kFile; });
  EditArgs<ChangeSourceArgs>(plan, "venus/change-source", [](ChangeSourceArgs& a) {
    a.use_gtid = UseGtid::kCurrentPos;
    a.position = StartPosition::kFromBinlog;
  });
  CHECK(Problems(plan, s.topology) ==
        "stale plan: uranus/change-source is for file replication, the topology says gtid (plan again)\n"
        "stale plan: venus/change-source rejoins from its binlog without MASTER_USE_GTID=slave_pos (plan again)");
  plan = MustPlan(s);
  EditArgs<ChangeSourceArgs>(plan, "uranus/change-source", [](ChangeSourceArgs& a) { a.use_gtid = UseGtid::kNo; });
  CHECK(Problems(plan, s.topology) ==
        "stale plan: uranus/change-source has use_gtid no for gtid replication (plan again)");
}

TEST_CASE("accounts: a grant the file does not give, an undeclared user, the replication account's grant") {
  Scenario s = Scenarios()[3];
  Plan plan = MustPlan(s);
  EditArgs<GrantPrivilegesArgs>(plan, "mercury/grant-privileges/pierre@%",
                                [](GrantPrivilegesArgs& a) { a.grants.push_back("ALL PRIVILEGES ON *.*"); });
  EditArgs<GrantPrivilegesArgs>(plan, "mercury/grant-privileges/repl@%", [](GrantPrivilegesArgs& a) { a.binlog_off = false; });
  CHECK(Problems(plan, s.topology) ==
        "stale plan: mercury/grant-privileges/repl@% grants REPLICATION SLAVE ON *.* with binary logging on, the "
        "replication account gets REPLICATION SLAVE ON *.* with binary logging off (plan again)\n"
        "stale plan: mercury/grant-privileges/pierre@% grants 'ALL PRIVILEGES ON *.*', which the topology does not "
        "give 'pierre'@'%' (plan again)");
  Topology without = s.topology;
  without.users.clear();
  plan = MustPlan(s);
  CHECK(Problems(plan, without) ==
        "stale plan: mercury/grant-privileges/pierre@% names an account the topology does not declare (plan again)");
}

TEST_CASE("promotion and app steps: the file's primary, another server, an app on that host with a health URL") {
  Scenario s = Scenarios()[1];
  Plan plan = MustPlan(s);
  Status fits = CheckPlanAgainstTopology(plan, s.topology);
  REQUIRE_MESSAGE(fits.ok(), fits.message());
  EditArgs<PromoteReplicaArgs>(plan, "uranus/promote-replica", [](PromoteReplicaArgs& a) { a.source = "uranus"; });
  EditArgs<WaitForCatchUpArgs>(plan, "uranus/wait-for-catch-up", [](WaitForCatchUpArgs& a) { a.timeout_s = 3600; });
  EditArgs<RewriteAppConfigArgs>(plan, "mercury/rewrite-app-config/secondhand",
                                 [](RewriteAppConfigArgs& a) { a.primary = "mercury"; });
  Get(plan, "uranus/restart-app/secondhand").host = "venus";
  Topology no_health = s.topology;
  no_health.apps[0].health = "";
  CHECK(Problems(plan, no_health) ==
        "stale plan: uranus/wait-for-catch-up waits 3600 s, the topology's switchover_max_lag gives 10 s (plan again)\n"
        "stale plan: uranus/promote-replica has no valid source server ('uranus') (plan again)\n"
        "stale plan: mercury/rewrite-app-config/secondhand names primary mercury, but lab.toml makes uranus the "
        "primary (plan again)\n"
        "stale plan: uranus/restart-app/secondhand names app secondhand, which does not run on venus (plan again)\n"
        "stale plan: mercury/check-health/secondhand checks app secondhand, which has no health URL (plan again)");
}

TEST_CASE("an action on a host the file does not have is stale") {
  Scenario s = Scenarios()[0];
  Plan plan = MustPlan(s);
  Topology two = s.topology;
  two.servers.pop_back();  // venus
  std::string problems = Problems(plan, two);
  CHECK(problems.find("stale plan: venus/edit-config runs on venus, not a server of lab.toml (plan again)") !=
        std::string::npos);
}

}  // namespace
}  // namespace replplan
