#include "providers/live_provider.h"
#include "engine/text.h"
#include "engine/cluster_epoch.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <thread>
#include <utility>

#include "engine/effective_config.h"
#include "engine/mysql_errors.h"
#include "engine/shell_quote.h"
#include "engine/sql_quote.h"
#include "providers/server_session.h"

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

// The state read's sessions: errors in the transport's own words (the report names the server),
// the server's own timeouts, a pool's connections when the factory has a pool.
SessionLimits ReadLimits() {
  SessionLimits limits;
  limits.command_timeout_ms = 0;
  limits.name_errors = false;
  return limits;
}

void ReadSql(const Topology& topology, ServerSession& session, RawServerState& raw) {
  Status connected = session.ConnectSql();
  if (!connected.ok()) return RecordSqlError(raw, connected);
  ReadSqlState(topology, session, raw);
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

// What config_file includes (engine/effective_config.h), level by level: the directories it names
// listed in one command, then every file named read in one ReadFiles, until nothing is left unread
// (a Debian layout: two round trips). Bounded by the server's own nesting depth.
Status ReadIncluded(ServerSession& session, RawServerState& raw) {
  for (int round = 0; round <= 10; ++round) {
    EffectiveConfig config = ResolveEffectiveConfig(raw.config_file, raw.config_text, raw.included);
    if (!config.unread_dirs.empty()) {
      auto listed = session.ListDirectories(config.unread_dirs);
      if (!listed.ok()) return listed.status();
      for (size_t i = 0; i < config.unread_dirs.size(); ++i) {
        DirRead& dir = (*listed)[i];
        raw.included.dirs[config.unread_dirs[i]] = {dir.read_ok, dir.exists, std::move(dir.names), std::move(dir.error)};
      }
      config = ResolveEffectiveConfig(raw.config_file, raw.config_text, raw.included);
    }
    if (config.unread_files.empty()) {
      if (config.complete()) return Status::OK();
      continue;
    }
    auto read = session.ReadFiles(config.unread_files);
    if (!read.ok()) return read.status();
    for (size_t i = 0; i < config.unread_files.size(); ++i) {
      FileRead& file = (*read)[i];
      raw.included.files[config.unread_files[i]] = {file.read_ok, file.exists, std::move(file.text), std::move(file.error)};
    }
  }
  return Status::OK();  // what is still unread is named in the state's config_problems
}

void ReadSsh(const Topology& topology, const ServerSpec& server, ServerSession& session, RawServerState& raw) {
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
  std::vector<std::string> paths = {server.config_file};
  for (const LiveAppConfig& config : raw.app_configs) paths.push_back(config.path);
  for (const AppSpec* app : apps) paths.push_back(app->RestartMarkerPath());
  auto files = session.ReadFiles(paths);
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
  raw.config_file = server.config_file;
  if (!config_file.read_ok) {
    raw.ssh_error = config_file.error;
    return;
  }
  raw.config_exists = config_file.exists;
  raw.config_text = std::move(config_file.text);
  Status included = config_file.exists ? ReadIncluded(session, raw) : Status::OK();
  if (!included.ok()) return fail(included.message());
  raw.ssh_ok = true;
}

bool ConnectError(int sql_errno) { return sql_errno == kErrConnLocal || sql_errno == kErrConnRefused; }

// The default channel with both threads stopped and no error: its relay log is looked for, since
// lost relay logs read just so (START SLAVE then fails with 1201). "" when there is nothing to check.
std::string RelayLogToCheck(const RawServerState& raw) {
  for (const Row& row : raw.replica_status) {
    ReplicaChannel c = ParseReplicaChannel(row);
    if (!c.connection_name.empty()) continue;
    if (c.io_running != "No" || c.sql_running || c.last_io_errno != 0 || c.last_sql_errno != 0) return "";
    if (c.relay_log_file.empty()) return "";
    if (c.relay_log_file[0] == '/') return c.relay_log_file;
    // Relay_Log_File is relative to the relay log's directory: relay_log_basename's when set
    // (NULL without relay_log), the datadir otherwise.
    std::string file = c.relay_log_file.substr(c.relay_log_file.rfind('/') + 1);
    auto base = raw.variables.find("relay_log_basename");
    if (base != raw.variables.end() && !base->second.empty() && base->second != "NULL" && base->second[0] == '/') {
      return base->second.substr(0, base->second.rfind('/') + 1) + file;
    }
    auto datadir = raw.variables.find("datadir");
    if (datadir == raw.variables.end() || datadir->second.empty()) return "";
    std::string dir = datadir->second;
    if (dir.back() != '/') dir += '/';
    return dir + file;
  }
  return "";
}

// What SQL alone cannot tell, over SSH, in one command and only when it is needed (a healthy read
// pays nothing): whether the server process runs and where it listens, when SQL could not connect
// (2002/2003); whether a stopped channel's relay log is still there.
void Probe(ServerSession& session, RawServerState& raw) {
  if (!raw.ssh_ok) return;
  const bool process = !raw.sql_ok && ConnectError(raw.sql_errno);
  const std::string relay = raw.sql_ok ? RelayLogToCheck(raw) : "";
  if (!process && relay.empty()) return;
  std::string script;
  if (process) {
    raw.process.probed = true;
    const auto settings = ResolveEffectiveConfig(raw.config_file, raw.config_text, raw.included).settings;
    auto pid_file = settings.find("pid_file");
    if (pid_file != settings.end()) raw.process.pid_file = pid_file->second;
    // Without a pid-file in the configuration, the process by name.
    script += raw.process.pid_file.empty() ? "p=$(pgrep -xo mariadbd || pgrep -xo mysqld); "
                                           : "p=$(cat " + ShellQuote(raw.process.pid_file) + " 2>/dev/null); ";
    // ss prints "LISTEN 0 80 127.0.0.1:3306 0.0.0.0:* users:((\"mariadbd\",pid=42,fd=20))".
    // A zombie (killed, not yet reaped by its parent) answers kill -0 but is no server.
    script += "if [ -n \"$p\" ] && kill -0 \"$p\" 2>/dev/null && "
              "! grep -qs '^State:[[:space:]]*Z' /proc/\"$p\"/status; then echo \"running $p\"; "
              "ss -Hltnp 2>/dev/null | awk -v p=\"pid=$p,\" 'index($0, p) { print \"listen \" $4 }'; "
              "else echo stopped; fi; ";
  }
  if (!relay.empty()) script += "if [ -e " + ShellQuote(relay) + " ]; then echo relay-present; else echo relay-missing; fi; ";
  auto ran = session.Run(script);
  if (!ran.ok()) {
    raw.process.error = ran.status().message();
    return;
  }
  size_t start = 0;
  const std::string& out = ran->out;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    std::string line = out.substr(start, end - start);
    start = end + 1;
    if (line.rfind("running ", 0) == 0) {
      raw.process.running = true;
      raw.process.pid = line.substr(8);
    } else if (line.rfind("listen ", 0) == 0) {
      raw.process.listening.push_back(line.substr(7));
    } else if (line == "relay-present" || line == "relay-missing") {
      raw.relay_log_present = line == "relay-present";
    }
  }
}

}  // namespace

