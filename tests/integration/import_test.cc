// `replplan import` against the real lab: a cluster built by hand (no replplan), the file imported
// from a replica without report_host, validated and planned: the plan holds only the settings
// replplan adds, nothing destructive, no reseed; no password is ever in the output or the file.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "integration/app_client.h"
#include "integration/lab_client.h"

namespace {

std::string Secret(const std::string& name) { return lab::SecretValue(name); }

// Each lab password, looked for in what import and plan printed and wrote.
void CheckNoSecretIn(const std::string& text) {
  for (const char* name : {"admin.pw", "repl.pw", "app.pw"}) {
    const std::string secret = Secret(name);
    REQUIRE(secret.size() >= 8);  // a short one could match by accident and prove nothing
    CHECK_MESSAGE(text.find(secret) == std::string::npos, "the value of " << name << " is in the output");
  }
}

// The environment plan and import read the passwords from.
std::vector<std::string> Env() {
  return {"LAB_ADMIN_PASSWORD=" + Secret("admin.pw"), "LAB_REPL_PASSWORD=" + Secret("repl.pw"),
          "PIERRE_PASSWORD=" + Secret("app.pw")};
}

lab::CommandResult Replplan(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"timeout", "300", REPLPLAN_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return lab::Run(argv, "", Env());
}

// import's flags for the lab: its admin account, its SSH key and known_hosts, readable names.
std::vector<std::string> ImportArgs(const std::vector<std::string>& hosts, const std::string& out) {
  std::vector<std::string> args = {"import"};
  for (const std::string& host : hosts) args.push_back(lab::Address(host));
  for (const char* name : {"mercury", "uranus", "venus"}) {
    args.push_back("--name");
    args.push_back(std::string(name) + "=" + lab::Address(name));
  }
  std::vector<std::string> rest = {"--cluster-name", "lab", "--user", "admin", "--password-env", "LAB_ADMIN_PASSWORD",
                                   "--replication-password-env", "LAB_REPL_PASSWORD", "--ssh-port", "2222",
                                   "--ssh-key", lab::Dir() + "/client/id_ed25519",
                                   "--known-hosts", lab::Dir() + "/client/known_hosts"};
  args.insert(args.end(), rest.begin(), rest.end());
  if (!out.empty()) {
    args.push_back("-o");
    args.push_back(out);
  }
  return args;
}

std::string TmpPath(const std::string& name) {
  std::filesystem::create_directories(lab::Dir() + "/tmp");
  std::string path = lab::Dir() + "/tmp/" + name;
  std::filesystem::remove(path);
  return path;
}

// As an operator builds replication without replplan: server_id, log_bin and binlog_format in
// each my.cnf (nothing else replplan wants), the accounts on the primary (replication, and the
// app's pierre), CHANGE MASTER by GTID.
// venus reports its address (report_host); uranus reports nothing, so the primary lists it under
// the name of its connection's address ("localhost": every lab connection leaves from 127.0.0.1).
void BuildClusterByHand() {
  const std::vector<std::string> hosts = {"mercury", "uranus", "venus"};
  for (size_t i = 0; i < hosts.size(); ++i) {
    const std::string& host = hosts[i];
    std::string path = lab::Dir() + "/hosts/" + host + "/my.cnf";
    std::string cnf = lab::ReadFile(path) + "\n[mysqld]\nserver_id = " + std::to_string(i + 1) + "\nlog_bin = " +
                      lab::Dir() + "/hosts/" + host + "/binlog/mysql-bin.log\nbinlog_format = ROW\n";
    if (host == "venus") cnf += "report_host = " + lab::Address("venus") + "\n";
    std::ofstream(path, std::ios::trunc) << cnf;
    auto restarted = lab::Lab({"restart", host});
    REQUIRE_MESSAGE(restarted.exit_code == 0, restarted.err);
  }
  lab::Sql("mercury", "CREATE USER 'repl'@'%' IDENTIFIED BY '" + Secret("repl.pw") +
                          "'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'; "
                          "CREATE DATABASE secondhand_production CHARACTER SET utf8mb4; "
                          "CREATE TABLE secondhand_production.items (id INT PRIMARY KEY, name VARCHAR(40)); "
                          "INSERT INTO secondhand_production.items VALUES (1, 'bicycle'); "
                          "CREATE USER 'pierre'@'%' IDENTIFIED BY '" + Secret("app.pw") +
                          "'; GRANT ALL PRIVILEGES ON secondhand_production.* TO 'pierre'@'%';");
  for (const char* replica : {"uranus", "venus"}) {
    lab::Sql(replica, "CHANGE MASTER TO MASTER_HOST='" + lab::Address("mercury") +
                          "', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='" + Secret("repl.pw") +
                          "', MASTER_USE_GTID=slave_pos; START SLAVE;");
  }
  for (const char* replica : {"uranus", "venus"}) {
    bool replicated = lab::WaitFor([replica] {
      return lab::SqlValue(replica, "SELECT name FROM secondhand_production.items WHERE id = 1") == "bicycle";
    }, std::chrono::seconds(20));
    REQUIRE_MESSAGE(replicated, replica << " does not replicate");
  }
  // What the primary shows: both replicas registered, uranus under its connection's name.
  auto registered = lab::Sql("mercury", "SHOW SLAVE HOSTS");
  REQUIRE(registered.size() == 2);
  std::map<std::string, std::string> host_of;
  for (const auto& row : registered) host_of[row[0]] = row[1];
  CHECK(host_of["3"] == lab::Address("venus"));
  CHECK(host_of["2"] != lab::Address("uranus"));
}

// What import (and plan) could change on the lab's hosts: each my.cnf, its process, and the
// servers' state, read through the unix socket.
std::string LabSnapshot() {
  std::string snapshot;
  for (const char* host : {"mercury", "uranus", "venus"}) {
    snapshot += lab::ReadFile(lab::Dir() + "/hosts/" + host + "/my.cnf");
    snapshot += "|pid=" + lab::ReadFile(lab::Dir() + "/hosts/" + host + "/mysqld.pid");
    for (const auto& row : lab::Sql(host, "SELECT @@read_only, @@gtid_binlog_pos, @@gtid_slave_pos, "
                                          "(SELECT COUNT(*) FROM mysql.global_priv), "
                                          "(SELECT GROUP_CONCAT(schema_name) FROM information_schema.schemata)")) {
      for (const auto& column : row) snapshot += "|" + column;
    }
  }
  return snapshot;
}

}  // namespace

