#include "engine/planner.h"
#include "engine/plan_check.h"

#include <doctest/doctest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "engine/planner_fixtures.h"

namespace doctest {
// So a failed comparison of action id lists shows the ids.
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& v) {
    std::string out = "{";
    for (const auto& s : v) out += "\"" + s + "\" ";
    return (out + "}").c_str();
  }
};
}  // namespace doctest

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

const PlannedAction* Find(const Plan& plan, const std::string& id) {
  for (const auto& pa : plan.actions) {
    if (pa.action.id == id) return &pa;
  }
  return nullptr;
}

bool Has(const Plan& plan, const std::string& id) { return Find(plan, id) != nullptr; }

const HostReport& Host(const Plan& plan, const std::string& name) {
  for (const auto& h : plan.hosts) {
    if (h.name == name) return h;
  }
  FAIL("no host " << name);
  throw 0;
}

bool DependsOn(const Plan& plan, const std::string& id, const std::string& before) {
  const PlannedAction* pa = Find(plan, id);
  REQUIRE(pa != nullptr);
  return std::find(pa->depends_on.begin(), pa->depends_on.end(), before) != pa->depends_on.end();
}

bool AnyContains(const std::vector<std::string>& lines, const std::string& needle) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

size_t Position(const Plan& plan, const std::string& id) {
  auto ids = Ids(plan);
  return static_cast<size_t>(std::find(ids.begin(), ids.end(), id) - ids.begin());
}

TEST_CASE("a fresh pair gets the full bootstrap, primary first, in dependency order") {
  Topology t = LabTopology(2);
  Plan plan = MustPlan(t, FreshLive(t));
  CHECK(Ids(plan) == std::vector<std::string>{
                         "mercury/edit-config", "mercury/restart-server", "mercury/set-global",
                         "mercury/create-replication-user", "mercury/create-database/secondhand_production",
                         "mercury/create-user/pierre@%", "uranus/edit-config", "uranus/restart-server",
                         "uranus/create-replication-user", "uranus/seed-replica",
                         "uranus/change-source", "uranus/start-replica"});
  CHECK(plan.hosts_changed() == 2);
  CHECK_FALSE(plan.incomplete());
}

TEST_CASE("every server's config_file gets read_only=ON, only the primary is made writable at runtime") {
  Topology t = LabTopology(2);
  Plan plan = MustPlan(t, FreshLive(t));
  for (const std::string host : {"mercury", "uranus"}) {
    const Action& edit = Find(plan, host + "/edit-config")->action;
    CHECK(edit.changes.size() == 10);  // bind_address is already right on a fresh host
    bool read_only_on = std::any_of(edit.changes.begin(), edit.changes.end(),
                                    [](const Change& c) { return c.key == "read_only" && c.to == "ON"; });
    CHECK(read_only_on);
  }
  const Action& primary_set = Find(plan, "mercury/set-global")->action;
  REQUIRE(primary_set.changes.size() == 1);
  CHECK(primary_set.changes[0].key == "read_only");
  CHECK(primary_set.changes[0].from == "ON");
  CHECK(primary_set.changes[0].to == "OFF");
  CHECK(RenderParams(primary_set.args).at("read_only") == "OFF");
}

TEST_CASE("a fresh replica restarted from the fixed file needs no SET GLOBAL beyond read_only") {
  Topology t = LabTopology(2);
  Plan plan = MustPlan(t, FreshLive(t));
  // uranus runs read_only=ON after its restart, which is what a replica wants; only server_id,
  // binlog_format and gtid_strict_mode came from the file too.
  const PlannedAction* set = Find(plan, "uranus/set-global");
  CHECK(set == nullptr);
}

TEST_CASE("reasons are in operator words") {
  Topology t = LabTopology(2);
  Plan plan = MustPlan(t, FreshLive(t));
  const Action& edit = Find(plan, "mercury/edit-config")->action;
  CHECK(AnyContains(edit.reasons, "config_file lacks server_id, log_bin, binlog_format, log_slave_updates, "
                                  "read_only, report_host, gtid_strict_mode"));
  const Action& restart = Find(plan, "mercury/restart-server")->action;
  CHECK(restart.summary == "restart mercury to apply log_bin, log_slave_updates, report_host");
  CHECK(AnyContains(restart.reasons, "log_bin is OFF, file wants /LAB/hosts/mercury/binlog/mysql-bin.log"));
}

TEST_CASE("dependencies: restart after edit, seed after the primary and the replica are ready") {
  Topology t = LabTopology(2);
  Plan plan = MustPlan(t, FreshLive(t));
  CHECK(DependsOn(plan, "mercury/restart-server", "mercury/edit-config"));
  CHECK(DependsOn(plan, "mercury/set-global", "mercury/restart-server"));
  CHECK(DependsOn(plan, "mercury/create-replication-user", "mercury/restart-server"));
  CHECK(DependsOn(plan, "mercury/create-database/secondhand_production", "mercury/set-global"));
  for (const std::string before : {"mercury/edit-config", "mercury/restart-server", "mercury/set-global",
                                   "mercury/create-database/secondhand_production", "mercury/create-user/pierre@%",
                                   "uranus/restart-server"}) {
    CHECK(DependsOn(plan, "uranus/seed-replica", before));
  }
  CHECK(DependsOn(plan, "uranus/change-source", "uranus/seed-replica"));
  CHECK(DependsOn(plan, "uranus/change-source", "mercury/create-replication-user"));
  CHECK(DependsOn(plan, "uranus/start-replica", "uranus/change-source"));
}

