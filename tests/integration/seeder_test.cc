// SeedReplica against the real lab: a primary and a replica prepared by hand (binlog, server ids,
// replication user) but not replicating; the seed copies data, routines, triggers and accounts,
// writes nothing to the replica's binlog, records the position so that replication started by hand
// afterwards carries new rows over, in gtid and in file mode. A replica holding data is refused
// without wipe (and left untouched) and replaced with it; a dump that breaks names its side.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "engine/text.h"
#include "engine/topology_parser.h"
#include "integration/lab_client.h"
#include "providers/seeder.h"
#include "providers/server_session.h"

namespace {

// The real sessions, fresh for each seed (SeedReplica opens its own, never a pool's).
replplan::SessionFactory& LiveSessions() {
  static replplan::LiveSessionFactory sessions;
  return sessions;
}

using replplan::ReplicationMode;

std::string Trim(const std::string& s) { return std::string(replplan::TrimEnd(s)); }

std::string LabSecret(const std::string& name) { return Trim(lab::ReadFile(lab::Dir() + "/secrets/" + name)); }

void CheckNoSecretIn(const std::string& text) {
  for (const char* name : {"admin.pw", "repl.pw", "app.pw"}) {
    std::string secret = LabSecret(name);
    REQUIRE(secret.size() >= 8);
    CHECK_MESSAGE(text.find(secret) == std::string::npos, "a secret leaked into the output");
  }
}

replplan::Topology LabTopology(ReplicationMode mode) {
  replplan::Topology topology = lab::LoadTopology();
  topology.replication.mode = mode;
  return topology;
}

// Binlog, ids and the replication user as the runbook sets them up, but no replication yet.
void PrepareHostsByHand() {
  lab::Reset(2);
  const std::vector<std::pair<std::string, int>> hosts = {{"mercury", 1}, {"uranus", 2}};
  for (const auto& [host, id] : hosts) {
    std::string cnf_path = lab::Dir() + "/hosts/" + host + "/my.cnf";
    std::string cnf = lab::ReadFile(cnf_path);
    cnf += "\n[mysqld]\nserver_id = " + std::to_string(id) + "\nlog_bin = " + lab::Dir() + "/hosts/" + host +
           "/binlog/mysql-bin.log\nbinlog_format = ROW\nlog_slave_updates = ON\ngtid_strict_mode = ON\n"
           "report_host = " + host + "\n" + (host == "uranus" ? "read_only = ON\n" : "");
    std::ofstream(cnf_path, std::ios::trunc) << cnf;
    auto restarted = lab::Lab({"restart", host});
    REQUIRE_MESSAGE(restarted.exit_code == 0, restarted.err);
    lab::Sql(host, "SET sql_log_bin=0; CREATE USER 'repl'@'%' IDENTIFIED BY '" + LabSecret("repl.pw") +
                       "'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';");
  }
}

// Two databases, a few thousand rows, a stored function, a trigger, and the declared account.
void CreateDataOnPrimary() {
  lab::Sql("mercury",
           "CREATE DATABASE shop; CREATE DATABASE stats; "
           "CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40), price DECIMAL(8,2)); "
           "CREATE TABLE stats.audit (item_id INT PRIMARY KEY); "
           "INSERT INTO shop.items SELECT seq, CONCAT('item ', seq), seq / 7 FROM shop.seq_1_to_3000; "
           "CREATE FUNCTION shop.with_tax(p DECIMAL(8,2)) RETURNS DECIMAL(8,2) DETERMINISTIC RETURN p * 1.2; "
           "CREATE TRIGGER shop.items_audit AFTER INSERT ON shop.items FOR EACH ROW "
           "INSERT INTO stats.audit VALUES (NEW.id); "
           "CREATE USER 'pierre'@'%' IDENTIFIED BY '" + LabSecret("app.pw") + "'; "
           "GRANT ALL PRIVILEGES ON secondhand_production.* TO 'pierre'@'%';");
}

struct BinlogMark {
  std::string file, position, gtid;
  bool operator==(const BinlogMark&) const = default;
};

BinlogMark Mark(const std::string& host) {
  auto rows = lab::Sql(host, "SHOW MASTER STATUS");
  REQUIRE(rows.size() == 1);
  return {rows[0][0], rows[0][1], lab::SqlValue(host, "SELECT @@gtid_binlog_pos")};
}

// One field of SHOW SLAVE STATUS ("" when there is no connection); read with column names, which
// lab::Sql leaves out.
std::string SlaveField(const std::string& host, const std::string& field) {
  auto r = lab::Run({"mariadb", "--no-defaults", "-S", lab::Dir() + "/hosts/" + host + "/mysqld.sock", "-u", "root",
                     "-B", "-e", "SHOW SLAVE STATUS"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto split = [](const std::string& line) {
    std::vector<std::string> columns;
    size_t start = 0;
    for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
      columns.push_back(line.substr(start, tab - start));
    }
    columns.push_back(line.substr(start));
    return columns;
  };
  auto newline = r.out.find('\n');
  if (newline == std::string::npos) return "";
  auto names = split(r.out.substr(0, newline));
  auto values = split(Trim(r.out.substr(newline + 1)));
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (names[i] == field) return values[i];
  }
  return "";
}

struct Seeded {
  replplan::Status status;
  std::vector<std::string> progress;
};

Seeded Seed(ReplicationMode mode, bool wipe, const std::function<void(const std::string&)>& also = {}) {
  replplan::Topology topology = LabTopology(mode);
  Seeded seeded;
  seeded.status = replplan::SeedReplica(LiveSessions(), topology, *topology.FindServer("mercury"),
                                        *topology.FindServer("uranus"), wipe, [&](const std::string& line) {
                                          seeded.progress.push_back(line);
                                          if (also) also(line);
                                        });
  std::string all;
  for (const auto& line : seeded.progress) all += line + "\n";
  CheckNoSecretIn(all + seeded.status.message());
  return seeded;
}

// What the seed copied is all there on the replica.
void CheckCopied() {
  CHECK(lab::SqlValue("uranus", "SELECT COUNT(*) FROM shop.items") == "3000");
  CHECK(lab::SqlValue("uranus", "SELECT name FROM shop.items WHERE id = 2999") == "item 2999");
  CHECK(lab::SqlValue("uranus", "SELECT shop.with_tax(10)") == "12.00");
  CHECK(lab::SqlValue("uranus", "SELECT COUNT(*) FROM information_schema.TRIGGERS "
                                "WHERE TRIGGER_SCHEMA = 'shop' AND TRIGGER_NAME = 'items_audit'") == "1");
  CHECK(lab::SqlValue("uranus", "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'stats'") == "1");
  // The account came with its hash: pierre logs in on the replica with the primary's password.
  auto login = lab::Run({"mariadb", "--no-defaults", "-h", lab::Address("uranus"), "-P", "3306", "-u", "pierre", "-N", "-B", "-e",
                         "SELECT CURRENT_USER()"},
                        "", {"MYSQL_PWD=" + LabSecret("app.pw")});
  CHECK_MESSAGE(login.exit_code == 0, login.err);
  CHECK(Trim(login.out) == "pierre@%");
  CHECK(lab::SqlValue("uranus", "SHOW GRANTS FOR 'pierre'@'%'").find("USAGE") != std::string::npos);
  auto grants = lab::Sql("uranus", "SHOW GRANTS FOR 'pierre'@'%'");
  CHECK(grants.size() == 2);
}

// New rows written on the primary arrive on the replica, the trigger's rows with them.
void CheckReplicates() {
  lab::Sql("mercury", "INSERT INTO shop.items VALUES (5001, 'lamp', 12.5), (5002, 'chair', 30)");
  bool arrived = lab::WaitFor([] { return lab::SqlValue("uranus", "SELECT COUNT(*) FROM stats.audit") == "2"; },
                         std::chrono::seconds(20));
  CHECK_MESSAGE(arrived, "rows written after the seed did not reach the replica: "
                             << SlaveField("uranus", "Last_IO_Error") << SlaveField("uranus", "Last_SQL_Error"));
  CHECK(lab::SqlValue("uranus", "SELECT name FROM shop.items WHERE id = 5002") == "chair");
  CHECK(lab::SqlValue("uranus", "SELECT COUNT(*) FROM shop.items") == "3002");
}

std::string ReplPasswordSql() { return "MASTER_PASSWORD='" + LabSecret("repl.pw") + "'"; }

}  // namespace

