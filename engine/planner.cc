// The planner: for each server, what differs between the topology and the live state, as actions
// with reasons in the operator's words, then the "must happen before" edges between them.
//
// Built in two passes so dependencies can point at any host whatever the file order: pass one adds
// every action (hosts in file order, so the stable execution order follows the file), pass two
// links them by id. An action that would wait for an action of an unreadable host simply finds no
// such action and does not wait: nothing is planned on what could not be read.
#include "engine/planner.h"
#include "engine/text.h"

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "engine/desired_config.h"
#include "engine/fingerprint.h"
#include "engine/grant_check.h"

namespace replplan {
namespace {

constexpr int kErrBinlogGone = 1236;
constexpr int kErrAccessDenied = 1045;
constexpr int kErrConnLocal = 2002;
constexpr int kErrConnRefused = 2003;

std::string Account(const std::string& user, const std::string& host) { return "'" + user + "'@'" + host + "'"; }

std::string Join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

std::string OnOff(const std::optional<bool>& b) { return !b ? "(unknown)" : *b ? "ON" : "OFF"; }
std::string OrEmpty(const std::string& s) { return s.empty() ? "(empty)" : s; }

const char* FlavorName(Flavor f) { return f == Flavor::kMariaDB ? "mariadb" : "mysql"; }
const char* ModeName(ReplicationMode m) { return m == ReplicationMode::kGtid ? "gtid" : "file"; }

// One static setting whose running value differs from the desired one.
struct RuntimeDiff {
  std::string key;
  std::string is;     // running value, for messages
  std::string wants;  // desired value, for messages
  bool running_without = false;  // OFF / empty: "runs without it"
};

// Static settings (log_bin, bind_address, log_slave_updates, report_host) need a restart; the others
// are set at runtime with SET GLOBAL (PlanRuntime).
std::vector<RuntimeDiff> StaticDiffs(const ServerSpec& spec, const ServerState& s,
                                     const std::vector<ConfigSetting>& desired) {
  std::vector<RuntimeDiff> out;
  std::string want_basename = BinlogBasename(spec.log_bin);
  if (s.log_bin != true) {
    out.push_back({"log_bin", OnOff(s.log_bin), spec.log_bin, true});
  } else if (s.log_bin_basename != want_basename) {
    out.push_back({"log_bin_basename", OrEmpty(s.log_bin_basename), want_basename, false});
  }
  for (const ConfigSetting& c : desired) {
    if (c.key == "bind_address" && s.bind_address != c.value) {
      out.push_back({c.key, OrEmpty(s.bind_address), c.value, s.bind_address.empty()});
    }
  }
  if (s.log_slave_updates != true) {
    out.push_back({"log_slave_updates", OnOff(s.log_slave_updates), "ON", true});
  }
  if (s.report_host != spec.name) {
    out.push_back({"report_host", OrEmpty(s.report_host), spec.name, s.report_host.empty()});
  }
  return out;
}

// The config key behind a runtime difference (log_bin_basename comes from log_bin).
std::string ConfigKeyOf(const RuntimeDiff& d) { return d.key == "log_bin_basename" ? "log_bin" : d.key; }

struct Planned {
  ActionGraph graph;
  std::vector<HostReport> hosts;
};

class PlanBuilder {
 public:
  PlanBuilder(const Topology& topology, const LiveState& live, const PlanOptions& options)
      : topo_(topology), live_(live), options_(options) {
    for (const ServerSpec& s : topo_.servers) {
      if (s.name == topo_.cluster.primary) primary_ = &s;
    }
  }

  Result<Planned> Build() {
    if (primary_ == nullptr) {
      return Status::InvalidArgument("primary '" + topo_.cluster.primary + "' is not a server of the topology");
    }
    for (const ServerSpec& spec : topo_.servers) PlanHost(spec);
    for (const ServerSpec& spec : topo_.servers) LinkHost(spec, by_host_.at(spec.name));
    return Planned{std::move(graph_), std::move(hosts_)};
  }

