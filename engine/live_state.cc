#include "engine/live_state.h"
#include "engine/text.h"

#include "engine/cluster_epoch.h"
#include "engine/gtid.h"
#include "engine/mysql_errors.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <set>
#include <string_view>

#include "engine/sql_quote.h"

namespace replplan {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Column lookup that ignores case: the server reports `User` from mysql.user but `schema_name`
// from information_schema depending on version and aliasing; the parser should not care.
std::string Get(const Row& row, std::string_view column) {
  auto exact = row.find(std::string(column));
  if (exact != row.end()) return exact->second;
  for (const auto& [name, value] : row) {
    if (EqualsIgnoreCase(name, column)) return value;
  }
  return "";
}

std::string Var(const RawServerState& raw, const std::string& name) {
  auto it = raw.variables.find(name);
  return it == raw.variables.end() ? "" : it->second;
}

template <typename T>
std::optional<T> ParseNumber(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// ON/OFF as SHOW VARIABLES prints them; 1/0 and YES/NO as other versions and config files do.
std::optional<bool> ParseBool(std::string_view text) {
  for (std::string_view yes : {"ON", "1", "YES", "TRUE"}) {
    if (EqualsIgnoreCase(text, yes)) return true;
  }
  for (std::string_view no : {"OFF", "0", "NO", "FALSE"}) {
    if (EqualsIgnoreCase(text, no)) return false;
  }
  return std::nullopt;
}

bool IsSystemSchema(const std::string& name) {
  // "replplan": replplan's own schema (the failover epochs, engine/cluster_epoch.h), never a user
  // database: a replica holding only it holds no data a seed would overwrite.
  static const std::set<std::string> kSystem = {"mysql", "information_schema", "performance_schema",
                                                "sys", kEpochSchema};
  return kSystem.count(Lower(name)) > 0;
}

bool KeywordAt(std::string_view s, size_t pos, std::string_view keyword) {
  return pos + keyword.size() <= s.size() && EqualsIgnoreCase(s.substr(pos, keyword.size()), keyword) &&
         (pos == 0 || s[pos - 1] == ' ') &&
         (pos + keyword.size() == s.size() || s[pos + keyword.size()] == ' ');
}

// SHOW GRANTS carries the password hash ("IDENTIFIED BY PASSWORD '*6BB4...'") or the plugin's
// auth string ("IDENTIFIED VIA ed25519 USING '...'"). Neither may be kept or printed, and neither
// says anything about privileges, so the whole IDENTIFIED clause goes: up to REQUIRE / WITH (outside
// quotes) or the end of the line.
std::string StripGrantCredentials(std::string_view line) {
  size_t start = std::string_view::npos;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\'' || line[i] == '"' || line[i] == '`') {
      i = SkipQuoted(line, i) - 1;
      continue;
    }
    if (KeywordAt(line, i, "IDENTIFIED")) {
      start = i;
      break;
    }
  }
  if (start == std::string_view::npos) return std::string(line);
  size_t end = line.size();
  for (size_t i = start; i < line.size(); ++i) {
    if (line[i] == '\'' || line[i] == '"' || line[i] == '`') {
      i = SkipQuoted(line, i) - 1;
      continue;
    }
    if (KeywordAt(line, i, "REQUIRE") || KeywordAt(line, i, "WITH")) {
      end = i;
      break;
    }
  }
  std::string out(line.substr(0, start));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (end < line.size()) out += " " + std::string(line.substr(end));
  return out;
}

