// A synthetic topology file of n servers (db0 the primary; addresses in 10.0.0.0/8, never
// contacted), as text: for the parser's complexity guard and bench/validate_bench. Test-only.
#pragma once

#include <string>

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

}  // namespace replplan::testing
