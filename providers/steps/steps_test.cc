// Steps called directly, over a fake server's session and a StepContext: no executor, no server.
#include "providers/steps/steps.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "engine/grant_spec.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "providers/testing/fake_server.h"
#include "providers/testing/fake_topology.h"

namespace replplan {
namespace {

using Lines = std::vector<std::string>;

// One server's step context over a fake: what the executor builds for each action.
struct Bench {
  Topology topology;
  FakeSessionFactory factory;
  FakeServer& server;
  std::unique_ptr<ServerSession> session;
  steps::ResolvedSecrets secrets;
  ProgressFn progress;
  std::map<std::string, std::string> rewritten;

  explicit Bench(const std::string& name)
      : topology(FakeTopology()), server(factory.server(name)), session(factory.Open(*topology.FindServer(name))),
        secrets(topology) {}
  steps::StepContext Context() {
    return steps::StepContext{.topology = topology,
                              .server = *topology.FindServer(session->name()),
                              .session = *session,
                              .secrets = secrets,
                              .progress = progress,
                              .sessions = factory,
                              .rewritten = rewritten,
                              .health_timeout_s = 60};
  }
};

Action SetGlobalOn(const std::string& host, const SetGlobalArgs& args) {
  Action action;
  action.id = host + "/set-global";
  action.host = host;
  action.SetArgs(args);
  return action;
}

TEST_CASE("set-global sets only the variables that differ, in name order, words as strings, and a rerun sets none") {
  Bench bench("uranus");
  bench.server.globals = {{"binlog_format", "MIXED"}, {"read_only", "0"}, {"server_id", "2"}, {"slave_net_timeout", "60"}};
  SetGlobalArgs args;
  args.slave_net_timeout = 5;
  args.server_id = 2;
  args.read_only = true;
  args.binlog_format = "ROW";
  const Action action = SetGlobalOn("uranus", args);

  Status set = steps::SetGlobal(bench.Context(), action);
  REQUIRE_MESSAGE(set.ok(), set.message());
  CHECK(bench.server.statements() == Lines{"SELECT @@GLOBAL.binlog_format AS v", "SET GLOBAL binlog_format = 'ROW'",
                                           "SELECT @@GLOBAL.read_only AS v", "SET GLOBAL read_only = ON",
                                           "SELECT @@GLOBAL.server_id AS v", "SELECT @@GLOBAL.slave_net_timeout AS v",
                                           "SET GLOBAL slave_net_timeout = 5"});
  CHECK(bench.server.globals.at("binlog_format") == "ROW");
  CHECK(bench.server.globals.at("read_only") == "1");
  CHECK(bench.server.globals.at("slave_net_timeout") == "5");

  bench.server.ClearLog();
  Status again = steps::SetGlobal(bench.Context(), action);
  REQUIRE_MESSAGE(again.ok(), again.message());
  CHECK(bench.server.statements() == Lines{"SELECT @@GLOBAL.binlog_format AS v", "SELECT @@GLOBAL.read_only AS v",
                                           "SELECT @@GLOBAL.server_id AS v", "SELECT @@GLOBAL.slave_net_timeout AS v"});
}

TEST_CASE("set-global args out of range are refused as a stale plan before any statement is sent") {
  Bench bench("uranus");
  bench.server.globals = {{"read_only", "0"}, {"server_id", "2"}};
  SetGlobalArgs args;
  args.read_only = true;
  args.server_id = 0;  // no reader or planner makes one; held to 1..4294967295 all the same
  Status refused = steps::SetGlobal(bench.Context(), SetGlobalOn("uranus", args));
  CHECK(refused.code() == Status::Code::kInvalidArgument);
  CHECK(refused.message() == "stale plan: uranus/set-global sets server_id to '0', not a valid value (plan again)");
  CHECK(bench.server.statements().empty());
  CHECK(bench.server.globals.at("read_only") == "0");
}

Action InjectOn(const std::string& host, std::vector<GtidRange> gtids) {
  Action action;
  action.id = host + "/inject-empty-transactions/uranus";
  action.host = host;
  action.SetArgs(InjectEmptyTransactionsArgs{"uranus", std::move(gtids)});
  return action;
}

TEST_CASE("inject-empty-transactions: each missing GTID to a binlogged no-op under the session's GTID variables, "
          "restored after; a binlog that did not move is an error") {
  Bench bench("mercury");
  bench.server.globals = {{"log_bin", "1"}, {"gtid_binlog_pos", "0-3-43"}};  // 0-3-43 went in already
  Status injected = steps::InjectEmptyTransactions(bench.Context(), InjectOn("mercury", {{0, 3, 43, 44}}));
  CHECK(bench.server.statements() ==
        Lines{"SELECT @@GLOBAL.log_bin AS v", "SELECT @@GLOBAL.gtid_binlog_pos AS v",
              "SET SESSION gtid_domain_id = 0, SESSION server_id = 3, SESSION gtid_seq_no = 44",
              "CREATE DATABASE IF NOT EXISTS mysql /* replplan: empty transaction 0-3-44 for errant transactions of "
              "uranus */",
              "SET SESSION gtid_domain_id = @@GLOBAL.gtid_domain_id, SESSION server_id = @@GLOBAL.server_id, "
              "SESSION gtid_seq_no = 0",
              "SELECT @@GLOBAL.gtid_binlog_pos AS v"});
  // The fake's position does not move: what a filtered binlog does, and the replicas would get nothing.
  CHECK(injected.code() == Status::Code::kInternal);
  CHECK(injected.message() ==
        "mercury: the empty transaction 0-3-44 committed but is not in the binary log (@@gtid_binlog_pos 0-3-43)");

  SUBCASE("all in already: nothing is sent") {
    bench.server.globals["gtid_binlog_pos"] = "0-3-44";
    bench.server.ClearLog();
    Status again = steps::InjectEmptyTransactions(bench.Context(), InjectOn("mercury", {{0, 3, 43, 44}}));
    REQUIRE_MESSAGE(again.ok(), again.message());
    CHECK(bench.server.statements() == Lines{"SELECT @@GLOBAL.log_bin AS v", "SELECT @@GLOBAL.gtid_binlog_pos AS v"});
  }
  SUBCASE("the primary wrote those numbers since the plan: stale, nothing sent") {
    bench.server.globals["gtid_binlog_pos"] = "0-1-43";
    bench.server.ClearLog();
    Status stale = steps::InjectEmptyTransactions(bench.Context(), InjectOn("mercury", {{0, 3, 43, 44}}));
    CHECK(stale.code() == Status::Code::kFailedPrecondition);
    CHECK(stale.message() == "stale plan: mercury/inject-empty-transactions/uranus injects 0-3-43..0-3-44, but "
                             "mercury has written domain 0 up to 0-1-43 since (plan again)");
    CHECK(bench.server.statements().size() == 2);
  }
  SUBCASE("no binary log: refused before anything is sent") {
    bench.server.globals["log_bin"] = "0";
    bench.server.ClearLog();
    Status off = steps::InjectEmptyTransactions(bench.Context(), InjectOn("mercury", {{0, 3, 43, 44}}));
    CHECK(off.code() == Status::Code::kFailedPrecondition);
    CHECK(off.message().find("mercury runs without a binary log") == 0);
    CHECK(bench.server.statements() == Lines{"SELECT @@GLOBAL.log_bin AS v"});
  }
}

TEST_CASE("reset-replica forgets the channel its args name, and a channel already gone needs nothing") {
  Bench bench("uranus");
  bench.server.replica = FakeServer::ReplicaRow("127.0.0.1", 3306, "repl");
  Action action;
  action.id = "uranus/reset-replica";
  action.host = "uranus";
  action.SetArgs(ResetReplicaArgs{});
  Status reset = steps::ResetReplica(bench.Context(), action);
  REQUIRE_MESSAGE(reset.ok(), reset.message());
  CHECK(bench.server.statements() == Lines{"SHOW ALL SLAVES STATUS", "STOP SLAVE", "RESET SLAVE ALL"});
  CHECK_FALSE(bench.server.replica.has_value());

  bench.server.ClearLog();
  Status again = steps::ResetReplica(bench.Context(), action);
  REQUIRE_MESSAGE(again.ok(), again.message());
  CHECK(bench.server.statements() == Lines{"SHOW ALL SLAVES STATUS"});
}

TEST_CASE("create-user with the binary log off (a replica's repair, 1133/1396) creates and grants unlogged, then logs again") {
  Bench bench("uranus");
  UserSpec pierre;
  pierre.name = "pierre";
  pierre.password = bench.topology.replication.password;  // any resolvable secret
  auto grant = ParseGrant("SELECT ON `shop`.*");
  REQUIRE(grant.ok());
  pierre.grants.push_back(*grant);
  bench.topology.users.push_back(pierre);
  bench.secrets = steps::ResolvedSecrets(bench.topology);
  bench.server.Answer("SELECT COUNT(*) AS n FROM mysql.user WHERE user = 'pierre' AND host = '%'", {{{"n", "0"}}});
  bench.server.Answer("SHOW GRANTS FOR 'pierre'@'%'", {{{"Grants for pierre@%", "GRANT USAGE ON *.* TO `pierre`@`%`"}}});
  Action action;
  action.id = "uranus/create-user/pierre@%";
  action.host = "uranus";
  action.SetArgs(CreateUserArgs{"pierre", "%", {"SELECT ON `shop`.*"}, /*binlog_off=*/true});
  Status created = steps::CreateUser(bench.Context(), action);
  REQUIRE_MESSAGE(created.ok(), created.message());
  Lines sent = bench.server.statements();
  REQUIRE(sent.size() >= 4);
  CHECK(sent[1] == "SET SESSION sql_log_bin = 0");
  CHECK(sent[2].rfind("CREATE USER IF NOT EXISTS 'pierre'@'%'", 0) == 0);
  CHECK(std::find(sent.begin(), sent.end(), "GRANT SELECT ON `shop`.* TO 'pierre'@'%'") != sent.end());
  CHECK(sent.back() == "SET SESSION sql_log_bin = 1");
}

}  // namespace
}  // namespace replplan