void ParseVariables(const RawServerState& raw, ServerState& state) {
  state.version = Var(raw, "version");
  state.server_id = ParseNumber<uint32_t>(Var(raw, "server_id"));
  state.log_bin = ParseBool(Var(raw, "log_bin"));
  state.log_bin_basename = Var(raw, "log_bin_basename");
  state.datadir = Var(raw, "datadir");
  state.binlog_format = Var(raw, "binlog_format");
  state.bind_address = Var(raw, "bind_address");
  state.read_only = ParseBool(Var(raw, "read_only"));
  state.log_slave_updates = ParseBool(Var(raw, "log_slave_updates"));
  state.gtid_strict_mode = ParseBool(Var(raw, "gtid_strict_mode"));
  state.report_host = Var(raw, "report_host");
  state.gtid_binlog_pos = Var(raw, "gtid_binlog_pos");
  state.gtid_current_pos = Var(raw, "gtid_current_pos");
  state.gtid_slave_pos = Var(raw, "gtid_slave_pos");
  state.slave_net_timeout = ParseNumber<int64_t>(Var(raw, "slave_net_timeout"));
  state.semi_sync_master_enabled = ParseBool(Var(raw, "rpl_semi_sync_master_enabled"));
  state.semi_sync_slave_enabled = ParseBool(Var(raw, "rpl_semi_sync_slave_enabled"));
  state.semi_sync_master_wait_point = Upper(Var(raw, "rpl_semi_sync_master_wait_point"));
  state.semi_sync_master_timeout = ParseNumber<int64_t>(Var(raw, "rpl_semi_sync_master_timeout"));
}

// "1.000" as SHOW SLAVE STATUS prints Slave_Heartbeat_Period; -1 when absent or not a number.
double ParseSeconds(const std::string& text) {
  if (text.empty()) return -1;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && value >= 0 ? value : -1;
}

ReplicaChannel ParseChannel(const Row& row) {
  ReplicaChannel ch;
  ch.connection_name = Get(row, "Connection_name");
  ch.source_host = Get(row, "Master_Host");
  ch.source_port = ParseNumber<int>(Get(row, "Master_Port")).value_or(0);
  ch.source_user = Get(row, "Master_User");
  ch.io_running = Get(row, "Slave_IO_Running");
  ch.io_state = Get(row, "Slave_IO_State");
  ch.sql_running = Get(row, "Slave_SQL_Running") == "Yes";
  ch.last_io_errno = ParseNumber<int>(Get(row, "Last_IO_Errno")).value_or(0);
  ch.last_io_error = Get(row, "Last_IO_Error");
  ch.last_sql_errno = ParseNumber<int>(Get(row, "Last_SQL_Errno")).value_or(0);
  ch.last_sql_error = Get(row, "Last_SQL_Error");
  ch.using_gtid = Get(row, "Using_Gtid");
  // NULL (no SQL thread, or IO thread not connected) arrives as "": unknown lag, not zero lag.
  ch.seconds_behind = ParseNumber<int64_t>(Get(row, "Seconds_Behind_Master"));
  ch.gtid_io_pos = Get(row, "Gtid_IO_Pos");
  ch.source_log_file = Get(row, "Master_Log_File");
  ch.read_source_log_pos = ParseNumber<uint64_t>(Get(row, "Read_Master_Log_Pos"));
  ch.relay_source_log_file = Get(row, "Relay_Master_Log_File");
  ch.exec_source_log_pos = ParseNumber<uint64_t>(Get(row, "Exec_Master_Log_Pos"));
  ch.relay_log_file = Get(row, "Relay_Log_File");
  ch.relay_log_pos = ParseNumber<uint64_t>(Get(row, "Relay_Log_Pos"));
  ch.heartbeat_period = ParseSeconds(Get(row, "Slave_Heartbeat_Period"));
  return ch;
}

void ParseUsers(const RawServerState& raw, ServerState& state) {
  for (const Row& row : raw.users) {
    LiveUser user;
    user.name = Get(row, "user");
    user.host = Get(row, "host");
    user.plugin = Get(row, "plugin");
    auto grants = raw.grants.find(QuoteAccount(user.name, user.host));
    if (grants != raw.grants.end()) {
      for (const std::string& line : grants->second) user.grants.push_back(StripGrantCredentials(line));
    }
    state.users.push_back(std::move(user));
  }
}

}  // namespace

ReplicaChannel ParseReplicaChannel(const Row& row) { return ParseChannel(row); }

