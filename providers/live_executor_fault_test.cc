// The live executor on the fake server (providers/testing/fake_server.h): faults at a chosen step,
// what was executed, and what the apply report says. No server, no sshd.
#include "providers/live_executor.h"

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/applier.h"
#include "engine/mysql_errors.h"
#include "providers/testing/fake_server.h"
#include "providers/testing/fake_topology.h"

namespace replplan {
namespace {

using Lines = std::vector<std::string>;

constexpr const char* kAppPassword = "app-db-pw-c41e8b";

PlannedAction Planned(const std::string& id, const std::string& host, ActionArgs args,
                      std::vector<std::string> depends_on = {}) {
  PlannedAction pa;
  pa.action.id = id;
  pa.action.host = host;
  pa.action.summary = id;
  pa.action.SetArgs(std::move(args));
  pa.depends_on = std::move(depends_on);
  return pa;
}

ApplyReport Apply(ActionExecutor& executor, std::vector<PlannedAction> actions) {
  Plan plan;
  plan.cluster = "fake";
  plan.actions = std::move(actions);
  return ApplyPlan(plan, executor, 2, nullptr);
}

const ActionOutcome& OutcomeOf(const ApplyReport& report, const std::string& id) {
  for (const ActionOutcome& o : report.outcomes) {
    if (o.id == id) return o;
  }
  FAIL("no outcome for " << id);
  return report.outcomes.front();
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void CheckNoSecret(const std::string& text) {
  CHECK_FALSE(Contains(text, kFakeAdminPassword));
  CHECK_FALSE(Contains(text, kFakeReplPassword));
  CHECK_FALSE(Contains(text, kAppPassword));
}

const std::string kDatabaseYml = std::string(
                                     "production:\n"
                                     "  adapter: mysql2\n"
                                     "  host: 127.0.0.1\n"
                                     "  port: 3306\n"
                                     "  password: ") +
                                 kAppPassword + "\n";

}  // namespace

TEST_CASE("change-source on a replica whose STOP SLAVE blocks past the read timeout stops there, and says so") {
  Topology topology = FakeTopology();
  FakeSessionFactory factory;
  FakeServer& uranus = factory.server("uranus");
  uranus.default_read_timeout_ms = 200;  // the connection's read timeout (Connector/C's, on the real one)
  uranus.replica = FakeServer::ReplicaRow("127.0.0.9", 3306, "repl");  // another source: the change is needed
  uranus.Freeze("STOP SLAVE", std::chrono::seconds(10));
  auto executor = MakeLiveExecutor(topology, factory);

  const auto start = std::chrono::steady_clock::now();
  ApplyReport report = Apply(
      *executor,
      {Planned("uranus/change-source", "uranus",
               ChangeSourceArgs{.source = "mercury", .mode = ReplicationMode::kGtid, .use_gtid = UseGtid::kSlavePos}),
       Planned("uranus/start-replica", "uranus", StartReplicaArgs{}, {"uranus/change-source"})});
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));  // bounded by the timeout, not the freeze

  // Exactly these reached the server: no CHANGE MASTER, no START SLAVE after the blocked STOP.
  CHECK(uranus.statements() == Lines{"SHOW SLAVE STATUS", "SHOW ALL SLAVES STATUS", "STOP SLAVE"});
  CHECK(uranus.replica->at("Master_Host") == "127.0.0.9");

  const ActionOutcome& changed = OutcomeOf(report, "uranus/change-source");
  REQUIRE(changed.state == ActionOutcome::State::kFailed);
  CHECK(changed.status.code() == Status::Code::kUnavailable);
  CHECK(changed.status.sql_errno() == kErrServerLost);
  CHECK(changed.status.message() ==
        "uranus: STOP SLAVE: query failed on 127.0.0.2:3306: Lost connection to server during query (2013)");
  const ActionOutcome& started = OutcomeOf(report, "uranus/start-replica");
  CHECK(started.state == ActionOutcome::State::kNotAttempted);
  CHECK(started.blocked_by == "uranus/change-source");
  CHECK(report.failed() == 1);
  CheckNoSecret(RenderApplyReport(report));
}

