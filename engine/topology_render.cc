#include "engine/topology_render.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>
#include <map>
#include <utility>

#include "engine/grant_check.h"
#include "engine/grant_spec.h"
#include "engine/text.h"

namespace replplan {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

// key = value lines with the '=' aligned, as the examples are written.
void WriteTable(std::string& out, const std::string& header, const Entries& entries) {
  out += header + "\n";
  size_t width = 0;
  for (const auto& [key, value] : entries) width = std::max(width, key.size());
  for (const auto& [key, value] : entries) {
    out += key + std::string(width - key.size(), ' ') + " = " + value + "\n";
  }
}

std::string SecretText(const SecretRef& ref) {
  switch (ref.kind) {
    case SecretRef::Kind::kEnv: return "{ env = " + TomlString(ref.name) + " }";
    case SecretRef::Kind::kFile: return "{ file = " + TomlString(ref.name) + " }";
    case SecretRef::Kind::kNone: break;
  }
  return "{ env = \"\" }";  // never valid: a topology without a secret reference does not validate
}

bool SameSecret(const SecretRef& a, const SecretRef& b) { return a.kind == b.kind && a.name == b.name; }

std::string Key(const std::string& s) { return s; }
std::string Key(int n) { return std::to_string(n); }
std::string Key(bool b) { return b ? "true" : "false"; }
std::string Key(const SecretRef& ref) { return SecretText(ref); }

std::string Inline(const Entries& entries) {
  if (entries.empty()) return "{}";
  std::string out = "{ ";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out += ", ";
    out += entries[i].first + " = " + entries[i].second;
  }
  return out + " }";
}

std::string Bool(bool b) { return b ? "true" : "false"; }

// A TOML float always: 1.0, 0.5, 2.25.
std::string Float(double d) {
  char text[64];
  std::snprintf(text, sizeof text, "%.6g", d);
  std::string s = text;
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

// The keys of `ssh` that differ from `base` (every key when `all`).
Entries SshEntries(const SshSettings& ssh, const SshSettings& base, bool all) {
  Entries out;
  if (all || ssh.user != base.user) out.emplace_back("user", TomlString(ssh.user));
  if (all || ssh.port != base.port) out.emplace_back("port", std::to_string(ssh.port));
  if (all || ssh.identity != base.identity) out.emplace_back("identity", TomlString(ssh.identity));
  if (all || ssh.known_hosts != base.known_hosts) out.emplace_back("known_hosts", TomlString(ssh.known_hosts));
  const SshSettings parser_default;
  if (ssh.verify_host_key != (all ? parser_default : base).verify_host_key) {
    out.emplace_back("verify_host_key", Bool(ssh.verify_host_key));
  }
  if (ssh.connect_timeout_ms != (all ? parser_default : base).connect_timeout_ms) {
    out.emplace_back("connect_timeout_ms", std::to_string(ssh.connect_timeout_ms));
  }
  return out;
}

Entries MysqlEntries(const MysqlSettings& mysql, const MysqlSettings& base, bool all) {
  Entries out;
  if (all || mysql.port != base.port) out.emplace_back("port", std::to_string(mysql.port));
  if (all || mysql.user != base.user) out.emplace_back("user", TomlString(mysql.user));
  if (all || !SameSecret(mysql.password, base.password)) out.emplace_back("password", SecretText(mysql.password));
  const MysqlSettings parser_default;
  if (mysql.connect_timeout_ms != (all ? parser_default : base).connect_timeout_ms) {
    out.emplace_back("connect_timeout_ms", std::to_string(mysql.connect_timeout_ms));
  }
  return out;
}

// The value of `get` most servers share; the earliest such value on a tie. Linear (a map of the
// values' texts).
template <typename Get>
auto MostCommon(const std::vector<ServerSpec>& servers, Get get) {
  std::map<std::string, std::pair<size_t, size_t>> seen;  // key -> (count, first index)
  size_t best = 0, best_count = 0;
  for (size_t i = 0; i < servers.size(); ++i) {
    auto& [count, first] = seen.try_emplace(Key(get(servers[i])), 0, i).first->second;
    ++count;
    if (count > best_count || (count == best_count && first < best)) best = first, best_count = count;
  }
  return get(servers[best]);
}

std::string StringArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i > 0 ? ", " : "") + TomlString(items[i]);
  return out + "]";
}

}  // namespace

std::string TomlString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04X", u);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

