#include "engine/topology_parser.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

namespace replplan {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A valid file to break one piece at a time: each error test replaces one line of it.
constexpr std::string_view kValid = R"([cluster]
name    = "t"
flavor  = "mariadb"
primary = "a"

[replication]
user     = "repl"
password = { env = "REPL_PASSWORD" }

[defaults]
ssh   = { user = "root", port = 22 }
mysql = { user = "root", password = { env = "ADMIN_PASSWORD" } }

[[server]]
name      = "a"
address   = "10.0.0.1"
server_id = 1
log_bin   = "/var/log/mysql/mysql-bin.log"

[[server]]
name      = "b"
address   = "10.0.0.2"
server_id = 2
log_bin   = "/var/log/mysql/mysql-bin.log"
)";

// kValid with the first line starting with `prefix` replaced by `line` ("" removes it).
std::string Replace(std::string_view prefix, std::string_view line, std::string text = std::string(kValid)) {
  std::string search = "\n" + std::string(prefix);
  size_t pos = text.starts_with(prefix) ? 0 : text.find(search);
  REQUIRE_MESSAGE(pos != std::string::npos, "no line starts with " << prefix);
  if (pos != 0) ++pos;
  const size_t end = text.find('\n', pos);
  text.replace(pos, end - pos, line);
  return text;
}

// Every diagnostic of parsing `text` as t.toml, joined with "\n".
std::string Errors(const std::string& text) {
  TopologyParse parse = ParseTopology(text, "t.toml");
  std::string out;
  for (const Diagnostic& d : parse.errors) out += (out.empty() ? "" : "\n") + d.ToString();
  return out;
}

}  // namespace

TEST_CASE("the seed example parses to the expected model with defaults merged") {
  const std::string path = std::string(REPLPLAN_SOURCE_DIR) + "/examples/secondhand.toml";
  TopologyParse parse = ParseTopology(ReadFile(path), "examples/secondhand.toml");
  for (const Diagnostic& d : parse.errors) FAIL(d.ToString());
  const Topology& t = parse.topology;

  CHECK(t.file == "examples/secondhand.toml");
  CHECK(t.cluster.name == "secondhand");
  CHECK(t.cluster.flavor == Flavor::kMariaDB);
  CHECK(t.cluster.primary == "mercury");
  CHECK(t.cluster.primary_where.ToString() == "examples/secondhand.toml:10:11");
  // Not in the world-writable /run/lock, where any local user could block applies (audit finding 16).
  CHECK(t.cluster.lock_file == "/run/replplan/secondhand.lock");

  CHECK(t.replication.user == "repl");
  CHECK(t.replication.host == "%");
  CHECK(t.replication.password.kind == SecretRef::Kind::kEnv);
  CHECK(t.replication.password.name == "REPL_PASSWORD");
  CHECK(t.replication.mode == ReplicationMode::kGtid);
  CHECK(t.replication.binlog_format == "ROW");
  CHECK_FALSE(t.replication.semi_sync);

  REQUIRE(t.servers.size() == 2);
  const ServerSpec& mercury = t.servers[0];
  CHECK(mercury.name == "mercury");
  CHECK(mercury.address == "192.168.178.61");
  CHECK(mercury.bind_address == "192.168.178.61");
  CHECK(mercury.server_id == 1);
  CHECK(mercury.log_bin == "/var/log/mysql/mysql-bin.log");
  CHECK(mercury.ssh.user == "root");
  CHECK(mercury.ssh.port == 22);
  CHECK(mercury.ssh.identity == "~/.ssh/id_ed25519");
  CHECK(mercury.ssh.known_hosts == "~/.ssh/known_hosts");
  CHECK(mercury.ssh.verify_host_key);
  CHECK(mercury.mysql.port == 3306);
  CHECK(mercury.mysql.user == "root");
  CHECK(mercury.mysql.password.Describe() == "env MYSQL_ADMIN_PASSWORD");
  CHECK(mercury.config_file == "/etc/mysql/my.cnf");
  CHECK(mercury.restart == "service mysql restart");
  CHECK(mercury.promotion == Promotion::kNormal);
  CHECK(mercury.where.ToString() == "examples/secondhand.toml:24:1");
  CHECK(mercury.key_where.at("server_id").ToString() == "examples/secondhand.toml:27:13");
  CHECK(t.servers[1].name == "uranus");
  CHECK(t.servers[1].server_id == 2);
  CHECK(&t.Primary() == &mercury);
  CHECK(t.FindServer("uranus") == &t.servers[1]);
  CHECK(t.FindServer("venus") == nullptr);

  REQUIRE(t.databases.size() == 1);
  CHECK(t.databases[0].name == "secondhand_production");
  CHECK(t.databases[0].charset == "utf8mb4");
  CHECK(t.databases[0].collation.empty());

  REQUIRE(t.users.size() == 1);
  const UserSpec& pierre = t.users[0];
  CHECK(pierre.name == "pierre");
  CHECK(pierre.host == "localhost");
  CHECK(pierre.password.Describe() == "env SECONDHAND_DB_PASSWORD");
  REQUIRE(pierre.grants.size() == 1);
  CHECK(pierre.grants[0].text == "ALL PRIVILEGES ON `secondhand_production`.*");
  CHECK(pierre.grants[0].where.ToString() == "examples/secondhand.toml:44:13");

  REQUIRE(t.apps.size() == 1);
  const AppSpec& app = t.apps[0];
  CHECK(app.name == "secondhand");
  CHECK(app.kind == AppKind::kRails);
  CHECK(app.hosts == std::vector<std::string>{"mercury", "uranus"});
  CHECK(app.root == "/var/www/secondhand");
  CHECK(app.DatabaseYmlPath() == "/var/www/secondhand/config/database.yml");
  CHECK(app.environment == "production");
  CHECK(app.restart == "touch /var/www/secondhand/tmp/restart.txt");
  CHECK(app.health == "http://192.168.178.61:3000/up");
  CHECK(app.where.ToString() == "examples/secondhand.toml:49:1");
  CHECK(app.key_where.at("hosts[1]").ToString() == "examples/secondhand.toml:52:27");
}

