// The topology written back as TOML (what `replplan import` writes): the golden text in
// tests/golden/import/imported.toml, written by hand, and the round trip through ParseTopology.
#include "engine/topology_render.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "engine/topology_parser.h"

namespace replplan {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

ServerSpec Server(const std::string& name, const std::string& address, uint32_t id, const std::string& log_bin) {
  ServerSpec s;
  s.name = name;
  s.address = address;
  s.server_id = id;
  s.log_bin = log_bin;
  s.ssh.identity = "/etc/replplan/id_ed25519";
  s.ssh.known_hosts = "/etc/replplan/known_hosts";
  s.mysql.user = "admin";
  s.mysql.password = {SecretRef::Kind::kEnv, "MYSQL_ADMIN_PASSWORD", {}};
  return s;
}

Topology Imported() {
  Topology t;
  t.cluster.name = "shop";
  t.cluster.primary = "db1";
  t.replication.host = "10.0.0.%";
  t.replication.password = {SecretRef::Kind::kEnv, "REPL_PASSWORD", {}};
  t.replication.semi_sync = true;
  t.servers = {Server("db1", "10.0.0.11", 11, "mysql-bin"), Server("db2", "10.0.0.12", 12, "/var/log/mysql/mysql-bin.log"),
               Server("db3", "10.0.0.13", 13, "mysql-bin")};
  t.servers[0].bind_address = "0.0.0.0";
  t.servers[1].bind_address = "10.0.0.12";  // the address: not written
  t.servers[2].mysql.port = 3307;
  t.servers[2].config_file = "/etc/mysql/db3 \"reports\".cnf";
  t.databases = {{"shop", "utf8mb4", "", {}}, {"shop_reports", "latin1", "latin1_bin", {}}};
  return t;
}

}  // namespace

TEST_CASE("an imported topology renders as the golden text: stable order, shared settings in [defaults]") {
  std::string text = RenderTopologyToml(
      Imported(), {"Imported by `replplan import` from 10.0.0.12 on 2026-12-07 03:30:00 UTC.", "", "Review before committing."});
  std::string path = std::string(REPLPLAN_SOURCE_DIR) + "/tests/golden/import/imported.toml";
  std::string expected = ReadFile(path);
  INFO("golden file: " << path);
  REQUIRE_FALSE(expected.empty());
  CHECK(text == expected);
}

TEST_CASE("the rendered text parses back to the same topology") {
  Topology t = Imported();
  auto parsed = ParseTopology(RenderTopologyToml(t, {}), "imported.toml");
  REQUIRE_MESSAGE(parsed.ok(), parsed.errors.front().message);
  const Topology& back = parsed.topology;
  CHECK(back.cluster.name == "shop");
  CHECK(back.cluster.primary == "db1");
  CHECK(back.replication.host == "10.0.0.%");
  CHECK(back.replication.password.kind == SecretRef::Kind::kEnv);
  CHECK(back.replication.password.name == "REPL_PASSWORD");
  CHECK(back.replication.semi_sync);
  REQUIRE(back.servers.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    const ServerSpec& a = t.servers[i];
    const ServerSpec& b = back.servers[i];
    CHECK(b.name == a.name);
    CHECK(b.address == a.address);
    CHECK(b.server_id == a.server_id);
    CHECK(b.log_bin == a.log_bin);
    CHECK(b.config_file == a.config_file);
    CHECK(b.bind_address == (i == 0 ? "0.0.0.0" : a.address));
    CHECK(b.restart == a.restart);
    CHECK(b.mysql.port == a.mysql.port);
    CHECK(b.mysql.user == "admin");
    CHECK(b.mysql.password.name == "MYSQL_ADMIN_PASSWORD");
    CHECK(b.ssh.identity == a.ssh.identity);
    CHECK(b.ssh.known_hosts == a.ssh.known_hosts);
  }
  REQUIRE(back.databases.size() == 2);
  CHECK(back.databases[1].collation == "latin1_bin");
}

TEST_CASE("every example renders to text that renders again the same (nothing lost on the way)") {
  for (const char* example : {"examples/lab-3.toml", "examples/mysql-file-mode.toml", "examples/secondhand.toml"}) {
    INFO(example);
    auto first = ParseTopology(ReadFile(std::string(REPLPLAN_SOURCE_DIR) + "/" + example), example);
    REQUIRE(first.ok());
    std::string once = RenderTopologyToml(first.topology, {});
    // bind_address only where the file wrote one other than the address.
    CHECK((once.find("bind_address") != std::string::npos) == (std::string(example) == "examples/mysql-file-mode.toml"));
    auto second = ParseTopology(once, "rendered.toml");
    REQUIRE_MESSAGE(second.ok(), once);
    CHECK(RenderTopologyToml(second.topology, {}) == once);
    CHECK(second.topology.servers.size() == first.topology.servers.size());
    CHECK(second.topology.users.size() == first.topology.users.size());
    CHECK(second.topology.apps.size() == first.topology.apps.size());
    for (size_t i = 0; i < first.topology.servers.size(); ++i) {
      CHECK(second.topology.servers[i].mysql.port == first.topology.servers[i].mysql.port);
      CHECK(second.topology.servers[i].ssh.port == first.topology.servers[i].ssh.port);
      CHECK(second.topology.servers[i].config_file == first.topology.servers[i].config_file);
      CHECK(second.topology.servers[i].restart == first.topology.servers[i].restart);
      CHECK(second.topology.servers[i].promotion == first.topology.servers[i].promotion);
      CHECK(second.topology.servers[i].bind_address == first.topology.servers[i].bind_address);
    }
  }
}

