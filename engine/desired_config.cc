#include "engine/desired_config.h"
#include "engine/text.h"

#include <cctype>

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
  return out;
}

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

}  // namespace replplan
