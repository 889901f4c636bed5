// Every key a topology file may hold, per table: the parser rejects anything else (a typo or a
// misunderstanding deserves an error rather than silence, because an ignored key is a setting the
// reviewer believes in), and topology_keys_test checks that schemas/topology.schema.json names
// exactly these keys for the same tables. Adding a key means adding it here, in the parser's
// reading code and in the schema; the test fails until all three agree.
#pragma once

#include <string>
#include <vector>

namespace replplan::topology_keys {

using Keys = std::vector<std::string>;

inline const Keys& TopLevelKeys() {
  static const Keys keys = {"cluster", "replication", "defaults", "server", "database", "user", "app", "watch"};
  return keys;
}
inline const Keys& WatchKeys() {
  static const Keys keys = {"etcd", "prefix", "etcd_cacert", "etcd_cert", "etcd_key", "lease_ttl_s", "http", "state_dir"};
  return keys;
}
inline const Keys& ClusterKeys() {
  static const Keys keys = {"name", "flavor", "primary", "epoch", "lock_file", "errant_transactions", "on_data_error",
                            "restart_catch_up_timeout", "on_next_restart", "primary_restart"};
  return keys;
}
inline const Keys& ReplicationKeys() {
  static const Keys keys = {"user",
                            "host",
                            "password",
                            "mode",
                            "binlog_format",
                            "semi_sync",
                            "semi_sync_timeout_ms",
                            "heartbeat_period",
                            "slave_net_timeout",
                            "switchover_max_lag",
                            "far_behind_seconds"};
  return keys;
}
inline const Keys& DefaultsKeys() {
  static const Keys keys = {"ssh", "mysql", "config_file", "restart"};
  return keys;
}
// [defaults.ssh] and a server's ssh = { ... }.
inline const Keys& SshKeys() {
  static const Keys keys = {"user", "port", "identity", "known_hosts", "verify_host_key", "connect_timeout_ms"};
  return keys;
}
// [defaults.mysql] and a server's mysql = { ... }.
inline const Keys& MysqlKeys() {
  static const Keys keys = {"port", "user", "password", "connect_timeout_ms"};
  return keys;
}
inline const Keys& ServerKeys() {
  static const Keys keys = {"name", "address", "server_id",   "log_bin", "bind_address",
                            "ssh",  "mysql",   "config_file", "restart", "promotion"};
  return keys;
}
inline const Keys& DatabaseKeys() {
  static const Keys keys = {"name", "charset", "collation"};
  return keys;
}
inline const Keys& UserKeys() {
  static const Keys keys = {"name", "host", "password", "grants"};
  return keys;
}
inline const Keys& AppKeys() {
  static const Keys keys = {"name", "kind", "hosts", "root", "environment", "restart", "health"};
  return keys;
}
// A secret reference: password = { env = "NAME" } or { file = "/path" } (exactly one of them).
inline const Keys& SecretKeys() {
  static const Keys keys = {"env", "file"};
  return keys;
}

}  // namespace replplan::topology_keys
