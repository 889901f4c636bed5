// The live state: what replplan read from each server. Providers fetch raw rows (RawServerState);
// the pure ParseServerState turns them into a ServerState, so the parsing is unit-tested on canned
// rows and the planner never sees a socket.
//
// Every field that could not be read is std::nullopt / marked unknown; the planner plans nothing it
// cannot know and says so.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/effective_config.h"

namespace replplan {

using Row = std::map<std::string, std::string>;  // column name -> value ("" for SQL NULL)

// While a file-mode seed restores, the replica's channel names this host (".invalid" never
// resolves, RFC 2606): the dump's CHANGE MASTER needs a named host to record its position on, and
// a seed cut short must read as "not seeded" to the next plan, never as a replica to start.
inline constexpr const char* kSeedInProgressHost = "replplan-seed-in-progress.invalid";

// An [[app]] that runs on this server: its database settings file (Rails: config/database.yml) as
// read over SSH. Parsed by the planner (engine/database_yml.h), never by the provider.
struct LiveAppConfig {
  std::string app;   // the [[app]] name
  std::string path;  // the file read
  bool read_ok = false;  // false: `error` says why (no SSH, permission...); nothing is known
  bool exists = false;   // read_ok and the file is there
  std::string text;
  std::string error;
  // The marker restart-app leaves (engine/database_yml.h AppRestartDigest); "" when absent.
  std::string restarted_digest;
};

// The server process as SSH saw it: the pid file config_file names, whether that pid runs, and
// the TCP addresses it listens on. Looked at only when SQL could not connect (2002/2003) and SSH
// answers; `probed` is false otherwise, and then nothing below is known.
struct ProcessProbe {
  bool probed = false;
  std::string pid_file;                // "" when config_file names none: found by name (mariadbd, mysqld)
  bool running = false;                // that pid is a live process
  std::string pid;
  std::vector<std::string> listening;  // "127.0.0.1:3306", as ss prints them
  std::string error;                   // why the probe could not answer ("" when it did)
};

// What a provider reads, as it comes over the wire.
struct RawServerState {
  std::string name;

  // SQL side. sql_ok=false: nothing below it is meaningful; sql_error says why (redacted).
  bool sql_ok = false;
  std::string sql_error;
  int sql_errno = 0;
  std::map<std::string, std::string> variables;  // SHOW GLOBAL VARIABLES subset, lower-case names
  std::vector<Row> replica_status;                // SHOW ALL SLAVES STATUS (one row per channel)
  std::vector<Row> databases;                     // schema_name, default_character_set_name,
                                                  // default_collation_name
  std::vector<Row> users;                         // user, host, plugin, (no auth string)
  std::map<std::string, std::vector<std::string>> grants;  // "'user'@'host'" -> SHOW GRANTS lines
  // The newest row of `replplan`.`epochs` (engine/cluster_epoch.h), read only when that schema
  // exists; empty when it does not or holds no row.
  std::vector<Row> epochs;

  // SSH side. ssh_ok=false: config unknown; ssh_error says why.
  bool ssh_ok = false;
  std::string ssh_error;
  bool config_exists = false;
  std::string config_text;  // whole config_file content
  std::string config_file;  // its path: where a setting of config_text is said to be
  // The option files and directories config_text includes, as read (engine/effective_config.h).
  OptionFiles included;
  std::vector<LiveAppConfig> app_configs;  // one per [[app]] whose hosts include this server
  ProcessProbe process;
  // The default channel's Relay_Log_File exists in the relay log directory: checked over SSH only
  // when both its threads are stopped without an error (lost relay logs read just so, and START
  // SLAVE then fails with 1201); nullopt when not checked.
  std::optional<bool> relay_log_present;
  // The first events of the relay log at the default channel's Relay_Log_Pos (SHOW RELAYLOG EVENTS:
  // RelayEventsAtSql), read only when its SQL thread stopped on a row event error (1032, 1062): the
  // event group it stopped at. Empty when not read.
  std::vector<Row> failed_group;
};

struct ReplicaChannel {
  std::string connection_name;  // "" = the default channel
  std::string source_host;
  int source_port = 0;
  std::string source_user;
  std::string io_running;  // "Yes", "No", "Connecting", "Preparing" (MariaDB: a START SLAVE not yet connecting)
  std::string io_state;    // Slave_IO_State: "Reconnecting after a failed master event read", ...
  bool sql_running = false;
  int last_io_errno = 0;
  std::string last_io_error;
  int last_sql_errno = 0;
  std::string last_sql_error;
  std::string using_gtid;  // "No", "Slave_Pos", "Current_Pos"
  std::optional<int64_t> seconds_behind;
  std::string gtid_io_pos;
  // Binlog coordinates; a position is nullopt when the server reports none (or not a number).
  std::string source_log_file;                       // Master_Log_File
  std::optional<uint64_t> read_source_log_pos;       // Read_Master_Log_Pos
  std::string relay_source_log_file;                 // Relay_Master_Log_File
  std::optional<uint64_t> exec_source_log_pos;       // Exec_Master_Log_Pos
  std::string relay_log_file;                        // Relay_Log_File (the replica's own relay log)
  std::optional<uint64_t> relay_log_pos;             // Relay_Log_Pos
  // Slave_Heartbeat_Period in seconds (MASTER_HEARTBEAT_PERIOD); negative when not reported.
  double heartbeat_period = -1;
};

struct LiveDatabase {
  std::string name;
  std::string charset;
  std::string collation;
};

struct LiveUser {
  std::string name;
  std::string host;
  std::string plugin;
  std::vector<std::string> grants;  // SHOW GRANTS lines, IDENTIFIED BY ... PASSWORD removed
};

// One row of `replplan`.`epochs`: a promotion, recorded on the servers (engine/cluster_epoch.h).
struct EpochRecord {
  int64_t epoch = 0;
  std::string primary;      // the server promoted
  std::string kind;         // "switchover" or "failover"
  std::string promoted_at;  // UTC, as the server wrote it: "2026-12-06 21:30:00.123456"
  std::string promoted_by;  // "replplan failover by root@host (pid N) since ..."
  std::string read_from;    // the server this row was read from (LatestEpoch fills it in)
};

struct ServerState {
  std::string name;

