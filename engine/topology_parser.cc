#include "engine/topology_parser.h"
#include "engine/text.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "engine/did_you_mean.h"
#include "engine/grant_spec.h"
#include "engine/toml_input_check.h"
#include "engine/topology_keys.h"

namespace replplan {
namespace {

using topology_keys::Keys;
using topology_keys::AppKeys;
using topology_keys::ClusterKeys;
using topology_keys::DatabaseKeys;
using topology_keys::DefaultsKeys;
using topology_keys::MysqlKeys;
using topology_keys::ReplicationKeys;
using topology_keys::SecretKeys;
using topology_keys::ServerKeys;
using topology_keys::SshKeys;
using topology_keys::TopLevelKeys;
using topology_keys::UserKeys;
using topology_keys::WatchKeys;

constexpr char kSecretHint[] =
    "use password = { env = \"NAME\" } or { file = \"/path\" }: secrets never live in the file";
constexpr int64_t kMaxServerId = 4294967295;
constexpr int64_t kMaxTimeoutMs = 3600000;  // an hour: anything longer is a unit mistake
constexpr int64_t kMaxSlaveNetTimeout = 31536000;  // MariaDB's own maximum (a year)
constexpr int64_t kMaxSwitchoverLag = 86400;       // a day behind is a reseed, not a switchover

// 1 -> "1", 0.25 -> "0.25": seconds as the reader wrote them, for messages.
std::string FormatSeconds(double seconds) {
  std::ostringstream out;
  out << seconds;
  return out.str();
}

const char* TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::array: return "array";
    case toml::node_type::table: return "table";
    case toml::node_type::none: break;
  }
  return "nothing";
}

