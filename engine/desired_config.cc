#include "engine/desired_config.h"
#include "engine/text.h"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace replplan {
namespace {

// Option files allow 'quoted' and "quoted" values; the parser may keep the quotes.
std::string_view Unquote(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    s = s.substr(1, s.size() - 2);
  }
  return s;
}

// Every server, since any of them may be promoted or become a replica of a promoted one.
void AppendFailoverSettings(const Topology& topology, std::vector<ConfigSetting>& out) {
  const ReplicationSpec& r = topology.replication;
  out.push_back({"slave_net_timeout", std::to_string(r.slave_net_timeout), SettingKind::kNumber});
  // MySQL loads semi-sync as a plugin: an unknown rpl_semi_sync_* key there stops the server from
  // starting. MariaDB has it built in, so OFF is written too: a restart must not bring back a
  // semi-sync the file turned off.
  if (topology.cluster.flavor != Flavor::kMariaDB) return;
  if (!r.semi_sync) {
    out.push_back({"rpl_semi_sync_master_enabled", "OFF", SettingKind::kBool});
    out.push_back({"rpl_semi_sync_slave_enabled", "OFF", SettingKind::kBool});
    return;
  }
  // The primary side stays OFF in every file and is turned on at runtime on the primary only
  // (set-global, promote-replica; fence-primary turns it off): on a replica, every commit of its
  // SQL thread would wait rpl_semi_sync_master_timeout for an ACK no one sends (measured here: a
  // replica 9 s behind after 100 writes), and a crashed primary must not come back with it on.
  out.push_back({"rpl_semi_sync_master_enabled", "OFF", SettingKind::kBool});
  out.push_back({"rpl_semi_sync_slave_enabled", "ON", SettingKind::kBool});
  // AFTER_SYNC (lossless): the commit becomes visible to other clients only once a replica has it,
  // so nothing a client could have read is lost when the primary dies before the ACK.
  out.push_back({"rpl_semi_sync_master_wait_point", "AFTER_SYNC", SettingKind::kKeyword});
  out.push_back({"rpl_semi_sync_master_timeout", std::to_string(r.semi_sync_timeout_ms), SettingKind::kNumber});
}

}  // namespace

std::vector<ConfigSetting> DesiredConfig(const Topology& topology, const ServerSpec& server) {
  std::string bind_address = server.bind_address.empty() ? server.address : server.bind_address;
  std::vector<ConfigSetting> out = {
      {"server_id", std::to_string(server.server_id), SettingKind::kNumber},
      {"log_bin", server.log_bin, SettingKind::kPath},
      {"bind_address", bind_address, SettingKind::kText},
      {"binlog_format", topology.replication.binlog_format, SettingKind::kKeyword},
      {"log_slave_updates", "ON", SettingKind::kBool},
      {"read_only", "ON", SettingKind::kBool},
      {"report_host", server.name, SettingKind::kText},
  };
  if (topology.replication.mode == ReplicationMode::kGtid) {
    out.push_back({"gtid_strict_mode", "ON", SettingKind::kBool});
  }
  AppendFailoverSettings(topology, out);
  return out;
}

std::vector<ConfigSetting> FailoverSettings(const Topology& topology) {
  std::vector<ConfigSetting> out;
  AppendFailoverSettings(topology, out);
  return out;
}

std::string SecondsText(double seconds) {
  char text[64];
  std::snprintf(text, sizeof text, "%.3f", seconds);
  return text;
}

bool HeartbeatMatches(double running, double wanted) { return std::fabs(running - wanted) < 0.0005; }

std::string NormalizeBool(std::string_view value) {
  std::string v = Upper(Unquote(value));
  if (v.empty() || v == "ON" || v == "1" || v == "TRUE" || v == "YES") return "ON";
  if (v == "OFF" || v == "0" || v == "FALSE" || v == "NO") return "OFF";
  return std::string(value);
}

bool ConfigValueMatches(const ConfigSetting& wanted, std::string_view actual) {
  std::string_view value = Unquote(actual);
  switch (wanted.kind) {
    case SettingKind::kBool: return NormalizeBool(value) == NormalizeBool(wanted.value);
    case SettingKind::kKeyword: return Upper(value) == Upper(wanted.value);
    case SettingKind::kNumber: {
      // "02" and "2" are the same server id; anything non-numeric is a difference.
      size_t first = value.find_first_not_of('0');
      std::string_view digits = first == std::string_view::npos ? std::string_view("0") : value.substr(first);
      for (char c : digits) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      }
      return !value.empty() && digits == wanted.value;
    }
    case SettingKind::kPath:
    case SettingKind::kText: return value == wanted.value;
  }
  return false;
}

std::string BinlogBasename(std::string_view log_bin) {
  size_t slash = log_bin.rfind('/');
  size_t dot = log_bin.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash) ||
      dot == (slash == std::string_view::npos ? 0 : slash + 1)) {
    return std::string(log_bin);
  }
  return std::string(log_bin.substr(0, dot));
}

std::string WantedBinlogBasename(std::string_view log_bin, std::string_view datadir) {
  std::string base = BinlogBasename(log_bin);
  if (log_bin.starts_with('/')) return base;
  if (datadir.empty()) return "";
  std::string dir(datadir);
  if (dir.back() != '/') dir += '/';
  return dir + base;
}

bool BinlogBasenameMatches(std::string_view log_bin, std::string_view running, std::string_view datadir) {
  if (log_bin.starts_with('/') || !datadir.empty()) return running == WantedBinlogBasename(log_bin, datadir);
  std::string tail = "/" + BinlogBasename(log_bin);
  return running.size() > tail.size() && running.ends_with(tail);
}

}  // namespace replplan
