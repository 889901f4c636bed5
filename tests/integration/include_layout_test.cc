// The configuration the server really reads (issue 15), on a lab host laid out as Debian installs
// MariaDB: config_file holds only `!includedir` lines, the [mysqld] settings (bind-address among
// them) sit in mariadb.conf.d/50-server.cnf, and report_host there is the IP, as a hand-built
// cluster has it. The topology names log_bin relative to the datadir ("mysql-bin"), as such an
// operator writes it. `plan` shows the included values and their file, `apply` edits that file,
// the restarted server runs with it, nothing is left to change, and a failover's look at its binlog
// finds the relative log_bin in the datadir.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "engine/text.h"
#include "engine/topology_parser.h"
#include "integration/lab_client.h"
#include "providers/lost_transactions.h"
#include "providers/server_session.h"

namespace {

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  REQUIRE(out.good());
  out << text;
}

// The lines of `text` that set `key` (in either spelling), trimmed.
std::string LinesSetting(const std::string& text, const std::string& key) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line(replplan::Trim(std::string_view(text).substr(start, end - start)));
    std::string dashed = key;
    for (char& c : dashed) c = c == '_' ? '-' : c;
    if (line.starts_with(key) || line.starts_with(dashed)) out += line + "\n";
    start = end + 1;
  }
  return out;
}

TEST_CASE("a Debian include layout with a relative log_bin: planned from the included file, applied there, converged") {
  lab::Reset(1);
  const std::string h = lab::Dir() + "/hosts/mercury";
  const std::string address = lab::Address("mercury");
  const std::string etc = h + "/etc-mysql";
  std::filesystem::remove_all(etc);
  std::filesystem::create_directories(etc + "/conf.d");
  std::filesystem::create_directories(etc + "/mariadb.conf.d");
  // 50-server.cnf: the lab's fresh [mysqld] (bind-address included) and report_host = the IP.
  const std::string fresh = lab::ReadFile(h + "/my.cnf");
  REQUIRE(fresh.find("bind-address            = " + address + "\n") != std::string::npos);
  const std::string server_cnf = etc + "/mariadb.conf.d/50-server.cnf";
  Write(server_cnf, fresh + "report_host             = " + address + "\n");
  Write(etc + "/conf.d/mysql.cnf", "[mysql]\n");
  Write(etc + "/mariadb.conf.d/50-client.cnf", "[client]\ndefault-character-set = utf8mb4\n");
  Write(etc + "/mariadb.conf.d/60-galera.cnf", "[galera]\n#wsrep_on = ON\n");
  const std::string my_cnf =
      "# The MariaDB configuration file, as Debian ships it.\n"
      "[client-server]\n"
      "!includedir " + etc + "/conf.d/\n"
      "!includedir " + etc + "/mariadb.conf.d/\n";
  Write(h + "/my.cnf", my_cnf);
  auto restarted = lab::Lab({"restart", "mercury"});
  REQUIRE_MESSAGE(restarted.exit_code == 0, restarted.err);
  REQUIRE(lab::SqlValue("mercury", "SELECT @@report_host") == address);
  REQUIRE(lab::SqlValue("mercury", "SELECT @@log_bin") == "0");

  std::string toml = lab::ReadFile(lab::TopologyPath());
  const std::string absolute = "log_bin     = \"" + lab::Dir() + "/hosts/mercury/binlog/mysql-bin.log\"";
  REQUIRE(toml.find(absolute) != std::string::npos);
  toml.replace(toml.find(absolute), absolute.size(), "log_bin     = \"mysql-bin\"");
  const std::string path = lab::WriteFile("debian-layout.toml", toml);

  // plan: report_host and bind-address are what 50-server.cnf says, never "(absent)"; report_host
  // is edited there, the keys set nowhere go into my.cnf.
  auto text = lab::Replplan({"plan", path});
  REQUIRE_MESSAGE(text.exit_code == 0, text.err);
  CHECK(text.out.find(server_cnf + ":") != std::string::npos);
  CHECK(text.out.find("has report_host = " + address + ", file wants mercury") != std::string::npos);
  CHECK(text.out.find("report_host: " + address + " -> mercury") != std::string::npos);
  CHECK(text.out.find("bind_address") == std::string::npos);  // right where it is set
  CHECK(text.out.find("set in none of the files it includes either: added to config_file") != std::string::npos);
  auto json = lab::Replplan({"plan", path, "--json"});
  REQUIRE_MESSAGE(json.exit_code == 0, json.err);
  nlohmann::json plan = nlohmann::json::parse(json.out);
  bool edit_found = false;
  for (const auto& action : plan["actions"]) {
    if (action["id"] != "mercury/edit-config") continue;
    edit_found = true;
    CHECK(action["params"]["config_file"] == h + "/my.cnf");
    CHECK(action["params"]["file.report_host"] == server_cnf);
    CHECK_FALSE(action["params"].contains("file.log_bin"));
  }
  CHECK(edit_found);

  auto apply = lab::Replplan({"apply", path, "--yes"});
  REQUIRE_MESSAGE(apply.exit_code == 0, apply.out << apply.err);

  // The edits: report_host in place in 50-server.cnf, the rest appended to my.cnf, whose own lines
  // are kept byte for byte; bind-address nowhere but 50-server.cnf.
  const std::string server_after = lab::ReadFile(server_cnf);
  CHECK(LinesSetting(server_after, "report_host") == "report_host             = mercury\n");
  CHECK(server_after.starts_with(fresh));
  const std::string my_after = lab::ReadFile(h + "/my.cnf");
  CHECK(my_after.starts_with(my_cnf));
  CHECK(LinesSetting(my_after, "log_bin") == "log_bin = mysql-bin\n");
  CHECK(LinesSetting(my_after, "report_host").empty());
  CHECK(LinesSetting(my_after, "bind_address").empty());

  // The server really runs with them: report_host from 50-server.cnf, the binlog in its datadir.
  CHECK(lab::SqlValue("mercury", "SELECT @@report_host") == "mercury");
  CHECK(lab::SqlValue("mercury", "SELECT @@bind_address") == address);
  CHECK(lab::SqlValue("mercury", "SELECT @@log_bin") == "1");
  CHECK(lab::SqlValue("mercury", "SELECT @@log_bin_basename = CONCAT(@@datadir, 'mysql-bin')") == "1");

  auto again = lab::Replplan({"plan", path, "--detailed-exitcode"});
  CHECK_MESSAGE(again.exit_code == 0, again.out << again.err);

  // A failover reads a dead primary's binlog by its log_bin: a relative one in the datadir its own
  // option files give (the included 50-server.cnf here), found without the server.
  replplan::TopologyParse parsed = replplan::ParseTopology(toml, path);
  REQUIRE(parsed.ok());
  const std::string binlog_pos = lab::SqlValue("mercury", "SELECT @@gtid_binlog_pos");
  REQUIRE_FALSE(binlog_pos.empty());
  replplan::LiveSessionFactory sessions;
  replplan::LostTransactions lost = replplan::FindLostTransactions(sessions, parsed.topology.servers[0], binlog_pos);
  CHECK_MESSAGE(lost.known, lost.why_unknown);
  CHECK(lost.old_position == binlog_pos);
  CHECK(lost.lost.empty());

  // Back to the lab's own layout for the tests after this one.
  lab::Reset(1);
  std::filesystem::remove_all(etc);
}

}  // namespace