ImportedGrants GrantsFromShowGrants(const std::vector<std::string>& show_grants) {
  ImportedGrants out;
  for (const std::string& line : show_grants) {
    // "GRANT ... ON ... TO `u`@`h` IDENTIFIED BY PASSWORD '*...'": only what comes before " TO ".
    size_t to = Upper(line).find(" TO ");
    const std::string what(Trim(std::string_view(line).substr(0, to)));
    std::optional<GrantLine> parsed = ParseGrantLine(line);
    if (!parsed) {
      out.left_out.push_back(what + ": not an object privilege grant the file can hold (a role, PROXY, a routine)");
      continue;
    }
    std::vector<std::string> privileges;
    for (const std::string& p : parsed->privileges) {
      if (p != "USAGE") privileges.push_back(p);
    }
    if (privileges.empty() && !parsed->grant_option) continue;
    if (parsed->grant_option) {
      out.left_out.push_back(what + " WITH GRANT OPTION: the file cannot give GRANT OPTION" +
                             std::string(privileges.empty() ? "" : "; grant the privileges alone by hand if wanted"));
      continue;
    }
    const std::string text = Join(privileges, ", ") + " ON " + QuoteGrantName(parsed->database) + "." +
                             QuoteGrantName(parsed->table);
    Result<GrantSpec> grant = ParseGrant(text);
    if (!grant.ok()) {
      out.left_out.push_back(what + ": " + grant.status().message());
      continue;
    }
    out.grants.push_back(std::move(grant).value());
  }
  return out;
}

std::string PasswordEnvFor(std::string_view user) {
  std::string out = user.empty() || std::isdigit(static_cast<unsigned char>(user.front())) ? "USER_" : "";
  for (char c : user) {
    out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : '_';
  }
  return out + "_PASSWORD";
}

std::string LogBinAsWritten(std::string_view basename, std::string_view datadir) {
  std::string dir(datadir);
  if (!dir.empty() && dir.back() != '/') dir += '/';
  if (!dir.empty() && basename.size() > dir.size() && basename.starts_with(dir) &&
      basename.substr(dir.size()).find('/') == std::string_view::npos) {
    return std::string(basename.substr(dir.size()));
  }
  return std::string(basename);
}