TEST_CASE("the dump and restore commands quote every argument and keep the dump's exit status") {
  std::string dump = replplan::DumpCommand("/run/my sock", {"shop", "it's"}, ReplicationMode::kGtid);
  CHECK(dump.rfind("bash -o pipefail -c ", 0) == 0);
  // The whole command is one argument to bash; run it through a shell to see what bash receives.
  auto echoed = lab::Run({"sh", "-c", "printf '%s' " + dump.substr(std::string("bash -o pipefail -c ").size())});
  CHECK(echoed.out ==
        "'mariadb-dump' '--socket=/run/my sock' '--single-transaction' '--master-data=1' '--gtid' '--routines' "
        "'--triggers' '--events' '--hex-blob' '--databases' '--' 'shop' 'it'\\''s' | gzip -1");
  CHECK(replplan::DumpCommand("/s", {"a"}, ReplicationMode::kFile).find("--gtid") == std::string::npos);
  CHECK(replplan::RestoreCommand("/s").find("--init-command=SET SESSION sql_log_bin=0") != std::string::npos);
  CHECK(replplan::UserDatabases({"information_schema", "mysql", "performance_schema", "shop", "sys", "zoo"}) ==
        std::vector<std::string>{"shop", "zoo"});
  // replplan's own schema (the failover epochs) is no user database, but every dump carries it.
  CHECK(replplan::UserDatabases({"mysql", "replplan", "shop"}) == std::vector<std::string>{"shop"});
  CHECK(replplan::DumpedDatabases({"mysql", "replplan", "shop"}) == std::vector<std::string>{"shop", "replplan"});
  CHECK(replplan::DumpedDatabases({"mysql", "shop"}) == std::vector<std::string>{"shop"});
  CHECK(replplan::FormatSeedProgress(12'345'678, 0.3) == "12.3 MB, 41.2 MB/s, 0.3 s");
  CHECK(replplan::FormatSeedProgress(0, 0) == "0.0 MB, 0.0 MB/s, 0.0 s");
}

