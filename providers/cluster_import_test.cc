// `replplan import`'s discovery over fake servers: walking up to the primary, its replicas through
// SHOW SLAVE HOSTS, a replica SHOW SLAVE HOSTS names by an unreachable host found through its binlog
// dump thread, what each server's process and option file say, and the refusals.
#include "providers/cluster_import.h"

#include <doctest/doctest.h>

#include "engine/cluster_epoch.h"
#include "engine/text.h"
#include "engine/topology_parser.h"
#include "engine/topology_render.h"
#include "providers/testing/fake_server.h"

namespace replplan {
namespace {

const char* kDumpQuery =
    "SELECT HOST FROM information_schema.PROCESSLIST WHERE COMMAND IN ('Binlog Dump', 'Binlog Dump GTID')";

// A MariaDB server as import asks it: its identity, no replicas, no dump threads.
FakeServer& Server(FakeSessionFactory& factory, const std::string& address, int server_id, const std::string& hostname,
                   const std::string& report_host = "") {
  FakeServer& s = factory.server(address);
  s.globals = {{"server_id", std::to_string(server_id)},
               {"hostname", hostname},
               {"report_host", report_host},
               {"port", "3306"},
               {"datadir", "/var/lib/mysql/"},
               {"log_bin", "1"},
               {"log_bin_basename", "/var/lib/mysql/mysql-bin"},
               {"read_only", server_id == 1 ? "0" : "1"},
               {"binlog_format", "row"},
               {"version", "10.11.6-MariaDB-0+deb12u1-log"},
               {"pid_file", "/run/mysqld/mysqld.pid"},
               {"rpl_semi_sync_master_enabled", "0"},
               {"slave_net_timeout", "60"},
               {"bind_address", address}};
  s.Answer("SHOW SLAVE HOSTS", {});
  s.Answer(kDumpQuery, {});
  s.AnswerPrefix("SELECT Host FROM mysql.user WHERE User = ", {});
  s.AnswerPrefix("SELECT s.SCHEMA_NAME", {});
  s.AnswerPrefix("SELECT User AS user, Host AS host FROM mysql.user", {});
  s.AnswerCommand("tr ", ExecResult{0, "/usr/sbin/mariadbd\n--defaults-file=/etc/mysql/" + hostname + ".cnf\n", ""});
  s.files["/etc/mysql/" + hostname + ".cnf"] = "[mysqld]\nserver_id = " + std::to_string(server_id) + "\n";
  return s;
}

// db1 (10.0.0.11) the primary; db2 (10.0.0.12, report_host db2) and db3 (10.0.0.13, no
// report_host: SHOW SLAVE HOSTS lists it as "localhost", which does not answer) replicate from it.
struct Cluster {
  FakeSessionFactory factory;
  FakeServer& db1 = Server(factory, "10.0.0.11", 1, "db1");
  FakeServer& db2 = Server(factory, "10.0.0.12", 2, "db2", "db2.example");
  FakeServer& db3 = Server(factory, "10.0.0.13", 3, "db3");
  Cluster() {
    db1.Answer("SHOW SLAVE HOSTS", {Row{{"Server_id", "2"}, {"Host", "10.0.0.12"}, {"Port", "3306"}, {"Master_id", "1"}},
                                    Row{{"Server_id", "3"}, {"Host", "localhost"}, {"Port", "3306"}, {"Master_id", "1"}}});
    db1.Answer(kDumpQuery, {Row{{"HOST", "10.0.0.12:40110"}}, Row{{"HOST", "10.0.0.13:40111"}}});
    db1.AnswerPrefix("SELECT Host FROM mysql.user WHERE User = 'repl'", {Row{{"Host", "10.0.0.%"}}});
    db1.Answer(ReadLatestEpochSql(), {});
    db1.AnswerPrefix("SELECT s.SCHEMA_NAME", {Row{{"name", "information_schema"}, {"charset", "utf8"}, {"collation", "utf8_general_ci"}, {"is_default", "Yes"}},
                                              Row{{"name", "mysql"}, {"charset", "utf8mb4"}, {"collation", "utf8mb4_general_ci"}, {"is_default", "Yes"}},
                                              Row{{"name", "replplan"}, {"charset", "utf8mb4"}, {"collation", "utf8mb4_general_ci"}, {"is_default", "Yes"}},
                                              Row{{"name", "shop"}, {"charset", "utf8mb4"}, {"collation", "utf8mb4_general_ci"}, {"is_default", "Yes"}},
                                              Row{{"name", "shop_reports"}, {"charset", "latin1"}, {"collation", "latin1_bin"}, {"is_default", ""}}});
    db1.files["/etc/mysql/db1.cnf"] =
        "[mysqld]\nserver_id = 1\nlog-bin = mysql-bin.log\nbind-address = 10.0.0.1\n!includedir /etc/mysql/conf.d/\n";
    db1.AnswerCommand("ls -1A -- '/etc/mysql/conf.d/'", ExecResult{0, "binlog.cnf\nREADME\n", ""});
    db1.files["/etc/mysql/conf.d/binlog.cnf"] = "[mysqld]\nbinlog_format = ROW\nbind-address = 0.0.0.0\n";
    db2.replica = FakeServer::ReplicaRow("10.0.0.11", 3306, "repl");
    db3.replica = FakeServer::ReplicaRow("10.0.0.11", 3306, "repl");
    db3.globals["log_bin_basename"] = "/srv/binlog/db3-bin";
    factory.Refuse("localhost");
  }
  ImportRequest Request(std::vector<std::string> hosts) const {
    ImportRequest request;
    request.hosts = std::move(hosts);
    request.mysql.user = "admin";
    request.mysql.password = {SecretRef::Kind::kEnv, "ADMIN_PASSWORD", {}};
    request.ssh.user = "deploy";
    return request;
  }
};

// As replplan leaves replicas: report_host is each one's name in the file, which does not resolve
// here, and their connections come from localhost.
void ReportNames(Cluster& c) {
  c.db1.Answer("SHOW SLAVE HOSTS", {Row{{"Server_id", "2"}, {"Host", "db2"}, {"Port", "3306"}},
                                    Row{{"Server_id", "3"}, {"Host", "db3"}, {"Port", "3306"}}});
  c.db1.Answer(kDumpQuery, {Row{{"HOST", "localhost:40110"}}, Row{{"HOST", "localhost:40111"}}});
  c.factory.Refuse("db2");
  c.factory.Refuse("db3");
}

}  // namespace

TEST_CASE("import from a replica walks up to the primary and finds every replica, one without report_host too") {
  Cluster c;
  auto imported = ImportCluster(c.factory, c.Request({"10.0.0.12"}));
  REQUIRE_MESSAGE(imported.ok(), imported.status().message());
  const Topology& t = imported->topology;
  CHECK(t.cluster.primary == "db1");
  CHECK(t.cluster.name == "db1");
  REQUIRE(t.servers.size() == 3);
  CHECK(t.servers[0].name == "db1");
  CHECK(t.servers[0].address == "10.0.0.11");
  CHECK(t.servers[1].name == "db2.example");  // its report_host
  CHECK(t.servers[1].address == "10.0.0.12");
  CHECK(t.servers[2].name == "db3");           // its hostname: no report_host
  CHECK(t.servers[2].address == "10.0.0.13");
  CHECK(t.servers[0].server_id == 1);
  CHECK(t.servers[2].server_id == 3);
  // log_bin as the option file writes it when it names the running binlog, else relative to the
  // datadir, else absolute.
  CHECK(t.servers[0].log_bin == "mysql-bin.log");
  CHECK(t.servers[1].log_bin == "mysql-bin");
  CHECK(t.servers[2].log_bin == "/srv/binlog/db3-bin");
  CHECK(t.servers[0].config_file == "/etc/mysql/db1.cnf");
  // bind_address: the included file's value (read last), not the main file's; the address itself
  // stays unwritten.
  CHECK(t.servers[0].bind_address == "0.0.0.0");
  CHECK(t.servers[1].bind_address.empty());
  CHECK(t.servers[1].config_file == "/etc/mysql/db2.cnf");
  CHECK(t.replication.user == "repl");
  CHECK(t.replication.host == "10.0.0.%");
  CHECK(t.replication.mode == ReplicationMode::kGtid);
  CHECK(t.replication.binlog_format == "ROW");
  CHECK(t.replication.password.kind == SecretRef::Kind::kEnv);
  CHECK(t.replication.password.name == "REPL_PASSWORD");
  // MariaDB's defaults (60 s, no heartbeat reported) are looser than replplan's: its own stay.
  CHECK(t.replication.slave_net_timeout == 5);
  CHECK(t.replication.heartbeat_period == 1.0);
  CHECK(t.servers[0].mysql.password.name == "ADMIN_PASSWORD");
  CHECK(t.servers[0].ssh.user == "deploy");
  REQUIRE(t.databases.size() == 2);
  CHECK(t.databases[0].name == "shop");
  CHECK(t.databases[0].collation.empty());
  CHECK(t.databases[1].collation == "latin1_bin");

  REQUIRE(imported->found.size() == 3);
  CHECK(imported->found[0] == "db1 10.0.0.11:3306: the source of db2.example");
  CHECK(imported->found[1] == "db2.example 10.0.0.12:3306: named on the command line");
  CHECK(imported->found[2].find("db3 10.0.0.13:3306: a binlog dump thread on db1 comes from this address") == 0);
  std::string notes = Join(imported->notes, "\n");
  CHECK_MESSAGE(notes.find("db3 (10.0.0.13) was found through its binlog dump thread") != std::string::npos, notes);
  // The included directory was listed and its .cnf read; the primary was asked nothing it could
  // change.
  CHECK(c.db1.log().size() > 0);
  for (const std::string& statement : c.db1.statements()) {
    CHECK_MESSAGE((statement.starts_with("SELECT") || statement.starts_with("SHOW")), statement);
  }
  bool read_include = false;
  for (const std::string& line : c.db1.log()) read_include = read_include || line == "read: /etc/mysql/conf.d/binlog.cnf";
  CHECK(read_include);

  // The rendering validates.
  auto parsed = ParseTopology(RenderTopologyToml(t, {}), "imported.toml");
  CHECK_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.errors.front().message));
}