TEST_CASE("the plan order is valid whatever the file order: a primary listed last still goes first") {
  Topology t = LabTopology(3);
  t.cluster.primary = "venus";
  Plan plan = MustPlan(t, FreshLive(t));
  CHECK(Position(plan, "venus/create-database/secondhand_production") < Position(plan, "mercury/seed-replica"));
  CHECK(Position(plan, "venus/create-replication-user") < Position(plan, "uranus/change-source"));
  // Independent work keeps file order: mercury's config edit comes before venus's.
  CHECK(Position(plan, "mercury/edit-config") < Position(plan, "venus/edit-config"));
  for (const auto& pa : plan.actions) {
    for (const auto& dep : pa.depends_on) CHECK(Position(plan, dep) < Position(plan, pa.action.id));
  }
}

TEST_CASE("a cluster in sync needs no changes") {
  Topology t = LabTopology(3);
  Plan plan = MustPlan(t, InSyncLive(t));
  CHECK(Ids(plan).empty());
  CHECK_FALSE(plan.has_changes());
  CHECK_FALSE(plan.incomplete());
}

TEST_CASE("config values are compared as MariaDB reads them: 1 == ON, bare key == ON, row == ROW") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  auto& cfg = live.servers["uranus"].config;
  cfg["log_slave_updates"] = "";
  cfg["read_only"] = "1";
  cfg["gtid_strict_mode"] = "true";
  cfg["binlog_format"] = "row";
  cfg["server_id"] = "02";
  Plan plan = MustPlan(t, live);
  CHECK(Ids(plan).empty());
}

TEST_CASE("a config value that differs is named with both values") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  live.servers["uranus"].config["read_only"] = "OFF";
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"uranus/edit-config"});
  const Action& edit = plan.actions[0].action;
  REQUIRE(edit.changes.size() == 1);
  CHECK(edit.changes[0].from == "OFF");
  CHECK(edit.changes[0].to == "ON");
  CHECK(AnyContains(edit.reasons, "config_file has read_only = OFF, file wants ON"));
}

TEST_CASE("a relative log_bin lives in the datadir: in sync, nothing is planned; elsewhere, a restart") {
  Topology t = LabTopology(2);
  for (ServerSpec& spec : t.servers) spec.log_bin = "mysql-bin";
  LiveState live = InSyncLive(t);
  REQUIRE(live.servers["uranus"].log_bin_basename == "/LAB/hosts/uranus/data/mysql-bin");
  REQUIRE(live.servers["uranus"].config["log_bin"] == "mysql-bin");
  CHECK(Ids(MustPlan(t, live)).empty());

  // "mysql-bin.log" names the same files (MariaDB drops the extension); the file says it as written.
  t.servers[1].log_bin = "mysql-bin.log";
  live.servers["uranus"].config["log_bin"] = "mysql-bin.log";
  CHECK(Ids(MustPlan(t, live)).empty());

  // Without @@datadir, the running basename's tail still tells.
  live.servers["uranus"].datadir = "";
  CHECK(Ids(MustPlan(t, live)).empty());

  // The same basename in another directory is another binlog: a restart, naming the datadir's path.
  live.servers["uranus"].datadir = "/LAB/hosts/uranus/data/";
  live.servers["uranus"].log_bin_basename = "/var/log/mysql/mysql-bin";
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"uranus/restart-server"});
  CHECK(plan.actions[0].action.Args<RestartServerArgs>().settings == std::vector<std::string>{"log_bin"});
  CHECK(AnyContains(plan.actions[0].action.reasons, "log_bin=mysql-bin.log but the server runs with "
                                                    "log_bin_basename=/var/log/mysql/mysql-bin (restart pending)"));
}

TEST_CASE("a key set in an included file: its value and file in the plan, edited there; others go to config_file") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  ServerState& uranus = live.servers["uranus"];
  const std::string server_cnf = "/etc/mysql/mariadb.conf.d/50-server.cnf";
  uranus.config_files = {t.servers[1].config_file, "/etc/mysql/conf.d/mysql.cnf", server_cnf};
  uranus.config["bind_address"] = "127.0.0.1";
  uranus.config_origin["bind_address"] = {server_cnf, 28};
  uranus.bind_address = "127.0.0.1";
  uranus.config.erase("report_host");
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"uranus/edit-config", "uranus/restart-server"});
  const Action& edit = plan.actions[0].action;
  CHECK(edit.summary == "set 1 key in /LAB/hosts/uranus/my.cnf and 1 in " + server_cnf);
  REQUIRE(edit.changes.size() == 2);
  CHECK(edit.changes[0].key == "bind_address");
  CHECK(edit.changes[0].from == "127.0.0.1");  // the value the server reads, not "(absent)"
  CHECK(edit.changes[1].key == "report_host");
  CHECK(edit.changes[1].from == "");
  CHECK(edit.Args<EditConfigArgs>().config_file == "/LAB/hosts/uranus/my.cnf");
  CHECK(edit.Args<EditConfigArgs>().files == std::map<std::string, std::string>{{"bind_address", server_cnf}});
  CHECK(edit.reasons == std::vector<std::string>{
                            "config_file lacks report_host (set in none of the files it includes either: added to config_file)",
                            server_cnf + ":28 has bind_address = 127.0.0.1, file wants 127.0.0.66"});

  // The included file already right, the server not restarted since: a pending restart, said with the file.
  uranus.config["bind_address"] = "127.0.0.66";
  uranus.config["report_host"] = "uranus";
  plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"uranus/restart-server"});
  CHECK(AnyContains(plan.actions[0].action.reasons,
                    server_cnf + ":28 has bind_address=127.0.0.66 but the server runs with bind_address=127.0.0.1 "
                                 "(restart pending)"));
}

