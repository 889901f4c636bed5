#include "cli/import_command.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "cli/cli_support.h"
#include "engine/terminal_text.h"
#include "engine/text.h"
#include "engine/topology_parser.h"
#include "engine/topology_render.h"
#include "providers/cluster_import.h"
#include "providers/local/atomic_file.h"

namespace replplan::cli {

int RunImportCommand(const ImportCommand& command) {
  ImportRequest request;
  request.hosts = command.hosts;
  for (const std::string& pair : command.names) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) {
      return Fail(Status::InvalidArgument("--name takes NAME=ADDRESS, got '" + pair + "'"));
    }
    request.names[Lower(pair.substr(eq + 1))] = pair.substr(0, eq);
  }
  for (const std::string& app : command.apps) {
    size_t eq = app.find('=');
    size_t colon = eq == std::string::npos ? std::string::npos : app.find(':', eq + 1);
    if (colon == std::string::npos || eq == 0 || colon == eq + 1 || colon + 1 >= app.size() || app[colon + 1] != '/') {
      return Fail(Status::InvalidArgument("--app takes NAME=HOST:ROOT (ROOT the app's absolute directory, the one "
                                          "with config/database.yml), got '" + app + "'"));
    }
    if (!IsTopologyServerName(app.substr(0, eq))) {
      return Fail(Status::InvalidArgument("--app " + app + ": an app name is letters, digits, '-', '_' or '.'"));
    }
    request.apps.push_back({app.substr(0, eq), app.substr(eq + 1, colon - eq - 1), app.substr(colon + 1)});
  }
  request.cluster_name = command.cluster_name;
  request.mysql.user = command.user;
  request.mysql.port = command.port;
  request.mysql.password = {SecretRef::Kind::kEnv, command.password_env, {}};
  request.replication_password_env = command.replication_password_env;
  request.ssh.user = command.ssh_user;
  request.ssh.port = command.ssh_port;
  request.ssh.identity = command.ssh_key;
  request.ssh.known_hosts = command.known_hosts;
  const char* password = std::getenv(command.password_env.c_str());
  if (password == nullptr || *password == '\0') {
    return Fail(Status::InvalidArgument("the environment variable " + command.password_env +
                                        " (--password-env) is unset or empty: set it to the password of " +
                                        command.user + " (--user), the account import reads the servers as"));
  }
  if (!command.out.empty()) {
    struct stat st;
    if (!command.force && lstat(command.out.c_str(), &st) == 0) {
      return Fail(Status::FailedPrecondition(command.out + " exists; --force replaces it"));
    }
  }

  LiveSessionFactory sessions;
  auto imported = ImportCluster(sessions, request);
  if (!imported.ok()) return Fail(imported.status());
  const Topology& t = imported->topology;

  std::vector<std::string> header = {
      "Imported by `replplan import " + Join(command.hosts, " ") + "` at " + UtcNow() + ": a MariaDB cluster of " +
          std::to_string(t.servers.size()) + " server(s), primary " + t.cluster.primary + ".",
      "", "How each server was found:"};
  for (const std::string& line : imported->found) header.push_back("  " + line);
  if (!imported->notes.empty()) {
    header.push_back("");
    header.push_back("Notes:");
    for (const std::string& note : imported->notes) header.push_back("  " + note);
  }
  header.push_back("");
  std::vector<std::string> user_envs;
  for (const UserSpec& u : t.users) {
    const std::string env = u.password.name + " ('" + u.name + "'@'" + u.host + "')";
    if (std::find(user_envs.begin(), user_envs.end(), env) == user_envs.end()) user_envs.push_back(env);
  }
  header.push_back("Passwords are named, never written: " + command.password_env + " (the admin account " +
                   command.user + ") and " + command.replication_password_env + " (the replication account " +
                   t.replication.user + ") must be set for plan and apply" +
                   (user_envs.empty() ? "." : ", and for each [[user]] its own:"));
  for (const std::string& env : user_envs) header.push_back("  " + env);
  header.push_back("Not imported (add them by hand): promotion preferences, how mariadbd restarts on each host");
  header.push_back("(`restart`, below the default), apps not named with --app NAME=HOST:ROOT, and of each app");
  header.push_back("named how it rereads database.yml (`restart`) and its health URL: its [[app]] is commented");
  header.push_back("out below until restart is filled in. Accounts: all but the system ones, roles, the");
  header.push_back("replication account and " + command.user + " (--user); grants the file cannot hold are in the notes.");
  header.push_back("Next: `replplan plan` lists the settings replplan adds to these servers, each with its reason.");
  std::string text = RenderTopologyToml(t, header);

  const std::string shown = command.out.empty() ? "<stdout>" : command.out;
  TopologyParse parsed = ParseTopology(text, shown);
  if (!parsed.ok()) {
    for (const Diagnostic& d : parsed.errors) PrintDiagnostic(d);
    return Fail(Status::Internal("the imported topology does not validate (a bug in import): nothing written"));
  }
  for (const std::string& note : imported->notes) PrintWarning(note);
  if (command.out.empty()) {
    std::cout << text;
    return kExitOk;
  }
  Status written = WriteFileAtomically(command.out, text);
  if (!written.ok()) return Fail(written);
  std::cerr << TerminalSafe("replplan: wrote " + command.out + ": cluster \"" + t.cluster.name + "\", " +
                            std::to_string(t.servers.size()) + " servers, primary " + t.cluster.primary)
            << "\n";
  return kExitOk;
}

}  // namespace replplan::cli