TEST_CASE("a listed host or a dump thread's address that answers as another server is not taken for the replica") {
  Cluster c;
  c.factory.Accept("localhost");
  Server(c.factory, "localhost", 9, "elsewhere");  // another server where SHOW SLAVE HOSTS points
  (*c.db3.replica)["Master_Host"] = "10.0.0.11";
  auto imported = ImportCluster(c.factory, c.Request({"10.0.0.11"}));
  REQUIRE_MESSAGE(imported.ok(), imported.status().message());
  REQUIRE(imported->topology.servers.size() == 3);
  CHECK(imported->topology.servers[2].name == "db3");

  Cluster d;  // db3 unreachable: the message says what answered at localhost instead
  d.factory.Accept("localhost");
  Server(d.factory, "localhost", 9, "elsewhere");
  d.factory.Refuse("10.0.0.13");
  auto refused = ImportCluster(d.factory, d.Request({"10.0.0.11"}));
  REQUIRE_FALSE(refused.ok());
  CHECK_MESSAGE(refused.status().message().find("SHOW SLAVE HOSTS lists server_id 3 as localhost:3306, which does not "
                                                "answer as that replica (answers as server_id 9)") != std::string::npos,
                refused.status().message());
}

TEST_CASE("a replica found through its dump thread that names its source by another name than import used") {
  Cluster c;  // the seed is db1 by its name; its one replica, db3, names it 10.0.0.11
  FakeServer& alias = Server(c.factory, "db1.example", 1, "db1");
  alias.Answer("SHOW SLAVE HOSTS", {Row{{"Server_id", "3"}, {"Host", "localhost"}, {"Port", "3306"}}});
  alias.Answer(kDumpQuery, {Row{{"HOST", "10.0.0.13:40111"}}});
  auto imported = ImportCluster(c.factory, c.Request({"db1.example"}));
  REQUIRE_MESSAGE(imported.ok(), imported.status().message());
  REQUIRE(imported->topology.servers.size() == 2);
  CHECK(imported->topology.servers[0].address == "10.0.0.11");  // as its replica names it
  CHECK(imported->topology.servers[1].name == "db3");
}