std::string RenderTopologyToml(const Topology& topology, const std::vector<std::string>& header) {
  std::string out;
  for (std::string line : header) {
    // A comment holds no line break or other control character (TOML; and server text may).
    for (char& ch : line) {
      if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7f) ch = ' ';
    }
    out += line.empty() ? "#\n" : "# " + line + "\n";
  }
  if (!header.empty()) out += "\n";

  const ClusterSpec& cluster = topology.cluster;
  Entries c = {{"name", TomlString(cluster.name)},
               {"flavor", TomlString(ToString(cluster.flavor))},
               {"primary", TomlString(cluster.primary)}};
  if (cluster.epoch != 0) c.emplace_back("epoch", std::to_string(cluster.epoch));
  if (!cluster.lock_file.empty()) c.emplace_back("lock_file", TomlString(cluster.lock_file));
  WriteTable(out, "[cluster]", c);

  const ReplicationSpec& r = topology.replication;
  const ReplicationSpec rd;
  Entries rep = {{"user", TomlString(r.user)}};
  if (r.host != rd.host) rep.emplace_back("host", TomlString(r.host));
  rep.emplace_back("password", SecretText(r.password));
  rep.emplace_back("mode", TomlString(ToString(r.mode)));
  rep.emplace_back("binlog_format", TomlString(r.binlog_format));
  if (r.semi_sync != rd.semi_sync) rep.emplace_back("semi_sync", Bool(r.semi_sync));
  if (r.semi_sync_timeout_ms != rd.semi_sync_timeout_ms) {
    rep.emplace_back("semi_sync_timeout_ms", std::to_string(r.semi_sync_timeout_ms));
  }
  if (r.heartbeat_period != rd.heartbeat_period) rep.emplace_back("heartbeat_period", Float(r.heartbeat_period));
  if (r.slave_net_timeout != rd.slave_net_timeout) {
    rep.emplace_back("slave_net_timeout", std::to_string(r.slave_net_timeout));
  }
  if (r.switchover_max_lag != rd.switchover_max_lag) {
    rep.emplace_back("switchover_max_lag", std::to_string(r.switchover_max_lag));
  }
  out += "\n";
  WriteTable(out, "[replication]", rep);

  // [defaults]: for each key, the value most servers have (the first server's on a tie); a server
  // writes only the keys where it differs.
  const ServerSpec parser_default;
  ServerSpec base = parser_default;
  if (!topology.servers.empty()) {
    const auto& servers = topology.servers;
    base.ssh.user = MostCommon(servers, [](const ServerSpec& s) { return s.ssh.user; });
    base.ssh.port = MostCommon(servers, [](const ServerSpec& s) { return s.ssh.port; });
    base.ssh.identity = MostCommon(servers, [](const ServerSpec& s) { return s.ssh.identity; });
    base.ssh.known_hosts = MostCommon(servers, [](const ServerSpec& s) { return s.ssh.known_hosts; });
    base.ssh.verify_host_key = MostCommon(servers, [](const ServerSpec& s) { return s.ssh.verify_host_key; });
    base.ssh.connect_timeout_ms = MostCommon(servers, [](const ServerSpec& s) { return s.ssh.connect_timeout_ms; });
    base.mysql.port = MostCommon(servers, [](const ServerSpec& s) { return s.mysql.port; });
    base.mysql.user = MostCommon(servers, [](const ServerSpec& s) { return s.mysql.user; });
    base.mysql.password = MostCommon(servers, [](const ServerSpec& s) { return s.mysql.password; });
    base.mysql.connect_timeout_ms = MostCommon(servers, [](const ServerSpec& s) { return s.mysql.connect_timeout_ms; });
    base.config_file = MostCommon(servers, [](const ServerSpec& s) { return s.config_file; });
    base.restart = MostCommon(servers, [](const ServerSpec& s) { return s.restart; });
  }
  Entries d = {{"ssh", Inline(SshEntries(base.ssh, parser_default.ssh, true))},
               {"mysql", Inline(MysqlEntries(base.mysql, parser_default.mysql, true))},
               {"config_file", TomlString(base.config_file)},
               {"restart", TomlString(base.restart)}};
  out += "\n";
  WriteTable(out, "[defaults]", d);

  for (const ServerSpec& s : topology.servers) {
    Entries e = {{"name", TomlString(s.name)},
                 {"address", TomlString(s.address)},
                 {"server_id", std::to_string(s.server_id)},
                 {"log_bin", TomlString(s.log_bin)}};
    if (!s.bind_address.empty() && s.bind_address != s.address) e.emplace_back("bind_address", TomlString(s.bind_address));
    Entries ssh = SshEntries(s.ssh, base.ssh, false);
    if (!ssh.empty()) e.emplace_back("ssh", Inline(ssh));
    Entries mysql = MysqlEntries(s.mysql, base.mysql, false);
    if (!mysql.empty()) e.emplace_back("mysql", Inline(mysql));
    if (s.config_file != base.config_file) e.emplace_back("config_file", TomlString(s.config_file));
    if (s.restart != base.restart) e.emplace_back("restart", TomlString(s.restart));
    if (s.promotion != Promotion::kNormal) e.emplace_back("promotion", TomlString(ToString(s.promotion)));
    out += "\n";
    WriteTable(out, "[[server]]", e);
  }

  for (const DatabaseSpec& db : topology.databases) {
    Entries e = {{"name", TomlString(db.name)}, {"charset", TomlString(db.charset)}};
    if (!db.collation.empty()) e.emplace_back("collation", TomlString(db.collation));
    out += "\n";
    WriteTable(out, "[[database]]", e);
  }

  for (const UserSpec& user : topology.users) {
    Entries e = {{"name", TomlString(user.name)}};
    if (user.host != "%") e.emplace_back("host", TomlString(user.host));
    e.emplace_back("password", SecretText(user.password));
    std::vector<std::string> grants;
    for (const GrantSpec& grant : user.grants) grants.push_back(grant.text);
    e.emplace_back("grants", StringArray(grants));
    out += "\n";
    WriteTable(out, "[[user]]", e);
  }

  for (const AppSpec& app : topology.apps) {
    Entries e = {{"name", TomlString(app.name)},
                 {"kind", TomlString(ToString(app.kind))},
                 {"hosts", StringArray(app.hosts)},
                 {"root", TomlString(app.root)},
                 {"environment", TomlString(app.environment)},
                 {"restart", TomlString(app.restart)}};
    if (!app.health.empty()) e.emplace_back("health", TomlString(app.health));
    out += "\n";
    if (!app.restart.empty()) {
      WriteTable(out, "[[app]]", e);
      continue;
    }
    // No restart command: the block stays a comment until the operator fills one in.
    std::string block;
    WriteTable(block, "[[app]]", e);
    out += "# app " + app.name + ": how it rereads config/database.yml is not known to import: fill in restart\n"
           "# (the command run over SSH on each host after a switchover rewrote the file, e.g. a touch of\n"
           "# tmp/restart.txt below root, or a systemctl restart) and health if it has one, then uncomment:\n";
    for (size_t start = 0; start < block.size();) {
      size_t end = block.find('\n', start);
      out += "# " + block.substr(start, end - start) + "\n";
      start = end + 1;
    }
  }
  return out;
}

}  // namespace replplan