TEST_CASE("includes that could not be followed are noted on the host") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  live.servers["uranus"].config_problems = {"/etc/mysql/my.cnf:4 includes /etc/x.cnf, which cannot be read: denied"};
  Plan plan = MustPlan(t, live);
  CHECK(Ids(plan).empty());
  CHECK(Host(plan, "uranus").notes == std::vector<std::string>{
                                          "the configuration may be incomplete: /etc/mysql/my.cnf:4 includes "
                                          "/etc/x.cnf, which cannot be read: denied"});
}

TEST_CASE("a right config_file with a wrong runtime is a pending restart, without edit") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  live.servers["uranus"].log_bin = false;
  live.servers["uranus"].log_bin_basename = "";
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"uranus/restart-server"});
  CHECK(plan.actions[0].depends_on.empty());
  CHECK(AnyContains(plan.actions[0].action.reasons,
                    "config_file has log_bin=/LAB/hosts/uranus/binlog/mysql-bin.log but the server runs without "
                    "it (restart pending)"));
}

TEST_CASE("log_bin_basename is compared without the extension MariaDB drops") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  CHECK(live.servers["mercury"].log_bin_basename == "/LAB/hosts/mercury/binlog/mysql-bin");
  live.servers["mercury"].log_bin_basename = "/var/lib/mysql/mariadb-bin";
  Plan plan = MustPlan(t, live);
  // The restarted primary comes up read-only from its file, so it is made writable again after.
  REQUIRE(Ids(plan) == std::vector<std::string>{"mercury/restart-server", "mercury/set-global"});
  CHECK(AnyContains(plan.actions[0].action.reasons, "the server runs with log_bin_basename=/var/lib/mysql/mariadb-bin"));
}

TEST_CASE("a dynamic setting that differs without a restart is SET GLOBAL with the running value") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  live.servers["uranus"].server_id = 1;
  live.servers["uranus"].read_only = false;
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"uranus/set-global"});
  const Action& set = plan.actions[0].action;
  CHECK(AnyContains(set.reasons, "server_id is 1, file wants 2"));
  CHECK(AnyContains(set.reasons, "read_only is OFF, but uranus is a replica"));
  CHECK(RenderParams(set.args).at("server_id") == "2");
  CHECK(RenderParams(set.args).at("read_only") == "ON");
}

TEST_CASE("a missing replication account is created on every server, replicas included") {
  Topology t = LabTopology(3);
  LiveState live = InSyncLive(t);
  for (auto& [name, s] : live.servers) {
    s.users.erase(std::remove_if(s.users.begin(), s.users.end(), [](const LiveUser& u) { return u.name == "repl"; }),
                  s.users.end());
  }
  Plan plan = MustPlan(t, live);
  CHECK(Ids(plan) == std::vector<std::string>{"mercury/create-replication-user", "uranus/create-replication-user",
                                              "venus/create-replication-user"});
  const Action& a = plan.actions[0].action;
  CHECK(RenderParams(a.args).at("binlog") == "off");
  CHECK(a.summary == "create 'repl'@'%' with REPLICATION SLAVE (binary log off)");
  bool password_sensitive = std::any_of(a.changes.begin(), a.changes.end(),
                                        [](const Change& c) { return c.key == "password" && c.sensitive; });
  CHECK(password_sensitive);
}

TEST_CASE("a replication account without REPLICATION SLAVE gets a grant") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  for (auto& u : live.servers["mercury"].users) {
    if (u.name == "repl") u.grants = {"GRANT USAGE ON *.* TO `repl`@`%`"};
  }
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"mercury/grant-privileges/repl@%"});
  CHECK(RenderParams(plan.actions[0].action.args).at("grants") == "REPLICATION SLAVE ON *.*");
}

TEST_CASE("declared users and databases are created on the primary only") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  for (auto& [name, s] : live.servers) {
    s.databases.clear();
    s.users.pop_back();  // pierre
  }
  Plan plan = MustPlan(t, live);
  CHECK(Ids(plan) == std::vector<std::string>{"mercury/create-database/secondhand_production",
                                              "mercury/create-user/pierre@%"});
}

TEST_CASE("a declared user missing a grant gets only that grant") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  live.servers["mercury"].users.back().grants = {"GRANT SELECT ON `secondhand_production`.* TO `pierre`@`%`"};
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"mercury/grant-privileges/pierre@%"});
  CHECK(plan.actions[0].action.changes[0].to == "ALL PRIVILEGES ON `secondhand_production`.*");
}

TEST_CASE("a database with another charset is a note, not an action") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  live.servers["mercury"].databases[0].charset = "latin1";
  Plan plan = MustPlan(t, live);
  CHECK(Ids(plan).empty());
  CHECK(AnyContains(Host(plan, "mercury").notes, "has charset latin1, file wants utf8mb4"));
}

TEST_CASE("seeding a replica that already holds databases is destructive and names them") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  live.servers["uranus"].channels.clear();
  live.servers["uranus"].gtid_binlog_pos = "";  // data loaded by hand: no binlog to rejoin from
  live.servers["uranus"].gtid_current_pos = "";
  live.servers["uranus"].gtid_slave_pos = "";
  Plan plan = MustPlan(t, live);
  CHECK(Ids(plan) == std::vector<std::string>{"uranus/seed-replica", "uranus/change-source", "uranus/start-replica"});
  const Action& seed = plan.actions[0].action;
  CHECK(seed.destructive);
  CHECK(AnyContains(seed.reasons, "already holds databases secondhand_production"));
  // What it drops is pinned in the plan: the seed refuses a replica that holds others by then.
  CHECK(RenderParams(seed.args).at("drops") == "`secondhand_production`");
}

