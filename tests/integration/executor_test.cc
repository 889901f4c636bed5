// The live executor against the real lab: each action of a real plan (fresh hosts, planned by
// replplan's own planner) carried out on real mariadbd and sshd, then checked by reading the servers
// back through the lab's own clients (unix-socket SQL, the files on disk), never through replplan.
// Every action, executed a second time, succeeds and changes nothing; re-planning afterwards finds
// nothing left of what was done. Failures (wrong replication password, a host that is down, a
// config file the server does not read, a failing restart command, a plan that does not match the
// topology) give clear errors without secrets.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/applier.h"
#include "engine/desired_config.h"
#include "engine/mycnf.h"
#include "engine/planner.h"
#include "engine/topology_parser.h"
#include "integration/lab_client.h"
#include "providers/live_executor.h"
#include "providers/provider.h"
#include "providers/state_reader.h"

namespace {

using replplan::Action;
using replplan::ActionKind;
using replplan::Plan;
using replplan::Topology;

Plan PlanFor(const Topology& topology) {
  auto provider = replplan::MakeLiveProvider();
  replplan::LiveState live = replplan::ReadLiveState(topology, *provider, 4);
  auto plan = replplan::BuildPlan(topology, live);
  REQUIRE_MESSAGE(plan.ok(), plan.status().message());
  return std::move(plan.value());
}

std::set<std::string> Ids(const Plan& plan) {
  std::set<std::string> ids;
  for (const auto& planned : plan.actions) ids.insert(planned.action.id);
  return ids;
}

std::string Joined(const std::set<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "" : ", ") + id;
  return out;
}

const Action& Find(const Plan& plan, const std::string& id) {
  for (const auto& planned : plan.actions) {
    if (planned.action.id == id) return planned.action;
  }
  FAIL("plan has no action " << id);
  throw std::logic_error("unreachable");
}

bool IsReplicaStep(const Action& a) {
  return a.kind == ActionKind::kSeedReplica || a.kind == ActionKind::kChangeSource ||
         a.kind == ActionKind::kStartReplica;
}

std::vector<std::string> AllSecrets() {
  return {lab::SecretValue("admin.pw"), lab::SecretValue("repl.pw"), lab::SecretValue("app.pw")};
}

void CheckNoSecretIn(const std::string& text) {
  for (const std::string& secret : AllSecrets()) {
    REQUIRE(secret.size() >= 8);  // a short secret could match by accident and prove nothing
    CHECK_MESSAGE(text.find(secret) == std::string::npos, "a secret leaked: " << text);
  }
}

// Executes, in plan order, the actions `which` selects; each must succeed. Returns them.
std::vector<Action> ExecuteInOrder(replplan::ActionExecutor& executor, const Plan& plan,
                                   const std::function<bool(const Action&)>& which) {
  std::vector<Action> done;
  for (const auto& planned : plan.actions) {
    if (!which(planned.action)) continue;
    replplan::Status status = executor.Execute(planned.action, nullptr);
    REQUIRE_MESSAGE(status.ok(), planned.action.id << ": " << status.message());
    done.push_back(planned.action);
  }
  return done;
}

std::string HostFile(const std::string& host, const std::string& name) { return lab::Dir() + "/hosts/" + host + "/" + name; }

// Everything an action could change on a host, read around replplan: files, process, binlog.
std::string Snapshot(const std::string& host) {
  std::string out = lab::ReadFile(HostFile(host, "my.cnf"));
  if (std::filesystem::exists(HostFile(host, "my.cnf.replplan.bak"))) out += "|bak=" + lab::ReadFile(HostFile(host, "my.cnf.replplan.bak"));
  out += "|pid=" + lab::ReadFile(HostFile(host, "mysqld.pid"));
  for (const auto& row : lab::Sql(host, "SELECT @@server_id, @@read_only, @@binlog_format, @@gtid_strict_mode, "
                                        "@@gtid_binlog_pos, @@gtid_slave_pos, "
                                        "(SELECT COUNT(*) FROM mysql.global_priv), "
                                        "(SELECT GROUP_CONCAT(schema_name ORDER BY schema_name) FROM information_schema.schemata)")) {
    for (const auto& column : row) out += "|" + column;
  }
  for (const auto& row : lab::Sql(host, "SHOW MASTER STATUS")) {
    for (const auto& column : row) out += "|" + column;
  }
  for (const auto& row : lab::Sql(host, "SHOW ALL SLAVES STATUS")) {
    out += "|slave:" + row.at(1) + "," + row.at(2);  // Slave_SQL_State, Slave_IO_State stay put
  }
  return out;
}

