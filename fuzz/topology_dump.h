// Every field of a parsed Topology (and the diagnostics) as text, so two parses can be compared
// whole: the model has no operator==. A field added to engine/topology.h belongs here too.
#pragma once

#include <string>

#include "engine/text.h"
#include "engine/topology_parser.h"

namespace replplan::fuzz {

inline std::string Dump(const SourceLocation& w) { return "@" + w.ToString(); }

inline std::string Dump(const SecretRef& s) {
  return "secret(" + std::to_string(static_cast<int>(s.kind)) + "," + s.name + Dump(s.where) + ")";
}

template <typename Map>
std::string DumpWhere(const Map& key_where) {
  std::string out;
  for (const auto& [key, where] : key_where) out += " " + key + Dump(where);
  return out;
}

// `with_primary` false leaves out [cluster] primary (value and place), for comparing a file with
// its SetPrimaryInTopology rewrite.
inline std::string Dump(const Topology& t, bool with_primary = true) {
  std::string out = "file=" + t.file + "\n";
  const ClusterSpec& c = t.cluster;
  out += "cluster name=" + c.name + " flavor=" + ToString(c.flavor) + " lock_file=" + c.lock_file +
         " errant_transactions=" + ToString(c.errant_transactions) + "\n";
  if (with_primary) out += "primary=" + c.primary + Dump(c.primary_where) + "\n";
  const ReplicationSpec& r = t.replication;
  out += "replication user=" + r.user + " host=" + r.host + " password=" + Dump(r.password) +
         " mode=" + ToString(r.mode) + " binlog_format=" + r.binlog_format +
         " semi_sync=" + std::to_string(r.semi_sync) + " semi_sync_timeout_ms=" + std::to_string(r.semi_sync_timeout_ms) +
         " heartbeat_period=" + std::to_string(r.heartbeat_period) +
         " slave_net_timeout=" + std::to_string(r.slave_net_timeout) +
         " switchover_max_lag=" + std::to_string(r.switchover_max_lag) + " far_behind_seconds=" +
         (r.far_behind_seconds ? std::to_string(*r.far_behind_seconds) : std::string("unset")) + "\n";
  const WatchSpec& w = t.watch;
  out += "watch etcd=" + Join(w.etcd, ",") + " prefix=" + w.prefix + " cacert=" + w.etcd_cacert + " cert=" +
         w.etcd_cert + " key=" + w.etcd_key + " lease_ttl_s=" + std::to_string(w.lease_ttl_s) +
         " http=" + w.http + " state_dir=" + w.state_dir + "\n";
  for (const ServerSpec& s : t.servers) {
    out += "server name=" + s.name + " address=" + s.address + " server_id=" + std::to_string(s.server_id) +
           " log_bin=" + s.log_bin + " bind_address=" + s.bind_address + " ssh=" + s.ssh.user + "," +
           std::to_string(s.ssh.port) + "," + s.ssh.identity + "," + s.ssh.known_hosts + "," +
           std::to_string(s.ssh.verify_host_key) + "," + std::to_string(s.ssh.connect_timeout_ms) + "," +
           std::to_string(s.ssh.command_timeout_ms) + " mysql=" + std::to_string(s.mysql.port) + "," +
           s.mysql.user + "," + Dump(s.mysql.password) + "," + std::to_string(s.mysql.connect_timeout_ms) +
           " config_file=" + s.config_file + " restart=" + s.restart + " promotion=" + ToString(s.promotion) +
           Dump(s.where) + DumpWhere(s.key_where) + "\n";
  }
  for (const DatabaseSpec& d : t.databases) {
    out += "database name=" + d.name + " charset=" + d.charset + " collation=" + d.collation + Dump(d.where) + "\n";
  }
  for (const UserSpec& u : t.users) {
    out += "user name=" + u.name + " host=" + u.host + " password=" + Dump(u.password) + Dump(u.where) + "\n";
    for (const GrantSpec& g : u.grants) {
      out += "  grant";
      for (const std::string& p : g.privileges) out += " " + p;
      out += " on=" + g.database + "." + g.table + " text=" + g.text + Dump(g.where) + "\n";
    }
  }
  for (const AppSpec& a : t.apps) {
    out += "app name=" + a.name + " kind=" + ToString(a.kind) + " root=" + a.root + " environment=" +
           a.environment + " restart=" + a.restart + " health=" + a.health + Dump(a.where) + DumpWhere(a.key_where) +
           " hosts=";
    for (const std::string& h : a.hosts) out += h + ",";
    out += "\n";
  }
  return out;
}

inline std::string Dump(const TopologyParse& parse, bool with_primary = true) {
  std::string out;
  for (const Diagnostic& d : parse.errors) out += "error " + d.ToString() + "\n";
  if (parse.ok()) out += Dump(parse.topology, with_primary);
  return out;
}

}  // namespace replplan::fuzz