  bool sql_ok = false;
  std::string sql_error;
  int sql_errno = 0;

  std::string version;
  std::optional<uint32_t> server_id;
  std::optional<bool> log_bin;
  std::string log_bin_basename;
  std::string datadir;  // @@datadir, where a relative log_bin lives ("/var/lib/mysql/")
  std::string binlog_format;
  std::string bind_address;
  std::optional<bool> read_only;
  std::optional<bool> log_slave_updates;
  std::optional<bool> gtid_strict_mode;
  std::string report_host;
  std::string gtid_binlog_pos;
  std::string gtid_current_pos;
  std::string gtid_slave_pos;
  // Failover settings, all dynamic; nullopt / "" when the server does not report them (MySQL
  // without the semi-sync plugins): nothing is planned for those.
  std::optional<int64_t> slave_net_timeout;
  std::optional<bool> semi_sync_master_enabled;      // rpl_semi_sync_master_enabled
  std::optional<bool> semi_sync_slave_enabled;       // rpl_semi_sync_slave_enabled
  std::string semi_sync_master_wait_point;           // rpl_semi_sync_master_wait_point, upper case
  std::optional<int64_t> semi_sync_master_timeout;  // rpl_semi_sync_master_timeout, ms
  std::vector<LiveDatabase> databases;  // user databases only (system schemas and replplan's own left out)
  // The latest failover epoch this server holds (engine/cluster_epoch.h); nullopt when none.
  std::optional<EpochRecord> epoch;
  std::vector<LiveUser> users;
  std::vector<ReplicaChannel> channels;

  bool ssh_ok = false;
  std::string ssh_error;
  bool config_exists = false;
  // Settings of the [mysqld]/[mariadbd]/[server]/[mariadb] groups of config_file, key names
  // normalized to '_' (log-bin -> log_bin); a bare key ("log_bin") maps to "".
  std::map<std::string, std::string> config;
  // The effective configuration: config_file and what it includes, followed the server's way
  // (engine/effective_config.h). `config` holds the value read last; config_origin where it is set
  // (a key not in it: config_file, or set nowhere), config_files every file read in the server's
  // order, config_problems each include that could not be followed.
  std::map<std::string, ConfigOrigin> config_origin;
  std::vector<std::string> config_files;
  std::vector<std::string> config_problems;
  std::vector<LiveAppConfig> app_configs;  // copied from RawServerState
  ProcessProbe process;                     // copied from RawServerState
  std::optional<bool> relay_log_present;   // copied from RawServerState
  // The GTID of the transaction the default channel's SQL thread stopped on (1032, 1062), from
  // RawServerState::failed_group (GtidOfEventGroup); "" when not known.
  std::string failed_gtid;

  const LiveAppConfig* FindAppConfig(const std::string& app) const;
  const LiveUser* FindUser(const std::string& name, const std::string& host) const;
  const LiveDatabase* FindDatabase(const std::string& name) const;
  const ReplicaChannel* DefaultChannel() const;
};

struct LiveState {
  std::map<std::string, ServerState> servers;  // by server name
  const ServerState* Find(const std::string& name) const;
};

ServerState ParseServerState(const RawServerState& raw);

// Everything a server holds, as a GTID position: what it wrote itself and what it applied as a
// replica (@@gtid_current_pos). Not @@gtid_binlog_pos alone: a seeded replica's binlog starts
// after the dump, so it may hold nothing of what the server has.
inline std::string Applied(const ServerState& s) {
  return s.gtid_current_pos.empty() ? s.gtid_binlog_pos : s.gtid_current_pos;
}

// One row of SHOW SLAVE STATUS (or SHOW ALL SLAVES STATUS): the one parser of those answers.
// Providers read replica status through it only, never by column name.
ReplicaChannel ParseReplicaChannel(const Row& row);

// Whether the SQL thread of `c` stopped on a row event error (1032, 1062): the data differs.
bool StoppedOnDataError(const ReplicaChannel& c);
// SHOW RELAYLOG EVENTS at `c`'s Relay_Log_File/Relay_Log_Pos (where its SQL thread stopped: the
// start of the event group it failed on), a few events; "" when the file name or position is not
// one to write into a statement.
std::string RelayEventsAtSql(const ReplicaChannel& c);
// The GTID ("0-1-42") of the first Gtid event among `events` (rows of SHOW RELAYLOG EVENTS: its
// Info reads "BEGIN GTID 0-1-42", or "GTID 0-1-42" for DDL); "" when none.
std::string GtidOfEventGroup(const std::vector<Row>& events);

}  // namespace replplan