TEST_CASE("import of a hand-built cluster from a replica without report_host: valid, and plan only adds replplan's settings") {
  lab::Reset(3);
  BuildClusterByHand();
  const std::string path = TmpPath("imported.toml");
  const std::string before = LabSnapshot();

  auto imported = Replplan(ImportArgs({"uranus"}, path));
  REQUIRE_MESSAGE(imported.exit_code == 0, (imported.out + imported.err));
  std::string text = lab::ReadFile(path);
  MESSAGE("imported file:\n" << text);
  CheckNoSecretIn(imported.out + imported.err + text);
  CHECK(text.find("password      = { env = \"LAB_REPL_PASSWORD\" }") != std::string::npos);
  CHECK(text.find("password = { env = \"LAB_ADMIN_PASSWORD\" }") != std::string::npos);
  // Found: mercury as uranus's source, venus through SHOW SLAVE HOSTS on mercury.
  CHECK(text.find("#   mercury " + lab::Address("mercury") + ":3306: the source of uranus") != std::string::npos);
  CHECK(text.find("#   venus " + lab::Address("venus") + ":3306: listed by SHOW SLAVE HOSTS on mercury") !=
        std::string::npos);
  CHECK(text.find("primary = \"mercury\"") != std::string::npos);
  for (const char* host : {"mercury", "uranus", "venus"}) {
    // log_bin as my.cnf writes it (with its .log), config_file from the process's --defaults-file.
    CHECK((text.find("log_bin     = \"" + lab::Dir() + "/hosts/" + host + "/binlog/mysql-bin.log\"") != std::string::npos ||
           text.find("log_bin   = \"" + lab::Dir() + "/hosts/" + host + "/binlog/mysql-bin.log\"") != std::string::npos));
    CHECK(text.find(lab::Dir() + "/hosts/" + host + "/my.cnf\"") != std::string::npos);
  }
  CHECK(text.find("name    = \"secondhand_production\"") != std::string::npos);
  // The app's account, its grant as SHOW GRANTS has it, its password named; not admin (import's
  // login), root or repl.
  CHECK(text.find("[[user]]\nname     = \"pierre\"\npassword = { env = \"PIERRE_PASSWORD\" }\n"
                  "grants   = [\"ALL PRIVILEGES ON `secondhand_production`.*\"]\n") != std::string::npos);
  CHECK(text.find("name     = \"admin\"") == std::string::npos);
  CHECK(text.find("name     = \"root\"") == std::string::npos);
  CHECK(text.find("name     = \"repl\"") == std::string::npos);

  auto validated = Replplan({"validate", path});
  CHECK_MESSAGE(validated.exit_code == 0, (validated.out + validated.err));

  auto planned = Replplan({"plan", path, "--json"});
  REQUIRE_MESSAGE(planned.exit_code == 0, (planned.out + planned.err));
  CheckNoSecretIn(planned.out + planned.err);
  auto plan = nlohmann::json::parse(planned.out);
  CHECK(plan["complete"] == true);
  CHECK(plan["summary"]["destructive"] == 0);
  // What the plan holds: the settings replplan adds (the config keys, the restart they need, the
  // primary made writable again after it, the heartbeat through change-source), each with why.
  const std::set<std::string> allowed = {"edit-config", "restart-server", "set-global", "change-source", "start-replica"};
  std::string listed;
  for (const auto& action : plan["actions"]) {
    std::string kind = action["kind"];
    listed += action["id"].get<std::string>() + ": " + action["summary"].get<std::string>() + "\n";
    for (const auto& reason : action["reasons"]) listed += "    why: " + reason.get<std::string>() + "\n";
    CHECK_MESSAGE(allowed.count(kind) == 1, "unexpected action " << action["id"]);
    CHECK_FALSE(action["destructive"].get<bool>());
    CHECK_FALSE(action["reasons"].empty());
  }
  MESSAGE("plan after import:\n" << listed);
  for (const char* key : {"log_slave_updates", "read_only", "report_host", "gtid_strict_mode"}) {
    CHECK_MESSAGE(listed.find(key) != std::string::npos, key << " not in the plan");
  }
  CHECK(listed.find("seed") == std::string::npos);
  // Nothing about the databases, the replication account or pierre: they are as the file says.
  CHECK(listed.find("create-database") == std::string::npos);
  CHECK(listed.find("create-replication-user") == std::string::npos);
  CHECK(listed.find("pierre") == std::string::npos);
  // Neither import nor plan changed anything.
  CHECK(LabSnapshot() == before);
}