TEST_CASE("gtid seed: data, routines, triggers and accounts copied, no binlog events, replication follows") {
  PrepareHostsByHand();
  CreateDataOnPrimary();
  const BinlogMark before = Mark("uranus");
  REQUIRE(before.gtid.empty());

  Seeded seeded = Seed(ReplicationMode::kGtid, false);
  REQUIRE_MESSAGE(seeded.status.ok(), seeded.status.message());
  CheckCopied();
  // The restore (and the account copy) wrote nothing to the replica's binlog.
  CHECK(Mark("uranus") == before);
  const std::string primary_gtid = lab::SqlValue("mercury", "SELECT @@gtid_binlog_pos");
  CHECK(lab::SqlValue("uranus", "SELECT @@gtid_slave_pos") == primary_gtid);
  REQUIRE_FALSE(seeded.progress.empty());
  CHECK(seeded.progress.back().find("seeded uranus from mercury: ") == 0);
  CHECK_MESSAGE(seeded.progress.back().find("gtid_slave_pos " + primary_gtid) != std::string::npos,
                seeded.progress.back());
  // No visible channel until change-source names the primary: a seed cut short stays "not seeded".
  CHECK(lab::Sql("uranus", "SHOW ALL SLAVES STATUS").empty());

  lab::Sql("uranus", "CHANGE MASTER TO MASTER_HOST='" + lab::Address("mercury") + "', MASTER_PORT=3306, "
                     "MASTER_USER='repl', " + ReplPasswordSql() + ", MASTER_USE_GTID=slave_pos; START SLAVE;");
  CheckReplicates();
  CHECK(lab::SqlValue("uranus", "SELECT @@gtid_binlog_pos").find("0-2-") == std::string::npos);  // no errant GTID
}