TEST_CASE("promote-replica whose third statement fails with 1290 never turns read_only off") {
  Topology topology = FakeTopology();
  FakeSessionFactory factory;
  FakeServer& uranus = factory.server("uranus");
  uranus.globals = {{"read_only", "1"}};
  uranus.replica = FakeServer::ReplicaRow("127.0.0.1", 3306, "repl");
  uranus.files[topology.apps.front().DatabaseYmlPath()] = kDatabaseYml;
  uranus.FailStatement(3, 1290);
  auto executor = MakeLiveExecutor(topology, factory);

  ApplyReport report = Apply(
      *executor, {Planned("uranus/promote-replica", "uranus", PromoteReplicaArgs{.source = "mercury"}),
                  Planned("uranus/rewrite-app-config/shop", "uranus",
                          RewriteAppConfigArgs{.app = "shop", .primary = "uranus"}, {"uranus/promote-replica"})});

  CHECK(uranus.log() == Lines{"sql: SHOW SLAVE STATUS", "sql: STOP SLAVE", "sql: RESET SLAVE ALL"});
  CHECK(uranus.globals.at("read_only") == "1");
  CHECK(uranus.replica.has_value());  // the failed RESET left the channel
  CHECK(uranus.files.at(topology.apps.front().DatabaseYmlPath()) == kDatabaseYml);

  const ActionOutcome& promoted = OutcomeOf(report, "uranus/promote-replica");
  REQUIRE(promoted.state == ActionOutcome::State::kFailed);
  CHECK(promoted.status.sql_errno() == 1290);
  CHECK(promoted.status.code() == Status::Code::kInternal);
  CHECK(promoted.status.message() ==
        "uranus: RESET SLAVE ALL: query failed on 127.0.0.2:3306: The MariaDB server is running with the "
        "--read-only option so it cannot execute this statement (1290)");
  const ActionOutcome& rewrite = OutcomeOf(report, "uranus/rewrite-app-config/shop");
  CHECK(rewrite.state == ActionOutcome::State::kNotAttempted);
  CHECK(rewrite.blocked_by == "uranus/promote-replica");
}

TEST_CASE("a connection dropped while database.yml is written leaves the old file, and a rerun converges") {
  Topology topology = FakeTopology();
  const std::string yml = topology.apps.front().DatabaseYmlPath();
  FakeSessionFactory factory;
  FakeServer& uranus = factory.server("uranus");
  uranus.files[yml] = kDatabaseYml;
  uranus.DropShell("write: " + yml);
  auto executor = MakeLiveExecutor(topology, factory);
  auto rewrite = [&] {
    return Planned("uranus/rewrite-app-config/shop", "uranus", RewriteAppConfigArgs{.app = "shop", .primary = "uranus"});
  };

  ApplyReport report = Apply(*executor, {rewrite(), Planned("uranus/restart-app/shop", "uranus",
                                                            RestartAppArgs{.app = "shop"}, {"uranus/rewrite-app-config/shop"})});

  // Read, the write that dropped, and nothing after it (no restart, no marker).
  CHECK(uranus.log() == Lines{"read: " + yml, "write: " + yml});
  CHECK(uranus.files.at(yml) == kDatabaseYml);
  CHECK(uranus.files.count(yml + ".replplan.restarted") == 0);
  const ActionOutcome& failed = OutcomeOf(report, "uranus/rewrite-app-config/shop");
  REQUIRE(failed.state == ActionOutcome::State::kFailed);
  CHECK(failed.status.code() == Status::Code::kUnavailable);
  CHECK(failed.status.message() ==
        "uranus: " + yml + ": ssh root@127.0.0.2:22: reading command output failed: connection reset by peer");
  CHECK(OutcomeOf(report, "uranus/restart-app/shop").state == ActionOutcome::State::kNotAttempted);
  const std::string rendered = RenderApplyReport(report);
  CHECK(Contains(rendered, "uranus: " + yml));
  CheckNoSecret(rendered);

  // Still down: the next run says it cannot reach the host, and writes nothing.
  uranus.ClearLog();
  Status down = executor->Execute(rewrite().action, nullptr);
  CHECK(down.code() == Status::Code::kUnavailable);
  CHECK(Contains(down.message(), "uranus: cannot open SSH session"));
  CHECK(uranus.log().empty());

  // Back: the rerun writes the new primary once, and a third run finds nothing to do.
  uranus.AllowShellReconnect();
  CHECK(executor->Execute(rewrite().action, nullptr).ok());
  CHECK(Contains(uranus.files.at(yml), "host: 127.0.0.2\n"));
  CHECK(Contains(uranus.files.at(yml), "password: " + std::string(kAppPassword)));
  CHECK(uranus.files.at(yml + ".replplan.bak") == kDatabaseYml);
  uranus.ClearLog();
  CHECK(executor->Execute(rewrite().action, nullptr).ok());
  CHECK(uranus.log() == Lines{"read: " + yml});
}

}  // namespace replplan