std::string KeyPath(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// "a or b", "a, b or c": how the allowed values of a choice are written in a message.
std::string Alternatives(const Keys& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  return out;
}

bool IsIPv4(std::string_view s) {
  int parts = 0;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    const std::string_view part = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (!IsDigits(part) || part.size() > 3 || std::stoi(std::string(part)) > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
bool IsHostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    const std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

// An all-numeric dotted name is meant as an IPv4 address; "192.168.178.666" is a typo, not a host.
bool IsAddress(std::string_view s) {
  const bool numeric = std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  return numeric ? IsIPv4(s) : IsHostname(s);
}

bool IsEnvName(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s.front()))) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// Server names appear in messages, plan output and lab paths: keep them plain.
bool IsServerName(std::string_view s) {
  if (s.empty() || !std::isalnum(static_cast<unsigned char>(s.front()))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

bool IsSqlWord(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// A Rails environment name is a top-level key of database.yml that replplan finds and rewrites
// line by line: keep it to a plain YAML word.
bool IsEnvironmentName(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// "http://host[:port]/path" or https: the scheme, then a non-empty host part.
bool IsHttpUrl(std::string_view s) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!s.starts_with(scheme)) continue;
    const std::string_view rest = s.substr(scheme.size());
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    return !authority.empty() && authority.front() != ':' &&
           std::none_of(s.begin(), s.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  }
  return false;
}

// MariaDB stores a database as a directory: at most 64 characters, and no path separators.
bool IsDatabaseName(std::string_view s) {
  return !s.empty() && s.size() <= 64 && s.find_first_of("/\\.") == std::string_view::npos && s.back() != ' ';
}

// Reads one topology document. Every check records a Diagnostic and carries on, so one run
// reports every problem; values that failed a check are simply left at their defaults.
class TopologyReader {
 public:
  explicit TopologyReader(std::string file) : file_(std::move(file)) { topology_.file = file_; }

  TopologyParse Read(std::string_view text) {
    // Bytes toml++ 3.3.0 must not see (undefined behaviour there) are refused first.
    if (std::optional<Diagnostic> problem = CheckTomlInput(text, file_)) {
      errors_.push_back(std::move(*problem));
      return Finish();
    }
    toml::table root;
    try {
      root = toml::parse(text, std::string_view(file_));
    } catch (const toml::parse_error& e) {
      Error(At(e.source()), std::string(e.description()));
      return Finish();
    } catch (const std::exception& e) {
      Error(FileStart(), std::string("cannot read TOML: ") + e.what());
      return Finish();
    }
    RejectUnknownTopLevel(root);
    ReadCluster(root);
    ReadReplication(root);
    ReadWatch(root);
    ReadDefaults(root);
    ReadServers(root);
    ReadDatabases(root);
    ReadUsers(root);
    ReadApps(root);
    CheckPrimary();
    CheckReplicationAccount();
    return Finish();
  }

 private:
  // ---- diagnostics -------------------------------------------------------------------------

  SourceLocation At(const toml::source_region& region) const {
    return SourceLocation{file_, static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
  }
  SourceLocation At(const toml::node& node) const { return At(node.source()); }
  SourceLocation FileStart() const { return SourceLocation{file_, 1, 1}; }

  void Error(SourceLocation where, std::string message, std::string hint = {}) {
    errors_.push_back(Diagnostic{std::move(where), std::move(message), std::move(hint)});
  }

  TopologyParse Finish() {
    // Checks run table by table, cross-checks at the end; the reader wants them in file order.
    std::stable_sort(errors_.begin(), errors_.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
    });
    TopologyParse parse;
    parse.errors = std::move(errors_);
    if (parse.errors.empty()) parse.topology = std::move(topology_);
    return parse;
  }

  // ---- shape and type checks -----------------------------------------------------------------

  void RejectUnknownTopLevel(const toml::table& root) {
    for (auto&& [key, value] : root) {
      if (std::find(TopLevelKeys().begin(), TopLevelKeys().end(), key.str()) != TopLevelKeys().end()) continue;
      const bool is_table = value.is_table() || value.is_array_of_tables();
      const std::string suggestion = DidYouMeanSuffix(key.str(), TopLevelKeys());
      Error(At(key.source()),
            std::string(is_table ? "unknown table '" : "unknown key '") + std::string(key.str()) + "'" + suggestion,
            suggestion.empty() ? "the file has the tables " + Join(TopLevelKeys()) : "");
    }
  }

  void RejectUnknownKeys(const toml::table& table, const Keys& allowed, const std::string& label) {
    for (auto&& [key, value] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
      const std::string suggestion = DidYouMeanSuffix(key.str(), allowed);
      Error(At(key.source()), "unknown key '" + std::string(key.str()) + "' in " + label + suggestion,
            suggestion.empty() ? label + " accepts " + Join(allowed) : "");
    }
  }

  void WrongType(const toml::node& node, const std::string& path, const std::string& expected, std::string hint = {}) {
    Error(At(node), path + " must be " + expected + ", got " + TypeName(node), std::move(hint));
  }

  // Records "[cluster] is missing required key 'name'" at `where` when `key` is absent.
  bool Require(const toml::table& table, std::string_view key, const std::string& owner, std::string hint = {}) {
    if (table.contains(key)) return true;
    Error(At(table), owner + " is missing required key '" + std::string(key) + "'", std::move(hint));
    return false;
  }

  // The typed readers return nothing when the key is absent or its value is unusable; in the
  // second case they have recorded why.
  std::optional<std::string> ReadString(const toml::table& table, std::string_view key, const std::string& path) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return std::nullopt;
    if (!node->is_string()) {
      WrongType(*node, path, "a string");
      return std::nullopt;
    }
    std::string value = node->as_string()->get();
    if (value.empty()) {
      Error(At(*node), path + " must not be empty");
      return std::nullopt;
    }
    // A NUL ends a path where C reads it (SFTP, the shell), so replplan would touch another file
    // than the reviewed one; a line break or another control character changes what a command,
    // a my.cnf line or a printed plan says. TOML escapes (\u0000, \n) let a file hold them.
    auto control = std::find_if(value.begin(), value.end(), [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return (u < 0x20 && c != '\t') || u == 0x7f;
    });
    if (control != value.end()) {
      char code[8];
      std::snprintf(code, sizeof code, "\\x%02x", static_cast<unsigned char>(*control));
      Error(At(*node), path + " must not contain control characters (" + code + " at byte " +
                           std::to_string(control - value.begin()) + ")");
      return std::nullopt;
    }
    return value;
  }

  std::optional<int64_t> ReadInteger(const toml::table& table, std::string_view key, const std::string& path,
                                     int64_t min, int64_t max) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return std::nullopt;
    if (!node->is_integer()) {
      WrongType(*node, path, "an integer");
      return std::nullopt;
    }
    const int64_t value = node->as_integer()->get();
    if (value < min || value > max) {
      Error(At(*node), path + " must be in " + std::to_string(min) + ".." + std::to_string(max) + ", got " +
                           std::to_string(value));
      return std::nullopt;
    }
    return value;
  }

  std::optional<bool> ReadBool(const toml::table& table, std::string_view key, const std::string& path) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return std::nullopt;
    if (!node->is_boolean()) {
      WrongType(*node, path, "a boolean (true or false)");
      return std::nullopt;
    }
    return node->as_boolean()->get();
  }

  // A sub-table: `ssh = { ... }`, `[defaults.ssh]` or dotted keys `ssh.port = 2222` all qualify.
  const toml::table* ReadTable(const toml::table& table, std::string_view key, const std::string& path) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return nullptr;
    if (!node->is_table()) {
      WrongType(*node, path, "a table");
      return nullptr;
    }
    return node->as_table();
  }

  std::optional<std::string> ReadChoice(const toml::table& table, std::string_view key, const std::string& path,
                                        const Keys& allowed, bool ignore_case, bool suggest = false) {
    std::optional<std::string> value = ReadString(table, key, path);
    if (!value) return std::nullopt;
    for (const std::string& candidate : allowed) {
      if (ignore_case ? Lower(*value) == Lower(candidate) : *value == candidate) return candidate;
    }
    Error(At(*table.get(key)), "unknown " + std::string(key) + " '" + *value + "' (expected " + Alternatives(allowed) +
                                   ")" + (suggest ? DidYouMeanSuffix(*value, allowed) : ""));
    return std::nullopt;
  }

  std::optional<std::string> ReadAbsolutePath(const toml::table& table, std::string_view key, const std::string& path) {
    std::optional<std::string> value = ReadString(table, key, path);
    if (value && value->front() != '/') {
      Error(At(*table.get(key)), path + " must be an absolute path, got '" + *value + "'");
      return std::nullopt;
    }
    return value;
  }

  // log_bin as MariaDB takes it: an absolute base path, or one relative to the server's datadir
  // ("mysql-bin", the common form), never a directory ("binlog/": it names no file).
  std::optional<std::string> ReadBinlogPath(const toml::table& table) {
    std::optional<std::string> value = ReadString(table, "log_bin", "log_bin");
    if (value && value->back() == '/') {
      Error(At(*table.get("log_bin")), "log_bin must name the binlog's base file (e.g. mysql-bin or "
                                       "/var/log/mysql/mysql-bin.log), got the directory '" + *value + "'");
      return std::nullopt;
    }
    return value;
  }

  // Key and known_hosts files live on the operator's machine, where "~/" is the usual spelling.
  std::optional<std::string> ReadLocalPath(const toml::table& table, std::string_view key, const std::string& path) {
    std::optional<std::string> value = ReadString(table, key, path);
    if (value && value->front() != '/' && !value->starts_with("~/")) {
      Error(At(*table.get(key)), path + " must be an absolute path or start with '~/', got '" + *value + "'");
      return std::nullopt;
    }
    return value;
  }

  std::optional<std::string> ReadAddress(const toml::table& table, std::string_view key, const std::string& path) {
    std::optional<std::string> value = ReadString(table, key, path);
    if (value && !IsAddress(*value)) {
      Error(At(*table.get(key)), path + " must be an IPv4 address or a hostname, got '" + *value + "'");
      return std::nullopt;
    }
    return value;
  }

  // `password = { env = "NAME" }` / `{ file = "/path" }`. Returns whether the key is present at
  // all (valid or not), so callers can tell "missing" from "already reported". The value of a
  // literal string is never echoed: it is the secret.
  bool ReadSecret(const toml::table& table, std::string_view key, const std::string& path, SecretRef* out) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return false;
    if (node->is_string()) {
      Error(At(*node), path + " must not be a literal string", kSecretHint);
      return true;
    }
    if (!node->is_table()) {
      WrongType(*node, path, "a table", kSecretHint);
      return true;
    }
    const toml::table& secret = *node->as_table();
    RejectUnknownKeys(secret, SecretKeys(), path);
    const bool has_env = secret.contains("env");
    const bool has_file = secret.contains("file");
    if (has_env == has_file) {
      Error(At(*node), path + " must have exactly one of 'env' or 'file'", kSecretHint);
      return true;
    }
    SecretRef ref;
    ref.where = At(*node);
    if (has_env) {
      std::optional<std::string> name = ReadString(secret, "env", KeyPath(path, "env"));
      if (!name) return true;
      if (!IsEnvName(*name)) {
        Error(At(*secret.get("env")),
              KeyPath(path, "env") + " must be an environment variable name (letters, digits, '_'), got '" + *name + "'");
        return true;
      }
      ref.kind = SecretRef::Kind::kEnv;
      ref.name = *name;
    } else {
      // Relative to what? The directory replplan happens to run in: too fragile for a secret.
      std::optional<std::string> file = ReadAbsolutePath(secret, "file", KeyPath(path, "file"));
      if (!file) return true;
      ref.kind = SecretRef::Kind::kFile;
      ref.name = *file;
    }
    *out = std::move(ref);
    return true;
  }

  // ---- [cluster], [replication], [defaults] --------------------------------------------------

  const toml::table* RequireSection(const toml::table& root, std::string_view key) {
    const toml::node* node = root.get(key);
    if (node == nullptr) {
      Error(FileStart(), "missing [" + std::string(key) + "] table");
      return nullptr;
    }
    if (!node->is_table()) {
      WrongType(*node, std::string(key), "a table");
      return nullptr;
    }
    return node->as_table();
  }

  void ReadCluster(const toml::table& root) {
    const toml::table* cluster = RequireSection(root, "cluster");
    if (cluster == nullptr) return;
    RejectUnknownKeys(*cluster, ClusterKeys(), "[cluster]");
    ClusterSpec& spec = topology_.cluster;
    if (Require(*cluster, "name", "[cluster]")) spec.name = ReadString(*cluster, "name", "cluster.name").value_or("");
    if (auto flavor = ReadChoice(*cluster, "flavor", "cluster.flavor", {"mariadb", "mysql"}, false)) {
      spec.flavor = *flavor == "mysql" ? Flavor::kMySQL : Flavor::kMariaDB;
    }
    if (Require(*cluster, "primary", "[cluster]", "name the [[server]] that takes writes")) {
      spec.primary = ReadString(*cluster, "primary", "cluster.primary").value_or("");
      spec.primary_where = At(*cluster->get("primary"));
    }
    spec.epoch = ReadInteger(*cluster, "epoch", "cluster.epoch", 0, INT64_MAX).value_or(0);
    spec.lock_file = ReadAbsolutePath(*cluster, "lock_file", "cluster.lock_file").value_or("");
    if (spec.lock_file.empty() && !spec.name.empty()) spec.lock_file = "/run/replplan/" + spec.name + ".lock";
    if (auto remedy = ReadChoice(*cluster, "errant_transactions", "cluster.errant_transactions",
                                 {"refuse", "inject-empty", "reseed"}, false, /*suggest=*/true)) {
      spec.errant_transactions = *remedy == "inject-empty" ? ErrantRemedy::kInjectEmpty
                                 : *remedy == "reseed"     ? ErrantRemedy::kReseed
                                                           : ErrantRemedy::kRefuse;
      errant_where_ = At(*cluster->get("errant_transactions"));
    }
    if (auto remedy = ReadChoice(*cluster, "on_data_error", "cluster.on_data_error", {"reseed", "skip"}, false)) {
      spec.on_data_error = *remedy == "skip" ? DataErrorRemedy::kSkip : DataErrorRemedy::kReseed;
    }
    spec.restart_catch_up_timeout = static_cast<int>(
        ReadInteger(*cluster, "restart_catch_up_timeout", "cluster.restart_catch_up_timeout", 1, 86400)
            .value_or(spec.restart_catch_up_timeout));
    ReadOnNextRestart(*cluster, &spec);
    if (auto after = ReadChoice(*cluster, "primary_restart", "cluster.primary_restart", {"switch-back", "stay"}, false)) {
      spec.primary_restart_switch_back = *after == "switch-back";
    }
  }

  // on_next_restart = ["report_host"]: static settings that may wait for the next restart. A
  // setting a failover depends on is refused with why, so no file defers one by mistake.
  void ReadOnNextRestart(const toml::table& cluster, ClusterSpec* spec) {
    const toml::node* node = cluster.get("on_next_restart");
    if (node == nullptr) return;
    const toml::array* list = node->as_array();
    if (list == nullptr) {
      WrongType(*node, "cluster.on_next_restart", "an array of setting names", "e.g. on_next_restart = [\"report_host\"]");
      return;
    }
    const Keys& deferrable = DeferrableRestartSettings();
    for (size_t i = 0; i < list->size(); ++i) {
      const toml::node& element = *list->get(i);
      const std::string path = "cluster.on_next_restart[" + std::to_string(i) + "]";
      if (!element.is_string()) {
        WrongType(element, path, "a string");
        continue;
      }
      const std::string& setting = element.as_string()->get();
      if (std::find(deferrable.begin(), deferrable.end(), setting) != deferrable.end()) {
        if (!spec->DefersRestartFor(setting)) spec->on_next_restart.push_back(setting);
        continue;
      }
      Keys failover_relevant = {"log_bin", "log_slave_updates", "bind_address"};
      if (std::find(failover_relevant.begin(), failover_relevant.end(), setting) != failover_relevant.end()) {
        Error(At(element), path + ": " + setting + " cannot wait for the next restart: a failover depends on it (" +
                               (setting == "bind_address" ? std::string("the replicas and replplan reach the server there")
                                                          : "a promoted replica must hold in its binlog what the others follow") +
                               ")", "only " + Join(deferrable) + " may");
        continue;
      }
      Error(At(element), path + ": '" + setting + "' is not a static setting" + DidYouMeanSuffix(setting, deferrable),
            "only " + Join(deferrable) + " may wait for the next restart");
    }
  }

  // [watch], optional: etcd's endpoints for several watchers, the key prefix, TLS files, the lease.
  void ReadWatch(const toml::table& root) {
    const toml::node* node = root.get("watch");
    if (node == nullptr) return;
    const toml::table* watch = node->as_table();
    if (watch == nullptr) return WrongType(*node, "watch", "a table");
    RejectUnknownKeys(*watch, WatchKeys(), "[watch]");
    WatchSpec& spec = topology_.watch;
    if (const toml::node* etcd = watch->get("etcd")) {
      const toml::array* list = etcd->as_array();
      if (list == nullptr || list->empty()) {
        WrongType(*etcd, "watch.etcd", "a non-empty array of endpoints", "e.g. etcd = [\"http://10.0.0.5:2379\"]");
      } else {
        for (size_t i = 0; i < list->size(); ++i) {
          const toml::node& element = *list->get(i);
          const std::string path = "watch.etcd[" + std::to_string(i) + "]";
          const std::string* url = element.is_string() ? &element.as_string()->get() : nullptr;
          if (url == nullptr) {
            WrongType(element, path, "a string");
          } else if ((url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) ||
                     url->find('@') != std::string::npos || url->size() <= url->find("://") + 3) {
            Error(At(element), path + " must be http://HOST:PORT or https://HOST:PORT (no credentials), got '" +
                                   *url + "'");
          } else {
            spec.etcd.push_back(url->back() == '/' ? url->substr(0, url->size() - 1) : *url);
          }
        }
      }
    }
    if (auto prefix = ReadString(*watch, "prefix", "watch.prefix")) {
      if (prefix->front() != '/') Error(At(*watch->get("prefix")), "watch.prefix must start with '/', got '" + *prefix + "'");
      else spec.prefix = *prefix;
    }
    spec.etcd_cacert = ReadAbsolutePath(*watch, "etcd_cacert", "watch.etcd_cacert").value_or("");
    spec.etcd_cert = ReadAbsolutePath(*watch, "etcd_cert", "watch.etcd_cert").value_or("");
    spec.etcd_key = ReadAbsolutePath(*watch, "etcd_key", "watch.etcd_key").value_or("");
    spec.lease_ttl_s = static_cast<int>(ReadInteger(*watch, "lease_ttl_s", "watch.lease_ttl_s", 1, 60).value_or(2));
    if (auto http = ReadString(*watch, "http", "watch.http")) {
      // HOST:PORT or [V6]:PORT, port 1..65535 (whether it can be bound is the watcher's to say).
      const size_t colon = http->rfind(':');
      const std::string host = colon == std::string::npos ? "" : http->substr(0, colon);
      const std::string port = colon == std::string::npos ? "" : http->substr(colon + 1);
      const bool v6 = host.size() > 2 && host.front() == '[' && host.back() == ']';
      if (host.empty() || (!v6 && host.find_first_of(":[]") != std::string::npos) || port.empty() ||
          port.size() > 5 || !IsDigits(port) || std::stoi(port) < 1 || std::stoi(port) > 65535) {
        Error(At(*watch->get("http")), "watch.http must be HOST:PORT (or [V6]:PORT, port 1..65535), got '" + *http + "'",
              "e.g. http = \"127.0.0.1:9187\"");
      } else {
        spec.http = *http;
      }
    }
    spec.state_dir = ReadAbsolutePath(*watch, "state_dir", "watch.state_dir").value_or("");
  }

  void ReadReplication(const toml::table& root) {
    const toml::table* repl = RequireSection(root, "replication");
    if (repl == nullptr) return;
    RejectUnknownKeys(*repl, ReplicationKeys(), "[replication]");
    ReplicationSpec& spec = topology_.replication;
    if (Require(*repl, "user", "[replication]")) {
      spec.user = ReadString(*repl, "user", "replication.user").value_or(spec.user);
    }
    spec.host = ReadString(*repl, "host", "replication.host").value_or(spec.host);
    if (!ReadSecret(*repl, "password", "replication.password", &spec.password)) {
      Error(At(*repl), "[replication] is missing required key 'password'", kSecretHint);
    }
    if (auto mode = ReadChoice(*repl, "mode", "replication.mode", {"gtid", "file"}, false)) {
      spec.mode = *mode == "file" ? ReplicationMode::kFile : ReplicationMode::kGtid;
    }
    // Errant transactions are found from GTID positions: under file/position replication the
    // setting would be one the reviewer believes in and nothing reads.
    if (spec.mode == ReplicationMode::kFile && topology_.cluster.errant_transactions != ErrantRemedy::kRefuse) {
      Error(errant_where_, std::string("cluster.errant_transactions = '") + ToString(topology_.cluster.errant_transactions) +
                               "' needs replication.mode = 'gtid' (errant transactions are found by GTID)");
    }
    spec.binlog_format =
        Upper(ReadChoice(*repl, "binlog_format", "replication.binlog_format", {"ROW", "MIXED", "STATEMENT"}, true)
                  .value_or(spec.binlog_format));
    spec.semi_sync = ReadBool(*repl, "semi_sync", "replication.semi_sync").value_or(spec.semi_sync);
    ReadReplicationTiming(*repl, spec);
  }

  // Bounds: MariaDB's own where they are sane, tighter where a larger value can only be a unit
  // mistake. semi_sync_timeout_ms may be huge on purpose (no fallback to async: see
  // MARIADB-NOTES), so only the int range caps it.
  void ReadReplicationTiming(const toml::table& repl, ReplicationSpec& spec) {
    spec.semi_sync_timeout_ms = static_cast<int>(
        ReadInteger(repl, "semi_sync_timeout_ms", "replication.semi_sync_timeout_ms", 1, INT32_MAX)
            .value_or(spec.semi_sync_timeout_ms));
    spec.slave_net_timeout = static_cast<int>(
        ReadInteger(repl, "slave_net_timeout", "replication.slave_net_timeout", 1, kMaxSlaveNetTimeout)
            .value_or(spec.slave_net_timeout));
    spec.switchover_max_lag = static_cast<int>(
        ReadInteger(repl, "switchover_max_lag", "replication.switchover_max_lag", 0, kMaxSwitchoverLag)
            .value_or(spec.switchover_max_lag));
    if (auto bound = ReadInteger(repl, "far_behind_seconds", "replication.far_behind_seconds", 1, kMaxSwitchoverLag)) {
      spec.far_behind_seconds = static_cast<int>(*bound);
    }
    const toml::node* node = repl.get("heartbeat_period");
    if (node == nullptr) return;
    if (!node->is_number()) return WrongType(*node, "replication.heartbeat_period", "a number of seconds");
    const double period = node->is_integer() ? static_cast<double>(node->as_integer()->get())
                                             : node->as_floating_point()->get();
    // MASTER_HEARTBEAT_PERIOD has millisecond resolution, and 0 would switch heartbeats off.
    if (!(period >= 0.001 && period <= 4294967.0)) {
      return Error(At(*node), "replication.heartbeat_period must be in 0.001..4294967 seconds, got " +
                                  FormatSeconds(period));
    }
    // A replica gives up on a source that sent nothing for slave_net_timeout seconds: with no
    // heartbeat in between, an idle but healthy primary would look dead.
    if (period >= spec.slave_net_timeout) {
      return Error(At(*node), "replication.heartbeat_period (" + FormatSeconds(period) +
                                  " s) must be below replication.slave_net_timeout (" +
                                  std::to_string(spec.slave_net_timeout) + " s)",
                   "replicas would time out on an idle, healthy primary between two heartbeats");
    }
    spec.heartbeat_period = period;
  }

  // Fills `ssh` from the keys `table` gives; the rest keep what `ssh` already holds (the struct
  // defaults for [defaults], the merged defaults for a server).
  void ReadSsh(const toml::table& table, const std::string& path, SshSettings* ssh) {
    RejectUnknownKeys(table, SshKeys(), path);
    ssh->user = ReadString(table, "user", KeyPath(path, "user")).value_or(ssh->user);
    ssh->port = static_cast<int>(ReadInteger(table, "port", KeyPath(path, "port"), 1, 65535).value_or(ssh->port));
    ssh->identity = ReadLocalPath(table, "identity", KeyPath(path, "identity")).value_or(ssh->identity);
    ssh->known_hosts = ReadLocalPath(table, "known_hosts", KeyPath(path, "known_hosts")).value_or(ssh->known_hosts);
    ssh->verify_host_key =
        ReadBool(table, "verify_host_key", KeyPath(path, "verify_host_key")).value_or(ssh->verify_host_key);
    ssh->connect_timeout_ms =
        static_cast<int>(ReadInteger(table, "connect_timeout_ms", KeyPath(path, "connect_timeout_ms"), 1, kMaxTimeoutMs)
                             .value_or(ssh->connect_timeout_ms));
  }

  // Same merge rule as ReadSsh. Returns whether a password key was written here.
  bool ReadMysql(const toml::table& table, const std::string& path, MysqlSettings* mysql) {
    RejectUnknownKeys(table, MysqlKeys(), path);
    mysql->port = static_cast<int>(ReadInteger(table, "port", KeyPath(path, "port"), 1, 65535).value_or(mysql->port));
    mysql->user = ReadString(table, "user", KeyPath(path, "user")).value_or(mysql->user);
    const bool password_given = ReadSecret(table, "password", KeyPath(path, "password"), &mysql->password);
    mysql->connect_timeout_ms =
        static_cast<int>(ReadInteger(table, "connect_timeout_ms", KeyPath(path, "connect_timeout_ms"), 1, kMaxTimeoutMs)
                             .value_or(mysql->connect_timeout_ms));
    return password_given;
  }

  void ReadDefaults(const toml::table& root) {
    const toml::node* node = root.get("defaults");
    if (node == nullptr) return;
    if (!node->is_table()) {
      WrongType(*node, "defaults", "a table");
      return;
    }
    const toml::table& defaults = *node->as_table();
    RejectUnknownKeys(defaults, DefaultsKeys(), "[defaults]");
    if (const toml::table* ssh = ReadTable(defaults, "ssh", "defaults.ssh"))
      ReadSsh(*ssh, "defaults.ssh", &default_ssh_);
    if (const toml::table* mysql = ReadTable(defaults, "mysql", "defaults.mysql")) {
      default_mysql_password_given_ = ReadMysql(*mysql, "defaults.mysql", &default_mysql_);
    }
    default_config_file_ =
        ReadAbsolutePath(defaults, "config_file", "defaults.config_file").value_or(default_config_file_);
    default_restart_ = ReadString(defaults, "restart", "defaults.restart").value_or(default_restart_);
  }

  // ---- [[server]], [[database]], [[user]] ----------------------------------------------------

  // The tables of an array of tables, or nothing (with an error) if `key` holds something else.
  std::vector<const toml::table*> ReadArrayOfTables(const toml::table& root, std::string_view key) {
    std::vector<const toml::table*> tables;
    const toml::node* node = root.get(key);
    if (node == nullptr) return tables;
    if (!node->is_array_of_tables()) {
      WrongType(*node, std::string(key), "an array of tables ([[" + std::string(key) + "]])");
      return tables;
    }
    for (const toml::node& element : *node->as_array()) tables.push_back(element.as_table());
    return tables;
  }

  void ReadServers(const toml::table& root) {
    std::vector<const toml::table*> tables = ReadArrayOfTables(root, "server");
    if (tables.empty() && !root.contains("server")) {
      Error(FileStart(), "no [[server]] declared",
            "declare at least the primary: [[server]] with name, address, server_id, log_bin");
    }
    for (const toml::table* table : tables) {
      ServerSpec server;
      if (ReadServer(*table, &server)) {
        topology_.servers.push_back(std::move(server));
        IndexLastServer();
      }
    }
  }

  // Returns whether the server has a name, i.e. whether later checks can refer to it.
  bool ReadServer(const toml::table& table, ServerSpec* server) {
    server->where = At(table);
    server->ssh = default_ssh_;
    server->mysql = default_mysql_;
    server->config_file = default_config_file_;
    server->restart = default_restart_;
    RecordKeyLocations(table, server);
    RejectUnknownKeys(table, ServerKeys(), "[[server]]");

    std::optional<std::string> name = ReadString(table, "name", "name");
    if (name && !IsServerName(*name)) {
      Error(At(*table.get("name")), "server name must be letters, digits, '-', '_' or '.', got '" + *name + "'");
      name.reset();
    }
    const std::string owner = name ? "server '" + *name + "'" : "[[server]]";
    if (!table.contains("name")) Error(server->where, owner + " is missing required key 'name'");
    server->name = name.value_or("");

    if (Require(table, "address", owner)) server->address = ReadAddress(table, "address", "address").value_or("");
    if (Require(table, "server_id", owner,
                "every server needs a unique server_id in 1.." + std::to_string(kMaxServerId))) {
      server->server_id =
          static_cast<uint32_t>(ReadInteger(table, "server_id", "server_id", 1, kMaxServerId).value_or(0));
    }
    if (Require(table, "log_bin", owner,
                "replication needs binary logs, e.g. log_bin = \"/var/log/mysql/mysql-bin.log\"")) {
      server->log_bin = ReadBinlogPath(table).value_or("");
    }
    server->bind_address = ReadAddress(table, "bind_address", "bind_address").value_or(server->address);
    if (const toml::table* ssh = ReadTable(table, "ssh", "ssh")) ReadSsh(*ssh, "ssh", &server->ssh);
    bool password_given = default_mysql_password_given_;
    if (const toml::table* mysql = ReadTable(table, "mysql", "mysql")) {
      password_given = ReadMysql(*mysql, "mysql", &server->mysql) || password_given;
    }
    if (!password_given) {
      Error(server->where, owner + " has no mysql password",
            "set password in [defaults] mysql, or in this server's mysql table: " + std::string(kSecretHint));
    }
    server->config_file = ReadAbsolutePath(table, "config_file", "config_file").value_or(server->config_file);
    server->restart = ReadString(table, "restart", "restart").value_or(server->restart);
    if (auto promotion = ReadChoice(table, "promotion", "promotion", {"normal", "prefer", "never"}, false)) {
      server->promotion = *promotion == "prefer"  ? Promotion::kPrefer
                          : *promotion == "never" ? Promotion::kNever
                                                  : Promotion::kNormal;
    }
    if (name) CheckServerIsUnique(*server);
    return name.has_value();
  }

  void RecordKeyLocations(const toml::table& table, ServerSpec* server) {
    for (auto&& [key, value] : table) {
      server->key_where[std::string(key.str())] = At(value);
      if (const toml::table* sub = value.as_table()) {
        for (auto&& [sub_key, sub_value] : *sub) {
          server->key_where[std::string(key.str()) + "." + std::string(sub_key.str())] = At(sub_value);
        }
      }
    }
  }

  // Compared with the servers read so far, so the error lands on the second occurrence and names
  // the first. One hash lookup per key (a scan of every earlier server made validating 10,000
  // servers quadratic: 4.3 s).
  void CheckServerIsUnique(const ServerSpec& server) {
    if (auto it = server_by_name_.find(server.name); it != server_by_name_.end()) {
      const ServerSpec& other = topology_.servers[it->second];
      Error(server.key_where.at("name"), "duplicate server name '" + server.name + "' (first declared at line " +
                                             std::to_string(other.where.line) + ")");
    }
    if (auto it = server_by_id_.find(server.server_id); server.server_id != 0 && it != server_by_id_.end()) {
      const ServerSpec& other = topology_.servers[it->second];
      Error(server.key_where.at("server_id"), "duplicate server_id " + std::to_string(server.server_id) +
                                                  " (already used by server '" + other.name + "' at line " +
                                                  std::to_string(other.key_where.at("server_id").line) + ")");
    }
    if (auto it = server_by_address_.find(Lower(server.address));
        !server.address.empty() && it != server_by_address_.end()) {
      const ServerSpec& other = topology_.servers[it->second];
      Error(server.key_where.at("address"), "duplicate address '" + server.address + "' (already used by server '" +
                                                other.name + "' at line " +
                                                std::to_string(other.key_where.at("address").line) + ")");
    }
  }

  // The last server read joins the indexes CheckServerIsUnique looks in (the first of equals stays).
  void IndexLastServer() {
    const size_t index = topology_.servers.size() - 1;
    const ServerSpec& server = topology_.servers[index];
    server_by_name_.emplace(server.name, index);
    if (server.server_id != 0) server_by_id_.emplace(server.server_id, index);
    if (!server.address.empty()) server_by_address_.emplace(Lower(server.address), index);
  }

  void ReadDatabases(const toml::table& root) {
    std::map<std::string, int> first_line;
    for (const toml::table* table : ReadArrayOfTables(root, "database")) {
      RejectUnknownKeys(*table, DatabaseKeys(), "[[database]]");
      DatabaseSpec db;
      db.where = At(*table);
      if (!Require(*table, "name", "[[database]]")) continue;
      std::optional<std::string> name = ReadString(*table, "name", "name");
      if (name && !IsDatabaseName(*name)) {
        Error(At(*table->get("name")),
              "invalid database name '" + *name + "': at most 64 characters, no '/', '\\' or '.'");
        name.reset();
      } else if (name && *name == "replplan") {
        // replplan's own schema (the failover epochs, engine/cluster_epoch.h): never a user database.
        Error(At(*table->get("name")), "database name 'replplan' is reserved: replplan records its failover epochs "
                                       "there; choose another name");
        name.reset();
      }
      db.charset = ReadSqlWord(*table, "charset").value_or(db.charset);
      db.collation = ReadSqlWord(*table, "collation").value_or(db.collation);
      if (!name) continue;
      db.name = *name;
      if (auto [it, inserted] = first_line.emplace(db.name, db.where.line); !inserted) {
        Error(At(*table->get("name")),
              "duplicate database '" + db.name + "' (first declared at line " + std::to_string(it->second) + ")");
        continue;
      }
      topology_.databases.push_back(std::move(db));
    }
  }

  std::optional<std::string> ReadSqlWord(const toml::table& table, std::string_view key) {
    std::optional<std::string> value = ReadString(table, key, std::string(key));
    if (value && !IsSqlWord(*value)) {
      Error(At(*table.get(key)), std::string(key) + " must be letters, digits and '_', got '" + *value + "'");
      return std::nullopt;
    }
    return value;
  }

  void ReadUsers(const toml::table& root) {
    std::map<std::pair<std::string, std::string>, int> first_line;
    for (const toml::table* table : ReadArrayOfTables(root, "user")) {
      RejectUnknownKeys(*table, UserKeys(), "[[user]]");
      UserSpec user;
      user.where = At(*table);
      std::optional<std::string> name = ReadString(*table, "name", "name");
      const std::string owner = name ? "user '" + *name + "'" : "[[user]]";
      if (!table->contains("name")) Error(user.where, owner + " is missing required key 'name'");
      if (name && name->size() > 80) {
        Error(At(*table->get("name")), "user name must be at most 80 characters");
        name.reset();
      }
      user.host = ReadString(*table, "host", "host").value_or(user.host);
      if (!ReadSecret(*table, "password", "password", &user.password)) {
        Error(user.where, owner + " is missing required key 'password'", kSecretHint);
      }
      ReadGrants(*table, &user);
      if (!name) continue;
      user.name = *name;
      if (auto [it, inserted] = first_line.emplace(std::pair(user.name, user.host), user.where.line); !inserted) {
        Error(At(*table->get("name")), "duplicate user '" + user.name + "'@'" + user.host +
                                           "' (first declared at line " + std::to_string(it->second) + ")");
        continue;
      }
      topology_.users.push_back(std::move(user));
    }
  }

  void ReadGrants(const toml::table& table, UserSpec* user) {
    const toml::node* node = table.get("grants");
    if (node == nullptr) return;
    const toml::array* grants = node->as_array();
    if (grants == nullptr) {
      WrongType(*node, "grants", "an array of strings", "e.g. grants = [\"ALL PRIVILEGES ON app.*\"]");
      return;
    }
    for (size_t i = 0; i < grants->size(); ++i) {
      const toml::node& element = *grants->get(i);
      if (!element.is_string()) {
        WrongType(element, "grants[" + std::to_string(i) + "]", "a string");
        continue;
      }
      const std::string& text = element.as_string()->get();
      Result<GrantSpec> grant = ParseGrant(text);
      if (!grant.ok()) {
        Error(At(element), "invalid grant '" + text + "': " + grant.status().message());
        continue;
      }
      grant->where = At(element);
      user->grants.push_back(std::move(grant).value());
    }
  }

  // ---- [[app]] --------------------------------------------------------------------------------

  void ReadApps(const toml::table& root) {
    std::map<std::string, int> first_line;
    for (const toml::table* table : ReadArrayOfTables(root, "app")) {
      AppSpec app;
      if (!ReadApp(*table, &app)) continue;
      if (auto [it, inserted] = first_line.emplace(app.name, app.where.line); !inserted) {
        Error(app.key_where.at("name"),
              "duplicate app '" + app.name + "' (first declared at line " + std::to_string(it->second) + ")");
        continue;
      }
      topology_.apps.push_back(std::move(app));
    }
  }

  // Returns whether the app has a usable name.
  bool ReadApp(const toml::table& table, AppSpec* app) {
    app->where = At(table);
    for (auto&& [key, value] : table) app->key_where[std::string(key.str())] = At(value);
    RejectUnknownKeys(table, AppKeys(), "[[app]]");

    std::optional<std::string> name = ReadString(table, "name", "name");
    if (name && !IsServerName(*name)) {
      Error(At(*table.get("name")), "app name must be letters, digits, '-', '_' or '.', got '" + *name + "'");
      name.reset();
    }
    const std::string owner = name ? "app '" + *name + "'" : "[[app]]";
    if (!table.contains("name")) Error(app->where, owner + " is missing required key 'name'");
    app->name = name.value_or("");

    // Required rather than defaulted: the kind decides which file on the hosts replplan rewrites.
    if (Require(table, "kind", owner, "kind = \"rails\" (the only kind so far)")) {
      ReadChoice(table, "kind", "kind", {"rails"}, false);  // one kind: nothing to store yet
    }
    if (Require(table, "hosts", owner, "the [[server]] names the app runs on, e.g. hosts = [\"mercury\"]")) {
      ReadAppHosts(table, app);
    }
    if (Require(table, "root", owner, "the application's directory, e.g. root = \"/var/www/secondhand\"")) {
      app->root = ReadAbsolutePath(table, "root", "root").value_or("");
      while (app->root.size() > 1 && app->root.back() == '/') app->root.pop_back();
    }
    if (std::optional<std::string> env = ReadString(table, "environment", "environment")) {
      if (IsEnvironmentName(*env)) {
        app->environment = *env;
      } else {
        Error(At(*table.get("environment")),
              "environment must be letters, digits, '_' or '-' (a section of config/database.yml), got '" + *env +
                  "'");
      }
    }
    if (Require(table, "restart", owner,
                "the shell command, run over SSH on each host, that makes the app reread its database settings, "
                "e.g. restart = \"touch /var/www/secondhand/tmp/restart.txt\"")) {
      app->restart = ReadString(table, "restart", "restart").value_or("");
    }
    if (std::optional<std::string> health = ReadString(table, "health", "health")) {
      if (IsHttpUrl(*health)) {
        app->health = *health;
      } else {
        Error(At(*table.get("health")), "health must be an http:// or https:// URL, got '" + *health + "'",
              "e.g. health = \"http://192.168.178.61:3000/up\"");
      }
    }
    return name.has_value();
  }

  // Servers are read before apps, so every name can be checked against the declared ones here.
  void ReadAppHosts(const toml::table& table, AppSpec* app) {
    const toml::node* node = table.get("hosts");
    const toml::array* hosts = node->as_array();
    if (hosts == nullptr) {
      WrongType(*node, "hosts", "an array of server names", "e.g. hosts = [\"mercury\", \"uranus\"]");
      return;
    }
    if (hosts->empty()) {
      Error(At(*node), "hosts must name at least one server");
      return;
    }
    Keys declared;
    for (const ServerSpec& server : topology_.servers) declared.push_back(server.name);
    for (size_t i = 0; i < hosts->size(); ++i) {
      const toml::node& element = *hosts->get(i);
      const std::string path = "hosts[" + std::to_string(i) + "]";
      if (!element.is_string()) {
        WrongType(element, path, "a string");
        continue;
      }
      const std::string& host = element.as_string()->get();
      if (std::find(declared.begin(), declared.end(), host) == declared.end()) {
        const std::string suggestion = DidYouMeanSuffix(host, declared);
        Error(At(element), "unknown server '" + host + "' in hosts" + suggestion,
              suggestion.empty() && !declared.empty() ? "declared servers: " + Join(declared) : "");
        continue;
      }
      if (std::find(app->hosts.begin(), app->hosts.end(), host) != app->hosts.end()) {
        Error(At(element), "server '" + host + "' is listed twice in hosts");
        continue;
      }
      app->key_where[path] = At(element);
      app->hosts.push_back(host);
    }
  }

  // ---- cross-checks ----------------------------------------------------------------------------

  void CheckPrimary() {
    const std::string& primary = topology_.cluster.primary;
    if (primary.empty() || topology_.servers.empty() || topology_.FindServer(primary) != nullptr) return;
    Keys names;
    for (const ServerSpec& server : topology_.servers) names.push_back(server.name);
    const std::string suggestion = DidYouMeanSuffix(primary, names);
    Error(topology_.cluster.primary_where, "primary '" + primary + "' is not a declared server" + suggestion,
          suggestion.empty() ? "declared servers: " + Join(names) : "");
  }

  // The replication account is created and granted from [replication]; a [[user]] for the same
  // account would give it two sets of grants and two passwords.
  void CheckReplicationAccount() {
    const ReplicationSpec& repl = topology_.replication;
    for (const UserSpec& user : topology_.users) {
      if (user.name == repl.user && user.host == repl.host) {
        Error(user.where, "user '" + user.name + "'@'" + user.host + "' is the replication account",
              "declare it only in [replication]");
      }
    }
  }

  std::string file_;
  Topology topology_;
  SourceLocation errant_where_;  // cluster.errant_transactions, when the file sets it
  std::vector<Diagnostic> errors_;
  SshSettings default_ssh_;
  MysqlSettings default_mysql_;
  bool default_mysql_password_given_ = false;
  std::string default_config_file_ = ServerSpec().config_file;
  std::string default_restart_ = ServerSpec().restart;
  // Where each server name, server_id and (lower-case) address was first declared: servers index.
  std::unordered_map<std::string, size_t> server_by_name_;
  std::unordered_map<uint32_t, size_t> server_by_id_;
  std::unordered_map<std::string, size_t> server_by_address_;
};

}  // namespace

bool IsTopologyAddress(std::string_view s) { return IsAddress(s); }
bool IsTopologyServerName(std::string_view s) { return IsServerName(s); }

TopologyParse ParseTopology(std::string_view toml_text, const std::string& file_name) {
  return TopologyReader(file_name).Read(toml_text);
}

}  // namespace replplan