TEST_CASE("a database named like an option is copied as a database, never read as an option by the dump") {
  PrepareHostsByHand();
  CreateDataOnPrimary();
  // A legal name (SHOW DATABASES hands it to the dump): read as an option, it would send the dump to
  // a file on the primary's host instead of to the replica.
  const std::string file = "/tmp/rp-hijack-" + std::to_string(getpid());  // short: a name holds 64 characters
  const std::string name = "--result-file=" + file;
  lab::Run({"rm", "-f", file});
  lab::Sql("mercury", "CREATE DATABASE `" + name + "`; CREATE TABLE `" + name + "`.t (id INT PRIMARY KEY); "
                      "INSERT INTO `" + name + "`.t VALUES (1), (2)");

  Seeded seeded = Seed(ReplicationMode::kGtid, false);
  REQUIRE_MESSAGE(seeded.status.ok(), seeded.status.message());
  CHECK(lab::SqlValue("uranus", "SELECT COUNT(*) FROM `" + name + "`.t") == "2");
  CheckCopied();
  CHECK(lab::Run({"test", "-e", file}).exit_code != 0);
}

TEST_CASE("file seed: the dump's binlog file and position are recorded, replication follows from there") {
  PrepareHostsByHand();
  CreateDataOnPrimary();
  const BinlogMark before = Mark("uranus");
  auto primary = lab::Sql("mercury", "SHOW MASTER STATUS");

  Seeded seeded = Seed(ReplicationMode::kFile, false);
  REQUIRE_MESSAGE(seeded.status.ok(), seeded.status.message());
  CheckCopied();
  CHECK(Mark("uranus") == before);
  CHECK(SlaveField("uranus", "Master_Log_File") == primary[0][0]);
  CHECK(SlaveField("uranus", "Read_Master_Log_Pos") == primary[0][1]);
  CHECK(SlaveField("uranus", "Using_Gtid") == "No");
  CHECK(seeded.progress.back().find("position " + primary[0][0] + ":" + primary[0][1]) != std::string::npos);

  // Naming MASTER_HOST again would reset the position (see seeder.h): only credentials here.
  lab::Sql("uranus", "CHANGE MASTER TO MASTER_USER='repl', " + ReplPasswordSql() + "; START SLAVE;");
  CheckReplicates();
}

TEST_CASE("a primary without user databases: the position is recorded from SQL") {
  PrepareHostsByHand();
  lab::Sql("mercury", "CREATE USER 'pierre'@'%' IDENTIFIED BY '" + LabSecret("app.pw") + "'");
  Seeded seeded = Seed(ReplicationMode::kGtid, false);
  REQUIRE_MESSAGE(seeded.status.ok(), seeded.status.message());
  CHECK(lab::SqlValue("uranus", "SELECT @@gtid_slave_pos") == lab::SqlValue("mercury", "SELECT @@gtid_binlog_pos"));
  CHECK(lab::SqlValue("uranus", "SELECT COUNT(*) FROM mysql.user WHERE user = 'pierre'") == "1");
  lab::Sql("uranus", "CHANGE MASTER TO MASTER_HOST='" + lab::Address("mercury") + "', MASTER_PORT=3306, "
                     "MASTER_USER='repl', " + ReplPasswordSql() + ", MASTER_USE_GTID=slave_pos; START SLAVE;");
  lab::Sql("mercury", "CREATE DATABASE late; CREATE TABLE late.t (id INT PRIMARY KEY); INSERT INTO late.t VALUES (7)");
  CHECK(lab::WaitFor([] { return lab::SqlValue("uranus", "SELECT id FROM late.t") == "7"; }, std::chrono::seconds(20)));
}