TEST_CASE("every example file validates") {
  for (const char* name : {"secondhand.toml", "lab-3.toml", "mysql-file-mode.toml"}) {
    CAPTURE(name);
    TopologyParse parse = ParseTopology(ReadFile(std::string(REPLPLAN_SOURCE_DIR) + "/examples/" + name), name);
    for (const Diagnostic& d : parse.errors) FAIL(d.ToString());
  }
}

TEST_CASE("a per-server ssh.port overrides the default and keeps the default user and key") {
  std::string text = Replace("ssh   =", R"(ssh   = { user = "admin", port = 22, identity = "/k" })");
  text += "ssh.port  = 2222\nconfig_file = \"/srv/my.cnf\"\nrestart = \"lab restart b\"\n";
  text += "mysql = { port = 3307 }\nbind_address = \"0.0.0.0\"\npromotion = \"never\"\n";
  TopologyParse parse = ParseTopology(text, "t.toml");
  for (const Diagnostic& d : parse.errors) FAIL(d.ToString());
  const ServerSpec& a = parse.topology.servers[0];
  const ServerSpec& b = parse.topology.servers[1];
  CHECK(a.ssh.port == 22);
  CHECK(b.ssh.port == 2222);
  CHECK(b.ssh.user == "admin");
  CHECK(b.ssh.identity == "/k");
  CHECK(b.ssh.known_hosts == "~/.ssh/known_hosts");  // neither level set it: the built-in default
  CHECK(b.mysql.port == 3307);
  CHECK(b.mysql.user == "root");
  CHECK(b.mysql.password.Describe() == "env ADMIN_PASSWORD");
  CHECK(a.config_file == "/etc/mysql/my.cnf");
  CHECK(b.config_file == "/srv/my.cnf");
  CHECK(b.restart == "lab restart b");
  CHECK(b.bind_address == "0.0.0.0");
  CHECK(a.bind_address == "10.0.0.1");
  CHECK(b.promotion == Promotion::kNever);
  CHECK(b.key_where.at("ssh.port").ToString() == "t.toml:25:13");
}

TEST_CASE("[cluster] on_data_error: reseed by default, skip when written, anything else refused") {
  CHECK(ParseTopology(std::string(kValid), "t.toml").topology.cluster.on_data_error == DataErrorRemedy::kReseed);
  TopologyParse skip = ParseTopology(Replace("flavor", "flavor = \"mariadb\"\non_data_error = \"skip\""), "t.toml");
  for (const Diagnostic& d : skip.errors) FAIL(d.ToString());
  CHECK(skip.topology.cluster.on_data_error == DataErrorRemedy::kSkip);
  CHECK(Errors(Replace("flavor", "flavor = \"mariadb\"\non_data_error = \"ignore\"")) ==
        "t.toml:4:17: unknown on_data_error 'ignore' (expected reseed or skip)");
}

TEST_CASE("optional keys are read: flavor, file mode, binlog_format case, semi_sync, verify_host_key") {
  std::string text = Replace("flavor", R"(flavor = "mysql")");
  text = Replace("password = { env = \"REPL", R"(password = { file = "/etc/repl.pw" }
mode = "file"
binlog_format = "mixed"
semi_sync = true
host = "10.0.0.%")",
                 text);
  text = Replace("ssh   =", R"(ssh = { verify_host_key = false, connect_timeout_ms = 100 })", text);
  TopologyParse parse = ParseTopology(text, "t.toml");
  for (const Diagnostic& d : parse.errors) FAIL(d.ToString());
  const Topology& t = parse.topology;
  CHECK(t.cluster.flavor == Flavor::kMySQL);
  CHECK(t.replication.password.Describe() == "file /etc/repl.pw");
  CHECK(t.replication.mode == ReplicationMode::kFile);
  CHECK(t.replication.binlog_format == "MIXED");
  CHECK(t.replication.semi_sync);
  CHECK(t.replication.host == "10.0.0.%");
  CHECK_FALSE(t.servers[0].ssh.verify_host_key);
  CHECK(t.servers[0].ssh.connect_timeout_ms == 100);
}

TEST_CASE("replication timing: defaults when absent, read when given, heartbeat_period as integer or float") {
  TopologyParse defaults = ParseTopology(std::string(kValid), "t.toml");
  REQUIRE(defaults.errors.empty());
  const ReplicationSpec& d = defaults.topology.replication;
  CHECK(d.semi_sync_timeout_ms == 10000);
  CHECK(d.heartbeat_period == doctest::Approx(1.0));
  CHECK(d.slave_net_timeout == 5);
  CHECK(d.switchover_max_lag == 10);

  std::string text = Replace("user     = \"repl\"", R"(user = "repl"
semi_sync = true
semi_sync_timeout_ms = 2000
heartbeat_period = 0.25
slave_net_timeout = 3
switchover_max_lag = 0)");
  TopologyParse parse = ParseTopology(text, "t.toml");
  for (const Diagnostic& e : parse.errors) FAIL(e.ToString());
  const ReplicationSpec& r = parse.topology.replication;
  CHECK(r.semi_sync);
  CHECK(r.semi_sync_timeout_ms == 2000);
  CHECK(r.heartbeat_period == doctest::Approx(0.25));
  CHECK(r.slave_net_timeout == 3);
  CHECK(r.switchover_max_lag == 0);

  TopologyParse whole = ParseTopology(Replace("user     = \"repl\"", "user = \"repl\"\nheartbeat_period = 2"), "t.toml");
  for (const Diagnostic& e : whole.errors) FAIL(e.ToString());
  CHECK(whole.topology.replication.heartbeat_period == doctest::Approx(2.0));
}