TEST_CASE("the same cluster from the primary gives the same topology") {
  Cluster a, b;
  auto from_replica = ImportCluster(a.factory, a.Request({"10.0.0.12"}));
  auto from_primary = ImportCluster(b.factory, b.Request({"10.0.0.11"}));
  REQUIRE(from_replica.ok());
  REQUIRE(from_primary.ok());
  CHECK(RenderTopologyToml(from_replica->topology, {}) == RenderTopologyToml(from_primary->topology, {}));
}

TEST_CASE("the same cluster from any seed gives the same file; replicas in server_id order") {
  std::string first;
  for (const char* seed : {"10.0.0.11", "10.0.0.12", "10.0.0.13"}) {
    Cluster c;
    auto imported = ImportCluster(c.factory, c.Request({seed}));
    REQUIRE_MESSAGE(imported.ok(), imported.status().message());
    std::string text = RenderTopologyToml(imported->topology, {});
    if (first.empty()) first = text;
    CHECK_MESSAGE(text == first, seed);
    CHECK(imported->topology.servers[1].server_id == 2);
    CHECK(imported->topology.servers[2].server_id == 3);
  }
}

TEST_CASE("failure detection a whole cluster keeps tighter than replplan's defaults is imported; a looser one is not") {
  Cluster c;
  for (FakeServer* s : {&c.db1, &c.db2, &c.db3}) s->globals["slave_net_timeout"] = "4";
  (*c.db2.replica)["Slave_Heartbeat_Period"] = "0.500";
  (*c.db3.replica)["Slave_Heartbeat_Period"] = "0.500";
  auto imported = ImportCluster(c.factory, c.Request({"10.0.0.11"}));
  REQUIRE_MESSAGE(imported.ok(), imported.status().message());
  CHECK(imported->topology.replication.slave_net_timeout == 4);
  CHECK(imported->topology.replication.heartbeat_period == 0.5);

  Cluster d;  // one server at MariaDB's default: replplan's own bound
  for (FakeServer* s : {&d.db1, &d.db2}) s->globals["slave_net_timeout"] = "4";
  (*d.db2.replica)["Slave_Heartbeat_Period"] = "0.500";
  (*d.db3.replica)["Slave_Heartbeat_Period"] = "30.000";
  imported = ImportCluster(d.factory, d.Request({"10.0.0.11"}));
  REQUIRE_MESSAGE(imported.ok(), imported.status().message());
  CHECK(imported->topology.replication.slave_net_timeout == 5);
  CHECK(imported->topology.replication.heartbeat_period == 1.0);
}

