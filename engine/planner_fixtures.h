// Hand-built topologies and live states for the planner and render tests: the lab cluster
// (mercury, uranus, venus, ... on 127.0.0.6x) as the lab's lab.toml describes it, and hosts as a
// fresh Debian install or as a cluster already in sync. Test-only; no I/O.
#pragma once

#include <string>
#include <vector>

#include "engine/desired_config.h"
#include "engine/live_state.h"
#include "engine/plan.h"
#include "engine/topology.h"

namespace replplan::testing {

inline const std::vector<std::pair<std::string, std::string>>& LabHosts() {
  static const std::vector<std::pair<std::string, std::string>> hosts = {
      {"mercury", "127.0.0.61"}, {"uranus", "127.0.0.66"},  {"venus", "127.0.0.67"},
      {"mars", "127.0.0.68"},    {"jupiter", "127.0.0.69"}, {"saturn", "127.0.0.70"}};
  return hosts;
}

inline ServerSpec LabServer(const std::string& name, const std::string& address, uint32_t id) {
  ServerSpec s;
  s.name = name;
  s.address = address;
  s.bind_address = address;
  s.server_id = id;
  s.log_bin = "/LAB/hosts/" + name + "/binlog/mysql-bin.log";
  s.config_file = "/LAB/hosts/" + name + "/my.cnf";
  s.restart = "REPLPLAN_LAB_DIR=/LAB bash /REPO/tests/lab/lab.sh restart " + name;
  s.ssh.port = 2222;
  s.mysql.port = 3306;
  s.mysql.user = "admin";
  return s;
}

inline Topology LabTopology(size_t servers) {
  Topology t;
  t.file = "lab.toml";
  t.cluster.name = "lab";
  t.cluster.primary = "mercury";
  t.replication.user = "repl";
  t.replication.host = "%";
  t.replication.password = {SecretRef::Kind::kFile, "/LAB/secrets/repl.pw", {}};
  for (size_t i = 0; i < servers; ++i) {
    t.servers.push_back(LabServer(LabHosts()[i].first, LabHosts()[i].second, static_cast<uint32_t>(i + 1)));
  }
  t.databases.push_back({"secondhand_production", "utf8mb4", "", {}});
  UserSpec pierre;
  pierre.name = "pierre";
  pierre.password = {SecretRef::Kind::kFile, "/LAB/secrets/app.pw", {}};
  GrantSpec all;
  all.privileges = {"ALL PRIVILEGES"};
  all.database = "secondhand_production";
  all.table = "*";
  all.text = "ALL PRIVILEGES ON `secondhand_production`.*";
  pierre.grants.push_back(all);
  t.users.push_back(pierre);
  return t;
}

// A new Debian install: bind-address only, server_id 1, no binlog, MariaDB 10.11 defaults.
inline ServerState FreshHost(const ServerSpec& spec) {
  ServerState s;
  s.name = spec.name;
  s.sql_ok = true;
  s.version = "10.11.6-MariaDB-0+deb12u1-log";
  s.server_id = 1;
  s.log_bin = false;
  s.binlog_format = "MIXED";
  s.bind_address = spec.address;
  s.read_only = false;
  s.log_slave_updates = false;
  s.gtid_strict_mode = false;
  s.users = {{"admin", "%", "mysql_native_password",
              {"GRANT ALL PRIVILEGES ON *.* TO `admin`@`%` IDENTIFIED BY PASSWORD '(sensitive)' WITH GRANT OPTION"}},
             {"root", "localhost", "unix_socket", {"GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"}},
             {"mariadb.sys", "localhost", "mysql_native_password", {"GRANT USAGE ON *.* TO `mariadb.sys`@`localhost`"}}};
  s.ssh_ok = true;
  s.config_exists = true;
  s.config = {{"bind_address", spec.address}, {"user", "root"}, {"datadir", "/LAB/hosts/" + spec.name + "/data"}};
  s.datadir = "/LAB/hosts/" + spec.name + "/data/";  // as @@datadir prints it
  return s;
}

inline ReplicaChannel HealthyChannel(const ServerSpec& primary) {
  ReplicaChannel c;
  c.source_host = primary.address;
  c.source_port = primary.mysql.port;
  c.source_user = "repl";
  c.io_running = "Yes";
  c.sql_running = true;
  c.using_gtid = "Slave_Pos";
  c.seconds_behind = 0;
  c.gtid_io_pos = "0-1-42";
  return c;
}

// A server exactly as `topology` wants it, replicating when it is not the primary.
inline ServerState InSyncHost(const Topology& t, const ServerSpec& spec) {
  ServerState s = FreshHost(spec);
  bool primary = spec.name == t.cluster.primary;
  for (const ConfigSetting& c : DesiredConfig(t, spec)) s.config[c.key] = c.value;
  s.server_id = spec.server_id;
  s.log_bin = true;
  s.log_bin_basename = WantedBinlogBasename(spec.log_bin, s.datadir);
  s.binlog_format = "ROW";
  s.read_only = !primary;
  s.log_slave_updates = true;
  s.gtid_strict_mode = true;
  s.report_host = spec.name;
  s.gtid_binlog_pos = "0-1-42";
  s.gtid_current_pos = "0-1-42";
  s.databases = {{"secondhand_production", "utf8mb4", "utf8mb4_general_ci"}};
  s.users.push_back({"repl", "%", "mysql_native_password", {"GRANT REPLICATION SLAVE ON *.* TO `repl`@`%`"}});
  s.users.push_back({"pierre", "%", "mysql_native_password",
                     {"GRANT USAGE ON *.* TO `pierre`@`%`",
                      "GRANT ALL PRIVILEGES ON `secondhand_production`.* TO `pierre`@`%`"}});
  if (!primary) {
    for (const ServerSpec& p : t.servers) {
      if (p.name == t.cluster.primary) s.channels.push_back(HealthyChannel(p));
    }
    s.gtid_slave_pos = "0-1-42";
  }
  return s;
}

// The plan's action ids in plan order.
inline std::vector<std::string> ActionIds(const Plan& plan) {
  std::vector<std::string> ids;
  for (const auto& pa : plan.actions) ids.push_back(pa.action.id);
  return ids;
}

inline LiveState FreshLive(const Topology& t) {
  LiveState live;
  for (const ServerSpec& spec : t.servers) live.servers[spec.name] = FreshHost(spec);
  return live;
}

inline LiveState InSyncLive(const Topology& t) {
  LiveState live;
  for (const ServerSpec& spec : t.servers) live.servers[spec.name] = InSyncHost(t, spec);
  return live;
}

// Scale: a synthetic cluster of n servers (db0 the primary, the others fresh replicas, addresses
// in 10.0.0.0/8, never contacted: everything stays in memory). bench/planner_bench and the planner's
// complexity guard (planner_scale_test.cc) plan it.
inline Topology SyntheticTopology(size_t n) {
  Topology t;
  t.file = "synthetic.toml";
  t.cluster.name = "bench";
  for (size_t i = 0; i < n; ++i) {
    ServerSpec s;
    s.name = "db" + std::to_string(i);
    s.address = "10." + std::to_string(i / 65536) + "." + std::to_string((i / 256) % 256) + "." + std::to_string(i % 256);
    s.bind_address = s.address;
    s.server_id = static_cast<uint32_t>(i + 1);
    s.log_bin = "/var/log/mysql/mysql-bin.log";
    t.servers.push_back(std::move(s));
  }
  t.cluster.primary = t.servers.front().name;
  t.databases.push_back({"app", "utf8mb4", "", {}});
  UserSpec app;
  app.name = "app";
  GrantSpec all;
  all.privileges = {"ALL PRIVILEGES"};
  all.database = "app";
  all.table = "*";
  all.text = "ALL PRIVILEGES ON `app`.*";
  app.grants.push_back(all);
  t.users.push_back(app);
  return t;
}

// Every server of a SyntheticTopology as a fresh install answers.
inline LiveState SyntheticFreshLive(const Topology& t) {
  LiveState live;
  for (const ServerSpec& spec : t.servers) {
    ServerState s;
    s.name = spec.name;
    s.sql_ok = true;
    s.server_id = 1;
    s.log_bin = false;
    s.binlog_format = "MIXED";
    s.bind_address = spec.address;
    s.read_only = false;
    s.log_slave_updates = false;
    s.gtid_strict_mode = false;
    s.users = {{"root", "localhost", "unix_socket", {"GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost`"}}};
    s.ssh_ok = true;
    s.config_exists = true;
    s.config = {{"bind_address", spec.address}};
    live.servers.emplace(spec.name, std::move(s));
  }
  return live;
}

// The file with the app "secondhand" (Rails) on `hosts`, checked at `health` ("" for none).
inline Topology WithApp(Topology t, const std::vector<std::string>& hosts, const std::string& health) {
  AppSpec app;
  app.name = "secondhand";
  app.hosts = hosts;
  app.root = "/var/www/secondhand";
  app.restart = "touch /var/www/secondhand/tmp/restart.txt";
  app.health = health;
  t.apps.push_back(app);
  return t;
}

// `host` has the app's database.yml, read, with `text`.
inline void GiveApp(LiveState& live, const std::string& host, const std::string& text) {
  LiveAppConfig c;
  c.app = "secondhand";
  c.path = "/var/www/secondhand/config/database.yml";
  c.read_ok = true;
  c.exists = true;
  c.text = text;
  live.servers[host].app_configs.push_back(c);
}

// `host` refuses SQL (2003) while SSH answers and its process was checked: mariadbd runs
// (listening-elsewhere) or not (server-down).
inline void RefusesSql(LiveState& live, const std::string& host, bool mariadbd_running) {
  ServerState& s = live.servers[host];
  s.sql_ok = false;
  s.sql_errno = 2003;
  s.sql_error = "Can't connect to server on '127.0.0.66' (111)";
  s.process.probed = true;
  s.process.running = mariadbd_running;
}

// `host`'s default channel, file/position, both threads stopped (the error is the caller's).
inline ReplicaChannel& StoppedFileChannel(LiveState& live, const std::string& host) {
  ReplicaChannel& c = live.servers[host].channels.at(0);
  c.using_gtid = "No";
  c.io_running = "No";
  c.sql_running = false;
  return c;
}

// Every server runs MariaDB's defaults of the failover settings: no semi-sync, AFTER_COMMIT.
inline void RunFailoverDefaults(LiveState& live) {
  for (auto& [name, s] : live.servers) {
    s.slave_net_timeout = 60;
    s.semi_sync_master_enabled = false;
    s.semi_sync_slave_enabled = false;
    s.semi_sync_master_wait_point = "AFTER_COMMIT";
    s.semi_sync_master_timeout = 10000;
  }
}

}  // namespace replplan::testing