TEST_CASE("seeding a replica whose binlog holds transactions is destructive: the seed resets that binlog") {
  Topology t = LabTopology(2);
  LiveState live = FreshLive(t);
  live.servers["uranus"].gtid_binlog_pos = "0-2-5";
  live.servers["uranus"].gtid_current_pos = "0-2-5";
  // Transactions the primary lacks are errant: by default refused (errant_plan_test), reseeded here.
  t.cluster.errant_transactions = ErrantRemedy::kReseed;
  Plan plan = MustPlan(t, live);
  REQUIRE(Find(plan, "uranus/seed-replica") != nullptr);
  const Action& seed = Find(plan, "uranus/seed-replica")->action;
  CHECK(seed.destructive);
  CHECK(AnyContains(seed.reasons, "binary log holds transactions (0-2-5): the seed resets it (RESET MASTER)"));
}

TEST_CASE("a fresh replica without databases is seeded without being marked destructive") {
  Topology t = LabTopology(2);
  Plan plan = MustPlan(t, FreshLive(t));
  CHECK_FALSE(Find(plan, "uranus/seed-replica")->action.destructive);
  CHECK(Find(plan, "uranus/seed-replica")->action.summary ==
        "seed uranus from mercury (consistent dump with GTID position, restore with binary logging off)");
}

TEST_CASE("a replica following another source gets change-source naming the difference") {
  Topology t = LabTopology(3);
  LiveState live = InSyncLive(t);
  auto& c = live.servers["venus"].channels[0];
  c.source_host = "127.0.0.66";
  c.source_user = "old_repl";
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"venus/change-source", "venus/start-replica"});
  const Action& change = plan.actions[0].action;
  CHECK(AnyContains(change.reasons, "replicates from 127.0.0.66:3306, file wants mercury (127.0.0.61:3306)"));
  CHECK(AnyContains(change.reasons, "replication user is 'old_repl', file wants 'repl'"));
  CHECK_FALSE(change.destructive);
}

TEST_CASE("a replica on file/position in a gtid cluster is switched to GTID") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  live.servers["uranus"].channels[0].using_gtid = "No";
  Plan plan = MustPlan(t, live);
  REQUIRE(Has(plan, "uranus/change-source"));
  CHECK(AnyContains(Find(plan, "uranus/change-source")->action.reasons, "Using_Gtid is No"));
}

TEST_CASE("error 1236 means the source lost the binlog: a destructive reseed") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  auto& c = live.servers["uranus"].channels[0];
  c.io_running = "No";
  c.last_io_errno = 1236;
  c.last_io_error = "Got fatal error 1236 from master when reading data from binary log";
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"uranus/seed-replica", "uranus/change-source", "uranus/start-replica"});
  CHECK(plan.actions[0].action.destructive);
  CHECK(AnyContains(plan.actions[0].action.reasons,
                    "reseed: source no longer has the binlog the replica needs (error 1236)"));
  CHECK(AnyContains(Host(plan, "uranus").notes, "1236"));
}

TEST_CASE("1201 (broken channel metadata) under GTID: RESET SLAVE ALL, CHANGE MASTER at gtid_slave_pos, START; no reseed") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  live.servers["uranus"].databases.push_back({"secondhand_production", "utf8mb4", "utf8mb4_general_ci"});
  auto& c = live.servers["uranus"].channels[0];
  c.io_running = "No";
  c.sql_running = false;
  c.last_sql_errno = 1201;
  c.last_sql_error = "Could not initialize master info structure";
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"uranus/reset-replica", "uranus/change-source", "uranus/start-replica"});
  for (const PlannedAction& pa : plan.actions) CHECK_FALSE(pa.action.destructive);
  CHECK(AnyContains(plan.actions[0].action.reasons, "SQL thread error 1201"));
  CHECK(plan.actions[0].action.Args<ResetReplicaArgs>().connection_name.empty());
  const auto& change = plan.actions[1].action.Args<ChangeSourceArgs>();
  CHECK(change.use_gtid == UseGtid::kSlavePos);
  CHECK(change.position == StartPosition::kKeep);
  CHECK(plan.actions[1].depends_on == std::vector<std::string>{"uranus/reset-replica"});
  CHECK(plan.actions[2].depends_on == std::vector<std::string>{"uranus/change-source"});
  CHECK(CheckPlanAgainstTopology(plan, t).ok());
  REQUIRE(plan.conditions.size() == 1);
  CHECK(plan.conditions[0].type == "channel-metadata-broken");

  c.last_sql_errno = 0;
  c.last_sql_error.clear();
  c.last_io_errno = 1201;
  c.last_io_error = "Could not initialize master info structure";
  CHECK(Ids(MustPlan(t, live)) ==
        std::vector<std::string>{"uranus/reset-replica", "uranus/change-source", "uranus/start-replica"});
}