TEST_CASE("the failover epoch replplan recorded on the primary is the file's epoch") {
  Cluster c;
  auto imported = ImportCluster(c.factory, c.Request({"10.0.0.11"}));
  REQUIRE(imported.ok());
  CHECK(imported->topology.cluster.epoch == 0);  // the replplan schema, no epoch recorded

  Cluster d;
  d.db1.Answer(ReadLatestEpochSql(), {Row{{"epoch", "7"}, {"primary_name", "db1"}, {"kind", "switchover"}}});
  imported = ImportCluster(d.factory, d.Request({"10.0.0.11"}));
  REQUIRE_MESSAGE(imported.ok(), imported.status().message());
  CHECK(imported->topology.cluster.epoch == 7);
  for (const std::string& note : imported->notes) CHECK(note.find("epoch") == std::string::npos);
  std::string text = RenderTopologyToml(imported->topology, {});
  CHECK(text.find("epoch   = 7") != std::string::npos);
}

TEST_CASE("after a switchover the old primary may still list the new one with a dump thread: a leftover, noted") {
  Cluster c;  // db2 promoted: db1 and db3 replicate from it; db1 still shows db2's dump thread
  c.db2.replica.reset();
  c.db1.replica = FakeServer::ReplicaRow("10.0.0.12", 3306, "repl");
  c.db3.replica = FakeServer::ReplicaRow("10.0.0.12", 3306, "repl");
  // db1 also still lists db3, whose old dump thread is a leftover too: db3 is found through db2.
  c.db1.Answer("SHOW SLAVE HOSTS", {Row{{"Server_id", "2"}, {"Host", "10.0.0.12"}, {"Port", "3306"}},
                                    Row{{"Server_id", "3"}, {"Host", "10.0.0.13"}, {"Port", "3306"}}});
  c.db1.Answer(kDumpQuery, {Row{{"HOST", "10.0.0.12:40110"}}, Row{{"HOST", "10.0.0.13:40113"}}});
  c.db2.Answer("SHOW SLAVE HOSTS", {Row{{"Server_id", "1"}, {"Host", "10.0.0.11"}, {"Port", "3306"}},
                                    Row{{"Server_id", "3"}, {"Host", "10.0.0.13"}, {"Port", "3306"}}});
  c.db2.Answer(kDumpQuery, {Row{{"HOST", "10.0.0.11:40111"}}, Row{{"HOST", "10.0.0.13:40112"}}});
  c.db2.AnswerPrefix("SELECT Host FROM mysql.user WHERE User = 'repl'", {Row{{"Host", "%"}}});
  auto imported = ImportCluster(c.factory, c.Request({"10.0.0.11"}));
  REQUIRE_MESSAGE(imported.ok(), imported.status().message());
  CHECK(imported->topology.cluster.primary == "db2.example");
  std::string notes;
  for (const std::string& note : imported->notes) notes += note + "\n";
  CHECK_MESSAGE(notes.find("db1 still lists db2.example (server_id 2) in SHOW SLAVE HOSTS, which replicates from "
                           "elsewhere now") != std::string::npos,
                notes);
  CHECK_MESSAGE(notes.find("db1 still lists db3 (server_id 3)") != std::string::npos, notes);
  REQUIRE(imported->found.size() == 3);
  CHECK(imported->found[2] == "db3 10.0.0.13:3306: listed by SHOW SLAVE HOSTS on db2.example");
}