 private:
  static std::string Id(const std::string& host, ActionKind kind, const std::string& object = "") {
    std::string id = host + "/" + ToString(kind);
    return object.empty() ? id : id + "/" + object;
  }

  Action& NewAction(const std::string& host, ActionKind kind, const std::string& object = "") {
    Action a;
    a.id = Id(host, kind, object);
    a.kind = kind;
    a.host = host;
    pending_.push_back(std::move(a));
    return pending_.back();
  }
  // Adds the host's actions to the graph and remembers where each landed, so linking needs no id
  // lookups (a 10,000-server plan links ~150,000 edges).
  void Flush(const std::string& host) {
    HostActions& slots = by_host_[host];
    std::string repl_grant = Id(host, ActionKind::kGrantPrivileges, ReplAccountObject());
    for (Action& a : pending_) {
      ActionKind kind = a.kind;
      bool is_repl_grant = kind == ActionKind::kGrantPrivileges && a.id == repl_grant;
      size_t index = graph_.Add(std::move(a));
      switch (kind) {
        case ActionKind::kEditConfig: slots.edit = index; break;
        case ActionKind::kRestartServer: slots.restart = index; break;
        case ActionKind::kSetGlobal: slots.set_global = index; break;
        case ActionKind::kCreateReplicationUser: slots.repl_user = index; break;
        case ActionKind::kResetReplica: slots.resets.push_back(index); break;
        case ActionKind::kSeedReplica: slots.seed = index; break;
        case ActionKind::kChangeSource: slots.change = index; break;
        case ActionKind::kStartReplica: slots.start = index; break;
        case ActionKind::kGrantPrivileges:
          if (is_repl_grant) {
            slots.repl_grant = index;
            break;
          }
          [[fallthrough]];
        case ActionKind::kCreateDatabase:
        case ActionKind::kCreateUser: slots.objects.push_back(index); break;
        case ActionKind::kFencePrimary:
        case ActionKind::kWaitForCatchUp:
        case ActionKind::kApplyRelayLog:
        case ActionKind::kPromoteReplica:
        case ActionKind::kRewriteAppConfig:
        case ActionKind::kRestartApp:
        case ActionKind::kCheckHealth: break;
      }
    }
    pending_.clear();
  }

  std::string ReplAccountObject() const { return topo_.replication.user + "@" + topo_.replication.host; }

  // `after` waits for each of `before` that exists in the plan (kNone: not planned).
  void Depend(size_t after, std::initializer_list<size_t> before) {
    if (after == kNone) return;
    for (size_t b : before) {
      if (b != kNone) graph_.AddDependency(b, after);
    }
  }
  void Depend(size_t after, const std::vector<size_t>& before) {
    if (after == kNone) return;
    for (size_t b : before) graph_.AddDependency(b, after);
  }

  const ServerState* StateOf(const std::string& name) const {
    auto it = live_.servers.find(name);
    return it == live_.servers.end() ? nullptr : &it->second;
  }

  void PlanHost(const ServerSpec& spec);
  void PlanConfig(const ServerSpec& spec, const ServerState& s, HostReport& report);
  void PlanRuntime(const ServerSpec& spec, const ServerState& s, bool restart_planned);
  void PlanReplicationUser(const ServerSpec& spec, const ServerState& s);
  void PlanPrimaryObjects(const ServerSpec& spec, const ServerState& s, HostReport& report);
  void PlanReplica(const ServerSpec& spec, const ServerState& s, HostReport& report);
  void AddSeed(const ServerSpec& spec, const ServerState& s, std::vector<std::string> reasons, bool destructive);
  void AddChangeSource(const ServerSpec& spec, const ServerState& s, const ReplicaChannel* channel,
                       std::vector<std::string> reasons, bool seeded);
  void AddStart(const ServerSpec& spec, std::vector<std::string> reasons);
  static constexpr size_t kNone = static_cast<size_t>(-1);
  // Where each of a host's actions sits in the graph.
  struct HostActions {
    size_t edit = kNone, restart = kNone, set_global = kNone, repl_user = kNone, repl_grant = kNone;
    size_t seed = kNone, change = kNone, start = kNone;
    std::vector<size_t> resets;
    std::vector<size_t> objects;  // create-database, create-user, grant-privileges of [[user]]s
  };
  void LinkHost(const ServerSpec& spec, const HostActions& mine);

