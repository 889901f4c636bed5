// The lab's topology file as text, for the operations' unit tests (apply, switchover, failover):
// they need the file's bytes (digests, the rewrite of its `primary` line), not only its parse.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace replplan::ops::testing {

// The lab's three hosts (examples/lab-3.toml), `primary` as given.
inline std::string LabToml(const std::string& primary = "mercury") {
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

}  // namespace replplan::ops::testing