const std::vector<std::string>& LiveVariableNames() {
  static const std::vector<std::string> kNames = {
      "server_id",         "log_bin",          "log_bin_basename", "binlog_format",  "bind_address",
      "read_only",         "log_slave_updates", "gtid_strict_mode", "report_host",   "gtid_binlog_pos",
      "gtid_current_pos", "gtid_slave_pos",   "version",
      // Failover settings (engine/desired_config.h FailoverSettings).
      "slave_net_timeout", "rpl_semi_sync_master_enabled", "rpl_semi_sync_slave_enabled",
      "rpl_semi_sync_master_wait_point", "rpl_semi_sync_master_timeout",
      // Where a stopped channel's relay log is looked for (Probe).
      "datadir", "relay_log_basename"};
  return kNames;
}

void ReadSqlState(const Topology& topology, ServerSession& session, RawServerState& raw) {
  std::string in;
  for (const std::string& name : LiveVariableNames()) in += (in.empty() ? "" : ", ") + QuoteString(name);
  auto variables = session.Query("SHOW GLOBAL VARIABLES WHERE Variable_name IN (" + in + ")", {}, "reading variables");
  if (!variables.ok()) return RecordSqlError(raw, variables.status());
  for (const Row& row : *variables) {
    auto name = row.find("Variable_name");
    auto value = row.find("Value");
    if (name != row.end() && value != row.end()) raw.variables[Lower(name->second)] = value->second;
  }

  auto replicas = session.Query("SHOW ALL SLAVES STATUS", {}, "reading replica status");
  if (!replicas.ok()) return RecordSqlError(raw, replicas.status());
  raw.replica_status = std::move(*replicas);
  // The transaction a row event error stopped the SQL thread at: its GTID names what a skip skips.
  // Not known (an error here) is only less evidence.
  for (const Row& row : raw.replica_status) {
    ReplicaChannel c = ParseReplicaChannel(row);
    if (!c.connection_name.empty() || !StoppedOnDataError(c)) continue;
    const std::string sql = RelayEventsAtSql(c);
    if (sql.empty()) continue;
    auto events = session.Query(sql, {}, "reading the relay log where the SQL thread stopped");
    if (events.ok()) raw.failed_group = std::move(*events);
  }

  auto databases = session.Query(
      "SELECT schema_name AS schema_name, default_character_set_name AS default_character_set_name, "
      "default_collation_name AS default_collation_name FROM information_schema.SCHEMATA ORDER BY schema_name",
      {}, "reading databases");
  if (!databases.ok()) return RecordSqlError(raw, databases.status());
  raw.databases = std::move(*databases);
  // The failover epoch (engine/cluster_epoch.h), only where replplan's schema exists: no round trip
  // on a server that never saw a promotion. A table not there (yet) reads as no epoch.
  bool has_epochs = std::any_of(raw.databases.begin(), raw.databases.end(), [](const Row& row) {
    auto it = row.find("schema_name");
    return it != row.end() && it->second == kEpochSchema;
  });
  if (has_epochs) {
    auto epochs = session.Query(ReadLatestEpochSql());
    if (epochs.ok()) raw.epochs = std::move(*epochs);
  }

  // Never the authentication_string: hashes have no business in replplan's memory.
  auto users = session.Query("SELECT user AS user, host AS host, plugin AS plugin FROM mysql.user ORDER BY user, host",
                             {}, "reading users");
  if (!users.ok()) return RecordSqlError(raw, users.status());
  raw.users = std::move(*users);

  const auto declared = DeclaredAccounts(topology);
  for (const Row& row : raw.users) {
    std::pair<std::string, std::string> account{row.at("user"), row.at("host")};
    if (declared.count(account) == 0) continue;
    const std::string quoted = QuoteAccount(account.first, account.second);
    auto grants = session.Query("SHOW GRANTS FOR " + quoted, {}, "reading grants of " + quoted);
    if (!grants.ok()) return RecordSqlError(raw, grants.status());
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
  // A session each: one user at a time.
  std::unique_ptr<ServerSession> sql = sessions_.Open(server, ReadLimits());
  std::unique_ptr<ServerSession> shell = sessions_.Open(server, ReadLimits());
  RawServerState ssh_part;
  std::thread ssh([&topology, &server, &shell, &ssh_part] { ReadSsh(topology, server, *shell, ssh_part); });
  ReadSql(topology, *sql, raw);
  ssh.join();
  raw.ssh_ok = ssh_part.ssh_ok;
  raw.ssh_error = std::move(ssh_part.ssh_error);
  raw.config_exists = ssh_part.config_exists;
  raw.config_text = std::move(ssh_part.config_text);
  raw.config_file = std::move(ssh_part.config_file);
  raw.included = std::move(ssh_part.included);
  raw.app_configs = std::move(ssh_part.app_configs);
  if (probes_ == ExtraProbes::kWhenNeeded) Probe(*shell, raw);
  return raw;
}

RawServerState LiveProvider::ReadFiles(const Topology& topology, const ServerSpec& server) {
  RawServerState raw;
  raw.name = server.name;
  std::unique_ptr<ServerSession> shell = sessions_.Open(server, ReadLimits());
  ReadSsh(topology, server, *shell, raw);
  return raw;
}

LiveProvider::LiveProvider(SessionPool* pool, ExtraProbes probes)
    : owned_(std::make_unique<LiveSessionFactory>(pool)), sessions_(*owned_), probes_(probes) {}

std::unique_ptr<Provider> MakeLiveProvider(SessionPool* pool, ExtraProbes probes) {
  return std::make_unique<LiveProvider>(pool, probes);
}

}  // namespace replplan