TEST_CASE("replication timing: wrong types and out-of-range values point at the value") {
  auto with = [](const std::string& lines) { return Errors(Replace("user     = \"repl\"", "user = \"repl\"\n" + lines)); };
  CHECK(with("semi_sync_timeout_ms = \"2s\"") ==
        "t.toml:8:24: replication.semi_sync_timeout_ms must be an integer, got string");
  CHECK(with("semi_sync_timeout_ms = 0") ==
        "t.toml:8:24: replication.semi_sync_timeout_ms must be in 1..2147483647, got 0");
  CHECK(with("semi_sync_timeout_ms = 2147483648") ==
        "t.toml:8:24: replication.semi_sync_timeout_ms must be in 1..2147483647, got 2147483648");
  CHECK(with("slave_net_timeout = 2.5") == "t.toml:8:21: replication.slave_net_timeout must be an integer, got float");
  CHECK(with("slave_net_timeout = 0") == "t.toml:8:21: replication.slave_net_timeout must be in 1..31536000, got 0");
  CHECK(with("switchover_max_lag = -1") == "t.toml:8:22: replication.switchover_max_lag must be in 0..86400, got -1");
  CHECK(with("switchover_max_lag = true") ==
        "t.toml:8:22: replication.switchover_max_lag must be an integer, got boolean");
  CHECK(with("heartbeat_period = \"1s\"") ==
        "t.toml:8:20: replication.heartbeat_period must be a number of seconds, got string");
  CHECK(with("heartbeat_period = 0") ==
        "t.toml:8:20: replication.heartbeat_period must be in 0.001..4294967 seconds, got 0");
  CHECK(with("heartbeat_period = 0.0001") ==
        "t.toml:8:20: replication.heartbeat_period must be in 0.001..4294967 seconds, got 0.0001");
  CHECK(with("heartbeat_period = nan") ==
        "t.toml:8:20: replication.heartbeat_period must be in 0.001..4294967 seconds, got nan");
}

TEST_CASE("heartbeat_period must be below slave_net_timeout, the file's or the default 5 s") {
  auto with = [](const std::string& lines) { return Errors(Replace("user     = \"repl\"", "user = \"repl\"\n" + lines)); };
  CHECK(with("heartbeat_period = 5") ==
        "t.toml:8:20: replication.heartbeat_period (5 s) must be below replication.slave_net_timeout (5 s)\n"
        "  hint: replicas would time out on an idle, healthy primary between two heartbeats");
  CHECK(with("slave_net_timeout = 30\nheartbeat_period = 29.5") == "");
  CHECK(with("heartbeat_period = 1.5\nslave_net_timeout = 1") ==
        "t.toml:8:20: replication.heartbeat_period (1.5 s) must be below replication.slave_net_timeout (1 s)\n"
        "  hint: replicas would time out on an idle, healthy primary between two heartbeats");
}

TEST_CASE("a misspelt replication timing key gets a suggestion") {
  CHECK(Errors(Replace("user     = \"repl\"", "user = \"repl\"\nheartbeat_perod = 1")) ==
        "t.toml:8:1: unknown key 'heartbeat_perod' in [replication] (did you mean 'heartbeat_period'?)");
  CHECK(Errors(Replace("user     = \"repl\"", "user = \"repl\"\nslave_net_timout = 5")) ==
        "t.toml:8:1: unknown key 'slave_net_timout' in [replication] (did you mean 'slave_net_timeout'?)");
  CHECK(Errors(Replace("user     = \"repl\"", "user = \"repl\"\nsemisync_timeout_ms = 5")) ==
        "t.toml:8:1: unknown key 'semisync_timeout_ms' in [replication] (did you mean 'semi_sync_timeout_ms'?)");
}

TEST_CASE("the valid base file has no errors, so each case below proves its own error") {
  CHECK(Errors(std::string(kValid)) == "");
}

TEST_CASE("unknown keys and tables are reported with a suggestion") {
  CHECK(Errors(Replace("server_id = 2", "sever_id = 2\nserver_id = 2")) ==
        "t.toml:23:1: unknown key 'sever_id' in [[server]] (did you mean 'server_id'?)");
  CHECK(Errors(Replace("flavor", "flavour = \"mariadb\"")) ==
        "t.toml:3:1: unknown key 'flavour' in [cluster] (did you mean 'flavor'?)");
  CHECK(Errors(std::string(kValid) + "color = \"red\"\n") ==
        "t.toml:25:1: unknown key 'color' in [[server]]\n"
        "  hint: [[server]] accepts name, address, server_id, log_bin, bind_address, ssh, mysql, config_file, "
        "restart, promotion");
  CHECK(Errors(Replace("ssh   =", "ssh = { prot = 22 }")) ==
        "t.toml:11:9: unknown key 'prot' in defaults.ssh (did you mean 'port'?)");
  CHECK(Errors(std::string(kValid) + "[[servers]]\nname = \"c\"\n") ==
        "t.toml:25:3: unknown table 'servers' (did you mean 'server'?)");
}

TEST_CASE("wrong types name the key, the expected and the actual type") {
  CHECK(Errors(Replace("server_id = 1", "server_id = \"1\"")) ==
        "t.toml:17:13: server_id must be an integer, got string");
  CHECK(Errors(Replace("name    = \"t\"", "name = 5")) == "t.toml:2:8: cluster.name must be a string, got integer");
  CHECK(Errors(Replace("ssh   =", "ssh = { port = 22.0 }")) ==
        "t.toml:11:16: defaults.ssh.port must be an integer, got float");
  CHECK(Errors(Replace("user     = \"repl\"", "user = \"repl\"\nsemi_sync = \"yes\"")) ==
        "t.toml:8:13: replication.semi_sync must be a boolean (true or false), got string");
  CHECK(Errors(Replace("ssh   =", "ssh = 22")) == "t.toml:11:7: defaults.ssh must be a table, got integer");
}

