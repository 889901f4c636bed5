// `replplan import HOST...`: a topology file written from a live cluster (providers/cluster_import.h
// discovers it, engine/topology_render.h writes it).
#pragma once

#include <string>
#include <vector>

namespace replplan::cli {

struct ImportCommand {
  std::vector<std::string> hosts;  // ADDRESS or ADDRESS:PORT
  std::vector<std::string> names;  // NAME=ADDRESS
  std::vector<std::string> apps;   // NAME=HOST:ROOT
  std::string out;                 // "" : stdout
  bool force = false;
  std::string cluster_name;
  std::string user = "root";
  std::string password_env = "MYSQL_ADMIN_PASSWORD";
  int port = 3306;
  std::string replication_password_env = "REPL_PASSWORD";
  std::string ssh_user = "root";
  int ssh_port = 22;
  std::string ssh_key = "~/.ssh/id_ed25519";
  std::string known_hosts = "~/.ssh/known_hosts";
};

// 0 written (and valid), 1 otherwise: nothing is written then.
int RunImportCommand(const ImportCommand& command);

}  // namespace replplan::cli
