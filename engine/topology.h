// The topology: what the reviewed TOML file says the cluster must be. Parsed and validated by
// ParseTopology (engine/topology_parser.h); everything here is plain data.
//
// Invariants after a successful parse: server names and addresses are unique, server_ids are
// unique and in 1..4294967295, `cluster.primary` names a server, every SecretRef is env or file,
// every [defaults] value has been applied to servers that did not override it, app names are
// unique and every app host names a server.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/secret.h"
#include "engine/source_location.h"

namespace replplan {

enum class Flavor { kMariaDB, kMySQL };
enum class ReplicationMode { kGtid, kFile };
// Whether a server may be chosen as the new primary at failover (used from the failover issue on).
enum class Promotion { kNormal, kPrefer, kNever };

const char* ToString(Flavor f);           // "mariadb" / "mysql"
const char* ToString(ReplicationMode m);  // "gtid" / "file"
const char* ToString(Promotion p);        // "normal" / "prefer" / "never"

struct SshSettings {
  std::string user = "root";
  int port = 22;
  std::string identity = "~/.ssh/id_ed25519";        // private key path on the machine running replplan
  std::string known_hosts = "~/.ssh/known_hosts";
  bool verify_host_key = true;  // `verify_host_key = false` only if the file says so explicitly
  int connect_timeout_ms = 5000;
  // Not in the file: the bound of each command. A failover lowers it for the old primary, which
  // may be frozen (a session to it stays open, and a command on it would wait for ever).
  int command_timeout_ms = 30000;
};

struct MysqlSettings {
  int port = 3306;
  std::string user = "root";
  SecretRef password;
  int connect_timeout_ms = 5000;
};

enum class ErrantRemedy { kRefuse, kInjectEmpty, kReseed };
const char* ToString(ErrantRemedy remedy);  // "refuse", "inject-empty", "reseed"
// What a replica whose SQL thread stopped on a row event error (1032, 1062: its data differs from
// its source's) is planned: a reseed (DESTRUCTIVE, the default: it makes the replica equal the
// primary again), or skipping that one transaction (under GTID only), which leaves the replica
// differing from the primary for that row. [cluster] on_data_error; docs/conditions.md says why.
enum class DataErrorRemedy { kReseed, kSkip };

struct ClusterSpec {
  std::string name;
  Flavor flavor = Flavor::kMariaDB;
  std::string primary;
  SourceLocation primary_where;
  // The failover epoch the file was written at (engine/cluster_epoch.h): rewritten with `primary`
  // by every promotion replplan makes. 0 when the file records none.
  int64_t epoch = 0;
  // Held (flock, over SSH on the primary) for the whole of an apply, so two applies of one cluster
  // never interleave. Default: /run/replplan/<name>.lock, in a directory only root may write
  // (providers/cluster_lock.cc refuses any other kind).
  std::string lock_file;
  // What the plan does about errant transactions (a replica holding GTIDs the primary lacks,
  // docs/conditions.md): refuse (name them, explain the remedies, plan nothing that would collide,
  // and leave the plan incomplete), inject-empty (an empty transaction per errant GTID on the
  // primary, so its position contains the replica's) or reseed (DESTRUCTIVE: the replica's data
  // replaced by the primary's). GTID replication only.
  ErrantRemedy errant_transactions = ErrantRemedy::kRefuse;
  DataErrorRemedy on_data_error = DataErrorRemedy::kReseed;
  // Rolling restarts (engine/planner/ordering.cc): after a replica's restart, apply waits until it
  // replicates again and has applied what its source had then, at most this many seconds; past it,
  // apply stops with an error and the restarts after it are not started.
  int restart_catch_up_timeout = 300;
  // Static settings that may wait for the server's next restart: written to config_file, no
  // restart planned for them alone ("applies at next restart"). Only settings no failover depends
  // on (DeferrableRestartSettings); empty: every static change restarts its server.
  std::vector<std::string> on_next_restart;
  // After a serving primary's rolling restart (a switchover to a replica, the restart, and back):
  // true, "switch-back", it is the primary again and the file stays as it was; false, "stay", the
  // replica stays the primary and the file is rewritten to name it.
  bool primary_restart_switch_back = true;
  bool DefersRestartFor(const std::string& setting) const;
};

// The static settings [cluster] on_next_restart may name: the ones a failover never reads
// (report_host only names the server in SHOW SLAVE HOSTS). log_bin, log_slave_updates and
// bind_address are what a promoted replica and its followers depend on.
const std::vector<std::string>& DeferrableRestartSettings();

struct ReplicationSpec {
  std::string user = "repl";
  std::string host = "%";  // host part of the replication account
  SecretRef password;
  ReplicationMode mode = ReplicationMode::kGtid;
  std::string binlog_format = "ROW";  // ROW, MIXED or STATEMENT (upper case after parsing)
  // Semi-synchronous replication (built into MariaDB 10.3+): a commit is acknowledged to the client
  // only once a replica has received it (wait point AFTER_SYNC), so a failover to the most advanced
  // replica loses no acknowledged write. After semi_sync_timeout_ms without an ACK the primary
  // falls back to asynchronous replication (MariaDB's rpl_semi_sync_master_timeout).
  bool semi_sync = false;
  int semi_sync_timeout_ms = 10000;
  // Replicas notice a silent source within slave_net_timeout seconds; the source sends a heartbeat
  // every heartbeat_period seconds when it has nothing else to send (must be below the timeout).
  double heartbeat_period = 1.0;
  int slave_net_timeout = 5;
  // A switchover is refused while the candidate is further behind than this (Seconds_Behind_Master),
  // and its catch-up wait after the fence is bounded by it (the old primary is read-only meanwhile).
  int switchover_max_lag = 10;
  // A running replica further behind than this (Seconds_Behind_Master) is `far-behind`
  // (engine/conditions.h); nullopt: the file sets none and kFarBehindDefaultSeconds applies.
  std::optional<int> far_behind_seconds;
};

struct ServerSpec {
  std::string name;
  std::string address;       // where replplan and the replicas reach it (MySQL and SSH)
  uint32_t server_id = 0;
  std::string log_bin;       // binlog base path, e.g. /var/log/mysql/mysql-bin.log
  std::string bind_address;  // defaults to `address`
  SshSettings ssh;
  MysqlSettings mysql;
  std::string config_file = "/etc/mysql/my.cnf";
  std::string restart = "service mysql restart";  // run over SSH as written, nothing substituted
  Promotion promotion = Promotion::kNormal;
  SourceLocation where;  // the [[server]] header
  // Where each key written in this [[server]] sits ("server_id", "ssh.port", ...), so later stages
  // can point at the line that caused a problem. Inherited [defaults] values have no entry.
  std::map<std::string, SourceLocation> key_where;
};

// "ALL PRIVILEGES ON secondhand_production.*" parsed.
struct GrantSpec {
  std::vector<std::string> privileges;  // upper case, e.g. {"SELECT", "INSERT"} or {"ALL PRIVILEGES"}
  std::string database;                 // "*" for all
  std::string table;                    // "*" for all
  std::string text;                     // as written, normalized: "ALL PRIVILEGES ON `db`.*"
  SourceLocation where;
};

struct DatabaseSpec {
  std::string name;
  std::string charset = "utf8mb4";
  std::string collation;  // empty: the charset's default
  SourceLocation where;
};

struct UserSpec {
  std::string name;
  std::string host = "%";
  SecretRef password;
  std::vector<GrantSpec> grants;
  SourceLocation where;
};

// What kind of application an [[app]] is: how replplan finds and rewrites its database settings.
enum class AppKind { kRails };  // config/database.yml below `root` (engine/database_yml.h)

inline const char* ToString(AppKind k) {
  switch (k) {
    case AppKind::kRails: return "rails";
  }
  return "unknown";
}

// An application that must follow the primary: on a switchover or failover replplan rewrites its
// database settings on every host it runs on and restarts it there.
struct AppSpec {
  std::string name;
  AppKind kind = AppKind::kRails;
  std::vector<std::string> hosts;  // names of declared [[server]]s, reached over their SSH settings
  std::string root;                // absolute; a Rails app's config/database.yml is below it
  std::string environment = "production";
  std::string restart;             // shell command run over SSH on each host after the rewrite
  std::string health;              // http:// or https:// URL checked after the restart; "" = none
  SourceLocation where;            // the [[app]] header
  std::map<std::string, SourceLocation> key_where;  // as ServerSpec::key_where; "hosts[1]" for elements

