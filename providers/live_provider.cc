#include "providers/live_provider.h"
#include "engine/text.h"
#include "engine/cluster_epoch.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <thread>
#include <utility>

#include "engine/shell_quote.h"
#include "engine/sql_quote.h"
#include "providers/connect_options.h"
#include "providers/local/secrets.h"
#include "providers/mysql/mysql_connection.h"
#include "providers/session_pool.h"
#include "providers/ssh/read_files.h"
#include "providers/ssh/ssh_session.h"

namespace replplan {
namespace {

void RecordSqlError(RawServerState& raw, const Status& status) {
  raw.sql_ok = false;
  raw.sql_error = status.message();
  raw.sql_errno = status.sql_errno();
}

// Accounts whose grants replplan manages: the replication user and every [[user]]. Other
// accounts are listed (so the plan can mention them) but their grants are not read.
std::set<std::pair<std::string, std::string>> DeclaredAccounts(const Topology& topology) {
  std::set<std::pair<std::string, std::string>> accounts;
  accounts.emplace(topology.replication.user, topology.replication.host);
  for (const UserSpec& user : topology.users) accounts.emplace(user.name, user.host);
  return accounts;
}

void ReadSql(const Topology& topology, const ServerSpec& server, SessionPool* pool, RawServerState& raw) {
  auto options = MysqlOptionsFor(server);
  if (!options.ok()) {
    RecordSqlError(raw, options.status());
    return;
  }
  auto connection = BorrowSql(pool, *options);
  if (!connection.ok()) {
    RecordSqlError(raw, connection.status());
    return;
  }
  ReadSqlState(topology, **connection, raw);
  GiveBack(pool, std::move(*connection), raw.sql_ok);
}

// [[app]]s that run on this server, in file order.
std::vector<const AppSpec*> AppsOn(const Topology& topology, const ServerSpec& server) {
  std::vector<const AppSpec*> apps;
  for (const AppSpec& app : topology.apps) {
    for (const std::string& host : app.hosts) {
      if (host == server.name) {
        apps.push_back(&app);
        break;
      }
    }
  }
  return apps;
}

void ReadSsh(const Topology& topology, const ServerSpec& server, SessionPool* pool, RawServerState& raw) {
  const std::vector<const AppSpec*> apps = AppsOn(topology, server);
  for (const AppSpec* app : apps) {
    LiveAppConfig config;
    config.app = app->name;
    config.path = app->DatabaseYmlPath();
    raw.app_configs.push_back(std::move(config));
  }
  // Nothing of an app file is known until it is read: every early return leaves them read_ok=false.
  auto fail = [&raw](const std::string& error) {
    raw.ssh_error = error;
    for (LiveAppConfig& config : raw.app_configs) config.error = error;
  };
  SshOptions options = SshOptionsFor(server);
  auto session = BorrowSsh(pool, options);
  if (!session.ok()) return fail(session.status().message());
  std::vector<std::string> paths = {server.config_file};
  for (const LiveAppConfig& config : raw.app_configs) paths.push_back(config.path);
  for (const AppSpec* app : apps) paths.push_back(app->RestartMarkerPath());
  auto files = ReadFiles(**session, paths);
  GiveBack(pool, std::move(*session), files.ok());
  if (!files.ok()) return fail(files.status().message());
  for (size_t i = 0; i < raw.app_configs.size(); ++i) {
    FileRead& file = (*files)[i + 1];
    LiveAppConfig& config = raw.app_configs[i];
    config.read_ok = file.read_ok;
    config.exists = file.exists;
    config.text = std::move(file.text);
    config.error = std::move(file.error);
    FileRead& marker = (*files)[1 + raw.app_configs.size() + i];
    if (marker.read_ok && marker.exists) config.restarted_digest = std::string(Trim(marker.text));
  }
  FileRead& config_file = (*files)[0];
  if (!config_file.read_ok) {
    raw.ssh_error = config_file.error;
    return;
  }
  raw.ssh_ok = true;
  raw.config_exists = config_file.exists;
  raw.config_text = std::move(config_file.text);
}

}  // namespace

const std::vector<std::string>& LiveVariableNames() {
  static const std::vector<std::string> kNames = {
      "server_id",         "log_bin",          "log_bin_basename", "binlog_format",  "bind_address",
      "read_only",         "log_slave_updates", "gtid_strict_mode", "report_host",   "gtid_binlog_pos",
      "gtid_current_pos", "gtid_slave_pos",   "version",
      // Failover settings (engine/desired_config.h FailoverSettings).
      "slave_net_timeout", "rpl_semi_sync_master_enabled", "rpl_semi_sync_slave_enabled",
      "rpl_semi_sync_master_wait_point", "rpl_semi_sync_master_timeout"};
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
  // The failover epoch (engine/cluster_epoch.h), only where replplan's schema exists: no round trip
  // on a server that never saw a promotion. A table not there (yet) reads as no epoch.
  bool has_epochs = std::any_of(raw.databases.begin(), raw.databases.end(), [](const Row& row) {
    auto it = row.find("schema_name");
    return it != row.end() && it->second == kEpochSchema;
  });
  if (has_epochs) {
    auto epochs = connection.Query(ReadLatestEpochSql());
    if (epochs.ok()) raw.epochs = std::move(*epochs);
  }

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
  std::thread ssh([this, &topology, &server, &ssh_part] { ReadSsh(topology, server, pool_, ssh_part); });
  ReadSql(topology, server, pool_, raw);
  ssh.join();
  raw.ssh_ok = ssh_part.ssh_ok;
  raw.ssh_error = std::move(ssh_part.ssh_error);
  raw.config_exists = ssh_part.config_exists;
  raw.config_text = std::move(ssh_part.config_text);
  raw.app_configs = std::move(ssh_part.app_configs);
  return raw;
}

std::unique_ptr<Provider> MakeLiveProvider(SessionPool* pool) { return std::make_unique<LiveProvider>(pool); }

}  // namespace replplan