TEST_CASE("1201 in file/position mode: RESET SLAVE ALL, CHANGE MASTER at Relay_Master_Log_File:Exec_Master_Log_Pos; no reseed") {
  Topology t = LabTopology(2);
  t.replication.mode = ReplicationMode::kFile;
  LiveState live = InSyncLive(t);
  live.servers["uranus"].databases.push_back({"secondhand_production", "utf8mb4", "utf8mb4_general_ci"});
  ReplicaChannel& c = testing::StoppedFileChannel(live, "uranus");
  c.last_sql_errno = 1201;
  c.last_sql_error = "Could not initialize master info structure";
  c.source_log_file = "mysql-bin.000002";
  c.read_source_log_pos = 9000;
  c.relay_source_log_file = "mysql-bin.000001";
  c.exec_source_log_pos = 1234;
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"uranus/reset-replica", "uranus/change-source", "uranus/start-replica"});
  for (const PlannedAction& pa : plan.actions) CHECK_FALSE(pa.action.destructive);
  const auto& change = plan.actions[1].action.Args<ChangeSourceArgs>();
  CHECK(change.use_gtid == UseGtid::kNo);
  CHECK(change.position == StartPosition::kAt);
  CHECK(change.log_file == "mysql-bin.000001");  // executed, not read: what was received after is fetched again
  CHECK(change.log_pos == 1234);
  CHECK(AnyContains(plan.actions[1].action.reasons, "Exec_Master_Log_Pos mysql-bin.000001:1234"));
  CHECK(RenderParams(plan.actions[1].action.args).at("log_pos") == "1234");
  CHECK(CheckPlanAgainstTopology(plan, t).ok());

  c.last_sql_errno = 0;  // an IO 1201 the same
  c.last_io_errno = 1201;
  CHECK(Ids(MustPlan(t, live)) ==
        std::vector<std::string>{"uranus/reset-replica", "uranus/change-source", "uranus/start-replica"});
  c.exec_source_log_pos.reset();  // no executed position known: the reseed, as before
  c.last_io_errno = 0;
  c.last_sql_errno = 1201;
  CHECK(Has(MustPlan(t, live), "uranus/seed-replica"));
}

TEST_CASE("1032/1062: a reseed by default; with on_data_error = \"skip\" that one transaction is skipped, with a warning") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  ServerState& u = live.servers["uranus"];
  u.databases.push_back({"secondhand_production", "utf8mb4", "utf8mb4_general_ci"});
  u.gtid_slave_pos = "0-1-41";
  u.failed_gtid = "0-1-42";
  auto& c = u.channels[0];
  c.sql_running = false;
  c.last_sql_errno = 1032;
  c.last_sql_error = "Could not execute Update_rows_v1 event on table secondhand_production.items; Can't find record "
                     "in 'items', Error_code: 1032";
  Plan reseed = MustPlan(t, live);
  REQUIRE(Ids(reseed) == std::vector<std::string>{"uranus/seed-replica", "uranus/change-source", "uranus/start-replica"});
  CHECK(reseed.actions[0].action.destructive);

  t.cluster.on_data_error = DataErrorRemedy::kSkip;
  Plan skip = MustPlan(t, live);
  REQUIRE(Ids(skip) == std::vector<std::string>{"uranus/skip-transaction/0-1-42", "uranus/start-replica"});
  const Action& a = skip.actions[0].action;
  CHECK_FALSE(a.destructive);
  CHECK(a.Args<SkipTransactionArgs>().gtid == "0-1-42");
  CHECK(a.summary == "skip transaction 0-1-42 on uranus (Update_rows_v1 event on table secondhand_production.items): "
                     "uranus then differs from mercury for that row");
  REQUIRE(a.changes.size() == 1);
  CHECK(a.changes[0].from == "0-1-41");
  CHECK(a.changes[0].to == "0-1-42");
  CHECK(skip.actions[1].depends_on == std::vector<std::string>{"uranus/skip-transaction/0-1-42"});
  CHECK(AnyContains(Host(skip, "uranus").notes, "WARNING: skipping 0-1-42 leaves uranus different from mercury"));
  CHECK(CheckPlanAgainstTopology(skip, t).ok());
  Topology reseeding = t;  // the file no longer allows it: a saved skip is stale
  reseeding.cluster.on_data_error = DataErrorRemedy::kReseed;
  CHECK(CheckPlanAgainstTopology(skip, reseeding).message().find("does not allow it") != std::string::npos);

  c.last_sql_errno = 1062;  // 1062 the same
  CHECK(Has(MustPlan(t, live), "uranus/skip-transaction/0-1-42"));

  // What cannot be skipped exactly is reseeded, with a note saying why.
  u.failed_gtid.clear();
  Plan unnamed = MustPlan(t, live);
  CHECK(Has(unnamed, "uranus/seed-replica"));
  CHECK(AnyContains(Host(unnamed, "uranus").notes, "its GTID could not be read from the relay log"));
  u.failed_gtid = "0-1-40";  // gtid_slave_pos holds it already
  CHECK(Has(MustPlan(t, live), "uranus/seed-replica"));
  u.failed_gtid = "0-1-42";
  t.replication.mode = ReplicationMode::kFile;
  c.using_gtid = "No";
  c.relay_source_log_file.clear();  // where it stopped in the source's binlog not known: the reseed
  Plan file = MustPlan(t, live);
  CHECK(Has(file, "uranus/seed-replica"));
  CHECK(AnyContains(Host(file, "uranus").notes, "Exec_Master_Log_Pos) is not known; reseeded instead"));
}