TEST_CASE("a replica that cannot be found is refused, naming where it connects from and the fix") {
  Cluster c;
  c.factory.Refuse("10.0.0.13");
  auto imported = ImportCluster(c.factory, c.Request({"10.0.0.11"}));
  REQUIRE_FALSE(imported.ok());
  const std::string& message = imported.status().message();
  CHECK_MESSAGE(message.find("db1 serves 1 replica(s) that were not found") != std::string::npos, message);
  CHECK_MESSAGE(message.find("server_id 3 as localhost:3306, which does not answer") != std::string::npos, message);
  CHECK_MESSAGE(message.find("10.0.0.13") != std::string::npos, message);
  CHECK_MESSAGE(message.find("Name each missing replica on the command line") != std::string::npos, message);

  // Named on the command line (on a cluster where it answers), it is imported.
  Cluster d;
  auto named = ImportCluster(d.factory, d.Request({"10.0.0.11", "10.0.0.13"}));
  REQUIRE_MESSAGE(named.ok(), named.status().message());
  CHECK(named->topology.servers.size() == 3);
}

TEST_CASE("a replica SHOW SLAVE HOSTS lists by a name that does not resolve is found at the address --name gives it") {
  Cluster c;
  ReportNames(c);
  ImportRequest request = c.Request({"10.0.0.11"});
  auto unnamed = ImportCluster(c.factory, request);
  REQUIRE_FALSE(unnamed.ok());
  CHECK_MESSAGE(unnamed.status().message().find("db1 serves 2 replica(s) that were not found") != std::string::npos,
                unnamed.status().message());

  Cluster d;
  ReportNames(d);
  // The replicas reach the primary by a name that does not resolve here either: import reads it at
  // the address --name gives, and writes that address (replplan connects from here).
  (*d.db2.replica)["Master_Host"] = "db1";
  (*d.db3.replica)["Master_Host"] = "db1";
  d.factory.Refuse("db1");
  request.hosts = {"10.0.0.12"};
  request.names = {{"10.0.0.11", "db1"}, {"10.0.0.12", "db2"}, {"10.0.0.13", "db3"}};
  auto named = ImportCluster(d.factory, request);
  REQUIRE_MESSAGE(named.ok(), named.status().message());
  REQUIRE(named->topology.servers.size() == 3);
  CHECK(named->topology.servers[0].address == "10.0.0.11");
  CHECK(named->topology.servers[1].name == "db2");
  CHECK(named->topology.servers[1].address == "10.0.0.12");
  CHECK(named->found[2] == "db3 10.0.0.13:3306: listed by SHOW SLAVE HOSTS on db1");
}