TEST_CASE("missing required keys point at the table header") {
  CHECK(Errors(Replace("primary", "")) ==
        "t.toml:1:1: [cluster] is missing required key 'primary'\n"
        "  hint: name the [[server]] that takes writes");
  CHECK(Errors(Replace("address   = \"10.0.0.2\"", "")) == "t.toml:20:1: server 'b' is missing required key 'address'");
  CHECK(Errors(Replace("log_bin", "")) ==
        "t.toml:14:1: server 'a' is missing required key 'log_bin'\n"
        "  hint: replication needs binary logs, e.g. log_bin = \"/var/log/mysql/mysql-bin.log\"");
  CHECK(Errors(Replace("name      = \"b\"", "")) == "t.toml:20:1: [[server]] is missing required key 'name'");
  CHECK(Errors(Replace("password = { env = \"REPL", "")) ==
        "t.toml:6:1: [replication] is missing required key 'password'\n"
        "  hint: use password = { env = \"NAME\" } or { file = \"/path\" }: secrets never live in the file");
  CHECK(Errors(Replace("mysql =", "")) ==
        "t.toml:14:1: server 'a' has no mysql password\n"
        "  hint: set password in [defaults] mysql, or in this server's mysql table: use password = { env = \"NAME\" } "
        "or { file = \"/path\" }: secrets never live in the file\n"
        "t.toml:20:1: server 'b' has no mysql password\n"
        "  hint: set password in [defaults] mysql, or in this server's mysql table: use password = { env = \"NAME\" } "
        "or { file = \"/path\" }: secrets never live in the file");
}

TEST_CASE("a file without tables reports each missing piece") {
  CHECK(Errors("") ==
        "t.toml:1:1: missing [cluster] table\n"
        "t.toml:1:1: missing [replication] table\n"
        "t.toml:1:1: no [[server]] declared\n"
        "  hint: declare at least the primary: [[server]] with name, address, server_id, log_bin");
}

TEST_CASE("duplicate server names, ids and addresses point at the second and name the first") {
  CHECK(Errors(Replace("name      = \"b\"", "name      = \"a\"")) ==
        "t.toml:21:13: duplicate server name 'a' (first declared at line 14)");
  CHECK(Errors(Replace("server_id = 2", "server_id = 1")) ==
        "t.toml:23:13: duplicate server_id 1 (already used by server 'a' at line 17)");
  CHECK(Errors(Replace("address   = \"10.0.0.2\"", "address   = \"10.0.0.1\"")) ==
        "t.toml:22:13: duplicate address '10.0.0.1' (already used by server 'a' at line 16)");
}

TEST_CASE("server_id must be in 1..4294967295") {
  CHECK(Errors(Replace("server_id = 2", "server_id = 0")) == "t.toml:23:13: server_id must be in 1..4294967295, got 0");
  CHECK(Errors(Replace("server_id = 2", "server_id = 4294967296")) ==
        "t.toml:23:13: server_id must be in 1..4294967295, got 4294967296");
  CHECK(Errors(Replace("server_id = 2", "server_id = -2")) ==
        "t.toml:23:13: server_id must be in 1..4294967295, got -2");
  CHECK(Errors(Replace("server_id = 2", "server_id = 4294967295")) == "");
}

TEST_CASE("the primary must be a declared server") {
  CHECK(Errors(Replace("primary", "primary = \"aa\"")) ==
        "t.toml:4:11: primary 'aa' is not a declared server (did you mean 'a'?)");
  CHECK(Errors(Replace("primary", "primary = \"zzz\"")) ==
        "t.toml:4:11: primary 'zzz' is not a declared server\n"
        "  hint: declared servers: a, b");
}

TEST_CASE("addresses must be IPv4 addresses or host names, ports 1..65535") {
  CHECK(Errors(Replace("address   = \"10.0.0.2\"", "address = \"10.0.0.256\"")) ==
        "t.toml:22:11: address must be an IPv4 address or a hostname, got '10.0.0.256'");
  CHECK(Errors(Replace("address   = \"10.0.0.2\"", "address = \"db_2.local\"")) ==
        "t.toml:22:11: address must be an IPv4 address or a hostname, got 'db_2.local'");
  CHECK(Errors(Replace("address   = \"10.0.0.2\"", "address = \"db-2.example.com\"")) == "");
  CHECK(Errors(Replace("ssh   =", "ssh = { port = 0 }")) ==
        "t.toml:11:16: defaults.ssh.port must be in 1..65535, got 0");
  CHECK(Errors(std::string(kValid) + "mysql.port = 65536\n") ==
        "t.toml:25:14: mysql.port must be in 1..65535, got 65536");
}

TEST_CASE("a literal password is rejected with the hint, and the secret is not echoed") {
  const std::string errors = Errors(Replace("password = { env = \"REPL", "password = \"hunter2\""));
  CHECK(errors ==
        "t.toml:8:12: replication.password must not be a literal string\n"
        "  hint: use password = { env = \"NAME\" } or { file = \"/path\" }: secrets never live in the file");
  CHECK(errors.find("hunter2") == std::string::npos);
  CHECK(Errors(Replace("mysql =", "mysql = { password = \"s3cret\" }")) ==
        "t.toml:12:22: defaults.mysql.password must not be a literal string\n"
        "  hint: use password = { env = \"NAME\" } or { file = \"/path\" }: secrets never live in the file");
}

