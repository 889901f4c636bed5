#include "providers/live_provider.h"
#include "engine/text.h"

#include <cctype>
#include <set>
#include <thread>
#include <utility>

#include "engine/sql_quote.h"
#include "providers/connect_options.h"
#include "providers/local/secrets.h"
#include "providers/mysql/mysql_connection.h"
#include "providers/ssh/ssh_session.h"

namespace replplan {
namespace {

void RecordSqlError(RawServerState& raw, const Status& status) {
  raw.sql_ok = false;
  raw.sql_error = status.message();
  raw.sql_errno = MysqlErrno(status);
}

// Accounts whose grants replplan manages: the replication user and every [[user]]. Other
// accounts are listed (so the plan can mention them) but their grants are not read.
std::set<std::pair<std::string, std::string>> DeclaredAccounts(const Topology& topology) {
  std::set<std::pair<std::string, std::string>> accounts;
  accounts.emplace(topology.replication.user, topology.replication.host);
  for (const UserSpec& user : topology.users) accounts.emplace(user.name, user.host);
  return accounts;
}

void ReadSql(const Topology& topology, const ServerSpec& server, RawServerState& raw) {
  auto options = MysqlOptionsFor(server);
  if (!options.ok()) {
    RecordSqlError(raw, options.status());
    return;
  }
  auto connection = MysqlConnection::Connect(*options);
  if (!connection.ok()) {
    RecordSqlError(raw, connection.status());
    return;
  }
  ReadSqlState(topology, **connection, raw);
}

void ReadSsh(const ServerSpec& server, RawServerState& raw) {
  SshOptions options = SshOptionsFor(server);
  auto session = SshSession::Connect(options);
  if (!session.ok()) {
    raw.ssh_error = session.status().message();
    return;
  }
  auto content = (*session)->ReadFile(server.config_file);
  if (!content.ok()) {
    raw.ssh_error = content.status().message();
    return;
  }
  raw.ssh_ok = true;
  raw.config_exists = content->has_value();
  if (raw.config_exists) raw.config_text = std::move(**content);
}

}  // namespace

const std::vector<std::string>& LiveVariableNames() {
  static const std::vector<std::string> kNames = {
      "server_id",         "log_bin",          "log_bin_basename", "binlog_format",  "bind_address",
      "read_only",         "log_slave_updates", "gtid_strict_mode", "report_host",   "gtid_binlog_pos",
      "gtid_current_pos", "gtid_slave_pos",   "version"};
  return kNames;
}

void ReadSqlState(const Topology& topology, MysqlConnection& connection, RawServerState& raw) {
  std::string in;
  for (const std::string& name : LiveVariableNames()) in += (in.empty() ? "" : ", ") + QuoteString(name);
  auto variables = connection.Query("SHOW GLOBAL VARIABLES WHERE Variable_name IN (" + in + ")");
  if (!variables.ok()) return RecordSqlError(raw, variables.status().WithContext("reading variables"));
  for (const Row& row : *variables) {
    auto name = row.find("Variable_name");
    auto value = row.find("Value");
    if (name != row.end() && value != row.end()) raw.variables[Lower(name->second)] = value->second;
  }

  auto replicas = connection.Query("SHOW ALL SLAVES STATUS");
  if (!replicas.ok()) return RecordSqlError(raw, replicas.status().WithContext("reading replica status"));
  raw.replica_status = std::move(*replicas);

  auto databases = connection.Query(
      "SELECT schema_name AS schema_name, default_character_set_name AS default_character_set_name, "
      "default_collation_name AS default_collation_name FROM information_schema.SCHEMATA ORDER BY schema_name");
  if (!databases.ok()) return RecordSqlError(raw, databases.status().WithContext("reading databases"));
  raw.databases = std::move(*databases);

  // Never the authentication_string: hashes have no business in replplan's memory.
  auto users = connection.Query("SELECT user AS user, host AS host, plugin AS plugin FROM mysql.user "
                                "ORDER BY user, host");
  if (!users.ok()) return RecordSqlError(raw, users.status().WithContext("reading users"));
  raw.users = std::move(*users);

  const auto declared = DeclaredAccounts(topology);
  for (const Row& row : raw.users) {
    std::pair<std::string, std::string> account{row.at("user"), row.at("host")};
    if (declared.count(account) == 0) continue;
    const std::string quoted = QuoteAccount(account.first, account.second);
    auto grants = connection.Query("SHOW GRANTS FOR " + quoted);
    if (!grants.ok()) return RecordSqlError(raw, grants.status().WithContext("reading grants of " + quoted));
    std::vector<std::string>& lines = raw.grants[quoted];
    // One column, named "Grants for user@host": take it whatever its name.
    for (const Row& grant : *grants) {
      if (!grant.empty()) lines.push_back(grant.begin()->second);
    }
  }
  raw.sql_ok = true;
}

RawServerState LiveProvider::ReadState(const Topology& topology, const ServerSpec& server) {
  RawServerState raw;
  raw.name = server.name;
  // Two halves into two separate objects, so the threads share nothing until the join.
  RawServerState ssh_part;
  std::thread ssh([&server, &ssh_part] { ReadSsh(server, ssh_part); });
  ReadSql(topology, server, raw);
  ssh.join();
  raw.ssh_ok = ssh_part.ssh_ok;
  raw.ssh_error = std::move(ssh_part.ssh_error);
  raw.config_exists = ssh_part.config_exists;
  raw.config_text = std::move(ssh_part.config_text);
  return raw;
}

std::unique_ptr<Provider> MakeLiveProvider() { return std::make_unique<LiveProvider>(); }

}  // namespace replplan