  const Topology& topo_;
  const LiveState& live_;
  const PlanOptions& options_;
  const ServerSpec* primary_ = nullptr;
  ActionGraph graph_;
  std::vector<Action> pending_;  // this host's actions, added to the graph in a fixed order
  std::vector<HostReport> hosts_;
  std::unordered_map<std::string, HostActions> by_host_;
  bool restart_planned_ = false;
};

void PlanBuilder::PlanHost(const ServerSpec& spec) {
  HostReport report;
  report.name = spec.name;
  report.address = spec.address;
  report.role = topo_.IsPrimary(spec.name) ? "primary" : "replica";
  const ServerState* s = StateOf(spec.name);
  if (s == nullptr) {
    report.sql_error = "not read";
    report.ssh_error = "not read";
    by_host_[spec.name];
    hosts_.push_back(std::move(report));
    return;
  }
  report.sql_ok = s->sql_ok;
  report.sql_error = s->sql_ok ? "" : s->sql_error;
  report.ssh_ok = s->ssh_ok;
  report.ssh_error = s->ssh_ok ? "" : s->ssh_error;

  restart_planned_ = false;
  PlanConfig(spec, *s, report);
  if (s->sql_ok) {
    PlanRuntime(spec, *s, restart_planned_);
    PlanReplicationUser(spec, *s);
    if (topo_.IsPrimary(spec.name)) {
      PlanPrimaryObjects(spec, *s, report);
    } else {
      PlanReplica(spec, *s, report);
    }
  } else {
    report.notes.push_back("runtime unknown: no restart, SQL or replication change is planned for " +
                           spec.name + " until it can be read");
  }
  Flush(spec.name);
  hosts_.push_back(std::move(report));
}

// edit-config for every managed key that differs, and restart-server when a static setting runs
// with another value than the one wanted (whether or not the file must change first).
void PlanBuilder::PlanConfig(const ServerSpec& spec, const ServerState& s, HostReport& report) {
  std::vector<ConfigSetting> desired = DesiredConfig(topo_, spec);
  std::vector<std::string> lacking;
  std::vector<std::string> already_right;
  Action edit;
  for (const ConfigSetting& c : desired) {
    auto it = s.config.find(c.key);
    if (s.config_exists && it != s.config.end() && ConfigValueMatches(c, it->second)) {
      already_right.push_back(c.key);
      continue;
    }
    if (!s.config_exists || it == s.config.end()) {
      lacking.push_back(c.key);
      edit.changes.push_back({c.key, "", c.value, false});
    } else {
      std::string from = it->second.empty() ? "(bare key)" : it->second;
      edit.changes.push_back({c.key, from, c.value, false});
      edit.reasons.push_back("config_file has " + c.key + " = " + from + ", file wants " + c.value);
    }
  }
  if (s.ssh_ok && !edit.changes.empty()) {
    if (!s.config_exists) {
      edit.reasons.insert(edit.reasons.begin(), "config_file " + spec.config_file + " does not exist");
    } else if (!lacking.empty()) {
      edit.reasons.insert(edit.reasons.begin(), "config_file lacks " + Join(lacking, ", "));
    }
    Action& a = NewAction(spec.name, ActionKind::kEditConfig);
    a.summary = "set " + std::to_string(edit.changes.size()) + (edit.changes.size() == 1 ? " key" : " keys") +
                " in " + spec.config_file;
    a.changes = std::move(edit.changes);
    a.reasons = std::move(edit.reasons);
    a.params = {{"config_file", spec.config_file}, {"section", "mysqld"}};
  }
  if (!s.ssh_ok) report.notes.push_back("config_file unknown: " + s.ssh_error);
  if (!s.sql_ok) return;

  std::vector<RuntimeDiff> diffs = StaticDiffs(spec, s, desired);
  if (diffs.empty()) return;
  std::vector<std::string> keys;
  std::vector<std::string> reasons;
  for (const RuntimeDiff& d : diffs) {
    std::string config_key = ConfigKeyOf(d);
    if (std::find(keys.begin(), keys.end(), config_key) == keys.end()) keys.push_back(config_key);
    bool pending = s.ssh_ok && std::find(already_right.begin(), already_right.end(), config_key) != already_right.end();
    if (pending) {
      auto it = s.config.find(config_key);
      reasons.push_back("config_file has " + config_key + "=" + (it->second.empty() ? "ON" : it->second) +
                        " but the server runs " + (d.running_without ? "without it" : "with " + d.key + "=" + d.is) +
                        " (restart pending)");
    } else {
      reasons.push_back(d.key + " is " + d.is + ", file wants " + d.wants);
    }
  }
  if (!s.ssh_ok) {
    report.notes.push_back("a restart is needed to apply " + Join(keys, ", ") + " (" + Join(reasons, "; ") +
                           ") but cannot be planned while config_file is unknown");
    return;
  }
  Action& a = NewAction(spec.name, ActionKind::kRestartServer);
  a.summary = "restart " + spec.name + " to apply " + Join(keys, ", ");
  a.reasons = std::move(reasons);
  a.params = {{"settings", Join(keys, ",")}};
  restart_planned_ = true;
}

// SET GLOBAL for dynamic settings. After a planned restart the server runs with the (fixed) file,
// so only what the file cannot say is left: the primary's read_only=OFF.
void PlanBuilder::PlanRuntime(const ServerSpec& spec, const ServerState& s, bool restart_planned) {
  bool is_primary = topo_.IsPrimary(spec.name);
  struct Dynamic {
    std::string key, is, wants;
  };
  std::vector<Dynamic> dynamics;
  auto num = [](const std::optional<uint32_t>& v) { return v ? std::to_string(*v) : std::string("(unknown)"); };
  std::string format = topo_.replication.binlog_format;
  dynamics.push_back({"server_id", restart_planned ? std::to_string(spec.server_id) : num(s.server_id),
                      std::to_string(spec.server_id)});
  std::string running_format = s.binlog_format;
  for (char& c : running_format) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  dynamics.push_back({"binlog_format", restart_planned ? format : OrEmpty(running_format), format});
  if (topo_.replication.mode == ReplicationMode::kGtid) {
    dynamics.push_back({"gtid_strict_mode", restart_planned ? "ON" : OnOff(s.gtid_strict_mode), "ON"});
  }
  dynamics.push_back({"read_only", restart_planned ? "ON" : OnOff(s.read_only), is_primary ? "OFF" : "ON"});

  std::vector<Change> changes;
  std::vector<std::string> reasons;
  std::map<std::string, std::string> params;
  for (const Dynamic& d : dynamics) {
    if (d.is == d.wants) continue;
    changes.push_back({d.key, d.is, d.wants, false});
    params[d.key] = d.wants;
    if (d.key == "read_only" && is_primary) {
      reasons.push_back(restart_planned
                            ? "read_only will be ON after the restart (every config_file fences its server); " +
                                  spec.name + " is the primary, so it is made writable"
                            : "read_only is ON, but " + spec.name + " is the primary");
    } else if (d.key == "read_only") {
      reasons.push_back("read_only is " + d.is + ", but " + spec.name + " is a replica");
    } else {
      reasons.push_back(d.key + " is " + d.is + ", file wants " + d.wants);
    }
  }
  if (changes.empty()) return;
  std::vector<std::string> keys;
  for (const Change& c : changes) keys.push_back(c.key + "=" + c.to);
  Action& a = NewAction(spec.name, ActionKind::kSetGlobal);
  a.summary = "SET GLOBAL " + Join(keys, ", ");
  a.changes = std::move(changes);
  a.reasons = std::move(reasons);
  a.params = std::move(params);
}

const LiveUser* FindLiveUser(const ServerState& s, const std::string& name, const std::string& host) {
  for (const LiveUser& u : s.users) {
    if (u.name == name && u.host == host) return &u;
  }
  return nullptr;
}

// Every server gets the replication account, created with binary logging off: each one may be
// promoted, and a statement that replicated would collide with the replicas' own copy.
void PlanBuilder::PlanReplicationUser(const ServerSpec& spec, const ServerState& s) {
  const ReplicationSpec& r = topo_.replication;
  std::string account = Account(r.user, r.host);
  GrantSpec grant = ReplicationSlaveGrant();
  const LiveUser* user = FindLiveUser(s, r.user, r.host);
  if (user == nullptr) {
    Action& a = NewAction(spec.name, ActionKind::kCreateReplicationUser);
    a.summary = "create " + account + " with REPLICATION SLAVE (binary log off)";
    a.reasons = {account + " does not exist on " + spec.name};
    a.changes = {{"user", "", account, false}, {"password", "", "", true}, {"grant", "", grant.text, false}};
    a.params = {{"user", r.user}, {"host", r.host}, {"binlog", "off"}};
  } else if (!GrantsCover(user->grants, grant)) {
    Action& a = NewAction(spec.name, ActionKind::kGrantPrivileges, ReplAccountObject());
    a.summary = "grant " + grant.text + " to " + account + " (binary log off)";
    a.reasons = {account + " exists but lacks " + grant.text};
    a.changes = {{"grant", "", grant.text, false}};
    a.params = {{"user", r.user}, {"host", r.host}, {"grants", grant.text}, {"binlog", "off"}};
  }
}

// Databases and application users are created on the primary only: they replicate.
void PlanBuilder::PlanPrimaryObjects(const ServerSpec& spec, const ServerState& s, HostReport& report) {
  for (const ReplicaChannel& c : s.channels) {
    std::string object = c.connection_name;
    Action& a = NewAction(spec.name, ActionKind::kResetReplica, object);
    a.summary = "RESET SLAVE ALL on " + spec.name + ": forget its source " + c.source_host + ":" +
                std::to_string(c.source_port);
    a.reasons = {spec.name + " is the primary but replicates from " + c.source_host + ":" +
                 std::to_string(c.source_port) +
                 (object.empty() ? "" : " (channel '" + object + "')")};
    a.changes = {{"master_host", c.source_host, "", false}};
    a.destructive = true;
    a.params = {{"connection_name", object}};
  }
  for (const DatabaseSpec& db : topo_.databases) {
    const LiveDatabase* live = nullptr;
    for (const LiveDatabase& d : s.databases) {
      if (d.name == db.name) live = &d;
    }
    if (live == nullptr) {
      Action& a = NewAction(spec.name, ActionKind::kCreateDatabase, db.name);
      a.summary = "create database " + db.name + " (" + db.charset +
                  (db.collation.empty() ? "" : ", " + db.collation) + ")";
      a.reasons = {"database " + db.name + " does not exist on " + spec.name};
      a.changes = {{"database", "", db.name, false}, {"charset", "", db.charset, false}};
      if (!db.collation.empty()) a.changes.push_back({"collation", "", db.collation, false});
      a.params = {{"database", db.name}, {"charset", db.charset}, {"collation", db.collation}};
      continue;
    }
    if (Lower(live->charset) != Lower(db.charset)) {
      report.notes.push_back("database " + db.name + " has charset " + live->charset + ", file wants " +
                             db.charset + ": not converted (converting existing tables is a manual decision)");
    } else if (!db.collation.empty() && Lower(live->collation) != Lower(db.collation)) {
      report.notes.push_back("database " + db.name + " has collation " + live->collation + ", file wants " +
                             db.collation + ": not converted (a manual decision)");
    }
  }
  const ReplicationSpec& r = topo_.replication;
  for (const UserSpec& u : topo_.users) {
    std::string account = Account(u.name, u.host);
    if (u.name == r.user && u.host == r.host) {
      report.notes.push_back(account + " is the replication account; its [[user]] grants are not managed");
      continue;
    }
    std::vector<std::string> grant_texts;
    for (const GrantSpec& g : u.grants) grant_texts.push_back(g.text);
    const LiveUser* live = FindLiveUser(s, u.name, u.host);
    if (live == nullptr) {
      Action& a = NewAction(spec.name, ActionKind::kCreateUser, u.name + "@" + u.host);
      a.summary = "create " + account + " with " + std::to_string(u.grants.size()) +
                  (u.grants.size() == 1 ? " grant" : " grants");
      a.reasons = {account + " does not exist on " + spec.name};
      a.changes = {{"user", "", account, false}, {"password", "", "", true}};
      for (const std::string& g : grant_texts) a.changes.push_back({"grant", "", g, false});
      a.params = {{"user", u.name}, {"host", u.host}, {"grants", Join(grant_texts, "; ")}};
      continue;
    }
    std::vector<std::string> missing;
    std::vector<std::string> reasons;
    for (const GrantSpec& g : u.grants) {
      std::vector<std::string> lacks = MissingPrivileges(live->grants, g);
      if (lacks.empty()) continue;
      missing.push_back(g.text);
      reasons.push_back(account + " lacks " + Join(lacks, ", ") + " for " + g.text);
    }
    if (missing.empty()) continue;
    Action& a = NewAction(spec.name, ActionKind::kGrantPrivileges, u.name + "@" + u.host);
    a.summary = "grant " + Join(missing, "; ") + " to " + account;
    a.reasons = std::move(reasons);
    for (const std::string& g : missing) a.changes.push_back({"grant", "", g, false});
    a.params = {{"user", u.name}, {"host", u.host}, {"grants", Join(missing, "; ")}};
  }
}

std::string IoErrorExplained(const ReplicaChannel& c, const ServerSpec& primary) {
  std::string text = "IO thread error " + std::to_string(c.last_io_errno) + ": " + c.last_io_error;
  std::string where = primary.address + ":" + std::to_string(primary.mysql.port);
  if (c.last_io_errno == kErrAccessDenied) {
    return text + " (the source refused the replication login: is the replication account on " +
           primary.name + " right?)";
  }
  if (c.last_io_errno == kErrConnRefused || c.last_io_errno == kErrConnLocal) {
    return text + " (" + primary.name + " is not reachable at " + where + ": is its bind_address right?)";
  }
  return text;
}

void PlanBuilder::PlanReplica(const ServerSpec& spec, const ServerState& s, HostReport& report) {
  const ServerSpec& p = *primary_;
  const ReplicaChannel* channel = nullptr;
  for (const ReplicaChannel& c : s.channels) {
    if (c.connection_name.empty()) {
      channel = &c;
    } else {
      report.notes.push_back("channel '" + c.connection_name + "' replicates from " + c.source_host + ":" +
                             std::to_string(c.source_port) + "; replplan manages only the default channel");
    }
  }
  if (channel == nullptr) {
    AddSeed(spec, s, {spec.name + " does not replicate yet"}, false);
    AddChangeSource(spec, s, nullptr, {spec.name + " has no replication channel"}, true);
    AddStart(spec, {spec.name + " does not replicate yet"});
    return;
  }
  if (channel->source_host == kSeedInProgressHost) {
    AddSeed(spec, s, {"an earlier seed of " + spec.name + " did not finish (its data is partial)"}, false);
    AddChangeSource(spec, s, nullptr, {spec.name + " has no replication source yet (seed unfinished)"}, true);
    AddStart(spec, {spec.name + " does not replicate yet"});
    return;
  }

  bool gtid = topo_.replication.mode == ReplicationMode::kGtid;
  bool uses_gtid = Lower(channel->using_gtid) != "no" && !channel->using_gtid.empty();
  std::vector<std::string> elsewhere;
  if (channel->source_host != p.address || channel->source_port != p.mysql.port) {
    elsewhere.push_back("replicates from " + channel->source_host + ":" + std::to_string(channel->source_port) +
                        ", file wants " + p.name + " (" + p.address + ":" + std::to_string(p.mysql.port) + ")");
  }
  if (channel->source_user != topo_.replication.user) {
    elsewhere.push_back("replication user is '" + channel->source_user + "', file wants '" +
                        topo_.replication.user + "'");
  }
  if (gtid && !uses_gtid) elsewhere.push_back("Using_Gtid is No, file wants GTID replication");
  if (!gtid && uses_gtid) elsewhere.push_back("Using_Gtid is " + channel->using_gtid + ", file wants file/position");
  if (!elsewhere.empty()) {
    AddChangeSource(spec, s, channel, elsewhere, false);
    AddStart(spec, {"replication stops for the source change"});
    return;
  }

  bool running = channel->io_running == "Yes" && channel->sql_running;
  if (running) return;
  std::string threads = "replication threads are not running (IO: " + OrEmpty(channel->io_running) +
                        ", SQL: " + (channel->sql_running ? "Yes" : "No") + ")";
  if (channel->last_io_errno == kErrBinlogGone) {
    report.notes.push_back("replication IO thread error 1236: " + channel->last_io_error + " (reseed)");
    AddSeed(spec, s, {"reseed: source no longer has the binlog the replica needs (error 1236)"}, true);
    AddChangeSource(spec, s, channel, {"restart replication at the seed's position"}, true);
    AddStart(spec, {threads});
    return;
  }
  if (channel->last_sql_errno != 0) {
    std::string error = "SQL thread error " + std::to_string(channel->last_sql_errno) + ": " + channel->last_sql_error;
    report.notes.push_back("replication " + error + " (reseed)");
    AddSeed(spec, s, {"reseed: the replica's data diverged from its source (" + error + ")"}, true);
    AddChangeSource(spec, s, channel, {"restart replication at the seed's position"}, true);
    AddStart(spec, {threads});
    return;
  }
  std::vector<std::string> reasons = {threads};
  if (channel->last_io_errno != 0) {
    reasons.push_back(IoErrorExplained(*channel, p));
    report.notes.push_back("replication " + IoErrorExplained(*channel, p));
  }
  AddStart(spec, std::move(reasons));
}

// A seed replaces the replica's data: when it holds databases already, that is loudly destructive.
void PlanBuilder::AddSeed(const ServerSpec& spec, const ServerState& s, std::vector<std::string> reasons,
                          bool destructive) {
  if (!s.databases.empty()) {
    std::vector<std::string> names;
    for (const LiveDatabase& d : s.databases) names.push_back(d.name);
    reasons.push_back(spec.name + " already holds databases " + Join(names, ", ") + ": the seed overwrites them");
    destructive = true;
  }
  bool gtid = topo_.replication.mode == ReplicationMode::kGtid;
  Action& a = NewAction(spec.name, ActionKind::kSeedReplica);
  a.summary = "seed " + spec.name + " from " + primary_->name + " (consistent dump with " +
              (gtid ? "GTID position" : "binlog file and position") + ", restore with binary logging off)";
  a.reasons = std::move(reasons);
  a.destructive = destructive;
  a.params = {{"source", primary_->name}, {"mode", ModeName(topo_.replication.mode)}};
}

void PlanBuilder::AddChangeSource(const ServerSpec& spec, const ServerState& s, const ReplicaChannel* channel,
                                  std::vector<std::string> reasons, bool seeded) {
  const ServerSpec& p = *primary_;
  bool gtid = topo_.replication.mode == ReplicationMode::kGtid;
  // A server that never replicated (a former primary) has an empty gtid_slave_pos: it must start
  // from what it has applied itself, current_pos. A seeded replica gets gtid_slave_pos from the dump.
  std::string use_gtid = !gtid ? "no" : (!seeded && s.gtid_slave_pos.empty() && !s.gtid_current_pos.empty())
                                             ? "current_pos"
                                             : "slave_pos";
  std::string port = std::to_string(p.mysql.port);
  Action& a = NewAction(spec.name, ActionKind::kChangeSource);
  a.summary = "replicate " + spec.name + " from " + p.name + " (" + p.address + ":" + port + ") as '" +
              topo_.replication.user + "'" + (gtid ? ", MASTER_USE_GTID=" + use_gtid : ", file/position");
  a.reasons = std::move(reasons);
  auto change = [&](const std::string& key, const std::string& from, const std::string& to) {
    if (channel == nullptr || from != to) a.changes.push_back({key, from, to, false});
  };
  change("master_host", channel ? channel->source_host : "", p.address);
  change("master_port", channel ? std::to_string(channel->source_port) : "", port);
  change("master_user", channel ? channel->source_user : "", topo_.replication.user);
  a.changes.push_back({"master_password", "", "", true});
  std::string current_gtid = channel ? Lower(channel->using_gtid) : "";
  if (gtid) change("master_use_gtid", current_gtid, use_gtid);
  else change("master_use_gtid", current_gtid, "no");
  if (seeded) a.changes.push_back({"start_position", "", gtid ? "gtid_slave_pos from the dump" : "binlog file/position from the dump", false});
  a.params = {{"source", p.name}, {"mode", ModeName(topo_.replication.mode)}, {"use_gtid", use_gtid},
              {"position", seeded ? "from-seed" : "keep"}};
}

void PlanBuilder::AddStart(const ServerSpec& spec, std::vector<std::string> reasons) {
  Action& a = NewAction(spec.name, ActionKind::kStartReplica);
  a.summary = "START SLAVE on " + spec.name + " and wait until both threads run";
  a.reasons = std::move(reasons);
}

void PlanBuilder::LinkHost(const ServerSpec& spec, const HostActions& h) {
  Depend(h.restart, {h.edit});
  // The primary stops following anyone before it becomes writable.
  Depend(h.set_global, {h.restart});
  Depend(h.set_global, h.resets);
  Depend(h.repl_user, {h.restart});
  Depend(h.repl_grant, {h.restart});
  if (topo_.IsPrimary(spec.name)) {
    for (size_t object : h.objects) Depend(object, {h.restart, h.set_global});
    return;
  }
  const HostActions& p = by_host_.at(primary_->name);
  // The dump must carry the primary's databases and users, taken from a primary already configured.
  Depend(h.seed, {p.edit, p.restart, p.set_global});
  Depend(h.seed, p.objects);
  Depend(h.seed, {h.restart, h.set_global});
  if (h.seed != kNone) {
    Depend(h.change, {h.seed, p.repl_user, p.repl_grant});
  } else {
    Depend(h.change, {h.restart, h.set_global, p.restart, p.set_global, p.repl_user, p.repl_grant});
  }
  if (h.change != kNone) {
    Depend(h.start, {h.change});
  } else {
    Depend(h.start, {h.restart, h.set_global, p.restart, p.set_global, p.repl_user, p.repl_grant});
  }
}

}  // namespace

Result<ActionGraph> BuildActionGraph(const Topology& topology, const LiveState& live, const PlanOptions& options) {
  auto planned = PlanBuilder(topology, live, options).Build();
  if (!planned.ok()) return planned.status();
  return std::move(planned->graph);
}

Result<Plan> BuildPlan(const Topology& topology, const LiveState& live, const PlanOptions& options) {
  auto planned = PlanBuilder(topology, live, options).Build();
  if (!planned.ok()) return planned.status();
  const ActionGraph& graph = planned->graph;
  auto order = graph.ExecutionOrder();
  if (!order.ok()) return order.status().WithContext("internal planner error");

  Plan plan;
  plan.topology_file = topology.file;
  plan.cluster = topology.cluster.name;
  plan.primary = topology.cluster.primary;
  plan.flavor = FlavorName(topology.cluster.flavor);
  plan.replication_mode = ModeName(topology.replication.mode);
  plan.hosts = std::move(planned->hosts);
  std::vector<std::vector<std::string>> depends_on(graph.size());
  for (size_t index = 0; index < graph.size(); ++index) {
    for (size_t dep : graph.DependenciesOf(index)) depends_on[index].push_back(graph.at(dep).id);
  }
  std::vector<Action> actions = std::move(planned->graph).ReleaseActions();
  planned->graph = ActionGraph();  // free the edges and the id index before the plan grows
  plan.actions.reserve(order->size());
  for (size_t index : *order) {
    plan.actions.push_back({std::move(actions[index]), std::move(depends_on[index])});
  }
  plan.state_fingerprint = StateFingerprint(live);
  return plan;
}

}  // namespace replplan