TEST_CASE("a secret is exactly one of a valid env name or an absolute file") {
  const std::string hint =
      "\n  hint: use password = { env = \"NAME\" } or { file = \"/path\" }: secrets never live in the file";
  CHECK(Errors(Replace("password = { env = \"REPL", "password = { env = \"A\", file = \"/a\" }")) ==
        "t.toml:8:12: replication.password must have exactly one of 'env' or 'file'" + hint);
  CHECK(Errors(Replace("password = { env = \"REPL", "password = {}")) ==
        "t.toml:8:12: replication.password must have exactly one of 'env' or 'file'" + hint);
  CHECK(Errors(Replace("password = { env = \"REPL", "password = { env = \"REPL-PW\" }")) ==
        "t.toml:8:20: replication.password.env must be an environment variable name (letters, digits, '_'), got "
        "'REPL-PW'");
  CHECK(Errors(Replace("password = { env = \"REPL", "password = { file = \"repl.pw\" }")) ==
        "t.toml:8:21: replication.password.file must be an absolute path, got 'repl.pw'");
  CHECK(Errors(Replace("password = { env = \"REPL", "password = { evn = \"X\", env = \"X\" }")) ==
        "t.toml:8:14: unknown key 'evn' in replication.password (did you mean 'env'?)");
  CHECK(Errors(Replace("password = { env = \"REPL", "password = 5")) ==
        "t.toml:8:12: replication.password must be a table, got integer" + hint);
}

TEST_CASE("cluster.errant_transactions: refuse by default, the three remedies, a typo suggested, GTID only") {
  TopologyParse defaults = ParseTopology(std::string(kValid), "t.toml");
  REQUIRE(defaults.errors.empty());
  CHECK(defaults.topology.cluster.errant_transactions == ErrantRemedy::kRefuse);
  auto with = [](const std::string& value) {
    return Replace("flavor", "flavor  = \"mariadb\"\nerrant_transactions = \"" + value + "\"");
  };
  auto remedy = [&](const std::string& value) {
    TopologyParse parse = ParseTopology(with(value), "t.toml");
    for (const Diagnostic& e : parse.errors) FAIL(e.ToString());
    return parse.topology.cluster.errant_transactions;
  };
  CHECK(remedy("refuse") == ErrantRemedy::kRefuse);
  CHECK(remedy("inject-empty") == ErrantRemedy::kInjectEmpty);
  CHECK(remedy("reseed") == ErrantRemedy::kReseed);
  CHECK(Errors(with("inject_empty")) ==
        "t.toml:4:23: unknown errant_transactions 'inject_empty' (expected refuse, inject-empty or reseed) (did you "
        "mean 'inject-empty'?)");
  CHECK(Errors(with("skip")) == "t.toml:4:23: unknown errant_transactions 'skip' (expected refuse, inject-empty or reseed)");
  const std::string file_mode = "user = \"repl\"\nmode = \"file\"";
  CHECK(Errors(Replace("user     = \"repl\"", file_mode, with("refuse"))).empty());
  CHECK(Errors(Replace("user     = \"repl\"", file_mode, with("inject-empty"))) ==
        "t.toml:4:23: cluster.errant_transactions = 'inject-empty' needs replication.mode = 'gtid' (errant "
        "transactions are found by GTID)");
}

TEST_CASE("replication.far_behind_seconds: unset by default (Diagnose's default applies), 1..86400") {
  TopologyParse defaults = ParseTopology(std::string(kValid), "t.toml");
  REQUIRE(defaults.errors.empty());
  CHECK_FALSE(defaults.topology.replication.far_behind_seconds.has_value());
  TopologyParse set = ParseTopology(Replace("user     = \"repl\"", "user = \"repl\"\nfar_behind_seconds = 60"), "t.toml");
  for (const Diagnostic& e : set.errors) FAIL(e.ToString());
  CHECK(set.topology.replication.far_behind_seconds == 60);
  CHECK(Errors(Replace("user     = \"repl\"", "user = \"repl\"\nfar_behind_seconds = 0")) ==
        "t.toml:8:22: replication.far_behind_seconds must be in 1..86400, got 0");
  CHECK(Errors(Replace("user     = \"repl\"", "user = \"repl\"\nfar_behind_seconds = \"5m\"")) ==
        "t.toml:8:22: replication.far_behind_seconds must be an integer, got string");
}

TEST_CASE("unknown choices list the allowed values") {
  CHECK(Errors(Replace("flavor", "flavor = \"postgres\"")) ==
        "t.toml:3:10: unknown flavor 'postgres' (expected mariadb or mysql)");
  CHECK(Errors(Replace("user     = \"repl\"", "user = \"repl\"\nmode = \"gtdi\"")) ==
        "t.toml:8:8: unknown mode 'gtdi' (expected gtid or file)");
  CHECK(Errors(Replace("user     = \"repl\"", "user = \"repl\"\nbinlog_format = \"rows\"")) ==
        "t.toml:8:17: unknown binlog_format 'rows' (expected ROW, MIXED or STATEMENT)");
  CHECK(Errors(std::string(kValid) + "promotion = \"always\"\n") ==
        "t.toml:25:13: unknown promotion 'always' (expected normal, prefer or never)");
}

TEST_CASE("no string holds a control character: a NUL would cut a path where C reads it, a line break a command") {
  CHECK(Errors(Replace("log_bin", "log_bin = \"/var/log/mysql/bin\\u0000.log\"")) ==
        "t.toml:18:11: log_bin must not contain control characters (\\x00 at byte 18)");
  CHECK(Errors(std::string(kValid) + "config_file = \"/etc/mysql/my.cnf\\n/etc/passwd\"\n") ==
        "t.toml:25:15: config_file must not contain control characters (\\x0a at byte 17)");
}