TEST_CASE("--name names a server; a replica of a replica is noted; SSH that fails leaves the default config_file") {
  Cluster c;
  c.db3.replica = FakeServer::ReplicaRow("10.0.0.12", 3306, "repl");
  c.db1.Answer(kDumpQuery, {Row{{"HOST", "10.0.0.12:40110"}}});
  c.db1.Answer("SHOW SLAVE HOSTS", {Row{{"Server_id", "2"}, {"Host", "10.0.0.12"}, {"Port", "3306"}}});
  c.db2.Answer("SHOW SLAVE HOSTS", {Row{{"Server_id", "3"}, {"Host", "10.0.0.13"}, {"Port", "3306"}}});
  c.db2.Answer(kDumpQuery, {Row{{"HOST", "10.0.0.13:40112"}}});
  c.db3.FailShell("run: tr", Status::Unavailable("10.0.0.13:22: cannot connect: Connection refused"));
  ImportRequest request = c.Request({"10.0.0.11"});
  request.names["10.0.0.11"] = "mercury";
  request.cluster_name = "shop";
  auto imported = ImportCluster(c.factory, request);
  REQUIRE_MESSAGE(imported.ok(), imported.status().message());
  CHECK(imported->topology.cluster.name == "shop");
  CHECK(imported->topology.cluster.primary == "mercury");
  CHECK(imported->topology.servers[2].config_file == "/etc/mysql/my.cnf");
  std::string notes;
  for (const std::string& note : imported->notes) notes += note + "\n";
  CHECK_MESSAGE(notes.find("db3 replicates from db2.example, not from the primary mercury") != std::string::npos, notes);
  CHECK_MESSAGE(notes.find("db3: config_file is the default /etc/mysql/my.cnf") != std::string::npos, notes);
}