TEST_CASE("1032/1062 in file/position mode with on_data_error = \"skip\": the event group where the SQL thread "
          "stopped is skipped (sql_slave_skip_counter), with the same warning") {
  Topology t = LabTopology(2);
  t.replication.mode = ReplicationMode::kFile;
  t.cluster.on_data_error = DataErrorRemedy::kSkip;
  LiveState live = InSyncLive(t);
  ServerState& u = live.servers["uranus"];
  u.databases.push_back({"secondhand_production", "utf8mb4", "utf8mb4_general_ci"});
  ReplicaChannel& c = testing::StoppedFileChannel(live, "uranus");
  c.io_running = "Yes";
  c.last_sql_errno = 1062;
  c.last_sql_error = "Could not execute Write_rows_v1 event on table secondhand_production.items; Duplicate entry '5' "
                     "for key 'PRIMARY', Error_code: 1062";
  c.relay_source_log_file = "mysql-bin.000001";
  c.exec_source_log_pos = 1234;
  u.failed_gtid = "0-1-42";  // MariaDB names it in file/position mode too: only shown
  Plan skip = MustPlan(t, live);
  REQUIRE(Ids(skip) == std::vector<std::string>{"uranus/skip-transaction/mysql-bin.000001:1234", "uranus/start-replica"});
  const Action& a = skip.actions[0].action;
  CHECK_FALSE(a.destructive);
  CHECK(a.Args<SkipTransactionArgs>() == SkipTransactionArgs{"0-1-42", "mysql-bin.000001", 1234});
  CHECK(RenderParams(a.args) == std::map<std::string, std::string>{
                                    {"gtid", "0-1-42"}, {"log_file", "mysql-bin.000001"}, {"log_pos", "1234"}});
  CHECK(a.summary.find("skip the transaction at mysql-bin.000001:1234 (GTID 0-1-42) on uranus (Write_rows_v1 event on "
                       "table secondhand_production.items)") == 0);
  CHECK(AnyContains(Host(skip, "uranus").notes,
                    "WARNING: skipping the transaction at mysql-bin.000001:1234 (GTID 0-1-42) leaves uranus different "
                    "from mercury"));
  CHECK(skip.actions[1].depends_on == std::vector<std::string>{a.id});
  Status fits = CheckPlanAgainstTopology(skip, t);
  CHECK_MESSAGE(fits.ok(), fits.message());
  // Saved and read back the same; under GTID such a skip is stale, and a GTID skip under file/position.
  auto back = PlanFromJson(PlanToJson(skip));
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  CHECK(back->actions[0].action.Args<SkipTransactionArgs>() == a.Args<SkipTransactionArgs>());
  Topology gtid = t;
  gtid.replication.mode = ReplicationMode::kGtid;
  CHECK(CheckPlanAgainstTopology(skip, gtid).message().find("by binlog position in GTID replication") !=
        std::string::npos);
  u.failed_gtid.clear();  // not named: skipped by position all the same
  Plan unnamed = MustPlan(t, live);
  REQUIRE(Has(unnamed, "uranus/skip-transaction/mysql-bin.000001:1234"));
  CHECK(RenderParams(Find(unnamed, "uranus/skip-transaction/mysql-bin.000001:1234")->action.args).count("gtid") == 0);
  CHECK(CheckPlanAgainstTopology(unnamed, t).ok());
}

TEST_CASE("a relay log gone from disk (both threads No, errnos 0) is the 1201 remedy, not a bare START SLAVE") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  auto& c = live.servers["uranus"].channels[0];
  c.io_running = "No";
  c.sql_running = false;
  live.servers["uranus"].relay_log_present = false;
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"uranus/reset-replica", "uranus/change-source", "uranus/start-replica"});
  CHECK(AnyContains(plan.actions[0].action.reasons, "is not on disk"));

  // Present, or not known: replication was stopped by hand, START SLAVE resumes it.
  live.servers["uranus"].relay_log_present = true;
  CHECK(Ids(MustPlan(t, live)) == std::vector<std::string>{"uranus/start-replica"});
  live.servers["uranus"].relay_log_present.reset();
  CHECK(Ids(MustPlan(t, live)) == std::vector<std::string>{"uranus/start-replica"});
}

TEST_CASE("an IO thread Preparing without an error (just started, or mariadbd just restarted) is on its way: no "
          "START SLAVE; Preparing with an error, or the SQL thread stopped, still is") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  auto& c = live.servers["uranus"].channels[0];
  c.io_running = "Preparing";
  CHECK(MustPlan(t, live).actions.empty());
  c.sql_running = false;
  CHECK(Ids(MustPlan(t, live)) == std::vector<std::string>{"uranus/start-replica"});
  c.sql_running = true;
  c.last_io_errno = 2003;
  c.last_io_error = "error connecting to master";
  CHECK(Ids(MustPlan(t, live)) == std::vector<std::string>{"uranus/start-replica"});
}

TEST_CASE("2003 while mariadbd runs but listens elsewhere: the config edit and a restart; not for a host down, a stopped server or 1045") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  testing::RefusesSql(live, "uranus", /*mariadbd_running=*/true);
  ServerState& u = live.servers["uranus"];
  u.config["bind_address"] = "127.0.0.1";
  u.process.pid = "4242";
  u.process.listening = {"127.0.0.1:3306"};
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"uranus/edit-config", "uranus/restart-server"});
  CHECK(plan.actions[1].depends_on == std::vector<std::string>{"uranus/edit-config"});
  CHECK(AnyContains(plan.actions[1].action.reasons, "listens on 127.0.0.1:3306"));
  REQUIRE(plan.conditions.size() == 1);
  CHECK(plan.conditions[0].type == "listening-elsewhere");

  u.process.running = false;  // server-down: started (no setting to restart for), with the config fixed first
  Plan down = MustPlan(t, live);
  REQUIRE(Ids(down) == std::vector<std::string>{"uranus/edit-config", "uranus/restart-server"});
  CHECK(down.actions[1].action.Args<RestartServerArgs>().settings.empty());
  u.process.running = true;
  u.sql_errno = 1045;  // a refused login is not a listening problem
  CHECK(Ids(MustPlan(t, live)) == std::vector<std::string>{"uranus/edit-config"});
  u.sql_errno = 2003;
  u.ssh_ok = false;  // host-down: nothing can be planned
  u.ssh_error = "timed out";
  CHECK(Ids(MustPlan(t, live)).empty());
}