TEST_CASE("paths: log_bin absolute or relative to the datadir, config_file absolute, identity absolute or under ~/") {
  // MariaDB takes a basename relative to its datadir, the common form of a hand-built server.
  for (const char* relative : {"mysql-bin", "mysql-bin.log", "binlog/mysql-bin"}) {
    CAPTURE(relative);
    TopologyParse parse = ParseTopology(Replace("log_bin", "log_bin = \"" + std::string(relative) + "\""), "t.toml");
    REQUIRE(parse.ok());
    CHECK(parse.topology.servers[0].log_bin == relative);
  }
  CHECK(Errors(Replace("log_bin", "log_bin = \"binlog/\"")) ==
        "t.toml:18:11: log_bin must name the binlog's base file (e.g. mysql-bin or /var/log/mysql/mysql-bin.log), "
        "got the directory 'binlog/'");
  CHECK(Errors(std::string(kValid) + "config_file = \"my.cnf\"\n") ==
        "t.toml:25:15: config_file must be an absolute path, got 'my.cnf'");
  CHECK(Errors(Replace("ssh   =", "ssh = { identity = \"id_ed25519\" }")) ==
        "t.toml:11:20: defaults.ssh.identity must be an absolute path or start with '~/', got 'id_ed25519'");
}

TEST_CASE("databases and users: duplicates, grants and the replication account") {
  const std::string base = std::string(kValid) +
                           "[[database]]\nname = \"app\"\n"                                         // 25
                           "[[user]]\nname = \"u\"\npassword = { env = \"U\" }\n"                   // 27
                           "grants = [\"SELECT ON app.*\", \"SELEC ON app.*\", \"ALL ON app\"]\n";  // 30
  CHECK(Errors(base) ==
        "t.toml:30:30: invalid grant 'SELEC ON app.*': unknown privilege 'SELEC' (did you mean 'SELECT'?)\n"
        "t.toml:30:48: invalid grant 'ALL ON app': expected 'db.table', 'db.*' or '*.*' after ' ON '");
  CHECK(Errors(std::string(kValid) + "[[database]]\nname = \"app\"\n[[database]]\nname = \"app\"\n") ==
        "t.toml:28:8: duplicate database 'app' (first declared at line 25)");
  CHECK(Errors(std::string(kValid) + "[[user]]\nname = \"u\"\npassword = { env = \"U\" }\n" +
               "[[user]]\nname = \"u\"\nhost = \"%\"\npassword = { env = \"U\" }\n") ==
        "t.toml:29:8: duplicate user 'u'@'%' (first declared at line 25)");
  CHECK(Errors(std::string(kValid) + "[[user]]\nname = \"u\"\nhost = \"localhost\"\npassword = { env = \"U\" }\n" +
               "[[user]]\nname = \"u\"\npassword = { env = \"U\" }\n") == "");
  CHECK(Errors(std::string(kValid) + "[[user]]\nname = \"repl\"\npassword = { env = \"U\" }\n") ==
        "t.toml:25:1: user 'repl'@'%' is the replication account\n"
        "  hint: declare it only in [replication]");
  CHECK(Errors(std::string(kValid) +
               "[[user]]\nname = \"u\"\npassword = { env = \"U\" }\ngrants = \"SELECT ON a.*\"\n") ==
        "t.toml:28:10: grants must be an array of strings, got string\n"
        "  hint: e.g. grants = [\"ALL PRIVILEGES ON app.*\"]");
}

TEST_CASE("a grant naming an undeclared database is accepted") {
  TopologyParse parse = ParseTopology(
      std::string(kValid) + "[[user]]\nname = \"u\"\npassword = { env = \"U\" }\ngrants = [\"SELECT ON other.*\"]\n",
      "t.toml");
  REQUIRE(parse.ok());
  CHECK(parse.topology.users[0].grants[0].database == "other");
}

TEST_CASE("every error in the file is collected in one run, in file order") {
  std::string text = Replace("flavor", "flavor = \"postgres\"");
  text = Replace("password = { env = \"REPL", "password = \"x\"", text);
  text = Replace("server_id = 2", "server_id = 1", text);
  text = Replace("primary", "primary = \"c\"", text);
  CHECK(Errors(text) ==
        "t.toml:3:10: unknown flavor 'postgres' (expected mariadb or mysql)\n"
        "t.toml:4:11: primary 'c' is not a declared server\n"
        "  hint: declared servers: a, b\n"
        "t.toml:8:12: replication.password must not be a literal string\n"
        "  hint: use password = { env = \"NAME\" } or { file = \"/path\" }: secrets never live in the file\n"
        "t.toml:23:13: duplicate server_id 1 (already used by server 'a' at line 17)");
}

TEST_CASE("a TOML syntax error gives FILE:LINE:COL and no model") {
  TopologyParse parse = ParseTopology(Replace("server_id = 2", "server_id = = 2"), "t.toml");
  REQUIRE(parse.errors.size() == 1);
  CHECK(parse.errors[0].where.ToString() == "t.toml:23:13");
  CHECK(parse.errors[0].message.find("pars") != std::string::npos);
  CHECK(Errors("a = 1\na = 2\n") ==
        "t.toml:2:5: Error while parsing key-value pair: cannot redefine existing integer 'a'");
}


namespace {

// kValid plus one [[app]] (starting at line 25) whose lines are `lines`.
std::string WithApp(std::string_view lines) { return std::string(kValid) + "\n[[app]]\n" + std::string(lines); }

constexpr std::string_view kApp = R"(name    = "shop"
kind    = "rails"
hosts   = ["a", "b"]
root    = "/srv/shop/"
restart = "touch /srv/shop/tmp/restart.txt"
)";

}  // namespace