ServerState ParseServerState(const RawServerState& raw) {
  ServerState state;
  state.name = raw.name;
  state.sql_ok = raw.sql_ok;
  state.sql_error = raw.sql_error;
  state.sql_errno = raw.sql_errno;
  if (raw.sql_ok) {
    ParseVariables(raw, state);
    for (const Row& row : raw.replica_status) state.channels.push_back(ParseChannel(row));
    for (const Row& row : raw.databases) {
      LiveDatabase db{Get(row, "schema_name"), Get(row, "default_character_set_name"),
                      Get(row, "default_collation_name")};
      if (!IsSystemSchema(db.name)) state.databases.push_back(std::move(db));
    }
    ParseUsers(raw, state);
    if (!raw.epochs.empty()) state.epoch = ParseEpochRow(raw.epochs.front());
  }
  state.ssh_ok = raw.ssh_ok;
  state.ssh_error = raw.ssh_error;
  state.config_exists = raw.ssh_ok && raw.config_exists;
  if (state.config_exists) {
    EffectiveConfig effective = ResolveEffectiveConfig(raw.config_file, raw.config_text, raw.included);
    state.config = std::move(effective.settings);
    state.config_origin = std::move(effective.origins);
    state.config_files = std::move(effective.files);
    state.config_problems = std::move(effective.problems);
    // What the provider did not read (it reads until nothing is left, up to the nesting bound).
    for (const std::string& file : effective.unread_files) state.config_problems.push_back(file + " was not read");
    for (const std::string& dir : effective.unread_dirs) state.config_problems.push_back(dir + " was not listed");
  }
  state.app_configs = raw.app_configs;
  state.process = raw.process;
  state.relay_log_present = raw.relay_log_present;
  state.failed_gtid = GtidOfEventGroup(raw.failed_group);
  return state;
}

const LiveUser* ServerState::FindUser(const std::string& name, const std::string& host) const {
  for (const LiveUser& user : users) {
    if (user.name == name && user.host == host) return &user;
  }
  return nullptr;
}

const LiveDatabase* ServerState::FindDatabase(const std::string& name) const {
  for (const LiveDatabase& db : databases) {
    if (db.name == name) return &db;
  }
  return nullptr;
}

const LiveAppConfig* ServerState::FindAppConfig(const std::string& app) const {
  for (const LiveAppConfig& c : app_configs) {
    if (c.app == app) return &c;
  }
  return nullptr;
}

const ReplicaChannel* ServerState::DefaultChannel() const {
  for (const ReplicaChannel& ch : channels) {
    if (ch.connection_name.empty()) return &ch;
  }
  return nullptr;
}

const ServerState* LiveState::Find(const std::string& name) const {
  auto it = servers.find(name);
  return it == servers.end() ? nullptr : &it->second;
}

bool StoppedOnDataError(const ReplicaChannel& c) {
  return !c.sql_running && (c.last_sql_errno == kErrKeyNotFound || c.last_sql_errno == kErrDuplicateKey);
}

std::string RelayEventsAtSql(const ReplicaChannel& c) {
  const std::string& file = c.relay_log_file;
  const bool plain = !file.empty() && file.find_first_not_of(
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/") == std::string::npos;
  if (!plain || c.relay_log_pos.value_or(0) == 0) return "";
  return "SHOW RELAYLOG EVENTS IN " + QuoteString(file) + " FROM " + std::to_string(*c.relay_log_pos) + " LIMIT 4";
}

std::string GtidOfEventGroup(const std::vector<Row>& events) {
  for (const Row& row : events) {
    if (Get(row, "Event_type") != "Gtid") continue;
    const std::string info = Get(row, "Info");
    size_t at = info.find("GTID ");
    if (at == std::string::npos) return "";
    std::string gtid(Trim(std::string_view(info).substr(at + 5)));
    gtid = gtid.substr(0, gtid.find_first_of(" \t"));
    auto parsed = GtidPosition::Parse(gtid);
    if (!parsed.ok() || parsed->entries().size() != 1 || gtid.find(',') != std::string::npos) return "";
    return gtid;
  }
  return "";
}

}  // namespace replplan