TEST_CASE("server-down (SSH answers, no mariadbd): a start, and the note says apply reads it again; not while it is unknown") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  testing::RefusesSql(live, "uranus", /*mariadbd_running=*/false);
  ServerState& u = live.servers["uranus"];
  u.process.pid_file = "/var/run/mysqld/mysqld.pid";
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"uranus/restart-server"});
  CHECK(plan.actions[0].action.Args<RestartServerArgs>().settings.empty());
  CHECK(plan.actions[0].action.summary.find("start uranus") == 0);
  CHECK(AnyContains(plan.actions[0].action.reasons, "pid file /var/run/mysqld/mysqld.pid names no live process"));
  CHECK(!plan.actions[0].action.destructive);
  REQUIRE(plan.conditions.size() == 1);
  CHECK(plan.conditions[0].type == "server-down");
  const auto& notes = Host(plan, "uranus").notes;
  CHECK(AnyContains(notes, "runtime unknown until the restart: apply then reads uranus again"));
  CHECK_FALSE(AnyContains(notes, "no restart"));
  CHECK(plan.incomplete());

  u.process.error = "ps: not found";  // whether it runs is not known: nothing is started
  Plan unknown = MustPlan(t, live);
  CHECK(Ids(unknown).empty());
  CHECK(AnyContains(Host(unknown, "uranus").notes, "runtime unknown: no restart"));
  u.process.error.clear();
  u.process.probed = false;
  CHECK(Ids(MustPlan(t, live)).empty());
}

TEST_CASE("a file-mode seed cut short (sentinel source host) is seeded again, never started") {
  Topology t = LabTopology(2);
  t.replication.mode = ReplicationMode::kFile;
  LiveState live = InSyncLive(t);
  auto& c = live.servers["uranus"].channels[0];
  c.source_host = kSeedInProgressHost;
  c.io_running = "No";
  c.sql_running = false;
  c.using_gtid = "No";
  live.servers["uranus"].databases.push_back({"secondhand_production", "utf8mb4", "utf8mb4_general_ci"});
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"uranus/seed-replica", "uranus/change-source", "uranus/start-replica"});
  CHECK(plan.actions[0].action.destructive);  // the partial data is replaced
  CHECK(AnyContains(plan.actions[0].action.reasons, "an earlier seed of uranus did not finish"));
}

TEST_CASE("an SQL thread error means diverged data: a destructive reseed with the error text") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  auto& c = live.servers["uranus"].channels[0];
  c.sql_running = false;
  c.last_sql_errno = 1146;
  c.last_sql_error = "Table 'secondhand_production.items' doesn't exist";
  Plan plan = MustPlan(t, live);
  REQUIRE(Has(plan, "uranus/seed-replica"));
  const Action& seed = Find(plan, "uranus/seed-replica")->action;
  CHECK(seed.destructive);
  CHECK(AnyContains(seed.reasons, "1146: Table 'secondhand_production.items' doesn't exist"));
}

TEST_CASE("1133/1396: a declared account the replica lacks is created there with the binary log off, then START; never a reseed") {
  Topology t = LabTopology(2);
  REQUIRE_FALSE(t.users.empty());
  const UserSpec& u = t.users[0];
  LiveState live = InSyncLive(t);
  auto& replica = live.servers["uranus"];
  std::erase_if(replica.users, [&](const LiveUser& l) { return l.name == u.name && l.host == u.host; });
  auto& c = replica.channels[0];
  c.sql_running = false;
  c.last_sql_errno = 1396;
  c.last_sql_error = "Error 'Operation ALTER USER failed for '" + u.name + "'@'" + u.host +
                     "'' on query. Default database: ''. Query: 'ALTER USER '" + u.name + "'@'" + u.host +
                     "' IDENTIFIED BY PASSWORD '*ABC''";
  Plan plan = MustPlan(t, live);
  const std::string create = "uranus/create-user/" + u.name + "@" + u.host;
  REQUIRE(Ids(plan) == std::vector<std::string>{create, "uranus/start-replica"});
  for (const PlannedAction& pa : plan.actions) CHECK_FALSE(pa.action.destructive);
  const auto& args = plan.actions[0].action.Args<CreateUserArgs>();
  CHECK(args.binlog_off);
  CHECK(args.user == u.name);
  CHECK(plan.actions[1].depends_on == std::vector<std::string>{create});
  CHECK(CheckPlanAgainstTopology(plan, t).ok());
  REQUIRE(plan.conditions.size() == 1);
  CHECK(plan.conditions[0].type == "missing-account");

  // An account the file does not declare: explained, nothing planned, still no reseed.
  c.last_sql_errno = 1133;
  c.last_sql_error = "Error 'Can't find any matching row in the user table' on query. Default database: ''. "
                     "Query: 'GRANT SELECT ON *.* TO `stranger`@`%`'";
  Plan undeclared = MustPlan(t, live);
  CHECK_FALSE(Has(undeclared, "uranus/seed-replica"));
  CHECK(AnyContains(Host(undeclared, "uranus").notes, "`stranger`@`%`"));
}

TEST_CASE("a create-user with the binary log off is a replica's repair: on the primary the plan is stale") {
  Topology t = LabTopology(2);
  const UserSpec& u = t.users[0];
  LiveState live = InSyncLive(t);
  Plan plan = MustPlan(t, live);
  Action a;
  a.id = "mercury/create-user/x";
  a.kind = ActionKind::kCreateUser;
  a.host = "mercury";
  std::vector<std::string> grants;
  for (const GrantSpec& g : u.grants) grants.push_back(g.text);
  a.SetArgs(CreateUserArgs{u.name, u.host, grants, /*binlog_off=*/true});
  plan.actions.push_back({a, {}});
  CHECK_FALSE(CheckPlanAgainstTopology(plan, t).ok());
}