TEST_CASE("a replica holding data is refused without wipe and left as it was, and replaced with wipe") {
  PrepareHostsByHand();
  CreateDataOnPrimary();
  lab::Sql("uranus", "SET sql_log_bin=0; CREATE DATABASE local_only; CREATE TABLE local_only.notes (id INT); "
                     "INSERT INTO local_only.notes VALUES (1); CREATE DATABASE shop; "
                     "CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40), price DECIMAL(8,2)); "
                     "INSERT INTO shop.items VALUES (1, 'stale', 0);");
  lab::Sql("uranus", "CHANGE MASTER TO MASTER_HOST='" + lab::Address("mercury") + "', MASTER_USER='repl', " +
                         ReplPasswordSql() + ", MASTER_USE_GTID=slave_pos");
  auto snapshot = [] {
    std::string s;
    for (const auto& row : lab::Sql("uranus", "SELECT (SELECT GROUP_CONCAT(SCHEMA_NAME ORDER BY SCHEMA_NAME) "
                                              "FROM information_schema.SCHEMATA), (SELECT name FROM shop.items WHERE id = 1), @@gtid_slave_pos, "
                                              "@@gtid_binlog_pos")) {
      for (const auto& column : row) s += column + "|";
    }
    return s + SlaveField("uranus", "Master_Host") + "|" + SlaveField("uranus", "Master_User");
  };
  const std::string before = snapshot();

  Seeded refused = Seed(ReplicationMode::kGtid, false);
  CHECK(refused.status.code() == replplan::Status::Code::kFailedPrecondition);
  CHECK_MESSAGE(refused.status.message().find("uranus already holds databases local_only, shop") == 0,
                refused.status.message());
  CHECK(snapshot() == before);

  Seeded replaced = Seed(ReplicationMode::kGtid, true);
  REQUIRE_MESSAGE(replaced.status.ok(), replaced.status.message());
  CHECK(lab::SqlValue("uranus", "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'local_only'") ==
        "0");
  CheckCopied();
  CHECK(SlaveField("uranus", "Master_User") == "");  // a seed starts replication over (RESET SLAVE ALL)
  CHECK(lab::SqlValue("uranus", "SELECT @@gtid_binlog_pos") == "");
}

TEST_CASE("a replica with GTIDs of its own in its binlog is reset so the dump's position can be set") {
  PrepareHostsByHand();
  CreateDataOnPrimary();
  // Written with binary logging on: uranus now has 0-2-N of its own, which conflicts (1947).
  lab::Sql("uranus", "CREATE DATABASE scratch; DROP DATABASE scratch;");
  REQUIRE(lab::SqlValue("uranus", "SELECT @@gtid_binlog_pos").find("0-2-") == 0);
  Seeded seeded = Seed(ReplicationMode::kGtid, true);
  REQUIRE_MESSAGE(seeded.status.ok(), seeded.status.message());
  CHECK(lab::SqlValue("uranus", "SELECT @@gtid_binlog_pos") == "");
  CHECK(lab::SqlValue("uranus", "SELECT @@gtid_slave_pos") == lab::SqlValue("mercury", "SELECT @@gtid_binlog_pos"));
}

TEST_CASE("a wipe refuses a replica that holds a database the plan did not name") {
  PrepareHostsByHand();
  CreateDataOnPrimary();
  lab::Sql("uranus", "CREATE DATABASE reviewed; CREATE DATABASE created_since");
  replplan::Topology topology = LabTopology(ReplicationMode::kGtid);
  replplan::Status status = replplan::SeedReplica(LiveSessions(), topology, *topology.FindServer("mercury"),
                                                  *topology.FindServer("uranus"), /*wipe=*/true, {}, "`reviewed`");
  REQUIRE_FALSE(status.ok());
  CHECK_MESSAGE(status.message().find("the plan drops `reviewed`") != std::string::npos, status.message());
  CHECK(lab::SqlValue("uranus", "SHOW DATABASES LIKE 'created_since'") == "created_since");
  CHECK(lab::SqlValue("uranus", "SHOW DATABASES LIKE 'reviewed'") == "reviewed");
}

