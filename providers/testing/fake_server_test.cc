#include "providers/testing/fake_server.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "engine/mysql_errors.h"

namespace replplan {
namespace {

ServerSpec Spec(const std::string& name) {
  ServerSpec spec;
  spec.name = name;
  spec.address = "127.0.0.9";
  return spec;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("the fake answers globals, replica status and files from its model, and logs what it was asked") {
  FakeSessionFactory factory;
  FakeServer& fake = factory.server("uranus");
  fake.globals = {{"read_only", "1"}, {"gtid_binlog_pos", "0-1-5"}, {"gtid_slave_pos", ""}};
  fake.replica = FakeServer::ReplicaRow("127.0.0.1", 3306, "repl");
  fake.files["/etc/mysql/my.cnf"] = "[mysqld]\n";
  auto session = factory.Open(Spec("uranus"));

  auto ro = session->Global("read_only");
  REQUIRE(ro.ok());
  CHECK(*ro == "1");
  CHECK(session->SetGlobal("read_only", "0").ok());
  CHECK(session->SetGlobal("gtid_slave_pos", "@@GLOBAL.gtid_binlog_pos").ok());
  CHECK(fake.globals["read_only"] == "0");
  CHECK(fake.globals["gtid_slave_pos"] == "0-1-5");
  auto unknown = session->Global("no_such_thing");
  CHECK(unknown.status().sql_errno() == 1193);

  auto channel = session->ReplicaStatus();
  REQUIRE(channel.ok());
  REQUIRE(channel->has_value());
  CHECK((*channel)->source_user == "repl");
  CHECK((*channel)->sql_running);
  CHECK(session->StopReplica(ReplicaThreads::kSql).ok());
  channel = session->ReplicaStatus();
  CHECK(!(*channel)->sql_running);
  CHECK((*channel)->io_running == "Yes");
  CHECK(session->Execute("RESET SLAVE ALL").ok());
  CHECK(!session->ReplicaStatus()->has_value());
  CHECK(session->StartReplica().sql_errno() == kErrMasterInfo);

  auto file = session->ReadFile("/etc/mysql/my.cnf");
  REQUIRE(file.ok());
  CHECK(file->value_or("") == "[mysqld]\n");
  CHECK(!session->ReadFile("/nope")->has_value());
  CHECK(session->AtomicWrite("/etc/mysql/my.cnf", "[mysqld]\nx=1\n").ok());
  CHECK(fake.files["/etc/mysql/my.cnf"] == "[mysqld]\nx=1\n");
  CHECK(fake.files["/etc/mysql/my.cnf.replplan.bak"] == "[mysqld]\n");

  CHECK(fake.log() == Lines{"sql: SELECT @@GLOBAL.read_only AS v",
                            "sql: SET GLOBAL read_only = 0",
                            "sql: SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos",
                            "sql: SELECT @@GLOBAL.no_such_thing AS v",
                            "sql: SHOW SLAVE STATUS",
                            "sql: STOP SLAVE SQL_THREAD",
                            "sql: SHOW SLAVE STATUS",
                            "sql: RESET SLAVE ALL",
                            "sql: SHOW SLAVE STATUS",
                            "sql: START SLAVE",
                            "read: /etc/mysql/my.cnf",
                            "read: /nope",
                            "write: /etc/mysql/my.cnf"});
}

TEST_CASE("the fake logs statements with the secrets the caller declared redacted, and scripted answers win") {
  FakeSessionFactory factory;
  FakeServer& fake = factory.server("uranus");
  fake.AnswerPrefix("SELECT COUNT(*)", {{{"n", "1"}}});
  auto session = factory.Open(Spec("uranus"));
  Secret password("hunter2-secret");
  CHECK(session->Execute("CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PASSWORD = 'hunter2-secret'", {&password})
            .ok());
  auto n = session->Query("SELECT COUNT(*) AS n FROM mysql.user");
  REQUIRE(n.ok());
  CHECK(n->front().at("n") == "1");
  // Neither modelled nor scripted: an error, never an empty answer a test did not mean.
  CHECK(!session->Query("SELECT 42").ok());
  for (const std::string& line : fake.log()) CHECK(line.find("hunter2") == std::string::npos);
  CHECK(fake.replica->at("Master_Host") == "127.0.0.1");
}

TEST_CASE("the fake fails the n-th statement or the next one matching, with the errno in the Status") {
  FakeSessionFactory factory;
  FakeServer& fake = factory.server("uranus");
  fake.globals = {{"read_only", "1"}};
  fake.FailStatement(2, 1290);
  fake.FailNext("SET GLOBAL read_only", 1227);
  auto session = factory.Open(Spec("uranus"));
  CHECK(session->Execute("SET SESSION sql_log_bin = 0").ok());
  Status second = session->Execute("SET SESSION sql_log_bin = 1");
  CHECK(second.sql_errno() == 1290);
  CHECK(second.code() == Status::Code::kInternal);
  CHECK(second.message() == "uranus: SET SESSION sql_log_bin = 1: query failed on 127.0.0.9:3306: The MariaDB server "
                            "is running with the --read-only option so it cannot execute this statement (1290)");
  CHECK(session->sql_connected());  // a server's error keeps the connection
  Status denied = session->SetGlobal("read_only", "0");
  CHECK(denied.sql_errno() == 1227);
  CHECK(fake.globals["read_only"] == "1");  // the failed statement changed nothing
  CHECK(session->SetGlobal("read_only", "0").ok());  // each fault fires once
  CHECK(fake.globals["read_only"] == "0");
}

TEST_CASE("a statement frozen beyond the read timeout fails with 2013 after the timeout and drops the connection") {
  FakeSessionFactory factory;
  FakeServer& fake = factory.server("uranus");
  fake.replica = FakeServer::ReplicaRow("127.0.0.1", 3306, "repl");
  fake.Freeze("STOP SLAVE", std::chrono::seconds(30));
  fake.Freeze("SHOW SLAVE STATUS", std::chrono::milliseconds(20));
  auto session = factory.Open(Spec("uranus"), SessionLimits{.sql_read_timeout_ms = 150});

  auto start = std::chrono::steady_clock::now();
  Status stop = session->StopReplica();
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(stop.code() == Status::Code::kUnavailable);
  CHECK(stop.sql_errno() == kErrServerLost);
  CHECK(stop.message().find("uranus: STOP SLAVE: ") == 0);
  CHECK(took >= std::chrono::milliseconds(150));
  CHECK(took < std::chrono::seconds(5));
  CHECK(!session->sql_connected());
  CHECK(fake.replica->at("Slave_IO_Running") == "Yes");  // never ran
  // Within the timeout: late, but answered (on a new connection).
  auto channel = session->ReplicaStatus();
  CHECK(channel.ok());
  CHECK(fake.sql_connects() == 2);
}

TEST_CASE("a connection dropped after n statements stays down until a reconnect is allowed") {
  FakeSessionFactory factory;
  FakeServer& fake = factory.server("uranus");
  fake.DropSqlAfter(1);
  auto session = factory.Open(Spec("uranus"));
  CHECK(session->Execute("SET SESSION a = 1").ok());
  Status lost = session->Execute("SET SESSION b = 1");
  CHECK(lost.sql_errno() == kErrServerLost);
  CHECK(!session->sql_connected());
  Status again = session->Execute("SET SESSION c = 1");
  CHECK(again.code() == Status::Code::kUnavailable);
  CHECK(again.sql_errno() == kErrServerLost);
  CHECK(again.message().find("uranus does not answer SQL: ") == 0);
  fake.AllowSqlReconnect();
  CHECK(session->Execute("SET SESSION d = 1").ok());
  CHECK(fake.statements() == Lines{"SET SESSION a = 1", "SET SESSION b = 1", "SET SESSION d = 1"});
}

TEST_CASE("shell faults: a failed, frozen or dropped write leaves the file as it was") {
  FakeSessionFactory factory;
  FakeServer& fake = factory.server("uranus");
  fake.files["/srv/a.yml"] = "old";
  fake.FailShell("write: /srv/a.yml", Status::Internal("disk full"));
  fake.FreezeShell("write: /srv/a.yml", std::chrono::seconds(30));
  fake.DropShell("write: /srv/a.yml");
  auto session = factory.Open(Spec("uranus"), SessionLimits{.command_timeout_ms = 100});
  CHECK(session->AtomicWrite("/srv/a.yml", "new").message() == "disk full");
  CHECK(session->AtomicWrite("/srv/a.yml", "new").code() == Status::Code::kUnavailable);  // timed out
  Status dropped = session->AtomicWrite("/srv/a.yml", "new");
  CHECK(dropped.code() == Status::Code::kUnavailable);
  CHECK(fake.files["/srv/a.yml"] == "old");
  Status down = session->Run("true").status();
  CHECK(down.code() == Status::Code::kUnavailable);
  CHECK(down.message().find("uranus: cannot open SSH session: ") == 0);
  fake.AllowShellReconnect();
  CHECK(session->AtomicWrite("/srv/a.yml", "new").ok());
  CHECK(fake.files["/srv/a.yml"] == "new");
  fake.AnswerCommand("systemctl", ExecResult{3, "", "failed"});
  auto run = session->Run("systemctl restart app");
  REQUIRE(run.ok());
  CHECK(run->exit_status == 3);
}

TEST_CASE("a refused server answers neither SQL (2003) nor SSH") {
  FakeSessionFactory factory;
  factory.Refuse("uranus");
  auto session = factory.Open(Spec("uranus"));
  Status sql = session->ConnectSql();
  CHECK(sql.code() == Status::Code::kUnavailable);
  CHECK(sql.sql_errno() == kErrConnRefused);
  CHECK(!session->Run("true").ok());
  factory.Accept("uranus");
  CHECK(session->ConnectSql().ok());
  CHECK(factory.server("uranus").log().empty());
}

}  // namespace replplan

namespace replplan {
namespace {

TEST_CASE("the fake's started commands play their script, keep their stdin, and drop after N bytes when told") {
  FakeSessionFactory factory;
  FakeServer& fake = factory.server("uranus");
  FakeServer::CommandScript echo;
  echo.out = "hello world";
  echo.exit_status = 3;
  echo.err = "bye\n";
  fake.ScriptCommand("produce", echo);
  FakeServer::CommandScript sink;
  sink.until_stdin_eof = true;
  fake.ScriptCommand("consume", sink);
  auto session = factory.Open(Spec("uranus"));

  auto producer = session->StartCommand("produce --all");
  REQUIRE(producer.ok());
  char buffer[64];
  auto n = (*producer)->ReadStdout(buffer, sizeof(buffer));
  REQUIRE(n.ok());
  CHECK(std::string(buffer, *n) == "hello world");
  CHECK((*producer)->stdout_eof());
  auto exit = (*producer)->Finish(1000);
  REQUIRE(exit.ok());
  CHECK(exit->exit_status == 3);
  CHECK(exit->err == "bye\n");
  producer->reset();

  auto consumer = session->StartCommand("consume");
  REQUIRE(consumer.ok());
  CHECK_FALSE((*consumer)->remote_closed());
  REQUIRE((*consumer)->WriteStdin("abc", 3).ok());
  CHECK_FALSE((*consumer)->stdout_eof());  // its output ends when its stdin does
  REQUIRE((*consumer)->Finish(1000).ok());
  CHECK((*consumer)->stdout_eof());
  consumer->reset();

  fake.DropStreamAfter("start: produce", 5);
  auto dropped = session->StartCommand("produce");
  REQUIRE(dropped.ok());
  n = (*dropped)->ReadStdout(buffer, sizeof(buffer));
  REQUIRE(n.ok());
  CHECK(std::string(buffer, *n) == "hello");
  n = (*dropped)->ReadStdout(buffer, sizeof(buffer));
  REQUIRE_FALSE(n.ok());
  CHECK(n.status().code() == Status::Code::kUnavailable);
  dropped->reset();
  CHECK_FALSE(session->Run("true").ok());  // the connection is gone until the host takes one again

  const auto started = fake.started();
  REQUIRE(started.size() == 3);
  CHECK(started[0].finished);
  CHECK(started[1].input == "abc");
  CHECK(started[1].stdin_closed);
  CHECK(started[2].abandoned);
  // The refused run never reached the host: not logged.
  CHECK(fake.log() == Lines{"start: produce --all", "start: consume", "start: produce"});
}

TEST_CASE("a started command's Converse: its input kept, its whole output at once; a silent one times out and closes "
          "its session's connection") {
  FakeSessionFactory factory;
  FakeServer& fake = factory.server("uranus");
  FakeServer::CommandScript echo;
  echo.out = "hello";
  echo.exit_status = 2;
  echo.err = "bye\n";
  fake.ScriptCommand("produce", echo);
  FakeServer::CommandScript silent;
  silent.silent = true;
  fake.ScriptCommand("hang", silent);
  auto session = factory.Open(Spec("uranus"));

  auto producer = session->StartCommand("produce");
  REQUIRE(producer.ok());
  auto answer = (*producer)->Converse("in", 1000);
  REQUIRE(answer.ok());
  CHECK(answer->out == "hello");
  CHECK(answer->err == "bye\n");
  CHECK(answer->exit_status == 2);
  producer->reset();

  auto hung = session->StartCommand("hang");
  REQUIRE(hung.ok());
  auto timed_out = (*hung)->Converse("", 250);
  REQUIRE_FALSE(timed_out.ok());
  CHECK(timed_out.status().code() == Status::Code::kUnavailable);
  CHECK(timed_out.status().message() == "ssh root@127.0.0.9:22: command timed out after 250 ms");
  hung->reset();

  const auto started = fake.started();
  REQUIRE(started.size() == 2);
  CHECK(started[0].input == "in");
  CHECK(started[0].stdin_closed);
  CHECK(started[0].finished);
  CHECK(started[1].abandoned);
  // A new SSH connection for the next verb (the host still takes them).
  CHECK(session->Run("true").ok());
  CHECK(fake.log() == Lines{"start: produce", "start: hang", "run: true"});
}

TEST_CASE("the fake refuses a login with the errno it is given, and lists directories from its files") {
  FakeSessionFactory factory;
  FakeServer& fake = factory.server("uranus");
  fake.FailConnect(kErrAccessDenied);
  fake.files["/etc/mysql/conf.d/a.cnf"] = "";
  fake.files["/etc/mysql/conf.d/sub/b.cnf"] = "";
  SessionLimits bare;
  bare.name_errors = false;
  auto session = factory.Open(Spec("uranus"), bare);
  Status refused = session->ConnectSql();
  CHECK(refused.sql_errno() == kErrAccessDenied);
  CHECK(refused.code() == Status::Code::kAuthFailed);
  CHECK(refused.message() == "cannot connect to 127.0.0.9:3306: " + FakeMysqlErrorText(kErrAccessDenied) + " (1045)");
  fake.AllowSqlReconnect();
  CHECK(session->ConnectSql().ok());

  auto listed = session->ListDirectories({"/etc/mysql/conf.d", "/etc/mysql/none"});
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].exists);
  CHECK((*listed)[0].names == std::vector<std::string>{"a.cnf", "sub"});
  CHECK_FALSE((*listed)[1].exists);
  CHECK((*listed)[1].read_ok);
}

}  // namespace
}  // namespace replplan
