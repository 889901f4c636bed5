// The live-state read (providers/live_provider.h) over fake servers: what it asks each server, and
// what a failing server leaves in the raw state the conditions are diagnosed from.
#include "providers/live_provider.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "engine/conditions.h"
#include "engine/mysql_errors.h"
#include "engine/sql_quote.h"
#include "providers/testing/fake_server.h"
#include "providers/testing/fake_topology.h"

namespace replplan {
namespace {

std::string VariablesSql() {
  std::string in;
  for (const std::string& name : LiveVariableNames()) in += (in.empty() ? "" : ", ") + QuoteString(name);
  return "SHOW GLOBAL VARIABLES WHERE Variable_name IN (" + in + ")";
}

const std::string kSchemata =
    "SELECT schema_name AS schema_name, default_character_set_name AS default_character_set_name, "
    "default_collation_name AS default_collation_name FROM information_schema.SCHEMATA ORDER BY schema_name";
const std::string kUsers = "SELECT user AS user, host AS host, plugin AS plugin FROM mysql.user ORDER BY user, host";

// mercury as a healthy primary would answer: its variables, no replica channel, one database, the
// replication account with its grant, and its config file.
struct ReadLab {
  ReadLab() {
    FakeServer& m = sessions.server("mercury");
    m.Answer(VariablesSql(), {Row{{"Variable_name", "server_id"}, {"Value", "1"}},
                              Row{{"Variable_name", "read_only"}, {"Value", "OFF"}}});
    m.Answer(kSchemata, {Row{{"schema_name", "shop"},
                             {"default_character_set_name", "utf8mb4"},
                             {"default_collation_name", "utf8mb4_general_ci"}}});
    m.Answer(kUsers, {Row{{"user", "repl"}, {"host", "%"}, {"plugin", "mysql_native_password"}}});
    m.Answer("SHOW GRANTS FOR 'repl'@'%'", {Row{{"Grants for repl@%", "GRANT REPLICATION SLAVE ON *.* TO `repl`@`%`"}}});
    m.files[config_file()] = "[mysqld]\nserver_id = 1\n";
  }
  RawServerState Read() {
    LiveProvider provider(sessions, ExtraProbes::kWhenNeeded);
    return provider.ReadState(topology, *topology.FindServer("mercury"));
  }
  std::string config_file() const { return topology.FindServer("mercury")->config_file; }
  std::vector<Condition> Conditions(const RawServerState& raw) const {
    LiveState live;
    live.servers["mercury"] = ParseServerState(raw);
    std::vector<Condition> mine;
    for (Condition& c : Diagnose(topology, live)) {
      if (c.host == "mercury") mine.push_back(std::move(c));
    }
    return mine;
  }