  std::string DatabaseYmlPath() const { return root + "/config/database.yml"; }
  // Where restart-app records which database.yml the app was last restarted with.
  std::string RestartMarkerPath() const { return DatabaseYmlPath() + ".replplan.restarted"; }
};

// [watch]: several `replplan watch` on etcd (ops/coordination.h), so the watcher is no single point of
// failure. No etcd endpoints: each watch runs alone. watch's --etcd* flags override these. And
// where a watcher serves its metrics and keeps its state.
struct WatchSpec {
  std::vector<std::string> etcd;  // "http://10.0.0.5:2379", "https://etcd1:2379"
  std::string prefix;             // "" = /replplan/<cluster name>/
  std::string etcd_cacert, etcd_cert, etcd_key;  // local paths (TLS)
  int lease_ttl_s = 2;
  // The service side (docs/watch-service.md), with or without etcd; watch's --http and --state-dir win.
  std::string http;       // "HOST:PORT" serving /metrics and /health; "" = none
  std::string state_dir;  // absolute: the local pause record and any state; "" = beside the file
};

struct Topology {
  std::string file;  // path the topology was read from, for messages
  ClusterSpec cluster;
  ReplicationSpec replication;
  WatchSpec watch;
  std::vector<ServerSpec> servers;  // in file order
  std::vector<DatabaseSpec> databases;
  std::vector<UserSpec> users;
  std::vector<AppSpec> apps;  // in file order; names unique, hosts declared servers

  const ServerSpec* FindServer(const std::string& name) const;
  const ServerSpec& Primary() const;  // precondition: validated topology
  bool IsPrimary(const std::string& name) const { return name == cluster.primary; }
};

}  // namespace replplan