TEST_CASE("a header line keeps to its comment: a line break from server text becomes a space") {
  std::string text = RenderTopologyToml(Imported(), {"note: db2 said \"a\nb\""});
  CHECK(text.starts_with("# note: db2 said \"a b\"\n\n[cluster]\n"));
  CHECK(ParseTopology(text, "x.toml").ok());
}

TEST_CASE("TomlString escapes quotes, backslashes and control characters") {
  CHECK(TomlString("plain") == "\"plain\"");
  CHECK(TomlString("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(TomlString("line\nnext\t") == "\"line\\u000Anext\\u0009\"");
}

TEST_CASE("log_bin is written relative when it lies directly in the datadir, absolute otherwise") {
  CHECK(LogBinAsWritten("/var/lib/mysql/mysql-bin", "/var/lib/mysql/") == "mysql-bin");
  CHECK(LogBinAsWritten("/var/lib/mysql/mysql-bin", "/var/lib/mysql") == "mysql-bin");
  CHECK(LogBinAsWritten("/var/lib/mysql/binlog/mysql-bin", "/var/lib/mysql/") == "/var/lib/mysql/binlog/mysql-bin");
  CHECK(LogBinAsWritten("/var/log/mysql/mysql-bin", "/var/lib/mysql/") == "/var/log/mysql/mysql-bin");
  CHECK(LogBinAsWritten("/var/log/mysql/mysql-bin", "") == "/var/log/mysql/mysql-bin");
}

TEST_CASE("grants from SHOW GRANTS as the file writes them; what the file cannot hold is left out, without the TO part") {
  ImportedGrants g = GrantsFromShowGrants({
      "GRANT USAGE ON *.* TO `pierre`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
      "GRANT ALL PRIVILEGES ON `secondhand_production`.* TO `pierre`@`%`",
      "GRANT SELECT, INSERT ON `shop`.`orders` TO `pierre`@`%`",
      "GRANT SELECT ON `reports`.* TO `pierre`@`%` WITH GRANT OPTION",
      "GRANT `reporting` TO `pierre`@`%`",
  });
  REQUIRE(g.grants.size() == 2);
  CHECK(g.grants[0].text == "ALL PRIVILEGES ON `secondhand_production`.*");
  CHECK(g.grants[1].text == "SELECT, INSERT ON `shop`.`orders`");
  REQUIRE(g.left_out.size() == 2);
  CHECK(g.left_out[0].starts_with("GRANT SELECT ON `reports`.* WITH GRANT OPTION: the file cannot give GRANT OPTION"));
  CHECK(g.left_out[1].starts_with("GRANT `reporting`: not an object privilege grant"));
  for (const std::string& line : g.left_out) CHECK(line.find("PASSWORD") == std::string::npos);
  // USAGE alone grants nothing.
  CHECK(GrantsFromShowGrants({"GRANT USAGE ON *.* TO `ro`@`localhost`"}).grants.empty());
  CHECK(GrantsFromShowGrants({"GRANT USAGE ON *.* TO `ro`@`localhost`"}).left_out.empty());
}

TEST_CASE("an imported account's password is named after it") {
  CHECK(PasswordEnvFor("pierre") == "PIERRE_PASSWORD");
  CHECK(PasswordEnvFor("shop-ro.eu") == "SHOP_RO_EU_PASSWORD");
  CHECK(PasswordEnvFor("1app") == "USER_1APP_PASSWORD");
}

TEST_CASE("imported users render and parse back; an app without a restart command is written commented out") {
  Topology t = Imported();
  UserSpec pierre;
  pierre.name = "pierre";
  pierre.password = {SecretRef::Kind::kEnv, "PIERRE_PASSWORD", {}};
  pierre.grants = GrantsFromShowGrants({"GRANT ALL PRIVILEGES ON `shop`.* TO `pierre`@`%`"}).grants;
  UserSpec ro = pierre;
  ro.name = "ro";
  ro.host = "10.0.0.%";
  ro.grants.clear();
  t.users = {pierre, ro};
  AppSpec app;
  app.name = "shop";
  app.hosts = {"db2"};
  app.root = "/srv/shop";
  t.apps = {app};
  std::string text = RenderTopologyToml(t, {});
  CHECK(text.find("[[user]]\nname     = \"pierre\"\npassword = { env = \"PIERRE_PASSWORD\" }\n"
                  "grants   = [\"ALL PRIVILEGES ON `shop`.*\"]\n") != std::string::npos);
  CHECK(text.find("host     = \"10.0.0.%\"") != std::string::npos);
  CHECK(text.find("# app shop: how it rereads config/database.yml is not known to import: fill in restart\n") !=
        std::string::npos);
  CHECK(text.find("\n# [[app]]\n# name        = \"shop\"\n") != std::string::npos);
  CHECK(text.find("\n# restart     = \"\"\n") != std::string::npos);
  CHECK(text.find("\n[[app]]") == std::string::npos);
  auto parsed = ParseTopology(text, "imported.toml");
  REQUIRE_MESSAGE(parsed.ok(), parsed.errors.front().message);
  REQUIRE(parsed.topology.users.size() == 2);
  CHECK(parsed.topology.users[0].grants.size() == 1);
  CHECK(parsed.topology.users[1].host == "10.0.0.%");
  CHECK(parsed.topology.apps.empty());
  // Given its restart command, the same block is a live [[app]].
  t.apps[0].restart = "touch /srv/shop/tmp/restart.txt";
  auto live = ParseTopology(RenderTopologyToml(t, {}), "imported.toml");
  REQUIRE_MESSAGE(live.ok(), live.errors.front().message);
  REQUIRE(live.topology.apps.size() == 1);
  CHECK(live.topology.apps[0].hosts == std::vector<std::string>{"db2"});
}

}  // namespace replplan