TEST_CASE("a seed whose SSH cannot be opened is refused before the replica is touched") {
  PrepareHostsByHand();
  CreateDataOnPrimary();
  lab::Sql("uranus", "CREATE DATABASE keepme");
  replplan::Topology topology = LabTopology(ReplicationMode::kGtid);
  for (auto& server : topology.servers) {
    if (server.name == "mercury") server.ssh.port = 2299;  // nothing listens there
  }
  replplan::Status status = replplan::SeedReplica(LiveSessions(), topology, *topology.FindServer("mercury"),
                                                  *topology.FindServer("uranus"), /*wipe=*/true, {});
  REQUIRE_FALSE(status.ok());
  CHECK_MESSAGE(status.message().find("nothing changed on it") != std::string::npos, status.message());
  // The wipe never ran: the replica's own database is still there.
  CHECK(lab::SqlValue("uranus", "SHOW DATABASES LIKE 'keepme'") == "keepme");
}

TEST_CASE("a dump that breaks (the primary's mariadbd killed mid-dump) fails naming the primary") {
  PrepareHostsByHand();
  CreateDataOnPrimary();
  // A session holding a write lock keeps the dump waiting, so the kill surely lands mid-dump.
  std::jthread locker([] {
    try {
      lab::Sql("mercury", "LOCK TABLES shop.items WRITE; SELECT SLEEP(60);");
    } catch (const std::exception&) {
      // Expected: its server is killed under it.
    }
  });
  REQUIRE(lab::WaitFor([] { return lab::SqlValue("mercury", "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                                       "WHERE INFO LIKE 'SELECT SLEEP%'") == "1"; },
                  std::chrono::seconds(10)));
  std::atomic<bool> killed{false};
  std::atomic<int> kill_exit{-1};
  // The callback only records: a REQUIRE thrown through SeedReplica would skip its cleanup.
  Seeded seeded = Seed(ReplicationMode::kGtid, false, [&](const std::string&) {
    if (!killed.exchange(true)) kill_exit = lab::Lab({"kill", "mercury"}).exit_code;
  });
  locker.join();
  CHECK(killed);
  CHECK(kill_exit == 0);
  CHECK_FALSE(seeded.status.ok());
  CHECK_MESSAGE(seeded.status.message().rfind("dump on mercury failed (exit ", 0) == 0, seeded.status.message());
  CHECK_MESSAGE(seeded.status.message().find("mariadb-dump") != std::string::npos, seeded.status.message());
  // What the failure left behind is said: the replica was reset for the seed.
  CHECK_MESSAGE(seeded.status.message().find("uranus was reset for the seed") != std::string::npos,
                seeded.status.message());
}

TEST_CASE("a restore that breaks (the replica's mariadbd killed mid-seed) fails naming the replica") {
  PrepareHostsByHand();
  CreateDataOnPrimary();
  // The lock holds the dump back for 3 s: the replica dies while its restore waits for data, and
  // the restore fails as soon as the data comes.
  std::jthread locker([] { lab::Sql("mercury", "LOCK TABLES shop.items WRITE; SELECT SLEEP(3);"); });
  REQUIRE(lab::WaitFor([] { return lab::SqlValue("mercury", "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                                       "WHERE INFO LIKE 'SELECT SLEEP%'") == "1"; },
                  std::chrono::seconds(10)));
  std::atomic<bool> killed{false};
  std::atomic<int> kill_exit{-1};
  // The callback only records: a REQUIRE thrown through SeedReplica would skip its cleanup.
  Seeded seeded = Seed(ReplicationMode::kGtid, false, [&](const std::string&) {
    if (!killed.exchange(true)) kill_exit = lab::Lab({"kill", "uranus"}).exit_code;
  });
  locker.join();
  CHECK(killed);
  CHECK(kill_exit == 0);
  CHECK_FALSE(seeded.status.ok());
  CHECK_MESSAGE(seeded.status.message().rfind("restore on uranus failed (exit ", 0) == 0, seeded.status.message());
}