TEST_CASE("refusals: a named host that does not answer, two primaries, circular replication, a shared server_id, a bad --name") {
  {
    Cluster c;
    c.factory.Refuse("10.0.0.12");
    auto imported = ImportCluster(c.factory, c.Request({"10.0.0.12"}));
    CHECK_FALSE(imported.ok());
  }
  {
    Cluster c;
    FakeSessionFactory& f = c.factory;
    Server(f, "10.0.1.1", 7, "other");
    auto imported = ImportCluster(f, c.Request({"10.0.0.11", "10.0.1.1"}));
    REQUIRE_FALSE(imported.ok());
    CHECK_MESSAGE(imported.status().message().find("db1 and other replicate from no one") != std::string::npos,
                  imported.status().message());
  }
  {
    Cluster c;
    c.db1.replica = FakeServer::ReplicaRow("10.0.0.12", 3306, "repl");
    auto imported = ImportCluster(c.factory, c.Request({"10.0.0.11"}));
    REQUIRE_FALSE(imported.ok());
    CHECK_MESSAGE(imported.status().message().find("circular replication") != std::string::npos,
                  imported.status().message());
  }
  {
    Cluster c;  // a MySQL server: refused at its version, before any MariaDB variable is asked
    c.db1.globals = {{"version", "8.0.35"}};
    auto imported = ImportCluster(c.factory, c.Request({"10.0.0.11"}));
    REQUIRE_FALSE(imported.ok());
    CHECK_MESSAGE(imported.status().message() ==
                      "10.0.0.11 is not MariaDB (version 8.0.35): replplan import reads MariaDB servers only",
                  imported.status().message());
  }
  {
    Cluster c;
    c.db3.globals["server_id"] = "2";
    auto imported = ImportCluster(c.factory, c.Request({"10.0.0.11"}));
    REQUIRE_FALSE(imported.ok());
    CHECK_MESSAGE(imported.status().message().find("both have server_id 2") != std::string::npos,
                  imported.status().message());
  }
  {
    Cluster c;
    ImportRequest request = c.Request({"10.0.0.11"});
    request.names["10.0.0.12"] = "-db2";
    auto imported = ImportCluster(c.factory, request);
    REQUIRE_FALSE(imported.ok());
    CHECK_MESSAGE(imported.status().message().find("--name -db2=10.0.0.12: a server name is") != std::string::npos,
                  imported.status().message());
  }
  {
    FakeSessionFactory f;
    Server(f, "fd00::1", 1, "lone");  // reached by an IPv6 address: the file's address cannot be one
    ImportRequest request;
    request.hosts = {"fd00::1"};
    auto imported = ImportCluster(f, request);
    REQUIRE_FALSE(imported.ok());
    CHECK_MESSAGE(imported.status().message().find("lone is reached at 'fd00::1', which a topology file cannot hold") !=
                      std::string::npos,
                  imported.status().message());
  }
}

TEST_CASE("the accounts an operator manages become [[user]]s with their grants; passwords named, never read") {
  Cluster c;
  c.db1.AnswerPrefix("SELECT User AS user, Host AS host FROM mysql.user",
                     {Row{{"user", "admin"}, {"host", "%"}}, Row{{"user", "mariadb.sys"}, {"host", "localhost"}},
                      Row{{"user", "pierre"}, {"host", "%"}}, Row{{"user", "repl"}, {"host", "10.0.0.%"}},
                      Row{{"user", "reports"}, {"host", "10.0.0.%"}}, Row{{"user", "root"}, {"host", "localhost"}}});
  c.db1.Answer("SHOW GRANTS FOR 'pierre'@'%'",
               {Row{{"Grants for pierre@%", "GRANT USAGE ON *.* TO `pierre`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE'"}},
                Row{{"Grants for pierre@%", "GRANT ALL PRIVILEGES ON `shop`.* TO `pierre`@`%`"}}});
  c.db1.Answer("SHOW GRANTS FOR 'reports'@'10.0.0.%'",
               {Row{{"Grants for reports@10.0.0.%", "GRANT SELECT ON `shop_reports`.* TO `reports`@`10.0.0.%`"}},
                Row{{"Grants for reports@10.0.0.%", "GRANT SELECT ON `shop`.* TO `reports`@`10.0.0.%` WITH GRANT OPTION"}}});
  auto imported = ImportCluster(c.factory, c.Request({"10.0.0.12"}));
  REQUIRE_MESSAGE(imported.ok(), imported.status().message());
  const Topology& t = imported->topology;
  // Not admin (import's login), mariadb.sys and root (the system's), repl ([replication]).
  REQUIRE(t.users.size() == 2);
  CHECK(t.users[0].name == "pierre");
  CHECK(t.users[0].host == "%");
  CHECK(t.users[0].password.kind == SecretRef::Kind::kEnv);
  CHECK(t.users[0].password.name == "PIERRE_PASSWORD");
  REQUIRE(t.users[0].grants.size() == 1);
  CHECK(t.users[0].grants[0].text == "ALL PRIVILEGES ON `shop`.*");
  CHECK(t.users[1].name == "reports");
  CHECK(t.users[1].host == "10.0.0.%");
  REQUIRE(t.users[1].grants.size() == 1);
  CHECK(t.users[1].grants[0].text == "SELECT ON `shop_reports`.*");
  const std::string notes = Join(imported->notes, "\n");
  CHECK_MESSAGE(notes.find("'reports'@'10.0.0.%': GRANT SELECT ON `shop`.* WITH GRANT OPTION: the file cannot give "
                           "GRANT OPTION") != std::string::npos,
                notes);
  CHECK(notes.find("2470C0C06DEE") == std::string::npos);
  // Only SELECT and SHOW on the primary.
  for (const std::string& line : c.db1.log()) {
    if (line.starts_with("sql: ")) CHECK_MESSAGE((line.starts_with("sql: SELECT") || line.starts_with("sql: SHOW")), line);
  }
  auto parsed = ParseTopology(RenderTopologyToml(t, {}), "imported.toml");
  CHECK(parsed.ok());
}

