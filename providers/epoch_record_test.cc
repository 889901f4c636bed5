// The epoch record and the lost-transaction read (providers/epoch_record.h, lost_transactions.h)
// over fake servers: what each asks the server, and the words a failure leaves in the move's report
// (MoveOutcome::epoch_error, LostTransactions::why_unknown).
#include "providers/epoch_record.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/cluster_epoch.h"
#include "engine/mysql_errors.h"
#include "providers/lost_transactions.h"
#include "providers/testing/fake_server.h"
#include "providers/testing/fake_topology.h"

namespace replplan {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_CASE("the epoch recorded on the new primary is past its own newest, in the statements cluster_epoch.h gives, "
          "on a fresh connection") {
  Topology topology = FakeTopology();
  const ServerSpec& uranus = *topology.FindServer("uranus");
  FakeSessionFactory sessions;
  FakeServer& server = sessions.server("uranus");
  server.Answer(ReadLatestEpochSql(), {Row{{"epoch", "7"}, {"primary_name", "mercury"}, {"kind", "switchover"}}});

  auto epoch = RecordEpoch(sessions, uranus, 3, "failover", "replplan watch by test@here");
  REQUIRE_MESSAGE(epoch.ok(), epoch.status().message());
  CHECK(*epoch == 8);
  EpochRecord record;
  record.epoch = 8;
  record.primary = "uranus";
  record.kind = "failover";
  record.promoted_by = "replplan watch by test@here";
  std::vector<std::string> expected = {ReadLatestEpochSql()};
  for (const std::string& s : RecordEpochStatements(record)) expected.push_back(s);
  CHECK(server.statements() == expected);
  CHECK(server.sql_connects() == 1);
}

TEST_CASE("an epoch record that fails says on which server and at which step; one that cannot connect says so") {
  Topology topology = FakeTopology();
  const ServerSpec& uranus = *topology.FindServer("uranus");
  FakeSessionFactory sessions;
  FakeServer& server = sessions.server("uranus");
  server.Answer(ReadLatestEpochSql(), {});
  server.FailNext("INSERT INTO ", 1290);
  auto failed = RecordEpoch(sessions, uranus, 4, "switchover", "me");
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().sql_errno() == 1290);
  CHECK(failed.status().message() ==
        "uranus: recording epoch 4: query failed on 127.0.0.2:3306: " + FakeMysqlErrorText(1290) + " (1290)");

  sessions.Refuse("uranus");
  auto unreachable = RecordEpoch(sessions, uranus, 4, "switchover", "me");
  REQUIRE_FALSE(unreachable.ok());
  CHECK(Contains(unreachable.status().message(), "uranus does not answer SQL: "));
}

TEST_CASE("lost transactions: the old primary's binlog GTIDs read over its shell against the new primary's "
          "position; an unreachable host or an unreadable binlog is 'unknown', with why") {
  Topology topology = FakeTopology();
  ServerSpec mercury = *topology.FindServer("mercury");
  mercury.log_bin = "/var/lib/mysql/mysql-bin";
  FakeSessionFactory sessions;
  FakeServer& server = sessions.server("mercury");

  SUBCASE("read") {
    server.AnswerCommand("bash -o pipefail -c ", ExecResult{0, "GTID 0-1-41\nGTID 0-1-42\nGTID 0-1-43\n", ""});
    LostTransactions lost = FindLostTransactions(sessions, mercury, "0-1-41");
    CHECK(lost.known);
    CHECK(lost.old_position == "0-1-43");
    CHECK(lost.lost == "0-1-42..0-1-43");
    REQUIRE(server.log().size() == 1);
    CHECK(Contains(server.log()[0], "mysql-bin.index"));
    CHECK(server.statements().empty());  // the shell only: its mariadbd may be dead
  }
  SUBCASE("unreadable") {
    server.AnswerCommand("bash -o pipefail -c ", ExecResult{3, "", "empty binlog index\n"});
    LostTransactions lost = FindLostTransactions(sessions, mercury, "0-1-41");
    CHECK_FALSE(lost.known);
    CHECK(lost.why_unknown == "cannot read mercury's binlog (/var/lib/mysql/mysql-bin.index): empty binlog index");
  }
  SUBCASE("unreachable") {
    sessions.Refuse("mercury");
    LostTransactions lost = FindLostTransactions(sessions, mercury, "0-1-41");
    CHECK_FALSE(lost.known);
    CHECK(lost.why_unknown == "cannot reach mercury over SSH to read its binlog: mercury: cannot open SSH session: "
                              "ssh " + mercury.ssh.user + "@127.0.0.1:" + std::to_string(mercury.ssh.port) +
                              ": cannot connect: Connection refused");
  }
}

}  // namespace
}  // namespace replplan