// Every event of every binlog of `host`, as text.
std::string BinlogText(const std::string& host) {
  std::string text;
  for (const auto& log : lab::Sql(host, "SHOW BINARY LOGS")) {
    for (const auto& event : lab::Sql(host, "SHOW BINLOG EVENTS IN '" + log.at(0) + "'")) {
      text += event.back() + "\n";
    }
  }
  return text;
}

// my.cnf with the lines that set any of `keys` (in [mysqld]) removed: what must equal the fresh file.
std::string WithoutKeys(const std::string& text, const std::set<std::string>& keys) {
  std::string out;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    std::string line = text.substr(begin, end == std::string::npos ? std::string::npos : end - begin + 1);
    begin = end == std::string::npos ? text.size() : end + 1;
    std::string key = line.substr(0, line.find('='));
    while (!key.empty() && (key.back() == ' ' || key.back() == '\n')) key.pop_back();
    if (line.find('=') != std::string::npos && keys.count(replplan::NormalizeMyCnfKey(key)) != 0) continue;
    out += line;
  }
  return out;
}

// One field of SHOW SLAVE STATUS (vertical output of the lab's own client).
std::string SlaveField(const std::string& host, const std::string& field) {
  auto result = lab::Run({"mariadb", "--no-defaults", "-S", HostFile(host, "mysqld.sock"), "-u", "root", "-E", "-e", "SHOW SLAVE STATUS"});
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  std::string key = " " + field + ": ";
  size_t at = result.out.find(key);
  if (at == std::string::npos) return "";
  size_t begin = at + key.size();
  return result.out.substr(begin, result.out.find('\n', begin) - begin);
}

std::string Column(const std::string& host, const std::string& sql) { return lab::SqlValue(host, sql); }

}  // namespace

