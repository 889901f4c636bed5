// Topology files as text, test-only. A synthetic one of n servers (db0 the primary; addresses in
// 10.0.0.0/8, never contacted) for the parser's complexity guard and bench/validate_bench; the lab's
// three hosts (as planner_fixtures.h's LabTopology) for the operations' tests.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace replplan::testing {

inline std::string SyntheticTopologyToml(size_t servers) {
  std::string text =
      "[cluster]\nname = \"bench\"\nprimary = \"db0\"\n\n"
      "[replication]\nuser = \"repl\"\npassword = { env = \"REPL_PASSWORD\" }\n\n"
      "[defaults]\nmysql = { user = \"admin\", password = { env = \"ADMIN_PASSWORD\" } }\n";
  text.reserve(text.size() + servers * 140);
  for (size_t i = 0; i < servers; ++i) {
    text += "\n[[server]]\nname = \"db" + std::to_string(i) + "\"\naddress = \"10." + std::to_string(i / 65536) + "." +
            std::to_string((i / 256) % 256) + "." + std::to_string(i % 256) + "\"\nserver_id = " + std::to_string(i + 1) +
            "\nlog_bin = \"/var/log/mysql/mysql-bin.log\"\n";
  }
  return text;
}

// mercury, uranus and venus on 127.0.0.6x with the secondhand database and its user, `primary`
// as given; secrets and paths under /LAB (never read).
inline std::string LabTopologyToml(const std::string& primary = "mercury") {
  std::string text =
      "[cluster]\nname = \"lab\"\nflavor = \"mariadb\"\nprimary = \"" + primary + "\"\n"
      "lock_file = \"/LAB/cluster.lock\"\n\n"
      "[replication]\nuser = \"repl\"\npassword = { file = \"/LAB/secrets/repl.pw\" }\nmode = \"gtid\"\n"
      "binlog_format = \"ROW\"\n\n"
      "[defaults]\nssh = { user = \"root\", port = 2222 }\n"
      "mysql = { port = 3306, user = \"admin\", password = { file = \"/LAB/secrets/admin.pw\" } }\n";
  const std::vector<std::pair<std::string, std::string>> hosts = {
      {"mercury", "127.0.0.61"}, {"uranus", "127.0.0.66"}, {"venus", "127.0.0.67"}};
  int id = 1;
  for (const auto& [name, address] : hosts) {
    text += "\n[[server]]\nname = \"" + name + "\"\naddress = \"" + address + "\"\nserver_id = " +
            std::to_string(id++) + "\nlog_bin = \"/LAB/hosts/" + name + "/binlog/mysql-bin.log\"\nconfig_file = \"/LAB/hosts/" +
            name + "/my.cnf\"\nrestart = \"lab.sh restart " + name + "\"\n";
  }
  text += "\n[[database]]\nname = \"secondhand_production\"\ncharset = \"utf8mb4\"\n\n"
          "[[user]]\nname = \"pierre\"\nhost = \"%\"\npassword = { file = \"/LAB/secrets/app.pw\" }\n"
          "grants = [\"ALL PRIVILEGES ON secondhand_production.*\"]\n";
  return text;
}

}  // namespace replplan::testing