TEST_CASE("stopped threads without an SQL error are just started, the IO error explained") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  auto& c = live.servers["uranus"].channels[0];
  c.io_running = "Connecting";
  c.last_io_errno = 2003;
  c.last_io_error = "error connecting to master 'repl@127.0.0.61:3306' - retry-time: 60";
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"uranus/start-replica"});
  CHECK(AnyContains(plan.actions[0].action.reasons, "not reachable at 127.0.0.61:3306"));
  CHECK(AnyContains(Host(plan, "uranus").notes, "error 2003"));

  c.last_io_errno = 1045;
  Plan login = MustPlan(t, live);
  CHECK(AnyContains(login.actions[0].action.reasons, "refused the replication login"));
}

TEST_CASE("a primary that replicates from an undeclared source gets a destructive RESET SLAVE ALL before it is writable") {
  Topology t = LabTopology(2);
  LiveState live = InSyncLive(t);
  ReplicaChannel c = testing::HealthyChannel(t.servers[1]);
  c.source_host = "127.0.0.99";  // not a server of the file: no switchover, just forget it
  live.servers["mercury"].channels.push_back(c);
  live.servers["mercury"].read_only = true;
  Plan plan = MustPlan(t, live);
  REQUIRE(Ids(plan) == std::vector<std::string>{"mercury/reset-replica", "mercury/set-global"});
  CHECK(plan.actions[0].action.destructive);
  CHECK(DependsOn(plan, "mercury/set-global", "mercury/reset-replica"));
}

TEST_CASE("an unreachable SQL port: no SQL actions for that host, the rest does not wait for it") {
  Topology t = LabTopology(3);
  LiveState live = FreshLive(t);
  live.servers["venus"].sql_ok = false;
  live.servers["venus"].sql_error = "cannot connect to 127.0.0.67:3306: Can't connect to server (2002)";
  Plan plan = MustPlan(t, live);
  for (const auto& pa : plan.actions) {
    if (pa.action.host == "venus") CHECK(pa.action.kind == ActionKind::kEditConfig);
  }
  CHECK(Has(plan, "venus/edit-config"));
  CHECK(plan.incomplete());
  CHECK_FALSE(Host(plan, "venus").sql_ok);
  CHECK(Host(plan, "venus").sql_error.find("2002") != std::string::npos);
}

TEST_CASE("a host whose primary cannot be read still gets its replication actions, waiting for nothing there") {
  Topology t = LabTopology(2);
  LiveState live = FreshLive(t);
  live.servers["mercury"].sql_ok = false;
  live.servers["mercury"].ssh_ok = false;
  Plan plan = MustPlan(t, live);
  CHECK_FALSE(std::any_of(plan.actions.begin(), plan.actions.end(),
                          [](const PlannedAction& pa) { return pa.action.host == "mercury"; }));
  CHECK(Has(plan, "uranus/seed-replica"));
  for (const auto& pa : plan.actions) {
    for (const auto& dep : pa.depends_on) CHECK(dep.rfind("uranus/", 0) == 0);
  }
}

TEST_CASE("ssh unknown: no edit or restart, a note for the config and for the restart it needs") {
  Topology t = LabTopology(2);
  LiveState live = FreshLive(t);
  live.servers["uranus"].ssh_ok = false;
  live.servers["uranus"].ssh_error = "ssh 127.0.0.66:2222: connection refused";
  live.servers["uranus"].config.clear();
  Plan plan = MustPlan(t, live);
  CHECK_FALSE(Has(plan, "uranus/edit-config"));
  CHECK_FALSE(Has(plan, "uranus/restart-server"));
  CHECK(Has(plan, "uranus/set-global"));  // runtime is known: dynamic settings still apply
  const auto& notes = Host(plan, "uranus").notes;
  CHECK(AnyContains(notes, "config_file unknown: ssh 127.0.0.66:2222: connection refused"));
  CHECK(AnyContains(notes, "a restart is needed to apply log_bin"));
  CHECK(plan.incomplete());
}

TEST_CASE("a host missing from the live state is reported as not read and gets nothing") {
  Topology t = LabTopology(2);
  LiveState live = FreshLive(t);
  live.servers.erase("uranus");
  Plan plan = MustPlan(t, live);
  CHECK(Host(plan, "uranus").sql_error == "not read");
  CHECK_FALSE(std::any_of(plan.actions.begin(), plan.actions.end(),
                          [](const PlannedAction& pa) { return pa.action.host == "uranus"; }));
  CHECK(plan.incomplete());
}

TEST_CASE("BuildActionGraph gives the same actions as the plan") {
  Topology t = LabTopology(2);
  auto graph = BuildActionGraph(t, FreshLive(t));
  REQUIRE(graph.ok());
  CHECK(graph->size() == MustPlan(t, FreshLive(t)).actions.size());
}

TEST_CASE("a topology whose primary is not a server is an error, not a crash") {
  Topology t = LabTopology(2);
  t.cluster.primary = "pluto";
  auto plan = BuildPlan(t, FreshLive(t));
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.status().message().find("pluto") != std::string::npos);
}

TEST_CASE("file mode: no gtid_strict_mode, change-source uses file/position") {
  Topology t = LabTopology(2);
  t.replication.mode = ReplicationMode::kFile;
  Plan plan = MustPlan(t, FreshLive(t));
  CHECK(Find(plan, "mercury/edit-config")->action.changes.size() == 9);
  CHECK(RenderParams(Find(plan, "uranus/change-source")->action.args).at("use_gtid") == "no");
  CHECK(Find(plan, "uranus/seed-replica")->action.summary.find("binlog file and position") != std::string::npos);
}

}  // namespace
}  // namespace replplan