TEST_CASE("an app named with --app: its database.yml read on its host; [[app]] without restart, notes where it differs") {
  Cluster c;
  c.db2.files["/srv/shop/config/database.yml"] =
      "default: &default\n  adapter: mysql2\nproduction:\n  <<: *default\n  host: 10.0.0.11\n  database: shop\n"
      "  username: pierre\n";
  c.db3.files["/srv/shop/config/database.yml"] =
      "production:\n  adapter: mysql2\n  host: 10.0.0.12\n  database: shop\n  username: pierre\n";
  ImportRequest request = c.Request({"10.0.0.11"});
  request.apps = {{"shop", "db2.example", "/srv/shop/"}, {"shop", "10.0.0.13", "/srv/shop"}};
  auto imported = ImportCluster(c.factory, request);
  REQUIRE_MESSAGE(imported.ok(), imported.status().message());
  REQUIRE(imported->topology.apps.size() == 1);
  const AppSpec& app = imported->topology.apps[0];
  CHECK(app.name == "shop");
  CHECK(app.hosts == std::vector<std::string>{"db2.example", "db3"});
  CHECK(app.root == "/srv/shop");
  CHECK(app.environment == "production");
  CHECK(app.restart.empty());
  const std::string notes = Join(imported->notes, "\n");
  CHECK_MESSAGE(notes.find("app shop on db3: /srv/shop/config/database.yml connects to '10.0.0.12', not the primary "
                           "db1 (10.0.0.11): plan points it there") != std::string::npos,
                notes);
  CHECK(notes.find("app shop on db2.example: /srv/shop/config/database.yml connects") == std::string::npos);
  CHECK(notes.find("username pierre is not an account imported as a [[user]]") != std::string::npos);

  // A host that is not a server of the cluster, a root without database.yml: refused, naming the fix.
  Cluster d;
  request.apps = {{"shop", "10.0.0.99", "/srv/shop"}};
  auto elsewhere = ImportCluster(d.factory, request);
  REQUIRE_FALSE(elsewhere.ok());
  CHECK(elsewhere.status().message().find("10.0.0.99 is not a server of the cluster") != std::string::npos);
  request.apps = {{"shop", "db1", "/srv/none"}};
  auto missing = ImportCluster(d.factory, request);
  REQUIRE_FALSE(missing.ok());
  CHECK_MESSAGE(missing.status().message().find("/srv/none/config/database.yml does not exist on db1") !=
                    std::string::npos,
                missing.status().message());
}

}  // namespace replplan
