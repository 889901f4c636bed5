// Seeding a replica (providers/seeder.h) over fake servers: the statements each side is asked, the
// bytes the restore receives from the dump, and what a seed whose stream breaks reports and leaves.
#include "providers/seeder.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/sql_quote.h"
#include "providers/testing/fake_server.h"
#include "providers/testing/fake_topology.h"

namespace replplan {
namespace {

constexpr const char* kPrimarySocket = "/run/mysqld/mercury.sock";
constexpr const char* kReplicaSocket = "/run/mysqld/uranus.sock";
const std::string kSchemata = "SELECT schema_name AS name FROM information_schema.SCHEMATA ORDER BY schema_name";

std::vector<Row> Databases(const std::vector<std::string>& names) {
  std::vector<Row> rows;
  for (const std::string& name : names) rows.push_back(Row{{"name", name}});
  return rows;
}

// mercury holds database `shop` at GTID 0-1-42; uranus holds no user database and no GTID of its
// own. The dump and the restore are scripted: the dump prints `dump`, the restore takes its stdin
// until EOF and then has set gtid_slave_pos, as the dump's statements do.
struct SeedLab {
  explicit SeedLab(const std::string& dump = "-- a gzipped dump, as far as anyone can tell\n") {
    FakeServer& m = sessions.server("mercury");
    m.globals = {{"log_bin", "1"}, {"gtid_binlog_pos", "0-1-42"}, {"socket", kPrimarySocket}};
    m.Answer(kSchemata, Databases({"information_schema", "mysql", "shop", "sys"}));
    FakeServer& u = sessions.server("uranus");
    u.globals = {{"gtid_binlog_pos", ""}, {"gtid_slave_pos", "0-2-7"}, {"socket", kReplicaSocket}};
    u.Answer(kSchemata, Databases({"information_schema", "mysql", "sys"}));
    FakeServer::CommandScript dumped;
    dumped.out = dump;
    m.ScriptCommand(DumpCommand(kPrimarySocket, {"shop"}, ReplicationMode::kGtid), dumped);
    FakeServer::CommandScript restored;
    restored.until_stdin_eof = true;
    restored.sets_globals = {{"gtid_slave_pos", "0-1-42"}};
    u.ScriptCommand(RestoreCommand(kReplicaSocket), restored);
  }

  Status Seed() {
    Topology topology = FakeTopology();
    return SeedReplica(sessions, topology, *topology.FindServer("mercury"), *topology.FindServer("uranus"),
                       /*wipe_replica_databases=*/false, [this](const std::string& line) { progress.push_back(line); });
  }

  FakeSessionFactory sessions;
  std::vector<std::string> progress;
};

// What the replica is asked before the copy arrives (GTID mode, nothing to drop, no own GTID).
const std::vector<std::string> kPrepared = {
    "SELECT @@GLOBAL.socket AS v", "SET SESSION sql_log_bin=0", "STOP SLAVE", "RESET SLAVE ALL",
    "SELECT @@GLOBAL.gtid_binlog_pos AS v", "SET GLOBAL gtid_slave_pos = ''"};

TEST_CASE("a seed streams the primary's dump into the replica's restore byte for byte, closes the restore's stdin "
          "only after the dump ended well, and reads back the recorded position") {
  const std::string dump(300 * 1024 + 17, 'x');  // more than the pump's one buffer
  SeedLab lab(dump);
  Status seeded = lab.Seed();
  REQUIRE_MESSAGE(seeded.ok(), seeded.message());

  const auto dumps = lab.sessions.server("mercury").started();
  REQUIRE(dumps.size() == 1);
  CHECK(dumps[0].command == DumpCommand(kPrimarySocket, {"shop"}, ReplicationMode::kGtid));
  CHECK(dumps[0].finished);
  const auto restores = lab.sessions.server("uranus").started();
  REQUIRE(restores.size() == 1);
  CHECK(restores[0].command == RestoreCommand(kReplicaSocket));
  CHECK(restores[0].input == dump);
  CHECK(restores[0].stdin_closed);
  CHECK(restores[0].finished);

  CHECK(lab.sessions.server("mercury").statements() ==
        std::vector<std::string>{"SELECT @@GLOBAL.log_bin AS v", kSchemata, "SELECT @@GLOBAL.gtid_binlog_pos AS v",
                                 "SELECT @@GLOBAL.socket AS v"});
  std::vector<std::string> replica = {kSchemata};
  replica.insert(replica.end(), kPrepared.begin(), kPrepared.end());
  replica.push_back("SELECT @@GLOBAL.gtid_slave_pos AS v");
  CHECK(lab.sessions.server("uranus").statements() == replica);
  REQUIRE_FALSE(lab.progress.empty());
  CHECK(lab.progress.back().rfind("seeded uranus from mercury: 0.3 MB, ", 0) == 0);
  CHECK(lab.progress.back().find(", gtid_slave_pos 0-1-42") != std::string::npos);
}

TEST_CASE("a seed whose dump stream drops mid-way reports it, never ends the restore's input cleanly, and leaves "
          "the replica reset, not started") {
  SeedLab lab;
  FakeServer& mercury = lab.sessions.server("mercury");
  mercury.DropStreamAfter("start: " + DumpCommand(kPrimarySocket, {"shop"}, ReplicationMode::kGtid), 5);
  Status seeded = lab.Seed();

  REQUIRE_FALSE(seeded.ok());
  CHECK(seeded.code() == Status::Code::kUnavailable);
  CHECK(seeded.message() ==
        "seeding uranus from mercury: ssh root@127.0.0.1:22: reading command output failed: connection reset by peer; "
        "uranus was reset for the seed (no replication source); run apply again to seed it");
  // The restore got the five bytes that came, and no EOF: its channel was closed under it.
  const auto restores = lab.sessions.server("uranus").started();
  REQUIRE(restores.size() == 1);
  CHECK(restores[0].input == "-- a ");
  CHECK_FALSE(restores[0].stdin_closed);
  CHECK(restores[0].abandoned);
  // The replica was prepared, and nothing after: no position, no source, no START SLAVE.
  std::vector<std::string> replica = {kSchemata};
  replica.insert(replica.end(), kPrepared.begin(), kPrepared.end());
  CHECK(lab.sessions.server("uranus").statements() == replica);
  CHECK_FALSE(lab.sessions.server("uranus").replica.has_value());
  CHECK(lab.sessions.server("uranus").globals["gtid_slave_pos"].empty());
}

TEST_CASE("a dump that fails names the primary with its stderr, and the restore never sees EOF") {
  SeedLab lab;
  FakeServer::CommandScript broken;
  broken.out = "partial";
  broken.exit_status = 2;
  broken.err = "mariadb-dump: Got error: 1045: Access denied for user 'root'@'localhost'\n";
  lab.sessions.server("mercury").ScriptCommand("bash -o pipefail -c", broken);
  Status seeded = lab.Seed();

  REQUIRE_FALSE(seeded.ok());
  CHECK(seeded.message() ==
        "dump on mercury failed (exit 2): mariadb-dump: Got error: 1045: Access denied for user 'root'@'localhost'; "
        "uranus was reset for the seed (no replication source); run apply again to seed it");
  const auto restores = lab.sessions.server("uranus").started();
  REQUIRE(restores.size() == 1);
  CHECK(restores[0].input == "partial");
  CHECK_FALSE(restores[0].stdin_closed);
  CHECK(restores[0].abandoned);
}

}  // namespace
}  // namespace replplan