TEST_CASE("config, restart, runtime, users and database of two fresh hosts: done right, and a no-op the second time") {
  lab::Reset(2);
  // A mode that is not the default: the atomic write must carry the original's mode over.
  REQUIRE(chmod(HostFile("mercury", "my.cnf").c_str(), 0640) == 0);
  Topology topology = lab::LoadTopology();
  Plan plan = PlanFor(topology);
  auto executor = replplan::MakeLiveExecutor(topology);

  std::vector<Action> done = ExecuteInOrder(*executor, plan, [](const Action& a) { return !IsReplicaStep(a); });
  std::set<std::string> done_ids;
  for (const Action& a : done) done_ids.insert(a.id);
  for (const char* id : {"mercury/edit-config", "mercury/restart-server", "mercury/set-global",
                         "mercury/create-replication-user", "mercury/create-database/secondhand_production",
                         "mercury/create-user/pierre@%", "uranus/edit-config", "uranus/restart-server",
                         "uranus/create-replication-user"}) {
    CHECK_MESSAGE(done_ids.count(id) == 1, "expected " << id << " in the plan");
  }

  for (const std::string& host : std::vector<std::string>{"mercury", "uranus"}) {
    INFO("host " << host);
    // edit-config: only the managed keys were added, every other byte kept, the old file backed up.
    std::string fresh = lab::ReadFile(HostFile(host, "my.cnf.fresh"));
    std::string edited = lab::ReadFile(HostFile(host, "my.cnf"));
    std::set<std::string> changed_keys;
    for (const replplan::Change& c : Find(plan, host + "/edit-config").changes) changed_keys.insert(c.key);
    CHECK(changed_keys.count("log_bin") == 1);
    CHECK(WithoutKeys(edited, changed_keys) == fresh);
    CHECK(edited != fresh);
    CHECK(lab::ReadFile(HostFile(host, "my.cnf.replplan.bak")) == fresh);
    auto settings = replplan::ParseMyCnf(edited).settings;
    CHECK(settings["log_bin"] == lab::Dir() + "/hosts/" + host + "/binlog/mysql-bin.log");
    CHECK(settings["report_host"] == host);
    for (const auto& entry : std::filesystem::directory_iterator(lab::Dir() + "/hosts/" + host)) {
      std::string name = entry.path().filename().string();
      CHECK_MESSAGE((name.find(".replplan.") == std::string::npos || name == "my.cnf.replplan.bak"),
                    "temp file left behind: " << name);
    }
    // restart-server: the server now runs with the binlog, and the runtime settings hold.
    CHECK(Column(host, "SELECT @@log_bin") == "1");
    CHECK(Column(host, "SELECT @@log_bin_basename") == lab::Dir() + "/hosts/" + host + "/binlog/mysql-bin");
    CHECK(Column(host, "SELECT @@log_slave_updates") == "1");
    CHECK(Column(host, "SELECT @@report_host") == host);
    CHECK(Column(host, "SELECT @@server_id") == (host == "mercury" ? "1" : "2"));
    CHECK(Column(host, "SELECT @@gtid_strict_mode") == "1");
    CHECK(Column(host, "SELECT @@binlog_format") == "ROW");
    // The replication account: exists, only REPLICATION SLAVE, and never in this host's binlog.
    auto grants = lab::Sql(host, "SHOW GRANTS FOR 'repl'@'%'");
    REQUIRE(grants.size() == 1);
    CHECK(grants[0][0].rfind("GRANT REPLICATION SLAVE ON *.* TO `repl`@`%`", 0) == 0);
    std::string binlog = BinlogText(host);
    CHECK(binlog.find("`repl`") == std::string::npos);
    CHECK(binlog.find("'repl'") == std::string::npos);
    CheckNoSecretIn(binlog);
  }
  struct stat st {};
  REQUIRE(stat(HostFile("mercury", "my.cnf").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(Column("mercury", "SELECT @@read_only") == "0");
  CHECK(Column("uranus", "SELECT @@read_only") == "1");

  // Database and declared user on the primary, with normal binary logging (they replicate).
  CHECK(Column("mercury", "SELECT default_character_set_name FROM information_schema.schemata "
                          "WHERE schema_name = 'secondhand_production'") == "utf8mb4");
  auto pierre = lab::Run({"mariadb", "--no-defaults", "-h", lab::Address("mercury"), "-P", "3306", "-u", "pierre", "-N", "-B", "-e",
                          "SHOW DATABASES"},
                         "", {"MYSQL_PWD=" + lab::SecretValue("app.pw")});
  CHECK_MESSAGE(pierre.exit_code == 0, pierre.err);
  CHECK(pierre.out.find("secondhand_production") != std::string::npos);
  std::string primary_binlog = BinlogText("mercury");
  CHECK(primary_binlog.find("pierre") != std::string::npos);
  CHECK(primary_binlog.find("secondhand_production") != std::string::npos);

  // Every action a second time: all succeed and nothing changes (no restart, no write, no event).
  std::string before = Snapshot("mercury") + Snapshot("uranus");
  for (const Action& a : done) {
    replplan::Status again = executor->Execute(a, nullptr);
    CHECK_MESSAGE(again.ok(), a.id << ": " << again.message());
  }
  // A fresh executor (a new apply) finds nothing to do either.
  auto second = replplan::MakeLiveExecutor(topology);
  for (const Action& a : done) {
    replplan::Status again = second->Execute(a, nullptr);
    CHECK_MESSAGE(again.ok(), a.id << ": " << again.message());
  }
  CHECK(Snapshot("mercury") + Snapshot("uranus") == before);

  // Re-planning: only the replica's replication steps are left.
  Plan after = PlanFor(topology);
  for (const auto& planned : after.actions) {
    CHECK_MESSAGE(IsReplicaStep(planned.action), "still planned after execution: " << planned.action.id);
  }
}

TEST_CASE("two fresh hosts applied in full replicate: a row written on the primary is read on the replica, then nothing is left to plan") {
  lab::Reset(2);
  Topology topology = lab::LoadTopology();
  Plan plan = PlanFor(topology);
  auto executor = replplan::MakeLiveExecutor(topology);
  replplan::ApplyReport report = replplan::ApplyPlan(plan, *executor, 4, nullptr);
  std::string rendered = replplan::RenderApplyReport(report);
  REQUIRE_MESSAGE(report.ok(), rendered);
  CheckNoSecretIn(rendered);

  CHECK(Column("uranus", "SELECT @@read_only") == "1");
  lab::Sql("mercury", "CREATE TABLE secondhand_production.items (id INT PRIMARY KEY, name VARCHAR(40)); "
                      "INSERT INTO secondhand_production.items VALUES (1, 'bicycle');");
  bool replicated = lab::WaitFor([] {
    return lab::SqlValue("uranus", "SELECT name FROM secondhand_production.items WHERE id = 1") == "bicycle";
  }, std::chrono::seconds(20));
  CHECK_MESSAGE(replicated, "the row written on mercury did not reach uranus");
  // The declared user came along (by the seed or replication), and uranus' binlog has no errant
  // transaction of its own: every GTID in it comes from mercury's domain/server id 1.
  CHECK(Column("uranus", "SELECT COUNT(*) FROM mysql.user WHERE user = 'pierre'") == "1");
  std::string uranus_gtids = Column("uranus", "SELECT @@gtid_binlog_pos");
  CHECK_MESSAGE(uranus_gtids.find("-2-") == std::string::npos, "uranus wrote its own transactions: " << uranus_gtids);

  Plan after = PlanFor(topology);
  CHECK_MESSAGE(after.actions.empty(), "left to do: " << Joined(Ids(after)));

  // A change-source whose params no longer fit (a rejoin from the binlog without slave_pos) is
  // refused before its STOP SLAVE: the running replica keeps running.
  Action stale;
  stale.id = "uranus/change-source";
  stale.host = "uranus";
  stale.SetArgs(replplan::ChangeSourceArgs{.source = "mercury",
                                           .mode = replplan::ReplicationMode::kGtid,
                                           .use_gtid = replplan::UseGtid::kCurrentPos,
                                           .position = replplan::StartPosition::kFromBinlog});
  replplan::Status refused = executor->Execute(stale, nullptr);
  CHECK_FALSE(refused.ok());
  CHECK_MESSAGE(refused.message().find("without MASTER_USE_GTID=slave_pos") != std::string::npos, refused.message());
  CHECK(lab::SqlValue("uranus", "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                                "WHERE VARIABLE_NAME = 'SLAVE_RUNNING'") == "ON");

  // A second apply of the old plan: every action finds its work done and changes nothing.
  std::string before = Snapshot("mercury") + Snapshot("uranus");
  auto again = replplan::ApplyPlan(plan, *replplan::MakeLiveExecutor(topology), 4, nullptr);
  CHECK_MESSAGE(again.ok(), replplan::RenderApplyReport(again));
  CHECK(Snapshot("mercury") + Snapshot("uranus") == before);
}

TEST_CASE("file/position mode: the seed's binlog position survives change-source and the pair replicates") {
  lab::Reset(2);
  std::string text = lab::ReadFile(lab::TopologyPath());
  size_t mode = text.find("mode          = \"gtid\"");
  REQUIRE(mode != std::string::npos);
  text.replace(mode, std::string("mode          = \"gtid\"").size(), "mode          = \"file\"");
  std::string path = lab::WriteFile("file-mode.toml", text);
  auto parse = replplan::ParseTopology(text, path);
  REQUIRE(parse.ok());
  Topology topology = parse.topology;
  REQUIRE(topology.replication.mode == replplan::ReplicationMode::kFile);

  Plan plan = PlanFor(topology);
  REQUIRE(Find(plan, "uranus/change-source").Args<replplan::ChangeSourceArgs>().position ==
          replplan::StartPosition::kFromSeed);
  auto executor = replplan::MakeLiveExecutor(topology);
  // Written before the seed: the dump must carry it and the position must start after it, so the
  // row arrives exactly once (a position reset to the first binlog would replay it: duplicate key).
  ExecuteInOrder(*executor, plan, [](const Action& a) { return a.host == "mercury"; });
  lab::Sql("mercury", "CREATE TABLE secondhand_production.items (id INT PRIMARY KEY, name VARCHAR(40)); "
                      "INSERT INTO secondhand_production.items VALUES (1, 'bicycle');");
  ExecuteInOrder(*executor, plan, [](const Action& a) { return a.host == "uranus" && a.kind != ActionKind::kChangeSource && a.kind != ActionKind::kStartReplica; });
  // The seed recorded mercury's position; MASTER_HOST in change-source would reset it to ''/4 if
  // it were not passed back. (Replaying from the start would not even fail here: MariaDB skips
  // events already in gtid_slave_pos, so only the recorded coordinates tell.)
  std::string seeded_file = SlaveField("uranus", "Master_Log_File");
  std::string seeded_pos = SlaveField("uranus", "Read_Master_Log_Pos");
  REQUIRE(seeded_file == lab::SqlValue("mercury", "SELECT SUBSTRING_INDEX(@@log_bin_basename, '/', -1)") + ".000001");
  REQUIRE(seeded_pos != "4");
  ExecuteInOrder(*executor, plan, [](const Action& a) { return a.host == "uranus" && a.kind == ActionKind::kChangeSource; });
  CHECK(SlaveField("uranus", "Master_Log_File") == seeded_file);
  CHECK(SlaveField("uranus", "Exec_Master_Log_Pos") == seeded_pos);
  CHECK(SlaveField("uranus", "Master_User") == "repl");
  CHECK(SlaveField("uranus", "Using_Gtid") == "No");
  ExecuteInOrder(*executor, plan, [](const Action& a) { return a.host == "uranus" && a.kind == ActionKind::kStartReplica; });
  lab::Sql("mercury", "INSERT INTO secondhand_production.items VALUES (2, 'lamp');");
  bool replicated = lab::WaitFor([] {
    return lab::SqlValue("uranus", "SELECT GROUP_CONCAT(name ORDER BY id) FROM secondhand_production.items") ==
           "bicycle,lamp";
  }, std::chrono::seconds(20));
  CHECK_MESSAGE(replicated, "uranus has: " << lab::SqlValue("uranus", "SELECT GROUP_CONCAT(name ORDER BY id) FROM secondhand_production.items"));
  // Nothing left: in particular the planner sees Using_Gtid=No, as file mode wants.
  Plan after = PlanFor(topology);
  CHECK_MESSAGE(after.actions.empty(), "left to do: " << Joined(Ids(after)));
}

TEST_CASE("start-replica against a source that refuses the replication password fails with 1045 and a remedy") {
  lab::Reset(2);
  Topology topology = lab::LoadTopology();
  Plan plan = PlanFor(topology);
  auto executor = replplan::MakeLiveExecutor(topology);
  ExecuteInOrder(*executor, plan, [](const Action& a) { return a.kind != ActionKind::kStartReplica; });
  // The source's account now has another password than the topology's file holds.
  lab::Sql("mercury", "SET sql_log_bin = 0; ALTER USER 'repl'@'%' IDENTIFIED BY 'another-password-4711';");

  auto started = std::chrono::steady_clock::now();
  replplan::Status status = executor->Execute(Find(plan, "uranus/start-replica"), nullptr);
  auto took = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(status.ok());
  const std::string& message = status.message();
  CHECK_MESSAGE(message.find("1045") != std::string::npos, message);
  CHECK_MESSAGE(message.find("Access denied") != std::string::npos, message);
  CHECK_MESSAGE(message.find("remedy") != std::string::npos, message);
  CHECK_MESSAGE(message.find("'repl'@'%'") != std::string::npos, message);
  CHECK_MESSAGE(message.find("mercury") != std::string::npos, message);
  CHECK_MESSAGE(took < std::chrono::seconds(15), "a refused login should fail fast, not wait out the bound");
  CheckNoSecretIn(message);
}

TEST_CASE("an action on a host whose server is down fails with a clear error; once it is back the executor reconnects") {
  lab::Reset(2);
  Topology topology = lab::LoadTopology();
  Plan plan = PlanFor(topology);
  auto executor = replplan::MakeLiveExecutor(topology);
  // Opens (and caches) the SQL connection to uranus.
  REQUIRE(executor->Execute(Find(plan, "uranus/create-replication-user"), nullptr).ok());

  Action set_read_only;
  set_read_only.id = "uranus/set-global";
  set_read_only.host = "uranus";
  replplan::SetGlobalArgs read_only_on;
  read_only_on.read_only = true;
  set_read_only.SetArgs(read_only_on);

  auto killed = lab::Lab({"kill", "uranus"});
  REQUIRE_MESSAGE(killed.exit_code == 0, killed.err);
  replplan::Status cached = executor->Execute(set_read_only, nullptr);
  REQUIRE_FALSE(cached.ok());
  CHECK_MESSAGE(cached.message().find("uranus") != std::string::npos, cached.message());
  CheckNoSecretIn(cached.message());

  // A new executor: the connect itself fails, naming the host and its address.
  auto fresh = replplan::MakeLiveExecutor(topology);
  auto started = std::chrono::steady_clock::now();
  replplan::Status down = fresh->Execute(set_read_only, nullptr);
  REQUIRE_FALSE(down.ok());
  CHECK(down.code() == replplan::Status::Code::kUnavailable);
  CHECK_MESSAGE(down.message().find("uranus does not answer SQL") != std::string::npos, down.message());
  CHECK_MESSAGE(down.message().find(lab::Address("uranus") + ":3306") != std::string::npos, down.message());
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CheckNoSecretIn(down.message());

  auto back = lab::Lab({"start", "uranus"});
  REQUIRE_MESSAGE(back.exit_code == 0, back.err);
  replplan::Status reconnected = executor->Execute(set_read_only, nullptr);
  CHECK_MESSAGE(reconnected.ok(), reconnected.message());
  CHECK(Column("uranus", "SELECT @@read_only") == "1");
}

TEST_CASE("a config_file the server does not read: edit-config creates it (0644), restart-server fails naming the setting") {
  lab::Reset(1);
  Topology topology = lab::LoadTopology();
  std::string elsewhere = lab::Dir() + "/tmp/elsewhere";
  std::filesystem::remove_all(elsewhere);
  std::filesystem::create_directories(elsewhere);
  topology.servers[0].config_file = elsewhere + "/my.cnf";
  std::string pid_before = lab::ReadFile(HostFile("mercury", "mysqld.pid"));
  std::string cnf_before = lab::ReadFile(HostFile("mercury", "my.cnf"));

  Plan plan = PlanFor(topology);
  auto executor = replplan::MakeLiveExecutor(topology);
  replplan::Status edited = executor->Execute(Find(plan, "mercury/edit-config"), nullptr);
  REQUIRE_MESSAGE(edited.ok(), edited.message());
  struct stat st {};
  REQUIRE(stat(topology.servers[0].config_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);
  auto created = replplan::ParseMyCnf(lab::ReadFile(topology.servers[0].config_file)).settings;
  for (const auto& setting : replplan::DesiredConfig(topology, topology.servers[0])) {
    CHECK_MESSAGE(created.count(setting.key) == 1, "missing " << setting.key);
  }
  CHECK_FALSE(std::filesystem::exists(topology.servers[0].config_file + ".replplan.bak"));  // nothing to back up

  replplan::Status restarted = executor->Execute(Find(plan, "mercury/restart-server"), nullptr);
  REQUIRE_FALSE(restarted.ok());
  CHECK(restarted.code() == replplan::Status::Code::kFailedPrecondition);
  CHECK_MESSAGE(restarted.message().find("log_bin=OFF") != std::string::npos, restarted.message());
  CHECK_MESSAGE(restarted.message().find("does not read that file") != std::string::npos, restarted.message());
  CHECK_MESSAGE(restarted.message().find(topology.servers[0].config_file) != std::string::npos, restarted.message());
  CHECK(lab::ReadFile(HostFile("mercury", "mysqld.pid")) != pid_before);  // it did restart
  CHECK(lab::ReadFile(HostFile("mercury", "my.cnf")) == cnf_before);      // the real file untouched
}

TEST_CASE("a restart command that fails: its exit status and stderr, and the server is not waited for") {
  lab::Reset(1);
  Topology topology = lab::LoadTopology();
  topology.servers[0].restart = "echo 'cannot restart: boom' >&2; exit 3";
  Plan plan = PlanFor(topology);
  auto executor = replplan::MakeLiveExecutor(topology);
  REQUIRE(executor->Execute(Find(plan, "mercury/edit-config"), nullptr).ok());
  auto started = std::chrono::steady_clock::now();
  replplan::Status status = executor->Execute(Find(plan, "mercury/restart-server"), nullptr);
  REQUIRE_FALSE(status.ok());
  CHECK_MESSAGE(status.message().find("restart command failed (exit 3)") != std::string::npos, status.message());
  CHECK_MESSAGE(status.message().find("cannot restart: boom") != std::string::npos, status.message());
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
}

TEST_CASE("actions whose params do not match the topology are refused before anything changes") {
  lab::Reset(1);
  Topology topology = lab::LoadTopology();
  auto executor = replplan::MakeLiveExecutor(topology);
  std::string before = Snapshot("mercury");
  auto refused = [&](replplan::ActionArgs args, std::vector<replplan::Change> changes, const std::string& expected) {
    Action a;
    a.id = "mercury/test";
    a.host = "mercury";
    a.SetArgs(std::move(args));
    a.changes = std::move(changes);
    replplan::Status status = executor->Execute(a, nullptr);
    CHECK_FALSE(status.ok());
    CHECK_MESSAGE(status.message().find(expected) != std::string::npos, status.message());
  };
  // A variable set-global does not set (sql_mode) or a value that is no ON/OFF ("ON; DROP ...")
  // cannot be held by SetGlobalArgs; a saved plan with one is refused by its reader
  // (plan_from_json_test). Values out of range or words not allowed can be, and are refused here.
  replplan::SetGlobalArgs server_id_0;
  server_id_0.server_id = 0;
  refused(server_id_0, {}, "not a valid value");
  replplan::SetGlobalArgs quoted_format;
  quoted_format.binlog_format = "ROW'";
  refused(quoted_format, {}, "not a valid value");
  refused(replplan::CreateDatabaseArgs{"evil`; DROP DATABASE mysql; --", "utf8mb4", ""}, {}, "does not declare");
  refused(replplan::CreateUserArgs{"mallory", "%", {}}, {}, "does not declare");
  refused(replplan::GrantPrivilegesArgs{.user = "pierre", .host = "%", .grants = {"ALL PRIVILEGES ON *.*"}}, {},
          "which the topology does not give");
  refused(replplan::EditConfigArgs{.config_file = "/etc/passwd", .files = {}}, {{"datadir", "", "/tmp", false}},
          "which replplan does not manage");
  // A value other than the file's (edit-config server_id = 99) and a setting outside the static ones
  // (restart-server for datadir) are a saved plan's faults, refused before apply: plan_check_test and
  // plan_from_json_test.
  refused(replplan::ChangeSourceArgs{.source = "nowhere"}, {}, "no valid source");
  Action elsewhere;
  elsewhere.id = "pluto/set-global";
  elsewhere.SetArgs(replplan::SetGlobalArgs{});
  elsewhere.host = "pluto";
  CHECK_FALSE(executor->Execute(elsewhere, nullptr).ok());
  CHECK(Snapshot("mercury") == before);
}