TEST_CASE("import from the primary alone cannot reach uranus and says how to name it; named, it is imported") {
  lab::Reset(3);
  BuildClusterByHand();
  const std::string path = TmpPath("from-primary.toml");

  auto alone = Replplan(ImportArgs({"mercury"}, path));
  CHECK(alone.exit_code == 1);
  CHECK_MESSAGE(alone.err.find("mercury serves 1 replica(s) that were not found") != std::string::npos, alone.err);
  CHECK_MESSAGE(alone.err.find("server_id 2") != std::string::npos, alone.err);
  CHECK_MESSAGE(alone.err.find("Name each missing replica on the command line") != std::string::npos, alone.err);
  CHECK_FALSE(std::filesystem::exists(path));

  auto named = Replplan(ImportArgs({"mercury", "uranus"}, path));
  REQUIRE_MESSAGE(named.exit_code == 0, named.err);
  std::string text = lab::ReadFile(path);
  CHECK((text.find("name      = \"uranus\"") != std::string::npos || text.find("name        = \"uranus\"") != std::string::npos));
  CHECK(text.find("#   uranus " + lab::Address("uranus") + ":3306: named on the command line") != std::string::npos);
  CheckNoSecretIn(named.out + named.err + text);

  // An existing file is kept unless --force.
  std::ofstream(path, std::ios::trunc) << "# mine\n";
  auto again = Replplan(ImportArgs({"uranus"}, path));
  CHECK(again.exit_code == 1);
  CHECK_MESSAGE(again.err.find("exists; --force replaces it") != std::string::npos, again.err);
  CHECK(lab::ReadFile(path) == "# mine\n");
  auto args = ImportArgs({"uranus"}, path);
  args.push_back("--force");
  auto forced = Replplan(args);
  CHECK_MESSAGE(forced.exit_code == 0, forced.err);
  CHECK(lab::ReadFile(path).find("[cluster]") != std::string::npos);

  // To stdout: the same text; an unset password variable is named before anything is contacted.
  auto printed = Replplan(ImportArgs({"uranus"}, ""));
  CHECK(printed.exit_code == 0);
  CHECK(printed.out.find("[[server]]") != std::string::npos);
  CheckNoSecretIn(printed.out + printed.err);
  auto unset = lab::Run({REPLPLAN_BINARY, "import", lab::Address("uranus"), "--password-env", "LAB_NO_SUCH_VARIABLE"});
  CHECK(unset.exit_code == 1);
  CHECK_MESSAGE(unset.err.find("LAB_NO_SUCH_VARIABLE (--password-env) is unset or empty") != std::string::npos, unset.err);
}

