// What each server's config_file must say, whatever it says today. Kept apart from the diff so the
// rules are in one place: every server gets read_only=ON in its file (fencing by construction: a
// server restarted outside replplan comes up read-only; only the current primary is made writable
// at runtime), log_slave_updates=ON everywhere (any replica may be promoted), and report_host so
// the servers can be told apart in SHOW SLAVE HOSTS. Failover settings (slave_net_timeout, semi-sync)
// are the same on every server: any of them may be promoted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/topology.h"

namespace replplan {

// How a value is compared: "1" == "ON" for a boolean, "row" == "ROW" for a keyword.
enum class SettingKind { kNumber, kBool, kPath, kText, kKeyword };

struct ConfigSetting {
  std::string key;    // normalized spelling, as in ServerState::config: "server_id"
  std::string value;  // as it will be written: "2", "ON", "/var/log/mysql/mysql-bin.log"
  SettingKind kind = SettingKind::kText;
};

// The managed [mysqld] keys of `server`, in the order they are written and shown.
std::vector<ConfigSetting> DesiredConfig(const Topology& topology, const ServerSpec& server);

// The part of DesiredConfig that failover depends on, the same on every server and all dynamic
// (set with SET GLOBAL, no restart): slave_net_timeout, and the semi-sync keys on MariaDB (ON with
// wait point AFTER_SYNC and the file's timeout when semi_sync is true, both switches OFF when not).
std::vector<ConfigSetting> FailoverSettings(const Topology& topology);

// Seconds with millisecond resolution, as SHOW SLAVE STATUS prints Slave_Heartbeat_Period and
// CHANGE MASTER takes MASTER_HEARTBEAT_PERIOD: 1 -> "1.000", 0.25 -> "0.250".
std::string SecondsText(double seconds);

// Whether a replica's Slave_Heartbeat_Period is the wanted one, to the millisecond the server keeps.
bool HeartbeatMatches(double running, double wanted);

// ON/1/TRUE/YES and a bare key ("") -> "ON"; OFF/0/FALSE/NO -> "OFF"; anything else unchanged.
std::string NormalizeBool(std::string_view value);

// Whether a config_file value (already key-normalized, possibly quoted) means `wanted`.
bool ConfigValueMatches(const ConfigSetting& wanted, std::string_view actual);

// MariaDB drops the extension of log_bin for @@log_bin_basename: "/x/mysql-bin.log" -> "/x/mysql-bin".
std::string BinlogBasename(std::string_view log_bin);

// The @@log_bin_basename a server with `datadir` (@@datadir) runs with for the topology's
// `log_bin`: a relative log_bin ("mysql-bin") lives in the datadir, as MariaDB places it
// ("/var/lib/mysql/" + "mysql-bin"). "" when log_bin is relative and the datadir unknown.
std::string WantedBinlogBasename(std::string_view log_bin, std::string_view datadir);

// Whether a server running with @@log_bin_basename `running` and @@datadir `datadir` writes the
// binlog `log_bin` names. With the datadir unknown, a relative log_bin matches the running
// basename's tail at a '/' ("mysql-bin" matches "/var/lib/mysql/mysql-bin").
bool BinlogBasenameMatches(std::string_view log_bin, std::string_view running, std::string_view datadir);

}  // namespace replplan