TEST_CASE("an [[app]] is read with environment defaulting to production and no health check") {
  TopologyParse parse = ParseTopology(WithApp(kApp), "t.toml");
  for (const Diagnostic& d : parse.errors) FAIL(d.ToString());
  REQUIRE(parse.topology.apps.size() == 1);
  const AppSpec& app = parse.topology.apps[0];
  CHECK(app.name == "shop");
  CHECK(ToString(app.kind) == std::string("rails"));
  CHECK(app.hosts == std::vector<std::string>{"a", "b"});
  CHECK(app.root == "/srv/shop");  // the trailing '/' dropped, so paths below it join cleanly
  CHECK(app.DatabaseYmlPath() == "/srv/shop/config/database.yml");
  CHECK(app.environment == "production");
  CHECK(app.health.empty());
  CHECK(app.where.ToString() == "t.toml:26:1");

  TopologyParse staging =
      ParseTopology(WithApp(std::string(kApp) + "environment = \"staging\"\nhealth = \"https://shop.example/up\"\n"),
                    "t.toml");
  for (const Diagnostic& d : staging.errors) FAIL(d.ToString());
  CHECK(staging.topology.apps[0].environment == "staging");
  CHECK(staging.topology.apps[0].health == "https://shop.example/up");
  CHECK(ParseTopology(std::string(kValid), "t.toml").topology.apps.empty());
}

TEST_CASE("app hosts must be declared servers, with a suggestion for a typo") {
  CHECK(Errors(WithApp(Replace("hosts", R"(hosts   = ["a", "bb"])", std::string(kApp)))) ==
        "t.toml:29:17: unknown server 'bb' in hosts (did you mean 'b'?)");
  CHECK(Errors(WithApp(Replace("hosts", R"(hosts   = ["mercury"])", std::string(kApp)))) ==
        "t.toml:29:12: unknown server 'mercury' in hosts\n"
        "  hint: declared servers: a, b");
  CHECK(Errors(WithApp(Replace("hosts", R"(hosts   = ["a", "a"])", std::string(kApp)))) ==
        "t.toml:29:17: server 'a' is listed twice in hosts");
  CHECK(Errors(WithApp(Replace("hosts", R"(hosts   = [])", std::string(kApp)))) ==
        "t.toml:29:11: hosts must name at least one server");
  CHECK(Errors(WithApp(Replace("hosts", R"(hosts   = "a")", std::string(kApp)))) ==
        "t.toml:29:11: hosts must be an array of server names, got string\n"
        "  hint: e.g. hosts = [\"mercury\", \"uranus\"]");
  CHECK(Errors(WithApp(Replace("hosts", R"(hosts   = ["a", 2])", std::string(kApp)))) ==
        "t.toml:29:17: hosts[1] must be a string, got integer");
}

TEST_CASE("app keys: unknown ones get a suggestion, kind is rails, root absolute, health an http URL") {
  CHECK(Errors(WithApp(std::string(kApp) + "helth = \"http://a/up\"\n")) ==
        "t.toml:32:1: unknown key 'helth' in [[app]] (did you mean 'health'?)");
  CHECK(Errors(WithApp(Replace("kind", R"(kind    = "django")", std::string(kApp)))) ==
        "t.toml:28:11: unknown kind 'django' (expected rails)");
  CHECK(Errors(WithApp(Replace("root", R"(root    = "srv/shop")", std::string(kApp)))) ==
        "t.toml:30:11: root must be an absolute path, got 'srv/shop'");
  CHECK(Errors(WithApp(std::string(kApp) + "health = \"ftp://a/up\"\n")) ==
        "t.toml:32:10: health must be an http:// or https:// URL, got 'ftp://a/up'\n"
        "  hint: e.g. health = \"http://192.168.178.61:3000/up\"");
  CHECK(Errors(WithApp(std::string(kApp) + "health = \"http://\"\n")) ==
        "t.toml:32:10: health must be an http:// or https:// URL, got 'http://'\n"
        "  hint: e.g. health = \"http://192.168.178.61:3000/up\"");
  CHECK(Errors(WithApp(std::string(kApp) + "environment = \"prod uction\"\n")) ==
        "t.toml:32:15: environment must be letters, digits, '_' or '-' (a section of config/database.yml), got "
        "'prod uction'");
  CHECK(Errors(WithApp(Replace("name", R"(name    = "my shop")", std::string(kApp)))) ==
        "t.toml:27:11: app name must be letters, digits, '-', '_' or '.', got 'my shop'");
}

TEST_CASE("an app without name, kind, hosts, root or restart names what is missing at its header") {
  CHECK(Errors(WithApp("")) ==
        "t.toml:26:1: [[app]] is missing required key 'name'\n"
        "t.toml:26:1: [[app]] is missing required key 'kind'\n"
        "  hint: kind = \"rails\" (the only kind so far)\n"
        "t.toml:26:1: [[app]] is missing required key 'hosts'\n"
        "  hint: the [[server]] names the app runs on, e.g. hosts = [\"mercury\"]\n"
        "t.toml:26:1: [[app]] is missing required key 'root'\n"
        "  hint: the application's directory, e.g. root = \"/var/www/secondhand\"\n"
        "t.toml:26:1: [[app]] is missing required key 'restart'\n"
        "  hint: the shell command, run over SSH on each host, that makes the app reread its database settings, "
        "e.g. restart = \"touch /var/www/secondhand/tmp/restart.txt\"");
  CHECK(Errors(WithApp(Replace("restart", "", std::string(kApp)))) ==
        "t.toml:26:1: app 'shop' is missing required key 'restart'\n"
        "  hint: the shell command, run over SSH on each host, that makes the app reread its database settings, "
        "e.g. restart = \"touch /var/www/secondhand/tmp/restart.txt\"");
}

TEST_CASE("duplicate app names point at the second and name the first") {
  CHECK(Errors(WithApp(std::string(kApp) + "\n[[app]]\n" + std::string(kApp))) ==
        "t.toml:34:11: duplicate app 'shop' (first declared at line 26)");
}

