// Diagnose (engine/conditions.h): each named condition from a live state built as the lab shows
// it, with its evidence; a healthy cluster has none.
#include "engine/conditions.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/planner_fixtures.h"

namespace replplan {
namespace {

using testing::InSyncLive;
using testing::LabTopology;

struct Cluster {
  Topology topology = LabTopology(3);
  LiveState live = InSyncLive(topology);
  ServerState& at(const std::string& name) { return live.servers.at(name); }
  ReplicaChannel& channel(const std::string& name) { return at(name).channels.at(0); }
  std::vector<Condition> Diagnosed() const { return Diagnose(topology, live); }
};

// The one condition diagnosed; fails the test when there is not exactly one.
Condition Only(const std::vector<Condition>& conditions) {
  REQUIRE(conditions.size() == 1);
  return conditions[0];
}

bool HasEvidence(const Condition& c, const std::string& text) {
  for (const std::string& e : c.evidence) {
    if (e.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a cluster as the file wants it has no condition") {
  Cluster cluster;
  CHECK(cluster.Diagnosed().empty());
}

TEST_CASE("binlog-gone: IO thread 1236, broken, with the error text and the positions") {
  Cluster cluster;
  ReplicaChannel& c = cluster.channel("venus");
  c.io_running = "No";
  c.last_io_errno = 1236;
  c.last_io_error = "Got fatal error 1236 from master when reading data from binary log: 'Could not find GTID "
                    "state requested by slave in any binlog files.'";
  c.gtid_io_pos = "0-1-17";
  Condition got = Only(cluster.Diagnosed());
  CHECK(got.type == "binlog-gone");
  CHECK(got.severity == Severity::kBroken);
  CHECK(got.host == "venus");
  CHECK(got.error_number == 1236);
  CHECK(HasEvidence(got, "Last_IO_Errno: 1236, Last_IO_Error: Got fatal error 1236 from master"));
  CHECK(HasEvidence(got, "Gtid_IO_Pos: 0-1-17, gtid_slave_pos: 0-1-42"));
  CHECK(HasEvidence(got, "Slave_IO_Running: No, Slave_SQL_Running: Yes"));
}

TEST_CASE("server-id-clash: from 1593 on the IO thread, and from equal live server_ids") {
  Cluster cluster;
  ReplicaChannel& c = cluster.channel("uranus");
  c.io_running = "No";
  c.last_io_errno = 1593;
  c.last_io_error = "Fatal error: The slave I/O thread stops because master and slave have equal MariaDB server "
                    "ids; these ids must be different for replication to work";
  cluster.at("uranus").server_id = 1;  // mercury's
  std::vector<Condition> got = cluster.Diagnosed();
  REQUIRE(got.size() == 3);  // on mercury and uranus (same ids), and uranus's IO thread
  CHECK(got[0].type == "server-id-clash");
  CHECK(got[0].host == "mercury");
  CHECK(HasEvidence(got[0], "server_id = 1 on mercury and uranus"));
  CHECK(got[2].type == "server-id-clash");
  CHECK(got[2].host == "uranus");
  CHECK(got[2].error_number == 1593);
  CHECK(HasEvidence(got[2], "have equal MariaDB server ids"));

  SUBCASE("a 1593 that is not about server ids is an IO error, not a clash") {
    Cluster other;
    ReplicaChannel& o = other.channel("uranus");
    o.io_running = "No";
    o.last_io_errno = 1593;
    o.last_io_error = "Fatal error: Invalid (empty) username when attempting to connect to the master server";
    CHECK(Only(other.Diagnosed()).type == "replica-io-error");
  }
}

TEST_CASE("replica-stopped: both threads No without an error is degraded; a stale IO error of a running thread is not a condition") {
  Cluster cluster;
  ReplicaChannel& c = cluster.channel("uranus");
  c.io_running = "No";
  c.sql_running = false;
  Condition got = Only(cluster.Diagnosed());
  CHECK(got.type == "replica-stopped");
  CHECK(got.severity == Severity::kDegraded);
  CHECK(got.evidence == std::vector<std::string>{"Slave_IO_Running: No, Slave_SQL_Running: No, no error"});

  Cluster starting;  // Preparing or Connecting with no error: on its way, not stopped
  starting.channel("uranus").io_running = "Preparing";
  CHECK(starting.Diagnosed().empty());
  starting.channel("uranus").io_running = "Connecting";
  CHECK(starting.Diagnosed().empty());

  Cluster running;
  running.channel("uranus").last_io_errno = 2003;
  running.channel("uranus").last_io_error = "error reconnecting to master";
  CHECK(running.Diagnosed().empty());
}

TEST_CASE("missing-account: 1133 and 1396 name the account, never the password the statement carried") {
  Cluster cluster;
  ReplicaChannel& c = cluster.channel("venus");
  c.sql_running = false;
  c.last_sql_errno = 1133;
  c.last_sql_error = "Error 'Can't find any matching row in the user table' on query. Default database: ''. "
                     "Query: 'SET PASSWORD FOR 'bob'@'%' = PASSWORD('hunter2-secret')'";
  Condition got = Only(cluster.Diagnosed());
  CHECK(got.type == "missing-account");
  CHECK(got.error_number == 1133);
  CHECK(got.severity == Severity::kBroken);
  CHECK(got.cause.find("'bob'@'%'") != std::string::npos);
  CHECK(HasEvidence(got, "Last_SQL_Errno: 1133"));
  CHECK(HasEvidence(got, "PASSWORD('<redacted>')"));
  for (const std::string& e : got.evidence) CHECK(e.find("hunter2") == std::string::npos);

  c.last_sql_errno = 1396;
  c.last_sql_error = "Error 'Operation DROP USER failed for 'carol'@'localhost'' on query. Default database: ''. "
                     "Query: 'DROP USER 'carol'@'localhost''";
  got = Only(cluster.Diagnosed());
  CHECK(got.type == "missing-account");
  CHECK(got.error_number == 1396);
  CHECK(got.cause.find("'carol'@'localhost'") != std::string::npos);
}

TEST_CASE("RedactStatementSecrets: IDENTIFIED BY, hashes and plugin strings go; text before Query stays") {
  CHECK(RedactStatementSecrets("Error 'x' on query. Query: 'CREATE USER 'a'@'%' IDENTIFIED BY 'pw''") ==
        "Error 'x' on query. Query: 'CREATE USER 'a'@'%' IDENTIFIED BY '<redacted>'");
  CHECK(RedactStatementSecrets("Query: 'GRANT USAGE ON *.* TO `a`@`%` IDENTIFIED BY PASSWORD '*6BB4837EB7' x'") ==
        "Query: 'GRANT USAGE ON *.* TO `a`@`%` IDENTIFIED BY PASSWORD '<redacted>' x'");
  // A doubled quote is an escaped one ('it''s'): the secret runs on, and so does the redaction
  // (more is hidden, never less).
  CHECK(RedactStatementSecrets("Query: 'CREATE USER a IDENTIFIED BY 'it''s'' x") ==
        "Query: 'CREATE USER a IDENTIFIED BY '<redacted>'");
  CHECK(RedactStatementSecrets("Query: 'ALTER USER a IDENTIFIED VIA ed25519 USING 'abc''") ==
        "Query: 'ALTER USER a IDENTIFIED VIA ed25519 USING '<redacted>'");
  CHECK(RedactStatementSecrets("Duplicate entry 'PASSWORD' for key 'PRIMARY'") ==
        "Duplicate entry 'PASSWORD' for key 'PRIMARY'");
}

TEST_CASE("channel-metadata-broken: 1201, and both threads No with errno 0 while the relay log is gone") {
  Cluster cluster;
  ReplicaChannel& c = cluster.channel("uranus");
  c.io_running = "No";
  c.sql_running = false;
  c.relay_log_file = "mysqld-relay-bin.000004";
  cluster.at("uranus").relay_log_present = false;
  Condition got = Only(cluster.Diagnosed());
  CHECK(got.type == "channel-metadata-broken");
  CHECK(got.error_number == 0);
  CHECK(got.reason == "relay-log-missing");
  CHECK(HasEvidence(got, "Relay_Log_File mysqld-relay-bin.000004 is not on disk"));
  CHECK(HasEvidence(got, "both errnos 0"));

  cluster.at("uranus").relay_log_present = true;  // present: merely stopped
  CHECK(Only(cluster.Diagnosed()).type == "replica-stopped");

  cluster.at("uranus").relay_log_present.reset();
  c.last_sql_errno = 1201;
  c.last_sql_error = "Could not initialize master info structure for ''; more error messages can be found in the "
                     "MariaDB error log";
  got = Only(cluster.Diagnosed());
  CHECK(got.type == "channel-metadata-broken");
  CHECK(got.error_number == 1201);
  CHECK(HasEvidence(got, "Could not initialize master info structure"));
}

TEST_CASE("an unreachable primary: listening elsewhere, not running, host down, wrong password") {
  Cluster cluster;
  ServerState& m = cluster.at("mercury");
  m.sql_ok = false;
  m.sql_errno = 2002;
  m.sql_error = "Can't connect to server on '127.0.0.61' (115)";
  m.config["bind_address"] = "127.0.0.1";

  SUBCASE("running, listening on another address: listening-elsewhere with what it listens on") {
    m.process = {true, "/LAB/hosts/mercury/mysqld.pid", true, "4242", {"127.0.0.1:3306"}, ""};
    Condition got = Only(cluster.Diagnosed());
    CHECK(got.type == "listening-elsewhere");
    CHECK(got.reason == "running-not-listening");
    CHECK(got.error_number == 2002);
    CHECK(HasEvidence(got, "SQL 127.0.0.61:3306: Can't connect to server on '127.0.0.61' (115)"));
    CHECK(HasEvidence(got, "mariadbd runs (pid 4242 from /LAB/hosts/mercury/mysqld.pid), listening on 127.0.0.1:3306"));
    CHECK(HasEvidence(got, "bind-address = 127.0.0.1 (the file wants 127.0.0.61)"));
  }
  SUBCASE("bind-address set in an included file: the evidence names that file and line") {
    m.config_origin["bind_address"] = {"/etc/mysql/mariadb.conf.d/50-server.cnf", 28};
    m.process = {true, "/run/mysqld/mysqld.pid", true, "4242", {"127.0.0.1:3306"}, ""};
    Condition got = Only(cluster.Diagnosed());
    CHECK(HasEvidence(got, "/etc/mysql/mariadb.conf.d/50-server.cnf:28: bind-address = 127.0.0.1 (the file wants 127.0.0.61)"));
  }
  SUBCASE("not running: server-down") {
    m.process = {true, "/LAB/hosts/mercury/mysqld.pid", false, "", {}, ""};
    Condition got = Only(cluster.Diagnosed());
    CHECK(got.type == "server-down");
    CHECK(HasEvidence(got, "no mariadbd runs (pid file /LAB/hosts/mercury/mysqld.pid names no live process)"));
  }
  SUBCASE("process unknown, config binds elsewhere: listening-elsewhere from the config") {
    Condition got = Only(cluster.Diagnosed());
    CHECK(got.type == "listening-elsewhere");
    CHECK(got.reason == "config-binds-elsewhere");
  }
  SUBCASE("process unknown, config as the file wants: unreachable") {
    m.config["bind_address"] = "127.0.0.61";
    m.sql_errno = 2003;
    Condition got = Only(cluster.Diagnosed());
    CHECK(got.type == "unreachable");
    CHECK(got.error_number == 2003);
  }
  SUBCASE("SSH does not answer either: host-down") {
    m.ssh_ok = false;
    m.ssh_error = "cannot connect to 127.0.0.61:2222: Connection refused";
    Condition got = Only(cluster.Diagnosed());
    CHECK(got.type == "host-down");
    CHECK(HasEvidence(got, "SSH: cannot connect to 127.0.0.61:2222: Connection refused"));
  }
  SUBCASE("1045: wrong-password") {
    m.sql_errno = 1045;
    m.sql_error = "Access denied for user 'admin'@'127.0.0.1' (using password: YES)";
    Condition got = Only(cluster.Diagnosed());
    CHECK(got.type == "wrong-password");
    CHECK(got.error_number == 1045);
    CHECK(HasEvidence(got, "Access denied for user 'admin'"));
  }
}

TEST_CASE("a replica whose source refuses its replication login: wrong-password on the replica") {
  Cluster cluster;
  ReplicaChannel& c = cluster.channel("uranus");
  c.io_running = "Connecting";
  c.last_io_errno = 1045;
  c.last_io_error = "error connecting to master 'repl@127.0.0.61:3306' - retry-time: 60  maximum-retries: 86400  "
                    "message: Access denied for user 'repl'@'127.0.0.1' (using password: YES)";
  Condition got = Only(cluster.Diagnosed());
  CHECK(got.type == "wrong-password");
  CHECK(got.host == "uranus");
  CHECK(got.reason == "io-errno-1045");
  CHECK(HasEvidence(got, "Slave_IO_Running: Connecting"));
}

TEST_CASE("errant-transactions: the GTIDs a replica has that the primary lacks, before any collision") {
  Cluster cluster;
  cluster.at("venus").gtid_current_pos = "0-3-43";
  cluster.at("venus").gtid_binlog_pos = "0-3-43";
  Condition got = Only(cluster.Diagnosed());
  CHECK(got.type == "errant-transactions");
  CHECK(got.host == "venus");
  CHECK(HasEvidence(got, "errant GTIDs: 0-3-43"));
  CHECK(HasEvidence(got, "mercury gtid_current_pos: 0-1-42"));

  SUBCASE("a domain of its own, several transactions") {
    cluster.at("venus").gtid_current_pos = "0-1-42,7-3-5";
    CHECK(HasEvidence(Only(cluster.Diagnosed()), "errant GTIDs: 7-3-1..7-3-5"));
  }
  SUBCASE("ahead of the primary's snapshot with the primary's own server_id: read later, not errant") {
    cluster.at("venus").gtid_current_pos = "0-1-45";
    CHECK(cluster.Diagnosed().empty());
  }
  SUBCASE("the same seq written by another server: a conflict") {
    cluster.at("venus").gtid_current_pos = "0-3-42";
    CHECK(HasEvidence(Only(cluster.Diagnosed()), "errant GTIDs: 0-3-42 vs 0-1-42"));
  }
}

TEST_CASE("far-behind: above the default bound, which the evidence names") {
  Cluster cluster;
  cluster.channel("uranus").seconds_behind = kFarBehindDefaultSeconds;
  CHECK(cluster.Diagnosed().empty());  // at the bound: not yet
  cluster.channel("uranus").seconds_behind = 4000;
  Condition got = Only(cluster.Diagnosed());
  CHECK(got.type == "far-behind");
  CHECK(got.severity == Severity::kDegraded);
  CHECK(HasEvidence(got, "Seconds_Behind_Master: 4000"));
  CHECK(HasEvidence(got, "bound 300 s (the default: the file sets no replication.far_behind_seconds)"));
}

TEST_CASE("far-behind: the file's replication.far_behind_seconds is the bound, named in the evidence") {
  Cluster cluster;
  cluster.topology.replication.far_behind_seconds = 60;
  cluster.channel("uranus").seconds_behind = 60;
  CHECK(cluster.Diagnosed().empty());  // at the bound: not yet
  cluster.channel("uranus").seconds_behind = 61;
  Condition got = Only(cluster.Diagnosed());
  CHECK(got.type == "far-behind");
  CHECK(HasEvidence(got, "bound 60 s (replication.far_behind_seconds)"));
  // A bound above the lag: no condition, where the default would have reported one.
  cluster.topology.replication.far_behind_seconds = 7200;
  cluster.channel("uranus").seconds_behind = 4000;
  CHECK(cluster.Diagnosed().empty());
}

TEST_CASE("row-event-failed: 1032 and 1062 name the table and the row event") {
  Cluster cluster;
  ReplicaChannel& c = cluster.channel("venus");
  c.sql_running = false;
  c.last_sql_errno = 1032;
  c.last_sql_error = "Could not execute Update_rows_v1 event on table secondhand_production.items; Can't find record "
                     "in 'items', Error_code: 1032; handler error HA_ERR_KEY_NOT_FOUND; the event's master log "
                     "mysql-bin.000001, end_log_pos 2049";
  Condition got = Only(cluster.Diagnosed());
  CHECK(got.type == "row-event-failed");
  CHECK(got.error_number == 1032);
  CHECK(got.cause.find("Update_rows_v1 event on table secondhand_production.items failed on venus") == 0);
  CHECK(HasEvidence(got, "end_log_pos 2049"));
  CHECK(HasEvidence(got, "row event: Update_rows_v1 event on table secondhand_production.items"));
  CHECK_FALSE(HasEvidence(got, "failing transaction"));  // not read: not guessed
  CHECK_FALSE(HasEvidence(got, "stopped at"));           // no executed position reported: not guessed
  c.relay_source_log_file = "mysql-bin.000001";
  c.exec_source_log_pos = 1890;
  got = Only(cluster.Diagnosed());
  CHECK(HasEvidence(got, "stopped at mysql-bin.000001:1890 of its source's binlog"));
  cluster.at("venus").failed_gtid = "0-1-42";
  c.relay_log_file = "mysqld-relay-bin.000002";
  c.relay_log_pos = 1077;
  got = Only(cluster.Diagnosed());
  CHECK(HasEvidence(got, "failing transaction: GTID 0-1-42 (relay log mysqld-relay-bin.000002:1077)"));

  c.last_sql_errno = 1062;
  c.last_sql_error = "Could not execute Write_rows_v1 event on table secondhand_production.items; Duplicate entry "
                     "'7' for key 'PRIMARY', Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY";
  got = Only(cluster.Diagnosed());
  CHECK(got.error_number == 1062);
  CHECK(HasEvidence(got, "row event: Write_rows_v1 event on table secondhand_production.items"));
  CHECK(RowEventOf(c.last_sql_error) == "Write_rows_v1 event on table secondhand_production.items");
  CHECK(RowEventOf("Error 'Duplicate entry' on query. Query: 'INSERT ...'") == "");
}

TEST_CASE("split-brain: a second writable server that wrote on its own or follows nobody; a writable replica "
          "that follows the primary with nothing of its own, or a lone one, is degraded") {
  Cluster cluster;
  cluster.at("uranus").read_only = false;
  SUBCASE("it follows the primary and holds nothing the primary lacks (a hand-built cluster's replica)") {
    Condition got = Only(cluster.Diagnosed());
    CHECK(got.type == "writable-replica");
    CHECK(got.host == "uranus");
    CHECK(got.severity == Severity::kDegraded);
  }
  SUBCASE("it wrote on its own: split brain, with what each holds") {
    cluster.at("uranus").gtid_current_pos = "0-2-43";
    cluster.at("uranus").gtid_binlog_pos = "0-2-43";
    std::vector<Condition> all = cluster.Diagnosed();
    const Condition* got = nullptr;
    for (const Condition& c : all) {
      if (c.type == "split-brain") got = &c;
    }
    REQUIRE(got != nullptr);
    CHECK(got->host == "uranus");
    CHECK(got->severity == Severity::kBroken);
    CHECK(HasEvidence(*got, "mercury: read_only = OFF, gtid_binlog_pos = 0-1-42"));
    CHECK(HasEvidence(*got, "uranus: read_only = OFF"));
    CHECK(HasEvidence(*got, "uranus has, mercury lacks: 0-2-43"));
  }
  SUBCASE("its channel from the primary is stopped: nothing stops it diverging") {
    cluster.channel("uranus").io_running = "No";
    cluster.channel("uranus").sql_running = false;
    bool split = false;
    for (const Condition& c : cluster.Diagnosed()) split |= c.type == "split-brain" && c.host == "uranus";
    CHECK(split);
  }
  SUBCASE("the primary read-only: a lone writable replica") {
    cluster.at("mercury").read_only = true;
    cluster.at("uranus").gtid_current_pos = "0-2-43";
    bool split = false, writable = false;
    for (const Condition& c : cluster.Diagnosed()) {
      split |= c.type == "split-brain";
      writable |= c.type == "writable-replica" && c.severity == Severity::kDegraded;
    }
    CHECK_FALSE(split);
    CHECK(writable);
  }
}

TEST_CASE("a replica without a channel, on another source, or without SSH") {
  Cluster cluster;
  cluster.at("venus").channels.clear();
  CHECK(Only(cluster.Diagnosed()).type == "not-replicating");

  Cluster elsewhere;
  elsewhere.channel("venus").source_host = "127.0.0.66";
  Condition got = Only(elsewhere.Diagnosed());
  CHECK(got.type == "wrong-source");
  CHECK(HasEvidence(got, "Master_Host:Master_Port = 127.0.0.66:3306 (the file's primary mercury is 127.0.0.61:3306)"));

  Cluster no_ssh;
  no_ssh.at("venus").ssh_ok = false;
  no_ssh.at("venus").ssh_error = "authentication failed";
  got = Only(no_ssh.Diagnosed());
  CHECK(got.type == "ssh-unreachable");
  CHECK(got.severity == Severity::kDegraded);
  CHECK(WorstSeverity({got}) == Severity::kDegraded);
}

}  // namespace replplan