TEST_CASE("a cluster replplan built and switched over imports to a file plan finds nothing to change in, its users and app too") {
  lab::Reset(3);
  auto applied = lab::Replplan({"apply", lab::TopologyPath(), "--yes"});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
  // uranus promoted: epoch 1 recorded; mercury may still list uranus's old dump thread for a while.
  auto switched = lab::Replplan({"switchover", lab::TopologyPath(), "--to", "uranus", "--yes"});
  REQUIRE_MESSAGE(switched.exit_code == 0, (switched.out + switched.err));
  // The app on venus, connected to the primary now (as the switchover's rewrite leaves it).
  auto deployed = lab::app::Script({"deploy", "venus", "uranus"});
  REQUIRE_MESSAGE(deployed.exit_code == 0, deployed.err);
  const std::string root = lab::Dir() + "/hosts/venus/app";
  // The replicas report their names (report_host = the server's name in lab.toml), which do not
  // resolve here: --name maps them to the addresses. From the old primary alone, now a replica.
  const std::string path = TmpPath("rebuilt.toml");
  auto args = ImportArgs({"mercury"}, path);
  args.insert(args.end(), {"--app", "secondhand=venus:" + root});
  auto imported = Replplan(args);
  REQUIRE_MESSAGE(imported.exit_code == 0, (imported.out + imported.err));
  std::string text = lab::ReadFile(path);
  CheckNoSecretIn(imported.out + imported.err + text);
  CHECK(text.find("#   uranus " + lab::Address("uranus") + ":3306: the source of mercury") != std::string::npos);
  CHECK(text.find("#   venus " + lab::Address("venus") + ":3306: listed by SHOW SLAVE HOSTS on uranus") !=
        std::string::npos);
  CHECK(text.find("primary = \"uranus\"\nepoch   = 1\n") != std::string::npos);
  CHECK(text.find("heartbeat_period = 0.1") != std::string::npos);  // lab.toml's, tighter than the default
  // lab.toml's [[user]], as replplan created it; the app, commented out until it has a restart.
  CHECK(text.find("[[user]]\nname     = \"pierre\"\npassword = { env = \"PIERRE_PASSWORD\" }\n"
                  "grants   = [\"ALL PRIVILEGES ON `secondhand_production`.*\"]\n") != std::string::npos);
  CHECK(text.find("# [[app]]\n# name        = \"secondhand\"\n# kind        = \"rails\"\n"
                  "# hosts       = [\"venus\"]\n# root        = \"" + root + "\"\n") != std::string::npos);

  auto planned = Replplan({"plan", path, "--detailed-exitcode"});
  CHECK_MESSAGE(planned.exit_code == 0, (planned.out + planned.err));
  CHECK_MESSAGE(planned.out.find("No changes") != std::string::npos, planned.out);

  // The app given its restart command (as its operator fills it in): still nothing to change, the
  // app's database.yml points at the primary.
  std::string filled = text;
  const std::string commented = filled.substr(filled.find("# [[app]]\n"));
  std::string block;
  for (size_t at = 0; at < commented.size();) {
    size_t end = commented.find('\n', at);
    block += commented.substr(at + 2, end - at - 2) + "\n";
    at = end + 1;
  }
  const std::string restart = "restart     = \"\"";
  block.replace(block.find(restart), restart.size(), "restart     = \"touch " + root + "/tmp/restart.txt\"");
  filled = filled.substr(0, filled.find("# [[app]]\n")) + block;
  std::ofstream(path, std::ios::trunc) << filled;
  auto with_app = Replplan({"plan", path, "--detailed-exitcode"});
  CHECK_MESSAGE(with_app.exit_code == 0, (with_app.out + with_app.err + filled));
}