  Topology topology = FakeTopology();
  FakeSessionFactory sessions;
};

TEST_CASE("the live read asks each server its statements in order and its files in one read, and fills the state") {
  ReadLab lab;
  RawServerState raw = lab.Read();
  REQUIRE_MESSAGE(raw.sql_ok, raw.sql_error);
  CHECK(lab.sessions.server("mercury").statements() ==
        std::vector<std::string>{VariablesSql(), "SHOW ALL SLAVES STATUS", kSchemata, kUsers,
                                 "SHOW GRANTS FOR 'repl'@'%'"});
  CHECK(raw.variables["server_id"] == "1");
  CHECK(raw.variables["read_only"] == "OFF");
  CHECK(raw.replica_status.empty());
  REQUIRE(raw.databases.size() == 1);
  CHECK(raw.grants["'repl'@'%'"] == std::vector<std::string>{"GRANT REPLICATION SLAVE ON *.* TO `repl`@`%`"});
  REQUIRE_MESSAGE(raw.ssh_ok, raw.ssh_error);
  CHECK(raw.config_text == "[mysqld]\nserver_id = 1\n");
  CHECK_FALSE(raw.process.probed);  // SQL answered: nothing to probe
}

TEST_CASE("the live read's third statement failing with an errno: the state says which read failed, with the errno, "
          "and nothing read after it") {
  ReadLab lab;
  lab.sessions.server("mercury").FailStatement(3, 1227);
  RawServerState raw = lab.Read();
  CHECK_FALSE(raw.sql_ok);
  CHECK(raw.sql_errno == 1227);
  CHECK(raw.sql_error == "reading databases: query failed on 127.0.0.1:3306: " + FakeMysqlErrorText(1227) + " (1227)");
  CHECK(lab.sessions.server("mercury").statements() ==
        std::vector<std::string>{VariablesSql(), "SHOW ALL SLAVES STATUS", kSchemata});
  CHECK(raw.ssh_ok);  // the SSH half is read all the same
}

TEST_CASE("the live read over a connection dropped mid-read: 2013, named at the statement it was lost on") {
  ReadLab lab;
  lab.sessions.server("mercury").DropSqlAfter(3);
  RawServerState raw = lab.Read();
  CHECK_FALSE(raw.sql_ok);
  CHECK(raw.sql_errno == kErrServerLost);
  CHECK(raw.sql_error == "reading users: query failed on 127.0.0.1:3306: Lost connection to server during query (2013)");
}

TEST_CASE("a refused login (1045) is the wrong-password condition, and no process is probed for it") {
  ReadLab lab;
  lab.sessions.server("mercury").FailConnect(kErrAccessDenied);
  RawServerState raw = lab.Read();
  CHECK_FALSE(raw.sql_ok);
  CHECK(raw.sql_errno == kErrAccessDenied);
  CHECK(raw.sql_error == "cannot connect to 127.0.0.1:3306: " + FakeMysqlErrorText(kErrAccessDenied) + " (1045)");
  CHECK(lab.sessions.server("mercury").statements().empty());
  CHECK_FALSE(raw.process.probed);
  const auto conditions = lab.Conditions(raw);
  REQUIRE(conditions.size() == 1);
  CHECK(conditions[0].type == "wrong-password");
}

TEST_CASE("a refused connection with SSH answering: the process is probed over the same read, and a stopped "
          "mariadbd is the server-down condition") {
  ReadLab lab;
  lab.sessions.Refuse("mercury");
  // Refuse covers SSH too: let SSH answer, SQL refuse.
  lab.sessions.Accept("mercury");
  lab.sessions.server("mercury").FailConnect(kErrConnRefused);
  lab.sessions.server("mercury").AnswerCommand("p=$(pgrep -xo mariadbd", ExecResult{0, "stopped\n", ""});
  RawServerState raw = lab.Read();
  CHECK(raw.sql_errno == kErrConnRefused);
  CHECK(raw.process.probed);
  CHECK_FALSE(raw.process.running);
  CHECK(raw.process.error.empty());
  const auto log = lab.sessions.server("mercury").log();
  REQUIRE(log.size() == 2);
  CHECK(log[0] == "read: " + lab.config_file());
  CHECK(log[1].rfind("run: p=$(pgrep -xo mariadbd || pgrep -xo mysqld); ", 0) == 0);
  const auto conditions = lab.Conditions(raw);
  REQUIRE(conditions.size() == 1);
  CHECK(conditions[0].type == "server-down");
}

TEST_CASE("a frozen server: SQL and SSH each give up after their own bound, and the host is reported down") {
  ReadLab lab;
  for (ServerSpec& server : lab.topology.servers) server.ssh.command_timeout_ms = 200;
  FakeServer& server = lab.sessions.server("mercury");
  server.default_read_timeout_ms = 200;
  server.Freeze("SHOW GLOBAL VARIABLES", std::chrono::seconds(30));
  server.FreezeShell("read: ", std::chrono::seconds(30));
  const auto start = std::chrono::steady_clock::now();
  RawServerState raw = lab.Read();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));  // the halves ran side by side
  CHECK_FALSE(raw.sql_ok);
  CHECK(raw.sql_errno == kErrServerLost);
  CHECK(raw.sql_error ==
        "reading variables: query failed on 127.0.0.1:3306: Lost connection to server during query (2013)");
  CHECK_FALSE(raw.ssh_ok);
  CHECK(raw.ssh_error == "ssh root@127.0.0.1:22: command timed out after 200 ms");
  CHECK_FALSE(raw.process.probed);
  const auto conditions = lab.Conditions(raw);
  REQUIRE(conditions.size() == 1);
  CHECK(conditions[0].type == "unreachable");
  CHECK(conditions[0].severity == Severity::kBroken);
  CHECK(conditions[0].error_number == kErrServerLost);
  CHECK(conditions[0].reason == "sql-errno-2013");
  REQUIRE(conditions[0].evidence.size() == 2);
  CHECK(conditions[0].evidence[0].find(": reading variables: query failed on 127.0.0.1:3306: ") != std::string::npos);
  CHECK(conditions[0].evidence[1] == "SSH: ssh root@127.0.0.1:22: command timed out after 200 ms");
}

}  // namespace
}  // namespace replplan