TEST_CASE("rolling restarts: restart_catch_up_timeout and on_next_restart, defaults and checks") {
  TopologyParse defaults = ParseTopology(std::string(kValid), "t.toml");
  REQUIRE(defaults.errors.empty());
  CHECK(defaults.topology.cluster.restart_catch_up_timeout == 300);
  CHECK(defaults.topology.cluster.on_next_restart.empty());

  auto with = [](const std::string& lines) { return Replace("primary = \"a\"", "primary = \"a\"\n" + lines); };
  TopologyParse given = ParseTopology(with("restart_catch_up_timeout = 20\non_next_restart = [\"report_host\"]"), "t.toml");
  for (const Diagnostic& e : given.errors) FAIL(e.ToString());
  CHECK(given.topology.cluster.restart_catch_up_timeout == 20);
  CHECK(given.topology.cluster.on_next_restart == std::vector<std::string>{"report_host"});
  CHECK(given.topology.cluster.DefersRestartFor("report_host"));
  CHECK_FALSE(given.topology.cluster.DefersRestartFor("log_bin"));

  CHECK(defaults.topology.cluster.primary_restart_switch_back);
  TopologyParse stay = ParseTopology(with("primary_restart = \"stay\""), "t.toml");
  for (const Diagnostic& e : stay.errors) FAIL(e.ToString());
  CHECK_FALSE(stay.topology.cluster.primary_restart_switch_back);
  CHECK(Errors(with("primary_restart = \"back\"")) ==
        "t.toml:5:19: unknown primary_restart 'back' (expected switch-back or stay)");

  CHECK(Errors(with("restart_catch_up_timeout = 0")) ==
        "t.toml:5:28: cluster.restart_catch_up_timeout must be in 1..86400, got 0");
  const std::string failover = Errors(with("on_next_restart = [\"log_slave_updates\"]"));
  CHECK(failover.find("t.toml:5:20: cluster.on_next_restart[0]: log_slave_updates cannot wait for the next restart: "
                      "a failover depends on it") == 0);
  CHECK(Errors(with("on_next_restart = [\"bind_address\"]")).find("bind_address cannot wait for the next restart") !=
        std::string::npos);
  CHECK(Errors(with("on_next_restart = [\"report_hots\"]")).find("'report_hots' is not a static setting (did you mean") !=
        std::string::npos);
  CHECK(Errors(with("on_next_restart = \"report_host\"")) ==
        "t.toml:5:19: cluster.on_next_restart must be an array of setting names, got string\n"
        "  hint: e.g. on_next_restart = [\"report_host\"]");
}

}  // namespace replplan

namespace replplan {

TEST_CASE("[watch]: etcd endpoints, prefix, TLS files and the lease read; a bad endpoint or key named at its place") {
  const std::string watch = std::string(kValid) +
                            "\n[watch]\n"
                            "etcd        = [\"http://10.0.0.9:2379\", \"https://etcd2:2379/\"]\n"
                            "prefix      = \"/replplan/t/\"\n"
                            "etcd_cacert = \"/etc/replplan/etcd-ca.pem\"\n"
                            "lease_ttl_s = 3\n"
                            "http        = \"127.0.0.1:9187\"\n"
                            "state_dir   = \"/var/lib/replplan\"\n";
  TopologyParse parse = ParseTopology(watch, "t.toml");
  REQUIRE_MESSAGE(parse.ok(), Errors(watch));
  CHECK(parse.topology.watch.etcd == std::vector<std::string>{"http://10.0.0.9:2379", "https://etcd2:2379"});
  CHECK(parse.topology.watch.prefix == "/replplan/t/");
  CHECK(parse.topology.watch.etcd_cacert == "/etc/replplan/etcd-ca.pem");
  CHECK(parse.topology.watch.lease_ttl_s == 3);
  CHECK(parse.topology.watch.http == "127.0.0.1:9187");
  CHECK(parse.topology.watch.state_dir == "/var/lib/replplan");
  CHECK(ParseTopology(std::string(kValid) + "\n[watch]\nhttp = \"[::1]:9187\"\n", "t.toml").topology.watch.http ==
        "[::1]:9187");
  // Without [watch]: alone, the lease's default.
  TopologyParse none = ParseTopology(std::string(kValid), "t.toml");
  CHECK(none.topology.watch.etcd.empty());
  CHECK(none.topology.watch.lease_ttl_s == 2);
  CHECK(none.topology.watch.http.empty());
  CHECK(none.topology.watch.state_dir.empty());

  CHECK(Errors(std::string(kValid) + "\n[watch]\netcd = [\"10.0.0.9:2379\"]\n") ==
        "t.toml:27:9: watch.etcd[0] must be http://HOST:PORT or https://HOST:PORT (no credentials), got "
        "'10.0.0.9:2379'");
  CHECK(Errors(std::string(kValid) + "\n[watch]\netcd = [\"http://u:pw@e:2379\"]\nlease_ttl_s = 0\n") ==
        "t.toml:27:9: watch.etcd[0] must be http://HOST:PORT or https://HOST:PORT (no credentials), got "
        "'http://u:pw@e:2379'\n"
        "t.toml:28:15: watch.lease_ttl_s must be in 1..60, got 0");
  CHECK(Errors(std::string(kValid) + "\n[watch]\nttl = 2\n") ==
        "t.toml:27:1: unknown key 'ttl' in [watch]\n"
        "  hint: [watch] accepts etcd, prefix, etcd_cacert, etcd_cert, etcd_key, lease_ttl_s, http, state_dir");
  CHECK(Errors(std::string(kValid) + "\n[watch]\nhttp = \"9187\"\nstate_dir = \"var/lib\"\n") ==
        "t.toml:27:8: watch.http must be HOST:PORT (or [V6]:PORT, port 1..65535), got '9187'\n"
        "  hint: e.g. http = \"127.0.0.1:9187\"\n"
        "t.toml:28:13: watch.state_dir must be an absolute path, got 'var/lib'");
  CHECK(Errors(std::string(kValid) + "\n[watch]\nhttp = \"localhost:70000\"\n") ==
        "t.toml:27:8: watch.http must be HOST:PORT (or [V6]:PORT, port 1..65535), got 'localhost:70000'\n"
        "  hint: e.g. http = \"127.0.0.1:9187\"");
}

}  // namespace replplan
